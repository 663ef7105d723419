"""File descriptors run out (issue 14): a flood of TCP connections under a
low RLIMIT_NOFILE must never stop UDP, must leave room for the control
socket, and everything must recover once the flood stops. Before the fix a
worker spun forever in libuv's accept loop on EMFILE: UDP on its socket
went dead, SIGTERM did not stop srvd."""

import os
import resource
import socket
import threading
import time

import dns.exception
import dns.message
import dns.query
import dns.rcode

from srvdtest import ZONE_SERIAL, soa_serial, wait_for

FLOOD = 600  # connections: more than the limit below
LIMIT = 256
FLOOD_TIME = 40.0  # s, for the whole flood on a busy machine under ASan
UDP_PROBES = 24  # fresh source ports: each lands on some worker's socket


def low_nofile():
    resource.setrlimit(resource.RLIMIT_NOFILE, (LIMIT, LIMIT))


def fds_of(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def udp_ok(port, tries=3):
    """Every one of UDP_PROBES queries, each from its own socket, is answered
    (a retry or two allowed: this is a loaded loopback, not a lossy one)."""
    q = dns.message.make_query("example.com", "SOA").to_wire()
    for _ in range(UDP_PROBES):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(2.0)
            for attempt in range(tries):
                s.sendto(q, ("127.0.0.1", port))
                try:
                    if dns.message.from_wire(s.recv(4096)).rcode() == dns.rcode.NOERROR:
                        break
                except socket.timeout:
                    if attempt == tries - 1:
                        return False
    return True


def tcp_ok(port):
    try:
        r = dns.query.tcp(dns.message.make_query("example.com", "SOA"), "127.0.0.1", port=port,
                          timeout=3)
    except (OSError, EOFError, dns.exception.DNSException):
        return False
    return r.rcode() == dns.rcode.NOERROR


def flood(port, srvd, check_every=100):
    """Open up to FLOOD connections and keep them; UDP is checked as it goes."""
    conns = []
    deadline = time.monotonic() + FLOOD_TIME
    try:
        for i in range(FLOOD):
            if time.monotonic() > deadline:
                break
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            c.settimeout(3)
            try:
                c.connect(("127.0.0.1", port))
            except OSError:
                c.close()
                continue
            conns.append(c)
            if i % check_every == check_every - 1:
                assert udp_ok(port), f"UDP stopped after {i + 1} connections; log:\n{srvd.log()}"
        return conns
    except BaseException:
        for c in conns:
            c.close()
        raise


def recovers(srvd):
    """TCP answers again, the control socket answers, SIGTERM stops srvd."""
    assert wait_for(lambda: tcp_ok(srvd.port), 20.0, proc=srvd.proc), srvd.log()
    rc, out, err = srvd.ctl("status")
    assert rc == 0, f"srvdctl status: {rc} {err}; log:\n{srvd.log()}"
    assert srvd.stop() == 0, srvd.log()


def test_tcp_flood_under_low_nofile(srvd_factory):
    """The TCP cap comes from RLIMIT_NOFILE, so srvd never reaches it."""
    s = srvd_factory(v6=False, control=True, preexec_fn=low_nofile)
    conns = flood(s.port, s)
    try:
        assert len(conns) > LIMIT, f"only {len(conns)} connections opened"
        assert fds_of(s.proc.pid) < LIMIT, "srvd is at its descriptor limit"
        assert udp_ok(s.port), s.log()
        assert s.ctl("status")[0] == 0, "the control socket found no descriptor"
    finally:
        for c in conns:
            c.close()
    recovers(s)
    assert "tcp-max-clients lowered" in s.log(), s.log()


def churn(srvd, seconds, keep=150):
    """Connections opened and closed in bursts, from two threads so that
    both workers' accepts race for the few descriptors left."""
    stop = time.monotonic() + seconds

    def one():
        conns = []
        try:
            while time.monotonic() < stop and srvd.proc.poll() is None:
                c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                c.settimeout(1)
                try:
                    c.connect(("127.0.0.1", srvd.port))
                    conns.append(c)
                except OSError:
                    c.close()
                if len(conns) >= keep:
                    for c in conns[: keep // 2]:
                        c.close()
                    del conns[: keep // 2]
        finally:
            for c in conns:
                c.close()

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_accept_emfile_pauses_and_recovers(srvd_factory):
    """The limit drops below what the cap was sized for (prlimit while
    running), so accept fails with EMFILE under a churning flood: no
    worker may spin on it, UDP keeps answering, and TCP comes back once
    descriptors are free."""
    s = srvd_factory(v6=False, control=True)
    hard = resource.prlimit(s.proc.pid, resource.RLIMIT_NOFILE)[1]
    resource.prlimit(s.proc.pid, resource.RLIMIT_NOFILE, (fds_of(s.proc.pid) + 24, hard))
    t = threading.Thread(target=churn, args=(s, 8.0))
    t.start()
    try:
        ok = udp_ok(s.port)
    finally:
        t.join()
    assert ok, f"UDP stopped during the flood; log:\n{s.log()}"
    assert udp_ok(s.port), f"UDP stopped after the flood; log:\n{s.log()}"
    resource.prlimit(s.proc.pid, resource.RLIMIT_NOFILE, (LIMIT * 4, hard))
    recovers(s)
