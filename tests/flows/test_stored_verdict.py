"""The verdict is a stored record: a report rendered later shows the verdict the audit returned.

Written first against the old code, where `reports` rebuilt the verdict from every stored
comparison row: with `drift.affects_verdict = false` the audit returned PASS and the report FAIL.
"""

from __future__ import annotations

import numpy as np
import pytest

from comparison import ComparisonResult, RegressionConfig
from flows.verdicts import judge
from reports import load_report_data, read_run
from storage.records import (GenerationRecord, MetricRecord, ModelVersionRecord, ProbeRecord,
                             ProbeResult, ProbeSetRecord, TokenMapRecord)
from storage.repository import AuditRepository

LENIENT = RegressionConfig.from_mapping({"drift": {"affects_verdict": False}})
STRICT = RegressionConfig.from_mapping({"drift": {"alone": "fail"}})  # drift alone may fail


def _blob(peak, shape=(8, 8)):
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    return np.exp(-((yy - peak[0]) ** 2 + (xx - peak[1]) ** 2) / 4.0)


@pytest.fixture()
def stored_runs(tmp_path):
    """Two runs with equal metric values whose maps look at opposite corners: (repo, cand, base)."""
    repo = AuditRepository(f"sqlite:///{tmp_path / 'audit.db'}")
    keys = [f"p{i:03d}" for i in range(8)]
    ps = repo.get_or_create_probe_set(ProbeSetRecord(None, "s", "1", "h"),
                                      [ProbeRecord(k, f"images/{k}.png", "Describe.") for k in keys])
    runs = {}
    for version, peak in (("1", (1, 1)), ("2", (6, 6))):
        mv = repo.get_or_create_model_version(
            ModelVersionRecord(None, "m", version, f"models:/m/{version}", "h" + version, "A"))
        run = repo.start_run(mv.id, ps.id, {"methods": ["tam"]})
        for k in keys:
            gen = GenerationRecord(k, "Describe.", "red circle", (1, 2), ("red", "\u0120circle"), (0, 1))
            maps = [TokenMapRecord(k, t, gen.tokens[t], t, "tam", _blob(peak)) for t in range(2)]
            metrics = [MetricRecord("tam", "obj_iou", 0.5, "higher_is_better", probe_key=k, word=w)
                       for w in ("red", "circle")]
            repo.add_probe_result(run.id, ProbeResult(k, gen, maps, metrics))
        repo.finish_run(run.id, "completed")
        runs[version] = run.id
    yield repo, runs["2"], runs["1"]
    repo.close()


def test_report_rendered_later_shows_the_verdict_the_audit_returned(stored_runs):
    repo, cand, base = stored_runs
    returned = judge(repo, read_run(repo, cand), read_run(repo, base), LENIENT)
    assert returned.verdict == "pass"
    assert returned.check("tam", "map_drift_spearman").verdict == "fail"  # reported, not counted

    later = load_report_data(repo, cand)
    assert later.verdict == returned  # loaded back from the stored result, not recomputed
    assert later.baseline_run.id == base
    assert [(h.verdict, h.baseline_run_id) for h in later.history if h.run_id == cand] == [("pass", base)]


def test_the_stored_record_carries_settings_result_and_comparisons(stored_runs):
    repo, cand, base = stored_runs
    returned = judge(repo, read_run(repo, cand), read_run(repo, base), LENIENT)
    (record,) = repo.get_verdicts(cand)
    assert (record.candidate_run_id, record.baseline_run_id, record.verdict) == (cand, base, "pass")
    assert record.headline == returned.headline and record.reasons == returned.reasons
    assert record.settings == LENIENT.to_dict() and record.settings["drift"]["affects_verdict"] is False
    assert ComparisonResult.from_dict(record.result) == returned
    assert {(c.metric, c.verdict) for c in record.comparisons} == {
        ("obj_iou", "pass"), ("map_drift_spearman", "fail"), ("map_drift_top_overlap", "fail")}


def test_a_rerun_with_the_same_settings_duplicates_nothing_and_other_settings_add_a_verdict(stored_runs):
    repo, cand, base = stored_runs
    first = judge(repo, read_run(repo, cand), read_run(repo, base), LENIENT)
    again = judge(repo, read_run(repo, cand), read_run(repo, base), LENIENT)
    assert again == first and len(repo.get_verdicts(cand)) == 1

    strict = judge(repo, read_run(repo, cand), read_run(repo, base), STRICT)
    assert strict.verdict == "fail" and len(repo.get_verdicts(cand)) == 2
    assert first.diff(strict).verdict_after == "fail"
    # the report shows the latest stored verdict, unless the caller names the one to show
    assert load_report_data(repo, cand).verdict == strict
    assert load_report_data(repo, cand, verdict=first).verdict == first
