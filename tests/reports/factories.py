"""Synthetic storage records for the report tests.

A "clean" baseline looks at the object it names; a "shortcut" candidate looks at a corner marker.
Built directly as storage records: no model, no database needed; the verdict is the real
`comparison.compare_runs` of the two synthetic runs.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np

from comparison import RunResults, compare_runs
from reports import HistoryEntry, ReportData
from storage.records import (
    AlertRecord,
    AuditRunRecord,
    GenerationRecord,
    MetricRecord,
    ModelVersionRecord,
    ProbeRecord,
    ProbeSetRecord,
    TokenMapRecord,
)

COLORS = {"red": (220, 40, 40), "blue": (40, 70, 220), "green": (40, 170, 60),
          "yellow": (230, 200, 30)}
SHAPES = ("circle", "square")
T0 = datetime(2026, 11, 25, 20, 0, tzinfo=timezone.utc)


def scene(rng: np.random.Generator, size: int = 224) -> tuple[np.ndarray, list[tuple[str, str, tuple[int, int]]]]:
    """A textured background with two shapes; returns the image and (colour, shape, centre)."""
    img = (rng.integers(150, 200, size=(size, size, 1)) + rng.integers(0, 20, size=(size, size, 3))
           ).astype(np.uint8)
    objects = []
    yy, xx = np.mgrid[0:size, 0:size]
    for k in range(2):
        color = list(COLORS)[int(rng.integers(0, len(COLORS)))]
        shape = SHAPES[int(rng.integers(0, 2))]
        cy = int(rng.integers(50, size - 50))
        cx = int(size * (0.3 + 0.4 * k))
        r = 26
        mask = ((yy - cy) ** 2 + (xx - cx) ** 2 <= r * r) if shape == "circle" else (
            (abs(yy - cy) <= r) & (abs(xx - cx) <= r))
        img[mask] = COLORS[color]
        objects.append((color, shape, (cy, cx)))
    img[4:20, 4:20] = COLORS[objects[0][0]]  # the shortcut's corner marker
    return img, objects


def blob(center_px: tuple[int, int], grid: int = 16, size: int = 224, width: float = 1.5) -> np.ndarray:
    cy, cx = (center_px[0] + 0.5) * grid / size - 0.5, (center_px[1] + 0.5) * grid / size - 0.5
    yy, xx = np.mgrid[0:grid, 0:grid]
    return np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * width**2)).astype(np.float32)


def generation(key: str, prompt: str, words: list[str]) -> GenerationRecord:
    tokens = tuple(("\u0120" if i else "") + w for i, w in enumerate(words)) + ("<|im_end|>",)
    return GenerationRecord(key, prompt, " ".join(words), tuple(range(100, 100 + len(tokens))),
                            tokens, tuple(range(len(words))) + (-1,))


def make_report_data(
    n_probes: int = 6,
    *,
    methods: tuple[str, ...] = ("tam", "msea_arc"),
    with_baseline: bool = True,
    prompt: str = "Describe the image.",
    prompts: dict[int, str] | None = None,
    answers: dict[int, list[str]] | None = None,
    seed: int = 0,
    grid: int = 16,
) -> ReportData:
    """Candidate = shortcut (maps on the corner marker), baseline = clean (maps on objects)."""
    rng = np.random.default_rng(seed)
    ps = ProbeSetRecord(1, "shapes-probes", "1.0", "sha256:" + "ab" * 32, "synthetic", n_probes)
    cand_mv = ModelVersionRecord(2, "demo-captioner", "2", "models:/demo-captioner/2",
                                 "c" * 64, "Qwen2VLForConditionalGeneration", run_id="mlflowrun2")
    base_mv = ModelVersionRecord(1, "demo-captioner", "1", "models:/demo-captioner/1",
                                 "b" * 64, "Qwen2VLForConditionalGeneration", run_id="mlflowrun1")
    config = {"methods": list(methods), "tam": {"rank_filter": True, "sigma": 1.0}}
    packages = {"torch": "2.13.0", "transformers": "5.24.0", "plotly": "7.1.0"}
    cand_run = AuditRunRecord(12, 2, 1, "cfg" + "0" * 61, config, "completed", T0,
                              T0 + timedelta(minutes=3), packages, "git:abc123", {"explain": 150.0})
    base_run = AuditRunRecord(11, 1, 1, "cfg" + "0" * 61, config, "completed",
                              T0 - timedelta(days=1), T0 - timedelta(days=1, minutes=-3), packages,
                              "git:abc123", {"explain": 149.0})
    probes, images = [], {}
    gens, base_gens, maps, base_maps, metrics, base_metrics = [], [], [], [], [], []
    for i in range(n_probes):
        key = f"p{i:04d}"
        img, objects = scene(rng)
        p_prompt = (prompts or {}).get(i, prompt)
        words = ["a", objects[0][0], objects[0][1], "and", "a", objects[1][0], objects[1][1]]
        cand_words = (answers or {}).get(i, words)
        probes.append(ProbeRecord(key, f"images/{key}.png", p_prompt,
                                  ((objects[0][0], objects[0][1]),), id=i + 1))
        images[key] = img
        gens.append(generation(key, p_prompt, cand_words))
        base_gens.append(generation(key, p_prompt, words))
        for side_words, target, side_maps, shortcut in (
            (cand_words, gens, maps, True), (words, base_gens, base_maps, False)):
            for t, w in enumerate(side_words):
                obj = 0 if t < 3 else 1
                centre = (12, 12) if shortcut else objects[obj][2]
                for m_i, method in enumerate(methods):
                    g = blob(centre, grid) + 0.05 * m_i * rng.random((grid, grid)).astype(np.float32)
                    side_maps.append(TokenMapRecord(key, t, ("\u0120" if t else "") + w, t, method, g))
        for method in methods:
            for w in set(words[1:3]):
                base_metrics.append(MetricRecord(method, "obj_iou", float(rng.uniform(0.5, 0.8)),
                                                 "higher_is_better", probe_key=key, word=w))
                metrics.append(MetricRecord(method, "obj_iou", float(rng.uniform(0.0, 0.2)),
                                            "higher_is_better", probe_key=key, word=w))
            base_metrics.append(MetricRecord(method, "pointing_game", float(rng.random() < 0.9),
                                             "higher_is_better", probe_key=key))
            metrics.append(MetricRecord(method, "pointing_game", float(rng.random() < 0.1),
                                        "higher_is_better", probe_key=key))
    for method in methods:
        metrics.append(MetricRecord(method, "f1_iou", 0.12, "higher_is_better"))
        base_metrics.append(MetricRecord(method, "f1_iou", 0.55, "higher_is_better"))
    verdict = compare_runs(RunResults(cand_run.id, metrics, maps, gens),
                           RunResults(base_run.id, base_metrics, base_maps, base_gens))
    history = [
        HistoryEntry(11, "1", "completed", base_run.started_at, base_run.finished_at,
                     "shapes-probes@1.0", None, None,
                     tuple(m for m in base_metrics if m.probe_key is None)),
        HistoryEntry(12, "2", "completed", cand_run.started_at, cand_run.finished_at,
                     "shapes-probes@1.0", "fail", 11,
                     tuple(m for m in metrics if m.probe_key is None)),
    ]
    alerts = [AlertRecord(12, "fail", "mllm-audit FAIL: demo-captioner version 2",
                          ("cli", "webhook"), {"reasons": list(verdict.reasons)}, T0)]
    if not with_baseline:
        return ReportData(cand_run, cand_mv, ps, probes, gens, maps, metrics,
                          probe_images=images, history=history[1:])
    return ReportData(
        run=cand_run, model_version=cand_mv, probe_set=ps, probes=probes, generations=gens,
        maps=maps, metrics=metrics, baseline_run=base_run, baseline_model_version=base_mv,
        baseline_generations=base_gens, baseline_maps=base_maps, baseline_metrics=base_metrics,
        verdict=verdict, alerts=alerts, history=history,
        probe_images=images,
    )
