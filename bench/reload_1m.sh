#!/usr/bin/env bash
# bench/reload_1m.sh: reload a large zone (1,000,000 records by default)
# under load, in srvd, Knot and NSD, one server at a time.
#
#   bench/reload_1m.sh [--records N] [--rate QPS] [--servers "srvd knot nsd"]
#                      [--timeout S] [--no-build]
#
# For each server: start it pinned to core 0 on its own copy of the zone,
# wait for its first answer, and run loadgen from core 1 at a fixed rate
# (--rate, 10,000 q/s by default, the bench query mix) for the whole run.
# After 5 s of steady load, measure the server's memory (steady), then
# rewrite the zone file with the next serial (write a temporary file,
# rename it over) and ask for a reload the server's own way: `srvdctl
# reload bench.test`, `knotc zone-reload bench.test`, `nsd-control reload
# bench.test`. Poll the SOA every ~20 ms until the new serial is served:
# **reload** is the time from the request to that answer. Memory is sampled
# at each poll: **peak** is the largest sum over the process tree (RSS, and
# PSS, which counts pages that NSD's forked processes share only once), and
# **hwm** is the sum of the processes' VmHWM after the reload (the kernel's
# peak RSS since start: for srvd and Knot the reload's peak, which sampling
# may miss; NSD's reload runs in processes that have exited by then).
# **lost** and **wrong** are loadgen's counts over the whole run (no answer
# within 1 s; an answer with the wrong rcode, flags or question).
# Figures are reported, never asserted. Results: bench/out/reload_1m.csv.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench_lib.sh
source "$HERE/bench_lib.sh"

RECORDS=1000000
RATE=10000
SERVERS="srvd knot nsd"
TIMEOUT=600
BUILD=1
STEADY_S=5
AFTER_S=5
OUT=${OUT:-$HERE/out}
SRVDCTL_BIN=${SRVDCTL_BIN:-$BL_BUILD/src/bin/srvdctl}

while [[ $# -gt 0 ]]; do
	case $1 in
	--records) RECORDS=$2; shift 2 ;;
	--rate) RATE=$2; shift 2 ;;
	--servers) SERVERS=$2; shift 2 ;;
	--timeout) TIMEOUT=$2; shift 2 ;;
	--no-build) BUILD=0; shift ;;
	-h | --help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
	esac
done

bl_workdir
trap 'bl_stop_all; rm -rf "$BL_WORK"' EXIT
trap 'exit 130' INT TERM
bl_outdir "$OUT"
if [[ $BUILD == 1 ]]; then
	bl_build
	cmake --build "$BL_BUILD" -j2 --target srvdctl >/dev/null
fi
bl_describe
read -r -a SERVERS <<<"$SERVERS"
read -r -a SERVERS <<<"$(bl_available "${SERVERS[@]}")"
[[ ${#SERVERS[@]} -ge 1 ]] || { echo "no server to measure" >&2; exit 1; }

ZONE=$BL_WORK/bench-large.zone
QUERIES=$BL_WORK/queries.txt
bl_log "generating a zone of about $RECORDS records"
bl_gen "$ZONE" "$QUERIES" --records "$RECORDS"
nrec=$(grep -vc '^[;$]' "$ZONE")
bl_log "zone: $nrec records, $(du -m "$ZONE" | cut -f1) MB"

# config SERVER PORT ZONEFILE: like bl_config, plus the control channel each
# server reloads through. Prints the command line.
config() {
	local s=$1 port=$2 zone=$3 d=$BL_WORK/$1
	mkdir -p "$d"
	case $s in
	srvd)
		cat >"$d/srvd.conf" <<-EOF
			server:
			  listen: [127.0.0.1@$port]
			  workers: 1
			  log-level: info
			  control: $d/ctl.sock
			zones:
			  - name: $ORIGIN
			    file: $zone
		EOF
		echo "$SRVD_BIN -c $d/srvd.conf"
		;;
	knot) bl_config knot "$port" "$zone" ;;
	nsd)
		bl_config nsd "$port" "$zone" >/dev/null
		sed -i "s|control-enable: no|control-enable: yes\n    control-interface: $d/nsd.ctl|" \
			"$d/nsd.conf"
		echo "nsd -d -c $d/nsd.conf"
		;;
	esac
}

# reload SERVER: ask it to reload the zone; srvdctl waits for the result, so
# it runs in the background.
reload() {
	local d=$BL_WORK/$1
	case $1 in
	srvd) "$SRVDCTL_BIN" -s "$d/ctl.sock" -t 3600 reload "$ORIGIN" >"$d/srvdctl.out" 2>&1 & ;;
	knot) knotc -c "$d/knot.conf" zone-reload "$ORIGIN" >/dev/null ;;
	nsd) nsd-control -c "$d/nsd.conf" reload "$ORIGIN" >/dev/null ;;
	esac
}

serial_of() {
	dig +short +time=1 +tries=1 @127.0.0.1 -p "$1" "$ORIGIN" SOA 2>/dev/null | awk '{print $3}'
}

CSV=$OUT/reload_1m.csv
echo "server,records,rate,reload_s,steady_rss_kib,peak_rss_kib,steady_pss_kib,peak_pss_kib,hwm_kib,sent,answered,lost,wrong" >"$CSV"

