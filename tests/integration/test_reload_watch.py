"""Automatic reloads from file events: a zone file rewritten by rename or in
place (in several steps) is reloaded once, soon; files in zones-dir add and
remove zones; a broken file keeps the old version and its error (file:line)
shows in srvdctl zone-status; $INCLUDEd files are watched too; and SIGHUP
reloads only the zones whose files changed."""

import os
import re
import signal
import subprocess
import time

import dns.rcode
import pytest

from srvdtest import CTL_TIMEOUT, ZONE_SERIAL, bundled_zone, soa_serial, srvdctl_cmd, wait_for

SOON = 2.0  # seconds from the write to the new answer (debounce is 0.25 s)
SETTLE = 0.8  # longer than the debounce: time for a second, unwanted reload


def zone_text(serial, extra=""):
    text, n = re.subn(r"\b\d{10}\b", str(serial), bundled_zone().read_text(), count=1)
    assert n == 1
    return text + extra


def small_zone(origin, serial, extra=""):
    return (f"$ORIGIN {origin}.\n$TTL 300\n"
            f"@ IN SOA ns.{origin}. h.{origin}. {serial} 3600 600 86400 60\n"
            f"@ IN NS ns\nns IN A 192.0.2.7\n{extra}")


def loads(s, zone="example.com", serial=None):
    """How many times the log says the zone was loaded (with that serial)."""
    num = str(serial) if serial else r"\d+"
    pat = rf"info: zone {re.escape(zone)}\.: serial {num},"
    return len(re.findall(pat, s.log()))


def replace(path, text):
    """What editors and deploy tools do: write a temporary file, rename it over."""
    tmp = path.with_name("." + path.name + ".tmp")
    tmp.write_text(text)
    os.rename(tmp, path)


def rcode(s, name, qtype="SOA"):
    try:
        return s.q(name, qtype, timeout=1.0).rcode()
    except Exception:  # noqa: BLE001 - a timeout is "no answer"
        return None


@pytest.fixture
def zone(tmp_path):
    z = tmp_path / "zones" / "example.com.zone"
    z.parent.mkdir()
    z.write_text(zone_text(ZONE_SERIAL))
    return z


@pytest.fixture
def s(srvd_factory, zone):
    return srvd_factory(zones=[("example.com", zone, None)], control=True, v6=False)


def test_rename_over_reloads_once(s, zone):
    new = ZONE_SERIAL + 1
    t0 = time.monotonic()
    replace(zone, zone_text(new, 'renamed IN TXT "yes"\n'))
    assert wait_for(lambda: soa_serial("127.0.0.1", s.port) == new, SOON), s.log()
    print(f"new serial served {time.monotonic() - t0:.2f} s after the rename")
    assert [rd.to_text() for rd in s.q("renamed.example.com", "TXT").answer[0]] == ['"yes"']
    time.sleep(SETTLE)
    assert loads(s, serial=new) == 1, s.log()
    assert loads(s) == 2, "the initial load and one reload"


def test_in_place_write_in_three_steps_reloads_once(s, zone):
    new = ZONE_SERIAL + 2
    text = zone_text(new, "".join(f"host{i} IN A 192.0.2.{i}\n" for i in range(1, 60)))
    third = len(text) // 3
    t0 = time.monotonic()
    with open(zone, "w") as f:  # truncates: the file is empty, then partial
        for part in (text[:third], text[third:2 * third], text[2 * third:]):
            f.write(part)
            f.flush()
            os.fsync(f.fileno())
            time.sleep(0.05)
    assert wait_for(lambda: soa_serial("127.0.0.1", s.port) == new, SOON), s.log()
    print(f"new serial served {time.monotonic() - t0:.2f} s after the first write")
    time.sleep(SETTLE)
    assert loads(s, serial=new) == 1, s.log()
    assert loads(s) == 2, s.log()
    assert "error" not in s.log(), "a half-written file was loaded:\n" + s.log()
    assert s.q("host59.example.com").rcode() == dns.rcode.NOERROR


def big_zone(serial, hosts):
    return zone_text(serial, "".join(f"h{i} IN A 192.0.2.{i % 250 + 1}\n" for i in range(hosts)))


