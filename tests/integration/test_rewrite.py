"""Rewrites, two writers and long names: the defects outside suites found
(pjdfstest's error paths, fsx's shadow copies, churn on shared names), one
test per repro, each checked against the emulator's state afterwards.

The rule they hold the mount to (docs/semantics.md, "One name, one
document"): a handle open for writing behaves like a local file for that
handle; the last close() of a name wins and leaves exactly one document under
it; close() fails only when that handle's bytes are not stored; a name
unlinked while open does not come back; a name too long is ENAMETOOLONG
before any request."""
import errno
import os
import subprocess
import threading
import time

import util
from util import run

DOC_UPLOAD = "POST /v1/collections/{collection_id}/documents"


def docdir(m, cname="contracts"):
    return m.p("collections", cname, "documents")


def docs(emu, cname, name=None):
    found = [c for c in emu.state()["collections"] if c["collection_name"] == cname]
    assert len(found) == 1, "collection %r: %d on the server" % (cname, len(found))
    return [d for d in found[0].get("documents", [])
            if name is None or d["file_metadata"]["name"] == name]


def content(emu, d):
    return emu.api("GET", "/v1/files/%s/content" % d["file_metadata"]["file_id"],
                   key=util.API_KEY)


def one(emu, name, cname="contracts"):
    found = docs(emu, cname, name)
    assert len(found) == 1, "want one document %r on the server, got %d: %r" % (
        name, len(found), [d["file_metadata"]["file_id"] for d in found])
    return found[0]


def listed(m, cname="contracts"):
    return sorted(os.listdir(docdir(m, cname)))


def err_of(fn, *a):
    try:
        fn(*a)
    except OSError as e:
        return e.errno
    return 0


# ------------------------------------------------ 1: a handle like a local file

def test_rewrite_with_o_trunc_is_a_local_file_for_the_handle(emu, mnt):
    path = os.path.join(docdir(mnt), "f")
    with open(path, "wb") as f:
        f.write(b"o" * 100)
    assert os.stat(path).st_size == 100
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    try:
        assert os.fstat(fd).st_size == 0, "fstat after O_TRUNC"
        os.write(fd, b"0123456789")
        assert os.fstat(fd).st_size == 10
        assert os.lseek(fd, 0, os.SEEK_END) == 10, "SEEK_END after 10 bytes"
        os.write(fd, b"END")
    finally:
        os.close(fd)
    assert content(emu, one(emu, "f")) == b"0123456789END"
    with open(path, "rb") as f:
        assert f.read() == b"0123456789END"


def test_ftruncate_of_a_rewrite_grows_and_shrinks(emu, mnt):
    path = os.path.join(docdir(mnt), "g")
    with open(path, "wb") as f:
        f.write(b"x" * 100)
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    try:
        os.ftruncate(fd, 100000)
        assert os.fstat(fd).st_size == 100000
        assert os.lseek(fd, 0, os.SEEK_END) == 100000
        os.pwrite(fd, b"tail", 100000)
        os.ftruncate(fd, 50)
        assert os.fstat(fd).st_size == 50
        os.pwrite(fd, b"ab", 3)
    finally:
        os.close(fd)
    assert content(emu, one(emu, "g")) == b"\0\0\0ab" + b"\0" * 45
    assert os.stat(path).st_size == 50


def test_stat_by_name_during_a_rewrite_shows_the_handle(emu, mnt):
    path = os.path.join(docdir(mnt), "msa.txt")
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    try:
        os.write(fd, b"abc")
        assert os.stat(path).st_size == 3
    finally:
        os.close(fd)
    assert content(emu, one(emu, "msa.txt")) == b"abc"


# ------------------------------------------------ 2, 4, 5: two writers, one name

def test_two_handles_on_one_name_leave_one_document(emu, mnt):
    path = os.path.join(docdir(mnt), "dup")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    a = os.open(path, flags, 0o644)
    b = os.open(path, flags, 0o644)
    os.write(a, b"from a\n")
    os.write(b, b"from b\n")
    ea = err_of(os.close, a)
    eb = err_of(os.close, b)
    assert (ea, eb) == (0, 0), "close() errors %r" % ((ea, eb),)
    assert content(emu, one(emu, "dup")) == b"from b\n", "the last close wins"
    assert [n for n in listed(mnt) if n.startswith("dup")] == ["dup"]


def test_two_handles_on_an_existing_document_leave_one(emu, mnt):
    path = os.path.join(docdir(mnt), "sow.md")
    a = os.open(path, os.O_WRONLY | os.O_TRUNC)
    b = os.open(path, os.O_WRONLY | os.O_TRUNC)
    os.write(a, b"A" * 10)
    os.write(b, b"B" * 20)
    assert err_of(os.close, b) == 0
    assert err_of(os.close, a) == 0
    assert content(emu, one(emu, "sow.md")) == b"A" * 10, "the last close wins"
    assert [n for n in listed(mnt) if n.startswith("sow")] == ["sow.md"]


