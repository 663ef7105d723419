"""Process management as dist/srvd.service uses it: systemd readiness
(Type=notify through $NOTIFY_SOCKET), the pidfile, and start-up with a zone
that fails to load."""

import os
import signal
import socket
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import dns.rcode
import pytest

from srvdtest import (START_TIMEOUT, STOP_TIMEOUT, ZONE_SERIAL, bundled_zone, free_ports,
                      query, soa_serial, srvd_bin, wait_for)


def start(tmp_path, config_text, env=None):
    cfg = tmp_path / "srvd.yaml"
    cfg.write_text(config_text)
    log = open(tmp_path / "srvd.log", "wb")
    p = subprocess.Popen([str(srvd_bin()), "-c", str(cfg)], cwd=tmp_path,
                         stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                         env=env)
    log.close()
    return p


def stop(p, tmp_path):
    if p.poll() is None:
        os.kill(p.pid, signal.SIGTERM)
        try:
            p.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.kill(p.pid, signal.SIGKILL)
            p.wait(timeout=STOP_TIMEOUT)
            pytest.fail("srvd ignored SIGTERM")
    assert p.returncode == 0, (tmp_path / "srvd.log").read_text(errors="replace")


@pytest.fixture
def zone(tmp_path):
    z = tmp_path / "example.com.zone"
    z.write_text(bundled_zone().read_text())
    return z


def test_sd_notify_ready(tmp_path, zone):
    """READY=1 and MAINPID arrive once srvd serves; a reload right after it is safe."""
    port = free_ports(1, v6=False)
    # sun_path holds 108 bytes; a test folder under a long checkout may not fit
    sock_dir = Path(tempfile.mkdtemp(prefix="sdnotify."))
    sock_path = sock_dir / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as ns:
        ns.bind(str(sock_path))
        ns.settimeout(START_TIMEOUT)
        env = dict(os.environ, NOTIFY_SOCKET=str(sock_path))
        p = start(tmp_path, f'server:\n  listen: ["127.0.0.1@{port}"]\nzones:\n'
                            f'  - name: example.com\n    file: "{zone}"\n', env=env)
        try:
            try:
                msg = ns.recv(4096).decode()
            except socket.timeout:
                pytest.fail("no sd_notify message; log:\n"
                            + (tmp_path / "srvd.log").read_text(errors="replace"))
            fields = dict(line.split("=", 1) for line in msg.split("\n") if "=" in line)
            assert fields.get("READY") == "1", msg
            assert fields.get("MAINPID", str(p.pid)) == str(p.pid), msg
            # READY means serving: no waiting needed
            assert soa_serial("127.0.0.1", port, timeout=2) == ZONE_SERIAL
            # systemctl reload may come at once: it must not kill the server
            os.kill(p.pid, signal.SIGHUP)
            time.sleep(0.5)
            assert p.poll() is None, ("SIGHUP right after READY=1 killed srvd (exit "
                                      f"{p.returncode})")
            assert soa_serial("127.0.0.1", port, timeout=2) == ZONE_SERIAL
        finally:
            stop(p, tmp_path)
            shutil.rmtree(sock_dir, ignore_errors=True)


def test_pidfile_written_and_removed(tmp_path, zone):
    port = free_ports(1, v6=False)
    pidfile = tmp_path / "srvd.pid"
    p = start(tmp_path, f'server:\n  listen: ["127.0.0.1@{port}"]\n  pidfile: "{pidfile}"\n'
                        f'zones:\n  - name: example.com\n    file: "{zone}"\n')
    try:
        assert wait_for(lambda: soa_serial("127.0.0.1", port), START_TIMEOUT, proc=p), \
            (tmp_path / "srvd.log").read_text(errors="replace")
        assert pidfile.read_text().strip() == str(p.pid)
    finally:
        stop(p, tmp_path)
    assert not pidfile.exists(), "pidfile left behind after a clean stop"


def pidfile_config(port, pidfile, zone):
    return (f'server:\n  listen: ["127.0.0.1@{port}"]\n  pidfile: "{pidfile}"\n'
            f'zones:\n  - name: example.com\n    file: "{zone}"\n')


def refused_start(tmp_path, config_text):
    """srvd must exit 1 on its own; returns its log."""
    p = start(tmp_path, config_text)
    try:
        rc = p.wait(timeout=START_TIMEOUT)
    except subprocess.TimeoutExpired:
        stop(p, tmp_path)
        pytest.fail("srvd started; want it to refuse the pidfile")
    log = (tmp_path / "srvd.log").read_text(errors="replace")
    assert rc == 1, log
    return log


def test_pidfile_symlink_is_refused(tmp_path, zone):
    """Issue 14: srvd (as root) wrote its pid through a symbolic link at the
    pidfile path, over whatever the link pointed to."""
    target = tmp_path / "precious"
    target.write_text("keep me\n")
    run = tmp_path / "run"
    run.mkdir(mode=0o755)
    pidfile = run / "srvd.pid"
    pidfile.symlink_to(target)
    log = refused_start(tmp_path, pidfile_config(free_ports(1, v6=False), pidfile, zone))
    assert f"pidfile {pidfile}: refused: it is a symbolic link" in log, log
    assert target.read_text() == "keep me\n"
    assert pidfile.is_symlink(), "the link was removed or replaced"


def test_pidfile_in_a_folder_others_can_write_is_refused(tmp_path, zone):
    run = tmp_path / "run"
    run.mkdir()
    run.chmod(0o777)  # anyone could plant a link there between our checks
    pidfile = run / "srvd.pid"
    log = refused_start(tmp_path, pidfile_config(free_ports(1, v6=False), pidfile, zone))
    assert f"pidfile {pidfile}: refused: folder {run} (mode 0777) is writable by others" \
        in log, log
    assert not pidfile.exists()
    # sticky (as /tmp): others can't replace our entries, so it is fine
    run.chmod(0o1777)
    port = free_ports(1, v6=False)
    p = start(tmp_path, pidfile_config(port, pidfile, zone))
    try:
        assert wait_for(lambda: soa_serial("127.0.0.1", port), START_TIMEOUT, proc=p), \
            (tmp_path / "srvd.log").read_text(errors="replace")
        assert pidfile.read_text().strip() == str(p.pid)
    finally:
        stop(p, tmp_path)


def test_broken_zone_left_out_others_served(tmp_path, zone):
    """At start-up a zone that fails is logged with file:line and left out;
    the other zones are served."""
    port = free_ports(1, v6=False)
    bad = tmp_path / "broken.test.zone"
    bad.write_text("$ORIGIN broken.test.\n$TTL 300\n"
                   "@ IN SOA ns h 1 2 3 4 5\n@ IN NS ns\nns IN A not-an-address\n")
    p = start(tmp_path, f'server:\n  listen: ["127.0.0.1@{port}"]\nzones:\n'
                        f'  - name: example.com\n    file: "{zone}"\n'
                        f'  - name: broken.test\n    file: "{bad}"\n')
    try:
        assert wait_for(lambda: soa_serial("127.0.0.1", port), START_TIMEOUT, proc=p) == \
            ZONE_SERIAL, (tmp_path / "srvd.log").read_text(errors="replace")
        r = query("127.0.0.1", port, "broken.test", "SOA")
        assert r.rcode() == dns.rcode.REFUSED  # not served: not authoritative
    finally:
        stop(p, tmp_path)
    log = (tmp_path / "srvd.log").read_text(errors="replace")
    assert "broken.test.zone:5" in log, log
