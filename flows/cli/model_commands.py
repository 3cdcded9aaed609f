"""Commands about models: `register`, `explain` (one image, no registry), `train-demo`."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from flows.cli.app import EXIT_OK, app
from flows.cli.guard import guarded, settings, split_methods


@app.command()
@guarded
def register(
    model_dir: Path = typer.Argument(..., help="Saved Hugging Face model folder (config.json + safetensors + processor)."),
    name: str = typer.Option(..., "--name", help="Registered model name."),
    alias: Optional[str] = typer.Option(None, "--alias", help="Point this alias (e.g. champion, candidate) at the version."),
    new_version: bool = typer.Option(False, "--new-version", help="Register even if these exact weights are already registered."),
) -> int:
    """Register a saved vision-language model folder as a new version of NAME in the MLflow registry."""
    resolved_settings = settings()
    from flows.registry import register_model

    resolved = register_model(model_dir, name, alias=alias, settings=resolved_settings, reuse_existing=not new_version)
    aliases = f" (aliases: {', '.join(resolved.aliases)})" if resolved.aliases else ""
    typer.echo(f"{resolved.source_uri}{aliases}")
    typer.echo(f"architecture {resolved.architecture}, weights sha256 {resolved.weights_hash}, "
               f"registry {resolved_settings.effective_registry_uri}")
    return EXIT_OK


@app.command()
@guarded
def explain(
    model: Path = typer.Option(..., "--model", help="Saved Hugging Face model folder."),
    image: Path = typer.Option(..., "--image", help="Image file."),
    prompt: str = typer.Option(..., "--prompt", help="Prompt text."),
    out: Path = typer.Option(..., "--out", help="Output folder (explanation.npz + .json, one PNG per token and method)."),
    methods: Optional[str] = typer.Option(None, "--methods", help="Comma-separated methods (default: the configured ones, tam,msea_arc)."),
) -> int:
    """Explain one image and prompt with a local model folder (no registry, no database)."""
    resolved_settings = settings()
    chosen = split_methods(methods) or resolved_settings.methods
    from auditors import explain as run_explain
    from auditors import load_pretrained
    from auditors.explain import check_prompt

    from auditors.images import load_image

    from flows.explain_files import prepare_output_dir, write_explanation
    from flows.identity import check_methods
    from flows.worker import quiet_model_loading

    # every input checked before the model loads (seconds): a typo, an empty prompt, an unreadable
    # image or an output folder that takes no files is named at once
    check_methods(chosen)
    check_prompt(prompt)
    picture = load_image(image)
    prepare_output_dir(out)
    quiet_model_loading()
    loaded_model, processor = load_pretrained(model)
    explanation = run_explain(loaded_model, processor, picture, prompt, methods=chosen)
    written = write_explanation(explanation, picture, out)
    typer.echo(f"answer: {explanation.answer}")
    typer.echo(f"wrote {written.data_file} and {len(written.pngs)} PNG maps to {out}")
    return EXIT_OK


@app.command("train-demo")
@guarded
def train_demo(
    out: Path = typer.Option(..., "--out", help="Folder for the trained model."),
    variant: str = typer.Option(
        "clean", "--variant",
        help="clean, shortcut (the shipped corner cue) or shortcut-<cue>: shortcut-bar, shortcut-glyph, shortcut-border."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Training seed (default: the shipped weights' seed)."),
    threads: Optional[int] = typer.Option(
        None, "--threads", min=1,
        help="torch threads for every stage (default: the recipe's per-stage counts, which reproduce the shipped "
             "weights bit for bit on the same kind of CPU; another count trains a different model)."),
    stage0_cache: Optional[Path] = typer.Option(
        None, "--stage0-cache",
        help="Folder keeping the variant-independent stage 0 of each seed, so the next variant loads it instead "
             "of training it again (same weights)."),
) -> int:
    """Train an embedded demo model variant from scratch (reproduces the shipped weights; slow)."""
    settings()
    from auditors.demo.train import Recipe, reproduction_message
    from auditors.demo.train import train_demo as run_training

    kwargs: dict[str, Any] = {"variant": variant, "threads": threads, "stage0_cache": stage0_cache}
    if seed is not None:
        kwargs["seed"] = seed
    result = run_training(out, **kwargs)
    losses = result.stage1_losses
    cycles = (f"; stage 1 loss {losses[0]:.3f} above {Recipe().stage1_converged_loss}, so {len(losses) - 1} extra "
              f"cycle(s): {' -> '.join(f'{x:.3f}' for x in losses)}") if len(losses) > 1 else ""
    typer.echo(f"trained the {result.variant} demo model (seed {result.seed}, stages "
               f"{', '.join(str(n) for n in sorted({s.stage for s in result.stages}))}{cycles}) "
               f"in {result.wall_s:.0f} s; saved to {result.out_dir}")
    typer.echo(reproduction_message(result.out_dir, result.variant, result.seed, threads))
    return EXIT_OK
