"""Class-text enrichment: several generated descriptions, a file instead, ensembling."""

import json
from pathlib import Path

import pytest
import torch

from visrep.vlm.data import CLASSES
from visrep.vlm.text import (
    class_prompts,
    ensemble,
    generated_descriptions,
    load_descriptions,
    pattern_prompt_ids,
    pattern_prompts,
    plain_prompt,
)


def test_generated_descriptions_name_the_attributes() -> None:
    ds = generated_descriptions("red star")
    assert len(ds) >= 3 and len(set(ds)) == len(ds)
    assert all("red" in d for d in ds) and any("point" in d for d in ds)


def test_prompts_plain_and_enriched() -> None:
    assert class_prompts(["red star"], enrich=False) == [["a photo of a red star."]]
    rich = class_prompts(["red star"], enrich=True)[0]
    assert len(rich) >= 3 and all(p.startswith("a photo of a red star. ") for p in rich)


def test_descriptions_file_replaces_generated(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text(json.dumps({c: [f"About {c}.", "Second."] for c in CLASSES}))
    loaded = load_descriptions(path, CLASSES)
    prompts = class_prompts(["red star"], enrich=True, descriptions=loaded)
    assert prompts == [["a photo of a red star. About red star.", "a photo of a red star. Second."]]
    path.write_text(json.dumps({"red star": ["x"]}))
    with pytest.raises(ValueError, match="no descriptions for"):
        load_descriptions(path, CLASSES)


def test_ensemble_is_normalised_mean_of_normalised_embeddings() -> None:
    table = {"a": torch.tensor([2.0, 0.0]), "b": torch.tensor([0.0, 5.0]), "c": torch.tensor([0.0, -1.0])}

    def encode(texts: list[str]) -> torch.Tensor:
        return torch.stack([table[t] for t in texts])

    out = ensemble(encode, [["a", "b"], ["c"]])
    r = 2 ** -0.5
    assert torch.allclose(out, torch.tensor([[r, r], [0.0, -1.0]]))


def test_pattern_prompts_are_class_major_and_the_student_backends_descriptions() -> None:
    from visrep.visual.student import DESCRIPTIONS
    from visrep.world.records import PATTERNS

    captions = pattern_prompts(CLASSES)
    ids = pattern_prompt_ids(torch.tensor([CLASSES.index("red star")]), torch.tensor([PATTERNS.index("striped")]))
    assert captions[int(ids[0])] == "a photo of a striped red star."
    assert set(captions) == {plain_prompt(" ".join(d)) for d in DESCRIPTIONS}  # what the backend ranks
