"""Mounting through mount(8) and mount.fuse3, as fstab and systemd do.

What mount(8) really does (checked with util-linux 2.38 and fuse3 3.14 on Debian 12):
- `mount -t fuse "PROGRAM#SOURCE" DIR -o OPTS` runs /sbin/mount.fuse3, which runs
  `/bin/sh -c 'PROGRAM SOURCE DIR -o OPTS'`: PROGRAM may be an absolute path.
- `mount -t fuse.xaifs SOURCE DIR -o OPTS` (and an fstab line of type fuse.xaifs) runs
  mount.fuse3 with PATH reset to /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin,
  whatever the caller's PATH: the program `xaifs` must be in one of those directories.
- mount(8) removes _netdev, noauto, nofail and x-systemd.* before calling the helper, and
  adds rw (or ro), dev/nodev, suid/nosuid, exec/noexec; xaifs drops those it has no use for.

These tests need root (CI runs as root on a throwaway machine). The fstab test installs the
symlink /usr/local/sbin/xaifs -> the built binary for its duration and restores whatever was
there in a finally block.
"""
import os
import shutil
import subprocess
import tempfile

import pytest

import util

MOUNT_FUSE3 = "/sbin/mount.fuse3"
HELPER_PATH = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
LINK = "/usr/local/sbin/xaifs"


@pytest.fixture
def root():
    if os.geteuid() != 0:
        pytest.fail("test_mount_helper.py needs root: mount(8) runs fuse helpers only for "
                    "root or for fstab lines marked 'user' (run it as root, as CI does)")
    for tool in ("mount", "umount"):
        if shutil.which(tool) is None:
            pytest.fail("%s is missing" % tool)
    if not os.access(MOUNT_FUSE3, os.X_OK):
        pytest.fail("%s is missing (apt-get install fuse3)" % MOUNT_FUSE3)


@pytest.fixture
def mountpoint():
    d = tempfile.mkdtemp(prefix="xaifs-helper-")
    yield d
    if os.path.ismount(d):
        subprocess.run(["umount", d], check=False)
        if os.path.ismount(d):
            subprocess.run(["umount", "-l", d], check=False)
    try:
        util.wait_for(lambda: not daemons(d), 60, "xaifs to exit")
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def key_file(tmp_path):
    kf = tmp_path / "management-key"
    kf.write_text(util.MGMT_KEY + "\n")
    kf.chmod(0o600)
    return str(kf)


def daemons(mountpoint):
    """Pids of xaifs processes serving `mountpoint`."""
    pids = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if mountpoint.encode() in argv and any(a.endswith(b"xaifs") for a in argv[:1]):
            pids.append(int(pid))
    return pids


def options(emu, key_file):
    return ",".join(["key_file=" + key_file, "team_id=" + util.TEAM_ID,
                     "management_url=" + emu.url, "api_url=" + emu.url])


def clean_env():
    """The environment of an admin's shell: no XAI_* variables, so the key must come from
    key_file."""
    return {k: v for k, v in os.environ.items() if not k.startswith("XAI_")}


def check_mounted(emu, d):
    assert os.path.ismount(d)
    assert "ci-bot" in os.listdir(os.path.join(d, "keys"))
    with open(os.path.join(d, "collections", "contracts", "collection.json")) as f:
        assert '"collection_name": "contracts"' in f.read()
    pids = daemons(d)
    assert len(pids) == 1, pids
    for what in ("cmdline", "environ"):
        with open("/proc/%d/%s" % (pids[0], what), "rb") as f:
            assert util.MGMT_KEY.encode() not in f.read()
    return pids[0]


