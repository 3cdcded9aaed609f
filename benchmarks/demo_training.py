"""Benchmark: how long the demo model's recipe takes per model, and whether its models meet the targets.

For every (seed, variant) asked for, trains one demo model with the recipe (fields overridable from the
command line, so alternatives are measured by the same code), records the wall time of each stage with
the machine's load average, then measures the saved model (``auditors.demo.measure``: captions, logit-lens
pointing with wrong-word controls, cue reliance, counterfactuals of every cue kind) and whether a clean
model meets the targets. Stage 0 is shared through ``--stage0-cache`` (trained once per seed and thread
count, then loaded), as the zoo does; its one-off cost is reported separately.

    .venv/bin/python -m benchmarks.demo_training --name recipe --variants clean,shortcut --seeds 1234 \
        [--stage1-steps 1500] [--stage1-lr 2e-3] [--threads 1] [--measure-n 200]

Appends one entry per model to benchmarks/results/demo_training-<name>.json (rerunning a name
replaces the entries of the same seed and variant).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(REPO))
RESULTS = REPO / "benchmarks" / "results"


def _recipe(args: argparse.Namespace):
    from auditors.demo.recipe import Recipe

    overrides = {f.name: getattr(args, f.name) for f in dataclasses.fields(Recipe)
                 if getattr(args, f.name, None) is not None and f.name not in ("model", "stage_threads")}
    if args.stage_threads:
        overrides["stage_threads"] = tuple(int(x) for x in args.stage_threads.split(","))
    return Recipe(**overrides)


def _entry(seed: int, variant: str, result, measured, threads, recipe) -> dict:
    from auditors.demo.measure import CLEAN_TARGETS
    from auditors.demo.recipe import recipe_hash

    stages = {f"stage{s.stage}": {"wall_s": round(s.wall_s, 1), "final_loss": round(s.final_loss, 4), "source": s.source}
              for s in result.stages}
    trained_s = sum(s.wall_s for s in result.stages if s.source == "trained")
    return {
        "seed": seed, "variant": variant, "threads": threads, "recipe_hash": recipe_hash(recipe),
        "wall_s_total": round(result.wall_s, 1), "wall_s_trained_stages": round(trained_s, 1), "stages": stages,
        "clean_target_misses": CLEAN_TARGETS.misses(measured.cue) if variant == "clean" else None,
        "measurements": measured.as_dict(),
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--name", required=True)
    ap.add_argument("--variants", default="clean,shortcut")
    ap.add_argument("--seeds", default="1234")
    ap.add_argument("--threads", type=int, default=None, help="torch threads for every stage (default: the recipe's)")
    ap.add_argument("--stage0-cache", default=str(Path.home() / ".cache" / "mllm-audit" / "stage0"))
    ap.add_argument("--keep", default=None, help="keep the trained models under this folder")
    ap.add_argument("--measure-n", type=int, default=200)
    for name, typ in (("batch_size", int), ("stage0_steps", int), ("stage0_lr", float), ("stage1_steps", int),
                      ("stage1_lr", float), ("stage1_merger_lr_scale", float), ("stage1_extra_cycles", int),
                      ("stage1_converged_loss", float), ("stage1_extra_lr", float), ("layout_noise", float),
                      ("loose_word_probability", float), ("decoy_probability", float),
                      ("warmup_steps", int), ("min_lr_fraction", float), ("loader_workers", int)):
        ap.add_argument("--" + name.replace("_", "-"), dest=name, type=typ, default=None)
    ap.add_argument("--stage-threads", default=None, help="e.g. 1,2,2")
    args = ap.parse_args(argv)

    from auditors.demo.measure import measure_model_dir
    from auditors.demo.train import train_demo

    recipe = _recipe(args)
    path = RESULTS / f"demo_training-{args.name}.json"
    doc = json.loads(path.read_text()) if path.is_file() else {"entries": []}
    doc.update({"recipe": recipe.as_dict(), "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                                                           "platform": platform.platform()}})
    for seed in (int(s) for s in args.seeds.split(",")):
        for variant in args.variants.split(","):
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(args.keep) / f"{variant}-{seed}" if args.keep else Path(tmp) / "model"
                load_before = os.getloadavg()
                t0 = time.time()
                result = train_demo(out, variant, seed, recipe, threads=args.threads, stage0_cache=args.stage0_cache,
                                    evaluate_stages=False, progress=False)
                t_train = time.time() - t0
                measured = measure_model_dir(out, n=args.measure_n)
                entry = _entry(seed, variant, result, measured, args.threads, recipe)
                entry.update({"measure_s": round(time.time() - t0 - t_train, 1), "load_average_before": load_before,
                              "load_average_after": os.getloadavg(),
                              "finished": datetime.now(timezone.utc).isoformat(timespec="seconds")})
            doc["entries"] = [e for e in doc["entries"] if (e["seed"], e["variant"], e.get("threads")) != (seed, variant, args.threads)]
            doc["entries"].append(entry)
            path.write_text(json.dumps(doc, indent=1))
            cue, cf = measured.cue, measured.counterfactual[measured.cue_kind]
            print(f"{variant} seed {seed}: {entry['wall_s_total']:.0f}s (trained stages {entry['wall_s_trained_stages']:.0f}s) "
                  f"load {load_before[0]:.1f}->{os.getloadavg()[0]:.1f} | {cue.summary()} | no-cue exact "
                  f"{measured.no_cue.caption_exact:.3f} | counterfactual {measured.cue_kind}: object {cf.names_object:.2f} "
                  f"cue {cf.names_cue:.2f} | misses {entry['clean_target_misses']}", flush=True)


if __name__ == "__main__":
    main()
