#!/usr/bin/python3
"""Dynamic update, measured (reported, not asserted): srvd or knotd as a
primary with a secondary of the same kind, on the bench zone of N records.

  bench/update_latency.py --server srvd [--srvd build/release/src/bin/srvd] --records 1000000
  bench/update_latency.py --server knot --records 1000000 [--n 10] [--load 10] [--rate 10]

1. Latency: N signed UPDATEs over TCP, one after the other (add a TXT at
   _acme-challenge, then delete it): the time to NOERROR, and the time until
   the secondary serves the new serial (SOA polled every 2 ms).
2. Memory: the primary's PSS (proportional set size: the pages of a zone
   image that several versions map count once) before the updates and after
   them (and after the grace period that frees replaced versions): the
   growth per update.
3. With --load S: bench/loadgen (build/release) at full speed over UDP
   against the primary for S seconds, alone and while UPDATEs arrive at
   --rate per second (add/delete, from this script, TCP), alternating for
   --rounds rounds: the median queries per second both ways and the
   updates' own latency under load.

Both servers run with 2 workers (srvd workers: 2; knotd udp-workers: 2,
tcp-workers: 1) on loopback, in a temporary folder, and are stopped by PID.
knotd: journal-content changes, zonefile-sync -1 (no zone file writes; srvd
writes none either, except the secondary's saved copy after each transfer).
"""

import argparse
import base64
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import dns.tsig
import dns.tsigkeyring
import dns.update

HERE = Path(__file__).resolve().parent
SECRET = base64.b64encode(b"bench-secret-for-update-latency!").decode()
KR = dns.tsigkeyring.from_text({"acme": SECRET})
KNOTD = "/usr/sbin/knotd"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serial(port):
    try:
        r = dns.query.udp(dns.message.make_query("bench.test", "SOA"), "127.0.0.1", port=port,
                          timeout=0.5)
        return r.answer[0][0].serial if r.answer else None
    except Exception:  # noqa: BLE001 - not up yet
        return None


def wait(pred, timeout, step=0.002):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return None


def rss_kb(pid):
    """Proportional set size (KiB): a page mapped by several versions (a
    copy-on-write image) counts once, where VmRSS counts it per mapping."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def srvd_configs(d, pp, sp):
    keys = f"keys:\n  - name: acme\n    algorithm: hmac-sha256\n    secret: {SECRET}\n"
    (d / "p.yaml").write_text(
        f"server:\n  listen: [127.0.0.1@{pp}]\n  workers: 2\n  allow-transfer: [127.0.0.1]\n"
        f"zones:\n  - name: bench.test\n    file: {d}/bench.test.zone\n"
        f"    notify: [127.0.0.1@{sp}]\n    acme: [acme]\n" + keys)
    (d / "s.yaml").write_text(
        f"server:\n  listen: [127.0.0.1@{sp}]\n  workers: 2\n"
        f"zones:\n  - name: bench.test\n    file: {d}/sec/bench.test.zone\n"
        f"    primaries: [127.0.0.1@{pp}]\n" + keys)


def knot_configs(d, pp, sp):
    for role, port in (("p", pp), ("s", sp)):
        k = d / f"k{role}"
        k.mkdir()
        zone = ("    file: \"%s/bench.test.zone\"\n    notify: secondary\n"
                "    acl: [update, transfer]\n" % d) if role == "p" else \
            "    master: primary\n    acl: notify\n"
        (k / "knot.conf").write_text(f"""server:
    rundir: "{k}"
    listen: 127.0.0.1@{port}
    udp-workers: 2
    tcp-workers: 1
    background-workers: 1
database:
    storage: "{k}"
log:
  - target: stderr
    any: warning
key:
  - id: acme
    algorithm: hmac-sha256
    secret: {SECRET}
remote:
  - id: primary
    address: 127.0.0.1@{pp}
  - id: secondary
    address: 127.0.0.1@{sp}
acl:
  - id: update
    key: acme
    action: update
  - id: transfer
    address: 127.0.0.1
    action: transfer
  - id: notify
    address: 127.0.0.1
    action: notify
template:
  - id: default
    storage: "{k}"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: changes
    journal-max-usage: 1G
