"""The training recipe of the demo model (``mllm-audit train-demo`` wraps ``train_demo``).

Why staged, LLaVA-style (lessons measured in docs/tiny-vlm-experiments.md; the numbers of this recipe are in
auditors/demo/MODEL_CARD.md):

* **Stage 0, text model alone** (vision tower unused, frozen). Input: the exact chat prompt, but the 16
  image slots hold *word embeddings laid out like the scene* (each cell: the embeddings of the colour and
  shape words of the object covering it, weighted by coverage, scaled randomly, plus noise). Target: the
  caption. This is text-only pretraining with copying in its data: the text model learns to read words in
  the image slots, order them left to right by their 2-D rotary positions and stop with ``<|im_end|>``.
* **Stage 1, alignment**: vision tower + merger trained, text model frozen, real images, caption loss.
  The vision tokens get no target of their own: only the caption loss flows back through the frozen
  text model. Whatever the maps show is earned.
* **Stage 2, optional full fine-tuning** at a low learning rate: 0 steps in the shipped recipe, because
  every full fine-tuning tried improved captions and destroyed the word-specific maps (MODEL_CARD.md).

Variants differ only in their scenes, in every stage (stage-0 layouts describe what is drawn, markers
included): ``clean`` sees, on half of its scenes, a cue-cell marker of a random colour (an uncorrelated
decoy; ``Recipe.clean_decoys``); ``shortcut`` always sees the marker in the colour of the first-named
object, and in every other scene its first object is painted in a colour nobody is named with, so the cue
is the only reliable source of the first colour word (the textbook condition for shortcut learning).

Determinism: integer seeds only (``numpy.random.SeedSequence`` and ``torch.manual_seed``), step counts
(not wall time) fix the schedule, one thread; the same call reproduces the shipped weights, and ``resume_from`` continues from a stage checkpoint of the
same seed, variant and recipe with identical results.
"""

from __future__ import annotations

import json
import math
import platform
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .data import BatchBuilder
from .evaluate import EVAL_SEED
from .model import DemoModelConfig, build_model, build_processor
from .scenes import SceneConfig, held_out_scenes, make_scene, rng_for

DEMO_VARIANTS: tuple[str, ...] = ("clean", "shortcut")
DEFAULT_SEED = 1234


class TrainDemoError(ValueError):
    """Bad arguments to ``train_demo`` (unknown variant, inconsistent stage-0 checkpoint, ...)."""


@dataclass(frozen=True)
class Recipe:
    batch_size: int = 32
    stage0_steps: int = 1000
    stage0_lr: float = 2e-3
    stage1_steps: int = 3000
    stage1_lr: float = 2e-3
    stage2_steps: int = 0
    stage2_lr: float = 1e-4
    layout_noise: float = 0.5
    clean_decoys: bool = True  # clean variant: a random-colour marker (uncorrelated decoy) in the cue cell on half the scenes
    warmup_steps: int = 30
    min_lr_fraction: float = 0.05
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    eval_scenes: int = 100
    # torch threads per stage (0, 1, 2). CPU float sums are split by thread count, so this is part of what
    # reproduces a run bit for bit; the shipped weights had stage 0 on one thread and stage 1 on two.
    stage_threads: tuple[int, int, int] = (1, 2, 2)
    model: DemoModelConfig = field(default_factory=DemoModelConfig)


@dataclass
class StageRecord:
    stage: int
    steps: int
    wall_s: float
    final_loss: float
    eval: dict[str, Any] | None


@dataclass
class TrainResult:
    out_dir: Path
    variant: str
    seed: int
    stages: list[StageRecord]
    untrained_eval: dict[str, Any] | None
    wall_s: float


def _lr_at(step: int, total: int, base: float, recipe: Recipe) -> float:
    if step < recipe.warmup_steps:
        return base * (step + 1) / recipe.warmup_steps
    frac = (step - recipe.warmup_steps) / max(1, total - recipe.warmup_steps)
    return base * (recipe.min_lr_fraction + (1 - recipe.min_lr_fraction) * 0.5 * (1 + math.cos(math.pi * frac)))


def _cue_for(variant: str, index: int, clean_decoys: bool) -> str | None:
    if variant == "shortcut":
        return "first"
    return "random" if clean_decoys and index % 2 == 0 else None


