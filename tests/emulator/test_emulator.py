"""Tests of the xAI API emulator itself. Run: /usr/bin/python3 -m pytest -q tests/emulator

Each test talks HTTP to a real emulator process started on port 0."""

import hashlib
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "server.py")
MGMT = "xai-emulator-management-key"
INFER = "xai-emulator-inference-key"
TEAM = "2d7a3c1e-8f4b-4c6a-9e21-5b0d7f3a9c44"
MSG_401 = "Invalid bearer token. Please ensure you use a valid management key."


class Emulator:
    """One emulator process plus a small urllib client."""

    def __init__(self, *args):
        self.dir = tempfile.mkdtemp(prefix="emu-test-")
        port_file = os.path.join(self.dir, "port")
        self.log_path = os.path.join(self.dir, "stderr.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([sys.executable, SERVER, "--port", "0", "--port-file",
                                      port_file, *args], stderr=self.log)
        deadline = time.monotonic() + 15
        while not os.path.exists(port_file):
            assert self.proc.poll() is None, "emulator exited early"
            assert time.monotonic() < deadline, "emulator did not start"
            time.sleep(0.02)
        with open(port_file) as f:
            self.port = int(f.read())
        self.base = "http://127.0.0.1:%d" % self.port

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode

    def request(self, method, path, body=None, key=MGMT, headers=None, timeout=30):
        """(status, headers, raw body). body: dict (JSON) or bytes."""
        hdrs = dict(headers or {})
        if key:
            hdrs["Authorization"] = "Bearer " + key
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as e:
            data = e.read()
            e.close()
            return e.code, e.headers, data

    def json(self, method, path, body=None, key=MGMT, expect=200, **kw):
        status, headers, data = self.request(method, path, body, key, **kw)
        assert status == expect, (status, data[:500])
        return json.loads(data.decode("utf-8", "surrogateescape"))

    def get(self, path, **kw):
        return self.json("GET", path, **kw)

    def control(self, method, path, body=None):
        return self.json(method, "/_emu/" + path, body, key=None)

    def reset(self, **body):
        return self.control("POST", "reset", body)


@pytest.fixture(scope="module")
def emu():
    e = Emulator()
    yield e
    assert e.stop() == 0
    with open(e.log_path, "rb") as f:
        log = f.read()
    assert MGMT.encode() not in log and INFER.encode() not in log
    assert b"-> 200" in log


@pytest.fixture
def fresh(emu):
    emu.reset(seed="sample")
    return emu


def keys_path(team=TEAM):
    return "/auth/teams/%s/api-keys" % team


def multipart(parts):
    """parts: [(name, bytes, filename or None, content type or None)] -> (body, ctype)."""
    boundary = "xaifs-" + uuid.uuid4().hex
    out = []
    for name, value, filename, ctype in parts:
        disp = 'form-data; name="%s"' % name
        if filename is not None:
            disp += '; filename="%s"' % filename
        head = "--%s\r\nContent-Disposition: %s\r\n" % (boundary, disp)
        if ctype:
            head += "Content-Type: %s\r\n" % ctype
        out.append(head.encode() + b"\r\n" + value + b"\r\n")
    out.append(("--%s--\r\n" % boundary).encode())
    return b"".join(out), "multipart/form-data; boundary=" + boundary


def upload(emu, cid, name, data, fields=None, content_type="application/octet-stream"):
    parts = [("name", name.encode(), None, None), ("content_type", content_type.encode(), None, None),
             ("data", data, name, content_type)]
    if fields is not None:
        parts.append(("fields", json.dumps(fields).encode(), None, None))
    body, ctype = multipart(parts)
    return emu.json("POST", "/v1/collections/%s/documents" % cid, body,
                    headers={"Content-Type": ctype})


def collection_by_name(emu, name):
    colls = emu.get("/v1/collections").get("collections", [])
    return next(c for c in colls if c.get("collection_name") == name)


def list_all(emu, path, items, token_in, token_out, size_param, size, key=MGMT):
    """Follow a paginated list to its end; returns (items, pages). The Files API always
    returns a token; its list ends with a page shorter than the limit."""
    got, token, pages = [], None, 0
    while True:
        sep = "&" if "?" in path else "?"
        url = "%s%s%s=%d" % (path, sep, size_param, size)
        if token:
            url += "&%s=%s" % (token_in, token)
        page = emu.get(url, key=key)
        pages += 1
        got.extend(page.get(items, []))
        token = page.get(token_out)
        if not token or (items == "data" and len(page["data"]) < size):
            return got, pages
        assert pages < 10000


# ---------------------------------------------------------------------------
# Routing and authentication
# ---------------------------------------------------------------------------

def test_unknown_route_and_method(emu):
    status, headers, body = emu.request("GET", "/v1/api-keys")
    assert (status, body) == (404, b"Not Found")
    assert headers["Content-Type"].startswith("text/plain")
    status, _, _ = emu.request("PATCH", keys_path())
    assert status == 405


def test_auth_failures(emu):
    for key in (None, "xai-wrong", INFER):
        status, _, body = emu.request("GET", keys_path(), key=key)
        assert status == 401
        assert json.loads(body) == {
            "code": "The request does not have valid authentication credentials", "error": MSG_401}
    status, _, body = emu.request("GET", "/v1/files", key=MGMT)
    assert status == 401 and json.loads(body)["error"] != MSG_401
    status, _, body = emu.request("GET", keys_path("11111111-2222-4333-8444-555555555555"))
    assert status == 403
    assert json.loads(body)["code"].startswith("The caller does not have permission")
    who = emu.get("/auth/management-keys/validation")
    assert who["scope"] == "SCOPE_TEAM" and who["scopeId"] == TEAM and who["teamId"] == TEAM
    assert who["redactedApiKey"] == "xai-...-key" and "apiKey" not in who
    inf = emu.get("/v1/api-key", key=INFER)
    assert inf["team_id"] == TEAM and inf["api_key_disabled"] is False


# ---------------------------------------------------------------------------
# API keys
# ---------------------------------------------------------------------------

