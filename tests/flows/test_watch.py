"""watch_registry audits every version without an audit, against @champion, exactly once."""

from __future__ import annotations

import pytest

from flows.registry import register_model
from flows.watch import WatchRegressionError, watch_registry


def test_watch_audits_new_versions_once(audit_env, saved_models):
    probes = str(audit_env["probes"])
    with pytest.raises(WatchRegressionError) as caught:
        watch_registry(name="cap", probe_set=probes, methods=["tam"], show_progress=False)
    first = caught.value.watch
    assert first.champion_version == "1" and first.already_audited == ()
    assert [o.model.version for o in first.audited] == ["1", "2"]  # the champion first, as the reference
    assert first.audited[0].verdict == "none" and first.failed_versions == ("2",)

    again = watch_registry(name="cap", probe_set=probes, methods=["tam"], show_progress=False)
    assert again.audited == () and again.already_audited == ("1", "2")

    register_model(saved_models["a"], "cap", settings=audit_env["settings"], reuse_existing=False)
    third = watch_registry(name="cap", probe_set=probes, methods=["tam"], show_progress=False)
    assert [o.model.version for o in third.audited] == ["3"]
    assert third.audited[0].verdict == "pass" and third.audited[0].baseline_uri == "models:/cap@champion"
