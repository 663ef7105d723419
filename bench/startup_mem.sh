#!/usr/bin/env bash
# bench/startup_mem.sh: start-up time and memory of srvd, knotd and nsd on
# a large zone (1,000,000 records by default).
#
#   bench/startup_mem.sh [--records N] [--rounds N] [--servers "srvd srvd-snap knot nsd"]
#                        [--timeout S] [--nice N] [--no-build] [--signed]
#
# For each server in turn (never two at once), --rounds times: start it
# pinned to core 0 with the same configuration as side_by_side.sh, and poll
# from core 1 with single UDP queries (about one per millisecond) for the
# Matrix SRV name until an authoritative NOERROR answer comes back. Start-up
# time is from just before the exec to that answer. Then, with the zone
# served, memory is summed over the server's whole process tree (NSD forks a
# server and an xfrd process): RSS (counts pages shared after fork once per
# process), PSS (shares them out: the fair sum) and the sum of peak RSS
# (VmHWM). The table shows medians; bench/out/startup_mem.csv has every run.
# srvd-snap is srvd with a `state-dir` (as the shipped config has), where it
# keeps compiled snapshots: it is started once, unmeasured, to write the
# compiled zone, then measured starting from that snapshot.
# --nice N runs server and client at that nice level (see side_by_side.sh).
# --signed serves the zone signed with ldns-signzone -n (NSEC3, 0 iterations;
# signed once and cached under the build folder, see bl_sign in
# bench_lib.sh; needs ldnsutils). Bytes per record is the PSS divided by
# the records of the zone file served (with --signed: RRSIGs, NSEC3s,
# NSEC3PARAM and DNSKEY included).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench_lib.sh
source "$HERE/bench_lib.sh"

RECORDS=1000000
ROUNDS=3
SERVERS="srvd srvd-snap knot nsd"
TIMEOUT=600
BUILD=1
SIGNED=0
OUT=${OUT:-$HERE/out}

while [[ $# -gt 0 ]]; do
	case $1 in
	--records) RECORDS=$2; shift 2 ;;
	--rounds) ROUNDS=$2; shift 2 ;;
	--servers) SERVERS=$2; shift 2 ;;
	--timeout) TIMEOUT=$2; shift 2 ;;
	--nice) BL_NICE=$2; shift 2 ;;
	--no-build) BUILD=0; shift ;;
	--signed) SIGNED=1; shift ;;
	-h | --help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
	esac
done
[[ $ROUNDS -ge 1 && $ROUNDS -le 20 ]] || { echo "--rounds must be 1..20" >&2; exit 2; }

