"""The import gate: no thread sees a module another thread is still importing through the gate.

The fake module below imports slowly and defines `Tensor` last, as torch does in effect; a second
thread that reads `sys.modules` directly (as scipy's array-API layer does) mid-import finds a
partially initialised module. Events order the threads, so the tests are deterministic.
"""

from __future__ import annotations

import sys
import threading
import time

import pytest

from flows.import_gate import FirstUse, first_imports, import_modules

SLOW_MODULE = '''
import sys, time
sys.modules[{tests!r}].EVENTS[{name!r}].set()  # the import has started
time.sleep(0.3)
Tensor = object
'''
EVENTS: dict[str, threading.Event] = {}


@pytest.fixture()
def slow_module(tmp_path, monkeypatch):
    """A module `slow_torch_<n>` whose import signals its start, then takes 0.3 s to define `Tensor`."""
    name = f"slow_torch_{len(EVENTS)}"
    EVENTS[name] = threading.Event()
    (tmp_path / f"{name}.py").write_text(SLOW_MODULE.format(tests=__name__, name=name))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def _peek_tensor(name: str) -> object:
    """What scipy's `_issubclass_fast` does: read the module from sys.modules, no import."""
    return getattr(sys.modules[name], "Tensor")


def _import_in_thread(name: str) -> threading.Thread:
    thread = threading.Thread(target=import_modules, args=(name,))
    thread.start()
    assert EVENTS[name].wait(5), "the slow import never started"
    return thread


def test_without_the_gate_a_reader_sees_the_half_imported_module(slow_module):
    # the failure this gate exists for, reproduced: if this stops failing, the fake no longer models it
    thread = _import_in_thread(slow_module)
    with pytest.raises(AttributeError, match="Tensor"):
        _peek_tensor(slow_module)
    thread.join()


def test_through_the_gate_the_reader_waits_for_the_import_to_finish(slow_module):
    thread = _import_in_thread(slow_module)
    started = time.perf_counter()
    with first_imports():
        assert _peek_tensor(slow_module) is object
    assert time.perf_counter() - started > 0.1  # it waited for the other thread's import
    thread.join()


def test_two_threads_importing_through_the_gate_import_once(slow_module):
    results: list[object] = []

    def importer() -> None:
        results.append(import_modules(slow_module)[0])

    threads = [threading.Thread(target=importer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2 and results[0] is results[1] and results[0].Tensor is object


def test_the_gate_is_reentrant():
    with first_imports():
        with first_imports():
            assert import_modules("json")[0] is sys.modules["json"]


def test_first_use_runs_through_the_gate_and_later_uses_do_not(slow_module):
    """A first explanation holds the gate (it imports lazily); a later one must not wait for an
    import running on another thread."""
    first_use = FirstUse()
    assert first_use.run(lambda: "first") == "first" and first_use.done and first_use.attempted.is_set()
    thread = _import_in_thread(slow_module)  # holds the gate for 0.3 s
    started = time.perf_counter()
    assert first_use.run(lambda: "later") == "later"
    assert time.perf_counter() - started < 0.1  # did not queue behind the import
    thread.join()


def test_a_failed_first_use_is_retried_under_the_gate():
    first_use = FirstUse()
    with pytest.raises(RuntimeError):
        first_use.run(lambda: (_ for _ in ()).throw(RuntimeError("boom")))
    assert first_use.attempted.is_set() and not first_use.done
    assert first_use.run(lambda: 2) == 2 and first_use.done
