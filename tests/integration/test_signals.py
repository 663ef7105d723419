"""Signals: TERM and INT stop srvd with exit 0; HUP reloads the zones, and a
reload that fails keeps serving the previous version."""

import os
import re
import signal
import socket
import subprocess
import time

import pytest

from srvdtest import (ZONE_SERIAL, Srvd, bundled_zone, free_ports, make_query, soa_serial,
                      srvd_bin, wait_for)

RELOAD_TIMEOUT = 10.0


def bump(zone_path, serial, extra=""):
    text = zone_path.read_text()
    text, n = re.subn(r"\b\d{10}\b", str(serial), text, count=1)
    assert n == 1, "no serial in the zone file"
    zone_path.write_text(text + extra)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_stop_signal_exits_zero(srvd, sig):
    srvd.signal(sig)
    srvd.stopped = True
    rc = srvd.proc.wait(timeout=10)
    assert rc == 0, f"exit {rc} after {sig.name}; log:\n{srvd.log()}"


def test_sigterm_while_tcp_client_idle(srvd):
    """An open, idle TCP connection does not hold up a graceful stop."""
    with socket.create_connection(("127.0.0.1", srvd.port), timeout=5):
        time.sleep(0.2)
        srvd.signal(signal.SIGTERM)
        srvd.stopped = True
        rc = srvd.proc.wait(timeout=10)
    assert rc == 0, srvd.log()


def test_sighup_reloads_new_serial(srvd):
    zone = srvd.zones[0][1]
    new = ZONE_SERIAL + 1
    bump(zone, new, "added IN TXT \"reloaded\"\n")
    srvd.signal(signal.SIGHUP)
    got = wait_for(lambda: soa_serial("127.0.0.1", srvd.port) == new, RELOAD_TIMEOUT)
    assert got, f"still serial {soa_serial('127.0.0.1', srvd.port)}; log:\n{srvd.log()}"
    r = srvd.q("added.example.com", "TXT")
    assert [rd.to_text() for rd in r.answer[0]] == ['"reloaded"']
    # and again, over ::1 this time
    bump(zone, new + 1)
    srvd.signal(signal.SIGHUP)
    got = wait_for(lambda: soa_serial("::1", srvd.port) == new + 1, RELOAD_TIMEOUT)
    assert got, srvd.log()


def test_failed_reload_keeps_serving(srvd):
    zone = srvd.zones[0][1]
    good = zone.read_text()
    zone.write_text(good + "broken IN A not-an-address\n")
    bump(zone, ZONE_SERIAL + 5)
    srvd.signal(signal.SIGHUP)
    time.sleep(1.0)  # give a (wrong) reload time to happen
    assert srvd.proc.poll() is None, f"srvd died on a bad reload; log:\n{srvd.log()}"
    assert soa_serial("127.0.0.1", srvd.port) == ZONE_SERIAL, srvd.log()
    # fix it: the next HUP publishes
    zone.write_text(good)
    bump(zone, ZONE_SERIAL + 6)
    srvd.signal(signal.SIGHUP)
    got = wait_for(lambda: soa_serial("127.0.0.1", srvd.port) == ZONE_SERIAL + 6, RELOAD_TIMEOUT)
    assert got, srvd.log()


def test_queries_during_reloads(srvd):
    """Answers never fail while reloads come in."""
    zone = srvd.zones[0][1]
    deadline = time.monotonic() + 30
    for i in range(5):
        bump(zone, ZONE_SERIAL + 10 + i)
        srvd.signal(signal.SIGHUP)
        for _ in range(20):
            r = srvd.q("_matrix-fed._tcp.example.com", "SRV")
            assert r.rcode() == 0 and len(r.answer) == 1
        assert time.monotonic() < deadline
    got = wait_for(lambda: soa_serial("127.0.0.1", srvd.port) == ZONE_SERIAL + 14, RELOAD_TIMEOUT)
    assert got, srvd.log()


