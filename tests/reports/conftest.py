"""Fixtures of the report tests: one headless Chromium per module.

Chromium missing: skipped locally, a FAILURE when CI=true (scripts/ci/chromium.sh installs it).
"""

from __future__ import annotations

import pytest

from tests.conftest import in_ci
from tests.reports.cdp import Browser, find_chromium


@pytest.fixture(scope="module")
def browser():
    binary = find_chromium()
    if binary is None:
        message = "Chromium not found (run scripts/ci/chromium.sh or set MLLM_AUDIT_CHROMIUM)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    b = Browser(binary)
    try:
        yield b
    finally:
        b.close()
