"""The whole read-only tree, checked with real tools against the emulator's state."""
import errno
import hashlib
import json
import os
import stat
import subprocess
from datetime import datetime

import pytest

import util
from util import run


def api_json(emu, path, key=util.MGMT_KEY):
    return json.loads(emu.api("GET", path, key=key))


def all_keys(emu):
    return api_json(emu, "/auth/teams/%s/api-keys" % util.TEAM_ID)["apiKeys"]


def all_collections(emu):
    return api_json(emu, "/v1/collections")["collections"]


def all_documents(emu, cid):
    docs, token = [], None
    while True:
        q = "?limit=100" + ("&pagination_token=" + token if token else "")
        page = api_json(emu, "/v1/collections/%s/documents%s" % (cid, q))
        docs += page.get("documents", [])
        token = page.get("pagination_token")
        if not token:
            return docs


def rfc3339(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def test_root_lists_the_tree(mnt):
    assert sorted(os.listdir(mnt.path)) == [".xaifs", "audit.jsonl", "billing", "collections",
                                           "endpoints", "invoices", "keys", "models",
                                           "regions", "search", "spending-limits", "usage",
                                           "usage-by-month", "usage.svg"]
    r = run(["ls", mnt.path])
    assert r.returncode == 0
    assert r.stdout.split() == ["audit.jsonl", "billing", "collections", "endpoints",
                                "invoices", "keys", "models", "regions", "search",
                                "spending-limits", "usage", "usage-by-month", "usage.svg"]


def test_keys_are_named_as_on_the_server(emu, mnt):
    names = sorted(k["name"] for k in all_keys(emu))
    assert len(names) >= 5
    assert sorted(os.listdir(mnt.p("keys"))) == names


def test_key_reads_as_the_server_object(emu, mnt):
    for key in all_keys(emu):
        with open(mnt.p("keys", key["name"])) as f:
            got = json.load(f)
        assert got == key
        assert "apiKey" not in got


def test_jq_reads_a_key(emu, mnt):
    key = next(k for k in all_keys(emu) if k["name"] == "ci-bot")
    r = run(["jq", "-c", ".aclStrings", mnt.p("keys", "ci-bot")])
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == key.get("aclStrings", [])


def test_every_file_has_its_exact_size(mnt):
    seen = 0
    for top, dirs, files in os.walk(mnt.path):
        if top.endswith("/.xaifs"):
            continue
        for name in files:
            path = os.path.join(top, name)
            st = os.stat(path)
            with open(path, "rb") as f:
                data = f.read()
            assert st.st_size == len(data), path
            want = 0o600 if util.writable_file(os.path.relpath(path, mnt.path)) else 0o400
            assert stat.S_IMODE(st.st_mode) == want, path
            if path.endswith(".jsonl"):
                for line in data.splitlines():
                    json.loads(line)
            elif path.endswith(".svg"):
                assert data.startswith(b"<svg ") and data.endswith(b"</svg>\n"), path
            elif "/documents/" not in path:
                assert data.endswith(b"\n") and not data.endswith(b"\n\n"), path
                json.loads(data)
            seen += 1
    assert seen > 15


def test_programs_that_read_st_size_bytes(mnt):
    path = mnt.p("keys", "ci-bot")
    size = os.stat(path).st_size
    fd = os.open(path, os.O_RDONLY)
    try:
        data = os.read(fd, size)
    finally:
        os.close(fd)
    assert len(data) == size
    json.loads(data)
    r = run("head -c %d %s | wc -c" % (size, path))
    assert int(r.stdout) == size
    r = run(["dd", "if=" + path, "bs=7", "status=none"], text=False)
    assert r.stdout == data


def test_key_mtime_is_its_time(emu, mnt):
    for key in all_keys(emu):
        t = key.get("modifyTime") or key.get("createTime")
        if not t:
            continue
        assert int(os.stat(mnt.p("keys", key["name"])).st_mtime) == int(rfc3339(t))


def test_directories_are_private(mnt):
    for d in ("keys", "collections", "models"):
        st = os.stat(mnt.p(d))
        assert stat.S_ISDIR(st.st_mode)
        assert stat.S_IMODE(st.st_mode) == 0o700
        assert st.st_uid == os.getuid()


def test_collections_and_their_files(emu, mnt):
    colls = all_collections(emu)
    assert sorted(os.listdir(mnt.p("collections"))) == sorted(c["collection_name"] for c in colls)
    for c in colls:
        name = c["collection_name"]
        assert sorted(os.listdir(mnt.p("collections", name))) == [
            "collection.json", "documents", "metadata", "search"]
        with open(mnt.p("collections", name, "collection.json")) as f:
            got = json.load(f)
        assert got == c
        docs = all_documents(emu, c["collection_id"])
        assert got.get("documents_count", 0) == len(docs)
        names = sorted(d["file_metadata"]["name"] for d in docs)
        assert sorted(os.listdir(mnt.p("collections", name, "documents"))) == names
        assert sorted(os.listdir(mnt.p("collections", name, "metadata"))) == [
            n + ".json" for n in names]
        assert int(os.stat(mnt.p("collections", name)).st_mtime) == int(rfc3339(c["created_at"]))


def test_document_bytes_are_exact(emu, mnt, tmp_path):
    checked = 0
    for c in all_collections(emu):
        for d in all_documents(emu, c["collection_id"]):
            fm = d["file_metadata"]
            want = emu.api("GET", "/v1/files/%s/content" % fm["file_id"], key=util.API_KEY)
            path = mnt.p("collections", c["collection_name"], "documents", fm["name"])
            st = os.stat(path)
            assert st.st_size == int(fm["size_bytes"]) == len(want)
            assert int(st.st_mtime) == int(rfc3339(fm["created_at"]))
            local = tmp_path / ("copy-" + fm["file_id"])
            local.write_bytes(want)
            r = run(["cmp", str(local), path])
            assert r.returncode == 0, r.stdout + r.stderr
            with open(path, "rb") as f:
                assert hashlib.sha256(f.read()).hexdigest() == fm["hash"]
            checked += 1
    assert checked >= 5


def test_document_metadata(emu, mnt):
    for c in all_collections(emu):
        for d in all_documents(emu, c["collection_id"]):
            fm = d["file_metadata"]
            with open(mnt.p("collections", c["collection_name"], "metadata",
                            fm["name"] + ".json")) as f:
                got = json.load(f)
            assert got == d
            assert got["status"].startswith("DOCUMENT_STATUS_")


def test_models_and_regions(emu, mnt):
    data = api_json(emu, "/auth/teams/%s/models" % util.TEAM_ID)
    names, clusters = set(), set()
    for cc in data["clusterConfigs"]:
        clusters.add(cc["clusterName"])
        for field, models in cc.items():
            if field.endswith("Models"):
                names.update(m["name"] for m in models)
    assert sorted(os.listdir(mnt.p("models"))) == sorted(names)
    for n in names:
        with open(mnt.p("models", n)) as f:
            m = json.load(f)
        assert m["name"] == n
        assert set(m["clusters"]) <= clusters and m["clusters"]
    with open(mnt.p("regions")) as f:
        regions = json.load(f)
    assert sorted(r["clusterName"] for r in regions["regions"]) == sorted(clusters)


def test_usage_is_month_to_date_per_day(mnt):
    r = run(["jq", "-e", ".timeSeries | length >= 0", mnt.p("usage")])
    assert r.returncode == 0, r.stderr
    with open(mnt.p("usage")) as f:
        usage = json.load(f)
    now = datetime.utcnow()
    assert usage["startTime"] == now.strftime("%Y-%m-01 00:00:00")
    assert usage["timeUnit"] == "TIME_UNIT_DAY"
    points = [p for s in usage["timeSeries"] for p in s["dataPoints"]]
    total = sum(p["values"][0] for p in points if p.get("values"))
    assert abs(usage["totalUsd"] - total) < 1e-6


def test_billing(emu, mnt):
    with open(mnt.p("billing")) as f:
        billing = json.load(f)
    balance = api_json(emu, "/v1/billing/teams/%s/prepaid/balance" % util.TEAM_ID)
    assert billing["balance"] == balance
    assert billing["prepaidCreditCents"] == abs(int(balance["total"]["val"]))
    assert "spendingLimits" in billing and "invoicePreview" in billing


def test_ls_find_du_stat_glob(mnt):
    r = run(["ls", "-l", mnt.p("keys")])
    assert r.returncode == 0 and "ci-bot" in r.stdout
    r = run(["find", mnt.path, "-type", "f"])
    assert r.returncode == 0
    assert mnt.p("keys", "ci-bot") in r.stdout.split("\n")
    r = run(["du", "-sb", mnt.p("collections")])
    assert r.returncode == 0 and int(r.stdout.split()[0]) > 0
    r = run(["stat", "-c", "%s %F", mnt.p("keys", "ci-bot")])
    assert r.returncode == 0 and r.stdout.split()[1] == "regular"
    r = run("ls -d %s/old-*" % mnt.p("keys"))
    assert r.returncode == 0
    assert sorted(os.path.basename(p) for p in r.stdout.split()) == ["old-test-1", "old-test-2"]


def test_missing_names_and_probes(emu, mnt):
    assert not os.path.exists(mnt.p("keys", "no-such-key"))
    assert not os.path.exists(mnt.p("nothing"))
    os.listdir(mnt.p("collections", "contracts", "documents"))
    emu.reset_stats()
    for probe in (".Trash", ".Trash-1000", ".hidden", "autorun.inf", ".xdg-volume-info",
                  ".DS_Store", "desktop.ini", "Thumbs.db"):
        assert not os.path.exists(mnt.p(probe))
        assert not os.path.exists(mnt.p("keys", probe))
        assert not os.path.exists(mnt.p("collections", "contracts", "documents", probe))
    assert emu.stats()["total"] == 0


def test_document_without_inference_key(emu, mount_factory):
    m = mount_factory(inference_key=False)
    docs = os.listdir(m.p("collections", "contracts", "documents"))
    with pytest.raises(PermissionError):
        open(m.p("collections", "contracts", "documents", docs[0]), "rb").read()
    assert "inference key" in m.stderr()


N_OPENS = int(os.environ.get("XAIFS_TEST_OPENS", "2000"))


def test_listed_document_opens_while_its_download_fails_fast(emu, mount_factory):
    """A download that fails at once (no inference key) must not remove the
    file a reader is about to open: every open answers EACCES, never ENOENT."""
    m = mount_factory(inference_key=False)
    d = m.p("collections", "contracts", "documents")
    names = sorted(os.listdir(d))
    errs = {}
    for i in range(N_OPENS):
        try:
            with open(os.path.join(d, names[i % len(names)]), "rb") as f:
                f.read()
            errs["no error"] = errs.get("no error", 0) + 1
        except OSError as e:
            errs[e.strerror] = errs.get(e.strerror, 0) + 1
    assert errs == {os.strerror(errno.EACCES): N_OPENS}, errs


def test_sigterm_unmounts_cleanly(mount_factory):
    m = mount_factory()
    os.listdir(m.p("keys"))
    m.proc.terminate()
    assert m.proc.wait(60) == 0
    util.wait_for(lambda: not os.path.ismount(m.path), 60, "unmount")


def test_sigterm_with_handles_still_open(mount_factory):
    """Handles the kernel never released (files and directories still open
    at SIGTERM) are freed at exit: clean exit, nothing leaked (the sanitizer
    builds scan the daemon's stderr when the mount is stopped)."""
    m = mount_factory()
    d = os.open(m.p("keys"), os.O_RDONLY | os.O_DIRECTORY)
    r = open(m.p("keys", "ci-bot"), "rb")
    r.read(5)
    w = os.open(m.p("keys", "never-committed"), os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(w, b'{"qps": 1')
    doc = open(m.p("collections", "contracts", "documents", "msa.txt"), "rb")
    doc.read(10)
    try:
        m.proc.terminate()
        assert m.proc.wait(60) == 0, m.stderr()
    finally:
        for f in (r, doc):
            try:
                f.close()
            except OSError:
                pass
        for fd in (d, w):
            try:
                os.close(fd)
            except OSError:
                pass
    util.wait_for(lambda: not os.path.ismount(m.path), 60, "unmount")
