"""Mounting: credentials, team discovery, options, refusals."""
import os
import subprocess

import pytest

import util


def start(emu, options=(), env=None, timeout=30):
    """Run xaifs in the foreground expecting it to fail; return (rc, output)."""
    d = util.tempfile.mkdtemp(prefix="xaifs-fail-")
    e = {k: v for k, v in os.environ.items() if not k.startswith("XAI_")}
    e["XDG_CONFIG_HOME"] = os.path.join(d, ".no-config")
    e.update(env or {})
    opts = ["management_url=" + emu.url, "api_url=" + emu.url] + list(options)
    try:
        p = subprocess.run([util.xaifs_bin(), "-f", d, "-o", ",".join(opts)], env=e,
                           capture_output=True, text=True, timeout=timeout)
    finally:
        if os.path.ismount(d):
            subprocess.run(["fusermount3", "-u", d])
        os.rmdir(d)
    return p.returncode, p.stdout + p.stderr


def test_bad_key_fails_the_mount(emu):
    rc, out = start(emu, env={"XAI_MANAGEMENT_KEY": "xai-wrong"})
    assert rc != 0
    assert "refused" in out
    assert "xai-wrong" not in out
    assert len(out.strip().splitlines()) <= 2


def test_no_key_fails_the_mount(emu):
    rc, out = start(emu)
    assert rc != 0 and "XAI_MANAGEMENT_KEY" in out


def test_unreachable_server_fails_the_mount(emu):
    e = {"XAI_MANAGEMENT_KEY": util.MGMT_KEY}
    d = util.tempfile.mkdtemp()
    try:
        p = subprocess.run([util.xaifs_bin(), "-f", d, "-o",
                            "management_url=http://127.0.0.1:1,connect_timeout=2,timeout=5"],
                           env=e, capture_output=True, text=True, timeout=60)
    finally:
        os.rmdir(d)
    assert p.returncode != 0
    assert "cannot reach" in p.stderr


def test_plain_http_refused_except_loopback(emu):
    rc, out = start(emu, ["management_url=http://example.com"],
                    env={"XAI_MANAGEMENT_KEY": util.MGMT_KEY})
    assert rc != 0 and "refused" in out and "loopback" in out


def test_key_on_the_command_line_is_refused(emu):
    rc, out = start(emu, ["key=" + util.MGMT_KEY])
    assert rc != 0
    assert "command line" in out
    assert util.MGMT_KEY not in out


def test_key_file_must_be_private(emu, tmp_path):
    kf = tmp_path / "key"
    kf.write_text(util.MGMT_KEY + "\n")
    kf.chmod(0o644)
    rc, out = start(emu, ["key_file=" + str(kf)])
    assert rc != 0 and "chmod 600" in out


def test_key_file_mounts(emu, mount_factory, tmp_path):
    kf = tmp_path / "key"
    kf.write_text(util.MGMT_KEY + "\n")
    kf.chmod(0o600)
    m = mount_factory(["key_file=" + str(kf)], key_env=False)
    assert "ci-bot" in os.listdir(m.p("keys"))


def test_key_never_in_cmdline_or_environ(mnt):
    with open("/proc/%d/cmdline" % mnt.proc.pid, "rb") as f:
        assert util.MGMT_KEY.encode() not in f.read()
    with open("/proc/%d/environ" % mnt.proc.pid, "rb") as f:
        assert util.MGMT_KEY.encode() not in f.read()
    os.listdir(mnt.p("keys"))
    assert util.MGMT_KEY not in mnt.stderr()


def test_team_is_discovered(emu, mount_factory):
    emu.reset_stats()
    m = mount_factory()
    assert os.listdir(m.p("keys"))
    assert util.route_count(emu.stats(), "GET /auth/management-keys/validation") == 1


def test_explicit_team(emu, mount_factory):
    m = mount_factory(["team_id=" + util.TEAM_ID])
    assert "ci-bot" in os.listdir(m.p("keys"))


def test_wrong_team_fails_the_mount(emu):
    rc, out = start(emu, ["team_id=00000000-0000-4000-8000-000000000000"],
                    env={"XAI_MANAGEMENT_KEY": util.MGMT_KEY})
    assert rc != 0 and "not found" in out


def test_help_and_version():
    r = subprocess.run([util.xaifs_bin(), "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "key_file" in r.stdout and "management_url" in r.stdout
    r = subprocess.run([util.xaifs_bin(), "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("xaifs ")


def test_source_argument_is_accepted(emu):
    d = util.tempfile.mkdtemp()
    e = dict(os.environ, XAI_MANAGEMENT_KEY=util.MGMT_KEY)
    p = subprocess.Popen([util.xaifs_bin(), "xaifs", d, "-f", "-o",
                          "management_url=%s,_netdev" % emu.url], env=e,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        util.wait_for(lambda: os.path.ismount(d) or p.poll() is not None, 60, "mount")
        assert os.path.ismount(d), p.stdout.read()
        assert "keys" in os.listdir(d)
    finally:
        subprocess.run(["fusermount3", "-u", d])
        p.wait(10)
        os.rmdir(d)


def test_daemon_mode(emu):
    d = util.tempfile.mkdtemp()
    e = dict(os.environ, XAI_MANAGEMENT_KEY=util.MGMT_KEY)
    p = subprocess.run([util.xaifs_bin(), d, "-o", "management_url=" + emu.url], env=e,
                       capture_output=True, text=True, timeout=30)
    try:
        assert p.returncode == 0, p.stderr
        assert os.path.ismount(d)
        assert "keys" in os.listdir(d)
    finally:
        subprocess.run(["fusermount3", "-u", d])
        util.wait_for(lambda: not os.path.ismount(d), 60, "unmount")
        os.rmdir(d)


def test_read_only_mount(mount_factory):
    m = mount_factory(["ro"])
    with pytest.raises(OSError) as e:
        open(m.p("keys", "x"), "w")
    assert e.value.errno == 30


def test_auto_unmount_and_allow_other_pass_through(emu, mount_factory):
    """FUSE options reach libfuse: allow_other shows in the mount options, and with
    auto_unmount a killed daemon leaves no dead mount behind."""
    m = mount_factory(["auto_unmount", "allow_other"])
    with open("/proc/mounts") as f:
        line = next(l for l in f if " %s " % m.path in l)
    assert "allow_other" in line and "fuse.xaifs" in line, line
    m.proc.kill()
    m.proc.wait(10)
    util.wait_for(lambda: not os.path.ismount(m.path), 60, "auto_unmount after SIGKILL")
