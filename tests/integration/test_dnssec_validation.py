"""DNSSEC answers checked by a real validating resolver (issue 10, item 6).

srvd serves the signed fixtures of tests/golden/zones/dnssec (NSEC, NSEC3,
NSEC3 with opt-out, each with a signed child), and unbound resolves through
stub zones pointing at srvd with the parents' keys as trust anchors. Every
answer must come back validated (AD=1) with the right rcode: the Matrix
SRV, its target's addresses, a CNAME, NXDOMAIN, NODATA, empty
non-terminals, wildcard answers and wildcard NODATA, a delegation with DS
(the child validates through it) and one without (the proof there is no
DS). An answer whose signatures or proofs were wrong would be SERVFAIL
(bogus) or lack AD.

In the opt-out zone every NSEC3 has the opt-out flag (dnssec-signzone -A),
so a proof that rests on an NSEC3 covering a name cannot rule out an
unsigned delegation there: unbound answers those (NXDOMAIN, wildcards, no
DS) as insecure, without AD (RFC 5155 8.4, 8.6, 9.2). They must still have
the right rcode and not be bogus; proofs by a matching NSEC3 keep AD.

delv (bind9-dnsutils), when installed, validates the Matrix SRV on its own
against srvd: "fully validated" in its trace.
"""

import os
import shutil
import subprocess

import dns.flags
import dns.message
import dns.query
import dns.rcode
import pytest

from srvdtest import SOURCE_DIR, bundled_zone, free_ports, wait_for

FIXTURES = SOURCE_DIR / "tests" / "golden" / "zones" / "dnssec"
PARENTS = ["nsec.test", "nsec3.test", "nsec3o.test"]
UNBOUND = shutil.which("unbound") or "/usr/sbin/unbound"

pytestmark = pytest.mark.skipif(not os.access(UNBOUND, os.X_OK),
                                reason="unbound is not installed (scripts/test.sh installs it)")


def anchors_for(names):
    """The DNSKEY lines of trust-anchors whose owner is one of names."""
    want = {n.rstrip(".") + "." for n in names}
    return [line for line in (FIXTURES / "trust-anchors").read_text().splitlines()
            if line.split() and line.split()[0].lower() in want]


class Unbound:
    def __init__(self, workdir, srvd_port):
        self.workdir = workdir
        self.port = free_ports(1, v6=False)
        self.proc = None
        ta = workdir / "anchors"
        ta.write_text("\n".join(anchors_for(PARENTS)) + "\n")
        stubs = []
        for p in PARENTS:
            for z in (p, "secure." + p):
                stubs.append(f'stub-zone:\n  name: "{z}"\n  stub-addr: 127.0.0.1@{srvd_port}\n')
        conf = f"""server:
  interface: 127.0.0.1
  port: {self.port}
  do-ip6: no
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "{workdir}"
  pidfile: "{workdir}/unbound.pid"
  logfile: "{workdir}/unbound.log"
  use-syslog: no
  verbosity: 1
  val-log-level: 2
  num-threads: 1
  so-reuseport: no
  do-not-query-localhost: no
  access-control: 127.0.0.0/8 allow
  module-config: "validator iterator"
  trust-anchor-file: "{ta}"
  local-zone: "test." nodefault
  cache-max-negative-ttl: 0
remote-control:
  control-enable: no
""" + "".join(stubs)
        self.conf = workdir / "unbound.conf"
        self.conf.write_text(conf)

    def start(self):
        self.proc = subprocess.Popen([UNBOUND, "-d", "-c", str(self.conf)],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.STDOUT)
        up = wait_for(lambda: self._answers(), 20.0, proc=self.proc)
        assert up, f"unbound did not start; log:\n{self.log()}"

    def _answers(self):
        try:
            self.q("nsec.test", "SOA", timeout=1.0)
            return True
        except Exception:  # noqa: BLE001 - not up yet
            return False

    def q(self, name, rdtype, timeout=5.0):
        m = dns.message.make_query(name, rdtype, want_dnssec=True)
        m.flags |= dns.flags.RD
        return dns.query.udp(m, "127.0.0.1", port=self.port, timeout=timeout)

    def log(self):
        p = self.workdir / "unbound.log"
        return p.read_text(errors="replace") if p.exists() else ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def signed_srvd(srvd_factory, tmp_path):
    zones = [("example.com", bundled_zone(), None)]
    for p in PARENTS:
        zones.append((p, FIXTURES / f"{p}.signed", None))
        zones.append(("secure." + p, FIXTURES / f"secure.{p}.signed", None))
    return srvd_factory(zones=zones, v6=False)


