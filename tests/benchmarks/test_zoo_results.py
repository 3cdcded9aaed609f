"""The zoo's results file: measured models found in the zoo folder, half-trained ones skipped, and
each row saying whether a clean model met its targets or a shortcut used its cue."""

from __future__ import annotations

import json
import shutil

from auditors.demo import demo_model_dir
from auditors.demo.zoo import Zoo, recipe_from_option
from benchmarks.zoo_results import default_results_file, main


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


def test_a_model_given_extra_stage1_cycles_shows_them_and_the_base_recipe_has_its_own_folder_and_file(tmp_path):
    base, cycled = Zoo(tmp_path, recipe_from_option(0)), Zoo(tmp_path)
    assert base.folder != cycled.folder and cycled.base_folder == base.folder
    folder = cycled.folder / "clean-none-7"
    folder.mkdir(parents=True)
    shutil.copy(demo_model_dir("clean") / "evaluation.json", folder / "evaluation.json")
    training = json.loads((demo_model_dir("clean") / "training.json").read_text())
    first = next(s for s in training["stages"] if s["stage"] == 1)
    training["stages"].append({**first, "final_loss": 0.0312, "wall_s": 600.0, "cycle": 1})
    (folder / "training.json").write_text(json.dumps(training))

    main(["--root", str(tmp_path), "--out", str(tmp_path / "z.json")])
    entry = json.loads((tmp_path / "z.json").read_text())["models"][0]
    assert entry["stage1_extra_cycles"] == 1 and entry["stage1_losses"] == [round(first["final_loss"], 4), 0.0312]
    assert entry["stage1_minutes"] == round((first["wall_s"] + 600.0) / 60, 1)
    assert f"{first['final_loss']:.3f} -> 0.031" in json.loads((tmp_path / "z.json").read_text())["markdown_table"]
    main(["--root", str(tmp_path), "--stage1-extra-cycles", "0", "--out", str(tmp_path / "b.json")])
    assert json.loads((tmp_path / "b.json").read_text())["models"] == []  # the base recipe's folder is empty
    assert default_results_file(None, None).name == "zoo.json"
    assert default_results_file(2, 0).name == "zoo-threads2-cycles0.json"
