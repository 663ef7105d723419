# shellcheck shell=bash
# bench/bench_lib.sh: what side_by_side.sh, startup_mem.sh and
# callgrind_servers.sh share: building srvd and loadgen, free loopback ports,
# the bench zone, one config per server (srvd, knotd, nsd), starting a server
# on a given core, waiting for its first authoritative answer, memory of a
# process tree, and stopping by PID everything that was started.
#
# Sourced, not run. Expects `set -euo pipefail` in the caller. Every process
# it starts is recorded in BL_PIDS and stopped by bl_stop_all (the callers
# trap EXIT on it); nothing is ever stopped by name.

BL_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BL_ROOT=$(dirname "$BL_HERE")
BL_BUILD=${BL_BUILD:-$BL_ROOT/build/release}
SRVD_BIN=${SRVD_BIN:-$BL_BUILD/src/bin/srvd}
LOADGEN=${LOADGEN:-$BL_BUILD/bench/loadgen}
PY=/usr/bin/python3
ORIGIN=bench.test
SRV_QUERY="_matrix-fed._tcp.$ORIGIN SRV NOERROR"
BL_PIDS=()
BL_WORK=""
BL_NICE=0 # --nice: run the servers and the client at this nice level

bl_log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# Build (or bring up to date) the release binaries we measure with. srvd is
# optional until the daemon exists: a run then compares knotd and nsd only.
bl_build() {
	if [[ ! -f $BL_BUILD/CMakeCache.txt ]]; then
		bl_log "configuring the release preset"
		(cd "$BL_ROOT" && cmake --preset release >/dev/null)
	fi
	bl_log "building loadgen and srvd (release)"
	cmake --build "$BL_BUILD" -j2 --target loadgen >/dev/null
	if ! cmake --build "$BL_BUILD" -j2 --target srvd >"$BL_WORK/build-srvd.log" 2>&1; then
		bl_log "srvd did not build (see $BL_WORK/build-srvd.log); measuring without it"
	fi
	[[ -x $LOADGEN ]] || { echo "loadgen missing: $LOADGEN" >&2; exit 1; }
}

# Which srvd is measured: the binary and the tree it was built from.
bl_describe() {
	local rev
	rev=$(git -C "$BL_ROOT" describe --always --dirty 2>/dev/null || echo unknown)
	bl_log "srvd: $SRVD_BIN (source tree at $rev; SRVD_BIN= overrides)"
	bl_log "knotd $(knotd -V 2>/dev/null | awk '{print $NF}'), nsd $(nsd -v 2>&1 | awk 'NR==1 {print $NF}'), load average $(bl_loadavg)"
}

# Servers that can run here, from the list asked for.
bl_available() {
	local s out=()
	for s in "$@"; do
		case $s in
		srvd | srvd-snap) if [[ -x $SRVD_BIN ]]; then out+=("$s"); else bl_log "no srvd binary at $SRVD_BIN: $s skipped"; fi ;;
		knot) if command -v knotd >/dev/null; then out+=(knot); else bl_log "knotd not installed (apt-get install knot): skipped"; fi ;;
		nsd) if command -v nsd >/dev/null; then out+=(nsd); else bl_log "nsd not installed (apt-get install nsd): skipped"; fi ;;
		*) echo "unknown server: $s" >&2; exit 2 ;;
		esac
	done
	echo "${out[@]}"
}

bl_workdir() {
	BL_WORK=$(mktemp -d "${TMPDIR:-/tmp}/srvd-bench.XXXXXX")
}

# bl_outdir DIR: where results go; it ignores itself in git (results are
# quoted in bench/README.md, not committed).
bl_outdir() {
	mkdir -p "$1"
	[[ -f $1/.gitignore ]] || printf '*\n' >"$1/.gitignore"
}

# First port >= $1 that nothing listens on (UDP or TCP) and that we have not
# handed out yet.
BL_USED_PORTS=" "
bl_free_port() {
	local p=$1 busy
	busy=$(ss -Hlnut 2>/dev/null | awk '{print $5}' | sed 's/.*://' | sort -u | tr '\n' ' ')
	while [[ " $busy " == *" $p "* || $BL_USED_PORTS == *" $p "* ]]; do
		p=$((p + 1))
	done
	BL_USED_PORTS+="$p "
	echo "$p"
}

