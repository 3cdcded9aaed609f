"""Benchmark: probes explained per second against batch size (``auditors.explain_batch``).

The demo model (``auditors.demo``, the shortcut version the demo audits), the audit's default
methods (TAM and MSEA+ARC, whose 4x4 grid means two extra upscaled forwards per probe), the first
``--probes`` default probes, batch sizes 1, 2, 4, 8 and 16. Batch size 1 is ``explain_batch`` on
one probe at a time; ``explain`` itself is timed beside it (its baseline). Timing: one warm-up pass
of every configuration, then ``--rounds`` rounds that run every configuration over all probes in
turn (round-robin, so the load of a shared machine hits each alike). Reported per configuration:
median wall time and median process CPU time, as probes per second, with torch on
``--threads`` threads; the machine's load averages are recorded at start and end. Every batched
configuration's maps are checked against ``explain``'s (largest absolute difference recorded).

Writes ``benchmarks/results/explain_batch.json``. From the repository root:
    python -m benchmarks.explain_batch                 # about 2 minutes on 2 idle cores
    python -m benchmarks.explain_batch --probes 8 --rounds 1 --out /tmp/b.json   # a quick check
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.machine import machine_info

RESULTS = Path(__file__).resolve().parent / "results" / "explain_batch.json"
BATCH_SIZES = (1, 2, 4, 8, 16)
METHODS = ("tam", "msea_arc")


def _configurations(model, processor, images, prompts):
    import auditors

    configs = {"explain": lambda: [auditors.explain(model, processor, i, p, methods=METHODS)
                                   for i, p in zip(images, prompts)]}
    for size in BATCH_SIZES:
        configs[f"batch_{size}"] = (lambda size=size: auditors.explain_batch(model, processor, images, prompts,
                                                                             methods=METHODS, batch_size=size))
    return configs


def _largest_difference(reference, explanations) -> float:
    worst = 0.0
    for one, other in zip(reference, explanations, strict=True):
        if one.token_ids != other.token_ids:
            return float("inf")
        worst = max(worst, *(float(np.abs(one.maps[m] - other.maps[m]).max()) for m in one.maps))
    return worst


def measure(n_probes: int, rounds: int) -> dict:
    import auditors
    from auditors.demo import build_default_probe_set, demo_model_dir
    from auditors.probes import load_probe_set

    model, processor = auditors.load_pretrained(demo_model_dir("shortcut"))
    with tempfile.TemporaryDirectory(prefix="explain-batch-") as tmp:
        probes = list(load_probe_set(build_default_probe_set(Path(tmp) / "probes", n=n_probes)).probes)
        images = [probe.load_image() for probe in probes]
    prompts = [probe.prompt for probe in probes]
    configs = _configurations(model, processor, images, prompts)
    results = {name: {"wall_s": [], "cpu_s": []} for name in configs}
    reference = configs["explain"]()  # also the warm-up of explain
    for name, run in configs.items():
        if name != "explain":
            results[name]["max_abs_map_difference_vs_explain"] = _largest_difference(reference, run())
    for _ in range(rounds):
        for name, run in configs.items():
            t0, c0 = time.perf_counter(), time.process_time()
            run()
            results[name]["cpu_s"].append(time.process_time() - c0)
            results[name]["wall_s"].append(time.perf_counter() - t0)
    for item in results.values():
        item["median_wall_s"] = statistics.median(item["wall_s"])
        item["median_cpu_s"] = statistics.median(item["cpu_s"])
        item["probes_per_s_wall"] = n_probes / item["median_wall_s"]
        item["probes_per_s_cpu"] = n_probes / item["median_cpu_s"]
    base = results["batch_1"]
    for item in results.values():
        item["speedup_wall_vs_batch_1"] = base["median_wall_s"] / item["median_wall_s"]
        item["speedup_cpu_vs_batch_1"] = base["median_cpu_s"] / item["median_cpu_s"]
    return results


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.explain_batch", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--probes", type=int, default=48)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    load_at_start = os.getloadavg()
    started = time.perf_counter()
    results = measure(args.probes, args.rounds)
    report = {
        "benchmark": "explain_batch",
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "model": "auditors.demo shortcut (1.7 M parameters, 4x4 vision grid)", "methods": list(METHODS),
        "n_probes": args.probes, "rounds": args.rounds, "batch_sizes": list(BATCH_SIZES),
        "machine": {**machine_info(args.threads), "device": "cpu", "load_average_at_start": load_at_start,
                    "load_average_at_end": os.getloadavg()},
        "results": results, "wall_s": round(time.perf_counter() - started, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    for name, item in results.items():
        print(f"{name:9s} {item['probes_per_s_wall']:6.1f} probes/s wall  {item['probes_per_s_cpu']:6.1f} per CPU-s  "
              f"x{item['speedup_cpu_vs_batch_1']:.2f} (CPU) vs batch 1  "
              f"max map diff {item.get('max_abs_map_difference_vs_explain', 0.0):.1e}")
    print(f"load average {load_at_start} -> {report['machine']['load_average_at_end']}; written {args.out}")
    return report


if __name__ == "__main__":
    main()
