"""Checked JSON files: the world's way of writing them, and reading that fails in one line.

Every world file is written by ``dump_json`` (so a world is byte-identical for the same
parameters), and every loader reads through ``read_json`` and ``field``, whose ValueError
names the file, the record and what is wrong.  Boxes are [x, y, w, h] on disk (COCO) and
(x0, y0, x1, y1) in memory.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from visrep.world.records import Box


def dump_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON with a final newline."""
    path.write_text(json.dumps(data, indent=1) + "\n")


def read_json(path: Path, kind: type) -> Any:
    """The file's JSON, which must be a ``kind`` (dict or list) at the top level."""
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: cannot read JSON ({exc})") from None
    if not isinstance(data, kind):
        raise ValueError(f"{path}: expected a JSON {kind.__name__} at the top level")
    return data


def field(record: Any, key: str, path: Path, where: str, kind: type | tuple[type, ...] = object) -> Any:
    """record[key], checked; the error names the file, the record and the field."""
    if not isinstance(record, dict) or key not in record:
        raise ValueError(f"{path}: {where}: missing field {key!r}")
    value = record[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise ValueError(f"{path}: {where}: field {key!r} has bad value {value!r}")
    return value


def xywh_to_box(xywh: Any, path: Path, where: str) -> Box:
    """A checked [x, y, w, h] from a file as an (x0, y0, x1, y1) box."""
    if not (isinstance(xywh, list) and len(xywh) == 4 and all(isinstance(v, (int, float)) for v in xywh)):
        raise ValueError(f"{path}: {where}: box {xywh!r} is not [x, y, w, h]")
    x, y, w, h = (float(v) for v in xywh)
    return (x, y, x + w, y + h)


def box_to_xywh(box: Any) -> list[float]:
    """An (x0, y0, x1, y1) box as the [x, y, w, h] a file holds."""
    x0, y0, x1, y1 = box
    return [x0, y0, x1 - x0, y1 - y0]