# bl_gen ZONEFILE QUERYFILE [generator options...]
bl_gen() {
	local zone=$1 queries=$2
	shift 2
	"$PY" "$BL_HERE/gen_bench_zone.py" zone --origin "$ORIGIN" "$@" -o "$zone"
	if [[ -n $queries ]]; then
		"$PY" "$BL_HERE/gen_bench_zone.py" queries --origin "$ORIGIN" "$@" --count 100000 -o "$queries"
	fi
}

# bl_config SERVER PORT ZONEFILE: write the server's config under
# $BL_WORK/SERVER/ and print the command line that runs it in the foreground.
bl_config() {
	local s=$1 port=$2 zone=$3 d=$BL_WORK/$1
	mkdir -p "$d"
	case $s in
	srvd | srvd-snap)
		# srvd-snap: the same with a state-dir, as the shipped
		# /etc/srvd/srvd.yaml has: compiled zone snapshots kept there by
		# default, for start-up after the first run.
		local snap=""
		[[ $s == srvd-snap ]] && snap="state-dir: $d/snap" && mkdir -p "$d/snap"
		cat >"$d/srvd.conf" <<-EOF
			server:
			  listen: [127.0.0.1@$port]
			  workers: 1
			  log-level: warning
			  $snap
			zones:
			  - name: $ORIGIN
			    file: $zone
		EOF
		echo "$SRVD_BIN -c $d/srvd.conf"
		;;
	knot)
		# One UDP and one TCP worker, one background worker. Knot 3.2 reads
		# the socket buffers from the system defaults (net.core.rmem_default);
		# the bench keeps the client's window at 200 queries instead of
		# changing the system.
		cat >"$d/knot.conf" <<-EOF
			server:
			    rundir: $d
			    pidfile: $d/knot.pid
			    listen: 127.0.0.1@$port
			    udp-workers: 1
			    tcp-workers: 1
			    background-workers: 1
			database:
			    storage: $d
			log:
			  - target: stderr
			    any: warning
			zone:
			  - domain: $ORIGIN
			    file: $zone
			    journal-content: none
			    zonefile-sync: -1
			    zonefile-load: whole
		EOF
		echo "knotd -c $d/knot.conf"
		;;
	nsd)
		# Debian's NSD rate-limits a single source unless rrl-ratelimit is 0.
		# database "" serves straight from the zone file (no nsd.db).
		cat >"$d/nsd.conf" <<-EOF
			server:
			    ip-address: 127.0.0.1@$port
			    server-count: 1
			    username: ""
			    chroot: ""
			    database: ""
			    zonesdir: $d
			    pidfile: $d/nsd.pid
			    xfrdfile: $d/xfrd.state
			    xfrdir: $d
			    zonelistfile: $d/zone.list
			    logfile: $d/nsd.log
			    rrl-ratelimit: 0
			    verbosity: 0
			remote-control:
			    control-enable: no
			zone:
			    name: $ORIGIN
			    zonefile: $zone
		EOF
		echo "nsd -d -c $d/nsd.conf"
		;;
	esac
}

# bl_start NAME CORE CMD...: start CMD pinned to CORE ("" for no pinning),
# output to $BL_WORK/NAME.log. Sets BL_LAST_PID. $EPOCHREALTIME just before
# the start goes to BL_LAST_START (startup timing).
bl_start() {
	local name=$1 core=$2
	shift 2
	local -a cmd=("$@")
	[[ -n $core ]] && cmd=(taskset -c "$core" "${cmd[@]}")
	[[ ${BL_NICE:-0} != 0 ]] && cmd=(nice -n "$BL_NICE" "${cmd[@]}")
	BL_LAST_START=$EPOCHREALTIME
	"${cmd[@]}" >"$BL_WORK/$name.log" 2>&1 &
	BL_LAST_PID=$!
	BL_PIDS+=("$BL_LAST_PID")
}

# bl_wait_ready PORT SECONDS: poll single UDP queries until the Matrix SRV
# gets an authoritative answer. Prints loadgen's ready line.
bl_wait_ready() {
	"$LOADGEN" -p "$1" --wait-ready "$2" --probe "$SRV_QUERY"
}

