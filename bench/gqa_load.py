"""Loading a GQA-size questions file: time and peak memory, first conversion against reuse.

    python bench/gqa_load.py [--questions 1000000] [--images 72000] [--dir DIR] [--out FILE]

Writes a questions file of ``--questions`` records in GQA's full distributed schema (every
field GQA ships: fullAnswer, groups, entailed, equivalent, types, annotations, the semantic
program and semanticStr; ~1.2 KB a record, as GQA's train_balanced file), scene graphs and
empty image files for ``--images`` images, then measures, each in a fresh process (peak RSS
is the process's own ``ru_maxrss``):

1. ``json.load`` of the questions file: what every CLI call paid before conversion;
2. ``python -m visrep.world convert gqa``: streamed parse, scenes, the converted world;
3. the same conversion again: the world is reused (its inputs' fingerprints match);
4. ``load_tasks`` of the converted world: what a run reads at start (questions parsed by
   msgspec into typed records);
5. the same world's questions read through ``json`` and the field checks: what ``load_tasks``
   did before the typed parse (and still does for a file that does not parse so).

Ratios in the same run: (3) / (2) and (4) / (2) read "a second load of the same world costs
< 10 % of the first" as running the conversion again and as what a run pays at start; (4) / (1)
is what a run pays per start now against before conversion existed, (4) / (5) the typed parse
against the checked one.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

NAMES = ("man", "woman", "car", "tree", "table", "cup", "dog", "building", "window", "shirt")
ATTRS = ("red", "white", "wooden", "tall", "small", "black", "metal", "green")


def _question(rng: random.Random, image: str, qid: str) -> dict[str, Any]:
    a, b = rng.choice(NAMES), rng.choice(NAMES)
    text = f"Is the {a} to the left of the {b}?"
    return {
        "semantic": [{"operation": "select", "dependencies": [], "argument": f"{a} (1234567)"},
                     {"operation": "relate", "dependencies": [0], "argument": f"{b},to the left of,o (7654321)"},
                     {"operation": "exist", "dependencies": [1], "argument": "?"}],
        "entailed": [f"{int(qid) + k:08d}" for k in range(1, 6)], "equivalent": [qid],
        "question": text, "imageId": image, "isBalanced": True,
        "groups": {"global": None, "local": f"13-{a}_{b}"}, "answer": rng.choice(("yes", "no")),
        "semanticStr": f"select: {a} (1234567)->relate: {b},to the left of,o (7654321) [0]->exist: ? [1]",
        "annotations": {"answer": {}, "question": {"2": "1234567", "6": "7654321"},
                        "fullAnswer": {"1": "1234567", "5": "7654321"}},
        "types": {"detailed": "existRelS", "semantic": "rel", "structural": "verify"},
        "fullAnswer": f"Yes, there is a {a} to the left of the {b}.",
    }


def write_data(root: Path, questions: int, images: int) -> None:
    """The questions file (streamed out, one record at a time), scene graphs and images."""
    rng = random.Random(0)
    ids = [f"{2300000 + n}" for n in range(images)]
    (root / "images").mkdir(parents=True)
    for image in ids:
        (root / "images" / f"{image}.jpg").touch()
    graphs = {image: {"width": 640, "height": 480, "objects": {
        f"{image}{k}": {"name": rng.choice(NAMES), "x": 10 * k, "y": 20, "w": 50, "h": 60,
                        "attributes": [rng.choice(ATTRS)], "relations": []} for k in range(3)}} for image in ids}
    (root / "train_sceneGraphs.json").write_text(json.dumps(graphs))
    with (root / "train_balanced_questions.json").open("w") as out:
        out.write("{")
        for n in range(questions):
            qid = f"{n:08d}"
            out.write(("," if n else "") + json.dumps(qid) + ": " + json.dumps(_question(rng, rng.choice(ids), qid)))
        out.write("}")


_PEAK = "import resource, sys; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, file=sys.stderr)"


def measure(code: str) -> tuple[float, float]:
    """(seconds, peak MB) of ``code`` in a fresh interpreter (imports not timed)."""
    script = ("import time\n" + code.split("#TIMED\n")[0] + "t0 = time.perf_counter()\n" + code.split("#TIMED\n")[1]
              + "\nprint(time.perf_counter() - t0)\n" + _PEAK)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT)
    return float(done.stdout.strip().splitlines()[-1]), float(done.stderr.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=1_000_000)
    parser.add_argument("--images", type=int, default=72_000)
    parser.add_argument("--dir", type=Path, default=None, help="where the data goes (default: a temp dir)")
    parser.add_argument("--out", type=Path, default=None, help="also write the figures as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        root = Path(tmp)
        write_data(root, args.questions, args.images)
        qfile = root / "train_balanced_questions.json"
        world = root / "world"
        argv = ["convert", "gqa", str(world), "--images", str(root / "images"), "--questions", str(qfile),
                "--scene-graphs", str(root / "train_sceneGraphs.json")]
        convert = f"from visrep.world.__main__ import main\n#TIMED\nmain({argv!r})"
        rows = {
            "json.load of the questions file": measure(f"import json\n#TIMED\njson.load(open({str(qfile)!r}))"),
            "convert (first)": measure(convert),
            "convert again (reused)": measure(convert),
            "load_tasks of the converted world": measure(
                f"from visrep.world import load_tasks\n#TIMED\nassert len(load_tasks({str(world)!r})) > 0"),
            "the same through json and the field checks": measure(
                "import gc\nfrom pathlib import Path\nfrom visrep.world.jsonio import read_json\n"
                f"from visrep.world.kinds import question_task\npath = Path({str(world / 'questions.json')!r})\n"
                "#TIMED\ngc.disable()\nassert len([question_task(q, r, path, 'unknown', {}) "
                "for q, r in read_json(path, dict).items()]) > 0"),
        }
        size_mb = qfile.stat().st_size / 2**20
    print(f"{args.questions} questions ({size_mb:.0f} MB, GQA schema), {args.images} images\n")
    print("| step | seconds | peak MB |\n|---|---:|---:|")
    for name, (seconds, peak) in rows.items():
        print(f"| {name} | {seconds:.2f} | {peak:.0f} |")
    first, again = rows["convert (first)"][0], rows["convert again (reused)"][0]
    load, before = rows["load_tasks of the converted world"][0], rows["json.load of the questions file"][0]
    checked = rows["the same through json and the field checks"][0]
    print(f"\nreused / first conversion: {again / first:.3%}; load_tasks / first conversion: {load / first:.1%}; "
          f"load_tasks / json.load: {load / before:.1%}; typed / checked read: {load / checked:.2f}x")
    if args.out:
        args.out.write_text(json.dumps({"questions": args.questions, "size_mb": size_mb,
                                        "rows": {k: {"s": s, "peak_mb": m} for k, (s, m) in rows.items()}}, indent=1))


if __name__ == "__main__":
    main()
