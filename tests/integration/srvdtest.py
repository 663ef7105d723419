"""Helpers for the integration tests: run the real srvd binary on loopback.

Environment (set by tests/integration/CMakeLists.txt under ctest):
  SRVD_BIN         the srvd binary to test (default: <repo>/build/dev/src/bin/srvd)
  SRVD_SOURCE_DIR  the repository root (default: two levels above this file)

Every server gets its own free high ports, a tmp dir holding its YAML config,
zone copies and log, and is stopped by PID with SIGTERM at teardown, where
the test also asserts that it exited 0.
"""

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

SOURCE_DIR = Path(os.environ.get("SRVD_SOURCE_DIR") or Path(__file__).resolve().parents[2])
ZONE_SERIAL = 2024060101  # serial of zones/example.com.zone
START_TIMEOUT = 20.0  # seconds for srvd to answer its first SOA query (ASan is slow)
STOP_TIMEOUT = 10.0  # seconds for srvd to exit after SIGTERM
# srvdctl's own default (5 s) is for people. A reload of a 200,000-record
# zone under ASan on a busy 2-core machine took longer than that, and the
# test failed for it: tests give srvdctl this long, and kill it a bit later.
CTL_TIMEOUT = 120


def srvd_bin() -> Path:
    p = Path(os.environ.get("SRVD_BIN") or SOURCE_DIR / "build" / "dev" / "src" / "bin" / "srvd")
    assert p.is_file() and os.access(p, os.X_OK), f"srvd binary not found at {p} (set SRVD_BIN)"
    return p


def bundled_zone() -> Path:
    return SOURCE_DIR / "zones" / "example.com.zone"


def srvdctl_bin() -> Path:
    """srvdctl from the same build as srvd (SRVDCTL_BIN overrides)."""
    p = Path(os.environ.get("SRVDCTL_BIN") or srvd_bin().parent / "srvdctl")
    assert p.is_file() and os.access(p, os.X_OK), f"srvdctl not found at {p}"
    return p


def srvdctl_cmd(control, *args, json_out=False):
    """The srvdctl command line for the control socket `control`, with
    --timeout CTL_TIMEOUT: every test runs srvdctl through this."""
    cmd = [str(srvdctl_bin()), "-s", str(control), "-t", str(CTL_TIMEOUT)]
    if json_out:
        cmd.append("--json")
    return cmd + [str(a) for a in args]


def srvdctl(control, *args, json_out=False):
    """Run srvdctl: (exit status, stdout, stderr), or with json_out the
    parsed JSON reply in place of stdout."""
    p = subprocess.run(srvdctl_cmd(control, *args, json_out=json_out), capture_output=True,
                       text=True, timeout=CTL_TIMEOUT + 30)
    out = json.loads(p.stdout) if json_out and p.stdout.strip() else p.stdout
    return p.returncode, out, p.stderr


# ---- ports ---------------------------------------------------------------

# Below Linux's ephemeral range (32768-60999), so that client sockets of
# concurrently running tests never take the port between pick and bind.
_PORT_LO, _PORT_HI = 20000, 32000
_rng = random.Random(os.getpid() ^ int(time.time() * 1000))


def _bindable(port: int, v6: bool) -> bool:
    addrs = [(socket.AF_INET, "127.0.0.1")]
    if v6:
        addrs.append((socket.AF_INET6, "::1"))
    socks = []
    try:
        for fam, addr in addrs:
            for typ in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                s = socket.socket(fam, typ)
                socks.append(s)
                s.bind((addr, port))
        return True
    except OSError:
        return False
    finally:
        for s in socks:
            s.close()


def free_ports(count: int = 1, v6: bool = True) -> int:
    """First of `count` consecutive ports free for UDP and TCP on 127.0.0.1 (and ::1)."""
    for _ in range(500):
        base = _rng.randrange(_PORT_LO, _PORT_HI - count)
        if all(_bindable(base + i, v6) for i in range(count)):
            return base
    raise RuntimeError(f"no {count} free consecutive loopback ports found")


def port_busy(port: int, v6: bool = True) -> bool:
    return not _bindable(port, v6)


# ---- queries -------------------------------------------------------------


def make_query(qname, qtype="A", edns=True, payload=1232, rd=False):
    q = dns.message.make_query(qname, qtype, use_edns=0 if edns else False, payload=payload)
    if not rd:
        q.flags &= ~dns.flags.RD
    return q


def query(addr, port, qname, qtype="A", tcp=False, timeout=3.0, **kw):
    q = make_query(qname, qtype, **kw)
    if tcp:
        return dns.query.tcp(q, addr, port=port, timeout=timeout)
    return dns.query.udp(q, addr, port=port, timeout=timeout, ignore_trailing=False)


def soa_serial(addr, port, zone="example.com", timeout=0.5):
    """The serial of an authoritative SOA answer, or None."""
    try:
        r = query(addr, port, zone, "SOA", timeout=timeout)
    except Exception:  # noqa: BLE001 - not up yet, wrong answer: all mean "not yet"
        return None
    if r.rcode() != dns.rcode.NOERROR or not (r.flags & dns.flags.AA) or not r.answer:
        return None
    return r.answer[0][0].serial


def wait_for(pred, timeout, interval=0.1, proc=None):
    """Poll pred() until it is truthy; stop early if proc exited. Returns the last value."""
    deadline = time.monotonic() + timeout
    val = None
    while time.monotonic() < deadline:
        val = pred()
        if val:
            return val
        if proc is not None and proc.poll() is not None:
            return pred()
        time.sleep(interval)
    return val


