"""The zoo's results file: measured models found in the zoo folder, half-trained ones skipped, and
each row saying whether a clean model met its targets or a shortcut used its cue."""

from __future__ import annotations

import json
import shutil

from auditors.demo import demo_model_dir
from auditors.demo.zoo import Zoo
from benchmarks.zoo_results import main


def test_the_results_file_lists_measured_models_with_their_targets(tmp_path):
    zoo = Zoo(tmp_path)
    for variant, name in (("clean", "clean-none-7"), ("shortcut", "shortcut-corner-7")):
        folder = zoo.folder / name
        folder.mkdir(parents=True)
        for file in ("evaluation.json", "training.json"):
            shutil.copy(demo_model_dir(variant) / file, folder / file)
    (zoo.folder / ".clean-none-8.tmp").mkdir()  # a half-trained model: hidden, skipped
    (zoo.folder / "clean-none-9").mkdir()  # trained but not measured: skipped

    out = tmp_path / "zoo.json"
    main(["--root", str(tmp_path), "--out", str(out)])
    document = json.loads(out.read_text())
    assert [m["name"] for m in document["models"]] == ["clean-none-7", "shortcut-corner-7"]
    clean, shortcut = document["models"]
    shipped = json.loads((demo_model_dir("clean") / "evaluation.json").read_text())["measurements"]["cue"]
    assert clean["measurements"]["cue"]["caption_exact"] == shipped["caption_exact"]
    assert any("shape wrong-word control" in miss for miss in clean["clean_target_misses"])  # the shipped miss
    assert shortcut["uses_its_cue"] == 1.0
    assert "| shortcut-corner-7 |" in document["markdown_table"] and "names its cue 1.00" in document["markdown_table"]


def test_another_thread_count_is_collected_from_its_own_folder(tmp_path):
    default, two_threads = Zoo(tmp_path), Zoo(tmp_path, threads=2)
    assert default.folder != two_threads.folder  # other threads train other weights: their own folder
    for zoo, name in ((default, "clean-none-7"), (two_threads, "clean-none-8")):
        folder = zoo.folder / name
        folder.mkdir(parents=True)
        for file in ("evaluation.json", "training.json"):
            shutil.copy(demo_model_dir("clean") / file, folder / file)

    main(["--root", str(tmp_path), "--threads", "2", "--out", str(tmp_path / "t2.json")])
    document = json.loads((tmp_path / "t2.json").read_text())
    assert [m["name"] for m in document["models"]] == ["clean-none-8"] and document["threads"] == 2
