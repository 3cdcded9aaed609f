#!/usr/bin/env bash
# Sourced by the CI helper scripts: apt_install PACKAGE... installs Debian packages as root, or
# through sudo, or fails naming why (CI must fail, not skip, when a service cannot be installed).

apt_install() {
    local sudo_cmd=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo_cmd="sudo"
        else
            echo "$(basename "$0"): $* missing and this user cannot run apt-get (not root, no sudo)" >&2
            return 1
        fi
    fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo_cmd apt-get update -qq >&2
    $sudo_cmd apt-get install -y -qq --no-install-recommends "$@" >&2
}
