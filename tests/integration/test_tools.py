"""Real tools writing through the mount (semantics.md, "Temporary names"): vim, sed -i,
rsync, cp -p, gio, tar -x and shell redirection. Each leaves the server with exactly the
change the user meant and no temporary name (4913, .NAME.swp, NAME~, sedXXXXXX,
.NAME.XXXXXX, .goutputstream-XXXXXX) on the server or in the mount."""
import json
import os
import re
import shlex
import tarfile

import util
from util import run

KEY_CREATE = "POST /auth/teams/{teamId}/api-keys"
KEY_UPDATE = "PUT /auth/api-keys/{apiKeyId}"
DOC_UPLOAD = "POST /v1/collections/{collection_id}/documents"
DOC_DELETE = "DELETE /v1/collections/{collection_id}/documents/{file_id}"

LOCAL_NAME = re.compile(r"^(\..*|.*~|[0-9]+|#.*#|sed[A-Za-z0-9]{6})$")
SAMPLE_KEYS = ["ci-bot", "embeddings-worker", "old-test-1", "old-test-2", "prod-backend",
               "staging"]
CONTRACTS = ["msa.txt", "nda.pdf", "sow.md"]


# ---------------------------------------------------------------- helpers

def keys(emu):
    return {k["name"]: k for k in emu.state()["keys"]}


def docs(emu, cname="contracts", name=None):
    c = [c for c in emu.state()["collections"] if c["collection_name"] == cname]
    assert len(c) == 1, "collection %r on the server: %d" % (cname, len(c))
    return [d for d in c[0].get("documents", [])
            if name is None or d["file_metadata"]["name"] == name]


def one_doc(emu, name, cname="contracts"):
    found = docs(emu, cname, name)
    assert len(found) == 1, "want exactly one document %r on the server, got %d" % (
        name, len(found))
    return found[0]


def content(emu, d):
    return emu.api("GET", "/v1/files/%s/content" % d["file_metadata"]["file_id"], key=util.API_KEY)


def names_on_server(emu, cname="contracts"):
    return sorted(d["file_metadata"]["name"] for d in docs(emu, cname))


def assert_clean(emu, mnt, cname="contracts"):
    """No temporary name on the server, none left in keys/ or documents/ of the mount."""
    st = emu.state()
    server = [k["name"] for k in st["keys"]]
    for c in st["collections"]:
        server += [d["file_metadata"]["name"] for d in c.get("documents", [])]
    stray = [n for n in server if LOCAL_NAME.match(n)]
    assert not stray, "temporary names reached the server: %r" % stray
    for d in (mnt.p("keys"), mnt.p("collections", cname, "documents")):
        left = [n for n in os.listdir(d) if LOCAL_NAME.match(n)]
        assert not left, "temporary names left in %s: %r\n%s" % (d, left, mnt.stderr())


def docdir(mnt, cname="contracts"):
    return mnt.p("collections", cname, "documents")


def vim(args, path, timeout=20):
    """vim under a pseudo-terminal (no 2 s "not a terminal" pause), TERM=dumb, stdin closed.
    If the write fails, ':cq' makes it exit non-zero instead of waiting for input."""
    cmd = "vim %s -c wq -c cq %s" % (args, shlex.quote(path))
    env = dict(os.environ, TERM="dumb", HOME=os.environ.get("HOME", "/root"))
    return run(["script", "-qec", cmd, "/dev/null"], stdin=open(os.devnull), env=env,
               timeout=timeout)


def gio(*args, stdin=b""):
    env = dict(os.environ, GIO_USE_VFS="local")
    r = run(["gio", *args], env=env, input=stdin, text=False)
    r.stdout, r.stderr = r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")
    return r


# ---------------------------------------------------------------- vim

