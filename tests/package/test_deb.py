"""The Debian package, tried as a new operator would: build srvd_*.deb with
dpkg-buildpackage, check it with lintian (no errors), install it with
`apt-get install ./srvd_*.deb` into a fresh `debootstrap --variant=minbase
bookworm` chroot, and there: `srvd --check-config` and `srvd-checkzone`
pass on the shipped config and zone, the srvd user, /var/lib/srvd and the
enabled (not started) unit exist, srvd started by hand answers a query and
srvdctl talks to it, `systemd-analyze verify` accepts the unit (with
its Documentation= man pages), and with /etc/srvd read-only (as under the
unit's ProtectSystem=strict) the zone's snapshot and journal go to
/var/lib/srvd (state-dir in the shipped config).

Needs root (chroot), debootstrap, dpkg-buildpackage (debhelper), lintian and
a Debian mirror; skips with the reason otherwise. The minbase root is made
once and kept as a tarball in SRVD_PACKAGE_CACHE (the build folder), with
its package lists and the .debs of systemd, man-db and procps, so a run
after the first downloads only srvd's few dependencies.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from srvdtest import free_ports, soa_serial, wait_for  # noqa: E402

SOURCE = Path(os.environ.get("SRVD_SOURCE_DIR") or Path(__file__).resolve().parents[2])
CACHE = Path(os.environ.get("SRVD_PACKAGE_CACHE") or SOURCE / "build" / "package-cache")
SUITE = "bookworm"
SERIAL = 2024060101  # of zones/example.com.zone, shipped as /etc/srvd/zones/
VERIFY_PKGS = ["systemd", "man-db", "procps"]
START_TIMEOUT = 30.0


def need_tools():
    if os.geteuid() != 0:
        pytest.skip("skipped: chroot and debootstrap need root")
    missing = [t for t in ("debootstrap", "dpkg-buildpackage", "dh", "lintian", "chroot")
               if not shutil.which(t)]
    if missing:
        pytest.skip(f"skipped: {' '.join(missing)} not installed (apt-get install debootstrap "
                    "debhelper lintian)")


def run(cmd, timeout, **kw):
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=timeout, **kw)
    return p.returncode, p.stdout + p.stderr


def check(cmd, timeout, **kw):
    rc, out = run(cmd, timeout, **kw)
    assert rc == 0, f"{' '.join(map(str, cmd))} exited {rc}:\n{out[-4000:]}"
    return out


def mirror():
    """The host's Debian mirror (deb822 or one-line sources), else deb.debian.org."""
    for f in [Path("/etc/apt/sources.list"), *Path("/etc/apt/sources.list.d").glob("*")]:
        try:
            text = f.read_text()
        except OSError:
            continue
        m = re.search(r"^(?:URIs:\s*|deb\s+(?:\[[^\]]*\]\s+)?)(\S+/debian)\s", text, re.M)
        if m:
            return m.group(1)
    return "http://deb.debian.org/debian"


def in_root(root, script, timeout=600):
    return run(["chroot", str(root), "/bin/sh", "-c", script], timeout,
               env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive",
                    "LANG": "C"})


def base_tarball():
    """debootstrap minbase, once; kept as a tarball in the build folder."""
    tar = CACHE / f"{SUITE}-minbase.tar"
    if tar.exists():
        return tar
    CACHE.mkdir(parents=True, exist_ok=True)
    root = CACHE / "bootstrap"
    shutil.rmtree(root, ignore_errors=True)
    rc, out = run(["debootstrap", "--variant=minbase", SUITE, str(root), mirror()], 900)
    if rc != 0:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"skipped: debootstrap failed (no mirror?):\n{out[-2000:]}")
    shutil.copy("/etc/resolv.conf", root / "etc" / "resolv.conf")
    check(["chroot", str(root), "apt-get", "update", "-q"], 600)
    check(["chroot", str(root), "apt-get", "install", "-y", "-q", "--download-only",
           "--no-install-recommends", *VERIFY_PKGS], 600)
    part = tar.with_suffix(".part")
    with tarfile.open(part, "w") as t:
        t.add(root, arcname=".")
    part.rename(tar)
    shutil.rmtree(root, ignore_errors=True)
    return tar


