"""UPDATE interop (issue 11): the same nsupdate (bind9-dnsutils) and
knsupdate (knot-dnsutils) sequences against srvd and against a knotd
primary with an update ACL for the same key must give the same rcode at
every step and the same zone afterwards (AXFR compared as sets of records,
the SOA included). Each step is one run of the tool, because both stop at
the first failed `send`.

The steps cover RFC 2136: each prerequisite kind failing and succeeding
(the value-dependent one too), add, delete-RR, delete-RRset, delete-name
(at the apex: all but SOA and NS), the SOA rules (a lower serial is
ignored, a higher one taken), the last apex NS never deleted, CNAME
against other data, duplicates, an out-of-zone record (NOTZONE). Both
servers bump the serial by one per update that changes something (srvd's
serial-policy: increment, Knot's default), so the serials compare too.
"""

import base64
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import dns.query
import dns.rdatatype
import dns.zone
import pytest

from srvdtest import Srvd, bundled_zone, free_ports, soa_serial, wait_for

KEY = "ops"
SECRET = base64.b64encode(b"interop-secret-for-the-update!!!").decode()
KNOTD = shutil.which("knotd") or "/usr/sbin/knotd"
TOOL_TIMEOUT = 30

pytestmark = pytest.mark.skipif(
    not Path(KNOTD).exists() or not shutil.which("nsupdate") or not shutil.which("knsupdate"),
    reason="needs knotd, nsupdate (bind9-dnsutils) and knsupdate (knot-dnsutils)")

SOA = "example.com. 3600 SOA ns1.example.com. hostmaster.example.com. {} 7200 3600 1209600 300"

# (what the step shows, its lines for nsupdate/knsupdate, the rcode both must give)
STEPS = [
    ("add a name where none is", ["prereq nxdomain new.example.com.",
                                  "update add new.example.com. 300 A 192.0.2.50"], "NOERROR"),
    ("prereq nxdomain fails", ["prereq nxdomain new.example.com.",
                               "update add new.example.com. 300 A 192.0.2.51"], "YXDOMAIN"),
    ("prereq yxdomain fails", ["prereq yxdomain nosuch.example.com.",
                               "update add nosuch.example.com. 300 TXT x"], "NXDOMAIN"),
    ("prereq yxdomain holds", ["prereq yxdomain new.example.com.",
                               "update add new.example.com. 300 A 192.0.2.51"], "NOERROR"),
    ("prereq yxrrset fails", ["prereq yxrrset matrix.example.com. TXT",
                              "update add matrix.example.com. 300 TXT x"], "NXRRSET"),
    ("prereq nxrrset fails", ["prereq nxrrset matrix.example.com. A",
                              "update add matrix.example.com. 300 TXT x"], "YXRRSET"),
    ("prereq yxrrset by value holds", ["prereq yxrrset matrix.example.com. A 192.0.2.10",
                                       "update add matrix.example.com. 300 TXT v=1"], "NOERROR"),
    ("prereq yxrrset by value fails", ["prereq yxrrset matrix.example.com. A 192.0.2.99",
                                       "update add matrix.example.com. 300 TXT v=2"], "NXRRSET"),
    ("prereq nxrrset holds", ["prereq nxrrset matrix.example.com. MX",
                              "update add matrix.example.com. 300 MX 10 matrix.example.com."],
     "NOERROR"),
    ("three TXT in one RRset", ["update add txt.example.com. 300 TXT a",
                                "update add txt.example.com. 300 TXT b",
                                "update add txt.example.com. 300 TXT c"], "NOERROR"),
    ("delete one RR", ["update delete txt.example.com. TXT b"], "NOERROR"),
    ("a duplicate is dropped", ["update add txt.example.com. 300 TXT a"], "NOERROR"),
    ("delete an RRset", ["update delete txt.example.com. TXT"], "NOERROR"),
    ("delete what is not there", ["update delete nosuch.example.com. A"], "NOERROR"),
    ("delete a name", ["update delete new.example.com."], "NOERROR"),
    ("SOA with a lower serial is ignored", ["update add " + SOA.format(1)], "NOERROR"),
    ("SOA with a higher serial is taken", ["update add " + SOA.format(2024070100)], "NOERROR"),
    ("delete every apex NS: kept", ["update delete example.com. NS"], "NOERROR"),
    ("delete one of two apex NS", ["update delete example.com. NS ns2.example.net."], "NOERROR"),
    ("delete the last apex NS: kept", ["update delete example.com. NS ns1.example.com."],
     "NOERROR"),
    ("delete the apex name: SOA and NS stay", ["update delete example.com."], "NOERROR"),
    ("CNAME where data is: ignored", ["update add matrix.example.com. 300 CNAME x.example.com."],
     "NOERROR"),
    ("a CNAME name", ["update add alias.example.com. 300 CNAME matrix.example.com."], "NOERROR"),
    ("data where a CNAME is: ignored", ["update add alias.example.com. 300 A 192.0.2.7"],
     "NOERROR"),
    ("prereq and update together", ["prereq yxrrset alias.example.com. CNAME",
                                    "update delete alias.example.com. CNAME",
                                    "update add alias.example.com. 300 AAAA 2001:db8::7"],
     "NOERROR"),
    ("add to an RRset with another TTL", ["update add matrix.example.com. 60 A 192.0.2.11"],
     "NOERROR"),
    ("delete the SOA: ignored", ["update delete example.com. SOA"], "NOERROR"),
    ("a delegation", ["update add sub.example.com. 300 NS ns.sub.example.com.",
                      "update add ns.sub.example.com. 300 A 192.0.2.9"], "NOERROR"),
    ("out of the zone", ["update add www.example.net. 300 A 192.0.2.8"], "NOTZONE"),
]


