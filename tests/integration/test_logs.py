"""Log lines an operator relies on: a refused transfer names the zone and
the peer; a flood of refusals cannot fill the disk; under systemd
(JOURNAL_STREAM) lines carry a syslog priority and no time of their own."""

import re
import shutil
import socket
import struct
import time

import dns.message
import dns.rcode

from srvdtest import bundled_zone

REFUSED_LINE = re.compile(r"AXFR for zone example\.com\. from 127\.0\.0\.1 refused")


def refused_srvd(srvd_factory, tmp_path, **kw):
    z = tmp_path / "example.com.zone"
    shutil.copy(bundled_zone(), z)
    return srvd_factory(zones=[("example.com", z, ["192.0.2.1"])], **kw)


def axfr_wire(i):
    q = dns.message.make_query("example.com", "AXFR")
    q.id = i & 0xFFFF
    w = q.to_wire()
    return struct.pack("!H", len(w)) + w


def refused_axfrs(port, count, deadline_s=60):
    """count AXFRs pipelined on one TCP connection; returns how many
    REFUSED answers came back."""
    got = 0
    buf = b""
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as c:
        batch = 500
        for start in range(0, count, batch):
            c.sendall(b"".join(axfr_wire(i) for i in range(start, min(count, start + batch))))
            want = min(count, start + batch)
            while got < want and time.monotonic() - t0 < deadline_s:
                b = c.recv(65536)
                assert b, "srvd closed the connection"
                buf += b
                while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
                    n = struct.unpack("!H", buf[:2])[0]
                    m = dns.message.from_wire(buf[2:2 + n])
                    assert m.rcode() == dns.rcode.REFUSED
                    got += 1
                    buf = buf[2 + n:]
    return got


def test_one_refused_axfr_is_one_line(srvd_factory, tmp_path):
    s = refused_srvd(srvd_factory, tmp_path)
    assert refused_axfrs(s.port, 1) == 1
    assert [line for line in s.log().splitlines() if REFUSED_LINE.search(line)], s.log()
    lines = [line for line in s.log().splitlines() if REFUSED_LINE.search(line)]
    assert len(lines) == 1, lines
    assert "not in allow-transfer" in lines[0]


def test_ten_thousand_refusals_log_a_bounded_number_of_lines(srvd_factory, tmp_path):
    s = refused_srvd(srvd_factory, tmp_path)
    assert refused_axfrs(s.port, 10000) == 10000
    lines = [line for line in s.log().splitlines() if "refused" in line]
    # 3 per peer and minute per worker (2 workers), whatever the flood
    assert 1 <= len(lines) <= 6, lines
    assert s.q("example.com", "SOA").answer


def test_journal_stream_gives_priorities_and_no_timestamp(srvd_factory, tmp_path, monkeypatch):
    monkeypatch.setenv("JOURNAL_STREAM", "8:12345")
    s = refused_srvd(srvd_factory, tmp_path)
    refused_axfrs(s.port, 1)
    lines = s.log().splitlines()
    started = [line for line in lines if "started:" in line]
    assert started and started[0].startswith("<6>info: srvd "), lines
    refused = [line for line in lines if REFUSED_LINE.search(line)]
    assert refused and refused[0].startswith("<4>warning: "), lines
    assert not any(re.match(r"\d{4}-\d\d-\d\dT", line) for line in lines), lines