# ---- the server ------------------------------------------------------------


def yaml_str(s) -> str:
    return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'


class Srvd:
    """One srvd process with its own config in workdir."""

    def __init__(self, workdir: Path, zones, port=None, v6=True, allow_transfer=None,
                 server_extra=None, cwd=None, zones_dir=None, control=False, top_extra="",
                 wrap=None, preexec_fn=None):
        self.workdir = workdir
        self.wrap = list(wrap or [])  # argv before srvd's (it must exec srvd: the PID is srvd's)
        self.cwd = cwd or workdir
        self.zones = zones  # [(name, path, allow_transfer list or None)]
        self.v6 = v6
        self.port = port
        self.server_extra = server_extra or {}
        self.top_extra = top_extra  # more top-level YAML, e.g. keys:
        self.default_allow_transfer = allow_transfer
        self.zones_dir = zones_dir
        self.preexec_fn = preexec_fn  # runs in the child before exec (e.g. setrlimit)
        # a short path: sun_path holds 108 bytes, pytest's tmp paths are long
        self.control = None
        if isinstance(control, Path):
            self.control = control  # its folder is removed at stop
        elif control:
            self.control = Path(tempfile.mkdtemp(prefix="srvdctl.")) / "ctl.sock"
        self.proc = None
        self.log_path = workdir / "srvd.log"
        self.conf_path = workdir / "srvd.yaml"
        self._log = None
        self.stopped = False  # stop() was called: the test has seen the exit status

    # config
    def write_config(self):
        lines = ["server:"]
        listen = [f"127.0.0.1@{self.port}"]
        if self.v6:
            listen.append(f"::1@{self.port}")
        lines.append("  listen: [" + ", ".join(yaml_str(a) for a in listen) + "]")
        lines.append("  workers: 2")
        lines.append("  log-level: debug")
        if self.default_allow_transfer is not None:
            lines.append("  allow-transfer: [" + ", ".join(self.default_allow_transfer) + "]")
        for k, v in self.server_extra.items():
            lines.append(f"  {k}: {v}")
        if self.control:
            lines.append(f"  control: {yaml_str(self.control)}")
        if self.zones_dir:
            lines.append(f"zones-dir: {yaml_str(self.zones_dir)}")
        lines.append("zones:")
        for zone in self.zones:
            name, path, acl = zone[:3]
            lines.append(f"  - name: {yaml_str(name)}")
            lines.append(f"    file: {yaml_str(path)}")
            if acl is not None:
                lines.append("    allow-transfer: [" + ", ".join(acl) + "]")
            if len(zone) > 3 and zone[3]:
                lines.append("    notify: [" + ", ".join(yaml_str(a) for a in zone[3]) + "]")
            if len(zone) > 4 and zone[4]:
                lines.append(f"    key: {yaml_str(zone[4])}")
        self.conf_path.write_text("\n".join(lines) + "\n" + self.top_extra)

    # process
    def start(self):
        last_log = ""
        for _attempt in range(3):
            if self.port is None or _attempt > 0:
                self.port = free_ports(1, self.v6)
            self.write_config()
            self._log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(
                self.wrap + [str(srvd_bin()), "-c", str(self.conf_path)],
                stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
                cwd=self.cwd, preexec_fn=self.preexec_fn)
            serial = wait_for(lambda: soa_serial("127.0.0.1", self.port), START_TIMEOUT,
                              proc=self.proc)
            if serial is not None:
                return self
            rc = self.proc.poll()
            last_log = self.log()
            if rc is None:
                self.kill()
                break
            self._log.close()
            # Lost a race for the port with another test: try new ports.
            if "in use" not in last_log.lower():
                break
        pytest.fail(f"srvd did not answer SOA on 127.0.0.1@{self.port} within "
                    f"{START_TIMEOUT}s (exit {self.proc.returncode}); log:\n{last_log}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def signal(self, sig):
        assert self.proc is not None and self.proc.poll() is None, "srvd is not running"
        os.kill(self.proc.pid, sig)

    def stop(self) -> int:
        """SIGTERM by PID, wait; returns the exit status (SIGKILL and fail on timeout)."""
        if self.proc is None:
            return 0
        self.stopped = True
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.kill()
                pytest.fail(f"srvd did not exit within {STOP_TIMEOUT}s of SIGTERM; log:\n"
                            + self.log())
        if self._log:
            self._log.close()
        self._remove_control_dir()
        return self.proc.returncode

    def kill(self):
        self.stopped = True
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=STOP_TIMEOUT)
        self._remove_control_dir()

    def _remove_control_dir(self):
        if self.control:
            shutil.rmtree(self.control.parent, ignore_errors=True)

    # queries
    def q(self, qname, qtype="A", tcp=False, addr="127.0.0.1", **kw):
        return query(addr, self.port, qname, qtype, tcp=tcp, **kw)

    # control
    def ctl(self, *args, json_out=False):
        """Run srvdctl against this server (see srvdctl())."""
        assert self.control, "started without control=True"
        return srvdctl(self.control, *args, json_out=json_out)


def rrsets(section, rdtype=None):
    return [r for r in section if rdtype is None or r.rdtype == dns.rdatatype.from_text(rdtype)]


def rdata_texts(section, name, rdtype):
    out = set()
    for rrset in section:
        if rrset.name == dns.name.from_text(name) and rrset.rdtype == dns.rdatatype.from_text(rdtype):
            out |= {rd.to_text() for rd in rrset}
    return out
