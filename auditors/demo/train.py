"""The training recipe of the demo model (``mllm-audit train-demo`` wraps ``train_demo``).

Why staged, LLaVA-style (lessons measured in docs/tiny-vlm-experiments.md; this recipe's numbers are in
MODEL_CARD.md):

* **Stage 0, text model alone**, on word layouts (``layouts.py``): the 16 image slots hold word embeddings
  laid out like a scene, the target is the caption. The text model learns to read words in the slots and
  put them in caption order. The layouts do not depend on the variant, so stage 0 is trained once per seed
  and thread count and shared by every variant (``stage0_cache``).
* **Stage 1, alignment**: vision tower + merger trained, text model frozen, real images, caption loss only.
  The vision tokens get no target of their own: whatever the maps show is earned through the caption.
  A stage 1 whose final loss stays above the recipe's gate gets extra cycles (``_extra_stage1_cycles``).
* **Stage 2, optional full fine-tuning**: 0 steps in the recipe (every full fine-tuning tried improved
  captions and destroyed the word-specific maps, MODEL_CARD.md).

Variants differ only in their stage-1 scenes (``variants.py``): clean data carries every cue kind as an
uncorrelated decoy; a shortcut variant's cue always carries the first object's word, and in every other
scene that object is drawn as something no word names.

Determinism: integer seeds only (``numpy.random.SeedSequence``, ``torch.manual_seed``); step counts (not
wall time) fix the schedule; every batch is a pure function of (seed, stage, step), whichever process
builds it; each stage runs on its recipe thread count. The same call gives the same weights bit for bit
on the same kind of CPU; resuming from a stage checkpoint or a cached stage 0 gives the same weights too.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .cues import SHIPPED_CUE
from .data import BatchBuilder
from .evaluate import EVAL_SEED
from .fastpath import fast_training
from .layouts import layout_embeddings
from .loader import StageBatches, iterate_batches
from .model import build_model, build_processor
from .recipe import DATA_VERSION, Recipe, fields_up_to_stage, lr_at, recipe_hash, stage0_key
from .reproduction import DEFAULT_SEED, reproduction_message
from .variants import DEMO_VARIANTS, Variant, VariantError, all_variant_names, parse_variant

__all__ = ["DEFAULT_SEED", "DEMO_VARIANTS", "Recipe", "TrainDemoError", "TrainResult", "train_demo"]


class TrainDemoError(ValueError):
    """Bad arguments to ``train_demo`` (unknown variant, inconsistent checkpoint, ...)."""


@dataclass
class StageRecord:
    stage: int
    steps: int
    wall_s: float
    final_loss: float
    eval: dict[str, Any] | None
    source: str = "trained"  # or "cache:<path>" / "checkpoint:<path>"
    cycle: int = 0  # stage 1's extra cycles count 1, 2, ... (recipe.stage1_extra_cycles)


@dataclass
class TrainResult:
    out_dir: Path
    variant: str
    seed: int
    stages: list[StageRecord]
    untrained_eval: dict[str, Any] | None
    wall_s: float

    @property
    def stage1_losses(self) -> list[float]:
        """Stage 1's final loss per cycle: the first, then any extra ones (``_extra_stage1_cycles``)."""
        return [s.final_loss for s in self.stages if s.stage == 1]


def _param_groups(model: Any, stage: int, lr: float, recipe: Recipe) -> list[dict[str, Any]]:
    for p in model.parameters():
        p.requires_grad_(False)
    visual = model.model.visual
    if stage == 0:
        groups = [(model.model.language_model, 1.0)]  # embeddings are tied to lm_head
    elif stage == 1:
        groups = [(m, 1.0) for name, m in visual.named_children() if name != "merger"]
        groups.append((visual.merger, recipe.stage1_merger_lr_scale))
    else:
        groups = [(model, 1.0)]
    out = []
    for module, scale in groups:
        params = list(module.parameters())
        for p in params:
            p.requires_grad_(True)
        if params:
            out.append({"params": params, "scale": scale, "lr": lr * scale})
    return out


