"""Storage benchmark: token maps written and read per second, and bytes per stored map cell.

Writes `benchmarks/results/storage_throughput.json`. For each backend (SQLite file, PostgreSQL) and grid
(16x16, 32x32) it stores N maps through `AuditRepository` into a fresh database, the way an audit
does: probes of 20 generated tokens x 2 methods (40 maps per probe), in batches of probes per
transaction (`add_probe_results`), and separately one transaction per probe (`add_probe_result`,
what the flow does) on a smaller sample. It then reads every map back decoded (`get_maps`) and
measures the database's size on disk.

The maps are synthetic but saliency-like: 1-3 Gaussian blobs of random size plus a gamma noise
floor, shifted so ~20 % of cells are exactly 0, normalised to [0, 1]; a pool of distinct maps is
cycled through. Bytes per cell counts everything on disk for the attribution table (rows, keys,
unique index; PostgreSQL: heap + TOAST + indexes) divided by the number of map cells, and the
whole database file too.

Wall-clock rates depend on what else runs on the machine; the `*_per_cpu_s` rates divide by this
process's CPU time instead (for SQLite all the work is in-process, so they show what one free core
does; for PostgreSQL they leave out the server's own CPU time). The load average is recorded at the
start and end of the run and around every case, so a reader can tell a busy machine's numbers.

Usage, from the repository root:
    python -m benchmarks.storage_throughput           # SQLite, plus PostgreSQL if MLLM_AUDIT_TEST_PG_URL is set
    python -m benchmarks.storage_throughput --maps 20000 --backends sqlite
    python -m benchmarks.storage_throughput --pg-url postgresql+psycopg://audit@127.0.0.1:55432/audit
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from storage.records import (
    GenerationRecord,
    ModelVersionRecord,
    ProbeRecord,
    ProbeResult,
    ProbeSetRecord,
    TokenMapRecord,
)
from storage.repository import AuditRepository

RESULTS = Path(__file__).resolve().parent / "results" / "storage_throughput.json"

TOKENS_PER_PROBE = 20
METHODS = ("tam", "msea_arc")
MAPS_PER_PROBE = TOKENS_PER_PROBE * len(METHODS)
POOL_SIZE = 2000


def saliency_like_maps(n: int, side: int, seed: int) -> np.ndarray:
    """n float32 maps [side, side] that look like attribution maps (see module docstring)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float32)
    out = np.empty((n, side, side), dtype=np.float32)
    for i in range(n):
        m = np.zeros((side, side), dtype=np.float32)
        for _ in range(int(rng.integers(1, 4))):
            cy, cx = rng.uniform(0, side, size=2)
            s = rng.uniform(1.0, side / 4)
            m += rng.uniform(0.3, 1.0) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * s * s))
        m += rng.gamma(1.0, 0.05, size=(side, side)).astype(np.float32)
        m = np.maximum(m - np.quantile(m, 0.2), 0.0)
        out[i] = m / m.max()
    return out


@dataclass
class Case:
    backend: str
    side: int
    n_maps: int


def _probe_result(key: str, pool: np.ndarray, start: int) -> ProbeResult:
    tokens = tuple(f"tok{t}" for t in range(TOKENS_PER_PROBE))
    generation = GenerationRecord(
        probe_key=key,
        prompt="Describe the image.",
        text=" ".join(tokens),
        token_ids=tuple(range(1000, 1000 + TOKENS_PER_PROBE)),
        tokens=tokens,
        word_index=tuple(range(TOKENS_PER_PROBE)),
    )
    maps = []
    for j, method in enumerate(METHODS):
        for t in range(TOKENS_PER_PROBE):
            idx = (start + j * TOKENS_PER_PROBE + t) % len(pool)
            maps.append(TokenMapRecord(key, t, tokens[t], t, method, pool[idx]))
    return ProbeResult(key, generation, maps, [])


def _fresh_pg_database(server_url: str) -> tuple[str, Any]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    server = make_url(server_url)
    if server.drivername == "postgresql":
        server = server.set(drivername="postgresql+psycopg")
    name = f"mllm_audit_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return server.set(database=name).render_as_string(hide_password=False), drop


