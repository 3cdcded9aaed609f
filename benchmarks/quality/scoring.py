"""One probe through the explainers and the metrics, and one model version over every probe."""

from __future__ import annotations

import time

from benchmarks.quality.controls import record_controls
from benchmarks.quality.stats import ProbeStats
from benchmarks.quality.words import normalise_caption, word_kind

LOCALISATION = ["obj_iou", "obj_iou_per_word", "func_iou", "obj_precision", "obj_recall", "pointing_game",
                "energy_in_mask"]
UNTRAINED_SEED_OFFSET = 100_003  # the control's init seed must differ from any seed a model was built with


def record_values(stats: ProbeStats, values, suffix: str, colours, shapes) -> None:
    """Add metric values (``auditors.metrics.MetricValue``) of words under ``method/metric<suffix>``,
    and again under the word's kind (``method/metric[colour]<suffix>``)."""
    for value in values:
        if value.word is None:
            continue
        stats.add(f"{value.method}/{value.metric}{suffix}", value.value)
        kind = word_kind(value.word, colours, shapes)
        if kind:
            stats.add(f"{value.method}/{value.metric}[{kind}]{suffix}", value.value)


def evaluate_probe(model, processor, probe, methods, settings, vocabulary, colours, shapes,
                   untrained=None, faithfulness: bool = False) -> tuple[ProbeStats, dict[str, float]]:
    """Explain ``probe``, score it with its controls; optionally faithfulness and the untrained model."""
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


def run_variant(variant: str, model_dir, probes, methods, settings, vocabulary, colours, shapes, *,
                controls: bool, control_seed: int, faithfulness_probes: int):
    """Every probe through one model version: ``(stats per probe, timings per probe)``."""
    import torch
    from tqdm import tqdm

    import auditors
    from auditors.metrics import untrained_copy

    model, processor = auditors.load_pretrained(model_dir)
    untrained = None
    if controls:
        untrained = untrained_copy(model, seed=control_seed + UNTRAINED_SEED_OFFSET)
        if all(torch.equal(a, b) for a, b in zip(untrained.state_dict().values(), model.state_dict().values())):
            raise RuntimeError("the untrained control has the trained model's weights: pick another --seed")
    all_stats, timings = [], []
    for index, probe in enumerate(tqdm(probes, desc=f"{variant}: probes", unit="probe")):
        stats, timing = evaluate_probe(model, processor, probe, methods, settings, vocabulary, colours, shapes,
                                       untrained=untrained, faithfulness=index < faithfulness_probes)
        all_stats.append(stats)
        timings.append(timing)
    return all_stats, timings
