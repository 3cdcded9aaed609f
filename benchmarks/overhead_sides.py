"""The two sides `benchmarks.audit_overhead` times, each run in a fresh process, and the levers it can
switch off one at a time.

    python -m benchmarks.overhead_sides prepare --home H
    python -m benchmarks.overhead_sides explain --home H [--explain-call batch|single]
    python -m benchmarks.overhead_sides audit --home H --db URL [--no-compare] [--lever-off NAME ...]

Each prints one JSON line. Both timed sides start from the same imports (torch on one thread,
transformers, auditors, the project's flows: what any process that explains has loaded) and time
from there, model loading included on both:

- explain: open the candidate's downloaded folder, read the probe images, explain every probe with
  the call the audit's worker makes (`auditors.explain_batch`, 16 probes per forward; `--explain-call
  single`: `auditors.explain` per probe, the worker's call before explain_batch);
- audit: `flows.audit.run_audit` of `models:/bench-captioner@candidate` on the same probes, in a
  database where the baseline `@champion` is already audited (a nightly candidate audit: comparison,
  verdict, alert tag and report included), or without a baseline (`--no-compare`, a reference audit).
  Prefect's API is the benchmark's running server; the Prefect client's first connection is made by
  a trivial flow before the clock starts (a deployment's process has it before the flow starts).

`--lever-off` puts one of the overhead levers back to its earlier behaviour (`LEVERS`), so each
lever's share is measured side by side in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any, Callable

MODEL_NAME = "bench-captioner"
N_PROBES = 200
METHODS = ("tam", "msea_arc")
BATCH_SIZE = 16


def common_imports(home: Path) -> None:
    """What both sides have loaded before their clock starts."""
    os.environ["MLLM_AUDIT_HOME"] = str(home)
    from flows.cli.guard import prepare_environment

    prepare_environment()  # the command line's quiet, offline environment
    import torch

    torch.set_num_threads(1)
    import transformers  # noqa: F401

    import auditors  # noqa: F401
    import flows.audit  # noqa: F401


def prepare(home: Path) -> dict[str, Any]:
    """Register both demo versions, build the probe set, audit the baseline (@champion) alone."""
    common_imports(home)
    from auditors.demo import demo_model_dir
    from flows.audit import run_audit
    from flows.config import load_settings
    from flows.defaults import ensure_default_probe_set
    from flows.registry import register_model, resolve_model
    from flows.request import AuditRequest

    settings = load_settings()
    register_model(demo_model_dir("clean"), MODEL_NAME, alias="champion", settings=settings)
    register_model(demo_model_dir("shortcut"), MODEL_NAME, alias="candidate", settings=settings)
    probe_dir = ensure_default_probe_set(settings, N_PROBES)
    candidate = resolve_model(f"models:/{MODEL_NAME}@candidate", settings)
    outcome = run_audit(AuditRequest(model_uri=f"models:/{MODEL_NAME}@champion", probe_set=str(probe_dir),
                                     methods=METHODS, compare=False, show_progress=False, batch_size=BATCH_SIZE))
    return {"probe_dir": str(probe_dir), "candidate_dir": str(candidate.local_dir), "baseline_run_id": outcome.run_id,
            "db_path": str(settings.home / "audit.db")}


class CollectorClock:
    """Seconds the garbage collector ran, and its collections per generation, from `start()` on
    (`gc.callbacks`): what `auditors.gc_policy` is there to cut, measured on both sides."""

    def __init__(self) -> None:
        self.seconds, self.collections, self._began = 0.0, [0, 0, 0], 0.0

    def start(self) -> "CollectorClock":
        import gc

        gc.callbacks.append(self._on_collection)
        return self

    def _on_collection(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._began
            self.collections[info["generation"]] += 1

    def result(self) -> dict[str, Any]:
        return {"gc_s": round(self.seconds, 3), "gc_collections_by_generation": list(self.collections)}


def time_explain(home: Path, candidate_dir: str, probe_dir: str, call: str) -> dict[str, Any]:
    common_imports(home)
    import auditors
    from auditors.probes import load_probe_set

    probes = load_probe_set(probe_dir).probes  # the probe set read is the audit's validation: not timed here
    collector = CollectorClock().start()
    started, cpu = time.perf_counter(), time.process_time()
    model, processor = auditors.load_pretrained(candidate_dir)
    images = [probe.load_image() for probe in probes]
    prompts = [probe.prompt for probe in probes]
    if call == "batch":
        explanations = auditors.explain_batch(model, processor, images, prompts, methods=METHODS, batch_size=BATCH_SIZE)
    else:
        explanations = [auditors.explain(model, processor, image, prompt, methods=METHODS)
                        for image, prompt in zip(images, prompts)]
    return {"wall_s": time.perf_counter() - started, "cpu_s": time.process_time() - cpu,
            "n_probes": len(probes), "n_tokens": sum(len(e.tokens) for e in explanations), "call": call,
            **collector.result()}


# ---- levers: each function puts one back to its earlier behaviour ----------------------------------


def _explain_single() -> None:
    import flows.worker as worker

    def explain_each(opened, probes, methods, settings, batch_size):  # noqa: ANN001, ARG001 - same signature
        from auditors import ExplainSettings, explain

        explain_settings = ExplainSettings.from_dict(settings) if settings else None
        return [explain(opened.model, opened.processor, p.load_image(), p.prompt, methods=tuple(methods),
                        settings=explain_settings) for p in probes]

    worker.explain_probes = explain_each


def _gx_in_first_batch() -> None:
    from flows.fanout import BackgroundPreparation

    BackgroundPreparation.start_if_useful = classmethod(lambda cls, *args: None)


def _gx_summary_always() -> None:
    import flows.validation as validation

    validation.PASS_FORMAT = validation.FAILURE_FORMAT


def _one_transaction_per_probe() -> None:
    from storage.repository import AuditRepository

    batched = AuditRepository.add_probe_results  # add_probe_result itself calls it with one result
    AuditRepository.add_probe_results = lambda self, run_id, results: sum(
        batched(self, run_id, [result]) for result in results)


def _thumbnails_every_time() -> None:
    from storage.repository import AuditRepository

    AuditRepository.find_complete_probe_set = lambda self, content_hash: None


def _default_collections() -> None:
    import auditors.gc_policy as gc_policy

    gc_policy._holders = 1  # as if held by someone else: no `batch_collections()` block applies the policy


LEVERS: dict[str, Callable[[], None]] = {
    "explain_batch": _explain_single,  # the worker explains probe by probe (the explain side follows)
    "gx_in_background": _gx_in_first_batch,  # great-expectations imported by the first batch's validation
    "gx_boolean_only": _gx_summary_always,  # every batch validated with GX's SUMMARY result format
    "batch_transaction": _one_transaction_per_probe,  # one transaction per probe
    "thumbnails_once": _thumbnails_every_time,  # thumbnails made even when the set is stored
    "batch_gc": _default_collections,  # Python's default garbage-collector thresholds, nothing frozen
}


def time_audit(home: Path, probe_dir: str, db_url: str, compare: bool, levers_off: list[str]) -> dict[str, Any]:
    common_imports(home)
    for lever in levers_off:
        LEVERS[lever]()
    from prefect import flow

    from flows.audit import run_audit
    from flows.request import AuditRequest

    @flow(name="benchmark-warm-up")
    def warm_up() -> int:
        return 1

    started = time.perf_counter()
    warm_up()
    client_s = time.perf_counter() - started
    request = AuditRequest(model_uri=f"models:/{MODEL_NAME}@candidate", probe_set=probe_dir, methods=METHODS,
                           db_url=db_url, compare=compare, show_progress=False, batch_size=BATCH_SIZE)
    collector = CollectorClock().start()
    started, cpu = time.perf_counter(), time.process_time()
    outcome = run_audit(request)
    return {"wall_s": time.perf_counter() - started, "cpu_s": time.process_time() - cpu,
            "prefect_client_warm_up_s": client_s, "verdict": outcome.verdict, "n_explained": outcome.n_explained,
            "timings": {k: round(v, 3) for k, v in outcome.timings.items()}, "levers_off": levers_off,
            "compare": compare, **collector.result()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("side", choices=("prepare", "explain", "audit"))
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--probe-dir")
    parser.add_argument("--candidate-dir")
    parser.add_argument("--db")
    parser.add_argument("--explain-call", choices=("batch", "single"), default="batch")
    parser.add_argument("--no-compare", action="store_true")
    parser.add_argument("--lever-off", action="append", default=[], choices=sorted(LEVERS))
    args = parser.parse_args()
    if args.side == "prepare":
        result = prepare(args.home)
    elif args.side == "explain":
        result = time_explain(args.home, args.candidate_dir, args.probe_dir, args.explain_call)
    else:
        result = time_audit(args.home, args.probe_dir, args.db, not args.no_compare, args.lever_off)
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
