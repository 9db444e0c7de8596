"""Each task kind on the world side, in one registry: how it is made, written and read.

``WORLD_KINDS[kind]`` gives the kind's generator, its task file and that file's writer
and reader; an unknown kind raises ValueError (records.KindTable).  The task files, in
the shapes real data comes in (records without a split get split "unknown"):

- detect, refs.json (RefCOCO): ``boxes`` (list), ``bbox`` or ``ann_id`` (looked up in
  instances.json), all [x, y, w, h]; ``image_id`` a COCO id or an image id string; one
  task per sentence.  The world writes ``bbox`` for one box, ``boxes`` for several.
- vqa, questions.json (GQA): {id: {imageId, question, answer, split?, types?}}.
- retrieve, retrieval.json: a list of {id, caption, images, index, split}.

The world also writes each task's generator template ("template", or GQA's
types.detailed) and its reference program ("reference": the body of a correct program,
references.py), which read back into ``Task.meta``; both are optional on read, so files
without them (real data) load with neither.  A refs.json reference serves every sentence
of its ref, as sentences are paraphrases of one referent.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from visrep.world.coco import Instances, Written, read_instances
from visrep.world.jsonio import box_to_xywh, field, read_json, xywh_to_box
from visrep.world.records import UNKNOWN, KindTable, Scene, Task
from visrep.world.retrieval import make_retrieve
from visrep.world.tasks import make_detect, make_vqa

# (scene, rng, task id, split, ids free for negatives) → the task and the negative scenes
# it needs rendered, or None when the scene admits no task of this kind
Generate = Callable[[Scene, random.Random, str, str, list[str]], tuple[Task, list[Scene]] | None]


@dataclass(frozen=True)
class WorldKind:
    """One task kind's generator and task file."""

    generate: Generate
    file: str  # the kind's task file in a world directory
    write: Callable[[list[Task], Written], Any]  # its tasks, the instances' ids → the file's JSON
    read: Callable[[Path], list[Task]]  # the file → its tasks (ValueError naming the fault)


def _number(task: Task) -> int | str:
    """The record id in its file of a task's id: the number of a generated task ("vqa/12" →
    12), the id as given of a converted one ("detect/57.1" → "57.1")."""
    number = task.id.split("/", 1)[1]
    return int(number) if number.isdigit() and str(int(number)) == number else number


def _written_meta(task: Task) -> dict[str, Any]:
    """The generator facts a task file keeps: template and reference, where the task has them."""
    return {k: task.meta[k] for k in ("template", "reference") if k in task.meta}


def _meta(template: Any, record: dict, path: Path, where: str) -> dict[str, Any]:
    """A record's generator facts as ``Task.meta``: its template (when it names one) and its
    reference program (when it has one, a str)."""
    meta: dict[str, Any] = {"template": template} if template else {}
    if "reference" in record:
        meta["reference"] = field(record, "reference", path, where, str)
    return meta


# ---------------------------------------------------------------- detect


def _generate_detect(scene: Scene, rng: random.Random, task_id: str, split: str,
                     negative_ids: list[str]) -> tuple[Task, list[Scene]] | None:
    task = make_detect(scene, rng, task_id, split)
    return task and (task, [])


def _write_refs(tasks: list[Task], written: Written) -> list[dict]:
    """RefCOCO's ref records, with the keys refer.py indexes (ann_id, category_id, sent_ids,
    each sentence's tokens and raw text) where the ref names one annotated object; a phrase
    naming several ("all red stars") has ``boxes`` and its objects' ``ann_ids`` instead."""
    refs = []
    for task in tasks:
        number, image = _number(task), task.images[0]
        boxes = [box_to_xywh(b) for b in task.annotation["boxes"]]
        anns = [written.annotation.get((image, tuple(float(v) for v in b))) for b in task.annotation["boxes"]]
        where: dict[str, Any] = {"bbox": boxes[0]} if len(boxes) == 1 else {"boxes": boxes}
        if len(anns) == 1 and anns[0]:
            where |= {"ann_id": anns[0][0], "category_id": anns[0][1]}
        elif anns and all(anns):
            where["ann_ids"] = [a[0] for a in anns if a]
        sentence = {"sent": task.text, "sent_id": number, "raw": task.text, "tokens": task.text.split()}
        refs.append({"ref_id": number, "image_id": written.coco_id[image], "split": task.split,
                     "sentences": [sentence], "sent_ids": [number], **where, **_written_meta(task)})
    return refs


