"""Fixtures of the flows tests: saved tiny models and an isolated data directory per test.

Why per-test homes: the registry, database and model cache all live under the data directory, and
tests must not see each other's registrations.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from flows.config import load_settings


@pytest.fixture(scope="session")
def saved_models(tmp_path_factory) -> dict[str, Path]:
    """Two tiny random Qwen2-VL folders with different weights (seed 0 and 1), saved once."""
    from auditors.synthetic_models import build_synthetic_vlm

    root = tmp_path_factory.mktemp("saved-models")
    folders = {}
    for name, seed in (("a", 0), ("b", 1)):
        model, processor = build_synthetic_vlm("qwen2_vl", seed=seed)
        folder = root / name
        model.save_pretrained(folder)
        processor.save_pretrained(folder)
        folders[name] = folder
    return folders


@pytest.fixture()
def restored_environment():
    """The CLI exports its settings to the environment (for workers); undo that after the test."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture()
def home(tmp_path, monkeypatch) -> Path:
    """A fresh data directory (registry, database, caches) for one test."""
    path = tmp_path / "home"
    monkeypatch.setenv("MLLM_AUDIT_HOME", str(path))
    monkeypatch.delenv("MLLM_AUDIT_DB_URL", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    return path


@pytest.fixture()
def settings(home):
    return load_settings()


def make_unsupported_copy(folder: Path, dest: Path) -> Path:
    """A copy of a saved folder whose config names an architecture no adapter supports."""
    shutil.copytree(folder, dest)
    config = json.loads((dest / "config.json").read_text())
    config["architectures"] = ["BertForMaskedLM"]
    (dest / "config.json").write_text(json.dumps(config))
    return dest


@pytest.fixture(scope="session")
def prefect_harness():
    """One throwaway Prefect API for every test that really runs a flow (session scope: a harness
    starts a server and a database, ~10-20 s)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="module")
def audit_env(tmp_path_factory, saved_models, prefect_harness):
    """A data directory with `cap` v1 (@champion) and v2 (@candidate) registered and a 5-probe set.

    Module scope because registering costs seconds; the registry is shared, so a test that needs
    fresh runs uses a probe set of its own, and a test that registers more versions uses another
    model name: every test passes alone and in any order.
    """
    from flows.registry import register_model
    from tests.flows.helpers import let_drift_alone_fail, write_probe_set

    root = tmp_path_factory.mktemp("audit-env")
    let_drift_alone_fail(root / "home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLLM_AUDIT_HOME", str(root / "home"))
        patch.delenv("MLLM_AUDIT_DB_URL", raising=False)
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        settings = load_settings()
        register_model(saved_models["a"], "cap", alias="champion", settings=settings)
        register_model(saved_models["b"], "cap", alias="candidate", settings=settings)
        probes = write_probe_set(root / "probes", n=5)
        yield {"settings": settings, "probes": probes, "root": root}
    from flows.worker import clear_caches

    clear_caches()


@pytest.fixture(scope="session")
def loopback_prefect(tmp_path_factory):
    """One real `prefect server` on 127.0.0.1 for the tests that need a server, not the temporary
    API (`testkit.loopback`); its API URL. Tests that read it back filter by their own resources."""
    from testkit.loopback import prefect_server

    with prefect_server(tmp_path_factory.mktemp("prefect-server")) as server:
        yield server.url
