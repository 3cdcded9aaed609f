"""`AuditRequest`: everything one audit is asked to do, checked before any work starts.

Why one typed request: the command line, the Prefect flow (whose deployments pass plain JSON
parameters, `prefect.yaml`) and the registry watcher all start audits; they build the same object,
and its cheap checks (model URIs, database URL with its driver and SQLite folder, probe folder,
batch size, methods listed twice, comparison settings) answer bad input in milliseconds, before
Prefect, MLflow or torch are started. Checks that need the
heavy stack (which methods exist, explain settings) run in the flow (`flows.identity`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from flows.config import check_regression_table, check_webhook_url
from flows.errors import FlowsInputError
from flows.registry.uris import parse_model_uri

DEFAULT_BATCH_SIZE = 16


def check_probe_folder(folder: str | Path) -> None:
    """A probe set folder has a probes.jsonl (the full validation runs in the flow)."""
    if not (Path(folder).expanduser() / "probes.jsonl").is_file():
        raise FlowsInputError(f"not a probe set folder (no probes.jsonl): {folder}")


@dataclass(frozen=True)
class AuditRequest:
    """One audit of `model_uri` on a probe set, compared with a baseline.

    `probe_set`: a probe set folder; None means the default probe set under the data directory.
    `baseline_uri`: None means the model's `champion` alias when it names another version;
    `compare=False` stores and reports the run without a verdict. `regression`: comparison
    settings (`comparison.RegressionConfig` fields) over the config file's `[regression]` table.
    """

    model_uri: str
    probe_set: str | None = None
    methods: tuple[str, ...] = ()  # empty: the configured methods (`Settings.methods`)
    baseline_uri: str | None = None
    db_url: str | None = None
    out_dir: str | None = None
    home: str | None = None
    compare: bool = True
    batch_size: int = DEFAULT_BATCH_SIZE
    explain_settings: Mapping[str, Any] = field(default_factory=dict)
    metric_options: Mapping[str, Any] = field(default_factory=dict)
    webhook_url: str | None = None
    regression: Mapping[str, Any] = field(default_factory=dict)
    show_progress: bool = True

    def __post_init__(self) -> None:
        for uri in (self.model_uri, self.baseline_uri):
            if uri is not None:
                parse_model_uri(uri)
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise FlowsInputError(f"batch size must be a positive integer, got {self.batch_size!r}")
        if len(set(self.methods)) != len(self.methods):
            raise FlowsInputError(f"methods listed twice: {', '.join(self.methods)}")
        if self.db_url is not None:
            from storage.engine import check_database_url

            check_database_url(self.db_url)
        if self.probe_set is not None:
            check_probe_folder(self.probe_set)
        if self.out_dir is not None and Path(self.out_dir).expanduser().exists() \
                and not Path(self.out_dir).expanduser().is_dir():  # found now, not after hours of explaining
            raise FlowsInputError(f"report folder is a file, not a folder: {self.out_dir}")
        if self.regression:
            check_regression_table(self.regression, "the request")
        if self.webhook_url:
            check_webhook_url(self.webhook_url, "the request")

    @classmethod
    def from_parameters(cls, *, methods: list[str] | tuple[str, ...] | None = None,
                        explain_settings: Mapping[str, Any] | None = None,
                        metric_options: Mapping[str, Any] | None = None,
                        regression: Mapping[str, Any] | None = None, **parameters: Any) -> "AuditRequest":
        """From the flow's plain parameters (None for "the default")."""
        return cls(methods=tuple(methods or ()),
                   explain_settings=dict(explain_settings or {}), metric_options=dict(metric_options or {}),
                   regression=dict(regression or {}), **parameters)

    def flow_parameters(self) -> dict[str, Any]:
        """The flow's plain, JSON-able parameters (what a deployment would pass)."""
        data = asdict(self)
        data["methods"] = list(self.methods) or None
        for key in ("explain_settings", "metric_options", "regression"):
            data[key] = dict(data[key])
        return data

    def for_baseline(self, baseline_uri: str) -> "AuditRequest":
        """The same audit of the baseline version: same probes, methods and settings, no verdict."""
        return replace(self, model_uri=baseline_uri, baseline_uri=None, compare=False, out_dir=None)
