#!/bin/bash
# test.sh: install what the tests need, then build and test two presets:
#   dev         (Debug, -Werror)            -> ctest --preset dev, every label
#   asan-ubsan  (Debug, ASan + UBSan)       -> ctest --preset asan-ubsan
# Labels: unit, golden, fuzz (corpus replay), integration (pytest against the
# real srvd, Knot and NSD). Exits non-zero if any step fails; every step runs
# even after a failure (a failed build skips only its own tests), and a
# timing summary is printed at the end. Idempotent, runs from any directory.
set -euo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
cd "$ROOT"

PKGS=(build-essential cmake pkg-config libldns-dev libssl-dev libuv1-dev libyaml-dev libcbor-dev
      libmicrohttpd-dev prometheus
      libfstrm-dev libprotobuf-c-dev protobuf-c-compiler fstrm-bin dnstap-ldns
      libcmocka-dev dnsutils knot-dnsutils knot nsd bind9 python3-pytest python3-dnspython dnsperf
      iproute2 clang libclang-rt-14-dev valgrind unbound ldnsutils
      pebble lego certbot python3-certbot-dns-rfc2136
      pandoc debhelper debootstrap lintian)
JOBS="${JOBS:-2}"
T0=$SECONDS
SUMMARY=()
FAILED=0

SUDO=()
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
fi

# The tests run their own knotd, nsd and named on high loopback ports. The
# Debian packages would start system services on install; a policy-rc.d that
# says "no" (only while we install, and only if there is none already) keeps
# them from starting and from grabbing port 53.
POLICY=/usr/sbin/policy-rc.d
OUR_POLICY=0
cleanup() {
    if [ "$OUR_POLICY" = 1 ]; then "${SUDO[@]}" rm -f "$POLICY"; fi
}
trap cleanup EXIT

install_missing() {
    local missing=() p
    for p in "${PKGS[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$p")
        fi
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        echo "test.sh: all packages already installed"
        return 0
    fi
    if [ "$(id -u)" -ne 0 ] && [ "${#SUDO[@]}" -eq 0 ]; then
        echo "test.sh: missing ${missing[*]}; run as root to install them" >&2
        return 1
    fi
    echo "test.sh: installing ${missing[*]}"
    if [ ! -e "$POLICY" ]; then
        printf '#!/bin/sh\n# test.sh: do not start services while installing\nexit 101\n' |
            "${SUDO[@]}" tee "$POLICY" >/dev/null
        "${SUDO[@]}" chmod 755 "$POLICY"
        OUR_POLICY=1
    fi
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
        "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -q --no-install-recommends "${missing[@]}"
    local rc=$?
    if [ "$OUR_POLICY" = 1 ]; then "${SUDO[@]}" rm -f "$POLICY"; OUR_POLICY=0; fi
    return $rc
}

# step NAME CMD...: run CMD, record its time and result; returns CMD's status.
step() {
    local name="$1" start=$SECONDS rc=0
    shift
    echo
    echo "==== $name: $*"
    "$@" || rc=$?
    local st="ok"
    if [ $rc -ne 0 ]; then st="FAILED (exit $rc)"; FAILED=1; fi
    SUMMARY+=("$(printf '%-26s %6ss  %s' "$name" $((SECONDS - start)) "$st")")
    return $rc
}

step "install packages" install_missing || true

for preset in dev asan-ubsan; do
    if step "$preset: configure" cmake --preset "$preset" &&
        step "$preset: build" cmake --build --preset "$preset" -j"$JOBS"; then
        step "$preset: ctest" ctest --preset "$preset" -j"$JOBS" --no-tests=error || true
    fi
done

echo
echo "==== timing summary"
for line in "${SUMMARY[@]}"; do echo "  $line"; done
printf '  %-26s %6ss\n' "total" $((SECONDS - T0))
if [ "$FAILED" -ne 0 ]; then
    echo "test.sh: FAILED"
    exit 1
fi
echo "test.sh: all steps passed"
