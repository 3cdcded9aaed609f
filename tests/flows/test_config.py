"""Settings precedence: flags > environment > config file > defaults; bad files named."""

from __future__ import annotations

import pytest

from flows.config import load_settings
from flows.errors import ConfigError


@pytest.fixture()
def clean_env(monkeypatch, tmp_path):
    for key in ("MLLM_AUDIT_HOME", "MLLM_AUDIT_DB_URL", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI",
                "PREFECT_API_URL", "MLLM_AUDIT_CONFIG", "MLLM_AUDIT_WEBHOOK_URL", "MLLM_AUDIT_DASK_ADDRESS"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    return monkeypatch


def test_defaults_live_under_the_data_directory(clean_env, tmp_path):
    settings = load_settings()
    assert settings.home == (tmp_path / "user" / ".mllm-audit").resolve()
    assert settings.storage_url() == f"sqlite:///{settings.home / 'audit.db'}"
    assert settings.effective_tracking_uri == f"sqlite:///{settings.home / 'mlflow.db'}"
    assert settings.uses_default_mlflow_store and settings.prefect_api_url is None


def test_flags_beat_environment_beat_file(clean_env, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('db_url = "sqlite:///from-file.db"\ntracking_uri = "http://file:5000"\n'
                      'methods = ["tam"]\nwebhook_url = "http://hook"\n')
    clean_env.setenv("MLLM_AUDIT_CONFIG", str(config))
    clean_env.setenv("MLFLOW_TRACKING_URI", "http://env:5000")
    settings = load_settings(db_url="sqlite:///from-flag.db")
    assert settings.db_url == "sqlite:///from-flag.db"
    assert settings.tracking_uri == "http://env:5000"
    assert settings.methods == ("tam",) and settings.webhook_url == "http://hook"
    assert settings.config_file == config
    assert not settings.uses_default_mlflow_store


def test_yaml_file_in_the_data_directory_is_found(clean_env, tmp_path):
    home = tmp_path / "h"
    home.mkdir()
    (home / "config.yaml").write_text("mllm_audit:\n  db_url: postgresql+psycopg://a@b/c\n  max_workers: 3\n")
    clean_env.setenv("MLLM_AUDIT_HOME", str(home))
    settings = load_settings()
    assert settings.db_url == "postgresql+psycopg://a@b/c" and settings.max_workers == 3


@pytest.mark.parametrize(
    ("text", "suffix", "message"),
    [("nonsense = 1\n", ".toml", "unknown setting"), ("db_url = [\n", ".toml", "cannot parse"),
     ("max_workers: zero\n", ".yaml", "must be an integer"), ("x", ".ini", "must end in")],
)
def test_bad_config_files_are_named(clean_env, tmp_path, text, suffix, message):
    path = tmp_path / f"bad{suffix}"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_settings(path)


def test_missing_config_file(clean_env, tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "absent.toml")


def test_a_config_file_that_is_not_utf8_is_named(clean_env, tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'db_url = "sqlite:///caf\xe9.db"\n')
    with pytest.raises(ConfigError, match=r"latin1.toml is not UTF-8 text \(byte 0xe9"):
        load_settings(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [("home = 5\n", "'home' .* must be a folder path"),
     ('webhook_url = "not a url"\n', "webhook URL .* is not an http"),
     ('webhook_url = "ftp://hooks.example/x"\n', "webhook URL .* is not an http"),
     ("[regression]\ntolerances = { obj_iuo = 0.03 }\n", r"unknown metric\(s\) obj_iuo"),
     ('[regression]\ngroups = { metrics = ["pointing_gme"] }\n', r"unknown metric\(s\) pointing_gme"),
     ("[regression]\ndefault_tolerance = -0.1\n", "tolerances must be non-negative"),
     ("[regression]\nconfidence = 1.5\n", "confidence must lie strictly between 0 and 1"),
     ('[explain]\nmax_new_tokens = "8"\n', "invalid explain settings from .*max_new_tokens must be a whole number"),
     ("[explain]\nmax_new_token = 8\n", r"unknown explain setting\(s\) from .*max_new_token")],
)
def test_wrong_values_in_a_config_file_are_named_when_it_is_read(clean_env, tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_settings(path)


def test_a_webhook_flag_is_checked_as_the_command_lines(clean_env):
    with pytest.raises(ConfigError, match="webhook URL from the command line"):
        load_settings(webhook_url="hooks.example/x")
    assert load_settings(webhook_url="https://hooks.example/x").webhook_url == "https://hooks.example/x"


@pytest.mark.parametrize("address", ["not an address", "127.0.0.1", "tcp://sched:port", "http://sched:8786"])
def test_a_malformed_dask_address_is_named(clean_env, address):
    with pytest.raises(ConfigError, match="Dask scheduler address from the command line must be 'local' or"):
        load_settings(dask_address=address)


@pytest.mark.parametrize("address", ["local", "sched.internal:8786", "tcp://10.0.0.5:8786", "tls://sched:8786"])
def test_dask_addresses_a_scheduler_accepts_are_kept(clean_env, address):
    assert load_settings(dask_address=address).dask_address == address


def test_a_data_directory_that_is_a_file_is_named(clean_env, tmp_path):
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(ConfigError, match="data directory from the command line is not a folder: .*a-file"):
        load_settings(home=str(tmp_path / "a-file"))
    clean_env.setenv("MLLM_AUDIT_HOME", str(tmp_path / "a-file"))
    with pytest.raises(ConfigError, match=r"data directory from \$MLLM_AUDIT_HOME is not a folder"):
        load_settings()
