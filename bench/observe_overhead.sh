#!/usr/bin/env bash
# bench/observe_overhead.sh: what metrics and dnstap cost, srvd next to
# Knot with mod-dnstap, on the side-by-side zone, queries and cores.
#
#   bench/observe_overhead.sh [--rounds N] [--duration S] [--window N]
#                             [--callgrind] [--cg-queries N] [--cg-seconds S]
#                             [--variants "..."] [--nice N] [--no-build]
#
# Variants (all by default):
#   srvd-off        srvd as side_by_side.sh runs it
#   srvd-metrics    + server: metrics: (the endpoint listening; scraped
#                   once a second by curl during the run)
#   srvd-dnstap1    + dnstap: every query and answer to fstrm_capture
#   srvd-dnstap100  + dnstap: sample: 100
#   knot-off        knotd as side_by_side.sh runs it
#   knot-dnstap1    + mod-dnstap (queries and responses) to fstrm_capture;
#                   Knot 3.2's module has no sampling, so no 1/100
# Each server has one query worker pinned to core 0 (its whole process:
# srvd's fstrm I/O thread and Knot's dnstap thread included); loadgen and
# the collector (fstrm_capture -w /dev/null) share core 1. The variants
# take turns for --rounds rounds of UDP at maximum throughput (--window
# in flight) for --duration seconds: queries per second and answers per
# CPU-second of the server's process. --callgrind then runs each variant
# under callgrind as callgrind_servers.sh does (--cg-queries at an even
# rate over --cg-seconds, idle subtracted): user-space instructions per
# query, all threads. Prints both tables with the ratios to the variant
# without observability; writes out/observe.csv and out/observe_cg.csv.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench_lib.sh
source "$HERE/bench_lib.sh"

ROUNDS=3
DURATION=10
WINDOW=200
HOSTS=10000
CALLGRIND=0
CG_QUERIES=20000
CG_SECONDS=10
VARIANTS="srvd-off srvd-metrics srvd-dnstap1 srvd-dnstap100 knot-off knot-dnstap1"
BUILD=1
OUT=${OUT:-$HERE/out}

while [[ $# -gt 0 ]]; do
	case $1 in
	--rounds) ROUNDS=$2; shift 2 ;;
	--duration) DURATION=$2; shift 2 ;;
	--window) WINDOW=$2; shift 2 ;;
	--hosts) HOSTS=$2; shift 2 ;;
	--callgrind) CALLGRIND=1; shift ;;
	--cg-queries) CG_QUERIES=$2; shift 2 ;;
	--cg-seconds) CG_SECONDS=$2; shift 2 ;;
	--variants) VARIANTS=$2; shift 2 ;;
	--nice) BL_NICE=$2; shift 2 ;;
	--no-build) BUILD=0; shift ;;
	-h | --help) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
	esac
done
[[ $ROUNDS -ge 0 && $ROUNDS -le 50 ]] || { echo "--rounds must be 0..50 (0: callgrind only)" >&2; exit 2; }
[[ $DURATION -ge 1 && $DURATION -le 600 ]] || { echo "--duration must be 1..600 s" >&2; exit 2; }
command -v fstrm_capture >/dev/null || { echo "fstrm_capture is missing: apt-get install fstrm-bin" >&2; exit 1; }
if [[ $VARIANTS == *knot-dnstap* ]] && ! ls /usr/lib/*/knot/modules-*/dnstap.so >/dev/null 2>&1; then
	echo "Knot's dnstap module is missing: apt-get install knot-module-dnstap" >&2
	exit 1
fi

bl_workdir
trap 'bl_stop_all; rm -rf "$BL_WORK"' EXIT
trap 'exit 130' INT TERM
bl_outdir "$OUT"
[[ $BUILD == 1 ]] && bl_build
bl_describe
read -r -a VARIANTS <<<"$VARIANTS"

# Other benches on a shared machine take ports from 45300 up: start
# somewhere else, so that two runs do not race for the same free port.
BASE_PORT=$((46000 + RANDOM % 2000))
ZONE=$BL_WORK/bench.zone
QUERIES=$BL_WORK/queries.txt
bl_gen "$ZONE" "$QUERIES" --hosts "$HOSTS"

