"""knotd and nsd serving signed zone files as they are (no signing of their
own), for the DNSSEC differential test: each on its own free loopback port,
started by the test and stopped by PID.

Knot serves a zone file with RRSIG/NSEC/NSEC3 records unchanged as long as
the zone has no dnssec-signing; NSD always does. Neither writes to the
files. NSD's response rate limiting is off: the test sends a few hundred
queries from one address within seconds.
"""

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import dns.flags
import dns.message
import dns.query
import dns.rcode

from srvdtest import free_ports, wait_for

KNOTD = shutil.which("knotd") or "/usr/sbin/knotd"
NSD = shutil.which("nsd") or "/usr/sbin/nsd"
START_TIMEOUT = 30.0


def serves(port, zone, timeout=0.5):
    """True once the server gives an authoritative SOA answer for zone."""
    try:
        r = dns.query.udp(dns.message.make_query(zone, "SOA"), "127.0.0.1", port=port,
                          timeout=timeout)
    except Exception:  # noqa: BLE001 - not up yet
        return False
    return r.rcode() == dns.rcode.NOERROR and bool(r.flags & dns.flags.AA) and bool(r.answer)


class Peer:
    """A reference server in workdir serving zones [(name, path)]."""

    kind = "?"

    def __init__(self, workdir: Path, zones):
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.zones = zones
        self.port = None
        self.proc = None
        self._out = None
        # control sockets: sun_path holds 108 bytes, pytest's paths are long
        self.sock_dir = Path(tempfile.mkdtemp(prefix=f"{self.kind}ctl."))

    def start(self):
        last = ""
        for _attempt in range(3):  # another test may take the port first
            self.port = free_ports(1, v6=False)
            self.write_config()
            self._out = open(self.dir / "stdout.log", "ab")
            self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                         stdout=self._out, stderr=subprocess.STDOUT, cwd=self.dir)
            up = wait_for(lambda: all(serves(self.port, z) for z, _ in self.zones), START_TIMEOUT,
                          proc=self.proc)
            if up:
                return self
            last = self.log()
            self.stop()
            if "in use" not in last.lower():
                break
        raise AssertionError(f"{self.kind} did not serve {[z for z, _ in self.zones]}:\n{last}")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self.proc = None
        if self._out:
            self._out.close()
            self._out = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.sock_dir, ignore_errors=True)

    def log(self):
        out = []
        for f in sorted(self.dir.glob("*.log")):
            out.append(f"== {f.name}\n" + f.read_text(errors="replace")[-4000:])
        return "\n".join(out)


class Knot(Peer):
    kind = "knot"

    def write_config(self):
        zones = "".join(f'  - domain: {z}\n    file: "{p}"\n' for z, p in self.zones)
        (self.dir / "knot.conf").write_text(f"""server:
    rundir: "{self.dir}"
    listen: 127.0.0.1@{self.port}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
log:
  - target: "{self.dir}/knot.log"
    any: info
database:
    storage: "{self.dir}"
control:
    listen: "{self.sock_dir}/knot.sock"
template:
  - id: default
    storage: "{self.dir}"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
{zones}""")

    def command(self):
        return [KNOTD, "-c", str(self.dir / "knot.conf")]


class Nsd(Peer):
    kind = "nsd"

    def write_config(self):
        d = self.dir
        zones = "".join(f'zone:\n    name: {z}\n    zonefile: "{p}"\n' for z, p in self.zones)
        (d / "nsd.conf").write_text(f"""server:
    ip-address: 127.0.0.1@{self.port}
    do-ip6: no
    server-count: 1
    username: ""
    chroot: ""
    zonesdir: "{d}"
    database: ""
    zonelistfile: "{d}/zone.list"
    xfrdfile: "{d}/xfrd.state"
    xfrdir: "{d}"
    pidfile: "{d}/nsd.pid"
    logfile: "{d}/nsd.log"
    verbosity: 1
    reuseport: no
    rrl-ratelimit: 0
remote-control:
    control-enable: yes
    control-interface: "{self.sock_dir}/nsd.ctl"
{zones}""")

    def command(self):
        return [NSD, "-d", "-c", str(self.dir / "nsd.conf")]


def installed():
    return os.access(KNOTD, os.X_OK) and os.access(NSD, os.X_OK)
