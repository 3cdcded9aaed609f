"""Self-contained HTML audit reports from storage records (plotly, numpy, PIL; no torch).

`load_report_data(repo, run_id, baseline_run_id=None)` gathers a run, its baseline, its stored
verdict and history from an `AuditRepository` (`reports.load`); `build_report(data, out_dir)` writes
the HTML (plus extra gallery pages when needed) and a JSON summary beside it (`reports.build`).
Modules: `data` (the typed input), `load`, `options` (build knobs and written paths), `statistics`
(tables), `gallery` (probe payloads), `banner`, `sections` and `attention` (HTML; `attention` is the
word-group and fixed-locus section), `figures` (Plotly), `encode` (thumbnails and map bytes), `page`
(escaping, shell), `files` (all-or-nothing writes), `build`; `reports.compliance` renders a model's
compliance dossier.
"""

from reports.build import build_report
from reports.data import HistoryEntry, Lineage, ReportData, ReportDataError
from reports.load import load_report_data, read_run
from reports.options import ReportBuildError, ReportOptions, ReportPaths

__all__ = [
    "HistoryEntry",
    "Lineage",
    "ReportBuildError",
    "ReportData",
    "ReportDataError",
    "ReportOptions",
    "ReportPaths",
    "build_report",
    "load_report_data",
    "read_run",
]