def _read_refs(path: Path) -> list[Task]:
    tasks: list[Task] = []
    coco: Instances | None = None
    for n, ref in enumerate(read_json(path, list)):
        where = f"refs[{n}]"
        image = field(ref, "image_id", path, where, (int, str))
        if coco is None and (isinstance(image, int) or not ("bbox" in ref or "boxes" in ref)):
            coco = read_instances(path.parent)  # COCO ids and ann_ids are resolved through instances.json
        if isinstance(image, int):
            if image not in coco.ids:
                raise ValueError(f"{path}: {where}: image_id {image} not in instances.json")
            image = coco.ids[image]
        if "boxes" in ref:
            boxes = [xywh_to_box(b, path, where) for b in field(ref, "boxes", path, where, list)]
        elif "bbox" in ref:
            boxes = [xywh_to_box(ref["bbox"], path, where)]
        elif ref.get("ann_id") in coco.annotations:
            boxes = [xywh_to_box(coco.annotations[ref["ann_id"]].get("bbox"), path, where)]
        else:
            raise ValueError(f"{path}: {where}: needs 'boxes', 'bbox' or an 'ann_id' in instances.json")
        ref_id = field(ref, "ref_id", path, where, (int, str))
        meta = _meta(ref.get("template"), ref, path, where)
        for k, sentence in enumerate(field(ref, "sentences", path, where, list)):
            text = field(sentence, "sent", path, f"{where}.sentences[{k}]", str)
            tid = f"detect/{ref_id}" + (f".{k}" if k else "")
            tasks.append(Task(tid, "detect", text, (image,), {"boxes": [list(b) for b in boxes]},
                              ref.get("split", UNKNOWN), meta))
    return tasks


# ---------------------------------------------------------------- vqa


def _generate_vqa(scene: Scene, rng: random.Random, task_id: str, split: str,
                  negative_ids: list[str]) -> tuple[Task, list[Scene]] | None:
    task = make_vqa(scene, rng, task_id, split)
    return task and (task, [])


def _write_questions(tasks: list[Task], written: Written) -> dict[str, dict]:
    out = {}
    for task in tasks:
        record = {"imageId": task.images[0], "question": task.text, **task.annotation, "split": task.split}
        if "template" in task.meta:
            record["types"] = {"detailed": task.meta["template"]}
        if "reference" in task.meta:
            record["reference"] = task.meta["reference"]
        out[str(_number(task))] = record
    return out


def question_task(qid: str, q: Any, path: Path, split: str, shared: dict | None = None) -> Task:
    """One GQA question record as a task of ``split`` (its own ``split`` field wins).

    GQA's test and challenge files have no ``answer``: such a question is an unlabelled task
    (empty annotation), which programs can run on but nothing can score (``labelled``).
    ``shared`` (one dict per file read) lets tasks of the same answer or template share one
    annotation or meta dict (``_one``).
    """
    if not _well_formed(q):  # one expression for the common record; the field checks name the fault
        where = f"question {qid}"
        field(q, "question", path, where, str)  # first: it also checks that q is a record
        field(q, "imageId", path, where, (str, int))
        for key, kind in (("answer", str), ("types", (dict, type(None))), ("reference", str)):
            if key in q:
                field(q, key, path, where, kind)
    return _question(qid, q["imageId"], q["question"], q.get("answer"), q.get("split", split),
                     (q.get("types") or {}).get("detailed"), q.get("reference"), shared)


def _question(qid: str, image: str | int, text: str, answer: str | None, split: str, template: str | None,
              reference: str | None, shared: dict | None) -> Task:
    """The task of a question record's checked fields (None: the record has no such field)."""
    if reference is not None:
        meta = {"template": template, "reference": reference} if template else {"reference": reference}
    else:
        meta = _one(shared, "template", template) if template else {}
    return Task(f"vqa/{qid}", "vqa", text, (str(image),), {} if answer is None else _one(shared, "answer", answer),
                split, meta)


