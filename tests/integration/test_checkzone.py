"""srvd-checkzone as CI pipelines and tools use it: lint findings carry
FILE:LINE like every other finding, --strict fails on warnings, the two
Matrix service names must agree, and --format json is machine-readable."""

import json
import subprocess

from srvdtest import bundled_zone, srvd_bin

ZONE = """$ORIGIN example.com.
$TTL 3600
@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300
  IN NS ns1
ns1 IN A 192.0.2.1
_matrix-fed._tcp IN SRV 10 0 8448 matrix
_matrix._tcp IN SRV 10 0 8449 matrix
matrix IN A 192.0.2.10
_xmpp._tcp IN SRV 10 0 5269 chat.example.com
"""  # line 7: port differs; line 9: trailing dot forgotten


def checkzone(*args):
    exe = srvd_bin().parent / "srvd-checkzone"
    p = subprocess.run([str(exe), *map(str, args)], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def test_lint_findings_have_file_line(tmp_path):
    z = tmp_path / "example.com.zone"
    z.write_text(ZONE)
    rc, out, err = checkzone("example.com", z)
    assert rc == 0, err
    assert f"{z}:9: warning: _xmpp._tcp.example.com. SRV: target " \
           "chat.example.com.example.com. repeats the origin" in err, err
    assert f"{z}:6: warning: _matrix-fed._tcp.example.com. SRV and " \
           "_matrix._tcp.example.com. SRV disagree" in err, err


def test_strict_fails_on_warnings(tmp_path):
    z = tmp_path / "example.com.zone"
    z.write_text(ZONE)
    rc, _, err = checkzone("--strict", "example.com", z)
    assert rc == 1, err
    rc, _, err = checkzone("--strict", "example.com", bundled_zone())
    assert rc == 0, err  # the bundled zone is clean


def test_matching_matrix_names_do_not_warn(tmp_path):
    z = tmp_path / "example.com.zone"
    z.write_text(ZONE.replace("8449", "8448"))
    rc, _, err = checkzone("example.com", z)
    assert rc == 0 and "disagree" not in err, err


def test_dot_in_one_name_disagrees(tmp_path):
    z = tmp_path / "example.com.zone"
    z.write_text(ZONE.replace("10 0 8449 matrix", "0 0 0 ."))
    rc, _, err = checkzone("example.com", z)
    assert "disagree" in err, err


def test_json_format(tmp_path):
    z = tmp_path / "example.com.zone"
    z.write_text(ZONE + "bad IN A 192.0.2.300\n")
    rc, out, err = checkzone("--format", "json", "example.com", z)
    assert rc == 1, err
    d = json.loads(out)
    assert d["loaded"] is False and d["errors"] == 1
    assert {"level": "error", "file": str(z), "line": 10,
            "message": "A record: invalid IPv4 address '192.0.2.300'"} in d["findings"], d
    rc, out, err = checkzone("--format", "json", "example.com", bundled_zone())
    d = json.loads(out)
    assert rc == 0 and d["loaded"] and d["serial"] == 2024060101 and d["findings"] == [], d