bl_workdir
trap 'bl_stop_all; rm -rf "$BL_WORK"' EXIT
trap 'exit 130' INT TERM
bl_outdir "$OUT"
[[ $BUILD == 1 ]] && bl_build
bl_describe
read -r -a SERVERS <<<"$SERVERS"
read -r -a SERVERS <<<"$(bl_available "${SERVERS[@]}")"
[[ ${#SERVERS[@]} -ge 1 ]] || { echo "no server to measure" >&2; exit 1; }

ZONE=$BL_WORK/bench-large.zone
bl_log "generating a zone of about $RECORDS records"
bl_gen "$ZONE" "" --records "$RECORDS"
unsigned=$(grep -vc '^[;$]' "$ZONE")
if [[ $SIGNED == 1 ]]; then
	bl_sign "$ZONE"
	rm -f "$ZONE"
	ZONE=$BL_SIGNED
fi
nrec=$(grep -vc '^[;$]' "$ZONE")
bl_log "zone: $nrec records ($unsigned before signing), $(du -m "$ZONE" | cut -f1) MB"

CSV=$OUT/startup_mem.csv
DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
echo "date,server,records,unsigned_records,signed,round,startup_s,rss_kib,pss_kib,hwm_kib,procs" >"$CSV"

# start_ready SERVER: start it and wait for its first authoritative answer.
# Sets pid, t0 and line; returns 1 (after logging) if it never answers.
start_ready() {
	local s=$1
	port=$(bl_free_port 45350)
	read -r -a cmd <<<"$(bl_config "$s" "$port" "$ZONE")"
	# Every server reads the same, already cached, file: no cold-cache start.
	cat "$ZONE" >/dev/null
	bl_start "$s" 0 "${cmd[@]}"
	pid=$BL_LAST_PID t0=$BL_LAST_START
	if ! line=$(bl_client "$LOADGEN" -p "$port" --wait-ready "$TIMEOUT" --probe "$SRV_QUERY"); then
		bl_log "$s gave no authoritative answer within $TIMEOUT s; its log:"
		tail -20 "$BL_WORK/$s.log" >&2
		bl_stop "$pid"
		return 1
	fi
}

declare -A FAILED
for s in "${SERVERS[@]}"; do
	[[ $s == srvd-snap ]] || continue
	bl_log "srvd-snap: a first, unmeasured start writes the snapshot"
	if start_ready srvd-snap; then
		sleep 2
		bl_stop "$pid"
		ls "$BL_WORK/srvd-snap/snap/"* >/dev/null 2>&1 || bl_log "srvd-snap: no snapshot was written"
	else
		FAILED[srvd-snap]=1
	fi
done

for ((r = 1; r <= ROUNDS; r++)); do
	for s in "${SERVERS[@]}"; do
		[[ -z ${FAILED[$s]:-} ]] || continue
		if ! start_ready "$s"; then
			FAILED[$s]=1
			continue
		fi
		ready_ns=$(bl_kv "$line" ready_realtime_ns)
		startup=$("$PY" -c "print('%.3f' % ($ready_ns / 1e9 - $t0))")
		sleep 1 # let deferred work (Knot's zone load worker, NSD's fork) settle
		read -r rss pss n <<<"$(bl_mem "$pid")"
		hwm=0
		for p in $(bl_tree "$pid"); do
			v=$(awk '/^VmHWM:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
			hwm=$((hwm + ${v:-0}))
		done
		echo "$DATE,$s,$nrec,$unsigned,$SIGNED,$r,$startup,$rss,$pss,$hwm,$n" >>"$CSV"
		printf '  %-9s round %d: first answer after %7s s, RSS %6d MiB, PSS %6d MiB, peak %6d MiB, %d process(es)\n' \
			"$s" "$r" "$startup" $((rss / 1024)) $((pss / 1024)) $((hwm / 1024)) "$n" >&2
		cp "$BL_WORK/$s.log" "$OUT/startup_$s.log"
		bl_stop "$pid"
	done
done
:

"$PY" - "$CSV" <<'PYEOF'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
if not rows:
    sys.exit("no server answered")
names = {"srvd": "srvd", "srvd-snap": "srvd+snap", "knot": "Knot", "nsd": "NSD"}
servers = list(dict.fromkeys(r["server"] for r in rows))
print()
nrec = int(rows[0]["records"])
print("zone of %d records (%s before signing)%s, median of %d rounds" % (
    nrec, rows[0]["unsigned_records"], ", signed with NSEC3" if rows[0]["signed"] == "1" else "",
    len(rows) // len(servers)))
print("%-9s %12s %10s %10s %12s %6s %12s" % ("server", "startup s", "RSS MiB", "PSS MiB", "peak MiB",
                                             "procs", "B/record"))
med = {}
for s in servers:
    rs = [r for r in rows if r["server"] == s]
    m = {k: statistics.median(float(r[k]) for r in rs) for k in ("startup_s", "rss_kib", "pss_kib", "hwm_kib", "procs")}
    med[s] = m
    print("%-9s %12.3f %10.0f %10.0f %12.0f %6.0f %12.0f" % (names[s], m["startup_s"], m["rss_kib"] / 1024,
          m["pss_kib"] / 1024, m["hwm_kib"] / 1024, m["procs"], m["pss_kib"] * 1024 / nrec))
for mine in ("srvd", "srvd-snap"):
    if mine not in med:
        continue
    for o in ("knot", "nsd"):
        if o in med:
            a, b = med[mine], med[o]
            print("%s/%-4s start-up x%.2f, PSS x%.2f (lower is better)" % (
                names[mine], names[o], a["startup_s"] / b["startup_s"], a["pss_kib"] / b["pss_kib"]))
print("RSS counts memory that NSD's forked processes share once per process; PSS is the fair sum.")
print("B/record: PSS bytes per record of the zone file served (the whole process, not the zone alone).")
PYEOF
bl_log "runs: $CSV"
