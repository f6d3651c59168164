"""JSON files from the kernel's page cache (docs/semantics.md, "Caching").

Warm reads of keys reach neither the server nor the daemon; a change, made
through the mount or behind its back, reads back whole (bytes and st_size
from one version); a one-time secret replaced is never served again.
"""
import json
import os

import util
from util import run


def mount_stats(m):
    with open(m.p(".xaifs", "stats")) as f:
        return json.load(f)


def read_whole(path):
    """Bytes and st_size of one open: a reader's view of one version."""
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        return read_rest(fd), size
    finally:
        os.close(fd)


def read_rest(fd):
    chunks = []
    while True:
        b = os.read(fd, 65536)
        if not b:
            return b"".join(chunks)
        chunks.append(b)


def read_key(m, name):
    data, size = read_whole(m.p("keys", name))
    assert size == len(data), "st_size %d but %d bytes read from %s" % (size, len(data), name)
    return json.loads(data)


def key_id(emu, name):
    found = [k["apiKeyId"] for k in emu.state()["keys"] if k.get("name") == name]
    assert len(found) == 1, found
    return found[0]


def update_elsewhere(emu, name, **fields):
    emu.api("PUT", "/auth/api-keys/%s" % key_id(emu, name),
            {"apiKey": fields, "fieldMask": ",".join(fields)})


def refresh(m):
    with open(m.p(".xaifs", "refresh"), "w") as f:
        f.write("1\n")


def test_warm_key_reads_cost_no_request_and_no_daemon_read(emu, mnt):
    names = sorted(os.listdir(mnt.p("keys")))
    assert len(names) >= 3
    for _ in range(2):                      # the second pass is served by the page cache
        for n in names:
            read_key(mnt, n)
    emu.reset_stats()
    s0 = mount_stats(mnt)
    s1 = mount_stats(mnt)                   # what reading the stats file itself costs
    for n in names:
        read_key(mnt, n)
        r = run(["cat", mnt.p("keys", n)])
        assert r.returncode == 0 and json.loads(r.stdout)
    s2 = mount_stats(mnt)
    cost = s1["fuse"]["reads"] - s0["fuse"]["reads"]
    assert s2["fuse"]["reads"] - s1["fuse"]["reads"] == cost, (s0, s1, s2)
    assert emu.stats()["total"] == 0, emu.stats()


def test_key_changed_through_the_mount_reads_back_whole(emu, mnt):
    before = read_key(mnt, "ci-bot")
    read_key(mnt, "ci-bot")
    path = mnt.p("keys", "ci-bot")
    with open(path, "w") as f:
        f.write(json.dumps({"qps": 77, "tpm": "123456789"}))
    after = read_key(mnt, "ci-bot")
    assert after["qps"] == 77 and after["tpm"] == "123456789"
    assert after["apiKeyId"] == before["apiKeyId"]
    assert os.stat(path).st_size == len(open(path, "rb").read())


def test_key_changed_behind_the_mount_reads_back_whole_after_refresh(emu, mnt):
    read_key(mnt, "ci-bot")
    read_key(mnt, "ci-bot")                 # pages and attributes cached
    update_elsewhere(emu, "ci-bot", qps=4321, tpm="98765432101")
    refresh(mnt)
    got = read_key(mnt, "ci-bot")
    assert got["qps"] == 4321 and got["tpm"] == "98765432101"
    r = run(["cat", mnt.p("keys", "ci-bot")])
    assert json.loads(r.stdout) == got


def test_key_changed_behind_the_mount_within_cache_ttl_never_mixes(emu, mount_factory):
    m = mount_factory(["cache_ttl=1"])
    read_key(m, "ci-bot")
    read_key(m, "ci-bot")
    # a longer file: the old size must never cut the new bytes, nor the reverse
    update_elsewhere(emu, "ci-bot", qps=9, tpm="1234567890123")
    seen = []

    def new_version():
        got = read_key(m, "ci-bot")         # asserts size == bytes and valid JSON
        seen.append(got["qps"])
        return got["qps"] == 9

    util.wait_for(new_version, 60, "the key's new version through the page cache")
    # and back to a shorter one
    update_elsewhere(emu, "ci-bot", qps=5, tpm="1")
    util.wait_for(lambda: read_key(m, "ci-bot")["qps"] == 5, 60, "the shorter version")
    assert read_key(m, "ci-bot")["tpm"] == "1"


def test_fstat_of_a_file_opened_before_a_change_matches_its_bytes(emu, mnt):
    """One open is one version: its fstat() and its bytes agree even when the
    key changed and was fetched again between open() and fstat()."""
    before = read_key(mnt, "ci-bot")
    read_key(mnt, "ci-bot")                 # now read through the page cache
    fd = os.open(mnt.p("keys", "ci-bot"), os.O_RDONLY)
    try:
        update_elsewhere(emu, "ci-bot", qps=before.get("qps", 0) + 7,
                         tpm="1234567890123")
        refresh(mnt)                        # the kernel forgets its attributes
        size = os.fstat(fd).st_size         # so it asks the daemon: the new size
        data = read_rest(fd)
    finally:
        os.close(fd)
    assert size == len(data), "fstat says %d bytes, the open read %d" % (size, len(data))
    # nothing was read before the kernel learnt the new size: the open reads
    # the new version, whole
    assert json.loads(data)["qps"] == before.get("qps", 0) + 7
    assert read_key(mnt, "ci-bot")["qps"] == before.get("qps", 0) + 7


def test_listing_change_refetched_invalidates_only_what_changed(emu, mount_factory):
    m = mount_factory(["cache_ttl=1"])
    for n in ("ci-bot", "staging"):
        read_key(m, n)
        read_key(m, n)
    update_elsewhere(emu, "staging", qps=31)
    util.wait_for(lambda: read_key(m, "staging").get("qps") == 31, 60, "staging's new version")
    assert read_key(m, "ci-bot")["name"] == "ci-bot"


def test_replaced_secret_is_never_served_again(emu, mnt):
    path = mnt.p("keys", "ci-bot")
    with open(path, "w") as f:
        f.write('{"rotate": true}\n')
    first = read_key(mnt, "ci-bot")["apiKey"]
    assert first.startswith("xai-")
    read_key(mnt, "ci-bot")                 # warm: the secret is in the page cache
    with open(path, "w") as f:
        f.write('{"rotate": true}\n')
    for _ in range(3):
        data, size = read_whole(path)
        assert first.encode() not in data
        assert size == len(data)
        second = json.loads(data)["apiKey"]
        assert second.startswith("xai-") and second != first
    r = run(["cat", path])
    assert first not in r.stdout


def test_deleted_key_secret_is_not_served(emu, mnt):
    path = mnt.p("keys", "ci-secret")
    with open(path, "w") as f:
        f.write(json.dumps({"acls": ["api-key:model:*"]}))
    secret = read_key(mnt, "ci-secret")["apiKey"]
    read_key(mnt, "ci-secret")
    fd = os.open(path, os.O_RDONLY)         # a handle held across the removal
    try:
        os.unlink(path)
        assert not os.path.exists(path)
        # the kernel dropped the pages that held the secret: a new read of the
        # old handle cannot come from them, and nothing on the tree shows it
        for n in os.listdir(mnt.p("keys")):
            assert secret.encode() not in read_whole(mnt.p("keys", n))[0]
    finally:
        os.close(fd)


def test_usage_reads_whole_while_it_changes(emu, mount_factory):
    m = mount_factory(["live_ttl=0"])
    for _ in range(5):
        data, size = read_whole(m.p("usage"))
        assert size == len(data)
        json.loads(data)
