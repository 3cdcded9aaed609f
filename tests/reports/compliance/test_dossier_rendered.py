"""The dossier as a person sees it: the PDF rendered by Debian's poppler-utils (page size, page
numbers on every page, every section in the text, pages that are not blank), and the HTML in
headless Chromium (no console errors or warnings, the trend image decoded, nothing loaded from
outside).

Renderer missing: skipped locally, a FAILURE when CI=true (scripts/ci/poppler.sh and
scripts/ci/chromium.sh install them). Page images land in tmp_path and, when MLLM_AUDIT_ARTIFACTS
is set, are copied there.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from reports.compliance import build_dossier, load_dossier_data
from tests.conftest import in_ci
from tests.reports.cdp import Browser
from tests.reports.compliance.factories import NAME, stored_history

SECTION_TITLES = ("1. Summary", "2. Model versions", "3. Audits of each version", "4. Trends across versions",
                  "5. Open alerts", "6. Sign-off", "7. Tamper evidence", "8. Methods and limitations",
                  "9. Framework mapping")


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        message = f"{tool} not found (run scripts/ci/poppler.sh)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return path


def _keep(path: Path) -> None:
    target = os.environ.get("MLLM_AUDIT_ARTIFACTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / path.name)


@pytest.fixture(scope="module")
def dossier(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dossier")
    repo = stored_history(folder / "audit.db")
    try:
        paths = build_dossier(load_dossier_data(repo, NAME, generator="git:test"), folder / "out")
    finally:
        repo.close()
    return paths


def test_the_pdf_is_a4_numbered_on_every_page_and_holds_every_section(dossier):
    info = subprocess.run([_need("pdfinfo"), str(dossier.pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    assert re.search(r"^Page size:\s+595\.\d+ x 841\.\d+ pts \(A4\)", info, re.M), info
    assert pages >= 3
    text = subprocess.run([_need("pdftotext"), "-layout", str(dossier.pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    per_page = text.split("\f")
    for number in range(1, pages + 1):
        assert f"Page {number} of {pages}" in per_page[number - 1], f"page {number} has no page number"
        assert "mllm-audit compliance dossier: captioner" in per_page[number - 1]
    flat = " ".join(subprocess.run([_need("pdftotext"), str(dossier.pdf), "-"], capture_output=True, text=True,
                                   check=True).stdout.split())  # reading order, not layout
    for title in SECTION_TITLES:
        assert flat.count(title) >= 2, title  # in the contents and as the section heading
    assert "Verdict FAIL:" in flat and "[-0.320, -0.230]" in flat and "MEASURE 2.9" in flat and "2(g)" in flat


def test_the_contents_name_the_page_each_section_starts_on(dossier):
    text = subprocess.run([_need("pdftotext"), "-layout", str(dossier.pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    pages = text.split("\f")
    listed = {title: int(number) for title, number in
              re.findall(r"^\s*(\d\. [A-Z][^.]*?)\s*(?:\. ?)+\s*(\d+)\s*$", pages[0], re.M)}
    assert set(listed) == set(SECTION_TITLES), listed
    for title, number in listed.items():
        # a heading stands alone on its line; its contents line goes on with dots and a number
        starts = [i + 1 for i, page in enumerate(pages) if re.search(rf"^\s*{re.escape(title)}\s*$", page, re.M)]
        assert number in starts, f"contents say {title!r} is on page {number}; its heading is on {starts}"


def test_the_pdf_pages_render_and_are_not_blank(dossier, tmp_path):
    subprocess.run([_need("pdftoppm"), "-r", "50", "-png", str(dossier.pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 3
    text = subprocess.run([_need("pdftotext"), str(dossier.pdf), "-"], capture_output=True, text=True,
                          check=True).stdout.split("\f")
    for number, page in enumerate(pages):
        pixels = np.asarray(Image.open(page).convert("L"))
        assert abs(pixels.shape[0] / pixels.shape[1] - 297 / 210) < 0.01  # A4 portrait
        assert (pixels < 160).mean() > 0.003, f"{page.name} is blank"  # something was drawn
        body = text[number].split("mllm-audit compliance dossier: captioner, generated")[0]
        assert len(body.split()) > 30, f"{page.name} holds little more than its footer"  # no stranded page
        _keep(page)


def _warnings(browser: Browser, session: str) -> list[str]:
    """Console warnings and browser log warnings (Page.errors() collects the errors)."""
    out = []
    for e in browser.events:
        if e.get("sessionId") != session:
            continue
        p = e.get("params", {})
        if e["method"] == "Runtime.consoleAPICalled" and p.get("type") == "warning":
            out.append(json.dumps(p.get("args", []))[:300])
        elif e["method"] == "Log.entryAdded" and p.get("entry", {}).get("level") == "warning":
            out.append(p["entry"].get("text", "")[:300])
    return out


@pytest.mark.browser
def test_the_html_opens_offline_without_errors_or_warnings(browser, dossier, tmp_path):
    page = browser.new_page()
    page.send("Emulation.setDeviceMetricsOverride", {"width": 1280, "height": 1000, "deviceScaleFactor": 1,
                                                      "mobile": False})
    page.navigate(dossier.html.resolve().as_uri())
    browser.pump(0.5)
    assert page.errors() == [] and _warnings(browser, page.session) == []
    assert page.evaluate("document.querySelectorAll('section').length") == 9
    assert page.evaluate("(() => { const i = document.querySelector('figure img');"
                         " return i.complete && i.naturalWidth > 0; })()")
    external = page.evaluate("[...document.querySelectorAll('[src],[href]')].map(e => e.getAttribute('src') ||"
                             " e.getAttribute('href')).filter(u => !u.startsWith('data:') && !u.startsWith('#'))")
    assert external == []
    _keep(page.screenshot(tmp_path / "dossier-html.png"))
