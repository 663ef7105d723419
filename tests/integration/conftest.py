"""pytest fixtures: srvd_factory and srvd (see srvdtest.py for the helpers)."""

import shutil

import pytest

from srvdtest import Srvd, bundled_zone


@pytest.fixture
def srvd_factory(tmp_path):
    """Start servers: srvd_factory(zones=[(name, path, acl)], ...) -> Srvd (running).

    Zone files are used where they are; copy them into tmp_path first if the
    test edits them. Every server is stopped at teardown and must exit 0."""
    started = []

    def make(zones=None, **kw):
        workdir = tmp_path / f"srvd{len(started)}"
        workdir.mkdir()
        if zones is None:
            z = workdir / "example.com.zone"
            shutil.copy(bundled_zone(), z)
            zones = [("example.com", z, ["127.0.0.1"])]
        s = Srvd(workdir, zones, **kw)
        started.append(s)
        s.start()
        return s

    yield make
    problems = []
    for s in started:
        if s.proc is None or s.stopped:
            continue
        if s.proc.poll() is not None:
            problems.append(f"srvd exited on its own with {s.proc.returncode}; log:\n{s.log()}")
            continue
        rc = s.stop()
        if rc != 0:
            problems.append(f"srvd exited {rc} after SIGTERM (want 0); log:\n{s.log()}")
    assert not problems, "\n".join(problems)


@pytest.fixture
def srvd(srvd_factory):
    """srvd serving a copy of zones/example.com.zone (AXFR allowed to 127.0.0.1)
    on 127.0.0.1 and ::1."""
    return srvd_factory()
