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

# shellcheck source=scripts/ci/apt.sh
. "$(dirname "$0")/apt.sh"
apt_install chromium fonts-dejavu-core

if path="$(find_chromium)"; then
    echo "$path"
else
    echo "chromium.sh: apt-get finished but no chromium binary is on PATH" >&2
    exit 1
fi
