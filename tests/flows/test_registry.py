"""MLflow registry: register a saved folder, resolve by version and alias, load, clear errors."""

from __future__ import annotations

import os

import pytest

from flows.errors import ModelNotFoundError, UnsupportedRegisteredModelError
from flows.registry import (
    list_versions,
    load_model,
    parse_model_uri,
    register_model,
    resolve_model,
    weights_hash,
)
from tests.flows.conftest import make_unsupported_copy


def test_register_resolve_and_load_by_version_and_alias(saved_models, settings):
    first = register_model(saved_models["a"], "captioner", alias="champion", settings=settings)
    second = register_model(saved_models["b"], "captioner", alias="candidate", settings=settings)
    assert (first.version, second.version) == ("1", "2")
    assert first.weights_hash == weights_hash(saved_models["a"]) != second.weights_hash
    assert first.architecture == "Qwen2VLForConditionalGeneration"

    by_alias = resolve_model("models:/captioner@candidate", settings)
    assert by_alias.version == "2" and by_alias.run_id == second.run_id
    assert "candidate" in by_alias.aliases
    assert by_alias.local_dir is not None and weights_hash(by_alias.local_dir) == second.weights_hash
    assert by_alias.local_dir.is_relative_to(settings.model_cache_dir)

    model, processor, resolved = load_model("models:/captioner/1", settings)
    assert type(model).__name__ == "Qwen2VLForConditionalGeneration"
    assert resolved.weights_hash == first.weights_hash and resolved.aliases == ("champion",)
    assert processor is not None
    assert (settings.home / "mlflow.db").is_file()
    # our default store must not leak into the environment as if the user had chosen it
    assert "MLFLOW_TRACKING_URI" not in os.environ and "MLFLOW_REGISTRY_URI" not in os.environ


def test_registering_the_same_weights_again_reuses_the_version(saved_models, settings):
    first = register_model(saved_models["a"], "captioner", settings=settings)
    again = register_model(saved_models["a"], "captioner", alias="champion", settings=settings)
    assert again.version == first.version
    assert [v.version for v in list_versions("captioner", settings)] == ["1"]
    forced = register_model(saved_models["a"], "captioner", settings=settings, reuse_existing=False)
    assert forced.version == "2"


def test_missing_model_version_and_alias_are_named(saved_models, settings):
    register_model(saved_models["a"], "captioner", settings=settings)
    with pytest.raises(ModelNotFoundError, match="no registered model named 'nope'"):
        resolve_model("models:/nope/1", settings)
    with pytest.raises(ModelNotFoundError, match="version 7"):
        resolve_model("models:/captioner/7", settings)
    with pytest.raises(ModelNotFoundError, match="alias 'champion'"):
        resolve_model("models:/captioner@champion", settings)
    with pytest.raises(ModelNotFoundError, match="not a registered-model URI"):
        parse_model_uri("runs:/abc/model")


def test_unsupported_folders_are_refused_before_registering(saved_models, settings, tmp_path):
    bad = make_unsupported_copy(saved_models["a"], tmp_path / "bert")
    with pytest.raises(UnsupportedRegisteredModelError, match="BertForMaskedLM.*supported: .*Qwen2VL"):
        register_model(bad, "captioner", settings=settings)
    no_weights = tmp_path / "no-weights"
    no_weights.mkdir()
    (no_weights / "config.json").write_text(open(saved_models["a"] / "config.json").read())
    with pytest.raises(UnsupportedRegisteredModelError, match="safetensors"):
        register_model(no_weights, "captioner", settings=settings)
    with pytest.raises(UnsupportedRegisteredModelError, match="not found"):
        register_model(tmp_path / "missing", "captioner", settings=settings)


def test_truncated_weights_are_refused_before_registering(saved_models, settings, tmp_path):
    import shutil

    folder = shutil.copytree(saved_models["a"], tmp_path / "truncated")
    weights = next(folder.glob("*.safetensors"))
    weights.write_bytes(weights.read_bytes()[:-100])
    with pytest.raises(UnsupportedRegisteredModelError, match="truncated or corrupt"):
        register_model(folder, "captioner", settings=settings)
    with pytest.raises(ModelNotFoundError):  # nothing was registered
        list_versions("captioner", settings)


def test_a_version_registered_outside_mllm_audit_is_refused(saved_models, settings, tmp_path):
    import mlflow

    from flows.registry import mlflow_client

    client = mlflow_client(settings)
    experiment = client.create_experiment("outside", artifact_location=(tmp_path / "artifacts").as_uri())

    class Echo(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return model_input

    with mlflow.start_run(experiment_id=experiment):
        mlflow.pyfunc.log_model(name="m", python_model=Echo(), registered_model_name="other", pip_requirements=["mlflow"])
    with pytest.raises(UnsupportedRegisteredModelError, match="not registered by mllm-audit"):
        resolve_model("models:/other/1", settings)


def test_tracking_uri_from_environment_is_honoured(saved_models, home, tmp_path, monkeypatch):
    from flows.config import load_settings

    uri = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.chdir(tmp_path)  # MLflow puts a foreign store's artifacts in ./mlruns
    settings = load_settings()
    assert settings.effective_tracking_uri == uri
    register_model(saved_models["a"], "captioner", settings=settings)
    assert (tmp_path / "elsewhere.db").is_file()
    assert not (home / "mlflow.db").exists()
    assert (tmp_path / "mlruns").is_dir()


def test_download_links_the_local_store_and_still_catches_a_modified_store(saved_models, settings):
    """A local artifact store is not copied a second time (multi-GB real checkpoints): the cached
    weights are the store's own files; a store changed since registration is still refused."""
    from flows.errors import RegistryError
    from flows.registry import download_model, safetensors_files

    registered = register_model(saved_models["a"], "linked", settings=settings)
    resolved = resolve_model("models:/linked/1", settings)
    cached = safetensors_files(resolved.local_dir)
    stored = [p for p in safetensors_files(settings.artifact_root) if p.name == cached[0].name]
    assert len(stored) == 1 and os.path.samefile(cached[0], stored[0])
    assert weights_hash(resolved.local_dir) == registered.weights_hash
    # someone rewrites the stored weights (a new inode: the link in the cache keeps the old bytes)
    import shutil

    shutil.rmtree(settings.model_cache_dir)
    data = bytearray(stored[0].read_bytes())
    data[-1] ^= 0xFF
    stored[0].unlink()
    stored[0].write_bytes(bytes(data))
    with pytest.raises(RegistryError, match="differs from the registered"):
        download_model(registered, settings)
    assert not any(settings.model_cache_dir.glob("linked/1/*")), "nothing half-written is left in the cache"