def unmount(d, pid):
    r = subprocess.run(["umount", d], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert not os.path.ismount(d)
    util.wait_for(lambda: not os.path.exists("/proc/%d" % pid), 60, "xaifs to exit")


def test_mount_t_fuse_with_program_path(root, emu, mountpoint, key_file):
    source = "%s#xaifs" % util.xaifs_bin()
    r = subprocess.run(["mount", "-t", "fuse", source, mountpoint, "-o",
                        options(emu, key_file) + ",_netdev"],
                       capture_output=True, text=True, timeout=60, env=clean_env())
    assert r.returncode == 0, r.stdout + r.stderr
    pid = check_mounted(emu, mountpoint)
    unmount(mountpoint, pid)


def test_mount_fails_with_a_reason(root, emu, mountpoint, tmp_path):
    kf = tmp_path / "wrong-key"
    kf.write_text("xai-wrong\n")
    kf.chmod(0o600)
    r = subprocess.run(["mount", "-t", "fuse", "%s#xaifs" % util.xaifs_bin(), mountpoint,
                        "-o", options(emu, str(kf))],
                       capture_output=True, text=True, timeout=60, env=clean_env())
    assert r.returncode != 0
    assert "refused" in r.stderr and "xai-wrong" not in r.stderr
    assert not os.path.ismount(mountpoint)


class HelperLink:
    """/usr/local/sbin/xaifs -> the built binary, restoring what was there before."""

    def __init__(self):
        self.backup = None

    def __enter__(self):
        os.makedirs(os.path.dirname(LINK), exist_ok=True)
        if os.path.lexists(LINK):
            self.backup = LINK + ".xaifs-test-backup.%d" % os.getpid()
            os.rename(LINK, self.backup)
        os.symlink(util.xaifs_bin(), LINK)
        return self

    def __exit__(self, *exc):
        try:
            os.unlink(LINK)
        finally:
            if self.backup:
                os.rename(self.backup, LINK)
        return False


def test_fstab_line(root, emu, mountpoint, key_file, tmp_path):
    fstab = tmp_path / "fstab"
    fstab.write_text("# written by test_mount_helper.py\n"
                     "xaifs %s fuse.xaifs %s,_netdev,noauto,nofail,x-systemd.automount 0 0\n"
                     % (mountpoint, options(emu, key_file)))
    # mount(8) resets PATH for the helper: a PATH of our own does not help it find xaifs
    env = clean_env()
    env["PATH"] = os.path.dirname(util.xaifs_bin()) + ":" + env.get("PATH", "/usr/bin:/bin")
    elsewhere = [p for p in HELPER_PATH if os.path.exists(os.path.join(p, "xaifs"))]
    if not elsewhere:
        r = subprocess.run(["mount", "--fstab", str(fstab), mountpoint],
                           capture_output=True, text=True, timeout=60, env=env)
        assert r.returncode != 0 and not os.path.ismount(mountpoint)
        assert "not found" in r.stderr
    with HelperLink():
        r = subprocess.run(["mount", "--fstab", str(fstab), mountpoint],
                           capture_output=True, text=True, timeout=60, env=env)
        assert r.returncode == 0, r.stdout + r.stderr
        pid = check_mounted(emu, mountpoint)
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            argv = f.read().split(b"\0")
        assert argv[0] == b"xaifs" or argv[0].endswith(b"/xaifs")
        assert argv[1] == b"xaifs"           # SOURCE, as fstab's first field
        unmount(mountpoint, pid)
    assert not os.path.lexists(LINK) or os.path.realpath(LINK) != util.xaifs_bin()


def test_fstab_read_only(root, emu, mountpoint, key_file, tmp_path):
    fstab = tmp_path / "fstab"
    fstab.write_text("xaifs %s fuse.xaifs ro,%s,_netdev,noauto 0 0\n"
                     % (mountpoint, options(emu, key_file)))
    with HelperLink():
        r = subprocess.run(["mount", "--fstab", str(fstab), mountpoint],
                           capture_output=True, text=True, timeout=60, env=clean_env())
        assert r.returncode == 0, r.stdout + r.stderr
        pid = check_mounted(emu, mountpoint)
        emu.reset_stats()
        with pytest.raises(OSError) as e:
            open(os.path.join(mountpoint, "keys", "new-key"), "w")
        assert e.value.errno == 30
        assert emu.stats()["mutating"] == 0
        unmount(mountpoint, pid)
