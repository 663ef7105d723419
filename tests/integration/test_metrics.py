"""The Prometheus endpoint (server: metrics:), against Debian's prometheus
and promtool: what an operator graphs must be what srvd answered, and a
hostile HTTP client must not disturb the DNS side."""

import json
import select
import shutil
import socket
import struct
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from srvdtest import bundled_zone, free_ports, wait_for

SRV = "_matrix-fed._tcp.example.com"
PROM_TIMEOUT = 60.0  # prometheus start + a few scrapes, on a busy machine


def metrics_srvd(srvd_factory):
    port = free_ports(1, v6=False)
    s = srvd_factory(server_extra={"metrics": f'"127.0.0.1@{port}"'})
    assert wait_for(lambda: "metrics: serving /metrics" in s.log(), 20), s.log()
    return s, port


def get(port, path="/metrics", timeout=10):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
        return r.status, r.read().decode()


def sample(text, name, **labels):
    """The value of the series name{labels...} (exact label set match on
    the labels given), or None."""
    want = [f'{k}="{v}"' for k, v in labels.items()]
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            head, value = line.rsplit(" ", 1)
            if all(w in head for w in want):
                return float(value)
    return None


def test_counts_match_queries_and_promtool_accepts(srvd_factory):
    s, port = metrics_srvd(srvd_factory)
    for _ in range(7):
        assert s.q(SRV, "SRV").answer
    s.q("nx.example.com", "A")
    status, text = get(port)
    assert status == 200
    assert sample(text, "srvd_queries_total", zone="example.com", qtype="SRV") == 7
    assert sample(text, "srvd_responses_total", zone="example.com", rcode="NXDOMAIN") == 1
    assert sample(text, "srvd_zone_answers_total", zone="example.com", qtype="SRV",
                  rcode="NOERROR") == 7
    assert sample(text, "srvd_zone_serial", zone="example.com") == 2024060101
    assert sample(text, "srvd_zone_last_load_ok", zone="example.com") == 1
    assert 'srvd_build_info{version="' in text
    promtool = shutil.which("promtool")
    assert promtool, "promtool (Debian package prometheus) is not installed"
    r = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def test_counters_survive_a_reload(srvd_factory, tmp_path):
    s, port = metrics_srvd(srvd_factory)
    for _ in range(3):
        s.q(SRV, "SRV")
    zone = s.zones[0][1]
    text = zone.read_text().replace("2024060101", "2024060102", 1)
    zone.write_text(text)
    s.signal(__import__("signal").SIGHUP)
    assert wait_for(lambda: s.q("example.com", "SOA").answer[0][0].serial == 2024060102, 30)
    s.q(SRV, "SRV")
    # the old version's counts are folded once no worker can see it
    assert wait_for(lambda: sample(get(port)[1], "srvd_queries_total", zone="example.com",
                                   qtype="SRV") == 4, 20), get(port)[1]


