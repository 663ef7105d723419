"""Real primaries for the secondary-mode tests: knotd, nsd and named, each
started by the test on free loopback ports, stopped by PID.

Each primary serves one zone from a file it can be told to reload; it sends
NOTIFY to the secondary it was given (with the TSIG key when there is one)
and allows transfers to 127.0.0.1 (only with the key when there is one).
Knot and BIND keep the differences between versions and so answer IXFR
incrementally; NSD 4.6 answers IXFR with the whole zone.
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

from srvdtest import free_ports, wait_for

KEY_NAME = "transfer-key"
KEY_SECRET = "c3J2ZC1zZWNvbmRhcnktdGVzdHMtc2hhcmVkLXNlY3JldA=="  # 32 bytes
OTHER_SECRET = "b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldC1vdGhlci0xMg=="


def zone_text(origin, serial, records=20, extra=()):
    """A zone with serial, `records` A records and the extra lines."""
    lines = [f"$ORIGIN {origin}.", "$TTL 300",
             f"@ IN SOA ns.{origin}. hostmaster.{origin}. {serial} 60 30 604800 60",
             "  IN NS ns", "ns IN A 192.0.2.1",
             "_matrix-fed._tcp IN SRV 10 0 8448 matrix", "matrix IN A 192.0.2.10"]
    lines += [f"h{i} IN A 198.51.100.{i % 250 + 1}" for i in range(records)]
    lines += list(extra)
    return "\n".join(lines) + "\n"


def soa_serial(port, zone, timeout=0.5):
    try:
        r = dns.query.udp(dns.message.make_query(zone, "SOA"), "127.0.0.1", port=port,
                          timeout=timeout)
    except Exception:
        return None
    if r.rcode() == 0 and r.flags & dns.flags.AA and r.answer:
        return r.answer[0][0].serial
    return None


class Primary:
    """Base: a server process in `workdir` serving `zone` on self.port."""

    kind = "?"
    ixfr = False

    def __init__(self, workdir: Path, zone: str, notify_port: int, tsig=False):
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.zone = zone
        self.notify_port = notify_port
        self.tsig = tsig
        self.port = None
        self.proc = None
        self.zone_file = self.dir / f"{zone}.zone"
        # control sockets: sun_path holds 108 bytes, test folders are long
        self.sock_dir = Path(tempfile.mkdtemp(prefix=f"{self.kind}ctl."))

    def write_zone(self, text):
        self.zone_file.write_text(text)

    def start(self, serial=None, timeout=20):
        if self.port is None:
            self.port = free_ports(1, v6=False)
        self.write_config()
        self._out = open(self.dir / "stdout.log", "ab")
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=self._out,
                                     stderr=subprocess.STDOUT, cwd=self.dir)
        if serial is not None:
            got = wait_for(lambda: soa_serial(self.port, self.zone) == serial or None, timeout,
                           proc=self.proc)
            assert got, f"{self.kind} did not serve {self.zone} serial {serial}:\n{self.log()}"
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self.proc = None
        if getattr(self, "_out", None):
            self._out.close()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.sock_dir, ignore_errors=True)

    def log(self):
        out = []
        for f in sorted(self.dir.glob("*.log")):
            out.append(f"== {f.name}\n" + f.read_text(errors="replace")[-4000:])
        return "\n".join(out)

    def update(self, text, serial, timeout=20):
        """New zone content; the primary reloads it and sends NOTIFY."""
        self.write_zone(text)
        self.reload()
        got = wait_for(lambda: soa_serial(self.port, self.zone) == serial or None, timeout,
                       proc=self.proc)
        assert got, f"{self.kind} did not load serial {serial}:\n{self.log()}"


class Knot(Primary):
    kind = "knot"
    ixfr = True

    def write_config(self):
        key = (f"key:\n  - id: {KEY_NAME}\n    algorithm: hmac-sha256\n"
               f"    secret: {KEY_SECRET}\n") if self.tsig else ""
        kref = f"    key: {KEY_NAME}\n" if self.tsig else ""
        (self.dir / "knot.conf").write_text(f"""server:
    rundir: "{self.dir}"
    listen: 127.0.0.1@{self.port}
log:
  - target: "{self.dir}/knot.log"
    any: info
database:
    storage: "{self.dir}"