def test_vim_defaults_edits_a_key(emu, mnt):
    before = keys(emu)["ci-bot"]
    emu.reset_stats()
    # one field grows, one shrinks: the file gets shorter than it was
    r = vim("-u DEFAULTS -i NONE -c %s -c %s" % (shlex.quote(r'%s/"qps": 5/"qps": 16/'),
                                                  shlex.quote(r'%s/"200000"/"2"/')),
            mnt.p("keys", "ci-bot"))
    assert r.returncode == 0, r.stdout + r.stderr + mnt.stderr()
    s = emu.stats()
    assert util.route_count(s, KEY_UPDATE) == 1 and s["mutating"] == 1, s
    after = keys(emu)["ci-bot"]
    assert after["qps"] == 16 and after["tpm"] == "2"
    assert after["apiKeyId"] == before["apiKeyId"]
    assert sorted(keys(emu)) == SAMPLE_KEYS
    assert sorted(os.listdir(mnt.p("keys"))) == SAMPLE_KEYS
    assert_clean(emu, mnt)


def test_vim_defaults_edits_a_document(emu, mnt):
    path = os.path.join(docdir(mnt), "msa.txt")
    old = one_doc(emu, "msa.txt")
    want = b"X" + content(emu, old)
    r = vim("-u DEFAULTS -i NONE -c %s" % shlex.quote("1s/^/X/"), path)
    assert r.returncode == 0, r.stdout + r.stderr + mnt.stderr()
    d = one_doc(emu, "msa.txt")
    assert d["file_metadata"]["file_id"] != old["file_metadata"]["file_id"]
    assert content(emu, d) == want
    assert names_on_server(emu) == CONTRACTS
    assert sorted(os.listdir(docdir(mnt))) == CONTRACTS
    assert_clean(emu, mnt)


def test_vim_creates_a_key(emu, mnt):
    emu.reset_stats()
    r = vim("-u DEFAULTS -i NONE -c %s" % shlex.quote(
        'call setline(1, \'{"acls": ["api-key:model:*"], "qps": 2}\')'), mnt.p("keys", "ci-vim"))
    assert r.returncode == 0, r.stdout + r.stderr + mnt.stderr()
    assert util.route_count(emu.stats(), KEY_CREATE) == 1
    k = keys(emu)["ci-vim"]
    assert k["qps"] == 2 and k["aclStrings"] == ["api-key:model:*"]
    with open(mnt.p("keys", "ci-vim")) as f:
        assert json.load(f)["apiKey"].startswith("xai-")
    assert sorted(os.listdir(mnt.p("keys"))) == sorted(SAMPLE_KEYS + ["ci-vim"])
    assert_clean(emu, mnt)


PLAIN = "-u NONE -N -i NONE -c 'set backupskip='"


def test_vim_plain_with_swap_writebackup_and_4913_on_a_key(emu, mnt):
    """-u NONE -N: swapfile, writebackup, backupcopy=auto, backupdir=. (4913 probe, then the
    original renamed to NAME~ and a new NAME written, then NAME~ removed). The mount lives
    under /tmp, which the default 'backupskip' excludes from backups, so it is cleared: as
    on a mount in $HOME."""
    emu.reset_stats()
    r = vim(PLAIN + " -c %s" % shlex.quote(r'%s/"qpm": 100/"qpm": 101/'),
            mnt.p("keys", "ci-bot"))
    assert r.returncode == 0, r.stdout + r.stderr + mnt.stderr()
    s = emu.stats()
    assert util.route_count(s, KEY_UPDATE) == 1 and s["mutating"] == 1, s
    assert keys(emu)["ci-bot"]["qpm"] == 101
    assert sorted(keys(emu)) == SAMPLE_KEYS
    assert sorted(os.listdir(mnt.p("keys"))) == SAMPLE_KEYS, (
        "vim's write backup is left in keys/: after rename(ci-bot, ci-bot~) the name ci-bot~ "
        "is listed but lookup gives ENOENT, so vim's unlink(ci-bot~) fails")
    assert_clean(emu, mnt)


def test_vim_plain_with_swap_writebackup_and_4913_on_a_document(emu, mnt):
    path = os.path.join(docdir(mnt), "sow.md")
    want = content(emu, one_doc(emu, "sow.md")) + b"vim was here\n"
    r = vim(PLAIN + " -c %s" % shlex.quote("$put ='vim was here'"), path)
    assert r.returncode == 0, r.stdout + r.stderr + mnt.stderr()
    assert content(emu, one_doc(emu, "sow.md")) == want
    assert names_on_server(emu) == CONTRACTS
    assert sorted(os.listdir(docdir(mnt))) == CONTRACTS
    assert_clean(emu, mnt)


