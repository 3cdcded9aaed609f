"""Self-contained HTML audit reports from storage records (plotly, numpy, PIL; no torch).

`load_report_data(repo, run_id, baseline_run_id=None, probe_root=None)` gathers a run, its
baseline and history from an `AuditRepository`; `build_report(data, out_dir)` writes the HTML
(plus extra gallery pages when needed) and a JSON summary beside it.
"""

from reports.build import ReportBuildError, ReportOptions, ReportPaths, build_report
from reports.data import HistoryEntry, Lineage, ReportData, ReportDataError, load_report_data
from reports.verdict import VerdictSummary

__all__ = [
    "HistoryEntry",
    "Lineage",
    "ReportBuildError",
    "ReportData",
    "ReportDataError",
    "ReportOptions",
    "ReportPaths",
    "VerdictSummary",
    "build_report",
    "load_report_data",
]
