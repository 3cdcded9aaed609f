"""The dossier's content, from stored records: every section, the stored verdict with its CIs,
the sign-offs (an override shown as one), the chain's state (also when a row was edited), the
framework mapping, and the JSON document against its published schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from sqlalchemy import text

from reports.compliance import build_dossier, load_dossier_data
from reports.compliance.content import SECTION_IDS, build_document
from reports.compliance.frameworks import frameworks
from reports.compliance.json_doc import SCHEMA_FILE, dossier_json, schema
from storage.records import SignoffRecord
from tests.conftest import REPO_ROOT
from tests.reports.compliance.factories import NAME, stored_history


@pytest.fixture
def repo(tmp_path):
    repository = stored_history(tmp_path / "audit.db")
    yield repository
    repository.close()


def _text(document) -> str:
    out = []
    for section in document.sections:
        out.append(section.title)
        for block in section.blocks:
            out.extend(str(value) for value in vars(block).values() if not isinstance(value, bytes))
    return "\n".join(out)


def test_every_section_is_there_in_order_and_built_from_the_records(repo):
    data = load_dossier_data(repo, NAME, generator="git:test")
    document = build_document(data)
    assert tuple(s.id for s in document.sections) == SECTION_IDS
    words = _text(document)
    assert [v.version for v in data.versions] == ["1", "2", "3"]
    assert "2026-11-02 09:30 UTC" in words  # v1's registration time, from the stored version row
    assert "Not audited." in words  # v3 is registered but has no audit
    assert "drawn by the tests" in words and "CC0" in words  # the probe set's declared source and licence
    assert "/srv/reports/run-2/report.html" in words and "git:0123abcd" in words
    assert "Verdict FAIL: TAM's maps of the same words agree at only 0.09" in words
    assert "[-0.320, -0.230]" in words and "[0.070, 0.120]" in words  # the stored checks' CIs
    assert "Reconstruction notice (MSEA and ARC)" in words and "What a PASS means" in words
    assert "The chain of captioner verifies: 5 entries" in words
    # the alert on v2 was answered by the later rejection: nothing is open
    assert data.alerts == () and "No open alerts" in words


def test_an_alert_stays_open_until_a_decision_answers_it_and_an_override_is_shown(repo):
    from storage.records import AlertRecord

    run2 = repo.list_runs(NAME)[0].id
    repo.add_alert(AlertRecord(run2, "fail", "a later alert", ("cli",)))
    data = load_dossier_data(repo, NAME)
    assert [o.alert.message for o in data.alerts] == ["a later alert"]
    v2 = repo.find_model_version(NAME, "2")
    repo.add_signoff(SignoffRecord(v2.id, "Ada", "approved", "accepted for the demo", True, run2, "fail"))
    data = load_dossier_data(repo, NAME)
    words = _text(build_document(data))
    assert data.alerts == () and "APPROVED (OVERRIDE of a failed audit)" in words
    assert "1 approval(s) overrode a failed audit" in words and "accepted for the demo" in words


def test_an_edited_row_is_stated_in_every_output(repo, tmp_path):
    with repo.engine.begin() as conn:
        conn.execute(text("UPDATE signoffs SET note = 'edited' WHERE reviewer = 'Grace Hopper'"))
    data = load_dossier_data(repo, NAME)
    paths = build_dossier(data, tmp_path / "out")
    assert "does NOT verify: ledger entry 4 (signoff 1)" in paths.html.read_text()
    document = json.loads(paths.json.read_text())
    assert document["ledger"]["intact"] is False
    assert document["ledger"]["broken"]["changed_parts"] == ["decision"]


def test_the_json_document_validates_against_the_published_schema(repo, tmp_path):
    paths = build_dossier(load_dossier_data(repo, NAME, generator="git:test"), tmp_path / "out")
    document = json.loads(paths.json.read_text())
    validator = jsonschema.Draft202012Validator(schema(), format_checker=jsonschema.FormatChecker())
    assert list(validator.iter_errors(document)) == []
    assert document["schema_version"] == "1.0" and len(document["audits"]) == 2
    assert {t["version"] for t in document["trends"]} == {"1", "2"}
    document["audits"][0]["status"] = "maybe"  # the schema is strict enough to catch a wrong value
    assert list(validator.iter_errors(document))


def test_the_schema_is_published_in_the_repository_and_linked_from_the_readme():
    published = REPO_ROOT / "reports" / "compliance" / SCHEMA_FILE
    assert json.loads(published.read_text()) == schema()
    assert "reports/compliance/compliance.schema.json" in (REPO_ROOT / "README.md").read_text()


def test_every_framework_item_names_existing_sections_and_both_frameworks_are_mapped():
    found = {f.id: f for f in frameworks()}
    assert set(found) == {"eu-ai-act-annex-iv", "nist-ai-rmf-measure"}
    for framework in found.values():
        for item in framework.items:
            assert set(item.sections) <= set(SECTION_IDS), item
            assert (item.coverage == "not covered") == (not item.sections)
    annex = [i.item for i in found["eu-ai-act-annex-iv"].items]
    assert "2(g)" in annex and "9" in annex
    measure = " ".join(i.item for i in found["nist-ai-rmf-measure"].items)
    for number in ("1.1", "1.2", "1.3", "2.1", "2.9", "2.13", "3.1", "3.2", "3.3", "4.1", "4.2", "4.3"):
        assert number in measure
    assert any(i.coverage == "not covered" for f in found.values() for i in f.items)


def test_an_empty_model_still_gets_a_dossier(tmp_path):
    from storage.repository import AuditRepository

    with AuditRepository(f"sqlite:///{tmp_path / 'empty.db'}") as empty:
        data = load_dossier_data(empty, "nothing")
        paths = build_dossier(data, tmp_path / "out")
    words = _text(build_document(data))
    assert "No version of this model is stored" in words and "No completed audit to plot yet." in words
    assert Path(paths.pdf).read_bytes().startswith(b"%PDF")
    assert not list(jsonschema.Draft202012Validator(schema()).iter_errors(dossier_json(data)))
