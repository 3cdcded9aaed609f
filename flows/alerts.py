"""Alerts: tell people and systems that an audit failed (or warned).

Channels, each returning a `DeliveryResult` instead of raising, because an alert that cannot be
delivered must never crash or hang the audit whose verdict it reports:

- webhook: JSON POST with a per-attempt timeout and a bounded number of retries with exponential
  backoff (retries on connection errors, timeouts, HTTP 429 and 5xx; a 4xx other than 429 is the
  receiver's final answer);
- MLflow: tags `mllm_audit.verdict`, `mllm_audit.report`, `mllm_audit.run_id` on the audited model
  version, so the registry UI shows the verdict next to the version;
- Prefect: an event `mllm-audit.verdict.<verdict>` whose resource is the model version, so Prefect
  automations can route it (page someone, block a promotion).

The delivery rule (`send_alerts`): every audit that ends warn or fail sends its alerts, a rerun of
an already judged version included, so a nightly schedule that keeps failing emits one event (and
one webhook call) per night, each related to that night's flow run: an automation that pages on
every failed night needs exactly that, and one that wants a single page per version deduplicates
on the event's resource (`mllm-audit.model.<name>.<version>`). Each alert is recorded with where
every channel delivered (`DeliveryResult.destination`: the Prefect API URL for the event). Without
`PREFECT_API_URL` the event is not sent at all and recorded as "not sent": Prefect's temporary
in-process API disappears with the process, so an event there reaches no one.

The CLI's exit code and the failed flow state are the flow's job (`flows/`), not this module's.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable

from flows.registry.client import TAG_REPORT, TAG_RUN_ID, TAG_VERDICT, set_version_tags
from storage.records import AlertRecord, ModelVersionRecord, ProbeSetRecord, Verdict

if TYPE_CHECKING:  # pragma: no cover
    from comparison import ComparisonResult

EVENT_PREFIX = "mllm-audit.verdict"


@dataclass(frozen=True)
class AlertPayload:
    """The JSON summary every channel sends: what was audited, against what, and the verdict."""

    verdict: Verdict
    model_name: str
    model_version: str
    run_id: int
    headline: str = ""  # the verdict's one plain-language sentence
    reasons: tuple[str, ...] = ()
    baseline_run_id: int | None = None
    baseline_model_version: str | None = None
    probe_set: str | None = None  # "name@version"
    report_path: str | None = None
    failing: tuple[str, ...] = ()  # "method/metric" of the comparisons that failed
    mlflow_run_id: str | None = None
    created_at: str = field(
        default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds")
    )

    @classmethod
    def from_verdict(
        cls,
        verdict: "ComparisonResult",
        model: ModelVersionRecord,
        *,
        run_id: int,
        baseline_model: ModelVersionRecord | None = None,
        probe_set: ProbeSetRecord | None = None,
        report_path: str | None = None,
    ) -> "AlertPayload":
        """From the comparison the audit just made (`failing`: the failed checks that count)."""
        return cls(
            verdict=verdict.verdict,
            model_name=model.name,
            model_version=model.version,
            run_id=run_id,
            headline=verdict.headline,
            reasons=tuple(verdict.reasons),
            baseline_run_id=verdict.baseline_run_id,
            baseline_model_version=baseline_model.version if baseline_model else None,
            probe_set=f"{probe_set.name}@{probe_set.version}" if probe_set else None,
            report_path=report_path,
            failing=tuple(
                f"{c.method}/{c.metric}" for c in verdict.comparisons if c.verdict == "fail" and c.counts
            ),
            mlflow_run_id=model.run_id,
        )

    @property
    def title(self) -> str:
        return (
            f"mllm-audit {self.verdict.upper()}: {self.model_name} version {self.model_version} "
            f"(audit run {self.run_id})"
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["reasons"] = list(self.reasons)
        data["failing"] = list(self.failing)
        data["title"] = self.title
        return data

    def to_alert_record(self, results: list["DeliveryResult"]) -> AlertRecord:
        """The row for `AuditRepository.add_alert`: channels that delivered, and the payload
        with every channel's outcome (so a failed webhook is visible in the report)."""
        summary = self.headline or (self.reasons[0] if self.reasons else "")
        payload = self.to_json()
        payload["deliveries"] = [asdict(r) for r in results]
        return AlertRecord(
            run_id=self.run_id,
            verdict=self.verdict,
            message=f"{self.title}: {summary}" if summary else self.title,
            channels=tuple(r.channel for r in results if r.ok),
            payload=payload,
        )


