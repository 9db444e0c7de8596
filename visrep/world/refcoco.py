"""RefCOCO, RefCOCO+ and RefCOCOg as distributed: ``refs(<by>).p`` beside COCO's ``instances.json``.

A refs file is a Python pickle (written by ``refer.py``'s authors under Python 2) of a list
of refs: ``{ref_id, ann_id, image_id, split (train/val/testA/testB, or RefCOCOg's
train/val/test), category_id, file_name, sent_ids, sentences: [{sent_id, sent, raw,
tokens}]}``.  The referent's box is its COCO annotation's (``ann_id`` in instances.json).

A pickle can run any code when loaded, so it is read by ``PlainUnpickler``, which admits
only the containers and scalars the format uses and refuses every global (class or
function) a pickle could name.  One detect task per sentence, as refer.py's evaluation.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

from visrep.world.coco import Instances
from visrep.world.jsonio import field, xywh_to_box
from visrep.world.records import UNKNOWN, Task


class PlainUnpickler(pickle.Unpickler):
    """An unpickler of plain data: lists, dicts, tuples, sets, str, bytes, numbers, None.

    Protocols 0-5 build those without naming a global; anything else (a class, a function,
    ``os.system``) goes through ``find_class``, which refuses it.
    """

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refuses global {module}.{name}: a refs file holds only plain data")


def read_refs_pickle(path: Path) -> list[Any]:
    """The refs of a ``refs(<by>).p`` file, unpickled with ``PlainUnpickler``."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ValueError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        refs = PlainUnpickler(io.BytesIO(data), encoding="utf-8", errors="replace").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError, KeyError) as exc:
        raise ValueError(f"{path}: not a refs pickle of plain data ({exc})") from None
    if not isinstance(refs, list):
        raise ValueError(f"{path}: expected a list of refs, got {type(refs).__name__}")
    return refs


def ref_tasks(refs: list[Any], coco: Instances, path: Path) -> list[Task]:
    """One detect task per sentence of every ref: the sentence, its image, its annotation's box."""
    tasks = []
    for n, ref in enumerate(refs):
        where = f"refs[{n}]"
        ann_id = field(ref, "ann_id", path, where, int)
        if ann_id not in coco.annotations:
            raise ValueError(f"{path}: {where}: ann_id {ann_id} is not in instances.json")
        ann = coco.annotations[ann_id]
        image = coco.ids[ann["image_id"]]
        box = list(xywh_to_box(ann.get("bbox"), path, where))
        ref_id = field(ref, "ref_id", path, where, int)
        for k, sentence in enumerate(field(ref, "sentences", path, where, list)):
            text = field(sentence, "sent", path, f"{where}.sentences[{k}]", str)
            tid = f"detect/{ref_id}" + (f".{k}" if k else "")
            tasks.append(Task(tid, "detect", text, (image,), {"boxes": [box]}, str(ref.get("split", UNKNOWN))))
    return tasks
