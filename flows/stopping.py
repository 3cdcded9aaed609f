"""Stopping on request: SIGTERM (a scheduler, a worker, `timeout`) and SIGINT (Ctrl-C).

Why: an audit can run for hours; whoever stops it expects it to stop within seconds and to leave
the database resumable. The signal becomes `AuditInterrupted` in the main thread (a
`KeyboardInterrupt`, so `except Exception` blocks let it through), and a process-wide flag that the
probe batches running in worker threads check before each probe, so they stop after the probe in
hand instead of finishing their batch. Each probe is stored in its own transaction, so nothing is
half-written; the audit marks its run failed ("interrupted by SIGTERM") and a rerun resumes it.

Inside a flow run Prefect replaces the SIGTERM handler with its own (`TerminationSignal`), and
re-sends the signal to the previous handler once it has recorded the crash; `note_interruption`
lets the audit set the flag from whichever exception arrives first. A second signal while
stopping ends the process at once (`os._exit`), as a second Ctrl-C does elsewhere.

Exit codes: 128 + the signal number (130 for SIGINT, 143 for SIGTERM), as a shell reports them.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType
from typing import NoReturn

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: seconds a stopped process gives its exit handlers (flushing logs and events to Prefect's API)
EXIT_HANDLERS_TIMEOUT_S = 3.0

_STOP = threading.Event()
_STATE = {"signum": 0, "handled": 0}


def exit_code_for(signum: int) -> int:
    """The exit code of a process stopped by `signum` (130 SIGINT, 143 SIGTERM), as a shell reports it."""
    return 128 + signum


class AuditInterrupted(KeyboardInterrupt):
    """A stop was requested by `signum`; raised in the main thread and by batches in workers."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"interrupted by {signal.Signals(signum).name}")

    @property
    def exit_code(self) -> int:
        return exit_code_for(self.signum)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.signum,))


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    _STATE["handled"] += 1
    if _STATE["handled"] > 1:  # asked twice: stop now, whatever is running
        os._exit(exit_code_for(_STATE["signum"] or signum))
    _STATE["signum"] = _STATE["signum"] or signum
    _STOP.set()
    raise AuditInterrupted(_STATE["signum"])


@contextlib.contextmanager
def stop_handlers() -> Iterator[None]:
    """While inside, SIGTERM and SIGINT become `AuditInterrupted` (main thread only; elsewhere a
    no-op); the previous handlers come back afterwards, and the flag starts cleared."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    reset()
    previous = {signum: signal.signal(signum, _on_signal) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def note_interruption(exc: BaseException) -> bool:
    """True (and the flag set, so worker threads stop) when `exc` is a stop request: ours, Ctrl-C,
    or Prefect's `TerminationSignal`."""
    from prefect.exceptions import TerminationSignal

    if isinstance(exc, TerminationSignal):
        signum = int(exc.signal)
    elif isinstance(exc, KeyboardInterrupt):
        signum = getattr(exc, "signum", signal.SIGINT)
    else:
        return False
    _STATE["signum"] = _STATE["signum"] or signum
    _STOP.set()
    return True


def stop_requested() -> int:
    """The signal number of a pending stop request, 0 when none."""
    return _STATE["signum"] if _STOP.is_set() else 0


def raise_if_stopping() -> None:
    """Called between units of work (probes): stop here when a stop was requested."""
    if _STOP.is_set():
        raise AuditInterrupted(_STATE["signum"] or signal.SIGINT)


def exit_now(code: int, handlers_timeout_s: float = EXIT_HANDLERS_TIMEOUT_S) -> NoReturn:
    """End a stopped process at once: atexit handlers (Prefect's temporary API, its log and event
    workers) for at most `handlers_timeout_s`, flushed output, then `os._exit`.

    Why bounded: the interpreter's own teardown took 5-8 s on a loaded 2-core machine, most of it
    Prefect's log handler retrying to reach a temporary API its own exit handler had already
    stopped, then the final garbage collection of torch, transformers, Prefect and MLflow objects.
    """
    runner = threading.Thread(target=atexit._run_exitfuncs, name="mllm-audit-exit", daemon=True)  # noqa: SLF001
    runner.start()
    runner.join(handlers_timeout_s)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def reset() -> None:
    """Forget a stop request (tests that run several audits in one process)."""
    _STOP.clear()
    _STATE.update(signum=0, handled=0)
