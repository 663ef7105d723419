"""Dynamic update, its bounds and the zone file (issue 11, srvd(8) "UPDATES
AND THE ZONE FILE"), against the real srvd:
  - update-max-records and update-max-size: a bigger UPDATE is REFUSED,
    logged, and changes nothing;
  - a hand edit of the zone file while updates exist: the file's own
    difference goes on top of the updated version, the file winning (with
    a warning) where both changed an RRset; the result survives a restart;
  - zonefile-sync: after a quiet period the updated zone is written back to
    its file (not taken for an edit), and a restart has nothing to replay;
  - the journal stays within journal-max-size: updates that come and go
    compact into one diff, a large net change sends the zone to its file;
    either way a restart serves every update.
"""

import base64
import os
import re

import dns.query
import dns.rcode
import dns.tsig
import dns.tsigkeyring
import dns.update
import pytest

from srvdtest import ZONE_SERIAL, Srvd, bundled_zone, soa_serial, wait_for

KEY = "ops"
SECRET = base64.b64encode(b"ops-secret-for-the-update-files!").decode()
KEYRING = dns.tsigkeyring.from_text({KEY: SECRET})
TIMEOUT = 10.0


class FileSrvd(Srvd):
    """srvd serving example.com with an `ops` key that may change anything,
    and the zone settings given."""

    def __init__(self, workdir, zone, settings=""):
        super().__init__(workdir, [("example.com", zone, None)], v6=False, control=True)
        self.settings = settings

    def write_config(self):
        super().write_config()
        text = self.conf_path.read_text()
        extra = (f"    update:\n      - key: {KEY}\n        names: [\"*\", \"@\"]\n" +
                 self.settings)
        text = re.sub(r"(    file: .*\n)", lambda m: m.group(1) + extra, text, count=1)
        text += f"keys:\n  - name: {KEY}\n    algorithm: hmac-sha256\n    secret: {SECRET}\n"
        self.conf_path.write_text(text)

    def restart(self):
        assert self.stop() == 0, self.log()
        self.stopped = False
        self.control.parent.mkdir(mode=0o700)  # stop() removed it with the socket
        self.start()


@pytest.fixture(params=["small", "large"])
def zone(tmp_path, request):
    """The bundled zone, and (large) the same with 2,000 more records, so
    that updates, the journal replay and the merge take the copy-on-write
    path (src/zone/cow.c, XFR_COW_MIN_RECORDS) instead of the builder."""
    z = tmp_path / "example.com.zone"
    text = bundled_zone().read_text()
    if request.param == "large":
        text += "".join(f"host{i} 300 IN A 198.51.{i // 250}.{i % 250 + 1}\n"
                        for i in range(2000))
    z.write_text(text)
    return z


def upd():
    return dns.update.UpdateMessage("example.com", keyring=KEYRING, keyname=KEY,
                                    keyalgorithm=dns.tsig.HMAC_SHA256)


def send(s, u):
    return dns.query.tcp(u, "127.0.0.1", port=s.port, timeout=TIMEOUT).rcode()


def rdatas(s, name, rdtype):
    r = s.q(name, rdtype)
    return sorted(rd.to_text() for rr in r.answer for rd in rr)


def edit(path, fn):
    """Rewrite the file as editors do: a temp file renamed over it."""
    tmp = path.with_suffix(".edit")
    tmp.write_text(fn(path.read_text()))
    os.replace(tmp, path)


def test_size_limits(tmp_path, zone):
    s = FileSrvd(tmp_path, zone, "    update-max-records: 3\n    update-max-size: 400\n")
    s.start()
    try:
        u = upd()
        for i in range(4):
            u.add(f"h{i}", 60, "A", f"192.0.2.{i + 1}")
        assert send(s, u) == dns.rcode.REFUSED
        assert re.search(r"refused from 127\.0\.0\.1: 4 records and \d+ bytes, the bounds are 3 "
                         r"records \(update-max-records\)", s.log())
        u = upd()
        u.add("big", 60, "TXT", '"' + "x" * 200 + '" "' + "y" * 200 + '"')
        assert send(s, u) == dns.rcode.REFUSED
        assert soa_serial("127.0.0.1", s.port) == ZONE_SERIAL
        assert rdatas(s, "h0.example.com", "A") == []
        u = upd()
        for i in range(3):
            u.add(f"h{i}", 60, "A", f"192.0.2.{i + 1}")
        assert send(s, u) == dns.rcode.NOERROR
        assert rdatas(s, "h2.example.com", "A") == ["192.0.2.3"]
    finally:
        assert s.stop() == 0, s.log()


