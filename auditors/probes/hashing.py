"""The identity of a probe set: a sha256 over its manifest and every file it references.

Why content and not name/version: two folders with the same name can differ (an edited mask), and
comparisons between audit runs are only meaningful on identical probes. Files are hashed in sorted
path order, each framed by its path and length, so the hash does not depend on the file system's
listing order and two different file layouts cannot collide by concatenation.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterable

_MANIFEST_FILES = ("probeset.yaml", "probes.jsonl")
_CHUNK = 1 << 20


def content_hash(root: str | Path, referenced_files: Iterable[str]) -> str:
    """sha256 hex digest of the manifest files plus every referenced file (relative POSIX paths)."""
    root = Path(root)
    digest = hashlib.sha256()
    digest.update(b"mllm-audit-probe-set/1\0")
    for rel in list(_MANIFEST_FILES) + sorted(set(referenced_files) - set(_MANIFEST_FILES)):
        path = root / rel
        digest.update(rel.encode("utf-8") + b"\0")
        digest.update(str(path.stat().st_size).encode("ascii") + b"\0")
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    return digest.hexdigest()
