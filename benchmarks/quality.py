"""Method-quality benchmark: every explanation method x {clean, shortcut} demo model on the default probes.

What it measures (issue 3, item 8), each with a 95% bootstrap CI that resamples probes:
* caption exact-match accuracy of each model version;
* localisation metrics of every method (TAM Obj-IoU / Func-IoU / F1-IoU, pointing game, energy in
  mask, Obj-IoU of colour and of shape words separately, how often colour/shape maps peak on the
  shortcut cue cell), and beside each its controls: the wrong-word map (the map of another answer
  word of the same kind, scored on this word's mask), the untrained model (a freshly initialised
  copy, explained on the trained model's answer by forcing it) and chance (for the pointing game
  the share of grid cells the mask touches, a random cell's hit rate; for energy the mask's area
  fraction);
* the randomised-weights sanity check (Spearman between the trained and the untrained model's maps
  of the same tokens);
* deletion / insertion AUC on a subset of probes (`--faithfulness-probes`);
* ablations on the clean model: MSEA scale sets, ARC top-k, RBO p and weighting variant, and the
  rank filter on/off.

Writes `benchmarks/results/quality.json` and prints a markdown table. Quick run:
    PYTHONPATH=. python benchmarks/quality.py --probes 10 --bootstrap 200 --ablation-probes 5
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

DEFAULT_OUT = REPO / "benchmarks" / "results" / "quality.json"
LOCALISATION = ["obj_iou", "obj_iou_per_word", "func_iou", "obj_precision", "obj_recall", "pointing_game",
                "energy_in_mask"]
UNTRAINED_SEED_OFFSET = 100_003  # the control's init seed must differ from any seed a model was built with


# ----------------------------------------------------------------------------------------------------------
# Per-probe statistics: every quantity is a (sum, count) pair so that pooled means (the TAM rule: words
# pooled over probes) can be bootstrapped by resampling probes.


@dataclass
class ProbeStats:
    probe_id: str
    sums: dict[str, list[float]] = field(default_factory=dict)

    def add(self, key: str, value: float) -> None:
        if value is None or not np.isfinite(value):
            return
        entry = self.sums.setdefault(key, [0.0, 0])
        entry[0] += float(value)
        entry[1] += 1


def word_kind(label: str | None, colours: frozenset[str], shapes: frozenset[str]) -> str | None:
    if not label:
        return None
    first = label.split(" ")[0].split("#")[0]
    if " " in label:
        return None  # merged entries ("red circle") mix both kinds
    return "colour" if first in colours else "shape" if first in shapes else None


def normalise_caption(text: str | None) -> str:
    from comparison.words import normalize_word

    if not text:
        return ""
    return " ".join(w for w in (normalize_word(t) for t in text.replace("<|im_end|>", " ").split()) if w)


# ----------------------------------------------------------------------------------------------------------
# Scoring one probe


def record_values(stats: ProbeStats, values, suffix: str, colours, shapes) -> None:
    for value in values:
        if value.word is None:
            continue
        key = f"{value.method}/{value.metric}{suffix}"
        stats.add(key, value.value)
        kind = word_kind(value.word, colours, shapes)
        if kind:
            stats.add(f"{value.method}/{value.metric}[{kind}]{suffix}", value.value)


def record_controls(stats: ProbeStats, explanation, probe, methods, vocabulary, colours, shapes) -> None:
    """Wrong-word control, chance level and cue hits, per object word of the answer."""
    from auditors.metrics import ProbeContext
    from auditors.metrics.localisation import energy_in_mask, pointing_chance, pointing_hit, word_iou

    cue_cell = None
    cue = probe.metadata.get("cue") if probe.metadata else None
    if isinstance(cue, dict) and cue.get("cell") is not None:
        cue_cell = tuple(int(v) for v in cue["cell"])
    masks = [probe.load_mask(i) for i in range(len(probe.objects))]
    for method in methods:
        ctx = ProbeContext(explanation, probe, method, vocabulary, masks=masks)
        words = ctx.object_words()
        for word in words:
            kind = word_kind(word.label, colours, shapes)
            mask = ctx.categories[word.category].mask
            word_map = ctx.word_map(word)
            cells = pointing_chance(mask, word_map.shape)
            stats.add(f"{method}/chance", float(mask.mean()))
            stats.add(f"{method}/chance_pointing", cells)
            if kind:
                stats.add(f"{method}/chance[{kind}]", float(mask.mean()))
                stats.add(f"{method}/chance_pointing[{kind}]", cells)
            if cue_cell is not None and kind and np.ptp(word_map) > 0:
                peak = np.unravel_index(int(np.argmax(word_map)), word_map.shape)
                stats.add(f"{method}/cue_hit[{kind}]", float(tuple(int(p) for p in peak) == cue_cell))
            others = [o for o in words if o.category != word.category and kind
                      and word_kind(o.label, colours, shapes) == kind]
            if not others:
                continue
            scores = {
                "pointing_game": np.mean([pointing_hit(ctx.word_map(o), mask) for o in others]),
                "energy_in_mask": np.mean([energy_in_mask(ctx.word_map(o), mask) for o in others]),
                "obj_iou_per_word": np.mean([word_iou(ctx, o.tokens, mask) for o in others]),
            }
            for metric, value in scores.items():
                stats.add(f"{method}/{metric}:wrong_word", float(value))
                stats.add(f"{method}/{metric}[{kind}]:wrong_word", float(value))
                # the same words' own scores, so the comparison is on the same (multi-object) probes
                own = {"pointing_game": float(pointing_hit(word_map, mask)),
                       "energy_in_mask": energy_in_mask(word_map, mask),
                       "obj_iou_per_word": word_iou(ctx, word.tokens, mask)}[metric]
                stats.add(f"{method}/{metric}:wrong_word_own", own)


def evaluate_probe(model, processor, probe, methods, settings, vocabulary, colours, shapes,
                   untrained=None, faithfulness: bool = False) -> tuple[ProbeStats, dict[str, float]]:
    import auditors
    from auditors.metrics import compare_explanations, force_answer, replay_scorer, score_explanation

    stats = ProbeStats(probe.id)
    timings: dict[str, float] = {}
    image = probe.load_image()
    t0 = time.perf_counter()
    explanation = auditors.explain(model, processor, image, probe.prompt, methods=methods, settings=settings)
    timings["explain_s"] = time.perf_counter() - t0
    if probe.caption is not None:
        stats.add("caption_accuracy", float(normalise_caption(explanation.answer) == normalise_caption(probe.caption)))
    values = score_explanation(explanation, probe, methods, LOCALISATION, noun_vocabulary=vocabulary, image=image)
    record_values(stats, values, "", colours, shapes)
    record_controls(stats, explanation, probe, methods, vocabulary, colours, shapes)
    if faithfulness:
        t0 = time.perf_counter()
        scorer = replay_scorer(model, processor, probe.prompt, explanation.token_ids)
        values = score_explanation(explanation, probe, methods, ["faithfulness"], noun_vocabulary=vocabulary,
                                   scorer=scorer, image=image)
        record_values(stats, values, "", colours, shapes)
        timings["faithfulness_s"] = time.perf_counter() - t0
    if untrained is not None:
        t0 = time.perf_counter()
        with force_answer(untrained, explanation.token_ids):
            control = auditors.explain(untrained, processor, image, probe.prompt, methods=methods, settings=settings)
        values = score_explanation(control, probe, methods, LOCALISATION, noun_vocabulary=vocabulary, image=image)
        record_values(stats, values, ":untrained", colours, shapes)
        sanity = compare_explanations(explanation, control, methods, ["randomisation_spearman"])
        record_values(stats, sanity, "", colours, shapes)
        timings["untrained_s"] = time.perf_counter() - t0
    return stats, timings


# ----------------------------------------------------------------------------------------------------------
# Bootstrap over probes


def bootstrap(all_stats: list[ProbeStats], methods, n_boot: int, seed: int) -> dict[str, dict]:
    """Point estimate and 95% percentile CI of every pooled quantity (and derived F1-IoU)."""
    keys = sorted({key for stats in all_stats for key in stats.sums})
    n = len(all_stats)
    sums = np.zeros((n, len(keys)))
    counts = np.zeros((n, len(keys)))
    column = {key: j for j, key in enumerate(keys)}
    for i, stats in enumerate(all_stats):
        for key, (total, count) in stats.sums.items():
            sums[i, column[key]] = total
            counts[i, column[key]] = count
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(np.float64)  # [B, n]
    with np.errstate(invalid="ignore", divide="ignore"):
        point = sums.sum(0) / counts.sum(0)
        boot = (weights @ sums) / (weights @ counts)

    def summary(estimate, samples, n_values):
        low, high = np.nanpercentile(samples, [2.5, 97.5]) if np.isfinite(samples).any() else (np.nan, np.nan)
        return {"value": _round(estimate), "ci_low": _round(low), "ci_high": _round(high), "n": int(n_values)}

    result = {key: summary(point[j], boot[:, j], counts[:, j].sum()) for key, j in column.items()}
    for suffix in ("", ":untrained"):
        for method in methods:
            obj, func = f"{method}/obj_iou{suffix}", f"{method}/func_iou{suffix}"
            if obj in column and func in column:
                o, f = point[column[obj]], point[column[func]]
                bo, bf = boot[:, column[obj]], boot[:, column[func]]
                with np.errstate(invalid="ignore", divide="ignore"):
                    f1_boot = np.where(bo + bf > 0, 2 * bo * bf / (bo + bf), 0.0)
                f1 = 2 * o * f / (o + f) if o + f > 0 else 0.0
                result[f"{method}/f1_iou{suffix}"] = summary(f1, f1_boot, n)
    return result


def _sha256(path: Path) -> str | None:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def _round(value) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), 4)


# ----------------------------------------------------------------------------------------------------------
# Runs


def run_variant(variant, model_dir, probes, methods, settings, args, vocabulary, colours, shapes):
    import torch
    from tqdm import tqdm

    import auditors
    from auditors.metrics import untrained_copy

    model, processor = auditors.load_pretrained(model_dir)
    untrained = None
    if not args.no_controls:
        untrained = untrained_copy(model, seed=args.seed + UNTRAINED_SEED_OFFSET)
        if all(torch.equal(a, b) for a, b in zip(untrained.state_dict().values(), model.state_dict().values())):
            raise RuntimeError("the untrained control has the trained model's weights: pick another --seed")
    all_stats, timings = [], []
    for index, probe in enumerate(tqdm(probes, desc=f"{variant}: probes", unit="probe")):
        stats, timing = evaluate_probe(model, processor, probe, methods, settings, vocabulary, colours, shapes,
                                       untrained=untrained, faithfulness=index < args.faithfulness_probes)
        all_stats.append(stats)
        timings.append(timing)
    return all_stats, timings


def ablation_settings(base):
    """(name, method(s), settings) of every ablation; the defaults are included for reference."""
    configs = [("default", ("msea_arc", "arc", "msea", "tam"), base)]
    for scales in [(1.0,), (1.0, 1.5), (1.0, 1.5, 2.0), (1.0, 2.0), (1.0, 2.0, 3.0), (1.0, 0.75, 0.5)]:
        configs.append((f"msea scales={list(scales)}", ("msea", "msea_arc"), replace(base, scales=scales)))
    for topk in (3, 5, 10, 20):
        configs.append((f"arc topk={topk}", ("arc", "msea_arc"), replace(base, topk=topk)))
    for rbo_p in (0.5, 0.8, 0.95):
        configs.append((f"arc rbo_p={rbo_p}", ("arc", "msea_arc"), replace(base, rbo_p=rbo_p)))
    for weighting in ("incoherence", "relevance"):
        configs.append((f"arc weighting={weighting}", ("arc", "msea_arc"), replace(base, arc_weighting=weighting)))
    for mode, methods in (("final", ("tam", "arc", "msea", "msea_arc")), ("none", ("tam", "arc", "msea", "msea_arc")),
                          ("per_scale", ("msea", "msea_arc"))):
        if mode != base.rank_filter:
            configs.append((f"rank filter={mode}", methods, replace(base, rank_filter=mode)))
    return configs


def run_ablations(model_dir, probes, base_settings, args, vocabulary, colours, shapes, available):
    import auditors
    from auditors.errors import AuditorInputError
    from auditors.metrics import score_explanation
    from tqdm import tqdm

    model, processor = auditors.load_pretrained(model_dir)
    results = []
    for name, methods, settings in tqdm(ablation_settings(base_settings), desc="ablations", unit="config"):
        methods = [m for m in methods if m in available]
        entry = {"name": name, "methods": methods, "settings": _settings_diff(base_settings, settings)}
        all_stats = []
        t0 = time.perf_counter()
        try:
            for probe in probes:
                stats = ProbeStats(probe.id)
                image = probe.load_image()
                explanation = auditors.explain(model, processor, image, probe.prompt, methods=methods, settings=settings)
                values = score_explanation(explanation, probe, methods, LOCALISATION, noun_vocabulary=vocabulary,
                                           image=image)
                record_values(stats, values, "", colours, shapes)
                all_stats.append(stats)
        except AuditorInputError as error:
            entry["error"] = str(error)
            results.append(entry)
            continue
        summary = bootstrap(all_stats, methods, args.bootstrap, args.seed)
        entry["metrics"] = {
            method: {metric: summary.get(f"{method}/{metric}") for metric in
                     ("f1_iou", "obj_iou", "func_iou", "pointing_game", "energy_in_mask",
                      "obj_iou_per_word[colour]", "obj_iou_per_word[shape]")}
            for method in methods
        }
        entry["seconds"] = round(time.perf_counter() - t0, 1)
        results.append(entry)
    return results


def _settings_diff(base, settings) -> dict:
    a, b = base.to_dict(), settings.to_dict()
    return {k: v for k, v in b.items() if a.get(k) != v}


# ----------------------------------------------------------------------------------------------------------
# Report


def organise(summary: dict, methods) -> dict:
    out: dict[str, dict] = {"caption_accuracy": summary.get("caption_accuracy"), "methods": {}}
    for method in methods:
        prefix = f"{method}/"
        out["methods"][method] = {key[len(prefix):]: value for key, value in sorted(summary.items())
                                  if key.startswith(prefix)}
    return out


def check_goals(models: dict, methods) -> list[dict]:
    goals = []

    def get(variant, method, key):
        return (models.get(variant, {}).get("methods", {}).get(method, {}) or {}).get(key) or {}

    def add(goal, met, **numbers):
        goals.append({"goal": goal, "met": bool(met) if met is not None else None, **numbers})

    if "clean" in models:
        tam, both = get("clean", "tam", "f1_iou"), get("clean", "msea_arc", "f1_iou")
        if tam and both:
            add("clean: MSEA+ARC F1-IoU >= TAM F1-IoU + 0.05", both["value"] >= tam["value"] + 0.05,
                msea_arc=both["value"], tam=tam["value"])
        pointing = get("clean", "msea_arc", "pointing_game")
        if pointing:
            add("clean: MSEA+ARC pointing game >= 0.8", pointing["value"] >= 0.8, value=pointing["value"])
        for method in methods:
            p, chance = get("clean", method, "pointing_game"), get("clean", method, "chance_pointing")
            wrong, own = get("clean", method, "pointing_game:wrong_word"), get("clean", method,
                                                                             "pointing_game:wrong_word_own")
            if p and chance:
                area = get("clean", method, "chance")
                add(f"clean {method}: pointing game CI above chance (share of cells the mask touches)",
                    p["ci_low"] is not None and p["ci_low"] > chance["value"], value=p["value"],
                    ci_low=p["ci_low"], chance_cells=chance["value"], area_fraction=area.get("value"))
            if own and wrong:
                add(f"clean {method}: pointing game above its wrong-word control (same words)",
                    own["ci_low"] is not None and wrong["ci_high"] is not None and own["ci_low"] > wrong["ci_high"],
                    own=own["value"], wrong_word=wrong["value"])
            energy, area = get("clean", method, "energy_in_mask"), get("clean", method, "chance")
            if energy and area:
                add(f"clean {method}: energy in mask CI above chance (mask area fraction)",
                    energy["ci_low"] is not None and energy["ci_low"] > area["value"], value=energy["value"],
                    ci_low=energy["ci_low"], area_fraction=area["value"])
            sanity = get("clean", method, "randomisation_spearman")
            if sanity:
                add(f"clean {method}: randomised-weights Spearman < 0.3", sanity["value"] < 0.3,
                    value=sanity["value"])
    if "clean" in models and "shortcut" in models:
        for method in methods:
            clean, shortcut = get("clean", method, "obj_iou_per_word[colour]"), get("shortcut", method,
                                                                                   "obj_iou_per_word[colour]")
            if clean and shortcut and clean["ci_low"] is not None and shortcut["ci_high"] is not None:
                add(f"{method}: shortcut colour-word Obj-IoU below clean (CIs apart)",
                    shortcut["ci_high"] < clean["ci_low"], clean=clean["value"], shortcut=shortcut["value"])
    return goals


def _fmt(entry, digits=2) -> str:
    if not entry or entry.get("value") is None:
        return "–"
    if entry.get("ci_low") is None:
        return f"{entry['value']:.{digits}f}"
    return f"{entry['value']:.{digits}f} [{entry['ci_low']:.{digits}f}, {entry['ci_high']:.{digits}f}]"


def markdown(result: dict) -> str:
    lines = []
    columns = [("F1-IoU", "f1_iou"), ("Obj-IoU", "obj_iou"), ("Func-IoU", "func_iou"),
               ("colour Obj-IoU", "obj_iou_per_word[colour]"), ("shape Obj-IoU", "obj_iou_per_word[shape]"),
               ("pointing", "pointing_game"), ("pointing wrong-word (own)", None),
               ("pointing untrained", "pointing_game:untrained"), ("pointing chance", "chance_pointing"),
               ("area fraction", "chance"),
               ("energy", "energy_in_mask"), ("colour->cue", "cue_hit[colour]"),
               ("rand. Spearman", "randomisation_spearman"), ("deletion", "deletion_auc"),
               ("insertion", "insertion_auc")]
    lines.append("| model | method | " + " | ".join(c for c, _ in columns) + " |")
    lines.append("|" + "---|" * (len(columns) + 2))
    for variant, data in result["models"].items():
        for method, metrics in data["methods"].items():
            cells = []
            for _, key in columns:
                if key is None:
                    wrong, own = metrics.get("pointing_game:wrong_word"), metrics.get("pointing_game:wrong_word_own")
                    cells.append(f"{_fmt(wrong)} ({_fmt(own)})" if wrong else "–")
                else:
                    cells.append(_fmt(metrics.get(key)))
            lines.append(f"| {variant} | {method} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("| model | caption exact match |")
    lines.append("|---|---|")
    for variant, data in result["models"].items():
        lines.append(f"| {variant} | {_fmt(data.get('caption_accuracy'), 3)} |")
    if result.get("ablations"):
        lines.append("")
        lines.append("| ablation (clean) | method | F1-IoU | Obj-IoU | Func-IoU | pointing | colour Obj-IoU |")
        lines.append("|---|---|---|---|---|---|---|")
        for entry in result["ablations"]:
            if "error" in entry:
                lines.append(f"| {entry['name']} | – | error: {entry['error'][:80]} | | | | |")
                continue
            for method, m in entry["metrics"].items():
                lines.append(f"| {entry['name']} | {method} | {_fmt(m['f1_iou'])} | {_fmt(m['obj_iou'])} | "
                             f"{_fmt(m['func_iou'])} | {_fmt(m['pointing_game'])} | "
                             f"{_fmt(m['obj_iou_per_word[colour]'])} |")
    if result.get("goals"):
        lines.append("")
        lines.append("| goal | met | numbers |")
        lines.append("|---|---|---|")
        for goal in result["goals"]:
            numbers = ", ".join(f"{k}={v}" for k, v in goal.items() if k not in ("goal", "met"))
            lines.append(f"| {goal['goal']} | {'yes' if goal['met'] else 'NO'} | {numbers} |")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--probes", type=int, default=200, help="number of default probes (first N)")
    parser.add_argument("--probe-set", type=Path, default=None, help="use this probe-set folder instead")
    parser.add_argument("--variants", nargs="+", default=["clean", "shortcut"])
    parser.add_argument("--model-dir", action="append", default=[], metavar="VARIANT=PATH",
                        help="override a variant's model folder (default: the shipped demo weights)")
    parser.add_argument("--methods", nargs="+", default=None, help="default: every available method")
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--faithfulness-probes", type=int, default=50,
                        help="deletion/insertion AUC on the first N probes (model forwards: costly)")
    parser.add_argument("--ablation-probes", type=int, default=100, help="probes for the ablations (0: none)")
    parser.add_argument("--no-controls", action="store_true", help="skip the untrained-model control")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    import auditors
    from auditors.demo import COLOUR_WORDS, SHAPE_WORDS, build_default_probe_set, demo_model_dir
    from auditors.probes import load_probe_set

    colours, shapes = frozenset(COLOUR_WORDS), frozenset(SHAPE_WORDS)
    methods = args.methods or auditors.available_methods()
    overrides = dict(item.split("=", 1) for item in args.model_dir)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="quality-probes-") as tmp:
        if args.probe_set is not None:
            probe_set = load_probe_set(args.probe_set)
        else:
            probe_set = load_probe_set(build_default_probe_set(Path(tmp) / "probes", n=args.probes))
        probes = list(probe_set.probes)[: args.probes]
        vocabulary = probe_set.noun_vocabulary()
        settings = auditors.ExplainSettings()
        result: dict = {
            "meta": {
                "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "probe_set": {"name": probe_set.name, "version": probe_set.version,
                              "content_hash": probe_set.content_hash, "n_probes": len(probes)},
                "methods": methods, "bootstrap": args.bootstrap, "seed": args.seed,
                "faithfulness_probes": min(args.faithfulness_probes, len(probes)),
                "ablation_probes": min(args.ablation_probes, len(probes)),
                "settings": settings.to_dict(), "machine": platform.platform(), "python": platform.python_version(),
                "torch_threads": args.threads,
                "controls": "wrong_word: the map of another answer word of the same kind (colour/shape) scored on "
                            "this word's mask (wrong_word_own: this word's own score on the same probes); "
                            "untrained: a freshly initialised copy of the same config, forced to the trained "
                            "model's answer (also the randomised-weights model of the sanity check); chance: "
                            "the mask's area fraction (energy), chance_pointing: the share of grid cells the "
                            "mask touches (a random cell's pointing hit rate)",
            },
            "models": {},
        }
        timings: dict[str, float] = {}
        for variant in args.variants:
            model_dir = Path(overrides[variant]) if variant in overrides else demo_model_dir(variant)
            t0 = time.perf_counter()
            # hashed before loading: a checkpoint rewritten during the run must not be misattributed
            result["meta"].setdefault("model_dirs", {})[variant] = {
                "path": str(model_dir), "weights_sha256": _sha256(Path(model_dir) / "model.safetensors")}
            stats, probe_timings = run_variant(variant, model_dir, probes, methods, settings, args, vocabulary,
                                               colours, shapes)
            timings[f"{variant}_s"] = round(time.perf_counter() - t0, 1)
            timings[f"{variant}_explain_s_per_probe"] = round(float(np.mean([t["explain_s"] for t in probe_timings])), 3)
            result["models"][variant] = organise(bootstrap(stats, methods, args.bootstrap, args.seed), methods)
        if args.ablation_probes > 0 and "clean" in args.variants:
            model_dir = Path(overrides["clean"]) if "clean" in overrides else demo_model_dir("clean")
            t0 = time.perf_counter()
            result["meta"]["ablation_model_sha256"] = _sha256(Path(model_dir) / "model.safetensors")
            result["ablations"] = run_ablations(model_dir, probes[: args.ablation_probes], settings, args,
                                                vocabulary, colours, shapes, set(methods))
            timings["ablations_s"] = round(time.perf_counter() - t0, 1)
    timings["total_s"] = round(time.perf_counter() - started, 1)
    result["meta"]["timings"] = timings
    result["goals"] = check_goals(result["models"], methods)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(markdown(result))
    print(f"\nwritten {args.out}")
    return result


if __name__ == "__main__":
    main()
