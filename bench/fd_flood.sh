#!/usr/bin/env bash
# bench/fd_flood.sh: srvd and knotd under a churning TCP connection flood
# with a low RLIMIT_NOFILE (issue 14: descriptor exhaustion).
#
#   bench/fd_flood.sh [--nofile 1024] [--seconds 10] [--hold 1500]
#                     [--servers "srvd knot"] [--no-build]
#
# Each server in turn, with two workers for UDP and TCP (srvd `workers: 2`;
# knotd `udp-workers: 2`, `tcp-workers: 2`) and its default TCP connection
# cap, is started under `prlimit --nofile=N:N` on the bench zone. Then
# fd_flood.py floods it (two threads keep up to --hold connections each,
# churning) for --seconds while probing UDP every 50 ms, closes everything,
# and reports: UDP probes answered during the flood, the server's peak
# descriptors, the time until TCP answers again, the descriptors and CPU in
# the 3 s after, and how long SIGTERM takes to stop it. Results in
# bench/out/fd_flood.txt.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench_lib.sh
source "$HERE/bench_lib.sh"

NOFILE=1024
SECONDS_FLOOD=10
HOLD=1500
SERVERS="srvd knot"
BUILD=1
OUT=${OUT:-$HERE/out}

while [[ $# -gt 0 ]]; do
	case $1 in
	--nofile) NOFILE=$2; shift 2 ;;
	--seconds) SECONDS_FLOOD=$2; shift 2 ;;
	--hold) HOLD=$2; shift 2 ;;
	--servers) SERVERS=$2; shift 2 ;;
	--no-build) BUILD=0; shift ;;
	-h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
	esac
done

bl_workdir
trap 'bl_stop_all; rm -rf "$BL_WORK"' EXIT
trap 'exit 130' INT TERM
bl_outdir "$OUT"
[[ $BUILD == 1 ]] && bl_build
bl_describe
ZONE=$BL_WORK/bench.zone
bl_gen "$ZONE" ""

: >"$OUT/fd_flood.txt"
for s in $(bl_available $SERVERS); do
	port=$(bl_free_port 25300)
	cmd=$(bl_config "$s" "$port" "$ZONE")
	case $s in
	srvd) sed -i 's/workers: 1/workers: 2/' "$BL_WORK/$s/srvd.conf" ;;
	knot) sed -i 's/udp-workers: 1/udp-workers: 2/; s/tcp-workers: 1/tcp-workers: 2/' \
		"$BL_WORK/$s/knot.conf" ;;
	esac
	# shellcheck disable=SC2086
	bl_start "$s" "" prlimit --nofile="$NOFILE:$NOFILE" $cmd
	pid=$BL_LAST_PID
	bl_wait_ready "$port" 60 >/dev/null
	bl_log "$s: flooding for $SECONDS_FLOOD s (RLIMIT_NOFILE $NOFILE)"
	res=$("$PY" "$HERE/fd_flood.py" --port "$port" --pid "$pid" --seconds "$SECONDS_FLOOD" \
		--hold "$HOLD" --probe "_matrix-fed._tcp.$ORIGIN")
	t0=$EPOCHREALTIME
	kill -TERM "$pid"
	stopped=-1
	for ((i = 0; i < 100; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			stopped=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%d", (b - a) * 1000}')
			break
		fi
		sleep 0.1
	done
	bl_stop "$pid"
	echo "server=$s nofile=$NOFILE $res sigterm_ms=$stopped" | tee -a "$OUT/fd_flood.txt"
done