def test_key_create_update_rotate_delete(fresh):
    emu = fresh
    created = emu.json("POST", keys_path(), {"name": "new-key", "acls": ["api-key:model:*"],
                                             "qps": 3, "tpm": "1000"})
    secret = created["apiKey"]
    assert re.fullmatch(r"xai-[A-Za-z0-9]{48,}", secret)
    assert created["redactedApiKey"] == "xai-..." + secret[-4:]
    assert created["aclStrings"] == ["api-key:model:*"] and "acls" not in created
    assert created["qps"] == 3 and created["tpm"] == "1000"
    assert "qpm" not in created and "disabled" not in created and "expireTime" not in created
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z", created["createTime"])
    kid = created["apiKeyId"]

    prop = emu.get("/auth/api-keys/%s/propagation" % kid)["icPropagation"]
    assert len(prop) >= 2 and not all(prop.values())
    # the new secret works as an inference key
    assert emu.get("/v1/api-key", key=secret)["api_key_id"] == kid

    listed = emu.get(keys_path())["apiKeys"]
    mine = next(k for k in listed if k["apiKeyId"] == kid)
    assert "apiKey" not in mine and all("apiKey" not in k for k in listed)

    # only the masked fields change
    upd = emu.json("PUT", "/auth/api-keys/" + kid,
                   {"apiKey": {"qpm": 60, "name": "ignored", "tpm": "5"}, "fieldMask": "qpm"})
    assert upd["qpm"] == 60 and upd["name"] == "new-key" and upd["tpm"] == "1000"
    assert "apiKey" not in upd
    upd = emu.json("PUT", "/auth/api-keys/" + kid,
                   {"apiKey": {"aclStrings": [], "disabled": True, "tpm": None},
                    "fieldMask": "aclStrings,disabled,tpm"})
    assert upd["disabled"] is True and "aclStrings" not in upd and "tpm" not in upd
    upd = emu.json("PUT", "/auth/api-keys/" + kid,
                   {"apiKey": {"acls": ["api-key:endpoint:chat"],
                               "expireTime": "2030-01-01T00:00:00Z"},
                    "fieldMask": "aclStrings, expireTime"})
    assert upd["aclStrings"] == ["api-key:endpoint:chat"]
    assert upd["expireTime"].startswith("2030-01-01T00:00:00")
    for bad in ({"apiKey": {"qps": 1}}, {"apiKey": {"qps": 1}, "fieldMask": ""},
                {"apiKey": {"apiKeyId": "x"}, "fieldMask": "apiKeyId"},
                {"apiKey": {"name": ""}, "fieldMask": "name"}):
        emu.json("PUT", "/auth/api-keys/" + kid, bad, expect=400)

    rotated = emu.json("POST", "/auth/api-keys/%s/rotate" % kid, {})
    assert rotated["apiKeyId"] == kid and rotated["apiKey"] != secret

    assert emu.json("DELETE", "/auth/api-keys/" + kid) == {}
    for method, path in (("DELETE", "/auth/api-keys/" + kid),
                         ("PUT", "/auth/api-keys/" + kid),
                         ("GET", "/auth/api-keys/%s/propagation" % kid)):
        err = emu.json(method, path, {"apiKey": {}, "fieldMask": "qps"}, expect=404)
        assert err["error"] == "Cannot find API key"
    emu.json("POST", keys_path(), {"name": ""}, expect=400)
    emu.json("POST", keys_path(), {"acls": []}, expect=400)


def test_key_propagates_after_a_second(fresh):
    kid = fresh.json("POST", keys_path(), {"name": "prop"})["apiKeyId"]
    time.sleep(1.1)
    prop = fresh.get("/auth/api-keys/%s/propagation" % kid)["icPropagation"]
    assert all(prop.values())


def test_key_pagination_and_filters(fresh):
    emu = fresh
    everything = emu.get(keys_path())
    assert "paginationToken" not in everything
    names = [k.get("name") for k in everything["apiKeys"]]
    assert names == ["ci-bot", "prod-backend", "staging", "embeddings-worker", "old-test-1",
                     "old-test-2"]
    got, pages = list_all(emu, keys_path(), "apiKeys", "paginationToken", "paginationToken",
                          "pageSize", 4)
    assert [k["name"] for k in got] == names and pages == 2
    got, pages = list_all(emu, keys_path(), "apiKeys", "paginationToken", "paginationToken",
                          "pageSize", 2)
    assert [k["name"] for k in got] == names and pages == 3
    active = emu.get(keys_path() + "?activeOnly=true")["apiKeys"]
    assert "old-test-2" not in [k["name"] for k in active] and len(active) == 5
    chat = emu.get(keys_path() + "?aclFilters=api-key:endpoint:chat")["apiKeys"]
    assert sorted(k["name"] for k in chat) == ["ci-bot", "old-test-1", "staging"]
    emu.json("GET", keys_path() + "?paginationToken=garbage", expect=400)

    by_name = {k["name"]: k for k in everything["apiKeys"]}
    assert by_name["old-test-1"]["disabled"] is True
    assert "disabled" not in by_name["ci-bot"]
    assert by_name["ci-bot"]["tpm"] == "200000" and by_name["ci-bot"]["qps"] == 5
    assert "tpm" not in by_name["staging"] and "qps" not in by_name["staging"]
    assert "aclStrings" not in by_name["old-test-2"] and "expireTime" in by_name["old-test-2"]


def test_models_endpoints_audit(fresh):
    emu = fresh
    clusters = emu.get("/auth/teams/%s/models" % TEAM)["clusterConfigs"]
    assert len(clusters) >= 2
    per_cluster = [{m["name"] for m in c["languageModels"]} for c in clusters]
    assert per_cluster[0] & per_cluster[1]
    model = clusters[0]["languageModels"][0]
    assert isinstance(model["promptTextTokenPrice"], str) and isinstance(model["maxPromptLength"], int)
    assert all(c.get("embeddingModels") for c in clusters)
    acls = emu.get("/auth/teams/%s/endpoints" % TEAM)["acls"]
    assert {"acl": "api-key:endpoint:chat", "namespace": "api-key", "key": "endpoint",
            "value": "chat"}.items() <= acls[0].items()
    events, pages = list_all(emu, "/audit/teams/%s/events" % TEAM, "events", "pageToken",
                             "nextPageToken", "pageSize", 3)
    assert len(events) == 8 and pages == 3
    times = [e["eventTime"] for e in events]
    assert times == sorted(times, reverse=True)
    assert events[0]["user"]["email"] == "owner@example.com"
    found = emu.get("/audit/teams/%s/events?eventFilter.query=rotated" % TEAM)["events"]
    assert [e["description"] for e in found] == ["Rotated API key 'ci-bot'"]


# ---------------------------------------------------------------------------
# Collections and documents
# ---------------------------------------------------------------------------

def test_sample_collections_and_documents(fresh):
    emu = fresh
    contracts = collection_by_name(emu, "contracts")
    assert re.fullmatch(r"collection_[0-9a-f-]{36}", contracts["collection_id"])
    assert contracts["documents_count"] == 3
    docs = emu.get("/v1/collections/%s/documents" % contracts["collection_id"])["documents"]
    assert [d["file_metadata"]["name"] for d in docs] == ["msa.txt", "nda.pdf", "sow.md"]
    for d in docs:
        fm = d["file_metadata"]
        assert d["status"] == "DOCUMENT_STATUS_PROCESSED" and "error_message" not in d
        assert isinstance(fm["size_bytes"], str) and re.fullmatch(r"file_[0-9a-f-]{36}", fm["file_id"])
        content = emu.request("GET", "/v1/files/%s/content" % fm["file_id"], key=INFER)[2]
        assert len(content) == int(fm["size_bytes"])
        assert hashlib.sha256(content).hexdigest() == fm["hash"]
    nda = emu.request("GET", "/v1/files/%s/content" % docs[1]["file_metadata"]["file_id"], key=INFER)[2]
    assert b"\x00" in nda and b"\xff" in nda
    notes = collection_by_name(emu, "research-notes")
    assert notes["documents_count"] == 2 and "collection_description" not in notes


