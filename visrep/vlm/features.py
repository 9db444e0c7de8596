"""The clean-view feature cache: teacher image features computed once, kept on disk.

The student always sees augmented views, and its targets are the teacher's features of
the *clean* crops, so they are computed once per (teacher weights, crops) and stored.
The file's key is a hash of both, so a changed teacher or world never serves stale
features.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch
from tqdm import tqdm

from visrep.vlm.models import VLModel


def fingerprint(vl: VLModel, images: torch.Tensor) -> str:
    """sha1 of the image tower's weights and the crops (uint8 (N, 3, S, S))."""
    h = hashlib.sha1()
    for name, tensor in sorted(vl.model.visual.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().contiguous().cpu().numpy().tobytes())
    h.update(images.contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def encode_crops(vl: VLModel, images: torch.Tensor, batch_size: int = 256, progress: bool = False,
                 desc: str = "features") -> torch.Tensor:
    """(N, 3, S, S) uint8 crops → (N, D) L2-normalised features (clean views, no grad)."""
    outs = []
    for i in tqdm(range(0, images.shape[0], batch_size), desc=desc, disable=not progress, leave=False):
        outs.append(vl.encode_images(vl.prepare(images[i:i + batch_size])))
    return torch.cat(outs) if outs else torch.zeros(0, vl.embed_dim)


def cached_features(vl: VLModel, images: torch.Tensor, folder: Path,
                    progress: bool = True) -> tuple[torch.Tensor, bool]:
    """(features (N, D), whether they came from the cache) for the teacher ``vl``."""
    folder = Path(folder)
    path = folder / f"clean-features-{fingerprint(vl, images)}.pt"
    if path.is_file():
        return torch.load(path, weights_only=True), True
    feats = encode_crops(vl, images, progress=progress, desc="teacher features")
    folder.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    torch.save(feats, tmp)
    os.replace(tmp, path)
    return feats, False
