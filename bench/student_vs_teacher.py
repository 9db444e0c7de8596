"""Student vs teacher: images/s in the same process on the same batch, and the ratio.

    python bench/student_vs_teacher.py [--run runs/distill] [--batch 256] [--rounds 5] [--threads N]

With ``--run`` (a finished ``rayapps.distill`` run) it loads that run's teacher and
student and also prints the OOD zero-shot accuracies from its summary, so the two halves
of the target (≥ 10× faster, ≥ 90 % of the teacher's OOD zero-shot accuracy) are read off
together.  Without a run it times freshly built architectures (speed does not depend on
the weights).  Both models are timed interleaved, round by round, so they see the same
machine load; the best round of each counts.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

import visrep  # noqa: F401  (torchvision fix, offline hubs)
from visrep.vlm.evaluate import compare_throughput
from visrep.vlm.models import VLModel, create_model, load_model
from visrep.vlm.student import load_student


def _models(run: Path | None, teacher_arch: str, student_arch: str) -> tuple[VLModel, VLModel]:
    if run is None:
        return create_model(teacher_arch).freeze(), create_model(student_arch).freeze()
    return load_model(run / "teacher" / "model").freeze(), load_student(run / "student")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=None, help="a finished distill run directory")
    parser.add_argument("--teacher", default="visrep-teacher")
    parser.add_argument("--student", default="visrep-student")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    if args.run is not None and not (args.run / "student").is_dir():
        print(f"bench: error: {args.run} has no student/ (run python -m rayapps.distill first)", file=sys.stderr)
        return 2
    teacher, student = _models(args.run, args.teacher, args.student)
    gen = torch.Generator().manual_seed(0)
    crops = torch.randint(0, 256, (args.batch, 3, 32, 32), dtype=torch.uint8, generator=gen)
    result = compare_throughput(teacher.encode_images, teacher.prepare(crops),
                                student.encode_images, student.prepare(crops), rounds=args.rounds)
    print(f"| model | params (image tower) | images/s (batch {args.batch}, {torch.get_num_threads()} threads) |")
    print("|---|---|---|")
    for name, vl, key in (("teacher " + teacher.arch, teacher, "teacher_images_per_s"),
                          ("student " + student.arch, student, "student_images_per_s")):
        params = sum(p.numel() for p in vl.model.visual.parameters())
        print(f"| {name} | {params / 1e6:.2f} M | {result[key]:.0f} |")
    print(f"\nspeed-up: {result['speedup']:.1f}x (target >= 10x)")
    if args.run is not None and (args.run / "summary.json").is_file():
        summary = json.loads((args.run / "summary.json").read_text())
        t_ood = summary["teacher"]["teacher (enriched prompts)"]["ood/zero_shot"]
        for row, r in summary["rows"].items():
            s_ood = r["metrics"]["ood/zero_shot"]
            print(f"OOD zero-shot: student {row} {100 * s_ood:.1f} % vs teacher {100 * t_ood:.1f} % "
                  f"= {100 * s_ood / t_ood:.0f} % kept (target >= 90 %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
