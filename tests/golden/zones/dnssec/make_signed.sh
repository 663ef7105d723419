#!/bin/bash
# make_signed.sh: regenerate the signed fixtures in this folder.
#
# Three parents with the same data, one per denial method: nsec.test
# (NSEC), nsec3.test (NSEC3, no salt, 0 iterations as RFC 9276 asks) and
# nsec3o.test (NSEC3 with opt-out), each with a signed child
# secure.<parent> whose DS is in the parent. One ECDSA P-256 key per zone
# (a CSK), signatures valid until 2080 (2099, 73 years ahead, would wrap: RRSIG
# times compare in RFC 1982 serial arithmetic, RFC 4034 3.1.5).
# The private keys are thrown away: tests only need the public keys, which
# are in the signed zones and in trust-anchors.
# Needs dnssec-keygen and dnssec-signzone (bind9-utils).
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
: > trust-anchors
sign() { # zone-name source output extra-signzone-args...
    local name=$1 src=$2 out=$3
    shift 3
    sed "s/@ORIGIN@/$name/" "$src" > "$TMP/$name.zone"
    local key
    key=$(dnssec-keygen -q -K "$TMP" -P 20260101000000 -A 20260101000000 -a ECDSAP256SHA256 -f KSK -n ZONE "$name")
    cat "$TMP/$key.key" >> "$TMP/$name.zone"
    grep -v '^;' "$TMP/$key.key" >> trust-anchors
    for ds in "$TMP"/ds-*."$name"; do
        [ -e "$ds" ] && cat "$ds" >> "$TMP/$name.zone"
    done
    dnssec-signzone -q -z -N keep -s 20260101000000 -e 20801231000000 -O full \
        -K "$TMP" -d "$TMP" -o "$name" -f "$out" "$@" "$TMP/$name.zone" "$TMP/$key" >/dev/null
    dnssec-dsfromkey -2 "$TMP/$key.key" > "$TMP/ds-$name"
}
for p in nsec.test nsec3.test nsec3o.test; do
    args=()
    case $p in
    nsec3.test) args=(-3 - -H 0) ;;
    nsec3o.test) args=(-3 - -H 0 -A) ;;
    esac
    sign "secure.$p" child.zone.in "secure.$p.signed" "${args[@]}"
    mv "$TMP/ds-secure.$p" "$TMP/ds-x.$p"
    sign "$p" parent.zone.in "$p.signed" "${args[@]}"
done
