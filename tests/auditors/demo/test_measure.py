"""The model card's measurements: targets in words, round trip through evaluation.json, stale files recognisable."""

from __future__ import annotations

import json

from auditors.demo.evaluate import CounterfactualReport, EvalReport
from auditors.demo.measure import CLEAN_TARGETS, ModelMeasurements, weights_sha256


def _report(**kw):
    base = dict(n_scenes=10, caption_exact=0.95, colour_accuracy=1.0, shape_accuracy=1.0, point_colour=0.7,
                point_colour_wrong=0.2, point_shape=0.8, point_shape_wrong=0.25, point_colour_multi=0.6,
                point_shape_multi=0.7, chance=0.3, cue_argmax_all=0.05, cue_argmax_first=0.05,
                layer1_point_colour=0.5, layer1_point_shape=0.5, examples=[("a red circle", "a red circle")])
    base.update(kw)
    return EvalReport(**base)


def test_targets_name_every_miss():
    assert CLEAN_TARGETS.misses(_report()) == []
    misses = CLEAN_TARGETS.misses(_report(caption_exact=0.85, point_colour=0.59, point_shape_wrong=0.31))
    assert misses == ["caption exact 0.850 < 0.9", "colour pointing 0.590 < 0.6", "shape wrong-word control 0.310 > 0.3"]


def test_measurements_round_trip_through_json():
    m = ModelMeasurements("bar", _report(), _report(caption_exact=0.3),
                          {"bar": CounterfactualReport("bar", 5, 0.0, 0.2, 0.8)})
    again = ModelMeasurements.from_dict(json.loads(json.dumps(m.as_dict())))
    assert again == m


def test_weights_hash_is_the_sha256_of_the_safetensors(tmp_path):
    import hashlib

    (tmp_path / "model.safetensors").write_bytes(b"weights")
    assert weights_sha256(tmp_path) == hashlib.sha256(b"weights").hexdigest()
