"""Secondary mode against real primaries (knotd, nsd, named): the first AXFR,
NOTIFY and IXFR, TSIG, SOA timers and expiry, and the saved copy.

Each test starts its own primary (primaries.py) and srvd on free loopback
ports with short timers, and stops both by PID."""

import shutil
import time

import dns.message
import dns.opcode
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset
import dns.tsig
import dns.tsigkeyring
import dns.flags
import pytest

from primaries import KEY_NAME, KEY_SECRET, OTHER_SECRET, PRIMARIES, zone_text
from srvdtest import Srvd, bundled_zone, free_ports, wait_for, yaml_str

ZONE = "sec.test"
KINDS = sorted(PRIMARIES)


class SecSrvd(Srvd):
    """srvd serving example.com (primary, for start-up) and ZONE as a
    secondary of 127.0.0.1@primary_port."""

    def __init__(self, workdir, primary_port, key_secret=None, key_name=KEY_NAME, timers=None,
                 notify=None, **kw):
        ex = workdir / "example.com.zone"
        shutil.copy(bundled_zone(), ex)
        super().__init__(workdir, [("example.com", ex, ["127.0.0.1"])], control=True, **kw)
        self.primary_port = primary_port
        self.key_secret = key_secret
        self.key_name = key_name
        self.timers = timers or {}
        self.notify = notify or []
        self.copy = workdir / f"{ZONE}.zone"

    def write_config(self):
        super().write_config()
        ports = self.primary_port if isinstance(self.primary_port, list) else [self.primary_port]
        prim = ", ".join(f'"127.0.0.1@{p}"' for p in ports)
        lines = [f"  - name: {ZONE}", f"    file: {yaml_str(self.copy)}",
                 f"    primaries: [{prim}]",
                 "    allow-transfer: [127.0.0.1]"]
        if self.key_secret:
            lines.append(f"    key: {self.key_name}")
        lines += [f"    {k}: {v}" for k, v in self.timers.items()]
        if self.notify:
            lines.append("    notify: [" + ", ".join(f'"{a}"' for a in self.notify) + "]")
        if self.key_secret:
            lines += ["keys:", f"  - name: {self.key_name}", "    algorithm: hmac-sha256",
                      f"    secret: \"{self.key_secret}\""]
        with open(self.conf_path, "a") as f:
            f.write("\n".join(lines) + "\n")

    def sec(self, qtype="SOA", name=ZONE, tcp=False):
        return self.q(name, qtype, tcp=tcp)

    def serial(self):
        try:
            r = self.sec()
        except Exception:
            return None
        if r.rcode() == dns.rcode.NOERROR and r.answer:
            return r.answer[0][0].serial
        return None

    def wait_serial(self, serial, timeout):
        return wait_for(lambda: self.serial() == serial or None, timeout, interval=0.05,
                        proc=self.proc)

    def status(self):
        rc, out, err = self.ctl("zone-status", ZONE, json_out=True)
        assert rc == 0, err
        return out["data"]["zones"][0]


def axfr_set(port):
    """Every RR of a full transfer, as text, the closing SOA left out."""
    q = dns.message.make_query(ZONE, "AXFR")
    rrs = []
    for m in dns.query.xfr("127.0.0.1", ZONE, port=port, lifetime=10):
        for rrset in m.answer:
            for rd in rrset:
                rrs.append(f"{rrset.name} {rrset.ttl} {dns.rdatatype.to_text(rrset.rdtype)} "
                           f"{rd.to_text()}")
    del q
    assert rrs and rrs[0] == rrs[-1], "a transfer starts and ends with the SOA"
    return sorted(rrs[:-1])


@pytest.fixture(params=KINDS)
def kind(request):
    if not shutil.which({"knot": "knotd", "nsd": "nsd", "bind": "named"}[request.param]):
        pytest.skip(f"{request.param} is not installed")
    return request.param


