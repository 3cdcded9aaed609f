"""Where the TAM reference fixtures live: ``tests/auditors/fixtures/tam_reference`` (arrays produced by
the original TAM code; provenance in its README), or the folder named by ``MLLM_AUDIT_TAM_FIXTURES``
(to check the implementation against another set of fixtures in the same format)."""

from __future__ import annotations

import os
from pathlib import Path

IN_REPOSITORY = Path(__file__).resolve().parent / "fixtures" / "tam_reference"


def tam_fixture_dir() -> Path:
    override = os.environ.get("MLLM_AUDIT_TAM_FIXTURES")
    return Path(override) if override else IN_REPOSITORY
