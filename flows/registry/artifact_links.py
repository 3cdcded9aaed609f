"""Fetch a registered version's artifact folder: hard links from a local store, a download otherwise.

Why links: a real checkpoint is several GB; registering already copied it into the artifact store,
and a second full copy per version in the model cache doubled the disk used and took tens of
seconds (issue 14: 4.4 GB for Qwen2-VL-2B, 10.9 GB for the LLaVA stand-in). Linked files are the
store's own bytes, so the weights hash checked after fetching still catches a store modified since
registration. Nothing writes into the cache. A cache on another filesystem than the store falls back
to copying, file by file.
"""

from __future__ import annotations

import os
import shutil
import urllib.parse
import urllib.request
from pathlib import Path


def local_store_folder(location: str) -> Path | None:
    """The folder behind a `file://` (or plain path) artifact location; None for remote stores."""
    parsed = urllib.parse.urlparse(location)
    if parsed.scheme not in ("file", ""):
        return None
    folder = Path(urllib.request.url2pathname(parsed.path))
    return folder if folder.is_dir() else None


def link_tree(source: Path, target: Path) -> None:
    """Recreate `source` under `target` with hard links (copies where a link is refused)."""
    for path in source.rglob("*"):
        destination = target / path.relative_to(source)
        if path.is_dir():
            destination.mkdir(parents=True, exist_ok=True)
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, destination)
        except OSError:  # another filesystem, or links not allowed: copy this file
            shutil.copy2(path, destination)


def fetch_artifacts(location: str, source_uri: str, staging: Path) -> None:
    """Put the artifact folder at `location` (the version's download URI) into `staging`."""
    local = local_store_folder(location)
    if local is not None:
        link_tree(local, staging)
        return
    import mlflow.artifacts

    mlflow.artifacts.download_artifacts(artifact_uri=source_uri, dst_path=str(staging))
