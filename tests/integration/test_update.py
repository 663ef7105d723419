"""Dynamic update (RFC 2136/3007) against the real srvd: what an ACME client
and an operator rely on. A key under `acme:` may put TXT at _acme-challenge
and take it away again, and nothing else; the answer is NOERROR only once
queries see the change; prerequisites give their rcodes; a change survives
a restart (the journal is replayed over the zone file); a knotd secondary
follows the change by IXFR after our NOTIFY."""

import base64
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import dns.update
import pytest

from srvdtest import ZONE_SERIAL, Srvd, bundled_zone, free_ports, soa_serial, wait_for

ACME_KEY = "acme-matrix"
OPS_KEY = "ops"
SECRET = base64.b64encode(b"acme-secret-for-the-update-test!").decode()
OPS_SECRET = base64.b64encode(b"ops-secret-for-the-update-test!!").decode()
KEYRING = dns.tsigkeyring.from_text({ACME_KEY: SECRET, OPS_KEY: OPS_SECRET})
KNOTD = shutil.which("knotd") or "/usr/sbin/knotd"
TIMEOUT = 10.0  # one UPDATE under ASan on a busy machine


class UpdSrvd(Srvd):
    def write_config(self):
        super().write_config()
        text = self.conf_path.read_text()
        grants = (f"    acme: [{ACME_KEY}]\n"
                  "    update:\n"
                  f"      - key: {OPS_KEY}\n"
                  "        names: [\"*\", \"@\"]\n")
        text = re.sub(r"(    file: .*\n)", lambda m: m.group(1) + grants, text, count=1)
        text += ("keys:\n"
                 f"  - name: {ACME_KEY}\n    algorithm: hmac-sha256\n    secret: {SECRET}\n"
                 f"  - name: {OPS_KEY}\n    algorithm: hmac-sha256\n    secret: {OPS_SECRET}\n")
        self.conf_path.write_text(text)


@pytest.fixture
def srvd(tmp_path):
    zone = tmp_path / "example.com.zone"
    zone.write_text(bundled_zone().read_text())
    s = UpdSrvd(tmp_path, [("example.com", zone, None)], v6=False)
    s.start()
    yield s
    if not s.stopped:
        assert s.stop() == 0, s.log()


def send(s, upd, tcp=False):
    f = dns.query.tcp if tcp else dns.query.udp
    return f(upd, "127.0.0.1", port=s.port, timeout=TIMEOUT)


def acme(keyname=ACME_KEY):
    return dns.update.UpdateMessage("example.com", keyring=KEYRING, keyname=keyname,
                                    keyalgorithm=dns.tsig.HMAC_SHA256)


def txts(s, name):
    r = s.q(name, "TXT")
    return sorted(b"".join(rd.strings).decode() for rr in r.answer for rd in rr), r.rcode()


def test_acme_challenge_added_and_removed(srvd):
    u = acme()
    u.add("_acme-challenge", 60, "TXT", '"token-1"')
    r = send(srvd, u)
    assert r.rcode() == dns.rcode.NOERROR
    assert r.had_tsig  # dnspython verified the MAC of the answer
    # NOERROR comes after the publish: the very next query sees it
    assert txts(srvd, "_acme-challenge.example.com") == (["token-1"], dns.rcode.NOERROR)
    assert soa_serial("127.0.0.1", srvd.port) == ZONE_SERIAL + 1
    u = acme()
    u.add("_acme-challenge.matrix", 60, "TXT", '"token-2"')
    assert send(srvd, u, tcp=True).rcode() == dns.rcode.NOERROR
    assert txts(srvd, "_acme-challenge.matrix.example.com")[0] == ["token-2"]
    for name in ("_acme-challenge", "_acme-challenge.matrix"):
        u = acme()
        u.delete(name, "TXT")
        assert send(srvd, u).rcode() == dns.rcode.NOERROR
        assert txts(srvd, name + ".example.com") == ([], dns.rcode.NXDOMAIN)


