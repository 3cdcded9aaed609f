"""Write a set of output files all or nothing: every file goes to a temporary name first and is
renamed into place only when all were written, so a failed build leaves no half-written output.
"""

from __future__ import annotations

import os
from pathlib import Path

from reports.options import ReportBuildError


def write_files(out: Path, documents: dict[str, str | bytes]) -> None:
    """Write `documents` (file name -> text or bytes) into the folder `out`."""
    temps: list[tuple[Path, Path]] = []
    try:
        for name, content in documents.items():
            tmp = out / f".{name}.tmp-{os.getpid()}"
            if isinstance(content, bytes):
                tmp.write_bytes(content)
            else:
                tmp.write_text(content, encoding="utf-8")
            temps.append((tmp, out / name))
        for tmp, final in temps:
            os.replace(tmp, final)
    except OSError as exc:
        for tmp, _ in temps:
            tmp.unlink(missing_ok=True)
        raise ReportBuildError(f"cannot write to {out}: {exc}") from exc
