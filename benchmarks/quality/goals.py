"""The results grouped per model version and method, and the goals judged on them."""

from __future__ import annotations


def organise(summary: dict, methods) -> dict:
    out: dict[str, dict] = {"caption_accuracy": summary.get("caption_accuracy"), "methods": {}}
    for method in methods:
        prefix = f"{method}/"
        out["methods"][method] = {key[len(prefix):]: value for key, value in sorted(summary.items())
                                  if key.startswith(prefix)}
    return out


def _clean_goals(get, add, methods) -> None:
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
        area = get("clean", method, "chance")
        if p and chance:
            add(f"clean {method}: pointing game CI above chance (share of cells the mask touches)",
                p["ci_low"] is not None and p["ci_low"] > chance["value"], value=p["value"],
                ci_low=p["ci_low"], chance_cells=chance["value"], area_fraction=area.get("value"))
        if own and wrong:
            add(f"clean {method}: pointing game above its wrong-word control (same words)",
                own["ci_low"] is not None and wrong["ci_high"] is not None and own["ci_low"] > wrong["ci_high"],
                own=own["value"], wrong_word=wrong["value"])
        energy = get("clean", method, "energy_in_mask")
        if energy and area:
            add(f"clean {method}: energy in mask CI above chance (mask area fraction)",
                energy["ci_low"] is not None and energy["ci_low"] > area["value"], value=energy["value"],
                ci_low=energy["ci_low"], area_fraction=area["value"])
        sanity = get("clean", method, "randomisation_spearman")
        if sanity:
            add(f"clean {method}: randomised-weights Spearman < 0.3", sanity["value"] < 0.3, value=sanity["value"])


def check_goals(models: dict, methods) -> list[dict]:
    """Each goal with ``met`` and the numbers it was judged on."""
    goals: list[dict] = []

    def get(variant, method, key):
        return (models.get(variant, {}).get("methods", {}).get(method, {}) or {}).get(key) or {}

    def add(goal, met, **numbers):
        goals.append({"goal": goal, "met": bool(met) if met is not None else None, **numbers})

    if "clean" in models:
        _clean_goals(get, add, methods)
    if "clean" in models and "shortcut" in models:
        for method in methods:
            clean = get("clean", method, "obj_iou_per_word[colour]")
            shortcut = get("shortcut", method, "obj_iou_per_word[colour]")
            if clean and shortcut and clean["ci_low"] is not None and shortcut["ci_high"] is not None:
                add(f"{method}: shortcut colour-word Obj-IoU below clean (CIs apart)",
                    shortcut["ci_high"] < clean["ci_low"], clean=clean["value"], shortcut=shortcut["value"])
    return goals
