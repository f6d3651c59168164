"""-o ro: every change fails with EROFS, reads still work, and no mutating request
(the emulator's "mutating" counter: every non-GET request) is ever sent."""
import errno
import os
import stat

import pytest

import util
from util import run

TREE_FILES = ("keys/ci-bot", "collections/contracts/collection.json",
              "collections/contracts/documents/msa.txt",
              "collections/contracts/metadata/msa.txt.json")


@pytest.fixture
def ro(emu, mount_factory):
    m = mount_factory(["ro"])
    emu.reset_stats()
    return m


def errno_of(fn, *a):
    try:
        fn(*a)
    except OSError as e:
        return e.errno
    return None


def assert_untouched(emu, before):
    s = emu.stats()
    assert s["mutating"] == 0, "a read-only mount sent a mutating request: %s" % s
    assert emu.state() == before, "the server changed under a read-only mount"


def test_every_write_syscall_is_erofs(emu, ro):
    before = emu.state()
    p = ro.p
    docs = p("collections", "contracts", "documents")
    calls = [
        ("create key", open, p("keys", "ci-new"), "w"),
        ("write key", open, p("keys", "ci-bot"), "w"),
        ("append key", open, p("keys", "ci-bot"), "a"),
        ("write collection.json", open, p("collections", "contracts", "collection.json"), "w"),
        ("create document", open, os.path.join(docs, "new.txt"), "w"),
        ("write document", open, os.path.join(docs, "msa.txt"), "w"),
        ("create local name", open, os.path.join(docs, ".x.swp"), "w"),
        ("create 4913", open, p("keys", "4913"), "w"),
        ("rm key", os.unlink, p("keys", "ci-bot")),
        ("rm document", os.unlink, os.path.join(docs, "msa.txt")),
        ("rm metadata", os.unlink, p("collections", "contracts", "metadata", "msa.txt.json")),
        ("rm collection.json", os.unlink, p("collections", "contracts", "collection.json")),
        ("mv key", os.rename, p("keys", "staging"), p("keys", "staging-2")),
        ("mv key to backup", os.rename, p("keys", "staging"), p("keys", "staging~")),
        ("mv document", os.rename, os.path.join(docs, "msa.txt"), os.path.join(docs, "m.txt")),
        ("mv collection", os.rename, p("collections", "contracts"), p("collections", "c2")),
        ("mkdir collection", os.mkdir, p("collections", "fresh")),
        ("rmdir collection", os.rmdir, p("collections", "research-notes")),
        ("rmdir documents", os.rmdir, docs),
        ("truncate key", os.truncate, p("keys", "ci-bot"), 0),
        ("truncate document", os.truncate, os.path.join(docs, "msa.txt"), 0),
        ("symlink", os.symlink, "ci-bot", p("keys", "link")),
        ("link", os.link, p("keys", "ci-bot"), p("keys", "hard")),
        ("mknod", os.mknod, os.path.join(docs, "fifo"), stat.S_IFIFO | 0o600),
        ("chmod", os.chmod, p("keys", "ci-bot"), 0o644),
        ("chown", os.chown, p("keys", "ci-bot"), os.getuid(), os.getgid()),
        ("utime", os.utime, os.path.join(docs, "msa.txt"), (1, 1)),
    ]
    wrong = []
    for what, fn, *args in calls:
        e = errno_of(fn, *args)
        if e != errno.EROFS:
            wrong.append("%s: got %s" % (what, errno.errorcode.get(e, e)))
    assert not wrong, "want EROFS for every change on -o ro:\n" + "\n".join(wrong)
    fd = os.open(os.path.join(docs, "msa.txt"), os.O_RDONLY)
    os.close(fd)
    assert_untouched(emu, before)
    assert sorted(os.listdir(p("keys"))) == sorted(k["name"] for k in before["keys"])
    assert sorted(os.listdir(docs)) == ["msa.txt", "nda.pdf", "sow.md"]


def test_tools_fail_on_a_read_only_mount(emu, ro, tmp_path):
    before = emu.state()
    src = tmp_path / "up.txt"
    src.write_text("x\n")
    docs = ro.p("collections", "contracts", "documents")
    cmds = {
        "cp": ["cp", str(src), docs + "/"],
        "cp key": ["cp", str(src), ro.p("keys", "ci-new")],
        "rsync": ["rsync", str(src), docs + "/"],
        "sed -i": ["sed", "-i", "s/5/6/", ro.p("keys", "ci-bot")],
        "rm -r": ["rm", "-rf", ro.p("collections", "research-notes")],
        "rm glob": "rm -f %s/old-*" % ro.p("keys"),
        "mv": ["mv", os.path.join(docs, "msa.txt"), os.path.join(docs, "msa2.txt")],
        "mkdir": ["mkdir", ro.p("collections", "fresh")],
        "touch": ["touch", ro.p("keys", "ci-bot")],
        "redirection": "echo '{\"qps\": 1}' > %s" % ro.p("keys", "ci-bot"),
        "tee": "echo '{\"qps\": 1}' | tee %s" % ro.p("keys", "ci-new"),
        "tar -x": "tar -cf - -C %s up.txt | tar -xf - -C %s" % (tmp_path, docs),
        "gio save": "echo hi | GIO_USE_VFS=local gio save %s/gio.txt" % docs,
    }
    passed = [name for name, c in cmds.items() if run(c).returncode == 0]
    assert not passed, "exited 0 on a read-only mount: %s" % passed
    r = run(["cp", str(src), docs + "/"])
    assert "Read-only file system" in r.stderr, r.stderr
    assert_untouched(emu, before)


def test_reads_still_work(emu, ro):
    before = emu.state()
    for rel in TREE_FILES:
        r = run(["cat", ro.p(*rel.split("/"))], text=False)
        assert r.returncode == 0, (rel, r.stderr)
        assert len(r.stdout) == os.stat(ro.p(*rel.split("/"))).st_size
    msa = next(d for c in before["collections"] for d in c["documents"]
               if d["file_metadata"]["name"] == "msa.txt")
    with open(ro.p("collections", "contracts", "documents", "msa.txt"), "rb") as f:
        assert f.read() == emu.api("GET", "/v1/files/%s/content" % msa["file_metadata"]["file_id"],
                                   key=util.API_KEY)
    assert run(["find", ro.p("keys"), ro.p("collections")]).returncode == 0
    s = emu.stats()
    assert s["mutating"] == 0 and s["total"] > 0, s
    assert emu.state() == before
    assert os.statvfs(ro.path).f_flag & os.ST_RDONLY
