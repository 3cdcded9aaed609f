"""Benchmark: what ARC's rankings of the prompt tokens cost, projected after generation or riding
along generation's own LM-head calls (``auditors.capture.HeadRideAlong``).

On the 123.5 M-parameter Qwen2.5-VL of ``benchmarks/explain_speed.py`` (random weights, 150k-token
tied head, 336 px image, 12 new tokens, torch on one thread), in one process:

1. the LM head's cost against the number of rows it projects (1-6 and 16 rows of the model's own
   head weight; median process CPU time of 15 calls): the measurement behind ``RIDE_ALONG_ROWS``;
2. round-robin rounds of (a) plain greedy generation, (b) ``explain(tam, arc)`` as shipped (rankings
   ride along) and (b0) the same with the rankings projected in a separate head pass after
   generation (the previous way, reproduced by withholding the positions from generation), with
   process CPU time and wall time per call and each explanation's own split between generation and
   the work after it (``Explanation.timings``, a ratio that hardly depends on the machine's load).

Writes ``benchmarks/results/arc_rankings_cost.json``. From the repository root:
    python -m benchmarks.arc_rankings_cost          # about 2 minutes on 2 idle cores
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from unittest import mock

import numpy as np

from benchmarks.explain_speed import FULL, PROMPT
from benchmarks.machine import machine_info

RESULTS = Path(__file__).resolve().parent / "results" / "arc_rankings_cost.json"
HEAD_ROWS = (1, 2, 3, 4, 5, 6, 16)


def _median_cpu_ms(call, repeats: int = 15) -> float:
    call()
    times = []
    for _ in range(repeats):
        c0 = time.process_time()
        call()
        times.append(time.process_time() - c0)
    return 1000 * statistics.median(times)


def head_cost_by_rows(head) -> dict[int, float]:
    import torch

    d = head.weight.shape[1]
    return {rows: _median_cpu_ms(lambda rows=rows: torch.nn.functional.linear(torch.randn(1, rows, d), head.weight))
            for rows in HEAD_ROWS}


def _configs(model, processor, image, n_new: int):
    import importlib

    import torch

    import auditors
    from auditors.adapters import adapter_for

    explain_module = importlib.import_module("auditors.explain")  # the package exports the function as `explain`
    adapter = adapter_for(model)
    settings = auditors.ExplainSettings(max_new_tokens=n_new)
    none = np.zeros(0, dtype=np.int64)

    def generate():
        with torch.inference_mode():
            prepared = adapter.prepare(model, processor, image, PROMPT)
            model.generate(**prepared.inputs, max_new_tokens=n_new, do_sample=False, num_beams=1,
                           pad_token_id=processor.tokenizer.pad_token_id,
                           suppress_tokens=adapter.suppressed_token_ids(model, processor),
                           temperature=None, top_p=None, top_k=None)

    def ride_along():
        return auditors.explain(model, processor, image, PROMPT, methods=("tam", "arc"), settings=settings).timings

    def after_generation():
        with mock.patch.object(explain_module, "ranked_positions", lambda *args: none):
            return ride_along()

    return {"a_generate": generate, "b_explain_tam_arc_ride_along": ride_along,
            "b0_explain_tam_arc_after_generation": after_generation}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.arc_rankings_cost", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    import torch
    from PIL import Image

    from auditors.synthetic_models import SyntheticModelSpec, build_synthetic_vlm

    torch.set_num_threads(1)
    load_at_start = os.getloadavg()
    spec = SyntheticModelSpec(**{k: v for k, v in FULL.items() if k in SyntheticModelSpec.__dataclass_fields__})
    model, processor = build_synthetic_vlm("qwen2_5_vl", spec, seed=0)
    px = FULL["image_px"]
    image = Image.fromarray((np.random.RandomState(0).rand(px, px, 3) * 255).astype("uint8"))
    head_ms = head_cost_by_rows(model.get_output_embeddings())
    configs = _configs(model, processor, image, FULL["max_new_tokens"])
    results = {name: {"cpu_s": [], "wall_s": [], "after_over_generation": []} for name in configs}
    for run in configs.values():
        run()  # warm-up
    for _ in range(args.rounds):
        for name, run in configs.items():
            t0, c0 = time.perf_counter(), time.process_time()
            timings = run()
            results[name]["cpu_s"].append(time.process_time() - c0)
            results[name]["wall_s"].append(time.perf_counter() - t0)
            if timings:
                results[name]["after_over_generation"].append((timings["total_s"] - timings["generate_s"])
                                                              / timings["generate_s"])
    for item in results.values():
        item["median_cpu_s"] = statistics.median(item["cpu_s"])
        item["median_wall_s"] = statistics.median(item["wall_s"])
        if item["after_over_generation"]:
            item["median_after_over_generation"] = statistics.median(item["after_over_generation"])
    a = results["a_generate"]
    ratios = {f"{name}_over_a{suffix}": item[key] / a[key] for name, item in results.items() if name != "a_generate"
              for key, suffix in (("median_cpu_s", ""), ("median_wall_s", "_wall"))}
    report = {"benchmark": "arc_rankings_cost",
              "model": {"architecture": "Qwen2_5_VLForConditionalGeneration (random weights)", **FULL,
                        "n_params": sum(p.numel() for p in model.parameters()),
                        "vocab_size": int(model.get_output_embeddings().weight.shape[0])},
              "head_cpu_ms_by_rows": head_ms, "results": results, "ratios": ratios,
              "goal_b_over_a_le_1_05": {"ride_along": ratios["b_explain_tam_arc_ride_along_over_a"] <= 1.05,
                                        "after_generation": ratios["b0_explain_tam_arc_after_generation_over_a"] <= 1.05},
              "machine": {**machine_info(torch_threads=1), "load_average_at_start": load_at_start,
                          "load_average_at_end": os.getloadavg()}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print("LM head CPU ms by rows:", {k: round(v, 1) for k, v in head_ms.items()})
    for name, item in results.items():
        print(f"{name:38s} cpu {item['median_cpu_s']:.3f} s  wall {item['median_wall_s']:.3f} s  after/generation "
              f"{item.get('median_after_over_generation', float('nan')):.3f}")
    print({k: round(v, 3) for k, v in ratios.items()}, "load", load_at_start, "->", os.getloadavg())
    return report


if __name__ == "__main__":
    main()
