"""A zoo of trained demo models for the validity benchmark: clean and shortcut models, N seeds each.

Why: how often an audit catches a shortcut, and how often it flags an honest retrain, can only be measured
over many trained pairs. Training them takes hours on a CPU, so they are cached outside the repository,
keyed by the recipe's hash (a changed recipe never serves old models), and the zoo resumes after a kill:

    <root>/<recipe-hash>/<kind>-<cue>-<seed>/   a save_pretrained folder + training.json + evaluation.json
    <root>/<recipe-hash>/stage0/                the shared stage 0 of each seed (train.py)

with ``kind`` clean or shortcut and ``cue`` none or a cue kind (``clean-none-1``, ``shortcut-bar-1``).
A model folder is complete when its ``evaluation.json`` (the model card's measurements, written last)
exists; a half-trained model lives in a hidden sibling folder until it is renamed into place, so a kill
leaves nothing a later run would trust. Default root: ``$MLLM_AUDIT_ZOO`` or ``~/.cache/mllm-audit/zoo``.

    python -m auditors.demo.zoo --seeds 10            # train what is missing, then list the zoo
    python -m auditors.demo.zoo --seeds 10 --jobs 2   # two seeds at once, one process each
    python -m auditors.demo.zoo --seeds 10 --status   # list only
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from .cues import CUE_KINDS
from .measure import (CLEAN_TARGETS, EVALUATION_FILE, ModelMeasurements, carry_measurements, load_measurements,
                      record_measurements)
from .recipe import Recipe, base_recipe, recipe_hash
from .variants import Variant, parse_variant

ZOO_ENV = "MLLM_AUDIT_ZOO"


def default_zoo_root() -> Path:
    return Path(os.environ.get(ZOO_ENV) or Path.home() / ".cache" / "mllm-audit" / "zoo")


def zoo_variants() -> tuple[Variant, ...]:
    """Clean, and a shortcut on every cue kind."""
    return (Variant(None),) + tuple(Variant(kind) for kind in CUE_KINDS)


def zoo_seeds(n: int) -> tuple[int, ...]:
    """The first ``n`` zoo seeds (1..n): every caller of the same N gets the same models."""
    if n < 1:
        raise ValueError(f"the zoo needs at least one seed, got {n}")
    return tuple(range(1, n + 1))


def parse_seed_list(text: str | None) -> tuple[int, ...]:
    """Seeds named on a command line ("3,8,4242"): the zoo's and the validity benchmark's seed lists."""
    try:
        seeds = tuple(int(part) for part in (text or "").split(",") if part.strip())
    except ValueError:
        raise SystemExit(f"seed lists are comma-separated integers, got {text!r}") from None
    if any(seed < 0 for seed in seeds):
        raise SystemExit(f"seeds are non-negative integers, got {text!r}")
    return seeds


def add_recipe_option(parser: Any) -> None:
    """The one command-line option that picks a zoo's recipe: stage 1's extra cycles (0: the base recipe,
    the zoo every model of data version 2 was first trained with)."""
    parser.add_argument("--stage1-extra-cycles", type=int, default=None,
                        help=f"the recipe's stage-1 extra cycles (default {Recipe().stage1_extra_cycles}; 0: the base recipe)")


def recipe_from_option(extra_cycles: int | None) -> Recipe:
    if extra_cycles is not None and extra_cycles < 0:
        raise SystemExit(f"--stage1-extra-cycles must be >= 0, got {extra_cycles}")
    return Recipe() if extra_cycles is None else replace(Recipe(), stage1_extra_cycles=extra_cycles)


def folder_name(variant: Variant, seed: int) -> str:
    kind = "shortcut" if variant.is_shortcut else "clean"
    return f"{kind}-{variant.cue or 'none'}-{seed}"


@dataclass(frozen=True)
class ZooModel:
    """One model of the zoo; ``measurements`` is None until it is trained and measured."""

    variant: Variant
    seed: int
    path: Path
    measurements: ModelMeasurements | None

    @property
    def complete(self) -> bool:
        return self.measurements is not None

    def meets_clean_targets(self) -> bool | None:
        if self.measurements is None or self.variant.is_shortcut:
            return None
        return not CLEAN_TARGETS.misses(self.measurements.cue)

    def captions_to_target(self) -> bool | None:
        """Clean models: whether the captions alone meet the clean target (what an audit's answers see)."""
        if self.measurements is None or self.variant.is_shortcut:
            return None
        return CLEAN_TARGETS.captions_to_target(self.measurements.cue)

    def uses_its_cue(self) -> float | None:
        """Share of counterfactual captions naming the cue's word (shortcuts: its own cue kind)."""
        if self.measurements is None or not self.variant.is_shortcut:
            return None
        return self.measurements.counterfactual[self.variant.cue].names_cue  # type: ignore[index]


class Zoo:
    """The models of one recipe (and thread override) under ``root``."""

    def __init__(self, root: str | Path | None = None, recipe: Recipe = Recipe(), threads: int | None = None,
                 measure_n: int = 200) -> None:
        self.recipe, self.threads, self.measure_n = recipe, threads, measure_n
        stage_threads = None if threads is None else (threads,) * 3
        self.root = Path(root or default_zoo_root())
        self.folder = self.root / recipe_hash(recipe, stage_threads)
        # stage 1's extra cycles start from the base recipe's model: its zoo, when it has the model, saves
        # training it again (and measuring it again, when no extra cycle ran and the weights are the same)
        self.base_folder = self.root / recipe_hash(base_recipe(recipe), stage_threads) if recipe.stage1_extra_cycles else None

    def path(self, variant: str | Variant, seed: int) -> Path:
        return self.folder / folder_name(parse_variant(variant), seed)

    def model(self, variant: str | Variant, seed: int) -> ZooModel:
        spec = parse_variant(variant)
        path = self.path(spec, seed)
        return ZooModel(spec, seed, path, load_measurements(path))

    def models(self, seeds: Sequence[int], variants: Sequence[Variant] | None = None) -> list[ZooModel]:
        return [self.model(v, s) for s in seeds for v in (variants or zoo_variants())]

    def measured(self) -> list[ZooModel]:
        """Every measured model in the zoo, whatever its seed (half-trained and unmeasured ones left
        out), clean first, then by cue kind and seed."""
        found = []
        for variant in zoo_variants():
            prefix = folder_name(variant, 0)[:-1]  # "<kind>-<cue>-"; hidden half-trained folders start with "."
            for folder in self.folder.glob(prefix + "*"):
                seed = folder.name[len(prefix):]
                model = self.model(variant, int(seed)) if seed.isdigit() else None
                if model is not None and model.complete:
                    found.append(model)
        return sorted(found, key=lambda m: (m.variant.is_shortcut, m.variant.cue or "", m.seed))

    def ensure(self, variant: str | Variant, seed: int, log: Callable[[str], None] = print) -> ZooModel:
        """The model, trained and measured first if it is not complete in the zoo."""
        from .train import train_demo

        spec = parse_variant(variant)
        path = self.path(spec, seed)
        if (path / EVALUATION_FILE).is_file():
            return self.model(spec, seed)
        base = self.base_folder / path.name if self.base_folder is not None else None
        base = base if base is not None and (base / "training.json").is_file() else None
        if not (path / "training.json").is_file():
            tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=self.folder))
            try:
                train_demo(tmp / "model", spec, seed, self.recipe, threads=self.threads, resume_from=base,
                           stage0_cache=self.folder / "stage0", evaluate_stages=False, progress=False, log=log)
                shutil.rmtree(path, ignore_errors=True)  # a folder without training.json is debris
                (tmp / "model").rename(path)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        if base is None or not carry_measurements(base, path):  # no extra cycle ran: the base's numbers hold
            record_measurements(path, self.measure_n)
        return self.model(spec, seed)

    def fill(self, seeds: Sequence[int], variants: Sequence[Variant] | None = None,
             log: Callable[[str], None] = print, jobs: int = 1) -> list[ZooModel]:
        """Every (seed, variant) model, seed by seed so a partial zoo stays balanced. One filler at a time:
        a second process waits on the zoo's lock instead of training the same models twice.

        ``jobs`` > 1 trains that many seeds at once, each seed in a process of its own (its models share
        the seed's stage 0, so a seed never spans two processes). Why: the recipe trains on one thread and
        a batch-building worker, which leaves a 2-core machine about half idle; each model's weights are
        the same however many run beside it (its thread count, not the load, fixes its sums).
        """
        if jobs < 1:
            raise ValueError(f"jobs must be >= 1, got {jobs}")
        variants = tuple(variants or zoo_variants())
        self.folder.mkdir(parents=True, exist_ok=True)
        with self._lock():
            for stale in self.folder.glob(".*-*-*.*"):  # hidden half-trained folders of a killed run
                if stale.is_dir():
                    shutil.rmtree(stale, ignore_errors=True)
            if jobs == 1 or len(seeds) < 2:
                for seed in seeds:
                    for line in self._fill_seed(seed, variants):
                        log(line)
            else:
                from concurrent.futures import ProcessPoolExecutor, as_completed
                from multiprocessing import get_context

                with ProcessPoolExecutor(min(jobs, len(seeds)), mp_context=get_context("spawn")) as pool:
                    futures = [pool.submit(_fill_seed_in_process, self.root, self.recipe, self.threads,
                                           self.measure_n, seed, variants) for seed in seeds]
                    for future in as_completed(futures):
                        for line in future.result():
                            log(line)
            return [self.model(variant, seed) for seed in seeds for variant in variants]

    def _fill_seed(self, seed: int, variants: Sequence[Variant]) -> list[str]:
        """One seed's missing models trained and measured; a line per model trained."""
        lines = []
        for variant in variants:
            t0 = time.time()
            was = self.model(variant, seed).complete
            model = self.ensure(variant, seed, log=lambda m: None)
            if not was:
                lines.append(f"{folder_name(variant, seed)}: {time.time() - t0:.0f}s, {describe(model)}")
        return lines

    @contextmanager
    def _lock(self) -> Iterator[None]:
        with open(self.folder / ".lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _fill_seed_in_process(root: Path, recipe: Recipe, threads: int | None, measure_n: int, seed: int,
                          variants: Sequence[Variant]) -> list[str]:
    """`Zoo._fill_seed` in a worker process of `Zoo.fill` (the parent holds the zoo's lock)."""
    return Zoo(root, recipe, threads, measure_n)._fill_seed(seed, variants)