# variant_setup VARIANT PORT: write the config and start the collector the
# variant needs (pinned to core 1, in COLLECTOR); the server's command line
# goes to VCMD, the metrics port to MPORT. Not in a subshell: it starts
# processes that bl_stop_all must know.
variant_setup() {
	local v=$1 port=$2 base=${1%%-*} d sock
	VCMD=$(bl_config "$base" "$port" "$ZONE")
	COLLECTOR=""
	MPORT=""
	CTL=""
	d=$BL_WORK/$base
	sock=$BL_WORK/dt-$v-$port.sock
	case $v in
	srvd-metrics)
		MPORT=$(bl_free_port $((BASE_PORT + 90)))
		sed -i "s|^  workers: 1|  workers: 1\n  metrics: \"127.0.0.1@$MPORT\"|" "$d/srvd.conf"
		;;
	srvd-dnstap*)
		# and a control socket, to read the dnstap counters at the end
		local sample=${v#srvd-dnstap}
		CTL=$BL_WORK/ctl-$port.sock
		sed -i "s|^  workers: 1|  workers: 1\n  dnstap: {socket: \"$sock\", sample: $sample}\n  control: \"$CTL\"|" "$d/srvd.conf"
		;;
	knot-dnstap1)
		cat >>"$d/knot.conf" <<-EOF
			mod-dnstap:
			  - id: tap
			    sink: "unix:$sock"
			    log-queries: on
			    log-responses: on
			template:
			  - id: default
			    global-module: mod-dnstap/tap
		EOF
		;;
	esac
	if [[ $v == *dnstap* ]]; then
		rm -f "$sock"
		bl_start "collector-$v" 1 fstrm_capture -t protobuf:dnstap.Dnstap -u "$sock" -w /dev/null
		COLLECTOR=$BL_LAST_PID
		for _ in $(seq 50); do [[ -S $sock ]] && break; sleep 0.1; done
	fi
}

CSV=$OUT/observe.csv
DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
[[ $ROUNDS -ge 1 ]] && echo "date,variant,round,qps,answered,lost,cpu_s,answers_per_cpu_s,load,dnstap_logged,dnstap_dropped" >"$CSV"
SRVDCTL=$(dirname "$SRVD_BIN")/srvdctl

run_throughput() {
	local v=$1 round=$2 port cmd pid t0 t1 line qps ans lost cpu scraper=""
	port=$(bl_free_port "$BASE_PORT")
	variant_setup "$v" "$port"
	read -r -a cmd <<<"$VCMD"
	bl_start "$v" 0 "${cmd[@]}"
	pid=$BL_LAST_PID
	bl_wait_ready "$port" 30 >/dev/null || { echo "$v did not start; log:" >&2; tail "$BL_WORK/$v.log" >&2; exit 1; }
	if [[ -n $MPORT ]]; then
		# a scrape a second, as a Prometheus with scrape_interval: 1s would
		(for _ in $(seq $((DURATION + 2))); do
			curl -s -o /dev/null "http://127.0.0.1:$MPORT/metrics" || true
			sleep 1
		done) &
		scraper=$!
		BL_PIDS+=("$scraper")
	fi
	t0=$(bl_cpu_ticks "$pid")
	line=$(bl_client "$LOADGEN" -p "$port" -q "$QUERIES" -w "$WINDOW" -d "$DURATION" --quiet -l "$v")
	t1=$(bl_cpu_ticks "$pid")
	local dl="" dd=""
	if [[ -n $CTL ]]; then
		local js
		js=$("$SRVDCTL" -s "$CTL" --json stats 2>/dev/null || true)
		dl=$("$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["data"]["dnstap"]["logged"])' "$js" 2>/dev/null || true)
		dd=$("$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["data"]["dnstap"]["dropped"])' "$js" 2>/dev/null || true)
	fi
	[[ -n $scraper ]] && bl_stop "$scraper"
	bl_stop "$pid"
	[[ -n $COLLECTOR ]] && bl_stop "$COLLECTOR"
	qps=$(bl_kv "$line" qps) ans=$(bl_kv "$line" answered) lost=$(bl_kv "$line" lost)
	cpu=$("$PY" -c "print('%.2f' % (($t1 - $t0) / $BL_HZ))")
	echo "$DATE,$v,$round,$qps,$ans,$lost,$cpu,$("$PY" -c "print('%.0f' % ($ans / max($cpu, 0.01)))"),$(bl_loadavg),$dl,$dd" >>"$CSV"
	bl_log "$v round $round: $qps q/s, $ans answered, $lost lost, $cpu CPU-s${dl:+, dnstap $dl logged $dd dropped}"
}

for ((r = 1; r <= ROUNDS; r++)); do
	for v in "${VARIANTS[@]}"; do
		run_throughput "$v" "$r"
	done
done

CG_CSV=$OUT/observe_cg.csv
if [[ $CALLGRIND == 1 ]]; then
	command -v valgrind >/dev/null || { echo "valgrind is missing" >&2; exit 1; }
	echo "variant,answered,ir_idle,ir_loaded,ir_per_query" >"$CG_CSV"
	RATE=$((CG_QUERIES / CG_SECONDS))
	for v in "${VARIANTS[@]}"; do
		port=$(bl_free_port $((BASE_PORT + 50)))
		variant_setup "$v" "$port"
		read -r -a cmd <<<"$VCMD"
		d=$BL_WORK/cg-$v
		mkdir -p "$d"
		bl_start "cg-$v" 0 valgrind --tool=callgrind --callgrind-out-file="$d/cg.%p" "${cmd[@]}"
		pid=$BL_LAST_PID
		if ! bl_client "$LOADGEN" -p "$port" --wait-ready 120 --probe "$SRV_QUERY" >/dev/null; then
			echo "$v never answered under callgrind; log:" >&2
			tail -5 "$BL_WORK/cg-$v.log" >&2
			exit 1
		fi
		sleep 2
		callgrind_control -z "$pid" >/dev/null 2>&1
		sleep "$CG_SECONDS"
		callgrind_control -d "$pid" >/dev/null 2>&1
		line=$(bl_client "$LOADGEN" -p "$port" -q "$QUERIES" -r "$RATE" -n "$CG_QUERIES" \
			-d "$CG_SECONDS" -T 2000 --quiet -l "$v")
		callgrind_control -d "$pid" >/dev/null 2>&1
		ans=$(bl_kv "$line" answered)
		idle=$(awk '/^summary:/ {print $2; exit}' "$d"/cg.*.1)
		loaded=$(awk '/^summary:/ {print $2; exit}' "$d"/cg.*.2)
		bl_stop "$pid"
		[[ -n $COLLECTOR ]] && bl_stop "$COLLECTOR"
		per=$("$PY" -c "print('%.0f' % (($loaded - $idle) / max($ans, 1)))")
		echo "$v,$ans,$idle,$loaded,$per" >>"$CG_CSV"
		bl_log "$v under callgrind: $per instructions per query ($ans answered)"
	done
fi

TP_CSV=""
[[ $ROUNDS -ge 1 ]] && TP_CSV=$CSV
"$PY" - "$TP_CSV" "$CG_CSV" "$CALLGRIND" <<'PYEOF'
import csv, os, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]))) if sys.argv[1] else []
if not rows:
    print("no throughput rounds")