def test_collection_crud_and_pagination(fresh):
    emu = fresh
    made = emu.json("POST", "/v1/collections", {"collectionName": "camel",
                                               "collectionDescription": "d"})
    assert made["collection_name"] == "camel" and "documents_count" not in made
    cid = made["collection_id"]
    for i in range(5):
        emu.json("POST", "/v1/collections", {"collection_name": "bulk-%d" % i})
    emu.json("POST", "/v1/collections", {"collection_name": ""}, expect=400)
    got, pages = list_all(emu, "/v1/collections?order=ORDERING_ASCENDING", "collections",
                          "pagination_token", "pagination_token", "limit", 3)
    names = [c["collection_name"] for c in got]
    assert names == sorted(names) and len(names) == 8 and pages == 3
    desc = emu.get("/v1/collections")["collections"]
    assert [c["collection_name"] for c in desc] == sorted(names, reverse=True)
    emu.json("GET", "/v1/collections?limit=101", expect=400)
    found = emu.get('/v1/collections?filter=collection_name:"ulk-"')["collections"]
    assert len(found) == 5
    upd = emu.json("PUT", "/v1/collections/" + cid, {"collection_name": "renamed"})
    assert upd["collection_name"] == "renamed" and upd["collection_description"] == "d"
    upd = emu.json("PUT", "/v1/collections/" + cid, {"collectionName": "renamed2"})
    assert emu.get("/v1/collections/" + cid)["collection_name"] == "renamed2"
    assert emu.json("DELETE", "/v1/collections/" + cid) == {}
    emu.json("GET", "/v1/collections/" + cid, expect=404)


def test_direct_upload_content_and_status(fresh):
    emu = fresh
    emu.control("POST", "faults", {"process_delay_s": 0.3})
    cid = collection_by_name(emu, "research-notes")["collection_id"]
    data = bytes(range(256)) * 300 + b"\r\n--not-a-boundary\r\n" + os.urandom(5000)
    doc = upload(emu, cid, "blob.bin", data, {"team": "a"})
    fm = doc["file_metadata"]
    assert doc["status"] == "DOCUMENT_STATUS_PROCESSING" and doc["fields"] == {"team": "a"}
    assert fm["size_bytes"] == str(len(data)) and fm["hash"] == hashlib.sha256(data).hexdigest()
    assert fm["content_type"] == "application/octet-stream"
    status, headers, content = emu.request("GET", "/v1/files/%s/content" % fm["file_id"], key=INFER)
    assert status == 200 and content == data
    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["Content-Length"] == str(len(data))
    status, headers, part = emu.request("GET", "/v1/files/%s/content" % fm["file_id"], key=INFER,
                                        headers={"Range": "bytes=10-19"})
    assert status == 206 and part == data[10:20]
    assert headers["Content-Range"] == "bytes 10-19/%d" % len(data)
    status, _, _ = emu.request("GET", "/v1/files/%s/content" % fm["file_id"], key=INFER,
                               headers={"Range": "bytes=%d-" % len(data)})
    assert status == 416
    time.sleep(0.4)
    path = "/v1/collections/%s/documents/%s" % (cid, fm["file_id"])
    assert emu.get(path)["status"] == "DOCUMENT_STATUS_PROCESSED"
    # the server does not dedupe names
    again = upload(emu, cid, "blob.bin", b"second")
    assert again["file_metadata"]["file_id"] != fm["file_id"]
    assert emu.get("/v1/collections/" + cid)["documents_count"] == 4
    # re-index, force FAILED, remove
    assert emu.json("PATCH", path) == {}
    assert emu.get(path)["status"] == "DOCUMENT_STATUS_PROCESSING"
    forced = emu.control("POST", "documents/status", {"collection_id": cid, "file_id": fm["file_id"],
                                                       "status": "DOCUMENT_STATUS_FAILED",
                                                       "error_message": "bad pdf"})
    assert forced["status"] == "DOCUMENT_STATUS_FAILED"
    assert emu.get(path)["error_message"] == "bad pdf"
    assert emu.json("DELETE", path) == {}
    emu.json("GET", path, expect=404)
    assert emu.get("/v1/collections/" + cid)["documents_count"] == 3
    emu.json("POST", "/v1/collections/collection_nope/documents", b"", expect=404,
             headers={"Content-Type": "multipart/form-data; boundary=x"})


def test_upload_fields_and_required_definitions(fresh):
    """The documented part order (name, data, content_type, fields) puts fields last; a required
    field missing (or empty) is refused before anything is stored, on both upload routes."""
    emu = fresh
    coll = emu.json("POST", "/v1/collections", json.dumps({
        "collection_name": "papers",
        "field_definitions": [{"key": "author", "required": True}, {"key": "year"}]}).encode())
    cid = coll["collection_id"]
    body, ctype = multipart([("name", b"a.txt", None, None), ("data", b"a", "a.txt", None),
                             ("content_type", b"text/plain", None, None),
                             ("fields", b'{"author":"ann","year":"2024"}', None, None)])
    doc = emu.json("POST", "/v1/collections/%s/documents" % cid, body,
                   headers={"Content-Type": ctype})
    assert doc["fields"] == {"author": "ann", "year": "2024"}
    for fields in (None, {"year": "2024"}, {"author": ""}):
        body, bctype = multipart([("name", b"b.txt", None, None), ("data", b"b", "b.txt", None)]
                                 + ([("fields", json.dumps(fields).encode(), None, None)]
                                    if fields is not None else []))
        err = emu.json("POST", "/v1/collections/%s/documents" % cid, body, expect=400,
                       headers={"Content-Type": bctype})
        assert "'author' is required" in err["error"], err
    body, bctype = multipart([("name", b"c.txt", None, None), ("data", b"c", "c.txt", None),
                              ("fields", b'{"author": 1}', None, None)])
    emu.json("POST", "/v1/collections/%s/documents" % cid, body, expect=400,
             headers={"Content-Type": bctype})
    body, fctype = multipart([("file", b"two steps", "d.txt", "text/plain")])
    f = emu.json("POST", "/v1/files", body, key=INFER, headers={"Content-Type": fctype})
    add = "/v1/collections/%s/documents/%s" % (cid, f["id"])
    err = emu.json("POST", add, b'{"fields": {"year": "1"}}', expect=400)
    assert "'author' is required" in err["error"], err
    names = [d["file_metadata"]["name"] for d in
             emu.get("/v1/collections/%s/documents" % cid)["documents"]]
    assert names == ["a.txt"], "nothing refused was stored"
    assert emu.json("POST", add, b'{"fields": {"author": "dee"}}') == {}
    assert emu.get(add)["fields"] == {"author": "dee"}


