#!/bin/bash
# quickstart.sh: from a fresh Debian 12 to a running srvd in one command.
#
# Installs only the build dependencies that are missing, builds the
# `release` preset, then runs srvd in the foreground with no config file:
# it serves every zone in zones/ on 127.0.0.1@5353 and [::1]@5353.
# Safe to run again (nothing is reinstalled, the build is incremental) and
# from any directory. Stop the server with Ctrl-C.
set -euo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
cd "$ROOT"

PKGS=(build-essential cmake pkg-config libldns-dev libssl-dev libuv1-dev libyaml-dev libcbor-dev
      libcmocka-dev dnsutils)

# Run as root, or through sudo when it is there.
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        echo "quickstart: run as root (or install sudo) so that apt-get can install packages" >&2
        exit 1
    fi
fi

missing=()
for p in "${PKGS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "quickstart: installing ${missing[*]}"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${missing[@]}"
else
    echo "quickstart: build dependencies already installed"
fi

jobs="$(nproc 2>/dev/null || echo 2)"
cmake --preset release
cmake --build --preset release -j"$jobs" --target srvd srvd-checkzone

BIN="$ROOT/build/release/src/bin/srvd"
if [ ! -x "$BIN" ]; then
    echo "quickstart: $BIN was not built" >&2
    exit 1
fi

echo
echo "srvd is starting in the foreground (Ctrl-C stops it). In another terminal, try:"
echo
echo "dig @127.0.0.1 -p 5353 _matrix-fed._tcp.example.com SRV"
echo
exec "$BIN"
