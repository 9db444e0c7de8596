"""A tiny student stand-in satisfying ``CropEncoder`` honestly: random conv image tower,
hashed bag-of-words text tower, both L2-normalised into one space.  It knows nothing of
the world, so tests built on it check the backend's code path and contract, not accuracy.
"""

from __future__ import annotations

import zlib

import numpy as np
import torch
from PIL import Image
from torch import Tensor, nn


class TinyEncoder:
    """image_size 32; D = 32; deterministic for a seed."""

    image_size = 32

    def __init__(self, dim: int = 32, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self._conv = nn.Sequential(nn.Conv2d(3, 16, 3, stride=2), nn.ReLU(), nn.AdaptiveAvgPool2d(2),
                                   nn.Flatten(), nn.Linear(64, dim)).eval()
        for p in self._conv.parameters():
            p.data = torch.randn(p.shape, generator=g) * 0.3
        self._words = torch.randn(1024, dim, generator=g)
        self.meta = {"crop_margin": 0.1}

    def preprocess(self, pil_images: list[Image.Image]) -> Tensor:
        arrays = [np.asarray(im.convert("RGB").resize((self.image_size, self.image_size))) for im in pil_images]
        return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float() / 255.0  # (B, 3, 32, 32)

    @torch.no_grad()
    def encode_images(self, images: Tensor) -> Tensor:
        return nn.functional.normalize(self._conv(images), dim=-1)  # (B, D)

    def encode_texts(self, texts: list[str]) -> Tensor:
        rows = [self._words[[zlib.crc32(w.encode()) % 1024 for w in t.lower().split()] or [0]].mean(0)
                for t in texts]
        return nn.functional.normalize(torch.stack(rows), dim=-1)  # (T, D)