def test_upload_chunked_request(fresh):
    emu = fresh
    cid = collection_by_name(emu, "contracts")["collection_id"]
    body, ctype = multipart([("name", b"chunked.txt", None, None),
                             ("data", b"hello chunked world\n" * 1000, "chunked.txt", "text/plain"),
                             ("fields", b'{"counterparty":"Chunk Ltd"}', None, None)])
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=30)
    pieces = (body[i:i + 7000] for i in range(0, len(body), 7000))
    conn.request("POST", "/v1/collections/%s/documents" % cid, pieces,
                 {"Authorization": "Bearer " + MGMT, "Content-Type": ctype},
                 encode_chunked=True)
    resp = conn.getresponse()
    doc = json.loads(resp.read())
    assert resp.status == 200, doc
    assert doc["file_metadata"]["size_bytes"] == "20000"
    assert doc["file_metadata"]["content_type"] == "text/plain"
    conn.close()


def test_documents_pagination_and_batch_get(fresh):
    emu = fresh
    emu.reset(seed="large", keys=5, collections=2, documents=250)
    cid = collection_by_name(emu, "coll-001")["collection_id"]
    got, pages = list_all(emu, "/v1/collections/%s/documents" % cid, "documents",
                          "pagination_token", "pagination_token", "limit", 100)
    names = [d["file_metadata"]["name"] for d in got]
    assert pages == 3 and names == ["doc-%05d.txt" % i for i in range(1, 251)]
    page = emu.get("/v1/collections/%s/documents?order=ORDERING_DESCENDING&limit=2" % cid)
    assert [d["file_metadata"]["name"] for d in page["documents"]] == ["doc-00250.txt", "doc-00249.txt"]
    ids = [got[5]["file_metadata"]["file_id"], got[7]["file_metadata"]["file_id"]]
    batch = emu.get("/v1/collections/%s/documents:batchGet?file_ids=%s&file_ids=%s&file_ids=file_x"
                    % (cid, ids[0], ids[1]))["documents"]
    assert [d["file_metadata"]["file_id"] for d in batch] == ids
    emu.json("GET", "/v1/collections/%s/documents:batchGet" % cid, expect=400)
    status, _, _ = emu.request("GET", "/v1/collections/%s/documents%%3AbatchGet?file_ids=%s"
                               % (cid, ids[0]))
    assert status == 200
    found = emu.get('/v1/collections/%s/documents?filter=name:"doc-0010"' % cid)["documents"]
    assert len(found) == 10


def test_files_api(fresh):
    emu = fresh
    body, ctype = multipart([("purpose", b"assistants", None, None),
                             ("expires_after", b"7200", None, None),
                             ("file", b"file api bytes", "notes.txt", "text/plain")])
    f = emu.json("POST", "/v1/files", body, key=INFER, headers={"Content-Type": ctype})
    assert f["object"] == "file" and f["bytes"] == 14 and f["filename"] == "notes.txt"
    assert isinstance(f["created_at"], int) and f["expires_at"] == f["created_at"] + 7200
    assert emu.get("/v1/files/" + f["id"], key=INFER)["id"] == f["id"]
    listing = emu.get("/v1/files?limit=2", key=INFER)
    assert len(listing["data"]) == 2 and "pagination_token" in listing
    all_files, _ = list_all(emu, "/v1/files", "data", "pagination_token", "pagination_token",
                            "limit", 4, key=INFER)
    assert len(all_files) == 6 and all_files[0]["id"] == f["id"]
    cid = collection_by_name(emu, "research-notes")["collection_id"]
    assert emu.json("POST", "/v1/collections/%s/documents/%s" % (cid, f["id"]), {}) == {}
    emu.json("POST", "/v1/collections/%s/documents/%s" % (cid, f["id"]), {}, expect=409)
    emu.json("POST", "/v1/collections/%s/documents/file_missing" % cid, {}, expect=404)
    doc = emu.get("/v1/collections/%s/documents/%s" % (cid, f["id"]))
    assert doc["file_metadata"]["name"] == "notes.txt"
    assert emu.json("DELETE", "/v1/files/" + f["id"], key=INFER) == {
        "id": f["id"], "deleted": True, "object": "file"}
    emu.json("GET", "/v1/files/" + f["id"], key=INFER, expect=404)
    # expires_after after the file part is refused; a missing file part too
    body, ctype = multipart([("file", b"x", "x.txt", None), ("expires_after", b"7200", None, None)])
    emu.json("POST", "/v1/files", body, key=INFER, headers={"Content-Type": ctype}, expect=400)
    body, ctype = multipart([("purpose", b"x", None, None)])
    emu.json("POST", "/v1/files", body, key=INFER, headers={"Content-Type": ctype}, expect=400)
    # the size limit is a knob
    emu.reset(seed="sample", files_max_bytes=1000)
    body, ctype = multipart([("file", b"y" * 2000, "big.txt", None)])
    status, _, _ = emu.request("POST", "/v1/files", body, key=INFER, headers={"Content-Type": ctype})
    assert status == 413
    emu.reset(seed="sample", files_max_bytes=50 * 1024 * 1024)
    hits = emu.json("POST", "/v1/documents/search", {"query": "recall hybrid",
                                                     "source": {"collection_ids": [cid]}}, key=INFER)
    assert hits["matches"] and hits["matches"][0]["collection_ids"] == [cid]


def test_search_shapes(fresh):
    """POST /v1/documents/search (xai-api.md section 8): inference key, the documented
    request fields, matches best first with file_id, chunk_id, chunk_content, score,
    collection_ids, fields and page_number."""
    emu = fresh
    contracts = collection_by_name(emu, "contracts")["collection_id"]
    notes = collection_by_name(emu, "research-notes")["collection_id"]
    both = {"query": "fees recall", "source": {"collection_ids": [contracts, notes]}}
    hits = emu.json("POST", "/v1/documents/search", both, key=INFER)["matches"]
    assert len(hits) == 3
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    for h in hits:
        assert set(h) >= {"file_id", "chunk_id", "chunk_content", "score", "collection_ids",
                          "page_number"}
        assert h["page_number"] == 1 and h["file_id"].startswith("file_")
    assert {h["collection_ids"][0] for h in hits} == {contracts, notes}
    msa = [h for h in hits if "MASTER SERVICES" in h["chunk_content"]]
    assert msa and msa[0]["fields"] == {"counterparty": "Acme Corporation"}
    one = dict(both, limit=1, retrieval_mode={"type": "keyword"})
    assert len(emu.json("POST", "/v1/documents/search", one, key=INFER)["matches"]) == 1
    assert emu.json("POST", "/v1/documents/search", dict(both, query="zzzz"), key=INFER) == {}
    emu.json("POST", "/v1/documents/search", dict(both, retrieval_mode={"type": "fuzzy"}),
             key=INFER, expect=400)
    emu.json("POST", "/v1/documents/search", dict(both, query=""), key=INFER, expect=400)
    emu.json("POST", "/v1/documents/search", both, expect=401)      # management key
    emu.json("POST", "/v1/documents/search",
             {"query": "x", "source": {"collection_ids": ["collection_nope"]}},
             key=INFER, expect=404)


