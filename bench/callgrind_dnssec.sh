#!/bin/bash
# callgrind_dnssec.sh: instructions per query with the DO bit over a signed
# copy of micro_respond's zone, NSEC and NSEC3 (no salt, 0 iterations).
#
# The zone is signed here with dnssec-keygen and dnssec-signzone
# (bind9-utils); then bench/callgrind.sh runs micro_respond --zone FILE
# --do, for each zone, and for comparison DO=0 over the NSEC3 one.
#
# Usage: bench/callgrind_dnssec.sh [BUILD_DIR] [N]
set -euo pipefail
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
BUILD="${1:-$ROOT/build/release}"
N="${2:-51200}"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
"$BUILD/bench/micro_respond" --write-zone "$TMP/example.com.zone"
key=$(dnssec-keygen -q -K "$TMP" -a ECDSAP256SHA256 -f KSK -n ZONE example.com)
cat "$TMP/$key.key" >> "$TMP/example.com.zone"
sign() { # output extra-args...
    local out=$1
    shift
    dnssec-signzone -q -z -K "$TMP" -d "$TMP" -o example.com -f "$out" "$@" \
        "$TMP/example.com.zone" "$TMP/$key" >/dev/null
}
sign "$TMP/nsec.zone"
sign "$TMP/nsec3.zone" -3 - -H 0
for z in nsec nsec3; do
    echo "DO=1, $z:"
    MICRO_ARGS="--zone $TMP/$z.zone --do" "$ROOT/bench/callgrind.sh" "$BUILD" "$N" | tail -1
done
echo "DO=0, nsec3 (signed zone, answers without DNSSEC records):"
MICRO_ARGS="--zone $TMP/nsec3.zone" "$ROOT/bench/callgrind.sh" "$BUILD" "$N" | tail -1
