"""Real-format fixtures: GQA, RefCOCO and COCO files in each dataset's distributed schema.

Written from the published format descriptions (GQA's download page, refer.py's README,
COCO's data format page) over real photographs that ship inside scikit-image's wheel
(``skimage.data``: an astronaut, a cat, a coffee cup, a rocket launch, a motorcycle, a
cameraman and three textures), with boxes, scene graphs, refs, questions and captions made
by hand from looking at the photographs.  Every function writes one dataset's files into a
folder and returns the paths a user would pass to ``python -m visrep.world convert``.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import skimage
from PIL import Image

PHOTOS = {  # name -> skimage.data file
    "astronaut": "astronaut.png", "motorcycle": "motorcycle_left.png", "camera": "camera.png",
    "coffee": "coffee.png", "cat": "chelsea.png", "rocket": "rocket.jpg",
    "brick": "brick.png", "grass": "grass.png", "gravel": "gravel.png",
}

# Objects per photo: (name, [x, y, w, h], attributes, [(relation, other object's index)])
OBJECTS: dict[str, list[tuple[str, list[int], list[str], list[tuple[str, int]]]]] = {
    "astronaut": [("woman", [20, 15, 345, 497], ["smiling"], [("to the right of", 1)]),
                  ("flag", [0, 0, 95, 512], ["american", "red", "white"], [("to the left of", 0)]),
                  ("helmet", [275, 345, 230, 167], ["black", "white"], [("in front of", 0)]),
                  ("shuttle", [355, 0, 115, 280], ["white"], [("behind", 0)]),
                  ("patch", [135, 350, 75, 75], ["blue", "round"], [("on", 0)])],
    "motorcycle": [("motorcycle", [90, 95, 600, 355], ["red", "parked"], [("in front of", 5)]),
                   ("box", [525, 15, 75, 85], ["brown", "cardboard"], [("on", 5)]),
                   ("box", [610, 180, 90, 95], ["brown", "cardboard"], [("on", 5)]),
                   ("bench", [40, 105, 245, 200], ["wooden"], [("behind", 0)]),
                   ("bicycle", [0, 145, 45, 85], ["red"], [("to the left of", 3)]),
                   ("shelf", [340, 0, 380, 300], ["metal"], [])],
    "camera": [("man", [0, 65, 330, 447], ["young"], [("holding", 1)]),
               ("camera", [255, 135, 75, 60], ["silver"], [("on", 2)]),
               ("tripod", [225, 190, 180, 322], ["metal"], []),
               ("building", [410, 115, 30, 80], ["tall", "white"], [("behind", 0)]),
               ("grass", [0, 230, 512, 282], ["short"], [])],
    "coffee": [("cup", [170, 15, 245, 285], ["white", "red"], [("on", 1)]),
               ("saucer", [75, 65, 405, 325], ["red"], [("on", 3)]),
               ("spoon", [325, 65, 100, 260], ["silver", "metal"], [("on", 1)]),
               ("table", [0, 0, 600, 400], ["wooden", "brown"], []),
               ("coffee", [205, 95, 140, 95], ["brown"], [("in", 0)])],
    "cat": [("cat", [0, 0, 400, 300], ["brown", "striped"], []),
            ("eye", [135, 85, 70, 60], ["green"], [("of", 0)]),
            ("eye", [295, 110, 50, 55], ["green"], [("of", 0)]),
            ("nose", [240, 225, 50, 45], ["pink"], [("of", 0)])],
    "rocket": [("rocket", [300, 125, 40, 285], ["white", "tall"], [("to the right of", 3)]),
               ("tower", [0, 0, 90, 427], ["metal"], [("to the left of", 0)]),
               ("tower", [555, 0, 85, 427], ["metal"], [("to the right of", 0)]),
               ("tower", [165, 120, 45, 307], ["metal"], [("to the left of", 0)]),
               ("sky", [0, 0, 640, 340], ["blue", "dark"], [])],
    "brick": [("wall", [0, 0, 512, 512], ["brick", "gray"], [])],
    "grass": [("grass", [0, 0, 512, 512], ["green"], [])],
    "gravel": [("gravel", [0, 0, 512, 512], ["gray"], [])],
}


def photo(name: str, out: Path, fmt: str = "JPEG") -> Path:
    """Write skimage's photograph ``name`` to ``out`` (RGB, in ``fmt``), creating folders."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(Path(skimage.data_dir) / PHOTOS[name]) as im:
        im.convert("RGB").save(out, format=fmt)
    return out


