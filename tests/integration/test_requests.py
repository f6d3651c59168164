"""Requests per command: one list request per page, none for what is known."""
import math
import os

import util
from util import run

KEYS_ROUTE = "GET /auth/teams/{teamId}/api-keys"
DOCS_ROUTE = "GET /v1/collections/{collection_id}/documents"
COLLS_ROUTE = "GET /v1/collections"


def test_ls_l_of_1000_keys_costs_the_pages(emu, mount_factory):
    emu.reset("large", keys=1000, collections=0, documents=0)
    m = mount_factory()
    emu.reset_stats()
    r = run("ls -l %s > /dev/null" % m.p("keys"))
    assert r.returncode == 0, r.stderr
    s = emu.stats()
    pages = math.ceil(1000 / 100)
    assert util.route_count(s, KEYS_ROUTE) == pages
    assert s["total"] == pages
    assert len(os.listdir(m.p("keys"))) == 1000
    emu.reset_stats()
    r = run("ls -l %s > /dev/null; stat %s/key-00500 > /dev/null" % (m.p("keys"), m.p("keys")))
    assert r.returncode == 0
    assert emu.stats()["total"] == 0


def test_find_costs_one_request_per_directory_page(emu, mount_factory):
    emu.reset("large", keys=10, collections=5, documents=150)
    m = mount_factory()
    emu.reset_stats()
    r = run(["find", m.path, "-path", "*/collections/*", "-type", "f"])
    assert r.returncode == 0, r.stderr
    files = r.stdout.split()
    assert len(files) == 5 * (1 + 150 + 150)
    s = emu.stats()
    assert util.route_count(s, COLLS_ROUTE) == 1
    assert util.route_count(s, DOCS_ROUTE) == 5 * math.ceil(150 / 100)
    # find also lists keys/ and models/ on its way (one request each).
    assert util.route_count(s, KEYS_ROUTE) == 1
    assert util.route_count(s, "GET /auth/teams/{teamId}/models") == 1
    assert s["total"] == 3 + 5 * 2


def test_parallel_readers_share_one_request(emu, mount_factory):
    m = mount_factory()
    emu.faults(latency_ms=300)
    emu.reset_stats()
    r = run("for i in $(seq 8); do cat %s/ci-bot > /dev/null & done; wait" % m.p("keys"))
    assert r.returncode == 0
    assert util.route_count(emu.stats(), KEYS_ROUTE) == 1
    emu.faults()


def test_cached_listing_answers_lookups(emu, mnt):
    os.listdir(mnt.p("keys"))
    emu.reset_stats()
    for name in os.listdir(mnt.p("keys")):
        with open(mnt.p("keys", name)) as f:
            f.read()
    assert emu.stats()["total"] == 0
