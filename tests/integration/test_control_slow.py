"""Control clients that never read (issue 14): 16 of them asking for
zone-status over many zones used to fill every control slot for good, and
`srvdctl status` got no answer. One slow client must never block another."""

import fcntl
import socket
import struct
import subprocess
import termios
import time

from srvdtest import srvdctl_cmd, wait_for
from test_control import cbor_enc, frame

ZONES = 2500  # a zone-status reply of a few hundred KB: more than a socket buffer holds
SLOW = 16  # the daemon's whole client limit
# srvdctl gets -t 120 like every test; status must answer well before: 30 s
# is ASan on a busy 2-core machine with room to spare, and a channel that
# is blocked would not answer at all while the slow clients stay connected
# (they do, for the whole wait).
PROMPT = 30.0


def pending(sock):
    """Bytes the daemon has written to sock that we have not read."""
    buf = fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0\0\0\0")
    return struct.unpack("i", buf)[0]


def test_clients_that_never_read_do_not_block_status(srvd_factory, tmp_path):
    zd = tmp_path / "zones"
    zd.mkdir()
    for i in range(ZONES):
        name = f"z{i}.test"
        (zd / f"{name}.zone").write_text(
            f"$ORIGIN {name}.\n@ 300 IN SOA ns hostmaster 1 3600 600 86400 300\n"
            "@ 300 IN NS ns\nns 300 IN A 192.0.2.1\n")
    s = srvd_factory(zones_dir=zd, control=True, v6=False)
    req = frame(cbor_enc({"v": 1, "cmd": "zone-status"}))
    slow = []
    try:
        for _ in range(SLOW):
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            c.connect(str(s.control))
            c.sendall(req * 4)  # and never read
            slow.append(c)
        # every one of them has a reply on its way, stuck in the socket
        assert wait_for(lambda: all(pending(c) > 0 for c in slow), 60.0, proc=s.proc), s.log()
        t0 = time.monotonic()
        p = subprocess.Popen(srvdctl_cmd(s.control, "status"), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        try:
            out, err = p.communicate(timeout=PROMPT)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            raise AssertionError(f"srvdctl status: no answer within {PROMPT} s; log:\n"
                                 + s.log())
        took = time.monotonic() - t0
        assert p.returncode == 0, f"srvdctl status: {p.returncode} {err!r} after {took:.1f} s"
        assert "zones" in out.lower(), out
    finally:
        for c in slow:
            c.close()
    assert wait_for(lambda: s.ctl("status")[0] == 0, 30.0), s.log()
