"""The real-size path driver and the explain-speed benchmark, run end to end on miniature folders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.real_shapes import build
from benchmarks.real_size_path import expected_grid, make_probe_set, run_step
from benchmarks.real_specs import SHAPES, miniature

REPO = Path(__file__).resolve().parents[2]


def test_probe_set_has_square_448_and_one_native_probe(tmp_path):
    make_probe_set(tmp_path / "probes")
    from auditors.probes import load_probe_set

    probes = {p.id: p for p in load_probe_set(tmp_path / "probes")}
    assert set(probes) == {"astronaut", "coffee", "rocket", "chelsea"}
    for key in ("astronaut", "coffee", "rocket"):
        assert probes[key].load_image().size == (448, 448)
        assert probes[key].load_mask(0).shape == (448, 448) and probes[key].load_mask(0).any()
    assert probes["chelsea"].load_image().size == (451, 300)


def test_expected_grid_reads_the_checkpoint_not_the_adapters(tmp_path):
    from PIL import Image

    qwen = build(miniature(SHAPES["qwen2.5-vl-3b"]), tmp_path / "qwen", dtype="float32") and tmp_path / "qwen"
    internvl = build(miniature(SHAPES["internvl3-1b"]), tmp_path / "ivl", dtype="float32") and tmp_path / "ivl"
    assert expected_grid(qwen, Image.new("RGB", (448, 448))) == (16, 16)
    assert expected_grid(qwen, Image.new("RGB", (451, 300))) == (11, 16)
    assert expected_grid(internvl, Image.new("RGB", (451, 300))) == (16, 16)


def test_run_step_reads_the_childs_own_peak_memory(tmp_path):
    """About 200 MB allocated by the child shows in its step; the driver's own memory does not."""
    grab = "import numpy as np; a = np.ones(200 * 2**20 // 8); print(a.sum())"
    step = run_step([sys.executable, "-c", grab], env=dict(os.environ), log=tmp_path / "grab.log")
    assert step.returncode == 0 and 200 < step.peak_rss_mb < 400
    failed = run_step([sys.executable, "-c", "raise SystemExit(3)"], env=dict(os.environ), log=tmp_path / "fail.log")
    assert failed.returncode == 3


@pytest.mark.slow
def test_the_whole_path_on_a_miniature(tmp_path):
    """register -> audit (config file: 2 new tokens) -> report -> stored grids checked, in subprocesses."""
    folder = tmp_path / "model"
    build(miniature(SHAPES["qwen2-vl-2b"]), folder, dtype="bfloat16")
    out = tmp_path / "results.json"
    done = subprocess.run([sys.executable, "-m", "benchmarks.real_size_path", "qwen2-vl-2b", "--work", str(tmp_path / "w"),
                           "--model", str(folder), "--max-new-tokens", "2", "--out", str(out), "--cleanup"],
                          cwd=REPO, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    family = json.loads(out.read_text())["families"]["qwen2-vl-2b"]
    assert family["all_grids_ok"] and family["grids"]["rocket"]["stored"]["tam"] == [[16, 16]]
    assert family["grids"]["chelsea"]["expected"] == [11, 16]
    assert {"register", "audit", "report", "check"} <= set(family["steps"])
    assert all(step["peak_rss_mb"] > 50 for step in family["steps"].values())
    assert not (tmp_path / "w" / "home" / "models").exists()  # --cleanup removed the download copy


@pytest.mark.slow
def test_explain_speed_on_a_folder_writes_every_goal(tmp_path):
    folder = tmp_path / "model"
    build(miniature(SHAPES["internvl3-1b"]), folder, dtype="float32")
    out = tmp_path / "speed.json"
    done = subprocess.run([sys.executable, "-m", "benchmarks.explain_speed", "--model", str(folder), "--runs", "1",
                           "--max-new-tokens", "3", "--out", str(out)], cwd=REPO, capture_output=True, text=True,
                          timeout=900, env={**os.environ, "BENCH_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(out.read_text())
    assert set(report["goals_met"]) == {"b_over_a <= 1.05", "c_over_e <= 1.10", "peak_b_over_d <= 0.5",
                                        "peak_c_over_d <= 0.5"}
    assert report["machine"]["device"] == "cpu" and report["model"]["architecture"] == "InternVLForConditionalGeneration"
    assert report["results"]["b_explain_tam_arc"]["answer_tokens"] == 3
    assert "note" not in report["machine"]
