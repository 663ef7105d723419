"""Response rate limiting and DNS cookies in the real daemon, as a client
(or the victim of a spoofed flood) sees them.

Sources are other loopback addresses (the whole of 127.0.0.0/8 is local on
Linux): the flood comes from 127.0.2.0/24, a legitimate client from
127.0.3.0/24, an exempt one from 127.0.4.0/24. The start-up probes come
from 127.0.0.1 and so fill no bucket the tests look at. Each source uses
one socket, so its queries reach one worker, whose table alone counts them.
"""

import re
import socket
import subprocess
import time

import dns.edns
import dns.flags
import dns.message
import dns.rcode
import pytest

from srvdtest import make_query

RATE = 10
BURST = 100  # queries of one burst; sent back to back
QUIET = 1.0  # a burst is over when no answer came for this long
LIMIT = 15.0  # and at the latest this long after its start


def rrl_server(srvd_factory, **extra):
    rrl = {"rate": RATE, "slip": 2, "window": 2, "exempt": "[127.0.4.0/24]"}
    rrl.update(extra)
    body = ", ".join(f"{k}: {v}" for k, v in rrl.items())
    return srvd_factory(server_extra={"rrl": "{" + body + "}"}, control=True)


def burst(srv, source, n=BURST, qname="matrix.example.com", cookie=None):
    """n identical queries from `source`, then every answer that comes back.
    Returns (full, slipped, seconds the sending took)."""
    q = make_query(qname, "A")
    if cookie is not None:
        q.use_edns(0, 0, 1232, options=[dns.edns.GenericOption(dns.edns.COOKIE, cookie)])
    wire = q.to_wire()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.bind((source, 0))
    full = slipped = 0
    try:
        t0 = time.monotonic()
        for _ in range(n):
            s.sendto(wire, ("127.0.0.1", srv.port))
        sent = time.monotonic() - t0
        s.settimeout(QUIET)
        while time.monotonic() - t0 < LIMIT:
            try:
                data = s.recv(4096)
            except socket.timeout:
                break
            m = dns.message.from_wire(data)
            if m.flags & dns.flags.TC:
                assert not m.answer, "a slip carries no records"
                slipped += 1
            else:
                assert m.answer, "a full answer has its records"
                full += 1
    finally:
        s.close()
    return full, slipped, sent


def stats(srv):
    rc, out, err = srv.ctl("stats", json_out=True)
    assert rc == 0, err
    return out["data"]["rrl"], out["data"]["cookies"]


def test_flood_is_dropped_and_slipped_others_unaffected(srvd_factory):
    srv = rrl_server(srvd_factory)
    full, slipped, sent = burst(srv, "127.0.2.1")
    # The burst fits in one or two seconds of the bucket (it may straddle a
    # second): at most RATE answers per second that it touched.
    seconds = int(sent) + 2
    assert RATE <= full <= RATE * seconds, (full, slipped, sent)
    limited = BURST - full
    # slip 2: every second limited answer goes out truncated, the rest never
    assert abs(slipped - limited // 2) <= 1, (full, slipped)
    rrl, _ = stats(srv)
    assert rrl["slipped"] == slipped
    assert rrl["dropped"] == limited - slipped
    # Another prefix, in the same second: unaffected.
    full2, slipped2, _ = burst(srv, "127.0.3.1", n=RATE)
    assert (full2, slipped2) == (RATE, 0)
    # (Another address of the flooded prefix shares its bucket only on the
    # same worker: each worker has its own table; test_guard.c checks the
    # sharing.)
    # The slip made a real client retry over TCP, which is never limited.
    for _ in range(RATE * 2):
        r = srv.q("matrix.example.com", "A", tcp=True, addr="127.0.0.1")
        assert r.rcode() == dns.rcode.NOERROR and r.answer


def test_exempt_prefix_is_never_limited(srvd_factory):
    srv = rrl_server(srvd_factory)
    full, slipped, _ = burst(srv, "127.0.4.9")
    assert (full, slipped) == (BURST, 0)
    rrl, _ = stats(srv)
    assert rrl["dropped"] == 0 and rrl["slipped"] == 0


def test_log_only_never_drops(srvd_factory):
    srv = rrl_server(srvd_factory, **{"log-only": "true"})
    full, slipped, _ = burst(srv, "127.0.2.1")
    assert (full, slipped) == (BURST, 0)
    rrl, _ = stats(srv)
    assert rrl["dropped"] == 0 and rrl["slipped"] == 0
    assert rrl["logged"] >= BURST - 3 * RATE  # what it would have limited
    assert re.search(r"rrl: would limit answers to 127\.0\.2\.0/24 .*\(log-only\)", srv.log())


def cookie_of(lines, pattern):
    for line in lines.splitlines():
        m = re.search(pattern, line)
        if m:
            return m.group(1)
    return None


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True).stdout


@pytest.mark.parametrize("tool", ["dig", "kdig"])
def test_cookie_interop(srvd_factory, tool):
    """dig and kdig get a server cookie back, and the server validates it
    when they present it again."""
    srv = srvd_factory(control=True)
    retry = "+tries=1" if tool == "dig" else "+retry=0"
    base = [tool, "@127.0.0.1", "-p", str(srv.port), "example.com", "SOA", retry, "+time=10"]
    pattern = r";+ COOKIE: ([0-9a-fA-F]{48})"
    first = run(base + ["+cookie"])
    cookie = cookie_of(first, pattern)
    assert cookie, f"no server cookie in the answer:\n{first}"
    _, before = stats(srv)
    second = run(base + [f"+cookie={cookie}"])
    assert cookie_of(second, pattern), second
    _, after = stats(srv)
    assert after["valid"] == before["valid"] + 1
    assert after["invalid"] == before["invalid"]
    # A server cookie made for another client does not validate.
    forged = cookie[:16] + cookie[16:-2] + ("00" if cookie[-2:] != "00" else "11")
    run(base + [f"+cookie={forged}"])
    _, forged_stats = stats(srv)
    assert forged_stats["invalid"] == after["invalid"] + 1


def learn_cookie(srv, source, client):
    q = make_query("matrix.example.com", "A")
    q.use_edns(0, 0, 1232, options=[dns.edns.GenericOption(dns.edns.COOKIE, client)])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((source, 0))
    s.settimeout(10)
    try:
        s.sendto(q.to_wire(), ("127.0.0.1", srv.port))
        r = dns.message.from_wire(s.recv(4096))
    finally:
        s.close()
    opt = [o for o in r.options if o.otype == dns.edns.COOKIE]
    assert opt, "no COOKIE option in the answer"
    data = opt[0].to_wire() if hasattr(opt[0], "to_wire") else opt[0].data
    return bytes(data)


def test_valid_cookie_is_never_limited(srvd_factory):
    srv = rrl_server(srvd_factory)
    client = bytes(range(1, 9))
    both = learn_cookie(srv, "127.0.2.5", client)
    assert both[:8] == client and len(both) == 24
    full, slipped, _ = burst(srv, "127.0.2.5", cookie=both)
    assert (full, slipped) == (BURST, 0)
    # Its neighbour with a client cookie alone is limited as before.
    full2, _, _ = burst(srv, "127.0.2.6", cookie=client)
    assert full2 < BURST
