#!/usr/bin/python3
"""amplification.py: what RRL does to a reflection flood, side by side.

A spoof-like flood: queries whose source addresses are spread over one
/24 (127.0.2.0/24: any 127/8 address can be bound on Linux loopback), at a
fixed rate, for a fixed time. The flood's sockets play the victim: what
arrives on them is what the server reflects. In the same run:
  - a legitimate client in another prefix (127.0.1.1) asks one query every
    50 ms and, as a resolver does, retries over TCP on a truncated answer;
  - (srvd only) a client inside the flooded prefix presents a valid DNS
    cookie, learnt first, at 20 queries a second.
Each server runs with RRL off, then on with the same settings (rate 20,
slip 2, /24): srvd (rrl:), knotd (mod-rrl), nsd (rrl-ratelimit).

Reported, never asserted: bytes in, bytes out, out/in (the amplification),
the legitimate client's answers, the cookie client's full answers.

Usage: bench/amplification.py [--srvd BIN] [--rate QPS] [--seconds S]
"""

import argparse
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import dns.edns
import dns.flags
import dns.message
import dns.query

ROOT = Path(__file__).resolve().parents[1]
ZONE = ROOT / "zones" / "example.com.zone"
QNAME, QTYPE = "_matrix-fed._tcp.example.com", "SRV"  # answer + additional addresses
RRL_RATE, RRL_SLIP = 20, 2


def free_port():
    for p in range(24000 + os.getpid() % 2000, 32000):
        ok = True
        for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
            s = socket.socket(socket.AF_INET, kind)
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                ok = False
            finally:
                s.close()
        if ok:
            return p
    raise RuntimeError("no free port")


def config(server, d, port, rrl):
    if server == "srvd":
        extra = f"  rrl: {{rate: {RRL_RATE}, slip: {RRL_SLIP}}}\n" if rrl else ""
        (d / "srvd.conf").write_text(
            f"server:\n  listen: [127.0.0.1@{port}]\n  workers: 1\n  log-level: warning\n"
            f"{extra}zones:\n  - name: example.com\n    file: {ZONE}\n")
        return [ARGS.srvd, "-c", str(d / "srvd.conf")]
    if server == "knot":
        mod = (f"mod-rrl:\n  - id: on\n    rate-limit: {RRL_RATE}\n    slip: {RRL_SLIP}\n"
               "template:\n  - id: default\n    global-module: mod-rrl/on\n") if rrl else ""
        (d / "knot.conf").write_text(
            f"server:\n    rundir: {d}\n    listen: 127.0.0.1@{port}\n    udp-workers: 1\n"
            f"    tcp-workers: 1\n    background-workers: 1\ndatabase:\n    storage: {d}\n"
            f"log:\n  - target: stderr\n    any: warning\n{mod}"
            f"zone:\n  - domain: example.com\n    file: {ZONE}\n    journal-content: none\n"
            "    zonefile-sync: -1\n")
        return ["knotd", "-c", str(d / "knot.conf")]
    (d / "nsd.conf").write_text(
        f"server:\n    ip-address: 127.0.0.1@{port}\n    server-count: 1\n    username: \"\"\n"
        f"    chroot: \"\"\n    database: \"\"\n    zonesdir: {d}\n    pidfile: {d}/nsd.pid\n"
        f"    xfrdfile: {d}/xfrd.state\n    xfrdir: {d}\n    zonelistfile: {d}/zone.list\n"
        f"    logfile: {d}/nsd.log\n    rrl-ratelimit: {RRL_RATE if rrl else 0}\n"
        f"    rrl-slip: {RRL_SLIP}\n    rrl-whitelist-ratelimit: 0\n    verbosity: 0\n"
        f"remote-control:\n    control-enable: no\nzone:\n    name: example.com\n"
        f"    zonefile: {ZONE}\n")
    return ["nsd", "-d", "-c", str(d / "nsd.conf")]


def wait_ready(port, proc):
    q = dns.message.make_query("example.com", "SOA")
    for _ in range(200):
        if proc.poll() is not None:
            raise RuntimeError("server exited")
        try:
            dns.query.udp(q, "127.0.0.1", port=port, timeout=0.2, source="127.0.0.1")
            return
        except Exception:
            time.sleep(0.1)
    raise RuntimeError("server not ready")


