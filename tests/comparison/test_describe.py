"""The sentences of a verdict: the headline names the deciding check and what it means."""

from __future__ import annotations

from comparison import RegressionConfig, compare_runs
from comparison.describe import describe_check
from comparison.result import MetricComparison
from tests.comparison.records import small_runs


def test_fail_headline_names_the_worst_quality_check_and_how_many_more():
    """A quality check is named before map drift, which only corroborates it (`rules.kind_rank`)."""
    result = compare_runs(*small_runs())
    assert result.headline.startswith("tam obj_iou fell by 0.300")
    assert "2 more checks failed" in result.headline
    assert "measurably worse" in result.headline
    assert result.reasons[0].startswith("tam obj_iou")  # worst first, as the headline
    assert result.reasons[1].startswith("tam map_drift_spearman")
    assert result.reasons[-1].startswith("Compared the maps of 12 words both versions generated on 4 probes")


def test_pass_headline_counts_the_checks():
    result = compare_runs(*small_runs(metric_shift=0.0, peak=(1, 1)))
    assert result.verdict == "pass"
    assert result.headline.startswith("All 3 checks are within tolerance over 12 words")
    assert result.reasons[0] == "All 3 comparisons that decide the verdict are within tolerance."


def test_warn_headline_for_too_few_probes():
    result = compare_runs(*small_runs(n_probes=2, metric_shift=0.0, peak=(1, 1)), RegressionConfig(min_probes=3))
    assert result.verdict == "warn"
    assert result.headline.startswith("Only 2 probe(s) could be paired for tam")
    assert "too few to call this version safe" in result.headline


def test_check_sentences_use_the_confidence_and_direction():
    lower = MetricComparison("tam", "func_mass", "lower_is_better", 0.2, 0.1, 0.3, 40, 20, 0.05, "fail", "")
    sentence = describe_check(lower, confidence=0.9)
    assert sentence.startswith("tam func_mass rose by 0.200 (90% CI [+0.100, +0.300], 40 pairs), tolerance +0.050")
    assert sentence.endswith("regression beyond tolerance.")
