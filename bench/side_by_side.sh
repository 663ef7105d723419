#!/usr/bin/env bash
# bench/side_by_side.sh: srvd, knotd and nsd on the same zone, the same
# queries, the same core, measured by the same client, in turn.
#
#   bench/side_by_side.sh [--rounds N] [--duration S] [--rate QPS] [--window N]
#                         [--conns N] [--pipeline K] [--servers "srvd knot nsd"]
#                         [--hosts N] [--dnsperf] [--nice N] [--no-build]
#                         [--signed] [--do]
#
# Each server runs with one query worker pinned to core 0 (taskset); the
# client (bench/loadgen, or dnsperf with --dnsperf) is pinned to core 1. The
# servers take turns, A B C A B C ..., for --rounds rounds of --duration
# seconds in each of three phases: UDP at maximum throughput (--window
# queries in flight), TCP at maximum throughput (--conns connections with
# --pipeline queries in flight each), then UDP at a fixed --rate for latency.
#
# Prints a table per server and the srvd/Knot and srvd/NSD ratios; writes
# bench/out/results.csv (one row per run), bench/out/summary.csv (one row per
# server) and bench/out/results.png (a chart; needs gnuplot:
# apt-get install gnuplot-nox). Every process it starts is stopped by PID on
# exit. --nice -10 runs servers and client at that priority, so that other
# work on a shared machine disturbs the runs less (needs root).
# --signed serves the bench zone signed with ldns-signzone -n (NSEC3, see
# bl_sign in bench_lib.sh; needs ldnsutils); --do sets the DO bit in every
# query, so that a signed zone answers with its RRSIGs and NSEC3 proofs.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench_lib.sh
source "$HERE/bench_lib.sh"

ROUNDS=3
DURATION=10
RATE=20000
WINDOW=200
CONNS=8
PIPELINE=25
SERVERS="srvd knot nsd"
HOSTS=10000
DNSPERF=0
BUILD=1
SIGNED=0
DO=0
OUT=${OUT:-$HERE/out}

while [[ $# -gt 0 ]]; do
	case $1 in
	--rounds) ROUNDS=$2; shift 2 ;;
	--duration) DURATION=$2; shift 2 ;;
	--rate) RATE=$2; shift 2 ;;
	--window) WINDOW=$2; shift 2 ;;
	--conns) CONNS=$2; shift 2 ;;
	--pipeline) PIPELINE=$2; shift 2 ;;
	--servers) SERVERS=$2; shift 2 ;;
	--hosts) HOSTS=$2; shift 2 ;;
	--dnsperf) DNSPERF=1; shift ;;
	--nice) BL_NICE=$2; shift 2 ;;
	--no-build) BUILD=0; shift ;;
	--signed) SIGNED=1; shift ;;
	--do) DO=1; shift ;;
	-h | --help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
	esac
done
[[ $ROUNDS -ge 1 && $ROUNDS -le 50 ]] || { echo "--rounds must be 1..50" >&2; exit 2; }
[[ $DURATION -ge 1 && $DURATION -le 600 ]] || { echo "--duration must be 1..600 s" >&2; exit 2; }
if [[ $DNSPERF == 1 ]] && ! command -v dnsperf >/dev/null; then
	echo "dnsperf is not installed: apt-get install dnsperf" >&2
	exit 1
fi

