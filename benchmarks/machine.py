"""What a benchmark records about the machine it ran on (every results file carries it, with the
load averages around the run: the development machine is shared, and a number means little
without the load it was measured under)."""

from __future__ import annotations

import os
import platform


def machine_info(torch_threads: int | None = None) -> dict:
    """Platform, Python, CPU model and count, memory; torch and transformers versions when importable."""
    info: dict = {"platform": platform.platform(), "python": platform.python_version(), "cpu_count": os.cpu_count()}
    try:
        info["cpu_model"] = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                                 if line.startswith("model name"))
        info["mem_total_gb"] = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (OSError, StopIteration, ValueError):
        pass
    try:
        import torch
        import transformers

        info.update(torch=torch.__version__, transformers=transformers.__version__)
    except ImportError:
        pass
    if torch_threads is not None:
        info["torch_threads"] = torch_threads
    return info


def write_results(out, benchmark: str, load_start: list[float], **content) -> None:
    """Write a results file: the benchmark's name, when, the machine with the load averages at the
    start (`load_start`) and now, then `content`."""
    import json
    from datetime import datetime, timezone
    from pathlib import Path

    result = {"benchmark": benchmark, "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "machine": {**machine_info(), "load_average_at_start": load_start,
                          "load_average_at_end": list(os.getloadavg())}, **content}
    Path(out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
