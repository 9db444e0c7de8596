"""The class-agnostic proposal detector: plain-torch NMS, a short training run, checkpoints."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from visrep.vlm.proposals import load_proposals, match_count, nms, proposal_quality, train_proposals
from visrep.world import build_world, load_scenes


def test_nms_keeps_the_best_of_each_overlapping_group() -> None:
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30],
                          [0, 0, 10, 10.5], [21, 20, 31, 30]], dtype=torch.float32)
    scores = torch.tensor([0.9, 0.95, 0.5, 0.3, 0.6])
    keep = nms(boxes, scores, 0.5)
    assert keep.tolist() == [1, 4]  # 1 beats 0 and 3 (IoU > 0.5); 4 beats 2
    assert nms(boxes, scores, 0.99).tolist() == [1, 0, 4, 2, 3]  # only near-duplicates go
    assert nms(torch.zeros(0, 4), torch.zeros(0), 0.5).tolist() == []


def test_match_count_is_one_to_one() -> None:
    gt = [(0.0, 0.0, 10.0, 10.0), (20.0, 20.0, 30.0, 30.0)]
    assert match_count([(0.0, 0.0, 10.0, 10.0), (1.0, 0.0, 10.0, 10.0)], gt) == 1
    assert match_count([(0.0, 0.0, 10.0, 10.0), (20.0, 21.0, 30.0, 30.0)], gt) == 2
    assert match_count([], gt) == 0


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A small world (96 px) and a detector trained on its train images for a few seconds."""
    root = tmp_path_factory.mktemp("proposals")
    world = build_world(root / "world", seed=3, image_size=96, min_objects=2, max_objects=5,
                        train_images=24, heldout_images=6, tasks_per_image=1,
                        retrieval_candidates=2, kinds=("detect",))
    torch.set_num_threads(1)  # a second busy process on 2 cores makes 2 threads ~50x slower
    report = train_proposals(world.dir, root / "proposals.pt", steps=500, batch_size=8, width=16, input_size=96)
    assert report.images == 24 and report.path.is_file()
    return world.dir, report.path


def test_proposals_find_the_objects_of_heldout_scenes(trained: tuple[Path, Path]) -> None:
    world, ckpt = trained
    detector = load_proposals(ckpt)
    heldout = [s for i, s in sorted(load_scenes(world).items()) if i.startswith("heldout_")]
    quality = proposal_quality(detector, heldout, world / "images")
    print(quality)
    assert quality["recall"] >= 0.9, quality
    assert quality["precision"] >= 0.7, quality


def test_checkpoint_round_trip_and_missing_file(trained: tuple[Path, Path], tmp_path: Path) -> None:
    world, ckpt = trained
    from PIL import Image

    image = Image.open(world / "images" / "heldout_00000.png")
    a, b = load_proposals(ckpt), load_proposals(ckpt)
    (boxes_a, scores_a), (boxes_b, scores_b) = a.propose([image])[0], b.propose([image])[0]
    assert torch.equal(boxes_a, boxes_b) and torch.equal(scores_a, scores_b)
    assert boxes_a.shape[1] == 4 and scores_a.ndim == 1 and len(boxes_a) == len(scores_a)
    assert bool((scores_a[:-1] >= scores_a[1:]).all())  # best first
    with pytest.raises(FileNotFoundError, match="no proposal detector"):
        load_proposals(tmp_path / "missing.pt")