by = {}
for r in rows:
    by.setdefault(r["variant"], []).append(r)
print()
if rows:
  print("UDP at maximum throughput, %d round(s); load average %s-%s" % (
    max(int(r["round"]) for r in rows), min(r["load"] for r in rows), max(r["load"] for r in rows)))
print("%-15s %10s %10s %12s %6s %8s %8s %s" % ("variant", "q/s med", "q/s max", "ans/CPU-s", "lost", "x q/s", "x CPU", "dnstap dropped/logged"))
base = {}
for v, rs in by.items():
    qps = statistics.median(float(r["qps"]) for r in rs)
    cpu = statistics.median(float(r["answers_per_cpu_s"]) for r in rs)
    srv = v.split("-")[0]
    if v.endswith("-off"):
        base[srv] = (qps, cpu)
for v, rs in by.items():
    qps = statistics.median(float(r["qps"]) for r in rs)
    mx = max(float(r["qps"]) for r in rs)
    cpu = statistics.median(float(r["answers_per_cpu_s"]) for r in rs)
    lost = sum(int(r["lost"]) for r in rs)
    b = base.get(v.split("-")[0])
    rq = "%.2f" % (qps / b[0]) if b else "-"
    rc = "%.2f" % (cpu / b[1]) if b else "-"
    dt = ""
    if rs[0].get("dnstap_logged"):
        dt = "%d/%d" % (sum(int(r["dnstap_dropped"] or 0) for r in rs), sum(int(r["dnstap_logged"] or 0) for r in rs))
    print("%-15s %10.0f %10.0f %12.0f %6d %8s %8s %s" % (v, qps, mx, cpu, lost, rq, rc, dt))
if sys.argv[3] == "1" and os.path.exists(sys.argv[2]):
    cg = list(csv.DictReader(open(sys.argv[2])))
    cb = {r["variant"].split("-")[0]: float(r["ir_per_query"]) for r in cg if r["variant"].endswith("-off")}
    print()
    print("user-space instructions per query, whole process (callgrind)")
    for r in cg:
        b = cb.get(r["variant"].split("-")[0])
        print("%-15s %8s %8s" % (r["variant"], r["ir_per_query"],
                                 "x%.2f" % (float(r["ir_per_query"]) / b) if b else "-"))
PYEOF
bl_log "runs: $CSV"
