"""srvd with no arguments, started in the repository root, serves zones/ on
127.0.0.1@5353 and [::1]@5353 (what scripts/quickstart.sh runs).

Port 5353 is srvd's documented default for this mode, so the test does not
look for another one: if something else holds it, the test fails and says so.
"""

import os
import signal
import subprocess

import dns.flags
import dns.rcode
import pytest

from srvdtest import (SOURCE_DIR, STOP_TIMEOUT, START_TIMEOUT, ZONE_SERIAL, port_busy, query,
                      rdata_texts, soa_serial, srvd_bin, wait_for)

PORT = 5353


@pytest.fixture
def default_srvd(tmp_path):
    if port_busy(PORT, v6=True):
        pytest.fail(f"port {PORT} (UDP or TCP, 127.0.0.1 or ::1) is already in use; the "
                    f"no-config default needs it. Stop whatever holds it "
                    f"(ss -lntup 'sport = :{PORT}') and rerun.")
    log = open(tmp_path / "srvd.log", "wb")
    p = subprocess.Popen([str(srvd_bin())], cwd=SOURCE_DIR, stdin=subprocess.DEVNULL,
                         stdout=log, stderr=subprocess.STDOUT)

    def logtext():
        return (tmp_path / "srvd.log").read_text(errors="replace")

    try:
        serial = wait_for(lambda: soa_serial("127.0.0.1", PORT), START_TIMEOUT, proc=p)
        assert serial == ZONE_SERIAL, (f"no SOA answer on 127.0.0.1@{PORT} (exit "
                                       f"{p.poll()}); log:\n{logtext()}")
        yield p
    finally:
        if p.poll() is None:
            os.kill(p.pid, signal.SIGTERM)
            try:
                p.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGKILL)
                p.wait(timeout=STOP_TIMEOUT)
        log.close()
    assert p.returncode == 0, f"exit {p.returncode} after SIGTERM; log:\n{logtext()}"


@pytest.mark.parametrize("addr", ["127.0.0.1", "::1"])
@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_default_serves_zones_dir(default_srvd, addr, tcp):
    r = query(addr, PORT, "_matrix-fed._tcp.example.com", "SRV", tcp=tcp)
    assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA
    assert {rd.to_text() for rd in r.answer[0]} == {"10 0 8448 matrix.example.com."}
    assert rdata_texts(r.additional, "matrix.example.com.", "A") == {"192.0.2.10"}
    assert rdata_texts(r.additional, "matrix.example.com.", "AAAA") == {"2001:db8::10"}


def test_default_refuses_other_zones(default_srvd):
    r = query("127.0.0.1", PORT, "example.org", "A")
    assert r.rcode() == dns.rcode.REFUSED