def test_reopen_with_o_creat_o_trunc_while_a_handle_is_open(emu, mnt):
    p = os.path.join(docdir(mnt), "oc")
    r = run(["bash", "-c", 'exec 3>"$1" 4>"$1"; exec 4>&-; exec 4>"$1"; echo hi >&4',
             "_", p])
    assert r.returncode == 0, r.stderr + mnt.stderr()
    assert content(emu, one(emu, "oc")) == b"hi\n"
    assert [n for n in listed(mnt) if n.startswith("oc")] == ["oc"]


def test_a_second_writer_does_not_abort_an_upload_in_progress(emu, mnt):
    path = os.path.join(docdir(mnt), "big")
    data = os.urandom(20 << 20)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    result = {}

    def closer():
        result["close"] = err_of(os.close, fd)

    t = threading.Thread(target=closer)
    t.start()
    time.sleep(0.01)
    fd2 = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd2, b"second\n")
    t.join(60)
    e2 = err_of(os.close, fd2)
    assert result.get("close") == 0, "first close(): %r\n%s" % (result, mnt.stderr())
    assert e2 == 0
    assert "timed out" not in mnt.stderr()
    got = content(emu, one(emu, "big"))
    assert got == b"second\n", "the last close wins (%d bytes stored)" % len(got)


# ------------------------------------------------ 3: close() and unlink

def test_unlink_while_open_then_close_does_not_bring_the_name_back(emu, mnt):
    path = os.path.join(docdir(mnt), "msa.txt")
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    os.write(fd, b"new bytes")
    os.unlink(path)
    e = err_of(os.close, fd)
    assert e == 0, "close() after unlink: %r" % e
    assert docs(emu, "contracts", "msa.txt") == []
    assert "msa.txt" not in listed(mnt)


def test_new_file_unlinked_while_open_is_never_stored(emu, mnt):
    path = os.path.join(docdir(mnt), "ghost")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, b"never stored")
    os.unlink(path)
    assert err_of(os.close, fd) == 0
    assert docs(emu, "contracts", "ghost") == []
    assert "ghost" not in listed(mnt)


def test_rewrite_of_a_document_deleted_elsewhere_is_stored_and_close_succeeds(
        emu, mnt, tmp_path):
    assert "msa.txt" in listed(mnt)
    d = one(emu, "msa.txt")
    cid = [c for c in emu.state()["collections"] if c["collection_name"] == "contracts"][0]
    cid = cid["collection_id"]
    emu.api("DELETE", "/v1/collections/%s/documents/%s" % (cid, d["file_metadata"]["file_id"]))
    src = tmp_path / "new"
    src.write_bytes(b"fresh\n")
    r = run(["cp", str(src), os.path.join(docdir(mnt), "msa.txt")])
    assert r.returncode == 0, r.stderr + mnt.stderr()
    assert content(emu, one(emu, "msa.txt")) == b"fresh\n"
    assert "could not be removed" not in mnt.stderr()


def test_unlink_during_a_close_removes_the_document(emu, mnt):
    path = os.path.join(docdir(mnt), "bigu")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    data = os.urandom(512 << 10)  # sent whole at close, after the delay below
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    result = {}
    emu.faults(latency_ms=400)  # the upload's answer comes 0.4 s after its end
    t = threading.Thread(target=lambda: result.update(close=err_of(os.close, fd)))
    t.start()
    time.sleep(0.1)
    assert t.is_alive(), "close() ended before the unlink could overlap it"
    e = err_of(os.unlink, path)
    t.join(60)
    emu.faults()
    assert result.get("close") == 0
    assert e == 0, "unlink during the close: %r" % e
    assert docs(emu, "contracts", "bigu") == [], "unlink returned 0, the document stayed"
    assert "bigu" not in listed(mnt)


# ------------------------------------------------ 6, 7, 8: names too long

def test_mkdir_of_a_name_too_long_is_enametoolong_and_sends_nothing(emu, mnt):
    emu.reset_stats()
    e = err_of(os.mkdir, mnt.p("collections", "c" * 256))
    assert e == errno.ENAMETOOLONG
    assert emu.stats().get("routes", {}).get("POST /v1/collections", 0) == 0
    assert not [c for c in emu.state()["collections"] if c["collection_name"].startswith("ccc")]


