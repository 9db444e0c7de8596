"""visrep: reinforced self-training of visual programs (Ray-free core library).

Importing the package sets ``DEFAULT_ENV`` (where not already set) and applies the
torchvision compatibility fix first, so any process that imports visrep before
torch-dependent libraries runs offline and gets a working torchvision.
"""

import os as _os

# What every process of the project runs with (``rayapps`` passes the same to each actor):
# no hub downloads, no telemetry, vLLM's engine in the calling process (a spawned
# EngineCore would miss the torchvision fix), no tokenizer thread pools to fork.
DEFAULT_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "RAY_USAGE_STATS_ENABLED": "0",
    "VLLM_ENABLE_V1_MULTIPROCESSING": "0",
    "TOKENIZERS_PARALLELISM": "false",
}
ZYGOTE_ENV = "VISREP_SANDBOX_ZYGOTE"
for _key, _value in DEFAULT_ENV.items():
    _os.environ.setdefault(_key, _value)

from visrep import _torchfix  # noqa: E402

# The sandbox's zygote (visrep.programs.zygote) imports neither torch nor torchvision: it
# skips the fix, which would import torch (2-3 s and hundreds of MB in every worker).
if _os.environ.get(ZYGOTE_ENV) != "1":
    _torchfix.apply()
