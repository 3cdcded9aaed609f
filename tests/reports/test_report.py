"""Report building without a browser: structure, escaping, sizes, pagination, storage loading."""

from __future__ import annotations

import dataclasses
import json
import re
from html import escape

import numpy as np
import pytest
from PIL import Image

from comparison import DriftConfig, RegressionConfig, RunResults, compare_runs
from comparison.bootstrap import cluster_bootstrap_mean, stable_seed
from flows.verdicts import verdict_record
from reports import ReportOptions, build_report, load_report_data
from reports.build import paginate
from reports.encode import thumbnail
from reports.page import script_json
from storage.records import AlertRecord, ProbeResult
from tests.reports.factories import make_report_data

XSS_PROMPT = '<script>window.__xss=1</script> "quoted" & <img src=x onerror="window.__xss=2">'
PLOTLY_HEADER = "* plotly.js v"


def _data_block(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S)
    assert m, "no data block"
    return json.loads(m.group(1))


def test_single_self_contained_file_with_json_summary(tmp_path):
    paths = build_report(make_report_data(5), tmp_path)
    assert paths.gallery_pages == ()
    html = paths.html.read_text(encoding="utf-8")
    assert html.count(PLOTLY_HEADER) == 1  # Plotly inlined exactly once
    assert not re.search(r"<script[^>]+src=", html)  # nothing loaded from elsewhere
    assert "<link" not in html.split(PLOTLY_HEADER)[0]  # no external stylesheet either
    assert "Content-Security-Policy" in html
    data = _data_block(html)
    assert len(data["gallery"]["probes"]) == 5
    assert all(img["src"].startswith("data:image/") for img in data["gallery"]["images"])
    assert set(data["figures"]) >= {"fig-distributions", "fig-deltas", "fig-drift", "fig-history"}
    assert 'data-verdict="fail"' in html
    assert escape(make_report_data(5).verdict.headline) in html  # the stored headline, in plain words
    for section in ("summary", "comparisons", "metrics", "gallery", "history", "alerts", "lineage"):
        assert f'id="{section}"' in html
    summary = json.loads(paths.json.read_text())
    assert summary["verdict"] == "fail"
    assert summary["model"] == {"name": "demo-captioner", "version": "2", "run_id": 12,
                                "weights_hash": "c" * 64}
    assert summary["baseline"]["run_id"] == 11
    assert summary["lineage"]["probe_set_hash"].startswith("sha256:")
    assert summary["lineage"]["package_versions"]["torch"] == "2.13.0"
    assert {(c["method"], c["metric"]) for c in summary["comparisons"]} >= {("tam", "obj_iou")}
    assert summary["files"] == ["report.html"]
    assert summary["sizes_bytes"]["report.html"] == paths.html.stat().st_size
    tam_obj = next(m for m in summary["metrics"] if (m["method"], m["metric"]) == ("tam", "obj_iou"))
    assert tam_obj["candidate"]["low"] <= tam_obj["candidate"]["mean"] <= tam_obj["candidate"]["high"]
    assert tam_obj["candidate"]["n_probes"] == 5
    assert tam_obj["baseline"]["mean"] > tam_obj["candidate"]["mean"]


def test_gallery_payload_pairs_tokens_and_encodes_maps(tmp_path):
    data = make_report_data(3, answers={0: ["a", "green", "blob"]})
    html = build_report(data, tmp_path).html.read_text(encoding="utf-8")
    probes = {p["key"]: p for p in _data_block(html)["gallery"]["probes"]}
    p0 = probes["p0000"]
    base_words = p0["b"]["tokens"]
    # candidate "a green blob": "a" pairs with baseline token 0; "blob" has no partner
    assert p0["pair"][0] == 0 and p0["pair"][2] == -1
    assert p0["c"]["tokens"][1] == " green" and base_words[0] == "a"
    tam = p0["c"]["maps"]["tam"]
    assert tam["s"] == [16, 16] and tam["t"] == [0, 1, 2]
    raw = np.frombuffer(__import__("base64").b64decode(tam["d"]), np.uint8)
    assert raw.size == 3 * 16 * 16 and raw.max() == 255 and raw.min() == 0
    # the candidate (shortcut) looks at the top-left marker: the peak cell is in the corner
    first = raw[: 256].reshape(16, 16)
    assert np.unravel_index(first.argmax(), first.shape) == (0, 0) or first[0:2, 0:2].max() == 255