def _run_stage(model: Any, builder: BatchBuilder, stage: int, steps: int, lr: float, seed: int, variant: Variant,
               recipe: Recipe, log: Callable[[str], None], progress: bool, first_step: int = 0) -> tuple[float, float]:
    """Train ``steps`` steps of ``stage`` with a fresh optimiser and its own warm-up and cosine schedule, on
    the stage's batches ``first_step`` onwards (a later cycle of a stage sees batches no earlier cycle saw)."""
    import torch
    from tqdm import tqdm
    from transformers.modeling_outputs import BaseModelOutputWithPooling

    groups = _param_groups(model, stage, lr, recipe)
    params = [p for g in groups for p in g["params"]]
    opt = torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.98), weight_decay=recipe.weight_decay)
    model.train()
    t0 = time.time()
    losses: list[float] = []
    embed = model.get_input_embeddings()
    batches = StageBatches(builder, stage, seed, variant, recipe.batch_size, recipe.model.text_hidden,
                           recipe.loose_word_probability, recipe.decoy_probability)
    bar = tqdm(total=steps, desc=f"stage {stage}", disable=not progress, mininterval=5, file=sys.stderr)
    with fast_training(model):
        for step, batch in enumerate(iterate_batches(batches, steps, recipe.loader_workers, first_step)):
            for g in opt.param_groups:
                g["lr"] = lr_at(step, steps, lr, recipe) * g["scale"]
            if stage == 0:
                text, draws = batch
                layout = layout_embeddings(draws, embed.weight, recipe.layout_noise)
                out = model(**text, mm_encoder_outputs={"image": BaseModelOutputWithPooling(pooler_output=(layout,))})
            else:
                out = model(**batch)
            opt.zero_grad(set_to_none=True)
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_(params, recipe.grad_clip)
            opt.step()
            losses.append(float(out.loss.detach()))
            bar.update(1)
            if (step + 1) % 250 == 0 or step + 1 == steps:
                el = time.time() - t0
                log(f"stage {stage} step {step + 1}/{steps} loss {np.mean(losses[-100:]):.4f} {el:.0f}s "
                    f"{(step + 1) / el:.2f} it/s load {os.getloadavg()[0]:.2f}")
                bar.set_postfix_str(f"loss {np.mean(losses[-100:]):.3f}")
    bar.close()
    model.eval()
    return time.time() - t0, float(np.mean(losses[-100:])) if losses else float("nan")


def _eval(model: Any, tokenizer: Any, n: int, variant: Variant) -> dict[str, Any]:
    from .evaluate import evaluate, standard_scenes

    return evaluate(model, tokenizer, standard_scenes(n, EVAL_SEED, variant.cue or SHIPPED_CUE)).as_dict()


