"""Fewer garbage collections while a batch job runs: `batch_collections()`.

Why: by the time an explanation or an audit starts, a process holds millions of long-lived objects
(torch, transformers, Prefect, MLflow, great-expectations), and an explanation or an audit then
allocates millions of short-lived ones (token strings, per-probe records, numpy scalars).
CPython's default thresholds (700, 10, 10) start a young collection every 700 net allocations and
a full one, which walks every object in the process, every few hundred thousand: measured on the
demo audit (`benchmarks/audit_overhead.py`), about 2.5 s of a 18 s audit went to the collector,
0.5 s of the 8 s pure explain of the same probes.

What it does: `gc.freeze()` moves every object alive at the start out of all collections (they
were surviving them anyway), and a larger first threshold makes young collections rarer. Cycles
made during the job are still collected, just less often; objects made during the job are freed by
reference counting as before. On exit the frozen objects go back to the oldest generation and the
thresholds are restored, so a long-lived process (a notebook, a worker) keeps Python's defaults
between jobs.

Nesting and threads: the policy is held by a counter; only the outermost `with` applies and
restores it (an audit's flow holds it while its worker threads explain batches inside it).
"""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from typing import Iterator

# young collections every 20 000 net allocations instead of 700; the older generations as before
BATCH_THRESHOLDS = (20_000, 10, 10)

_lock = threading.Lock()
_holders = 0
_saved: tuple[int, int, int] | None = None


@contextmanager
def batch_collections(thresholds: tuple[int, int, int] = BATCH_THRESHOLDS) -> Iterator[None]:
    """Run the body with the heap frozen and `thresholds` set (see the module note)."""
    global _holders, _saved
    with _lock:
        _holders += 1
        if _holders == 1:
            _saved = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(*thresholds)
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _saved is not None:
                gc.set_threshold(*_saved)
                gc.unfreeze()
                _saved = None
