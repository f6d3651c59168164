"""Requests per command: one list request per page, none for what is known."""
import json
import math
import os

import util
from util import run

KEYS_ROUTE = "GET /auth/teams/{teamId}/api-keys"
DOCS_ROUTE = "GET /v1/collections/{collection_id}/documents"
COLLS_ROUTE = "GET /v1/collections"


def test_ls_l_of_1000_keys_costs_one_request(emu, mount_factory):
    """The keys route answers every key at once when no pageSize is sent."""
    emu.reset("large", keys=1000, collections=0, documents=0)
    m = mount_factory()
    emu.reset_stats()
    r = run("ls -l %s > /dev/null" % m.p("keys"))
    assert r.returncode == 0, r.stderr
    s = emu.stats()
    assert util.route_count(s, KEYS_ROUTE) == 1
    assert s["total"] == 1
    assert len(os.listdir(m.p("keys"))) == 1000
    emu.reset_stats()
    r = run("ls -l %s > /dev/null; stat %s/key-00500 > /dev/null" % (m.p("keys"), m.p("keys")))
    assert r.returncode == 0
    assert emu.stats()["total"] == 0


def test_page_size_option_still_pages_keys(emu, mount_factory):
    emu.reset("large", keys=1000, collections=0, documents=0)
    m = mount_factory(["page_size=100"])
    emu.reset_stats()
    assert len(os.listdir(m.p("keys"))) == 1000
    assert util.route_count(emu.stats(), KEYS_ROUTE) == math.ceil(1000 / 100)


def test_keys_follow_a_token_even_without_page_size(emu, mount_factory):
    """A server that pages anyway (a token comes back) is followed to the end."""
    emu.reset("large", keys=250, collections=0, documents=0)
    emu.control("POST", "/_emu/variants", {"keys_page_size": 100})
    m = mount_factory()
    emu.reset_stats()
    assert len(os.listdir(m.p("keys"))) == 250
    assert util.route_count(emu.stats(), KEYS_ROUTE) == 3


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
    # find also lists keys/, models/ and invoices/ on its way (one request each); the
    # search/ directories are empty and start no search.
    assert util.route_count(s, KEYS_ROUTE) == 1
    assert util.route_count(s, "GET /auth/teams/{teamId}/models") == 1
    assert util.route_count(s, "GET /v1/billing/teams/{team_id}/invoices") == 1
    assert util.route_count(s, "POST /v1/documents/search") == 0
    assert s["total"] == 4 + 5 * 2


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


# ---------------------------------------------------------------- bulk changes
# A change the server accepted updates the cached listing in place: a bulk
# command costs one request per file plus at most one listing per directory.

KEY_DELETE = "DELETE /auth/api-keys/{apiKeyId}"
KEY_CREATE = "POST /auth/teams/{teamId}/api-keys"
DOC_UPLOAD = "POST /v1/collections/{collection_id}/documents"
DOC_DELETE = "DELETE /v1/collections/{collection_id}/documents/{file_id}"


def listing_requests(s, route, n_items):
    """Requests of one listing of n_items (its pages), for the bounds below."""
    return util.route_count(s, route), math.ceil(max(n_items, 1) / 100)


def test_glob_rm_of_100_keys_costs_one_delete_each_and_one_listing(emu, mount_factory):
    emu.reset("large", keys=300, collections=0, documents=0)
    m = mount_factory()
    emu.reset_stats()
    r = run("rm %s/key-001*" % m.p("keys"))
    assert r.returncode == 0, r.stderr + m.stderr()
    s = emu.stats()
    assert util.route_count(s, KEY_DELETE) == 100
    got, one_listing = listing_requests(s, KEYS_ROUTE, 300)
    assert got <= one_listing, "rm re-listed keys/: %d listing requests" % got
    assert s["total"] == 100 + got, s
    # DELETE is idempotent: it keeps the pool's connections (no TCP or TLS
    # setup per file). Only a POST gets a connection of its own.
    assert s["connections"] <= 8, "%d connections for 100 DELETEs" % s["connections"]
    assert len(emu.state()["keys"]) == 200
    # The listing the mount kept is the server's: no request, no deleted name.
    emu.reset_stats()
    names = os.listdir(m.p("keys"))
    assert len(names) == 200 and not [n for n in names if n.startswith("key-001")]
    assert emu.stats()["total"] == 0


def test_cp_of_20_files_costs_one_upload_each_and_one_listing(emu, mount_factory, tmp_path):
    m = mount_factory()
    docs = m.p("collections", "contracts", "documents")
    for i in range(20):
        (tmp_path / ("f%02d.txt" % i)).write_bytes(b"file %d\n" % i * 50)
    emu.reset_stats()
    r = run("cp %s/*.txt %s/" % (tmp_path, docs))
    assert r.returncode == 0, r.stderr + m.stderr()
    s = emu.stats()
    assert util.route_count(s, DOC_UPLOAD) == 20
    assert util.route_count(s, DOCS_ROUTE) <= 1, s
    assert s["total"] <= 20 + 2, s      # plus the documents and collections listings once
    assert util.route_count(s, COLLS_ROUTE) <= 1, s
    emu.reset_stats()
    r = run("ls -l %s" % docs)
    assert r.returncode == 0
    listed = {line.split()[-1]: int(line.split()[4]) for line in r.stdout.splitlines()[1:]}
    for i in range(20):
        assert listed["f%02d.txt" % i] == len(b"file %d\n" % i * 50)
    # The collection's documents_count follows too, from what the mount did.
    with open(m.p("collections", "contracts", "collection.json")) as f:
        count = int(json.load(f)["documents_count"])
    on_server = [c for c in emu.state()["collections"] if c["collection_name"] == "contracts"]
    assert count == len(on_server[0]["documents"]) == 23
    assert emu.stats()["total"] == 0


def test_created_and_updated_keys_read_back_without_a_listing(emu, mount_factory):
    m = mount_factory()
    os.listdir(m.p("keys"))
    emu.reset_stats()
    for i in range(10):
        with open(m.p("keys", "bulk-%d" % i), "w") as f:
            f.write('{"acls": ["api-key:model:*"], "qps": %d}' % (i + 1))
    with open(m.p("keys", "ci-bot"), "w") as f:
        f.write('{"qps": 77}')
    s = emu.stats()
    assert util.route_count(s, KEY_CREATE) == 10
    assert util.route_count(s, KEYS_ROUTE) == 0, s
    emu.reset_stats()
    for i in range(10):
        with open(m.p("keys", "bulk-%d" % i)) as f:
            assert json.load(f)["qps"] == i + 1
    with open(m.p("keys", "ci-bot")) as f:
        assert json.load(f)["qps"] == 77
    assert emu.stats()["total"] == 0