# The PID and all its descendants (NSD forks a server and an xfrd process).
bl_tree() {
	local p=$1 c
	echo "$p"
	for c in $(pgrep -P "$p" 2>/dev/null || true); do
		bl_tree "$c"
	done
}

# bl_mem PID: "rss_kib pss_kib nprocs" summed over the process tree. RSS
# counts pages shared by a forked child twice; PSS splits them fairly.
bl_mem() {
	local rss=0 pss=0 n=0 p v
	for p in $(bl_tree "$1"); do
		[[ -r /proc/$p/status ]] || continue
		v=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
		rss=$((rss + ${v:-0}))
		v=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
		pss=$((pss + ${v:-0}))
		n=$((n + 1))
	done
	echo "$rss $pss $n"
}

# bl_stop PID: SIGTERM the process we started and, if it lingers, SIGKILL it
# and any of its own children still alive (by PID).
bl_stop() {
	local pid=$1 kids i
	local -a keep=()
	# Forget it first, so a PID the system reuses later is never signalled.
	for i in "${BL_PIDS[@]}"; do [[ $i == "$pid" ]] || keep+=("$i"); done
	BL_PIDS=("${keep[@]}")
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
	kids=$(bl_tree "$pid" | tail -n +2 | tr '\n' ' ')
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
	for i in $kids; do
		kill -0 "$i" 2>/dev/null && kill -KILL "$i" 2>/dev/null || true
	done
}

bl_stop_all() {
	local p
	for p in "${BL_PIDS[@]}"; do
		bl_stop "$p"
	done
}

# "key=value ..." line -> value of key.
bl_kv() {
	tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k {print $2; exit}'
}

# bl_cpu_ticks PID: user+system clock ticks used so far by the process tree
# (all threads). The name field may hold spaces ("nsd: server 1"): parse
# after its closing parenthesis.
bl_cpu_ticks() {
	local t=0 p v
	for p in $(bl_tree "$1"); do
		v=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}' || echo 0)
		t=$((t + ${v:-0}))
	done
	echo "$t"
}
BL_HZ=$(getconf CLK_TCK)

# bl_client CMD...: run the load client pinned to core 1 (at BL_NICE).
bl_client() {
	local -a cmd=(taskset -c 1 "$@")
	[[ $BL_NICE != 0 ]] && cmd=(nice -n "$BL_NICE" "${cmd[@]}")
	"${cmd[@]}"
}

bl_loadavg() { cut -d' ' -f1 /proc/loadavg; }

# bl_sign ZONE: sets BL_SIGNED to the path of ZONE signed with ldns-signzone
# -n (NSEC3, SHA-1, no salt, 0 iterations as RFC 9276 asks), with one ECDSA
# P-256 key (a CSK) and signatures valid from 2026 to 2080. Signing a 1,000,000-record zone
# takes minutes, so the signed file is kept under the build folder
# ($BL_BUILD/bench-cache), named by the unsigned zone's SHA-256 (the
# generator writes the same zone for the same options), and reused; the
# far expiry keeps a cached copy valid. The servers read it where it is.
# Needs ldnsutils.
bl_sign() {
	local zone=$1 cache sum cached key
	command -v ldns-signzone >/dev/null || {
		echo "ldns-signzone is not installed: apt-get install ldnsutils" >&2
		exit 1
	}
	cache=$BL_BUILD/bench-cache
	mkdir -p "$cache"
	sum=$(sha256sum "$zone" | cut -c1-16)
	cached=$cache/$ORIGIN.$sum.nsec3.signed
	if [[ ! -s $cached ]]; then
		bl_log "signing $(basename "$zone") with ldns-signzone -n (cached in $cache)"
		mkdir -p "$BL_WORK/keys"
		key=$(cd "$BL_WORK/keys" && ldns-keygen -a ECDSAP256SHA256 -k "$ORIGIN")
		local t0=$SECONDS
		ldns-signzone -n -t 0 -i 20260101000000 -e 20801231000000 -o "$ORIGIN" \
			-f "$cached.tmp" "$zone" "$BL_WORK/keys/$key"
		mv "$cached.tmp" "$cached"
		bl_log "signed in $((SECONDS - t0)) s"
	fi
	BL_SIGNED=$cached
}
