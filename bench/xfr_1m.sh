#!/usr/bin/env bash
# bench/xfr_1m.sh: secondary-mode figures against a knotd primary.
#
#   bench/xfr_1m.sh [--records N] [--small N] [--servers "srvd knot"] [--no-build]
#
# 1. Full transfer: a knotd primary serves bench.test with N records
#    (1,000,000 by default). Each secondary (srvd, then knotd) starts empty
#    and is timed from its start to its first authoritative answer with the
#    primary's serial: **xfr_s** (the AXFR, building the version, serving).
#    srvd's log line "serving serial" gives its own count of messages and
#    bytes.
# 2. Incremental: with --small records (100,000 by default) on the primary
#    and srvd as its secondary, one record changes (knotc zone-reload; Knot
#    keeps the difference and sends NOTIFY). srvd's log gives the bytes of the
#    AXFR it started with and of the IXFR that brought the change, and the
#    time from the NOTIFY to serving the new serial (**notify_ms**); the
#    script also times the reload request to the new serial (**reload_ms**).
# Figures are reported, never asserted. Results: bench/out/xfr_1m.csv.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench_lib.sh
source "$HERE/bench_lib.sh"

RECORDS=1000000
SMALL=100000
SERVERS="srvd knot"
BUILD=1
OUT=${OUT:-$HERE/out}

while [[ $# -gt 0 ]]; do
	case $1 in
	--records) RECORDS=$2; shift 2 ;;
	--small) SMALL=$2; shift 2 ;;
	--servers) SERVERS=$2; shift 2 ;;
	--no-build) BUILD=0; shift ;;
	*) echo "usage: $0 [--records N] [--small N] [--servers LIST] [--no-build]" >&2; exit 2 ;;
	esac
done

bl_workdir
trap bl_stop_all EXIT
[[ $BUILD == 1 ]] && bl_build

serial_of() { # serial_of PORT -> the SOA serial, authoritative answers only
	dig +norec +time=1 +tries=1 -p "$1" @127.0.0.1 "$ORIGIN" SOA 2>/dev/null |
		awk '/flags:.* aa/ {aa=1} aa && $4 == "SOA" {print $7; exit}'
}

wait_serial() { # wait_serial PORT SERIAL SECONDS
	local end=$((SECONDS + $3))
	while [[ $SECONDS -lt $end ]]; do
		[[ $(serial_of "$1") == "$2" ]] && return 0
		sleep 0.02
	done
	return 1
}

primary() { # primary DIR PORT NOTIFY_PORT ZONEFILE
	local d=$1
	mkdir -p "$d"
	cat >"$d/knot.conf" <<-EOF
		server:
		    rundir: $d
		    listen: 127.0.0.1@$2
		    background-workers: 1
		database:
		    storage: $d
		log:
		  - target: $d/knot.log
		    any: info
		remote:
		  - id: secondary
		    address: 127.0.0.1@$3
		acl:
		  - id: xfr
		    address: 127.0.0.1
		    action: transfer
		zone:
		  - domain: $ORIGIN
		    file: $4
		    notify: secondary
		    acl: xfr
		    zonefile-sync: -1
		    zonefile-load: difference
		    journal-content: changes
	EOF
	bl_start "primary-$(basename "$d")" "" knotd -c "$d/knot.conf"
}

secondary_conf() { # secondary_conf SERVER PORT PRIMARY_PORT [TAG] -> the command line
	local d=$BL_WORK/sec-$1${4:-}
	mkdir -p "$d"
	case $1 in
	srvd)
		cat >"$d/srvd.conf" <<-EOF
			server:
			  listen: [127.0.0.1@$2]
			  workers: 1
			  log-level: info
			  xfr-timeout: 600
			zones:
			  - name: $ORIGIN
			    file: $d/$ORIGIN.zone
			    primaries: [127.0.0.1@$3]
		EOF
		echo "$SRVD_BIN -c $d/srvd.conf"
		;;
	knot)
		cat >"$d/knot.conf" <<-EOF
			server:
			    rundir: $d
			    listen: 127.0.0.1@$2
			    background-workers: 1
			database:
			    storage: $d
			log:
			  - target: $d/knot.log
			    any: info
			remote:
			  - id: primary
			    address: 127.0.0.1@$3
			acl:
			  - id: notify
			    address: 127.0.0.1
			    action: notify
			zone:
			  - domain: $ORIGIN
			    file: $d/$ORIGIN.zone
			    master: primary
			    acl: notify
			    zonefile-sync: -1
			    journal-content: none
		EOF
		echo "knotd -c $d/knot.conf"
		;;
	esac
}