def size(name: str) -> tuple[int, int]:
    with Image.open(Path(skimage.data_dir) / PHOTOS[name]) as im:
        return im.size


def _dump(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


# ---------------------------------------------------------------- GQA

GQA_IMAGES = {"train": {"astronaut": "2370001", "motorcycle": "2370002", "camera": "2370003", "coffee": "2370004"},
              "val": {"cat": "2380001", "rocket": "2380002"}, "test": {"coffee": "n390001"}}
# (image, question, answer, detailed type, structural type)
GQA_QUESTIONS = {
    "train": [("astronaut", "Is the flag to the left of the woman?", "yes", "relVerify", "verify"),
              ("astronaut", "What color is the patch?", "blue", "directOf", "query"),
              ("astronaut", "Are there both a helmet and a flag in the picture?", "yes", "existAndC", "logical"),
              ("motorcycle", "What color is the motorcycle?", "red", "directOf", "query"),
              ("motorcycle", "Is the bench wooden?", "yes", "verifyAttr", "verify"),
              ("motorcycle", "Is there a cat in the image?", "no", "exist", "verify"),
              ("camera", "What is the man holding?", "camera", "relS", "query"),
              ("camera", "Is the camera silver?", "yes", "verifyAttr", "verify"),
              ("coffee", "What is the spoon on?", "saucer", "relS", "query"),
              ("coffee", "Is there a cup on the saucer?", "yes", "relVerifyCr", "verify")],
    "val": [("cat", "What color is the nose?", "pink", "directOf", "query"),
            ("cat", "Is there a bicycle in the image?", "no", "exist", "verify"),
            ("rocket", "Is the rocket white?", "yes", "verifyAttr", "verify"),
            ("rocket", "Is there a tower to the left of the rocket?", "yes", "relVerify", "verify")],
    "test": [("coffee", "Is there a spoon?", None, "exist", "verify")],
}


def _gqa_graph(name: str, base: int) -> dict[str, Any]:
    width, height = size(name)
    objects = {}
    for n, (obj, (x, y, w, h), attributes, relations) in enumerate(OBJECTS[name]):
        objects[str(base + n)] = {"name": obj, "x": x, "y": y, "w": w, "h": h, "attributes": attributes,
                                  "relations": [{"name": r, "object": str(base + k)} for r, k in relations]}
    return {"width": width, "height": height, "location": "", "weather": "", "objects": objects}


def _gqa_question(image_id: str, text: str, answer: str | None, detailed: str, structural: str,
                  qid: str) -> dict[str, Any]:
    record = {"imageId": image_id, "question": text, "isBalanced": True,
              "groups": {"global": None, "local": f"10c-{detailed}"}, "entailed": [], "equivalent": [qid],
              "types": {"structural": structural, "semantic": "attr", "detailed": detailed},
              "annotations": {"question": {}, "answer": {}, "fullAnswer": {}},
              "semantic": [{"operation": "select", "dependencies": [], "argument": text.split()[-1].strip("?")}],
              "semanticStr": f"select: {text.split()[-1].strip('?')}"}
    if answer is not None:  # GQA's test and challenge files carry no answers
        record.update(answer=answer, fullAnswer=f"{answer.capitalize()}.")
    return record


def write_gqa(root: Path) -> dict[str, Any]:
    """questions files (train, val, test without answers), scene graphs (train, val), images."""
    for photos in GQA_IMAGES.values():
        for name, image_id in photos.items():
            photo(name, root / "images" / f"{image_id}.jpg")
    graphs = {}
    for split in ("train", "val"):
        graph = {image_id: _gqa_graph(name, 1000 * n + 100)
                 for n, (name, image_id) in enumerate(GQA_IMAGES[split].items(), start=1 if split == "train" else 5)}
        graphs[split] = _dump(root / f"{split}_sceneGraphs.json", graph)
    questions = {}
    for split, items in GQA_QUESTIONS.items():
        records = {}
        for n, (name, text, answer, detailed, structural) in enumerate(items):
            qid = f"{ {'train': 0, 'val': 1, 'test': 2}[split]}{n:07d}"
            records[qid] = _gqa_question(GQA_IMAGES[split][name], text, answer, detailed, structural, qid)
        questions[split] = _dump(root / f"{split}_balanced_questions.json", records)
    return {"images": root / "images", "questions": questions, "scene_graphs": graphs}


# ---------------------------------------------------------------- COCO instances (RefCOCO and COCO)

CATEGORIES = {"person": (1, "person"), "bicycle": (2, "vehicle"), "motorcycle": (4, "vehicle"),
              "bench": (15, "outdoor"), "cat": (17, "animal"), "cup": (47, "kitchen"), "spoon": (50, "kitchen"),
              "dining table": (67, "furniture")}
COCO_NAMES = {"woman": "person", "man": "person", "motorcycle": "motorcycle", "bench": "bench",
              "bicycle": "bicycle", "cat": "cat", "cup": "cup", "spoon": "spoon", "table": "dining table"}


def coco_instances(photos: dict[str, int], file_name: str, first_ann: int = 1) -> dict[str, Any]:
    """A COCO instances file of ``photos`` (name → COCO image id): the objects of COCO
    categories, as polygons and boxes, plus one crowd region (``iscrowd: 1``) on the
    motorcycle photo's boxes, as COCO marks groups."""
    images, annotations = [], []
    for name, coco_id in photos.items():
        width, height = size(name)
        images.append({"license": 1, "file_name": file_name.format(coco_id), "coco_url": "", "height": height,
                       "width": width, "date_captured": "2013-11-14 11:18:45", "flickr_url": "", "id": coco_id})
        for obj, (x, y, w, h), _, _ in OBJECTS[name]:
            if obj in COCO_NAMES:
                annotations.append(_annotation(len(annotations) + first_ann, coco_id, COCO_NAMES[obj], [x, y, w, h], 0))
        if name == "motorcycle":
            annotations.append(_annotation(len(annotations) + first_ann, coco_id, "bicycle", [520, 10, 190, 270], 1))
    categories = [{"supercategory": sup, "id": cid, "name": n} for n, (cid, sup) in CATEGORIES.items()]
    return {"info": {"description": "visrep fixture"}, "licenses": [{"id": 1, "name": "fixture", "url": ""}],
            "images": images, "annotations": annotations, "categories": categories}


def _annotation(ann_id: int, image_id: int, category: str, bbox: list[int], crowd: int) -> dict[str, Any]:
    x, y, w, h = bbox
    segmentation = ({"counts": [0, w * h], "size": [h, w]} if crowd else
                    [[float(x), float(y), float(x + w), float(y), float(x + w), float(y + h), float(x), float(y + h)]])
    return {"segmentation": segmentation, "area": float(w * h), "iscrowd": crowd, "image_id": image_id,
            "bbox": [float(v) for v in bbox], "category_id": CATEGORIES[category][0], "id": ann_id}


# ---------------------------------------------------------------- RefCOCO

REFCOCO_IMAGES = {"motorcycle": 9, "camera": 25, "cat": 30, "astronaut": 42, "coffee": 49}
REFCOCO_SPLITS = {"motorcycle": "train", "camera": "train", "cat": "val", "astronaut": "testA", "coffee": "testB"}
REFS = {  # (photo, object index in OBJECTS) -> sentences
    ("motorcycle", 0): ["red motorcycle", "the motorbike in the middle"],
    ("motorcycle", 3): ["wooden bench behind the bike"],
    ("motorcycle", 4): ["bicycle on the far left"],
    ("camera", 0): ["man with the camera", "guy on left"],
    ("cat", 0): ["cat"],
    ("astronaut", 0): ["woman in the orange suit", "astronaut smiling"],
    ("coffee", 0): ["cup of coffee"],
    ("coffee", 2): ["silver spoon on the right"],
}


def write_refcoco(root: Path) -> dict[str, Any]:
    """COCO's instances.json (train2014 names), refs(unc).p, the train2014 image folder."""
    instances = coco_instances(REFCOCO_IMAGES, "COCO_train2014_{:012d}.jpg")
    for name, coco_id in REFCOCO_IMAGES.items():
        photo(name, root / "train2014" / f"COCO_train2014_{coco_id:012d}.jpg")
    ann_of = {}  # (photo, object index) -> annotation
    for name, coco_id in REFCOCO_IMAGES.items():
        anns = iter(a for a in instances["annotations"] if a["image_id"] == coco_id and not a["iscrowd"])
        for k, (obj, *_rest) in enumerate(OBJECTS[name]):
            if obj in COCO_NAMES:
                ann_of[(name, k)] = next(anns)
    refs, sent_id = [], 0
    for ref_id, ((name, k), sentences) in enumerate(REFS.items()):
        ann = ann_of[(name, k)]
        sents = []
        for text in sentences:
            sents.append({"tokens": text.split(), "raw": text.capitalize(), "sent_id": sent_id, "sent": text})
            sent_id += 1
        refs.append({"sent_ids": [s["sent_id"] for s in sents], "file_name":
                     f"COCO_train2014_{ann['image_id']:012d}_{ann['id']}.jpg", "ann_id": ann["id"], "ref_id": ref_id,
                     "image_id": ann["image_id"], "split": REFCOCO_SPLITS[name], "sentences": sents,
                     "category_id": ann["category_id"]})
    refs_file = root / "refcoco" / "refs(unc).p"
    refs_file.parent.mkdir(parents=True, exist_ok=True)
    refs_file.write_bytes(pickle.dumps(refs, protocol=2))  # refer.py's files are protocol-2 pickles
    return {"images": root / "train2014", "refs": refs_file,
            "instances": _dump(root / "refcoco" / "instances.json", instances)}


# ---------------------------------------------------------------- COCO captions

COCO_IMAGES = {"train": {"astronaut": 1001, "motorcycle": 1002, "camera": 1003, "brick": 1004, "gravel": 1005},
               "val": {"cat": 2001, "coffee": 2002, "rocket": 2003, "grass": 2004}}
CAPTIONS = {
    "astronaut": ["A smiling woman in an orange space suit stands in front of a flag.",
                  "An astronaut holding her helmet next to a model of the shuttle."],
    "motorcycle": ["A red motorcycle parked in a garage beside a wooden bench."],
    "camera": ["A man in a dark coat looks through a camera on a tripod."],
    "coffee": ["A cup of coffee on a red saucer with a spoon."],
    "cat": ["Close up of a striped cat with green eyes."],
    "rocket": ["A white rocket on the launch pad between towers at dusk."],
    "brick": ["A gray brick wall."],
    "grass": ["A patch of green grass."],
    "gravel": ["Gray gravel on the ground."],
}


def write_coco(root: Path) -> dict[str, Any]:
    """instances and captions of train2017 and val2017, each split's images in its folder."""
    out: dict[str, Any] = {"images": {}, "instances": {}, "captions": {}}
    ann_id = 1
    for split, photos in COCO_IMAGES.items():
        folder = root / f"{split}2017"
        for name, coco_id in photos.items():
            photo(name, folder / f"{coco_id:012d}.jpg")
        instances = coco_instances(photos, "{:012d}.jpg", first_ann=ann_id)
        ann_id += len(instances["annotations"])
        captions = [{"image_id": coco_id, "id": 10 * coco_id + k, "caption": text}
                    for name, coco_id in photos.items() for k, text in enumerate(CAPTIONS[name])]
        out["images"][split] = folder
        out["instances"][split] = _dump(root / "annotations" / f"instances_{split}2017.json", instances)
        out["captions"][split] = _dump(root / "annotations" / f"captions_{split}2017.json",
                                       {**{k: instances[k] for k in ("info", "licenses", "images")},
                                        "annotations": captions})
    return out


# ---------------------------------------------------------------- ViperGPT-style programs

# Programs a user brings for some training tasks (the seeds of the warm start), written as
# ViperGPT's prompt writes them, in each world's vocabulary: task text -> body.
SEEDS = {
    "vqa": {
        "Is the flag to the left of the woman?":
            "image_patch = ImagePatch(image)\nflags = image_patch.find(\"flag\")\n"
            "women = image_patch.find(\"woman\")\nif len(flags) == 0 or len(women) == 0:\n    return \"no\"\n"
            "return bool_to_yesno(flags[0].horizontal_center < women[0].horizontal_center)",
        "What color is the patch?":
            "image_patch = ImagePatch(image)\npatches = image_patch.find(\"patch\")\nif len(patches) == 0:\n"
            "    return image_patch.simple_query(\"What color is the patch?\")\n"
            "return patches[0].simple_query(\"What color is the patch?\")",
        "Are there both a helmet and a flag in the picture?":
            "image_patch = ImagePatch(image)\n"
            "return bool_to_yesno(image_patch.exists(\"helmet\") and image_patch.exists(\"flag\"))",
        "What color is the motorcycle?":
            "image_patch = ImagePatch(image)\nreturn image_patch.simple_query(\"What color is the motorcycle?\")",
        "Is the bench wooden?":
            "image_patch = ImagePatch(image)\nbenches = image_patch.find(\"bench\")\nif len(benches) == 0:\n"
            "    return \"no\"\nreturn bool_to_yesno(benches[0].verify_property(\"bench\", \"wooden\"))",
        "Is there a cat in the image?":
            "image_patch = ImagePatch(image)\nreturn bool_to_yesno(image_patch.exists(\"cat\"))",
        "Is the camera silver?":
            "image_patch = ImagePatch(image)\ncameras = image_patch.find(\"camera\")\nif len(cameras) == 0:\n"
            "    return \"no\"\nreturn bool_to_yesno(cameras[0].verify_property(\"camera\", \"silver\"))",
        "Is there a cup on the saucer?":
            "image_patch = ImagePatch(image)\ncups = image_patch.find(\"cup\")\n"
            "saucers = image_patch.find(\"saucer\")\n"
            "return bool_to_yesno(any(cup.overlaps_with(s.left, s.lower, s.right, s.upper) "
            "for cup in cups for s in saucers))",
    },
    "detect": {
        "red motorcycle": "image_patch = ImagePatch(image)\nreturn image_patch.find(\"motorcycle\")[0]",
        "the motorbike in the middle":
            "image_patch = ImagePatch(image)\nbikes = image_patch.find(\"motorcycle\")\n"
            "return min(bikes, key=lambda b: abs(b.horizontal_center - image_patch.horizontal_center))",
        "wooden bench behind the bike": "image_patch = ImagePatch(image)\nreturn image_patch.find(\"bench\")[0]",
        "bicycle on the far left":
            "image_patch = ImagePatch(image)\nbikes = image_patch.find(\"bicycle\")\n"
            "return min(bikes, key=lambda b: b.horizontal_center)",
        "man with the camera": "image_patch = ImagePatch(image)\nreturn image_patch.find(\"man\")[0]",
        "guy on left":
            "image_patch = ImagePatch(image)\npeople = image_patch.find(\"person\")\n"
            "return min(people, key=lambda p: p.horizontal_center)",
    },
    "retrieve": {
        "A smiling woman in an orange space suit stands in front of a flag.":
            "image_patch = ImagePatch(image)\nreturn float(image_patch.exists(\"woman\"))",
        "A red motorcycle parked in a garage beside a wooden bench.":
            "image_patch = ImagePatch(image)\n"
            "return float(image_patch.exists(\"motorcycle\")) + float(image_patch.exists(\"bench\"))",
        "A man in a dark coat looks through a camera on a tripod.":
            "image_patch = ImagePatch(image)\nreturn float(image_patch.exists(\"man\"))",
    },
}


def write_seeds(world: Path, kind: str, out: Path) -> Path:
    """The kind's ``SEEDS`` as a seeds file (task id, kind, text, body) for the converted
    ``world``'s training tasks of those texts."""
    from visrep.world import load_tasks

    by_text = {t.text: t for t in load_tasks(world, "train") if t.kind == kind}
    lines = [json.dumps({"task_id": by_text[text].id, "kind": kind, "text": text, "body": body})
             for text, body in SEEDS[kind].items()]
    out.write_text("\n".join(lines) + "\n")
    return out
