#!/bin/bash
# quickstart.sh: from a fresh Debian 12 to a running srvd in one command.
#
# Installs only the build dependencies that are missing, builds the
# `release` preset (srvd, srvdctl, srvd-checkzone), then runs srvd in the
# foreground with no config file: it serves every zone in zones/ on
# 127.0.0.1@8053 and [::1]@8053, with a control socket for srvdctl.
#   PORT=9053 scripts/quickstart.sh          another port
#   scripts/quickstart.sh -l 192.0.2.1@53    more srvd options (srvd --help)
# Safe to run again (nothing is reinstalled, the build is incremental) and
# from any directory. Stop the server with Ctrl-C.
set -euo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
cd "$ROOT"

PKGS=(build-essential cmake pkg-config libldns-dev libssl-dev libuv1-dev libyaml-dev libcbor-dev
      libmicrohttpd-dev libfstrm-dev libprotobuf-c-dev protobuf-c-compiler libcmocka-dev dnsutils)

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
cmake --build --preset release -j"$jobs" --target srvd srvdctl srvd-checkzone

BINDIR="$ROOT/build/release/src/bin"
for b in srvd srvdctl srvd-checkzone; do
    if [ ! -x "$BINDIR/$b" ]; then
        echo "quickstart: $BINDIR/$b was not built" >&2
        exit 1
    fi
done

# srvdctl looks at /run/srvd/srvd.sock; only root may make /run/srvd.
PORT="${PORT:-8053}"
if [ "$(id -u)" -eq 0 ]; then
    CONTROL=/run/srvd/srvd.sock
    CTL=srvdctl
else
    CONTROL="$ROOT/build/release/srvd.sock"
    CTL="srvdctl -s $CONTROL"
fi

echo
echo "srvd is starting in the foreground (Ctrl-C stops it). In another terminal, try:"
echo
echo "  dig @127.0.0.1 -p $PORT _matrix-fed._tcp.example.com SRV"
echo "  cd $ROOT && export PATH=\"\$PWD/build/release/src/bin:\$PATH\""
echo "  $CTL status"
echo "  srvd-checkzone example.com zones/example.com.zone"
echo
exec "$BINDIR/srvd" -l "127.0.0.1@$PORT" -l "[::1]@$PORT" --control "$CONTROL" "$@"