zone:
  - domain: bench.test
{zone}""")


def update(port, i, timeout=300):
    u = dns.update.UpdateMessage("bench.test", keyring=KR, keyname="acme",
                                 keyalgorithm=dns.tsig.HMAC_SHA256)
    if i % 2 == 0:
        u.add("_acme-challenge", 60, "TXT", f'"token-{i}"')
    else:
        u.delete("_acme-challenge", "TXT")
    r = dns.query.tcp(u, "127.0.0.1", port=port, timeout=timeout)
    assert r.rcode() == dns.rcode.NOERROR, dns.rcode.to_text(r.rcode())


def loadgen(bin_, port, queries, seconds):
    out = subprocess.run([str(bin_), "-p", str(port), "-q", str(queries), "-d", str(seconds)],
                         capture_output=True, text=True, timeout=seconds + 60).stdout
    kv = dict(f.split("=", 1) for f in out.split() if "=" in f)
    return float(kv.get("qps", 0)), int(kv.get("lost", 0)), int(kv.get("wrong", 0))


def ms(v):
    return f"median {statistics.median(v):.1f} max {max(v):.1f}" if v else "-"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", choices=("srvd", "knot"), default="srvd")
    ap.add_argument("--srvd", default=str(HERE.parent / "build/release/src/bin/srvd"))
    ap.add_argument("--loadgen", default=str(HERE.parent / "build/release/bench/loadgen"))
    ap.add_argument("--records", type=int, default=1000)
    ap.add_argument("--n", type=int, default=10)
    ap.add_argument("--load", type=int, default=0, help="seconds of loadgen per phase")
    ap.add_argument("--rate", type=float, default=10.0, help="UPDATEs per second under load")
    ap.add_argument("--rounds", type=int, default=3, help="load phases, each alone and busy")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="updlat.") as d:
        d = Path(d)
        subprocess.run([sys.executable, str(HERE / "gen_bench_zone.py"), "zone", "--records",
                        str(a.records), "-o", str(d / "bench.test.zone")], check=True)
        if a.load:
            subprocess.run([sys.executable, str(HERE / "gen_bench_zone.py"), "queries",
                            "--records", str(a.records), "-o", str(d / "q.txt")], check=True)
        (d / "sec").mkdir()
        pp, sp = free_port(), free_port()
        if a.server == "srvd":
            srvd_configs(d, pp, sp)
            cmds = [[a.srvd, "-c", str(d / "p.yaml")], [a.srvd, "-c", str(d / "s.yaml")]]
        else:
            knot_configs(d, pp, sp)
            cmds = [[KNOTD, "-c", str(d / "kp" / "knot.conf")],
                    [KNOTD, "-c", str(d / "ks" / "knot.conf")]]
        procs = []
        try:
            for i, cmd in enumerate(cmds):
                procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                              stderr=open(d / f"{i}.log", "w")))
            t0 = time.monotonic()
            s0 = wait(lambda: serial(pp), 900, 0.1)
            loaded = time.monotonic() - t0
            wait(lambda: serial(sp) == s0, 900, 0.1)
            time.sleep(2)  # start-up work settles (knotd's first journal flush, NOTIFYs)
            rss0 = rss_kb(procs[0].pid)
            ack, seen = [], []
            for i in range(a.n):
                before = serial(pp)
                t0 = time.monotonic()
                update(pp, i)
                t1 = time.monotonic()
                wait(lambda: (serial(sp) or 0) > before, 300)
                t2 = time.monotonic()
                ack.append((t1 - t0) * 1000)
                seen.append((t2 - t0) * 1000)
                if i == 0:
                    time.sleep(1)  # the version replaced is freed after the grace period
                    rss_first = rss_kb(procs[0].pid)
            rss1 = rss_kb(procs[0].pid)
            time.sleep(2)  # replaced versions are freed after the grace period
            rss2 = rss_kb(procs[0].pid)
            print(f"server={a.server} records={a.records} updates={a.n} "
                  f"(primary answered SOA {loaded:.1f} s after start)")
            print(f"UPDATE->NOERROR ms: {ms(ack)}")
            print(f"UPDATE->secondary serving ms: {ms(seen)}")
            print(f"primary PSS KiB: before {rss0}, after the first update {rss_first} "
                  f"({rss_first - rss0:+d}), after all {rss1}, 2 s later {rss2}: "
                  f"{(rss2 - rss_first) / max(1, a.n - 1):+.0f} per update after the first")
            if a.load:
                alone, busy, lat, errs, done = [], [], [], [], 0
                for rnd in range(a.rounds):  # alternate, so that machine noise hits both
                    alone.append(loadgen(a.loadgen, pp, d / "q.txt", a.load))
                    stop = threading.Event()
                    start_i = a.n + rnd * 100000

                    def updater(i=start_i):
                        nxt = time.monotonic()
                        while not stop.is_set():
                            t = time.monotonic()
                            try:
                                update(pp, i, timeout=30)
                                lat.append((time.monotonic() - t) * 1000)
                            except Exception as e:  # noqa: BLE001 - reported below
                                errs.append(repr(e))
                            i += 1
                            nxt += 1.0 / a.rate
                            time.sleep(max(0.0, nxt - time.monotonic()))

                    th = threading.Thread(target=updater)
                    before = len(lat)
                    th.start()
                    busy.append(loadgen(a.loadgen, pp, d / "q.txt", a.load))
                    stop.set()
                    th.join()
                    done += len(lat) - before
                q0 = statistics.median(r[0] for r in alone)
                q1 = statistics.median(r[0] for r in busy)
                print(f"UDP q/s, median of {a.rounds} x {a.load} s: alone {q0:.0f} "
                      f"{[round(r[0]) for r in alone]}, while {done / a.rounds / a.load:.1f} "
                      f"updates/s arrive {q1:.0f} {[round(r[0]) for r in busy]}: "
                      f"{q1 / q0 - 1:+.1%}; lost {sum(r[1] for r in alone + busy)}, wrong "
                      f"{sum(r[2] for r in alone + busy)}")
                print(f"UPDATE->NOERROR under load ms: {ms(lat)}; errors {len(errs)} "
                      f"{errs[:1]}")
        finally:
            for p in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
                    try:
                        p.wait(timeout=60)
                    except subprocess.TimeoutExpired:
                        p.kill()
                        p.wait()


if __name__ == "__main__":
    main()
