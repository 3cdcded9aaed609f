"""A stored synthetic audit for the report benchmark: two runs, a verdict and thumbnails in SQLite.

Why a stored audit and not records built in memory: the benchmark then measures what a user waits
for (`load_report_data` reading and decoding the database, then `build_report`), and the report is
built from the database alone, stored thumbnails included.

Pessimistic on purpose (the size budget must hold for real photographs and real grids): 224-px
scenes of the demo's scene generator with distractor dots and pixel noise (which compress worse
than flat shapes), 16x16 maps, two methods, candidate and baseline. The baseline's maps sit on the
objects it names, the candidate's on the corner cue (a shortcut), so the verdict fails and every
probe carries a note, as in a real regression.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from auditors.demo.scenes import SceneConfig, held_out_scenes
from comparison import RegressionConfig
from flows.verdicts import judge
from reports import read_run
from reports.encode import thumbnail
from storage.records import (GenerationRecord, MetricRecord, ModelVersionRecord, ProbeRecord, ProbeResult,
                             ProbeSetRecord, TokenMapRecord)
from storage.repository import AuditRepository

SCENES = SceneConfig(size=224, cell=14, min_object_size=40, max_object_size=80, distractors=25, cue_size=10)
METHODS = ("tam", "msea_arc")


def _noisy(image, rng: np.random.Generator) -> np.ndarray:
    pixels = np.asarray(image, dtype=np.int16) + rng.integers(-12, 13, size=(SCENES.size, SCENES.size, 3))
    return np.clip(pixels, 0, 255).astype(np.uint8)


def _bump(centre_xy: tuple[float, float], width: float = 1.5) -> np.ndarray:
    """A 16x16 map peaking at a pixel position."""
    grid = SCENES.grid
    cx, cy = (c / SCENES.cell - 0.5 for c in centre_xy)
    yy, xx = np.mgrid[0:grid, 0:grid]
    return np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * width**2)).astype(np.float32)


def _probe_result(key: str, words: list[str], centres: list[tuple[float, float]], noise: np.random.Generator,
                  scores: tuple[float, float]) -> ProbeResult:
    tokens = tuple(("\u0120" if i else "") + w for i, w in enumerate(words)) + ("<|im_end|>",)
    answer = GenerationRecord(key, "Describe the image.", " ".join(words), tuple(range(len(tokens))), tokens,
                              tuple(range(len(words))) + (-1,))
    maps = [TokenMapRecord(key, t, tokens[t], t, method, _bump(centres[t]) + 0.05 * noise.random((16, 16), np.float32))
            for method in METHODS for t in range(len(words))]
    low, high = scores
    metrics = [MetricRecord(method, "obj_iou", float(noise.uniform(low, high)), "higher_is_better", probe_key=key, word=w)
               for method in METHODS for w in sorted(set(words) - {"a", "and"})]
    return ProbeResult(key, answer, maps, metrics)


def build_stored_audit(db_path: Path, n_probes: int, seed: int = 0) -> tuple[AuditRepository, int]:
    """Write the synthetic audit to a fresh SQLite file; returns (repository, candidate run id)."""
    repo = AuditRepository(f"sqlite:///{db_path}")
    scenes = held_out_scenes(n_probes, seed, SCENES, cue="first")
    noise = np.random.default_rng(seed)
    probes = [ProbeRecord(f"p{i:04d}", f"images/p{i:04d}.png", "Describe the image.",
                          tuple(o.words for o in s.objects), thumbnail=thumbnail_of(s.image, noise))
              for i, s in enumerate(scenes)]
    probe_set = repo.get_or_create_probe_set(
        ProbeSetRecord(None, "report-benchmark", "1", f"synthetic-{n_probes}-{seed}", n_probes=n_probes), probes)
    cue_centre = tuple((a + b) / 2 for a, b in zip(SCENES.cue_box()[:2], SCENES.cue_box()[2:]))
    run_ids = []
    for version, shortcut in (("1", False), ("2", True)):
        model = repo.get_or_create_model_version(ModelVersionRecord(
            None, "report-benchmark", version, f"models:/report-benchmark/{version}", version * 64, "Synthetic"))
        run = repo.start_run(model.id, probe_set.id, {"methods": list(METHODS), "benchmark": "report"})
        results = []
        for probe, scene in zip(probes, scenes):
            words = " and ".join(f"a {o.colour} {o.shape}" for o in scene.objects).split()
            centres = [cue_centre if shortcut else scene.objects[min(t // 4, len(scene.objects) - 1)].centre
                       for t in range(len(words))]
            results.append(_probe_result(probe.probe_key, words, centres, noise, (0.0, 0.2) if shortcut else (0.5, 0.8)))
        repo.add_probe_results(run.id, results)
        repo.finish_run(run.id, "completed")
        run_ids.append(run.id)
    judge(repo, read_run(repo, run_ids[1]), read_run(repo, run_ids[0]), RegressionConfig())
    return repo, run_ids[1]


def thumbnail_of(image, noise: np.random.Generator) -> bytes:
    from PIL import Image

    return thumbnail(Image.fromarray(_noisy(image, noise)))
