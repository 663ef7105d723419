"""srvd with no arguments, started in the repository root, serves zones/ on
127.0.0.1@8053 and [::1]@8053 (what scripts/quickstart.sh runs).

Port 8053 is srvd's documented default for this mode (5353 is mDNS, held by
avahi-daemon on desktops), so the test does not look for another one: if
something else holds it, the test fails and says so. The no-config options
(-l, -z) and the ./zones rule for an installed binary are tested on free
ports.
"""

import os
import shutil
import signal
import subprocess

import dns.flags
import dns.rcode
import pytest

from srvdtest import (SOURCE_DIR, STOP_TIMEOUT, START_TIMEOUT, ZONE_SERIAL, bundled_zone,
                      free_ports, port_busy, query, rdata_texts, soa_serial, srvd_bin, wait_for)

PORT = 8053


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


def run_until_serving(tmp_path, args, cwd, port, exe=None):
    """Start srvd with args, wait for an SOA answer on 127.0.0.1@port, stop
    it by PID; returns its log."""
    logp = tmp_path / "srvd.log"
    with open(logp, "wb") as log:
        p = subprocess.Popen([str(exe or srvd_bin())] + args, cwd=cwd, stdin=subprocess.DEVNULL,
                             stdout=log, stderr=subprocess.STDOUT)
        try:
            serial = wait_for(lambda: soa_serial("127.0.0.1", port), START_TIMEOUT, proc=p)
            assert serial == ZONE_SERIAL, logp.read_text(errors="replace")
        finally:
            if p.poll() is None:
                os.kill(p.pid, signal.SIGTERM)
                p.wait(timeout=STOP_TIMEOUT)
    assert p.returncode == 0, logp.read_text(errors="replace")
    return logp.read_text(errors="replace")


def test_listen_and_zones_dir_options(tmp_path):
    """-l ADDR@PORT (repeatable) and -z DIR, from any working directory."""
    port = free_ports(1)
    zones = tmp_path / "myzones"
    zones.mkdir()
    shutil.copy(bundled_zone(), zones)
    log = run_until_serving(tmp_path, ["-l", f"127.0.0.1@{port}", "-l", f"[::1]@{port}",
                                       "-z", str(zones)], cwd="/", port=port)
    assert f"listening on 127.0.0.1@{port}" in log and f"listening on ::1@{port}" in log, log
    assert f"@{PORT}" not in log, log


def test_installed_binary_uses_cwd_zones(tmp_path):
    """A binary outside a build tree serves ./zones of the working directory
    and says so; it does not look for a path from the build tree."""
    port = free_ports(1)
    bindir = tmp_path / "sbin"
    bindir.mkdir()
    exe = bindir / "srvd"
    shutil.copy(srvd_bin(), exe)
    work = tmp_path / "work"
    (work / "zones").mkdir(parents=True)
    shutil.copy(bundled_zone(), work / "zones")
    log = run_until_serving(tmp_path, ["-l", f"127.0.0.1@{port}"], cwd=work, port=port, exe=exe)
    assert f"serving the zone files in {work / 'zones'} (./zones in the working directory)" \
        in log, log
    empty = tmp_path / "empty"
    empty.mkdir()
    p = subprocess.run([str(exe)], cwd=empty, capture_output=True, text=True, timeout=30)
    assert p.returncode == 1 and "no ./zones folder" in p.stderr and "-z DIR" in p.stderr, p
