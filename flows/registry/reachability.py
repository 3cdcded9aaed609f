"""Is the MLflow tracking server there? Answered in seconds, visibly, before anything heavy starts.

Why: MLflow's HTTP client retries 7 times with exponential backoff by default (about 4 minutes per
call), and the flow's task retries multiplied that: an unreachable registry took 4 to 13 minutes
to fail, printing nothing. Two things bound it here:

- `apply_http_defaults` gives MLflow's own retry settings short defaults (2 retries, backoff factor
  1, 20 s per request) unless the user set them (`MLFLOW_HTTP_REQUEST_MAX_RETRIES`,
  `MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR`, `MLFLOW_HTTP_REQUEST_TIMEOUT`: the user's values win);
- `check_reachable` asks an `http(s)://` tracking URI once per process whether anything answers,
  with the same number of retries and backoff, one line on stderr per retry, and a short timeout
  per attempt (5 s unless the user set `MLFLOW_HTTP_REQUEST_TIMEOUT`). Any HTTP answer counts as
  reachable (MLflow's own error then names the problem); a refused connection, a DNS failure or
  silence is `RegistryUnreachableError` (exit code 2), never retried again by the flow.

Non-HTTP stores (`sqlite:///...`, `postgresql+psycopg://...`) need no check: their errors are
immediate.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Callable, MutableMapping

from flows.errors import ConfigError, RegistryUnreachableError

ENV_MAX_RETRIES = "MLFLOW_HTTP_REQUEST_MAX_RETRIES"
ENV_BACKOFF_FACTOR = "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"
ENV_TIMEOUT = "MLFLOW_HTTP_REQUEST_TIMEOUT"
#: mllm-audit's defaults for MLflow's HTTP client (MLflow's own: 7 retries, factor 2, 120 s)
HTTP_DEFAULTS = {ENV_MAX_RETRIES: "2", ENV_BACKOFF_FACTOR: "1", ENV_TIMEOUT: "20"}
#: seconds one reachability attempt waits for an answer, unless the user set MLFLOW_HTTP_REQUEST_TIMEOUT
PROBE_TIMEOUT_S = 5.0
#: which of the variables above hold mllm-audit's defaults rather than the user's (inherited by workers)
ENV_DEFAULTED = "MLLM_AUDIT_HTTP_DEFAULTED"

_REACHABLE: set[str] = set()
_LOCK = threading.Lock()


@dataclass(frozen=True)
class HttpRetryPolicy:
    """How often and how patiently to ask an HTTP registry (the same numbers MLflow's client uses)."""

    max_retries: int
    backoff_factor: float
    probe_timeout_s: float

    @classmethod
    def from_environment(cls, environ: MutableMapping[str, str] | None = None) -> "HttpRetryPolicy":
        env = os.environ if environ is None else environ

        def number(key: str) -> float:
            raw = env.get(key) or HTTP_DEFAULTS[key]
            try:
                value = float(raw)
            except ValueError:
                raise ConfigError(f"${key} must be a number, got {raw!r}") from None
            if value < 0:
                raise ConfigError(f"${key} must not be negative, got {raw!r}")
            return value

        users_timeout = env.get(ENV_TIMEOUT) and ENV_TIMEOUT not in _defaulted(env)
        timeout = number(ENV_TIMEOUT) if users_timeout else PROBE_TIMEOUT_S
        return cls(int(number(ENV_MAX_RETRIES)), number(ENV_BACKOFF_FACTOR), timeout)

    def delay_before_retry(self, retry: int) -> float:
        """Seconds to wait before retry number `retry` (1, 2, ...): exponential backoff."""
        return self.backoff_factor * 2 ** (retry - 1)


def apply_http_defaults(environ: MutableMapping[str, str] | None = None) -> None:
    """Short defaults for MLflow's HTTP retries; a value the user set is kept (MLflow reads these
    variables at every request, so setting them before the first request is enough)."""
    env = os.environ if environ is None else environ
    defaulted = _defaulted(env)
    for key, value in HTTP_DEFAULTS.items():
        if key not in env:
            env[key] = value
            defaulted.add(key)
    env[ENV_DEFAULTED] = ",".join(sorted(defaulted))


def _defaulted(env: MutableMapping[str, str]) -> set[str]:
    return {key for key in env.get(ENV_DEFAULTED, "").split(",") if key}


def is_http(uri: str) -> bool:
    return uri.startswith(("http://", "https://"))


def _describe(exc: BaseException) -> str:
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return "no answer"
    if isinstance(reason, socket.gaierror):
        return f"host not found: {reason.strerror or reason}"
    return " ".join(str(reason).split()) or type(reason).__name__


def _ask(uri: str, timeout_s: float) -> None:
    """One attempt: any HTTP answer means something is there (MLflow's server answers /health)."""
    request = urllib.request.Request(uri.rstrip("/") + "/health", headers={"User-Agent": "mllm-audit"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            response.read(1024)
    except urllib.error.HTTPError as exc:  # an answer, even an error page, is a server
        exc.close()


def stderr_line(message: str) -> None:
    """Write one line to stderr (the retry lines), and to the Prefect run's log inside a flow run."""
    sys.stderr.write(f"{message}\n")
    sys.stderr.flush()
    try:
        from prefect.context import FlowRunContext, TaskRunContext

        if FlowRunContext.get() or TaskRunContext.get():
            from prefect import get_run_logger

            get_run_logger().warning(message)
    except Exception:  # noqa: BLE001 - the stderr line is the one that must appear
        pass


def check_reachable(uri: str, *, policy: HttpRetryPolicy | None = None,
                    notify: Callable[[str], None] = stderr_line, sleep: Callable[[float], None] = time.sleep) -> None:
    """Raise `RegistryUnreachableError` unless something answers at the HTTP tracking `uri`.

    Asked once per process and URI (after a success the answer is kept); other URIs return at once.
    """
    if not is_http(uri):
        return
    with _LOCK:
        if uri in _REACHABLE:
            return
    policy = policy or HttpRetryPolicy.from_environment()
    started = time.monotonic()
    attempts = policy.max_retries + 1
    reason = ""
    for attempt in range(1, attempts + 1):
        try:
            _ask(uri, policy.probe_timeout_s)
        except (OSError, ValueError) as exc:  # URLError, refused, timeouts; ValueError: a malformed URL
            reason = _describe(exc)
        else:
            with _LOCK:
                _REACHABLE.add(uri)
            return
        if attempt < attempts:
            delay = policy.delay_before_retry(attempt)
            notify(f"registry {uri} not reachable ({reason}); retry {attempt} of {policy.max_retries} in {delay:g} s")
            sleep(delay)
    raise RegistryUnreachableError(
        f"model registry {uri} is not reachable ({reason}; {attempts} attempt{'s' if attempts > 1 else ''} in "
        f"{time.monotonic() - started:.0f} s); check MLFLOW_TRACKING_URI and that the server is running"
    )


def forget_reachable() -> None:
    """Ask again next time (tests; a long-lived worker after an outage)."""
    with _LOCK:
        _REACHABLE.clear()