def _sizes(repo: AuditRepository, url: str, n_cells: int) -> dict[str, float]:
    from sqlalchemy import func, select

    from storage.models import TokenAttribution

    with repo.engine.connect() as conn:
        blob_bytes = conn.execute(select(func.sum(func.length(TokenAttribution.map_data)))).scalar_one()
        conn.rollback()
        out = {"blob_bytes_per_cell": blob_bytes / n_cells}
        if repo.backend == "postgresql":
            table = conn.exec_driver_sql("SELECT pg_total_relation_size('token_attributions')").scalar_one()
            database = conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar_one()
            conn.rollback()
            out["table_bytes_per_cell"] = table / n_cells
            out["database_bytes_per_cell"] = database / n_cells
            return out
    path = url.removeprefix("sqlite:///")
    repo.close()
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    try:
        rows = raw.execute(
            "SELECT name, sum(pgsize) FROM dbstat WHERE name = 'token_attributions' "
            "OR name LIKE 'sqlite_autoindex_token_attributions%' GROUP BY name"
        ).fetchall()
        out["table_bytes_per_cell"] = sum(size for _, size in rows) / n_cells
    except sqlite3.OperationalError:  # SQLite built without the dbstat table
        pass
    raw.close()
    out["database_bytes_per_cell"] = os.path.getsize(path) / n_cells
    return out


