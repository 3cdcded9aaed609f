"""One gate for first imports of the heavy stack (torch, transformers, great-expectations, ...).

Why: an audit overlaps work on several threads (a background thread that opens the model and
imports great-expectations, the thread pool that explains batches, the flow's own thread), and
first imports of the heavy stack must never run on two threads at once. Python's per-module import
locks do not make that safe: scipy's array-API layer, imported by great-expectations, reads
`sys.modules["torch"]` directly, and while another thread is half-way through `import torch` it
finds a partially initialised module ("partially initialized module 'torch' has no attribute
'Tensor'", an intermittent exit 3 of valid audits); and two threads importing overlapping module
graphs in different orders can each be handed the other's half-initialised module. So every place
that may do such a first import while another thread is working goes through this one re-entrant
lock: opening a model, its first explanation (which imports cv2 and the methods' modules), the
great-expectations context, and the reading/reporting modules the flow imports after fanning out.

The gate is per process (Dask workers each have their own) and costs nothing once the modules are
imported: later explanations and validations do not take it.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import TypeVar

_GATE = threading.RLock()
_T = TypeVar("_T")


@contextmanager
def first_imports() -> Iterator[None]:
    """Hold the gate while the block may import heavy modules for the first time in this process."""
    with _GATE:
        yield


def import_modules(*names: str) -> list[ModuleType]:
    """Import `names` (dotted module names) through the gate; cheap when already imported."""
    with _GATE:
        return [importlib.import_module(name) for name in names]


class FirstUse:
    """Runs a shared object's first use through the gate, and every later use without it.

    Why: the first explanation on a freshly loaded model imports modules lazily (cv2, the
    methods' helpers, transformers' attention code); later ones import nothing, and must not queue
    behind a great-expectations import running on another thread.
    """

    def __init__(self) -> None:
        self._done = False
        self._lock = threading.Lock()
        self.attempted = threading.Event()  # set once a first use has run (or failed)

    @property
    def done(self) -> bool:
        return self._done

    def run(self, work: Callable[[], _T]) -> _T:
        if self._done:
            return work()
        with self._lock:
            if self._done:
                return work()
            try:
                with _GATE:
                    result = work()
            finally:
                self.attempted.set()
            self._done = True
            return result