def test_renames_to_names_too_long_are_refused(emu, mnt):
    long = "k" * 256
    assert err_of(os.rename, mnt.p("keys", "ci-bot"), mnt.p("keys", long)) == errno.ENAMETOOLONG
    assert "ci-bot" in os.listdir(mnt.p("keys"))
    assert err_of(os.rename, mnt.p("collections", "contracts"),
                  mnt.p("collections", "c" * 256)) == errno.ENAMETOOLONG
    # a document name the mount refuses to create is refused as a rename target too
    d = docdir(mnt)
    ec = err_of(lambda: os.close(os.open(os.path.join(d, "d" * 252), os.O_WRONLY | os.O_CREAT,
                                         0o644)))
    er = err_of(os.rename, os.path.join(d, "msa.txt"), os.path.join(d, "d" * 252))
    assert ec == er, "create %r, rename %r" % (ec, er)
    assert "msa.txt" in listed(mnt)


def test_names_over_255_bytes_are_enametoolong_everywhere(emu, mnt):
    long = "n" * 256
    for where in (mnt.p("keys"), mnt.p("collections"), docdir(mnt), mnt.p()):
        p = os.path.join(where, long)
        assert err_of(os.stat, p) == errno.ENAMETOOLONG, p
        assert err_of(os.unlink, p) == errno.ENAMETOOLONG, p
        assert err_of(os.rmdir, p) == errno.ENAMETOOLONG, p
        assert err_of(os.truncate, p, 0) == errno.ENAMETOOLONG, p
        assert err_of(os.rename, p, os.path.join(where, "x")) == errno.ENAMETOOLONG, p


# ------------------------------------------------ 9: truncate(2)

def test_truncate_of_read_only_files_is_eacces_like_open(emu, mnt):
    for rel in ("usage", "billing", "models/" + sorted(os.listdir(mnt.p("models")))[0],
                "collections/contracts/metadata/msa.txt.json"):
        p = mnt.p(rel)
        eo = err_of(lambda: os.close(os.open(p, os.O_WRONLY | os.O_TRUNC)))
        et = err_of(os.truncate, p, 0)
        assert eo == errno.EACCES and et == eo, "%s: open %r, truncate %r" % (rel, eo, et)


def test_truncate_of_a_key_by_name_is_what_ftruncate_does(emu, mnt):
    p = mnt.p("keys", "ci-bot")
    before = open(p).read()
    fd = os.open(p, os.O_WRONLY)
    os.ftruncate(fd, 0)
    e_handle = err_of(os.close, fd)
    e_name = err_of(os.truncate, p, 0)
    # an empty key file changes nothing on the key (semantics.md, "Writes")
    assert e_name == e_handle == 0, "ftruncate+close %r, truncate %r" % (e_handle, e_name)
    assert open(p).read() == before
    assert err_of(os.truncate, p, len(before)) == 0, "truncate to its own size"


def test_truncate_of_a_document_by_name(emu, mnt):
    p = os.path.join(docdir(mnt), "msa.txt")
    size = os.stat(p).st_size
    assert err_of(os.truncate, p, size + 5) == errno.EOPNOTSUPP, "documents are replaced whole"
    assert os.stat(p).st_size == size
    assert err_of(os.truncate, p, 0) == 0
    assert content(emu, one(emu, "msa.txt")) == b""
    assert os.stat(p).st_size == 0


# ------------------------------------------------ log lines

def test_refusal_log_names_the_file_not_its_id(emu, mnt):
    p = os.path.join(docdir(mnt), "msa.txt")
    e = err_of(lambda: os.close(os.open(p, os.O_RDWR | os.O_APPEND)))
    assert e == errno.EOPNOTSUPP
    line = [ln for ln in mnt.stderr().splitlines() if "cannot write into" in ln]
    assert len(line) == 1, mnt.stderr()
    assert "'msa.txt'" in line[0] and "file_" not in line[0], line[0]


# ------------------------------------------------ keys: one name, one key

def keys_named(emu, name):
    return [k for k in emu.state()["keys"] if k["name"] == name]


def test_two_handles_creating_one_key_leave_one_key(emu, mnt):
    p = mnt.p("keys", "twin")
    a = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    b = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(a, b'{"qps": 3}')
    os.write(b, b'{"qps": 7}')
    assert (err_of(os.close, a), err_of(os.close, b)) == (0, 0), mnt.stderr()
    found = keys_named(emu, "twin")
    assert len(found) == 1, "want one key 'twin' on the server, got %d" % len(found)
    assert found[0]["qps"] == 7, "the last close wins"
    assert [n for n in os.listdir(mnt.p("keys")) if n.startswith("twin")] == ["twin"]


def test_key_unlinked_while_open_is_not_sent(emu, mnt):
    p = mnt.p("keys", "staging")
    fd = os.open(p, os.O_WRONLY | os.O_TRUNC)
    os.write(fd, b'{"qps": 99}')
    os.unlink(p)
    emu.reset_stats()
    assert err_of(os.close, fd) == 0
    assert keys_named(emu, "staging") == []
    assert emu.stats().get("routes", {}).get("PUT /auth/api-keys/{apiKeyId}", 0) == 0
