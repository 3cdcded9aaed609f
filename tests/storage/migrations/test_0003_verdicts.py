"""Migration 0003 on an old database: comparisons grouped into legacy verdicts, the unread
`mass_in_mask` column dropped, probe thumbnails added; on SQLite and PostgreSQL.

The old database is made the way a user's is: migrated to 0002 and filled with SQL (not with
today's models, which no longer match that schema), then upgraded to the head revision.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from sqlalchemy import Connection, create_engine, inspect, text

from storage.encoding import encode_map
from storage.hashing import settings_hash
from storage.migrate import current_revision, head_revision, upgrade
from storage.records import VerdictRecord
from storage.repository import AuditRepository

OLD = "0002_comparisons_alerts"
LEGACY_RESULT = {"type": "mllm_audit.legacy_verdict", "version": 1}


def _insert(conn: Connection, sql: str, **params: object) -> int:
    return conn.execute(text(sql + " RETURNING id"), params).scalar_one()


def _run(conn: Connection, model_version_id: int, probe_set_id: int, day: int) -> int:
    return _insert(
        conn,
        "INSERT INTO audit_runs (model_version_id, probe_set_id, config_hash, config, status, started_at, updated_at, "
        "package_versions, code_version, timings, resume_count) VALUES (:mv, :ps, :h, '{}', 'completed', :t, :t, "
        "'{}', '', '{}', 0)",
        mv=model_version_id, ps=probe_set_id, h=f"{day:064d}", t=f"2026-01-{day:02d} 00:00:00+00:00",
    )


def _comparison(conn: Connection, candidate: int, baseline: int, method: str, metric: str, verdict: str,
                delta: float, day: int) -> None:
    conn.execute(
        text(
            "INSERT INTO comparisons (candidate_run_id, baseline_run_id, method, metric, delta, ci_low, ci_high, "
            "n_pairs, tolerance, verdict, created_at) VALUES (:c, :b, :m, :k, :d, :lo, :hi, 12, 0.05, :v, :t)"
        ),
        dict(c=candidate, b=baseline, m=method, k=metric, d=delta, lo=delta - 0.1, hi=delta + 0.05, v=verdict,
             t=f"2026-01-{day:02d} 00:00:00+00:00"),
    )


def _alert(conn: Connection, run_id: int, verdict: str, payload: dict, day: int) -> None:
    conn.execute(
        text("INSERT INTO alerts (run_id, verdict, message, channels, payload, created_at) "
             "VALUES (:r, :v, 'm', '[]', :p, :t)"),
        dict(r=run_id, v=verdict, p=json.dumps(payload), t=f"2026-01-{day:02d} 00:00:00+00:00"),
    )


def _old_database(url: str) -> dict[str, int]:
    """Three runs of one model judged in three pairs, with alerts, maps and probes, at revision 0002."""
    assert upgrade(url, OLD) == OLD
    engine = create_engine(url)
    with engine.begin() as conn:
        mvs = [
            _insert(conn, "INSERT INTO model_versions (name, version, source_uri, weights_hash, architecture, aliases, "
                    "created_at) VALUES ('m', :v, 'models:/m', 'h', 'A', '[]', '2026-01-01 00:00:00+00:00')", v=str(v))
            for v in (1, 2, 3)
        ]
        ps = _insert(conn, "INSERT INTO probe_sets (name, version, content_hash, description, n_probes, root, created_at) "
                     "VALUES ('s', '1', 'c', '', 1, '', '2026-01-01 00:00:00+00:00')")
        probe = _insert(conn, "INSERT INTO probes (probe_set_id, probe_key, image_path, prompt, object_words) "
                        "VALUES (:ps, 'p000', 'images/p000.png', 'Describe.', '[]')", ps=ps)
        r1, r2, r3 = (_run(conn, mv, ps, day) for mv, day in zip(mvs, (1, 2, 3)))
        conn.execute(
            text("INSERT INTO generations (run_id, probe_id, prompt, text, token_ids, tokens, word_index, created_at) "
                 "VALUES (:r, :p, 'Describe.', 'red', '[5]', '[\"red\"]', '[0]', '2026-01-01 00:00:00+00:00')"),
            dict(r=r1, p=probe),
        )
        conn.execute(
            text("INSERT INTO token_attributions (run_id, probe_id, token_index, method, grid_rows, grid_cols, "
                 "peak_row, peak_col, mass_in_mask, map_data) VALUES (:r, :p, 0, 'tam', 1, 1, 0, 0, 0.5, :blob)"),
            dict(r=r1, p=probe, blob=encode_map(np.ones((1, 1)))),
        )
        # (r2, r1): fail + warn + pass, two alerts on r2: the latest one's reasons are the verdict's
        _comparison(conn, r2, r1, "tam", "pointing_game", "fail", -0.3, 4)
        _comparison(conn, r2, r1, "msea_arc", "obj_iou", "warn", -0.06, 4)
        _comparison(conn, r2, r1, "tam", "obj_iou", "pass", 0.01, 5)
        _alert(conn, r2, "warn", {"reasons": ["an older reason"], "baseline_run_id": r1}, 4)
        _alert(conn, r2, "fail", {"reasons": ["stored reason one", "stored reason two"], "baseline_run_id": r1}, 5)
        # (r3, r1): warn + pass; r3's only alert carries no reasons: sentences from the columns
        _comparison(conn, r3, r1, "tam", "map_drift_spearman", "warn", 0.28, 6)
        _comparison(conn, r3, r1, "tam", "pointing_game", "pass", 0.0, 6)
        _alert(conn, r3, "warn", {}, 6)
        # (r3, r2): everything passed
        _comparison(conn, r3, r2, "tam", "pointing_game", "pass", 0.02, 7)
    engine.dispose()
    return {"r1": r1, "r2": r2, "r3": r3, "probe_set": ps}


def _columns(url: str, table: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {c["name"] for c in inspect(conn).get_columns(table)}
    finally:
        engine.dispose()


def test_old_comparisons_become_legacy_verdicts(db_url: str) -> None:
    ids = _old_database(db_url)
    r1, r2, r3 = ids["r1"], ids["r2"], ids["r3"]
    assert upgrade(db_url) == head_revision() == current_revision(db_url)

    with AuditRepository(db_url) as repo:
        (v21,) = repo.get_verdicts(r2)
        assert (v21.baseline_run_id, v21.verdict) == (r1, "fail")  # the worst of its comparisons
        assert v21.reasons == ("stored reason one", "stored reason two")  # the latest alert's
        assert v21.headline == "stored reason one"
        assert v21.settings == {"legacy": True} and v21.settings_hash == settings_hash({"legacy": True})
        assert v21.result == LEGACY_RESULT
        assert [(c.method, c.metric, c.verdict) for c in v21.comparisons] == [
            ("msea_arc", "obj_iou", "warn"), ("tam", "obj_iou", "pass"), ("tam", "pointing_game", "fail")]
        assert {c.verdict_id for c in v21.comparisons} == {v21.id}
        assert v21.created_at is not None and v21.created_at.isoformat().startswith("2026-01-05")

        v31, v32 = repo.get_verdicts(r3)  # oldest first
        assert (v31.baseline_run_id, v31.verdict) == (r1, "warn")
        assert v31.reasons == (
            "tam map_drift_spearman: WARN, map similarity 0.280 (CI 0.180 to 0.330, 12 pairs; minimum 0.050).",)
        assert v31.headline == v31.reasons[0]
        assert (v32.baseline_run_id, v32.verdict, v32.reasons) == (r2, "pass", ())
        assert v32.headline == "All 1 stored comparisons passed."
        assert repo.latest_verdict(r3) == v32 and repo.latest_verdict(r3, r1) == v31
        assert repo.get_verdicts(r1) == []
        assert len(repo.get_comparisons(r2)) == 3

        # the legacy verdict does not block a verdict judged with real settings
        judged = repo.add_verdict(VerdictRecord(r2, r1, "fail", "h", ("h",), {"seed": 0}))
        assert repo.get_verdicts(r2) == [v21, judged]

        # the other parts of 0003: the unread column is gone with its rows kept; thumbnails are empty
        (map_row,) = repo.get_maps(r1)
        assert (map_row.peak, map_row.map.tolist()) == ((0, 0), [[1.0]])
        assert [p.thumbnail for p in repo.list_probes(ids["probe_set"])] == [None]
    assert "mass_in_mask" not in _columns(db_url, "token_attributions")
    assert "thumbnail" in _columns(db_url, "probes")



def test_an_old_database_without_comparisons_upgrades_to_no_verdicts(db_url: str) -> None:
    assert upgrade(db_url, OLD) == OLD
    assert upgrade(db_url) == head_revision()
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM verdicts")).scalar_one() == 0
    finally:
        engine.dispose()


@pytest.mark.parametrize("table", ["verdicts", "comparisons"])
def test_the_upgraded_tables_cascade_with_their_runs(db_url: str, table: str) -> None:
    ids = _old_database(db_url)
    upgrade(db_url)
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA foreign_keys = ON")
            before = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            conn.execute(text("DELETE FROM alerts WHERE run_id = :r"), {"r": ids["r2"]})
            conn.execute(text("DELETE FROM audit_runs WHERE id = :r"), {"r": ids["r2"]})
            after = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
    finally:
        engine.dispose()
    # r2 was the candidate of one verdict (3 comparisons) and the baseline of another (1)
    assert before - after == {"verdicts": 2, "comparisons": 4}[table]
