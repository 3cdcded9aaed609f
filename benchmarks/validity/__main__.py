"""Run the validity benchmark: `python -m benchmarks.validity [--seeds 8] [--train]`.

Audits the zoo's clean champion, its calibration retrains and, for every reported seed, a clean
retrain and a shortcut of every cue kind, on each probe condition (`benchmarks.validity.probes`),
through `benchmarks.validity.driver`; calibrates the thresholds on the calibration seeds alone
(`calibration`), judges every reported trial against the champion (with the shipped settings by
default) and writes `benchmarks/results/validity.json` (`validity-cycles<N>.json` for the zoo of another
recipe, `--stage1-extra-cycles N`) plus the README table (`summary`). Stored
runs and verdicts are reused: a rerun only audits and judges what is new. Models missing from the
zoo are trained with `--train`, else listed and left out (and the results say so).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from itertools import permutations
from pathlib import Path

from auditors.demo.zoo import add_recipe_option, parse_seed_list
from benchmarks.machine import machine_info
from benchmarks.validity.calibration import calibrate
from benchmarks.validity.driver import AuditDriver
from benchmarks.validity.plan import CHAMPION_SEED, CLEAN, Trial, ValidityPlan, ZooModels
from benchmarks.validity.probes import CONDITIONS, probe_set_dir
from benchmarks.validity.summary import TrialOutcome, results_document, summarise
from comparison import RegressionConfig

DEFAULT_WORK = Path.home() / ".cache" / "mllm-audit" / "validity"
DEFAULT_OUT = Path("benchmarks/results/validity.json")


def _args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=8, help="reported seeds (each: a clean retrain + every shortcut)")
    ap.add_argument("--calibration-seeds", type=int, default=4, help="clean retrains the thresholds come from")
    ap.add_argument("--report-seed-list", default=None,
                    help="comma-separated reported seeds (instead of --seeds: e.g. seeds already in the zoo)")
    ap.add_argument("--calibration-seed-list", default=None,
                    help="comma-separated calibration seeds (instead of --calibration-seeds)")
    ap.add_argument("--champion-seed", type=int, default=None,
                    help="the clean champion's seed with the seed lists (default 1)")
    ap.add_argument("--zoo", default=None, help="zoo folder (default: the zoo module's)")
    ap.add_argument("--train", action="store_true", help="train missing zoo models (hours on a CPU)")
    ap.add_argument("--jobs", type=int, default=1, help="with --train: seeds trained at once, one process each")
    ap.add_argument("--probes", type=int, default=200, help="probes per probe set")
    ap.add_argument("--conditions", default=",".join(CONDITIONS), help="probe conditions to run")
    ap.add_argument("--settings", choices=("shipped", "calibrated"), default="shipped",
                    help="judge the reported trials with the shipped defaults or this run's calibration")
    ap.add_argument("--work", type=Path, default=DEFAULT_WORK, help="database and probe sets")
    ap.add_argument("--out", type=Path, default=None,
                    help="results file (default: results/validity.json; validity-cycles<N>.json with --stage1-extra-cycles)")
    add_recipe_option(ap)
    return ap.parse_args(argv)


def default_results_file(extra_cycles: int | None) -> Path:
    """results/validity.json for the recipe as it is; another recipe's zoo gets its own file."""
    return DEFAULT_OUT if extra_cycles is None else DEFAULT_OUT.with_name(f"validity-cycles{extra_cycles}.json")


def _calibration_pairs(driver: AuditDriver, runs: dict[Trial, object], condition: str):
    """Every ordered pair of clean calibration models and the champion, judged both ways: an honest
    retrain comes out better or worse than its baseline by chance, and both directions are the null
    (judging only later seeds against earlier ones saw a retrain's shortfall only when it happened to
    be the later seed: clean-1 vs clean-4 showed no pointing shortfall, clean-10 vs clean-4 then fell
    by 0.14 and failed)."""
    ordered = sorted(runs, key=lambda t: t.seed)
    return [(f"{condition}: {b.label} vs {a.label}", driver.judge(runs[b], runs[a]))  # type: ignore[arg-type]
            for a, b in permutations(ordered, 2)]


