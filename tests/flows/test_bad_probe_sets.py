"""The command line against the corpus of broken probe sets (`tests/auditors/probes/corpus.py`).

For every case: `mllm-audit probes validate` exits 2 with a line naming the file (and line), and
`mllm-audit audit` exits 2 before writing anything (the database rows are the same before and after),
neither with a traceback. A folder with the tolerated variants is audited end to end.
"""

from __future__ import annotations


import pytest
from typer.testing import CliRunner

from flows.cli import EXIT_BAD_INPUT, EXIT_OK, app
from tests.auditors.probes.corpus import CASES, TOLERATED, Case, valid_set
from tests.flows.helpers import database_rows

runner = CliRunner()


pytestmark = pytest.mark.usefixtures("restored_environment")


@pytest.fixture()
def database(home) -> str:
    home.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{home / 'audit.db'}"
    assert runner.invoke(app, ["db", "upgrade", "--db", url]).exit_code == EXIT_OK
    return url


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_validate_and_audit_refuse_each_broken_set(case: Case, tmp_path, database):
    root = valid_set(tmp_path / "set")
    case.breaks(root)

    result = runner.invoke(app, ["probes", "validate", str(root)])
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
    assert any(line.startswith(f"  - {case.where}:") for line in result.output.splitlines()), result.output

    before = database_rows(database)
    result = runner.invoke(app, ["audit", "models:/captioner/1", "--probes", str(root), "--db", database])
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    [line] = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert case.where.split(" line")[0] in line
    assert database_rows(database) == before


def _every_tolerated_variant(root):
    for name, variant in TOLERATED:
        if name not in ("integer id", "objects null"):  # these two rewrite a line another variant edits
            variant(root)


def test_validate_accepts_the_tolerated_variants(tmp_path, home):
    root = valid_set(tmp_path / "set")
    _every_tolerated_variant(root)
    result = runner.invoke(app, ["probes", "validate", str(root)])
    assert result.exit_code == EXIT_OK, result.output
    assert "3 probes" in result.output


@pytest.mark.slow
def test_an_audit_reads_the_tolerated_variants_end_to_end(saved_models, tmp_path, home, prefect_harness):
    root = valid_set(tmp_path / "set")
    _every_tolerated_variant(root)
    assert runner.invoke(app, ["register", str(saved_models["a"]), "--name", "odd-files"]).exit_code == EXIT_OK
    result = runner.invoke(app, ["audit", "models:/odd-files/1", "--probes", str(root), "--methods", "tam",
                                 "--no-compare"])
    assert result.exit_code == EXIT_OK, result.output
    assert "3 explained now" in result.output
