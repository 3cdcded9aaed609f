"""A verdict's comparison rows: one per check, word-group checks named by their group, so storage's
one-row-per-(verdict, method, metric) rule holds however many groups a metric has."""

from __future__ import annotations

from comparison import ComparisonResult, MetricComparison
from flows.verdicts import comparison_records


def test_word_group_rows_carry_their_group_in_the_metric_name():
    checks = tuple(MetricComparison("answer", "answer_recall", "higher_is_better", -0.3, -0.4, -0.2, 40, 20, 0.05,
                                    "fail", "why", True, group) for group in (None, "colour", "colour@1"))
    result = ComparisonResult(2, 1, "fail", "headline", (), checks, (), 20, 40, 0, 0)
    rows = comparison_records(result)
    assert [r.metric for r in rows] == ["answer_recall", "answer_recall[colour]", "answer_recall[colour@1]"]
    assert len({(r.method, r.metric) for r in rows}) == len(rows)
