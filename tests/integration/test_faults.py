"""Fault injection: what the user sees, and what the server holds afterwards.

Each test injects faults through the emulator's /_emu/faults (per-request counters,
replaced by every call), runs ordinary commands on the mount, and checks three things:
the command's result (and errno), the daemon's log (one line per failure, never a
crash), and the server's state (emu.state(), emu.stats()).

Lines starting with FIGURE: are the measurements quoted in docs/reliability.md
(run with -s to see them).
"""
import errno
import hashlib
import json
import os
import signal
import subprocess
import time
import urllib.request

import pytest

import util

KEYS_ROUTE = "GET /auth/teams/{teamId}/api-keys"
MODELS_ROUTE = "GET /auth/teams/{teamId}/models"
COLLS_ROUTE = "GET /v1/collections"
DOCS_ROUTE = "GET /v1/collections/{collection_id}/documents"
CONTENT_ROUTE = "GET /v1/files/{file_id}/content"
USAGE_ROUTE = "POST /v1/billing/teams/{team_id}/usage"
BALANCE_ROUTE = "GET /v1/billing/teams/{team_id}/prepaid/balance"
UPLOAD_ROUTE = "POST /v1/collections/{collection_id}/documents"
CREATE_KEY_ROUTE = "POST /auth/teams/{teamId}/api-keys"
ROOT_NAMES = {"billing", "collections", "keys", "models", "regions", "usage"}


def figure(name, value):
    print("FIGURE: %s = %s" % (name, value))


def xstats(m):
    with open(m.p(".xaifs", "stats")) as f:
        return json.load(f)


class Log:
    """The daemon's log lines written since the last mark()."""

    def __init__(self, m):
        self.m = m
        self.mark()

    def mark(self):
        self.pos = len(self.m.stderr())

    def new(self):
        return [ln for ln in self.m.stderr()[self.pos:].splitlines() if ln.strip()]

    def errors(self):
        return [ln for ln in self.new() if "error:" in ln]


def oserror(fn, *a):
    """Run fn; return the errno it failed with, or 0."""
    try:
        fn(*a)
    except OSError as e:
        return e.errno
    return 0