bl_workdir
trap 'bl_stop_all; rm -rf "$BL_WORK"' EXIT
trap 'exit 130' INT TERM
bl_outdir "$OUT"
[[ $BUILD == 1 ]] && bl_build
bl_describe
read -r -a SERVERS <<<"$SERVERS"
read -r -a SERVERS <<<"$(bl_available "${SERVERS[@]}")"
[[ ${#SERVERS[@]} -ge 1 ]] || { echo "no server to measure" >&2; exit 1; }

ZONE=$BL_WORK/bench.zone
QUERIES=$BL_WORK/queries.txt
bl_gen "$ZONE" "$QUERIES" --hosts "$HOSTS"
if [[ $SIGNED == 1 ]]; then
	bl_sign "$ZONE"
	ZONE=$BL_SIGNED
fi
LG_DO=() DP_DO=()
[[ $DO == 1 ]] && LG_DO=(--do) DP_DO=(-D)
bl_log "zone: $(grep -vc '^[;$]' "$ZONE") records$([[ $SIGNED == 1 ]] && echo ", signed (NSEC3)"), queries with DO=$DO"
# dnsperf takes `name TYPE` only.
cut -d' ' -f1,2 "$QUERIES" >"$BL_WORK/queries.dnsperf"

declare -A PORT PID
base=45300
for s in "${SERVERS[@]}"; do
	PORT[$s]=$(bl_free_port $base)
	base=$((PORT[$s] + 1))
	read -r -a cmd <<<"$(bl_config "$s" "${PORT[$s]}" "$ZONE")"
	bl_start "$s" 0 "${cmd[@]}"
	PID[$s]=$BL_LAST_PID
done
for s in "${SERVERS[@]}"; do
	if ! line=$(bl_wait_ready "${PORT[$s]}" 60); then
		echo "$s did not answer on port ${PORT[$s]}; its log:" >&2
		cat "$BL_WORK/$s.log" >&2
		exit 1
	fi
	bl_log "$s up on 127.0.0.1@${PORT[$s]} (pid ${PID[$s]}), $line"
done

# Response size of the Matrix SRV answer, as the load sends it (EDNS 1232).
declare -A SRVSIZE SRVSECT
for s in "${SERVERS[@]}"; do
	p=$("$LOADGEN" -p "${PORT[$s]}" "${LG_DO[@]}" --probe "$SRV_QUERY")
	SRVSIZE[$s]=$(bl_kv "$p" size)
	SRVSECT[$s]="an=$(bl_kv "$p" ancount)/ns=$(bl_kv "$p" nscount)/ar=$(bl_kv "$p" arcount)"
done

CSV=$OUT/results.csv
echo "date,tool,server,phase,round,duration_s,qps,sent,answered,lost,wrong,p50_us,p99_us,p999_us,avg_resp_bytes,server_cpu_s,answers_per_cpu_s,client_cpu_s,loadavg" >"$CSV"
DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)

# run_one SERVER PHASE ROUND: one measured run, appended to the CSV.
run_one() {
	local s=$1 phase=$2 round=$3 port=${PORT[$1]} line la qps p50 p99 p999 sent ans lost wrong size
	local c0 c1 cpu per_cpu ccpu
	la=$(bl_loadavg)
	c0=$(bl_cpu_ticks "${PID[$s]}")
	if [[ $DNSPERF == 1 ]]; then
		local -a a=(-s 127.0.0.1 -p "$port" -d "$BL_WORK/queries.dnsperf" -l "$DURATION" -t 1 "${DP_DO[@]}")
		case $phase in
		udp) a+=(-c 1 -q "$WINDOW") ;;
		tcp) a+=(-m tcp -c "$CONNS" -q $((CONNS * PIPELINE))) ;;
		rate) a+=(-c 1 -q "$WINDOW" -Q "$RATE") ;;
		esac
		line=$(bl_client dnsperf "${a[@]}" 2>&1 || true)
		qps=$(awk '/Queries per second:/ {printf "%.0f", $4}' <<<"$line")
		sent=$(awk '/Queries sent:/ {print $3}' <<<"$line")
		ans=$(awk '/Queries completed:/ {print $3}' <<<"$line")
		lost=$(awk '/Queries lost:/ {print $3}' <<<"$line")
		p50=$(awk '/Average Latency/ {printf "%.1f", $4 * 1e6}' <<<"$line")
		p99="" p999="" wrong="" size="" ccpu=""
	else
		local -a a=(-p "$port" -q "$QUERIES" -d "$DURATION" -n 100000000 --quiet -l "$s" "${LG_DO[@]}")
		case $phase in
		udp) a+=(-w "$WINDOW") ;;
		tcp) a+=(--tcp -c "$CONNS" -k "$PIPELINE") ;;
		rate) a+=(-w "$WINDOW" -r "$RATE") ;;
		esac
		line=$(bl_client "$LOADGEN" "${a[@]}")
		qps=$(bl_kv "$line" qps) sent=$(bl_kv "$line" sent) ans=$(bl_kv "$line" answered)
		lost=$(bl_kv "$line" lost) wrong=$(bl_kv "$line" wrong) p50=$(bl_kv "$line" p50_us)
		p99=$(bl_kv "$line" p99_us) p999=$(bl_kv "$line" p999_us) size=$(bl_kv "$line" avg_resp_bytes)
		ccpu=$(bl_kv "$line" client_cpu_s)
	fi
	c1=$(bl_cpu_ticks "${PID[$s]}")
	# CPU the server used, and answers per CPU-second: unlike q/s this stays
	# meaningful when something else on the machine takes part of core 0.
	cpu=$("$PY" -c "print('%.2f' % (($c1 - $c0) / $BL_HZ))")
	per_cpu=$("$PY" -c "c = ($c1 - $c0) / $BL_HZ; print('%.0f' % (${ans:-0} / c) if c > 0 else '')")
	local tool=loadgen
	[[ $DNSPERF == 1 ]] && tool=dnsperf
	echo "$DATE,$tool,$s,$phase,$round,$DURATION,$qps,$sent,$ans,$lost,$wrong,$p50,$p99,$p999,$size,$cpu,$per_cpu,$ccpu,$la" >>"$CSV"
	printf '  %-5s %-4s round %d: %8s q/s  p50 %7s us  p99 %7s us  lost %s wrong %s  cpu %5s s (client %s)  %7s answers/cpu-s  (load %s)\n' \
		"$s" "$phase" "$round" "$qps" "$p50" "${p99:--}" "$lost" "${wrong:--}" "$cpu" "${ccpu:--}" "$per_cpu" "$la" >&2
}

