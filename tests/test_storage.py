"""Directories that travel between nodes as bundles (visrep.storage): content-keyed, unpacked
once per node, never outside the node's scratch directory."""

import io
import tarfile
import tempfile
from pathlib import Path

import pytest

from visrep.storage import Bundle, local_dir, node_scratch, pack, unpack


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture()
def node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's node temp dir (each Ray node gives its workers its own)."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "node-tmp"))
    (tmp_path / "node-tmp").mkdir()
    return tmp_path / "node-tmp"


def test_a_bundle_unpacks_to_the_same_files_once_per_node(tmp_path: Path, node: Path) -> None:
    src = tmp_path / "world"
    (src / "images").mkdir(parents=True)
    (src / "images" / "a.png").write_bytes(b"\x89PNG...")
    (src / "instances.json").write_text('{"images": []}')
    bundle = pack(src)
    assert pack(src).key == bundle.key  # the same files, the same key (no times, no owners)
    here = local_dir(bundle)
    assert here == node_scratch() / bundle.key and here.is_relative_to(node)
    assert _tree(here) == _tree(src)
    (here / "instances.json").write_text("changed on this node")
    assert local_dir(bundle) == here and (here / "instances.json").read_text() == "changed on this node"  # reused
    (src / "instances.json").write_text('{"images": [1]}')
    assert pack(src).key != bundle.key  # a changed directory never reuses a stale copy
    assert local_dir(str(src)) == src  # a path is data every node has: read in place


def test_a_bundle_cannot_write_outside_its_directory(tmp_path: Path, node: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        payload = b"owned"
        info = tarfile.TarInfo("../../escaped.txt")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    with pytest.raises(tarfile.OutsideDestinationError):
        unpack(Bundle("k", buf.getvalue()), node / "target")
    assert not (node / "target").exists()
    assert not list(tmp_path.rglob("escaped.txt"))


def test_packing_a_missing_directory_names_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope: no such directory"):
        pack(tmp_path / "nope")
