"""Helper process for the resume and concurrency tests: one audit writing through the repository.

Usage: python tests/storage/writer.py URL --model NAME --probes N [--sleep S] [--go FILE]

It does what an audit flow does with storage: find-or-create the model version and the probe set,
start (or resume) the run, skip the probes already stored, add each remaining probe's results in
its own transaction (sleeping `--sleep` seconds per probe to stand in for model work), and finish
the run. With `--go FILE` it waits for FILE to exist first, so two writers can start together.
Prints one line `done RUN_ID WRITTEN SKIPPED` at the end.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from storage.repository import AuditRepository
from tests.storage.factories import model_version, probe_result, probe_set


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--model", default="demo-captioner")
    parser.add_argument("--probes", type=int, default=20)
    parser.add_argument("--tokens", type=int, default=4)
    parser.add_argument("--sleep", type=float, default=0.0)
    parser.add_argument("--go", type=Path)
    args = parser.parse_args()

    if args.go is not None:
        deadline = time.monotonic() + 60
        while not args.go.exists():
            if time.monotonic() > deadline:
                raise SystemExit(f"start file {args.go} never appeared")
            time.sleep(0.005)

    with AuditRepository(args.url) as repo:
        mv = repo.get_or_create_model_version(model_version(name=args.model))
        record, probes = probe_set(args.probes)
        ps = repo.get_or_create_probe_set(record, probes)
        run = repo.start_run(mv.id, ps.id, {"methods": ["tam", "msea_arc"], "tokens": args.tokens}, {}, "test")
        done = repo.completed_probe_keys(run.id)
        written = skipped = 0
        for probe in probes:
            if probe.probe_key in done:
                continue
            time.sleep(args.sleep)
            if repo.add_probe_result(run.id, probe_result(probe.probe_key, n_tokens=args.tokens, grid=(16, 16))):
                written += 1
            else:
                skipped += 1
        repo.finish_run(run.id, "completed", {"total_s": 0.0})
    print(f"done {run.id} {written} {skipped}", flush=True)


if __name__ == "__main__":
    main()
