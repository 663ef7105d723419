"""RFC 7766: many queries on one TCP connection, sent before reading any
answer, are all answered (in any order) with their own IDs."""

import random
import socket
import struct
import time

import dns.message
import dns.rcode

from srvdtest import make_query

N = 100
NAMES = [
    ("example.com", "SOA", dns.rcode.NOERROR),
    ("_matrix-fed._tcp.example.com", "SRV", dns.rcode.NOERROR),
    ("_tcp.example.com", "SRV", dns.rcode.NOERROR),
    ("matrix.example.com", "AAAA", dns.rcode.NOERROR),
    ("missing.example.com", "A", dns.rcode.NXDOMAIN),
    ("example.org", "A", dns.rcode.REFUSED),
]


def read_exact(sock, n, deadline):
    buf = b""
    while len(buf) < n:
        left = deadline - time.monotonic()
        assert left > 0, f"timed out with {len(buf)} of {n} bytes read"
        sock.settimeout(left)
        chunk = sock.recv(n - len(buf))
        assert chunk, "server closed the connection early"
        buf += chunk
    return buf


def pipeline(addr, port, n):
    ids = random.Random(7).sample(range(1, 65536), n)
    sent = {}
    wire = b""
    for i, qid in enumerate(ids):
        name, qtype, rcode = NAMES[i % len(NAMES)]
        q = make_query(name, qtype)
        q.id = qid
        w = q.to_wire()
        wire += struct.pack("!H", len(w)) + w
        sent[qid] = (q, rcode)
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect((addr, port))
        s.sendall(wire)  # everything first ...
        deadline = time.monotonic() + 15
        got = {}
        for _ in range(n):  # ... then read every answer
            (ln,) = struct.unpack("!H", read_exact(s, 2, deadline))
            r = dns.message.from_wire(read_exact(s, ln, deadline))
            assert r.id in sent, f"answer with unknown id {r.id}"
            assert r.id not in got, f"two answers for id {r.id}"
            got[r.id] = r
    assert len(got) == n
    for qid, (q, rcode) in sent.items():
        r = got[qid]
        assert r.question == q.question, f"id {qid}: question {r.question} for {q.question}"
        assert r.rcode() == rcode, f"id {qid} {q.question[0]}: {dns.rcode.to_text(r.rcode())}"


def test_pipelined_100_ipv4(srvd):
    pipeline("127.0.0.1", srvd.port, N)


def test_pipelined_100_ipv6(srvd):
    pipeline("::1", srvd.port, N)


def test_connection_reused_sequentially(srvd):
    """One query at a time on one connection: the server keeps it open."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect(("127.0.0.1", srvd.port))
        for i in range(20):
            q = make_query("example.com", "SOA")
            q.id = 1000 + i
            w = q.to_wire()
            s.sendall(struct.pack("!H", len(w)) + w)
            deadline = time.monotonic() + 5
            (ln,) = struct.unpack("!H", read_exact(s, 2, deadline))
            r = dns.message.from_wire(read_exact(s, ln, deadline))
            assert r.id == q.id and r.rcode() == dns.rcode.NOERROR


def test_split_length_prefix(srvd):
    """A query whose bytes arrive in pieces is still answered."""
    q = make_query("_matrix-fed._tcp.example.com", "SRV")
    w = q.to_wire()
    frame = struct.pack("!H", len(w)) + w
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.settimeout(5)
        s.connect(("127.0.0.1", srvd.port))
        for piece in (frame[:1], frame[1:5], frame[5:]):
            s.sendall(piece)
            time.sleep(0.05)
        deadline = time.monotonic() + 5
        (ln,) = struct.unpack("!H", read_exact(s, 2, deadline))
        r = dns.message.from_wire(read_exact(s, ln, deadline))
        assert r.id == q.id and len(r.answer) == 1


def test_idle_connection_closed(srvd_factory):
    """tcp-idle-timeout: an idle client is disconnected (RFC 7766 6.2.3)."""
    s = srvd_factory(server_extra={"tcp-idle-timeout": 1})
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as c:
        c.settimeout(10)
        c.connect(("127.0.0.1", s.port))
        t0 = time.monotonic()
        try:
            data = c.recv(1)
        except ConnectionResetError:
            data = b""
        took = time.monotonic() - t0
    assert data == b"", "expected the server to close the connection"
    assert took < 5, f"idle connection closed only after {took:.1f}s (timeout 1 s)"


def test_oversized_message_closes_after_earlier_answers(srvd):
    """A length prefix beyond the connection's 16 KiB input buffer can never
    be a whole message: the connection is closed, but the query before it on
    the same connection is still answered first."""
    q = make_query("example.com", "SOA")
    w = q.to_wire()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect(("127.0.0.1", srvd.port))
        s.sendall(struct.pack("!H", len(w)) + w + struct.pack("!H", 65535) + b"\0" * 100)
        deadline = time.monotonic() + 5
        (ln,) = struct.unpack("!H", read_exact(s, 2, deadline))
        r = dns.message.from_wire(read_exact(s, ln, deadline))
        assert r.id == q.id and r.rcode() == dns.rcode.NOERROR
        try:
            data = s.recv(1)
        except ConnectionResetError:
            data = b""
    assert data == b"", "expected the server to close the connection"
