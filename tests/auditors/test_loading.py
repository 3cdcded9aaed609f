"""`auditors.loading`: a damaged model folder is named as the user's input, never a library crash."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from safetensors.numpy import save_file

from auditors import load_pretrained
from auditors.demo import demo_model_dir
from auditors.errors import AuditorInputError
from auditors.loading import check_safetensors_file


@pytest.fixture()
def whole_file(tmp_path):
    path = tmp_path / "model.safetensors"
    save_file({"a": np.arange(64, dtype=np.float32), "b": np.ones((4, 4), dtype=np.float16)}, str(path))
    return path


def test_a_whole_safetensors_file_passes(whole_file):
    check_safetensors_file(whole_file)


@pytest.mark.parametrize(
    ("damage", "message"),
    [(lambda b: b[:-10], "header describes"),  # a truncated download: the header is intact
     (lambda b: b + b"\0", "header describes"),
     (lambda b: b[:5], "header size unreadable"),
     (lambda b: bytes(range(256)) * 8, "header size unreadable"),
     (lambda b: b[:8] + b"{" * (len(b) - 8), "corrupt safetensors header")],
    ids=["truncated-data", "trailing-bytes", "shorter-than-a-header", "random-bytes", "header-not-json"],
)
def test_a_damaged_safetensors_file_is_named(whole_file, damage, message):
    whole_file.write_bytes(damage(whole_file.read_bytes()))
    with pytest.raises(AuditorInputError, match=f"model.safetensors .*{message}"):
        check_safetensors_file(whole_file)


def test_loading_a_folder_with_truncated_weights_names_the_file(tmp_path):
    folder = shutil.copytree(demo_model_dir("clean"), tmp_path / "model")
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(AuditorInputError, match="model.safetensors is not a safetensors file or is truncated"):
        load_pretrained(folder)


@pytest.mark.parametrize(("text", "message"), [("{", "is not valid JSON"), ("[1, 2]", "must hold a JSON object")])
def test_loading_a_folder_with_a_broken_config_names_it(tmp_path, text, message):
    folder = shutil.copytree(demo_model_dir("clean"), tmp_path / "model")
    (folder / "config.json").write_text(text)
    with pytest.raises(AuditorInputError, match=f"config.json {message}"):
        load_pretrained(folder)
