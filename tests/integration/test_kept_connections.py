"""Creates on kept connections, never sent twice (docs/semantics.md, "Errors").

A create (a key, a collection, a spooled document upload) may ride a kept
connection. libcurl sends a request again by itself when a kept connection
turns out dead before any answer; the mount lets it only while no byte of
the body was read, and otherwise asks the server (one listing) whether the
create was carried out, sending it again, on a new connection, only when it
was not. Each fault below is the emulator's: `drop` closes the connection as
the request arrives, without carrying it out; `drop_after` carries it out,
then closes the connection before the answer. Each test asserts how many
resources exist afterwards and what close() and ls say."""
import os

import util
from util import run

KEY_CREATE = "POST /auth/teams/{teamId}/api-keys"
COLL_CREATE = "POST /v1/collections"
DOC_UPLOAD = "POST /v1/collections/{collection_id}/documents"


def keys_named(emu, name):
    return [k for k in emu.state()["keys"] if k["name"] == name]


def docs_named(emu, name, cname="contracts"):
    c = [c for c in emu.state()["collections"] if c["collection_name"] == cname][0]
    return [d for d in c.get("documents", []) if d["file_metadata"]["name"] == name]


def warm(mnt):
    """A request first, so that the pool holds a kept connection."""
    os.listdir(mnt.p("keys"))
    os.listdir(mnt.p("collections", "contracts", "documents"))


def write_close(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
    finally:
        try:
            os.close(fd)
        except OSError as e:
            return e.errno
    return 0


def test_key_create_on_a_connection_closed_as_it_arrives_is_made_once(emu, mnt):
    warm(mnt)
    emu.faults(drop_next=1, fail_route=KEY_CREATE)
    e = write_close(mnt.p("keys", "kc1"), b'{"qps": 2}')
    emu.faults()
    assert e == 0, mnt.stderr()
    assert len(keys_named(emu, "kc1")) == 1
    assert "kc1" in os.listdir(mnt.p("keys"))
    assert "sent again on a new connection" in mnt.stderr()


def test_key_create_carried_out_then_dropped_is_made_once(emu, mnt):
    warm(mnt)
    emu.faults(drop_after_next=1, fail_route=KEY_CREATE)
    e = write_close(mnt.p("keys", "kc2"), b'{"qps": 2}')
    emu.faults()
    assert e == 0, "the key was made: close() must not fail\n" + mnt.stderr()
    assert len(keys_named(emu, "kc2")) == 1, "the create was sent twice"
    assert "kc2" in os.listdir(mnt.p("keys"))
    assert "one-time secret was lost" in mnt.stderr()


def test_mkdir_carried_out_then_dropped_makes_one_collection(emu, mnt):
    warm(mnt)
    emu.faults(drop_after_next=1, fail_route=COLL_CREATE)
    os.mkdir(mnt.p("collections", "kept"))
    emu.faults()
    made = [c for c in emu.state()["collections"] if c["collection_name"] == "kept"]
    assert len(made) == 1
    assert "kept" in os.listdir(mnt.p("collections"))


def test_mkdir_on_a_connection_closed_as_it_arrives(emu, mnt):
    warm(mnt)
    emu.faults(drop_next=1, fail_route=COLL_CREATE)
    os.mkdir(mnt.p("collections", "kept2"))
    emu.faults()
    made = [c for c in emu.state()["collections"] if c["collection_name"] == "kept2"]
    assert len(made) == 1


def test_upload_on_a_connection_closed_as_it_arrives_is_stored_once(emu, mnt):
    warm(mnt)
    data = os.urandom(100 << 10)
    emu.faults(drop_next=1, fail_route=DOC_UPLOAD)
    e = write_close(mnt.p("collections", "contracts", "documents", "up1"), data)
    emu.faults()
    assert e == 0, mnt.stderr()
    found = docs_named(emu, "up1")
    assert len(found) == 1
    got = emu.api("GET", "/v1/files/%s/content" % found[0]["file_metadata"]["file_id"],
                  key=util.API_KEY)
    assert got == data


def test_upload_carried_out_then_dropped_is_stored_once(emu, mnt):
    warm(mnt)
    emu.faults(drop_after_next=1, fail_route=DOC_UPLOAD)
    e = write_close(mnt.p("collections", "contracts", "documents", "up2"), b"x" * 5000)
    emu.faults()
    assert e == 0, mnt.stderr()
    assert len(docs_named(emu, "up2")) == 1


def test_cp_of_20_files_rides_kept_connections(emu, mnt, tmp_path):
    warm(mnt)
    for i in range(20):
        (tmp_path / ("f%02d" % i)).write_bytes(os.urandom(100 << 10))
    emu.reset_stats()
    r = run("cp %s/f* %s/" % (tmp_path, mnt.p("collections", "contracts", "documents")))
    assert r.returncode == 0, r.stderr
    s = emu.stats()
    assert util.route_count(s, DOC_UPLOAD) == 20
    assert s["connections"] <= 2, "cp of 20 files opened %d connections" % s["connections"]


def test_ten_key_creations_ride_kept_connections(emu, mnt):
    warm(mnt)
    emu.reset_stats()
    for i in range(10):
        assert write_close(mnt.p("keys", "new-%d" % i), b'{"qps": 1}') == 0
    s = emu.stats()
    assert util.route_count(s, KEY_CREATE) == 10
    assert s["connections"] <= 2, "10 key creations opened %d connections" % s["connections"]


def test_key_create_whose_answer_is_cut_is_made_once(emu, mnt):
    """A 2xx whose body was cut (on HTTP/2: a stream reset mid-answer): the key
    exists, so close() succeeds, found by one listing."""
    warm(mnt)
    emu.faults(truncate_next=1, fail_route=KEY_CREATE)
    e = write_close(mnt.p("keys", "kc3"), b'{"qps": 2}')
    emu.faults()
    assert e == 0, mnt.stderr()
    assert len(keys_named(emu, "kc3")) == 1
    assert "the answer was lost, but the server made it" in mnt.stderr()


def test_mkdir_whose_answer_is_cut_makes_one_collection(emu, mnt):
    warm(mnt)
    emu.faults(truncate_next=1, fail_route=COLL_CREATE)
    os.mkdir(mnt.p("collections", "cut"))
    emu.faults()
    assert len([c for c in emu.state()["collections"] if c["collection_name"] == "cut"]) == 1
