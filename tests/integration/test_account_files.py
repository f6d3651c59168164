"""The rest of the account as files: search/<query> (per collection and at the root),
/endpoints, /invoices/ and /spending-limits (docs/semantics.md, "Search" and "Account")."""
import errno
import json
import os
import xml.etree.ElementTree as ET

import util
from util import run

SEARCH = "POST /v1/documents/search"
DOCS = "GET /v1/collections/{collection_id}/documents"
BILLING = "/v1/billing/teams/%s" % util.TEAM_ID
SET_LIMIT = "POST /v1/billing/teams/{team_id}/postpaid/spending-limits"


def api_json(emu, path):
    return json.loads(emu.api("GET", path))


def read_lines(path):
    with open(path, "rb") as f:
        raw = f.read()
    return raw, [json.loads(line) for line in raw.decode().splitlines()]


def errno_of(fn, *args):
    try:
        fn(*args)
    except OSError as e:
        return e.errno
    return 0


def write_file(path, text):
    with open(path, "w") as f:
        f.write(text)


def state_docs(emu, coll):
    c = next(c for c in emu.state()["collections"] if c["collection_name"] == coll)
    return {d["file_metadata"]["name"] for d in c["documents"]}


# -- search -----------------------------------------------------------------------------------

def test_search_directories_list_empty_at_no_cost(emu, mnt):
    os.listdir(mnt.p("collections", "contracts"))
    emu.reset_stats()
    assert os.listdir(mnt.p("search")) == []
    assert os.listdir(mnt.p("collections", "contracts", "search")) == []
    r = run("ls -la %s %s" % (mnt.p("search"), mnt.p("collections", "contracts", "search")))
    assert r.returncode == 0, r.stderr
    assert emu.stats()["total"] == 0


def test_a_query_is_one_request_then_cached(emu, mnt):
    os.listdir(mnt.p("collections", "contracts"))
    emu.reset_stats()
    path = mnt.p("collections", "contracts", "search", "fees invoice")
    r = run(["head", "-n", "3", path])
    assert r.returncode == 0, r.stderr
    s = emu.stats()
    assert util.route_count(s, SEARCH) == 1
    assert util.route_count(s, DOCS) <= 1
    assert s["total"] == util.route_count(s, SEARCH) + util.route_count(s, DOCS)
    raw, hits = read_lines(path)
    assert len(hits) == 2
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    names = state_docs(emu, "contracts")
    for h in hits:
        assert h["document"] in names
        assert h["collection"] == "contracts"
        assert "ees" in h["text"] and h["page"] == 1
        assert h["file_id"].startswith("file_")
    assert hits[0]["document"] == "msa.txt"
    assert hits[0]["fields"] == {"counterparty": "Acme Corporation"}
    assert os.stat(path).st_size == len(raw)
    emu.reset_stats()
    for _ in range(3):
        read_lines(path)
        os.stat(path)
    assert emu.stats()["total"] == 0


def test_root_search_covers_every_collection(emu, mnt):
    path = mnt.p("search", "fees recall")
    _, hits = read_lines(path)
    assert {h["collection"] for h in hits} == {"contracts", "research-notes"}
    assert {h["document"] for h in hits} == {"msa.txt", "sow.md", "retrieval-benchmarks.md"}
    r = run("jq -r .document '%s' | head -n 1" % path)
    assert r.returncode == 0 and r.stdout.strip() == hits[0]["document"]
    emu.reset_stats()
    read_lines(path)
    assert emu.stats()["total"] == 0


def test_query_options_and_no_match(emu, mnt):
    base = mnt.p("collections", "contracts", "search")
    _, all_hits = read_lines(os.path.join(base, "fees"))
    _, one = read_lines(os.path.join(base, "mode:keyword limit:1 fees"))
    assert len(all_hits) == 2 and one == all_hits[:1]
    assert os.path.getsize(os.path.join(base, "zzzz nothing")) == 0
    with open(os.path.join(base, "zzzz nothing"), "rb") as f:
        assert f.read() == b""
    # Options alone are no query.
    assert errno_of(os.stat, os.path.join(base, "mode:keyword ")) == errno.ENOENT


def test_find_glob_and_hidden_names_start_no_search(emu, mnt):
    emu.reset_stats()
    r = run("find %s > /dev/null; ls -d %s/search/* %s/collections/*/search/* 2>/dev/null; "
            "stat %s %s 2>/dev/null; true" % (
                mnt.path, mnt.path, mnt.path, mnt.p("search", ".hidden"),
                mnt.p("collections", "contracts", "search", ".fees.swp")))
    assert r.returncode == 0, r.stderr
    assert util.route_count(emu.stats(), SEARCH) == 0
    assert errno_of(os.stat, mnt.p("search", ".fees")) == errno.ENOENT
    assert util.route_count(emu.stats(), SEARCH) == 0


def test_search_dir_refuses_new_files(emu, mnt):
    emu.reset_stats()
    e = errno_of(write_file, mnt.p("search", "new"), "x")
    assert e in (errno.EACCES, errno.EPERM), e
    s = emu.stats()
    assert s["mutating"] == util.route_count(s, SEARCH)     # the lookup's search only


def test_search_without_inference_key_is_eacces(emu, mount_factory):
    m = mount_factory(inference_key=False)
    emu.reset_stats()
    assert errno_of(open, m.p("search", "fees")) == errno.EACCES
    assert errno_of(open, m.p("collections", "contracts", "search", "fees")) == errno.EACCES
    assert util.route_count(emu.stats(), SEARCH) == 0
    assert m.stderr().count("cannot search: searching collections needs an inference key") == 2


