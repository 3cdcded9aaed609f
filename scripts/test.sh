#!/usr/bin/env bash
# Run the whole test suite (unit + slow end-to-end) with the services it needs:
# a throwaway PostgreSQL cluster on loopback, headless Chromium for the report tests and
# poppler-utils for the dossier's PDF tests.
# Everything this script starts, it stops. Run scripts/setup.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${MLLM_AUDIT_VENV:-.venv}
export PATH="$PWD/$VENV/bin:$PATH"

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 GX_ANALYTICS_ENABLED=false \
  PREFECT_SERVER_ANALYTICS_ENABLED=false PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS=120 \
  PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW=ignore MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false \
  TOKENIZERS_PARALLELISM=false
unset PREFECT_API_URL

# Chromium for the browser tests of the HTML report.
export MLLM_AUDIT_CHROMIUM
MLLM_AUDIT_CHROMIUM=$(bash scripts/ci/chromium.sh)

# poppler-utils for the compliance dossier's PDF tests (rendered to PNG pages and text).
bash scripts/ci/poppler.sh >/dev/null

# PostgreSQL for the storage tests (same suite as SQLite).
pg_env=$(mktemp)
cleanup() { bash scripts/ci/postgres.sh stop >/dev/null 2>&1 || true; rm -f "$pg_env"; }
trap cleanup EXIT
bash scripts/ci/postgres.sh start > "$pg_env"
# shellcheck disable=SC1090
. "$pg_env"
export MLLM_AUDIT_TEST_PG_URL

set +e
python -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: treating as failure" >&2
  status=1
fi
exit "$status"
