"""Config files: errors are reported as FILE:LINE and stop both
`srvd --check-config` and the daemon; good configs pass; zone paths are
relative to the config file's folder."""

import re
import subprocess

import pytest

from srvdtest import ZONE_SERIAL, Srvd, bundled_zone, free_ports, srvd_bin

RUN_TIMEOUT = 15  # seconds: a rejected config must make srvd exit by then


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def run(args, cwd, timeout=RUN_TIMEOUT):
    """Run srvd; returns (exit status, stdout+stderr). Fails if it keeps running."""
    p = subprocess.Popen([str(srvd_bin())] + args, cwd=cwd, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate(timeout=10)
        pytest.fail(f"srvd {' '.join(args)} still running after {timeout}s; output:\n"
                    + out.decode(errors="replace"))
    return p.returncode, out.decode(errors="replace")


def good_config(tmp_path, port):
    z = tmp_path / "example.com.zone"
    z.write_text(bundled_zone().read_text())
    return write(tmp_path, "good.yaml", f"""server:
  listen: ["127.0.0.1@{port}"]
zones:
  - name: example.com
    file: example.com.zone
""")


# (name, config text, line of the error); {port} and {zone} are filled in.
BAD = [
    ("bad-value", """server:
  listen: ["127.0.0.1@{port}"]
  workers: lots
zones:
  - name: example.com
    file: "{zone}"
""", 3),
    ("unknown-key", """server:
  listen: ["127.0.0.1@{port}"]
  udp-payload: 1232
  colour: blue
zones:
  - name: example.com
    file: "{zone}"
""", 4),
    ("bad-address", """# a comment line
server:
  listen: ["127.0.0.1@{port}", "not-an-address@53"]
zones:
  - name: example.com
    file: "{zone}"
""", 3),
    ("unknown-section", """server:
  listen: ["127.0.0.1@{port}"]
zones:
  - name: example.com
    file: "{zone}"
server2: 1
""", 6),
    ("duplicate-zone", """server:
  listen: ["127.0.0.1@{port}"]
zones:
  - name: example.com
    file: "{zone}"
  - name: example.com
    file: "{zone}"
""", 6),
    ("udp-payload-range", """server:
  listen: ["127.0.0.1@{port}"]
  udp-payload: 100
zones:
  - name: example.com
    file: "{zone}"
""", 3),
]


@pytest.mark.parametrize("name,text,line", BAD, ids=[b[0] for b in BAD])
@pytest.mark.parametrize("mode", ["check-config", "daemon"])
def test_bad_config_rejected_with_line(tmp_path, name, text, line, mode):
    port = free_ports(1, v6=False)
    bad = write(tmp_path, "bad.yaml", text.format(port=port, zone=bundled_zone()))
    args = ["--check-config", "-c", str(bad)] if mode == "check-config" else ["-c", str(bad)]
    rc, out = run(args, cwd=tmp_path)
    assert rc != 0, f"srvd {args} accepted a bad config; output:\n{out}"
    assert f"bad.yaml:{line}" in out, f"want 'bad.yaml:{line}' in:\n{out}"


@pytest.mark.parametrize("mode", ["check-config", "daemon"])
def test_yaml_syntax_error_has_line(tmp_path, mode):
    port = free_ports(1, v6=False)
    bad = write(tmp_path, "bad.yaml", f"""server:
  listen: ["127.0.0.1@{port}"
zones:
  - name: example.com
""")
    args = ["--check-config", "-c", str(bad)] if mode == "check-config" else ["-c", str(bad)]
    rc, out = run(args, cwd=tmp_path)
    assert rc != 0, out
    assert re.search(r"bad\.yaml:\d+", out), out


def test_missing_config_file(tmp_path):
    rc, out = run(["--check-config", "-c", str(tmp_path / "nope.yaml")], cwd=tmp_path)
    assert rc != 0
    assert "nope.yaml" in out


def test_check_config_good(tmp_path):
    cfg = good_config(tmp_path, free_ports(1, v6=False))
    rc, out = run(["--check-config", "-c", str(cfg)], cwd=tmp_path)
    assert rc == 0, out


def test_check_config_loads_zones(tmp_path):
    """--check-config also checks the zones the config names. A broken zone
    is reported but fails the check only with --strict: the daemon serves
    the other zones, and systemd's ExecStartPre must not stop it for one."""
    z = write(tmp_path, "broken.zone", "$ORIGIN example.com.\n@ 3600 IN A 192.0.2.1\n"
                                       "www IN BOGUS nothing\n")
    cfg = write(tmp_path, "zonebad.yaml", f"""server:
  listen: ["127.0.0.1@{free_ports(1, v6=False)}"]
zones:
  - name: example.com
    file: "{z}"
""")
    rc, out = run(["--check-config", "-c", str(cfg)], cwd=tmp_path)
    assert rc == 0, out
    assert "broken.zone:3: error: unknown type 'BOGUS'" in out, out
    rc, out = run(["--check-config", "--strict", "-c", str(cfg)], cwd=tmp_path)
    assert rc == 1, out
    assert "broken.zone:3:" in out, out


def test_check_config_secondary_without_copy(tmp_path):
    """A secondary whose file does not exist yet (before the first
    transfer) is normal: exit 0, and no error is printed for it."""
    cfg = write(tmp_path, "sec.yaml", """zones:
  - name: sec.example
    file: sec.example.zone
    primaries: [192.0.2.1]
""")
    rc, out = run(["--check-config", "-c", str(cfg)], cwd=tmp_path)
    assert rc == 0, out
    assert "error:" not in out and "first transfer" in out, out
    rc, out = run(["--check-config", "--strict", "-c", str(cfg)], cwd=tmp_path)
    assert rc == 0, out


def test_check_config_reports_every_error(tmp_path):
    """Every error at once, each with its line; typos get the nearest key."""
    cfg = write(tmp_path, "many.yaml", """server:
  lisen: ["127.0.0.1@53"]
  workers: lots
zone:
  - name: example.com
zones:
  - name: example.com
    file: example.com.zone
""")
    rc, out = run(["--check-config", "-c", str(cfg)], cwd=tmp_path)
    assert rc == 1, out
    assert 'many.yaml:2: unknown key "lisen" in server; did you mean "listen"?' in out, out
    assert 'many.yaml:3: workers: expected an integer, got "lots"' in out, out
    assert 'many.yaml:4: unknown key "zone"; did you mean "zones"?' in out, out


@pytest.mark.parametrize("mode", ["check-config", "daemon"])
def test_unquoted_ipv6_gets_a_hint(tmp_path, mode):
    cfg = write(tmp_path, "v6.yaml", "server:\n  listen: [::1@53]\n")
    args = ["--check-config", "-c", str(cfg)] if mode == "check-config" else ["-c", str(cfg)]
    rc, out = run(args, cwd=tmp_path)
    assert rc == 1, out
    assert "v6.yaml:2: an IPv6 address must be quoted" in out, out


def test_unknown_key_name_points_at_key_line(tmp_path):
    cfg = write(tmp_path, "key.yaml", """zones:
  - name: sec.example
    file: sec.example.zone
    primaries: [192.0.2.1]
    key: nokey
""")
    rc, out = run(["--check-config", "-c", str(cfg)], cwd=tmp_path)
    assert rc == 1, out
    assert "key.yaml:5: zone sec.example: key: no key named nokey" in out, out


def test_unknown_user_fails_check(tmp_path):
    z = write(tmp_path, "example.com.zone", bundled_zone().read_text())
    cfg = write(tmp_path, "user.yaml", f"""server:
  user: nosuchuser-srvd
zones:
  - name: example.com
    file: "{z}"
""")
    rc, out = run(["--check-config", "-c", str(cfg)], cwd=tmp_path)
    assert rc == 1, out
    assert "user nosuchuser-srvd: no such user" in out, out


def test_zone_file_relative_to_config_dir(tmp_path):
    """file: is relative to the config file's folder, not srvd's cwd."""
    confdir = tmp_path / "etc"
    confdir.mkdir()
    (confdir / "example.com.zone").write_text(bundled_zone().read_text())
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()  # srvd runs here, where there is no zone file
    s = Srvd(confdir, [("example.com", "example.com.zone", None)], v6=False, cwd=elsewhere)
    try:
        s.start()
        assert s.q("example.com", "SOA").answer[0][0].serial == ZONE_SERIAL
    finally:
        assert s.stop() == 0, s.log()


def test_version_and_help():
    rc, out = run(["--version"], cwd=None)
    assert rc == 0 and re.search(r"\d+\.\d+\.\d+", out), out
    rc, out = run(["--help"], cwd=None)
    assert rc == 0 and "--config" in out, out


def test_unknown_option():
    rc, out = run(["--no-such-option"], cwd=None)
    assert rc != 0