def test_file_edit_merges_with_updates_and_survives_restart(tmp_path, zone):
    s = FileSrvd(tmp_path, zone)
    s.start()
    try:
        u = upd()
        u.add("kept", 60, "TXT", '"from-update"')
        assert send(s, u) == dns.rcode.NOERROR
        u = upd()
        u.replace("matrix", 3600, "A", "192.0.2.77")
        assert send(s, u) == dns.rcode.NOERROR
        assert soa_serial("127.0.0.1", s.port) == ZONE_SERIAL + 2
        # the operator edits the file (not knowing about the updates): the same
        # A changed otherwise, a new name, the serial left as it was
        edit(zone, lambda t: t.replace("matrix  IN A    192.0.2.10", "matrix  IN A    192.0.2.88")
             + "newfile IN A 192.0.2.3\n")
        rc, out, err = s.ctl("reload")
        assert rc == 0, out + err
        want = {("kept.example.com", "TXT"): ['"from-update"'],
                ("matrix.example.com", "A"): ["192.0.2.88"],
                ("newfile.example.com", "A"): ["192.0.2.3"],
                ("matrix.example.com", "AAAA"): ["2001:db8::10"]}
        for (name, t), v in want.items():
            assert rdatas(s, name, t) == v, (name, t, s.log())
        assert soa_serial("127.0.0.1", s.port) == ZONE_SERIAL + 3  # newer than both
        assert re.search(r"matrix\.example\.com\. type 1 was changed by the file and by an "
                         r"update: the file's version is served", s.log())
        # the journal now leads from the edited file: a restart serves the same
        s.restart()
        for (name, t), v in want.items():
            assert rdatas(s, name, t) == v, (name, t, s.log())
        assert soa_serial("127.0.0.1", s.port) == ZONE_SERIAL + 3
        assert "journal diffs replayed over the file" in s.log()
    finally:
        if not s.stopped:
            assert s.stop() == 0, s.log()


def test_zonefile_sync_writes_the_file(tmp_path, zone):
    s = FileSrvd(tmp_path, zone, "    zonefile-sync: 1\n")
    s.start()
    try:
        u = upd()
        u.add("kept", 60, "TXT", '"written-back"')
        assert send(s, u) == dns.rcode.NOERROR
        assert wait_for(lambda: "written-back" in zone.read_text(), 15), s.log()
        assert wait_for(lambda: re.search(r"serial 2024060102 written to .*zonefile-sync",
                                          s.log()), 5)
        # the rewritten file is not an edit: a reload keeps what is served
        rc, out, err = s.ctl("reload")
        assert rc == 0, out + err
        assert "changes applied over the updated version" not in s.log()
        assert soa_serial("127.0.0.1", s.port) == ZONE_SERIAL + 1
        # a restart loads the file at the journal's last serial: nothing to replay
        s.restart()
        assert rdatas(s, "kept.example.com", "TXT") == ['"written-back"']
        assert soa_serial("127.0.0.1", s.port) == ZONE_SERIAL + 1
        assert "journal diffs replayed" not in s.log().split("stopping")[-1]
        # and an edit of the written file is an ordinary reload
        edit(zone, lambda t: t.replace(" 2024060102 ", " 2024060110 ") +
             "newfile.example.com. 60 IN A 192.0.2.3\n")
        rc, out, err = s.ctl("reload")
        assert rc == 0, out + err
        assert soa_serial("127.0.0.1", s.port) == 2024060110
        assert rdatas(s, "newfile.example.com", "A") == ["192.0.2.3"]
        assert rdatas(s, "kept.example.com", "TXT") == ['"written-back"']
    finally:
        if not s.stopped:
            assert s.stop() == 0, s.log()


def test_journal_stays_bounded(tmp_path, zone):
    s = FileSrvd(tmp_path, zone, "    journal-max-size: 65536\n")
    s.start()
    jnl = zone.with_name(zone.name + ".jnl")
    big = " ".join('"' + c * 250 + '"' for c in "abcd")  # ~1 KB of TXT
    try:
        # updates that come and go: the journal compacts into one small diff
        for i in range(40):
            u = upd()
            if i % 2 == 0:
                u.add("_acme-challenge", 60, "TXT", big)
            else:
                u.delete("_acme-challenge", "TXT")
            assert send(s, u) == dns.rcode.NOERROR
        assert "journal compacted to one diff" in s.log()
        assert jnl.stat().st_size <= 65536
        # a large net change: the zone goes to its file
        for i in range(40):
            u = upd()
            u.add(f"t{i}", 60, "TXT", big)
            assert send(s, u) == dns.rcode.NOERROR
        assert wait_for(lambda: "t39.example.com" in zone.read_text() or
                        "the zone goes to its file" in s.log() and
                        "written to" in s.log(), 15), s.log()
        assert re.search(r"do not compact below it: the zone goes to its file", s.log())
        assert jnl.stat().st_size <= 65536
        serial = soa_serial("127.0.0.1", s.port)
        s.restart()
        assert soa_serial("127.0.0.1", s.port) == serial
        for i in (0, 17, 39):
            assert len(rdatas(s, f"t{i}.example.com", "TXT")) == 1, s.log()
        assert rdatas(s, "_acme-challenge.example.com", "TXT") == []
    finally:
        if not s.stopped:
            assert s.stop() == 0, s.log()
