"""Demo probe sets: valid DESIGN section 6 folders, deterministic, masks and captions of the scenes, cue modes."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from auditors.demo import CUE_KINDS, DEFAULT_PROMPT, build_default_probe_set
from auditors.demo.cues import CueRequest
from auditors.demo.probeset import DEFAULT_CUE_KINDS, DEFAULT_MODE, probe_plan
from auditors.demo.scenes import SceneConfig, make_scene, rng_for
from auditors.probes import load_probe_set, validate_probe_set

KINDS = tuple(CUE_KINDS)


@pytest.fixture(scope="module")
def probe_dir(tmp_path_factory):
    return build_default_probe_set(tmp_path_factory.mktemp("ps") / "demo", n=12, seed=99, cue_kinds=("corner",), mode="present")


@pytest.fixture(scope="module")
def mixed_dir(tmp_path_factory):
    return build_default_probe_set(tmp_path_factory.mktemp("ps") / "mixed", n=24, seed=99, cue_kinds=KINDS, mode="mixed")


def test_folder_is_valid_and_complete(probe_dir):
    assert validate_probe_set(probe_dir) == []
    manifest = yaml.safe_load((probe_dir / "probeset.yaml").read_text())
    assert manifest["name"] == "demo-scenes" and manifest["default_prompt"] == DEFAULT_PROMPT
    assert manifest["version"] and "cue mode present" in manifest["description"]
    lines = [json.loads(x) for x in (probe_dir / "probes.jsonl").read_text().splitlines()]
    assert len(lines) == 12 and len({x["id"] for x in lines}) == 12
    for rec in lines:
        assert rec["prompt"] == DEFAULT_PROMPT
        assert (probe_dir / rec["image"]).is_file()
        assert all((probe_dir / o["mask"]).is_file() for o in rec["objects"])


def test_probes_match_the_scenes_they_came_from(probe_dir):
    ps = load_probe_set(probe_dir)
    for i, probe in enumerate(ps.probes):
        scene = make_scene(rng_for(99, i), SceneConfig(), cues=[CueRequest("corner", "first")])
        image = probe.load_image()
        assert np.array_equal(np.asarray(image), np.asarray(scene.image))
        assert probe.caption == scene.caption
        assert [list(o.words) for o in probe.objects] == [[o.colour, o.shape] for o in scene.objects]
        for k, obj in enumerate(scene.objects):
            assert np.array_equal(probe.load_mask(k), obj.mask)
        cue = probe.metadata["cue"]
        assert cue["mode"] == "present" and cue["drawn"] is True
        assert cue["word"] == scene.objects[0].colour and tuple(cue["box"]) == scene.cues[0].box


def test_mixed_set_has_every_mode_and_kind_and_records_them(mixed_dir):
    ps = load_probe_set(mixed_dir)
    seen = set()
    for i, probe in enumerate(ps.probes):
        cue = probe.metadata["cue"]
        seen.add((cue["kind"], cue["mode"]))
        assert cue["cells"] and cue["carries"] == CUE_KINDS[cue["kind"]].carries
        slot = 0 if cue["carries"] == "colour" else 1
        first_word = probe.objects[0].words[slot]
        if cue["mode"] == "absent":
            assert cue["drawn"] is False and cue["word"] is None and cue["box"] is None
            plain = make_scene(rng_for(99, i))
            assert np.array_equal(np.asarray(probe.load_image()), np.asarray(plain.image))
        else:
            assert cue["drawn"] is True
            assert (cue["word"] == first_word) == (cue["mode"] == "present")
    assert seen == {(k, m) for k in KINDS for m in ("present", "absent", "conflicting")}


def test_plan_cycles_modes_then_kinds_and_refuses_bad_options():
    plan = probe_plan(9, ("corner", "bar"), "mixed")
    assert plan[:6] == [("corner", "present"), ("corner", "absent"), ("corner", "conflicting"),
                        ("bar", "present"), ("bar", "absent"), ("bar", "conflicting")]
    assert probe_plan(3, ("glyph",), "absent") == [("glyph", "absent")] * 3
    with pytest.raises(ValueError, match="mode"):
        probe_plan(3, ("corner",), "sometimes")
    with pytest.raises(ValueError, match="halo"):
        probe_plan(3, ("halo",), "present")
    with pytest.raises(ValueError, match="at least one"):
        probe_plan(3, (), "present")


def test_same_seed_gives_the_same_content_hash_other_seed_does_not(probe_dir, tmp_path):
    again = build_default_probe_set(tmp_path / "again", n=12, seed=99, cue_kinds=("corner",), mode="present")
    other = build_default_probe_set(tmp_path / "other", n=12, seed=100, cue_kinds=("corner",), mode="present")
    mixed = build_default_probe_set(tmp_path / "mixed", n=12, seed=99, cue_kinds=("corner",), mode="mixed")
    h = load_probe_set(probe_dir).content_hash
    assert load_probe_set(again).content_hash == h
    assert load_probe_set(other).content_hash != h
    assert load_probe_set(mixed).content_hash != h


def test_existing_destination_is_not_overwritten_silently(probe_dir):
    with pytest.raises(FileExistsError):
        build_default_probe_set(probe_dir, n=2, seed=99)


def test_default_set_is_200_probes_of_every_cue_kind_and_mode(tmp_path):
    """Not tuned to the shipped shortcut's cue: a third present, absent, conflicting, every kind."""
    assert DEFAULT_MODE == "mixed" and set(DEFAULT_CUE_KINDS) == set(KINDS)
    ps = load_probe_set(build_default_probe_set(tmp_path / "d"))
    assert len(ps.probes) == 200
    combos = [(p.metadata["cue"]["kind"], p.metadata["cue"]["mode"]) for p in ps.probes]
    assert {c: combos.count(c) for c in set(combos)}.keys() == {(k, m) for k in KINDS for m in ("present", "absent", "conflicting")}
    assert min(combos.count(c) for c in set(combos)) >= 16
