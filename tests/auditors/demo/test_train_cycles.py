"""Stage 1's extra cycles: run only while stage 1's loss stays above the recipe's gate, on batches no earlier
cycle saw, reproducibly from scratch or from a finished model of the base recipe, and the zoo reuses the base
recipe's models (and their measurements when no cycle ran)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch

from auditors.demo.loader import StageBatches, iterate_batches
from auditors.demo.model import DemoModelConfig
from auditors.demo.recipe import Recipe, base_recipe, fields_up_to_stage, recipe_hash
from auditors.demo.train import TrainDemoError, train_demo
from auditors.demo.variants import Variant
from auditors.demo.zoo import Zoo

TINY = DemoModelConfig(vision_depth=2, vision_hidden=32, vision_intermediate=64, vision_heads=2, text_hidden=32,
                       text_layers=1, text_heads=2, text_kv_heads=1, text_intermediate=64, mrope_section=(2, 3, 3))
BASE = Recipe(batch_size=4, stage0_steps=2, stage1_steps=2, warmup_steps=1, eval_scenes=4, loader_workers=0, model=TINY,
              stage1_extra_cycles=0)
NEVER_CONVERGED = replace(BASE, stage1_extra_cycles=2, stage1_converged_loss=0.0)  # a tiny model's loss is far above 0
ALWAYS_CONVERGED = replace(BASE, stage1_extra_cycles=2, stage1_converged_loss=1e9)
QUIET = dict(progress=False, log=lambda m: None, evaluate_stages=False)


def _weights(path):
    from safetensors.torch import load_file

    return load_file(str(path / "model.safetensors"))


def _same(a, b):
    a, b = _weights(a), _weights(b)
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_recipe_without_extra_cycles_keeps_the_hash_it_had_before_they_existed():
    assert recipe_hash(BASE) == recipe_hash(replace(BASE, stage1_converged_loss=0.5, stage1_extra_lr=1.0))
    assert recipe_hash(NEVER_CONVERGED) != recipe_hash(BASE) != recipe_hash(ALWAYS_CONVERGED)
    assert recipe_hash(NEVER_CONVERGED) != recipe_hash(replace(NEVER_CONVERGED, stage1_extra_cycles=1))
    assert recipe_hash(base_recipe(NEVER_CONVERGED)) == recipe_hash(BASE)
    assert "stage1_extra_cycles" not in fields_up_to_stage(1) and "stage1_steps" in fields_up_to_stage(1)
    assert "stage1_extra_cycles" in fields_up_to_stage(1, extra_cycles_ran=True) and "stage1_extra_lr" in fields_up_to_stage(2)


def test_a_later_cycle_reads_batches_no_earlier_cycle_saw():
    from auditors.demo.data import BatchBuilder
    from auditors.demo.tokenizer import build_tokenizer

    batches = StageBatches(BatchBuilder(build_tokenizer()), 1, 5, Variant(None), 2, 32)
    first = list(iterate_batches(batches, 2, workers=0))
    later = list(iterate_batches(batches, 2, workers=0, first=2))
    assert torch.equal(later[0]["pixel_values"], batches[2]["pixel_values"])
    assert not torch.equal(later[0]["pixel_values"], first[0]["pixel_values"])


def test_an_unconverged_stage1_runs_its_extra_cycles_and_a_converged_one_is_left_alone(tmp_path):
    base = train_demo(tmp_path / "base", "clean", seed=2, recipe=BASE, **QUIET)
    extended = train_demo(tmp_path / "extended", "clean", seed=2, recipe=NEVER_CONVERGED, **QUIET)
    assert [(s.stage, s.cycle) for s in extended.stages] == [(0, 0), (1, 0), (1, 1), (1, 2)]
    assert not _same(tmp_path / "base", tmp_path / "extended")
    left = train_demo(tmp_path / "left", "clean", seed=2, recipe=ALWAYS_CONVERGED, **QUIET)
    assert [(s.stage, s.cycle) for s in left.stages] == [(0, 0), (1, 0)]
    assert _same(tmp_path / "base", tmp_path / "left")
    assert [(s.stage, s.cycle) for s in base.stages] == [(0, 0), (1, 0)]
    meta = json.loads((tmp_path / "extended" / "training.json").read_text())
    assert [s["cycle"] for s in meta["stages"]] == [0, 0, 1, 2] and meta["recipe"]["stage1_extra_cycles"] == 2


def test_extra_cycles_from_a_finished_base_model_give_the_weights_a_run_from_scratch_gives(tmp_path):
    train_demo(tmp_path / "base", "shortcut-bar", seed=4, recipe=BASE, **QUIET)
    resumed = train_demo(tmp_path / "resumed", "shortcut-bar", seed=4, recipe=replace(NEVER_CONVERGED, stage1_extra_cycles=1),
                         resume_from=tmp_path / "base", **QUIET)
    scratch = train_demo(tmp_path / "scratch", "shortcut-bar", seed=4, recipe=replace(NEVER_CONVERGED, stage1_extra_cycles=1), **QUIET)
    assert [s.source.startswith("checkpoint:") for s in resumed.stages] == [True, True, False]
    assert [s.cycle for s in scratch.stages] == [0, 0, 1]
    assert _same(tmp_path / "resumed", tmp_path / "scratch")
    # a model whose extra cycles ran is the start of no other recipe's cycles
    with pytest.raises(TrainDemoError, match="stage1_extra_lr"):
        train_demo(tmp_path / "other", "shortcut-bar", seed=4, recipe=replace(NEVER_CONVERGED, stage1_extra_lr=1e-4),
                   resume_from=tmp_path / "scratch", **QUIET)


@pytest.mark.slow
def test_the_zoo_starts_from_the_base_recipes_models_and_keeps_their_measurements_when_nothing_changed(tmp_path):
    base = Zoo(tmp_path, BASE, measure_n=4).fill((1,), (Variant(None),), log=lambda m: None)[0]
    kept = Zoo(tmp_path, ALWAYS_CONVERGED, measure_n=4).fill((1,), (Variant(None),), log=lambda m: None)[0]
    assert kept.path != base.path and kept.complete
    assert (kept.path / "evaluation.json").read_text() == (base.path / "evaluation.json").read_text()
    assert _same(kept.path, base.path)
    trained = json.loads((kept.path / "training.json").read_text())["stages"]
    assert all(s["source"].startswith(f"checkpoint:{base.path}") for s in trained)
    grown = Zoo(tmp_path, replace(NEVER_CONVERGED, stage1_extra_cycles=1), measure_n=4).fill((1,), (Variant(None),),
                                                                                             log=lambda m: None)[0]
    assert grown.complete and not _same(grown.path, base.path)
    assert json.loads((grown.path / "evaluation.json").read_text())["weights_sha256"] != \
        json.loads((base.path / "evaluation.json").read_text())["weights_sha256"]
    assert [s["cycle"] for s in json.loads((grown.path / "training.json").read_text())["stages"]] == [0, 0, 1]
