"""The user's path at real size, one model family per run: build -> register -> audit -> report -> check.

    python -m benchmarks.real_size_path qwen2-vl-2b --work /tmp/rs [--model DIR] [--dtype bfloat16]
        [--max-new-tokens 4] [--methods tam,msea_arc] [--cleanup]

Every step is the command a user runs (``mllm-audit register``, ``mllm-audit audit``,
``mllm-audit report``), each in its own process, timed (wall) and measured (peak RSS of that
process and its children, from ``os.wait4``). Then a check reads the stored maps back from the
audit database and compares their grid with the grid the checkpoint's own processor gives each
probe image (for a 448x448 image: 16x16 for Qwen2-VL/Qwen2.5-VL/InternVL, 24x24 on LLaVA's
336 px canvas). The probe set: four of the real-photo probes, three resized to 448x448 and one
(chelsea, 451x300) at its own, non-square size (dynamic resolution / letterboxing).

Results are merged into ``benchmarks/results/real_size_path.json`` under the shape's name, with
the machine's load averages. ``--cleanup`` deletes the checkpoint and its MLflow artifact and
download copies afterwards (multi-GB each), keeping the small results.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "real_size_path.json"
RESIZED = ("astronaut", "coffee", "rocket")
NATIVE = ("chelsea",)
SIDE = 448
GNU_TIME = "/usr/bin/time"


@dataclass
class Step:
    """One command of the path: what ran, how long, how much memory, how it ended."""

    command: list[str]
    wall_s: float
    peak_rss_mb: float
    returncode: int
    output_tail: str


def run_step(command: list[str], env: dict[str, str], log: Path) -> Step:
    """Run ``command`` to completion and read its own peak RSS.

    Through GNU time (``%M``): the kernel starts a child's peak RSS at its parent's size when the
    parent forks it, so ``wait4`` on a direct child would report at least this driver's size
    (the test process's, under pytest); GNU time's child is forked from a 2 MB process instead.
    """
    if not Path(GNU_TIME).is_file():
        raise RuntimeError(f"{GNU_TIME} not found: the per-step peak RSS needs GNU time (Debian package 'time')")
    rss_file = log.with_suffix(".maxrss")
    started = time.perf_counter()
    with log.open("w") as out:
        done = subprocess.run([GNU_TIME, "-f", "%M", "-o", str(rss_file), *command], env=env, stdout=out,
                              stderr=subprocess.STDOUT, cwd=REPO)
    wall = time.perf_counter() - started
    tail = log.read_text(errors="replace")[-3000:]
    return Step(command=command, wall_s=wall, peak_rss_mb=_last_number(rss_file) / 1024, returncode=done.returncode,
                output_tail=tail)


def _last_number(path: Path) -> float:
    """GNU time writes "Command exited with non-zero status N" before the number when the command fails."""
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    return float(lines[-1]) if lines else float("nan")


def make_probe_set(dest: Path) -> None:
    """Four real-photo probes: three resized (with their masks) to 448x448, chelsea at its own size."""
    import tempfile

    import numpy as np
    from PIL import Image

    from auditors.probes import ObjectDraft, ProbeDraft, build_real_photo_probe_set, write_probe_set

    with tempfile.TemporaryDirectory() as scratch:
        source = build_real_photo_probe_set(Path(scratch) / "photos")
        drafts = []
        for probe in source:
            if probe.id not in RESIZED + NATIVE:
                continue
            image = probe.load_image()
            masks = [probe.load_mask(i) for i in range(len(probe.objects))]
            if probe.id in RESIZED:
                image = image.resize((SIDE, SIDE), resample=Image.BICUBIC)
                masks = [np.asarray(Image.fromarray(m.astype(np.uint8) * 255).resize((SIDE, SIDE))) > 127
                         for m in masks]
            objects = [ObjectDraft(obj.words, mask) for obj, mask in zip(probe.objects, masks, strict=True)]
            drafts.append(ProbeDraft(id=probe.id, image=image, objects=objects, caption=probe.caption))
        write_probe_set(dest, drafts, name="real-size-path", version="1", description="real-size path check",
                        default_prompt=source.default_prompt, overwrite=True)


def expected_grid(model_dir: Path, image) -> tuple[int, int]:
    """The vision-token grid the checkpoint's own processor and config give ``image`` (independent of the
    adapters: Qwen from ``image_grid_thw``, fixed canvases from the vision config)."""
    config = json.loads((model_dir / "config.json").read_text())
    vision = config["vision_config"]
    if "merge_size" in json.dumps(json.loads((model_dir / "processor_config.json").read_text())):
        from auditors.loading import load_processor

        processor = load_processor(model_dir)
        thw = processor.image_processor(images=[image], return_tensors="np")["image_grid_thw"][0]
        merge = int(processor.image_processor.merge_size)
        return int(thw[1]) // merge, int(thw[2]) // merge
    size = vision["image_size"]
    patch = vision["patch_size"]
    size, patch = (size[0] if isinstance(size, list) else size), (patch[0] if isinstance(patch, list) else patch)
    unit = round(patch / config.get("downsample_ratio", 1.0))
    return size // unit, size // unit


def check_stored_maps(db_url: str, run_id: int, model_dir: Path, probe_dir: Path) -> dict:
    """Per probe: the grid of every stored map by method, the expected grid, and whether they agree."""
    from auditors.probes import load_probe_set
    from storage.repository import AuditRepository

    probes = load_probe_set(probe_dir)
    repository = AuditRepository(db_url)
    report = {}
    for probe in probes:
        stored: dict[str, set] = {}
        for record in repository.get_maps(run_id, probe_key=probe.id):
            stored.setdefault(record.method, set()).add(record.grid_shape)
        expected = expected_grid(model_dir, probe.load_image())
        report[probe.id] = {"image_size": list(probe.load_image().size), "expected": list(expected),
                            "stored": {m: sorted(list(g) for g in grids) for m, grids in stored.items()},
                            "ok": bool(stored) and all(grids == {expected} for grids in stored.values())}
    answers = {g.probe_key: g.text for g in repository.get_generations(run_id)}
    run = repository.get_run(run_id)
    return {"grids": report, "answers": answers, "run_timings": run.timings, "run_status": run.status}


def du_bytes(path: Path, seen: set | None = None) -> int:
    """Bytes on disk under ``path``, each file counted once (hard links to a file in ``seen`` are free)."""
    seen = set() if seen is None else seen
    total = 0
    for file in (p for p in path.rglob("*") if p.is_file()) if path.exists() else ():
        info = file.stat()
        if (info.st_dev, info.st_ino) not in seen:
            seen.add((info.st_dev, info.st_ino))
            total += info.st_size
    return total


def machine() -> dict:
    info = {"platform": platform.platform(), "python": platform.python_version(), "cpu_count": os.cpu_count(),
            "mem_total_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
            "device": "cpu"}
    try:
        info["cpu_model"] = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                                 if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return info


def _tool(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def run_path(args) -> dict:
    work = args.work.resolve()
    home, model_dir = work / "home", (args.model or work / "model").resolve()
    logs = work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "MLLM_AUDIT_HOME": str(home), "PYTHONPATH": str(REPO)}
    for key in ("MLLM_AUDIT_DB_URL", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLLM_AUDIT_CONFIG"):
        env.pop(key, None)
    python, cli = sys.executable, _tool("mllm-audit")
    config = work / "audit.toml"
    config.write_text(f'methods = {json.dumps(args.methods.split(","))}\n\n[explain]\n'
                      f'max_new_tokens = {args.max_new_tokens}\n')
    result: dict = {"shape": args.name, "load_average_at_start": os.getloadavg(), "machine": machine(),
                    "methods": args.methods.split(","), "max_new_tokens": args.max_new_tokens, "steps": {}}
    steps = result["steps"]

    def step(name: str, command: list[str]) -> Step:
        print(f"[{args.name}] {name}: {' '.join(command)}", flush=True)
        outcome = run_step(command, env, logs / f"{name}.log")
        steps[name] = asdict(outcome)
        print(f"[{args.name}] {name}: rc {outcome.returncode}, {outcome.wall_s:.1f} s, "
              f"peak RSS {outcome.peak_rss_mb:.0f} MB", flush=True)
        if outcome.returncode != 0:
            raise RuntimeError(f"step {name} failed (rc {outcome.returncode}):\n{outcome.output_tail}")
        return outcome

    if args.model is None and not (model_dir / "config.json").is_file():
        step("build", ["nice", "-n", "5", python, "-m", "benchmarks.real_shapes", "build", args.name,
                       "--out", str(model_dir), "--dtype", args.dtype])
    built = json.loads((model_dir / "real_shape.json").read_text()) if (model_dir / "real_shape.json").is_file() else {}
    result["built"] = built
    result["folder_bytes"] = du_bytes(model_dir)
    step("probes", [python, "-m", "benchmarks.real_size_path", "--make-probes", str(work / "probes")])
    step("register", [cli, "register", str(model_dir), "--name", args.name])
    audit = step("audit", ["nice", "-n", "5", cli, "--config", str(config), "audit", f"models:/{args.name}/1",
                           "--probes", str(work / "probes"), "--no-compare", "--out", str(work / "report")])
    run_id = int(audit.output_tail.split("audit run ")[1].split(":")[0])
    step("report", [cli, "report", str(run_id), "--out", str(work / "report-again")])
    step("check", [python, "-m", "benchmarks.real_size_path", "--check", str(run_id), "--db",
                   f"sqlite:///{home / 'audit.db'}", "--model-dir", str(model_dir), "--probes-dir",
                   str(work / "probes"), "--check-out", str(work / "check.json")])
    result.update(json.loads((work / "check.json").read_text()))
    seen: set = set()
    result["copies_bytes"] = {"mlflow_artifacts": du_bytes(home / "mlartifacts", seen),
                              "download_cache_beyond_the_store": du_bytes(home / "models", seen)}
    result["report_html_bytes"] = du_bytes(work / "report")
    result["all_grids_ok"] = all(p["ok"] for p in result["grids"].values())
    result["load_average_at_end"] = os.getloadavg()
    if args.cleanup:
        for path in (home / "mlartifacts", home / "models", work / "model"):
            shutil.rmtree(path, ignore_errors=True)
    return result


def save(result: dict, out: Path) -> None:
    data = json.loads(out.read_text()) if out.is_file() else {}
    data.setdefault("benchmark", "real_size_path")
    data.setdefault("families", {})[result["shape"]] = result
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=1))


def markdown_table(data: dict) -> str:
    """The README's table: one row per family, from the results file."""
    rows = ["| checkpoint (stand-in) | parameters | dtype | folder | build | register | audit (4 probes) | report "
            "| grids stored (448 px / 451x300) | load average |", "|---" * 10 + "|"]
    for name, fam in data["families"].items():
        built, steps, grids = fam.get("built", {}), fam["steps"], fam["grids"]

        def cell(step: str) -> str:
            return f"{steps[step]['wall_s']:.0f} s, {steps[step]['peak_rss_mb'] / 1024:.1f} GiB" if step in steps else "-"

        build = (f"{built['build_s']:.0f} s, {built['peak_rss_mb'] / 1024:.1f} GiB" if built else "-")
        square = grids.get("astronaut", {}).get("expected")
        wide = grids.get("chelsea", {}).get("expected")
        ok = "all match" if fam["all_grids_ok"] else "MISMATCH"
        load = f"{fam['load_average_at_start'][0]:.1f}-{fam['load_average_at_end'][0]:.1f}"
        rows.append(f"| {name} ({built.get('checkpoint', '?')}) | {built.get('n_parameters', 0) / 1e9:.2f} B "
                    f"| {built.get('dtype', '?')} | {fam['folder_bytes'] / 1e9:.1f} GB | {build} | {cell('register')} "
                    f"| {cell('audit')} | {cell('report')} | {square[0]}x{square[1]} / {wide[0]}x{wide[1]}, {ok} "
                    f"| {load} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", nargs="?", help="shape name (python -m benchmarks.real_shapes list)")
    parser.add_argument("--work", type=Path, help="working folder (data directory, probes, reports, logs)")
    parser.add_argument("--model", type=Path, help="an already built folder (default: build into WORK/model)")
    parser.add_argument("--dtype", default="bfloat16")
    parser.add_argument("--max-new-tokens", type=int, default=4)
    parser.add_argument("--methods", default="tam,msea_arc")
    parser.add_argument("--cleanup", action="store_true", help="delete the multi-GB folders afterwards")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--table", action="store_true", help="print the results file as the README's table")
    parser.add_argument("--make-probes", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--check", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--model-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--probes-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--check-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.table:
        print(markdown_table(json.loads(args.out.read_text())))
        return 0
    if args.make_probes:
        make_probe_set(args.make_probes)
        return 0
    if args.check is not None:
        args.check_out.write_text(json.dumps(check_stored_maps(args.db, args.check, args.model_dir, args.probes_dir)))
        return 0
    if not args.name or not args.work:
        parser.error("give a shape name and --work")
    started = time.perf_counter()
    try:
        result = run_path(args)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    result["total_wall_s"] = time.perf_counter() - started
    save(result, args.out)
    print(json.dumps({k: v for k, v in result.items() if k not in ("machine", "steps")}, indent=1))
    return 0 if result["all_grids_ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
