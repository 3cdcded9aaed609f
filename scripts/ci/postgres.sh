#!/usr/bin/env bash
# Start or stop a throwaway PostgreSQL cluster for the storage tests and benchmark.
#
#   eval "$(scripts/ci/postgres.sh start)"   # installs Debian's postgresql if missing, starts the
#                                           # cluster, prints `export MLLM_AUDIT_TEST_PG_URL=...`
#   scripts/ci/postgres.sh url              # prints the URL of the running cluster
#   scripts/ci/postgres.sh status           # exit 0 when running
#   scripts/ci/postgres.sh stop             # stops it and deletes its data folder
#
# Why a private cluster: tests need a server they may fill and drop databases on, isolated from
# any real one, on loopback only, gone after the run. Idempotent: `start` on a running cluster only
# prints the URL again; `stop` on a stopped one does nothing. Messages go to stderr, so stdout
# carries only the export line. Settings (environment):
#   MLLM_AUDIT_PG_PORT  loopback port (default 55432)
#   MLLM_AUDIT_PG_DIR   folder for data, socket and log (default ${TMPDIR:-/tmp}/mllm-audit-pg)
set -euo pipefail

PORT="${MLLM_AUDIT_PG_PORT:-55432}"
BASE="${MLLM_AUDIT_PG_DIR:-${TMPDIR:-/tmp}/mllm-audit-pg}"
DATA="$BASE/data"
LOG="$BASE/postgres.log"
USER_NAME="audit"
DB_NAME="audit"
URL="postgresql+psycopg://${USER_NAME}@127.0.0.1:${PORT}/${DB_NAME}"

say() { echo "postgres.sh: $*" >&2; }

find_bin() {
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [[ -x "$dir/initdb" ]]; then echo "$dir"; return 0; fi
  done
  if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; return 0; fi
  return 1
}

install_postgres() {
  if [[ "$(id -u)" != 0 ]]; then
    say "PostgreSQL is not installed and installing it needs root (apt-get install postgresql)"
    exit 1
  fi
  say "installing Debian's postgresql (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends postgresql >&2
}

# Run a command as the cluster's owner: initdb and postgres refuse to run as root.
as_owner() {
  if [[ "$(id -u)" == 0 ]]; then
    su postgres -s /bin/bash -c "$(printf '%q ' "$@")"
  else
    "$@"
  fi
}

is_running() {
  local bin="$1"
  [[ -f "$DATA/postmaster.pid" ]] && as_owner "$bin/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

start() {
  local bin
  bin="$(find_bin || true)"
  if [[ -z "$bin" ]]; then
    install_postgres
    bin="$(find_bin)" || { say "initdb not found after installing postgresql"; exit 1; }
  fi
  if is_running "$bin"; then
    say "already running on 127.0.0.1:$PORT ($DATA)"
  else
    mkdir -p "$BASE"
    if [[ "$(id -u)" == 0 ]]; then chown postgres:postgres "$BASE"; fi
    if [[ ! -f "$DATA/PG_VERSION" ]]; then
      as_owner "$bin/initdb" -D "$DATA" -A trust -U "$USER_NAME" -E UTF8 --no-instructions >/dev/null
    fi
    as_owner "$bin/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 start \
      -o "-p $PORT -k $BASE -c listen_addresses=127.0.0.1" >/dev/null \
      || { say "server did not start; log follows"; cat "$LOG" >&2; exit 1; }
    say "started $("$bin/postgres" --version) on 127.0.0.1:$PORT ($DATA)"
  fi
  if ! "$bin/psql" -h 127.0.0.1 -p "$PORT" -U "$USER_NAME" -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'" | grep -q 1; then
    "$bin/createdb" -h 127.0.0.1 -p "$PORT" -U "$USER_NAME" "$DB_NAME"
  fi
  echo "$URL" > "$BASE/url"
  echo "export MLLM_AUDIT_TEST_PG_URL=$URL"
}

stop() {
  local bin
  bin="$(find_bin || true)"
  if [[ -n "$bin" && -f "$DATA/postmaster.pid" ]]; then
    as_owner "$bin/pg_ctl" -D "$DATA" -m fast -w -t 60 stop >/dev/null 2>&1 || true
  fi
  if [[ -f "$DATA/postmaster.pid" ]]; then
    # pg_ctl could not stop it (e.g. binaries removed): stop the postmaster by its recorded pid
    local pid
    pid="$(head -1 "$DATA/postmaster.pid")"
    if [[ -n "$pid" ]] && kill -INT "$pid" 2>/dev/null; then
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    fi
  fi
  rm -rf "$BASE"
  say "stopped (removed $BASE)"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  url) [[ -f "$BASE/url" ]] && cat "$BASE/url" || { say "not running"; exit 1; } ;;
  status) bin="$(find_bin || true)"; [[ -n "$bin" ]] && is_running "$bin" && { say "running: $URL"; exit 0; }; say "not running"; exit 1 ;;
  *) echo "usage: $0 start|stop|url|status" >&2; exit 2 ;;
esac
