"""``python -m visrep.programs run``: one JSON line per program, exit 0 whatever they did."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import visrep  # noqa: F401  (first: applies the torchvision fix)
from visrep.config import load_config
from visrep.programs.__main__ import main
from visrep.world import build_world_from, load_tasks

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = ROOT / "tests" / "programs" / "hostile"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    w = load_config("tiny").world
    root = tmp_path_factory.mktemp("cli") / "world"
    build_world_from(root, w)
    return root


def test_files_and_jsonl_each_print_one_line(world: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    task = next(t for t in load_tasks(world) if t.kind == "vqa")
    body = tmp_path / "body.py"
    body.write_text("print('hi')\nreturn bool_to_yesno(image.exists('star'))\n")
    lines = tmp_path / "programs.jsonl"
    lines.write_text(json.dumps({"task_id": task.id, "source": "return image.count('star')"}) + "\n")
    rc = main(["run", str(body), str(HOSTILE / "import_plain.py"), str(HOSTILE / "huge_list.py"),
               "--task-id", task.id, "--jsonl", str(lines), "--world", str(world)])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rc == 0
    assert [r["status"] for r in rows] == ["ok", "rejected", "memory", "ok"]
    assert rows[0]["value"] in ("yes", "no") and rows[0]["stdout"] == "hi\n"
    assert rows[1]["error"] == "line 5: import is not allowed"
    assert all(r["task_id"] == task.id and {"status", "value", "error"} <= set(r) for r in rows)


def test_an_unknown_task_is_a_usage_error(world: Path, tmp_path: Path) -> None:
    program = tmp_path / "p.py"
    program.write_text("return 'x'\n")
    assert main(["run", str(program), "--task-id", "nope", "--world", str(world)]) == 2


def test_runs_as_a_module(world: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "visrep.programs", "run",
                           str(HOSTILE / "infinite_loop.py"), "--world", str(world)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["status"] == "timeout"
