"""The differential conformance harness (Knot and NSD as references), full
run: phase 1 (every query, sec.test included, with srvd a secondary of the
harness's Knot primary for it) and phase 2 (the primary moves sec.test to
serial 2 and sends NOTIFY; srvd must serve it, and IXFR it out). Every query
must pass all three judges. The harness lives
beside the repository, in <repo>/../shared/conformance (SRVD_CONFORMANCE_DIR
overrides that)."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from srvdtest import SOURCE_DIR, free_ports, srvd_bin

HARNESS_TIMEOUT = 600  # seconds; a normal run takes well under a minute


def harness_dir() -> Path:
    return Path(os.environ.get("SRVD_CONFORMANCE_DIR")
                or SOURCE_DIR.parent / "shared" / "conformance")


def test_conformance_full():
    h = harness_dir()
    run_peers = h / "run_peers.sh"
    if not run_peers.is_file():
        pytest.skip(f"conformance harness not found at {h} (set SRVD_CONFORMANCE_DIR)")
    target = Path(__file__).resolve().parent / "conformance_target.sh"
    base = free_ports(4, v6=False)  # knot, nsd, sec.test primary, srvd
    env = dict(os.environ)
    # The harness needs Debian's dnspython 2.3: the interpreter running these
    # tests (/usr/bin/python3 under ctest) has it.
    env["PYTHON"] = sys.executable
    env["SRVD_BIN"] = str(srvd_bin())
    env["PATH"] = env.get("PATH", "/usr/bin:/bin") + ":/usr/sbin:/sbin"
    cmd = ["bash", str(run_peers), "--base-port", str(base),
           "--cmd", f"bash {target}"]
    p = subprocess.Popen(cmd, cwd=h, env=env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         start_new_session=True)
    try:
        out, _ = p.communicate(timeout=HARNESS_TIMEOUT)
    except subprocess.TimeoutExpired:
        # run_peers.sh stops knotd, nsd and srvd itself on SIGTERM
        p.terminate()
        try:
            out, _ = p.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)  # the session we started for it
            out, _ = p.communicate(timeout=10)
        pytest.fail(f"run_peers.sh did not finish in {HARNESS_TIMEOUT}s; output:\n"
                    + out.decode(errors="replace"))
    out = out.decode(errors="replace")
    print(out)
    assert p.returncode == 0, f"run_peers.sh exited {p.returncode}:\n{out}"
    assert "run_peers: all comparisons passed" in out
    assert "phase 2 (secondary after NOTIFY/IXFR): target vs" in out