@pytest.fixture
def peers(tmp_path, kind):
    """(make_primary, make_srvd): started servers, all stopped at the end."""
    started = []

    def make_primary(tsig=False, serial=1, port=None):
        p = PRIMARIES[kind](tmp_path / f"{kind}{len(started)}", ZONE, make_primary.srvd_port,
                            tsig=tsig)
        p.port = port
        p.write_zone(zone_text(ZONE, serial, records=50))
        started.append(p)
        return p.start(serial=serial)

    make_primary.srvd_port = free_ports(1)

    def make_srvd(primary_port, name="srvd", **kw):
        wd = tmp_path / name
        wd.mkdir(exist_ok=True)
        s = SecSrvd(wd, primary_port, port=make_primary.srvd_port, **kw)
        started.append(s)
        s.start()
        return s

    yield make_primary, make_srvd
    problems = []
    for s in reversed(started):
        if isinstance(s, Srvd):
            if s.proc is not None and not s.stopped:
                if s.proc.poll() is not None:
                    problems.append(f"srvd exited with {s.proc.returncode}:\n{s.log()}")
                elif s.stop() != 0:
                    problems.append(f"srvd exited {s.proc.returncode}:\n{s.log()}")
        else:
            s.cleanup()
    assert not problems, "\n".join(problems)


def test_transfer_notify_ixfr(peers, kind):
    make_primary, make_srvd = peers
    p = make_primary()
    s = make_srvd(p.port)
    assert s.wait_serial(1, 10), s.log()
    assert axfr_set(s.port) == axfr_set(p.port)
    st = s.status()
    assert st["secondary"] and st["serial"] == 1 and st["axfr_in"] == 1
    assert st["primary"] == f"127.0.0.1@{p.port}"

    # one record changes; the primary reloads and sends NOTIFY
    t0 = time.monotonic()
    p.update(zone_text(ZONE, 2, records=50, extra=["new IN TXT changed"]), 2)
    assert s.wait_serial(2, 2.0), f"not serving serial 2 within 2 s:\n{s.log()}"
    took = time.monotonic() - t0
    assert axfr_set(s.port) == axfr_set(p.port)
    log = s.log()
    assert "notify: zone sec.test. serial 2 from 127.0.0.1" in log
    how = "IXFR, incremental" if p.ixfr else "AXFR"
    assert f"serving serial 2 from 127.0.0.1@{p.port} ({how}" in log, log
    st = s.status()
    assert st["ixfr_in" if p.ixfr else "axfr_in"] == 1 + (0 if p.ixfr else 1)
    print(f"{kind}: NOTIFY to serving serial 2: {took * 1000:.0f} ms")

    # IXFR out from the journal: serial 1 -> 2 incrementally
    q = dns.message.make_query(ZONE, "IXFR")
    q.authority.append(dns.rrset.from_text(ZONE + ".", 300, "IN", "SOA",
                                            f"ns.{ZONE}. hostmaster.{ZONE}. 1 60 30 604800 60"))
    r = dns.query.tcp(q, "127.0.0.1", port=s.port, timeout=5, one_rr_per_rrset=True)
    soas = [rr for rr in r.answer if rr.rdtype == dns.rdatatype.SOA]
    assert [x[0].serial for x in soas] == [2, 1, 2, 2], r
    added = [rr for rr in r.answer if rr.rdtype == dns.rdatatype.TXT]
    assert len(added) == 1 and str(added[0].name) == f"new.{ZONE}."

    # srvdctl: the text form, retransfer (AXFR whatever the serial), refresh
    rc, text, err = s.ctl("zone-status", ZONE)
    assert rc == 0 and f"secondary: primary=127.0.0.1@{p.port}" in text, text + err
    axfrs = s.status()["axfr_in"]
    rc, _, err = s.ctl("retransfer", ZONE)
    assert rc == 0, err
    assert wait_for(lambda: s.status()["axfr_in"] == axfrs + 1 or None, 10), s.log()
    assert s.serial() == 2
    rc, _, err = s.ctl("refresh", ZONE)
    assert rc == 0, err
    rc, _, err = s.ctl("refresh", "example.com")
    assert rc == 1 and "not transferred" in err, err

    # 20 NOTIFYs in a burst: each answered, and at most three SOA checks:
    # one at once, one at the end of the 250 ms hold-off for those that came
    # during or just after it (RFC 1996 4.4 coalescing), and one more if the
    # burst outlasted that on a busy machine. Before the hold-off, each
    # NOTIFY that came after a check ended started another (13 of 20 seen).
    import socket
    checks = s.log().count(": up to date")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(3)
        for i in range(20):
            n = dns.message.make_query(ZONE, "SOA")
            n.set_opcode(dns.opcode.NOTIFY)
            sock.sendto(n.to_wire(), ("127.0.0.1", s.port))
        for i in range(20):
            r = dns.message.from_wire(sock.recv(4096))
            assert r.rcode() == dns.rcode.NOERROR and r.opcode() == dns.opcode.NOTIFY
    assert wait_for(lambda: s.log().count(": up to date") > checks or None, 5), s.log()
    # Nothing to wait for but the absence of more checks: a window of four
    # hold-offs, so that a held check would have run in it.
    time.sleep(1.0)
    assert s.log().count(": up to date") - checks <= 3, s.log()