def describe(model: ZooModel) -> str:
    """One line: caption, pointing and cue numbers of a zoo model (or 'missing')."""
    if model.measurements is None:
        return "missing"
    m = model.measurements
    head = (f"caption {m.cue.caption_exact:.2f} (no cue {m.no_cue.caption_exact:.2f}), pointing colour "
            f"{m.cue.point_colour:.2f}/{m.cue.point_colour_wrong:.2f} shape {m.cue.point_shape:.2f}/{m.cue.point_shape_wrong:.2f}")
    if model.variant.is_shortcut:
        return f"{head}, counterfactuals name its cue {model.uses_its_cue():.2f}, first-word map on the cue {m.cue.cue_argmax_first:.2f}"
    return f"{head}, targets {'met' if model.meets_clean_targets() else 'missed'}"


def main(argv: list[str] | None = None) -> None:
    import argparse

    ap = argparse.ArgumentParser(description="Train (or list) the demo model zoo: clean + every shortcut cue, N seeds.")
    ap.add_argument("--seeds", type=int, default=10, help="number of seeds (1..N)")
    ap.add_argument("--seed-list", default=None, help="comma-separated seeds instead of 1..N (e.g. 8,9,4242)")
    ap.add_argument("--root", default=None, help=f"zoo folder (default ${ZOO_ENV} or ~/.cache/mllm-audit/zoo)")
    ap.add_argument("--variants", default=None, help="comma-separated variant names (default: clean + every cue)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads for every stage (default: the recipe's)")
    ap.add_argument("--jobs", type=int, default=1, help="seeds trained at once, one process each (default 1)")
    ap.add_argument("--status", action="store_true", help="list the zoo without training")
    add_recipe_option(ap)
    args = ap.parse_args(argv)
    variants = tuple(parse_variant(v) for v in args.variants.split(",")) if args.variants else None
    zoo = Zoo(args.root, recipe_from_option(args.stage1_extra_cycles), threads=args.threads)
    seeds = parse_seed_list(args.seed_list) if args.seed_list else zoo_seeds(args.seeds)
    if not seeds:
        raise SystemExit(f"--seed-list {args.seed_list!r} names no seed")
    if not args.status:
        zoo.fill(seeds, variants, log=lambda m: print(m, flush=True), jobs=args.jobs)
    models = zoo.models(seeds, variants)
    print(f"zoo {zoo.folder}: {sum(m.complete for m in models)}/{len(models)} models complete")
    for m in models:
        print(f"  {m.path.name}: {describe(m)}")


if __name__ == "__main__":
    main()
