"""A secondary facing a primary that lies (issue 14), with the scripted
primary of scripted_primary.py: no rollback to an older serial after an
IXFR NOTIMP, no temporaries left by a killed save, bounded memory against a
transfer that never ends."""

import os
import re
import subprocess

import pytest

from scripted_primary import ScriptedPrimary
from srvdtest import wait_for
from test_secondary import ZONE, SecSrvd

XFR_WAIT = 30.0  # s: a refresh and a transfer of a small zone under ASan


@pytest.fixture
def primary():
    p = ScriptedPrimary(ZONE)
    yield p
    p.stop()


@pytest.fixture
def secondary(tmp_path):
    started = []

    def make(primary_port, **kw):
        wd = tmp_path / f"srvd{len(started)}"
        wd.mkdir()
        s = SecSrvd(wd, primary_port, **kw)
        started.append(s)
        return s.start()

    yield make
    for s in started:
        if not s.stopped:
            alive = s.proc.poll() is None
            rc = s.stop()
            assert alive and rc == 0, f"srvd exited {rc}; log:\n{s.log()}"


def test_no_rollback_after_ixfr_notimp(primary, secondary):
    """IXFR NOTIMP, then an AXFR whose serial is lower than, or equal to,
    the one held: refused and logged (RFC 1982; Knot does the same), until
    `srvdctl retransfer` forces it."""
    primary.soa_serial = primary.axfr_serial = 5
    s = secondary(primary.port)
    assert s.wait_serial(5, XFR_WAIT), s.log()
    for older in (3, 5):
        primary.soa_serial, primary.axfr_serial = 6, older
        before = primary.queries.get("AXFR", 0)
        assert s.ctl("refresh", ZONE)[0] == 0
        assert wait_for(lambda: primary.queries.get("AXFR", 0) > before, XFR_WAIT), s.log()
        assert wait_for(lambda: f"serial {older} is not newer than ours (5)" in s.log(),
                        XFR_WAIT), s.log()
        assert primary.queries.get("IXFR", 0) >= 1, "the secondary should have tried IXFR"
        assert s.serial() == 5, f"rolled back to {s.serial()}; log:\n{s.log()}"
        assert "not newer" in s.status().get("last_error", ""), s.status()
    # the operator may force it
    primary.axfr_serial = 3
    assert s.ctl("retransfer", ZONE)[0] == 0
    assert s.wait_serial(3, XFR_WAIT), s.log()
    assert s.q(f"s3-h0.{ZONE}", "A").answer, s.log()


def dead_pid():
    """A PID that no process has now (one that just exited)."""
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def test_stale_temporaries_are_removed(primary, tmp_path):
    """A SIGKILL during a save leaves FILE.tmp.PID (and FILE.jnl.tmp.PID)
    behind: start-up removes ours, and only ours."""
    wd = tmp_path / "srvd0"
    wd.mkdir()
    copy = wd / f"{ZONE}.zone"
    gone = dead_pid()
    stale = [wd / f"{copy.name}.tmp.{gone}", wd / f"{copy.name}.jnl.tmp.{gone}",
             # alive, but not an srvd: the PID was reused since
             wd / f"{copy.name}.tmp.{os.getpid()}"]
    kept = [wd / f"{copy.name}.tmp.x{gone}", wd / f"{copy.name}.tmp.{gone}.orig",
            wd / f"other.zone.tmp.{gone}", wd / f"{copy.name}.tmp."]
    for f in stale + kept:
        f.write_bytes(b"x" * 4096)
    primary.soa_serial = primary.axfr_serial = 7
    s = SecSrvd(wd, primary.port)
    s.start()
    try:
        assert s.wait_serial(7, XFR_WAIT), s.log()
        left = [f.name for f in stale if f.exists()]
        assert not left, f"stale temporaries left: {left}; log:\n{s.log()}"
        assert all(f.exists() for f in kept), "removed a file that is not ours"
        assert s.log().count("left by process") == len(stale), s.log()
    finally:
        assert s.stop() == 0, s.log()


def mem_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(rf"^{field}:\s+(\d+) kB", f.read(), re.M).group(1))


# The cap the test gives srvd: big enough that holding the transfer in
# memory would show (the builder took about 4 bytes per byte received: 252
# MiB of peak RSS for these 64 MiB), small enough to stream in seconds.
ENDLESS_CAP = 64 << 20
# What the transfer may add to srvd's peak RSS: buffers for a few messages,
# the allocator's slack and ASan's quarantine; a half of the cap is far
# above that and far below holding the stream.
RSS_SLACK = ENDLESS_CAP // 2


def test_endless_axfr_is_cut_with_bounded_memory(primary, secondary):
    """A primary that streams an AXFR forever: srvd cuts it at xfr-max-size,
    logs it, serves nothing from it, and its memory never grows with it."""
    primary.soa_serial = primary.axfr_serial = 9
    primary.endless = True
    primary.endless_bytes = 2 * ENDLESS_CAP  # the test's own bound
    s = secondary(primary.port, server_extra={"xfr-max-size": ENDLESS_CAP})
    before = mem_kib(s.proc.pid, "VmHWM")
    assert wait_for(lambda: "transfer larger than" in s.log(), 120.0, proc=s.proc), \
        f"not cut ({primary.sent_bytes} bytes sent); log:\n{s.log()}"
    grew = mem_kib(s.proc.pid, "VmHWM") - before
    assert grew * 1024 < RSS_SLACK, f"peak RSS grew {grew >> 10} MiB during the transfer"
    assert primary.sent_bytes < 2 * ENDLESS_CAP, "srvd read the whole stream, the cap did not cut"
    assert s.serial() is None, "something of the endless transfer is served"
