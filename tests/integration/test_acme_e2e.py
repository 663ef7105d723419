"""The Matrix certificate end to end (issue 11): lego and certbot get a
certificate for example.com and *.example.com from a real ACME CA (pebble)
by DNS-01, through srvd.

  srvd primary   example.com with the Matrix SRV records, `acme:` key,
                 notify: the secondary, update-wait: NOERROR only once the
                 secondary serves the change
  srvd secondary follows the primary by NOTIFY/IXFR; the only DNS server
                 pebble knows (-dnsserver), so a validation that passes
                 proves the TXT reached the secondary before pebble asked
  pebble         PEBBLE_VA_ALWAYS_VALID=0 (it really resolves the TXT),
                 PEBBLE_VA_NOSLEEP=1, its HTTPS certificate from a CA the
                 test makes with openssl (the package ships none)
  lego, certbot  each with `--dns rfc2136` / `--dns-rfc2136`, as
                 docs/matrix-delegation.md says, against the primary

Then: the certificates' SANs (openssl), _acme-challenge without TXT on both
servers, the zone as it was (AXFR, serial aside), and the same key refused
for matrix.example.com A with the zone unchanged.

Two client settings are not the guide's, both for lego 4.9's checks before
it tells the CA to validate: `--dns.disable-cp`, because its complete
propagation check asks the zone's NS names (ns1.example.com, ns2.example.net)
on port 53, which do not exist here; and RFC2136_POLLING_INTERVAL and
RFC2136_SEQUENCE_INTERVAL of 1 s (60 s by default between the two
challenges). certbot gets --dns-rfc2136-propagation-seconds 0: no client
side wait at all, so the test stands on srvd's update-wait alone.
"""

import base64
import os
import re
import shutil
import ssl
import subprocess
import urllib.request
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import dns.update
import dns.zone
import pytest

from srvdtest import Srvd, bundled_zone, free_ports, soa_serial, wait_for, yaml_str

KEY = "acme-matrix"
SECRET = base64.b64encode(os.urandom(32)).decode()
KEYRING = dns.tsigkeyring.from_text({KEY: SECRET})
TOOLS = ("pebble", "lego", "certbot", "openssl")
CLIENT_TIMEOUT = 90  # seconds for one client run (ASan srvd, a busy machine)

pytestmark = pytest.mark.skipif(
    any(shutil.which(t) is None for t in TOOLS)
    or not Path("/usr/lib/python3/dist-packages/certbot_dns_rfc2136").is_dir(),
    reason="needs pebble, lego, certbot and python3-certbot-dns-rfc2136")


class ConfSrvd(Srvd):
    """srvd with its config text given by the test (ports fixed up front,
    because each server's config names the other's port)."""

    def __init__(self, workdir, port, text):
        super().__init__(workdir, [], port=port, v6=False, control=True)
        self.text = text

    def write_config(self):
        self.conf_path.write_text(self.text.format(port=self.port) +
                                  f"  control: {yaml_str(self.control)}\n")


def keys_yaml():
    return f"keys:\n  - name: {KEY}\n    algorithm: hmac-sha256\n    secret: {SECRET}\n"


def server_yaml():
    return "server:\n  listen: [127.0.0.1@{port}]\n  workers: 2\n  log-level: debug\n"


def axfr(port):
    """The zone as a set of (name, ttl, type, rdata) without the SOA, and the serial."""
    z = dns.zone.from_xfr(dns.query.xfr("127.0.0.1", "example.com", port=port, timeout=10))
    rrs, serial = set(), None
    for name, ttl, rd in z.iterate_rdatas():
        if rd.rdtype == dns.rdatatype.SOA:
            serial = rd.serial
            continue
        rrs.add((name.to_text(), ttl, dns.rdatatype.to_text(rd.rdtype), rd.to_text()))
    return rrs, serial


def challenge_rcode(port):
    q = dns.message.make_query("_acme-challenge.example.com", "TXT")
    r = dns.query.udp(q, "127.0.0.1", port=port, timeout=3)
    return r.rcode(), [rr for rr in r.answer if rr.rdtype == dns.rdatatype.TXT]


def sans(cert: Path) -> set:
    out = subprocess.run(["openssl", "x509", "-noout", "-ext", "subjectAltName", "-in",
                          str(cert)], capture_output=True, text=True, check=True).stdout
    return set(re.findall(r"DNS:([^,\s]+)", out))


