#!/usr/bin/env bash
# Make sure a headless-capable Chromium is installed and print its binary path.
#
# Why a script: the browser tests (pytest -m browser) need a real Chromium, and in CI a missing
# browser must fail the run rather than skip it. Debian's `chromium` package is used because it is
# what these machines can reach (apt only, no downloads from Google).
set -euo pipefail

find_chromium() {
    local candidate
    for candidate in "${MLLM_AUDIT_CHROMIUM:-}" chromium chromium-browser google-chrome google-chrome-stable; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

if path="$(find_chromium)"; then
    echo "$path"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "chromium.sh: Chromium is missing and this user cannot run apt-get (not root, no sudo)" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >&2

if path="$(find_chromium)"; then
    echo "$path"
else
    echo "chromium.sh: apt-get finished but no chromium binary is on PATH" >&2
    exit 1
fi
