#!/usr/bin/env bash
# Make sure Debian's poppler-utils (pdftoppm, pdftotext, pdfinfo) are installed; print pdftoppm's path.
#
# Why: the compliance dossier's PDF is tested the way a person sees it (rendered to PNG pages and
# to text), and in CI a missing renderer must fail the run rather than skip it. Debian's package is
# what these machines can reach (apt only).
set -euo pipefail

if command -v pdftoppm >/dev/null 2>&1 && command -v pdftotext >/dev/null 2>&1 && command -v pdfinfo >/dev/null 2>&1; then
    command -v pdftoppm
    exit 0
fi

# shellcheck source=scripts/ci/apt.sh
. "$(dirname "$0")/apt.sh"
apt_install poppler-utils

if command -v pdftoppm >/dev/null 2>&1; then
    command -v pdftoppm
else
    echo "poppler.sh: apt-get finished but pdftoppm is not on PATH" >&2
    exit 1
fi
