"""Benchmark: seconds per stage-1 training step of the demo model under the options the recipe weighed.

Options measured, each for ``--steps`` steps after a warm-up step, on the real batches of one variant:

* ``stock``: transformers' own vision attention (one call per window) and Conv3d patch embedding;
* ``fast``: ``auditors.demo.fastpath`` (windows stacked into one attention call, patch embedding as a matmul);
* batches built in the training process (``workers=0``) or in a worker process (``workers=1``);
* torch threads 1 and 2;
* ``bf16``: oneDNN's bf16 matmul for float32 tensors (``torch.backends.mkldnn.matmul.fp32_precision``).

    .venv/bin/python -m benchmarks.demo_step_speed [--steps 40]

Writes benchmarks/results/demo_step_speed.json with the load average before and after each option.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(REPO))
RESULTS = REPO / "benchmarks" / "results" / "demo_step_speed.json"

OPTIONS = (  # (name, fast path, batch workers, threads, bf16 matmul)
    ("stock, in-process batches, 1 thread", False, 0, 1, False),
    ("fast, in-process batches, 1 thread", True, 0, 1, False),
    ("fast, worker batches, 1 thread", True, 1, 1, False),
    ("stock, in-process batches, 2 threads", False, 0, 2, False),
    ("fast, in-process batches, 2 threads", True, 0, 2, False),
    ("fast, worker batches, 2 threads", True, 1, 2, False),
    ("fast, worker batches, 1 thread, bf16 matmul", True, 1, 1, True),
)


def measure(steps: int, fast: bool, workers: int, threads: int, bf16: bool) -> dict:
    import torch

    from auditors.demo.data import BatchBuilder
    from auditors.demo.fastpath import fast_training
    from auditors.demo.loader import StageBatches, iterate_batches
    from auditors.demo.model import build_model, build_processor
    from auditors.demo.recipe import Recipe
    from auditors.demo.train import _param_groups
    from auditors.demo.variants import parse_variant

    torch.set_num_threads(threads)
    torch.backends.mkldnn.matmul.fp32_precision = "bf16" if bf16 else "ieee"
    processor = build_processor()
    model = build_model(processor.tokenizer, seed=1)
    recipe = Recipe()
    groups = _param_groups(model, 1, recipe.stage1_lr, recipe)
    opt = torch.optim.AdamW(groups, lr=recipe.stage1_lr)
    batches = StageBatches(BatchBuilder(processor.tokenizer), 1, 1, parse_variant("clean"), recipe.batch_size, 128)
    model.train()
    load_before = os.getloadavg()
    with fast_training(model) if fast else contextlib.nullcontext():
        t0 = None
        for step, batch in enumerate(iterate_batches(batches, steps + 1, workers)):
            out = model(**batch)
            opt.zero_grad()
            out.loss.backward()
            opt.step()
            if step == 0:
                t0 = time.perf_counter()
        per_step = (time.perf_counter() - t0) / steps
    torch.backends.mkldnn.matmul.fp32_precision = "ieee"
    return {"seconds_per_step": round(per_step, 4), "load_average_before": load_before, "load_average_after": os.getloadavg()}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=40)
    args = ap.parse_args(argv)
    rows = []
    for name, fast, workers, threads, bf16 in OPTIONS:
        row = {"option": name, **measure(args.steps, fast, workers, threads, bf16)}
        rows.append(row)
        print(f"{name}: {row['seconds_per_step']:.3f} s/step (load {row['load_average_before'][0]:.2f})", flush=True)
    RESULTS.write_text(json.dumps({"steps": args.steps, "batch_size": 32, "results": rows, "machine": {
        "python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()}}, indent=1))


if __name__ == "__main__":
    main()
