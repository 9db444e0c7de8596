"""Job entry points, one ``main(argv)`` each, wiring library calls; the only package that imports ray.

``selftrain`` is the Ray job (controller plus actor pools); ``distill`` and ``api_accuracy``
run in one process without Ray (on a 2-core machine, actors would only contend), and live
here because they are jobs a user launches, beside the helpers every job shares
(``tracking`` for MLflow, ``cluster`` for Ray).
"""
