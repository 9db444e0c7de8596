"""visrep: reinforced self-training of visual programs (Ray-free core library).

Importing the package applies the torchvision compatibility fix first, so any process
that imports visrep before torch-dependent libraries gets a working torchvision.
"""

import os as _os

_os.environ.setdefault("HF_HUB_OFFLINE", "1")
_os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
_os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
_os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
_os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
_os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from visrep import _torchfix  # noqa: E402

_torchfix.apply()
