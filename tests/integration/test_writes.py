"""Writes through the mount: one test per row of the "Writes" and rename tables of
docs/semantics.md, each checked against the emulator's state afterwards."""
import errno
import hashlib
import json
import os
import re
import stat
import urllib.error

import pytest

import util
from util import run

KEY_CREATE = "POST /auth/teams/{teamId}/api-keys"
KEY_UPDATE = "PUT /auth/api-keys/{apiKeyId}"
KEY_ROTATE = "POST /auth/api-keys/{apiKeyId}/rotate"
KEY_DELETE = "DELETE /auth/api-keys/{apiKeyId}"
COLL_CREATE = "POST /v1/collections"
COLL_UPDATE = "PUT /v1/collections/{collection_id}"
COLL_DELETE = "DELETE /v1/collections/{collection_id}"
DOC_UPLOAD = "POST /v1/collections/{collection_id}/documents"
DOC_DELETE = "DELETE /v1/collections/{collection_id}/documents/{file_id}"

# The names semantics.md keeps local (never sent to the server).
LOCAL_NAME = re.compile(r"^(\..*|.*~|[0-9]+|#.*#|sed[A-Za-z0-9]{6})$")


# ---------------------------------------------------------------- helpers

def keys(emu):
    """name -> key object, as the emulator holds them (no secrets)."""
    out = {}
    for k in emu.state()["keys"]:
        assert k["name"] not in out, "two keys named %r on the server" % k["name"]
        out[k["name"]] = k
    return out


def coll(emu, name):
    found = [c for c in emu.state()["collections"] if c["collection_name"] == name]
    assert len(found) <= 1, "two collections named %r on the server" % name
    return found[0] if found else None


def docs(emu, cname, name=None):
    c = coll(emu, cname)
    assert c is not None, "collection %r missing on the server" % cname
    return [d for d in c.get("documents", []) if name is None or d["file_metadata"]["name"] == name]


def one_doc(emu, cname, name):
    found = docs(emu, cname, name)
    assert len(found) == 1, "want exactly one document %r in %r on the server, got %d" % (
        name, cname, len(found))
    return found[0]


def content(emu, file_id):
    return emu.api("GET", "/v1/files/%s/content" % file_id, key=util.API_KEY)


def audit(emu):
    ev = json.loads(emu.api("GET", "/audit/teams/%s/events?pageSize=100" % util.TEAM_ID))
    return [e.get("description", "") for e in ev.get("events", [])]


def assert_no_stray(emu):
    """No local/temporary name ever reached the server."""
    st = emu.state()
    for k in st["keys"]:
        assert not LOCAL_NAME.match(k["name"]), "temporary key name on the server: %r" % k["name"]
    for c in st["collections"]:
        assert not LOCAL_NAME.match(c["collection_name"]), c["collection_name"]
        for d in c.get("documents", []):
            n = d["file_metadata"]["name"]
            assert not LOCAL_NAME.match(n), "temporary document name on the server: %r" % n


def count(emu, route):
    return util.route_count(emu.stats(), route)


