"""Changes made elsewhere (the console, another machine) while the mount is up.

The account is changed behind the mount's back through the emulator's API;
the tests assert what cat, stat and ls show after .xaifs/refresh, SIGHUP, or
only the passing of cache_ttl. A name the server has never answers ENOENT.
"""
import json
import os
import signal
import subprocess

import util
from util import run

TEAM = util.TEAM_ID


def key_id(emu, name):
    found = [k["apiKeyId"] for k in emu.state()["keys"] if k.get("name") == name]
    assert len(found) == 1, "want one key %r on the server, got %d" % (name, len(found))
    return found[0]


def delete_elsewhere(emu, name):
    emu.api("DELETE", "/auth/api-keys/%s" % key_id(emu, name))


def create_elsewhere(emu, name, qps):
    emu.api("POST", "/auth/teams/%s/api-keys" % TEAM,
            {"name": name, "acls": ["api-key:model:*"], "qps": qps})


def refresh(m):
    with open(m.p(".xaifs", "refresh"), "w") as f:
        f.write("1\n")


def cat_json(path):
    r = run(["cat", path])
    assert r.returncode == 0, "cat %s: %s" % (path, r.stderr)
    return json.loads(r.stdout)


def warm(m, name):
    """The kernel now holds the name's entry and inode, as after any use."""
    cat_json(m.p("keys", name))
    os.stat(m.p("keys", name))
    assert name in os.listdir(m.p("keys"))


def test_key_recreated_elsewhere_reads_at_once_after_refresh(emu, mnt):
    warm(mnt, "ci-bot")
    old = key_id(emu, "ci-bot")
    delete_elsewhere(emu, "ci-bot")
    create_elsewhere(emu, "ci-bot", 9)
    refresh(mnt)
    got = cat_json(mnt.p("keys", "ci-bot"))
    assert got["qps"] == 9 and got["apiKeyId"] != old
    st = os.stat(mnt.p("keys", "ci-bot"))
    assert st.st_size == len(open(mnt.p("keys", "ci-bot"), "rb").read())
    assert "ci-bot" in os.listdir(mnt.p("keys"))


def test_key_recreated_elsewhere_reads_after_sighup(emu, mnt):
    warm(mnt, "ci-bot")
    delete_elsewhere(emu, "ci-bot")
    create_elsewhere(emu, "ci-bot", 11)
    mnt.proc.send_signal(signal.SIGHUP)
    util.wait_for(lambda: "caches dropped" in mnt.stderr(), 60, "SIGHUP handled")
    assert cat_json(mnt.p("keys", "ci-bot"))["qps"] == 11
    r = run(["stat", "-c", "%s", mnt.p("keys", "ci-bot")])
    assert r.returncode == 0, r.stderr


def test_key_recreated_elsewhere_reads_within_cache_ttl(emu, mount_factory):
    m = mount_factory(["cache_ttl=1"])
    warm(m, "ci-bot")
    delete_elsewhere(emu, "ci-bot")
    create_elsewhere(emu, "ci-bot", 13)

    def shows_new():
        r = run(["cat", m.p("keys", "ci-bot")])
        # Never "No such file": the server has the name all along.
        assert r.returncode == 0, "cat of a name the server has: " + r.stderr
        return json.loads(r.stdout)["qps"] == 13

    util.wait_for(shows_new, 60, "the re-created key within cache_ttl")


def test_key_deleted_elsewhere_is_gone_after_refresh(emu, mnt):
    warm(mnt, "ci-bot")
    delete_elsewhere(emu, "ci-bot")
    refresh(mnt)
    r = run(["cat", mnt.p("keys", "ci-bot")])
    assert r.returncode != 0 and "No such file" in r.stderr, r
    assert not os.path.exists(mnt.p("keys", "ci-bot"))
    assert "ci-bot" not in os.listdir(mnt.p("keys"))


def test_key_created_elsewhere_reads_after_refresh(emu, mnt):
    assert not os.path.exists(mnt.p("keys", "from-console"))
    create_elsewhere(emu, "from-console", 4)
    refresh(mnt)
    assert cat_json(mnt.p("keys", "from-console"))["qps"] == 4
    assert "from-console" in os.listdir(mnt.p("keys"))


def test_key_changed_elsewhere_reads_new_limits_after_refresh(emu, mnt):
    warm(mnt, "ci-bot")
    emu.api("PUT", "/auth/api-keys/%s" % key_id(emu, "ci-bot"),
            {"apiKey": {"qps": 21}, "fieldMask": "qps"})
    refresh(mnt)
    # stat first: the size the kernel cached before the change is gone too.
    size = os.stat(mnt.p("keys", "ci-bot")).st_size
    with open(mnt.p("keys", "ci-bot"), "rb") as f:
        data = f.read()
    assert size == len(data)
    assert json.loads(data)["qps"] == 21
    r = run("jq .qps %s" % mnt.p("keys", "ci-bot"))
    assert r.returncode == 0 and r.stdout.strip() == "21", r


def test_document_replaced_elsewhere_reads_after_refresh(emu, mnt):
    docs = mnt.p("collections", "contracts", "documents")
    with open(os.path.join(docs, "msa.txt"), "rb") as f:
        f.read()
    cid = [c["collection_id"] for c in emu.state()["collections"]
           if c["collection_name"] == "contracts"][0]
    old = [d["file_metadata"]["file_id"] for c in emu.state()["collections"]
           if c["collection_id"] == cid for d in c["documents"]
           if d["file_metadata"]["name"] == "msa.txt"][0]
    emu.api("DELETE", "/v1/collections/%s/documents/%s" % (cid, old))
    body = b"replaced elsewhere\n"
    boundary = "xaifs-test-boundary"
    parts = []
    for name, value, fname in (("name", b"msa.txt", None), ("data", body, "msa.txt"),
                               ("content_type", b"text/plain", None)):
        disp = 'form-data; name="%s"' % name + ('; filename="%s"' % fname if fname else "")
        parts.append(b"--" + boundary.encode() + b"\r\nContent-Disposition: " +
                     disp.encode() + b"\r\n\r\n" + value + b"\r\n")
    data = b"".join(parts) + b"--" + boundary.encode() + b"--\r\n"
    r = subprocess.run(["curl", "-sf", "-X", "POST", "-H",
                        "Authorization: Bearer " + util.MGMT_KEY, "-H",
                        "Content-Type: multipart/form-data; boundary=" + boundary,
                        "--data-binary", "@-",
                        "%s/v1/collections/%s/documents" % (emu.url, cid)],
                       input=data, capture_output=True)
    assert r.returncode == 0, r.stderr
    refresh(mnt)
    with open(os.path.join(docs, "msa.txt"), "rb") as f:
        assert f.read() == body
    assert os.stat(os.path.join(docs, "msa.txt")).st_size == len(body)


def test_write_of_a_value_changed_elsewhere_is_not_dropped(emu, mnt):
    """The cache still shows qps 5 while the server has 21 (changed elsewhere):
    writing qps 5 must set 5, not be taken for "nothing changed"."""
    before = cat_json(mnt.p("keys", "ci-bot"))["qps"]
    emu.api("PUT", "/auth/api-keys/%s" % key_id(emu, "ci-bot"),
            {"apiKey": {"qps": before + 16}, "fieldMask": "qps"})
    with open(mnt.p("keys", "ci-bot"), "w") as f:
        f.write('{"qps": %d}' % before)
    on_server = [k for k in emu.state()["keys"] if k["name"] == "ci-bot"][0]
    assert on_server["qps"] == before
    assert cat_json(mnt.p("keys", "ci-bot"))["qps"] == before
