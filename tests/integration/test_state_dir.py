"""server: state-dir, as systemd runs srvd: ProtectSystem=strict makes
/etc/srvd read-only, and StateDirectory=srvd gives it /var/lib/srvd.

- A primary zone in a read-only folder keeps its journal (and its compiled
  snapshot) in state-dir: IXFR out stays incremental, and a restart reads
  the snapshot and the journal.
- A journal that cannot be written is a warning in the log (IXFR is then
  answered with the whole zone), not a silent fallback.
- srvd as a secondary of srvd, its zone given no file: the copy, its state
  and its journal live in state-dir. `srvdctl retransfer` at an unchanged
  serial changes nothing and logs no journal error. `srvdctl zone-status`
  shows the refresh times in UTC, and as unix seconds with --json.

The read-only folder is what systemd makes it: a read-only bind mount in a
mount namespace of srvd's own (unshare -m), so even root gets EROFS. Not
root: the folder is made mode 0555 instead.
"""

import os
import re
import shlex
import shutil
import subprocess
import time

import dns.message
import dns.query
import dns.rdatatype
import dns.rrset
import pytest

from srvdtest import ZONE_SERIAL, bundled_zone, wait_for, yaml_str

ZONE = "example.com"
NEW = ZONE_SERIAL + 1


@pytest.fixture
def read_only(tmp_path):
    """read_only(dir, ...) -> the argv prefix under which srvd sees those
    folders read-only (the test itself can still write them)."""
    chmodded = []

    def make(*dirs):
        if os.geteuid() != 0:
            for d in dirs:
                d.chmod(0o555)
                chmodded.append(d)
            return []
        if not shutil.which("unshare"):
            pytest.skip("skipped: unshare (util-linux) is needed for a read-only bind mount")
        q = [shlex.quote(str(d)) for d in dirs]
        mounts = " && ".join(f"mount --bind {d} {d} && mount -o remount,bind,ro {d}" for d in q)
        probe = subprocess.run(["unshare", "-m", "sh", "-c", f"{mounts} && ! touch {q[0]}/.probe"],
                               capture_output=True, text=True, timeout=30)
        if probe.returncode != 0:
            pytest.skip(f"skipped: no read-only bind mount here (unshare -m): {probe.stderr}")
        return ["unshare", "-m", "sh", "-c", f'{mounts} && exec "$@"', "sh"]

    yield make
    for d in chmodded:
        d.chmod(0o755)


def zone_in(folder):
    folder.mkdir()
    zone = folder / f"{ZONE}.zone"
    shutil.copy(bundled_zone(), zone)
    return zone


def bump(zone, serial=NEW):
    text = zone.read_text().replace(str(ZONE_SERIAL), str(serial))
    zone.write_text(text + 'journal IN TXT "new"\n')


def ixfr(port, serial=ZONE_SERIAL):
    """IXFR from serial: the answer's records, one RR each."""
    q = dns.message.make_query(ZONE, "IXFR")
    q.authority.append(dns.rrset.from_text(
        f"{ZONE}.", 3600, "IN", "SOA",
        f"ns1.{ZONE}. hostmaster.{ZONE}. {serial} 7200 3600 1209600 300"))
    r = dns.query.tcp(q, "127.0.0.1", port=port, timeout=5, one_rr_per_rrset=True)
    return r.answer


def incremental(port):
    """The IXFR answer when it is the diff ZONE_SERIAL -> NEW, else None."""
    rrs = ixfr(port)
    soas = [rr[0].serial for rr in rrs if rr.rdtype == dns.rdatatype.SOA]
    return rrs if soas == [NEW, ZONE_SERIAL, NEW, NEW] else None


def test_read_only_zone_folder_journal_and_snapshot_in_state_dir(srvd_factory, tmp_path,
                                                                 read_only):
    zone = zone_in(tmp_path / "etc")
    state = tmp_path / "state"
    state.mkdir()
    s = srvd_factory(zones=[(ZONE, zone, ["127.0.0.1"])], control=True,
                     server_extra={"state-dir": yaml_str(state)}, wrap=read_only(zone.parent))
    assert (state / f"{ZONE}.snap").is_file(), s.log()
    bump(zone)
    rc, _, err = s.ctl("reload", ZONE)
    assert rc == 0, err
    rrs = wait_for(lambda: incremental(s.port), 10)
    assert rrs, s.log()
    assert [str(rr.name) for rr in rrs if rr.rdtype == dns.rdatatype.TXT] == [f"journal.{ZONE}."]
    # IXFR may see the diff before its append reaches the file
    assert wait_for(lambda: (state / f"{ZONE}.jnl").is_file(), 10)
    assert sorted(p.name for p in zone.parent.iterdir()) == [zone.name]
    assert "cannot be written" not in s.log()

    # a restart reads the compiled zone, and IXFR still comes from the journal
    assert s.stop() == 0, s.log()
    s.control.parent.mkdir()  # stop() removed the socket's folder
    s.start()
    assert re.search(rf"zone {ZONE}\.: serial {NEW}, .* from the snapshot {state}/{ZONE}\.snap",
                     s.log()), s.log()
    assert incremental(s.port), s.log()