total=$((3 * ROUNDS * ${#SERVERS[@]} * (DURATION + 1)))
bl_log "measuring ${SERVERS[*]}: 3 phases x $ROUNDS rounds x $DURATION s (about $((total / 60 + 1)) min)"
for phase in udp tcp rate; do
	for ((r = 1; r <= ROUNDS; r++)); do
		for s in "${SERVERS[@]}"; do
			kill -0 "${PID[$s]}" 2>/dev/null || { echo "$s (pid ${PID[$s]}) died; log:" >&2; cat "$BL_WORK/$s.log" >&2; exit 1; }
			run_one "$s" "$phase" "$r"
		done
	done
done

# Keep the servers' logs beside the results (warnings, drops).
for s in "${SERVERS[@]}"; do cp "$BL_WORK/$s.log" "$OUT/$s.log"; done
bl_stop_all

SIZES=()
for s in "${SERVERS[@]}"; do SIZES+=("$s=${SRVSIZE[$s]}:${SRVSECT[$s]}"); done
"$PY" - "$CSV" "$OUT/summary.csv" "$DNSPERF" "$RATE" "$WINDOW" "$CONNS" "$PIPELINE" "$SIGNED" "$DO" "${SIZES[@]}" <<'PYEOF'
import csv, statistics, sys
runs, summary_path, dnsperf, rate, window, conns, pipeline, signed, do = sys.argv[1:10]
sizes = dict(a.split("=", 1) for a in sys.argv[10:])
rows = list(csv.DictReader(open(runs)))
servers = list(dict.fromkeys(r["server"] for r in rows))
def col(s, phase, key):
    out = []
    for r in rows:
        if r["server"] == s and r["phase"] == phase and r[key] not in ("", None):
            out.append(float(r[key]))
    return out
def mmm(v):
    return (min(v), statistics.median(v), max(v)) if v else (0, 0, 0)
summ = {}
for s in servers:
    u, t = mmm(col(s, "udp", "qps")), mmm(col(s, "tcp", "qps"))
    p50 = statistics.median(col(s, "rate", "p50_us") or [0])
    p99 = statistics.median(col(s, "rate", "p99_us") or [0])
    lost = sum(col(s, "udp", "lost") + col(s, "tcp", "lost") + col(s, "rate", "lost"))
    wrong = sum(col(s, "udp", "wrong") + col(s, "tcp", "wrong") + col(s, "rate", "wrong"))
    size, sect = (sizes.get(s, ":").split(":") + [""])[:2]
    ucpu = statistics.median(col(s, "udp", "answers_per_cpu_s") or [0])
    tcpu = statistics.median(col(s, "tcp", "answers_per_cpu_s") or [0])
    busy = statistics.median([c / float(d) for c, d in zip(col(s, "udp", "server_cpu_s"), col(s, "udp", "duration_s"))] or [0])
    summ[s] = dict(server=s, udp_min=u[0], udp_median=u[1], udp_max=u[2], tcp_min=t[0],
                   tcp_median=t[1], tcp_max=t[2], rate_p50_us=p50, rate_p99_us=p99,
                   udp_per_cpu_s=round(ucpu), tcp_per_cpu_s=round(tcpu), udp_core_busy=round(busy, 2),
                   srv_answer_bytes=size, srv_sections=sect, lost=int(lost), wrong=int(wrong))
with open(summary_path, "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(next(iter(summ.values())).keys()))
    w.writeheader()
    for s in servers:
        w.writerow(summ[s])
names = {"srvd": "srvd", "knot": "Knot", "nsd": "NSD"}
tool = "dnsperf" if dnsperf == "1" else "loadgen"
print()
print("%s, %s rounds; UDP window %s, TCP %s conns x %s in flight, latency at %s q/s; %s zone, DO=%s" %
      (tool, len(col(servers[0], "udp", "qps")), window, conns, pipeline, rate,
       "signed (NSEC3)" if signed == "1" else "unsigned", do))
print("%-6s %24s %24s %16s %17s %5s %9s %10s" % ("server", "UDP q/s min/median/max", "TCP q/s min/median/max",
      "p50/p99 us @rate", "per CPU-s UDP/TCP", "busy", "SRV bytes", "lost/wrong"))
for s in servers:
    m = summ[s]
    p99 = "%.0f" % m["rate_p99_us"] if tool == "loadgen" else "-"
    print("%-6s %24s %24s %16s %17s %5.2f %9s %10s" % (names[s],
          "%.0f/%.0f/%.0f" % (m["udp_min"], m["udp_median"], m["udp_max"]),
          "%.0f/%.0f/%.0f" % (m["tcp_min"], m["tcp_median"], m["tcp_max"]),
          "%.0f/%s" % (m["rate_p50_us"], p99), "%d/%d" % (m["udp_per_cpu_s"], m["tcp_per_cpu_s"]),
          m["udp_core_busy"], m["srv_answer_bytes"],
          "%d/%s" % (m["lost"], m["wrong"] if tool == "loadgen" else "-")))
print("per CPU-s: answers per second of server CPU time (user+system, all threads and processes);"
      " busy: the server's CPU seconds per second in the UDP runs (1.00 = core 0 saturated).")
print("SRV answer sections (answer/authority/additional): " +
      ", ".join("%s %s" % (names[s], summ[s]["srv_sections"]) for s in servers))
if "nsd" in summ:
    print("NSD adds the apex NS RRset and its glue to answers (minimal-responses is off by default), "
          "so its answers are larger.")
if "srvd" in summ:
    for other in ("knot", "nsd"):
        if other in summ:
            a, b = summ["srvd"], summ[other]
            def ratio(x, y):
                return "%.2f" % (x / y) if y else "n/a"
            print("srvd/%-4s  UDP q/s x%s  TCP q/s x%s  per CPU-s UDP x%s TCP x%s  p50 x%s  p99 x%s"
                  " (latency: lower is better)" % (
                names[other], ratio(a["udp_median"], b["udp_median"]), ratio(a["tcp_median"], b["tcp_median"]),
                ratio(a["udp_per_cpu_s"], b["udp_per_cpu_s"]), ratio(a["tcp_per_cpu_s"], b["tcp_per_cpu_s"]),
                ratio(a["rate_p50_us"], b["rate_p50_us"]), ratio(a["rate_p99_us"], b["rate_p99_us"])))
if tool == "dnsperf":
    best = max(max(col(s, "udp", "qps") or [0]) for s in servers)
    print("Note: dnsperf, one client thread on one core, tops out around 130-155k q/s on this 2-core "
          "machine (best in this run: %.0f q/s), below what these servers answer (loadgen drives srvd "
          "past 240k q/s), so these figures partly measure dnsperf. Its latency is an average, shown "
          "in the p50 column. bench/loadgen is the reference." % best)
PYEOF

# Chart: queries per second (median, min-max bars) per server and transport,
# and latency at the fixed rate.
if command -v gnuplot >/dev/null; then
	"$PY" - "$OUT/summary.csv" >"$BL_WORK/chart.dat" <<-'PYEOF'
		import csv, sys
		for r in csv.DictReader(open(sys.argv[1])):
		    print(r["server"], *(r[k] for k in ("udp_median", "udp_min", "udp_max", "tcp_median",
		          "tcp_min", "tcp_max", "rate_p50_us", "rate_p99_us", "udp_per_cpu_s", "tcp_per_cpu_s")))
	PYEOF
	gnuplot <<-EOF
		set terminal pngcairo size 1500,480 font "sans,10"
		set output "$OUT/results.png"
		set multiplot layout 1,3 title "srvd vs Knot vs NSD, one worker each on core 0, client on core 1, $([[ $SIGNED == 1 ]] && echo "signed zone" || echo "unsigned zone"), DO=$DO ($DATE)"
		set style data histograms
		set style histogram errorbars gap 1 lw 1
		set style fill solid 0.6 border -1
		set grid ytics
		set yrange [0:*]
		set ylabel "answers per second (median, min-max)"
		set title "Throughput"
		plot "$BL_WORK/chart.dat" using 2:3:4:xtic(1) title "UDP", "" using 5:6:7 title "TCP"
		set style histogram clustered gap 1
		set ylabel "answers per CPU-second of the server (median)"
		set title "Efficiency"
		plot "$BL_WORK/chart.dat" using 10:xtic(1) title "UDP", "" using 11 title "TCP"
		set ylabel "microseconds"
		set title "Latency at $RATE q/s (UDP)"
		plot "$BL_WORK/chart.dat" using 8:xtic(1) title "p50", "" using 9 title "p99"
		unset multiplot
	EOF
	bl_log "chart: $OUT/results.png"
else
	bl_log "no gnuplot: no chart (apt-get install gnuplot-nox)"
fi
bl_log "runs: $CSV, summary: $OUT/summary.csv"
