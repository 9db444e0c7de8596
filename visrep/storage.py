"""Directories that travel: how a run's inputs reach processes on nodes without its disk.

A cluster shares no filesystem (``ray up`` gives each node its own disk), so a directory the
controller made on the head (the world it built into the run dir, the student it distilled
into its cache, a re-distilled student) cannot be handed to an actor on another node as a
path.  It travels as a ``Bundle`` instead: the directory's files as one tar archive in
memory, which Ray's object store carries to any node, where ``local_dir`` unpacks it once
into that node's scratch directory.  A path stays a path: it names data the user put on
every node (``cluster.yaml``'s ``file_mounts``: a GQA world, the base model), read in place.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

SCRATCH = "visrep-inputs"  # under the node's temp dir: unpacked bundles, by content


@dataclass(frozen=True)
class Bundle:
    """A directory's files as a tar archive (``data``), named by a hash of its content
    (``key``): two nodes, or two actors on one node, unpack the same bundle to the same
    place, and a changed directory never reuses a stale copy."""

    key: str
    data: bytes


def _anonymous(info: tarfile.TarInfo) -> tarfile.TarInfo:
    """The archive records content only (no owner, no times), so its hash is the content's."""
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = 0
    return info


def pack(directory: Path) -> Bundle:
    """``directory``'s files as a ``Bundle`` (tarfile adds a directory's entries sorted, so
    the same files give the same bytes and key)."""
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory}: no such directory to pack")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(directory, arcname=".", filter=_anonymous)
    data = buf.getvalue()
    return Bundle(hashlib.sha256(data).hexdigest()[:20], data)


def unpack(bundle: Bundle, target: Path) -> Path:
    """Unpack ``bundle`` to ``target`` unless it is there already; atomic (unpacked beside
    it, then renamed), so a concurrent unpacker on the same node never sees half of it.
    Tarfile's ``data`` filter refuses members that would land outside ``target`` (absolute
    paths, ``..``, links out), so a bundle cannot write elsewhere on the node."""
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        with tarfile.open(fileobj=io.BytesIO(bundle.data), mode="r") as tar:
            tar.extractall(tmp, filter="data")
        os.rename(tmp, target)
    except OSError:
        if not target.is_dir():  # not another unpacker's win: a real failure
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def node_scratch() -> Path:
    """This node's directory for unpacked inputs (its temp dir: each node has its own)."""
    return Path(tempfile.gettempdir()) / SCRATCH


def local_dir(source: str | Path | Bundle) -> Path:
    """Where this process reads ``source``: a path as it is (data every node has), a
    bundle unpacked in this node's scratch."""
    if isinstance(source, Bundle):
        return unpack(source, node_scratch() / source.key)
    return Path(source)
