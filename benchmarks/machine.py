"""What a benchmark result was measured on: the machine, the library versions, and its load.

Why recorded with every result: this project's machines are shared, and a time measured while
other jobs ran means something else than one measured on an idle machine; the load averages at
the start and end of a run say which.
"""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path


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
