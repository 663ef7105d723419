#!/usr/bin/env bash
# bench/callgrind_servers.sh: user-space instructions per query for srvd,
# knotd and nsd, counted by valgrind's callgrind.
#
#   bench/callgrind_servers.sh [--queries N] [--seconds S] [--servers "srvd knot nsd"]
#                              [--hosts N] [--no-build] [--signed] [--do]
#
# Each server runs under `valgrind --tool=callgrind` (NSD with
# --trace-children=yes; its forked server process gets its own profile) on
# the side-by-side zone. Once it answers, the counters of every process in
# its tree are zeroed (callgrind_control -z), it sits idle for S seconds and
# is dumped (callgrind_control -d), then it answers N queries at the fixed
# rate N/S (the side-by-side query mix, UDP) over the same S seconds and is
# dumped again. Instructions per query = (loaded - idle) / answered, summed
# over all processes and threads: timers and housekeeping cancel out, the
# kernel's share (syscalls, the network stack) is not counted.
#
# Writes bench/out/callgrind_servers.csv and keeps the loaded profiles in
# bench/out/callgrind/ (callgrind_annotate FILE shows where the cost goes).
# --signed and --do as in side_by_side.sh: the zone signed with NSEC3, the
# DO bit in every query.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench_lib.sh
source "$HERE/bench_lib.sh"

QUERIES=20000
SECONDS_=10
SERVERS="srvd knot nsd"
HOSTS=10000
BUILD=1
SIGNED=0
LG_DO=()
OUT=${OUT:-$HERE/out}

while [[ $# -gt 0 ]]; do
	case $1 in
	--queries) QUERIES=$2; shift 2 ;;
	--seconds) SECONDS_=$2; shift 2 ;;
	--servers) SERVERS=$2; shift 2 ;;
	--hosts) HOSTS=$2; shift 2 ;;
	--no-build) BUILD=0; shift ;;
	--signed) SIGNED=1; shift ;;
	--do) LG_DO=(--do); shift ;;
	-h | --help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
	esac
done
[[ $QUERIES -ge 100 && $QUERIES -le 10000000 ]] || { echo "--queries must be 100..10000000" >&2; exit 2; }
[[ $SECONDS_ -ge 1 && $SECONDS_ -le 600 ]] || { echo "--seconds must be 1..600" >&2; exit 2; }
for t in valgrind callgrind_control; do
	command -v $t >/dev/null || { echo "$t is missing: apt-get install valgrind" >&2; exit 1; }
done
RATE=$((QUERIES / SECONDS_))

bl_workdir
trap 'bl_stop_all; rm -rf "$BL_WORK"' EXIT
trap 'exit 130' INT TERM
bl_outdir "$OUT"
mkdir -p "$OUT/callgrind"
[[ $BUILD == 1 ]] && bl_build
bl_describe
read -r -a SERVERS <<<"$SERVERS"
read -r -a SERVERS <<<"$(bl_available "${SERVERS[@]}")"
[[ ${#SERVERS[@]} -ge 1 ]] || { echo "no server to measure" >&2; exit 1; }

ZONE=$BL_WORK/bench.zone
QFILE=$BL_WORK/queries.txt
bl_gen "$ZONE" "$QFILE" --hosts "$HOSTS"
if [[ $SIGNED == 1 ]]; then
	bl_sign "$ZONE"
	ZONE=$BL_SIGNED
fi
bl_log "zone $(basename "$ZONE"), queries ${LG_DO[*]:-without DO}"

CSV=$OUT/callgrind_servers.csv
DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
echo "date,server,seconds,queries_sent,answered,ir_idle,ir_loaded,ir_per_query,processes" >"$CSV"

# Sum of the `summary:` (total Ir) lines of the dump files for one part.
sum_part() {
	local dir=$1 part=$2 f total=0 v
	for f in "$dir"/cg.*."$part"; do
		[[ -f $f ]] || continue
		v=$(awk '/^summary:/ {print $2; exit}' "$f")
		total=$((total + ${v:-0}))
	done
	echo "$total"
}

# callgrind_control CMD on every process of the tree (vgdb reaches a process
# even while it blocks in a system call).
cg_all() {
	local what=$1 pid=$2 p
	for p in $(bl_tree "$pid"); do
		callgrind_control "$what" "$p" >/dev/null 2>&1 || bl_log "callgrind_control $what $p failed"
	done
}

for s in "${SERVERS[@]}"; do
	port=$(bl_free_port 45370)
	read -r -a cmd <<<"$(bl_config "$s" "$port" "$ZONE")"
	d=$BL_WORK/cg-$s
	mkdir -p "$d"
	vg=(valgrind --tool=callgrind --callgrind-out-file="$d/cg.%p" --dump-instr=no)
	[[ $s == nsd ]] && vg+=(--trace-children=yes)
	bl_log "$s under callgrind on port $port"
	bl_start "$s" 0 "${vg[@]}" "${cmd[@]}"
	pid=$BL_LAST_PID
	if ! bl_client "$LOADGEN" -p "$port" --wait-ready 600 --probe "$SRV_QUERY" >/dev/null; then
		echo "$s never answered under callgrind; log:" >&2
		tail -20 "$BL_WORK/$s.log" >&2
		exit 1
	fi
	sleep 2 # let forks (NSD) and the zone load worker (Knot) settle
	nproc_tree=$(bl_tree "$pid" | wc -l)
	cg_all -z "$pid"
	sleep "$SECONDS_"
	cg_all -d "$pid" # part 1: idle
	line=$(bl_client "$LOADGEN" -p "$port" -q "$QFILE" -r "$RATE" -n "$QUERIES" -d "$SECONDS_" "${LG_DO[@]}" \
		-T 2000 --quiet -l "$s")
	cg_all -d "$pid" # part 2: loaded
	answered=$(bl_kv "$line" answered) sent=$(bl_kv "$line" sent)
	idle=$(sum_part "$d" 1) loaded=$(sum_part "$d" 2)
	bl_stop "$pid"
	per=$("$PY" -c "print('%.0f' % (($loaded - $idle) / max($answered, 1)))")
	echo "$DATE,$s,$SECONDS_,$sent,$answered,$idle,$loaded,$per,$nproc_tree" >>"$CSV"
	printf '  %-5s idle %s Ir, loaded %s Ir, %s/%s answered: %s instructions per query\n' \
		"$s" "$idle" "$loaded" "$answered" "$sent" "$per" >&2
	rm -f "$OUT/callgrind/$s".*
	for f in "$d"/cg.*.2; do
		[[ -f $f ]] && cp "$f" "$OUT/callgrind/$s.$(basename "$f")"
	done
done

"$PY" - "$CSV" <<'PYEOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
names = {"srvd": "srvd", "knot": "Knot", "nsd": "NSD"}
print()
print("user-space instructions per query (callgrind, %s s idle vs %s s loaded)" % (rows[0]["seconds"], rows[0]["seconds"]))
print("%-6s %10s %14s %14s %10s" % ("server", "answered", "Ir idle", "Ir loaded", "Ir/query"))
per = {}
for r in rows:
    per[r["server"]] = float(r["ir_per_query"])
    print("%-6s %10s %14s %14s %10s" % (names[r["server"]], r["answered"], r["ir_idle"], r["ir_loaded"], r["ir_per_query"]))
if "srvd" in per:
    for o in ("knot", "nsd"):
        if o in per and per[o]:
            print("srvd/%-4s x%.2f (lower is better)" % (names[o], per["srvd"] / per[o]))
PYEOF
bl_log "runs: $CSV; profiles: $OUT/callgrind/"
