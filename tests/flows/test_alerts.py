"""Alert channels: webhook against a loopback server, MLflow tags, Prefect events."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest

from flows.alerts import (
    AlertPayload,
    AlertSettings,
    DeliveryResult,
    dispatch_alerts,
    emit_verdict_event,
    post_webhook,
    resource_id,
    tag_verdict,
)
from flows.registry import TAG_REPORT, TAG_RUN_ID, TAG_VERDICT
from storage.records import ModelVersionRecord, ProbeSetRecord
from testkit.loopback import free_port


def _payload(**kw) -> AlertPayload:
    base = dict(verdict="fail", model_name="demo-captioner", model_version="2", run_id=7,
                reasons=("tam obj_iou fell by 0.300", "second <reason> & \"quotes\""),
                baseline_run_id=3, report_path="/tmp/report.html")
    base.update(kw)
    return AlertPayload(**base)  # type: ignore[arg-type]


class _Server:
    """A loopback HTTP server answering with the status codes given, one per request."""

    def __init__(self, statuses: list[int]):
        self.statuses = list(statuses)
        self.bodies: list[dict] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers["Content-Length"])
                owner.bodies.append(json.loads(self.rfile.read(length)))
                status = owner.statuses.pop(0) if owner.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def _no_sleep(_s: float) -> None:
    pass


def test_webhook_success_sends_json_summary():
    with _Server([200]) as server:
        result = post_webhook(server.url, _payload(), timeout_s=5, sleep=_no_sleep)
    assert result == DeliveryResult("webhook", True, 1, 200, None, result.elapsed_s)
    (body,) = server.bodies
    assert body["verdict"] == "fail" and body["run_id"] == 7
    assert body["reasons"][1] == "second <reason> & \"quotes\""
    assert "FAIL" in body["title"]


def test_webhook_retries_after_500_with_backoff():
    sleeps: list[float] = []
    with _Server([500, 503, 200]) as server:
        result = post_webhook(server.url, _payload(), retries=3, backoff_s=0.25,
                              sleep=sleeps.append)
    assert result.ok and result.attempts == 3 and result.status_code == 200
    assert sleeps == [0.25, 0.5]  # exponential backoff between attempts
    assert len(server.bodies) == 3


def test_webhook_gives_up_after_bounded_retries():
    with _Server([500] * 10) as server:
        result = post_webhook(server.url, _payload(), retries=2, sleep=_no_sleep)
    assert not result.ok and result.attempts == 3 and result.status_code == 500
    assert "HTTP 500" in (result.error or "")
    assert len(server.bodies) == 3


def test_webhook_client_error_is_not_retried():
    with _Server([404, 200]) as server:
        result = post_webhook(server.url, _payload(), retries=3, sleep=_no_sleep)
    assert not result.ok and result.attempts == 1 and result.status_code == 404


def test_webhook_server_that_never_answers_times_out_without_hanging():
    # A listening socket that never accepts: the TCP handshake completes (backlog), the request
    # is sent, and no response ever comes.
    silent = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    url = f"http://127.0.0.1:{silent.getsockname()[1]}/hook"
    outcome: list[DeliveryResult] = []
    worker = threading.Thread(
        target=lambda: outcome.append(
            post_webhook(url, _payload(), timeout_s=0.3, retries=1, sleep=_no_sleep)
        ),
        daemon=True,
    )
    try:
        worker.start()
        worker.join(60)  # a hang guard, not a performance goal
        assert not worker.is_alive(), "post_webhook hung on a silent server"
    finally:
        silent.close()
    (result,) = outcome
    assert not result.ok and result.attempts == 2
    assert "timed out" in (result.error or "")


def test_webhook_unreachable_and_bad_url_return_failures():
    port = free_port()  # nothing listens there: connection refused
    refused = post_webhook(f"http://127.0.0.1:{port}/", _payload(), retries=1, sleep=_no_sleep)
    assert not refused.ok and refused.attempts == 2 and "connection failed" in refused.error
    bad = post_webhook("ftp://example.invalid/x", _payload())
    assert not bad.ok and bad.attempts == 0


@pytest.fixture(scope="module")
def mlflow_registry(tmp_path_factory):
    from mlflow import MlflowClient

    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    weights = root / "weights"
    weights.mkdir()
    (weights / "config.json").write_text("{}")
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.create_registered_model("demo-captioner")
    version = client.create_model_version("demo-captioner", source=str(weights))
    return SimpleNamespace(uri=uri, client=client, version=str(version.version))


def test_mlflow_tags_set_on_model_version(mlflow_registry):
    payload = _payload(model_version=mlflow_registry.version)
    result = tag_verdict(payload, tracking_uri=mlflow_registry.uri,
                               registry_uri=mlflow_registry.uri)
    assert result.ok, result.error
    mv = mlflow_registry.client.get_model_version("demo-captioner", mlflow_registry.version)
    assert mv.tags[TAG_VERDICT] == "fail"
    assert mv.tags[TAG_REPORT] == "/tmp/report.html"
    assert mv.tags[TAG_RUN_ID] == "7"


def test_mlflow_tag_on_missing_version_reports_failure(mlflow_registry):
    result = tag_verdict(_payload(model_version="999"), client=mlflow_registry.client)
    assert not result.ok and result.failed and "999" in (result.error or "")


def test_a_registry_that_refuses_the_write_is_a_one_line_failure_naming_it(tmp_path):
    """A read-only registry database: the driver's error carries its SQL below the first line; the
    failure says the reason and which registry, in one line."""
    import sqlite3

    from mlflow import MlflowClient

    registry = tmp_path / "mlflow.db"
    uri = f"sqlite:///{registry}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.create_registered_model("demo-captioner")
    client.create_model_version("demo-captioner", source=str(tmp_path))
    with sqlite3.connect(registry) as db:  # every write refused from now on
        db.execute("CREATE TRIGGER no_tags BEFORE INSERT ON model_version_tags "
                   "BEGIN SELECT RAISE(ABORT, 'tags are read-only here'); END")
    result = tag_verdict(_payload(model_version="1"), tracking_uri=uri, registry_uri=uri)
    assert result.failed and result.attempts == 1
    assert "tags are read-only here" in result.error and f"(registry {uri})" in result.error
    assert "\n" not in result.error and "[SQL:" not in result.error


@pytest.fixture
def captured_events(monkeypatch):
    from prefect.events.clients import AssertingEventsClient
    from prefect.events.worker import EventsWorker

    worker = EventsWorker.instance(AssertingEventsClient)
    monkeypatch.setattr(EventsWorker, "instance", lambda *_: worker)
    yield worker
    worker.drain()


API_URL = "http://127.0.0.1:4200/api"


def test_prefect_event_names_verdict_and_model_version(captured_events):
    result = emit_verdict_event(_payload(), API_URL)
    assert result.ok, result.error
    assert result.destination == API_URL
    captured_events.drain()
    (event,) = captured_events._client.events
    assert event.event == "mllm-audit.verdict.fail"
    assert event.resource.id == resource_id("demo-captioner", "2")
    assert event.resource["mllm-audit.model-version"] == "2"
    assert event.payload["run_id"] == 7
    assert event.related[0].id == "mllm-audit.run.7"


def test_without_a_prefect_api_the_event_is_not_sent_and_says_so(captured_events):
    result = emit_verdict_event(_payload(), None)
    assert (result.ok, result.attempts) == (False, 0)
    assert not result.failed  # not tried by design: nothing to warn about
    assert result.error.startswith("not sent: no PREFECT_API_URL")
    captured_events.drain()
    assert captured_events._client.events == []  # nothing went to a temporary API


def test_dispatch_uses_every_channel_and_records_outcomes(mlflow_registry, captured_events):
    model = ModelVersionRecord(None, "demo-captioner", mlflow_registry.version, "models:/x/1",
                               "sha", "Arch", run_id="abc")
    verdict = SimpleNamespace(
        verdict="fail", headline="tam obj_iou fell", reasons=("r1",), baseline_run_id=3,
        comparisons=(SimpleNamespace(method="tam", metric="obj_iou", verdict="fail", counts=True),
                     SimpleNamespace(method="tam", metric="map_drift_spearman", verdict="fail", counts=False),
                     SimpleNamespace(method="tam", metric="pointing_game", verdict="pass", counts=True)),
    )
    payload = AlertPayload.from_verdict(
        verdict, model, run_id=9, probe_set=ProbeSetRecord(None, "shapes", "1", "h"),
        report_path="r.html")
    assert payload.failing == ("tam/obj_iou",) and payload.probe_set == "shapes@1"  # counted failures only
    assert payload.headline == "tam obj_iou fell"
    with _Server([200]) as server:
        results = dispatch_alerts(
            payload,
            AlertSettings(webhook_url=server.url, mlflow_tracking_uri=mlflow_registry.uri,
                          mlflow_registry_uri=mlflow_registry.uri, prefect_api_url=API_URL),
        )
    assert [r.channel for r in results] == ["mlflow-tag", "prefect-event", "webhook"]
    assert all(r.ok for r in results), results
    record = payload.to_alert_record(results)
    assert record.channels == ("mlflow-tag", "prefect-event", "webhook")
    assert record.verdict == "fail" and record.run_id == 9
    assert record.message.endswith(": tam obj_iou fell")  # the headline
    assert len(record.payload["deliveries"]) == 3
    assert record.payload["deliveries"][1]["destination"] == API_URL


def test_pass_only_tags_mlflow(mlflow_registry):
    results = dispatch_alerts(
        _payload(verdict="pass", model_version=mlflow_registry.version),
        AlertSettings(webhook_url="http://127.0.0.1:9/never", mlflow_tracking_uri=mlflow_registry.uri,
                      mlflow_registry_uri=mlflow_registry.uri),
    )
    assert [r.channel for r in results] == ["mlflow-tag"] and results[0].ok