def test_tsig(peers, kind):
    make_primary, make_srvd = peers
    p = make_primary(tsig=True)
    s = make_srvd(p.port, key_secret=KEY_SECRET)
    assert s.wait_serial(1, 10), s.log()
    # signed NOTIFY from the primary, signed IXFR/AXFR
    p.update(zone_text(ZONE, 2, records=50, extra=["new IN TXT signed"]), 2)
    assert s.wait_serial(2, 5), s.log()
    assert "(TSIG)" in s.log()
    # srvd signs what it sends: AXFR and an SOA query over TCP with the key
    keyring = dns.tsigkeyring.from_text({KEY_NAME: ("hmac-sha256", KEY_SECRET)})
    n = 0
    for m in dns.query.xfr("127.0.0.1", ZONE, port=s.port, keyring=keyring, keyname=KEY_NAME,
                           keyalgorithm="hmac-sha256", lifetime=10):
        n += len(m.answer)
    assert n > 50
    q = dns.message.make_query(ZONE, "SOA")
    q.use_tsig(keyring, KEY_NAME, algorithm="hmac-sha256")
    r = dns.query.tcp(q, "127.0.0.1", port=s.port, timeout=5)
    assert r.had_tsig and r.answer[0][0].serial == 2
    wrong = dns.tsigkeyring.from_text({KEY_NAME: ("hmac-sha256", OTHER_SECRET)})
    q = dns.message.make_query(ZONE, "SOA")
    q.use_tsig(wrong, KEY_NAME, algorithm="hmac-sha256")
    with pytest.raises(dns.tsig.PeerBadSignature):
        dns.query.tcp(q, "127.0.0.1", port=s.port, timeout=5)
    s.stop()

    # the same copy, a wrong secret: the saved serial 2 stays, nothing new
    p.update(zone_text(ZONE, 3, records=50), 3)
    bad = make_srvd(p.port, name="srvd", key_secret=OTHER_SECRET)
    assert bad.serial() == 2
    bad.ctl("refresh", ZONE)
    assert wait_for(lambda: "TSIG" in bad.status().get("last_error", "") or None, 10), bad.log()
    assert bad.serial() == 2
    assert "TSIG" in bad.log()
    bad.stop()

    # a key name the primary does not know: rejected too
    other = make_srvd(p.port, name="other", key_secret=KEY_SECRET, key_name="unknown-key")
    assert wait_for(lambda: bad_error(other), 10), other.log()
    r = other.sec()
    assert r.rcode() == dns.rcode.REFUSED  # never transferred: not served