def txt_queries(srv) -> int:
    rc, st, err = srv.ctl("stats", json_out=True)
    assert rc == 0, err
    return int(st["data"].get("qtype", {}).get("TXT", 0))


class Pebble:
    """pebble on two free loopback ports, its HTTPS certificate signed by a
    CA made here; stopped by PID."""

    def __init__(self, d: Path, dnsserver: str):
        self.d = d
        self.ca = d / "ca.pem"
        ossl = ["openssl"]
        run = lambda *a: subprocess.run(ossl + list(a), check=True, capture_output=True)
        run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", str(d / "ca.key"), "-out", str(self.ca), "-days", "2", "-subj",
            "/CN=srvd test CA")
        run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
            str(d / "pebble.key"), "-out", str(d / "pebble.csr"), "-subj", "/CN=127.0.0.1")
        (d / "ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        run("x509", "-req", "-in", str(d / "pebble.csr"), "-CA", str(self.ca), "-CAkey",
            str(d / "ca.key"), "-CAcreateserial", "-out", str(d / "pebble.pem"), "-days", "2",
            "-extfile", str(d / "ext"))
        base = free_ports(2, v6=False)
        self.directory = f"https://127.0.0.1:{base}/dir"
        (d / "pebble.json").write_text(
            '{"pebble": {"listenAddress": "127.0.0.1:%d", "managementListenAddress": '
            '"127.0.0.1:%d", "certificate": "%s", "privateKey": "%s", "httpPort": 5002, '
            '"tlsPort": 5001, "ocspResponderURL": "", "externalAccountBindingRequired": false}}'
            % (base, base + 1, d / "pebble.pem", d / "pebble.key"))
        env = dict(os.environ, PEBBLE_VA_ALWAYS_VALID="0", PEBBLE_VA_NOSLEEP="1",
                   PEBBLE_WFE_NONCEREJECT="0", PEBBLE_AUTHZREUSE="0")
        self.log_path = d / "pebble.log"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(["pebble", "-config", str(d / "pebble.json"), "-dnsserver",
                                      dnsserver], env=env, stdout=self._log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        ctx = ssl.create_default_context(cafile=str(self.ca))

        def up():
            try:
                with urllib.request.urlopen(self.directory, context=ctx, timeout=2) as r:
                    return r.status == 200
            except OSError:
                return False

        assert wait_for(up, 30, proc=self.proc), self.log()

    def log(self):
        return self.log_path.read_text(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self._log.close()


@pytest.fixture
def world(tmp_path):
    pport, sport = free_ports(1, v6=False), None
    while sport is None or sport == pport:
        sport = free_ports(1, v6=False)
    (tmp_path / "p").mkdir()
    (tmp_path / "s").mkdir()
    zone = tmp_path / "p" / "example.com.zone"
    zone.write_text(bundled_zone().read_text())
    # server: last, so that ConfSrvd's control: line lands in it
    ptext = (keys_yaml() + "zones:\n"
             f"  - name: example.com\n    file: {yaml_str(zone)}\n"
             f"    notify: [127.0.0.1@{sport}]\n"
             "    update-wait: 20\n"
             f"    acme: [{KEY}]\n" + server_yaml() + "  allow-transfer: [127.0.0.1]\n")
    stext = (keys_yaml() + "zones:\n"
             f"  - name: example.com\n    file: {yaml_str(tmp_path / 's' / 'example.com.zone')}\n"
             f"    primaries: [127.0.0.1@{pport}]\n" + server_yaml() +
             "  allow-transfer: [127.0.0.1]\n")
    primary = ConfSrvd(tmp_path / "p", pport, ptext)
    secondary = ConfSrvd(tmp_path / "s", sport, stext)
    primary.start()
    secondary.start()
    pebble = None
    try:
        pebble = Pebble(tmp_path, f"127.0.0.1:{sport}")
        yield primary, secondary, pebble, tmp_path
    finally:
        if pebble:
            pebble.stop()
        for s in (secondary, primary):
            if not s.stopped:
                assert s.stop() == 0, s.log()


def check_clean(primary, secondary, before):
    """After a client: no TXT left at _acme-challenge on either server, the
    secondary already at the primary's serial, the data as it was."""
    for srv in (primary, secondary):
        rcode, txt = challenge_rcode(srv.port)
        assert (rcode, txt) == (dns.rcode.NXDOMAIN, []), srv.log()
    rrs, serial = axfr(primary.port)
    assert rrs == before
    assert soa_serial("127.0.0.1", secondary.port) == serial
    return serial


def test_lego_and_certbot_get_the_matrix_certificate(world):
    primary, secondary, pebble, d = world
    before, serial0 = axfr(primary.port)
    assert soa_serial("127.0.0.1", secondary.port) == serial0
    txt0 = txt_queries(secondary)

    # lego, as in docs/matrix-delegation.md
    env = dict(os.environ, RFC2136_NAMESERVER=f"127.0.0.1:{primary.port}",
               RFC2136_TSIG_KEY=KEY + ".", RFC2136_TSIG_SECRET=SECRET,
               RFC2136_TSIG_ALGORITHM="hmac-sha256.", RFC2136_POLLING_INTERVAL="1",
               RFC2136_SEQUENCE_INTERVAL="1", RFC2136_PROPAGATION_TIMEOUT="30",
               LEGO_CA_CERTIFICATES=str(pebble.ca))
    lego = subprocess.run(
        ["lego", "--server", pebble.directory, "--accept-tos", "--email", "ops@example.org",
         "--path", str(d / "lego"), "--dns", "rfc2136", "--dns.resolvers",
         f"127.0.0.1:{secondary.port}", "--dns.disable-cp", "-d", "example.com", "-d",
         "*.example.com", "run"], env=env, capture_output=True, text=True,
        timeout=CLIENT_TIMEOUT)
    assert lego.returncode == 0, lego.stdout + lego.stderr + pebble.log()
    assert sans(d / "lego" / "certificates" / "example.com.crt") == {"example.com",
                                                                      "*.example.com"}
    serial1 = check_clean(primary, secondary, before)
    assert serial1 != serial0  # two challenges added and removed
    txt1 = txt_queries(secondary)
    assert txt1 >= txt0 + 2  # pebble asked the secondary, once per authorization at least

    # certbot with python3-certbot-dns-rfc2136
    ini = d / "rfc2136.ini"
    ini.write_text(f"dns_rfc2136_server = 127.0.0.1\ndns_rfc2136_port = {primary.port}\n"
                   f"dns_rfc2136_name = {KEY}\ndns_rfc2136_secret = {SECRET}\n"
                   "dns_rfc2136_algorithm = HMAC-SHA256\n")
    ini.chmod(0o600)
    cb = d / "certbot"
    certbot = subprocess.run(
        ["certbot", "certonly", "--dns-rfc2136", "--dns-rfc2136-credentials", str(ini),
         "--dns-rfc2136-propagation-seconds", "0", "--server", pebble.directory,
         "--config-dir", str(cb / "config"), "--work-dir", str(cb / "work"), "--logs-dir",
         str(cb / "logs"), "--non-interactive", "--agree-tos", "-m", "ops@example.org", "-d",
         "example.com", "-d", "*.example.com"],
        env=dict(os.environ, REQUESTS_CA_BUNDLE=str(pebble.ca)), capture_output=True,
        text=True, timeout=CLIENT_TIMEOUT)
    assert certbot.returncode == 0, certbot.stdout + certbot.stderr + pebble.log()
    assert sans(cb / "config" / "live" / "example.com" / "cert.pem") == {"example.com",
                                                                         "*.example.com"}
    serial2 = check_clean(primary, secondary, before)
    assert serial2 != serial1
    assert txt_queries(secondary) >= txt1 + 2

    # every NOERROR waited for the secondary (update-wait), none timed out
    log = primary.log()
    assert len(re.findall(r"published, and served by every notify: address", log)) >= 8, log
    assert "did not serve serial" not in log

    # the acme key may not touch anything else
    u = dns.update.UpdateMessage("example.com", keyring=KEYRING, keyname=KEY,
                                 keyalgorithm=dns.tsig.HMAC_SHA256)
    u.replace("matrix", 300, "A", "192.0.2.66")
    r = dns.query.tcp(u, "127.0.0.1", port=primary.port, timeout=10)
    assert r.rcode() == dns.rcode.REFUSED
    assert axfr(primary.port) == (before, serial2)
    assert axfr(secondary.port) == (before, serial2)