@dataclass(frozen=True)
class DeliveryResult:
    """How one channel fared; `ok` False never raises, the detail is in `error`."""

    channel: str
    ok: bool
    attempts: int = 1
    status_code: int | None = None
    error: str | None = None
    elapsed_s: float = 0.0
    destination: str | None = None  # where it went, when that is not a secret (the Prefect API URL)

    @property
    def failed(self) -> bool:
        """Tried and did not get through; a channel not tried by design (attempts 0, e.g. no Prefect
        API to send the event to) is not a failure."""
        return not self.ok and self.attempts > 0


def _one_line(exc: BaseException) -> str:
    """`Type: first line of the message` (a driver's error carries its SQL and parameters below)."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def post_webhook(
    url: str,
    payload: AlertPayload,
    *,
    timeout_s: float = 5.0,
    retries: int = 3,
    backoff_s: float = 0.5,
    max_backoff_s: float = 10.0,
    headers: dict[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryResult:
    """POST the payload as JSON; at most `retries + 1` attempts, each bounded by `timeout_s`."""
    started = time.monotonic()
    if not url.startswith(("http://", "https://")):
        return DeliveryResult("webhook", False, 0, None, f"not an http(s) URL: {url!r}", 0.0)
    body = json.dumps(payload.to_json()).encode("utf-8")
    request_headers = {"Content-Type": "application/json", "User-Agent": "mllm-audit"}
    request_headers.update(headers or {})
    last_error: str | None = None
    last_status: int | None = None
    attempt = 0
    for attempt in range(1, retries + 2):
        request = urllib.request.Request(url, data=body, headers=request_headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                response.read(65536)
                return DeliveryResult("webhook", True, attempt, response.status, None,
                                      time.monotonic() - started)
        except urllib.error.HTTPError as exc:
            last_status, last_error = exc.code, f"HTTP {exc.code} {exc.reason}"
            exc.close()
            if exc.code != 429 and exc.code < 500:
                break  # the receiver rejected the request; retrying will not change that
        except (TimeoutError, socket.timeout):
            last_status, last_error = None, f"timed out after {timeout_s:g} s"
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, (TimeoutError, socket.timeout)):
                last_error = f"timed out after {timeout_s:g} s"
            else:
                last_error = f"connection failed: {reason}"
            last_status = None
        except (OSError, ValueError) as exc:  # reset connections, malformed responses
            last_status, last_error = None, f"{type(exc).__name__}: {exc}"
        if attempt <= retries:
            sleep(min(max_backoff_s, backoff_s * 2 ** (attempt - 1)))
    return DeliveryResult("webhook", False, attempt, last_status, last_error,
                          time.monotonic() - started)


def tag_verdict(
    payload: AlertPayload,
    *,
    client: Any = None,
    tracking_uri: str | None = None,
    registry_uri: str | None = None,
) -> DeliveryResult:
    """Set the verdict, report path and audit run id as tags on the registered model version.

    `client` is an `mlflow.MlflowClient`; without one, a client is created for the URIs.
    """
    started = time.monotonic()
    try:
        if client is None:
            from mlflow import MlflowClient

            client = MlflowClient(tracking_uri=tracking_uri, registry_uri=registry_uri)
        set_version_tags(client, payload.model_name, payload.model_version,
                         {TAG_VERDICT: payload.verdict, TAG_REPORT: payload.report_path or "",
                          TAG_RUN_ID: str(payload.run_id)})
    except Exception as exc:  # noqa: BLE001 - any registry failure is reported, not raised
        where = f" (registry {registry_uri or tracking_uri})" if (registry_uri or tracking_uri) else ""
        return DeliveryResult("mlflow-tag", False, 1, None, _one_line(exc) + where, time.monotonic() - started)
    return DeliveryResult("mlflow-tag", True, 1, None, None, time.monotonic() - started)


def event_name(verdict: str) -> str:
    return f"{EVENT_PREFIX}.{verdict}"


def resource_id(model_name: str, model_version: str) -> str:
    return f"mllm-audit.model.{model_name}.{model_version}"


NOT_SENT_WITHOUT_API = ("not sent: no PREFECT_API_URL (Prefect's temporary API ends with the process, "
                        "so an event there reaches no one)")


def emit_verdict_event(payload: AlertPayload, api_url: str | None) -> DeliveryResult:
    """Emit `mllm-audit.verdict.<verdict>` for the model version to the Prefect API at `api_url`
    (`PREFECT_API_URL`); automations match on it. No API URL: not sent (see the module note)."""
    if not api_url:
        return DeliveryResult("prefect-event", False, 0, None, NOT_SENT_WITHOUT_API, 0.0)
    started = time.monotonic()
    try:
        from prefect.events import emit_event

        event = emit_event(
            event=event_name(payload.verdict),
            resource={
                "prefect.resource.id": resource_id(payload.model_name, payload.model_version),
                "prefect.resource.name": f"{payload.model_name} v{payload.model_version}",
                "mllm-audit.model-name": payload.model_name,
                "mllm-audit.model-version": payload.model_version,
                "mllm-audit.verdict": payload.verdict,
            },
            related=[
                {
                    "prefect.resource.id": f"mllm-audit.run.{payload.run_id}",
                    "prefect.resource.role": "audit-run",
                }
            ],
            payload=payload.to_json(),
        )
    except Exception as exc:  # noqa: BLE001 - an unreachable Prefect API must not crash the audit
        return DeliveryResult("prefect-event", False, 1, None, _one_line(exc), time.monotonic() - started, api_url)
    if event is None:
        return DeliveryResult("prefect-event", False, 1, None,
                              "Prefect is not configured to emit events here",
                              time.monotonic() - started, api_url)
    return DeliveryResult("prefect-event", True, 1, None, None, time.monotonic() - started, api_url)


@dataclass(frozen=True)
class AlertSettings:
    """Which channels to use; a pass raises no alert unless `alert_on` includes it."""

    webhook_url: str | None = None
    webhook_timeout_s: float = 5.0
    webhook_retries: int = 3
    webhook_backoff_s: float = 0.5
    mlflow_tracking_uri: str | None = None
    mlflow_registry_uri: str | None = None
    prefect_api_url: str | None = None  # None: Prefect's temporary API, the event is not sent
    tag_mlflow: bool = True
    emit_prefect_event: bool = True
    alert_on: tuple[str, ...] = ("fail", "warn")


def dispatch_alerts(
    payload: AlertPayload, settings: AlertSettings, *, mlflow_client: Any = None
) -> list[DeliveryResult]:
    """Send the payload on every configured channel. The MLflow tag is set for every verdict
    (a pass is worth recording on the version too); event and webhook only for `alert_on`."""
    results: list[DeliveryResult] = []
    if settings.tag_mlflow:
        results.append(
            tag_verdict(payload, client=mlflow_client,
                              tracking_uri=settings.mlflow_tracking_uri,
                              registry_uri=settings.mlflow_registry_uri)
        )
    if payload.verdict not in settings.alert_on:
        return results
    if settings.emit_prefect_event:
        results.append(emit_verdict_event(payload, settings.prefect_api_url))
    if settings.webhook_url:
        results.append(
            post_webhook(settings.webhook_url, payload, timeout_s=settings.webhook_timeout_s,
                         retries=settings.webhook_retries, backoff_s=settings.webhook_backoff_s)
        )
    return results


def send_alerts(repository: Any, verdict: "ComparisonResult", *, model_version_id: int, probe_set_id: int,
                baseline_model_version_id: int | None, report_path: str, settings: Any,
                webhook_url: str | None = None) -> list[DeliveryResult]:
    """Send this audit's verdict on every channel and record the alert with each channel's outcome
    and destination: once per audit that ends warn or fail, reruns included (the delivery rule in
    the module note). `settings`: `flows.config.Settings` (webhook, MLflow store, Prefect API).
    Returns each channel's outcome, so the caller can say which failed."""
    run_id = verdict.candidate_run_id
    payload = AlertPayload.from_verdict(
        verdict, repository.get_model_version(model_version_id), run_id=run_id,
        baseline_model=repository.get_model_version(baseline_model_version_id) if baseline_model_version_id else None,
        probe_set=repository.get_probe_set(probe_set_id), report_path=report_path,
    )
    alert_settings = AlertSettings(webhook_url=webhook_url or settings.webhook_url,
                                   mlflow_tracking_uri=settings.effective_tracking_uri,
                                   mlflow_registry_uri=settings.effective_registry_uri,
                                   prefect_api_url=settings.prefect_api_url)
    results = dispatch_alerts(payload, alert_settings)
    if verdict.verdict in alert_settings.alert_on:
        repository.add_alert(payload.to_alert_record(results))
    return results