class _Question(msgspec.Struct):
    """A questions.json record with the field types ``question_task`` checks, which msgspec
    checks in C while it parses: reading a converted 1 M-question world took 3.7 s through
    ``json`` and the checks, 2.4 s this way."""

    imageId: str | int
    question: str
    answer: str | msgspec.UnsetType = msgspec.UNSET
    split: str | msgspec.UnsetType = msgspec.UNSET
    types: dict[str, Any] | None = None
    reference: str | msgspec.UnsetType = msgspec.UNSET


def _one(shared: dict | None, key: str, value: Any) -> dict:
    """``{key: value}``, the same dict object for every task of a file with that pair.

    Why: a GQA file has a few thousand distinct answers and ~100 templates over a million
    questions; two fresh dicts per question made reading a converted 1 M-question world peak
    at 1.6 GB, 1.2 GB with them shared.  Tasks are frozen and nothing writes into their dicts."""
    if shared is None:
        return {key: value}
    one = shared.get((key, value))
    if one is None:
        one = shared[(key, value)] = {key: value}
    return one


def _well_formed(q: Any) -> bool:
    """Whether a question record has every field of the right type (what the field checks
    pass), tested at the speed a 1 M-question file needs."""
    return (type(q) is dict and type(q.get("question")) is str and type(q.get("imageId")) is str
            and type(q.get("answer", "")) is str and type(q.get("types")) in (dict, type(None))
            and type(q.get("reference", "")) is str)


def labelled(task: Task) -> bool:
    """Whether the task has an annotation to score against (a test file's questions do not)."""
    return bool(task.annotation)


def _read_questions(path: Path) -> list[Task]:
    """The file's tasks, parsed into ``_Question`` records; a file that does not parse so
    (bad JSON, a field of the wrong type) is read again through ``read_json`` and the
    field checks, whose error names the file, the question and the field."""
    shared: dict = {}
    try:
        records = msgspec.json.decode(path.read_bytes(), type=dict[str, _Question])
    except (OSError, msgspec.DecodeError):
        return [question_task(qid, q, path, UNKNOWN, shared) for qid, q in read_json(path, dict).items()]
    unset = msgspec.UNSET
    return [_question(qid, q.imageId, q.question, None if q.answer is unset else q.answer,
                      UNKNOWN if q.split is unset else q.split, (q.types or {}).get("detailed"),
                      None if q.reference is unset else q.reference, shared)
            for qid, q in records.items()]


# ---------------------------------------------------------------- retrieve


def _write_retrieval(tasks: list[Task], written: Written) -> list[dict]:
    return [{"id": _number(task), "caption": task.text, "images": list(task.images),
             "index": task.annotation["index"], "split": task.split, **_written_meta(task)} for task in tasks]


def _read_retrieval(path: Path) -> list[Task]:
    tasks = []
    for n, r in enumerate(read_json(path, list)):
        where = f"retrieval[{n}]"
        images = tuple(field(r, "images", path, where, list))
        index = field(r, "index", path, where, int)
        if not images or not all(isinstance(i, str) for i in images) or not 0 <= index < len(images):
            raise ValueError(f"{path}: {where}: index {index} does not pick one of images {list(images)}")
        tasks.append(Task(
            f"retrieve/{field(r, 'id', path, where, (int, str))}", "retrieve",
            field(r, "caption", path, where, str), images, {"index": index},
            r.get("split", UNKNOWN), _meta(r.get("template"), r, path, where),
        ))
    return tasks


WORLD_KINDS: KindTable[WorldKind] = KindTable("world generator and task file", {
    "detect": WorldKind(_generate_detect, "refs.json", _write_refs, _read_refs),
    "vqa": WorldKind(_generate_vqa, "questions.json", _write_questions, _read_questions),
    "retrieve": WorldKind(make_retrieve, "retrieval.json", _write_retrieval, _read_retrieval),
})
