"""What a report build takes besides its data (size and statistics knobs) and what it returns.

Why apart from the builder: callers (the flow, the CLI, the benchmark) construct options and read
the written paths without importing the HTML machinery.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reports.encode import THUMBNAIL_MAX_SIDE


class ReportBuildError(RuntimeError):
    """The report could not be written (e.g. the output folder is not writable)."""


@dataclass(frozen=True)
class ReportOptions:
    """Knobs of the report's size and statistics."""

    title: str | None = None
    page_size: int = 250  # most probes in one gallery file
    size_budget_bytes: int = 15_000_000  # per HTML file
    image_max_side: int = THUMBNAIL_MAX_SIDE
    max_grid: int = 32
    n_resamples: int = 1000
    seed: int = 0


@dataclass(frozen=True)
class ReportPaths:
    html: Path
    json: Path
    gallery_pages: tuple[Path, ...] = ()  # extra gallery files beyond the main one

    @property
    def all_html(self) -> tuple[Path, ...]:
        return (self.html, *self.gallery_pages)