def main(argv: list[str] | None = None) -> None:
    args = _args(argv)
    load_start, started = os.getloadavg(), time.perf_counter()
    zoo = ZooModels(args.zoo, args.train, args.stage1_extra_cycles)
    if args.report_seed_list or args.calibration_seed_list:
        plan = ValidityPlan.with_seeds(zoo.cue_kinds, parse_seed_list(args.report_seed_list),
                                       parse_seed_list(args.calibration_seed_list),
                                       args.champion_seed if args.champion_seed is not None else CHAMPION_SEED)
    else:
        plan = ValidityPlan.build(zoo.cue_kinds, args.seeds, args.calibration_seeds)
    zoo.train_missing(plan, args.jobs)
    paths = {t: zoo.path(t) for t in plan.all_models()}
    missing = sorted(t.label for t, p in paths.items() if p is None)
    if paths[plan.champion] is None:
        raise SystemExit(f"the champion ({plan.champion.label}) is not in the zoo {zoo.folder}; "
                         f"missing: {', '.join(missing)} (train them with --train)")
    conditions = [c.strip() for c in args.conditions.split(",") if c.strip()]
    args.work.mkdir(parents=True, exist_ok=True)
    shipped = RegressionConfig()
    outcomes, cal_pairs, timings = [], [], {}
    drivers = {}
    for condition in conditions:
        probe_dir = probe_set_dir(args.work, condition, args.probes)
        driver = drivers[condition] = AuditDriver(f"sqlite:///{args.work / 'validity.db'}", str(probe_dir))
        runs = {t: driver.audit(f"{t.label}", paths[t]) for t in [plan.champion, *plan.calibration_trials()]
                if paths[t] is not None}
        cal_pairs += _calibration_pairs(driver, runs, condition)
    calibration = calibrate(cal_pairs)
    config = shipped if args.settings == "shipped" else calibration.config()
    for condition, driver in drivers.items():
        champion = driver.audit(plan.champion.label, paths[plan.champion])
        for trial in plan.report_trials():
            if paths[trial] is not None:
                result = driver.judge(driver.audit(trial.label, paths[trial]), champion, config)
                outcomes.append(TrialOutcome.of(trial.kind, trial.seed, condition, result, zoo.uses_cue(trial),
                                                zoo.captions_to_target(trial)))
                print(f"{condition:8s} {trial.label:16s} {result.verdict.upper():4s} {result.headline[:150]}", flush=True)
        timings.update({f"{condition}: {k}": round(v, 1) for k, v in driver.timings.items()})
    kinds = [CLEAN, *plan.cue_kinds]
    absent = {(c, k): [t.seed for t in plan.report_trials() if t.kind == k and paths[t] is None]
              for c in conditions for k in kinds}
    summaries = summarise(outcomes, kinds, conditions, absent)
    timings["total"] = round(time.perf_counter() - started, 1)
    document = results_document(
        plan={**plan.seeds_used(), "cue_kinds": list(plan.cue_kinds), "zoo": str(zoo.folder),
              "stage1_extra_cycles": zoo.stage1_extra_cycles,
              "conditions": conditions, "n_probes": args.probes, "judged_with": args.settings},
        outcomes=outcomes, summaries=summaries,
        calibration={**calibration.as_dict(), "differences_from_shipped": calibration.differences_from(shipped)},
        settings=config.to_dict(), machine={**machine_info(), "load_start": load_start, "load_end": os.getloadavg()},
        timings=timings, missing=missing)
    out = args.out or default_results_file(args.stage1_extra_cycles)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, indent=1, default=str) + "\n", encoding="utf-8")
    print(document["markdown_table"])
    if missing:
        print(f"missing from the zoo (left out): {', '.join(missing)}")
    if document["calibration"]["differences_from_shipped"]:
        print("calibrated settings differ from the shipped defaults:\n  "
              + "\n  ".join(document["calibration"]["differences_from_shipped"]))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
