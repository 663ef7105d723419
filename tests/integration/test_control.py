"""The control channel: srvdctl against a running srvd over its unix socket
(status, zone-status, stats, reload, stop, text and --json output, exit
statuses), and the raw protocol: a malformed message gets an error reply and
the daemon keeps answering, over that connection and over DNS."""

import os
import re
import shutil
import socket
import stat
import struct
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import dns.rcode
import pytest

from srvdtest import (ZONE_SERIAL, Srvd, bundled_zone, free_ports, soa_serial, srvd_bin,
                      srvdctl, wait_for)

STOP_WAIT = 10.0


@pytest.fixture
def zone(tmp_path):
    z = tmp_path / "example.com.zone"
    z.write_text(bundled_zone().read_text())
    return z


@pytest.fixture
def s(srvd_factory, zone):
    return srvd_factory(zones=[("example.com", zone, ["127.0.0.1"])], control=True)


def set_serial(path, serial, extra=""):
    text, n = re.subn(r"\b\d{10}\b", str(serial), path.read_text(), count=1)
    assert n == 1
    path.write_text(text + extra)


# ---- a minimal CBOR codec: maps, arrays, text, bytes, integers, bools ----------


def cbor_enc(v) -> bytes:
    def head(major, n):
        if n < 24:
            return bytes([major << 5 | n])
        for ai, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
            if n < 1 << (8 * size):
                return bytes([major << 5 | ai]) + n.to_bytes(size, "big")
        raise ValueError(n)
    if isinstance(v, bool):
        return b"\xf5" if v else b"\xf4"
    if isinstance(v, int):
        return head(0, v) if v >= 0 else head(1, -1 - v)
    if isinstance(v, str):
        b = v.encode()
        return head(3, len(b)) + b
    if isinstance(v, dict):
        return head(5, len(v)) + b"".join(cbor_enc(k) + cbor_enc(x) for k, x in v.items())
    raise TypeError(v)


def cbor_dec(b: bytes):
    def item(i):
        ib = b[i]
        major, ai = ib >> 5, ib & 31
        i += 1
        if ai < 24:
            n = ai
        else:
            size = {24: 1, 25: 2, 26: 4, 27: 8}[ai]
            n = int.from_bytes(b[i:i + size], "big")
            i += size
        if major == 0:
            return n, i
        if major == 1:
            return -1 - n, i
        if major in (2, 3):
            raw = b[i:i + n]
            return (raw if major == 2 else raw.decode()), i + n
        if major == 4:
            out = []
            for _ in range(n):
                x, i = item(i)
                out.append(x)
            return out, i
        if major == 5:
            out = {}
            for _ in range(n):
                k, i = item(i)
                out[k], i = item(i)
            return out, i
        if major == 7 and ai in (20, 21):
            return ai == 21, i
        raise ValueError(f"CBOR item {ib:#x} not supported")
    v, end = item(0)
    assert end == len(b), "trailing bytes"
    return v


def frame(body: bytes) -> bytes:
    return struct.pack("!I", len(body)) + body


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return buf
        buf += chunk
    return buf


def recv_reply(sock):
    """The next reply as a dict, or None when the daemon closed the connection."""
    hdr = recv_exact(sock, 4)
    if len(hdr) < 4:
        return None
    (n,) = struct.unpack("!I", hdr)
    body = recv_exact(sock, n)
    assert len(body) == n, "short reply"
    return cbor_dec(body)


def raw_conn(s):
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.settimeout(5)
    c.connect(str(s.control))
    return c


# ---- srvdctl -----------------------------------------------------------------------


def test_status(s):
    rc, out, err = s.ctl("status", json_out=True)
    assert rc == 0, err
    assert out["ok"] is True
    d = out["data"]
    assert d["version"] == "0.1.0"
    assert d["pid"] == s.proc.pid
    assert d["workers"] == 2
    assert d["zones"] == 1
    assert 0 <= d["uptime"] < 600
    assert d["memory"] > 0, "bytes held by the zone versions"
    assert d["rss_bytes"] > d["memory"]
    rc, text, err = s.ctl("status")
    assert rc == 0, err
    assert re.search(r"^workers:\s+2$", text, re.M), text
    assert re.search(r"^uptime:\s+\d\d:\d\d:\d\d$", text, re.M), text


def test_socket_file_mode(s):
    st = os.stat(s.control)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o660


def test_zone_status(s, zone):
    rc, out, err = s.ctl("zone-status", json_out=True)
    assert rc == 0, err
    (z,) = out["data"]["zones"]
    assert z["name"] == "example.com."
    assert z["serial"] == ZONE_SERIAL
    assert z["files"] == [str(zone)]
    assert z["records"] == 11
    assert abs(z["loaded"] - time.time()) < 120
    assert "error" not in z
    rc, text, err = s.ctl("zone-status", "example.com")
    assert rc == 0, err
    assert text.splitlines()[0].split() == ["ZONE", "SERIAL", "RECORDS", "LOADED", "FILES"]
    assert f"example.com.  {ZONE_SERIAL}" in text


