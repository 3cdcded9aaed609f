"""How a benchmark records a result: what it was measured on (the machine, the library versions,
its load) and the results file itself.

Why recorded with every result: this project's machines are shared, and a time measured while
other jobs ran means something else than one measured on an idle machine; the load averages at
the start and end of a run say which.
"""

from __future__ import annotations

import json
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any


def machine_info(*packages: str) -> dict[str, object]:
    cpu = platform.processor() or ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    versions = {}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"platform": platform.platform(), "python": platform.python_version(), "cpu": cpu,
            "cpu_count": os.cpu_count(), "packages": versions, "load_average_at_start": list(os.getloadavg())}


def write_results(path: Path, payload: dict[str, Any]) -> None:
    """The results file (indented JSON), with the load average at the end added to its machine."""
    payload.setdefault("machine", {})["load_average_at_end"] = list(os.getloadavg())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {path}")
