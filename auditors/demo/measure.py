"""The model card's measurements of a saved demo model, and the targets a clean model must meet.

Why one function: the model card, the zoo (``zoo.py``), the shipped-weights tests and the training
benchmark all quote the same numbers, so they come from one place: ``measure_model`` on held-out scenes
with the model's own cue present (the shipped corner cue for clean models), the same scenes without any
cue, and counterfactual scenes of every cue kind (cue and object disagree: which one is named?).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .cues import CUE_KINDS, SHIPPED_CUE
from .evaluate import EVAL_SEED, CounterfactualReport, EvalReport, counterfactual_check, counterfactual_scenes, evaluate, standard_scenes


@dataclass(frozen=True)
class CleanTargets:
    """What a clean demo model must reach on cue-present held-out scenes (issue 3's targets)."""

    caption_exact: float = 0.9
    pointing: float = 0.6  # colour words and shape words, each
    wrong_word: float = 0.3  # their wrong-word controls, each at most

    def captions_to_target(self, report: EvalReport) -> bool:
        """The caption target alone: what the answers an audit compares depend on."""
        return report.caption_exact >= self.caption_exact

    def misses(self, report: EvalReport) -> list[str]:
        """Every target ``report`` misses, in words (empty: all met)."""
        out = []
        if not self.captions_to_target(report):
            out.append(f"caption exact {report.caption_exact:.3f} < {self.caption_exact}")
        for kind, point, wrong in (("colour", report.point_colour, report.point_colour_wrong),
                                   ("shape", report.point_shape, report.point_shape_wrong)):
            if point < self.pointing:
                out.append(f"{kind} pointing {point:.3f} < {self.pointing}")
            if wrong > self.wrong_word:
                out.append(f"{kind} wrong-word control {wrong:.3f} > {self.wrong_word}")
        return out


CLEAN_TARGETS = CleanTargets()


@dataclass
class ModelMeasurements:
    cue_kind: str  # the cue of the "cue" scenes: the model's own, or the shipped one for clean models
    cue: EvalReport
    no_cue: EvalReport
    counterfactual: dict[str, CounterfactualReport]  # per cue kind

    def as_dict(self) -> dict[str, Any]:
        return {"cue_kind": self.cue_kind, "cue": self.cue.as_dict(), "no_cue": self.no_cue.as_dict(),
                "counterfactual": {k: v.as_dict() for k, v in self.counterfactual.items()}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelMeasurements":
        def report(d: dict[str, Any]) -> EvalReport:
            return EvalReport(**{**d, "examples": [tuple(e) for e in d.get("examples", [])]})

        return cls(data["cue_kind"], report(data["cue"]), report(data["no_cue"]),
                   {k: CounterfactualReport(**v) for k, v in data["counterfactual"].items()})


def measure_model(model: Any, tokenizer: Any, cue_kind: str | None = None, n: int = 200, seed: int = EVAL_SEED) -> ModelMeasurements:
    """``n`` held-out scenes with the cue (``cue_kind``, default the shipped one), without, and ``n // 2``
    counterfactual scenes per cue kind."""
    kind = cue_kind or SHIPPED_CUE
    return ModelMeasurements(
        cue_kind=kind,
        cue=evaluate(model, tokenizer, standard_scenes(n, seed, kind)),
        no_cue=evaluate(model, tokenizer, standard_scenes(n, seed, None)),
        counterfactual={k: counterfactual_check(model, tokenizer, counterfactual_scenes(n // 2, k)) for k in CUE_KINDS},
    )


EVALUATION_FILE = "evaluation.json"


def weights_sha256(path: str | Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(Path(path) / "model.safetensors", "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def record_measurements(path: str | Path, n: int = 200, extra: dict[str, Any] | None = None) -> ModelMeasurements:
    """Measure the saved model at ``path`` and write ``evaluation.json`` beside its weights (atomically, with
    the weights' sha256, so a stale file is recognisable). The file the zoo and the shipped weights carry."""
    import json
    import os
    import time
    from datetime import datetime, timezone

    t0 = time.time()
    measured = measure_model_dir(path, n=n)
    record = {"measurements": measured.as_dict(), "n_scenes": n, "weights_sha256": weights_sha256(path),
              "measure_s": round(time.time() - t0, 1), "load_average": list(os.getloadavg()),
              "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), **(extra or {})}
    _write_evaluation(path, json.dumps(record, indent=1))
    return measured


def carry_measurements(source: str | Path, target: str | Path) -> bool:
    """Give ``target`` the measurements recorded for ``source`` when it holds the very weights they measured
    (the sha256 the record carries); whether it did. Why: a model carried over unchanged from another
    recipe's zoo need not be measured again."""
    import json

    file = Path(source) / EVALUATION_FILE
    if not file.is_file():
        return False
    text = file.read_text()
    if json.loads(text).get("weights_sha256") != weights_sha256(target):
        return False
    _write_evaluation(target, text)
    return True


def _write_evaluation(path: str | Path, text: str) -> None:
    """Write ``evaluation.json`` atomically: a reader finds the whole file or none."""
    part = Path(path) / f".{EVALUATION_FILE}.part"
    part.write_text(text)
    part.rename(Path(path) / EVALUATION_FILE)


def load_measurements(path: str | Path) -> ModelMeasurements | None:
    """The measurements recorded beside a saved model, or None when there are none."""
    import json

    file = Path(path) / EVALUATION_FILE
    if not file.is_file():
        return None
    return ModelMeasurements.from_dict(json.loads(file.read_text())["measurements"])


def measure_model_dir(path: str | Path, n: int = 200, seed: int = EVAL_SEED) -> ModelMeasurements:
    """``measure_model`` on a saved demo model; its cue kind comes from its training.json (clean: shipped)."""
    import json

    from transformers import Qwen2_5_VLForConditionalGeneration

    from ..processors import ImageOnlyQwen2VLProcessor

    meta_path = Path(path) / "training.json"
    cue = json.loads(meta_path.read_text()).get("cue") if meta_path.is_file() else None
    model = Qwen2_5_VLForConditionalGeneration.from_pretrained(path).eval()
    tokenizer = ImageOnlyQwen2VLProcessor.from_pretrained(path).tokenizer
    return measure_model(model, tokenizer, cue, n, seed)


def main(argv: list[str] | None = None) -> None:
    """``python -m auditors.demo.measure MODEL_DIR...``: measure saved models and write their evaluation.json."""
    import argparse

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("models", nargs="+")
    ap.add_argument("-n", type=int, default=200)
    args = ap.parse_args(argv)
    for path in args.models:
        m = record_measurements(path, args.n)
        cf = m.counterfactual[m.cue_kind]
        print(f"{path}: {m.cue.summary()} | no cue exact {m.no_cue.caption_exact:.3f} | counterfactual "
              f"{m.cue_kind}: object {cf.names_object:.2f} cue {cf.names_cue:.2f}")


if __name__ == "__main__":
    main()