@pytest.fixture(scope="module")
def deb(tmp_path_factory):
    """srvd_*.deb built from a copy of the source tree (dpkg-buildpackage
    writes beside the tree, and the tree must not hold build folders)."""
    need_tools()
    work = tmp_path_factory.mktemp("deb")
    src = work / "srvd"
    if (SOURCE / ".git").exists():
        files = check(["git", "-C", str(SOURCE), "ls-files", "-co", "--exclude-standard"], 60)
        for f in files.splitlines():
            if f.startswith("build/") or not (SOURCE / f).is_file():
                continue
            (src / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(SOURCE / f, src / f)
    else:
        shutil.copytree(SOURCE, src, ignore=shutil.ignore_patterns("build", ".git"))
    env = dict(os.environ, DEB_BUILD_OPTIONS="nocheck parallel=2")
    check(["dpkg-buildpackage", "-b", "-uc", "-us"], 900, cwd=src, env=env)
    debs = [p for p in work.glob("srvd_*.deb")]
    assert len(debs) == 1, list(work.iterdir())
    return debs[0]


@pytest.fixture(scope="module")
def root(deb, tmp_path_factory):
    """A fresh minbase chroot with the package installed by apt-get."""
    base = base_tarball()
    r = tmp_path_factory.mktemp("chroot") / "root"
    r.mkdir()
    with tarfile.open(base) as t:
        t.extractall(r)
    shutil.copy("/etc/resolv.conf", r / "etc" / "resolv.conf")
    shutil.copy(deb, r / "tmp")
    install = f"cd /tmp && apt-get install -y -q ./{deb.name}"
    rc, out = in_root(r, install)
    if rc != 0:  # package lists older than the mirror: refresh once
        check(["chroot", str(r), "apt-get", "update", "-q"], 600)
        rc, out = in_root(r, install)
    assert rc == 0, out
    yield r
    shutil.rmtree(r, ignore_errors=True)


def test_lintian_no_errors(deb):
    rc, out = run(["lintian", "--tag-display-limit", "0", str(deb)], 600)
    errors = [ln for ln in out.splitlines() if ln.startswith("E:")]
    assert not errors, out


def test_check_config_and_checkzone(root):
    rc, out = in_root(root, "srvd --check-config -c /etc/srvd/srvd.yaml")
    assert rc == 0 and f"serial {SERIAL}" in out, out
    rc, out = in_root(root, "srvd-checkzone example.com /etc/srvd/zones/example.com.zone")
    assert rc == 0 and f"serial {SERIAL}" in out, out


def test_user_state_dir_unit_and_man_pages(root):
    rc, out = in_root(root, "getent passwd srvd && stat -c '%U %a' /var/lib/srvd")
    assert rc == 0 and "srvd 750" in out, out
    wants = root / "etc/systemd/system/multi-user.target.wants/srvd.service"
    assert wants.is_symlink(), "the unit is not enabled"
    for page in ("man8/srvd.8.gz", "man5/srvd.conf.5.gz", "man1/srvdctl.1.gz",
                 "man1/srvd-checkzone.1.gz"):
        assert (root / "usr/share/man" / page).is_file(), page


def test_started_by_hand_answers(root):
    """As the README says: srvd -c /etc/srvd/srvd.yaml as root (here on a
    free port: the chroot shares the host's network); it drops to srvd."""
    port = free_ports(1, v6=False)
    log = root / "tmp" / "srvd.log"
    with open(log, "wb") as f:
        p = subprocess.Popen(["chroot", str(root), "/usr/sbin/srvd", "-c", "/etc/srvd/srvd.yaml",
                              "-l", f"127.0.0.1@{port}"], stdin=subprocess.DEVNULL, stdout=f,
                             stderr=subprocess.STDOUT)
    try:
        serial = wait_for(lambda: soa_serial("127.0.0.1", port), START_TIMEOUT, proc=p)
        assert serial == SERIAL, log.read_text()
        rc, out = in_root(root, "srvdctl status && srvdctl zone-status example.com", 60)
        assert rc == 0 and "example.com" in out, out
    finally:
        if p.poll() is None:
            os.kill(p.pid, signal.SIGTERM)
            p.wait(timeout=30)
    assert p.returncode == 0, log.read_text()
    assert "running as uid" in log.read_text(), log.read_text()


def test_systemd_analyze_verify(root):
    rc, out = in_root(root, "apt-get install -y -q --no-install-recommends "
                      + " ".join(VERIFY_PKGS))
    assert rc == 0, out
    rc, out = in_root(root, "systemd-analyze verify /lib/systemd/system/srvd.service")
    assert rc == 0 and not out.strip(), out
    # ExecStartPre must not be strict: one broken zone would stop the server
    unit = (root / "lib/systemd/system/srvd.service").read_text()
    assert "--check-config" in unit and "--strict" not in unit.split("[Service]")[1], unit


def test_read_only_etc_keeps_journal_in_var_lib(root):
    """As under the unit's ProtectSystem=strict: /etc/srvd read-only (a
    read-only bind mount in srvd's own mount namespace), /var/lib/srvd
    writable. The shipped config's state-dir gets the compiled snapshot at
    start-up and the journal when the zone's serial goes up; nothing warns
    that a journal cannot be written."""
    etc = root / "etc/srvd"
    mounts = f"mount --bind {etc} {etc} && mount -o remount,bind,ro {etc}"
    rc, out = run(["unshare", "-m", "sh", "-c", f"{mounts} && ! touch {etc}/.probe"], 60)
    if rc != 0:
        pytest.skip(f"skipped: no read-only bind mount here (unshare -m): {out}")
    port = free_ports(1, v6=False)
    log = root / "tmp" / "srvd-ro.log"
    with open(log, "wb") as f:
        p = subprocess.Popen(["unshare", "-m", "sh", "-c", f'{mounts} && exec "$@"', "sh",
                              "chroot", str(root), "/usr/sbin/srvd", "-c", "/etc/srvd/srvd.yaml",
                              "-l", f"127.0.0.1@{port}"],
                             stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT)
    zone = etc / "zones/example.com.zone"
    text = zone.read_text()
    try:
        assert wait_for(lambda: soa_serial("127.0.0.1", port), START_TIMEOUT, proc=p), \
            log.read_text()
        rc, out = in_root(root, "stat -c '%U %n' /var/lib/srvd/example.com.snap")
        assert rc == 0 and out.startswith("srvd "), out + log.read_text()
        zone.write_text(text.replace(str(SERIAL), str(SERIAL + 1)))  # from outside: writable
        rc, out = in_root(root, "srvdctl reload example.com", 60)
        assert rc == 0, out + log.read_text()
        assert wait_for(lambda: (root / "var/lib/srvd/example.com.jnl").is_file(), 10), \
            log.read_text()
    finally:
        zone.write_text(text)
        if p.poll() is None:
            os.kill(p.pid, signal.SIGTERM)
            p.wait(timeout=30)
    assert p.returncode == 0, log.read_text()
    assert "cannot be written" not in log.read_text(), log.read_text()
    assert not (etc / "zones/example.com.zone.jnl").exists()


def test_build_deps_are_listed():
    """Every library CMake looks for (pkg_check_modules) comes from a -dev
    package that debian/control, scripts/quickstart.sh and scripts/test.sh
    install. A module missing from one of them builds here, where it is
    installed, and fails on a fresh Debian (it happened: libmicrohttpd)."""
    if not (shutil.which("pkg-config") and shutil.which("dpkg")):
        pytest.skip("skipped: needs pkg-config and dpkg (Debian)")
    cmake = "\n".join(p.read_text() for p in [SOURCE / "CMakeLists.txt",
                                             *SOURCE.glob("tests/*/CMakeLists.txt")])
    modules = re.findall(r"pkg_check_modules\(\w+\s+REQUIRED\s+IMPORTED_TARGET\s+([\w.+-]+)\)",
                         cmake)
    assert "ldns" in modules and "libmicrohttpd" in modules, modules
    control = (SOURCE / "debian/control").read_text()
    field = re.split(r"\n(?=\S)", control.split("Build-Depends:")[1])[0]
    build_deps = set(re.findall(r"^\s*([a-z0-9][a-z0-9+.-]+)", field.replace(",", "\n"), re.M))
    assert "libldns-dev" in build_deps and "Standards-Version" not in field, field
    lists = {s: set(re.search(r"PKGS=\(([^)]*)\)", (SOURCE / "scripts" / s).read_text())
                    .group(1).split()) for s in ("quickstart.sh", "test.sh")}
    for m in modules:
        rc, pcdir = run(["pkg-config", "--variable=pcfiledir", m], 30)
        if rc != 0:
            pytest.skip(f"skipped: {m}.pc is not installed here")
        rc, owner = run(["dpkg", "-S", f"{pcdir.strip()}/{m}.pc"], 30)
        assert rc == 0, owner
        pkg = owner.split(":")[0]
        assert m == "cmocka" or pkg in build_deps, f"{pkg} ({m}) not in debian/control"
        for script, pkgs in lists.items():
            assert pkg in pkgs, f"{pkg} ({m}) not installed by scripts/{script}"
