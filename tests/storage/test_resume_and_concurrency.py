"""A killed audit resumes without duplicates; two audits write one database at the same time.

The writers are real processes (`tests/storage/writer.py`) using the repository API; the first
one is SIGKILLed mid-run, i.e. without any chance to clean up, exactly like an OOM kill.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine, func, select

from storage.models import Generation, Metric, TokenAttribution
from storage.repository import AuditRepository
from tests.storage.factories import METHODS, probe_result

WRITER = Path(__file__).with_name("writer.py")
N_PROBES = 24
N_TOKENS = 4


def _writer(url: str, env: dict[str, str], *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WRITER), url, "--probes", str(N_PROBES), "--tokens", str(N_TOKENS), *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen[str], timeout: float = 240) -> str:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, f"writer failed ({proc.returncode}): {err[-2000:]}"
    return out.strip()


def _assert_each_probe_exactly_once(url: str, run_id: int) -> None:
    """Row-level proof: one generation per probe, one map per (probe, method, token), no extras."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            per_probe = Counter(
                dict(conn.execute(select(Generation.probe_id, func.count()).where(Generation.run_id == run_id).group_by(Generation.probe_id)).all())
            )
            maps = conn.execute(
                select(TokenAttribution.probe_id, TokenAttribution.method, TokenAttribution.token_index, func.count())
                .where(TokenAttribution.run_id == run_id)
                .group_by(TokenAttribution.probe_id, TokenAttribution.method, TokenAttribution.token_index)
            ).all()
            n_metrics = conn.execute(select(func.count()).select_from(Metric).where(Metric.run_id == run_id)).scalar_one()
    finally:
        engine.dispose()
    assert len(per_probe) == N_PROBES and set(per_probe.values()) == {1}
    assert len(maps) == N_PROBES * len(METHODS) * N_TOKENS and {row[3] for row in maps} == {1}
    assert n_metrics == N_PROBES * (len(METHODS) + 1)


def _completed(url: str) -> int:
    with AuditRepository(url) as repo:
        runs = repo.list_runs()
        return len(repo.completed_probe_keys(runs[0].id)) if runs else 0


def test_killed_run_resumes_and_every_probe_is_stored_exactly_once(db_url: str, subprocess_env: dict[str, str]) -> None:
    first = _writer(db_url, subprocess_env, "--sleep", "0.15")
    deadline = time.monotonic() + 180
    stored = 0
    while stored < 5:
        assert first.poll() is None, f"writer ended before it was killed: {first.communicate()[1][-2000:]}"
        assert time.monotonic() < deadline, "writer made no progress"
        time.sleep(0.1)
        try:
            stored = _completed(db_url)
        except Exception:  # the schema may not exist yet in the first instants
            stored = 0
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    assert first.returncode == -signal.SIGKILL

    with AuditRepository(db_url) as repo:
        (run,) = repo.list_runs()
        assert run.status == "running"  # killed: nobody marked it finished
        partial = repo.completed_probe_keys(run.id)
    assert 5 <= len(partial) < N_PROBES

    out = _finish(_writer(db_url, subprocess_env))
    run_id, written, skipped = (int(x) for x in out.split()[1:])
    assert run_id == run.id
    assert written == N_PROBES - len(partial) and skipped == 0

    with AuditRepository(db_url) as repo:
        (final,) = repo.list_runs()
        assert final.id == run.id and final.status == "completed" and final.resume_count == 1
        assert len(repo.completed_probe_keys(run.id)) == N_PROBES
        # what the first process stored before dying is intact, not rewritten
        key = sorted(partial)[0]
        want = probe_result(key, n_tokens=N_TOKENS, grid=(16, 16))
        got = repo.get_maps(run.id, key, METHODS[0])
        np.testing.assert_array_equal(got[0].map, want.maps[0].map.astype(np.float16))
    _assert_each_probe_exactly_once(db_url, run.id)


def test_two_audits_write_one_fresh_database_at_the_same_time(
    db_url: str, subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    go = tmp_path / "go"
    writers = [_writer(db_url, subprocess_env, "--model", name, "--go", str(go)) for name in ("model-a", "model-b")]
    time.sleep(1.0)  # both processes are up and waiting (imports done) before the start signal
    go.touch()
    outputs = [_finish(w) for w in writers]
    run_ids = {int(out.split()[1]) for out in outputs}
    assert len(run_ids) == 2
    with AuditRepository(db_url) as repo:
        runs = repo.list_runs()
        assert {r.id for r in runs} == run_ids and {r.status for r in runs} == {"completed"}
        assert len({r.probe_set_id for r in runs}) == 1  # the shared probe set was created once
    for run_id in run_ids:
        _assert_each_probe_exactly_once(db_url, run_id)


def test_two_writers_on_the_same_run_store_each_probe_once(
    db_url: str, subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    go = tmp_path / "go"
    writers = [_writer(db_url, subprocess_env, "--go", str(go)) for _ in range(2)]
    time.sleep(1.0)
    go.touch()
    outputs = [_finish(w) for w in writers]
    parsed = [tuple(int(x) for x in out.split()[1:]) for out in outputs]
    assert len({p[0] for p in parsed}) == 1
    assert sum(p[1] for p in parsed) == N_PROBES  # between them, each probe written exactly once
    _assert_each_probe_exactly_once(db_url, parsed[0][0])


def test_threads_sharing_one_repository_store_each_probe_once(db_url: str) -> None:
    """Prefect's thread task runner may share one repository between tasks: still exactly once."""
    from concurrent.futures import ThreadPoolExecutor

    from tests.storage.factories import model_version, probe_set

    with AuditRepository(db_url) as repo:
        mv = repo.get_or_create_model_version(model_version())
        record, probes = probe_set(N_PROBES)
        ps = repo.get_or_create_probe_set(record, probes)
        run = repo.start_run(mv.id, ps.id, {"threads": 4})

        def write(key: str) -> bool:
            return repo.add_probe_result(run.id, probe_result(key, n_tokens=N_TOKENS, grid=(16, 16)))

        keys = [p.probe_key for p in probes] * 2  # every probe offered twice, concurrently
        with ThreadPoolExecutor(max_workers=4) as pool:
            written = list(pool.map(write, keys))
    assert sum(written) == N_PROBES
    _assert_each_probe_exactly_once(db_url, run.id)