def test_rewrite_during_a_load_is_read_again(srvd_factory, tmp_path):
    """A file rewritten in place while srvd reads it must not be served torn
    nor count as a failed reload: srvd sees its fingerprint change across
    the load and reads it again. The zone is big enough (200,000 records,
    0.5 s or more to load here) that a rewrite started as soon as the
    daemon logs the reload request lands in the middle of the load."""
    z = tmp_path / "big" / "example.com.zone"
    z.parent.mkdir()
    z.write_text(big_zone(ZONE_SERIAL, 200_000))
    s = srvd_factory(zones=[("example.com", z, None)], control=True, v6=False)
    v1, v2 = ZONE_SERIAL + 1, ZONE_SERIAL + 2
    t1, t2 = big_zone(v1, 200_000), big_zone(v2, 200_001)
    # rewrite to v1 by rename, and at once ask for a reload; while that load
    # runs, rewrite v2 in place (truncate, then write)
    replace(z, t1)
    ctl = subprocess.Popen(srvdctl_cmd(s.control, "reload", "example.com"),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert wait_for(lambda: "control: reload example.com" in s.log(), 10, interval=0.005), \
        s.log()
    with open(z, "w") as f:
        f.write(t2)
    out, err = ctl.communicate(timeout=CTL_TIMEOUT + 30)
    assert ctl.returncode == 0, (out, err, s.log())
    assert wait_for(lambda: soa_serial("127.0.0.1", s.port) == v2, 60), s.log()
    time.sleep(SETTLE)
    assert "changed while it was read; reading it again" in s.log(), s.log()
    assert "not loaded" not in s.log(), "a torn read counted as a failure:\n" + s.log()
    rc, out, _ = s.ctl("stats", json_out=True)
    assert rc == 0 and out["data"]["reloads"]["failed"] == 0, out
    assert s.q("h200000.example.com").rcode() == dns.rcode.NOERROR  # only in v2


def test_touch_without_change_does_not_reload(s, zone):
    os.utime(zone)  # new mtime, same bytes: hashed, found equal
    replace(zone, zone.read_text())  # new inode, same bytes
    time.sleep(SETTLE + 0.5)
    assert loads(s) == 1, s.log()


def test_broken_file_keeps_the_old_version(s, zone):
    good = zone.read_text()
    bad_line = good.count("\n") + 1
    replace(zone, zone_text(ZONE_SERIAL + 3, "broken IN A 192.0.2.300\n"))
    # the summary comes last (after a failed load srvd waits a moment to
    # see whether the file was still being written)
    pat = re.escape("not loaded (" + f"{zone}:{bad_line}:")
    assert wait_for(lambda: re.search(pat, s.log()), SOON), s.log()
    assert soa_serial("127.0.0.1", s.port) == ZONE_SERIAL
    summary = [ln for ln in s.log().splitlines() if "not loaded" in ln]
    assert len(summary) == 1 and f"{zone}:{bad_line}:" in summary[0], summary
    assert "still serving serial %d" % ZONE_SERIAL in summary[0]
    rc, out, _ = s.ctl("zone-status", json_out=True)
    (z,) = out["data"]["zones"]
    assert z["serial"] == ZONE_SERIAL and z["error"].startswith(f"{zone}:{bad_line}:"), z
    rc, out, _ = s.ctl("stats", json_out=True)
    assert out["data"]["reloads"]["failed"] == 1, out
    # a missing SOA is an error too
    replace(zone, "$ORIGIN example.com.\n@ 300 IN NS ns1\nns1 300 IN A 192.0.2.1\n")
    assert wait_for(lambda: s.ctl("stats", json_out=True)[1]["data"]["reloads"]["failed"] == 2,
                    SOON), s.log()
    assert soa_serial("127.0.0.1", s.port) == ZONE_SERIAL
    # fixed: served at once, the error is gone
    replace(zone, zone_text(ZONE_SERIAL + 4))
    assert wait_for(lambda: soa_serial("127.0.0.1", s.port) == ZONE_SERIAL + 4, SOON), s.log()
    rc, out, _ = s.ctl("zone-status", json_out=True)
    assert "error" not in out["data"]["zones"][0]


def test_included_file_is_watched(srvd_factory, tmp_path):
    d = tmp_path / "inc"
    d.mkdir()
    (d / "hosts.inc").write_text("www IN A 192.0.2.80\n")
    main = d / "example.com.zone"
    main.write_text(zone_text(ZONE_SERIAL, "$INCLUDE hosts.inc\n"))
    s = srvd_factory(zones=[("example.com", main, None)], control=True, v6=False)
    rc, out, _ = s.ctl("zone-status", json_out=True)
    assert out["data"]["zones"][0]["files"] == [str(main), str(d / "hosts.inc")]
    # only the include changes, the serial does not: served, with a warning
    replace(d / "hosts.inc", "www IN A 192.0.2.81\n")
    want = {"192.0.2.81"}
    got = wait_for(lambda: {rd.to_text() for rd in s.q("www.example.com").answer[0]} == want,
                   SOON)
    assert got, s.log()
    assert "secondaries won't notice" in s.log()
    assert soa_serial("127.0.0.1", s.port) == ZONE_SERIAL


def test_zones_dir_adds_and_removes_zones(srvd_factory, tmp_path, zone):
    zd = tmp_path / "zones.d"
    zd.mkdir()
    (zd / "a.test.zone").write_text(small_zone("a.test", 1))
    s = srvd_factory(zones=[("example.com", zone, None)], zones_dir=zd, control=True, v6=False)
    assert soa_serial("127.0.0.1", s.port, "a.test") == 1
    assert rcode(s, "b.test") == dns.rcode.REFUSED
    # a new file adds a zone
    (zd / "b.test.zone").write_text(small_zone("b.test", 5))
    assert wait_for(lambda: soa_serial("127.0.0.1", s.port, "b.test") == 5, SOON), s.log()
    # editor leftovers are not zones
    (zd / ".b.test.zone.swp").write_text("junk")
    (zd / "notes.txt").write_text("junk")
    # a removed file removes its zone: not authoritative any more
    os.unlink(zd / "a.test.zone")
    assert wait_for(lambda: rcode(s, "a.test") == dns.rcode.REFUSED, SOON), s.log()
    rc, out, _ = s.ctl("zone-status", json_out=True)
    names = [z["name"] for z in out["data"]["zones"]]
    assert names == ["b.test.", "example.com."], names
    assert soa_serial("127.0.0.1", s.port) == ZONE_SERIAL


def test_zones_dir_bad_entry_is_skipped(srvd_factory, tmp_path, zone):
    """Issue 14: one symbolic-link loop in zones-dir failed the whole config,
    so srvd would not start, and a SIGHUP changed nothing. The entry must be
    skipped with a warning naming it, at start-up and on SIGHUP, and the
    other zones served."""
    zd = tmp_path / "zones.d"
    zd.mkdir()
    (zd / "a.test.zone").write_text(small_zone("a.test", 1))
    os.symlink("loop.zone", zd / "loop.zone")
    s = srvd_factory(zones=[("example.com", zone, None)], zones_dir=zd, v6=False)
    assert soa_serial("127.0.0.1", s.port, "a.test") == 1, s.log()
    assert soa_serial("127.0.0.1", s.port) == ZONE_SERIAL
    assert f"warning: {s.conf_path}:" in s.log(), s.log()
    assert f"zones-dir: {zd}/loop.zone: Too many levels of symbolic links; skipped" in s.log()
    # another bad entry and a new zone; the reload takes the new zone
    os.symlink("db.loop1", zd / "db.loop2")
    os.symlink("db.loop2", zd / "db.loop1")
    (zd / "b.test.zone").write_text(small_zone("b.test", 5))
    s.signal(signal.SIGHUP)
    assert wait_for(lambda: soa_serial("127.0.0.1", s.port, "b.test") == 5, SOON), s.log()
    assert wait_for(lambda: f"{zd}/db.loop1: Too many levels" in s.log(), SOON), s.log()
    assert "the configuration in force stays" not in s.log(), s.log()
    assert soa_serial("127.0.0.1", s.port, "a.test") == 1


def test_zone_missing_at_start_is_refused_until_created(srvd_factory, tmp_path, zone):
    late = tmp_path / "zones" / "late.test.zone"
    s = srvd_factory(zones=[("example.com", zone, None), ("late.test", late, None)],
                     control=True, v6=False)
    assert rcode(s, "late.test") == dns.rcode.REFUSED
    assert rcode(s, "www.late.test", "A") == dns.rcode.REFUSED
    rc, out, _ = s.ctl("zone-status", "late.test", json_out=True)
    (z,) = out["data"]["zones"]
    assert z["loaded"] == 0 and "serial" not in z and "cannot open" in z["error"], z
    late.write_text(small_zone("late.test", 9))
    assert wait_for(lambda: soa_serial("127.0.0.1", s.port, "late.test") == 9, SOON), s.log()


def test_sighup_reloads_only_changed_zones(srvd_factory, tmp_path, zone):
    other = tmp_path / "zones" / "other.test.zone"
    other.write_text(small_zone("other.test", 1))
    s = srvd_factory(zones=[("example.com", zone, None), ("other.test", other, None)],
                     control=True, v6=False)
    s.signal(signal.SIGHUP)
    assert wait_for(lambda: "reload: no zone changed" in s.log(), SOON), s.log()
    assert loads(s) == 1 and loads(s, "other.test") == 1
    # change one zone behind the watcher's back: it is reloaded by SIGHUP only
    # (both ways lead to one load, whichever comes first)
    replace(other, small_zone("other.test", 2))
    s.signal(signal.SIGHUP)
    assert wait_for(lambda: soa_serial("127.0.0.1", s.port, "other.test") == 2, SOON), s.log()
    time.sleep(SETTLE)
    assert loads(s, "other.test") == 2 and loads(s) == 1, s.log()
