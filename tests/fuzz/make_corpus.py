#!/usr/bin/python3
"""Regenerate the seed corpora of the fuzz targets (tests/fuzz/corpus/).

Starts the bundled emulator, records real response bodies for the sample and
hostile data sets (and with the emulator's wrong_types fault), and writes one
seed per body in the input format of fuzz_model.c (selector byte, then
NUL-separated parts) and of fuzz_names.c (maxlen byte, flags byte, then
NUL-separated tokens). Hand-written seeds cover the user-side inputs (JSON
written to key and collection files) and odd times, URLs and names.

Usage: tests/fuzz/make_corpus.py   (rewrites corpus/model and corpus/names,
                                    keeping the regress-* seeds)
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
EMULATOR = os.path.join(ROOT, "tests", "emulator", "server.py")
MGMT_KEY = "xai-emulator-management-key"
API_KEY = "xai-emulator-inference-key"
TEAM = "2d7a3c1e-8f4b-4c6a-9e21-5b0d7f3a9c44"

# Selectors of fuzz_model.c (enum sel).
(SEL_VALIDATION, SEL_KEYS_PAGE, SEL_COLLECTIONS_PAGE, SEL_DOCUMENTS_PAGE, SEL_MODELS,
 SEL_USAGE, SEL_BILLING, SEL_ERROR, SEL_TIME, SEL_KEY, SEL_COLLECTION, SEL_DOCUMENT,
 SEL_KEY_CREATE, SEL_KEY_UPDATE, SEL_COLLECTION_UPDATE, SEL_KEY_WITH_SECRET,
 SEL_COUNTERS, SEL_NAME_BODIES, SEL_USAGE_MONTH, SEL_DOCUMENT_STATUS, SEL_PRETTY,
 SEL_AUDIT_PAGE, SEL_SEARCH, SEL_INVOICES, SEL_LIMITS, SEL_LIMITS_UPDATE,
 SEL_SEARCH_QUERY, SEL_USAGE_SVG, SEL_FIELDS) = range(29)

# Flags of fuzz_names.c (enum flags).
F_DUP_EXACT, F_RESERVED, F_RESERVE_FIRST, F_DUP_SUFFIX = 1, 2, 4, 8


class Emulator:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="xaifs-corpus-")
        port_file = os.path.join(self.dir, "port")
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", EMULATOR, "--port", "0", "--port-file", port_file,
             "--seed", "sample", "--quiet", "--process-delay", "0"])
        end = time.monotonic() + 20
        while not os.path.exists(port_file):
            if self.proc.poll() is not None or time.monotonic() > end:
                raise RuntimeError("emulator did not start")
            time.sleep(0.05)
        with open(port_file) as f:
            self.url = "http://127.0.0.1:%d" % int(f.read())

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)

    def call(self, method, path, body=None, key=MGMT_KEY):
        """The raw response body, whatever the status."""
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if key:
            headers["Authorization"] = "Bearer " + key
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.read()
        except urllib.error.HTTPError as e:
            return e.read()
        except (urllib.error.URLError, ConnectionError):
            return b""

    def control(self, path, body):
        return json.loads(self.call("POST", "/_emu/" + path, body, key=None))


class Corpus:
    """A seed directory. Files named regress-* (inputs that once failed,
    added by hand) are kept; every other seed is made again."""

    def __init__(self, name):
        self.dir = os.path.join(HERE, "corpus", name)
        os.makedirs(self.dir, exist_ok=True)
        for f in os.listdir(self.dir):
            if not f.startswith("regress-"):
                os.unlink(os.path.join(self.dir, f))
        self.names = set()

    def add(self, name, data):
        assert name not in self.names, name
        self.names.add(name)
        with open(os.path.join(self.dir, name), "wb") as f:
            f.write(data)


def b(x):
    if isinstance(x, bytes):
        return x
    if isinstance(x, str):
        return x.encode("utf-8", "surrogateescape")
    return json.dumps(x).encode()


def parts(*xs):
    return b"\0".join(b(x) for x in xs)


def loads(raw):
    """Parse a body that may hold invalid UTF-8 (kept as surrogate escapes)."""
    return json.loads(raw.decode("utf-8", "surrogateescape"))


def pretty(obj):
    """Roughly our rendering of an object (json-c pretty, two spaces)."""
    return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"


def record_bodies(emu, seed, model, names):
    emu.control("reset", {"seed": seed})
    tag = seed
    p = "/auth/teams/%s" % TEAM
    model.add("validation-%s" % tag,
              bytes([SEL_VALIDATION]) + emu.call("GET", "/auth/management-keys/validation"))
    keys = emu.call("GET", p + "/api-keys")
    model.add("keys-page-%s" % tag, bytes([SEL_KEYS_PAGE]) + keys)
    model.add("keys-page2-%s" % tag,
              bytes([SEL_KEYS_PAGE]) + emu.call("GET", p + "/api-keys?pageSize=2"))
    model.add("models-%s" % tag, bytes([SEL_MODELS]) + emu.call("GET", p + "/models"))
    colls = emu.call("GET", "/v1/collections")
    model.add("collections-page-%s" % tag, bytes([SEL_COLLECTIONS_PAGE]) + colls)
    model.add("collections-page2-%s" % tag,
              bytes([SEL_COLLECTIONS_PAGE]) + emu.call("GET", "/v1/collections?limit=2"))

    key_objs = loads(keys).get("apiKeys", [])
    coll_objs = loads(colls).get("collections", [])
    docs_all = []
    for i, c in enumerate(coll_objs[:3]):
        cid = c["collection_id"]
        docs = emu.call("GET", "/v1/collections/%s/documents" % cid)
        model.add("documents-page-%s-%d" % (tag, i), bytes([SEL_DOCUMENTS_PAGE]) + docs)
        model.add("collection-%s-%d" % (tag, i),
                  bytes([SEL_COLLECTION]) + emu.call("GET", "/v1/collections/" + cid))
        for j, d in enumerate(loads(docs).get("documents", [])[:2]):
            fid = d["file_metadata"]["file_id"]
            doc = emu.call("GET", "/v1/collections/%s/documents/%s" % (cid, fid))
            model.add("document-%s-%d-%d" % (tag, i, j), bytes([SEL_DOCUMENT]) + doc)
            model.add("document-status-%s-%d-%d" % (tag, i, j),
                      bytes([SEL_DOCUMENT_STATUS]) + b(pretty(loads(doc))))
            docs_all.append(d)
        model.add("collection-update-%s-%d" % (tag, i), bytes([SEL_COLLECTION_UPDATE]) + parts(
            pretty(c), pretty(dict(c, collection_name="renamed",
                                   collection_description="new text"))))

    # names: (raw name, id) pairs exactly as the server sent them
    for what, objs, name_of, id_of in (
            ("keys", key_objs, lambda o: o.get("name", ""), lambda o: o["apiKeyId"]),
            ("collections", coll_objs, lambda o: o.get("collection_name", ""),
             lambda o: o["collection_id"]),
            ("documents", docs_all, lambda o: o["file_metadata"].get("name", ""),
             lambda o: o["file_metadata"]["file_id"])):
        toks = []
        for o in objs[:30]:
            toks += [name_of(o), id_of(o)]
        if toks:
            names.add("%s-%s" % (what, tag), bytes([0, 0]) + parts(*toks))
            names.add("%s-%s-short-dups" % (what, tag),
                      bytes([40, F_DUP_EXACT | F_RESERVED | 0x30]) + parts(*toks))

    # writes: create, update, rotate answers (with the one-time secret)
    created = emu.call("POST", p + "/api-keys",
                       {"name": "fuzz-seed", "acls": ["api-key:model:*"], "qps": 5,
                        "tpm": "1000", "expireTime": "2030-01-01T00:00:00Z"})
    model.add("key-created-%s" % tag, bytes([SEL_KEY]) + created)
    kid = loads(created).get("apiKeyId", "x")
    model.add("key-rotated-%s" % tag,
              bytes([SEL_KEY]) + emu.call("POST", "/auth/api-keys/%s/rotate" % kid, {}))
    model.add("propagation-%s" % tag, bytes([SEL_PRETTY]) +
              emu.call("GET", "/auth/api-keys/%s/propagation" % kid))
    audit = emu.call("GET", "/audit/teams/%s/events" % TEAM)
    model.add("audit-page-%s" % tag, bytes([SEL_AUDIT_PAGE]) + audit)
    model.add("audit-page2-%s" % tag, bytes([SEL_AUDIT_PAGE]) +
              emu.call("GET", "/audit/teams/%s/events?pageSize=2" % TEAM))
    model.add("key-updated-%s" % tag, bytes([SEL_KEY]) + emu.call(
        "PUT", "/auth/api-keys/" + kid,
        {"apiKey": {"qps": 9}, "fieldMask": "qps"}))
    cur = dict(loads(created))
    cur.pop("apiKey", None)
    model.add("key-with-secret-%s" % tag,
              bytes([SEL_KEY_WITH_SECRET]) + parts(pretty(cur), "xai-secret-1234"))
    for i, edit in enumerate([
            {"qps": 10}, {"name": "renamed", "rotate": True},
            {"aclStrings": ["api-key:endpoint:chat"], "tpm": "5"},
            {"acls": [], "acl_strings": ["x"]}, {"expireTime": "2031-02-03T04:05:06Z",
                                                 "expire_time": "2032-01-01T00:00:00Z"},
            {"disabled": True, "apiKey": "xai-old-secret"}, {"teamId": "other"},
            {"tpm": 7}, {"qps": "5"}, {"rotate": "yes"}]):
        model.add("key-update-%s-%d" % (tag, i),
                  bytes([SEL_KEY_UPDATE]) + parts(pretty(cur), pretty(dict(cur, **edit))))
    coll = emu.call("POST", "/v1/collections", {"collection_name": "fuzz-seed"})
    model.add("collection-created-%s" % tag, bytes([SEL_COLLECTION]) + coll)

    # billing and usage
    bp = "/v1/billing/teams/%s" % TEAM
    bal = emu.call("GET", bp + "/prepaid/balance")
    lim = emu.call("GET", bp + "/postpaid/spending-limits")
    pre = emu.call("GET", bp + "/postpaid/invoice/preview")
    model.add("billing-%s" % tag, bytes([SEL_BILLING]) + parts(bal, lim, pre))
    model.add("billing-no-limits-%s" % tag, bytes([SEL_BILLING]) + parts(bal, b"", pre))
    # the account files (fuzz_model_account.c)
    model.add("invoices-%s" % tag, bytes([SEL_INVOICES]) + emu.call("GET", bp + "/invoices"))
    model.add("limits-%s" % tag, bytes([SEL_LIMITS]) + lim)
    cur_limits = {"softSl": 20000, "effectiveSl": 20000, "hardSlAuto": 50000,
                  "effectiveHardSl": 50000, "hardSlOverride": None}
    for i, edit in enumerate([{"softSl": 30000}, {"softSl": {"val": "7"}},
                              {"hardSlAuto": 1}, {"softSl": -1}]):
        model.add("limits-update-%s-%d" % (tag, i), bytes([SEL_LIMITS_UPDATE]) + parts(
            pretty(cur_limits), pretty(dict(cur_limits, **edit))))
    cids = [c["collection_id"] for c in loads(emu.call("GET", "/v1/collections"))
            .get("collections", [])]
    if cids:
        model.add("search-%s" % tag, bytes([SEL_SEARCH]) + emu.call(
            "POST", "/v1/documents/search",
            {"query": "fees recall document", "source": {"collection_ids": cids}},
            key=API_KEY))
    for i, q in enumerate(["termination notice", "mode:keyword limit:3 fees", "limit:0 x",
                           "mode:semantic  "]):
        model.add("search-query-%s-%d" % (tag, i), bytes([SEL_SEARCH_QUERY]) + b(q))
    usage_req = {"analyticsRequest": {
        "timeRange": {"startTime": "2026-01-01 00:00:00", "endTime": "2026-01-16 00:00:00",
                      "timezone": "Etc/GMT"},
        "timeUnit": "TIME_UNIT_DAY", "values": [{"name": "usd", "aggregation": "AGGREGATION_SUM"}],
        "groupBy": ["description"], "filters": []}}
    usage = emu.call("POST", bp + "/usage", usage_req)
    model.add("usage-%s" % tag, bytes([SEL_USAGE]) + usage)
    model.add("usage-svg-%s" % tag, bytes([SEL_USAGE_SVG]) + usage)
    model.add("usage-leap-%s" % tag, bytes([SEL_USAGE]) + parts(usage, "1709164800"))
    model.add("usage-month-%s" % tag,
              bytes([SEL_USAGE_MONTH]) + parts(usage, "1768478400", "2025", "12"))
    model.add("usage-this-month-%s" % tag,
              bytes([SEL_USAGE_MONTH]) + parts(usage, "1768478400", "2026", "1"))
    model.add("usage-month-9999-%s" % tag,
              bytes([SEL_USAGE_MONTH]) + parts(usage, "", "9999", "12"))
    usage_req["analyticsRequest"]["groupBy"] = ["model"]
    model.add("usage-by-model-%s" % tag,
              bytes([SEL_USAGE]) + emu.call("POST", bp + "/usage", usage_req))

    # error bodies
    model.add("error-401-%s" % tag, bytes([SEL_ERROR]) + emu.call(
        "GET", p + "/api-keys", key="wrong"))
    model.add("error-404-key-%s" % tag, bytes([SEL_ERROR]) + emu.call(
        "DELETE", "/auth/api-keys/nope"))
    model.add("error-404-path-%s" % tag, bytes([SEL_ERROR]) + emu.call("GET", "/nope"))
    model.add("error-403-%s" % tag, bytes([SEL_ERROR]) + emu.call(
        "GET", "/auth/teams/other/api-keys"))
    model.add("error-400-%s" % tag, bytes([SEL_ERROR]) + emu.call(
        "GET", "/v1/collections?limit=1000"))
    emu.control("faults", {"fail_next": 1, "fail_status": 503})
    model.add("error-503-%s" % tag, bytes([SEL_ERROR]) + emu.call("GET", p + "/models"))

    # the same routes with every value of the wrong type
    for name, sel, path in (("keys-page", SEL_KEYS_PAGE, p + "/api-keys"),
                            ("collections-page", SEL_COLLECTIONS_PAGE, "/v1/collections"),
                            ("models", SEL_MODELS, p + "/models"),
                            ("validation", SEL_VALIDATION, "/auth/management-keys/validation"),
                            ("balance", SEL_BILLING, bp + "/prepaid/balance")):
        emu.control("faults", {"wrong_types_next": 1})
        model.add("%s-wrong-types-%s" % (name, tag), bytes([sel]) + emu.call("GET", path))
    emu.control("faults", {})


def hand_written(model, names):
    for i, t in enumerate([
            "2025-11-13T16:14:38.164829Z", "2025-11-13t16:14:38z", "2024-02-29 23:59:60+01:00",
            "1970-01-01T00:00:00-23:59", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59.9Z",
            "2023-02-29T00:00:00Z", "1762790400", "-62135596800", "+0",
            "9223372036854775807", "2025-11-13T16:14:38.Z", "2025-11-13T16:14:38+0100"]):
        model.add("time-%d" % i, bytes([SEL_TIME]) + b(t))
    for i, body in enumerate([
            '{"error":"line one\\nline two","code":"x"}', '{"message":"  \\u0007bell  "}',
            '{"error":{"message":"nested \\u00e9\\u00e9\\u00e9"}}', "<html>\r\nBad Gateway",
            "\n\n  plain text body   ", '{"error":""}', '"just a string"', "caf\xc3\xa9 \xff"]):
        model.add("error-%d" % i, bytes([SEL_ERROR]) + b(body))
    for i, (name, body) in enumerate([
            ("ci-bot", {"acls": ["api-key:model:*"], "qps": 5, "qpm": 100, "tpm": "1000"}),
            ("ci-bot", {"aclStrings": [], "tpm": 42, "expireTime": "2027-01-01T00:00:00Z"}),
            ("ci-bot", {"name": "other"}), ("ci-bot", {"disabled": True}),
            ("x", {"tpm": "12x"}), ("new\nline/\xc2\x9b", {"name": "new\nline/\xc2\x9b"})]):
        model.add("key-create-%d" % i, bytes([SEL_KEY_CREATE]) + parts(name, pretty(body)))
    model.add("key-create-empty", bytes([SEL_KEY_CREATE]) + parts("k", " \n\t"))
    model.add("key-create-array", bytes([SEL_KEY_CREATE]) + parts("k", "[1,2]"))
    model.add("counters", bytes([SEL_COUNTERS]) + parts(
        "requests", "get", "requests", "put", "cache", "hits", "requests", "get"))
    model.add("name-bodies", bytes([SEL_NAME_BODIES]) + b('we"ird\\/na\x01me'))
    deep = '{"apiKeys":[' + "[" * 30 + "]" * 30 + "," + '{"a":' * 31 + "1" + "}" * 31 + "]}"
    model.add("keys-page-deep", bytes([SEL_KEYS_PAGE]) + b(deep))
    model.add("documents-page-sizes", bytes([SEL_DOCUMENTS_PAGE]) + b(json.dumps({"documents": [
        {"file_metadata": {"file_id": "f1", "name": "a", "size_bytes": "-5"}},
        {"fileMetadata": {"fileId": "f2", "name": "b", "sizeBytes": 1e300}},
        {"file_metadata": {"file_id": "f3\u0000x", "name": "c"}},
        {"file_metadata": {"file_id": "f4", "name": "d", "size_bytes": "9223372036854775808",
                           "created_at": 1762790400}}], "pagination_token": ""})))
    coll = pretty({"collection_name": "papers", "field_definitions": [
        {"key": "author", "required": True}, {"key": "year", "required": "yes"}, {"key": 7}]})
    doc = pretty({"file_metadata": {"file_id": "f1", "name": "a"},
                  "fields": {"author": "ann", "n": 1, "e": "\u00e9"}})
    for i, value in enumerate(['{"author":"ann","year":"2024"}', '{"year":2024}', "[1]",
                               '{"author":""}', '{"":"x"}', '{"a":"b\\u0000c"}',
                               '{"a":"\udcff"}', ' { "author" : "a/b" } ', '{"a":"1","a":"2"}']):
        model.add("fields-%d" % i, bytes([SEL_FIELDS]) + parts(value, coll, doc))
    model.add("billing-bare-total", bytes([SEL_BILLING]) + parts(
        '{"total":"-9223372036854775808"}', "", '{"coreInvoice":{}}'))

    # names: hostile shapes, collisions with the "~<id>" scheme, probes
    long = "n" * 300
    toks = ["a/b", "id1", "a%2Fb", "id2", ".", "id3", "..", "..", "", "", "dup", "z",
            "dup", "y", "dup~y", "x", ".Trash", "t1", ".Trash-1000", "t2", "Thumbs.db", "t3",
            long, "L1", long, "L2", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80" * 30, "u1",
            "bad-\xff\xfe-utf8", "b1", "esc\x1b[31mred\xc2\x9b", "e1", "collection.json", "c1"]
    names.add("hostile-default", bytes([0, 0]) + parts(*toks))
    names.add("hostile-32-reserved", bytes([1, F_RESERVED | F_RESERVE_FIRST | 0x10]) +
              parts(*toks))
    names.add("hostile-64-dups", bytes([64, F_DUP_EXACT | F_DUP_SUFFIX | 0x20]) + parts(*toks))
    names.add("hostile-odd-times", bytes([200, F_DUP_EXACT | 0x30]) + parts(*toks))
    names.add("same-id-twice", bytes([0, F_DUP_EXACT]) + parts("a", "id", "a", "id", "a~id",
                                                               "q", "a", "id~2"))
    names.add("urls", bytes([0, 0]) + parts(
        "https://management-api.x.ai", "http://127.0.0.1:8080", "http://localhost/x",
        "http://[::1]:1/", "http://127.1", "http://localhost@evil.com", "https:///x",
        "http://127.0.0.1.nip.io", "http://[::1]x", "ftp://127.0.0.1", "http://0x7f.1"))
    names.add("temp-names", bytes([0, 0]) + parts(
        ".swp", "file~", "4913", "#x#", ".#lock", "sedAb12Z", "sed12345", "x.json",
        "goutputstream-ABC", "12a"))


def main():
    model = Corpus("model")
    names = Corpus("names")
    emu = Emulator()
    try:
        for seed in ("sample", "hostile"):
            record_bodies(emu, seed, model, names)
    finally:
        emu.stop()
    hand_written(model, names)
    print("corpus: %d model seeds, %d names seeds" % (len(model.names), len(names.names)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
