"""A task's image with what its program's ``find`` calls returned and the ground truth drawn:
the picture a person needs to tell a tool's miss from a program's mistake at a glance."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from visrep.selftrain import trajectories as T
from visrep.world.records import Task

WIDTH = 384  # the drawn image's width in pixels (the shapes world's images are 96-128)
TRUTH, FOUND = (0, 170, 0), (220, 0, 0)  # green: ground truth; red: a find call's answer
_CAPTION_CHARS = 60


def find_boxes(row: dict[str, Any]) -> list[list[float]]:
    """The boxes every ``find`` call of the row's program was answered with, in order."""
    return [list(box) for call in T.tool_trace(row) if call["tool"] == "find" for box in call["answer"]]


def overlay(image_path: Path, task: Task, row: dict[str, Any]) -> Image.Image:
    """The task's (first) image, scaled to ``WIDTH``, with the ground-truth boxes (detect) in
    green, the program's ``find`` answers in red, and a caption: the task, the program's
    answer, the truth and the reward."""
    with Image.open(image_path) as src:
        scale = WIDTH / src.width
        image = src.convert("RGB").resize((WIDTH, round(src.height * scale)), Image.Resampling.NEAREST)
    font = ImageFont.load_default()
    truth = task.annotation.get("boxes", task.annotation.get("answer", task.annotation.get("index")))
    lines = [*textwrap.wrap(task.text, _CAPTION_CHARS),
             *textwrap.wrap(f"program: {row[T.VALUE]} ({row[T.STATUS]}, reward {row[T.REWARD]:.2f})", _CAPTION_CHARS),
             *textwrap.wrap(f"truth: {json.dumps(truth)}", _CAPTION_CHARS),
             "green: ground truth   red: find() answers"]
    line_h = 14
    canvas = Image.new("RGB", (WIDTH, image.height + line_h * len(lines) + 6), "white")
    canvas.paste(image, (0, 0))
    draw = ImageDraw.Draw(canvas)
    for boxes, color, width in ((task.annotation.get("boxes", []), TRUTH, 3), (find_boxes(row), FOUND, 2)):
        for x0, y0, x1, y1 in boxes:
            draw.rectangle([x0 * scale, y0 * scale, x1 * scale, y1 * scale], outline=color, width=width)
    for n, line in enumerate(lines):
        draw.text((4, image.height + 3 + n * line_h), line, fill="black", font=font)
    return canvas
