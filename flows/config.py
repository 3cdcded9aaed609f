"""Settings of the orchestration layer: where the data directory, database, registry and Prefect live.

Precedence, highest first: explicit arguments (CLI flags) > environment variables
(`MLLM_AUDIT_HOME`, `MLLM_AUDIT_DB_URL`, `MLFLOW_TRACKING_URI`, `MLFLOW_REGISTRY_URI`,
`PREFECT_API_URL`, `MLLM_AUDIT_WEBHOOK_URL`, `MLLM_AUDIT_DASK_ADDRESS`) > an optional config file
(TOML or YAML: `--config`, else `$MLLM_AUDIT_CONFIG`, else `$MLLM_AUDIT_HOME/config.toml|.yaml`)
> defaults. Why one resolver: the CLI, the Prefect flows (which may run in a worker started from a
deployment) and the benchmark must all agree on the same database and registry.

Defaults (one machine, no servers): data directory `~/.mllm-audit`, audit database
`sqlite:///<home>/audit.db` (chosen by `storage/` when no URL is given), MLflow tracking and
registry `sqlite:///<home>/mlflow.db` with artifacts in `<home>/mlartifacts`, Prefect's ephemeral API.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from flows.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover - typing only
    from comparison import RegressionConfig

ENV_HOME = "MLLM_AUDIT_HOME"
ENV_DB_URL = "MLLM_AUDIT_DB_URL"
ENV_CONFIG = "MLLM_AUDIT_CONFIG"

_ENV_KEYS: dict[str, str] = {
    "home": ENV_HOME,
    "db_url": ENV_DB_URL,
    "tracking_uri": "MLFLOW_TRACKING_URI",
    "registry_uri": "MLFLOW_REGISTRY_URI",
    "prefect_api_url": "PREFECT_API_URL",
    "webhook_url": "MLLM_AUDIT_WEBHOOK_URL",
    "dask_address": "MLLM_AUDIT_DASK_ADDRESS",
}


def default_home() -> Path:
    return Path(os.environ.get(ENV_HOME) or Path.home() / ".mllm-audit").expanduser()


@dataclass(frozen=True)
class Settings:
    """Resolved settings. `None` for a URL means "the default under `home`"."""

    home: Path = field(default_factory=default_home)
    db_url: str | None = None
    tracking_uri: str | None = None
    registry_uri: str | None = None
    prefect_api_url: str | None = None
    webhook_url: str | None = None
    dask_address: str | None = None
    experiment_name: str = "mllm-audit"
    methods: tuple[str, ...] = ("tam", "msea_arc")
    max_workers: int = 2
    regression: dict[str, Any] = field(default_factory=dict)  # comparison.RegressionConfig fields
    explain: dict[str, Any] = field(default_factory=dict)  # auditors.ExplainSettings fields, e.g. max_new_tokens
    config_file: Path | None = None

    # ---- derived locations -------------------------------------------------------------------
    @property
    def mlflow_db_path(self) -> Path:
        return self.home / "mlflow.db"

    @property
    def artifact_root(self) -> Path:
        return self.home / "mlartifacts"

    @property
    def model_cache_dir(self) -> Path:
        """Where registered model folders are downloaded to (one folder per name/version)."""
        return self.home / "models"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def probes_dir(self) -> Path:
        return self.home / "probes"

    @property
    def effective_tracking_uri(self) -> str:
        return self.tracking_uri or f"sqlite:///{self.mlflow_db_path}"

    @property
    def effective_registry_uri(self) -> str:
        return self.registry_uri or self.effective_tracking_uri

    @property
    def uses_default_mlflow_store(self) -> bool:
        """True when MLflow lives in our own SQLite file (we then choose the artifact folder)."""
        return self.tracking_uri is None

    def storage_url(self) -> str:
        """The URL handed to `storage.repository.AuditRepository`: explicit, so every worker agrees.

        The default SQLite file's folder (the data directory) is created here, as storage only
        creates it for its own implicit default.
        """
        if self.db_url:
            return self.db_url
        self.home.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{self.home / 'audit.db'}"

    def export_env(self) -> None:
        """Make child processes and `storage/`'s own default agree with these settings.

        Why: Prefect workers, Dask workers and `storage/` read the environment, not this object.
        """
        os.environ[ENV_HOME] = str(self.home)
        if self.config_file:  # the flow resolves its settings again: it must read the same file
            os.environ[ENV_CONFIG] = str(self.config_file)
        if self.db_url:
            os.environ[ENV_DB_URL] = self.db_url
        if self.tracking_uri:
            os.environ["MLFLOW_TRACKING_URI"] = self.tracking_uri
        if self.registry_uri:
            os.environ["MLFLOW_REGISTRY_URI"] = self.registry_uri
        if self.prefect_api_url:
            os.environ["PREFECT_API_URL"] = self.prefect_api_url


def _read_config_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {path} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
                          f"{exc.start}): save it as UTF-8") from exc
    try:
        if path.suffix.lower() == ".toml":
            data: Any = tomllib.loads(text)
        elif path.suffix.lower() in {".yaml", ".yml"}:
            import yaml

            data = yaml.safe_load(text) or {}
        else:
            raise ConfigError(f"config file must end in .toml, .yaml or .yml: {path}")
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"cannot parse config file {path}: {exc}") from exc
    except Exception as exc:  # yaml.YAMLError without importing yaml at module level
        raise ConfigError(f"cannot parse config file {path}: {exc}") from exc
    if isinstance(data, dict) and "mllm_audit" in data and isinstance(data["mllm_audit"], dict):
        data = data["mllm_audit"]
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a table/mapping of settings")
    known = {f.name for f in fields(Settings)} - {"config_file"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"unknown setting(s) in {path}: {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    return data


def _find_config_file(explicit: str | Path | None, home: Path) -> Path | None:
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get(ENV_CONFIG):
        return Path(os.environ[ENV_CONFIG]).expanduser()
    for name in ("config.toml", "config.yaml", "config.yml"):
        candidate = home / name
        if candidate.is_file():
            return candidate
    return None


def _coerce(name: str, value: Any, source: str) -> Any:
    if value is None:
        return None
    if name == "home":
        if not isinstance(value, (str, Path)):
            raise ConfigError(f"'home' from {source} must be a folder path (text), got {type(value).__name__}")
        home = Path(value).expanduser().resolve()
        if home.exists() and not home.is_dir():  # it is created on first use: a file there cannot be
            raise ConfigError(f"data directory from {source} is not a folder: {home}")
        return home
    if name == "methods":
        if isinstance(value, str):
            value = [v for v in value.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)) or not value:
            raise ConfigError(f"'methods' from {source} must be a non-empty list of method names")
        return tuple(str(v).strip() for v in value)
    if name in ("regression", "explain"):
        if not isinstance(value, dict):
            raise ConfigError(f"'{name}' from {source} must be a table of {name} settings")
        if name == "regression":
            check_regression_table(value, source)
        else:  # checked where read: the flow would only find a typo after Prefect and the registry started
            from flows.errors import FlowsInputError
            from flows.identity import explain_settings_dict

            try:
                explain_settings_dict(value, source)
            except FlowsInputError as exc:
                raise ConfigError(str(exc)) from exc
        return dict(value)
    if name == "max_workers":
        try:
            number = int(value)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"'max_workers' from {source} must be an integer, got {value!r}") from exc
        if number < 1:
            raise ConfigError(f"'max_workers' from {source} must be >= 1, got {number}")
        return number
    if not isinstance(value, str):
        raise ConfigError(f"'{name}' from {source} must be a string, got {type(value).__name__}")
    if name == "webhook_url" and value.strip():
        check_webhook_url(value.strip(), source)
    if name == "dask_address" and value.strip():
        check_dask_address(value.strip(), source)
    return value.strip() or None


def check_regression_table(table: Mapping[str, Any], source: str) -> "RegressionConfig":
    """The comparison settings of a `[regression]` table, every value and metric name checked.

    Why when the table is read: a typo (`obj_iuo`) or a negative tolerance must be answered before
    hours of explaining, and a tolerance for a metric no audit computes would otherwise be ignored
    without a word (the verdict would silently use the default).
    """
    from auditors.metrics import available_metrics
    from comparison import ComparisonError, RegressionConfig

    try:
        config = RegressionConfig.from_user_table(table)
    except ComparisonError as exc:
        raise ConfigError(f"invalid regression settings from {source}: {exc}") from exc
    known = set(available_metrics())
    groups = table.get("groups")
    named = [*(table.get("tolerances") or {}), *((groups.get("metrics") or ()) if isinstance(groups, Mapping) else ())]
    unknown = sorted({str(n) for n in named} - known)
    if unknown:
        raise ConfigError(f"invalid regression settings from {source}: unknown metric(s) {', '.join(unknown)} "
                          f"(known: {', '.join(sorted(known))})")
    return config


def scheduler_endpoint(address: str) -> tuple[str, int] | None:
    """(host, port) of a Dask scheduler's `[tcp://]HOST:PORT`, None when it is not one."""
    from urllib.parse import urlsplit

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme not in ("tcp", "tls", "ucx", "ws", "wss") or not parts.hostname or port is None or parts.path not in ("", "/"):
        return None
    return parts.hostname, port