mkdir -p "$OUT"
CSV=$OUT/xfr_1m.csv
echo "test,server,records,xfr_s,axfr_bytes,ixfr_bytes,notify_ms,reload_ms" >"$CSV"

# ---- 1: full transfer of N records ---------------------------------------------------
bl_log "generating $RECORDS records"
bl_gen "$BL_WORK/big.zone" "" --records "$RECORDS"
SERIAL=$(awk '/ SOA / {print $6; exit}' "$BL_WORK/big.zone")
PPORT=$(bl_free_port 46001)
SPORT=$(bl_free_port 46101)
primary "$BL_WORK/pbig" "$PPORT" "$SPORT" "$BL_WORK/big.zone"
wait_serial "$PPORT" "$SERIAL" 600 || { bl_log "primary did not load"; exit 1; }
for s in $SERVERS; do
	[[ -n $(bl_available "$s") ]] || continue
	cmd=$(secondary_conf "$s" "$SPORT" "$PPORT")
	bl_log "$s: transferring $RECORDS records"
	bl_start "sec-$s" "" $cmd
	pid=$BL_LAST_PID
	t0=$EPOCHREALTIME
	if wait_serial "$SPORT" "$SERIAL" 900; then
		t=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.2f", b - a}')
		bytes=""
		[[ $s == srvd ]] && bytes=$(grep -o 'AXFR, [0-9]* messages, [0-9]* bytes' "$BL_WORK/sec-$s.log" | awk '{print $4; exit}' || true)
		bl_log "$s: serving after $t s ${bytes:+($bytes bytes)}"
		echo "full,$s,$RECORDS,$t,$bytes,,," >>"$CSV"
	else
		bl_log "$s: did not serve serial $SERIAL"
	fi
	bl_stop "$pid"
done
bl_stop_all

# ---- 2: one record changes in a zone of --small records --------------------------------
bl_log "generating $SMALL records"
bl_gen "$BL_WORK/small.zone" "" --records "$SMALL"
PPORT=$(bl_free_port 46201)
SPORT=$(bl_free_port 46301)
primary "$BL_WORK/psmall" "$PPORT" "$SPORT" "$BL_WORK/small.zone"
wait_serial "$PPORT" "$SERIAL" 300 || { bl_log "primary did not load"; exit 1; }
cmd=$(secondary_conf srvd "$SPORT" "$PPORT" -small)
bl_start "sec-small" "" $cmd
wait_serial "$SPORT" "$SERIAL" 300 || { bl_log "srvd did not transfer"; exit 1; }
NEXT=$((SERIAL + 1))
sed -e "0,/$SERIAL/s//$NEXT/" -e 's/^host1 \(.*\) A .*/host1 \1 A 203.0.113.77/' \
	"$BL_WORK/small.zone" >"$BL_WORK/small.zone.new"
mv "$BL_WORK/small.zone.new" "$BL_WORK/small.zone"
t0=$EPOCHREALTIME
knotc -c "$BL_WORK/psmall/knot.conf" zone-reload "$ORIGIN" >/dev/null
wait_serial "$SPORT" "$NEXT" 60 || { bl_log "srvd did not get serial $NEXT"; exit 1; }
reload_ms=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.0f", (b - a) * 1000}')
log=$BL_WORK/sec-small.log
axfr=$(grep -o 'AXFR, [0-9]* messages, [0-9]* bytes' "$log" | awk '{print $4; exit}' || true)
ixfr=$(grep -o 'IXFR, incremental, [0-9]* messages, [0-9]* bytes' "$log" | awk '{v = $5} END {print v}' || true)
notify=$(grep -o '[0-9]* ms after the NOTIFY' "$log" | awk '{v = $1} END {print v}' || true)
bl_log "srvd, $SMALL records, one changed: AXFR $axfr bytes, IXFR $ixfr bytes, NOTIFY to serving $notify ms, reload request to serving $reload_ms ms"
echo "one-change,srvd,$SMALL,,$axfr,$ixfr,$notify,$reload_ms" >>"$CSV"
cat "$CSV"
