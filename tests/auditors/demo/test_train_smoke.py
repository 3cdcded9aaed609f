"""``train_demo`` end to end on a tiny config: stages train what they claim, output reloads and generates,
runs reproduce bit for bit from scratch, from a stage checkpoint and from the shared stage-0 cache."""

from __future__ import annotations

import json

import pytest
import torch

from auditors.demo.model import DemoModelConfig
from auditors.demo.train import Recipe, TrainDemoError, train_demo

TINY = DemoModelConfig(vision_depth=2, vision_hidden=32, vision_intermediate=64, vision_heads=2, text_hidden=32,
                       text_layers=1, text_heads=2, text_kv_heads=1, text_intermediate=64, mrope_section=(2, 3, 3))
QUIET = dict(progress=False, log=lambda m: None)


def _recipe(**kw):
    base = dict(batch_size=4, stage0_steps=2, stage1_steps=2, stage2_steps=0, warmup_steps=1, eval_scenes=4, model=TINY,
                stage1_extra_cycles=0)  # stage 1's extra cycles: test_train_cycles.py
    base.update(kw)
    return Recipe(**base)


def _state(path):
    from safetensors.torch import load_file

    return load_file(str(path / "model.safetensors"))


def _same(a, b):
    a, b = _state(a), _state(b)
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("train")
    res = train_demo(root / "out", "shortcut-bar", seed=3, recipe=_recipe(stage2_steps=2), checkpoint_dir=root / "ckpt",
                     stage0_cache=root / "s0", **QUIET)
    return root, res


def test_train_demo_saves_a_loadable_model_that_generates(tiny_run):
    from transformers import Qwen2_5_VLForConditionalGeneration

    from auditors.demo.scenes import held_out_scenes
    from auditors.demo.tokenizer import format_prompt
    from auditors.processors import ImageOnlyQwen2VLProcessor

    root, res = tiny_run
    model = Qwen2_5_VLForConditionalGeneration.from_pretrained(root / "out").eval()
    proc = ImageOnlyQwen2VLProcessor.from_pretrained(root / "out")
    inputs = proc(images=[held_out_scenes(1, seed=0)[0].image], text=[format_prompt()], return_tensors="pt")
    out = model.generate(**inputs, max_new_tokens=3, do_sample=False)
    assert out.shape[1] > inputs["input_ids"].shape[1]
    meta = json.loads((root / "out" / "training.json").read_text())
    assert meta["seed"] == 3 and meta["variant"] == "shortcut-bar" and meta["cue"] == "bar"
    assert len(meta["recipe_hash"]) == 12 and len(meta["load_average_start"]) == 3
    assert [s["stage"] for s in meta["stages"]] == [0, 1, 2]
    assert all(s["final_loss"] == s["final_loss"] for s in meta["stages"])  # not NaN
    assert meta["untrained_eval"]["n_scenes"] == 4
    assert 0.0 <= meta["stages"][1]["eval"]["point_colour"] <= 1.0


def test_stages_train_only_their_parts(tiny_run):
    root, _ = tiny_run
    s0, s1, s2 = (_state(root / "ckpt" / f"shortcut-bar-stage{k}") for k in (0, 1, 2))
    text = [k for k in s0 if k.startswith("model.layers") or k == "model.embed_tokens.weight"]
    vision = [k for k in s0 if k.startswith("visual.")]
    assert text and vision
    # stage 1 changes the vision tower (merger included) only, stage 2 changes both
    assert all(torch.equal(s0[k], s1[k]) for k in text)
    assert any(not torch.equal(s0[k], s1[k]) for k in vision if ".merger." in k)
    assert any(not torch.equal(s0[k], s1[k]) for k in vision if ".blocks." in k)
    assert any(not torch.equal(s1[k], s2[k]) for k in text)


def test_the_shared_stage0_is_reused_by_another_variant_with_the_weights_it_would_train(tiny_run, tmp_path):
    root, _ = tiny_run
    assert len(list((root / "s0").glob("*/seed-3/stage0.json"))) == 1
    cached = train_demo(tmp_path / "cached", "clean", seed=3, recipe=_recipe(), stage0_cache=root / "s0",
                        evaluate_stages=False, **QUIET)
    assert cached.stages[0].source.startswith("cache:")
    scratch = train_demo(tmp_path / "scratch", "clean", seed=3, recipe=_recipe(), evaluate_stages=False, **QUIET)
    assert scratch.stages[0].source == "trained"
    assert _same(tmp_path / "cached", tmp_path / "scratch")


def test_batches_built_in_a_worker_give_the_same_weights(tmp_path):
    train_demo(tmp_path / "w0", "shortcut-glyph", seed=4, recipe=_recipe(loader_workers=0), evaluate_stages=False, **QUIET)
    train_demo(tmp_path / "w1", "shortcut-glyph", seed=4, recipe=_recipe(loader_workers=1), evaluate_stages=False, **QUIET)
    assert _same(tmp_path / "w0", tmp_path / "w1")