def run_case(case: Case, pg_url: str | None, batch_probes: int, single_probes: int, workdir: Path) -> dict[str, Any]:
    pool = saliency_like_maps(POOL_SIZE, case.side, seed=case.side)
    n_probes = case.n_maps // MAPS_PER_PROBE
    drop = None
    if case.backend == "sqlite":
        url = f"sqlite:///{workdir / f'bench-{case.side}.db'}"
    else:
        assert pg_url is not None
        url, drop = _fresh_pg_database(pg_url)
    try:
        repo = AuditRepository(url)
        mv = repo.get_or_create_model_version(
            ModelVersionRecord(None, "bench", "1", "models:/bench/1", "0" * 64, "Qwen2VLForConditionalGeneration")
        )
        probes = [ProbeRecord(f"p{i:06d}", f"images/{i}.png", "Describe the image.") for i in range(n_probes + single_probes)]
        ps = repo.get_or_create_probe_set(ProbeSetRecord(None, "bench", "1", f"bench-{case.side}"), probes)
        run = repo.start_run(mv.id, ps.id, {"grid": case.side})

        write_s = write_cpu_s = 0.0
        label = f"{case.backend} {case.side}x{case.side} write"
        with tqdm(total=n_probes * MAPS_PER_PROBE, desc=label, unit="map", leave=False) as bar:
            for lo in range(0, n_probes, batch_probes):
                batch = [_probe_result(probes[i].probe_key, pool, i * MAPS_PER_PROBE) for i in range(lo, min(lo + batch_probes, n_probes))]
                started, started_cpu = time.perf_counter(), time.process_time()
                repo.add_probe_results(run.id, batch)
                write_s += time.perf_counter() - started
                write_cpu_s += time.process_time() - started_cpu
                bar.update(len(batch) * MAPS_PER_PROBE)

        single_s = 0.0
        for i in range(n_probes, n_probes + single_probes):
            result = _probe_result(probes[i].probe_key, pool, i * MAPS_PER_PROBE)
            started = time.perf_counter()
            repo.add_probe_result(run.id, result)
            single_s += time.perf_counter() - started

        started, started_cpu = time.perf_counter(), time.process_time()
        maps = repo.get_maps(run.id)
        read_s = time.perf_counter() - started
        read_cpu_s = time.process_time() - started_cpu
        n_stored = len(maps)
        assert n_stored == (n_probes + single_probes) * MAPS_PER_PROBE
        check = maps[0]
        assert np.array_equal(check.map, pool[0].astype(np.float16)) or check.map.shape == (case.side, case.side)
        del maps

        started = time.perf_counter()
        one = repo.get_maps(run.id, probe_key=probes[n_probes // 2].probe_key)
        read_one_s = time.perf_counter() - started
        assert len(one) == MAPS_PER_PROBE

        sizes = _sizes(repo, url, n_stored * case.side * case.side)
        repo.close()
    finally:
        if drop is not None:
            drop()
        elif case.backend == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(str(workdir / f"bench-{case.side}.db") + suffix).unlink(missing_ok=True)

    return {
        "backend": case.backend,
        "grid": [case.side, case.side],
        "maps_bulk": n_probes * MAPS_PER_PROBE,
        "batch_probes": batch_probes,
        "maps_per_transaction": batch_probes * MAPS_PER_PROBE,
        "write_maps_per_s_batched": n_probes * MAPS_PER_PROBE / write_s,
        "write_maps_per_cpu_s_batched": n_probes * MAPS_PER_PROBE / write_cpu_s,
        "write_maps_per_s_one_probe_per_transaction": (single_probes * MAPS_PER_PROBE / single_s) if single_probes else None,
        "maps_one_probe_per_transaction": single_probes * MAPS_PER_PROBE,
        "read_maps_per_s_all": n_stored / read_s,
        "read_maps_per_cpu_s_all": n_stored / read_cpu_s,
        "read_one_probe_ms": read_one_s * 1000,
        "maps_stored": n_stored,
        **sizes,
    }


def machine_info(pg_url: str | None) -> dict[str, Any]:
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "sqlite": sqlite3.sqlite_version,
        "load_average_at_start": list(os.getloadavg()),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_gib"] = round(int(line.split()[1]) / 2**20, 1)
                break
    except OSError:
        pass
    import sqlalchemy

    info["sqlalchemy"] = sqlalchemy.__version__
    if pg_url:
        from sqlalchemy import create_engine

        engine = create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.connect() as conn:
            info["postgresql"] = conn.exec_driver_sql("SHOW server_version").scalar_one()
            info["postgresql_fsync"] = conn.exec_driver_sql("SHOW fsync").scalar_one()
            info["postgresql_synchronous_commit"] = conn.exec_driver_sql("SHOW synchronous_commit").scalar_one()
        engine.dispose()
    return info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--maps", type=int, default=100_000, help="maps per backend and grid (bulk path)")
    parser.add_argument("--pg-maps", type=int, default=None, help="maps for PostgreSQL (default: --maps)")
    parser.add_argument("--grids", default="16,32")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default=os.environ.get("MLLM_AUDIT_TEST_PG_URL"))
    parser.add_argument("--batch-probes", type=int, default=50, help="probes per transaction on the bulk path")
    parser.add_argument("--single-probes", type=int, default=100, help="probes written one transaction each")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if "postgresql" in backends and not args.pg_url:
        print("no PostgreSQL URL (--pg-url or MLLM_AUDIT_TEST_PG_URL): benchmarking SQLite only", file=sys.stderr)
        backends.remove("postgresql")
    sides = [int(s) for s in args.grids.split(",")]
    cases = [
        Case(b, side, args.pg_maps if (b == "postgresql" and args.pg_maps) else args.maps) for b in backends for side in sides
    ]
    info = machine_info(args.pg_url if "postgresql" in backends else None)
    results = []
    with tempfile.TemporaryDirectory(prefix="mllm-audit-bench-") as tmp:
        for case in cases:
            load_before = list(os.getloadavg())
            result = run_case(case, args.pg_url, args.batch_probes, args.single_probes, Path(tmp))
            result["load_average_before"], result["load_average_after"] = load_before, list(os.getloadavg())
            results.append(result)
            print(
                f"{case.backend:10s} {case.side}x{case.side}: write {result['write_maps_per_s_batched']:,.0f} maps/s "
                f"[{result['write_maps_per_cpu_s_batched']:,.0f} per CPU-s] (per-probe tx {result['write_maps_per_s_one_probe_per_transaction'] or 0:,.0f}), "
                f"read {result['read_maps_per_s_all']:,.0f} maps/s, "
                f"{result.get('table_bytes_per_cell', float('nan')):.2f} B/cell table, "
                f"{result['database_bytes_per_cell']:.2f} B/cell database, {result['blob_bytes_per_cell']:.2f} B/cell blobs",
                flush=True,
            )
    info["load_average_at_end"] = list(os.getloadavg())
    payload = {
        "benchmark": "storage_throughput",
        "created_at": datetime.now(timezone.utc).isoformat(),
        "goals": {"write_maps_per_s_batched_sqlite": 20_000, "bytes_per_cell": 2.2},
        "workload": {
            "tokens_per_probe": TOKENS_PER_PROBE,
            "methods": list(METHODS),
            "maps_per_probe": MAPS_PER_PROBE,
            "map_pool": POOL_SIZE,
            "maps": "synthetic saliency-like float32 maps (1-3 Gaussian blobs + gamma noise floor, ~20% zeros, max 1)",
        },
        "machine": info,
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
