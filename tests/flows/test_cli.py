"""The mllm-audit command line: help everywhere, exit codes 0/1/2, one-line errors."""

from __future__ import annotations


import pytest
from typer.testing import CliRunner

from flows.cli import EXIT_BAD_INPUT, EXIT_OK, EXIT_REGRESSION, app
from testkit.loopback import free_port
from tests.flows.helpers import let_drift_alone_fail, write_probe_set

runner = CliRunner()


pytestmark = pytest.mark.usefixtures("restored_environment")


COMMANDS = [[], ["demo"], ["register"], ["audit"], ["watch"], ["explain"], ["probes"], ["probes", "validate"],
            ["probes", "import-coco"], ["report"], ["db"], ["db", "upgrade"], ["train-demo"], ["compliance"],
            ["compliance", "dossier"], ["compliance", "verify"], ["signoff"]]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "top")
def test_help_everywhere(command):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_usage_errors_exit_2():
    assert runner.invoke(app, ["audit"]).exit_code == 2
    assert runner.invoke(app, ["no-such-command"]).exit_code == 2


@pytest.mark.parametrize(("argv", "message"), [
    (["report", "abc"], "error: mllm-audit report: Invalid value for 'run_id': "),
    (["audit", "models:/x/1", "--probe-set", "p"], "error: mllm-audit audit: No such option: --probe-set"),
    (["audit"], "error: mllm-audit audit: Missing argument 'model_uri'."),
    (["history", "models:/x"], "error: mllm-audit: No such command 'history'."),
    (["demo", "--n-probes", "1"], "error: mllm-audit demo: Invalid value for '--n-probes'"),
])
def test_a_usage_error_of_the_installed_command_is_one_line_and_exit_2(argv, message, capsys):
    from flows.cli import main

    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == EXIT_BAD_INPUT
    captured = capsys.readouterr()
    (line,) = captured.err.strip().splitlines()
    assert line.startswith(message) and line.endswith("--help)") and captured.out == ""


def test_the_installed_command_without_arguments_shows_its_help(capsys):
    from flows.cli import main

    with pytest.raises(SystemExit) as stopped:
        main([])
    assert stopped.value.code == EXIT_BAD_INPUT and "Usage: mllm-audit" in capsys.readouterr().out


def test_train_demo_refuses_an_unknown_variant_in_one_line(home, tmp_path):
    result = runner.invoke(app, ["train-demo", "--variant", "shortcut-halo", "--out", str(tmp_path / "m")])
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert "unknown variant 'shortcut-halo'" in result.output and "shortcut-glyph" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "m").exists()


def test_train_demo_says_which_stages_ran_and_any_extra_stage1_cycles(home, tmp_path, monkeypatch):
    import auditors.demo.train as training
    from auditors.demo.train import StageRecord, TrainResult

    def fake_training(out, variant, threads, stage0_cache, seed=1234):
        stages = [StageRecord(0, 10, 1.0, 0.09, None), StageRecord(1, 10, 1.0, 0.151, None),
                  StageRecord(1, 10, 1.0, 0.062, None, cycle=1)]
        return TrainResult(tmp_path / "m", "clean", seed, stages, None, 3.0)

    monkeypatch.setattr(training, "train_demo", fake_training)
    monkeypatch.setattr(training, "reproduction_message", lambda *a: "no shipped weights to compare with")
    result = runner.invoke(app, ["train-demo", "--seed", "2", "--out", str(tmp_path / "m")])
    assert result.exit_code == EXIT_OK, result.output
    assert "(seed 2, stages 0, 1; stage 1 loss 0.151 above 0.08, so 1 extra cycle(s): 0.151 -> 0.062)" in result.output


def test_bad_input_is_one_line_and_exit_2(tmp_path, home):
    probes = write_probe_set(tmp_path / "probes", n=2)
    result = runner.invoke(app, ["audit", "runs:/abc", "--probes", str(probes)])
    assert result.exit_code == EXIT_BAD_INPUT
    assert "not a registered-model URI" in result.output and "Traceback" not in result.output
    result = runner.invoke(app, ["audit", "models:/x/1", "--probes", str(tmp_path / "nowhere")])
    assert result.exit_code == EXIT_BAD_INPUT and "no probes.jsonl" in result.output
    result = runner.invoke(app, ["register", str(tmp_path / "missing"), "--name", "x"])
    assert result.exit_code == EXIT_BAD_INPUT and "model folder not found" in result.output


@pytest.mark.parametrize("db, message", [
    ("foo://bar/baz", "unsupported database backend 'foo' in foo://bar/baz"),
    ("postgresql+psycopg://audit:secret@db:54x2/audit", "cannot parse database URL 'postgresql+psycopg://audit:***@db:54x2/audit'"),
    ("sqlite:////no/such/folder/audit.db", "folder /no/such/folder of SQLite database"),
])
def test_a_bad_database_url_is_answered_before_prefect_starts(tmp_path, home, db, message):
    probes = write_probe_set(tmp_path / "probes", n=1)
    result = runner.invoke(app, ["audit", "models:/x/1", "--probes", str(probes), "--db", db])
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    (line,) = result.output.strip().splitlines()  # one line
    assert line.startswith(f"error: {message}")
    assert "temporary API" not in result.output and "secret" not in result.output


