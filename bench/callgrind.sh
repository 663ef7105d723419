#!/bin/bash
# callgrind.sh: user-space instructions per query, in process.
#
# Runs micro_respond under valgrind --tool=callgrind twice, with N and 2N
# queries. Loading the zone and building the query mix cost the same in
# both runs, so (Ir(2N) - Ir(N)) / N is the cost of one query alone.
#
# Usage: bench/callgrind.sh [BUILD_DIR] [N] [MODE]
#   BUILD_DIR defaults to build/release, N to 100000 (a multiple of the
#   4096-query mix keeps both runs on the same mix). MODE is passed to
#   micro_respond: empty (srvd_respond), --dispatch (srvd_dispatch, what
#   the daemon calls), --tsig (srvd_dispatch, every query signed) or --rrl
#   (srvd_dispatch with rate limiting on, every answer counted).
#   MICRO_ARGS, if set, goes to micro_respond too (bench/callgrind_dnssec.sh
#   uses it).
set -euo pipefail
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
BUILD="${1:-$ROOT/build/release}"
N="${2:-102400}"
MODE="${3:-}"
BIN="$BUILD/bench/micro_respond"
if [ ! -x "$BIN" ]; then
    echo "callgrind.sh: $BIN not found; build it first:" >&2
    echo "  cmake --preset release && cmake --build build/release --target micro_respond" >&2
    exit 1
fi
command -v valgrind >/dev/null || { echo "callgrind.sh: valgrind is not installed" >&2; exit 1; }
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

ir() { # total instructions of a callgrind run of micro_respond with $1 queries
    # shellcheck disable=SC2086 # MODE, MICRO_ARGS: more arguments, word-split
    valgrind --tool=callgrind --callgrind-out-file="$TMP/cg.$1" "$BIN" "$1" --quiet $MODE ${MICRO_ARGS:-} \
        >/dev/null 2>"$TMP/log.$1" || { cat "$TMP/log.$1" >&2; exit 1; }
    awk '/^(summary|totals):/ { print $2; exit }' "$TMP/cg.$1"
}

A=$(ir "$N")
B=$(ir $((2 * N)))
echo "callgrind: $N queries: $A Ir; $((2 * N)) queries: $B Ir"
awk -v a="$A" -v b="$B" -v n="$N" \
    'BEGIN { printf "%.0f instructions per query (user space, (Ir(2N) - Ir(N)) / N)\n", (b - a) / n }'