def test_large_upload_streams_to_disk():
    """A 256 MiB direct upload works and the server never holds the body in memory."""
    e = Emulator("--seed", "empty", "--quiet")
    try:
        cid = e.json("POST", "/v1/collections", {"collection_name": "big"})["collection_id"]
        block = hashlib.sha256(b"seed").digest() * 32768           # 1 MiB
        size = 256 * len(block)
        head, ctype = multipart([("name", b"big.bin", None, None)])
        boundary = ctype.split("=", 1)[1]
        head = head[:-len("--%s--\r\n" % boundary)]
        head += ('--%s\r\nContent-Disposition: form-data; name="data"; filename="big.bin"\r\n\r\n'
                 % boundary).encode()
        tail = ("\r\n--%s--\r\n" % boundary).encode()
        conn = http.client.HTTPConnection("127.0.0.1", e.port, timeout=120)
        conn.putrequest("POST", "/v1/collections/%s/documents" % cid)
        for k, v in (("Authorization", "Bearer " + MGMT), ("Content-Type", ctype),
                     ("Content-Length", str(len(head) + size + len(tail)))):
            conn.putheader(k, v)
        conn.endheaders()
        conn.send(head)
        sha = hashlib.sha256()
        for _ in range(256):
            conn.send(block)
            sha.update(block)
        conn.send(tail)
        resp = conn.getresponse()
        doc = json.loads(resp.read())
        conn.close()
        assert resp.status == 200, doc
        assert doc["file_metadata"]["size_bytes"] == str(size)
        assert doc["file_metadata"]["hash"] == sha.hexdigest()
        with open("/proc/%d/status" % e.proc.pid) as f:
            hwm_kib = int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1))
        assert hwm_kib < 128 * 1024, "server peaked at %d KiB" % hwm_kib
        status, headers, _ = e.request("GET", "/v1/files/%s/content" % doc["file_metadata"]["file_id"],
                                       key=INFER, headers={"Range": "bytes=-4"})
        assert status == 206 and headers["Content-Range"] == "bytes %d-%d/%d" % (size - 4, size - 1, size)
    finally:
        assert e.stop() == 0


# ---------------------------------------------------------------------------
# Billing
# ---------------------------------------------------------------------------

def test_billing_routes(fresh):
    emu = fresh
    base = "/v1/billing/teams/%s" % TEAM
    info = emu.get(base + "/billing-info")["billingInfo"]
    assert info["address"]["country"] == "US"
    assert emu.json("POST", base + "/billing-info", {"billingInfo": dict(info, name="New Name")}) == {}
    assert emu.get(base + "/billing-info")["billingInfo"]["name"] == "New Name"

    invoices = emu.get(base + "/invoices")["invoices"]
    assert len(invoices) == 3 and isinstance(invoices[0]["total"], str)
    assert invoices[0]["monthly"]["billingCycle"] == {"year": 2025, "month": 12}
    one = emu.get(base + "/invoices?billingCycle.year=2026&billingCycle.month=1")["invoices"]
    assert [i["monthly"]["billingCycle"]["month"] for i in one] == [1]
    since = emu.get(base + "/invoices?since.year=2026&since.month=1")["invoices"]
    assert len(since) == 2
    by_id = emu.get(base + "/invoices?invoiceIds.invoiceIds=" +
                    urllib.request.quote(invoices[2]["invoiceId"]))["invoices"]
    assert [i["invoiceNumber"] for i in by_id] == [invoices[2]["invoiceNumber"]]
    emu.json("GET", base + "/invoices?since.year=2026&since.month=1&billingCycle.year=2026"
             "&billingCycle.month=1", expect=400)

    pms = emu.get(base + "/payment-method")["paymentMethods"]
    assert pms[0]["cardDetails"]["last4"] == "4242"
    assert emu.json("POST", base + "/payment-method/default",
                    {"paymentMethodId": pms[1]["paymentMethodId"]}) == {}
    assert emu.control("GET", "state")["default_payment_method"] == pms[1]["paymentMethodId"]
    emu.json("POST", base + "/payment-method/default", {"paymentMethodId": "pm_x"}, expect=404)

    preview = emu.get(base + "/postpaid/invoice/preview")
    core = preview["coreInvoice"]
    assert isinstance(core["amountBeforeVat"], str) and core["prepaidCredits"]["val"].startswith("-")
    assert set(preview["billingCycle"]) == {"year", "month"}

    limits = emu.get(base + "/postpaid/spending-limits")["spendingLimits"]
    assert limits["softSl"] == {"val": "20000"} and limits["hardSlAuto"] == {"val": "50000"}
    assert emu.json("POST", base + "/postpaid/spending-limits",
                    {"desiredSoftSpendingLimit": {"val": "30000"}}) == {
        "thisBpSoftSpendingLimit": {"val": "30000"}}
    emu.json("POST", base + "/postpaid/spending-limits",
             {"desiredSoftSpendingLimit": {"val": "999999"}}, expect=400)
    assert emu.json("POST", base + "/postpaid/spending-limits",
                    {"desiredSoftSpendingLimit": {"val": "0"}}) == {"thisBpSoftSpendingLimit": {}}

    balance = emu.get(base + "/prepaid/balance")
    assert balance["total"] == {"val": "-4800"}
    assert {c["changeOrigin"] for c in balance["changes"]} == {"PURCHASE", "SPEND", "REFUND"}
    spend = next(c for c in balance["changes"] if c["changeOrigin"] == "SPEND")
    assert not spend["amount"]["val"].startswith("-") and "topupStatus" not in spend
    emu.control("POST", "faults", {"process_delay_s": 0.2})
    change = emu.json("POST", base + "/prepaid/top-up", {"amount": {"val": "500"}})["change"]
    assert change["changeOrigin"] == "PURCHASE" and change["topupStatus"] == "TO_CHARGE"
    assert change["amount"] == {"val": "-500"}
    again = emu.json("POST", base + "/prepaid/top-up", {"amount": {"val": "700"}})["change"]
    assert again == change                      # the pending one comes back
    assert emu.get(base + "/prepaid/balance")["total"] == {"val": "-4800"}
    time.sleep(0.3)
    assert emu.get(base + "/prepaid/balance")["total"] == {"val": "-5300"}
    emu.json("POST", base + "/prepaid/top-up", {"amount": {"val": "0"}}, expect=400)


def usage_request(start, end, unit="TIME_UNIT_DAY", group_by=("description",)):
    return {"analyticsRequest": {
        "timeRange": {"startTime": start, "endTime": end, "timezone": "Etc/GMT"},
        "timeUnit": unit, "values": [{"name": "usd", "aggregation": "AGGREGATION_SUM"}],
        "groupBy": list(group_by), "filters": []}}