def test_signal_right_after_first_answer(tmp_path):
    """The moment srvd answers, TERM and HUP must already be handled: a
    service manager or a test may signal it at once. Repeated, because the
    window is short."""
    zone = tmp_path / "example.com.zone"
    zone.write_text(bundled_zone().read_text())
    q = make_query("example.com", "SOA").to_wire()
    deadline = time.monotonic() + 120
    for attempt in range(20):
        assert time.monotonic() < deadline
        s = Srvd(tmp_path, [("example.com", zone, None)], v6=False)
        s.port = free_ports(1, v6=False)
        s.write_config()
        s.proc = subprocess.Popen([str(srvd_bin()), "-c", str(s.conf_path)], cwd=tmp_path,
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        sig = signal.SIGHUP if attempt % 2 else signal.SIGTERM
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as c:
            c.settimeout(0.02)
            answered = False
            for _ in range(2000):  # at most ~40 s
                c.sendto(q, ("127.0.0.1", s.port))
                try:
                    c.recv(4096)
                    answered = True
                    break
                except (socket.timeout, ConnectionRefusedError):
                    if s.proc.poll() is not None:
                        break
            assert answered, f"srvd never answered (exit {s.proc.poll()})"
            os.kill(s.proc.pid, sig)
        if sig == signal.SIGHUP:
            time.sleep(0.2)
            alive = s.proc.poll() is None
            rc = s.stop()
            assert alive, f"attempt {attempt}: SIGHUP just after the first answer killed srvd ({rc})"
        else:
            rc = s.proc.wait(timeout=10)
            assert rc == 0, f"attempt {attempt}: SIGTERM just after the first answer: exit {rc}"


def test_sighup_with_broken_config_keeps_serving(srvd):
    """A config error on reload is logged with file:line and changes nothing
    the config says: a zone it adds is not served until the config is fixed.
    (Zone files are watched on their own: an edited zone file is reloaded
    whatever the config file looks like, see test_reload_watch.py.)"""
    other = srvd.workdir / "other.test.zone"
    other.write_text("$ORIGIN other.test.\n$TTL 300\n"
                     "@ IN SOA ns.other.test. h.other.test. 7 3600 600 86400 60\n"
                     "@ IN NS ns\nns IN A 192.0.2.7\n")
    good = srvd.conf_path.read_text()
    with_other = good + f'  - name: other.test\n    file: "{other}"\n'
    srvd.conf_path.write_text(with_other + "bogus-key: 1\n")
    srvd.signal(signal.SIGHUP)
    time.sleep(1.0)
    assert srvd.proc.poll() is None, srvd.log()
    assert soa_serial("127.0.0.1", srvd.port, "other.test") is None, "a broken config was applied"
    assert soa_serial("127.0.0.1", srvd.port) == ZONE_SERIAL
    assert "srvd.yaml:" in srvd.log(), srvd.log()
    srvd.conf_path.write_text(with_other)
    srvd.signal(signal.SIGHUP)
    got = wait_for(lambda: soa_serial("127.0.0.1", srvd.port, "other.test") == 7, RELOAD_TIMEOUT)
    assert got, srvd.log()
    assert soa_serial("127.0.0.1", srvd.port) == ZONE_SERIAL


def sig_ignored(pid, sig):
    """True when /proc says pid ignores sig (SIG_IGN)."""
    try:
        status = open(f"/proc/{pid}/status").read()
    except OSError:
        return False
    mask = int(re.search(r"^SigIgn:\s*([0-9a-f]+)", status, re.M).group(1), 16)
    return bool(mask & (1 << (sig - 1)))


def test_signal_storm_during_first_load(tmp_path):
    """systemctl reload (SIGHUP) while a big zone still loads, and the
    signals srvd has no use for (USR1, USR2, ALRM, QUIT), must not kill it:
    the reload is queued until the load is done, the others are ignored."""
    zone = tmp_path / "big.test.zone"
    lines = ["$ORIGIN big.test.", "$TTL 300", "@ SOA ns hostmaster 1 3600 600 86400 300",
             "@ NS ns", "ns A 192.0.2.1"]
    lines += [f"h{i} A 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}" for i in range(200_000)]
    zone.write_text("\n".join(lines) + "\n")
    s = Srvd(tmp_path, [("big.test", zone, None)], v6=False)
    s.port = free_ports(1, v6=False)
    s.write_config()
    log = open(s.log_path, "ab")
    s._log = log
    s.proc = subprocess.Popen([str(srvd_bin()), "-c", str(s.conf_path)], cwd=tmp_path,
                              stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    # Before main() runs, no program survives these; wait until srvd says
    # (through /proc) that it ignores them, then storm until it answers.
    assert wait_for(lambda: sig_ignored(s.proc.pid, signal.SIGUSR1), 20.0, 0.005,
                    proc=s.proc), f"srvd never ignored SIGUSR1 (exit {s.proc.poll()})"
    storm = [signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2, signal.SIGALRM, signal.SIGQUIT]
    sent = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and s.proc.poll() is None:
        for sig in storm:
            os.kill(s.proc.pid, sig)
        sent += 1
        if soa_serial("127.0.0.1", s.port, "big.test", timeout=0.05) == 1:
            break
    assert s.proc.poll() is None, f"srvd died (exit {s.proc.returncode}); log:\n{s.log()}"
    assert sent > 1, "the zone loaded before a second round of signals: make it bigger"
    assert soa_serial("127.0.0.1", s.port, "big.test") == 1, s.log()
    # the SIGHUPs sent during the load became a reload after it
    assert wait_for(lambda: "SIGHUP: reloading" in s.log(), RELOAD_TIMEOUT), s.log()
    assert s.q("h199999.big.test", "A").answer, s.log()
    assert s.stop() == 0, s.log()
