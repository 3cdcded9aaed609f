"""The audit's threads use the import gate: opening a model and importing great-expectations never
overlap, and the background preparation imports great-expectations only after the model's first
explanation (so the import never delays it) and stops cleanly when nothing needs it.

The slow parts are fakes (sleeps that record when they ran): the real imports take seconds and
happen once per process.
"""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest

import flows.validation as validation
import flows.worker as worker
from flows.fanout import BackgroundPreparation


class _Recorder:
    def __init__(self) -> None:
        self.intervals: dict[str, tuple[float, float]] = {}

    def slow(self, name: str, result: object, seconds: float = 0.2):
        def run(*_args: object) -> object:
            started = time.perf_counter()
            time.sleep(seconds)
            self.intervals[name] = (started, time.perf_counter())
            return result

        return run


@pytest.fixture()
def recorder(monkeypatch):
    recorder = _Recorder()
    fake_context = SimpleNamespace(data_sources=SimpleNamespace(add_pandas=lambda name: object()))
    monkeypatch.setattr(worker, "_open_model", recorder.slow("model", ("model", "processor")))
    monkeypatch.setattr(validation, "_new_context", recorder.slow("gx", fake_context))
    monkeypatch.setattr(validation, "_GX_STATE", {})
    worker.clear_caches()
    yield recorder
    worker.clear_caches()


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def test_opening_a_model_and_importing_great_expectations_never_overlap(recorder):
    threads = [threading.Thread(target=worker.model_for, args=("/nowhere", "models:/m/1")),
               threading.Thread(target=validation.prepare)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(recorder.intervals) == {"model", "gx"}
    assert not _overlap(recorder.intervals["model"], recorder.intervals["gx"]), recorder.intervals


def test_preparation_imports_great_expectations_only_after_the_first_explanation(recorder):
    resolved = SimpleNamespace(local_dir="/nowhere", source_uri="models:/m/1")
    preparation = BackgroundPreparation(resolved, "/home")
    preparation._thread.start()
    opened = worker.model_for("/nowhere", "models:/m/1")  # waits for the background thread's opening
    time.sleep(0.3)
    assert "gx" not in recorder.intervals  # still waiting for the first explanation
    explained_at = opened.first_use.run(time.perf_counter)
    deadline = time.perf_counter() + 5
    while "gx" not in recorder.intervals and time.perf_counter() < deadline:
        time.sleep(0.02)
    preparation.close()
    assert recorder.intervals["gx"][0] >= explained_at


def test_preparation_stops_without_importing_when_closed_before_any_explanation(recorder):
    resolved = SimpleNamespace(local_dir="/nowhere", source_uri="models:/m/1")
    preparation = BackgroundPreparation(resolved, "/home")
    preparation._thread.start()
    worker.model_for("/nowhere", "models:/m/1")
    started = time.perf_counter()
    preparation.close()
    assert time.perf_counter() - started < 1.0
    assert "gx" not in recorder.intervals