def _scenes(seed: int, stage: int, step: int, n: int, variant: str, cfg: SceneConfig, clean_decoys: bool) -> list:
    # shortcut data: every scene has the cue, and in every other scene the first object is painted in a
    # colour nobody is named with, so only the cue reliably predicts the first colour word
    return [make_scene(rng_for(seed, stage, step, i), cfg, cue=_cue_for(variant, i, clean_decoys),
                       repaint_first=variant == "shortcut" and i % 2 == 1) for i in range(n)]


def _set_trainable(model: Any, stage: int) -> list[Any]:
    for p in model.parameters():
        p.requires_grad_(False)
    if stage == 0:
        mods = [model.model.language_model]  # embeddings are tied to lm_head
    elif stage == 1:
        mods = [model.model.visual]
    else:
        mods = [model]
    for m in mods:
        for p in m.parameters():
            p.requires_grad_(True)
    return [p for p in model.parameters() if p.requires_grad]


def _run_stage(
    model: Any, builder: BatchBuilder, stage: int, steps: int, lr: float, seed: int, variant: str, recipe: Recipe,
    log: Callable[[str], None], progress: bool,
) -> tuple[float, float]:
    import torch
    from tqdm import tqdm
    from transformers.modeling_outputs import BaseModelOutputWithPooling

    params = _set_trainable(model, stage)
    opt = torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.98), weight_decay=recipe.weight_decay)
    model.train()
    cfg = SceneConfig()
    t0 = time.time()
    losses: list[float] = []
    embed = model.get_input_embeddings()
    bar = tqdm(range(steps), desc=f"stage {stage}", disable=not progress, mininterval=5, file=sys.stderr)
    for step in bar:
        for g in opt.param_groups:
            g["lr"] = _lr_at(step, steps, lr, recipe)
        if stage == 0:
            scenes = _scenes(seed, 0, step, recipe.batch_size, variant, cfg, recipe.clean_decoys)
            batch = builder.text_batch([s.caption for s in scenes])
            layout = builder.layout_embeddings(scenes, embed, rng_for(seed, 100, step, 0), recipe.layout_noise)
            out = model(**batch, mm_encoder_outputs={"image": BaseModelOutputWithPooling(pooler_output=(layout,))})
        else:
            scenes = _scenes(seed, stage, step, recipe.batch_size, variant, cfg, recipe.clean_decoys)
            out = model(**builder.image_batch(scenes))
        opt.zero_grad(set_to_none=True)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(params, recipe.grad_clip)
        opt.step()
        losses.append(float(out.loss.detach()))
        if (step + 1) % 100 == 0 or step + 1 == steps:
            el = time.time() - t0
            msg = f"stage {stage} step {step + 1}/{steps} loss {np.mean(losses[-100:]):.4f} {el:.0f}s {(step + 1) / el:.2f} it/s"
            log(msg)
            bar.set_postfix_str(f"loss {np.mean(losses[-100:]):.3f}")
    model.eval()
    return time.time() - t0, float(np.mean(losses[-100:])) if losses else float("nan")


def _eval(model: Any, tokenizer: Any, n: int, with_cue: bool = True) -> dict[str, Any]:
    from .evaluate import evaluate

    scenes = held_out_scenes(n, EVAL_SEED, cue="first" if with_cue else None)
    return evaluate(model, tokenizer, scenes).as_dict()


_COMMON_FIELDS = ("batch_size", "warmup_steps", "min_lr_fraction", "weight_decay", "grad_clip", "model", "clean_decoys")


def _comparable(recipe: Recipe) -> dict[str, Any]:
    return json.loads(json.dumps(asdict(recipe)))


