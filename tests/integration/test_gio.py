"""GIO as a file manager (Nautilus) uses it: gio list, info, copy, save, remove, mkdir,
the probes it makes, and statfs. GIO_USE_VFS=local: no gvfs daemon, plain POSIX calls."""
import hashlib
import json
import os
import shutil

import pytest

import util
from util import run

GIO = shutil.which("gio")

# What Nautilus asks of every file it shows (nautilus-file.c / nautilus-directory-async.c).
NAUTILUS_ATTRS = ("standard::*,access::*,time::*,unix::*,owner::*,id::*,etag::*,"
                  "thumbnail::*,preview::*,filesystem::*,selinux::*")


def gio(*args, stdin=None):
    if GIO is None:
        pytest.fail("the gio command is missing (apt-get install libglib2.0-bin)")
    env = dict(os.environ, GIO_USE_VFS="local")
    return run([GIO, *args], env=env, input=stdin)


def ok(r):
    assert r.returncode == 0, "rc %d: %s%s" % (r.returncode, r.stdout, r.stderr)
    return r


def collection(emu, name):
    for c in emu.state()["collections"]:
        if c["collection_name"] == name:
            return c
    return None


def documents(emu, coll="contracts"):
    return {d["file_metadata"]["name"]: d for d in collection(emu, coll)["documents"]}


def listing(r):
    return {line.split("\t")[0]: line.split("\t")[1:] for line in r.stdout.splitlines()}


def test_gio_list(emu, mnt):
    r = ok(gio("list", "-l", mnt.p("collections", "contracts", "documents")))
    got = listing(r)
    want = documents(emu)
    assert set(got) == set(want)
    for name, (size, kind) in got.items():
        assert kind == "(regular)"
        assert int(size) == int(want[name]["file_metadata"]["size_bytes"])
    r = ok(gio("list", mnt.path))
    assert {"keys", "models", "collections", "usage", "billing", "regions"} <= set(
        r.stdout.split())


def test_gio_info(emu, mnt):
    p = mnt.p("collections", "contracts", "documents", "nda.pdf")
    r = ok(gio("info", p))
    assert "type: regular" in r.stdout
    assert "size:  428" in r.stdout
    assert "standard::content-type: application/pdf" in r.stdout
    assert "access::can-read: TRUE" in r.stdout
    r = ok(gio("info", "-a", "standard::type,standard::size", mnt.p("keys", "ci-bot")))
    with open(mnt.p("keys", "ci-bot"), "rb") as f:
        assert "standard::size: %d" % len(f.read()) in r.stdout
    r = ok(gio("info", mnt.p("collections", "contracts")))
    assert "type: directory" in r.stdout


def test_gio_copy_in_and_out(emu, mnt, tmp_path):
    data = os.urandom(3000) + b"gio copy\n"
    src = tmp_path / "report.bin"
    src.write_bytes(data)
    docs = mnt.p("collections", "contracts", "documents")
    ok(gio("copy", str(src), docs + "/"))
    d = documents(emu).get("report.bin")
    assert d is not None and d["sha256"] == hashlib.sha256(data).hexdigest()
    assert "report.bin" in os.listdir(docs)
    assert not [n for n in os.listdir(docs) if n.startswith(".goutputstream")]
    # and back out, byte for byte
    out = tmp_path / "back.bin"
    ok(gio("copy", os.path.join(docs, "report.bin"), str(out)))
    assert out.read_bytes() == data
    out2 = tmp_path / "nda.pdf"
    ok(gio("copy", os.path.join(docs, "nda.pdf"), str(tmp_path) + "/"))
    with open(os.path.join(docs, "nda.pdf"), "rb") as f:
        assert out2.read_bytes() == f.read()
    assert hashlib.sha256(out2.read_bytes()).hexdigest() == documents(emu)["nda.pdf"]["sha256"]


