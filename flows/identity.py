"""What identifies an audit run and what a reviewer needs to reproduce it: the configuration that
changes what it computes (methods, explain settings, metric options), the code version and the
package versions.

Why here: the run's identity hashes the configuration (`storage` keys runs by model version, probe
set and configuration hash), so the flow and the registry watcher must build it the same way.
"""

from __future__ import annotations

import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any, Mapping, Sequence

from flows.errors import FlowsInputError


def package_versions() -> dict[str, str]:
    versions = {}
    for dist in ("mllm-audit", "torch", "transformers", "mlflow", "prefect", "great-expectations",
                 "sqlalchemy", "numpy", "plotly"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return versions


def code_version() -> str:
    """The git commit of the source tree when there is one, else the package version."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=5, check=False).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    if commit:
        return f"git:{commit}"
    try:
        return f"mllm-audit=={metadata.version('mllm-audit')}"
    except metadata.PackageNotFoundError:
        return "mllm-audit (unversioned source tree)"


def check_methods(methods: Sequence[str]) -> tuple[str, ...]:
    """The chosen methods, each one the auditors know, none twice."""
    from auditors import available_methods

    chosen = tuple(methods)
    if not chosen:
        raise FlowsInputError("no methods chosen")
    known = set(available_methods())
    unknown = [m for m in chosen if m not in known]
    if unknown:
        raise FlowsInputError(f"unknown method(s): {', '.join(unknown)} (available: {', '.join(sorted(known))})")
    if len(set(chosen)) != len(chosen):
        raise FlowsInputError(f"methods listed twice: {', '.join(chosen)}")
    return chosen


def audit_config(methods: Sequence[str], explain_settings: Mapping[str, Any],
                 metric_options: Mapping[str, Any]) -> dict[str, Any]:
    """Everything that changes what an audit computes; the run's identity hashes it."""
    settings = explain_settings_dict(explain_settings)
    return {"methods": list(methods), "explain_settings": settings, "metric_options": dict(metric_options)}


def explain_settings_dict(explain_settings: Mapping[str, Any], source: str = "") -> dict[str, Any]:
    """Every `auditors.ExplainSettings` field, the given ones checked (names, types, ranges)."""
    from auditors import ExplainSettings
    from auditors.errors import AuditorInputError

    origin = f" from {source}" if source else ""
    unknown = sorted(set(explain_settings) - set(ExplainSettings.__dataclass_fields__))
    if unknown:
        raise FlowsInputError(f"unknown explain setting(s){origin}: {', '.join(unknown)}")
    try:
        return ExplainSettings.from_dict(dict(explain_settings)).to_dict()
    except (AuditorInputError, TypeError, ValueError) as exc:
        raise FlowsInputError(f"invalid explain settings{origin}: {exc}") from exc