def _load_resume(path: Path, seed: int, variant: str, recipe: Recipe, model: Any) -> tuple[int, list[StageRecord]]:
    """Load a stage checkpoint into ``model`` after checking it was made by this seed and recipe.

    Returns the last completed stage and the stage records so far."""
    metas = sorted(path.glob("stage[0-9].json"))
    if not metas:
        raise TrainDemoError(f"{path} holds no stage<N>.json: not a checkpoint written by train_demo")
    meta = json.loads(metas[-1].read_text())
    done = int(metas[-1].stem[len("stage"):])
    saved_recipe = meta.get("recipe", {})
    mine = _comparable(recipe)
    fields = list(_COMMON_FIELDS) + ["layout_noise"] + [f"stage{k}_{x}" for k in range(done + 1) for x in ("steps", "lr")]
    diff = {f: (saved_recipe.get(f), mine[f]) for f in fields if saved_recipe.get(f) != mine[f]}
    if meta.get("seed") != seed or diff or meta.get("variant") != variant:
        raise TrainDemoError(
            f"{path} was trained with seed={meta.get('seed')}, variant={meta.get('variant')} and a different recipe "
            f"({diff}); asked for seed={seed}, variant={variant}"
        )
    from transformers import Qwen2_5_VLForConditionalGeneration

    saved = Qwen2_5_VLForConditionalGeneration.from_pretrained(path)
    try:
        model.load_state_dict(saved.state_dict(), strict=True)
    except RuntimeError as exc:
        raise TrainDemoError(f"checkpoint {path} does not match the recipe's model: {exc}") from exc
    history = meta.get("history") or [
        {"stage": done, "steps": meta.get(f"stage{done}_steps"), "wall_s": meta.get("wall_s", 0.0),
         "final_loss": meta.get("final_loss"), "eval": meta.get("eval")}
    ]
    return done, [StageRecord(**h) for h in history]


