"""`auditors.gc_policy.batch_collections`: applied by the outermost holder only, always restored."""

from __future__ import annotations

import gc
import threading

import pytest

from auditors.gc_policy import BATCH_THRESHOLDS, batch_collections


def test_freezes_and_raises_thresholds_inside_and_restores_after() -> None:
    before = gc.get_threshold()
    assert gc.get_freeze_count() == 0
    with batch_collections():
        assert gc.get_threshold() == BATCH_THRESHOLDS
        assert gc.get_freeze_count() > 0  # what lived before the job is out of every collection
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_nested_holders_apply_once_and_the_outermost_restores() -> None:
    before = gc.get_threshold()
    with batch_collections():
        frozen = gc.get_freeze_count()
        with batch_collections((50_000, 5, 5)):  # an inner holder changes nothing
            assert gc.get_threshold() == BATCH_THRESHOLDS
            assert gc.get_freeze_count() == frozen
        assert gc.get_threshold() == BATCH_THRESHOLDS  # the inner exit did not restore early
    assert gc.get_threshold() == before


def test_restored_when_the_body_raises() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError, match="boom"):
        with batch_collections():
            raise RuntimeError("boom")
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_cycles_made_inside_are_still_collected() -> None:
    class Node:
        pass

    with batch_collections():
        node = Node()
        node.self = node  # a reference cycle: only the collector frees it
        alive = threading.Event()
        import weakref

        ref = weakref.ref(node, lambda _: alive.set())
        del node
        gc.collect()
        assert ref() is None and alive.is_set()


def test_threads_share_one_policy() -> None:
    before = gc.get_threshold()
    inside, release = threading.Event(), threading.Event()

    def worker() -> None:
        with batch_collections():
            inside.set()
            release.wait(5)

    thread = threading.Thread(target=worker)
    with batch_collections():
        thread.start()
        assert inside.wait(5)
    assert gc.get_threshold() == BATCH_THRESHOLDS  # the worker still holds it
    release.set()
    thread.join(5)
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