def write_file(path, data):
    """Write data with open/write/close; return the errno of the first failing step."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as e:
        return ("open", e.errno)
    try:
        os.write(fd, data)
    except OSError as e:
        try:
            os.close(fd)
        except OSError:
            pass
        return ("write", e.errno)
    try:
        os.close(fd)
    except OSError as e:
        return ("close", e.errno)
    return ("ok", 0)


def alive(m):
    """The daemon runs and the mount answers."""
    assert m.proc.poll() is None, "xaifs exited (rc %s):\n%s" % (m.proc.returncode, m.stderr())
    assert "keys" in os.listdir(m.path)


def doc_sha(state, coll, name):
    for c in state["collections"]:
        if c.get("collection_name") == coll:
            for d in c["documents"]:
                if d["file_metadata"].get("name") == name:
                    return d["sha256"]
    return None


def doc_names(state, coll):
    for c in state["collections"]:
        if c.get("collection_name") == coll:
            return [d["file_metadata"].get("name") for d in c["documents"]]
    return []


def key_names(state):
    return [k.get("name") for k in state["keys"]]


def sha(b):
    return hashlib.sha256(b).hexdigest()


def reads_only(stats):
    """Only read requests reached the server (the usage report is a POST that reads)."""
    return all(r.startswith("GET ") or r == USAGE_ROUTE for r in stats["routes"])


def proc_state(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def stop(emu):
    """SIGSTOP the emulator and wait until it really is stopped (signals are async)."""
    emu.proc.send_signal(signal.SIGSTOP)
    util.wait_for(lambda: proc_state(emu.proc.pid) == "T", 60, "emulator stopped")


def remaining(emu, name):
    return emu.control("GET", "/_emu/faults")[name]


# ---------------------------------------------------------------------------
# Transient 5xx and 429: reads are retried and succeed

def test_reads_survive_one_request_in_five_failing_with_503(emu, mount_factory):
    m = mount_factory(["cache_ttl=0", "timeout=10", "connect_timeout=2"])
    state = emu.state()
    msa = doc_sha(state, "contracts", "msa.txt")
    nda = doc_sha(state, "contracts", "nda.pdf")
    log = Log(m)
    before = xstats(m)["http"]
    emu.reset_stats()
    # (command, fail_next, retry_after, fail_route, check of stdout)
    steps = [
        (["ls", "-l", m.p("keys")], 3, None, None, lambda o: "ci-bot" in o and "staging" in o),
        (["cat", m.p("keys", "ci-bot")], 2, None, None, lambda o: '"name": "ci-bot"' in o),
        (["ls", m.p("models")], 1, None, None, lambda o: "grok-4-0709" in o),
        (["jq", "-r", ".name", m.p("models", "grok-4-0709")], 1, "1", None,
         lambda o: o.strip() == "grok-4-0709"),
        (["find", m.p("collections", "contracts")], 3, None, None,
         lambda o: o.count("nda.pdf") == 2),
        (["sha256sum", m.p("collections", "contracts", "documents", "msa.txt")], 2, None,
         CONTENT_ROUTE, lambda o: o.startswith(msa)),
        (["cat", m.p("keys", "staging")], 2, None, None, lambda o: '"staging"' in o),
        (["jq", "-r", ".collection_name", m.p("collections", "research-notes",
                                              "collection.json")], 1, None, None,
         lambda o: o.strip() == "research-notes"),
        (["ls", "-l", m.path], 1, None, USAGE_ROUTE, lambda o: "billing" in o),
        (["sha256sum", m.p("collections", "contracts", "documents", "nda.pdf")], 2, None,
         CONTENT_ROUTE, lambda o: o.startswith(nda)),
        (["cat", m.p("collections", "contracts", "metadata", "sow.md.json")], 1, "1", None,
         lambda o: "DOCUMENT_STATUS_PROCESSED" in o),
        (["ls", m.p("collections", "research-notes", "documents")], 1, None, DOCS_ROUTE,
         lambda o: "reading-list.txt" in o),
        (["jq", ".", m.p("keys", "old-test-1")], 1, None, None, lambda o: "old-test-1" in o),
        (["cat", m.p("billing")], 1, None, BALANCE_ROUTE, lambda o: "prepaidCreditCents" in o),
        (["ls", m.p("keys")], 1, None, None, lambda o: "prod-backend" in o),
        (["cat", m.p("keys", "prod-backend")], 1, None, None, lambda o: "prod-backend" in o),
        (["jq", "-r", ".acls[0].acl", m.p("endpoints")], 2, None, None,
         lambda o: o.startswith("api-key:endpoint:")),
        (["ls", m.p("invoices")], 1, None, None, lambda o: "2026-01" in o),
    ]
    injected = 0
    t0 = time.monotonic()
    for cmd, n, ra, route, check in steps:
        emu.faults(fail_next=n, fail_status=503, retry_after=ra, fail_route=route)
        r = util.run(cmd)
        assert r.returncode == 0, "%s failed under a 503 burst of %d: %s\n%s" % (
            cmd, n, r.stderr, m.stderr())
        assert check(r.stdout), "%s printed %r" % (cmd, r.stdout[:500])
        left = remaining(emu, "fail_next")
        injected += n - left
    elapsed = time.monotonic() - t0
    emu.faults()
    after = xstats(m)["http"]
    total = emu.stats()["total"]
    retries = after["retries"] - before["retries"]
    figure("503 test: requests seen by the server", total)
    figure("503 test: injected 503s", injected)
    figure("503 test: failure rate", "%.0f%%" % (100.0 * injected / total))
    figure("503 test: retries in .xaifs/stats", retries)
    figure("503 test: commands", "%d, all succeeded, %.1f s" % (len(steps), elapsed))
    assert 0.15 <= injected / total <= 0.35, (injected, total)
    # Every injected 503 was answered by exactly one retry; nothing else was retried.
    assert retries == injected
    assert after["requests"] - before["requests"] == total
    assert after["errors"] == before["errors"]
    assert log.errors() == [], "a retried-and-successful read must not log an error"
    assert reads_only(emu.stats())
    assert emu.state()["keys"] == state["keys"]


def test_truncated_download_is_retried_and_exact(emu, mount_factory):
    m = mount_factory(["timeout=10"])
    want = doc_sha(emu.state(), "contracts", "nda.pdf")
    os.listdir(m.p("collections", "contracts", "documents"))
    emu.reset_stats()
    emu.faults(truncate_next=2, fail_route=CONTENT_ROUTE)
    with open(m.p("collections", "contracts", "documents", "nda.pdf"), "rb") as f:
        data = f.read()
    assert sha(data) == want, "the retried download is not the document's bytes"
    assert len(data) == 428
    assert util.route_count(emu.stats(), CONTENT_ROUTE) == 3


def upload_direct(emu, coll, name, data):
    """A document put on the server without the mount (one multipart POST)."""
    cid = [c["collection_id"] for c in emu.state()["collections"]
           if c.get("collection_name") == coll][0]
    b = b"xaifs-test-boundary"
    body = (b"--" + b + b'\r\nContent-Disposition: form-data; name="name"\r\n\r\n' +
            name.encode() + b"\r\n--" + b + b'\r\nContent-Disposition: form-data; '
            b'name="data"; filename="' + name.encode() + b'"\r\n\r\n' + data +
            b"\r\n--" + b + b"--\r\n")
    req = urllib.request.Request(
        "%s/v1/collections/%s/documents" % (emu.url, cid), data=body, method="POST",
        headers={"Authorization": "Bearer " + util.MGMT_KEY,
                 "Content-Type": "multipart/form-data; boundary=" + b.decode()})
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status == 200


def test_truncated_large_download_is_retried_and_exact(emu, mount_factory):
    """Cut after half of 3 MiB: past the point where the file is written on a
    thread of its own; the retry starts the file again and ends exact."""
    data = os.urandom(3 << 20)
    upload_direct(emu, "contracts", "big.bin", data)
    m = mount_factory(["timeout=20"])
    os.listdir(m.p("collections", "contracts", "documents"))
    emu.reset_stats()
    emu.faults(truncate_next=1, fail_route=CONTENT_ROUTE)
    with open(m.p("collections", "contracts", "documents", "big.bin"), "rb") as f:
        got = f.read()
    assert len(got) == len(data)
    assert sha(got) == sha(data), "the retried download is not the document's bytes"
    assert util.route_count(emu.stats(), CONTENT_ROUTE) == 2


@pytest.mark.parametrize("retry_after", [None, 1])
def test_429_burst_slows_down_then_succeeds(emu, mount_factory, retry_after):
    m = mount_factory(["cache_ttl=0", "timeout=10", "connect_timeout=2"])
    log = Log(m)
    os.listdir(m.p("keys"))
    before = xstats(m)["http"]["retries"]
    emu.reset_stats()
    emu.faults(fail_next=3, fail_status=429, retry_after=retry_after, fail_route=KEYS_ROUTE)
    t0 = time.monotonic()
    r = util.run(["ls", m.p("keys")])
    dt = time.monotonic() - t0
    assert r.returncode == 0, r.stderr
    assert "ci-bot" in r.stdout.split()
    assert util.route_count(emu.stats(), KEYS_ROUTE) == 4
    assert xstats(m)["http"]["retries"] - before == 3
    # Backoff: 3 waits of at least 125, 250, 500 ms; Retry-After: 1 s each.
    assert dt >= (3.0 if retry_after else 0.85), dt
    assert dt < (3.0 + 2.0 if retry_after else 3.0), dt
    figure("429 x3 (Retry-After %s): ls succeeded after" % retry_after, "%.2f s" % dt)
    assert log.errors() == []

    if retry_after:
        return          # the long burst below costs 3 s more with Retry-After; once is enough
    # A burst longer than the tries: the request is sent 4 times in all, then EAGAIN.
    emu.reset_stats()
    emu.faults(fail_next=20, fail_status=429, retry_after=retry_after, fail_route=KEYS_ROUTE)
    t0 = time.monotonic()
    err = oserror(os.listdir, m.p("keys"))
    dt = time.monotonic() - t0
    emu.faults()
    assert err == errno.EAGAIN, "expected EAGAIN after the tries ran out, got %s" % err
    assert util.route_count(emu.stats(), KEYS_ROUTE) == 4, "at most 3 retries per request"
    figure("429 x20 (Retry-After %s): EAGAIN after" % retry_after, "%.2f s, 4 tries" % dt)
    errs = log.errors()
    assert len(errs) == 1, "one failure, one log line; got:\n" + "\n".join(errs)
    assert "429" in errs[0]
    assert "ci-bot" in os.listdir(m.p("keys"))
    alive(m)


def test_retry_after_beyond_the_timeout_fails_at_once(emu, mount_factory):
    m = mount_factory(["cache_ttl=0", "timeout=5", "connect_timeout=2"])
    emu.reset_stats()
    emu.faults(fail_next=5, fail_status=503, retry_after=120, fail_route=KEYS_ROUTE)
    t0 = time.monotonic()
    err = oserror(os.listdir, m.p("keys"))
    dt = time.monotonic() - t0
    emu.faults()
    assert err == errno.EIO
    assert dt < 2.0, "a Retry-After longer than the timeout must not be waited for (%.1f s)" % dt
    assert util.route_count(emu.stats(), KEYS_ROUTE) == 1
    assert "ci-bot" in os.listdir(m.p("keys"))


def test_5xx_after_all_tries_logs_one_line(emu, mount_factory):
    m = mount_factory(["cache_ttl=0", "timeout=10"])
    log = Log(m)
    emu.reset_stats()
    emu.faults(fail_next=10, fail_status=502, fail_route=KEYS_ROUTE)
    err = oserror(os.listdir, m.p("keys"))
    emu.faults()
    assert err == errno.EIO
    assert util.route_count(emu.stats(), KEYS_ROUTE) == 4
    errs = log.errors()
    assert len(errs) == 1, ("one failure must log exactly one line, got %d:\n%s"
                            % (len(errs), "\n".join(errs)))
    assert "502" in errs[0]
    assert "malformed" not in errs[0]
    alive(m)


# ---------------------------------------------------------------------------
# The server stops answering

def test_stalled_server_times_out_and_recovers(emu, mount_factory):
    m = mount_factory(["timeout=3", "connect_timeout=2", "cache_ttl=60"])
    docs = m.p("collections", "contracts", "documents")
    assert "msa.txt" in os.listdir(docs)       # the documents listing is now cached
    want = doc_sha(emu.state(), "contracts", "msa.txt")
    log = Log(m)
    stop(emu)
    try:
        t0 = time.monotonic()
        err = oserror(os.listdir, m.p("keys"))
        t_list = time.monotonic() - t0
        assert err in (errno.ETIMEDOUT, errno.EIO), "ls keys/ on a stalled server: %s" % err

        t0 = time.monotonic()
        r = util.run(["ls", m.path], timeout=10)
        t_root = time.monotonic() - t0
        assert r.returncode == 0 and ROOT_NAMES <= set(r.stdout.split()), r
        assert t_root < 1.0, "ls of the mount root must not wait for the server"

        t0 = time.monotonic()
        err = oserror(lambda: open(os.path.join(docs, "msa.txt"), "rb").read())
        t_doc = time.monotonic() - t0
        assert err in (errno.ETIMEDOUT, errno.EIO), \
            "cat of a document on a stalled server: %s" % err
    finally:
        emu.proc.send_signal(signal.SIGCONT)
    figure("stall, timeout=3: ls keys/ failed after", "%.2f s" % t_list)
    figure("stall, timeout=3: cat document failed after", "%.2f s" % t_doc)
    figure("stall: ls of the mount root", "%.3f s" % t_root)
    for t in (t_list, t_doc):
        assert 2.5 <= t < 10, "expected ETIMEDOUT after about timeout=3 s, took %.1f s" % t
    assert len(log.errors()) == 2, "one log line per failure:\n" + "\n".join(log.errors())
    assert all("Timeout" in e or "timed out" in e for e in log.errors()), log.errors()
    # The server is back: everything works again, with the right bytes.
    assert "ci-bot" in os.listdir(m.p("keys"))
    with open(os.path.join(docs, "msa.txt"), "rb") as f:
        assert sha(f.read()) == want
    assert reads_only(emu.stats())
    alive(m)


def test_writes_to_a_stalled_server_time_out_and_the_mount_shows_the_outcome(emu,
                                                                           mount_factory):
    """A write whose answer never comes fails with ETIMEDOUT after about `timeout` seconds
    without progress. The server may still carry it out (the request was sent), so the
    mount must not keep showing a listing from before it: once the server answers again,
    ls shows what the server holds. A create (an upload, a key) first asks the server
    whether it made it (test_tolerance.py, test_kept_connections.py): against a stalled
    server that question times out too, so its close() takes up to twice the timeout."""
    m = mount_factory(["timeout=2", "connect_timeout=2"])
    docs = m.p("collections", "contracts", "documents")
    os.listdir(docs)
    os.listdir(m.p("keys"))
    results = {}
    for what, path, data in (("upload", os.path.join(docs, "stalled.txt"), b"x" * 1000),
                             ("key", m.p("keys", "stalled-key"), b'{"acls": []}')):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, data)
        stop(emu)
        t0 = time.monotonic()
        try:
            err = oserror(os.close, fd)
            dt = time.monotonic() - t0
        finally:
            emu.proc.send_signal(signal.SIGCONT)
        time.sleep(0.3)                       # the server carries out what it had received
        st = emu.state()
        on_server = (doc_names(st, "contracts").count("stalled.txt") if what == "upload"
                     else key_names(st).count("stalled-key"))
        shown = os.path.basename(path) in os.listdir(os.path.dirname(path))
        results[what] = (err, round(dt, 2), on_server, shown)
        figure("stalled %s, timeout=2: close() failed after" % what,
               "%.2f s (%s); on the server afterwards: %d" % (
                   dt, errno.errorcode.get(err, err), on_server))
    problems = []
    for what, (err, dt, on_server, shown) in results.items():
        if err != errno.ETIMEDOUT:
            problems.append("%s: close() gave %s, expected ETIMEDOUT" % (what, err))
        bound = 2 * 2 + 1.5
        if dt > bound:
            problems.append("%s: the stall was detected after %.1f s with timeout=2 (no "
                            "progress for `timeout` seconds should end it)" % (what, dt))
        if bool(on_server) != shown:
            problems.append("%s: the server holds %d, ls %s it: after a write with an "
                            "unknown outcome the cached listing must be dropped"
                            % (what, on_server, "shows" if shown else "does not show"))
    assert not problems, "\n".join(problems) + "\n" + m.stderr()
    alive(m)


def test_dropped_connections_give_eio_then_recover(emu, mount_factory):
    m = mount_factory(["cache_ttl=0", "timeout=5", "connect_timeout=2"])
    log = Log(m)
    emu.reset_stats()
    emu.faults(drop_next=2, fail_route=KEYS_ROUTE)
    assert "ci-bot" in os.listdir(m.p("keys")), "two dropped connections are retried"
    emu.reset_stats()
    emu.faults(drop_next=10, fail_route=KEYS_ROUTE)
    t0 = time.monotonic()
    err = oserror(os.listdir, m.p("keys"))
    dt = time.monotonic() - t0
    sent = util.route_count(emu.stats(), KEYS_ROUTE)
    emu.faults()
    assert err == errno.EIO
    assert dt < 5
    figure("drop x10: EIO after", "%.2f s, %d requests sent" % (dt, sent))
    assert "ci-bot" in os.listdir(m.p("keys"))
    alive(m)
    errs = log.errors()
    assert len(errs) == 1, "one failure, one log line; got:\n" + "\n".join(errs)


def test_server_killed_then_restarted_on_the_same_port(mount_factory):
    # Own emulator: this test kills it.
    emu = util.Emulator()
    port = emu.port
    emu2 = None
    m = None
    try:
        m = util.Mount(emu, ["cache_ttl=0", "timeout=5", "connect_timeout=2"])
        log = Log(m)
        assert "ci-bot" in os.listdir(m.p("keys"))
        retries = xstats(m)["http"]["retries"]
        emu.proc.kill()
        emu.proc.wait()
        t0 = time.monotonic()
        err = oserror(os.listdir, m.p("keys"))
        dt = time.monotonic() - t0
        assert err == errno.EIO, "ls keys/ with the server gone: %s" % err
        assert dt < 5, dt
        figure("server gone (connection refused): EIO after", "%.2f s" % dt)
        assert ROOT_NAMES <= set(os.listdir(m.path))
        assert xstats(m)["http"]["retries"] - retries == 3, "connection refused: 4 tries"
        errs = log.errors()
        # Back on the same port (argparse keeps the last --port).
        emu2 = util.Emulator(extra=("--port", str(port)))
        assert emu2.port == port
        assert "ci-bot" in os.listdir(m.p("keys"))
        with open(m.p("collections", "contracts", "documents", "sow.md"), "rb") as f:
            assert sha(f.read()) == doc_sha(emu2.state(), "contracts", "sow.md")
        alive(m)
        assert len(errs) == 1, "one failure, one log line; got:\n" + "\n".join(errs)
    finally:
        if m:
            m.stop()
        emu.stop()
        if emu2:
            emu2.stop()


# ---------------------------------------------------------------------------
# Hostile responses

LISTINGS = [
    ("keys", KEYS_ROUTE, ("keys",)),
    ("models", MODELS_ROUTE, ("models",)),
    ("collections", COLLS_ROUTE, ("collections",)),
    ("documents", DOCS_ROUTE, ("collections", "contracts", "documents")),
]


@pytest.mark.parametrize("kind", ["malformed_next", "oversize_next", "wrong_types_next"])
@pytest.mark.parametrize("what,route,path", LISTINGS, ids=[x[0] for x in LISTINGS])
def test_bad_listing_gives_eio_and_one_log_line(emu, mount_factory, kind, what, route, path):
    m = mount_factory(["cache_ttl=0", "timeout=10"])
    if what == "documents":
        os.listdir(m.p("collections"))
    keys_before = emu.state()["keys"]
    log = Log(m)
    emu.reset_stats()
    emu.faults(**{kind: 1, "fail_route": route})
    t0 = time.monotonic()
    err = oserror(os.listdir, m.p(*path))
    dt = time.monotonic() - t0
    left = remaining(emu, kind)
    emu.faults()
    assert left == 0, "the fault was not served"
    assert err == errno.EIO, "%s on %s: expected EIO, got %s" % (kind, route, err)
    assert util.route_count(emu.stats(), route) == 1, "a bad 200 answer is not retried"
    errs = log.errors()
    assert len(errs) == 1, ("%s on %s must log exactly one line, got %d:\n%s"
                            % (kind, route, len(errs), "\n".join(errs)))
    assert route in errs[0]
    assert dt < 5
    # Never a crash: the mount answers, and the same listing works once the server is sane.
    alive(m)
    assert os.listdir(m.p(*path))
    assert reads_only(emu.stats())
    assert emu.state()["keys"] == keys_before


def test_truncated_listing_is_retried_then_eio(emu, mount_factory):
    m = mount_factory(["cache_ttl=0", "timeout=10"])
    log = Log(m)
    emu.reset_stats()
    emu.faults(truncate_next=1, fail_route=KEYS_ROUTE)
    assert "ci-bot" in os.listdir(m.p("keys")), "one truncated answer is retried"
    assert util.route_count(emu.stats(), KEYS_ROUTE) == 2
    emu.reset_stats()
    emu.faults(truncate_next=10, fail_route=KEYS_ROUTE)
    err = oserror(os.listdir, m.p("keys"))
    emu.faults()
    assert err == errno.EIO
    assert util.route_count(emu.stats(), KEYS_ROUTE) == 4
    errs = log.errors()
    assert len(errs) == 1, "\n".join(errs)
    alive(m)
    assert "ci-bot" in os.listdir(m.p("keys"))


@pytest.mark.parametrize("kind", ["malformed_next", "oversize_next"])
def test_bad_usage_gives_eio_and_bad_balance_shows_the_rest(emu, mount_factory, kind):
    """usage is one answer: a bad one is EIO. billing shows every part that answered: a
    bad balance is null with a note under "errors" (see test_tolerance.py)."""
    m = mount_factory(["live_ttl=0", "timeout=10"])
    log = Log(m)
    emu.faults(**{kind: 1, "fail_route": USAGE_ROUTE})
    err = oserror(lambda: open(m.p("usage")).read())
    emu.faults()
    assert err == errno.EIO, "%s on usage: %s" % (kind, err)
    assert len(log.errors()) == 1, "\n".join(log.errors())
    alive(m)
    with open(m.p("usage")) as f:
        assert json.load(f)
    m2 = mount_factory(["timeout=10"])
    log = Log(m2)
    emu.faults(**{kind: 1, "fail_route": BALANCE_ROUTE})
    with open(m2.p("billing")) as f:
        b = json.load(f)
    emu.faults()
    assert b["balance"] is None and b["prepaidCreditCents"] is None
    assert set(b["errors"]) == {"balance"} and b["spendingLimits"] and b["invoicePreview"]
    assert len(log.errors()) == 1, "\n".join(log.errors())
    alive(m2)


def test_wrong_types_in_billing_never_crash(emu, mount_factory):
    """billing passes the balance through as the API returns it, so wrong types there may
    show up in the file (or fail with EIO); either way one line at most, and no crash."""
    m = mount_factory(["live_ttl=0", "timeout=10"])
    for route, name in ((USAGE_ROUTE, "usage"), (BALANCE_ROUTE, "billing")):
        log = Log(m)
        emu.faults(wrong_types_next=1, fail_route=route)
        try:
            with open(m.p(name), "rb") as f:
                data = f.read()
            json.loads(data)
            err = 0
        except OSError as e:
            err = e.errno
        emu.faults()
        assert err in (0, errno.EIO), err
        assert len(log.errors()) == (1 if err else 0), log.errors()
        figure("wrong types in %s" % name, "EIO" if err else "shown as received")
        alive(m)


# ---------------------------------------------------------------------------
# Failed writes: close() fails, nothing half-made stays, nothing is sent twice

def test_failed_upload_leaves_nothing(emu, mount_factory, tmp_path):
    m = mount_factory(["timeout=10"])
    docs = m.p("collections", "contracts", "documents")
    os.listdir(docs)
    log = Log(m)
    emu.reset_stats()
    emu.faults(fail_next=1, fail_status=503, fail_route=UPLOAD_ROUTE)
    step, err = write_file(os.path.join(docs, "failed.txt"), b"never stored\n")
    assert (step, err) == ("close", errno.EIO)
    assert util.route_count(emu.stats(), UPLOAD_ROUTE) == 1, "an upload is never retried"
    st = emu.state()
    assert "failed.txt" not in doc_names(st, "contracts")
    assert not any(f["filename"] == "failed.txt" for f in st["files"])
    assert "failed.txt" not in os.listdir(docs), "the failed name must disappear"
    assert oserror(os.stat, os.path.join(docs, "failed.txt")) == errno.ENOENT
    assert len(log.errors()) == 1 and "503" in log.errors()[0]

    # cp reports it to the user.
    src = tmp_path / "report.txt"
    src.write_bytes(b"quarterly\n")
    emu.reset_stats()
    emu.faults(fail_next=1, fail_status=500, fail_route=UPLOAD_ROUTE)
    r = util.run(["cp", str(src), docs + "/"])
    assert r.returncode != 0 and "Input/output error" in r.stderr, r
    assert util.route_count(emu.stats(), UPLOAD_ROUTE) == 1
    assert "report.txt" not in doc_names(emu.state(), "contracts")
    # And the same cp works once the server is well.
    r = util.run(["cp", str(src), docs + "/"])
    assert r.returncode == 0, r.stderr
    assert doc_sha(emu.state(), "contracts", "report.txt") == sha(b"quarterly\n")
    alive(m)


def test_failed_key_creation_leaves_nothing(emu, mount_factory):
    m = mount_factory(["timeout=10"])
    os.listdir(m.p("keys"))
    # (A 429 is refused before the handler, so it is waited out and sent again: see
    # test_tolerance.py.)
    for status, want in ((503, errno.EIO), (500, errno.EIO)):
        name = "fail-%d" % status
        emu.reset_stats()
        emu.faults(fail_next=1, fail_status=status, fail_route=CREATE_KEY_ROUTE)
        step, err = write_file(m.p("keys", name), b'{"acls": ["api-key:model:*"]}')
        assert (step, err) == ("close", want), (status, step, err)
        assert util.route_count(emu.stats(), CREATE_KEY_ROUTE) == 1, "a create is never retried"
        assert name not in key_names(emu.state())
        assert name not in os.listdir(m.p("keys"))
    # tee reports the failure too.
    emu.faults(fail_next=1, fail_status=503, fail_route=CREATE_KEY_ROUTE)
    r = subprocess.run(["tee", m.p("keys", "fail-tee")], input='{"acls": []}',
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "Input/output error" in r.stderr, r
    assert "fail-tee" not in key_names(emu.state())
    emu.faults()
    assert write_file(m.p("keys", "fail-503"), b'{"acls": ["api-key:model:*"]}') == ("ok", 0)
    assert key_names(emu.state()).count("fail-503") == 1
    alive(m)


@pytest.mark.parametrize("what", ["upload", "key"])
def test_dropped_write_is_made_once(emu, mount_factory, what):
    """A create whose kept connection the server closed as it arrived (without
    carrying it out) is looked for once and, not found, sent once more on a new
    connection: exactly one is made and close() succeeds (docs/semantics.md,
    "Errors"; the carried-out-then-dropped case: test_kept_connections.py)."""
    m = mount_factory(["timeout=10"])
    if what == "upload":
        route, d, name, data = UPLOAD_ROUTE, m.p("collections", "contracts", "documents"), \
            "dropped.txt", b"dropped\n"
    else:
        route, d, name, data = CREATE_KEY_ROUTE, m.p("keys"), "dropped", b'{"acls": []}'
    os.listdir(d)
    # Warm the connection pool the way a session does: earlier requests on the same
    # keep-alive connection.
    os.listdir(m.p("collections"))
    emu.reset_stats()
    emu.faults(drop_next=1, fail_route=route)
    step, err = write_file(os.path.join(d, name), data)
    emu.faults()
    sent = util.route_count(emu.stats(), route)
    st = emu.state()
    made = (doc_names(st, "contracts").count(name) if what == "upload"
            else key_names(st).count(name))
    assert (step, err) == ("ok", 0), (step, err, m.stderr())
    assert made == 1, "%d made from one create (%d sent)" % (made, sent)
    assert sent == 2, "the dropped try and one more on a new connection, got %d" % sent
    alive(m)


# ---------------------------------------------------------------------------
# Hostile names: control characters, long names, invalid UTF-8

def test_hostile_names_are_encoded_and_reachable(emu, mount_factory):
    emu.reset("hostile")
    m = mount_factory()
    keys = os.listdir(m.p("keys").encode())
    for want in (b"new%0Aline", b"tab%09here", b"esc%1B[31mred", b"bad-%FF%FE-utf8",
                 b"a%2Fb", b"a%2Fb~" + [k["apiKeyId"] for k in emu.state()["keys"]
                                       if k.get("name") == "a%2Fb"][0].encode()):
        assert want in keys, want
    for n in keys:
        assert not any(c < 0x20 or c == 0x7f for c in n), n
        n.decode("utf-8")                           # every shown name is valid UTF-8
        assert len(n) <= 255
    long = [n for n in keys if n.startswith(b"long-")]
    assert len(long) == 1 and len(long[0]) <= 255 and b"~" in long[0]
    with open(os.path.join(m.p("keys").encode(), long[0]), "rb") as f:
        assert json.loads(f.read())["name"].startswith("long-")
    # The key with an invalid UTF-8 name: its file holds the name's exact bytes.
    raw = emu.api("GET", "/auth/teams/%s/api-keys" % util.TEAM_ID)
    assert b'"bad-\xff\xfe-utf8"' in raw
    with open(m.p("keys", "bad-%FF%FE-utf8"), "rb") as f:
        assert b'"name": "bad-\xff\xfe-utf8"' in f.read()
    # Collections: all reachable, each documents/ listable.
    colls = os.listdir(m.p("collections").encode())
    assert b"esc%1B[31mred" in colls and b"new%0Aline" in colls and b"bad-%FF%FE-utf8" in colls
    for c in colls:
        os.listdir(os.path.join(m.p("collections").encode(), c, b"documents"))
        with open(os.path.join(m.p("collections").encode(), c, b"collection.json"), "rb") as f:
            assert json.loads(f.read().decode("utf-8", "surrogateescape"))["collection_id"]
    with open(m.p("collections", "a%2Fb", "documents", "inside-a-slash.txt"), "rb") as f:
        assert f.read()


def test_hostile_documents_read_with_their_exact_bytes(emu, mount_factory):
    emu.reset("hostile")
    m = mount_factory()
    state = emu.state()
    normal = [c for c in state["collections"] if c.get("collection_name") == "normal"][0]
    by_id = {d["file_metadata"]["file_id"]: d for d in normal["documents"]}
    base = m.p("collections", "normal").encode()
    docs = os.listdir(os.path.join(base, b"documents"))
    assert len(docs) == len(by_id)
    assert b"bad-%FF%FE-utf8.txt" in docs and b"new%0Aline.txt" in docs
    assert b"tab%09.txt" in docs and b"esc%1B.txt" in docs
    seen = set()
    for n in docs:
        assert len(n) <= 250
        with open(os.path.join(base, b"metadata", n + b".json"), "rb") as f:
            meta = json.loads(f.read().decode("utf-8", "surrogateescape"))
        fid = meta["file_metadata"]["file_id"]
        seen.add(fid)
        path = os.path.join(base, b"documents", n)
        with open(path, "rb") as f:
            data = f.read()
        assert sha(data) == by_id[fid]["sha256"], "%r: wrong bytes" % n
        assert os.stat(path).st_size == len(data)
    assert seen == set(by_id)
    # The invalid-UTF-8 name keeps its exact bytes in the metadata file.
    with open(os.path.join(base, b"metadata", b"bad-%FF%FE-utf8.txt.json"), "rb") as f:
        assert b'"name": "bad-\xff\xfe-utf8.txt"' in f.read()
