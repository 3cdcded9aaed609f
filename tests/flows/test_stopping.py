"""`flows.stopping`: a signal becomes `AuditInterrupted` in the main thread and a flag that worker
threads see between probes; handlers are put back afterwards."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from flows import stopping
from flows.stopping import AuditInterrupted, note_interruption, raise_if_stopping, stop_handlers, stop_requested


@pytest.fixture(autouse=True)
def _clear():
    stopping.reset()
    yield
    stopping.reset()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_raises_in_the_main_thread_and_flags_the_workers(signum):
    before = signal.getsignal(signum)
    seen_by_worker: list[int] = []
    with stop_handlers():
        with pytest.raises(AuditInterrupted) as caught:
            os.kill(os.getpid(), signum)
            for _ in range(1000):  # the handler runs between bytecodes
                pass
        worker = threading.Thread(target=lambda: seen_by_worker.append(stop_requested()))
        worker.start()
        worker.join()
        with pytest.raises(AuditInterrupted):
            raise_if_stopping()
    assert caught.value.signum == signum and caught.value.exit_code == 128 + signum
    assert seen_by_worker == [signum]
    assert signal.getsignal(signum) is before  # pytest's own handler is back


def test_prefects_termination_signal_counts_as_a_stop_request():
    from prefect.exceptions import TerminationSignal

    assert not note_interruption(ValueError("not a stop"))
    assert stop_requested() == 0
    raise_if_stopping()  # nothing requested: no-op
    assert note_interruption(TerminationSignal(signal.SIGTERM))
    assert stop_requested() == signal.SIGTERM
    with pytest.raises(AuditInterrupted, match="interrupted by SIGTERM"):
        raise_if_stopping()


def test_the_interruption_survives_pickling():  # it travels back from Dask workers
    import pickle

    again = pickle.loads(pickle.dumps(AuditInterrupted(signal.SIGTERM)))
    assert isinstance(again, KeyboardInterrupt) and again.signum == signal.SIGTERM