class UpdSrvd(Srvd):
    def write_config(self):
        super().write_config()
        text = self.conf_path.read_text()
        grant = f"    update:\n      - key: {KEY}\n        names: [\"*\", \"@\"]\n"
        text = re.sub(r"(    file: .*\n)", lambda m: m.group(1) + grant, text, count=1)
        text += f"keys:\n  - name: {KEY}\n    algorithm: hmac-sha256\n    secret: {SECRET}\n"
        self.conf_path.write_text(text)


class KnotPrimary:
    """knotd serving example.com from a copy of the bundled zone, UPDATE
    allowed for the key, transfers for 127.0.0.1; stopped by PID."""

    def __init__(self, logdir: Path):
        self.port = free_ports(1, v6=False)
        self.dir = Path(tempfile.mkdtemp(prefix="knot."))  # short: its socket lives here
        (self.dir / "example.com.zone").write_text(bundled_zone().read_text())
        (self.dir / "knot.conf").write_text(f"""server:
    rundir: "{self.dir}"
    listen: 127.0.0.1@{self.port}
database:
    storage: "{self.dir}"
log:
  - target: stderr
    any: info
key:
  - id: {KEY}
    algorithm: hmac-sha256
    secret: {SECRET}
acl:
  - id: update
    key: {KEY}
    action: update
  - id: transfer
    address: 127.0.0.1
    action: transfer
template:
  - id: default
    storage: "{self.dir}"
    zonefile-sync: -1
    journal-content: changes
zone:
  - domain: example.com
    file: example.com.zone
    acl: [update, transfer]
""")
        self.log_path = logdir / "knot.log"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([KNOTD, "-c", str(self.dir / "knot.conf")],
                                     stdout=self._log, stderr=subprocess.STDOUT)
        assert wait_for(lambda: soa_serial("127.0.0.1", self.port), 20, proc=self.proc), \
            self.log()

    def log(self):
        return self.log_path.read_text(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self._log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def run_step(tool, port, lines):
    """One update by nsupdate or knsupdate: the rcode's name."""
    script = "\n".join([f"server 127.0.0.1 {port}", "zone example.com.",
                        f"key hmac-sha256:{KEY} {SECRET}"] +
                       lines + ["send", ""])
    p = subprocess.run([tool], input=script, capture_output=True, text=True,
                       timeout=TOOL_TIMEOUT)
    out = p.stdout + p.stderr
    if p.returncode == 0:
        return "NOERROR"
    m = re.search(r"update failed: (\w+)", out) or re.search(r"error '(\w+)'", out)
    assert m, f"{tool} exited {p.returncode}: {out}"
    return m.group(1)


def zone_set(port):
    z = dns.zone.from_xfr(dns.query.xfr("127.0.0.1", "example.com", port=port, timeout=10))
    return {(n.to_text(), ttl, dns.rdatatype.to_text(rd.rdtype), rd.to_text())
            for n, ttl, rd in z.iterate_rdatas()}


@pytest.fixture
def servers(tmp_path):
    zone = tmp_path / "example.com.zone"
    zone.write_text(bundled_zone().read_text())
    s = UpdSrvd(tmp_path, [("example.com", zone, ["127.0.0.1"])], v6=False)
    s.start()
    k = None
    try:
        k = KnotPrimary(tmp_path)
        yield s, k
    finally:
        if k:
            k.stop()
        assert s.stop() == 0, s.log()


@pytest.mark.parametrize("tool", ["nsupdate", "knsupdate"])
def test_same_rcodes_and_zone_as_knot(servers, tool):
    s, k = servers
    assert zone_set(s.port) == zone_set(k.port)  # the same start
    table = []
    for what, lines, want in STEPS:
        got_s, got_k = run_step(tool, s.port, lines), run_step(tool, k.port, lines)
        table.append((what, want, got_s, got_k))
    report = "\n".join(f"{w:40} want {a:9} srvd {b:9} knot {c}" for w, a, b, c in table)
    assert all(a == b == c for _, a, b, c in table), report
    zs, zk = zone_set(s.port), zone_set(k.port)
    assert zs == zk, (f"only srvd: {sorted(zs - zk)}\nonly knot: {sorted(zk - zs)}\n"
                      + report)
    # what the steps were to leave, so that "the same" is not "both unchanged"
    names = {(n, t) for n, _, t, _ in zs}
    assert ("matrix", "MX") in names and ("alias", "AAAA") in names
    assert ("new", "A") not in names and ("txt", "TXT") not in names
    assert ("@", "A") not in names  # the apex name was deleted ...
    assert [r for r in zs if r[0] == "@" and r[2] == "NS"] == [
        ("@", 3600, "NS", "ns1")]  # ... but its last NS stayed
    # 2024070100 from the update, then +1 for each of the six steps after it
    # that changed something
    assert [r[3].split()[2] for r in zs if r[2] == "SOA"] == ["2024070106"]
    assert ("sub", "NS") in names
    assert {r[1] for r in zs if r[0] == "matrix" and r[2] == "A"} == {60}  # one TTL per RRset