def test_vim_plain_with_backup_kept(emu, mnt):
    """'backup' on: vim keeps NAME~ next to the file; it stays local, never on the server."""
    path = mnt.p("keys", "staging")
    with open(path, "rb") as f:
        orig = f.read()
    r = vim(PLAIN + " -c 'set backup' -c %s" % shlex.quote(
        r'%s/"qpm": 600/"qpm": 601/'), path)
    assert r.returncode == 0, r.stdout + r.stderr + mnt.stderr()
    assert keys(emu)["staging"]["qpm"] == 601
    assert sorted(keys(emu)) == SAMPLE_KEYS, "the backup staging~ reached the server"
    listed = os.listdir(mnt.p("keys"))
    assert "staging~" in listed, "vim's backup staging~ is not in the mount"
    try:
        with open(mnt.p("keys", "staging~"), "rb") as f:
            got = f.read()
    except OSError as e:
        raise AssertionError("vim's backup staging~ is listed but cannot be opened: %s" % e)
    assert got == orig, "the backup staging~ does not hold the old content"


# ---------------------------------------------------------------- sed -i

def test_sed_i_on_a_key_and_a_document(emu, mnt):
    emu.reset_stats()
    r = run(["sed", "-i", 's/"qps": 50/"qps": 55/', mnt.p("keys", "prod-backend")])
    assert r.returncode == 0, r.stderr + mnt.stderr()
    s = emu.stats()
    assert util.route_count(s, KEY_UPDATE) == 1 and s["mutating"] == 1, s
    assert keys(emu)["prod-backend"]["qps"] == 55
    path = os.path.join(docdir(mnt), "msa.txt")
    want = re.sub(rb"e", b"E", content(emu, one_doc(emu, "msa.txt")))
    r = run(["sed", "-i", "s/e/E/g", path])
    assert r.returncode == 0, r.stderr + mnt.stderr()
    assert content(emu, one_doc(emu, "msa.txt")) == want
    with open(path, "rb") as f:
        assert f.read() == want
    assert sorted(keys(emu)) == SAMPLE_KEYS
    assert names_on_server(emu) == CONTRACTS
    assert sorted(os.listdir(docdir(mnt))) == CONTRACTS
    assert_clean(emu, mnt)


# ---------------------------------------------------------------- rsync

def test_rsync_file_new_and_over_existing(emu, mnt, tmp_path):
    (tmp_path / "plan.md").write_bytes(b"# plan\n\x00\xff\n")
    (tmp_path / "sow.md").write_bytes(b"# new statement of work\n")
    r = run(["rsync", str(tmp_path / "plan.md"), str(tmp_path / "sow.md"), docdir(mnt) + "/"])
    assert r.returncode == 0, r.stderr + mnt.stderr()
    assert content(emu, one_doc(emu, "plan.md")) == b"# plan\n\x00\xff\n"
    assert content(emu, one_doc(emu, "sow.md")) == b"# new statement of work\n"
    assert names_on_server(emu) == sorted(CONTRACTS + ["plan.md"])
    assert sorted(os.listdir(docdir(mnt))) == sorted(CONTRACTS + ["plan.md"])
    # a key through rsync (temp name, then rename onto the real name)
    (tmp_path / "ci-rsync").write_text('{"acls": ["api-key:endpoint:chat"], "qpm": 9}\n')
    r = run(["rsync", str(tmp_path / "ci-rsync"), mnt.p("keys") + "/"])
    assert r.returncode == 0, r.stderr + mnt.stderr()
    assert keys(emu)["ci-rsync"]["qpm"] == 9
    assert_clean(emu, mnt)