def test_acme_key_may_not_touch_other_data(srvd):
    before = srvd.q("matrix.example.com", "A").answer
    u = acme()
    u.replace("matrix", 300, "A", "192.0.2.66")
    r = send(srvd, u)
    assert r.rcode() == dns.rcode.REFUSED
    assert r.had_tsig
    assert srvd.q("matrix.example.com", "A").answer == before
    assert soa_serial("127.0.0.1", srvd.port) == ZONE_SERIAL
    assert wait_for(lambda: re.search(r"zone example\.com: refused .* key acme-matrix\., "
                                      r"name matrix\.example\.com\., type 1", srvd.log()), 5)
    # unsigned: no grant names an address
    u = dns.update.UpdateMessage("example.com")
    u.add("_acme-challenge", 60, "TXT", '"x"')
    assert send(srvd, u).rcode() == dns.rcode.REFUSED
    # a wrong secret: NOTAUTH with BADSIG, as for transfers
    bad = dns.tsigkeyring.from_text({ACME_KEY: base64.b64encode(b"wrong" * 7).decode()})
    u = dns.update.UpdateMessage("example.com", keyring=bad, keyname=ACME_KEY,
                                 keyalgorithm=dns.tsig.HMAC_SHA256)
    u.add("_acme-challenge", 60, "TXT", '"x"')
    with pytest.raises(dns.tsig.PeerBadSignature):
        send(srvd, u)
    # a zone we do not serve
    u = dns.update.UpdateMessage("example.net", keyring=KEYRING, keyname=ACME_KEY,
                                 keyalgorithm=dns.tsig.HMAC_SHA256)
    u.add("x", 60, "TXT", '"x"')
    assert send(srvd, u).rcode() == dns.rcode.NOTAUTH


def test_prerequisites_and_all_or_nothing(srvd):
    cases = [
        (lambda u: u.present("nosuch"), dns.rcode.NXDOMAIN),
        (lambda u: u.absent("matrix"), dns.rcode.YXDOMAIN),
        (lambda u: u.present("matrix", "TXT"), dns.rcode.NXRRSET),
        (lambda u: u.absent("matrix", "A"), dns.rcode.YXRRSET),
    ]
    for pre, rcode in cases:
        u = acme(OPS_KEY)
        pre(u)
        u.add("new", 60, "A", "192.0.2.99")
        assert send(srvd, u).rcode() == rcode
    assert srvd.q("new.example.com", "A").rcode() == dns.rcode.NXDOMAIN
    assert soa_serial("127.0.0.1", srvd.port) == ZONE_SERIAL
    u = acme(OPS_KEY)
    u.present("matrix", "A")
    u.add("new", 60, "A", "192.0.2.99")
    assert send(srvd, u).rcode() == dns.rcode.NOERROR
    assert srvd.q("new.example.com", "A").answer[0][0].address == "192.0.2.99"


def test_updates_survive_a_restart(srvd):
    u = acme(OPS_KEY)
    u.add("kept", 60, "TXT", '"after restart"')
    assert send(srvd, u).rcode() == dns.rcode.NOERROR
    assert srvd.stop() == 0
    srvd.stopped = False
    srvd.start()
    assert txts(srvd, "kept.example.com")[0] == ["after restart"]
    assert soa_serial("127.0.0.1", srvd.port) == ZONE_SERIAL + 1


@pytest.mark.skipif(not shutil.which("knotd") and not shutil.which(KNOTD), reason="no knotd")
def test_knot_secondary_follows_by_ixfr(tmp_path):
    kport, sport = free_ports(2, v6=False), None
    zone = tmp_path / "example.com.zone"
    zone.write_text(bundled_zone().read_text())
    s = UpdSrvd(tmp_path, [("example.com", zone, ["127.0.0.1"], [f"127.0.0.1@{kport}"])],
                v6=False)
    s.start()
    sport = s.port
    kdir = Path(tempfile.mkdtemp(prefix="knot."))  # short: its control socket lives here
    (kdir / "knot.conf").write_text(f"""server:
    rundir: "{kdir}"
    listen: 127.0.0.1@{kport}
database:
    storage: "{kdir}"
log:
  - target: stderr
    any: info
remote:
  - id: primary
    address: 127.0.0.1@{sport}
acl:
  - id: notify
    address: 127.0.0.1
    action: notify
template:
  - id: default
    storage: "{kdir}"
zone:
  - domain: example.com
    master: primary
    acl: notify
""")
    log = open(tmp_path / "knot.log", "wb")
    k = subprocess.Popen([KNOTD, "-c", str(kdir / "knot.conf")], stdout=log,
                         stderr=subprocess.STDOUT)
    try:
        assert wait_for(lambda: soa_serial("127.0.0.1", kport) == ZONE_SERIAL, 20), \
            (tmp_path / "knot.log").read_text()
        u = acme()
        u.add("_acme-challenge", 60, "TXT", '"for-knot"')
        assert send(s, u).rcode() == dns.rcode.NOERROR
        assert wait_for(lambda: soa_serial("127.0.0.1", kport) == ZONE_SERIAL + 1, 20), \
            (tmp_path / "knot.log").read_text()
        r = dns.query.udp(dns.message.make_query("_acme-challenge.example.com", "TXT"),
                          "127.0.0.1", port=kport, timeout=3)
        assert r.answer and b"for-knot" in r.answer[0][0].strings[0]
        assert re.search(r"IXFR, incremental", s.log())
    finally:
        k.terminate()
        k.wait(timeout=10)
        log.close()
        shutil.rmtree(kdir, ignore_errors=True)
        assert s.stop() == 0, s.log()


