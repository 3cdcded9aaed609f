"""Write a dossier: `dossier.html`, `dossier.pdf` and `dossier.json`, all from one `DossierData`.

The HTML and the PDF are rendered from the same `Document` (`reports.compliance.content`), the JSON
from the same data; all three are written all or nothing (`reports.files`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from reports.compliance.content import build_document
from reports.compliance.data import DossierData
from reports.compliance.html import render_html
from reports.compliance.json_doc import dossier_json
from reports.compliance.pdf import render_pdf
from reports.files import write_files
from reports.options import ReportBuildError

STEM = "dossier"


@dataclass(frozen=True)
class DossierPaths:
    html: Path
    pdf: Path
    json: Path

    def sizes(self) -> dict[str, int]:
        return {p.name: p.stat().st_size for p in (self.html, self.pdf, self.json)}


def build_dossier(data: DossierData, out_dir: Path | str) -> DossierPaths:
    """Render and write the three files into `out_dir` (created when missing)."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportBuildError(f"cannot create dossier folder {out}: {exc}") from exc
    document = build_document(data)
    footer = f"mllm-audit compliance dossier: {data.model_name}, generated {data.generated_at:%Y-%m-%d %H:%M} UTC"
    files: dict[str, str | bytes] = {
        f"{STEM}.html": render_html(document, footer),
        f"{STEM}.pdf": render_pdf(document, footer),
        f"{STEM}.json": json.dumps(dossier_json(data), indent=2, allow_nan=False) + "\n",
    }
    write_files(out, files)
    return DossierPaths(out / f"{STEM}.html", out / f"{STEM}.pdf", out / f"{STEM}.json")
