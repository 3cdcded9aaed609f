"""Results part: one transaction per probe, exactly once, typed read-back of maps and metrics."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from storage.errors import MapEncodingError, StorageInputError
from storage.records import MetricRecord, ProbeResult
from storage.repository import AuditRepository
from tests.storage.factories import probe_result


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
