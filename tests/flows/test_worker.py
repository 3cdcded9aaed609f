"""Per-process caches of the task code: a probe set edited between two audits is re-read."""

from __future__ import annotations

import os
import time

from flows.worker import probe_set_for
from tests.flows.helpers import rewrite_manifest, write_probe_set


def test_probe_set_cache_notices_an_edited_folder(tmp_path):
    root = write_probe_set(tmp_path / "set", n=3)
    first = probe_set_for(str(root))
    assert probe_set_for(str(root)) is first  # cached

    time.sleep(0.01)
    rewrite_manifest(root, lambda entries: entries.pop())
    os.utime(root / "probes.jsonl")
    second = probe_set_for(str(root))
    assert len(second.probes) == 2 and second.content_hash != first.content_hash
