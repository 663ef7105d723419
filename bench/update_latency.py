#!/usr/bin/python3
"""UPDATE -> NOERROR latency, and UPDATE -> a srvd secondary serving the
change, on a bench zone of N records (reported, not asserted).

  bench/update_latency.py --srvd build/release/src/bin/srvd --records 1000000 [--n 10]

Starts a primary (acme: key) and a secondary srvd on loopback in a temporary
folder, sends N signed UPDATEs (add a TXT at _acme-challenge, then delete it)
and prints the median and the worst of each, and the primary's RSS before and
after (memory per update). Stops both servers by PID."""

import argparse
import base64
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
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


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serial(port):
    try:
        r = dns.query.udp(dns.message.make_query("bench.test", "SOA"), "127.0.0.1", port=port,
                          timeout=0.5)
        return r.answer[0][0].serial if r.answer else None
    except Exception:
        return None


def wait(pred, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.002)
    return None


def rss_kb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--srvd", default=str(HERE.parent / "build/release/src/bin/srvd"))
    ap.add_argument("--records", type=int, default=1000)
    ap.add_argument("--n", type=int, default=10)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        subprocess.run([sys.executable, str(HERE / "gen_bench_zone.py"), "zone", "--records",
                        str(a.records), "-o", str(d / "bench.test.zone")], check=True,
                       stdout=subprocess.DEVNULL)
        (d / "sec").mkdir()
        pp, sp = free_port(), free_port()
        keys = f"keys:\n  - name: acme\n    algorithm: hmac-sha256\n    secret: {SECRET}\n"
        (d / "p.yaml").write_text(
            f"server:\n  listen: [127.0.0.1@{pp}]\n  workers: 2\n  allow-transfer: [127.0.0.1]\n"
            f"zones:\n  - name: bench.test\n    file: {d}/bench.test.zone\n"
            f"    notify: [127.0.0.1@{sp}]\n    acme: [acme]\n" + keys)
        (d / "s.yaml").write_text(
            f"server:\n  listen: [127.0.0.1@{sp}]\n  workers: 2\n"
            f"zones:\n  - name: bench.test\n    file: {d}/sec/bench.test.zone\n"
            f"    primaries: [127.0.0.1@{pp}]\n" + keys)
        procs = []
        try:
            for cfg in ("p.yaml", "s.yaml"):
                procs.append(subprocess.Popen([a.srvd, "-c", str(d / cfg)],
                                              stdout=subprocess.DEVNULL,
                                              stderr=open(d / (cfg + ".log"), "w")))
            s0 = wait(lambda: serial(pp), 600)
            wait(lambda: serial(sp) == s0, 600)
            rss0 = rss_kb(procs[0].pid)
            ack, seen = [], []
            for i in range(a.n):
                u = dns.update.UpdateMessage("bench.test", keyring=KR, keyname="acme",
                                             keyalgorithm=dns.tsig.HMAC_SHA256)
                if i % 2 == 0:
                    u.add("_acme-challenge", 60, "TXT", f'"token-{i}"')
                else:
                    u.delete("_acme-challenge", "TXT")
                before = serial(pp)
                t0 = time.monotonic()
                r = dns.query.tcp(u, "127.0.0.1", port=pp, timeout=120)
                t1 = time.monotonic()
                assert r.rcode() == dns.rcode.NOERROR, dns.rcode.to_text(r.rcode())
                wait(lambda: (serial(sp) or 0) > before, 120)
                t2 = time.monotonic()
                ack.append((t1 - t0) * 1000)
                seen.append((t2 - t0) * 1000)
            time.sleep(1)  # the replaced versions are released after the grace period
            rss1 = rss_kb(procs[0].pid)
            print(f"records={a.records} updates={a.n}")
            print(f"UPDATE->NOERROR ms: median {statistics.median(ack):.1f} max {max(ack):.1f}")
            print(f"UPDATE->secondary serving ms: median {statistics.median(seen):.1f} "
                  f"max {max(seen):.1f}")
            print(f"primary RSS KiB: before {rss0} after {rss1} "
                  f"(+{(rss1 - rss0) / a.n:.0f} per update)")
        finally:
            for p in procs:
                p.send_signal(signal.SIGTERM)
                p.wait(timeout=30)


if __name__ == "__main__":
    main()
