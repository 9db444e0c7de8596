"""Reading a dataset file of gigabytes: streamed JSON items, with a progress bar.

``json.load`` of GQA's train questions takes about 5 GB for a 1.5 GB file; ijson yields one
top-level item at a time, so only what a converter keeps stays in memory.  The bar counts
bytes read (to stderr, and only on a terminal unless asked), so a long conversion shows
how far it is.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ijson
from tqdm import tqdm


def json_items(path: Path, top: type) -> Iterator[tuple[Any, Any]]:
    """(key, value) of a top-level JSON object (``top`` dict) or (index, item) of a
    top-level array (``top`` list), streamed; a malformed file raises ValueError naming it."""
    path = Path(path)
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise ValueError(f"{path}: cannot read ({exc.strerror})") from None
    with handle, tqdm.wrapattr(handle, "read", total=path.stat().st_size, desc=path.name, unit="B",
                               unit_scale=True, leave=False, disable=not sys.stderr.isatty()) as stream:
        try:
            if top is dict:
                yield from ijson.kvitems(stream, "", use_float=True)
            else:
                yield from enumerate(ijson.items(stream, "item", use_float=True))
            _check_top(path, top)
        except ijson.JSONError as exc:
            reason = " ".join(str(exc).split())  # yajl's message spans lines
            raise ValueError(f"{path}: cannot read JSON ({reason})") from None


def _check_top(path: Path, top: type) -> None:
    """Raise when the file's top level is not ``top`` (ijson yields nothing then)."""
    with path.open("rb") as handle:
        first = handle.read(4096).lstrip()[:1]
    if first != (b"{" if top is dict else b"["):
        raise ValueError(f"{path}: expected a JSON {top.__name__} at the top level")