def test_model_text_is_escaped_in_html_and_json(tmp_path):
    data = make_report_data(3, prompts={1: XSS_PROMPT},
                            answers={2: ["<script>window.__xss=3</script>", "</script>", "&amp;"]})
    data.verdict = dataclasses.replace(data.verdict, reasons=("<b>bold</b> " + XSS_PROMPT,))
    html = build_report(data, tmp_path).html.read_text(encoding="utf-8")
    assert "<script>window.__xss" not in html
    assert "<img src=x" not in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html  # banner reason escaped as text
    block = re.search(r'id="report-data">(.*?)</script>', html, re.S).group(1)
    assert "<" not in block and ">" not in block and "&" not in block
    data_back = json.loads(block)
    prompts = {p["key"]: p["prompt"] for p in data_back["gallery"]["probes"]}
    assert prompts["p0001"] == XSS_PROMPT  # the text survives intact, only encoded


def test_script_json_escapes_everything_that_could_end_a_script():
    text = script_json({"a": "</script><!-- & \u2028"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"a": "</script><!-- & \u2028"}


def test_images_from_files_are_shared_and_missing_ones_warned(tmp_path):
    data = make_report_data(3)
    root = tmp_path / "probes"
    (root / "images").mkdir(parents=True)
    Image.fromarray(data.probe_images["p0000"]).save(root / "images" / "shared.png")
    data.probes = [dataclasses.replace(p, image_path="images/shared.png") for p in data.probes[:2]] \
        + [dataclasses.replace(data.probes[2], image_path="images/missing.png")]
    data.probe_images = {}
    data.probe_root = root
    paths = build_report(data, tmp_path / "out")
    payload = _data_block(paths.html.read_text(encoding="utf-8"))["gallery"]
    assert len(payload["images"]) == 2  # one shared image + one placeholder
    assert {p["img"] for p in payload["probes"][:3] if p["key"] != "p0002"} == {
        next(p["img"] for p in payload["probes"] if p["key"] == "p0000")}
    summary = json.loads(paths.json.read_text())
    assert any("p0002" in w and "placeholder" in w for w in summary["warnings"])
    assert any("3 probe image(s) were read from the probe folder" in w for w in summary["warnings"])


def test_large_gallery_is_split_into_pages_within_budget(tmp_path):
    data = make_report_data(12)
    options = ReportOptions(size_budget_bytes=5_300_000, page_size=5)
    paths = build_report(data, tmp_path, options)
    assert len(paths.gallery_pages) >= 2
    seen: list[str] = []
    for page in paths.all_html:
        html = page.read_text(encoding="utf-8")
        assert html.count(PLOTLY_HEADER) == 1
        assert page.stat().st_size <= options.size_budget_bytes
        probes = _data_block(html)["gallery"]["probes"]
        assert len(probes) <= 5
        seen += [p["key"] for p in probes]
    assert sorted(seen) == [f"p{i:04d}" for i in range(12)]  # every probe exactly once
    main = paths.html.read_text(encoding="utf-8")
    assert 'id="probe-index"' in main and "report-gallery-2.html#probe=" in main
    assert json.loads(paths.json.read_text())["files"][1] == "report-gallery-2.html"


def test_paginate_respects_budgets_and_page_size():
    pages = paginate([40, 40, 40, 40, 200, 10], budgets=[50, 100], page_size=10)
    assert pages == [[0], [1, 2], [3], [4], [5]]
    assert paginate([1] * 7, budgets=[100], page_size=3) == [[0, 1, 2], [3, 4, 5], [6]]


def test_report_without_baseline(tmp_path):
    paths = build_report(make_report_data(2, with_baseline=False), tmp_path)
    html = paths.html.read_text(encoding="utf-8")
    assert 'data-verdict="none"' in html and "no baseline" in html
    assert _data_block(html)["gallery"]["columns"] == ["candidate v2"]
    assert json.loads(paths.json.read_text())["baseline"] is None


def test_unwritable_output_is_a_clear_error(tmp_path):
    from reports import ReportBuildError

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ReportBuildError, match="cannot create report folder"):
        build_report(make_report_data(1), blocker / "sub")


