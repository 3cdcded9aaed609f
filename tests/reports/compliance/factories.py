"""A stored model history for dossier tests: two audited versions of `captioner` (v2 judged
against v1 and failed, with an alert), a third version registered but never audited, a rejected
and an overriding sign-off, in a real SQLite database."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from storage.records import (AlertRecord, ComparisonRecord, MetricRecord, SignoffRecord, VerdictRecord)
from storage.repository import AuditRepository
from tests.storage.factories import METHODS, model_version, probe_result, probe_set

NAME = "captioner"
REGISTERED = datetime(2026, 11, 1, 9, 30, tzinfo=timezone.utc)


def _aggregates(level: float) -> list[MetricRecord]:
    return [MetricRecord(method, metric, level - 0.05 * i - 0.1 * j, "higher_is_better")
            for j, method in enumerate(METHODS) for i, metric in enumerate(("pointing_game", "obj_iou", "f1_iou", "energy_in_mask"))]


def stored_history(path: Path) -> AuditRepository:
    """The repository (caller closes it) holding the history described in the module note."""
    repo = AuditRepository(f"sqlite:///{path}")
    record, probes = probe_set(4)
    record = replace(record, source="drawn by the tests", licence="CC0")
    ps = repo.get_or_create_probe_set(record, probes)
    runs = {}
    for version, level in (("1", 0.7), ("2", 0.4)):
        mv = repo.get_or_create_model_version(replace(
            model_version(name=NAME, version=version, weights_hash=version * 64),
            registered_at=REGISTERED + timedelta(days=int(version)), aliases=("champion",) if version == "1" else ("candidate",)))
        run = repo.start_run(mv.id, ps.id, {"methods": list(METHODS), "explain_settings": {"rank_filter": "auto"},
                                            "metric_options": {}}, {"torch": "2.13.0"}, "git:0123abcd")
        repo.add_probe_results(run.id, [probe_result(p.probe_key, seed=int(version)) for p in probes])
        repo.set_aggregate_metrics(run.id, _aggregates(level))
        repo.finish_run(run.id, "completed")
        repo.set_report_path(run.id, f"/srv/reports/run-{run.id}/report.html")
        runs[version] = run.id
    repo.get_or_create_model_version(replace(model_version(name=NAME, version="3", weights_hash="3" * 64),
                                             aliases=(), registered_at=REGISTERED + timedelta(days=3)))
    checks = (ComparisonRecord(runs["2"], runs["1"], "tam", "pointing_game", -0.27, -0.32, -0.23, 180, 0.05, "fail"),
              ComparisonRecord(runs["2"], runs["1"], "tam", "map_drift_spearman", 0.09, 0.07, 0.12, 1371, 0.3, "fail"))
    repo.add_verdict(VerdictRecord(runs["2"], runs["1"], "fail",
                                   "TAM's maps of the same words agree at only 0.09 (minimum 0.30).",
                                   ("tam map_drift_spearman: maps agree at 0.090, minimum 0.300.",
                                    "tam pointing_game fell by 0.270: regression beyond tolerance."),
                                   {"default_tolerance": 0.05}, {"type": "test", "version": 1}, checks))
    repo.add_alert(AlertRecord(runs["2"], "fail", "captioner v2 FAIL: maps moved to the corner marker",
                               ("cli", "mlflow-tag")))
    v2 = repo.find_model_version(NAME, "2")
    repo.add_signoff(SignoffRecord(v2.id, "Grace Hopper", "rejected", "explanations moved to the marker", False,
                                   runs["2"], "fail"))
    v1 = repo.find_model_version(NAME, "1")
    repo.add_signoff(SignoffRecord(v1.id, "Ada Lovelace", "approved", "reference version", False, runs["1"], None))
    return repo
