"""Zone file errors say which field is wrong and why, at FILE:LINE, as
NSD does, where ldns would only say "could not parse the RR's rdata"; and a
file that ends inside parentheses (a half-written file) is refused, by
srvd-checkzone and by the daemon, which must not serve it."""

import subprocess

import dns.rcode
import pytest

from srvdtest import Srvd, bundled_zone, srvd_bin

HEAD = """$ORIGIN err.example.
$TTL 300
@ IN SOA ns hostmaster 1 7200 3600 1209600 300
@ IN NS ns
ns IN A 192.0.2.53
"""  # 5 lines: the record under test is on line 6

CASES = [
    ("bad-ipv4", "www IN A 192.0.2.300\n", "invalid IPv4 address '192.0.2.300'"),
    ("bad-ipv6", "www IN AAAA 2001:db8::zz\n", "invalid IPv6 address '2001:db8::zz'"),
    ("unknown-type", "www IN FOO 1\n", "unknown type 'FOO'"),
    ("unknown-type-no-rdata", "_matrix._tcp SVR\n", "unknown type 'SVR'"),
    ("bad-ttl", "www 1w2x IN A 192.0.2.1\n", "TTL '1w2x' is not a number"),
    ("srv-port", "_matrix._tcp IN SRV 10 0 port matrix\n",
     "SRV record: invalid number (0-65535) 'port'"),
    ("mx-missing-field", "@ IN MX 10\n", "MX record: 1 fields, expected 2"),
    ("nested-parens", 'paren IN TXT ( "a" ( "b" ) )\n', "nested parentheses"),
    ("close-without-open", "www IN A 192.0.2.1 )\n", "')' without '('"),
]


def checkzone(*args):
    exe = srvd_bin().parent / "srvd-checkzone"
    p = subprocess.run([str(exe), *map(str, args)], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout + p.stderr


@pytest.mark.parametrize("name,record,message", CASES, ids=[c[0] for c in CASES])
def test_message_names_field_and_line(tmp_path, name, record, message):
    z = tmp_path / "err.zone"
    z.write_text(HEAD + record)
    rc, out = checkzone("err.example", z)
    assert rc == 1, out
    assert f"{z}:6: error: " in out and message in out, out
    errors = [ln for ln in out.splitlines() if ": error: " in ln]
    assert len(errors) == 1, f"one finding per bad line; got:\n{out}"


UNBALANCED = HEAD + 'paren IN TXT ( "a"\n  "b"\n'  # the '(' is on line 6, never closed


def test_unbalanced_parentheses_at_eof_rejected(tmp_path):
    z = tmp_path / "err.zone"
    z.write_text(UNBALANCED)
    rc, out = checkzone("err.example", z)
    assert rc == 1, out
    assert f"{z}:6: error: unbalanced parentheses" in out, out


def test_unbalanced_zone_not_served(tmp_path):
    """The daemon leaves the zone out (REFUSED) and logs FILE:LINE; the
    other zone is served."""
    bad = tmp_path / "err.zone"
    bad.write_text(UNBALANCED)
    good = tmp_path / "example.com.zone"
    good.write_text(bundled_zone().read_text())
    s = Srvd(tmp_path, [("example.com", good, None), ("err.example", bad, None)])
    s.start()
    try:
        r = s.q("paren.err.example", "TXT")
        assert r.rcode() == dns.rcode.REFUSED, r
        log = s.log()
        assert f"error: {bad}:6: zone err.example.: unbalanced parentheses" in log, log
        assert not any(ln.count("error:") > 1 for ln in log.splitlines()), log
    finally:
        assert s.stop() == 0


def test_missing_file_is_one_error(tmp_path):
    rc, out = checkzone("err.example", tmp_path / "nonexistent.zone")
    assert rc == 1, out
    errors = [ln for ln in out.splitlines() if "error:" in ln]
    assert len(errors) == 1 and "No such file or directory" in errors[0], out