def _save(model: Any, processor: Any, folder: Path, meta_name: str, meta: dict[str, Any]) -> None:
    """Write a model folder with its metadata file last. A new folder is written beside and renamed into
    place, so a killed run never leaves a half-written checkpoint that a later run would trust; an existing
    folder (a user's ``--out``) is written into, never deleted, its metadata file removed first."""
    if folder.exists():
        (folder / meta_name).unlink(missing_ok=True)
        model.save_pretrained(folder)
        processor.save_pretrained(folder)
        (folder / meta_name).write_text(json.dumps(meta, indent=1, default=str))
        return
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        model.save_pretrained(tmp)
        processor.save_pretrained(tmp)
        (tmp / meta_name).write_text(json.dumps(meta, indent=1, default=str))
        tmp.rename(folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _load_weights(path: Path, model: Any) -> None:
    from transformers import Qwen2_5_VLForConditionalGeneration

    saved = Qwen2_5_VLForConditionalGeneration.from_pretrained(path)
    try:
        model.load_state_dict(saved.state_dict(), strict=True)
    except RuntimeError as exc:
        raise TrainDemoError(f"checkpoint {path} does not match the recipe's model: {exc}") from exc


def _load_resume(path: Path, seed: int, variant: Variant, recipe: Recipe, model: Any) -> tuple[int, list[StageRecord]]:
    """Load a stage checkpoint (``stage<N>.json``) or a finished model (``training.json``) after checking it
    was made by this seed and recipe (and, after stage 0, which is shared by every variant, by this variant).
    Returns the last completed stage and the records so far."""
    metas = sorted(path.glob("stage[0-9].json"))
    if metas:
        meta = json.loads(metas[-1].read_text())
        done, history = int(metas[-1].stem[len("stage"):]), meta["history"]
    elif (path / "training.json").is_file():
        meta = json.loads((path / "training.json").read_text())
        history = meta["stages"]
        done = max(int(h["stage"]) for h in history)
    else:
        raise TrainDemoError(f"{path} holds neither stage<N>.json nor training.json: not written by train_demo")
    saved_recipe, mine = meta.get("recipe", {}), recipe.as_dict()
    fields = fields_up_to_stage(done, extra_cycles_ran=any(h.get("cycle", 0) > 0 for h in history))
    diff = {f: (saved_recipe.get(f), mine[f]) for f in fields if saved_recipe.get(f) != mine[f]}
    other_variant = done >= 1 and meta.get("variant") != variant.name
    if meta.get("seed") != seed or diff or other_variant or meta.get("data_version") != DATA_VERSION:
        raise TrainDemoError(
            f"{path} was trained with seed={meta.get('seed')}, variant={meta.get('variant')}, data version "
            f"{meta.get('data_version')} and a different recipe ({diff}); asked for seed={seed}, variant={variant.name}")
    _load_weights(path, model)
    return done, [StageRecord(**{**h, "source": f"checkpoint:{path}"}) for h in history]


def _extra_stage1_cycles(model: Any, builder: BatchBuilder, stages: list[StageRecord], seed: int, variant: Variant,
                         recipe: Recipe, log: Callable[[str], None], progress: bool,
                         evaluate: Callable[[], dict[str, Any] | None]) -> bool:
    """Run stage 1's extra cycles while its last loss is above ``recipe.stage1_converged_loss``, appending
    their records to ``stages``; whether any ran. Why: whether a seed's vision tower has separated the shapes
    by the end of stage 1 varies from seed to seed, and its loss says which (MODEL_CARD.md)."""
    ran = False
    ones = [s for s in stages if s.stage == 1]
    while ones and ones[-1].final_loss > recipe.stage1_converged_loss and ones[-1].cycle < recipe.stage1_extra_cycles:
        cycle = ones[-1].cycle + 1
        log(f"stage 1 loss {ones[-1].final_loss:.4f} > {recipe.stage1_converged_loss}: extra cycle {cycle}")
        wall, loss = _run_stage(model, builder, 1, recipe.stage1_steps, recipe.stage1_extra_lr, seed, variant, recipe,
                                log, progress, first_step=cycle * recipe.stage1_steps)
        ones.append(StageRecord(1, recipe.stage1_steps, wall, loss, evaluate(), cycle=cycle))
        stages.append(ones[-1])
        ran = True
    return ran


def _stage_meta(seed: int, variant: Variant, stage: int, recipe: Recipe, stages: list[StageRecord]) -> dict[str, Any]:
    return {"seed": seed, "variant": variant.name, "data_version": DATA_VERSION, "recipe": recipe.as_dict(),
            "history": [asdict(s) for s in stages], f"stage{stage}_steps": stages[-1].steps}


def train_demo(
    out_dir: str | Path,
    variant: str | Variant = "clean",
    seed: int = DEFAULT_SEED,
    recipe: Recipe = Recipe(),
    threads: int | None = None,
    checkpoint_dir: str | Path | None = None,
    resume_from: str | Path | None = None,
    stage0_cache: str | Path | None = None,
    stop_after_stage: int | None = None,
    evaluate_stages: bool = True,
    log: Callable[[str], None] | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train one demo variant and save it (safetensors + processor files + training.json) to ``out_dir``.

    ``variant``: "clean", "shortcut" (the shipped corner cue) or "shortcut-<cue kind>" (``cues.CUE_KINDS``).
    ``stage0_cache``: a folder where the variant-independent stage 0 of (recipe, seed, thread count) is kept;
    found there it is loaded instead of trained (same weights), else trained and stored for the next variant.
    ``resume_from``: a stage checkpoint (``checkpoint_dir/<variant>-stage<N>``) of the same seed and recipe.
    ``threads``: torch threads for every stage; None uses ``recipe.stage_threads`` (what reproduces the
    shipped weights bit for bit on the same kind of CPU; another count trains a different model).
    """
    import torch

    try:
        spec = parse_variant(variant)
    except VariantError as exc:
        raise TrainDemoError(str(exc)) from None
    log = log or (lambda m: print(m, flush=True))
    if threads is not None and threads < 1:
        raise TrainDemoError(f"threads must be >= 1, got {threads}")
    stage_threads = tuple(recipe.stage_threads) if threads is None else (threads,) * 3
    if len(stage_threads) != 3 or any(int(n) < 1 for n in stage_threads):
        raise TrainDemoError(f"recipe.stage_threads must be three counts >= 1, got {recipe.stage_threads}")
    previous_threads = torch.get_num_threads()
    load_start = os.getloadavg()
    try:
        torch.set_num_threads(stage_threads[0])
        t_start = time.time()
        out = Path(out_dir)
        ckpt = Path(checkpoint_dir) if checkpoint_dir else None
        processor = build_processor()
        tokenizer = processor.tokenizer
        builder = BatchBuilder(tokenizer)
        model = build_model(tokenizer, recipe.model, seed=seed)
        untrained = _eval(model, tokenizer, recipe.eval_scenes, spec) if evaluate_stages else None
        stages: list[StageRecord] = []
        done = -1
        if resume_from is not None:
            done, stages = _load_resume(Path(resume_from), seed, spec, recipe, model)
            log(f"stages 0..{done} loaded from {resume_from}")
        shared0 = Path(stage0_cache) / stage0_key(recipe, stage_threads[0]) / f"seed-{seed}" if stage0_cache else None
        if done < 0 and shared0 is not None and (shared0 / "stage0.json").is_file():
            done, stages = _load_resume(shared0, seed, spec, recipe, model)
            stages = [StageRecord(**{**asdict(s), "source": f"cache:{shared0}"}) for s in stages]
            log(f"stage 0 loaded from the cache {shared0}")
        plan = [(0, recipe.stage0_steps, recipe.stage0_lr), (1, recipe.stage1_steps, recipe.stage1_lr),
                (2, recipe.stage2_steps, recipe.stage2_lr)]

        def evaluate() -> dict[str, Any] | None:
            return _eval(model, tokenizer, recipe.eval_scenes, spec) if evaluate_stages else None

        for stage, steps, lr in plan:
            if stop_after_stage is not None and stage > stop_after_stage:
                break
            torch.set_num_threads(stage_threads[stage])
            trained = False
            if stage > done and steps > 0:
                wall, loss = _run_stage(model, builder, stage, steps, lr, seed, spec, recipe, log, progress)
                stages.append(StageRecord(stage, steps, wall, loss, evaluate() if stage > 0 else None))
                log(f"stage {stage} done in {wall:.0f}s loss {loss:.4f}")
                trained = True
            if stage == 1 and done <= 1:  # stage 1 trained or loaded just now: its extra cycles, if it needs them
                trained |= _extra_stage1_cycles(model, builder, stages, seed, spec, recipe, log, progress, evaluate)
            if not trained:
                continue
            meta = _stage_meta(seed, spec, stage, recipe, stages)
            if stage == 0 and shared0 is not None:
                _save(model, processor, shared0, "stage0.json", meta)
            if ckpt is not None:
                _save(model, processor, ckpt / f"{spec.name}-stage{stage}", f"stage{stage}.json", meta)
        result = TrainResult(out, spec.name, seed, stages, untrained, time.time() - t_start)
        _save(model, processor, out, "training.json", {
            "variant": spec.name, "cue": spec.cue, "seed": seed, "recipe": recipe.as_dict(),
            "recipe_hash": recipe_hash(recipe, stage_threads), "data_version": DATA_VERSION,
            "threads": list(stage_threads), "stages": [asdict(s) for s in stages], "untrained_eval": untrained,
            "wall_s": result.wall_s, "load_average_start": list(load_start), "load_average_end": list(os.getloadavg()),
            "machine": f"{platform.machine()} {platform.processor() or ''} {platform.system()}".strip(),
            "torch": torch.__version__,
        })
        return result
    finally:
        torch.set_num_threads(previous_threads)  # a library call leaves the process as it found it


def main(argv: list[str] | None = None) -> None:
    """``python -m auditors.demo.train --variant clean --out DIR``: the shipped recipe from the command line."""
    import argparse

    ap = argparse.ArgumentParser(description="Train the embedded demo model (shipped recipe by default).")
    ap.add_argument("--variant", choices=all_variant_names(), default="clean")
    ap.add_argument("--out", required=True, help="folder for the saved model (safetensors + processor files)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--threads", type=int, default=None,
                    help="torch threads for every stage (default: the recipe's per-stage counts, as shipped)")
    ap.add_argument("--stage0-cache", default=None, help="folder keeping the shared stage 0 for the next variant")
    ap.add_argument("--checkpoint-dir", default=None, help="save a copy after every stage here")
    ap.add_argument("--resume-from", default=None, help="a stage checkpoint of the same seed and recipe to continue from")
    args = ap.parse_args(argv)
    res = train_demo(args.out, args.variant, args.seed, Recipe(), threads=args.threads, stage0_cache=args.stage0_cache,
                     checkpoint_dir=args.checkpoint_dir, resume_from=args.resume_from)
    print(f"saved {res.variant} to {res.out_dir} in {res.wall_s / 60:.1f} min; "
          f"{reproduction_message(res.out_dir, res.variant, res.seed, args.threads)}")


if __name__ == "__main__":
    main()
