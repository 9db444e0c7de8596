"""Job entry points, one ``main(argv)`` each, wiring library calls; the only package that imports ray.

``selftrain`` is the Ray job (controller plus actor pools); ``distill`` and ``api_accuracy``
run in one process without Ray (on a 2-core machine, actors would only contend), and live
here because they are jobs a user launches, beside the helpers every job shares
(``tracking`` for MLflow, ``cluster`` for Ray).
"""

import os as _os

# A local cluster (no RAY_ADDRESS: neither a submitted job nor a user joining a cluster)
# binds every Ray port on 127.0.0.1, whatever the environment says: Ray decides this from
# RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER when it is imported, so it is set here, before any
# rayapps module imports ray.  (On a cluster the driver must advertise its real address.)
if not _os.environ.get("RAY_ADDRESS"):
    _os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