def test_stats(s):
    for _ in range(5):
        assert s.q("example.com", "A").rcode() == dns.rcode.NOERROR
    assert s.q("nx.example.com", "A").rcode() == dns.rcode.NXDOMAIN
    assert s.q("_matrix-fed._tcp.example.com", "SRV", tcp=True).rcode() == 0
    rc, out, err = s.ctl("stats", json_out=True)
    assert rc == 0, err
    d = out["data"]
    assert d["queries"]["udp"] >= 6 and d["queries"]["tcp"] >= 1, d
    assert d["qtype"]["A"] >= 6 and d["qtype"]["SRV"] >= 1, d
    assert d["rcode"]["NXDOMAIN"] >= 1 and d["rcode"]["NOERROR"] >= 6, d
    assert d["connections"]["accepted"] >= 1, d
    assert d["reloads"] == {"ok": 1, "failed": 0}, d
    for key in ("truncated", "dropped"):
        assert isinstance(d[key], int)
    rc, text, err = s.ctl("stats")
    assert rc == 0 and re.search(r"^\s+NXDOMAIN:\s+[1-9]", text, re.M), text


def test_reload_zone(s, zone):
    set_serial(zone, ZONE_SERIAL + 1, "added IN TXT \"new\"\n")
    rc, out, err = s.ctl("reload", "example.com", json_out=True)
    assert rc == 0, (out, err)
    (z,) = out["data"]["zones"]
    assert z["ok"] is True and z["serial"] == ZONE_SERIAL + 1, out
    assert soa_serial("127.0.0.1", s.port) == ZONE_SERIAL + 1
    # everything, with nothing changed since: the zone is not loaded again
    rc, out, err = s.ctl("reload", json_out=True)
    assert rc == 0, (out, err)
    (z,) = out["data"]["zones"]
    assert z["action"] == "unchanged", out
    rc, text, err = s.ctl("reload")
    assert rc == 0 and text.splitlines()[0].split() == ["ZONE", "OK", "ACTION", "SERIAL"], text
    assert text.splitlines()[1].split()[1:3] == ["yes", "unchanged"], text


def test_reload_unknown_zone(s):
    for cmd in ("reload", "zone-status", "refresh"):
        rc, text, err = s.ctl(cmd, "nope.test")
        assert rc == 1, (cmd, rc, text, err)
        assert "unknown zone 'nope.test'" in err, err


def test_refresh_of_a_primary_zone_fails(s):
    rc, _, err = s.ctl("refresh", "example.com")
    assert rc == 1 and "not transferred" in err, err
    assert err.startswith("srvdctl: refresh: zone example.com") and err.count("refresh:") == 1, err


def test_failed_reload_is_reported(s, zone):
    good = zone.read_text()
    lines = good.splitlines()
    zone.write_text(good + "broken IN A 300.1.2.3\n")
    bad_line = len(lines) + 1
    rc, out, err = s.ctl("reload", "example.com", json_out=True)
    assert rc == 1, (out, err)
    assert out["ok"] is False and f"{zone}:{bad_line}" in out["error"], out
    assert soa_serial("127.0.0.1", s.port) == ZONE_SERIAL
    rc, out, _ = s.ctl("zone-status", "example.com", json_out=True)
    (z,) = out["data"]["zones"]
    assert z["serial"] == ZONE_SERIAL and f"{zone}:{bad_line}:" in z["error"], z
    rc, text, err = s.ctl("zone-status")
    assert rc == 0 and f"error: {zone}:{bad_line}:" in text, text
    rc, text, err = s.ctl("reload", "example.com")
    assert rc == 1 and f"srvdctl: reload: {zone}:{bad_line}:" in err, err
    rc, out, _ = s.ctl("stats", json_out=True)
    assert out["data"]["reloads"]["failed"] >= 1
    zone.write_text(good)
    set_serial(zone, ZONE_SERIAL + 2)
    rc, out, err = s.ctl("reload", "example.com", json_out=True)
    assert rc == 0, (out, err)
    rc, out, _ = s.ctl("zone-status", json_out=True)
    assert "error" not in out["data"]["zones"][0]
    assert soa_serial("127.0.0.1", s.port) == ZONE_SERIAL + 2


def test_usage_errors(s):
    assert s.ctl("bogus")[0] == 2
    assert s.ctl("reload", "a.test", "b.test")[0] == 2
    assert s.ctl("status", "a.test")[0] == 2


def test_no_daemon(tmp_path):
    rc, out, err = srvdctl(tmp_path / "none.sock", "status")
    assert rc == 3, (out, err)
    assert "cannot connect" in err


SRVDCTL_DEFAULT_TIMEOUT = 5.0  # srvdctl's own, which tests must not rely on


