"""The verdict a report shows is the one the audit returned (written first, against the old code)."""

from __future__ import annotations

import numpy as np

from flows.regression import RegressionConfig, compare_stored_runs
from reports import load_report_data
from storage.records import (GenerationRecord, MetricRecord, ModelVersionRecord, ProbeRecord,
                             ProbeResult, ProbeSetRecord, TokenMapRecord)
from storage.repository import AuditRepository


def _blob(peak, shape=(8, 8)):
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    return np.exp(-((yy - peak[0]) ** 2 + (xx - peak[1]) ** 2) / 4.0)


def test_report_rendered_later_shows_the_verdict_the_audit_returned(tmp_path):
    repo = AuditRepository(f"sqlite:///{tmp_path / 'audit.db'}")
    keys = [f"p{i:03d}" for i in range(8)]
    ps = repo.get_or_create_probe_set(ProbeSetRecord(None, "s", "1", "h"),
                                      [ProbeRecord(k, f"images/{k}.png", "Describe.") for k in keys])
    runs = {}
    for version, peak in (("1", (1, 1)), ("2", (6, 6))):  # same metrics, maps moved
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
    config = RegressionConfig.from_mapping({"drift": {"affects_verdict": False}})
    returned = compare_stored_runs(repo, runs["2"], runs["1"], config)
    assert returned.verdict == "pass"

    later = load_report_data(repo, runs["2"])
    assert later.verdict.verdict == "pass"
    assert [h.verdict for h in later.history if h.run_id == runs["2"]] == ["pass"]