def _store(repo, src, *, thumbnails: bool, root):
    """The factory's records as a stored audit: probe set (with or without thumbnails), both runs,
    the verdict as the flow stores it, and an alert. Returns (candidate run id, baseline run id)."""
    probes = [dataclasses.replace(p, id=None, thumbnail=thumbnail(Image.fromarray(src.probe_images[p.probe_key]))
                                  if thumbnails else None) for p in src.probes]
    ps = repo.get_or_create_probe_set(dataclasses.replace(src.probe_set, id=None, root=str(root)), probes)
    run_ids = {}
    for side, mv, gens, maps, metrics in (
        ("base", src.baseline_model_version, src.baseline_generations, src.baseline_maps, src.baseline_metrics),
        ("cand", src.model_version, src.generations, src.maps, src.metrics),
    ):
        mv_rec = repo.get_or_create_model_version(dataclasses.replace(mv, id=None))
        run = repo.start_run(mv_rec.id, ps.id, {"side": side, "methods": ["tam", "msea_arc"]},
                             {"numpy": np.__version__}, "git:abc")
        for probe in src.probes:
            key = probe.probe_key
            repo.add_probe_result(run.id, ProbeResult(
                key, next(g for g in gens if g.probe_key == key),
                [m for m in maps if m.probe_key == key], [m for m in metrics if m.probe_key == key]))
        repo.set_aggregate_metrics(run.id, [m for m in metrics if m.probe_key is None])
        repo.finish_run(run.id, "completed", {"explain": 1.0})
        run_ids[side] = run.id
    verdict = dataclasses.replace(src.verdict, candidate_run_id=run_ids["cand"], baseline_run_id=run_ids["base"])
    repo.add_verdict(verdict_record(verdict))
    repo.add_alert(AlertRecord(run_ids["cand"], "fail", "FAIL <one>", ("cli",), {}))
    return run_ids["cand"], run_ids["base"]


def test_a_report_is_rebuilt_from_the_database_alone(tmp_path):
    from storage.repository import AuditRepository

    src = make_report_data(4)
    repo = AuditRepository(f"sqlite:///{tmp_path / 'audit.db'}")
    cand, base = _store(repo, src, thumbnails=True, root=tmp_path / "deleted-probe-folder")

    data = load_report_data(repo, cand)
    assert data.baseline_run.id == base  # the baseline its stored verdict names
    assert data.model_version.version == "2" and data.baseline_model_version.version == "1"
    assert len(data.probes) == 4 and len(data.generations) == 4 and len(data.maps) == len(src.maps)
    assert data.verdict.verdict == "fail" and data.verdict.headline == src.verdict.headline
    assert data.verdict.reasons == src.verdict.reasons and data.verdict.probes == src.verdict.probes
    assert [h.run_id for h in data.history] == [base, cand]
    assert (data.history[1].verdict, data.history[1].baseline_run_id) == ("fail", base)
    assert data.history[0].verdict is None
    assert {m.metric for m in data.history[1].aggregates} == {"f1_iou"}
    assert data.lineage.package_versions == {"numpy": np.__version__}
    assert data.lineage.comparison_settings == src.verdict.settings

    paths = build_report(data, tmp_path / "report")
    summary = json.loads(paths.json.read_text())
    assert summary["verdict"] == "fail" and summary["headline"] == src.verdict.headline
    assert summary["warnings"] == []  # every image came from the stored thumbnails
    gallery = _data_block(paths.html.read_text(encoding="utf-8"))["gallery"]
    assert len(gallery["images"]) == 4 and all(i["src"].startswith("data:image/jpeg") for i in gallery["images"])
    assert "FAIL &lt;one&gt;" in paths.html.read_text(encoding="utf-8")

    lone = load_report_data(repo, base)
    assert lone.baseline_run is None and lone.verdict is None
    build_report(lone, tmp_path / "lone")


def test_an_old_database_without_thumbnails_reads_the_probe_folder_and_says_so(tmp_path):
    from storage.repository import AuditRepository

    src = make_report_data(2)
    root = tmp_path / "probes"
    (root / "images").mkdir(parents=True)
    Image.fromarray(src.probe_images["p0000"]).save(root / "images" / "p0000.png")  # p0001's image is gone
    repo = AuditRepository(f"sqlite:///{tmp_path / 'audit.db'}")
    cand, _ = _store(repo, src, thumbnails=False, root=root)
    summary = json.loads(build_report(load_report_data(repo, cand), tmp_path / "report").json.read_text())
    assert any("p0001" in w and "placeholder" in w for w in summary["warnings"])
    assert any("2 probe image(s) were read from the probe folder" in w and "database alone" in w
               for w in summary["warnings"])


