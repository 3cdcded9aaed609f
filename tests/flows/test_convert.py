"""Explanation -> storage records: every map kept with its peak; masks are left to scoring."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from auditors.explanation import Explanation
from auditors.probes import load_probe_set
from flows.convert import explanation_to_probe_result, probe_set_records
from tests.flows.helpers import write_probe_set


class _Value:
    def __init__(self, method, metric, value, word=None):
        self.method, self.metric, self.value, self.word = method, metric, value, word
        self.direction, self.metric_version = "higher_is_better", "2"


def _explanation(grid=(4, 4)) -> Explanation:
    tam = np.zeros((3, *grid), np.float32)
    tam[0, 0, 0] = 1.0  # "red": peak top-left
    tam[1, 3, 3] = 2.0  # "circle": peak bottom-right
    tam[2] = 0.5  # flat: the first cell is the peak
    return Explanation(prompt="Describe the image.", answer="red circle", token_ids=[5, 6, 1],
                       tokens=["red", "circle", "<eos>"], word_index=[0, 1, -1], words=["red", "circle"],
                       grid_shape=grid, image_size=(56, 56), maps={"tam": tam, "attention": tam + 1})


def test_records_of_one_probe(tmp_path, monkeypatch):
    probe_set = load_probe_set(write_probe_set(tmp_path / "set", n=1))
    probe = probe_set.probes[0]
    assert probe.objects and probe.objects[0].mask_path  # a probe with a mask: conversion must not read it

    def read_twice(*_args, **_kwargs):
        raise AssertionError("conversion read a mask: masks are read once per probe, by scoring")

    monkeypatch.setattr(type(probe), "load_mask", read_twice)
    result = explanation_to_probe_result(_explanation(), probe, [_Value("tam", "obj_iou", 0.25, "red")], ["tam"])
    assert result.probe_key == "p000" and result.generation.text == "red circle"
    assert result.generation.word_index == (0, 1, -1)
    assert [(m.method, m.token_index) for m in result.maps] == [("tam", 0), ("tam", 1), ("tam", 2)]
    red, circle, eos = result.maps
    assert red.peak == (0, 0) and circle.peak == (3, 3) and eos.peak == (0, 0)
    assert eos.token_text == "<eos>" and eos.word_index == -1
    assert result.metrics[0].probe_key == "p000" and result.metrics[0].word == "red"
    assert result.metrics[0].metric_version == "2"


def test_probe_set_records_keep_identity(tmp_path):
    probe_set = load_probe_set(write_probe_set(tmp_path / "set", n=2))
    record, probes = probe_set_records(probe_set)
    assert record.content_hash == probe_set.content_hash and record.n_probes == 2
    assert probes[1].image_path == "images/p001.png" and not Path(probes[1].image_path).is_absolute()
    assert probes[0].object_words == (("red", "circle"),)


def test_aggregates_come_from_the_records_by_each_metrics_rule():
    from flows.convert import aggregate_records
    from storage.records import MetricRecord

    def value(metric, v, probe, word=None):
        return MetricRecord("tam", metric, v, "higher_is_better", probe_key=probe, word=word)

    per_probe = [
        value("obj_iou", 0.2, "p0", "red"), value("obj_iou", 0.4, "p0", "circle"), value("obj_iou", 0.9, "p1", "red"),
        value("obj_iou", 0.3, "p0"), value("obj_iou", 0.9, "p1"),  # probe-level means: not pooled again
        value("func_iou", 0.2, "p0", "a"), value("func_iou", 0.3, "p1", "a"),
        value("f1_iou", 0.1, "p0"), value("f1_iou", 0.9, "p1"),
        MetricRecord("tam", "obj_iou", 0.0, "higher_is_better"),  # an old aggregate row is ignored
    ]
    aggregates = {m.metric: m.value for m in aggregate_records(per_probe)}
    assert all(m.probe_key is None and m.word is None for m in aggregate_records(per_probe))
    assert aggregates["obj_iou"] == pytest.approx(0.5)  # pooled over the three words
    obj, func = 0.5, 0.25
    assert aggregates["f1_iou"] == pytest.approx(2 * obj * func / (obj + func))  # F1 of the pooled means (1/3)
    assert aggregates["f1_iou"] != pytest.approx(0.5)  # not the mean of the per-probe F1s
