"""What the real API leaves open ([G] in shared/xai-api.md): one test per reading.

Each test switches the emulator to one legal reading of an undocumented behaviour
(/_emu/variants) or to a fault whose outcome the client cannot see (/_emu/faults), then
runs ordinary commands on the mount and checks what the user sees, what the daemon logs
and what the server holds. The switch named in each test is what it runs against; a
client that does not tolerate that reading fails the test.

Lines starting with FIGURE: are the measurements quoted in docs/reliability.md
(run with -s to see them).
"""
import errno
import hashlib
import json
import os
import time

import pytest

import util

UPLOAD_ROUTE = "POST /v1/collections/{collection_id}/documents"
GET_DOC_ROUTE = "GET /v1/collections/{collection_id}/documents/{file_id}"
DOCS_ROUTE = "GET /v1/collections/{collection_id}/documents"
KEYS_ROUTE = "GET /auth/teams/{teamId}/api-keys"
CREATE_KEY_ROUTE = "POST /auth/teams/{teamId}/api-keys"
ROTATE_ROUTE = "POST /auth/api-keys/{apiKeyId}/rotate"
CONTENT_ROUTE = "GET /v1/files/{file_id}/content"
LIMITS_ROUTE = "GET /v1/billing/teams/{team_id}/postpaid/spending-limits"
PREVIEW_ROUTE = "GET /v1/billing/teams/{team_id}/postpaid/invoice/preview"
BALANCE_ROUTE = "GET /v1/billing/teams/{team_id}/prepaid/balance"


def figure(name, value):
    print("FIGURE: %s = %s" % (name, value))


def variants(emu, **v):
    return emu.control("POST", "/_emu/variants", v)


class Log:
    """The daemon's log lines written since creation."""

    def __init__(self, m):
        self.m = m
        self.pos = len(m.stderr())

    def new(self):
        return [ln for ln in self.m.stderr()[self.pos:].splitlines() if ln.strip()]

    def errors(self):
        return [ln for ln in self.new() if "error:" in ln]

    def warnings(self):
        return [ln for ln in self.new() if "warning:" in ln]


