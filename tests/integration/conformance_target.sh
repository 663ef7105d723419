#!/bin/bash
# conformance_target.sh: the --cmd wrapper that runs srvd under the shared
# differential conformance harness (../shared/conformance/run_peers.sh):
#
#   run_peers.sh --phase1-only --cmd "bash tests/integration/conformance_target.sh"
#
# It reads only the SRVD_* variables that run_peers.sh exports, writes a srvd
# config into $SRVD_WORKDIR and execs srvd in the foreground, so the
# harness's SIGTERM reaches srvd itself:
#   - every $SRVD_ZONESDIR/*.zone is served as primary (zone = file name
#     without .zone), on $SRVD_ADDR@$SRVD_PORT, UDP and TCP;
#   - AXFR is allowed to 127.0.0.1 for the zones in $SRVD_XFR_ZONES only;
#   - every zone of $SRVD_SECONDARY_ZONES (full run: sec.test) is a
#     secondary of $SRVD_PRIMARY, NOTIFY accepted from 127.0.0.1 only, its
#     copy kept in $SRVD_WORKDIR;
#   - identity and version (CH TXT) are "srvd-conformance".
# The binary is $SRVD_BIN, by default build/dev/src/bin/srvd of this checkout.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BIN="${SRVD_BIN:-$ROOT/build/dev/src/bin/srvd}"
W="${SRVD_WORKDIR:?SRVD_WORKDIR is not set: run me from run_peers.sh --cmd}"
ZD="${SRVD_ZONESDIR:?}"
PORT="${SRVD_PORT:?}"
ADDR="${SRVD_ADDR:-127.0.0.1}"
XFR=" ${SRVD_XFR_ZONES:-} "

SEC="${SRVD_SECONDARY_ZONES:-}"
[ -z "$SEC" ] || : "${SRVD_PRIMARY:?SRVD_PRIMARY is not set}"

conf="$W/srvd.yaml"
{
    echo "# written by $0 for the conformance harness"
    echo "server:"
    echo "  listen: [\"$ADDR@$PORT\"]"
    echo "  identity: srvd-conformance"
    echo "  version: srvd-conformance"
    echo "  log-level: info"
    echo "zones:"
    n=0
    for f in "$ZD"/*.zone; do
        [ -e "$f" ] || continue
        z="$(basename "$f" .zone)"
        echo "  - name: \"$z\""
        echo "    file: \"$f\""
        case "$XFR" in *" $z "*) echo "    allow-transfer: [127.0.0.1]" ;; esac
        n=$((n + 1))
    done
    for z in $SEC; do
        echo "  - name: \"$z\""
        echo "    file: \"$W/$z.zone\""
        echo "    primaries: [\"$SRVD_PRIMARY\"]"
        echo "    notify-from: [127.0.0.1]"
        case "$XFR" in *" $z "*) echo "    allow-transfer: [127.0.0.1]" ;; esac
    done
    [ "$n" -gt 0 ] || { echo "conformance_target: no *.zone in $ZD" >&2; exit 1; }
} > "$conf"

echo "conformance_target: $BIN -c $conf" >&2
exec "$BIN" -c "$conf"
