"""Uploads that stream, downloads in large reads (docs/semantics.md, "Writes").

A document written in order from offset 0 is uploaded while it is written;
a write out of order falls back to the spool; a stream that fails fails
close() and leaves nothing; stored uploads are never reported failed.
"""
import errno
import hashlib
import json
import os

import util

DOC_UPLOAD = "POST /v1/collections/{collection_id}/documents"
MiB = 1 << 20


def xstats(m):
    with open(m.p(".xaifs", "stats")) as f:
        return json.load(f)


def stored(emu, coll, name):
    c = [c for c in emu.state()["collections"] if c["collection_name"] == coll]
    assert len(c) == 1
    return [d for d in c[0].get("documents", []) if d["file_metadata"]["name"] == name]


def pattern(n, seed):
    block = hashlib.sha256(seed.encode()).digest() * (MiB // 32)
    return (block * (n // MiB + 1))[:n]


def write_all(fd, data, piece=MiB):
    for i in range(0, len(data), piece):
        view = memoryview(data)[i:i + piece]
        while view:
            view = view[os.write(fd, view):]


def open_doc(m, name):
    return os.open(m.p("collections", "contracts", "documents", name),
                   os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)


def test_sequential_upload_goes_up_before_close(emu, mnt):
    first, second = pattern(8 * MiB, "a"), pattern(8 * MiB, "b")
    before = xstats(mnt)["uploads"]
    fd = open_doc(mnt, "streamed.bin")
    try:
        write_all(fd, first)
        # the writer pauses: the bytes written so far reach the connection anyway
        util.wait_for(lambda: xstats(mnt)["uploads"]["streamed_bytes"] -
                      before["streamed_bytes"] >= 4 * MiB, 60,
                      "half the written bytes handed to the upload before close")
        assert not stored(emu, "contracts", "streamed.bin")
        write_all(fd, second)
    finally:
        os.close(fd)
    docs = stored(emu, "contracts", "streamed.bin")
    assert len(docs) == 1
    assert docs[0]["sha256"] == hashlib.sha256(first + second).hexdigest()
    after = xstats(mnt)["uploads"]
    assert after["streamed"] - before["streamed"] == 1
    assert after["abandoned"] == before["abandoned"]
    assert after["streamed_bytes"] - before["streamed_bytes"] == 16 * MiB
    # and it reads back whole
    with open(mnt.p("collections", "contracts", "documents", "streamed.bin"), "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == docs[0]["sha256"]


def test_write_that_seeks_back_falls_back_and_stores_the_right_bytes(emu, mnt):
    data = bytearray(pattern(3 * MiB, "c"))
    before = xstats(mnt)["uploads"]
    fd = open_doc(mnt, "rewritten.bin")
    try:
        write_all(fd, bytes(data))
        patch = b"X" * 4096
        os.pwrite(fd, patch, MiB)           # back into what was already streamed
        data[MiB:MiB + len(patch)] = patch
        os.lseek(fd, 0, os.SEEK_END)
        tail = pattern(MiB, "d")
        write_all(fd, tail)
        data += tail
    finally:
        os.close(fd)
    docs = stored(emu, "contracts", "rewritten.bin")
    assert len(docs) == 1, docs            # the abandoned stream stored nothing
    assert docs[0]["sha256"] == hashlib.sha256(bytes(data)).hexdigest()
    after = xstats(mnt)["uploads"]
    assert after["streamed"] - before["streamed"] == 1
    assert after["abandoned"] - before["abandoned"] == 1


def test_truncation_falls_back(emu, mnt):
    fd = open_doc(mnt, "cut.bin")
    try:
        write_all(fd, pattern(2 * MiB, "e"))
        os.ftruncate(fd, MiB)
    finally:
        os.close(fd)
    docs = stored(emu, "contracts", "cut.bin")
    assert len(docs) == 1
    assert docs[0]["sha256"] == hashlib.sha256(pattern(2 * MiB, "e")[:MiB]).hexdigest()


def test_stream_failing_midway_fails_close_and_leaves_nothing(emu, mount_factory):
    m = mount_factory(["timeout=10"])
    emu.faults(drop_next=1, fail_route=DOC_UPLOAD)
    fd = open_doc(m, "dropped.bin")
    err = None
    try:
        write_all(fd, pattern(6 * MiB, "f"))
    except OSError as e:
        err = e
    try:
        os.close(fd)
    except OSError as e:
        err = err or e
    emu.faults()
    assert err is not None and err.errno in (errno.EIO, errno.ECONNRESET, errno.EPIPE), err
    assert stored(emu, "contracts", "dropped.bin") == []
    assert "dropped.bin" not in os.listdir(m.p("collections", "contracts", "documents"))
    assert xstats(m)["uploads"]["streamed"] == 1


def test_stream_refused_with_429_is_sent_whole_and_stored_once(emu, mount_factory):
    m = mount_factory(["timeout=10"])
    emu.faults(fail_next=1, fail_status=429, retry_after=1, fail_route=DOC_UPLOAD)
    emu.reset_stats()
    data = pattern(3 * MiB, "l")
    fd = open_doc(m, "limited.bin")
    try:
        write_all(fd, data)
    finally:
        os.close(fd)
    emu.faults()
    assert util.route_count(emu.stats(), DOC_UPLOAD) == 2
    docs = stored(emu, "contracts", "limited.bin")
    assert len(docs) == 1 and docs[0]["sha256"] == hashlib.sha256(data).hexdigest()


def test_small_files_are_sent_whole(emu, mnt):
    before = xstats(mnt)["uploads"]
    fd = open_doc(mnt, "small.txt")
    try:
        write_all(fd, b"small\n" * 1000)
    finally:
        os.close(fd)
    assert xstats(mnt)["uploads"] == before
    assert len(stored(emu, "contracts", "small.txt")) == 1


def test_stream_stored_but_unanswered_is_not_reported_failed(emu, mount_factory):
    m = mount_factory(["timeout=10"])
    emu.faults(drop_after_next=1, fail_route=DOC_UPLOAD)
    data = pattern(3 * MiB, "g")
    fd = open_doc(m, "kept.bin")
    try:
        write_all(fd, data)
    finally:
        os.close(fd)                        # must not raise: the server holds it
    emu.faults()
    docs = stored(emu, "contracts", "kept.bin")
    assert len(docs) == 1
    assert docs[0]["sha256"] == hashlib.sha256(data).hexdigest()
    assert xstats(m)["uploads"]["streamed"] == 1


def test_stream_answered_without_metadata_is_learned(emu, mount_factory):
    emu.control("POST", "/_emu/variants", {"upload_answer": "empty"})
    m = mount_factory()
    data = pattern(2 * MiB, "h")
    fd = open_doc(m, "learned.bin")
    try:
        write_all(fd, data)
    finally:
        os.close(fd)
    assert len(stored(emu, "contracts", "learned.bin")) == 1
    st = os.stat(m.p("collections", "contracts", "documents", "learned.bin"))
    assert st.st_size == len(data)


def test_temporary_names_never_stream(emu, mnt):
    before = xstats(mnt)["uploads"]
    fd = open_doc(mnt, ".partial.swp")
    try:
        write_all(fd, pattern(2 * MiB, "i"))
    finally:
        os.close(fd)
    assert xstats(mnt)["uploads"] == before
    assert stored(emu, "contracts", ".partial.swp") == []


def test_upload_files_mode_keeps_the_spool(emu, mount_factory):
    m = mount_factory(["upload=files"])
    data = pattern(2 * MiB, "j")
    fd = open_doc(m, "twostep.bin")
    try:
        write_all(fd, data)
    finally:
        os.close(fd)
    assert xstats(m)["uploads"]["streamed"] == 0
    docs = stored(emu, "contracts", "twostep.bin")
    assert len(docs) == 1 and docs[0]["sha256"] == hashlib.sha256(data).hexdigest()


def test_large_download_in_large_reads_is_exact(emu, mnt):
    data = pattern(24 * MiB, "k")
    fd = open_doc(mnt, "large.bin")
    try:
        write_all(fd, data)
    finally:
        os.close(fd)
    want = hashlib.sha256(data).hexdigest()
    util.run(["sh", "-c", "echo 1 > '%s'" % mnt.p(".xaifs", "refresh")])
    for bs in (MiB, 4 * MiB, 128 * 1024 + 7):
        h = hashlib.sha256()
        with open(mnt.p("collections", "contracts", "documents", "large.bin"), "rb",
                  buffering=0) as f:
            while True:
                b = f.read(bs)
                if not b:
                    break
                h.update(b)
        assert h.hexdigest() == want, bs
