"""The model zoo: cached outside the repository by recipe hash, complete only once measured, resumable."""

from __future__ import annotations

import json
import os

import pytest

from auditors.demo.model import DemoModelConfig
from auditors.demo.recipe import Recipe
from auditors.demo.variants import Variant
from auditors.demo.zoo import Zoo, default_zoo_root, describe, folder_name, main, parse_seed_list, zoo_seeds, zoo_variants

TINY = DemoModelConfig(vision_depth=2, vision_hidden=32, vision_intermediate=64, vision_heads=2, text_hidden=32,
                       text_layers=1, text_heads=2, text_kv_heads=1, text_intermediate=64, mrope_section=(2, 3, 3))
RECIPE = Recipe(batch_size=4, stage0_steps=2, stage1_steps=2, warmup_steps=1, eval_scenes=4, loader_workers=0, model=TINY)
QUIET = dict(log=lambda m: None)


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    root = tmp_path_factory.mktemp("zoo")
    zoo = Zoo(root, RECIPE, measure_n=4)
    models = zoo.fill(zoo_seeds(1), (Variant(None), Variant("glyph")), **QUIET)
    return zoo, models


def test_names_seeds_variants_and_root(monkeypatch, tmp_path):
    assert [folder_name(v, 3) for v in zoo_variants()] == [
        "clean-none-3", "shortcut-corner-3", "shortcut-bar-3", "shortcut-glyph-3", "shortcut-border-3"]
    assert zoo_seeds(3) == (1, 2, 3)
    with pytest.raises(ValueError):
        zoo_seeds(0)
    monkeypatch.setenv("MLLM_AUDIT_ZOO", str(tmp_path))
    assert default_zoo_root() == tmp_path
    monkeypatch.delenv("MLLM_AUDIT_ZOO")
    assert default_zoo_root().parts[-3:] == (".cache", "mllm-audit", "zoo")


def test_seed_lists_name_seeds_and_refuse_anything_else(tmp_path, capsys):
    assert parse_seed_list("8, 9,4242,") == (8, 9, 4242) and parse_seed_list(None) == ()
    for bad in ("8;9", "eight", "-3"):
        with pytest.raises(SystemExit, match="seed"):
            parse_seed_list(bad)
    main(["--root", str(tmp_path), "--seed-list", "8,4242", "--variants", "clean", "--status"])
    listed = capsys.readouterr().out
    assert "0/2 models complete" in listed and "clean-none-8: missing" in listed and "clean-none-4242: missing" in listed
    with pytest.raises(SystemExit, match="names no seed"):
        main(["--root", str(tmp_path), "--seed-list", ",", "--status"])


def test_models_are_saved_measured_and_keyed_by_the_recipe(filled):
    zoo, models = filled
    assert [m.path.name for m in models] == ["clean-none-1", "shortcut-glyph-1"]
    assert zoo.folder.name == Zoo(zoo.folder.parent, RECIPE).folder.name
    assert Zoo(zoo.folder.parent, Recipe(**{**RECIPE.as_dict(), "model": TINY, "stage1_steps": 3,
                                            "stage_threads": (1, 2, 2)})).folder != zoo.folder
    assert Zoo(zoo.folder.parent, RECIPE, threads=2).folder != zoo.folder
    for m in models:
        assert m.complete and (m.path / "model.safetensors").is_file()
        meta = json.loads((m.path / "training.json").read_text())
        assert meta["seed"] == 1 and meta["variant"] == m.variant.name
        assert m.measurements.cue.n_scenes == 4 and set(m.measurements.counterfactual) == {"corner", "bar", "glyph", "border"}
    clean, glyph = models
    assert clean.meets_clean_targets() is False and clean.uses_its_cue() is None  # 2 steps: nothing learnt
    assert glyph.meets_clean_targets() is None and 0.0 <= glyph.uses_its_cue() <= 1.0
    assert glyph.measurements.cue_kind == "glyph" and "counterfactuals name its cue" in describe(glyph)
    assert "targets missed" in describe(clean)
    assert len(list((zoo.folder / "stage0").glob("*/seed-1/stage0.json"))) == 1  # one stage 0 for both


def test_a_clean_model_says_whether_its_captions_alone_meet_the_target(filled):
    _, (clean, glyph) = filled
    assert clean.captions_to_target() is False  # 2 steps: no captions yet
    assert glyph.captions_to_target() is None  # a shortcut has no clean target


def test_a_killed_fill_resumes_without_retraining_what_is_done(filled):
    zoo, models = filled
    clean = models[0]
    trained_at = os.stat(clean.path / "model.safetensors").st_mtime_ns
    (clean.path / "evaluation.json").unlink()  # killed between training and measuring
    debris = zoo.folder / ".shortcut-glyph-1.abc123"  # killed while training
    debris.mkdir()
    assert not zoo.model("clean", 1).complete and describe(zoo.model("clean", 1)) == "missing"
    again = zoo.fill(zoo_seeds(1), (Variant(None), Variant("glyph")), **QUIET)
    assert all(m.complete for m in again) and not debris.exists()
    assert os.stat(clean.path / "model.safetensors").st_mtime_ns == trained_at  # measured again, not retrained


@pytest.mark.slow
def test_seeds_trained_at_once_in_their_own_processes_give_the_same_weights(tmp_path):
    import hashlib

    def digest(model):
        return hashlib.sha256((model.path / "model.safetensors").read_bytes()).hexdigest()

    variants = (Variant(None), Variant("corner"))
    alone = Zoo(tmp_path / "one", RECIPE, measure_n=4).fill((1, 2), variants, **QUIET)
    lines = []
    together = Zoo(tmp_path / "two", RECIPE, measure_n=4).fill((1, 2), variants, log=lines.append, jobs=2)
    assert [m.path.name for m in together] == [m.path.name for m in alone] == [
        "clean-none-1", "shortcut-corner-1", "clean-none-2", "shortcut-corner-2"]
    assert all(m.complete for m in together) and [digest(m) for m in together] == [digest(m) for m in alone]
    assert sorted(line.split(":")[0] for line in lines) == sorted(m.path.name for m in together)  # each reported
    assert digest(together[0]) != digest(together[2])  # the seeds differ: the comparison can fail
    with pytest.raises(ValueError, match="jobs"):
        Zoo(tmp_path / "two", RECIPE).fill((1,), variants, jobs=0, **QUIET)
