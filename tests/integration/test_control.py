"""The mount's control files: .xaifs/stats and .xaifs/refresh, and SIGHUP."""
import json
import os
import signal

import util

KEYS_ROUTE = "GET /auth/teams/{teamId}/api-keys"


def stats(m):
    with open(m.p(".xaifs", "stats")) as f:
        return json.load(f)


def test_stats_counts_requests_and_cache(emu, mnt):
    before = stats(mnt)
    os.listdir(mnt.p("keys"))
    os.listdir(mnt.p("keys"))
    with open(mnt.p("keys", "ci-bot")) as f:
        f.read()
    after = stats(mnt)
    assert after["requests"][KEYS_ROUTE] == before["requests"][KEYS_ROUTE] + 1
    assert after["http"]["requests"] >= before["http"]["requests"] + 1
    assert after["cache"]["hits"] > before["cache"]["hits"]
    assert after["http"]["bytes_down"] > before["http"]["bytes_down"]
    assert util.route_count(emu.stats(), KEYS_ROUTE) == after["requests"][KEYS_ROUTE]


def test_stats_never_show_a_credential(mnt):
    with open(mnt.p(".xaifs", "stats")) as f:
        text = f.read()
    assert util.MGMT_KEY not in text and util.API_KEY not in text
    assert os.stat(mnt.p(".xaifs", "stats")).st_size == len(text.encode())


def test_refresh_drops_the_cache(emu, mnt):
    os.listdir(mnt.p("keys"))
    emu.reset_stats()
    os.listdir(mnt.p("keys"))
    assert util.route_count(emu.stats(), KEYS_ROUTE) == 0
    with open(mnt.p(".xaifs", "refresh"), "w") as f:
        f.write("1\n")
    os.listdir(mnt.p("keys"))
    assert util.route_count(emu.stats(), KEYS_ROUTE) == 1


def test_refresh_shows_changes_made_elsewhere(emu, mnt):
    assert "made-elsewhere" not in os.listdir(mnt.p("keys"))
    emu.api("POST", "/auth/teams/%s/api-keys" % util.TEAM_ID,
            {"name": "made-elsewhere", "acls": []})
    assert "made-elsewhere" not in os.listdir(mnt.p("keys"))
    with open(mnt.p(".xaifs", "refresh"), "w") as f:
        f.write("1")
    assert "made-elsewhere" in os.listdir(mnt.p("keys"))


def test_sighup_drops_the_cache(emu, mnt):
    os.listdir(mnt.p("keys"))
    emu.reset_stats()
    mnt.proc.send_signal(signal.SIGHUP)
    util.wait_for(lambda: "caches dropped" in mnt.stderr(), 60, "SIGHUP handled")
    os.listdir(mnt.p("keys"))
    assert util.route_count(emu.stats(), KEYS_ROUTE) == 1
    assert os.path.ismount(mnt.path)
