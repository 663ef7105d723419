#!/usr/bin/python3
"""Zone and query-file generator for the server benchmarks (side_by_side.sh,
startup_mem.sh, callgrind_servers.sh).

  gen_bench_zone.py zone    [--origin bench.test] [--hosts N | --records N] [-o FILE]
  gen_bench_zone.py queries [--origin bench.test] [--hosts N | --records N]
                            [--count N] [--seed S] [-o FILE]

The zone is what a Matrix homeserver operator's zone looks like, scaled up:
SOA, two NS (one in-zone with glue), the Matrix SRV pair pointing at
matrix.<origin> port 8448, A/AAAA for the apex and matrix, then filler hosts
host<i> with A and AAAA, every tenth with a TXT, every twentieth with an MX,
and alias<j> CNAMEs (one per ten hosts). Default: 10,000 hosts (~22,500
records). --records N picks the host count so the zone holds about N records.

Query file (dnsperf's format, `name TYPE` per line) with an optional third
column that bench/loadgen reads as the expected outcome:
  NOERROR  rcode 0 with at least one answer record
  NODATA   rcode 0 and an empty answer section
  NXDOMAIN rcode 3
side_by_side.sh --dnsperf strips the third column before handing the file to
dnsperf.
Mix: 40% SRV _matrix-fed._tcp, 20% SRV _matrix._tcp, 20% A/AAAA (matrix,
apex and random filler hosts), 10% NXDOMAIN, 10% NODATA (empty non-terminal
_tcp, types a name lacks).

The same --hosts/--records must be given to both commands so the queries name
hosts that exist. Output is deterministic for a given seed.
"""

import argparse
import random
import sys

FIXED_RECORDS = 13  # SOA, 2 NS, A/AAAA for apex, ns1 and matrix, 2 SRV, apex MX and TXT
PER_HOST = 2 + 0.1 + 0.05 + 0.1  # A, AAAA, TXT (1/10), MX (1/20), CNAME (1/10)


def hosts_for(args):
    if args.records is not None:
        return max(1, int((args.records - FIXED_RECORDS) / PER_HOST))
    return args.hosts


def ipv4(i):
    # 198.18.0.0/15 (RFC 2544 benchmarking range), wrapping past 131,072 hosts:
    # the data is never contacted, only served.
    n = (i % 131070) + 1
    return "198.%d.%d.%d" % (18 + (n >> 16), (n >> 8) & 0xFF, n & 0xFF)


def ipv6(i):
    return "2001:db8:%x:%x::1" % ((i >> 16) & 0xFFFF, i & 0xFFFF)


def write_zone(out, origin, hosts):
    w = out.write
    w("; bench zone for srvd/knotd/nsd side-by-side runs: %d filler hosts\n" % hosts)
    w("$ORIGIN %s.\n$TTL 3600\n" % origin)
    w("@ IN SOA ns1.%s. hostmaster.%s. 2024060101 7200 3600 1209600 300\n" % (origin, origin))
    w("@ IN NS ns1.%s.\n" % origin)
    w("@ IN NS ns2.example.net.\n")
    w("@ IN A 192.0.2.1\n@ IN AAAA 2001:db8::1\n")
    w("ns1 IN A 192.0.2.53\nns1 IN AAAA 2001:db8::53\n")
    w("_matrix-fed._tcp IN SRV 10 0 8448 matrix.%s.\n" % origin)
    w("_matrix._tcp IN SRV 10 0 8448 matrix.%s.\n" % origin)
    w("matrix IN A 192.0.2.10\nmatrix IN AAAA 2001:db8::10\n")
    w("@ IN MX 10 matrix.%s.\n" % origin)
    w('@ IN TXT "v=spf1 mx -all"\n')
    buf = []
    for i in range(hosts):
        buf.append("host%d IN A %s\nhost%d IN AAAA %s\n" % (i, ipv4(i), i, ipv6(i)))
        if i % 10 == 5:
            buf.append('host%d IN TXT "bench filler %d"\n' % (i, i))
        if i % 20 == 0:
            buf.append("host%d IN MX 10 host%d.%s.\n" % (i, i, origin))
        if i % 10 == 0:
            buf.append("alias%d IN CNAME host%d.%s.\n" % (i // 10, i, origin))
        if len(buf) >= 4096:
            w("".join(buf))
            buf.clear()
    w("".join(buf))


def write_queries(out, origin, hosts, count, seed):
    rng = random.Random(seed)
    fed = "_matrix-fed._tcp.%s SRV NOERROR\n" % origin
    leg = "_matrix._tcp.%s SRV NOERROR\n" % origin
    lines = []
    for _ in range(count):
        r = rng.random()
        if r < 0.40:
            lines.append(fed)
        elif r < 0.60:
            lines.append(leg)
        elif r < 0.80:
            t = "A" if rng.random() < 0.5 else "AAAA"
            s = rng.random()
            if s < 0.25:
                name = "matrix." + origin
            elif s < 0.30:
                name = origin
            else:
                name = "host%d.%s" % (rng.randrange(hosts), origin)
            lines.append("%s %s NOERROR\n" % (name, t))
        elif r < 0.90:
            s = rng.random()
            if s < 0.5:
                name = "nx%d.%s" % (rng.randrange(1 << 30), origin)
            elif s < 0.75:
                # A mistyped Matrix owner: the fallback path peers take.
                name = "_matrix-fed._udp.%s" % origin
            else:
                name = "host%d.nx.%s" % (rng.randrange(hosts), origin)
            t = "SRV" if name.startswith("_") else rng.choice(("A", "AAAA"))
            lines.append("%s %s NXDOMAIN\n" % (name, t))
        else:
            s = rng.random()
            if s < 0.4:
                # Empty non-terminal: NOERROR/NODATA (RFC 8020), never NXDOMAIN.
                lines.append("_tcp.%s SRV NODATA\n" % origin)
            elif s < 0.6:
                lines.append("matrix.%s MX NODATA\n" % origin)
            else:
                i = rng.randrange(hosts)
                while i % 10 == 5:
                    i = rng.randrange(hosts)
                lines.append("host%d.%s TXT NODATA\n" % (i, origin))
        if len(lines) >= 8192:
            out.write("".join(lines))
            lines.clear()
    out.write("".join(lines))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=("zone", "queries"))
    ap.add_argument("--origin", default="bench.test")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--hosts", type=int, default=10000, help="filler hosts (default 10000)")
    g.add_argument("--records", type=int, help="size the zone to about N records")
    ap.add_argument("--count", type=int, default=100000, help="queries to write (default 100000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-o", "--output", help="file to write (default stdout)")
    args = ap.parse_args()
    origin = args.origin.rstrip(".")
    hosts = hosts_for(args)
    out = open(args.output, "w") if args.output else sys.stdout
    try:
        if args.what == "zone":
            write_zone(out, origin, hosts)
        else:
            write_queries(out, origin, hosts, args.count, args.seed)
    finally:
        if out is not sys.stdout:
            out.close()


if __name__ == "__main__":
    main()
