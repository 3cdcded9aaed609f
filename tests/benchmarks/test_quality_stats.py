"""The quality benchmark's statistics: pooled means over probes and their intervals."""

from __future__ import annotations

import pytest

from benchmarks.quality.stats import ProbeStats, summarise
from benchmarks.quality.words import word_kind


def _stats(probe_id: str, **values: list[float]) -> ProbeStats:
    stats = ProbeStats(probe_id)
    for key, items in values.items():
        for value in items:
            stats.add(key.replace("__", "/"), value)
    return stats


def test_pooled_mean_weights_words_not_probes_and_ci_brackets_it():
    probes = [_stats("a", tam__obj_iou=[0.2, 0.4, 0.6], tam__func_iou=[0.9]),
              _stats("b", tam__obj_iou=[0.8], tam__func_iou=[0.7, float("nan")]),
              _stats("c", tam__obj_iou=[0.1, 0.3], tam__func_iou=[0.5])]
    result = summarise(probes, ["tam"], n_boot=500, seed=1)
    obj = result["tam/obj_iou"]
    assert obj["value"] == pytest.approx(2.4 / 6, abs=1e-4) and obj["n"] == 6  # pooled over words
    assert obj["ci_low"] <= obj["value"] <= obj["ci_high"]
    assert result["tam/func_iou"]["n"] == 3  # NaN values are not counted
    f1 = result["tam/f1_iou"]
    o, f = 0.4, 2.1 / 3
    assert f1["value"] == pytest.approx(2 * o * f / (o + f), abs=1e-4)
    assert f1["ci_low"] <= f1["value"] <= f1["ci_high"]
    again = summarise(list(reversed(probes)), ["tam"], n_boot=500, seed=1)
    assert again["tam/obj_iou"]["value"] == obj["value"]


def test_word_kind_reads_occurrence_labels_and_refuses_merged_words():
    colours, shapes = frozenset({"red"}), frozenset({"circle"})
    assert word_kind("red#2", colours, shapes) == "colour"
    assert word_kind("circle", colours, shapes) == "shape"
    assert word_kind("red circle", colours, shapes) is None
    assert word_kind("the", colours, shapes) is None
