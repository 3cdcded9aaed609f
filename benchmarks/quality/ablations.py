"""Ablations on the clean model: each reconstruction choice of MSEA and ARC, and the rank filter."""

from __future__ import annotations

import time
from dataclasses import replace

from benchmarks.quality.scoring import LOCALISATION, record_values
from benchmarks.quality.stats import ProbeStats, summarise

REPORTED = ("f1_iou", "obj_iou", "func_iou", "pointing_game", "energy_in_mask", "obj_iou_per_word[colour]",
            "obj_iou_per_word[shape]")


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


def settings_diff(base, settings) -> dict:
    a, b = base.to_dict(), settings.to_dict()
    return {k: v for k, v in b.items() if a.get(k) != v}


def score_probes(model, processor, probes, methods, settings, vocabulary, colours, shapes) -> list[ProbeStats]:
    """Localisation statistics of ``methods`` under ``settings`` on every probe (no controls)."""
    import auditors
    from auditors.metrics import score_explanation

    all_stats = []
    for probe in probes:
        stats = ProbeStats(probe.id)
        image = probe.load_image()
        explanation = auditors.explain(model, processor, image, probe.prompt, methods=methods, settings=settings)
        values = score_explanation(explanation, probe, methods, LOCALISATION, noun_vocabulary=vocabulary, image=image)
        record_values(stats, values, "", colours, shapes)
        all_stats.append(stats)
    return all_stats


def run_ablations(model_dir, probes, base_settings, vocabulary, colours, shapes, available, *, n_boot: int,
                  seed: int) -> list[dict]:
    import auditors
    from auditors.errors import AuditorInputError
    from tqdm import tqdm

    model, processor = auditors.load_pretrained(model_dir)
    results = []
    for name, methods, settings in tqdm(ablation_settings(base_settings), desc="ablations", unit="config"):
        methods = [m for m in methods if m in available]
        entry = {"name": name, "methods": methods, "settings": settings_diff(base_settings, settings)}
        t0 = time.perf_counter()
        try:
            all_stats = score_probes(model, processor, probes, methods, settings, vocabulary, colours, shapes)
        except AuditorInputError as error:
            entry["error"] = str(error)
            results.append(entry)
            continue
        summary = summarise(all_stats, methods, n_boot, seed)
        entry["metrics"] = {method: {metric: summary.get(f"{method}/{metric}") for metric in REPORTED}
                            for method in methods}
        entry["seconds"] = round(time.perf_counter() - t0, 1)
        results.append(entry)
    return results
