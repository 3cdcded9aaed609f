"""The Prefect tasks of an audit: resolve the model, read (and so validate) the probe set, start
the run, explain a batch of probes.

Why tasks carry only paths, ids and plain settings: Prefect hashes task inputs and Dask pickles
them, and a torch model must never travel; whatever process runs a task opens the model and probe
set itself, once (`flows.worker`). Failures that are the input's fault are never retried.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from flows.config import load_settings
from flows.errors import FlowsInputError, RegistryUnreachableError, ValidationFailedError
from flows.identity import code_version, package_versions
from flows.registry import ResolvedModel, resolve_model
from flows.worker import ProbeBatchResult, repository_for, run_probe_batch

if TYPE_CHECKING:  # pragma: no cover
    from auditors.probes import ProbeSet

# RegistryUnreachableError: `flows.registry.reachability` already retried it, visibly;
# KeyboardInterrupt: `flows.stopping.AuditInterrupted`, a stop request
_NO_RETRY = (FlowsInputError, ValidationFailedError, RegistryUnreachableError, KeyboardInterrupt, KeyError, TypeError)


def _transient(task: Any, task_run: Any, state: Any) -> bool:
    """Retry a failed batch unless the failure is the input's fault (retrying cannot fix that)."""
    try:
        error = state.result(raise_on_failure=False)
    except Exception as exc:  # noqa: BLE001 - the state's payload may itself fail to load
        error = exc
    if isinstance(error, _NO_RETRY):
        return False
    try:
        from auditors.errors import AuditorInputError, UnsupportedModelError
        from storage.errors import StorageInputError

        if isinstance(error, (AuditorInputError, UnsupportedModelError, StorageInputError)):
            return False
    except ImportError:
        pass
    return True


@task(name="resolve-model", retries=2, retry_delay_seconds=3, retry_condition_fn=_transient, cache_policy=NO_CACHE)
def resolve_model_task(model_uri: str, home: str) -> ResolvedModel:
    """Registry lookup and download into the local model cache (weights hash verified)."""
    return resolve_model(model_uri, load_settings(home=home))


@task(name="validate-probe-set", cache_policy=NO_CACHE)
def validate_probe_set_task(probe_dir: str) -> "ProbeSet":
    """Read the probe set exactly as the audit uses it (`auditors.probes`: every image and mask
    decoded, limits, encodings, ids); raises `ProbeSetError` naming each problem's file and line,
    before any run row is written. The same reader serves `mllm-audit probes validate`."""
    from flows.worker import probe_set_for

    return probe_set_for(probe_dir)


@dataclass(frozen=True)
class StartedRun:
    """A run as `start_run_task` found or created it: small and picklable, like every task's result.

    `status`: "completed" when a finished run was found again (returned unchanged), else "running"
    (started or resumed); `done`: the probe keys already stored (a resumed run's earlier work).
    """

    run_id: int
    model_version_id: int
    probe_set_id: int
    config_hash: str
    status: str
    done: tuple[str, ...]


@task(name="start-run", cache_policy=NO_CACHE)
def start_run_task(resolved: ResolvedModel, probe_dir: str, config: dict[str, Any], db_url: str | None) -> StartedRun:
    """Find-or-create the model version and probe set rows; start or resume the run."""
    from flows.convert import model_version_record
    from flows.worker import registered_probe_set

    repository = repository_for(db_url)
    model_row = repository.get_or_create_model_version(model_version_record(resolved))
    set_row = registered_probe_set(repository, probe_dir)
    run = repository.start_run(model_row.id, set_row.id, config, package_versions(), code_version())
    return StartedRun(run.id, model_row.id, set_row.id, run.config_hash, run.status,
                      tuple(sorted(repository.completed_probe_keys(run.id))))


@task(name="explain-probes", retries=2, retry_delay_seconds=2, retry_condition_fn=_transient, cache_policy=NO_CACHE)
def explain_probes_task(
    run_id: int,
    probe_keys: list[str],
    probe_dir: str,
    model_uri: str,
    local_dir: str | None,
    methods: list[str],
    explain_settings: dict[str, Any],
    metric_options: dict[str, Any],
    db_url: str | None,
    home: str,
) -> ProbeBatchResult:
    """Explain, score, validate and store one batch of probes (skips those already stored)."""
    return run_probe_batch(
        run_id, probe_keys, probe_dir=probe_dir, model_uri=model_uri, local_dir=local_dir, methods=tuple(methods),
        explain_settings=explain_settings, metric_options=metric_options, db_url=db_url, home=home,
    )
