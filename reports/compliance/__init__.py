"""Compliance dossiers: one document per registered model across all its versions.

`load_dossier_data(repo, model_name)` gathers versions, audits with their stored verdicts, trends,
open alerts, sign-offs and the ledger's verification (`reports.compliance.load`);
`build_dossier(data, out_dir)` writes `dossier.html` (self-contained, offline), `dossier.pdf` (A4,
page numbers) and `dossier.json` (validated by `compliance.schema.json`), all from one document
(`content`) so they carry the same content. Modules: `data`, `load`, `content` and `audit_sections`
(the sections), `document` (the blocks), `prose` and `frameworks` (fixed text and the framework
mapping, kept as data in `text/`), `trend` (the figure), `html`, `pdf`, `json_doc`, `build`.
"""

from reports.compliance.build import DossierPaths, build_dossier
from reports.compliance.data import AuditEntry, DossierData, OpenAlert
from reports.compliance.load import load_dossier_data

__all__ = ["AuditEntry", "DossierData", "DossierPaths", "OpenAlert", "build_dossier", "load_dossier_data"]
