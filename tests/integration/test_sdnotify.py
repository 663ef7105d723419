"""systemd's notify protocol as srvd speaks it: READY=1 once serving,
RELOADING=1 (with MONOTONIC_USEC) then READY=1 around a reload, STOPPING=1
at SIGTERM, WATCHDOG=1 when WATCHDOG_USEC is set. A datagram socket stands
in for systemd (sd_notify(3) is one datagram per call)."""

import os
import signal
import socket
import tempfile
import time
from pathlib import Path


def collect(sock, want, timeout=30.0):
    """Datagrams until one contains want (or the timeout); returns them."""
    got = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        sock.settimeout(max(0.1, end - time.monotonic()))
        try:
            got.append(sock.recv(4096).decode())
        except socket.timeout:
            break
        if want in got[-1]:
            break
    return got


def test_ready_reload_watchdog_stopping(srvd_factory, monkeypatch):
    d = Path(tempfile.mkdtemp(prefix="sdn."))
    path = d / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    try:
        monkeypatch.setenv("NOTIFY_SOCKET", str(path))
        monkeypatch.setenv("WATCHDOG_USEC", "400000")
        s = srvd_factory()
        msgs = collect(sock, "READY=1")
        assert any("READY=1" in m and "STATUS=serving 1 zones" in m for m in msgs), msgs
        assert any("WATCHDOG=1" in m for m in collect(sock, "WATCHDOG=1")), "no watchdog ping"
        s.signal(signal.SIGHUP)
        msgs = collect(sock, "RELOADING=1")
        reloading = [m for m in msgs if "RELOADING=1" in m]
        assert reloading and "MONOTONIC_USEC=" in reloading[0], msgs
        msgs = collect(sock, "READY=1")
        assert any("READY=1" in m and "STATUS=serving 1 of 1 zones" in m for m in msgs), msgs
        assert s.stop() == 0
        msgs = collect(sock, "STOPPING=1", timeout=5)
        assert any("STOPPING=1" in m for m in msgs), msgs
    finally:
        sock.close()
        os.unlink(path)
        os.rmdir(d)
