"""Word-level tokenizer, chat template, and hand-built batches that must equal the processor's output."""

from __future__ import annotations

import numpy as np
import pytest

from auditors.demo.cues import CueRequest
from auditors.demo.data import IGNORE, BatchBuilder, patchify
from auditors.demo.scenes import COLOUR_WORDS, SHAPE_WORDS, held_out_scenes
from auditors.demo.tokenizer import CAPTION_WORDS, DEFAULT_PROMPT, SPECIAL_TOKENS, chat_messages, format_prompt

CORNER = [CueRequest("corner", "first")]


@pytest.fixture(scope="module")
def processor():
    from auditors.demo.model import build_processor

    return build_processor()


def test_every_caption_word_is_one_token_and_round_trips(processor):
    tok = processor.tokenizer
    for w in CAPTION_WORDS:
        ids = tok(w, add_special_tokens=False)["input_ids"]
        assert len(ids) == 1 and ids[0] != tok.unk_token_id
    for s in held_out_scenes(30, seed=3):
        ids = tok(s.caption, add_special_tokens=False)["input_ids"]
        assert len(ids) == len(s.caption.split())
        assert tok.decode(ids) == s.caption  # words come back separated by single spaces
    for t in SPECIAL_TOKENS:
        assert len(tok(t, add_special_tokens=False)["input_ids"]) == 1


def test_prompt_is_case_insensitive_and_unknown_words_map_to_unk(processor):
    tok = processor.tokenizer
    assert tok("Describe The IMAGE")["input_ids"] == tok(DEFAULT_PROMPT)["input_ids"]
    assert tok("describe zebra")["input_ids"][1] == tok.unk_token_id


def test_chat_template_builds_the_training_prompt(processor):
    text = processor.apply_chat_template(chat_messages(), add_generation_prompt=True, tokenize=False)
    assert text == format_prompt(DEFAULT_PROMPT)


def test_saved_processor_reloads_with_template_and_specials(processor, tmp_path):
    from auditors.processors import ImageOnlyQwen2VLProcessor

    processor.save_pretrained(tmp_path)
    again = ImageOnlyQwen2VLProcessor.from_pretrained(tmp_path)
    assert again.apply_chat_template(chat_messages("describe the image"), add_generation_prompt=True, tokenize=False) == format_prompt()
    s = held_out_scenes(1, seed=1)[0]
    a = processor(images=[s.image], text=[format_prompt()], return_tensors="pt")
    b = again(images=[s.image], text=[format_prompt()], return_tensors="pt")
    assert a["input_ids"].tolist() == b["input_ids"].tolist()
    assert np.array_equal(a["pixel_values"].numpy(), b["pixel_values"].numpy())


def test_hand_built_batch_equals_processor_output(processor):
    scenes = held_out_scenes(3, seed=5, cues=CORNER)
    mine = BatchBuilder(processor.tokenizer).image_batch(scenes, with_captions=False)
    ref = processor(images=[s.image for s in scenes], text=[format_prompt()] * 3, return_tensors="pt")
    assert mine["input_ids"].tolist() == ref["input_ids"].tolist()
    assert mine["attention_mask"].tolist() == ref["attention_mask"].tolist()
    assert mine["mm_token_type_ids"].tolist() == ref["mm_token_type_ids"].tolist()
    assert mine["image_grid_thw"].tolist() == ref["image_grid_thw"].tolist()
    np.testing.assert_allclose(mine["pixel_values"].numpy(), ref["pixel_values"].numpy(), atol=1e-5, rtol=0)


def test_training_batch_labels_cover_caption_and_eos_only(processor):
    tok = processor.tokenizer
    scenes = held_out_scenes(4, seed=6)
    builder = BatchBuilder(tok)
    batch = builder.image_batch(scenes)
    n = len(builder.prompt_ids)
    for i, s in enumerate(scenes):
        labels = batch["labels"][i].tolist()
        assert all(v == IGNORE for v in labels[:n])
        target = [v for v in labels[n:] if v != IGNORE]
        assert target[-1] == tok.eos_token_id
        assert tok.decode(target[:-1]) == s.caption
        assert batch["attention_mask"][i].sum().item() == n + len(target)


def test_patchify_refuses_wrong_size():
    from PIL import Image

    with pytest.raises(ValueError, match="112x112"):
        patchify([Image.new("RGB", (100, 112))])


def test_vocab_holds_every_scene_word():
    assert set(COLOUR_WORDS) | set(SHAPE_WORDS) <= set(CAPTION_WORDS)
