"""Options refused before any request: an unknown -o option (libfuse's own
check, run before the credential check goes over the network) and bad
values of -o cacert= each give one line and a non-zero exit, and the
emulator sees nothing."""
import os
import subprocess
import tempfile

import util


def run_xaifs(emu, opts, tmp):
    mnt = os.path.join(tmp, "mnt")
    os.makedirs(mnt, exist_ok=True)
    env = dict(os.environ, XAI_MANAGEMENT_KEY=util.MGMT_KEY,
               XDG_CONFIG_HOME=os.path.join(tmp, "config"))
    o = ",".join(["management_url=" + emu.url, "api_url=" + emu.url] + opts)
    return subprocess.run([util.xaifs_bin(), "-f", mnt, "-o", o], env=env,
                          capture_output=True, text=True, timeout=30)


def refused_before_any_request(emu, opts, words):
    emu.reset_stats()
    with tempfile.TemporaryDirectory() as tmp:
        r = run_xaifs(emu, opts, tmp)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode != 0, r.stderr
    assert len(lines) == 1, "want one line, got:\n" + r.stderr
    for w in words:
        assert w in lines[0], lines[0]
    assert emu.stats()["total"] == 0, "a request was sent before the refusal"


def test_unknown_option_is_refused_before_any_request(emu):
    refused_before_any_request(emu, ["no_such_option=1"], ["no_such_option"])


def test_cacert_missing_file(emu):
    refused_before_any_request(emu, ["cacert=/nonexistent/ca.pem"],
                               ["cacert", "/nonexistent/ca.pem", "No such file"])


def test_cacert_without_a_certificate(emu, tmp_path):
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate\n")
    refused_before_any_request(emu, ["cacert=%s" % bad], ["cacert", "no PEM certificate"])


def test_cacert_with_a_certificate_mounts(emu, mount_factory, tmp_path):
    ca = tmp_path / "ca.pem"
    key = tmp_path / "ca.key"
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-keyout", str(key), "-out", str(ca), "-days", "1",
                        "-subj", "/CN=xaifs test CA"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    m = mount_factory(["cacert=%s" % ca])
    assert "ci-bot" in os.listdir(m.p("keys"))


def test_cache_dir_others_can_write_is_refused(emu, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    refused_before_any_request(emu, ["cache_dir=%s" % shared],
                               ["cache_dir", str(shared), "other users", "0777"])
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    theirs.chmod(0o700)
    os.chown(theirs, 65534, 65534)      # nobody's
    refused_before_any_request(emu, ["cache_dir=%s" % theirs], ["cache_dir", "owner 65534"])


def test_cache_dir_is_made_private_and_kept(emu, tmp_path):
    d = tmp_path / "docs-cache"
    m = util.Mount(emu, ["cache_dir=%s" % d])
    with open(m.p("collections", "contracts", "documents", "msa.txt"), "rb") as f:
        f.read()
    assert os.stat(d).st_mode & 0o777 == 0o700
    m.stop()
    assert os.listdir(d), "a given cache_dir is kept, with its documents, for the next mount"


def test_private_cache_is_0700_and_removed_at_unmount(emu, tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    m = util.Mount(emu, env={"TMPDIR": str(tmp)})
    with open(m.p("collections", "contracts", "documents", "msa.txt"), "rb") as f:
        f.read()
    made = [p for p in os.listdir(tmp) if p.startswith("xaifs-cache-")]
    assert len(made) == 1, os.listdir(tmp)
    assert os.stat(tmp / made[0]).st_mode & 0o777 == 0o700
    m.stop()
    assert not [p for p in os.listdir(tmp) if p.startswith("xaifs-cache-")], \
        "the private document cache is emptied and removed at unmount"