def test_rsync_a_directory(emu, mnt, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    files = {"a.txt": b"alpha\n", "b.bin": bytes(range(256)), "msa.txt": b"msa from rsync -a\n"}
    for n, b in files.items():
        (src / n).write_bytes(b)
        os.utime(src / n, (1500000000, 1500000000))
    r = run(["rsync", "-a", str(src) + "/", docdir(mnt) + "/"])
    assert r.returncode == 0, r.stderr + mnt.stderr()
    for n, b in files.items():
        assert content(emu, one_doc(emu, n)) == b, n
    assert names_on_server(emu) == sorted(set(CONTRACTS) | set(files))
    assert sorted(os.listdir(docdir(mnt))) == sorted(set(CONTRACTS) | set(files))
    assert_clean(emu, mnt)


# ---------------------------------------------------------------- cp -p

def test_cp_p(emu, mnt, tmp_path):
    src = tmp_path / "kept.txt"
    src.write_bytes(b"with times and mode\n")
    os.chmod(src, 0o644)
    os.utime(src, (1400000000, 1400000000))
    emu.reset_stats()
    r = run(["cp", "-p", str(src), docdir(mnt) + "/"])
    assert r.returncode == 0, r.stderr + mnt.stderr()
    s = emu.stats()
    assert util.route_count(s, DOC_UPLOAD) == 1 and s["mutating"] == 1, s
    assert content(emu, one_doc(emu, "kept.txt")) == b"with times and mode\n"
    assert names_on_server(emu) == sorted(CONTRACTS + ["kept.txt"])
    # cp -p of a key file
    k = tmp_path / "ci-cpp"
    k.write_text('{"qps": 4}\n')
    r = run(["cp", "-p", str(k), mnt.p("keys", "ci-cpp")])
    assert r.returncode == 0, r.stderr + mnt.stderr()
    assert keys(emu)["ci-cpp"]["qps"] == 4
    assert_clean(emu, mnt)


# ---------------------------------------------------------------- gio

def test_gio_copy_into_the_mount(emu, mnt, tmp_path):
    (tmp_path / "gio.txt").write_bytes(b"copied by gio\n")
    r = gio("copy", str(tmp_path / "gio.txt"), docdir(mnt) + "/")
    assert r.returncode == 0, r.stderr + mnt.stderr()
    assert content(emu, one_doc(emu, "gio.txt")) == b"copied by gio\n"
    (tmp_path / "ci-gio").write_text('{"qps": 3}\n')
    r = gio("copy", str(tmp_path / "ci-gio"), mnt.p("keys") + "/")
    assert r.returncode == 0, r.stderr + mnt.stderr()
    assert keys(emu)["ci-gio"]["qps"] == 3
    assert names_on_server(emu) == sorted(CONTRACTS + ["gio.txt"])
    assert sorted(os.listdir(docdir(mnt))) == sorted(CONTRACTS + ["gio.txt"])
    assert_clean(emu, mnt)


def test_gio_copy_over_a_document(emu, mnt, tmp_path):
    (tmp_path / "nda.pdf").write_bytes(b"%PDF-1.4 replaced\x00\xff\n")
    r = gio("copy", str(tmp_path / "nda.pdf"), os.path.join(docdir(mnt), "nda.pdf"))
    assert r.returncode == 0, r.stderr + mnt.stderr()
    assert content(emu, one_doc(emu, "nda.pdf")) == b"%PDF-1.4 replaced\x00\xff\n"
    assert names_on_server(emu) == CONTRACTS
    assert sorted(os.listdir(docdir(mnt))) == CONTRACTS
    assert_clean(emu, mnt)


def test_gio_copy_out_of_the_mount(emu, mnt, tmp_path):
    before = emu.state()
    emu.reset_stats()
    for name in CONTRACTS:
        r = gio("copy", os.path.join(docdir(mnt), name), str(tmp_path / name))
        assert r.returncode == 0, r.stderr + mnt.stderr()
        assert (tmp_path / name).read_bytes() == content(emu, one_doc(emu, name))
    r = gio("copy", mnt.p("keys", "ci-bot"), str(tmp_path / "ci-bot"))
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "ci-bot").read_text()) == keys(emu)["ci-bot"]
    assert emu.stats()["mutating"] == 0
    assert emu.state() == before


def test_gio_save_new_document(emu, mnt):
    r = gio("save", os.path.join(docdir(mnt), "saved.md"), stdin=b"# saved by gio\n")
    assert r.returncode == 0, r.stderr + mnt.stderr()
    assert content(emu, one_doc(emu, "saved.md")) == b"# saved by gio\n"
    assert names_on_server(emu) == sorted(CONTRACTS + ["saved.md"])
    assert sorted(os.listdir(docdir(mnt))) == sorted(CONTRACTS + ["saved.md"])
    assert_clean(emu, mnt)