for s in "${SERVERS[@]}"; do
	d=$BL_WORK/$s
	mkdir -p "$d"
	zone=$d/zone
	cp "$ZONE" "$zone"
	port=$(bl_free_port 45400)
	read -r -a cmd <<<"$(config "$s" "$port" "$zone")"
	bl_start "$s" 0 "${cmd[@]}"
	pid=$BL_LAST_PID
	if ! bl_client "$LOADGEN" -p "$port" --wait-ready "$TIMEOUT" --probe "$SRV_QUERY" >/dev/null; then
		bl_log "$s gave no answer within $TIMEOUT s; its log:"
		tail -20 "$BL_WORK/$s.log" >&2
		bl_stop "$pid"
		continue
	fi
	old=$(serial_of "$port")
	new=$((old + 1))
	sed "0,/$old/s//$new/" "$zone" >"$zone.next"
	bl_log "$s: serving serial $old; $RATE q/s for $STEADY_S s, then reload"
	duration=$((STEADY_S + TIMEOUT + AFTER_S))
	# taskset execs loadgen: $! is loadgen itself
	taskset -c 1 "$LOADGEN" -p "$port" -q "$QUERIES" -r "$RATE" -d "$duration" --quiet \
		>"$d/loadgen.out" 2>"$d/loadgen.err" &
	lg=$!
	BL_PIDS+=("$lg")
	sleep "$STEADY_S"
	read -r steady_rss steady_pss _ <<<"$(bl_mem "$pid")"
	peak_rss=$steady_rss peak_pss=$steady_pss
	mv "$zone.next" "$zone"
	t0=$EPOCHREALTIME
	reload "$s"
	took=""
	while :; do
		read -r rss pss _ <<<"$(bl_mem "$pid")"
		((rss > peak_rss)) && peak_rss=$rss
		((pss > peak_pss)) && peak_pss=$pss
		if [[ $(serial_of "$port") == "$new" ]]; then
			took=$("$PY" -c "print('%.3f' % ($EPOCHREALTIME - $t0))")
			break
		fi
		if "$PY" -c "import sys; sys.exit(0 if $EPOCHREALTIME - $t0 > $TIMEOUT else 1)"; then
			bl_log "$s: serial $new not served within $TIMEOUT s"
			break
		fi
		sleep 0.02
	done
	# a few more samples: memory may peak after the switch (old version freed late)
	for ((i = 0; i < 25; i++)); do
		read -r rss pss _ <<<"$(bl_mem "$pid")"
		((rss > peak_rss)) && peak_rss=$rss
		((pss > peak_pss)) && peak_pss=$pss
		sleep 0.04
	done
	hwm=0
	for p in $(bl_tree "$pid"); do
		v=$(awk '/^VmHWM:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
		hwm=$((hwm + ${v:-0}))
	done
	sleep "$AFTER_S"
	# loadgen stops sending at its duration; end it early, it prints its counts
	kill -INT "$lg" 2>/dev/null || true
	wait "$lg" 2>/dev/null || true
	line=$(tail -1 "$d/loadgen.out")
	sent=$(bl_kv "$line" sent) answered=$(bl_kv "$line" answered)
	lost=$(bl_kv "$line" lost) wrong=$(bl_kv "$line" wrong)
	echo "$s,$nrec,$RATE,${took:-NA},$steady_rss,$peak_rss,$steady_pss,$peak_pss,$hwm,$sent,$answered,$lost,$wrong" >>"$CSV"
	printf '  %-5s reload %7s s, RSS %5d -> %5d MiB, PSS %5d -> %5d MiB, hwm %5d MiB, %s sent, %s lost, %s wrong\n' \
		"$s" "${took:-NA}" $((steady_rss / 1024)) $((peak_rss / 1024)) $((steady_pss / 1024)) \
		$((peak_pss / 1024)) $((hwm / 1024)) "$sent" "$lost" "$wrong" >&2
	cp "$BL_WORK/$s.log" "$OUT/reload_$s.log"
	bl_stop "$pid"
done

"$PY" - "$CSV" <<'PYEOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
if not rows:
    sys.exit("no server was measured")
names = {"srvd": "srvd", "knot": "Knot", "nsd": "NSD"}
print()
print("reload of a zone of %s records under %s q/s" % (rows[0]["records"], rows[0]["rate"]))
print("%-6s %9s %16s %16s %8s %9s %6s %6s" % ("server", "reload s", "RSS MiB (peak)",
                                              "PSS MiB (peak)", "hwm MiB", "sent", "lost", "wrong"))
for r in rows:
    mib = lambda k: int(r[k]) // 1024
    print("%-6s %9s %7d (%6d) %7d (%6d) %8d %9s %6s %6s" % (
        names.get(r["server"], r["server"]), r["reload_s"], mib("steady_rss_kib"),
        mib("peak_rss_kib"), mib("steady_pss_kib"), mib("peak_pss_kib"), mib("hwm_kib"),
        r["sent"], r["lost"], r["wrong"]))
PYEOF
bl_log "runs: $CSV"
