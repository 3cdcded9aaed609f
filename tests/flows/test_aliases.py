"""Aliases follow the registry: every audit passes the version's current aliases to storage, so an
alias that moved to a newer version leaves the older one, in the database and in the report."""

from __future__ import annotations

from flows.audit import run_audit
from flows.registry import register_model
from flows.request import AuditRequest
from flows.worker import repository_for
from tests.flows.helpers import write_probe_set

MODEL = "alias-cap"  # a name of its own: the shared registry's `cap` keeps its aliases for other tests


def _stored_aliases(repository) -> dict[str, tuple[str, ...]]:
    runs = repository.list_runs(model_name=MODEL)
    versions = {repository.get_model_version(r.model_version_id) for r in runs}
    return {v.version: tuple(v.aliases) for v in versions}


def test_a_moved_alias_leaves_the_older_version_in_storage_report_and_history(audit_env, saved_models, tmp_path):
    settings = audit_env["settings"]
    register_model(saved_models["a"], MODEL, alias="champion", settings=settings)
    register_model(saved_models["b"], MODEL, alias="candidate", settings=settings)
    probes = write_probe_set(tmp_path / "probes", n=3, name="aliases")
    request = AuditRequest(model_uri=f"models:/{MODEL}@candidate", probe_set=str(probes), methods=("tam",),
                           show_progress=False, out_dir=str(tmp_path / "first"))
    first = run_audit(request)
    repository = repository_for(settings.storage_url())
    assert first.model.version == "2"
    assert _stored_aliases(repository) == {"1": ("champion",), "2": ("candidate",)}

    # a new version is promoted to candidate in the registry; the next audit follows it
    newer = register_model(saved_models["a"], MODEL, alias="candidate", settings=settings, reuse_existing=False)
    assert newer.version == "3"
    second = run_audit(AuditRequest(model_uri=f"models:/{MODEL}@candidate", probe_set=str(probes), methods=("tam",),
                                    show_progress=False, out_dir=str(tmp_path / "second")))
    assert second.model.version == "3"
    assert _stored_aliases(repository) == {"1": ("champion",), "2": (), "3": ("candidate",)}

    html = open(second.report_html, encoding="utf-8").read()
    history = html[html.index('<section id="history">'):]
    history = history[:history.index("</section>")]
    assert "v3 (candidate)</span>" in history and "v1 (champion)</span>" in history
    assert "v2 (candidate)" not in history and "v2</span>" in history


def test_an_alias_deleted_in_the_registry_leaves_the_database(audit_env, saved_models, tmp_path):
    from flows.compliance import sync_registry_versions
    from flows.registry.client import mlflow_client

    settings = audit_env["settings"]
    name = f"{MODEL}-deleted"
    register_model(saved_models["a"], name, alias="champion", settings=settings)
    probes = write_probe_set(tmp_path / "probes", n=2, name="aliases-deleted")
    run_audit(AuditRequest(model_uri=f"models:/{name}@champion", probe_set=str(probes), methods=("tam",),
                           show_progress=False, out_dir=str(tmp_path / "report")))
    repository = repository_for(settings.storage_url())
    [version] = {repository.get_model_version(r.model_version_id) for r in repository.list_runs(model_name=name)}
    assert version.aliases == ("champion",)

    mlflow_client(settings).delete_registered_model_alias(name, "champion")
    sync_registry_versions(repository, name, settings)  # what every dossier regeneration does
    assert repository.get_model_version(version.id).aliases == ()