def test_gio_save_over_a_document(emu, mnt):
    r = gio("save", os.path.join(docdir(mnt), "msa.txt"), stdin=b"msa via gio save\n")
    assert r.returncode == 0, r.stderr + mnt.stderr()
    assert content(emu, one_doc(emu, "msa.txt")) == b"msa via gio save\n"
    assert names_on_server(emu) == CONTRACTS
    assert sorted(os.listdir(docdir(mnt))) == CONTRACTS
    assert_clean(emu, mnt)


def test_gio_save_over_a_key(emu, mnt):
    """An existing key, replaced through .goutputstream-XXXXXX and a rename."""
    with open(mnt.p("keys", "ci-bot")) as f:
        obj = json.load(f)
    obj["tpm"] = "300000"
    emu.reset_stats()
    r = gio("save", mnt.p("keys", "ci-bot"), stdin=json.dumps(obj, indent=2).encode())
    assert r.returncode == 0, r.stderr + mnt.stderr()
    s = emu.stats()
    assert util.route_count(s, KEY_UPDATE) == 1 and s["mutating"] == 1, s
    assert keys(emu)["ci-bot"]["tpm"] == "300000"
    assert sorted(keys(emu)) == SAMPLE_KEYS
    assert sorted(os.listdir(mnt.p("keys"))) == SAMPLE_KEYS
    assert_clean(emu, mnt)


# ---------------------------------------------------------------- tar -x

def test_tar_x(emu, mnt, tmp_path):
    files = {"t1.txt": b"one\n", "t2.bin": b"\x00\x01\xfe\xff" * 100, "sow.md": b"# sow from tar\n"}
    tpath = tmp_path / "docs.tar"
    with tarfile.open(tpath, "w") as t:
        for n, b in files.items():
            p = tmp_path / n
            p.write_bytes(b)
            os.utime(p, (1300000000, 1300000000))
            t.add(p, arcname=n)
    r = run(["tar", "-xf", str(tpath), "-C", docdir(mnt)])
    assert r.returncode == 0, r.stderr + mnt.stderr()
    for n, b in files.items():
        assert content(emu, one_doc(emu, n)) == b, n
    assert names_on_server(emu) == sorted(set(CONTRACTS) | set(files))
    assert sorted(os.listdir(docdir(mnt))) == sorted(set(CONTRACTS) | set(files))
    assert_clean(emu, mnt)


# ---------------------------------------------------------------- shell redirection

def test_shell_redirection(emu, mnt):
    emu.reset_stats()
    r = run("echo '{\"acls\": [\"api-key:endpoint:chat\"], \"qps\": 3}' > %s"
            % mnt.p("keys", "ci-sh"))
    assert r.returncode == 0, r.stderr
    assert util.route_count(emu.stats(), KEY_CREATE) == 1
    assert keys(emu)["ci-sh"]["qps"] == 3
    r = run("echo '{\"qps\": 12}' > %s" % mnt.p("keys", "ci-sh"))
    assert r.returncode == 0, r.stderr
    assert keys(emu)["ci-sh"]["qps"] == 12
    assert keys(emu)["ci-sh"]["aclStrings"] == ["api-key:endpoint:chat"]
    r = run("printf 'new doc\\n' > %s/shell.txt" % docdir(mnt))
    assert r.returncode == 0, r.stderr
    r = run("printf 'replaced\\n' > %s/msa.txt" % docdir(mnt))
    assert r.returncode == 0, r.stderr
    assert content(emu, one_doc(emu, "shell.txt")) == b"new doc\n"
    assert content(emu, one_doc(emu, "msa.txt")) == b"replaced\n"
    assert names_on_server(emu) == sorted(CONTRACTS + ["shell.txt"])
    assert sorted(os.listdir(docdir(mnt))) == sorted(CONTRACTS + ["shell.txt"])
    # a refused write: the shell exits 0, the log says why, nothing changes
    r = run("echo '{\"userId\": \"nobody\"}' > %s" % mnt.p("keys", "ci-sh"))
    assert keys(emu)["ci-sh"]["qps"] == 12
    assert "userId" in mnt.stderr()
    # tee reports it
    r = run("echo '{\"userId\": \"nobody\"}' | tee %s" % mnt.p("keys", "ci-sh"))
    assert r.returncode != 0, "tee exited 0 although close() failed"
    assert_clean(emu, mnt)