# -- endpoints, invoices, spending limits -----------------------------------------------------

def test_endpoints_match_the_catalogue(emu, mnt):
    with open(mnt.p("endpoints")) as f:
        got = json.load(f)
    want = api_json(emu, "/auth/teams/%s/endpoints" % util.TEAM_ID)
    assert got == want
    assert "api-key:endpoint:chat" in [a["acl"] for a in got["acls"]]
    r = run("jq -r '.acls[].acl' %s" % mnt.p("endpoints"))
    assert r.returncode == 0 and "api-key:endpoint:chat" in r.stdout.split()


def test_invoices_are_named_by_billing_cycle(emu, mnt):
    want = api_json(emu, BILLING + "/invoices")["invoices"]
    names = sorted(os.listdir(mnt.p("invoices")))
    cycles = sorted("%04d-%02d" % (i["monthly"]["billingCycle"]["year"],
                                   i["monthly"]["billingCycle"]["month"]) for i in want)
    assert names == cycles and len(names) == 3
    for inv in want:
        c = inv["monthly"]["billingCycle"]
        path = mnt.p("invoices", "%04d-%02d" % (c["year"], c["month"]))
        with open(path) as f:
            assert json.load(f) == inv
        assert os.stat(path).st_size == len(open(path, "rb").read())
    assert errno_of(write_file, mnt.p("invoices", names[0]), "{}") == errno.EACCES


def cents(v):
    return None if v is None else int(v.get("val", 0))


def server_limits(emu):
    return api_json(emu, BILLING + "/postpaid/spending-limits")["spendingLimits"]


def read_limits(mnt):
    with open(mnt.p("spending-limits")) as f:
        return json.load(f)


def test_spending_limits_show_the_server_values(emu, mnt):
    got = read_limits(mnt)
    want = server_limits(emu)
    for k in ("softSl", "effectiveSl", "hardSlAuto", "effectiveHardSl"):
        assert got[k] == cents(want.get(k)), k
    assert got["hardSlOverride"] is None
    assert got["softSl"] == 20000


def test_soft_limit_edit_sets_the_limit(emu, mnt):
    cur = read_limits(mnt)
    cur["softSl"] = 30000
    emu.reset_stats()
    write_file(mnt.p("spending-limits"), json.dumps(cur, indent=2))
    assert util.route_count(emu.stats(), SET_LIMIT) == 1
    assert cents(server_limits(emu)["softSl"]) == 30000
    assert read_limits(mnt)["softSl"] == 30000
    # jq in place through a redirect, as docs/tour.md shows it
    r = run("cd %s && jq '.softSl = 25000' spending-limits > %s/sl.json && "
            "cat %s/sl.json > spending-limits" % (mnt.path, mnt.dir, mnt.dir))
    assert r.returncode == 0, r.stderr
    assert cents(server_limits(emu)["softSl"]) == 25000


def test_other_field_edit_is_einval_without_a_request(emu, mnt):
    cur = read_limits(mnt)
    cur["hardSlAuto"] = 1
    emu.reset_stats()
    assert errno_of(write_file, mnt.p("spending-limits"), json.dumps(cur)) == errno.EINVAL
    assert emu.stats()["mutating"] == 0
    assert "field 'hardSlAuto' is read-only" in mnt.stderr()
    assert cents(server_limits(emu)["hardSlAuto"]) == 50000


def test_out_of_range_soft_limit_is_the_servers_refusal(emu, mnt):
    cur = read_limits(mnt)
    cur["softSl"] = 90000000
    assert errno_of(write_file, mnt.p("spending-limits"), json.dumps(cur)) == errno.EINVAL
    assert "soft spending limit must be between" in mnt.stderr()
    assert cents(server_limits(emu)["softSl"]) == 20000
    assert read_limits(mnt)["softSl"] == 20000


def test_prepaid_only_team_gets_eacces(emu, mnt):
    emu.control("POST", "/_emu/variants", {"prepaid_only": True})
    assert errno_of(open, mnt.p("spending-limits")) == errno.EACCES
    assert "spending-limits failed: HTTP 403" in mnt.stderr()
    assert "spending-limits" in os.listdir(mnt.path)


def test_usage_svg_draws_the_usage_file(emu, mnt):
    with open(mnt.p("usage")) as f:
        usage = json.load(f)
    with open(mnt.p("usage.svg"), "rb") as f:
        raw = f.read()
    assert os.stat(mnt.p("usage.svg")).st_size == len(raw)
    svg = ET.fromstring(raw)
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    # One group per day, titled with the day's total (test_fields_and_charts.py checks the
    # stacked segments, the legend and the axes).
    groups = [g for g in svg.iter("{http://www.w3.org/2000/svg}g") if g.get("class") == "day"]
    days = {p["timestamp"] for s in usage["timeSeries"] for p in s["dataPoints"]}
    assert len(groups) == len(days) > 0
    titles = [g.find("{http://www.w3.org/2000/svg}title").text for g in groups]
    for day in days:
        want = sum(p["values"][0] for s in usage["timeSeries"] for p in s["dataPoints"]
                   if p["timestamp"] == day)
        got = [t for t in titles if t.startswith(day + ": $")]
        assert len(got) == 1 and abs(float(got[0].split("$")[1]) - want) < 1e-3, (day, got)
    assert "$%.2f" % usage["totalUsd"] in raw.decode()
