"""NOTIFY out (RFC 1996): the message srvd sends and its retries, checked
by a test socket that plays the secondary, and the real thing: Knot DNS as
a secondary of srvd picks up a changed zone within seconds of the edit."""

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdatatype
import pytest

from srvdtest import ZONE_SERIAL, bundled_zone, free_ports, query, soa_serial, wait_for

KNOTD = shutil.which("knotd") or "/usr/sbin/knotd"
KNOT_START = 20.0  # Knot's first transfer from srvd
PROPAGATE = 5.0  # from the zone file edit to Knot serving the new serial


def zone_text(serial, extra=""):
    text, n = re.subn(r"\b\d{10}\b", str(serial), bundled_zone().read_text(), count=1)
    assert n == 1
    return text + extra


def replace(path, text):
    tmp = path.with_name("." + path.name + ".tmp")
    tmp.write_text(text)
    os.rename(tmp, path)


def recv_notify(sock, timeout):
    sock.settimeout(timeout)
    data, peer = sock.recvfrom(4096)
    return dns.message.from_wire(data), data, peer


def check_notify(m, serial):
    assert m.opcode() == dns.opcode.NOTIFY
    assert m.flags & dns.flags.AA and not m.flags & dns.flags.QR
    (q,) = m.question
    assert q.name.to_text() == "example.com." and q.rdtype == dns.rdatatype.SOA
    (soa,) = m.answer
    assert soa.rdtype == dns.rdatatype.SOA and soa[0].serial == serial


def test_notify_message_and_retries(srvd_factory, tmp_path):
    """At start-up srvd notifies; with no answer it retries after 1 s, then
    2 s, with the same ID; an answer ends it; a new serial notifies again."""
    sec = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sec.bind(("127.0.0.1", 0))
    sec_port = sec.getsockname()[1]
    z = tmp_path / "example.com.zone"
    z.write_text(zone_text(ZONE_SERIAL))
    with sec:
        s = srvd_factory(zones=[("example.com", z, None, [f"127.0.0.1@{sec_port}"])], v6=False)
        m1, _, peer1 = recv_notify(sec, 5)
        check_notify(m1, ZONE_SERIAL)
        # (m1 may have waited in our socket while the fixture checked that
        # srvd is up, so the second retry is the one to time)
        m2, _, peer2 = recv_notify(sec, 5)  # not answered: a retry
        t2 = time.monotonic()
        m3, _, peer3 = recv_notify(sec, 5)
        gap = time.monotonic() - t2
        for m in (m2, m3):
            check_notify(m, ZONE_SERIAL)
            assert m.id == m1.id
        assert peer1 == peer2 == peer3
        assert 1.5 < gap < 3.0, f"second retry after {gap:.2f} s, want 2 s"
        # a reply with the wrong ID is not an answer; the right one is
        bad = dns.message.make_response(m2)
        bad.id = (m2.id + 1) % 65536
        sec.sendto(bad.to_wire(), peer2)
        sec.sendto(dns.message.make_response(m2).to_wire(), peer2)
        ack = f"notify: zone example.com. serial {ZONE_SERIAL}: 127.0.0.1@{sec_port} acknowledged"
        assert wait_for(lambda: ack in s.log(), 3.0), s.log()
        with pytest.raises(socket.timeout):
            recv_notify(sec, 2.5)  # nothing more after the answer
        # a new serial is notified at once
        replace(z, zone_text(ZONE_SERIAL + 1))
        m3, _, peer3 = recv_notify(sec, 5)
        check_notify(m3, ZONE_SERIAL + 1)
        r = dns.message.make_response(m3)
        r.set_rcode(dns.rcode.REFUSED)
        sec.sendto(r.to_wire(), peer3)
        assert wait_for(lambda: "127.0.0.1@%d answered REFUSED" % sec_port in s.log(), 3.0), \
            s.log()


TSIG_NAME = "xfr-key"
TSIG_SECRET = "a25vdC1hbmQtc3J2ZC1zaGFyZS10aGlzLWtleS0xMjM0NQ=="


def knot_conf(d, kport, sport, ctl_dir, tsig):
    key = "\n    key: " + TSIG_NAME if tsig else ""
    keys = (f"key:\n  - id: {TSIG_NAME}\n    algorithm: hmac-sha256\n"
            f"    secret: {TSIG_SECRET}\n") if tsig else ""
    return keys + f"""server:
    rundir: "{d}"
    listen: 127.0.0.1@{kport}
control:
    listen: "{ctl_dir}/knot.sock"
log:
  - target: "{d}/knot.log"
    any: debug
database:
    storage: "{d}"
remote:
  - id: srvd
    address: 127.0.0.1@{sport}{key}
acl:
  - id: notify_from_srvd
    address: 127.0.0.1{key}
    action: notify
template:
  - id: default
    storage: "{d}"
    zonefile-sync: -1
    zonefile-load: none
    journal-content: none
zone:
  - domain: example.com
    master: srvd
    acl: notify_from_srvd
"""