def write_file(path, data):
    """open/write/close; returns (step, errno) of the first failing step, or ("ok", 0)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as e:
        return ("open", e.errno)
    try:
        os.write(fd, data)
    except OSError as e:
        os.close(fd)
        return ("write", e.errno)
    try:
        os.close(fd)
    except OSError as e:
        return ("close", e.errno)
    return ("ok", 0)


def docs_named(state, coll, name):
    for c in state["collections"]:
        if c.get("collection_name") == coll:
            return [d for d in c["documents"] if d["file_metadata"].get("name") == name]
    return []


def key_names(state):
    return [k.get("name") for k in state["keys"]]


def sha(b):
    return hashlib.sha256(b).hexdigest()


def count(emu, route):
    return util.route_count(emu.stats(), route)


def alive(m):
    assert m.proc.poll() is None, "xaifs exited (rc %s):\n%s" % (m.proc.returncode, m.stderr())
    assert "keys" in os.listdir(m.path)


# ---------------------------------------------------------------------------
# Uploads: success is the 2xx; an unknown outcome is checked against the server

@pytest.mark.parametrize("answer", ["empty", "id"])
def test_upload_answer_without_metadata_is_a_success(emu, mount_factory, tmp_path, answer):
    """Variant upload_answer=empty|id: the upload answers {} or only an id. cp succeeds,
    the document is stored once, and the mount shows it with its bytes."""
    variants(emu, upload_answer=answer)
    m = mount_factory(["timeout=10"])
    docs = m.p("collections", "contracts", "documents")
    os.listdir(docs)
    log = Log(m)
    src = tmp_path / "shapeless.txt"
    data = b"stored whatever the answer says\n"
    src.write_bytes(data)
    emu.reset_stats()
    r = util.run(["cp", str(src), docs + "/"])
    assert r.returncode == 0, "cp reported a stored upload as failed: %s\n%s" % (
        r.stderr, m.stderr())
    st = emu.state()
    stored = docs_named(st, "contracts", "shapeless.txt")
    assert len(stored) == 1 and stored[0]["sha256"] == sha(data)
    assert count(emu, UPLOAD_ROUTE) == 1
    learned = {"id": (GET_DOC_ROUTE, 1), "empty": (DOCS_ROUTE, 1)}[answer]
    assert count(emu, learned[0]) >= learned[1], emu.stats()
    figure("upload answering %s: requests for the cp" % answer,
           json.dumps(emu.stats()["routes"], sort_keys=True))
    assert "shapeless.txt" in os.listdir(docs)
    with open(os.path.join(docs, "shapeless.txt"), "rb") as f:
        assert f.read() == data
    assert log.errors() == [], log.errors()
    alive(m)


def test_replacing_a_document_with_an_empty_answer_keeps_one(emu, mount_factory):
    """Variant upload_answer=empty while a document is overwritten: the new one is learned
    from the listing (never the one it replaces), and the old one is then removed."""
    variants(emu, upload_answer="empty")
    m = mount_factory(["timeout=10"])
    path = m.p("collections", "contracts", "documents", "msa.txt")
    new = b"the replacement text\n"
    assert write_file(path, new) == ("ok", 0), m.stderr()
    stored = docs_named(emu.state(), "contracts", "msa.txt")
    assert [d["sha256"] for d in stored] == [sha(new)], stored
    with open(path, "rb") as f:
        assert f.read() == new
    alive(m)


@pytest.mark.parametrize("fault", ["drop_after_next", "hang_after_next"])
def test_unanswered_upload_that_was_stored_is_a_success(emu, mount_factory, fault):
    """Faults drop_after / hang_after: the server stores the upload, then the connection
    drops (or the answer comes after the client's timeout). close() asks the server and
    reports success; the upload is never sent twice."""
    m = mount_factory(["timeout=2", "connect_timeout=2"])
    docs = m.p("collections", "contracts", "documents")
    os.listdir(docs)
    log = Log(m)
    emu.reset_stats()
    emu.faults(**{fault: 1, "hang_ms": 8000, "fail_route": UPLOAD_ROUTE})
    data = b"no answer came, but it is stored\n"
    t0 = time.monotonic()
    step = write_file(os.path.join(docs, "unanswered.txt"), data)
    dt = time.monotonic() - t0
    emu.faults()
    figure("%s on an upload, timeout=2: close() succeeded after" % fault, "%.2f s" % dt)
    assert step == ("ok", 0), "a stored upload was reported as failed: %s\n%s" % (
        step, m.stderr())
    stored = docs_named(emu.state(), "contracts", "unanswered.txt")
    assert len(stored) == 1 and stored[0]["sha256"] == sha(data)
    assert count(emu, UPLOAD_ROUTE) == 1, "an upload is never sent twice"
    assert count(emu, DOCS_ROUTE) >= 1, "the outcome was checked with a listing"
    assert any("server holds it" in ln for ln in log.warnings()), log.new()
    assert "unanswered.txt" in os.listdir(docs)
    alive(m)


def test_unanswered_upload_that_was_not_stored_fails(emu, mount_factory):
    """Fault drop (before the handler), twice: the first try went on a kept
    connection, so the mount looks (not stored) and sends it once more on a new
    connection; that one is dropped too: no answer and nothing stored. close()
    asks the server, which does not hold it, and reports the error; nothing is
    made, and nothing is sent a third time."""
    m = mount_factory(["timeout=10"])
    docs = m.p("collections", "contracts", "documents")
    os.listdir(docs)
    log = Log(m)
    emu.reset_stats()
    emu.faults(drop_next=2, fail_route=UPLOAD_ROUTE)
    step = write_file(os.path.join(docs, "lost.txt"), b"lost\n")
    emu.faults()
    assert step == ("close", errno.EIO), step
    assert docs_named(emu.state(), "contracts", "lost.txt") == []
    assert count(emu, UPLOAD_ROUTE) == 2
    assert count(emu, DOCS_ROUTE) >= 2, "each outcome was checked with a listing"
    assert any("does not hold it" in ln for ln in log.warnings()), log.new()
    assert len(log.errors()) == 1, log.errors()
    assert "lost.txt" not in os.listdir(docs)
    alive(m)


# ---------------------------------------------------------------------------
# Billing: every part that answered, the refused ones null with a note

def test_prepaid_only_team_still_sees_its_balance(emu, mount_factory):
    """Variant prepaid_only: the postpaid routes answer 403. billing shows the balance,
    the two postpaid parts null, and an "errors" note naming each with its message."""
    variants(emu, prepaid_only=True)
    m = mount_factory(["timeout=10"])
    log = Log(m)
    emu.reset_stats()
    with open(m.p("billing")) as f:
        b = json.load(f)
    assert b["balance"] is not None and b["balance"]["total"]["val"].startswith("-")
    assert isinstance(b["prepaidCreditCents"], int) and b["prepaidCreditCents"] > 0
    assert b["spendingLimits"] is None and b["invoicePreview"] is None
    assert set(b["errors"]) == {"spendingLimits", "invoicePreview"}, b["errors"]
    for part in ("spendingLimits", "invoicePreview"):
        assert b["errors"][part].startswith("HTTP 403"), b["errors"]
    assert count(emu, LIMITS_ROUTE) == 1 and count(emu, PREVIEW_ROUTE) == 1
    assert len(log.errors()) == 2, "one line per refused request: %s" % log.errors()
    figure("prepaid-only team: billing errors", json.dumps(b["errors"], sort_keys=True))
    # A full account has no "errors" member.
    variants(emu)
    assert write_file(m.p(".xaifs", "refresh"), b"1\n") == ("ok", 0)
    with open(m.p("billing")) as f:
        b = json.load(f)
    assert "errors" not in b and b["spendingLimits"] and b["invoicePreview"]
    alive(m)


def test_billing_fails_only_when_no_part_answers(emu, mount_factory):
    """Fault fail (403 on every billing route): nothing answered, so reading fails with the
    errno of the refusal."""
    m = mount_factory(["live_ttl=0", "timeout=10"])
    emu.faults(fail_next=3, fail_status=403, fail_route="/v1/billing/teams/")
    try:
        open(m.p("billing")).read()
        err = 0
    except OSError as e:
        err = e.errno
    emu.faults()
    assert err == errno.EACCES, err
    with open(m.p("billing")) as f:
        assert json.load(f)["balance"]
    alive(m)


# ---------------------------------------------------------------------------
# 429 on writes: refused before the handler, so waited out and sent again

def test_key_creation_burst_under_a_rate_limit_succeeds(emu, mount_factory):
    """Variant rate_limit on key creation (burst 1, 1 per second, Retry-After 1): a burst
    of creations through the mount all succeed, each key exists once."""
    m = mount_factory(["timeout=15"])
    os.listdir(m.p("keys"))
    variants(emu, rate_limit={"route": CREATE_KEY_ROUTE, "burst": 1, "per_s": 1,
                              "retry_after": 1})
    emu.reset_stats()
    names = ["burst-%d" % i for i in range(4)]
    t0 = time.monotonic()
    results = [write_file(m.p("keys", n), b'{"acls": ["api-key:model:*"]}') for n in names]
    dt = time.monotonic() - t0
    limited = emu.control("GET", "/_emu/variants")["limited"]
    figure("4 key creations, rate limit 1/s Retry-After 1",
           "%.2f s, %d refused with 429 and sent again" % (dt, limited))
    assert results == [("ok", 0)] * 4, (results, m.stderr())
    assert limited >= 1, "the rate limiter never refused: the test proves nothing"
    assert count(emu, CREATE_KEY_ROUTE) == 4 + limited
    st = emu.state()
    assert all(key_names(st).count(n) == 1 for n in names), key_names(st)
    assert set(names) <= set(os.listdir(m.p("keys")))
    alive(m)


def test_upload_refused_with_429_is_sent_again(emu, mount_factory, tmp_path):
    """Fault fail 429 (Retry-After 1) on the upload route: waited out and sent again;
    stored once."""
    m = mount_factory(["timeout=10"])
    docs = m.p("collections", "contracts", "documents")
    os.listdir(docs)
    emu.reset_stats()
    emu.faults(fail_next=1, fail_status=429, retry_after=1, fail_route=UPLOAD_ROUTE)
    src = tmp_path / "limited.txt"
    src.write_bytes(b"sent twice, stored once\n")
    r = util.run(["cp", str(src), docs + "/"])
    emu.faults()
    assert r.returncode == 0, r.stderr + m.stderr()
    assert count(emu, UPLOAD_ROUTE) == 2
    assert len(docs_named(emu.state(), "contracts", "limited.txt")) == 1
    alive(m)


def test_429_beyond_the_timeout_and_other_failures_are_not_resent(emu, mount_factory):
    """A Retry-After longer than the timeout fails at once with EAGAIN; a 503 on a write is
    never sent again (it may have been acted on)."""
    m = mount_factory(["timeout=5"])
    os.listdir(m.p("keys"))
    for status, retry, want in ((429, 60, errno.EAGAIN), (503, None, errno.EIO)):
        name = "refused-%d" % status
        emu.reset_stats()
        emu.faults(fail_next=5, fail_status=status, retry_after=retry,
                   fail_route=CREATE_KEY_ROUTE)
        t0 = time.monotonic()
        step = write_file(m.p("keys", name), b'{"acls": []}')
        dt = time.monotonic() - t0
        emu.faults()
        assert step == ("close", want), (status, step)
        assert count(emu, CREATE_KEY_ROUTE) == 1, status
        assert dt < 5, "%d: failed after %.1f s" % (status, dt)
        assert name not in key_names(emu.state())
    alive(m)


# ---------------------------------------------------------------------------
# Scope: an organization-scoped key needs a team

def test_organization_scoped_key_without_a_team_refuses_to_mount(emu):
    """Variant key_scope=organization, no team given: the mount fails at once with one
    line saying how to give the team."""
    variants(emu, key_scope="organization")
    with pytest.raises(RuntimeError) as exc:
        util.Mount(emu, ["timeout=10"])
    out = str(exc.value)
    lines = [ln for ln in out.split(": ", 1)[1].splitlines() if ln.strip()]
    assert len(lines) == 1, out
    assert "XAI_TEAM_ID" in lines[0] and "-o team_id=" in lines[0], out
    assert util.route_count(emu.stats(), KEYS_ROUTE) == 0


@pytest.mark.parametrize("how", ["env", "option"])
def test_organization_scoped_key_with_a_team_mounts(emu, mount_factory, how):
    """Variant key_scope=organization with the team given: it mounts and every directory
    answers."""
    variants(emu, key_scope="organization")
    if how == "env":
        m = mount_factory(["timeout=10"], env={"XAI_TEAM_ID": util.TEAM_ID})
    else:
        m = mount_factory(["timeout=10", "team_id=" + util.TEAM_ID])
    assert "ci-bot" in os.listdir(m.p("keys"))
    assert "contracts" in os.listdir(m.p("collections"))
    with open(m.p("billing")) as f:
        assert json.load(f)["balance"]
    alive(m)


# ---------------------------------------------------------------------------
# Downloads ask for bytes, in their original form

def test_download_asks_for_original_bytes(emu, mount_factory):
    """Variant strict_accept: the content route answers 406 unless Accept admits
    application/octet-stream. Reading nda.pdf (NUL and 0xff bytes) gives its exact bytes,
    which format=text would not."""
    variants(emu, strict_accept=True)
    m = mount_factory(["timeout=10"])
    want = next(d["sha256"] for d in docs_named(emu.state(), "contracts", "nda.pdf"))
    with open(m.p("collections", "contracts", "documents", "nda.pdf"), "rb") as f:
        got = f.read()
    assert sha(got) == want and b"\x00" in got
    assert count(emu, CONTENT_ROUTE) >= 1
    alive(m)


# ---------------------------------------------------------------------------
# Listings end on an empty or repeated token and on an empty page

def test_empty_last_page_token_ends_the_listing(emu, mount_factory):
    """Variant last_page_token=empty: 6 keys in pages of 4 take exactly 2 requests."""
    variants(emu, last_page_token="empty")
    m = mount_factory(["page_size=4", "cache_ttl=0"])
    log = Log(m)
    emu.reset_stats()
    names = os.listdir(m.p("keys"))
    assert len(names) == 6, names
    assert count(emu, KEYS_ROUTE) == 2
    assert log.warnings() == [] and log.errors() == []
    alive(m)


def test_repeated_page_token_ends_the_listing(emu, mount_factory):
    """Variant repeat_token: the server answers page 2 with the token it was asked with.
    The listing stops there (not at the 100,000-page cap), with one log line."""
    variants(emu, repeat_token=True)
    m = mount_factory(["page_size=2", "cache_ttl=0", "timeout=10"])
    log = Log(m)
    emu.reset_stats()
    t0 = time.monotonic()
    names = os.listdir(m.p("keys"))
    dt = time.monotonic() - t0
    sent = count(emu, KEYS_ROUTE)
    figure("repeated page token: ls keys/ ended after", "%d requests, %.2f s" % (sent, dt))
    assert sent == 2, sent
    assert len(names) == 4, names
    lines = [ln for ln in log.new() if "repeated a page token" in ln]
    assert len(lines) == 1, log.new()
    alive(m)


def test_repeated_audit_token_ends_the_audit_log(emu, mount_factory):
    """Variant repeat_token on the audit log (pages of 100, up to 10): with more than 100
    events the second page repeats its token; audit.jsonl holds each event once."""
    m = mount_factory(["timeout=10"])
    for i in range(120):
        emu.api("POST", "/auth/teams/%s/api-keys" % util.TEAM_ID, {"name": "ev-%d" % i})
    variants(emu, repeat_token=True)
    log = Log(m)
    emu.reset_stats()
    with open(m.p("audit.jsonl")) as f:
        events = [json.loads(ln) for ln in f]
    ids = [e["eventId"] for e in events]
    assert len(ids) == len(set(ids)) and len(ids) > 100, len(ids)
    assert count(emu, "GET /audit/teams/{teamId}/events") == 2
    assert len([ln for ln in log.new() if "repeated a page token" in ln]) == 1, log.new()
    alive(m)


def test_empty_page_with_a_token_ends_the_listing(emu, mount_factory):
    """Variant last_page_token=endless: after the last page come empty pages, each with a
    fresh token. The listing stops at the first empty page, with one log line."""
    variants(emu, last_page_token="endless")
    m = mount_factory(["page_size=4", "cache_ttl=0", "timeout=10"])
    log = Log(m)
    emu.reset_stats()
    names = os.listdir(m.p("keys"))
    assert len(names) == 6, names
    assert count(emu, KEYS_ROUTE) == 3
    lines = [ln for ln in log.new() if "was empty but carried" in ln]
    assert len(lines) == 1, log.new()
    assert os.listdir(m.p("collections", "contracts", "documents"))
    alive(m)


# ---------------------------------------------------------------------------
# Rotation with a grace period for the old secret

def grace_of(emu, name):
    return next(k.get("_oldSecretExpireTime") for k in emu.state()["keys"]
                if k.get("name") == name)


def test_rotation_passes_the_old_secret_grace_period(emu, mount_factory):
    """Writing {"rotate": true, "oldSecretExpireTime": T} rotates once with that grace:
    the old secret keeps working until T. Without it, the API's default is 24 h."""
    m = mount_factory(["timeout=10"])
    path = m.p("keys", "graceful")
    assert write_file(path, b'{"acls": ["api-key:model:*"]}') == ("ok", 0), m.stderr()
    with open(path) as f:
        old = json.load(f)["apiKey"]
    until = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    emu.reset_stats()
    body = json.dumps({"rotate": True, "oldSecretExpireTime": until}).encode()
    assert write_file(path, body) == ("ok", 0), m.stderr()
    assert count(emu, ROTATE_ROUTE) == 1
    assert grace_of(emu, "graceful").startswith(until[:19])
    with open(path) as f:
        new = json.load(f)["apiKey"]
    assert new != old
    for secret in (old, new):
        assert json.loads(emu.api("GET", "/v1/api-key", key=secret))["api_key_id"]
    # Without a grace period: the default of 24 h.
    t0 = time.time()
    assert write_file(path, b'{"rotate": true}') == ("ok", 0)
    g = grace_of(emu, "graceful")
    left = time.mktime(time.strptime(g[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone - t0
    figure("rotation without oldSecretExpireTime: old secret valid for", "%.0f s" % left)
    assert abs(left - 24 * 3600) < 120, left
    # A grace period without rotate, or not a time, is refused before any request.
    emu.reset_stats()
    for bad in (b'{"oldSecretExpireTime": "%s"}' % until.encode(),
                b'{"rotate": true, "oldSecretExpireTime": "tomorrow"}'):
        assert write_file(path, bad) == ("close", errno.EINVAL), bad
    assert count(emu, ROTATE_ROUTE) == 0
    alive(m)
