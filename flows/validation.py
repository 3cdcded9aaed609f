"""The great-expectations suite guarding what enters the database: the attribution table.

Each batch of explained probes is validated before it is stored (`flows.worker`): maps finite and
non-negative, every map on its generation's grid, exactly one row per generated token x method. A
failing suite raises `ValidationFailedError` listing the failing expectations, and nothing of the
batch is written. The suite runs in an ephemeral GX context (nothing written to disk), built once
per process.

Why only the attribution table: a probe set folder is checked by the one reader that loads it
(`auditors.probes`: every file decoded as the audit will use it, each problem with its file and
line), so `mllm-audit probes validate` and the audit cannot disagree; a second suite re-reading the
folder was a second implementation of the same checks.

Cost: importing great_expectations takes seconds (it goes through `flows.import_gate`, and
`flows.fanout` starts it on a background thread while the first batch explains); a passing batch is
validated with GX's cheapest result format, and only a failing one again with the counts and
examples its message shows.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from flows.errors import ValidationFailedError
from flows.import_gate import first_imports

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from storage.records import ProbeResult

ATTRIBUTION_SUITE = "attribution_table"
PASS_FORMAT = "BOOLEAN_ONLY"  # enough to know a batch passed, about half the cost of SUMMARY
FAILURE_FORMAT = "SUMMARY"  # counts and examples for the message of a failing batch

_LOCK = threading.Lock()
_GX_STATE: dict[str, Any] = {}


@dataclass(frozen=True)
class ValidationReport:
    """Outcome of one suite: `failures` is empty when it passed."""

    suite: str
    n_rows: int
    n_expectations: int
    failures: tuple[str, ...]

    @property
    def success(self) -> bool:
        return not self.failures

    def raise_for_failures(self) -> None:
        if self.failures:
            raise ValidationFailedError(self.suite, list(self.failures))


# ---- GX plumbing ------------------------------------------------------------------------------


def prepare() -> None:
    """Import great_expectations and pandas and build the context, through the import gate.

    Idempotent and cheap once done; `flows.fanout` calls it on a background thread so that the
    first batch's validation does not wait for the import.
    """
    with _LOCK:
        _context()


def _context() -> Any:
    """One ephemeral context per process (the caller holds `_LOCK`), progress bars off (they would
    garble the audit's own bar)."""
    if "context" not in _GX_STATE:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        logging.getLogger("great_expectations").setLevel(logging.ERROR)
        with first_imports():
            context = _new_context()
        _GX_STATE["context"] = context
        _GX_STATE["source"] = context.data_sources.add_pandas("mllm_audit")
    return _GX_STATE["context"]


def _new_context() -> Any:
    """great_expectations and pandas imported (seconds) and an ephemeral context made."""
    import great_expectations as gx
    import pandas  # noqa: F401 - the attribution table's frame
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return context


def _run_suite(name: str, frame: "pd.DataFrame", expectations: Callable[[], list[Any]], key: Any) -> ValidationReport:
    """Validate `frame` against the suite `key` (built from `expectations()` once per process:
    building a suite costs about as much as validating with it); collect readable failures."""
    with _LOCK:
        context = _context()
        import great_expectations as gx  # imported by _context, through the gate

        suites: dict[Any, Any] = _GX_STATE.setdefault("suites", {})
        if key not in suites:
            label = f"{name}_{len(suites) + 1}"
            batch_definition = _GX_STATE["source"].add_dataframe_asset(label).add_batch_definition_whole_dataframe("all_rows")
            suite = context.suites.add(gx.ExpectationSuite(name=label))
            for expectation in expectations():
                suite.add_expectation(expectation)
            suites[key] = (batch_definition, suite)
        batch_definition, suite = suites[key]
        batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
        result = batch.validate(suite, result_format=PASS_FORMAT)
        if not result.success:
            result = batch.validate(suite, result_format=FAILURE_FORMAT)
    failures = [_describe_failure(r) for r in result.results if not r.success]
    return ValidationReport(suite=name, n_rows=len(frame), n_expectations=len(suite.expectations),
                            failures=tuple(failures))


def _describe_failure(result: Any) -> str:
    config = result.expectation_config
    kwargs = dict(config.kwargs)
    target = kwargs.get("column") or kwargs.get("column_list") or (
        f"{kwargs['column_A']}={kwargs['column_B']}" if "column_A" in kwargs else None
    )
    label = config.meta.get("why") if config.meta else None
    text = f"{config.type}" + (f"({target})" if target else "")
    if label:
        text += f" [{label}]"
    info = result.result or {}
    if info.get("partial_unexpected_list"):
        shown = info["partial_unexpected_list"][:5]
        text += f": {info.get('unexpected_count', len(shown))} unexpected, e.g. {shown}"
    elif "observed_value" in info:
        text += f": observed {info['observed_value']}"
    if result.exception_info and result.exception_info.get("raised_exception"):
        text += f": error {result.exception_info.get('exception_message')}"
    return text


def _expect(kind: str, why: str, **kwargs: Any) -> Any:
    import great_expectations.expectations as gxe

    return getattr(gxe, kind)(meta={"why": why}, **kwargs)


# ---- attribution table suite ------------------------------------------------------------------


def attribution_table(results: list["ProbeResult"]) -> "pd.DataFrame":
    """One row per stored map, with the facts the suite checks (computed columns for the
    per-probe and per-token counts, so the suite itself does not depend on the batch)."""
    import pandas as pd

    rows: list[dict[str, Any]] = []
    for result in results:
        n_tokens = len(result.generation.token_ids)
        shapes = [tuple(np.shape(m.map)) for m in result.maps]
        expected = max(set(shapes), key=shapes.count) if shapes else ()
        per_token: dict[int, int] = {}
        for record in result.maps:
            per_token[int(record.token_index)] = per_token.get(int(record.token_index), 0) + 1
        for record in result.maps:
            values = np.asarray(record.map)
            index = int(record.token_index)
            rows.append(
                {
                    "probe_key": result.probe_key,
                    "token_index": index,
                    "method": record.method,
                    "n_tokens": n_tokens,
                    "tokens_covered": len(per_token),
                    "methods_per_token": per_token[index],
                    "token_in_range": 0 <= index < n_tokens,
                    "grid_h": int(values.shape[0]) if values.ndim == 2 else -1,
                    "grid_w": int(values.shape[1]) if values.ndim == 2 else -1,
                    "expected_grid_h": int(expected[0]) if len(expected) == 2 else 0,
                    "expected_grid_w": int(expected[1]) if len(expected) == 2 else 0,
                    "finite": bool(np.isfinite(values).all()),
                    "min_value": float(values.min()) if values.size and np.isfinite(values).all() else 0.0,
                }
            )
    return pd.DataFrame(rows, columns=[
        "probe_key", "token_index", "method", "n_tokens", "tokens_covered", "methods_per_token", "token_in_range",
        "grid_h", "grid_w", "expected_grid_h", "expected_grid_w", "finite", "min_value"])


def _attribution_expectations(methods: tuple[str, ...]) -> list[Any]:
    return [
        _expect("ExpectCompoundColumnsToBeUnique", "no duplicate (probe, token, method)",
                column_list=["probe_key", "token_index", "method"]),
        _expect("ExpectColumnValuesToBeInSet", "only the requested methods", column="method", value_set=list(methods)),
        _expect("ExpectColumnValuesToBeInSet", "one row per generated token x method: every method for each token",
                column="methods_per_token", value_set=[len(methods)]),
        _expect("ExpectColumnPairValuesToBeEqual", "one row per generated token x method: every token has maps",
                column_A="tokens_covered", column_B="n_tokens"),
        _expect("ExpectColumnValuesToBeInSet", "token index inside the answer", column="token_in_range", value_set=[True]),
        _expect("ExpectColumnValuesToBeInSet", "maps are finite", column="finite", value_set=[True]),
        _expect("ExpectColumnValuesToBeBetween", "maps are non-negative", column="min_value", min_value=0.0),
        _expect("ExpectColumnPairValuesToBeEqual", "grid height consistent within a probe",
                column_A="grid_h", column_B="expected_grid_h"),
        _expect("ExpectColumnPairValuesToBeEqual", "grid width consistent within a probe",
                column_A="grid_w", column_B="expected_grid_w"),
    ]


def validate_attribution_table(results: list["ProbeResult"], methods: list[str] | tuple[str, ...]) -> ValidationReport:
    """Run the attribution-table suite over a batch of converted probe results (nothing stored yet)."""
    methods = tuple(methods)
    prepare()  # pandas and great_expectations, through the import gate, before the table is built
    frame = attribution_table(results)
    problems = _python_side_failures(results)
    report = _run_suite(ATTRIBUTION_SUITE, frame, lambda: _attribution_expectations(methods), key=methods)
    return ValidationReport(ATTRIBUTION_SUITE, report.n_rows, report.n_expectations, tuple(problems) + report.failures)


def _python_side_failures(results: list["ProbeResult"]) -> list[str]:
    """What a table of maps cannot show: a probe with an answer but no maps at all, and (named
    per probe, in addition to the pair expectations) maps on different grids."""
    failures = []
    for result in results:
        if result.generation.token_ids and not result.maps:
            failures.append(f"one row per generated token x method: probe {result.probe_key} has no maps")
        shapes = sorted({tuple(np.shape(m.map)) for m in result.maps})
        if len(shapes) > 1:
            failures.append(f"grid consistent within a probe: probe {result.probe_key} has maps on grids {shapes}")
    return failures
