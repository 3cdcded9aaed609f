"""The default probe set: valid DESIGN section 6 folder, deterministic, masks and captions of the scenes."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from auditors.demo import DEFAULT_PROMPT, build_default_probe_set
from auditors.demo.scenes import SceneConfig, make_scene, rng_for
from auditors.probes import load_probe_set, validate_probe_set


@pytest.fixture(scope="module")
def probe_dir(tmp_path_factory):
    return build_default_probe_set(tmp_path_factory.mktemp("ps") / "demo", n=12, seed=99)


def test_folder_is_valid_and_complete(probe_dir):
    assert validate_probe_set(probe_dir) == []
    manifest = yaml.safe_load((probe_dir / "probeset.yaml").read_text())
    assert manifest["name"] == "demo-scenes" and manifest["default_prompt"] == DEFAULT_PROMPT
    assert manifest["version"] and manifest["description"]
    lines = [json.loads(x) for x in (probe_dir / "probes.jsonl").read_text().splitlines()]
    assert len(lines) == 12 and len({x["id"] for x in lines}) == 12
    for rec in lines:
        assert rec["prompt"] == DEFAULT_PROMPT
        assert (probe_dir / rec["image"]).is_file()
        assert all((probe_dir / o["mask"]).is_file() for o in rec["objects"])


def test_probes_match_the_scenes_they_came_from(probe_dir):
    ps = load_probe_set(probe_dir)
    for i, probe in enumerate(ps.probes):
        scene = make_scene(rng_for(99, i), SceneConfig(), cue="first")
        image = probe.load_image()
        assert np.array_equal(np.asarray(image), np.asarray(scene.image))
        assert probe.caption == scene.caption
        assert [list(o.words) for o in probe.objects] == [[o.colour, o.shape] for o in scene.objects]
        for k, obj in enumerate(scene.objects):
            mask = probe.load_mask(k)
            assert mask.shape == (image.height, image.width)
            assert np.array_equal(mask, obj.mask)
        cue = probe.metadata["cue"]
        assert cue["colour"] == scene.objects[0].colour and tuple(cue["box"]) == scene.cue.box


def test_same_seed_gives_the_same_content_hash_other_seed_does_not(probe_dir, tmp_path):
    again = build_default_probe_set(tmp_path / "again", n=12, seed=99)
    other = build_default_probe_set(tmp_path / "other", n=12, seed=100)
    h = load_probe_set(probe_dir).content_hash
    assert load_probe_set(again).content_hash == h
    assert load_probe_set(other).content_hash != h


def test_existing_destination_is_not_overwritten_silently(probe_dir):
    with pytest.raises(FileExistsError):
        build_default_probe_set(probe_dir, n=2, seed=99)


def test_default_set_has_200_probes_with_cue(tmp_path):
    ps = load_probe_set(build_default_probe_set(tmp_path / "d"))
    assert len(ps.probes) == 200
    assert all(p.metadata["cue"]["cell"] == [0, 3] for p in ps.probes)
