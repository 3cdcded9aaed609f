"""Benchmark: what explaining costs on top of plain generation (issue 2, "Benchmark").

Measured in one invocation on one machine, each configuration in its own subprocess (so that one
configuration's allocator state does not hide another's peak memory), on a random-weight
Qwen2.5-VL model with a realistic 150k vocabulary and a body large enough that the forwards
dominate:

  (a) plain greedy generation
  (b) explain(methods=("tam", "arc")) at one scale
  (c) explain(methods=("msea_arc",)) at 3 scales
  (d) the reference-style pipeline: generation with output_hidden_states, every position of every
      round projected onto the full vocabulary, then TAM (reference mode)
  (e) the floor for (c): (a) plus one plain prompt-only forward per extra scale

Reported: median wall time over the timed runs (after one warm-up), ratios against the goals
(b <= 1.05 a, c <= 1.10 e, peak memory of b and c <= 0.5 of d's), and peak extra memory (RSS
sampled every 2 ms above the RSS before the call, plus tracemalloc's peak of Python-side
allocations). Writes benchmarks/results/explain_speed.json.

    python benchmarks/explain_speed.py            # full run (about 4-5 minutes on 2 shared cores)
    python benchmarks/explain_speed.py --quick    # tiny sizes, to check the script itself
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "explain_speed.json"
CONFIGS = {
    "a_generate": "plain greedy generation",
    "b_explain_tam_arc": "explain(tam, arc), 1 scale",
    "c_explain_msea_arc_3_scales": "explain(msea_arc), scales (1.0, 0.75, 0.5)",
    "d_reference_style": "generate(output_hidden_states) + full-vocab projection of every position + TAM",
    "e_floor_for_c": "(a) + one prompt-only forward per extra scale",
}
# Sized for a shared 2-core CPU (the whole run must stay around 5 minutes): the 150k-row LM head
# and embedding make most of the weights, as in small real VLMs (Qwen2-VL-2B: 151k x 1536).
FULL = dict(hidden_size=384, intermediate_size=1536, num_layers=6, num_heads=6, num_kv_heads=2, vision_hidden=128,
            vision_depth=2, vision_heads=2, extra_vocab=150_000, image_px=224, max_new_tokens=12, runs=3,
            tie_word_embeddings=True)
QUICK = dict(hidden_size=64, intermediate_size=128, num_layers=2, num_heads=4, num_kv_heads=2, vision_hidden=32,
             vision_depth=2, vision_heads=2, extra_vocab=2_000, image_px=112, max_new_tokens=6, runs=2,
             tie_word_embeddings=True)
SCALES = (1.0, 0.75, 0.5)
PROMPT = "describe the image"


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakRss:
    """Samples RSS in a thread; ``extra`` = peak during the block minus RSS before it."""

    def __enter__(self):
        self.before = _rss_bytes()
        self.peak = self.before
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_bytes())
            time.sleep(0.002)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_bytes())
        self.extra = self.peak - self.before


def _build(sizes: dict):
    from auditors.synthetic_models import SyntheticModelSpec, build_synthetic_vlm

    spec = SyntheticModelSpec(**{k: v for k, v in sizes.items() if k in SyntheticModelSpec.__dataclass_fields__})
    model, processor = build_synthetic_vlm("qwen2_5_vl", spec, seed=0)
    return model, processor


def _image(sizes: dict):
    import numpy as np
    from PIL import Image

    px = sizes["image_px"]
    return Image.fromarray((np.random.RandomState(0).rand(px, px, 3) * 255).astype("uint8"))


def _workload(name: str, model, processor, image, sizes: dict):
    """A zero-argument callable running configuration ``name`` once."""
    import numpy as np
    import torch

    import auditors
    from auditors.adapters import adapter_for
    from auditors.capture import generate_with_capture
    from auditors.core.tam_reference import tam_reference_trace
    from auditors.tokens import token_pieces

    adapter = adapter_for(model)
    n_new = sizes["max_new_tokens"]
    suppress = adapter.suppressed_token_ids(model, processor)
    pad = processor.tokenizer.pad_token_id

    def generate(**extra):
        prepared = adapter.prepare(model, processor, image, PROMPT)
        out = model.generate(**prepared.inputs, max_new_tokens=n_new, min_new_tokens=n_new, do_sample=False,
                             num_beams=1, pad_token_id=pad, suppress_tokens=suppress, temperature=None, top_p=None,
                             top_k=None, **extra)
        return prepared, out

    if name == "a_generate":
        def run():
            with torch.inference_mode():
                generate()
        return run
    if name == "b_explain_tam_arc":
        settings = auditors.ExplainSettings(max_new_tokens=n_new)
        return lambda: auditors.explain(model, processor, image, PROMPT, methods=("tam", "arc"), settings=settings)
    if name == "c_explain_msea_arc_3_scales":
        settings = auditors.ExplainSettings(max_new_tokens=n_new, scales=SCALES)
        return lambda: auditors.explain(model, processor, image, PROMPT, methods=("msea_arc",), settings=settings)
    if name == "e_floor_for_c":
        def run():
            with torch.inference_mode():
                prepared, _ = generate()
                for scale in SCALES[1:]:
                    scaled = adapter.prepare(model, processor, image, PROMPT, scale, reference=prepared)
                    model.model(**scaled.inputs, use_cache=False)
        return run
    if name == "d_reference_style":
        head = model.get_output_embeddings()

        def run():
            with torch.inference_mode():
                prepared, out = generate(output_hidden_states=True, return_dict_in_generate=True)
                # every position of every round onto the full vocabulary, as the reference code does
                logits = torch.cat([head(rounds[-1][0]) for rounds in out.hidden_states], dim=0).float().numpy()
                n_input = prepared.inputs["input_ids"].shape[1]
                ids = out.sequences[0].numpy()
                vision, prompt = prepared.vision_positions, prepared.prompt_positions
                pieces = token_pieces(processor.tokenizer, ids[prompt]) + token_pieces(processor.tokenizer, ids[n_input:])
                trace = tam_reference_trace(
                    token_ids=ids, n_input=n_input, vision_span=(int(vision[0]), int(vision[-1]) + 1),
                    prompt_span=(int(prompt[0]), int(prompt[-1]) + 1), vision_shape=prepared.grid_shape,
                    text_tokens=pieces, scores_for_classes=lambda classes: logits[: len(ids) - 1, classes].T,
                    first_argmax_class=int(np.argmax(logits[int(prompt[0])])))
                return trace.round_maps
        return run
    raise ValueError(name)


def child(name: str, sizes: dict) -> dict:
    import torch

    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
    model, processor = _build(sizes)
    image = _image(sizes)
    run = _workload(name, model, processor, image, sizes)
    run()  # warm-up
    times, extras = [], []
    tracemalloc.start()
    for _ in range(sizes["runs"]):
        tracemalloc.reset_peak()
        with PeakRss() as mem:
            t0 = time.perf_counter()
            run()
            times.append(time.perf_counter() - t0)
        extras.append(mem.extra)
    _, py_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    n_params = sum(p.numel() for p in model.parameters())
    return {"vocab_size": int(model.get_output_embeddings().weight.shape[0]), "times_s": times, "median_s": statistics.median(times), "peak_extra_rss_mb": max(extras) / 2**20,
            "tracemalloc_peak_mb": py_peak / 2**20, "n_params": n_params, "rss_after_build_mb": _rss_bytes() / 2**20}


def machine() -> dict:
    import torch
    import transformers

    info = {"platform": platform.platform(), "python": platform.python_version(), "torch": torch.__version__,
            "transformers": transformers.__version__, "cpu_count": os.cpu_count(), "device": "cpu",
            "torch_threads": int(os.environ.get("BENCH_THREADS", "2"))}
    try:
        info["cpu_model"] = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                                 if line.startswith("model name"))
        info["mem_total_gb"] = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
        info["load_average_at_start"] = os.getloadavg()
    except (OSError, StopIteration):
        pass
    return info


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (checks the script, numbers mean nothing)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--sizes", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, json.loads(args.sizes))))
        return 0
    sizes = QUICK if args.quick else FULL
    from tqdm import tqdm

    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    results, started = {}, time.time()
    for name in tqdm(CONFIGS, desc="configurations"):
        proc = subprocess.run([sys.executable, __file__, "--child", name, "--sizes", json.dumps(sizes)],
                              capture_output=True, text=True, env=env, cwd=REPO)
        if proc.returncode != 0:
            raise SystemExit(f"configuration {name} failed:\n{proc.stderr[-4000:]}")
        results[name] = {"what": CONFIGS[name], **json.loads(proc.stdout.strip().splitlines()[-1])}
    med = {k: v["median_s"] for k, v in results.items()}
    mem = {k: v["peak_extra_rss_mb"] for k, v in results.items()}
    ratios = {
        "b_over_a": med["b_explain_tam_arc"] / med["a_generate"],
        "c_over_e": med["c_explain_msea_arc_3_scales"] / med["e_floor_for_c"],
        "d_over_a": med["d_reference_style"] / med["a_generate"],
        "peak_b_over_d": mem["b_explain_tam_arc"] / mem["d_reference_style"],
        "peak_c_over_d": mem["c_explain_msea_arc_3_scales"] / mem["d_reference_style"],
    }
    goals = {"b_over_a <= 1.05": ratios["b_over_a"] <= 1.05, "c_over_e <= 1.10": ratios["c_over_e"] <= 1.10,
             "peak_b_over_d <= 0.5": ratios["peak_b_over_d"] <= 0.5,
             "peak_c_over_d <= 0.5": ratios["peak_c_over_d"] <= 0.5}
    report = {"benchmark": "explain_speed", "quick": args.quick, "machine": machine(),
              "model": {"architecture": "Qwen2_5_VLForConditionalGeneration (random weights)", **sizes,
                        "vocab_size": results["a_generate"]["vocab_size"],
                        "n_params": results["a_generate"]["n_params"], "scales_c": list(SCALES)},
              "results": results, "ratios": ratios, "goals_met": goals, "wall_s": time.time() - started,
              "gpu": "no device machine was lent to this task; GPU (Qwen2-VL-2B-sized) numbers not measured"}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    print(json.dumps({"median_s": med, "peak_extra_rss_mb": mem, "ratios": ratios, "goals_met": goals}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
