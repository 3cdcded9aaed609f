"""Collect the model zoo's measurements into a results file and the model card's table.

Why: the zoo lives in a cache outside the repository (`auditors.demo.zoo`), so the numbers the model
card and the README quote from it are copied here, with each model's training time and load, into
`benchmarks/results/zoo.json`.

    .venv/bin/python -m benchmarks.zoo_results [--root ZOO_ROOT] [--threads N] [--out FILE]

``--threads N`` collects the models the zoo trained with N torch threads in every stage (their own
folder: another thread count trains other weights), by default into `zoo-threads<N>.json`;
``--stage1-extra-cycles N`` the models of a recipe with N extra stage-1 cycles (0: the base recipe, which
trained every model of data version 2 first) into `zoo-cycles<N>.json`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from auditors.demo.measure import CLEAN_TARGETS
from auditors.demo.zoo import Zoo, ZooModel, add_recipe_option, recipe_from_option

RESULTS = Path(__file__).resolve().parent / "results" / "zoo.json"


def model_entry(model: ZooModel) -> dict[str, Any]:
    training = json.loads((model.path / "training.json").read_text(encoding="utf-8"))
    stage0 = next(s for s in training["stages"] if s["stage"] == 0)
    stage1 = [s for s in training["stages"] if s["stage"] == 1]  # the first cycle, then any extra ones
    assert model.measurements is not None
    entry = {"name": model.path.name, "variant": "clean" if not model.variant.is_shortcut else f"shortcut-{model.variant.cue}",
             "seed": model.seed, "measurements": model.measurements.as_dict(),
             "stage1_minutes": round(sum(s["wall_s"] for s in stage1) / 60, 1), "stage0_minutes": round(stage0["wall_s"] / 60, 1),
             "stage1_extra_cycles": len(stage1) - 1, "stage1_losses": [round(s["final_loss"], 4) for s in stage1],
             "load_average_start": training.get("load_average_start"), "load_average_end": training.get("load_average_end")}
    if model.variant.is_shortcut:
        entry["uses_its_cue"] = model.uses_its_cue()
    else:
        entry["clean_target_misses"] = list(CLEAN_TARGETS.misses(model.measurements.cue))
    return entry


def table_row(entry: dict[str, Any]) -> str:
    m = entry["measurements"]
    cue, no_cue = m["cue"], m["no_cue"]
    if entry["variant"] == "clean":
        verdict = "targets met" if not entry["clean_target_misses"] else "missed: " + "; ".join(entry["clean_target_misses"])
    else:
        own = m["counterfactual"][entry["variant"].split("-", 1)[1]]
        verdict = (f"names its cue {own['names_cue']:.2f} / the object {own['names_object']:.2f}; "
                   f"first-word map on the cue {cue['cue_argmax_first']:.2f}")
    load = entry["load_average_start"] or [float("nan")]
    return (f"| {entry['name']} | {cue['caption_exact']:.3f} / {no_cue['caption_exact']:.3f} | "
            f"{cue['point_colour']:.2f} ({cue['point_colour_wrong']:.2f}) | {cue['point_shape']:.2f} "
            f"({cue['point_shape_wrong']:.2f}) | {verdict} | {' -> '.join(f'{x:.3f}' for x in entry['stage1_losses'])} | "
            f"{entry['stage1_minutes']} | {load[0]:.1f} |")


def markdown_table(entries: list[dict[str, Any]]) -> str:
    head = ["| model | caption exact, cue / no cue | colour point (wrong) | shape point (wrong) | clean targets / cue use "
            "| stage 1 loss per cycle | stage 1 min | load at start |", "|---|---|---|---|---|---|---|---|"]
    return "\n".join(head + [table_row(e) for e in entries])


def default_results_file(threads: int | None, extra_cycles: int | None) -> Path:
    """results/zoo.json for the recipe as it is; a thread count or a cycle count asked for gets its own file."""
    suffix = "".join(f"-{name}{value}" for name, value in (("threads", threads), ("cycles", extra_cycles)) if value is not None)
    return RESULTS.with_name(f"zoo{suffix}.json")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=None, help="zoo root (default: the zoo module's)")
    parser.add_argument("--threads", type=int, default=None,
                        help="the models trained with this many torch threads in every stage (default: the recipe's)")
    parser.add_argument("--out", type=Path, default=None, help="results file (default: results/zoo.json, "
                        "zoo-threads<N>.json with --threads, zoo-cycles<N>.json with --stage1-extra-cycles)")
    add_recipe_option(parser)
    args = parser.parse_args(argv)
    out = args.out or default_results_file(args.threads, args.stage1_extra_cycles)
    zoo = Zoo(args.root, recipe_from_option(args.stage1_extra_cycles), threads=args.threads)
    entries = [model_entry(m) for m in zoo.measured()]
    document = {"benchmark": "zoo", "zoo": str(zoo.folder), "threads": args.threads or "the recipe's",
                "stage1_extra_cycles": zoo.recipe.stage1_extra_cycles,
                "models": entries, "markdown_table": markdown_table(entries)}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    print(document["markdown_table"])
    print(f"wrote {out} ({len(entries)} models)")


if __name__ == "__main__":
    main()
