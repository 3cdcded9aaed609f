"""great-expectations suites guarding what enters the database.

Two suites, both run in an ephemeral GX context (nothing written to disk):

- `probe_manifest`: a probe set folder (docs/DESIGN.md §6) before an audit starts: manifest fields,
  unique ids, every image and mask exists and stays inside the folder, each mask has its image's
  size. Why GX and not only `auditors.probes.validate_probe_set`: the same declarative suite is
  what a data team reviews and extends, and its result lists each failing expectation by name.
- `attribution_table`: each batch of explained probes before it is stored: maps finite and
  non-negative, every map on its generation's grid, exactly one row per generated token x method.

A failing suite raises `ValidationFailedError` listing the failing expectations; callers run it
before writing anything. great_expectations is imported lazily (4-9 s) and its context is built
once per process.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from flows.errors import ValidationFailedError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from storage.records import ProbeResult

PROBE_SUITE = "probe_manifest"
ATTRIBUTION_SUITE = "attribution_table"
MANIFEST_FILE = "probes.jsonl"
SET_FILE = "probeset.yaml"

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


def _context() -> Any:
    """One ephemeral context per process, progress bars off (they would garble our tqdm bar)."""
    if "context" not in _GX_STATE:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        logging.getLogger("great_expectations").setLevel(logging.ERROR)
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        _GX_STATE["context"] = context
        _GX_STATE["source"] = context.data_sources.add_pandas("mllm_audit")
    return _GX_STATE["context"]


def _run_suite(name: str, frame: "pd.DataFrame", expectations: list[Any], cache_key: Any = None) -> ValidationReport:
    """Validate `frame` against a suite of `expectations`; collect readable failures.

    With a `cache_key` the suite (and its data asset) is built once per process and reused: the
    attribution-table suite runs once per batch of probes, and building a suite costs about as
    much as validating with it.
    """
    import great_expectations as gx

    with _LOCK:
        context = _context()
        source = _GX_STATE["source"]
        suites: dict[Any, Any] = _GX_STATE.setdefault("suites", {})
        entry = suites.get(cache_key) if cache_key is not None else None
        if entry is None:
            counter = _GX_STATE.setdefault("counter", 0) + 1
            _GX_STATE["counter"] = counter
            asset = source.add_dataframe_asset(f"{name}_{counter}")
            batch_definition = asset.add_batch_definition_whole_dataframe("all_rows")
            suite = context.suites.add(gx.ExpectationSuite(name=f"{name}_{counter}"))
            for expectation in expectations:
                suite.add_expectation(expectation)
            entry = (asset, batch_definition, suite)
            if cache_key is not None:
                suites[cache_key] = entry
        asset, batch_definition, suite = entry
        result = batch_definition.get_batch(batch_parameters={"dataframe": frame}).validate(suite)
        if cache_key is None:
            context.suites.delete(suite.name)
            source.delete_asset(asset.name)
    failures = [_describe_failure(r) for r in result.results if not r.success]
    return ValidationReport(suite=name, n_rows=len(frame), n_expectations=len(expectations), failures=tuple(failures))


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


# ---- probe manifest suite ---------------------------------------------------------------------


def _inside(root: Path, relative: Any) -> tuple[bool, Path | None]:
    if not isinstance(relative, str) or not relative or os.path.isabs(relative):
        return False, None
    path = (root / relative).resolve()
    try:
        path.relative_to(root)
    except ValueError:
        return False, path
    return True, path


def _image_size(path: Path | None) -> tuple[int, int] | tuple[None, None]:
    if path is None or not path.is_file():
        return None, None
    from PIL import Image

    try:
        with Image.open(path) as image:
            return image.size
    except Exception:
        return -1, -1


def manifest_tables(folder: str | Path) -> tuple["pd.DataFrame", "pd.DataFrame", dict[str, Any]]:
    """The manifest flattened into a probes table, an objects table and the set's header."""
    import pandas as pd
    import yaml

    root = Path(folder).expanduser().resolve()
    if not root.is_dir():
        raise ValidationFailedError(PROBE_SUITE, [f"probe set folder not found: {root}"])
    problems: list[str] = []
    header: dict[str, Any] = {}
    set_file = root / SET_FILE
    if not set_file.is_file():
        problems.append(f"{SET_FILE} missing in {root}")
    else:
        try:
            header = yaml.safe_load(set_file.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            problems.append(f"{SET_FILE} is not valid YAML: {exc}")
        if not isinstance(header, dict):
            problems.append(f"{SET_FILE} must be a mapping")
            header = {}
    manifest = root / MANIFEST_FILE
    rows: list[dict[str, Any]] = []
    if not manifest.is_file():
        problems.append(f"{MANIFEST_FILE} missing in {root}")
    else:
        for number, line in enumerate(manifest.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(f"{MANIFEST_FILE} line {number}: invalid JSON ({exc.msg})")
                continue
            if not isinstance(entry, dict):
                problems.append(f"{MANIFEST_FILE} line {number}: not a JSON object")
                continue
            entry["_line"] = number
            rows.append(entry)
    if problems:
        raise ValidationFailedError(PROBE_SUITE, problems)

    probe_rows: list[dict[str, Any]] = []
    object_rows: list[dict[str, Any]] = []
    for entry in rows:
        image_inside, image_path = _inside(root, entry.get("image"))
        width, height = _image_size(image_path if image_inside else None)
        objects = entry.get("objects") or []
        probe_rows.append(
            {
                "line": entry["_line"],
                "id": entry.get("id"),
                "image": entry.get("image"),
                "prompt": entry.get("prompt") or header.get("default_prompt") or header.get("prompt"),
                "image_inside_folder": image_inside,
                "image_exists": width is not None,
                "image_readable": width is not None and width > 0,
                "objects_is_list": isinstance(objects, list),
            }
        )
        for index, obj in enumerate(objects if isinstance(objects, list) else []):
            obj = obj if isinstance(obj, dict) else {}
            words = obj.get("words")
            mask_inside, mask_path = _inside(root, obj.get("mask"))
            mask_w, mask_h = _image_size(mask_path if mask_inside else None)
            object_rows.append(
                {
                    "probe_id": f"{entry.get('id')}#{index}",
                    "words_ok": isinstance(words, list) and bool(words) and all(isinstance(w, str) and w for w in words),
                    "mask": obj.get("mask"),
                    "mask_inside_folder": mask_inside,
                    "mask_exists": mask_w is not None,
                    "mask_width": -2 if mask_w is None else mask_w,
                    "mask_height": -2 if mask_h is None else mask_h,
                    "image_width": -1 if width is None else width,
                    "image_height": -1 if height is None else height,
                }
            )
    probes = pd.DataFrame(probe_rows, columns=[
        "line", "id", "image", "prompt", "image_inside_folder", "image_exists", "image_readable", "objects_is_list"])
    objects_table = pd.DataFrame(object_rows, columns=[
        "probe_id", "words_ok", "mask", "mask_inside_folder", "mask_exists",
        "mask_width", "mask_height", "image_width", "image_height"])
    return probes, objects_table, header


def validate_probe_manifest(folder: str | Path) -> ValidationReport:
    """Run the probe-manifest suite on a probe set folder (raises only for an unreadable folder)."""
    probes, objects_table, header = manifest_tables(folder)
    header_failures = [f"{SET_FILE}: field '{key}' missing" for key in ("name", "version") if not header.get(key)]
    expectations = [
        _expect("ExpectTableRowCountToBeBetween", "at least one probe", min_value=1),
        _expect("ExpectColumnValuesToNotBeNull", "every probe has an id", column="id"),
        _expect("ExpectColumnValuesToBeUnique", "probe ids are unique", column="id"),
        _expect("ExpectColumnValuesToNotBeNull", "every probe names its image", column="image"),
        _expect("ExpectColumnValuesToNotBeNull", "every probe has a prompt (or the set a default)", column="prompt"),
        _expect("ExpectColumnValuesToBeInSet", "image path stays inside the folder", column="image_inside_folder", value_set=[True]),
        _expect("ExpectColumnValuesToBeInSet", "image file exists", column="image_exists", value_set=[True]),
        _expect("ExpectColumnValuesToBeInSet", "image file is a readable image", column="image_readable", value_set=[True]),
        _expect("ExpectColumnValuesToBeInSet", "objects is a list", column="objects_is_list", value_set=[True]),
    ]
    report = _run_suite(PROBE_SUITE, probes.astype({"id": "object"}), expectations)
    failures = header_failures + list(report.failures)
    n_expectations = report.n_expectations
    if len(objects_table):
        object_expectations = [
            _expect("ExpectColumnValuesToBeInSet", "each object names at least one word", column="words_ok", value_set=[True]),
            _expect("ExpectColumnValuesToBeInSet", "mask path stays inside the folder", column="mask_inside_folder", value_set=[True]),
            _expect("ExpectColumnValuesToBeInSet", "mask file exists", column="mask_exists", value_set=[True]),
            _expect("ExpectColumnPairValuesToBeEqual", "mask width equals image width", column_A="mask_width", column_B="image_width"),
            _expect("ExpectColumnPairValuesToBeEqual", "mask height equals image height", column_A="mask_height", column_B="image_height"),
        ]
        object_report = _run_suite(PROBE_SUITE, objects_table, object_expectations)
        failures += list(object_report.failures)
        n_expectations += object_report.n_expectations
    return ValidationReport(PROBE_SUITE, len(probes), n_expectations, tuple(failures))


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
    frame = attribution_table(results)
    problems = _python_side_failures(results)
    report = _run_suite(ATTRIBUTION_SUITE, frame, _attribution_expectations(methods), cache_key=(ATTRIBUTION_SUITE, methods))
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
