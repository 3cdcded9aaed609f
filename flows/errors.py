"""Exceptions raised by the orchestration layer, and the CLI exit code each one maps to.

Why a hierarchy: the command line turns any `FlowsInputError` (and the other layers' input errors)
into exit code 2 with a one-line message, and `AuditRegressionError` into exit code 1, without
having to know every place an error can come from.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - typing only
    from flows.outcome import AuditOutcome


class FlowsError(Exception):
    """Base class of every error raised by `flows/`."""


class FlowsInputError(FlowsError, ValueError):
    """Bad input from the user: a wrong URI, a missing folder, an invalid configuration."""


class ConfigError(FlowsInputError):
    """The configuration file or an environment variable holds something unusable."""


class RegistryError(FlowsError):
    """The model registry (MLflow) refused an operation or is unreachable."""


class RegistryUnreachableError(RegistryError):
    """Nothing answers at the registry's HTTP URI (refused, unknown host, silence), after the
    bounded retries of `flows.registry.reachability`; the flow does not retry it again."""


class DaskUnreachableError(FlowsError):
    """Nothing accepts a connection at the configured Dask scheduler's address."""


class ModelNotFoundError(RegistryError, FlowsInputError):
    """A registered model, version or alias does not exist."""


class UnsupportedRegisteredModelError(RegistryError, FlowsInputError):
    """A folder or registered model is not a vision-language model the auditors support."""


class ValidationFailedError(FlowsInputError):
    """A great-expectations suite failed; `failures` lists each failing expectation."""

    def __init__(self, suite: str, failures: list[str]) -> None:
        self.suite = suite
        self.failures = list(failures)
        shown = "; ".join(self.failures[:8])
        more = f" (and {len(self.failures) - 8} more)" if len(self.failures) > 8 else ""
        super().__init__(f"validation suite '{suite}' failed: {shown}{more}")


class AuditRegressionError(FlowsError):
    """The audit ran and found a regression (verdict `fail`).

    Raised AFTER everything was recorded and the report written, so that the Prefect flow run ends
    in a failed state; `outcome` still carries the report path for the command line.
    """

    def __init__(self, outcome: "AuditOutcome") -> None:
        self.outcome = outcome
        super().__init__(f"regression found: {outcome.reason} (report: {outcome.report_html})")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.outcome,))