class SecondarySrvd(Srvd):
    """A srvd secondary for example.com with the same keys."""

    def __init__(self, workdir, primary_port):
        super().__init__(workdir, [], v6=False)
        self.primary_port = primary_port

    def write_config(self):
        self.conf_path.write_text(
            f"server:\n  listen: [127.0.0.1@{self.port}]\n  workers: 2\n  log-level: debug\n"
            f"zones:\n  - name: example.com\n    file: {self.workdir / 'example.com.zone'}\n"
            f"    primaries: [127.0.0.1@{self.primary_port}]\n"
            f"keys:\n  - name: {ACME_KEY}\n    algorithm: hmac-sha256\n    secret: {SECRET}\n"
            f"  - name: {OPS_KEY}\n    algorithm: hmac-sha256\n    secret: {OPS_SECRET}\n")


@pytest.mark.parametrize("hosts", [0, 2000])
def test_secondary_forwards_to_the_primary(tmp_path, hosts):
    """RFC 2136 6: an UPDATE sent to a secondary reaches the primary, signed
    as it came, and the primary's answer comes back (its MAC verifies
    against the client's request). With 2,000 more records both servers
    make their new versions copy-on-write (the primary from the UPDATE,
    the secondary from the IXFR)."""
    sport = free_ports(1, v6=False)
    (tmp_path / "p").mkdir()
    (tmp_path / "s").mkdir()
    zone = tmp_path / "p" / "example.com.zone"
    zone.write_text(bundled_zone().read_text() +
                    "".join(f"host{i} 300 IN A 198.51.{i // 250}.{i % 250 + 1}\n"
                            for i in range(hosts)))
    p = UpdSrvd(tmp_path / "p", [("example.com", zone, ["127.0.0.1"], [f"127.0.0.1@{sport}"])],
                v6=False)
    p.start()
    s = SecondarySrvd(tmp_path / "s", p.port)
    s.port = sport
    try:
        s.start()
        u = acme()
        u.add("_acme-challenge", 60, "TXT", '"via-the-secondary"')
        r = send(s, u)
        assert r.rcode() == dns.rcode.NOERROR and r.had_tsig
        # the primary serves it when the answer comes back ...
        assert txts(p, "_acme-challenge.example.com")[0] == ["via-the-secondary"]
        assert soa_serial("127.0.0.1", p.port) == ZONE_SERIAL + 1
        # ... and the secondary follows by NOTIFY and IXFR
        assert wait_for(lambda: soa_serial("127.0.0.1", s.port) == ZONE_SERIAL + 1, 20)
        assert txts(s, "_acme-challenge.example.com")[0] == ["via-the-secondary"]
        assert re.search(r"IXFR, incremental", s.log())
        assert re.search(r"update: zone example\.com: forwarding to the primary 127\.0\.0\.1",
                         s.log())
        # over TCP too, and a refusal is the primary's, relayed
        u = acme()
        u.replace("matrix", 300, "A", "192.0.2.66")
        r = send(s, u, tcp=True)
        assert r.rcode() == dns.rcode.REFUSED and r.had_tsig
        assert wait_for(lambda: re.search(r"refused from 127\.0\.0\.1, key acme-matrix\., "
                                          r"name matrix\.example\.com\.", p.log()), 5)
        u = acme()
        u.delete("_acme-challenge", "TXT")
        assert send(s, u, tcp=True).rcode() == dns.rcode.NOERROR
        assert txts(p, "_acme-challenge.example.com") == ([], dns.rcode.NXDOMAIN)
    finally:
        if not s.stopped:
            assert s.stop() == 0, s.log()
        assert p.stop() == 0, p.log()