control:
    listen: "{self.sock_dir}/knot.sock"
{key}remote:
  - id: secondary
    address: 127.0.0.1@{self.notify_port}
{kref}acl:
  - id: xfr
    address: 127.0.0.1
{kref}    action: transfer
template:
  - id: default
    storage: "{self.dir}"
    zonefile-sync: -1
    zonefile-load: difference
    journal-content: changes
zone:
  - domain: {self.zone}
    file: "{self.zone_file}"
    notify: secondary
    acl: xfr
""")

    def command(self):
        return ["knotd", "-c", str(self.dir / "knot.conf")]

    def reload(self):
        subprocess.run(["knotc", "-c", str(self.dir / "knot.conf"), "zone-reload", self.zone],
                       check=True, capture_output=True, timeout=20)


class Nsd(Primary):
    kind = "nsd"
    ixfr = False

    def write_config(self):
        key = (f"key:\n    name: {KEY_NAME}\n    algorithm: hmac-sha256\n"
               f"    secret: \"{KEY_SECRET}\"\n") if self.tsig else ""
        kname = KEY_NAME if self.tsig else "NOKEY"
        d = self.dir
        (d / "xfr").mkdir(exist_ok=True)
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
    xfrdir: "{d}/xfr"
    pidfile: "{d}/nsd.pid"
    logfile: "{d}/nsd.log"
    verbosity: 2
    reuseport: no
remote-control:
    control-enable: yes
    control-interface: "{self.sock_dir}/nsd.ctl"
{key}zone:
    name: {self.zone}
    zonefile: "{self.zone_file}"
    notify: 127.0.0.1@{self.notify_port} {kname}
    provide-xfr: 127.0.0.1 {kname}
""")

    def command(self):
        return ["nsd", "-d", "-c", str(self.dir / "nsd.conf")]

    def reload(self):
        subprocess.run(["nsd-control", "-c", str(self.dir / "nsd.conf"), "reload", self.zone],
                       check=True, capture_output=True, timeout=20)


class Bind(Primary):
    kind = "bind"
    ixfr = True
    RNDC_SECRET = "cm5kYy1zZWNyZXQtZm9yLXRoZS1zZWNvbmRhcnktdGVzdHM="

    def write_config(self):
        d = self.dir
        if self.rndc_port is None:
            self.rndc_port = free_ports(1, v6=False)
        tkey = (f'key "{KEY_NAME}" {{ algorithm hmac-sha256; secret "{KEY_SECRET}"; }};\n'
                if self.tsig else "")
        notify_key = f" key {KEY_NAME}" if self.tsig else ""
        allow = f"key {KEY_NAME};" if self.tsig else "127.0.0.1;"
        (d / "named.conf").write_text(f"""{tkey}key "rndc-key" {{ algorithm hmac-sha256; secret "{self.RNDC_SECRET}"; }};
controls {{ inet 127.0.0.1 port {self.rndc_port} allow {{ 127.0.0.1; }} keys {{ "rndc-key"; }}; }};
options {{
    directory "{d}";
    pid-file "{d}/named.pid";
    session-keyfile "{d}/session.key";
    managed-keys-directory "{d}";
    listen-on port {self.port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion no;
    dnssec-validation no;
    notify explicit;
    also-notify {{ 127.0.0.1 port {self.notify_port}{notify_key}; }};
    allow-transfer {{ {allow} }};
    ixfr-from-differences yes;
    notify-delay 0;
}};
logging {{ channel c {{ file "{d}/named.log"; severity info; print-time yes; }};
           category default {{ c; }}; category notify {{ c; }}; category xfer-out {{ c; }}; }};
zone "{self.zone}" {{ type primary; file "{self.zone_file}"; }};
""")
        (d / "rndc.conf").write_text(f"""key "rndc-key" {{ algorithm hmac-sha256; secret "{self.RNDC_SECRET}"; }};
options {{ default-key "rndc-key"; default-server 127.0.0.1; default-port {self.rndc_port}; }};
""")

    rndc_port = None

    def command(self):
        return ["named", "-f", "-c", str(self.dir / "named.conf")]

    def reload(self):
        subprocess.run(["rndc", "-c", str(self.dir / "rndc.conf"), "reload", self.zone],
                       check=True, capture_output=True, timeout=20)


PRIMARIES = {"knot": Knot, "nsd": Nsd, "bind": Bind}
