"""AuditRepository: identity, runs, per-probe transactions, typed read-back, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from storage.errors import IdentityConflictError, MapEncodingError, NotFoundError, StorageInputError
from storage.hashing import config_hash
from storage.records import AlertRecord, ComparisonRecord, MetricRecord, ProbeResult
from storage.repository import AuditRepository
from tests.storage.factories import METHODS, model_version, probe_result, probe_set


@pytest.fixture
def repo(db_url: str):
    with AuditRepository(db_url) as repository:
        yield repository


@pytest.fixture
def run(repo: AuditRepository):
    mv = repo.get_or_create_model_version(model_version())
    record, probes = probe_set(5)
    ps = repo.get_or_create_probe_set(record, probes)
    return repo.start_run(mv.id, ps.id, {"methods": list(METHODS), "seed": 0}, {"torch": "2.13.0"}, "abc123")


def _aware_utc(value: datetime | None) -> bool:
    return value is not None and value.tzinfo is not None and value.utcoffset() == timedelta(0)


def test_model_version_find_or_create_by_identity(repo: AuditRepository) -> None:
    first = repo.get_or_create_model_version(model_version())
    again = repo.get_or_create_model_version(dataclasses.replace(model_version(), aliases=("champion",)))
    assert first.id is not None and again.id == first.id
    assert again.aliases == ("champion",)  # aliases move between versions: the latest is kept
    assert repo.get_model_version(first.id).aliases == ("champion",)
    other = repo.get_or_create_model_version(model_version(version="2"))
    assert other.id != first.id
    assert _aware_utc(first.created_at)
    assert repo.find_model_version("demo-captioner", "2") == other
    assert repo.find_model_version("demo-captioner", "9") is None


def test_same_version_with_other_weights_is_a_conflict(repo: AuditRepository) -> None:
    repo.get_or_create_model_version(model_version())
    with pytest.raises(IdentityConflictError, match="weights hash"):
        repo.get_or_create_model_version(model_version(weights_hash="b" * 64))


def test_probe_set_find_or_create_by_content_hash(repo: AuditRepository) -> None:
    record, probes = probe_set(4)
    first = repo.get_or_create_probe_set(record, probes)
    again = repo.get_or_create_probe_set(dataclasses.replace(record, name="renamed"), probes[:2])
    assert again.id == first.id and again.name == "demo-probes" and again.n_probes == 4
    stored = repo.list_probes(first.id)
    assert [p.probe_key for p in stored] == [p.probe_key for p in probes]
    assert stored[0].object_words == (("red", "square"),) and stored[1].object_words == ()
    assert all(p.id is not None for p in stored)
    with pytest.raises(StorageInputError, match="repeats probe keys"):
        repo.get_or_create_probe_set(dataclasses.replace(record, content_hash="x"), probes + probes[:1])
    with pytest.raises(StorageInputError, match="n_probes=9"):
        repo.get_or_create_probe_set(dataclasses.replace(record, content_hash="y", n_probes=9), probes)


def test_start_run_records_everything_with_utc_times(repo: AuditRepository, run) -> None:
    assert run.status == "running" and run.resume_count == 0
    assert run.config == {"methods": list(METHODS), "seed": 0}
    assert run.config_hash == config_hash({"seed": 0.0, "methods": ("tam", "msea_arc")})
    assert run.package_versions == {"torch": "2.13.0"} and run.code_version == "abc123"
    assert _aware_utc(run.started_at) and run.finished_at is None
    assert repo.get_run(run.id) == run


def test_start_run_resumes_same_identity_and_separates_other_configs(repo: AuditRepository, run) -> None:
    assert repo.add_probe_result(run.id, probe_result("p000"))
    resumed = repo.start_run(run.model_version_id, run.probe_set_id, {"seed": 0, "methods": ["tam", "msea_arc"]})
    assert resumed.id == run.id and resumed.resume_count == 1 and resumed.status == "running"
    assert resumed.code_version == "abc123"  # first start's versions are kept
    assert repo.completed_probe_keys(run.id) == {"p000"}
    other = repo.start_run(run.model_version_id, run.probe_set_id, {"seed": 1, "methods": list(METHODS)})
    assert other.id != run.id and repo.completed_probe_keys(other.id) == set()


def test_failed_run_is_resumed_and_completed_run_is_returned_as_is(repo: AuditRepository, run) -> None:
    failed = repo.finish_run(run.id, "failed", {"generate_s": 1.0}, error="out of memory")
    assert failed.status == "failed" and failed.error == "out of memory" and _aware_utc(failed.finished_at)
    resumed = repo.start_run(run.model_version_id, run.probe_set_id, run.config)
    assert resumed.status == "running" and resumed.error is None and resumed.finished_at is None
    done = repo.finish_run(run.id, "completed", {"explain_s": 2.0})
    assert done.timings == {"generate_s": 1.0, "explain_s": 2.0}
    again = repo.start_run(run.model_version_id, run.probe_set_id, run.config)
    assert again.status == "completed" and again.resume_count == done.resume_count
    with pytest.raises(StorageInputError, match="finishes as one of"):
        repo.finish_run(run.id, "running")


def test_probe_result_roundtrip(repo: AuditRepository, run) -> None:
    results = [probe_result(f"p{i:03d}", n_tokens=3 + i) for i in range(3)]
    for result in results:
        assert repo.add_probe_result(run.id, result) is True
    assert repo.completed_probe_keys(run.id) == {"p000", "p001", "p002"}

    generations = repo.get_generations(run.id)
    assert generations == [r.generation for r in results]

    maps = repo.get_maps(run.id)
    expected = sorted((m for r in results for m in r.maps), key=lambda m: (m.probe_key, m.method, m.token_index))
    assert len(maps) == len(expected)
    for got, want in zip(maps, expected):
        assert (got.probe_key, got.method, got.token_index, got.token_text, got.word_index) == (
            want.probe_key,
            want.method,
            want.token_index,
            want.token_text,
            want.word_index,
        )
        assert got.map.dtype == np.float16 and got.grid_shape == want.grid_shape
        np.testing.assert_array_equal(got.map, want.map.astype(np.float16))
        stored = want.map.astype(np.float16)  # the peak is the largest STORED cell (first on ties)
        assert got.peak == np.unravel_index(np.argmax(stored), stored.shape)
        assert got.mass_in_mask == want.mass_in_mask
    only = repo.get_maps(run.id, probe_key="p001", method="tam")
    assert [m.token_index for m in only] == [0, 1, 2, 3]
    assert {(m.probe_key, m.method) for m in only} == {("p001", "tam")}

    metrics = repo.get_metrics(run.id)
    assert sorted(metrics, key=repr) == sorted((m for r in results for m in r.metrics), key=repr)


def test_given_peak_is_kept(repo: AuditRepository, run) -> None:
    result = probe_result("p000")
    result.maps[0].peak = (1, 2)
    repo.add_probe_result(run.id, result)
    first = repo.get_maps(run.id, "p000", result.maps[0].method)[0]
    assert first.peak == (1, 2)


def test_adding_the_same_probe_twice_writes_once(repo: AuditRepository, run) -> None:
    result = probe_result("p001")
    assert repo.add_probe_result(run.id, result) is True
    changed = probe_result("p001", seed=99)
    assert repo.add_probe_result(run.id, changed) is False
    assert len(repo.get_maps(run.id, "p001")) == len(result.maps)
    stored = repo.get_maps(run.id, "p001", result.maps[0].method)[result.maps[0].token_index]
    np.testing.assert_array_equal(stored.map, result.maps[0].map.astype(np.float16))


def test_bulk_path_skips_stored_probes_and_counts_new_ones(repo: AuditRepository, run) -> None:
    repo.add_probe_result(run.id, probe_result("p000"))
    written = repo.add_probe_results(run.id, [probe_result(f"p{i:03d}") for i in range(5)])
    assert written == 4
    assert repo.add_probe_results(run.id, [probe_result(f"p{i:03d}") for i in range(5)]) == 0
    assert len(repo.get_generations(run.id)) == 5
    assert len(repo.get_maps(run.id)) == 5 * len(probe_result("p000").maps)
    with pytest.raises(StorageInputError, match="repeated within one batch"):
        repo.add_probe_results(run.id, [probe_result("p000"), probe_result("p000")])


def test_a_failing_probe_writes_nothing(repo: AuditRepository, run) -> None:
    result = probe_result("p002")
    result.maps[-1].map = np.full((4, 6), np.nan)
    with pytest.raises(MapEncodingError, match="NaN"):
        repo.add_probe_result(run.id, result)
    assert repo.completed_probe_keys(run.id) == set()
    assert repo.get_maps(run.id) == [] and repo.get_metrics(run.id) == []
    # and a batch with one bad probe writes none of the batch
    good, bad = probe_result("p000"), probe_result("p001")
    bad.maps[0].map = np.ones((2, 2, 2))
    with pytest.raises(StorageInputError, match="2-D"):
        repo.add_probe_results(run.id, [good, bad])
    assert repo.completed_probe_keys(run.id) == set()


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda r: dataclasses.replace(r, probe_key="p001"), "handed in the result"),
        (lambda r: dataclasses.replace(r, probe_key="zzz", generation=dataclasses.replace(r.generation, probe_key="zzz"), maps=[], metrics=[]), "not in probe set"),
        (lambda r: dataclasses.replace(r, generation=dataclasses.replace(r.generation, tokens=("a",))), "one entry per generated token"),
        (lambda r: dataclasses.replace(r, maps=r.maps + [dataclasses.replace(r.maps[0])]), "two tam maps for token 0"),
        (lambda r: dataclasses.replace(r, maps=[dataclasses.replace(r.maps[0], token_index=7)]), "answer has 3 tokens"),
        (lambda r: dataclasses.replace(r, maps=[dataclasses.replace(r.maps[0], token_text="dog")]), "but the generation has"),
        (lambda r: dataclasses.replace(r, maps=[dataclasses.replace(r.maps[0], word_index=5)]), "but the generation has"),
        (lambda r: dataclasses.replace(r, metrics=[dataclasses.replace(r.metrics[0], probe_key=None)]), "set_aggregate_metrics"),
        (lambda r: dataclasses.replace(r, metrics=[dataclasses.replace(r.metrics[0], direction="up")]), "direction"),
        (lambda r: dataclasses.replace(r, metrics=[dataclasses.replace(r.metrics[0], value=float("nan"))]), "finite"),
        (lambda r: dataclasses.replace(r, metrics=r.metrics + r.metrics[:1]), "repeat"),
    ],
)
def test_inconsistent_results_are_refused(repo: AuditRepository, run, mutate, fragment: str) -> None:
    bad: ProbeResult = mutate(probe_result("p000"))
    with pytest.raises(StorageInputError, match=fragment):
        repo.add_probe_result(run.id, bad)
    assert repo.completed_probe_keys(run.id) == set()


def test_aggregate_metrics_are_replaced_as_a_whole(repo: AuditRepository, run) -> None:
    repo.add_probe_result(run.id, probe_result("p000"))
    first = [MetricRecord("tam", "pointing_game", 0.5, "higher_is_better"), MetricRecord("tam", "deletion_auc", 0.2, "lower_is_better")]
    assert repo.set_aggregate_metrics(run.id, first) == 2
    second = [MetricRecord("tam", "pointing_game", 0.75, "higher_is_better", metric_version="2")]
    repo.set_aggregate_metrics(run.id, second)
    assert repo.get_metrics(run.id, aggregate_only=True) == second
    assert len(repo.get_metrics(run.id)) == 1 + len(probe_result("p000").metrics)
    with pytest.raises(StorageInputError, match="per-probe"):
        repo.set_aggregate_metrics(run.id, [MetricRecord("tam", "x", 1.0, "higher_is_better", probe_key="p000")])


def test_list_runs_and_baseline(repo: AuditRepository, run) -> None:
    other_mv = repo.get_or_create_model_version(model_version(name="other"))
    other = repo.start_run(other_mv.id, run.probe_set_id, run.config)
    assert [r.id for r in repo.list_runs()] == [other.id, run.id]
    assert [r.id for r in repo.list_runs("demo-captioner")] == [run.id]
    assert repo.list_runs("nobody") == []
    assert repo.find_baseline_run(run.model_version_id, run.probe_set_id, run.config_hash) is None  # still running
    repo.finish_run(run.id, "completed")
    baseline = repo.find_baseline_run(run.model_version_id, run.probe_set_id, run.config_hash)
    assert baseline is not None and baseline.id == run.id
    assert [r.id for r in repo.list_runs(status="completed")] == [run.id]
    assert repo.find_baseline_run(run.model_version_id, run.probe_set_id, "0" * 64) is None


def test_comparisons_are_upserted_and_alerts_stored(repo: AuditRepository, run) -> None:
    mv2 = repo.get_or_create_model_version(model_version(version="2"))
    candidate = repo.start_run(mv2.id, run.probe_set_id, run.config)
    comp = ComparisonRecord(candidate.id, run.id, "tam", "pointing_game", -0.2, -0.3, -0.1, 5, 0.05, "fail")
    stored = repo.add_comparisons([comp])
    assert stored[0].id is not None and _aware_utc(stored[0].created_at)
    repo.add_comparisons([dataclasses.replace(comp, delta=-0.01, verdict="pass")])
    got = repo.get_comparisons(candidate.id)
    assert len(got) == 1 and got[0].verdict == "pass" and got[0].delta == -0.01
    with pytest.raises(StorageInputError, match="verdict"):
        repo.add_comparisons([dataclasses.replace(comp, verdict="meh")])

    when = datetime(2026, 11, 25, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    alert = repo.add_alert(AlertRecord(candidate.id, "fail", "pointing game dropped", ("cli", "webhook"), {"delta": -0.2}, created_at=when))
    assert alert.id is not None and alert.created_at == when and alert.created_at.utcoffset() == timedelta(0)
    assert repo.get_alerts(candidate.id) == [alert]
    with pytest.raises(NotFoundError):
        repo.add_alert(AlertRecord(987654, "warn", "x"))


def test_naive_datetimes_are_refused(repo: AuditRepository, run) -> None:
    with pytest.raises(StorageInputError, match="naive datetime"):
        repo.add_alert(AlertRecord(run.id, "warn", "x", created_at=datetime(2026, 1, 1)))


def test_missing_ids_raise_not_found(repo: AuditRepository) -> None:
    with pytest.raises(NotFoundError, match="audit run 42"):
        repo.get_run(42)
    with pytest.raises(NotFoundError):
        repo.completed_probe_keys(42)
    with pytest.raises(NotFoundError):
        repo.get_model_version(42)
    with pytest.raises(NotFoundError):
        repo.get_probe_set(42)
    with pytest.raises(NotFoundError, match="model version 42"):
        repo.start_run(42, 42, {})


def test_unstorable_config_is_refused(repo: AuditRepository, run) -> None:
    with pytest.raises(StorageInputError, match="cannot be stored as JSON"):
        repo.start_run(run.model_version_id, run.probe_set_id, {"fn": object()})
    with pytest.raises(StorageInputError, match="finite"):
        repo.start_run(run.model_version_id, run.probe_set_id, {"x": float("inf")})
