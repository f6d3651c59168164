"""Hostile names from the server: every resource stays reachable."""
import json
import os

import util


def test_every_hostile_key_is_reachable(mount_factory, emu):
    emu.reset("hostile")
    m = mount_factory()
    body = emu.api("GET", "/auth/teams/%s/api-keys" % util.TEAM_ID)
    server = json.loads(body.decode("utf-8", "replace"))["apiKeys"]
    names = os.listdir(m.p("keys"))
    assert len(names) == len(server)
    assert len(set(names)) == len(names)
    ids = set()
    for n in names:
        assert "/" not in n and n not in (".", "..", "") and len(n.encode()) <= 255
        with open(m.p("keys", n), "rb") as f:
            ids.add(json.loads(f.read().decode("utf-8", "replace"))["apiKeyId"])
    assert ids == {k["apiKeyId"] for k in server}


def test_hostile_collections_and_documents(mount_factory, emu):
    emu.reset("hostile")
    m = mount_factory()
    state = emu.state()
    assert len(os.listdir(m.p("collections"))) == len(state["collections"])
    total = 0
    for c in os.listdir(m.p("collections")):
        docs = os.listdir(m.p("collections", c, "documents"))
        metas = os.listdir(m.p("collections", c, "metadata"))
        assert sorted(d + ".json" for d in docs) == sorted(metas)
        for d in docs:
            assert len(d.encode()) <= 250
            os.stat(m.p("collections", c, "documents", d))
        total += len(docs)
    assert total == sum(len(c["documents"]) for c in state["collections"])


def test_names_are_stable_across_mounts(mount_factory, emu):
    emu.reset("hostile")
    a = sorted(os.listdir(mount_factory().p("keys")))
    b = sorted(os.listdir(mount_factory().p("keys")))
    assert a == b