def test_verifying_the_ledger_of_a_model_nothing_is_stored_of_is_bad_input(home):
    result = runner.invoke(app, ["compliance", "verify", "models:/nobody"])
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith("error: nothing of model 'nobody' is stored in sqlite:///") and "verifies" not in line


def test_debug_shows_the_traceback(tmp_path, home):
    result = runner.invoke(app, ["--debug", "register", str(tmp_path / "missing"), "--name", "x"])
    assert result.exit_code == EXIT_BAD_INPUT
    assert "Traceback" in result.output


def test_probes_validate(tmp_path, home):
    good = write_probe_set(tmp_path / "good", n=2)
    result = runner.invoke(app, ["probes", "validate", str(good)])
    assert result.exit_code == EXIT_OK and "is valid" in result.output
    (good / "images" / "p000.png").unlink()
    result = runner.invoke(app, ["probes", "validate", str(good)])
    assert result.exit_code == EXIT_BAD_INPUT
    assert "probes.jsonl line 1: probe 'p000': image file images/p000.png does not exist" in result.output


def test_db_upgrade_creates_the_default_database(home):
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == EXIT_OK, result.output
    assert (home / "audit.db").is_file()


def test_register_then_audit_exit_codes(saved_models, tmp_path, home, prefect_harness):
    assert runner.invoke(app, ["register", str(saved_models["a"]), "--name", "cli-cap", "--alias", "champion"]).exit_code == 0
    result = runner.invoke(app, ["register", str(saved_models["b"]), "--name", "cli-cap"])
    assert result.exit_code == 0 and "models:/cli-cap/2" in result.output
    probes = write_probe_set(tmp_path / "probes", n=3)
    out = tmp_path / "report"
    let_drift_alone_fail(home)
    nobody_listens = f"http://127.0.0.1:{free_port()}/hook"
    result = runner.invoke(app, ["audit", "models:/cli-cap/2", "--probes", str(probes), "--methods", "tam",
                                 "--out", str(out), "--webhook", nobody_listens])
    # the champion (random weights, seed 0) and version 2 (seed 1) look at different places
    assert result.exit_code == EXIT_REGRESSION, result.output
    assert "verdict: FAIL" in result.output and str(out / "report.html") in result.output
    assert (out / "report.html").is_file()
    # the webhook failed: the verdict and exit code stand, and the terminal says which channel failed
    assert "warning: alert not delivered for cli-cap v2: webhook:" in result.stderr
    assert "mlflow-tag" not in result.stderr  # the tag did get through
    # the champion itself has no other baseline: a reference audit passes
    result = runner.invoke(app, ["audit", "models:/cli-cap@champion", "--probes", str(probes), "--methods", "tam"])
    assert result.exit_code == EXIT_OK, result.output
    run_id = int(result.output.split("audit run ")[1].split(":")[0])
    result = runner.invoke(app, ["report", str(run_id), "--out", str(tmp_path / "again")])
    assert result.exit_code == EXIT_OK and (tmp_path / "again" / "report.html").is_file()


def test_explain_writes_data_and_pngs(saved_models, tmp_path, home):
    probes = write_probe_set(tmp_path / "probes", n=1)
    out = tmp_path / "explained"
    result = runner.invoke(app, ["explain", "--model", str(saved_models["a"]), "--image",
                                 str(probes / "images" / "p000.png"), "--prompt", "describe the image",
                                 "--out", str(out), "--methods", "tam"])
    assert result.exit_code == EXIT_OK, result.output
    from auditors import Explanation

    explanation = Explanation.load(out / "explanation")
    assert explanation.maps["tam"].shape[0] == len(explanation.tokens) > 0
    assert len(list(out.glob("tam_*.png"))) == len(explanation.tokens)


def test_config_file_explain_table_and_methods_reach_the_audit(saved_models, tmp_path, home, prefect_harness):
    """`--config FILE` is read by the flow too (not only by the CLI): its `[explain]` table and
    `methods` decide what is computed (how a user keeps a real-size audit's answers short)."""
    config = tmp_path / "audit.toml"
    config.write_text('methods = ["tam"]\n\n[explain]\nmax_new_tokens = 2\n')
    assert runner.invoke(app, ["register", str(saved_models["a"]), "--name", "cfg-cap"]).exit_code == 0
    probes = write_probe_set(tmp_path / "probes", n=2)
    result = runner.invoke(app, ["--config", str(config), "audit", "models:/cfg-cap/1", "--probes", str(probes),
                                 "--no-compare"])
    assert result.exit_code == EXIT_OK, result.output
    run_id = int(result.output.split("audit run ")[1].split(":")[0])
    from flows.config import load_settings
    from flows.worker import repository_for

    repository = repository_for(load_settings(home=home).storage_url())
    assert repository.get_run(run_id).config["explain_settings"]["max_new_tokens"] == 2
    generations = repository.get_generations(run_id)
    assert len(generations) == 2 and all(1 <= len(g.token_ids) <= 2 for g in generations)
    assert {m.method for m in repository.get_maps(run_id)} == {"tam"}
    bad = tmp_path / "bad.toml"
    bad.write_text('explain = "short"\n')
    result = runner.invoke(app, ["--config", str(bad), "audit", "models:/cfg-cap/1", "--probes", str(probes)])
    assert result.exit_code == EXIT_BAD_INPUT and "'explain'" in result.output


