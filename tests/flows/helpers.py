"""Small builders shared by the flows tests: probe set folders and converted probe results.

Why hand-built here: validation and conversion tests must not depend on the demo generator's
output, and each test needs to break one specific thing in an otherwise valid folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from storage.records import GenerationRecord, MetricRecord, ProbeResult, TokenMapRecord


def write_probe_set(root: Path, n: int = 3, size: tuple[int, int] = (56, 56), name: str = "tiny") -> Path:
    """A valid docs/DESIGN.md §6 probe set: n probes, one object with a mask each."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "images").mkdir(exist_ok=True)
    (root / "masks").mkdir(exist_ok=True)
    (root / "probeset.yaml").write_text(
        f"name: {name}\nversion: '1'\ndescription: test set\ndefault_prompt: Describe the image.\n"
    )
    lines = []
    rng = np.random.default_rng(0)
    for i in range(n):
        key = f"p{i:03d}"
        pixels = rng.integers(0, 255, size=(size[1], size[0], 3), dtype=np.uint8)
        Image.fromarray(pixels).save(root / "images" / f"{key}.png")
        mask = np.zeros((size[1], size[0]), dtype=np.uint8)
        mask[: size[1] // 2, : size[0] // 2] = 255
        Image.fromarray(mask).save(root / "masks" / f"{key}_0.png")
        lines.append(
            {
                "id": key,
                "image": f"images/{key}.png",
                "prompt": "Describe the image.",
                "objects": [{"words": ["red", "circle"], "mask": f"masks/{key}_0.png"}],
            }
        )
    (root / "probes.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    return root


def rewrite_manifest(root: Path, edit) -> None:
    """Apply `edit(list_of_entries)` to probes.jsonl in place."""
    entries = [json.loads(line) for line in (root / "probes.jsonl").read_text().splitlines() if line.strip()]
    edit(entries)
    (root / "probes.jsonl").write_text("".join(json.dumps(e) + "\n" for e in entries))


def probe_result(key: str = "p000", n_tokens: int = 3, methods=("tam", "msea_arc"), grid=(4, 4)) -> ProbeResult:
    """A consistent converted result: one map per token x method on one grid."""
    rng = np.random.default_rng(1)
    generation = GenerationRecord(
        probe_key=key,
        prompt="Describe the image.",
        text=" ".join(f"w{i}" for i in range(n_tokens)),
        token_ids=tuple(range(n_tokens)),
        tokens=tuple(f"w{i}" for i in range(n_tokens)),
        word_index=tuple(range(n_tokens)),
    )
    maps = [
        TokenMapRecord(probe_key=key, token_index=t, token_text=f"w{t}", word_index=t, method=m,
                       map=rng.random(grid).astype(np.float32))
        for m in methods
        for t in range(n_tokens)
    ]
    metrics = [MetricRecord(method=m, metric="obj_iou", value=0.5, direction="higher_is_better", probe_key=key) for m in methods]
    return ProbeResult(probe_key=key, generation=generation, maps=maps, metrics=metrics)


def judge_strictly(home: Path) -> None:
    """Write a config file in `home` with the strict tolerances of earlier releases (0.05 on every
    explanation metric) and drift alone failing.

    Why: the shipped tolerances are calibrated on honest retrains of the demo model; two unrelated
    random test models on three probes stay within them, and the tests that need a FAIL verdict from a
    real CLI process (events, exit codes) would get WARN.
    """
    from comparison.settings import CALIBRATED_TOLERANCES

    tolerances = "\n".join(f"{metric} = 0.05" for metric in sorted(CALIBRATED_TOLERANCES))
    let_drift_alone_fail(home, f"\n[regression.tolerances]\n{tolerances}\n")


def let_drift_alone_fail(home: Path, more: str = "") -> None:
    """Write a config file in `home` under which map drift alone fails the verdict (`more`: further
    TOML appended).

    Why: two unrelated random test models differ in where they look and in little else; the fail
    path the flow tests exercise needs a failing verdict, and by default drift alone only warns.
    """
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text('[regression.drift]\nalone = "fail"\n' + more, encoding="utf-8")


def database_rows(url: str) -> dict[str, list[tuple]]:
    """Every row of every table of the database at `url`, sorted: compare two snapshots to prove an
    operation wrote nothing."""
    import warnings

    from sqlalchemy import MetaData, create_engine, select
    from sqlalchemy.exc import SAWarning

    engine = create_engine(url)
    try:
        metadata = MetaData()
        with warnings.catch_warnings():  # expression-based indexes are not reflected: rows are all we read
            warnings.simplefilter("ignore", SAWarning)
            metadata.reflect(engine)
        with engine.connect() as connection:
            return {name: sorted((tuple(map(repr, row)) for row in connection.execute(select(table))))
                    for name, table in metadata.tables.items()}
    finally:
        engine.dispose()