def test_the_report_shows_a_verdict_that_ignores_drift_as_stored(tmp_path):
    data = make_report_data(3)
    lenient = compare_runs(RunResults(12, data.metrics, data.maps, data.generations),
                           RunResults(11, data.baseline_metrics, data.baseline_maps, data.baseline_generations),
                           RegressionConfig(drift=DriftConfig(affects_verdict=False)))
    data.verdict = lenient
    html = build_report(data, tmp_path).html.read_text(encoding="utf-8")
    assert lenient.verdict == "fail"  # obj_iou still fails; drift is reported only
    assert "fail (reported only)" in html and escape(lenient.headline) in html


def test_cluster_bootstrap_resamples_groups():
    single = cluster_bootstrap_mean([[0.2, 0.4]], rng=stable_seed(0, "x"))
    assert (single.mean, single.low, single.high, single.n_probes) == (
        pytest.approx(0.3), pytest.approx(0.3), pytest.approx(0.3), 1)
    ci = cluster_bootstrap_mean([[0.0] * 50, [1.0]], n_resamples=500, rng=stable_seed(0, "y"))
    assert ci.mean == pytest.approx(1 / 51) and ci.high == pytest.approx(1.0, abs=1e-9)
    with pytest.raises(ValueError, match="no finite values"):
        cluster_bootstrap_mean([[float("nan")]], rng=stable_seed(0, "z"))


def test_report_of_a_run_without_maps_still_builds(tmp_path):
    data = make_report_data(2)
    data.maps, data.baseline_maps = [], []
    paths = build_report(data, tmp_path)
    gallery = _data_block(paths.html.read_text(encoding="utf-8"))["gallery"]
    assert gallery["methods"] == ["(no maps)"]
    assert all(p["c"]["maps"] == {} for p in gallery["probes"])
    assert data.warnings == []  # the caller's data is not modified by a build


def test_a_legacy_verdict_of_an_upgraded_database_is_shown_as_stored(tmp_path):
    """Migration 0003 turns old comparison rows into verdicts without a full result: the report
    shows their verdict, headline and reasons as stored, and phrases each row."""
    from storage.records import VerdictRecord
    from storage.repository import AuditRepository

    src = make_report_data(2)
    repo = AuditRepository(f"sqlite:///{tmp_path / 'audit.db'}")
    cand, base = _store(repo, src, thumbnails=True, root=tmp_path)
    rows = [dataclasses.replace(r, candidate_run_id=cand, baseline_run_id=base)
            for r in verdict_record(src.verdict).comparisons]
    repo.add_verdict(VerdictRecord(cand, base, "warn", "legacy headline", ("legacy reason <1>",), {"legacy": True},
                                   {"type": "mllm_audit.legacy_verdict", "version": 1}, tuple(rows)))
    data = load_report_data(repo, cand)
    assert (data.verdict.verdict, data.verdict.headline, data.verdict.reasons) == (
        "warn", "legacy headline", ("legacy reason <1>",))
    assert data.verdict.n_words_compared is None and len(data.comparisons) == len(rows)
    assert {(c.method, c.metric, c.verdict) for c in data.comparisons} == {(r.method, r.metric, r.verdict) for r in rows}
    assert all(c.reason.startswith(f"{c.method} {c.metric}") for c in data.comparisons)
    paths = build_report(data, tmp_path / "report")
    summary = json.loads(paths.json.read_text())
    assert summary["verdict"] == "warn" and summary["words"] is None
    assert "legacy reason &lt;1&gt;" in paths.html.read_text(encoding="utf-8")


def test_a_baseline_run_that_cannot_pair_with_the_run_is_named(tmp_path):
    from types import SimpleNamespace

    from reports.data import ReportInputError
    from reports.load import check_baseline_run
    from storage.repository import AuditRepository

    repo = AuditRepository(f"sqlite:///{tmp_path / 'audit.db'}")
    cand, base = _store(repo, make_report_data(2), thumbnails=True, root=tmp_path / "probes")
    with pytest.raises(ReportInputError, match=f"audit run {cand} cannot be its own baseline"):
        load_report_data(repo, cand, cand)
    assert load_report_data(repo, cand, base).baseline_run.id == base
    run, other = SimpleNamespace(id=7, probe_set_id=1), SimpleNamespace(id=3, probe_set_id=2)
    with pytest.raises(ReportInputError, match="audit run 3 cannot be the baseline of run 7: it audited another probe set"):
        check_baseline_run(run, other)
