"""A secondary facing a primary that lies (issue 14), with the scripted
primary of scripted_primary.py: no rollback to an older serial after an
IXFR NOTIMP, no temporaries left by a killed save, bounded memory against a
transfer that never ends."""

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