def test_resume_from_a_later_stage_reproduces_the_run(tiny_run, tmp_path):
    root, _ = tiny_run
    again = train_demo(tmp_path / "again", "shortcut-bar", seed=3, recipe=_recipe(stage2_steps=2),
                       resume_from=root / "ckpt" / "shortcut-bar-stage1", evaluate_stages=False, **QUIET)
    assert _same(root / "out", again.out_dir)
    assert [s.stage for s in again.stages] == [0, 1, 2]


def test_checkpoints_of_another_seed_recipe_or_later_variant_are_refused(tiny_run, tmp_path):
    root, _ = tiny_run
    with pytest.raises(TrainDemoError, match="seed"):
        train_demo(tmp_path / "x", "clean", seed=4, recipe=_recipe(), resume_from=root / "ckpt" / "shortcut-bar-stage0",
                   evaluate_stages=False, **QUIET)
    with pytest.raises(TrainDemoError, match="stage0_steps"):
        train_demo(tmp_path / "x", "clean", seed=3, recipe=_recipe(stage0_steps=3), resume_from=root / "ckpt" / "shortcut-bar-stage0",
                   evaluate_stages=False, **QUIET)
    with pytest.raises(TrainDemoError, match="variant"):
        train_demo(tmp_path / "x", "clean", seed=3, recipe=_recipe(stage2_steps=2), resume_from=root / "ckpt" / "shortcut-bar-stage1",
                   evaluate_stages=False, **QUIET)
    # stage 0 is shared: another variant may start from it
    ok = train_demo(tmp_path / "ok", "clean", seed=3, recipe=_recipe(), resume_from=root / "ckpt" / "shortcut-bar-stage0",
                    evaluate_stages=False, **QUIET)
    assert [s.stage for s in ok.stages] == [0, 1]


def test_unknown_variant_is_refused(tmp_path):
    with pytest.raises(TrainDemoError, match="variant"):
        train_demo(tmp_path, "fancy", recipe=_recipe())


def test_each_stage_runs_on_its_recipe_thread_count_and_the_caller_keeps_its_own(tmp_path):
    """Thread counts are part of what reproduces a CPU run bit for bit: each stage uses the recipe's count
    (or the override for all), training.json records them, and the caller's setting is restored."""
    seen: list[tuple[str, int]] = []

    def log(message: str) -> None:
        if message.startswith("stage ") and " done " in message:
            seen.append((message.split()[1], torch.get_num_threads()))

    before = torch.get_num_threads()
    train_demo(tmp_path / "a", "clean", seed=5, recipe=_recipe(stage2_steps=1, stage_threads=(1, 2, 3)),
               evaluate_stages=False, progress=False, log=log)
    assert seen == [("0", 1), ("1", 2), ("2", 3)]
    assert json.loads((tmp_path / "a" / "training.json").read_text())["threads"] == [1, 2, 3]
    assert torch.get_num_threads() == before
    seen.clear()
    train_demo(tmp_path / "b", "clean", seed=5, recipe=_recipe(stage_threads=(1, 2, 3)), threads=2,
               evaluate_stages=False, progress=False, log=log)
    assert seen == [("0", 2), ("1", 2)]
    with pytest.raises(TrainDemoError, match="threads"):
        train_demo(tmp_path / "c", "clean", recipe=_recipe(), threads=0)
    with pytest.raises(TrainDemoError, match="stage_threads"):
        train_demo(tmp_path / "d", "clean", recipe=_recipe(stage_threads=(1, 0, 1)))


def test_the_command_says_whether_it_reproduced_the_shipped_weights(tiny_run, tmp_path):
    import shutil

    from auditors.demo import demo_model_dir
    from auditors.demo.reproduction import DEFAULT_SEED, NothingToCompare, compare_with_shipped, reproduction_message

    root, _ = tiny_run
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy(demo_model_dir("shortcut") / "model.safetensors", copy / "model.safetensors")
    assert compare_with_shipped(copy, "shortcut") is True
    assert compare_with_shipped(copy, "clean") is False
    assert compare_with_shipped(copy, "shortcut-bar") is None
    assert reproduction_message(copy, "shortcut", DEFAULT_SEED, None) == "bit-identical to the shipped shortcut weights"
    assert compare_with_shipped(root / "out", "shortcut") is False
    assert "as expected with seed=3" in reproduction_message(root / "out", "shortcut", 3, None)
    assert "another CPU type" in reproduction_message(root / "out", "shortcut", DEFAULT_SEED, None)
    with pytest.raises(NothingToCompare, match="does not exist"):
        compare_with_shipped(tmp_path / "nothing", "clean")
