"""``python -m visrep.world build|convert ...``: make a world directory.

- ``build OUT_DIR [--seed N] [--train-images N] [--heldout-images N]`` builds (or reuses)
  the shapes world with the default config's world section except the flags given;
- ``convert {gqa,refcoco,coco} OUT_DIR --images [SPLIT=]DIR ...`` converts a dataset as
  distributed (``visrep.world.convert``), once: the same files again reuse the world.

Either prints one summary line of counts per kind and split; bad input is one line on
stderr and exit status 2, with nothing left in OUT_DIR.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence
from pathlib import Path

from visrep.config import WorldConfig
from visrep.world.build import WorldIndex, build_world_from
from visrep.world.convert import Source, convert, pairs

# each dataset's file options: (flag, role, help)
_FILES = {
    "gqa": (("--questions", "questions", "a questions file, [SPLIT=]FILE (split from the name: val_balanced_...)"),
            ("--scene-graphs", "scene_graphs", "a sceneGraphs file (train and val; none for test images)")),
    "refcoco": (("--refs", "refs", "the refs(unc).p / refs(google).p / refs(umd).p pickle"),
                ("--instances", "instances", "COCO's instances.json that the refs point into")),
    "coco": (("--instances", "instances", "an instances file, [SPLIT=]FILE (instances_val2017.json)"),
             ("--captions", "captions", "a captions file, [SPLIT=]FILE (captions_val2017.json)")),
}


def _parser() -> argparse.ArgumentParser:
    defaults = WorldConfig()
    parser = argparse.ArgumentParser(prog="python -m visrep.world")
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="build the shapes world into OUT_DIR")
    build.add_argument("out_dir", type=Path)
    build.add_argument("--seed", type=int, default=defaults.seed)
    build.add_argument("--train-images", type=int, default=defaults.train_images)
    build.add_argument("--heldout-images", type=int, default=defaults.heldout_images)
    conv = commands.add_parser("convert", help="convert GQA, RefCOCO or COCO files into OUT_DIR")
    datasets = conv.add_subparsers(dest="dataset", required=True)
    for name, flags in _FILES.items():
        sub = datasets.add_parser(name)
        sub.add_argument("out_dir", type=Path)
        sub.add_argument("--images", action="append", required=True,
                         help="the images folder, or SPLIT=DIR once per split when they sit apart")
        for flag, role, text in flags:
            sub.add_argument(flag, dest=role, action="append", default=[], help=text)
        if name == "coco":
            sub.add_argument("--candidates", type=int, default=4, help="images per retrieval task")
            sub.add_argument("--seed", type=int, default=0, help="seed of the hard negatives' ties")
    return parser


def _build(args: argparse.Namespace) -> WorldIndex:
    cfg = dataclasses.replace(WorldConfig(), seed=args.seed, train_images=args.train_images,
                              heldout_images=args.heldout_images)
    return build_world_from(args.out_dir, cfg)


def _convert(args: argparse.Namespace) -> WorldIndex:
    roles = [role for _, role, _ in _FILES[args.dataset]]
    files = {role: pairs(getattr(args, role), infer=args.dataset != "refcoco" and role != "scene_graphs")
             for role in roles}
    extra = {"candidates": args.candidates, "seed": args.seed} if args.dataset == "coco" else {}
    source = Source(args.dataset, pairs(args.images, infer=False), files, **extra)
    return convert(args.out_dir, source)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse argv, build or convert the world, print the summary line."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        index = _build(args) if args.command == "build" else _convert(args)
    except ValueError as exc:  # bad input, or a clash with an existing world: one line, no trace
        parser.exit(2, f"error: {exc}\n")
    print(f"world {index.dir}: " + ", ".join(f"{k}={v}" for k, v in index.counts.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