@pytest.mark.parametrize("error_name, message", [
    ("ReportBuildError", "cannot create report folder /tmp/x: [Errno 17] File exists: '/tmp/x'"),
    ("ReportInputError", "audit run 3 cannot be the baseline of run 7: it audited another probe set (id 2, not 1)"),
])
def test_a_report_that_cannot_be_built_as_asked_is_bad_input(error_name, message, capsys):
    """`--out` naming a file, `--baseline-run` naming a run on another probe set: the user's input
    or environment (exit 2, one line), not a bug (exit 3)."""
    import typer

    import reports
    from flows.cli.guard import guarded
    from reports.data import ReportInputError

    error = {"ReportBuildError": reports.ReportBuildError, "ReportInputError": ReportInputError}[error_name]

    @guarded
    def command() -> int:
        raise error(message)

    with pytest.raises(typer.Exit) as stopped:
        command()
    assert stopped.value.exit_code == EXIT_BAD_INPUT
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line == f"error: {message}"


def test_an_unknown_version_or_alias_is_named_before_prefect_starts(saved_models, tmp_path, home, monkeypatch):
    import flows.cli.audit_commands as commands

    def no_prefect():
        raise AssertionError("Prefect started before the registry was asked")

    monkeypatch.setattr(commands, "announce_prefect", no_prefect)
    assert runner.invoke(app, ["register", str(saved_models["a"]), "--name", "early", "--alias", "champion"]).exit_code == 0
    probes = write_probe_set(tmp_path / "probes", n=2)
    for uri, baseline, named in (("models:/early@candidat", None, "alias 'candidat'"),
                                 ("models:/erly/1", None, "no registered model named 'erly'"),
                                 ("models:/early/1", "models:/early/9", "version 9")):
        extra = ["--baseline", baseline] if baseline else []
        result = runner.invoke(app, ["audit", uri, "--probes", str(probes), *extra])
        assert result.exit_code == EXIT_BAD_INPUT, result.output
        assert named in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("command", [["audit", "models:/x/1"], ["watch", "x"],
                                     ["explain", "--model", "m", "--image", "i.png", "--prompt", "p", "--out", "o"]])
def test_a_methods_option_naming_no_method_is_bad_input(command, home):
    result = runner.invoke(app, [*command, "--methods", " , "])
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert "--methods ' , ' names no method" in result.output and "Traceback" not in result.output


def test_explain_names_an_unknown_method_before_loading_the_model(tmp_path, home, monkeypatch):
    import auditors

    monkeypatch.setattr(auditors, "load_pretrained", lambda *a, **k: pytest.fail("the model was loaded first"))
    result = runner.invoke(app, ["explain", "--model", str(tmp_path), "--image", str(tmp_path / "i.png"),
                                 "--prompt", "p", "--out", str(tmp_path / "o"), "--methods", "tam,tma"])
    assert result.exit_code == EXIT_BAD_INPUT and "unknown method(s): tma" in result.output


@pytest.mark.parametrize("prompt", ["", "   "])
def test_explain_names_an_empty_prompt_before_loading_the_model(prompt, tmp_path, home, monkeypatch):
    import auditors

    monkeypatch.setattr(auditors, "load_pretrained", lambda *a, **k: pytest.fail("the model was loaded first"))
    result = runner.invoke(app, ["explain", "--model", str(tmp_path), "--image", str(tmp_path / "i.png"),
                                 "--prompt", prompt, "--out", str(tmp_path / "o")])
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert "the prompt is empty" in result.output and "Traceback" not in result.output


def test_explain_names_an_unreadable_image_before_loading_the_model(tmp_path, home, monkeypatch):
    import auditors

    monkeypatch.setattr(auditors, "load_pretrained", lambda *a, **k: pytest.fail("the model was loaded first"))
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("these are not pixels")
    result = runner.invoke(app, ["explain", "--model", str(tmp_path), "--image", str(not_an_image),
                                 "--prompt", "p", "--out", str(tmp_path / "o")])
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert "notes.png" in result.output and "Traceback" not in result.output


def test_explain_names_an_output_folder_that_takes_no_files_before_loading_the_model(tmp_path, home, monkeypatch):
    import auditors
    from PIL import Image

    monkeypatch.setattr(auditors, "load_pretrained", lambda *a, **k: pytest.fail("the model was loaded first"))
    image = tmp_path / "scene.png"
    Image.new("RGB", (32, 32), "white").save(image)
    in_the_way = tmp_path / "a-file"
    in_the_way.write_text("x")
    result = runner.invoke(app, ["explain", "--model", str(tmp_path), "--image", str(image), "--prompt", "p",
                                 "--out", str(in_the_way / "out")])
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert f"cannot write the explanation to {in_the_way / 'out'}" in result.output
    assert "Traceback" not in result.output