def write_close(path, data, flags=os.O_WRONLY | os.O_CREAT | os.O_TRUNC):
    """write() then close(); return None or the errno that write/close raised."""
    fd = os.open(path, flags, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except OSError as e:
        try:
            os.close(fd)
        except OSError:
            pass
        return e.errno
    try:
        os.close(fd)
    except OSError as e:
        return e.errno
    return None


def read_json(path):
    with open(path) as f:
        return json.load(f)


def errno_of(fn, *a):
    try:
        fn(*a)
    except OSError as e:
        return e.errno
    return None


def docdir(m, cname="contracts"):
    return m.p("collections", cname, "documents")


def sha(b):
    return hashlib.sha256(b).hexdigest()


# ---------------------------------------------------------------- keys

def test_create_key_with_fields_and_one_time_secret(emu, mnt, mount_factory):
    emu.reset_stats()
    body = {"acls": ["api-key:endpoint:chat", "api-key:model:*"], "qps": 3, "qpm": 30,
            "tpm": "1000", "expireTime": "2030-01-01T00:00:00Z"}
    assert write_close(mnt.p("keys", "ci-new"), json.dumps(body).encode()) is None, mnt.stderr()
    s = emu.stats()
    assert util.route_count(s, KEY_CREATE) == 1
    assert s["mutating"] == 1, s
    k = keys(emu)["ci-new"]
    assert k["aclStrings"] == body["acls"]
    assert (k.get("qps"), k.get("qpm"), k.get("tpm")) == (3, 30, "1000")
    assert k["expireTime"].startswith("2030-01-01T00:00:00")
    assert "apiKey" not in k
    # listed at once, and cat shows the one-time secret
    assert "ci-new" in os.listdir(mnt.p("keys"))
    r = run(["cat", mnt.p("keys", "ci-new")])
    assert r.returncode == 0, r.stderr
    shown = json.loads(r.stdout)
    assert shown["apiKey"].startswith("xai-"), shown
    assert shown["apiKeyId"] == k["apiKeyId"]
    assert os.stat(mnt.p("keys", "ci-new")).st_size == len(r.stdout.encode())
    assert shown["redactedApiKey"][-4:] == shown["apiKey"][-4:]
    # the secret is a working inference key
    emu.api("GET", "/v1/api-key", key=shown["apiKey"])
    # another mount never sees it (held in memory only)
    m2 = mount_factory()
    assert "apiKey" not in read_json(m2.p("keys", "ci-new"))
    assert_no_stray(emu)


def test_create_key_with_aclstrings_and_matching_name(emu, mnt):
    body = {"name": "ci-two", "aclStrings": ["api-key:endpoint:embed"], "tpm": 500}
    assert write_close(mnt.p("keys", "ci-two"), json.dumps(body).encode()) is None, mnt.stderr()
    k = keys(emu)["ci-two"]
    assert k["aclStrings"] == ["api-key:endpoint:embed"]
    assert k["tpm"] == "500"


def test_create_key_refuses_other_name_and_unknown_fields(emu, mnt):
    before = keys(emu)
    emu.reset_stats()
    e = write_close(mnt.p("keys", "ci-bad"), b'{"name": "something-else", "qps": 1}\n')
    assert e == errno.EINVAL, "close() of a key whose name field differs: want EINVAL, got %r" % e
    e = write_close(mnt.p("keys", "ci-bad2"), b'{"qps": 1, "color": "red"}\n')
    assert e == errno.EINVAL, "close() of a new key with an unknown field: want EINVAL, got %r" % e
    assert "color" in mnt.stderr(), mnt.stderr()
    e = write_close(mnt.p("keys", "ci-bad3"), b'{"qps": 1,')
    assert e == errno.EINVAL, "close() of a new key with malformed JSON: want EINVAL, got %r" % e
    assert emu.stats()["mutating"] == 0
    assert keys(emu) == before
    listed = os.listdir(mnt.p("keys"))
    for n in ("ci-bad", "ci-bad2", "ci-bad3"):
        assert n not in listed, "refused key %r is still listed" % n


def test_failed_key_creation_leaves_nothing(emu, mnt, tmp_path):
    emu.faults(fail_next=1, fail_status=400, fail_route=KEY_CREATE)
    e = write_close(mnt.p("keys", "ci-fail"), b'{"qps": 2}\n')
    assert e == errno.EINVAL, "close() after a 400 on create: want EINVAL, got %r" % e
    assert "ci-fail" not in keys(emu)
    assert "ci-fail" not in os.listdir(mnt.p("keys")), "a failed key creation left the name"
    # the same through cp, which must report it
    src = tmp_path / "k.json"
    src.write_text('{"qps": 2}\n')
    emu.faults(fail_next=1, fail_status=400, fail_route=KEY_CREATE)
    r = run(["cp", str(src), mnt.p("keys", "ci-fail2")])
    assert r.returncode != 0, "cp exited 0 although the key creation was refused"
    emu.faults()
    assert "ci-fail2" not in keys(emu)
    assert "ci-fail2" not in os.listdir(mnt.p("keys"))
    assert_no_stray(emu)


def test_update_key_sends_only_changed_fields(emu, mnt):
    path = mnt.p("keys", "ci-bot")
    before = keys(emu)["ci-bot"]
    obj = read_json(path)
    obj["qps"] = 7
    emu.reset_stats()
    assert write_close(path, (json.dumps(obj, indent=2) + "\n").encode()) is None, mnt.stderr()
    s = emu.stats()
    assert util.route_count(s, KEY_UPDATE) == 1, s
    assert s["mutating"] == 1, s
    after = keys(emu)["ci-bot"]
    assert after["qps"] == 7
    for f in ("apiKeyId", "aclStrings", "qpm", "tpm", "name", "createTime", "userId"):
        assert after.get(f) == before.get(f), f
    assert "Updated API key 'ci-bot' (qps)" in audit(emu), "fieldMask was not just qps"
    assert read_json(path)["qps"] == 7, "cat shows the old key after an update"
    # a partial object changes only what it names
    emu.reset_stats()
    assert write_close(path, b'{"qpm": 11, "disabled": true}') is None, mnt.stderr()
    assert count(emu, KEY_UPDATE) == 1
    after = keys(emu)["ci-bot"]
    assert (after["qps"], after["qpm"], after["disabled"]) == (7, 11, True)
    assert after["aclStrings"] == before["aclStrings"]
    assert any(d.startswith("Updated API key 'ci-bot' (") and "qpm" in d and "disabled" in d
               and "qps" not in d for d in audit(emu))


def test_update_key_without_change_sends_nothing(emu, mnt):
    path = mnt.p("keys", "prod-backend")
    with open(path, "rb") as f:
        raw = f.read()
    before = keys(emu)["prod-backend"]
    emu.reset_stats()
    assert write_close(path, raw) is None, mnt.stderr()            # same bytes
    obj = json.loads(raw)
    obj["apiKey"] = "xai-ignored"                                   # apiKey is ignored
    assert write_close(path, json.dumps(obj).encode()) is None, mnt.stderr()
    assert write_close(path, b"") is None, mnt.stderr()             # empty: no request
    assert write_close(path, b'{"qps": 50}') is None, mnt.stderr()  # same value
    s = emu.stats()
    assert s["mutating"] == 0, "an unchanged key was sent: %s" % s
    assert util.route_count(s, KEY_UPDATE) == 0
    assert keys(emu)["prod-backend"] == before
    assert json.loads(open(path, "rb").read()) == json.loads(raw)


def test_update_key_read_only_field_fails_close_with_einval(emu, mnt):
    path = mnt.p("keys", "staging")
    before = keys(emu)["staging"]
    obj = read_json(path)
    obj["userId"] = "00000000-0000-0000-0000-000000000000"
    obj["qpm"] = 1
    emu.reset_stats()
    e = write_close(path, json.dumps(obj).encode())
    assert e == errno.EINVAL, "close() with a changed read-only field: want EINVAL, got %r" % e
    assert "userId" in mnt.stderr(), "no log line naming userId: %s" % mnt.stderr()
    e = write_close(path, b'{"qpm": 2, "colour": "blue"}')
    assert e == errno.EINVAL, "close() with an unknown field: want EINVAL, got %r" % e
    assert "colour" in mnt.stderr(), "no log line naming colour: %s" % mnt.stderr()
    assert emu.stats()["mutating"] == 0
    assert keys(emu)["staging"] == before
    assert read_json(path) == {k: v for k, v in before.items()}


def test_rotate_key(emu, mnt):
    path = mnt.p("keys", "ci-bot")
    before = keys(emu)["ci-bot"]
    emu.reset_stats()
    assert write_close(path, b'{"rotate": true}\n') is None, mnt.stderr()
    s = emu.stats()
    assert util.route_count(s, KEY_ROTATE) == 1
    assert s["mutating"] == 1, s
    after = keys(emu)["ci-bot"]
    assert after["apiKeyId"] == before["apiKeyId"]
    assert after["redactedApiKey"] != before["redactedApiKey"]
    first = read_json(path)["apiKey"]
    assert first.startswith("xai-") and first[-4:] == after["redactedApiKey"][-4:]
    emu.api("GET", "/v1/api-key", key=first)
    # rotate again, together with a field change: update first, then rotate
    emu.reset_stats()
    assert write_close(path, b'{"rotate": true, "qps": 9}') is None, mnt.stderr()
    s = emu.stats()
    assert util.route_count(s, KEY_UPDATE) == 1 and util.route_count(s, KEY_ROTATE) == 1, s
    second = read_json(path)["apiKey"]
    assert second != first and second.startswith("xai-")
    assert keys(emu)["ci-bot"]["qps"] == 9
    # The previous secret keeps working for the API's default grace of 24 h (see
    # test_tolerance.py for oldSecretExpireTime).
    emu.api("GET", "/v1/api-key", key=first)
    emu.api("GET", "/v1/api-key", key=second)
    # A third rotation ends the first secret: only the one just replaced has a grace.
    assert write_close(path, b'{"rotate": true}') is None, mnt.stderr()
    with pytest.raises(urllib.error.HTTPError):
        emu.api("GET", "/v1/api-key", key=first)
    emu.api("GET", "/v1/api-key", key=second)


def test_rm_keys_and_glob(emu, mnt):
    emu.reset_stats()
    r = run("rm %s/old-*" % mnt.p("keys"))
    assert r.returncode == 0, r.stderr + mnt.stderr()
    r = run(["rm", mnt.p("keys", "staging")])
    assert r.returncode == 0, r.stderr
    s = emu.stats()
    assert util.route_count(s, KEY_DELETE) == 3, s
    left = keys(emu)
    assert not any(n.startswith("old-") for n in left) and "staging" not in left
    assert sorted(os.listdir(mnt.p("keys"))) == sorted(left)
    assert run(["rm", mnt.p("keys", "staging")]).returncode != 0


def test_mv_key_renames_it(emu, mnt):
    before = keys(emu)["staging"]
    emu.reset_stats()
    r = run(["mv", mnt.p("keys", "staging"), mnt.p("keys", "staging-2")])
    assert r.returncode == 0, r.stderr + mnt.stderr()
    s = emu.stats()
    assert util.route_count(s, KEY_UPDATE) == 1 and s["mutating"] == 1, s
    now = keys(emu)
    assert "staging" not in now
    assert now["staging-2"]["apiKeyId"] == before["apiKeyId"]
    assert now["staging-2"]["aclStrings"] == before["aclStrings"]
    assert "Updated API key 'staging-2' (name)" in audit(emu)
    listed = os.listdir(mnt.p("keys"))
    assert "staging-2" in listed and "staging" not in listed
    assert read_json(mnt.p("keys", "staging-2"))["name"] == "staging-2"


def test_rename_key_onto_existing_is_eexist(emu, mnt):
    before = keys(emu)
    e = errno_of(os.rename, mnt.p("keys", "staging"), mnt.p("keys", "ci-bot"))
    assert e == errno.EEXIST, "rename onto an existing key: want EEXIST, got %r" % e
    assert keys(emu) == before


# ---------------------------------------------------------------- collections

def test_mkdir_creates_collection(emu, mnt):
    emu.reset_stats()
    os.mkdir(mnt.p("collections", "fresh"))
    assert count(emu, COLL_CREATE) == 1
    c = coll(emu, "fresh")
    assert c is not None and not c.get("documents")
    assert "fresh" in os.listdir(mnt.p("collections"))
    assert sorted(os.listdir(mnt.p("collections", "fresh"))) == [
        "collection.json", "documents", "metadata", "search"]
    assert read_json(mnt.p("collections", "fresh", "collection.json"))["collection_id"] == \
        c["collection_id"]
    assert os.listdir(mnt.p("collections", "fresh", "documents")) == []
    e = errno_of(os.mkdir, mnt.p("collections", "fresh"))
    assert e == errno.EEXIST


def test_mv_collection_renames_it(emu, mnt):
    cid = coll(emu, "research-notes")["collection_id"]
    emu.reset_stats()
    r = run(["mv", mnt.p("collections", "research-notes"), mnt.p("collections", "notes")])
    assert r.returncode == 0, r.stderr + mnt.stderr()
    s = emu.stats()
    assert util.route_count(s, COLL_UPDATE) == 1 and s["mutating"] == 1, s
    assert coll(emu, "research-notes") is None
    c = coll(emu, "notes")
    assert c["collection_id"] == cid and len(c["documents"]) == 2
    assert sorted(os.listdir(mnt.p("collections"))) == ["contracts", "notes"]
    assert sorted(os.listdir(mnt.p("collections", "notes", "documents"))) == [
        "reading-list.txt", "retrieval-benchmarks.md"]
    e = errno_of(os.rename, mnt.p("collections", "notes"), mnt.p("collections", "contracts"))
    assert e == errno.EEXIST, "rename onto an existing collection: want EEXIST, got %r" % e
    assert coll(emu, "notes")["collection_id"] == cid and coll(emu, "contracts")


def test_rmdir_empty_collection(emu, mnt):
    os.mkdir(mnt.p("collections", "tmp-coll"))
    assert coll(emu, "tmp-coll") is not None
    emu.reset_stats()
    os.rmdir(mnt.p("collections", "tmp-coll"))
    assert count(emu, COLL_DELETE) == 1
    assert coll(emu, "tmp-coll") is None
    assert "tmp-coll" not in os.listdir(mnt.p("collections"))


def test_rmdir_non_empty_collection_is_enotempty(emu, mnt):
    emu.reset_stats()
    e = errno_of(os.rmdir, mnt.p("collections", "contracts"))
    assert e == errno.ENOTEMPTY, "rmdir of a collection with documents: want ENOTEMPTY, got %r" % e
    r = run(["rmdir", mnt.p("collections", "contracts")])
    assert r.returncode != 0
    assert emu.stats()["mutating"] == 0
    assert len(docs(emu, "contracts")) == 3


def test_rm_r_collection(emu, mnt):
    emu.reset_stats()
    r = run(["rm", "-r", mnt.p("collections", "contracts")])
    assert r.returncode == 0, r.stderr + mnt.stderr()
    s = emu.stats()
    assert util.route_count(s, DOC_DELETE) == 3, s
    assert util.route_count(s, COLL_DELETE) == 1, s
    assert coll(emu, "contracts") is None
    assert coll(emu, "research-notes") is not None
    assert os.listdir(mnt.p("collections")) == ["research-notes"]


def test_rm_collection_json_and_rmdir_subdirs_change_nothing(emu, mnt):
    os.mkdir(mnt.p("collections", "empty"))
    emu.reset_stats()
    os.unlink(mnt.p("collections", "empty", "collection.json"))
    os.rmdir(mnt.p("collections", "empty", "documents"))
    os.rmdir(mnt.p("collections", "empty", "metadata"))
    assert emu.stats()["mutating"] == 0
    assert coll(emu, "empty") is not None
    e = errno_of(os.rmdir, mnt.p("collections", "contracts", "documents"))
    assert e == errno.ENOTEMPTY, "rmdir of a non-empty documents/: want ENOTEMPTY, got %r" % e
    assert len(docs(emu, "contracts")) == 3


def test_collection_json_update(emu, mnt):
    path = mnt.p("collections", "contracts", "collection.json")
    before = coll(emu, "contracts")
    obj = read_json(path)
    obj["collection_description"] = "Contracts, signed and unsigned"
    emu.reset_stats()
    assert write_close(path, (json.dumps(obj, indent=2) + "\n").encode()) is None, mnt.stderr()
    s = emu.stats()
    assert util.route_count(s, COLL_UPDATE) == 1 and s["mutating"] == 1, s
    after = coll(emu, "contracts")
    assert after["collection_description"] == "Contracts, signed and unsigned"
    for f in ("collection_id", "chunk_configuration", "field_definitions", "documents_count"):
        assert after.get(f) == before.get(f), f
    assert read_json(path)["collection_description"] == "Contracts, signed and unsigned"
    # a read-only field: EINVAL, nothing sent
    obj["collection_id"] = "collection_00000000-0000-0000-0000-000000000000"
    emu.reset_stats()
    e = write_close(path, json.dumps(obj).encode())
    assert e == errno.EINVAL, (
        "collection.json with a changed collection_id: want EINVAL, got %r" % e)
    assert emu.stats()["mutating"] == 0
    assert coll(emu, "contracts")["collection_id"] == before["collection_id"]
    # unchanged content: no request
    emu.reset_stats()
    with open(path, "rb") as f:
        raw = f.read()
    assert write_close(path, raw) is None
    assert emu.stats()["mutating"] == 0


COLL_CREATE_SPEC = {
    "collection_description": "Signed contracts, 2026",
    "index_configuration": {"model_name": "grok-embedding-small"},
    "chunk_configuration": {"tokens_configuration": {"max_chunk_size_tokens": 512,
                                                     "chunk_overlap_tokens": 64}},
    "metric_space": "HNSW_METRIC_COSINE",
    "field_definitions": [{"key": "counterparty", "required": True},
                          {"key": "signed_on", "required": False}],
}


def test_collection_created_from_a_json_file(emu, mnt, tmp_path):
    """cp spec.json collections/NAME.json creates NAME with the options mkdir cannot
    carry; the file was a request: afterwards NAME/ is listed, NAME.json is not."""
    spec = tmp_path / "contracts-2026.json"
    spec.write_text(json.dumps(COLL_CREATE_SPEC))
    emu.reset_stats()
    r = run(["cp", str(spec), mnt.p("collections") + "/"])
    assert r.returncode == 0, r.stderr + mnt.stderr()
    assert util.route_count(emu.stats(), COLL_CREATE) == 1
    c = coll(emu, "contracts-2026")
    assert c["collection_description"] == "Signed contracts, 2026"
    assert c["index_configuration"]["model_name"] == "grok-embedding-small"
    assert [d["key"] for d in c["field_definitions"]] == ["counterparty", "signed_on"]
    assert c["chunk_configuration"] == COLL_CREATE_SPEC["chunk_configuration"]
    names = os.listdir(mnt.p("collections"))
    assert "contracts-2026" in names and "contracts-2026.json" not in names
    assert not os.path.exists(mnt.p("collections", "contracts-2026.json"))
    shown = read_json(mnt.p("collections", "contracts-2026", "collection.json"))
    assert shown["collection_id"] == c["collection_id"]


def test_collection_json_file_refusals(emu, mnt):
    """Unknown fields, a different collection_name, bad definitions: EINVAL, nothing
    sent; an existing name: EEXIST; an empty file creates nothing."""
    before = {c["collection_name"] for c in emu.state()["collections"]}
    for body in ({"collection_name": "other"}, {"documents_count": 3},
                 {"field_definitions": [{"required": True}]}, {"metric_space": 7}):
        emu.reset_stats()
        e = write_close(mnt.p("collections", "refused.json"), json.dumps(body).encode())
        assert e == errno.EINVAL, (body, e)
        assert emu.stats()["mutating"] == 0, body
    emu.reset_stats()
    e = write_close(mnt.p("collections", "contracts.json"), b'{"collection_description": "x"}')
    assert e == errno.EEXIST, e
    assert emu.stats()["mutating"] == 0
    assert write_close(mnt.p("collections", "empty.json"), b"") is None
    assert {c["collection_name"] for c in emu.state()["collections"]} == before
    names = set(os.listdir(mnt.p("collections")))
    assert not {"refused.json", "contracts.json", "empty.json", "refused", "empty"} & names
    # a temporary name is still refused in collections/ (only NAME.json is a request)
    with pytest.raises(PermissionError):
        open(mnt.p("collections", ".spec.json.swp"), "w")


def test_collection_json_field_definitions(emu, mnt):
    """Editing field_definitions in collection.json adds, changes and removes
    definitions (field_definition_updates); bad lists are EINVAL with no request."""
    path = mnt.p("collections", "contracts", "collection.json")
    obj = read_json(path)
    defs = obj.get("field_definitions") or []
    keys_before = [d["key"] for d in defs]
    obj["field_definitions"] = defs + [{"key": "language", "required": False,
                                        "description": "ISO 639-1"}]
    emu.reset_stats()
    assert write_close(path, json.dumps(obj).encode()) is None, mnt.stderr()
    assert util.route_count(emu.stats(), COLL_UPDATE) == 1
    on_server = {d["key"]: d for d in coll(emu, "contracts")["field_definitions"]}
    assert on_server["language"]["description"] == "ISO 639-1"
    assert [d["key"] for d in read_json(path)["field_definitions"]] == keys_before + ["language"]
    # change one and drop another in one save
    obj = read_json(path)
    obj["field_definitions"] = [dict(d, description="spoken language")
                                if d["key"] == "language" else d
                                for d in obj["field_definitions"]][1:] if keys_before else \
        [dict(obj["field_definitions"][0], description="spoken language")]
    assert write_close(path, json.dumps(obj).encode()) is None, mnt.stderr()
    on_server = {d["key"]: d for d in coll(emu, "contracts")["field_definitions"]}
    assert on_server["language"]["description"] == "spoken language"
    if keys_before:
        assert keys_before[0] not in on_server
    # a new required definition: the server refuses it; EINVAL and a log line
    obj = read_json(path)
    obj["field_definitions"] = obj["field_definitions"] + [{"key": "must", "required": True}]
    assert write_close(path, json.dumps(obj).encode()) == errno.EINVAL
    assert "must" not in {d["key"] for d in coll(emu, "contracts")["field_definitions"]}
    # not a list of keyed objects: EINVAL, nothing sent
    for bad in ({}, [{"required": True}], [{"key": "a"}, {"key": "a"}]):
        obj = read_json(path)
        obj["field_definitions"] = bad
        emu.reset_stats()
        assert write_close(path, json.dumps(obj).encode()) == errno.EINVAL, bad
        assert emu.stats()["mutating"] == 0


# ---------------------------------------------------------------- documents

def test_cp_uploads_text_and_binary(emu, mnt, tmp_path):
    text = b"hello from xaifs\nsecond line\n"
    blob = bytes(range(256)) * 16 + b"\x00\xff\x00\xff"
    (tmp_path / "hello.txt").write_bytes(text)
    (tmp_path / "blob.bin").write_bytes(blob)
    emu.reset_stats()
    r = run(["cp", str(tmp_path / "hello.txt"), str(tmp_path / "blob.bin"), docdir(mnt) + "/"])
    assert r.returncode == 0, r.stderr + mnt.stderr()
    assert count(emu, DOC_UPLOAD) == 2
    for name, data in (("hello.txt", text), ("blob.bin", blob)):
        d = one_doc(emu, "contracts", name)
        assert d["sha256"] == sha(data)
        assert int(d["file_metadata"]["size_bytes"]) == len(data)
        assert content(emu, d["file_metadata"]["file_id"]) == data
        with open(os.path.join(docdir(mnt), name), "rb") as f:
            assert f.read() == data
    assert one_doc(emu, "contracts", "hello.txt")["file_metadata"]["content_type"] == "text/plain"
    # visible at once everywhere
    names = sorted(os.listdir(docdir(mnt)))
    assert names == ["blob.bin", "hello.txt", "msa.txt", "nda.pdf", "sow.md"]
    assert sorted(os.listdir(mnt.p("collections", "contracts", "metadata"))) == [
        n + ".json" for n in names]
    meta = read_json(mnt.p("collections", "contracts", "metadata", "hello.txt.json"))
    assert meta["file_metadata"]["file_id"] == one_doc(emu, "contracts", "hello.txt")[
        "file_metadata"]["file_id"]
    assert read_json(mnt.p("collections", "contracts", "collection.json"))["documents_count"] == 5
    assert os.stat(os.path.join(docdir(mnt), "blob.bin")).st_size == len(blob)
    assert_no_stray(emu)


def test_cat_redirect_uploads(emu, mnt):
    r = run("printf 'one\\ntwo\\n' | cat > %s/piped.md" % docdir(mnt, "research-notes"))
    assert r.returncode == 0, r.stderr
    d = one_doc(emu, "research-notes", "piped.md")
    assert content(emu, d["file_metadata"]["file_id"]) == b"one\ntwo\n"
    assert d["file_metadata"]["content_type"] == "text/markdown"
    assert "piped.md" in os.listdir(docdir(mnt, "research-notes"))


def test_overwrite_replaces_document(emu, mnt, tmp_path):
    old = one_doc(emu, "contracts", "msa.txt")
    new = b"MSA v2\x00\xff\n" * 10
    (tmp_path / "msa.txt").write_bytes(new)
    emu.reset_stats()
    r = run(["cp", str(tmp_path / "msa.txt"), os.path.join(docdir(mnt), "msa.txt")])
    assert r.returncode == 0, r.stderr + mnt.stderr()
    s = emu.stats()
    assert util.route_count(s, DOC_UPLOAD) == 1 and util.route_count(s, DOC_DELETE) == 1, s
    d = one_doc(emu, "contracts", "msa.txt")
    assert d["file_metadata"]["file_id"] != old["file_metadata"]["file_id"]
    assert content(emu, d["file_metadata"]["file_id"]) == new
    assert len(docs(emu, "contracts")) == 3
    assert os.listdir(docdir(mnt)).count("msa.txt") == 1
    with open(os.path.join(docdir(mnt), "msa.txt"), "rb") as f:
        assert f.read() == new
    assert read_json(mnt.p("collections", "contracts", "metadata", "msa.txt.json"))[
        "file_metadata"]["file_id"] == d["file_metadata"]["file_id"]
    assert read_json(mnt.p("collections", "contracts", "collection.json"))["documents_count"] == 3


def test_failed_overwrite_keeps_old_document(emu, mnt, tmp_path):
    old = one_doc(emu, "contracts", "sow.md")
    (tmp_path / "sow.md").write_bytes(b"replacement\n")
    emu.faults(fail_next=1, fail_status=500, fail_route=DOC_UPLOAD)
    r = run(["cp", str(tmp_path / "sow.md"), os.path.join(docdir(mnt), "sow.md")])
    emu.faults()
    assert r.returncode != 0, "cp exited 0 although the upload failed"
    assert one_doc(emu, "contracts", "sow.md") == old
    assert "sow.md" in os.listdir(docdir(mnt))
    with open(os.path.join(docdir(mnt), "sow.md"), "rb") as f:
        assert f.read() == content(emu, old["file_metadata"]["file_id"])


def test_failed_upload_leaves_nothing(emu, mnt, tmp_path):
    src = tmp_path / "fail.txt"
    src.write_bytes(b"never arrives\n")
    emu.faults(fail_next=1, fail_status=500, fail_route=DOC_UPLOAD)
    r = run(["cp", str(src), docdir(mnt) + "/"])
    emu.faults()
    assert r.returncode != 0, "cp exited 0 although the upload failed with 500"
    assert docs(emu, "contracts", "fail.txt") == []
    assert "fail.txt" not in os.listdir(docdir(mnt)), "a failed upload is still listed"
    assert "fail.txt.json" not in os.listdir(mnt.p("collections", "contracts", "metadata"))
    assert not os.path.exists(os.path.join(docdir(mnt), "fail.txt"))
    assert len(docs(emu, "contracts")) == 3
    # and the close() errno itself
    emu.faults(fail_next=1, fail_status=500, fail_route=DOC_UPLOAD)
    e = write_close(os.path.join(docdir(mnt), "fail2.txt"), b"x")
    emu.faults()
    assert e == errno.EIO, "close() after a 500 on upload: want EIO, got %r" % e
    assert docs(emu, "contracts", "fail2.txt") == []
    assert "fail2.txt" not in os.listdir(docdir(mnt))


def test_rm_document_and_metadata(emu, mnt):
    emu.reset_stats()
    r = run(["rm", os.path.join(docdir(mnt), "msa.txt"),
             mnt.p("collections", "contracts", "metadata", "sow.md.json")])
    assert r.returncode == 0, r.stderr + mnt.stderr()
    s = emu.stats()
    assert util.route_count(s, DOC_DELETE) == 2 and s["mutating"] == 2, s
    assert [d["file_metadata"]["name"] for d in docs(emu, "contracts")] == ["nda.pdf"]
    assert os.listdir(docdir(mnt)) == ["nda.pdf"]
    assert os.listdir(mnt.p("collections", "contracts", "metadata")) == ["nda.pdf.json"]
    assert read_json(mnt.p("collections", "contracts", "collection.json"))["documents_count"] == 1


def test_upload_64_mib(emu, mnt, tmp_path):
    src = tmp_path / "big.bin"
    data = os.urandom(1 << 20) * 64
    src.write_bytes(data)
    r = run(["cp", str(src), docdir(mnt, "research-notes") + "/"], timeout=120)
    assert r.returncode == 0, r.stderr + mnt.stderr()
    d = one_doc(emu, "research-notes", "big.bin")
    assert int(d["file_metadata"]["size_bytes"]) == len(data)
    assert d["sha256"] == sha(data)
    assert os.stat(os.path.join(docdir(mnt, "research-notes"), "big.bin")).st_size == len(data)


def test_document_rename_is_exdev_and_mv_copies(emu, mnt):
    old = one_doc(emu, "contracts", "msa.txt")
    data = content(emu, old["file_metadata"]["file_id"])
    e = errno_of(os.rename, os.path.join(docdir(mnt), "msa.txt"),
                 os.path.join(docdir(mnt), "msa-2.txt"))
    assert e == errno.EXDEV, "rename of a document: want EXDEV, got %r" % e
    assert one_doc(emu, "contracts", "msa.txt") == old
    r = run(["mv", os.path.join(docdir(mnt), "msa.txt"), os.path.join(docdir(mnt), "msa-2.txt")])
    assert r.returncode == 0, r.stderr + mnt.stderr()
    assert docs(emu, "contracts", "msa.txt") == []
    assert content(emu, one_doc(emu, "contracts", "msa-2.txt")["file_metadata"]["file_id"]) == data
    assert sorted(os.listdir(docdir(mnt))) == ["msa-2.txt", "nda.pdf", "sow.md"]
    assert_no_stray(emu)


def test_cross_collection_rename_is_exdev_and_mv_copies(emu, mnt):
    old = one_doc(emu, "contracts", "nda.pdf")
    data = content(emu, old["file_metadata"]["file_id"])
    src = os.path.join(docdir(mnt), "nda.pdf")
    dst = os.path.join(docdir(mnt, "research-notes"), "nda.pdf")
    e = errno_of(os.rename, src, dst)
    assert e == errno.EXDEV, "rename across collections: want EXDEV, got %r" % e
    e = errno_of(os.rename, mnt.p("keys", "ci-bot"), os.path.join(docdir(mnt), "ci-bot"))
    assert e == errno.EXDEV, "rename keys -> documents: want EXDEV, got %r" % e
    e = errno_of(os.rename, src, mnt.p("keys", "nda.pdf"))
    assert e == errno.EXDEV, "rename documents -> keys: want EXDEV, got %r" % e
    assert one_doc(emu, "contracts", "nda.pdf") == old and "ci-bot" in keys(emu)
    r = run(["mv", src, dst])
    assert r.returncode == 0, r.stderr + mnt.stderr()
    assert docs(emu, "contracts", "nda.pdf") == []
    moved = one_doc(emu, "research-notes", "nda.pdf")
    assert content(emu, moved["file_metadata"]["file_id"]) == data
    assert moved["sha256"] == old["sha256"]
    assert "nda.pdf" not in os.listdir(docdir(mnt))
    assert "nda.pdf" in os.listdir(docdir(mnt, "research-notes"))


def test_partial_writes_into_documents_are_eopnotsupp(emu, mnt):
    path = os.path.join(docdir(mnt), "sow.md")
    before = one_doc(emu, "contracts", "sow.md")
    emu.reset_stats()
    for flags in (os.O_RDWR, os.O_WRONLY | os.O_APPEND):
        e = errno_of(os.open, path, flags)
        assert e == errno.EOPNOTSUPP, "open(%#o) of a document: want EOPNOTSUPP, got %r" % (
            flags, e)
    # O_WRONLY alone opens (vim and GIO truncate or rename afterwards), but a
    # write into the untruncated document is refused and nothing is sent.
    fd = os.open(path, os.O_WRONLY)
    try:
        assert errno_of(os.pwrite, fd, b"xx", 3) == errno.EOPNOTSUPP
    finally:
        os.close(fd)
    e = errno_of(os.truncate, path, 10)
    assert e == errno.EOPNOTSUPP, "truncate of a document: want EOPNOTSUPP, got %r" % e
    assert run("echo more >> %s" % path).returncode != 0
    assert run(["truncate", "-s", "5", path]).returncode != 0
    assert emu.stats()["mutating"] == 0
    assert one_doc(emu, "contracts", "sow.md") == before


def test_links_and_nodes_are_eperm(emu, mnt):
    before = emu.state()
    for d in (mnt.p("keys"), docdir(mnt)):
        assert errno_of(os.symlink, "ci-bot", os.path.join(d, "sym")) == errno.EPERM, d
        assert errno_of(os.mknod, os.path.join(d, "fifo"), stat.S_IFIFO | 0o600) == errno.EPERM
    assert errno_of(os.link, mnt.p("keys", "ci-bot"), mnt.p("keys", "hard")) == errno.EPERM
    assert errno_of(os.link, os.path.join(docdir(mnt), "msa.txt"),
                    os.path.join(docdir(mnt), "hard.txt")) == errno.EPERM
    assert run(["ln", "-s", "x", mnt.p("keys", "sym2")]).returncode != 0
    assert emu.state() == before


def test_read_only_files_and_dirs_are_eacces(emu, mnt):
    emu.reset_stats()
    model = sorted(os.listdir(mnt.p("models")))[0]
    for path in (mnt.p("usage"), mnt.p("billing"), mnt.p("regions"), mnt.p("models", model),
                 mnt.p("collections", "contracts", "metadata", "msa.txt.json")):
        e = errno_of(open, path, "w")
        assert e == errno.EACCES, "open(%s, 'w'): want EACCES, got %r" % (path, e)
        e = errno_of(open, path, "a")
        assert e == errno.EACCES, "open(%s, 'a'): want EACCES, got %r" % (path, e)
    for path in (mnt.p("newfile"), mnt.p("models", "mine"), mnt.p("collections", "file"),
                 mnt.p("collections", "contracts", "extra"),
                 mnt.p("collections", "contracts", "metadata", "x.json")):
        e = errno_of(open, path, "w")
        assert e == errno.EACCES, "create %s: want EACCES, got %r" % (path, e)
    for path in (mnt.p("dir"), mnt.p("keys", "dir"), mnt.p("models", "dir"),
                 mnt.p("collections", "contracts", "dir"), os.path.join(docdir(mnt), "dir")):
        e = errno_of(os.mkdir, path)
        assert e == errno.EACCES, "mkdir %s: want EACCES, got %r" % (path, e)
    s = emu.stats()
    assert s["mutating"] == util.route_count(s, "POST /v1/billing/teams/{team_id}/usage"), s
    listed = set(os.listdir(mnt.path)) | set(os.listdir(mnt.p("models")))
    assert not listed & {"newfile", "dir", "mine"}
    assert set(os.listdir(mnt.p("collections"))) == {"contracts", "research-notes"}
    assert sorted(os.listdir(mnt.p("collections", "contracts"))) == [
        "collection.json", "documents", "metadata", "search"]


def test_oversized_key_is_efbig(emu, mnt):
    emu.reset_stats()
    big = b'{"qps": 1' + b" " * (1 << 20) + b'}'
    e = write_close(mnt.p("keys", "ci-bot"), big)
    assert e == errno.EFBIG, "a key written larger than 1 MiB: want EFBIG, got %r" % e
    # a valid object followed by padding: the first MiB alone must not be sent either
    big = b'{"qps": 1}' + b" " * (1 << 20)
    e = write_close(mnt.p("keys", "ci-bot"), big)
    assert e == errno.EFBIG, "a key written larger than 1 MiB: want EFBIG, got %r" % e
    e = write_close(mnt.p("collections", "contracts", "collection.json"), big)
    assert e == errno.EFBIG, "collection.json larger than 1 MiB: want EFBIG, got %r" % e
    s = emu.stats()
    assert s["mutating"] == 0, (
        "after write() failed with EFBIG, close() still sent the truncated first MiB: %s" % s)
    assert keys(emu)["ci-bot"]["qps"] == 5


def test_touch(emu, mnt):
    before = emu.state()
    emu.reset_stats()
    r = run(["touch", mnt.p("keys", "ci-empty"), mnt.p("keys", "ci-bot"),
             os.path.join(docdir(mnt), "msa.txt"), mnt.p("collections", "contracts")])
    assert r.returncode == 0, r.stderr + mnt.stderr()
    assert emu.stats()["mutating"] == 0, "touch of existing files / a new key sent a request"
    assert emu.state() == before, "touch changed the server"
    assert "ci-empty" not in os.listdir(mnt.p("keys")), "touch keys/NAME left an empty key listed"
    r = run(["touch", os.path.join(docdir(mnt), "empty.txt")])
    assert r.returncode == 0, r.stderr + mnt.stderr()
    # An empty new document is uploaded at the last close (FUSE release),
    # which the kernel sends after close() has returned.
    # Wait for the state asserted (stored on the server, then listed through
    # the mount), not for the request count: the emulator counts a request
    # when it arrives, before the document is stored.
    util.wait_for(lambda: len(docs(emu, "contracts", "empty.txt")) == 1, 60,
                  "the empty document stored on the server")
    util.wait_for(lambda: "empty.txt" in os.listdir(docdir(mnt)), 60,
                  "the empty document listed in the mount")
    assert count(emu, DOC_UPLOAD) == 1
    d = one_doc(emu, "contracts", "empty.txt")
    assert d["file_metadata"].get("size_bytes", "0") == "0"
    assert content(emu, d["file_metadata"]["file_id"]) == b""
    assert os.stat(os.path.join(docdir(mnt), "empty.txt")).st_size == 0


def test_chmod_chown_utime_are_accepted(emu, mnt):
    before = emu.state()
    emu.reset_stats()
    for path in (mnt.p("keys", "ci-bot"), os.path.join(docdir(mnt), "nda.pdf"),
                 mnt.p("collections", "contracts"), mnt.p("keys")):
        st = os.stat(path)
        os.chmod(path, 0o644)
        os.chown(path, os.getuid(), os.getgid())
        os.utime(path, (1000000000, 1000000000))
        after = os.stat(path)
        assert stat.S_IMODE(after.st_mode) == stat.S_IMODE(st.st_mode)
        assert r_ok(run(["chmod", "600", path]))
        assert r_ok(run(["touch", "-d", "2001-01-01", path]))
    assert emu.stats()["mutating"] == 0
    assert emu.state() == before


def r_ok(r):
    assert r.returncode == 0, r.stderr
    return True


# ---------------------------------------------------------------- temporary names

def test_local_names_never_reach_the_server(emu, mnt):
    names = (".ci-bot.swp", "4913", "ci-bot~", "#ci-bot#", "sedAb12Cd", ".goutputstream-ABC123",
             ".x.ab12CD")
    emu.reset_stats()
    for d in (mnt.p("keys"), docdir(mnt)):
        for n in names:
            assert write_close(os.path.join(d, n), b'{"qps": 1}\n') is None, (n, mnt.stderr())
            with open(os.path.join(d, n), "rb") as f:
                assert f.read() == b'{"qps": 1}\n'
        listed = os.listdir(d)
        for n in names:
            assert n in listed, "local file %r not listed in %s" % (n, d)
        for n in names:
            os.unlink(os.path.join(d, n))
        assert not set(names) & set(os.listdir(d))
    s = emu.stats()
    assert s["mutating"] == 0, "a local name caused a mutating request: %s" % s
    assert_no_stray(emu)


def test_rename_local_to_new_key_creates_it(emu, mnt):
    tmp = mnt.p("keys", ".ci-made.tmp")
    assert write_close(tmp, b'{"acls": ["api-key:model:*"], "qps": 4}') is None
    emu.reset_stats()
    os.rename(tmp, mnt.p("keys", "ci-made"))
    assert count(emu, KEY_CREATE) == 1
    k = keys(emu)["ci-made"]
    assert k["qps"] == 4 and k["aclStrings"] == ["api-key:model:*"]
    listed = os.listdir(mnt.p("keys"))
    assert "ci-made" in listed and ".ci-made.tmp" not in listed
    assert read_json(mnt.p("keys", "ci-made"))["apiKey"].startswith("xai-")
    assert_no_stray(emu)


def test_rename_local_to_existing_key_updates_it(emu, mnt):
    obj = read_json(mnt.p("keys", "ci-bot"))
    obj["qpm"] = 123
    tmp = mnt.p("keys", "sedX1y2Z3")
    assert write_close(tmp, json.dumps(obj).encode()) is None
    id_before = keys(emu)["ci-bot"]["apiKeyId"]
    emu.reset_stats()
    os.rename(tmp, mnt.p("keys", "ci-bot"))
    s = emu.stats()
    assert util.route_count(s, KEY_UPDATE) == 1 and s["mutating"] == 1, s
    k = keys(emu)["ci-bot"]
    assert k["qpm"] == 123 and k["apiKeyId"] == id_before
    assert "sedX1y2Z3" not in os.listdir(mnt.p("keys"))
    assert read_json(mnt.p("keys", "ci-bot"))["qpm"] == 123


def test_rename_local_to_document_uploads_and_replaces(emu, mnt):
    old = one_doc(emu, "contracts", "msa.txt")
    tmp = os.path.join(docdir(mnt), ".msa.txt.Ab12Cd")
    new = b"rsync-style replacement\n"
    assert write_close(tmp, new) is None
    emu.reset_stats()
    os.rename(tmp, os.path.join(docdir(mnt), "msa.txt"))
    s = emu.stats()
    assert util.route_count(s, DOC_UPLOAD) == 1 and util.route_count(s, DOC_DELETE) == 1, s
    d = one_doc(emu, "contracts", "msa.txt")
    assert d["file_metadata"]["file_id"] != old["file_metadata"]["file_id"]
    assert content(emu, d["file_metadata"]["file_id"]) == new
    assert sorted(os.listdir(docdir(mnt))) == ["msa.txt", "nda.pdf", "sow.md"]
    # onto a new name: plain upload
    tmp = os.path.join(docdir(mnt), ".fresh.md.Zz9")
    assert write_close(tmp, b"# fresh\n") is None
    os.rename(tmp, os.path.join(docdir(mnt), "fresh.md"))
    assert content(emu, one_doc(emu, "contracts", "fresh.md")["file_metadata"]["file_id"]) == \
        b"# fresh\n"
    assert_no_stray(emu)


def test_rename_local_to_real_refused_keeps_local(emu, mnt):
    tmp = mnt.p("keys", ".ci-no.tmp")
    assert write_close(tmp, b'{"qps": 2}') is None
    emu.faults(fail_next=1, fail_status=400, fail_route=KEY_CREATE)
    e = errno_of(os.rename, tmp, mnt.p("keys", "ci-no"))
    emu.faults()
    assert e == errno.EINVAL, "rename local -> new key refused with 400: want EINVAL, got %r" % e
    assert "ci-no" not in keys(emu)
    listed = os.listdir(mnt.p("keys"))
    assert ".ci-no.tmp" in listed and "ci-no" not in listed
    with open(tmp, "rb") as f:
        assert f.read() == b'{"qps": 2}'
    # documents: refused upload, the local file stays, the old document too
    old = one_doc(emu, "contracts", "sow.md")
    dtmp = os.path.join(docdir(mnt), ".sow.md.q1w2e3")
    assert write_close(dtmp, b"nope\n") is None
    emu.faults(fail_next=1, fail_status=500, fail_route=DOC_UPLOAD)
    e = errno_of(os.rename, dtmp, os.path.join(docdir(mnt), "sow.md"))
    emu.faults()
    assert e == errno.EIO, "rename local -> document refused with 500: want EIO, got %r" % e
    assert one_doc(emu, "contracts", "sow.md") == old
    with open(dtmp, "rb") as f:
        assert f.read() == b"nope\n"
    assert_no_stray(emu)


def test_rename_real_to_local_is_a_backup_copy(emu, mnt):
    before = emu.state()
    key_raw = open(mnt.p("keys", "ci-bot"), "rb").read()
    doc_raw = open(os.path.join(docdir(mnt), "nda.pdf"), "rb").read()
    emu.reset_stats()
    os.rename(mnt.p("keys", "ci-bot"), mnt.p("keys", "ci-bot~"))
    os.rename(os.path.join(docdir(mnt), "nda.pdf"), os.path.join(docdir(mnt), "nda.pdf~"))
    assert emu.stats()["mutating"] == 0
    assert emu.state() == before
    assert open(mnt.p("keys", "ci-bot~"), "rb").read() == key_raw
    assert open(os.path.join(docdir(mnt), "nda.pdf~"), "rb").read() == doc_raw
    assert "ci-bot~" in os.listdir(mnt.p("keys"))
    assert "nda.pdf~" in os.listdir(docdir(mnt))
    assert_no_stray(emu)


def test_rename_local_to_local(emu, mnt):
    a = os.path.join(docdir(mnt), ".a.part")
    b = os.path.join(docdir(mnt), ".b.part")
    assert write_close(a, b"local only") is None
    emu.reset_stats()
    os.rename(a, b)
    assert write_close(mnt.p("keys", "4913"), b"probe") is None
    os.rename(mnt.p("keys", "4913"), mnt.p("keys", ".4913~"))
    assert emu.stats()["mutating"] == 0
    klisted = os.listdir(mnt.p("keys"))
    assert ".4913~" in klisted and "4913" not in klisted
    listed = os.listdir(docdir(mnt))
    assert ".b.part" in listed and ".a.part" not in listed
    assert open(b, "rb").read() == b"local only"
    assert_no_stray(emu)