class Flood(threading.Thread):
    """The spoof-like flood: 32 sockets on 127.0.2.1..32, round robin."""

    def __init__(self, port, rate, seconds):
        super().__init__(daemon=True)
        self.port, self.rate, self.seconds = port, rate, seconds
        self.sent_bytes = self.recv_bytes = self.sent = self.recv = 0
        self.socks = []
        for i in range(32):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
            s.bind((f"127.0.2.{i + 1}", 0))
            s.setblocking(False)
            self.socks.append(s)
        self.wire = dns.message.make_query(QNAME, QTYPE, want_dnssec=False, use_edns=0,
                                           payload=4096).to_wire()

    def drain(self, wait):
        r, _, _ = select.select(self.socks, [], [], wait)
        for s in r:
            while True:
                try:
                    data = s.recv(65535)
                except BlockingIOError:
                    break
                self.recv += 1
                self.recv_bytes += len(data)

    def run(self):
        t0 = time.monotonic()
        n_total = int(self.rate * self.seconds)
        for n in range(n_total):
            due = t0 + n / self.rate
            while time.monotonic() < due:
                self.drain(max(0.0, due - time.monotonic()))
            try:
                self.socks[n % 32].sendto(self.wire, ("127.0.0.1", self.port))
                self.sent += 1
                self.sent_bytes += len(self.wire)
            except BlockingIOError:
                pass
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            self.drain(0.1)


def legit(port, seconds, source, cookie_client=None, interval=0.05):
    """One query per interval from source; TC -> TCP retry. Returns
    (asked, answered in full over UDP, answered after a TCP retry)."""
    asked = udp_ok = tcp_ok = 0
    cookie = cookie_client
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t = time.monotonic()
        opts = [dns.edns.GenericOption(dns.edns.COOKIE, cookie)] if cookie else []
        q = dns.message.make_query(QNAME, QTYPE, use_edns=0, options=opts)
        asked += 1
        try:
            r = dns.query.udp(q, "127.0.0.1", port=port, timeout=1.0, source=source)
            for o in r.options:
                if o.otype == dns.edns.COOKIE and cookie_client:
                    cookie = o.to_wire() if hasattr(o, "to_wire") else o.data
            if r.flags & dns.flags.TC:
                if not cookie_client:
                    dns.query.tcp(q, "127.0.0.1", port=port, timeout=2.0, source=source)
                    tcp_ok += 1
            else:
                udp_ok += 1
        except Exception:
            pass
        time.sleep(max(0.0, interval - (time.monotonic() - t)))
    return asked, udp_ok, tcp_ok


def run(server, rrl, work):
    d = work / f"{server}-{'on' if rrl else 'off'}"
    d.mkdir()
    port = free_port()
    cmd = config(server, d, port, rrl)
    log = open(d / "log", "wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_ready(port, proc)
        flood = Flood(port, ARGS.rate, ARGS.seconds)
        res = {}

        def legit_run():
            res["legit"] = legit(port, ARGS.seconds, "127.0.1.1")

        def cookie_run():
            res["cookie"] = legit(port, ARGS.seconds, "127.0.2.200", cookie_client=bytes(range(8)))

        threads = [threading.Thread(target=legit_run)]
        if server == "srvd":
            threads.append(threading.Thread(target=cookie_run))
        flood.start()
        for t in threads:
            t.start()
        flood.join()
        for t in threads:
            t.join()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
    asked, udp_ok, tcp_ok = res["legit"]
    line = (f"{server:5} rrl {'on ' if rrl else 'off'}  flood: {flood.sent} q, "
            f"{flood.sent_bytes} B in, {flood.recv} answers, {flood.recv_bytes} B out, "
            f"out/in {flood.recv_bytes / max(1, flood.sent_bytes):.2f}  |  legit 127.0.1.1: "
            f"{udp_ok + tcp_ok}/{asked} answered ({tcp_ok} after TC over TCP)")
    if "cookie" in res:
        c_asked, c_ok, _ = res["cookie"]
        line += f"  |  cookie client 127.0.2.200: {c_ok}/{c_asked} full over UDP"
    print(line, flush=True)


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--srvd", default=str(ROOT / "build" / "release" / "src" / "bin" / "srvd"))
    ap.add_argument("--rate", type=float, default=2000.0, help="flood queries per second")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--servers", default="srvd,knot,nsd")
    ARGS = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="srvd-amp."))
    try:
        print(f"flood {ARGS.rate:.0f} q/s for {ARGS.seconds:.0f} s from 127.0.2.0/24, "
              f"{QNAME} {QTYPE}; RRL rate {RRL_RATE}, slip {RRL_SLIP}", flush=True)
        for server in ARGS.servers.split(","):
            if server != "srvd" and not shutil.which("knotd" if server == "knot" else server):
                print(f"{server}: not installed, skipped")
                continue
            for rrl in (False, True):
                run(server, rrl, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
