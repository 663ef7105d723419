"""dnstap (server: dnstap:), against Debian's fstrm_capture (fstrm-bin) and
dnstap-ldns: what a collector gets is the query and the answer srvd sent,
and a collector that stops reading costs messages, never answers."""

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from srvdtest import srvd_bin, wait_for

SRV = "_matrix-fed._tcp.example.com"
CONTENT_TYPE = "protobuf:dnstap.Dnstap"


def loadgen_bin() -> Path:
    """bench/loadgen of the same build as srvd (LOADGEN_BIN overrides)."""
    p = Path(os.environ.get("LOADGEN_BIN") or srvd_bin().parents[2] / "bench" / "loadgen")
    assert p.is_file() and os.access(p, os.X_OK), f"loadgen not found at {p}"
    return p


class Capture:
    """fstrm_capture on a unix socket (a short path: sun_path holds 108
    bytes), writing a Frame Streams file; stopped by PID."""

    def __init__(self):
        binary = shutil.which("fstrm_capture")
        assert binary, "fstrm_capture (Debian package fstrm-bin) is not installed"
        self.dir = Path(tempfile.mkdtemp(prefix="srvd-dt."))
        self.sock = self.dir / "dt.sock"
        self.out = self.dir / "cap.fstrm"
        self.log_path = self.dir / "capture.log"
        self._log = open(self.log_path, "wb")
        # -ddd: "accepted new connection", so the test knows srvd is there
        self.proc = subprocess.Popen(
            [binary, "-ddd", "-t", CONTENT_TYPE, "-u", str(self.sock), "-w", str(self.out)],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT)
        assert wait_for(lambda: self.sock.exists(), 10, proc=self.proc), self.log()
        self.stopped = False

    def log(self):
        return self.log_path.read_text(errors="replace")

    def connected(self):
        return "accepted new connection" in self.log()

    def stop(self):
        if self.proc.poll() is None:
            if self.stopped:
                os.kill(self.proc.pid, signal.SIGCONT)
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._log.close()

    def decode(self):
        binary = shutil.which("dnstap-ldns")
        assert binary, "dnstap-ldns (Debian package dnstap-ldns) is not installed"
        r = subprocess.run([binary, "-y", "-r", str(self.out)], capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0, r.stderr
        return r.stdout

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def capture():
    c = Capture()
    yield c
    c.stop()
    c.cleanup()


def dnstap_srvd(srvd_factory, capture, extra=""):
    s = srvd_factory(server_extra={"dnstap": f'{{socket: "{capture.sock}"{extra}}}'},
                     control=True)
    assert wait_for(capture.connected, 20), capture.log() + s.log()
    return s


def messages(yaml_text):
    """The dnstap messages of dnstap-ldns -y output, one dict of their
    top-level fields and the text of query/response each."""
    out = []
    for doc in yaml_text.split("---"):
        if "message:" not in doc:
            continue
        t = re.search(r"^  type: (\w+)", doc, re.M)
        out.append({"type": t.group(1) if t else None, "text": doc})
    return out


def test_capture_has_the_srv_query_and_its_answer(srvd_factory, capture):
    s = dnstap_srvd(srvd_factory, capture)
    r = s.q(SRV, "SRV")
    assert r.answer
    s.q("nx.example.com", "A", tcp=True)
    assert s.stop() == 0  # the I/O thread flushes on the way out
    capture.stop()
    msgs = messages(capture.decode())
    q = [m for m in msgs if m["type"] == "AUTH_QUERY" and SRV + "." in m["text"]]
    a = [m for m in msgs if m["type"] == "AUTH_RESPONSE" and SRV + "." in m["text"]]
    assert len(q) == 1 and len(a) == 1, capture.decode()
    assert 'query_address: "127.0.0.1"' in q[0]["text"]
    assert "socket_protocol: UDP" in q[0]["text"]
    ans = a[0]["text"]
    # the answer as srvd sent it: the SRV record and the target's addresses
    assert re.search(r"SRV\s+10 0 8448 matrix\.example\.com\.", ans), ans
    assert re.search(r"matrix\.example\.com\.\s+\d+\s+IN\s+A\s+192\.0\.2\.10", ans), ans
    assert re.search(r"matrix\.example\.com\.\s+\d+\s+IN\s+AAAA\s+2001:db8::10", ans), ans
    assert "NOERROR" in ans
    tcp = [m for m in msgs if m["type"] == "AUTH_RESPONSE" and "nx.example.com." in m["text"]]
    assert len(tcp) == 1 and "NXDOMAIN" in tcp[0]["text"] and "TCP" in tcp[0]["text"]


def test_sampling_and_filters(srvd_factory, capture):
    s = dnstap_srvd(srvd_factory, capture, ", sample: 3, qtypes: [SRV]")
    for _ in range(9):
        assert s.q(SRV, "SRV").answer
    for _ in range(5):
        s.q("example.com", "A")  # not SRV: never logged
    assert s.stop() == 0
    capture.stop()
    msgs = messages(capture.decode())
    # one in 3 of the 9 SRV queries: each of the 2 workers samples its
    # own share (no counter is shared), so 3, or 4 when the split is odd
    aq = sum(m["type"] == "AUTH_QUERY" for m in msgs)
    assert 3 <= aq <= 4, capture.decode()
    assert sum(m["type"] == "AUTH_RESPONSE" for m in msgs) == aq
    assert all(SRV + "." in m["text"] for m in msgs)


def test_a_stalled_collector_loses_messages_not_queries(srvd_factory, capture, tmp_path):
    s = dnstap_srvd(srvd_factory, capture)
    os.kill(capture.proc.pid, signal.SIGSTOP)
    capture.stopped = True
    qfile = tmp_path / "queries.txt"
    qfile.write_text(f"{SRV} SRV NOERROR\nexample.com A NOERROR\n")
    # 20,000 queries at 5,000 a second: 40,000 messages of ~150 bytes, far
    # more than the socket buffers between srvd and a collector that reads
    # nothing, so the I/O thread blocks and the worker queues fill.
    r = subprocess.run([str(loadgen_bin()), "-s", "127.0.0.1", "-p", str(s.port), "-q",
                        str(qfile), "-r", "5000", "-n", "20000", "-d", "30", "--quiet"],
                       capture_output=True, text=True, timeout=90)
    assert r.returncode == 0, r.stderr
    res = dict(kv.split("=", 1) for kv in r.stdout.split())
    assert int(res["sent"]) == 20000
    assert int(res["answered"]) == 20000, r.stdout
    assert int(res["lost"]) == 0 and int(res["wrong"]) == 0, r.stdout
    rc, st, err = s.ctl("stats", json_out=True)
    assert rc == 0, err
    dt = st["data"]["dnstap"]
    assert dt["dropped"] > 0, st
    # stopping does not wait for the collector either (bounded by the
    # socket timeouts); the fixture also checks the exit status
    t0 = time.monotonic()
    assert s.stop() == 0
    assert time.monotonic() - t0 < 8