def test_prometheus_scrapes_srvd(srvd_factory, tmp_path):
    binary = shutil.which("prometheus")
    assert binary, "prometheus (Debian package) is not installed"
    s, port = metrics_srvd(srvd_factory)
    for _ in range(5):
        s.q(SRV, "SRV")
    web = free_ports(1, v6=False)
    conf = tmp_path / "prometheus.yml"
    conf.write_text(
        "global: {scrape_interval: 1s, scrape_timeout: 1s}\n"
        "scrape_configs:\n"
        "  - job_name: srvd\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n")
    log = open(tmp_path / "prometheus.log", "wb")
    proc = subprocess.Popen(
        [binary, f"--config.file={conf}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{web}"],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    try:
        q = urllib.parse.quote('srvd_queries_total{zone="example.com",qtype="SRV"}')

        def value():
            try:
                with urllib.request.urlopen(
                        f"http://127.0.0.1:{web}/api/v1/query?query={q}", timeout=5) as r:
                    res = json.load(r)["data"]["result"]
            except (OSError, ValueError, KeyError):
                return None
            return float(res[0]["value"][1]) if res else None

        got = wait_for(lambda: value() == 5, PROM_TIMEOUT)
        assert got, f"prometheus has {value()}; log:\n" + (
            tmp_path / "prometheus.log").read_text(errors="replace")[-3000:]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def raw(port, data, timeout=10):
    """Send data, return what comes back until the server closes (or b"")."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as c:
        c.sendall(data)
        out = b""
        try:
            while True:
                b = c.recv(65536)
                if not b:
                    break
                out += b
        except (ConnectionResetError, socket.timeout):
            pass
        return out


def status_of(reply):
    if not reply:
        return None  # closed without an answer
    return int(reply.split(b" ", 2)[1])


def test_bad_http_is_refused_and_dns_goes_on(srvd_factory):
    s, port = metrics_srvd(srvd_factory)
    with pytest.raises(urllib.error.HTTPError) as e:
        get(port, "/other")
    assert e.value.code == 404
    assert status_of(raw(port, b"GARBAGE\r\n\r\n")) in (400, None)
    assert status_of(raw(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 100000
                         + b"\r\n\r\n")) in (400, 413, 431, None)
    assert status_of(raw(port, b"POST /metrics HTTP/1.0\r\n\r\n")) in (405,)
    # slowloris: a head that stops half-way is cut off by the server's
    # timeout (5 s), and meanwhile DNS and other scrapes are served
    slow = socket.create_connection(("127.0.0.1", port), timeout=60)
    slow.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
    t0 = time.monotonic()
    assert s.q(SRV, "SRV").answer
    assert get(port)[0] == 200
    try:
        got = slow.recv(65536)  # b"" when closed, or an error status
    except (ConnectionResetError, socket.timeout):
        got = b""
    finally:
        slow.close()
    assert status_of(got) in (None, 408), got
    assert time.monotonic() - t0 < 50
    assert s.q(SRV, "SRV").answer


def test_a_trickled_request_is_cut_off_at_the_deadline(srvd_factory):
    """A client that sends its request head one byte a second is never
    idle for libmicrohttpd's 5 s timeout; the whole-request deadline (10 s,
    checked every second) cuts it, and DNS and scrapes go on meanwhile."""
    s, port = metrics_srvd(srvd_factory)
    head = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200
    c = socket.create_connection(("127.0.0.1", port), timeout=5)
    t0 = time.monotonic()
    closed_at = None
    try:
        for i in range(40):  # one byte a second: at most 40 s
            try:
                c.sendall(head[i:i + 1])
            except OSError:
                closed_at = time.monotonic()
                break
            # wait up to a second for the server to close (or answer)
            readable, _, _ = select.select([c], [], [], 1.0)
            if readable:
                try:
                    data = c.recv(65536)
                except OSError:
                    data = b""
                assert status_of(data) in (None, 408), data
                closed_at = time.monotonic()
                break
            if i % 4 == 0:
                assert s.q(SRV, "SRV").answer
                assert get(port)[0] == 200
    finally:
        c.close()
    assert closed_at is not None, "the trickling client was never cut off"
    took = closed_at - t0
    # not the idle timeout (5 s): the deadline, plus at most the 1 s reap
    # period and some scheduling on a busy machine
    assert 9.5 <= took <= 14, took
    assert wait_for(lambda: "whose request took over 10 s" in s.log(), 5), s.log()
    assert s.q(SRV, "SRV").answer


def test_server_counts_are_the_zones_and_what_no_zone_answered(srvd_factory):
    """Each answer counts once: the server-wide counts by type and rcode
    are the zones' plus the queries no zone answered (REFUSED here)."""
    s, port = metrics_srvd(srvd_factory)
    before = get(port)[1]  # the start-up check's SOA queries are in it
    for _ in range(3):
        assert s.q(SRV, "SRV").answer
    for _ in range(2):
        assert s.q("example.org", "A").rcode() == dns.rcode.REFUSED
    text = get(port)[1]

    def grew(name, **labels):
        return (sample(text, name, **labels) or 0) - (sample(before, name, **labels) or 0)

    assert grew("srvd_server_responses_total", rcode="REFUSED") == 2
    assert grew("srvd_server_responses_total", rcode="NOERROR") == 3
    assert grew("srvd_server_queries_by_qtype_total", qtype="SRV") == 3
    assert grew("srvd_server_queries_by_qtype_total", qtype="A") == 2
    assert sample(text, "srvd_responses_total", zone="example.com", rcode="REFUSED") is None
    assert grew("srvd_server_queries_total", transport="udp") == 5
    # every answer once: the server's NOERROR is the zone's NOERROR
    assert sample(text, "srvd_server_responses_total", rcode="NOERROR") == sample(
        text, "srvd_responses_total", zone="example.com", rcode="NOERROR")


def test_transfers_out_and_notify_out_per_zone(srvd_factory, tmp_path):
    z = tmp_path / "example.com.zone"
    shutil.copy(bundled_zone(), z)
    dead = free_ports(1, v6=False)  # nobody answers: srvd retries its NOTIFY
    mport = free_ports(1, v6=False)
    s = srvd_factory(zones=[("example.com", z, ["127.0.0.1"], [f"127.0.0.1@{dead}"])],
                     server_extra={"metrics": f'"127.0.0.1@{mport}"'}, control=True)
    assert wait_for(lambda: "metrics: serving /metrics" in s.log(), 20), s.log()
    # the AXFR by hand, to see the bytes srvd sent: messages until the
    # second SOA (a small zone: one message)
    q = dns.message.make_query("example.com", "AXFR")
    w = q.to_wire()
    sizes, soas = [], 0
    with socket.create_connection(("127.0.0.1", s.port), timeout=10) as c:
        c.sendall(struct.pack("!H", len(w)) + w)
        buf = b""
        while soas < 2:
            while len(buf) < 2 or len(buf) < 2 + struct.unpack("!H", buf[:2])[0]:
                more = c.recv(65536)
                assert more, "the transfer ended early"
                buf += more
            n = struct.unpack("!H", buf[:2])[0]
            msg, buf = buf[2:2 + n], buf[2 + n:]
            sizes.append(n)
            m = dns.message.from_wire(msg, one_rr_per_rrset=True)
            soas += sum(1 for rr in m.answer if rr.rdtype == dns.rdatatype.SOA)

    def stats():
        rc, out, err = s.ctl("stats", "example.com", json_out=True)
        assert rc == 0, err
        return out["data"]

    assert wait_for(lambda: stats()["xfr_out"] == 1 and stats()["notify_out"] >= 1, 20), stats()
    st = stats()
    assert st["xfr_out_bytes"] == sum(sizes), (st, sizes)
    text = get(mport)[1]
    assert sample(text, "srvd_zone_transfers_out_total", zone="example.com") == 1
    assert sample(text, "srvd_zone_transfer_out_bytes_total",
                  zone="example.com") == st["xfr_out_bytes"]
    assert sample(text, "srvd_zone_notify_out_total", zone="example.com") >= 1
    rc, out, err = s.ctl("stats", "nosuch.example")
    assert rc == 1 and "unknown zone" in err