def test_usage_dense_series(fresh):
    emu = fresh
    path = "/v1/billing/teams/%s/usage" % TEAM
    body = usage_request("2026-09-01 00:00:00", "2026-10-01 00:00:00")
    out = emu.json("POST", path, body)
    assert "limitReached" not in out and len(out["timeSeries"]) == 4
    for series in out["timeSeries"]:
        assert series["group"] == series["groupLabels"] and len(series["group"]) == 1
        stamps = [p["timestamp"] for p in series["dataPoints"]]
        assert stamps == ["2026-09-%02dT00:00:00Z" % d for d in range(1, 31)]
        assert all(len(p["values"]) == 1 and isinstance(p["values"][0], float)
                   for p in series["dataPoints"])
    values = [p["values"][0] for s in out["timeSeries"] for p in s["dataPoints"]]
    assert any(v == 0.0 for v in values) and any(v > 0 for v in values)
    assert emu.json("POST", path, body) == out                       # deterministic
    future = emu.json("POST", path, usage_request("2099-01-01 00:00:00", "2099-01-03 00:00:00"))
    assert all(p["values"] == [0.0] for s in future["timeSeries"] for p in s["dataPoints"])
    single = emu.json("POST", path, usage_request("2026-09-01 00:00:00", "2026-09-02 00:00:00",
                                                  group_by=()))
    assert len(single["timeSeries"]) == 1 and len(single["timeSeries"][0]["dataPoints"]) == 1
    emu.json("POST", path, usage_request("2026-09-01T00:00:00Z", "2026-10-01 00:00:00"), expect=400)
    emu.json("POST", path, usage_request("2026-09-02 00:00:00", "2026-09-01 00:00:00"), expect=400)


# ---------------------------------------------------------------------------
# Faults and statistics
# ---------------------------------------------------------------------------

def test_fault_fail_next_with_and_without_retry_after(fresh):
    emu = fresh
    emu.control("POST", "faults", {"fail_next": 1, "fail_status": 429, "retry_after": "2"})
    status, headers, body = emu.request("GET", keys_path())
    assert status == 429 and headers["Retry-After"] == "2"
    assert json.loads(body)["code"] == "Some resource has been exhausted"
    assert emu.request("GET", keys_path())[0] == 200
    emu.control("POST", "faults", {"fail_next": 1, "fail_status": 429, "retry_after": None})
    status, headers, _ = emu.request("GET", keys_path())
    assert status == 429 and "Retry-After" not in headers
    emu.control("POST", "faults", {"fail_next": 2})
    assert [emu.request("GET", keys_path())[0] for _ in range(3)] == [503, 503, 200]
    # a failed create is not carried out
    emu.control("POST", "faults", {"fail_next": 1, "fail_route": "POST /auth/teams/{teamId}/api-keys"})
    assert emu.request("GET", keys_path())[0] == 200
    assert emu.request("POST", keys_path(), {"name": "never"})[0] == 503
    assert "never" not in [k["name"] for k in emu.get(keys_path())["apiKeys"]]
    assert emu.control("GET", "faults")["fail_next"] == 0


def test_fault_body_spoilers(fresh):
    emu = fresh
    emu.control("POST", "faults", {"malformed_next": 1})
    status, _, body = emu.request("GET", "/v1/collections")
    assert status == 200
    with pytest.raises(ValueError):
        json.loads(body)
    emu.control("POST", "faults", {"drop_next": 1})
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError, urllib.error.URLError)):
        emu.request("GET", "/v1/collections")
    emu.control("POST", "faults", {"truncate_next": 1})
    with pytest.raises(http.client.IncompleteRead):
        emu.request("GET", "/v1/collections")
    emu.control("POST", "faults", {"wrong_types_next": 1})
    weird = emu.get("/v1/collections")
    assert isinstance(weird["collections"], str)
    emu.control("POST", "faults", {"oversize_next": 1, "oversize_bytes": 3 * 1024 * 1024})
    status, headers, body = emu.request("GET", "/v1/collections")
    assert status == 200 and len(body) > 3 * 1024 * 1024 == len(json.loads(body)["_padding"])
    assert int(headers["Content-Length"]) == len(body)
    emu.control("POST", "faults", {"latency_ms": 300})
    started = time.monotonic()
    emu.get("/v1/collections")
    assert time.monotonic() - started >= 0.3
    emu.control("GET", "health")
    emu.control("POST", "faults", {})
    assert emu.control("GET", "faults")["latency_ms"] == 0
    emu.json("POST", "/_emu/faults", {"nonsense": 1}, key=None, expect=400)
    assert emu.get("/v1/collections")["collections"]


def test_stats_by_route_template(fresh):
    emu = fresh
    emu.control("POST", "stats/reset")
    cid = collection_by_name(emu, "contracts")["collection_id"]
    emu.get(keys_path())
    emu.json("POST", keys_path(), {"name": "counted"})
    emu.get("/v1/collections/%s/documents:batchGet?file_ids=x" % cid)
    emu.request("GET", "/v1/files/file_x/content", key=INFER)
    emu.request("GET", "/nowhere")
    emu.control("GET", "state")
    stats = emu.control("GET", "stats")
    assert stats["total"] == 6 and stats["mutating"] == 1
    assert stats["routes"] == {
        "GET /v1/collections": 1,
        "GET /auth/teams/{teamId}/api-keys": 1,
        "POST /auth/teams/{teamId}/api-keys": 1,
        "GET /v1/collections/{collection_id}/documents:batchGet": 1,
        "GET /v1/files/{file_id}/content": 1,
    }
    emu.control("POST", "stats/reset")
    assert emu.control("GET", "stats")["total"] == 0


# ---------------------------------------------------------------------------
# Seeds and the control API
# ---------------------------------------------------------------------------

def test_large_seed(emu):
    out = emu.reset(seed="large", keys=10000, collections=100, documents=100)
    assert out["seconds"] < 2.0
    keys = emu.get(keys_path())["apiKeys"]
    assert len(keys) == 10000 and keys[0]["name"] == "key-00001" and keys[-1]["name"] == "key-10000"
    colls, _ = list_all(emu, "/v1/collections?sort_by=COLLECTIONS_SORT_BY_NAME&order=ORDERING_ASCENDING",
                        "collections", "pagination_token", "pagination_token", "limit", 100)
    assert [c["collection_name"] for c in colls] == ["coll-%03d" % i for i in range(1, 101)]
    assert all(c["documents_count"] == 100 for c in colls)
    doc = emu.get("/v1/collections/%s/documents?limit=1" % colls[4]["collection_id"])["documents"][0]
    content = emu.request("GET", "/v1/files/%s/content" % doc["file_metadata"]["file_id"], key=INFER)[2]
    assert 200 <= len(content) < 600 and str(len(content)) == doc["file_metadata"]["size_bytes"]
    assert hashlib.sha256(content).hexdigest() == doc["file_metadata"]["hash"]
    out = emu.reset(seed="large", keys=0, collections=1, documents=100000)
    cid = emu.get("/v1/collections")["collections"][0]["collection_id"]
    assert emu.get("/v1/collections/" + cid)["documents_count"] == 100000
    page = emu.get("/v1/collections/%s/documents" % cid)
    for _ in range(3):
        page = emu.get("/v1/collections/%s/documents?pagination_token=%s" % (cid, page["pagination_token"]))
    assert page["documents"][0]["file_metadata"]["name"] == "doc-00301.txt"
    emu.reset(seed="sample")