@pytest.mark.skipif(not os.access(KNOTD, os.X_OK), reason="knotd not installed (apt-get install knot)")
def test_knot_secondary_follows_notify(srvd_factory, tmp_path):
    knot_follows(srvd_factory, tmp_path, tsig=False)


@pytest.mark.skipif(not os.access(KNOTD, os.X_OK), reason="knotd not installed (apt-get install knot)")
def test_knot_secondary_with_tsig(srvd_factory, tmp_path):
    """The transfer ACL names only a key (allow-transfer: [key:xfr-key]):
    Knot's signed AXFR/IXFR get the zone from an address the ACL does not
    list, and srvd's NOTIFYs are signed with the zone's key, which Knot's
    notify ACL requires."""
    s = knot_follows(srvd_factory, tmp_path, tsig=True)
    assert "tsig: query from" not in s.log(), s.log()  # no request failed its check


def knot_follows(srvd_factory, tmp_path, tsig):
    """Knot as a secondary of srvd: the first transfer, then two edits of
    the zone file, each served by Knot within PROPAGATE of the edit."""
    base = free_ports(2, v6=False)
    kport, sport = base, base + 1
    z = tmp_path / "example.com.zone"
    z.write_text(zone_text(ZONE_SERIAL))
    acl = [f'"key:{TSIG_NAME}"'] if tsig else ["127.0.0.1"]
    keys = (f"keys:\n  - name: {TSIG_NAME}\n    algorithm: hmac-sha256\n"
            f"    secret: \"{TSIG_SECRET}\"\n") if tsig else ""
    s = srvd_factory(zones=[("example.com", z, acl, [f"127.0.0.1@{kport}"],
                             TSIG_NAME if tsig else None)],
                     port=sport, v6=False, top_extra=keys)
    kd = tmp_path / "knot"
    kd.mkdir()
    # Knot stops if its control socket can't bind, and sun_path holds 108
    # bytes: a test folder under a long checkout path does not fit.
    ctl_dir = tempfile.mkdtemp(prefix="knotctl.")
    (kd / "knot.conf").write_text(knot_conf(kd, kport, sport, ctl_dir, tsig))
    out = open(kd / "stdout.log", "wb")
    knot = subprocess.Popen([KNOTD, "-c", str(kd / "knot.conf")], stdin=subprocess.DEVNULL,
                            stdout=out, stderr=subprocess.STDOUT)

    def knot_log():
        return "".join((kd / f).read_text(errors="replace")
                       for f in ("knot.log", "stdout.log") if (kd / f).exists())

    try:
        got = wait_for(lambda: soa_serial("127.0.0.1", kport) == ZONE_SERIAL, KNOT_START,
                       proc=knot)
        assert got, "Knot never transferred the zone from srvd:\n" + knot_log() + s.log()
        for i in (1, 2):
            new = ZONE_SERIAL + i
            t0 = time.monotonic()
            replace(z, zone_text(new, f'v{i} IN TXT "version {i}"\n'))
            got = wait_for(lambda: soa_serial("127.0.0.1", kport) == new, PROPAGATE,
                           interval=0.05, proc=knot)
            took = time.monotonic() - t0
            assert got, (f"Knot still serves {soa_serial('127.0.0.1', kport)}, want {new}\n"
                         + knot_log() + s.log())
            print(f"Knot served serial {new} {took:.2f} s after the edit")
            r = query("127.0.0.1", kport, f"v{i}.example.com", "TXT")
            assert [rd.to_text() for rd in r.answer[0]] == [f'"version {i}"']
        ack = f"serial {ZONE_SERIAL + 2}: 127.0.0.1@{kport} acknowledged"
        assert wait_for(lambda: ack in s.log(), 3.0), s.log()
        assert re.search(r"notify, incoming|NOTIFY", knot_log(), re.I), knot_log()
        if tsig:  # Knot took the NOTIFYs by their key, and pulled IXFRs with it
            assert re.search(r"ACL, allowed, action notify, .*key 'xfr-key\.'", knot_log()), \
                knot_log()
            assert re.search(r"IXFR, incoming, .* finished", knot_log()), knot_log()
        return s
    finally:
        if knot.poll() is None:
            os.kill(knot.pid, signal.SIGTERM)
            try:
                knot.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(knot.pid, signal.SIGKILL)
                knot.wait(timeout=10)
        out.close()
        shutil.rmtree(ctl_dir, ignore_errors=True)
