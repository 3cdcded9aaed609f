"""The real-shape builder: published numbers, tokenizer id layout, processor grids, loadable folders.

The real sizes (2-7 B parameters) are never built here: parameter counts are checked on the meta
device (no memory), and the folders are built as miniatures that keep every interface of the
checkpoint (vocabulary, special ids, processor settings, chat template) with tiny layers.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import auditors
from auditors.adapters import adapter_for
from benchmarks.real_shapes import STOCK_PROCESSOR_CLASS, build, build_config, build_tokenizer
from benchmarks.real_specs import SHAPES, miniature

FAMILY_SHAPES = ("qwen2-vl-2b", "qwen2.5-vl-3b", "internvl3-1b", "llava-1.5-7b")
PROMPT = "Describe the image."


@pytest.mark.parametrize(("name", "billions"), [
    ("qwen2-vl-2b", 2.21), ("qwen2.5-vl-3b", 3.75), ("internvl3-1b", 0.94), ("internvl3-2b", 2.09),
    ("llava-1.5-7b", 7.06), ("llava-1.5-7b-24l", 5.44),
])
def test_published_shapes_have_the_published_parameter_counts(name, billions):
    """Counted on the meta device: a wrong width, depth or vocabulary moves the count off the model card's."""
    import torch
    import transformers

    shape = SHAPES[name]
    with torch.device("meta"):
        model = getattr(transformers, shape.architecture)(build_config(shape))
    assert sum(p.numel() for p in model.parameters()) / 1e9 == pytest.approx(billions, abs=0.01)


@pytest.mark.parametrize("name", FAMILY_SHAPES)
def test_tokenizer_has_the_real_size_and_special_ids(name):
    shape = SHAPES[name]
    tokenizer = build_tokenizer(shape)
    assert len(tokenizer) >= shape.vocab_size
    for token, index in shape.special_ids.items():
        assert tokenizer.convert_tokens_to_ids(token) == index, token
    config = build_config(shape)
    image_id = getattr(config, "image_token_id", None) or config.image_token_index
    assert tokenizer.convert_tokens_to_ids(shape.processor.get("image_token") or {
        "qwen2_vl": "<|image_pad|>", "qwen2_5_vl": "<|image_pad|>", "internvl": "<IMG_CONTEXT>"}[shape.family]) == image_id
    ids = tokenizer(PROMPT, add_special_tokens=False)["input_ids"]
    assert tokenizer.unk_token_id not in ids and max(ids) < shape.vocab_size


def _noise(width: int, height: int):
    from PIL import Image

    return Image.fromarray((np.random.RandomState(0).rand(height, width, 3) * 255).astype("uint8"))


@pytest.fixture(scope="module")
def miniatures(tmp_path_factory):
    root = tmp_path_factory.mktemp("real-shape-miniatures")
    return {name: build(miniature(SHAPES[name]), root / name, dtype="float32") and root / name
            for name in FAMILY_SHAPES}


@pytest.mark.parametrize(("name", "grid_448", "grid_wide"), [
    ("qwen2-vl-2b", (16, 16), (11, 16)), ("qwen2.5-vl-3b", (16, 16), (11, 16)),
    ("internvl3-1b", (16, 16), (16, 16)), ("llava-1.5-7b", (24, 24), (24, 24)),
])
def test_saved_folder_loads_on_the_users_path_with_the_real_grids(miniatures, name, grid_448, grid_wide):
    """A 448x448 image gives the real grid (16x16 merged for Qwen: the rank filter's auto rule turns
    on); a 451x300 one gives Qwen's dynamic grid and a letterboxed fixed canvas otherwise."""
    folder = miniatures[name]
    saved = json.loads((folder / "processor_config.json").read_text())
    assert saved["processor_class"] == STOCK_PROCESSOR_CLASS[SHAPES[name].family]
    model, processor = auditors.load_pretrained(folder)
    adapter = adapter_for(model)
    square = adapter.prepare(model, processor, _noise(448, 448), PROMPT)
    assert square.grid_shape == grid_448
    assert processor.tokenizer.decode(square.input_ids[square.prompt_positions]) == PROMPT
    wide = adapter.prepare(model, processor, _noise(451, 300), PROMPT)
    assert wide.grid_shape == grid_wide
    explanation = auditors.explain(model, processor, _noise(448, 448), PROMPT, methods=("tam", "msea_arc"),
                                   settings=auditors.ExplainSettings(max_new_tokens=2))
    assert explanation.maps["msea_arc"].shape[1:] == grid_448
    assert explanation.settings["resolved_rank_filter"] == "final"
    assert json.loads((folder / "real_shape.json").read_text())["checkpoint"] == SHAPES[name].checkpoint


def test_build_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "keep.txt").write_text("x")
    with pytest.raises(FileExistsError, match="not empty"):
        build(miniature(SHAPES["qwen2-vl-2b"]), tmp_path)