def test_primaries_in_order(peers, kind):
    """The first primary does not answer: the second one is used."""
    if kind != "knot":
        pytest.skip("srvd's order of primaries: one kind of primary shows it")
    make_primary, make_srvd = peers
    p = make_primary()
    dead = free_ports(1, v6=False)
    s = make_srvd([dead, p.port])
    assert s.wait_serial(1, 15), s.log()
    assert s.status()["primary"] == f"127.0.0.1@{p.port}"
    assert f"127.0.0.1@{dead}" in s.log()  # the first one was tried


def test_size_limit(peers, kind):
    """A transfer larger than xfr-max-size is abandoned, with the reason."""
    if kind != "knot":
        pytest.skip("the limit is srvd's: one primary shows it")
    make_primary, make_srvd = peers
    p = make_primary()
    s = make_srvd(p.port, server_extra={"xfr-max-size": 600})
    assert wait_for(lambda: "600 bytes" in s.status().get("last_error", "") or None, 10), s.log()
    assert s.sec().rcode() == dns.rcode.REFUSED  # never transferred


def bad_error(s):
    e = s.status().get("last_error", "")
    return ("TSIG" in e or "NOTAUTH" in e or "REFUSED" in e or "BADKEY" in e) or None


def test_expire_and_recover(peers, kind):
    make_primary, make_srvd = peers
    p = make_primary()
    s = make_srvd(p.port, timers={"refresh-max": 1, "retry-max": 1, "expire-max": 5})
    assert s.wait_serial(1, 10), s.log()
    port = p.port
    p.stop()
    assert s.serial() == 1, s.log()  # still served while the primary is away
    assert wait_for(lambda: "SOA check failed" in s.log() or None, 5), s.log()
    r = None
    for _ in range(150):
        r = s.sec()
        if r.rcode() == dns.rcode.SERVFAIL:
            break
        time.sleep(0.1)
    assert r.rcode() == dns.rcode.SERVFAIL and not (r.flags & dns.flags.AA), s.log()
    assert "zone sec.test: expired" in s.log()
    assert s.status()["expired"] is True
    # example.com is not disturbed
    assert s.q("example.com", "SOA").rcode() == dns.rcode.NOERROR
    p.port = port
    p.start(serial=1)
    assert s.wait_serial(1, 5), s.log()
    assert "answers again" in s.log()