@pytest.fixture
def unbound(signed_srvd, tmp_path):
    u = Unbound(tmp_path, signed_srvd.port)
    u.start()
    yield u
    u.stop()


def cases(z):
    """(name, type, rcode, answer expected, AD expected) for parent zone z."""
    ok, nx = dns.rcode.NOERROR, dns.rcode.NXDOMAIN
    # Names whose proof needs an NSEC3 covering a name: insecure with opt-out.
    covered = {f"nosuch.{z}", f"_matrix-fed._tcp.nosuch.{z}", f"foo.wild.{z}",
               f"a.b.wild.{z}", f"nosuch.secure.{z}", f"insecure.{z}", f"ext.{z}"}
    ad = (lambda name: name not in covered) if z == "nsec3o.test" else (lambda name: True)
    return [(n, t, rc, has, ad(n)) for n, t, rc, has in [
        (f"_matrix-fed._tcp.{z}", "SRV", ok, True),   # the Matrix SRV
        (f"_matrix._tcp.{z}", "SRV", ok, True),
        (f"matrix.{z}", "A", ok, True),               # its target
        (f"matrix.{z}", "AAAA", ok, True),
        (f"www.{z}", "A", ok, True),                  # CNAME to the target
        (f"nosuch.{z}", "A", nx, False),              # NXDOMAIN
        (f"_matrix-fed._tcp.nosuch.{z}", "SRV", nx, False),
        (f"matrix.{z}", "TXT", ok, False),            # NODATA
        (f"_tcp.{z}", "SRV", ok, False),              # ENT (RFC 8020)
        (f"b.ent.{z}", "A", ok, False),
        (f"foo.wild.{z}", "TXT", ok, True),           # wildcard
        (f"a.b.wild.{z}", "A", ok, True),
        (f"foo.wild.{z}", "MX", ok, False),           # wildcard NODATA
        (f"secure.{z}", "DS", ok, True),              # delegation with DS
        (f"secure.{z}", "A", ok, True),               # ...validated through it
        (f"nosuch.secure.{z}", "A", nx, False),
        (f"insecure.{z}", "DS", ok, False),           # delegation without DS
        (f"ext.{z}", "DS", ok, False),
        (z, "DNSKEY", ok, True),
    ]]


@pytest.mark.parametrize("zone", PARENTS)
def test_unbound_validates(unbound, zone):
    bad = []
    for name, rdtype, rcode, has_answer, ad in cases(zone):
        r = unbound.q(name, rdtype)
        got = (dns.rcode.to_text(r.rcode()), bool(r.flags & dns.flags.AD), bool(r.answer))
        want = (dns.rcode.to_text(rcode), ad, has_answer)
        if got != want:
            bad.append(f"{name} {rdtype}: rcode/AD/answer {got}, want {want}")
    assert not bad, "\n".join(bad) + "\nunbound log:\n" + unbound.log()[-6000:]


@pytest.mark.skipif(not shutil.which("delv"), reason="delv (bind9-dnsutils) is not installed")
@pytest.mark.parametrize("zone", PARENTS)
def test_delv_fully_validated(signed_srvd, tmp_path, zone):
    keys = "".join(
        f'  {f[0]} static-key {f[3]} {f[4]} {f[5]} "{"".join(f[6:])}";\n'
        for f in (line.split() for line in anchors_for([zone])))
    anchor = tmp_path / f"{zone}.anchor"
    anchor.write_text("trust-anchors {\n" + keys + "};\n")
    out = subprocess.run(
        ["delv", "@127.0.0.1", "-p", str(signed_srvd.port), "-a", str(anchor),
         f"+root={zone}", "+vtrace", f"_matrix-fed._tcp.{zone}", "SRV"],
        capture_output=True, text=True, timeout=60)
    assert "; fully validated" in out.stdout, out.stdout + out.stderr
