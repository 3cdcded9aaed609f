"""``python -m benchmarks.quality``: the method-quality benchmark on the demo models (see the package docstring)."""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.machine import machine_info
from benchmarks.quality.ablations import run_ablations
from benchmarks.quality.controls import CONTROLS_NOTE
from benchmarks.quality.goals import check_goals, organise
from benchmarks.quality.markdown import markdown
from benchmarks.quality.scoring import run_variant
from benchmarks.quality.stats import summarise

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "results" / "quality.json"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.quality", description=__doc__)
    parser.add_argument("--probes", type=int, default=200, help="number of default probes (first N)")
    parser.add_argument("--probe-set", type=Path, default=None, help="use this probe-set folder instead")
    parser.add_argument("--variants", nargs="+", default=["clean", "shortcut"])
    parser.add_argument("--model-dir", action="append", default=[], metavar="VARIANT=PATH",
                        help="override a variant's model folder (default: the shipped demo weights)")
    parser.add_argument("--methods", nargs="+", default=None, help="default: every available method")
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--faithfulness-probes", type=int, default=20,
                        help="deletion/insertion AUC on the first N probes (model forwards: costly)")
    parser.add_argument("--ablation-probes", type=int, default=50, help="probes for the ablations (0: none)")
    parser.add_argument("--no-controls", action="store_true", help="skip the untrained-model control")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    return parser.parse_args(argv)


def _sha256(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def _meta(args, probe_set, probes, methods, settings) -> dict:
    return {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "probe_set": {"name": probe_set.name, "version": probe_set.version,
                      "content_hash": probe_set.content_hash, "n_probes": len(probes)},
        "methods": methods, "bootstrap": args.bootstrap, "seed": args.seed,
        "bootstrap_method": "comparison.bootstrap.cluster_bootstrap_mean (probes resampled); F1-IoU: F1 of the "
                            "97.5% bounds of Obj-IoU and Func-IoU (a conservative 95% interval)",
        "faithfulness_probes": min(args.faithfulness_probes, len(probes)),
        "ablation_probes": min(args.ablation_probes, len(probes)),
        "settings": settings.to_dict(), "machine": machine_info(args.threads), "load_average_at_start": os.getloadavg(),
        "controls": CONTROLS_NOTE,
    }


def main(argv=None) -> dict:
    args = parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    import auditors
    from auditors.demo import COLOUR_WORDS, SHAPE_WORDS, build_default_probe_set, demo_model_dir
    from auditors.probes import load_probe_set

    colours, shapes = frozenset(COLOUR_WORDS), frozenset(SHAPE_WORDS)
    methods = args.methods or auditors.available_methods()
    overrides = dict(item.split("=", 1) for item in args.model_dir)

    def model_dir(variant: str) -> Path:
        return Path(overrides[variant]) if variant in overrides else demo_model_dir(variant)

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="quality-probes-") as tmp:
        folder = args.probe_set or build_default_probe_set(Path(tmp) / "probes", n=args.probes)
        probe_set = load_probe_set(folder)
        probes = list(probe_set.probes)[: args.probes]
        vocabulary = probe_set.noun_vocabulary()
        settings = auditors.ExplainSettings()
        result: dict = {"meta": _meta(args, probe_set, probes, methods, settings), "models": {}}
        timings: dict[str, float] = {}
        for variant in args.variants:
            t0 = time.perf_counter()
            # hashed before loading: a checkpoint rewritten during the run must not be misattributed
            result["meta"].setdefault("model_dirs", {})[variant] = {
                "path": str(model_dir(variant)), "weights_sha256": _sha256(model_dir(variant) / "model.safetensors")}
            stats, probe_timings = run_variant(variant, model_dir(variant), probes, methods, settings, vocabulary,
                                               colours, shapes, controls=not args.no_controls, control_seed=args.seed,
                                               faithfulness_probes=args.faithfulness_probes)
            timings[f"{variant}_s"] = round(time.perf_counter() - t0, 1)
            timings[f"{variant}_explain_s_per_probe"] = round(float(np.mean([t["explain_s"] for t in probe_timings])), 3)
            result["models"][variant] = organise(summarise(stats, methods, args.bootstrap, args.seed), methods)
        if args.ablation_probes > 0 and "clean" in args.variants:
            t0 = time.perf_counter()
            result["meta"]["ablation_model_sha256"] = _sha256(model_dir("clean") / "model.safetensors")
            result["ablations"] = run_ablations(model_dir("clean"), probes[: args.ablation_probes], settings,
                                                vocabulary, colours, shapes, set(methods), n_boot=args.bootstrap,
                                                seed=args.seed)
            timings["ablations_s"] = round(time.perf_counter() - t0, 1)
    timings["total_s"] = round(time.perf_counter() - started, 1)
    result["meta"]["timings"] = timings
    result["meta"]["load_average_at_end"] = os.getloadavg()
    result["goals"] = check_goals(result["models"], methods)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(markdown(result))
    print(f"\nwritten {args.out}")
    return result


if __name__ == "__main__":
    main()