def test_hostile_seed(emu):
    emu.reset(seed="hostile")
    status, _, raw = emu.request("GET", keys_path())
    assert status == 200 and b"bad-\xff\xfe-utf8" in raw
    assert b"new\\nline" in raw and b"esc\\u001b[31mred" in raw
    keys = json.loads(raw.decode("utf-8", "surrogateescape"))["apiKeys"]
    names = [k.get("name") for k in keys]
    for name in ("a/b", "..", ".", "collection.json", "normal", "a%2Fb"):
        assert name in names
    assert names.count("dup") == 2 and names.count(None) == 2
    assert any(len(n.encode()) == 300 for n in names if n)
    colls = emu.get("/v1/collections?limit=100")["collections"]
    assert sum(1 for c in colls if "collection_name" not in c) == 2
    home = next(c for c in colls if c.get("collection_name") == "normal")
    docs = emu.get("/v1/collections/%s/documents" % home["collection_id"])["documents"]
    doc_names = [d["file_metadata"].get("name") for d in docs]
    assert doc_names.count("dup.txt") == 2 and "a/b" in doc_names and None in doc_names
    assert any(n and "\udcff" in n for n in doc_names)
    emu.reset(seed="sample")


def test_empty_seed_and_state(emu):
    emu.reset(seed="empty")
    assert emu.get(keys_path()) == {}
    assert emu.get("/v1/collections") == {}
    assert emu.get("/v1/files", key=INFER) == {"data": [], "pagination_token": emu.get(
        "/v1/files", key=INFER)["pagination_token"]}
    assert emu.get("/auth/teams/%s/models" % TEAM)["clusterConfigs"]
    emu.reset(seed="sample")
    state = emu.control("GET", "state")
    assert state["team_id"] == TEAM and len(state["keys"]) == 6
    assert all("apiKey" not in k for k in state["keys"])
    contracts = next(c for c in state["collections"] if c["collection_name"] == "contracts")
    assert [len(d["sha256"]) for d in contracts["documents"]] == [64, 64, 64]
    assert len(state["files"]) == 5
    emu.json("POST", "/_emu/reset", {"seed": "nope"}, key=None, expect=400)


def test_cli_refuses_non_loopback_and_stops_on_sigint():
    bad = subprocess.run([sys.executable, SERVER, "--host", "0.0.0.0"], capture_output=True, timeout=20)
    assert bad.returncode != 0 and b"loopback" in bad.stderr
    e = Emulator("--seed", "empty", "--host", "localhost")
    e.proc.send_signal(signal.SIGINT)
    assert e.proc.wait(10) == 0
    e.stop()


# ---------------------------------------------------------------------------
# Variants: legal readings of what the API leaves open (/_emu/variants)
# ---------------------------------------------------------------------------

UPLOAD_KEY = "POST /v1/collections/{collection_id}/documents"
CREATE_KEY = "POST /auth/teams/{teamId}/api-keys"


def variants(emu, **v):
    return emu.control("POST", "variants", v)


def test_variants_defaults_replace_and_reset(fresh):
    emu = fresh
    got = emu.control("GET", "variants")
    assert got == {"upload_answer": "document", "last_page_token": "absent",
                   "repeat_token": False, "key_scope": "team", "prepaid_only": False,
                   "strict_accept": False, "rate_limit": None, "keys_page_size": None,
                   "limited": 0}
    assert variants(emu, prepaid_only=True)["prepaid_only"] is True
    # each POST replaces them all
    assert variants(emu, key_scope="organization")["prepaid_only"] is False
    for bad in ({"nonsense": 1}, {"upload_answer": "xml"}, {"repeat_token": 1},
                {"rate_limit": {"route": CREATE_KEY, "burst": 0}},
                {"rate_limit": {"route": CREATE_KEY, "extra": 1}}):
        emu.json("POST", "/_emu/variants", bad, key=None, expect=400)
    emu.reset(seed="sample")
    assert emu.control("GET", "variants")["key_scope"] == "team"


def test_variant_keys_page_size(fresh):
    emu = fresh
    keys_url = keys_path()
    whole = emu.get(keys_url)
    assert len(whole["apiKeys"]) >= 3 and not whole.get("paginationToken")
    variants(emu, keys_page_size=2)
    first = emu.get(keys_url)
    assert len(first["apiKeys"]) == 2 and first.get("paginationToken")
    # an explicit pageSize still wins
    assert len(emu.get(keys_url + "?pageSize=1")["apiKeys"]) == 1


@pytest.mark.parametrize("answer,want", [("document", None), ("empty", {}), ("id", "id")])
def test_variant_upload_answer(fresh, answer, want):
    emu = fresh
    variants(emu, upload_answer=answer)
    cid = collection_by_name(emu, "research-notes")["collection_id"]
    got = upload(emu, cid, "shape.txt", b"shape\n")
    stored = [d for d in emu.get("/v1/collections/%s/documents" % cid)["documents"]
              if d["file_metadata"]["name"] == "shape.txt"]
    assert len(stored) == 1, "stored whatever the answer's shape"
    file_id = stored[0]["file_metadata"]["file_id"]
    if want is None:
        assert got["file_metadata"]["file_id"] == file_id
    elif want == "id":
        assert got == {"file_id": file_id}
    else:
        assert got == want


def test_variant_last_page_token_empty_and_repeated(fresh):
    emu = fresh
    path = keys_path() + "?pageSize=4"
    assert "paginationToken" not in emu.get(path + "&paginationToken=" +
                                             emu.get(path)["paginationToken"])
    variants(emu, last_page_token="empty")
    first = emu.get(path)
    last = emu.get(path + "&paginationToken=" + first["paginationToken"])
    assert last["paginationToken"] == "" and len(first["apiKeys"]) + len(last["apiKeys"]) == 6
    cid = collection_by_name(emu, "contracts")["collection_id"]
    docs = emu.get("/v1/collections/%s/documents?limit=100" % cid)
    assert docs["pagination_token"] == "" and len(docs["documents"]) == 3
    assert emu.get("/v1/collections")["pagination_token"] == ""
    assert emu.get("/audit/teams/%s/events?pageSize=100" % TEAM)["nextPageToken"] == ""
    # endless: the last page and every page after it carry a fresh token; those are empty
    variants(emu, last_page_token="endless")
    first = emu.get(path)
    last = emu.get(path + "&paginationToken=" + first["paginationToken"])
    assert len(last["apiKeys"]) == 2 and last["paginationToken"]
    tokens = {first["paginationToken"], last["paginationToken"]}
    tok = last["paginationToken"]
    for _ in range(3):
        page = emu.get(path + "&paginationToken=" + tok)
        assert "apiKeys" not in page and page["paginationToken"] not in tokens
        tok = page["paginationToken"]
        tokens.add(tok)
    # repeat_token: a page asked for with a token answers with that same token
    variants(emu, repeat_token=True)
    first = emu.get(path)
    tok = first["paginationToken"]
    again = emu.get(path + "&paginationToken=" + tok)
    assert again["paginationToken"] == tok
    assert emu.get(path + "&paginationToken=" + tok) == again
    docs = emu.get("/v1/collections/%s/documents?limit=1" % cid)
    nxt = emu.get("/v1/collections/%s/documents?limit=1&pagination_token=%s"
                  % (cid, docs["pagination_token"]))
    assert nxt["pagination_token"] == docs["pagination_token"]