def test_tests_wait_for_a_slow_daemon():
    """Issue 14: srvdctl gave up after its 5 s default while a big reload ran
    under ASan, and the test failed. A stand-in daemon holds its reply past
    that default; srvdctl as every test runs it must still get the reply."""
    d = Path(tempfile.mkdtemp(prefix="srvdctl."))
    path = d / "ctl.sock"
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(str(path))
    srv.listen(1)
    srv.settimeout(30)
    got = []

    def serve():
        c, _ = srv.accept()
        with c:
            c.settimeout(30)
            (n,) = struct.unpack("!I", recv_exact(c, 4))
            got.append(cbor_dec(recv_exact(c, n)))
            # the slowness under test: answer only once srvdctl's default
            # would have run out
            time.sleep(SRVDCTL_DEFAULT_TIMEOUT + 1.0)
            c.sendall(frame(cbor_enc({"v": 1, "ok": True})))

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        rc, out, err = srvdctl(path, "reload")
    finally:
        t.join(timeout=30)
        srv.close()
        shutil.rmtree(d, ignore_errors=True)
    assert got and got[0]["cmd"] == "reload", got
    assert rc == 0 and out == "ok\n", (rc, out, err)


def test_stop(s):
    rc, text, err = s.ctl("stop")
    assert rc == 0 and text == "ok\n", (text, err)
    s.stopped = True
    assert s.proc.wait(timeout=STOP_WAIT) == 0, s.log()
    assert not s.control.exists(), "the socket file stays after exit"
    assert "stopping" in s.log()


# ---- the raw protocol ---------------------------------------------------------


def test_malformed_messages_get_error_replies(s):
    with raw_conn(s) as c:
        c.sendall(frame(b"abc"))  # not CBOR
        r = recv_reply(c)
        assert r["v"] == 1 and r["ok"] is False and r["error"], r
        c.sendall(frame(cbor_enc({"v": 1, "cmd": "status", "extra": 1})))  # unknown key
        r = recv_reply(c)
        assert r["ok"] is False, r
        c.sendall(frame(cbor_enc({"v": 1, "cmd": "dance"})))  # unknown command
        r = recv_reply(c)
        assert r["ok"] is False, r
        c.sendall(frame(cbor_enc({"v": 2, "cmd": "status"})))  # another version
        r = recv_reply(c)
        assert r["ok"] is False, r
        # the same connection still works
        c.sendall(frame(cbor_enc({"v": 1, "cmd": "status"})))
        r = recv_reply(c)
        assert r["ok"] is True and r["data"]["pid"] == s.proc.pid, r
        # two requests in one write are answered in order
        c.sendall(frame(cbor_enc({"v": 1, "cmd": "status"})) + frame(b"\xff"))
        assert recv_reply(c)["ok"] is True
        assert recv_reply(c)["ok"] is False
    assert soa_serial("127.0.0.1", s.port) == ZONE_SERIAL
    assert s.ctl("status")[0] == 0


@pytest.mark.parametrize("prefix", [0, 1 << 20 | 1, 1 << 31, 100000],
                         ids=["zero", "over-max", "huge", "over-request-limit"])
def test_bad_length_prefix_closes(s, prefix):
    with raw_conn(s) as c:
        c.sendall(struct.pack("!I", prefix) + b"\xa0" * 8)
        r = recv_reply(c)
        assert r is not None and r["ok"] is False, r
        assert recv_reply(c) is None, "the connection should be closed"
    assert s.q("example.com", "SOA").rcode() == dns.rcode.NOERROR
    assert s.ctl("status")[0] == 0


def test_client_limit(s):
    conns = []
    try:
        for _ in range(16):
            conns.append(raw_conn(s))
        with raw_conn(s) as extra:
            r = recv_reply(extra)
            assert r is not None and r["ok"] is False and "too many" in r["error"], r
        conns[0].sendall(frame(cbor_enc({"v": 1, "cmd": "status"})))
        assert recv_reply(conns[0])["ok"] is True
    finally:
        for c in conns:
            c.close()
    # once they are gone, srvdctl gets in again
    assert wait_for(lambda: s.ctl("status")[0] == 0, 5.0)
    assert s.proc.poll() is None


def test_truncated_request_then_close(s):
    with raw_conn(s) as c:
        c.sendall(struct.pack("!I", 50) + b"\xa2")  # half a message, then hang up
    assert s.ctl("status")[0] == 0


def test_stale_socket_is_replaced(srvd_factory, zone):
    d = Path(tempfile.mkdtemp(prefix="srvdctl."))
    path = d / "ctl.sock"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()  # the file stays, nobody listens
    s = srvd_factory(zones=[("example.com", zone, None)], control=path)
    assert s.ctl("status")[0] == 0
    assert "removed a stale socket" in s.log()


def test_live_socket_is_not_taken(srvd_factory, zone, tmp_path):
    """A second daemon on the same control path refuses to start."""
    first = srvd_factory(zones=[("example.com", zone, None)], control=True)
    (tmp_path / "second").mkdir()
    second = Srvd(tmp_path / "second", [("example.com", zone, None)], v6=False,
                  port=free_ports(1, v6=False), control=first.control)
    second.write_config()
    p = subprocess.run([str(srvd_bin()), "-c", str(second.conf_path)], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 1, p
    assert "another process is listening" in p.stderr
    assert first.ctl("status")[0] == 0, "the first daemon's socket must survive"
