"""The benchmark's results as markdown tables (printed at the end of a run)."""

from __future__ import annotations

COLUMNS = [("F1-IoU", "f1_iou"), ("Obj-IoU", "obj_iou"), ("Func-IoU", "func_iou"),
           ("colour Obj-IoU", "obj_iou_per_word[colour]"), ("shape Obj-IoU", "obj_iou_per_word[shape]"),
           ("pointing", "pointing_game"), ("pointing wrong-word (own)", None),
           ("pointing untrained", "pointing_game:untrained"), ("pointing chance", "chance_pointing"),
           ("area fraction", "chance"), ("energy", "energy_in_mask"), ("colour->cue", "cue_hit[colour]"),
           ("rand. Spearman", "randomisation_spearman"), ("deletion", "deletion_auc"),
           ("insertion", "insertion_auc")]


def fmt(entry, digits=2) -> str:
    """``value [low, high]`` (or ``–`` when there is nothing)."""
    if not entry or entry.get("value") is None:
        return "–"
    if entry.get("ci_low") is None:
        return f"{entry['value']:.{digits}f}"
    return f"{entry['value']:.{digits}f} [{entry['ci_low']:.{digits}f}, {entry['ci_high']:.{digits}f}]"


def _method_rows(result: dict) -> list[str]:
    lines = ["| model | method | " + " | ".join(c for c, _ in COLUMNS) + " |", "|" + "---|" * (len(COLUMNS) + 2)]
    for variant, data in result["models"].items():
        for method, metrics in data["methods"].items():
            cells = []
            for _, key in COLUMNS:
                if key is None:
                    wrong, own = metrics.get("pointing_game:wrong_word"), metrics.get("pointing_game:wrong_word_own")
                    cells.append(f"{fmt(wrong)} ({fmt(own)})" if wrong else "–")
                else:
                    cells.append(fmt(metrics.get(key)))
            lines.append(f"| {variant} | {method} | " + " | ".join(cells) + " |")
    lines += ["", "| model | caption exact match |", "|---|---|"]
    lines += [f"| {variant} | {fmt(data.get('caption_accuracy'), 3)} |" for variant, data in result["models"].items()]
    return lines


def _ablation_rows(ablations: list[dict]) -> list[str]:
    lines = ["| ablation (clean) | method | F1-IoU | Obj-IoU | Func-IoU | pointing | colour Obj-IoU |",
             "|---|---|---|---|---|---|---|"]
    for entry in ablations:
        if "error" in entry:
            lines.append(f"| {entry['name']} | – | error: {entry['error'][:80]} | | | | |")
            continue
        for method, m in entry["metrics"].items():
            lines.append(f"| {entry['name']} | {method} | {fmt(m['f1_iou'])} | {fmt(m['obj_iou'])} | "
                         f"{fmt(m['func_iou'])} | {fmt(m['pointing_game'])} | {fmt(m['obj_iou_per_word[colour]'])} |")
    return lines


def markdown(result: dict) -> str:
    lines = _method_rows(result)
    if result.get("ablations"):
        lines += [""] + _ablation_rows(result["ablations"])
    if result.get("goals"):
        lines += ["", "| goal | met | numbers |", "|---|---|---|"]
        for goal in result["goals"]:
            numbers = ", ".join(f"{k}={v}" for k, v in goal.items() if k not in ("goal", "met"))
            lines.append(f"| {goal['goal']} | {'yes' if goal['met'] else 'NO'} | {numbers} |")
    return "\n".join(lines)