def test_variant_organization_scoped_key(fresh):
    emu = fresh
    assert emu.get("/auth/management-keys/validation")["scopeId"] == TEAM
    variants(emu, key_scope="organization")
    v = emu.get("/auth/management-keys/validation")
    assert v["scope"] == "SCOPE_ORGANIZATION" and v["scopeId"].startswith("org_")
    assert "teamId" not in v
    # the org id is not a team: team routes refuse it; the team itself works
    emu.json("GET", keys_path(v["scopeId"]), expect=403)
    assert emu.get(keys_path())["apiKeys"]


def test_variant_prepaid_only(fresh):
    emu = fresh
    base = "/v1/billing/teams/%s/" % TEAM
    variants(emu, prepaid_only=True)
    for method, route, body in (("GET", "postpaid/spending-limits", None),
                                ("GET", "postpaid/invoice/preview", None),
                                ("POST", "postpaid/spending-limits",
                                 {"desiredSoftSpendingLimit": {"val": "100"}})):
        status, _, data = emu.request(method, base + route, body)
        assert status == 403, (route, status)
        assert json.loads(data)["code"].startswith("The caller does not have permission")
    assert emu.get(base + "prepaid/balance")["total"]["val"].startswith("-")


def test_variant_strict_accept_and_format(fresh):
    emu = fresh
    cid = collection_by_name(emu, "contracts")["collection_id"]
    nda = next(d for d in emu.get("/v1/collections/%s/documents" % cid)["documents"]
               if d["file_metadata"]["name"] == "nda.pdf")
    path = "/v1/files/%s/content" % nda["file_metadata"]["file_id"]
    status, _, raw = emu.request("GET", path, key=INFER, headers={"Accept": "application/json"})
    assert status == 200 and b"\x00" in raw
    variants(emu, strict_accept=True)
    assert emu.request("GET", path, key=INFER, headers={"Accept": "application/json"})[0] == 406
    for accept in ("application/octet-stream", "*/*", "application/json, */*;q=0.5"):
        status, _, got = emu.request("GET", path + "?format=original", key=INFER,
                                     headers={"Accept": accept})
        assert status == 200 and got == raw, accept
    status, headers, text = emu.request("GET", path + "?format=text", key=INFER)
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    assert b"\x00" not in text and text != raw
    assert emu.request("GET", path + "?format=pdf", key=INFER)[0] == 400


def test_variant_rate_limit_refuses_without_carrying_out(fresh):
    emu = fresh
    variants(emu, rate_limit={"route": CREATE_KEY, "burst": 2, "per_s": 0.5,
                              "retry_after": 1})
    got = [emu.request("POST", keys_path(), {"name": "burst-%d" % i})
           for i in range(4)]
    assert [g[0] for g in got] == [200, 200, 429, 429]
    assert got[2][1]["Retry-After"] == "1"
    names = [k["name"] for k in emu.get(keys_path())["apiKeys"]]
    assert names.count("burst-0") == 1 and "burst-2" not in names and "burst-3" not in names
    assert emu.control("GET", "variants")["limited"] == 2
    assert emu.request("GET", keys_path())[0] == 200, "other routes are not limited"
    # the bucket refills at per_s: wait on the real condition
    deadline = time.monotonic() + 30
    while emu.request("POST", keys_path(), {"name": "later"})[0] == 429:
        assert time.monotonic() < deadline, "the bucket never refilled"
        time.sleep(0.2)


def test_faults_drop_after_and_hang_after_carry_out(fresh):
    emu = fresh
    emu.control("POST", "faults", {"drop_after_next": 1, "fail_route": CREATE_KEY})
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError, urllib.error.URLError)):
        emu.request("POST", keys_path(), {"name": "dropped-after"})
    names = [k["name"] for k in emu.get(keys_path())["apiKeys"]]
    assert names.count("dropped-after") == 1, "carried out, then the connection dropped"
    emu.control("POST", "faults", {"hang_after_next": 1, "hang_ms": 3000,
                                   "fail_route": CREATE_KEY})
    with pytest.raises((TimeoutError, OSError)):
        emu.request("POST", keys_path(), {"name": "hung-after"}, timeout=0.5)
    names = [k["name"] for k in emu.get(keys_path())["apiKeys"]]
    assert names.count("hung-after") == 1, "carried out, then the answer held back"
    assert emu.control("GET", "faults")["hang_after_next"] == 0


def test_rotation_keeps_the_old_secret_for_the_grace_period(fresh):
    emu = fresh
    key = emu.json("POST", keys_path(), {"name": "rot", "acls": ["api-key:model:*"]})
    old = key["apiKey"]
    rid = "/auth/api-keys/%s/rotate" % key["apiKeyId"]
    t0 = time.time()
    new = emu.json("POST", rid, {})["apiKey"]
    assert new != old
    state = {k["apiKeyId"]: k for k in emu.control("GET", "state")["keys"]}
    grace = state[key["apiKeyId"]]["_oldSecretExpireTime"]
    left = time.mktime(time.strptime(grace[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone - t0
    assert 24 * 3600 - 60 < left < 24 * 3600 + 60, "the default grace is 24 h"
    for secret in (old, new):
        assert emu.request("GET", "/v1/api-key", key=secret)[0] == 200
    # a grace period that has already ended: the old secret stops working
    newer = emu.json("POST", rid, {"oldSecretExpireTime": "2020-01-01T00:00:00Z"})["apiKey"]
    assert emu.request("GET", "/v1/api-key", key=new)[0] == 401
    assert emu.request("GET", "/v1/api-key", key=newer)[0] == 200
    state = {k["apiKeyId"]: k for k in emu.control("GET", "state")["keys"]}
    assert state[key["apiKeyId"]]["_oldSecretExpireTime"].startswith("2020-01-01T00:00:00")
    emu.json("POST", rid, {"oldSecretExpireTime": "2999-01-01T00:00:00Z"}, expect=400)
