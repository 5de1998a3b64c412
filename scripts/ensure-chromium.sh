#!/usr/bin/env bash
# Browser tests drive the distribution's chromium through Playwright (executable_path below);
# Playwright's own browser download is not used. Installs it with apt-get when it is missing.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
[[ -x $CHROMIUM ]] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: $CHROMIUM is missing and apt-get is not available; install chromium by hand" >&2
    exit 1
fi

as_root=()
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        as_root=(sudo -n)
    else
        echo "error: $CHROMIUM is missing; install it with: sudo apt-get install chromium" >&2
        exit 1
    fi
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT

# Quiet on success; the full apt output on failure.
quietly() {
    if ! "$@" >"$log" 2>&1 </dev/null; then
        echo "error: '$*' failed:" >&2
        cat "$log" >&2
        exit 1
    fi
}

echo "Installing chromium with apt-get (needed by the browser tests)..."
apt=("${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300)
quietly "${apt[@]}" update
quietly "${apt[@]}" install -y --no-install-recommends chromium

if [[ ! -x $CHROMIUM ]]; then
    echo "error: the chromium package is installed but $CHROMIUM does not exist" >&2
    exit 1
fi
echo "chromium installed: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