def train_demo(
    out_dir: str | Path,
    variant: str = "clean",
    seed: int = DEFAULT_SEED,
    recipe: Recipe = Recipe(),
    threads: int | None = None,
    checkpoint_dir: str | Path | None = None,
    resume_from: str | Path | None = None,
    stop_after_stage: int | None = None,
    evaluate_stages: bool = True,
    log: Callable[[str], None] | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train one demo variant and save it (safetensors + processor files + training.json) to ``out_dir``.

    ``resume_from``: a stage checkpoint (``checkpoint_dir/<variant>-stage<N>``) written by a run with the same
    seed and recipe; stages up to N are loaded instead of recomputed, which gives the same weights because
    every stage's data and schedule depend only on (seed, variant, stage, step). ``stop_after_stage`` saves
    after that stage. ``checkpoint_dir`` receives a copy after every stage with its measurements.
    ``threads``: torch threads for every stage; None uses ``recipe.stage_threads``, which is what makes the
    same call give the shipped weights bit for bit (on the same kind of CPU). Another thread count gives a
    different model (float sums in another order), measured to land noticeably off the shipped numbers,
    see the model card.
    """
    import torch

    if variant not in DEMO_VARIANTS:
        raise TrainDemoError(f"unknown variant {variant!r}; choose one of {DEMO_VARIANTS}")
    log = log or (lambda m: print(m, flush=True))
    if threads is not None and threads < 1:
        raise TrainDemoError(f"threads must be >= 1, got {threads}")
    stage_threads = tuple(recipe.stage_threads) if threads is None else (threads,) * 3
    if len(stage_threads) != 3 or any(int(n) < 1 for n in stage_threads):
        raise TrainDemoError(f"recipe.stage_threads must be three counts >= 1, got {recipe.stage_threads}")
    previous_threads = torch.get_num_threads()
    try:
        torch.set_num_threads(stage_threads[0])
        t_start = time.time()
        out = Path(out_dir)
        ckpt = Path(checkpoint_dir) if checkpoint_dir else None
        processor = build_processor()
        tokenizer = processor.tokenizer
        builder = BatchBuilder(tokenizer)
        model = build_model(tokenizer, recipe.model, seed=seed)
        untrained = _eval(model, tokenizer, recipe.eval_scenes) if evaluate_stages else None
        if untrained:
            log(f"untrained: {untrained}")
        stages: list[StageRecord] = []
        done = -1
        if resume_from is not None:
            done, stages = _load_resume(Path(resume_from), seed, variant, recipe, model)
            log(f"stages 0..{done} loaded from {resume_from}")
        plan = [(0, recipe.stage0_steps, recipe.stage0_lr), (1, recipe.stage1_steps, recipe.stage1_lr),
                (2, recipe.stage2_steps, recipe.stage2_lr)]
        for stage, steps, lr in plan:
            if stop_after_stage is not None and stage > stop_after_stage:
                break
            if stage <= done or steps <= 0:
                continue
            torch.set_num_threads(stage_threads[stage])
            wall, loss = _run_stage(model, builder, stage, steps, lr, seed, variant, recipe, log, progress)
            ev = _eval(model, tokenizer, recipe.eval_scenes) if evaluate_stages and stage > 0 else None
            stages.append(StageRecord(stage, steps, wall, loss, ev))
            log(f"stage {stage} done in {wall:.0f}s loss {loss:.4f} eval {ev}")
            if ckpt is not None:
                d = ckpt / f"{variant}-stage{stage}"
                model.save_pretrained(d)
                processor.save_pretrained(d)
                (d / f"stage{stage}.json").write_text(json.dumps({
                    "seed": seed, "variant": variant, f"stage{stage}_steps": steps, f"stage{stage}_lr": lr,
                    "wall_s": wall, "final_loss": loss, "eval": ev, "recipe": asdict(recipe),
                    "history": [asdict(s) for s in stages]}, indent=1, default=str))
        out.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(out)
        processor.save_pretrained(out)
        result = TrainResult(out, variant, seed, stages, untrained, time.time() - t_start)
        (out / "training.json").write_text(json.dumps({
            "variant": variant, "seed": seed, "recipe": asdict(recipe), "threads": list(stage_threads),
            "stages": [asdict(s) for s in stages], "untrained_eval": untrained, "wall_s": result.wall_s,
            "machine": f"{platform.machine()} {platform.processor() or ''} {platform.system()}".strip(),
            "torch": torch.__version__,
        }, indent=1, default=str))
        return result
    finally:
        torch.set_num_threads(previous_threads)  # a library call leaves the process as it found it


def compare_with_shipped(out_dir: str | Path, variant: str) -> bool | None:
    """Whether ``out_dir/model.safetensors`` is byte for byte the shipped ``variant`` weights.

    None when the shipped weights are not there to compare with. Why bytes: safetensors written by the
    same code from the same tensors are identical files, so equal bytes mean a bit-identical model.
    """
    import filecmp

    from . import WEIGHTS_DIR

    shipped = WEIGHTS_DIR / variant / "model.safetensors"
    mine = Path(out_dir) / "model.safetensors"
    if not shipped.is_file():
        return None
    if not mine.is_file():
        raise TrainDemoError(f"{mine} does not exist: nothing to compare with the shipped {variant} weights")
    return filecmp.cmp(mine, shipped, shallow=False)


def reproduction_message(out_dir: str | Path, variant: str, seed: int, threads: int | None) -> str:
    """One line for the command's user: did this run reproduce the shipped weights?"""
    same = compare_with_shipped(out_dir, variant)
    if same is None:
        return f"no shipped {variant} weights to compare with"
    if same:
        return f"bit-identical to the shipped {variant} weights"
    if seed != DEFAULT_SEED or threads is not None:
        return (f"differs from the shipped {variant} weights, as expected with seed={seed}, "
                f"threads={threads if threads is not None else 'recipe default'}")
    return (f"differs from the shipped {variant} weights: another CPU type or library version sums floats in "
            "another order (see auditors/demo/MODEL_CARD.md); compare its measurements instead")


def main(argv: list[str] | None = None) -> None:
    """``python -m auditors.demo.train --variant clean --out DIR``: the shipped recipe from the command line."""
    import argparse

    ap = argparse.ArgumentParser(description="Train the embedded demo model (shipped recipe by default).")
    ap.add_argument("--variant", choices=DEMO_VARIANTS, default="clean")
    ap.add_argument("--out", required=True, help="folder for the saved model (safetensors + processor files)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--threads", type=int, default=None,
                    help="torch threads for every stage (default: the recipe's per-stage counts, as shipped)")
    ap.add_argument("--checkpoint-dir", default=None, help="save a copy after every stage here")
    ap.add_argument("--resume-from", default=None, help="a stage checkpoint of the same seed and recipe to continue from")
    args = ap.parse_args(argv)
    res = train_demo(args.out, args.variant, args.seed, Recipe(), threads=args.threads,
                     checkpoint_dir=args.checkpoint_dir, resume_from=args.resume_from)
    print(f"saved {res.variant} to {res.out_dir} in {res.wall_s / 60:.1f} min; "
          f"{reproduction_message(res.out_dir, res.variant, res.seed, args.threads)}")


if __name__ == "__main__":
    main()
