"""The measurement behind ``rank_filter="auto"``: the rank Gaussian filter on the demo model's 4x4 grid.

The filter denoises over 3x3 windows of vision tokens; on a grid of 4 tokens a side one window covers
most of the image. This script scores every method the filter applies to (TAM, ARC, MSEA, MSEA+ARC)
with the filter left out (``rank_filter="none"``, what ``auto`` does below 8 tokens a side) and with
it at the end (``"final"``, the papers' placement) on the clean demo model, on a probe set kept apart
from the quality benchmark's: 100 held-out scenes drawn with seed 515151 (the benchmark's default
probes use seed 777001). 95% CIs resample probes (``comparison.bootstrap``). The decision recorded
for each method: filtering hurts when the CIs of the pointing game are apart.

Writes ``benchmarks/results/rank_filter_decision.json``. From the repository root:
    python -m benchmarks.rank_filter_decision            # about 1-2 minutes on 2 idle cores
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from benchmarks.machine import machine_info
from benchmarks.quality.ablations import score_probes
from benchmarks.quality.stats import summarise

RESULTS = Path(__file__).resolve().parent / "results" / "rank_filter_decision.json"
METHODS = ("tam", "arc", "msea", "msea_arc")
MODES = ("none", "final")
PROBE_SEED = 515151
REPORTED = ("pointing_game", "f1_iou", "obj_iou", "func_iou", "energy_in_mask")


def _decide(by_mode: dict[str, dict], method: str) -> dict:
    none, final = by_mode["none"][method]["pointing_game"], by_mode["final"][method]["pointing_game"]
    apart = none["ci_low"] > final["ci_high"] or final["ci_low"] > none["ci_high"]
    better = "none" if none["value"] > final["value"] else "final"
    return {"pointing_none": none["value"], "pointing_final": final["value"], "cis_apart": bool(apart),
            "better": better}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.rank_filter_decision", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--probes", type=int, default=100)
    parser.add_argument("--bootstrap", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    import auditors
    from auditors.demo import COLOUR_WORDS, SHAPE_WORDS, build_default_probe_set, demo_model_dir
    from auditors.probes import load_probe_set

    load_at_start = os.getloadavg()
    started = time.perf_counter()
    model, processor = auditors.load_pretrained(demo_model_dir("clean"))
    colours, shapes = frozenset(COLOUR_WORDS), frozenset(SHAPE_WORDS)
    base = auditors.ExplainSettings()
    by_mode: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="rank-filter-probes-") as tmp:
        probe_set = load_probe_set(build_default_probe_set(Path(tmp) / "probes", n=args.probes, seed=PROBE_SEED))
        probes = list(probe_set.probes)
        for mode in MODES:
            stats = score_probes(model, processor, probes, METHODS, replace(base, rank_filter=mode),
                                 probe_set.noun_vocabulary(), colours, shapes)
            summary = summarise(stats, METHODS, args.bootstrap, args.seed)
            by_mode[mode] = {m: {metric: summary.get(f"{m}/{metric}") for metric in REPORTED} for m in METHODS}
    result = {
        "benchmark": "rank_filter_decision",
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "model": "auditors.demo clean (4x4 vision grid)",
        "probe_set": {"seed": PROBE_SEED, "n_probes": len(probes), "content_hash": probe_set.content_hash},
        "bootstrap": args.bootstrap, "seed": args.seed,
        "results": by_mode,
        "decision": {m: _decide(by_mode, m) for m in METHODS},
        "machine": {**machine_info(torch_threads=1), "load_average_at_start": load_at_start,
                    "load_average_at_end": os.getloadavg()},
        "wall_s": round(time.perf_counter() - started, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    for method, decision in result["decision"].items():
        none, final = by_mode["none"][method]["pointing_game"], by_mode["final"][method]["pointing_game"]
        print(f"{method:9s} pointing without filter {none['value']:.2f} [{none['ci_low']:.2f}, {none['ci_high']:.2f}]"
              f"  with filter {final['value']:.2f} [{final['ci_low']:.2f}, {final['ci_high']:.2f}]"
              f"  CIs apart: {decision['cis_apart']}")
    print(f"written {args.out}")
    return result


if __name__ == "__main__":
    main()
