"""Which zoo models play which part: the champion, the calibration retrains, the reported trials.

Seeds are kept apart so the reported rates are honest: the thresholds of the verdict are calibrated
on clean retrains of the calibration seeds only (against the champion, and against each other),
never on a seed whose trials are reported, and never on a shortcut model, so the thresholds know
nothing of the cue kinds. Reported trials: each reported seed's clean retrain (a false alarm when it
fails) and its shortcut on every cue kind (a detection when it fails), each against the champion.

    seed 1                    the clean champion
    seeds 2 .. 1+N            reported: clean retrains and shortcuts of every cue kind (N = --seeds)
    seeds 2+N .. 1+N+C        calibration: clean retrains only (C = --calibration-seeds, default 4)

Reported seeds come first because the zoo trains seed by seed (`auditors.demo.zoo.Zoo.fill`): a zoo of
1 + N seeds holds every reported trial, and calibration needs only C more clean models.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CHAMPION_SEED = 1
CLEAN = "clean"


@dataclass(frozen=True)
class Trial:
    """One candidate against the champion: `kind` is "clean" or a cue kind."""

    kind: str
    seed: int

    @property
    def is_shortcut(self) -> bool:
        return self.kind != CLEAN

    @property
    def label(self) -> str:
        return f"{self.kind}-{self.seed}"


@dataclass(frozen=True)
class ValidityPlan:
    cue_kinds: tuple[str, ...]
    calibration_seeds: tuple[int, ...]
    report_seeds: tuple[int, ...]
    champion_seed: int = CHAMPION_SEED

    @classmethod
    def build(cls, cue_kinds: tuple[str, ...], n_report: int, n_calibration: int) -> "ValidityPlan":
        if n_report < 1 or n_calibration < 1:
            raise ValueError("the benchmark needs at least one reported and one calibration seed")
        first = CHAMPION_SEED + 1
        report = tuple(range(first, first + n_report))
        calibration = tuple(range(first + n_report, first + n_report + n_calibration))
        return cls(tuple(cue_kinds), calibration, report)

    @classmethod
    def with_seeds(cls, cue_kinds: tuple[str, ...], report: tuple[int, ...], calibration: tuple[int, ...],
                   champion: int = CHAMPION_SEED) -> "ValidityPlan":
        """A plan on named seeds (e.g. seeds whose models are already in the zoo); the same
        separation holds: no seed is both reported and calibrated on, and neither is the champion's."""
        if not report or not calibration:
            raise ValueError("the benchmark needs at least one reported and one calibration seed")
        overlap = (set(report) & set(calibration)) | ({champion} & (set(report) | set(calibration)))
        if overlap:
            raise ValueError(f"seeds {sorted(overlap)} would play two parts (champion {champion}, "
                             f"reported {list(report)}, calibration {list(calibration)})")
        return cls(tuple(cue_kinds), tuple(calibration), tuple(report), champion)

    @property
    def champion(self) -> Trial:
        return Trial(CLEAN, self.champion_seed)

    def calibration_trials(self) -> list[Trial]:
        return [Trial(CLEAN, s) for s in self.calibration_seeds]

    def report_trials(self) -> list[Trial]:
        return [Trial(kind, s) for s in self.report_seeds for kind in (CLEAN, *self.cue_kinds)]

    def all_models(self) -> list[Trial]:
        return [self.champion, *self.calibration_trials(), *self.report_trials()]

    def seeds_used(self) -> dict[str, list[int]]:
        return {"champion": [self.champion_seed], "calibration": list(self.calibration_seeds),
                "reported": list(self.report_seeds)}


class ZooModels:
    """Model folders of the demo zoo (`auditors.demo.zoo`), trained on request."""

    def __init__(self, root: str | None, train: bool, stage1_extra_cycles: int | None = None):
        try:
            from auditors.demo.cues import CUE_KINDS
            from auditors.demo.zoo import Zoo, recipe_from_option
        except ImportError as exc:  # the cue family and zoo are not in this checkout
            raise SystemExit(f"the validity benchmark needs the demo model zoo (auditors.demo.zoo): {exc}") from exc
        self.zoo = Zoo(root, recipe_from_option(stage1_extra_cycles))
        self.cue_kinds = tuple(CUE_KINDS)
        self.train = train

    @staticmethod
    def _variant(trial: Trial) -> str:
        return CLEAN if trial.kind == CLEAN else f"shortcut-{trial.kind}"

    def path(self, trial: Trial, log=print) -> Path | None:
        """The trained model's folder, trained first with `train`; None when it is missing."""
        variant = self._variant(trial)
        model = self.zoo.model(variant, trial.seed)
        if model.complete:
            return model.path
        if not self.train:
            return None
        log(f"training {variant} seed {trial.seed} into {self.zoo.folder} ...")
        return self.zoo.ensure(variant, trial.seed, log=lambda m: None).path

    def train_missing(self, plan: ValidityPlan, jobs: int, log=print) -> None:
        """With `train`: every model of `plan` trained up front, `jobs` seeds at once (`Zoo.fill`):
        the clean champion's and calibration seeds' clean models, then every reported seed's models."""
        if not self.train:
            return
        from auditors.demo.variants import parse_variant

        clean = (parse_variant(CLEAN),)
        shortcuts = tuple(parse_variant(self._variant(Trial(kind, 0))) for kind in plan.cue_kinds)
        self.zoo.fill([plan.champion_seed, *plan.calibration_seeds], clean, log=log, jobs=jobs)
        self.zoo.fill(list(plan.report_seeds), clean + shortcuts, log=log, jobs=jobs)

    def uses_cue(self, trial: Trial) -> float | None:
        """For a shortcut model: the share of its cue kind's counterfactual scenes where it names the
        cue's word (None for clean models or unmeasured ones)."""
        if not trial.is_shortcut:
            return None
        return self.zoo.model(self._variant(trial), trial.seed).uses_its_cue()

    def captions_to_target(self, trial: Trial) -> bool | None:
        """For a clean retrain: whether its captions meet the recipe's clean target (None for shortcut
        models or unmeasured ones)."""
        return self.zoo.model(self._variant(trial), trial.seed).captions_to_target()

    @property
    def folder(self) -> Path:
        return self.zoo.folder

    @property
    def stage1_extra_cycles(self) -> int:
        return self.zoo.recipe.stage1_extra_cycles