def test_restart_serves_saved_copy(peers, kind):
    make_primary, make_srvd = peers
    p = make_primary()
    s = make_srvd(p.port)
    assert s.wait_serial(1, 10), s.log()
    want = axfr_set(s.port)
    assert wait_for(lambda: s.copy.exists() or None, 5)
    s.stop()
    p.stop()
    s2 = make_srvd(p.port)  # same folder: the copy and its state
    assert s2.serial() == 1  # at once, without a primary
    assert axfr_set(s2.port) == want
    assert "serving the saved copy (serial 1)" in s2.log()
    # srvd-checkzone accepts the copy
    import subprocess
    from srvdtest import srvd_bin
    chk = srvd_bin().parent / "srvd-checkzone"
    if chk.exists():
        r = subprocess.run([str(chk), ZONE, str(s2.copy)], capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr


def knot_secondary(d, port, primary_port, tsig):
    """A knotd secondary of 127.0.0.1@primary_port, NOTIFY and transfers
    with the key when tsig."""
    import subprocess
    import tempfile
    d.mkdir()
    sock = tempfile.mkdtemp(prefix="knotctl.")
    kref = f"    key: {KEY_NAME}\n" if tsig else ""
    key = (f"key:\n  - id: {KEY_NAME}\n    algorithm: hmac-sha256\n    secret: {KEY_SECRET}\n"
           if tsig else "")
    (d / "knot.conf").write_text(f"""server:
    rundir: "{d}"
    listen: 127.0.0.1@{port}
log:
  - target: "{d}/knot.log"
    any: info
database:
    storage: "{d}"
control:
    listen: "{sock}/knot.sock"
{key}remote:
  - id: up
    address: 127.0.0.1@{primary_port}
{kref}acl:
  - id: notify
    address: 127.0.0.1
{kref}    action: notify
zone:
  - domain: {ZONE}
    file: "{d}/{ZONE}.zone"
    master: up
    acl: notify
""")
    out = open(d / "stdout.log", "ab")
    proc = subprocess.Popen(["knotd", "-c", str(d / "knot.conf")], stdin=subprocess.DEVNULL,
                            stdout=out, stderr=subprocess.STDOUT)
    return proc, out, sock


def test_chain_with_tsig(tmp_path):
    """knotd -> srvd -> knotd, every hop signed: srvd's NOTIFY out, its
    answers to the downstream SOA query (UDP) and IXFR are signed."""
    if not shutil.which("knotd"):
        pytest.skip("knotd is not installed")
    import os
    import signal
    from primaries import Knot, soa_serial
    sport, dport = free_ports(1), free_ports(1, v6=False)
    up = Knot(tmp_path / "up", ZONE, sport, tsig=True)
    up.write_zone(zone_text(ZONE, 1, records=50))
    up.start(serial=1)
    wd = tmp_path / "srvd"
    wd.mkdir()
    s = SecSrvd(wd, up.port, port=sport, key_secret=KEY_SECRET, notify=[f"127.0.0.1@{dport}"])
    proc = out = sock = None
    try:
        s.start()
        assert s.wait_serial(1, 10), s.log()
        proc, out, sock = knot_secondary(tmp_path / "down", dport, sport, tsig=True)
        assert wait_for(lambda: soa_serial(dport, ZONE) == 1 or None, 15), \
            (tmp_path / "down" / "knot.log").read_text()
        up.update(zone_text(ZONE, 2, records=50, extra=["new IN TXT chained"]), 2)
        assert s.wait_serial(2, 5), s.log()
        assert wait_for(lambda: soa_serial(dport, ZONE) == 2 or None, 10), \
            (tmp_path / "down" / "knot.log").read_text() + s.log()
        assert "acknowledged" in s.log()
        down = (tmp_path / "down" / "knot.log").read_text()
        assert "IXFR, incoming" in down and "finished" in down, down
    finally:
        if proc and proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
        if out:
            out.close()
        if sock:
            shutil.rmtree(sock, ignore_errors=True)
        rc = s.stop() if s.proc else 0
        up.cleanup()
    assert rc == 0, s.log()


def test_primary_ixfr_from_journal(srvd_factory, tmp_path):
    """A primary zone's reload with a newer serial is diffed into its journal,
    and IXFR from the old serial is answered incrementally."""
    from srvdtest import ZONE_SERIAL
    zone = tmp_path / "example.com.zone"
    shutil.copy(bundled_zone(), zone)
    s = srvd_factory(zones=[("example.com", zone, ["127.0.0.1"])], control=True)
    text = zone.read_text().replace(str(ZONE_SERIAL), str(ZONE_SERIAL + 1))
    zone.write_text(text + 'journal IN TXT "new"\n')
    rc, _, err = s.ctl("reload", "example.com")
    assert rc == 0, err
    q = dns.message.make_query("example.com", "IXFR")
    q.authority.append(dns.rrset.from_text(
        "example.com.", 3600, "IN", "SOA",
        f"ns1.example.com. hostmaster.example.com. {ZONE_SERIAL} 7200 3600 1209600 300"))

    def incremental():
        r = dns.query.tcp(q, "127.0.0.1", port=s.port, timeout=5, one_rr_per_rrset=True)
        soas = [rr[0].serial for rr in r.answer if rr.rdtype == dns.rdatatype.SOA]
        return r if soas == [ZONE_SERIAL + 1, ZONE_SERIAL, ZONE_SERIAL + 1, ZONE_SERIAL + 1] \
            else None

    r = wait_for(incremental, 10)
    assert r, s.log()
    txt = [rr for rr in r.answer if rr.rdtype == dns.rdatatype.TXT]
    assert [str(t.name) for t in txt] == ["journal.example.com."]
    assert wait_for(lambda: (tmp_path / "example.com.zone.jnl").exists() or None, 5)


def test_reload_changes_key(peers, kind):
    """A config reload with another secret: the next check fails TSIG, the
    data stays; the right secret again: it recovers."""
    if kind != "knot":
        pytest.skip("srvd's config reload: one kind of primary shows it")
    make_primary, make_srvd = peers
    p = make_primary(tsig=True)
    s = make_srvd(p.port, key_secret=KEY_SECRET)
    assert s.wait_serial(1, 10), s.log()
    s.key_secret = OTHER_SECRET
    s.write_config()
    s.ctl("reload")  # waits until the new config is in force
    rc, _, err = s.ctl("refresh", ZONE)
    assert rc == 0, err
    assert wait_for(lambda: "TSIG" in s.status().get("last_error", "") or None, 10), s.log()
    assert s.serial() == 1
    s.key_secret = KEY_SECRET
    s.write_config()
    s.ctl("reload")
    p.update(zone_text(ZONE, 2, records=50), 2)
    assert s.wait_serial(2, 10), s.log()


def test_zone_stats_and_metrics_of_a_secondary(peers, kind):
    """srvdctl stats ZONE and the metrics endpoint show a secondary's
    transfers in with their bytes, the NOTIFY it accepted, and when its
    data was last confirmed and expires."""
    if kind != "knot":
        pytest.skip("the counters are srvd's: one kind of primary shows them")
    make_primary, make_srvd = peers
    p = make_primary()
    mport = free_ports(1, v6=False)
    t_start = time.time()
    s = make_srvd(p.port, server_extra={"metrics": f'"127.0.0.1@{mport}"'})
    assert s.wait_serial(1, 10), s.log()
    p.update(zone_text(ZONE, 2, records=50, extra=["new IN TXT changed"]), 2)
    assert s.wait_serial(2, 10), s.log()

    def stats():
        rc, out, err = s.ctl("stats", ZONE, json_out=True)
        assert rc == 0, err
        return out["data"]

    # the counts land as the transfer ends, just before the serial is served
    assert wait_for(lambda: stats()["xfr_in"] >= 2, 10), stats()
    st = stats()
    assert st["zone"] == ZONE + "." and st["serial"] == 2
    assert st["notify_in"] >= 1 and st["xfr_in_failed"] == 0
    # bytes of real transfers: an AXFR of ~55 records is well over 1 KB
    assert st["xfr_in_bytes"] > 1000, st
    now = time.time()
    assert t_start - 1 <= st["last_refresh_at"] <= now + 1
    # expire in the primary's SOA is 604800 s (no bounds set here)
    assert st["expires_at"] == st["last_refresh_at"] + 604800, st
    # the same numbers on the metrics endpoint
    import urllib.request
    with urllib.request.urlopen(f"http://127.0.0.1:{mport}/metrics", timeout=10) as r:
        text = r.read().decode()

    def metric(name):
        for line in text.splitlines():
            if line.startswith(name + '{zone="' + ZONE + '"}'):
                return float(line.rsplit(" ", 1)[1])
        return None

    assert metric("srvd_zone_transfers_in_total") == st["xfr_in"]
    assert metric("srvd_zone_transfer_in_bytes_total") == st["xfr_in_bytes"]
    assert metric("srvd_zone_notify_in_total") == st["notify_in"]
    assert metric("srvd_zone_last_refresh_timestamp_seconds") == st["last_refresh_at"]
    assert metric("srvd_zone_expire_timestamp_seconds") == st["expires_at"]