def check_dask_address(address: str, source: str) -> None:
    """`local`, or a scheduler's `[tcp://]HOST:PORT`: a malformed one is named now, not as an
    internal error of Dask's after Prefect started and the run was opened."""
    if address != "local" and scheduler_endpoint(address) is None:
        raise ConfigError(f"Dask scheduler address from {source} must be 'local' or [tcp://]HOST:PORT, got {address!r}")


def check_webhook_url(url: str, source: str) -> None:
    """A webhook is an absolute http(s) URL with a host. Why checked here, where the setting is read:
    a typo found only when the first regression is to be announced is an alert that never arrives."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"webhook URL from {source} is not an http(s) URL with a host: {url!r}")


def load_settings(config_file: str | Path | None = None, **overrides: Any) -> Settings:
    """Resolve settings: `overrides` (flags; None = not given) > environment > config file > defaults."""
    env_home = os.environ.get(ENV_HOME)
    provisional_home = Path(overrides["home"]).expanduser() if overrides.get("home") else default_home()
    path = _find_config_file(config_file, provisional_home)
    from_file = _read_config_file(path) if path else {}

    values: dict[str, Any] = {}
    for name, raw in from_file.items():
        values[name] = _coerce(name, raw, str(path))
    for name, env_key in _ENV_KEYS.items():
        raw = os.environ.get(env_key)
        if raw:
            values[name] = _coerce(name, raw, f"${env_key}")
    known = {f.name for f in fields(Settings)}
    for name, raw in overrides.items():
        if name not in known:
            raise ConfigError(f"unknown setting: {name}")
        if raw is not None:
            values[name] = _coerce(name, raw, "the command line")
    if "home" not in values:
        values["home"] = (Path(env_home).expanduser() if env_home else default_home()).resolve()
    values["config_file"] = path
    return replace(Settings(), **values)