def test_gio_copy_over_an_existing_document(emu, mnt, tmp_path):
    src = tmp_path / "msa.txt"
    src.write_bytes(b"the new master services agreement\n")
    docs = mnt.p("collections", "contracts", "documents")
    old_id = documents(emu)["msa.txt"]["file_metadata"]["file_id"]
    ok(gio("copy", str(src), docs + "/"))             # gio copy overwrites by default
    d = documents(emu)["msa.txt"]
    assert d["sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    assert d["file_metadata"]["file_id"] != old_id
    assert sorted(os.listdir(docs)) == ["msa.txt", "nda.pdf", "sow.md"]


def test_gio_save_documents(emu, mnt):
    docs = mnt.p("collections", "contracts", "documents")
    p = os.path.join(docs, "notes.txt")
    ok(gio("save", p, stdin="first version\n"))
    assert documents(emu)["notes.txt"]["sha256"] == hashlib.sha256(
        b"first version\n").hexdigest()
    # saving again replaces it: GIO writes .goutputstream-XXXXXX and renames it over
    ok(gio("save", p, stdin="second version\n"))
    with open(p) as f:
        assert f.read() == "second version\n"
    docs_now = documents(emu)
    assert docs_now["notes.txt"]["sha256"] == hashlib.sha256(b"second version\n").hexdigest()
    assert sorted(docs_now) == ["msa.txt", "nda.pdf", "notes.txt", "sow.md"]
    assert sorted(os.listdir(docs)) == ["msa.txt", "nda.pdf", "notes.txt", "sow.md"]


def test_gio_save_keys(emu, mnt):
    p = mnt.p("keys", "gio-key")
    ok(gio("save", p, stdin='{"acls": ["api-key:model:*"], "qps": 3}\n'))
    with open(p) as f:
        created = json.load(f)
    assert created["qps"] == 3 and created["apiKey"].startswith("xai-")
    ok(gio("save", p, stdin='{"qps": 4}\n'))
    keys = {k["name"]: k for k in emu.state()["keys"]}
    assert keys["gio-key"]["qps"] == 4
    assert keys["gio-key"]["apiKeyId"] == created["apiKeyId"]
    assert not [n for n in os.listdir(mnt.p("keys")) if n.startswith(".goutputstream")]
    assert not [k for k in keys if k.startswith(".goutputstream")]


def test_gio_remove(emu, mnt):
    ok(gio("remove", mnt.p("collections", "contracts", "documents", "sow.md")))
    assert "sow.md" not in documents(emu)
    assert "sow.md" not in os.listdir(mnt.p("collections", "contracts", "documents"))
    ok(gio("remove", mnt.p("keys", "old-test-2")))
    assert "old-test-2" not in {k["name"] for k in emu.state()["keys"]}
    r = gio("remove", mnt.p("keys", "no-such-key"))
    assert r.returncode != 0


def test_gio_mkdir(emu, mnt):
    ok(gio("mkdir", mnt.p("collections", "made-by-gio")))
    assert collection(emu, "made-by-gio") is not None
    assert os.path.isdir(mnt.p("collections", "made-by-gio", "documents"))
    before = emu.stats()["mutating"]
    for where in (mnt.p("keys", "dir"), mnt.p("made-at-root"),
                  mnt.p("collections", "contracts", "documents", "sub")):
        r = gio("mkdir", where)
        assert r.returncode != 0, where
    assert emu.stats()["mutating"] == before


def nautilus_browse(m):
    """What a file manager does when it shows these folders: list with the full attribute
    set (which reads .hidden in each folder), look up thumbnails, probe the root."""
    folders = [m.path, m.p("keys"), m.p("models"), m.p("collections"),
               m.p("collections", "contracts"),
               m.p("collections", "contracts", "documents"),
               m.p("collections", "contracts", "metadata")]
    for d in folders:
        ok(gio("list", "-h", "-a", NAUTILUS_ATTRS, d))
    ok(gio("info", "-f", "-a", "filesystem::*", m.path))
    for f in ("nda.pdf", "msa.txt", "sow.md"):
        ok(gio("info", "-a", "thumbnail::*,standard::fast-content-type,standard::icon",
               m.p("collections", "contracts", "documents", f)))
    return folders


def test_desktop_probes_cost_no_request(emu, mount_factory):
    m = mount_factory(["cache_ttl=600", "live_ttl=600"])
    folders = nautilus_browse(m)                     # warm-up: fills the listings
    emu.reset_stats()
    folders = nautilus_browse(m)
    probes = [".Trash", ".Trash-1000", ".Trash-%d" % os.getuid(), ".hidden",
              ".xdg-volume-info", "autorun.inf", ".DS_Store", "._nda.pdf", "desktop.ini",
              "Thumbs.db", ".directory", ".thumbnails", ".sh_thumbnails"]
    for d in folders:
        for name in probes:
            assert not os.path.exists(os.path.join(d, name)), (d, name)
    for name in (".Trash-1000", ".Trash-%d" % os.getuid()):
        r = gio("info", os.path.join(m.path, name))
        assert r.returncode != 0
    assert emu.stats()["total"] == 0, emu.stats()


def test_statfs_allows_copies(mnt):
    st = os.statvfs(mnt.path)
    assert st.f_bavail * st.f_frsize > 1 << 30
    assert st.f_bfree * st.f_frsize > 1 << 30
    assert st.f_namemax >= 255
    r = ok(gio("info", "-f", "-a", "filesystem::free", mnt.path))
    free = int(r.stdout.split("filesystem::free:")[1].split()[0])
    assert free > 1 << 30


def test_gio_on_a_read_only_mount(emu, mount_factory, tmp_path):
    m = mount_factory(["ro"])
    src = tmp_path / "x.txt"
    src.write_text("x\n")
    r = gio("copy", str(src), m.p("collections", "contracts", "documents") + "/")
    assert r.returncode != 0
    r = gio("remove", m.p("keys", "ci-bot"))
    assert r.returncode != 0
    assert emu.stats()["mutating"] == 0
    st = os.statvfs(m.path)
    assert st.f_flag & os.ST_RDONLY
