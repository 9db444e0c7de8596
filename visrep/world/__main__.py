"""``python -m visrep.world build OUT_DIR [--seed N] [--train-images N] [--heldout-images N]``.

Builds (or reuses) a world with the default config's world section except the flags
given, and prints one summary line of counts per kind and split.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence
from pathlib import Path

from visrep.config import WorldConfig
from visrep.world.build import build_world


def main(argv: Sequence[str] | None = None) -> int:
    """Parse argv, build the world, print the summary line."""
    defaults = WorldConfig()
    parser = argparse.ArgumentParser(prog="python -m visrep.world")
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="build the shapes world into OUT_DIR")
    build.add_argument("out_dir", type=Path)
    build.add_argument("--seed", type=int, default=defaults.seed)
    build.add_argument("--train-images", type=int, default=defaults.train_images)
    build.add_argument("--heldout-images", type=int, default=defaults.heldout_images)
    args = parser.parse_args(argv)
    params = {**dataclasses.asdict(defaults), "seed": args.seed,
              "train_images": args.train_images, "heldout_images": args.heldout_images}
    del params["dir"]
    try:
        index = build_world(args.out_dir, **params)
    except ValueError as exc:  # parameters clash with an existing world: one line, no trace
        parser.exit(2, f"error: {exc}\n")
    print(f"world {index.dir}: " + ", ".join(f"{k}={v}" for k, v in index.counts.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