@pytest.mark.parametrize("where", ["beside", "state-dir"])
def test_warning_when_the_journal_cannot_be_written(srvd_factory, tmp_path, read_only, where):
    zone = zone_in(tmp_path / "etc")
    extra, journal, ro = {}, f"{zone}.jnl", [zone.parent]
    if where == "state-dir":
        state = tmp_path / "state"
        state.mkdir()
        extra, journal = {"state-dir": yaml_str(state)}, f"{state}/{ZONE}.jnl"
        ro.append(state)
    s = srvd_factory(zones=[(ZONE, zone, ["127.0.0.1"])], control=True, server_extra=extra,
                     wrap=read_only(*ro))
    warning = (rf"warning: zone {ZONE}: journal {re.escape(journal)} cannot be written "
               r"\(.*(Read-only file system|Permission denied)\): IXFR for the zone is answered "
               r"with the whole zone")
    assert re.search(warning, s.log()), s.log()
    bump(zone)
    rc, _, err = s.ctl("reload", ZONE)
    assert rc == 0, err
    rrs = ixfr(s.port)
    assert rrs[0].rdtype == dns.rdatatype.SOA and rrs[0][0].serial == NEW
    assert rrs[1].rdtype != dns.rdatatype.SOA, "incremental without a journal?"
    assert len(re.findall(warning, s.log())) == 1, s.log()  # said once, not per reload


def utc(t):
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(t))


def test_secondary_copy_in_state_dir_retransfer_and_zone_status(srvd_factory, tmp_path):
    zone = zone_in(tmp_path / "primary")
    p = srvd_factory(zones=[(ZONE, zone, ["127.0.0.1"])], control=True)
    state = tmp_path / "state"
    state.mkdir()
    # no file: for the zone: its copy goes to state-dir
    s = srvd_factory(zones=[], control=True, server_extra={"state-dir": yaml_str(state)},
                     allow_transfer=["127.0.0.1"],
                     top_extra=f'  - name: {ZONE}\n    primaries: ["127.0.0.1@{p.port}"]\n')

    def status():
        rc, out, err = s.ctl("zone-status", ZONE, json_out=True)
        assert rc == 0, err
        return out["data"]["zones"][0]

    copy = state / f"{ZONE}.zone"
    assert wait_for(lambda: copy.is_file() and not status()["saving"], 10), s.log()
    assert (state / f".{ZONE}.zone.srvd-state").is_file()
    assert f"serial {ZONE_SERIAL} saved to {copy}" in s.log()

    # retransfer at the same serial: a new AXFR, nothing for the journal
    axfrs = status()["axfr_in"]
    rc, _, err = s.ctl("retransfer", ZONE)
    assert rc == 0, err
    assert wait_for(lambda: status()["axfr_in"] == axfrs + 1 and not status()["saving"]
                    and s.log().count(f"saved to {copy}") == 2, 10), s.log()
    assert "journal:" not in s.log() and "invalid argument" not in s.log(), s.log()

    # a new serial by IXFR goes into the journal in state-dir
    bump(zone)
    rc, _, err = p.ctl("reload", ZONE)
    assert rc == 0, err
    rc, _, err = s.ctl("refresh", ZONE)
    assert rc == 0, err
    assert wait_for(lambda: (state / f"{ZONE}.jnl").is_file() and not status()["saving"]
                    and f"serial {NEW} saved to {copy} and its diff" in s.log(), 10), s.log()
    assert incremental(s.port), s.log()

    # other data under the same serial (the primary's operator forgot to bump
    # it), fetched by retransfer: the journal no longer leads there, so it
    # starts over and IXFR from the old serial gets the whole zone
    zone.write_text(zone.read_text().replace('"new"', '"newer"'))
    rc, _, err = p.ctl("reload", ZONE)
    assert rc == 0, err
    rc, _, err = s.ctl("retransfer", ZONE)
    assert rc == 0, err
    assert wait_for(lambda: "journal cleared" in s.log() and not status()["saving"], 10), s.log()
    assert f"zone {ZONE}: serial {NEW} again after {NEW} with other data: journal cleared" \
        in s.log()
    rrs = ixfr(s.port)
    assert rrs[0][0].serial == NEW and rrs[1].rdtype != dns.rdatatype.SOA, rrs
    assert 'journal.example.com. 3600 IN TXT "newer"' in [rr.to_text() for rr in rrs]

    # zone-status: unix seconds in JSON, the same instants in UTC in text
    st = status()
    now = time.time()
    for key in ("last_refresh", "next_refresh", "expires"):
        assert isinstance(st[key], int), st
    assert now - 60 < st["last_refresh"] <= now + 1, st
    assert st["next_refresh"] > st["last_refresh"] and st["expires"] > st["next_refresh"], st
    rc, text, err = s.ctl("zone-status", ZONE)
    assert rc == 0, err
    for key in ("last_refresh", "next_refresh", "expires"):
        assert f"{key}={utc(st[key])}" in text, text


def test_reload_does_not_move_state_dir(srvd_factory, tmp_path):
    """Journals are open in state-dir and updates live in them: a reload
    that names another one fails, says why, and changes nothing."""
    state = tmp_path / "state"
    state.mkdir()
    s = srvd_factory(control=True, server_extra={"state-dir": yaml_str(state)})
    s.server_extra = {"state-dir": yaml_str(tmp_path / "elsewhere")}
    s.write_config()
    rc, _, err = s.ctl("reload")
    assert rc == 1 and f"state-dir: {state} -> {tmp_path}/elsewhere takes a restart" in err, err
    assert s.q(ZONE, "SOA").answer, s.log()
