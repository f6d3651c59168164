"""Everyday features: extended attributes and setfattr actions, the config file,
/audit.jsonl, /usage-by-month/ and the -d debug output."""
import calendar
import errno
import json
import os
import re
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest

import util
from util import run

ROTATE_ROUTE = "POST /auth/api-keys/{apiKeyId}/rotate"
PROPAGATION_ROUTE = "GET /auth/api-keys/{apiKeyId}/propagation"
REINDEX_ROUTE = "PATCH /v1/collections/{collection_id}/documents/{file_id}"
AUDIT_ROUTE = "GET /audit/teams/{teamId}/events"
USAGE_ROUTE = "POST /v1/billing/teams/{team_id}/usage"
WRONG_TEAM = "00000000-0000-4000-8000-000000000000"


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def read_json(path):
    with open(path) as f:
        return json.load(f)


def xattr(path, name):
    return os.getxattr(path, name)


def xattr_errno(path, name):
    with pytest.raises(OSError) as e:
        os.getxattr(path, name)
    return e.value.errno


def api_json(emu, path, key=util.MGMT_KEY):
    return json.loads(emu.api("GET", path, key=key))


def key_file(tmp_path, name="key", text=util.MGMT_KEY):
    kf = tmp_path / name
    kf.write_text(text + "\n")
    kf.chmod(0o600)
    return str(kf)


class ArgvMount(util.Mount):
    """util.Mount with a free command line: `args` come after the mountpoint (no -o
    management_url/api_url is added), `env` replaces the XAI_* variables."""

    def __init__(self, args, env):  # pylint: disable=super-init-not-called
        self.dir = tempfile.mkdtemp(prefix="xaifs-mnt-")
        self.path = os.path.join(self.dir, "mnt")
        os.mkdir(self.path)
        self.errpath = os.path.join(self.dir, "stderr")
        self.err = open(self.errpath, "w+b")
        e = {k: v for k, v in os.environ.items() if not k.startswith("XAI_")}
        e.update(env)
        self.argv = [util.xaifs_bin(), self.path] + list(args)
        self.proc = subprocess.Popen(self.argv, stdout=self.err, stderr=subprocess.STDOUT,
                                     env=e)
        try:
            util.wait_for(lambda: os.path.ismount(self.path) or self.proc.poll() is not None,
                          60, "mount")
        except TimeoutError:
            self.stop()
            raise
        if self.proc.poll() is not None:
            out = self.stderr()
            self.cleanup_dir()
            raise RuntimeError("xaifs exited with %s: %s" % (self.proc.returncode, out))
        self.output = None

    def stop(self):
        if self.output is None:
            self.output = super().stop()
        return self.output


@pytest.fixture
def argv_mount():
    mounts = []

    def make(args, env):
        m = ArgvMount(args, env)
        mounts.append(m)
        return m

    yield make
    errors = []
    for m in mounts:
        try:
            m.stop()
        except AssertionError as exc:
            errors.append(str(exc))
    if errors:
        pytest.fail("\n".join(errors))


def fail_to_start(args, env, timeout=30):
    """Run xaifs in the foreground expecting it to refuse to mount; (rc, output)."""
    d = tempfile.mkdtemp(prefix="xaifs-fail-")
    e = {k: v for k, v in os.environ.items() if not k.startswith("XAI_")}
    e.update(env)
    try:
        p = subprocess.run([util.xaifs_bin(), "-f", d] + list(args), env=e,
                           capture_output=True, text=True, timeout=timeout)
    finally:
        if os.path.ismount(d):
            subprocess.run(["fusermount3", "-u", d])
        os.rmdir(d)
    return p.returncode, p.stdout + p.stderr


# -- extended attributes ---------------------------------------------------------------

def test_key_xattrs_cost_no_request(emu, mnt):
    p = mnt.p("keys", "ci-bot")
    body = read_bytes(p)
    key = json.loads(body)
    emu.reset_stats()
    assert xattr(p, "user.xai.id").decode() == key["apiKeyId"]
    assert xattr(p, "user.xai.name") == b"ci-bot"
    raw = xattr(p, "user.xai.json")
    assert json.loads(raw) == key
    assert raw.rstrip(b"\n") == body.rstrip(b"\n")
    assert xattr_errno(p, "user.xai.status") == errno.ENODATA
    assert emu.stats()["total"] == 0


def test_key_propagation_is_fetched_when_read(emu, mnt):
    p = mnt.p("keys", "ci-bot")
    key_id = read_json(p)["apiKeyId"]
    emu.reset_stats()
    prop = json.loads(xattr(p, "user.xai.propagation"))
    assert util.route_count(emu.stats(), PROPAGATION_ROUTE) == 1
    assert prop == api_json(emu, "/auth/api-keys/%s/propagation" % key_id)
    assert set(prop["icPropagation"].values()) == {True}


def test_getfattr_lists_every_attribute(mnt):
    cases = {
        mnt.p("keys", "ci-bot"): {"id", "name", "json", "propagation"},
        mnt.p("models", "grok-4-0709"): {"id", "name", "json"},
        mnt.p("collections", "contracts"): {"id", "name", "json"},
        mnt.p("collections", "contracts", "collection.json"): {"id", "name", "json"},
        mnt.p("collections", "contracts", "documents", "nda.pdf"):
            {"id", "name", "json", "status"},
        mnt.p("collections", "contracts", "metadata", "nda.pdf.json"):
            {"id", "name", "json", "status"},
    }
    for path, want in cases.items():
        want = {"user.xai." + w for w in want}
        assert want <= set(os.listxattr(path)), path
        assert "user.xai.rotate" not in os.listxattr(path)
        r = run(["getfattr", "-d", "--absolute-names", path])
        assert r.returncode == 0, r.stderr
        dumped = {line.split("=", 1)[0] for line in r.stdout.splitlines() if "=" in line}
        assert want <= dumped, (path, r.stdout)
    # propagation only on keys, status only on documents
    assert "user.xai.propagation" not in os.listxattr(mnt.p("models", "grok-4-0709"))
    assert "user.xai.status" not in os.listxattr(mnt.p("collections", "contracts"))
    assert "user.xai.status" not in os.listxattr(mnt.p("keys", "ci-bot"))


def test_model_xattrs(mnt):
    p = mnt.p("models", "grok-4-0709")
    model = read_json(p)
    assert xattr(p, "user.xai.id").decode() == model["name"]
    assert xattr(p, "user.xai.name").decode() == model["name"]
    assert json.loads(xattr(p, "user.xai.json")) == model


def test_collection_xattrs_on_directory_and_collection_json(emu, mnt):
    coll = read_json(mnt.p("collections", "contracts", "collection.json"))
    emu.reset_stats()
    for p in (mnt.p("collections", "contracts"),
              mnt.p("collections", "contracts", "collection.json")):
        assert xattr(p, "user.xai.id").decode() == coll["collection_id"]
        assert xattr(p, "user.xai.name") == b"contracts"
        assert json.loads(xattr(p, "user.xai.json")) == coll
        assert xattr_errno(p, "user.xai.status") == errno.ENODATA
        assert xattr_errno(p, "user.xai.propagation") == errno.ENODATA
    assert emu.stats()["total"] == 0


def test_document_and_metadata_xattrs(emu, mnt):
    meta_path = mnt.p("collections", "contracts", "metadata", "nda.pdf.json")
    doc_path = mnt.p("collections", "contracts", "documents", "nda.pdf")
    meta = read_json(meta_path)
    emu.reset_stats()
    for p in (doc_path, meta_path):
        assert xattr(p, "user.xai.id").decode() == meta["file_metadata"]["file_id"]
        assert xattr(p, "user.xai.name") == b"nda.pdf"
        assert json.loads(xattr(p, "user.xai.json")) == meta
        assert xattr(p, "user.xai.status") == b"DOCUMENT_STATUS_PROCESSED"
    # reading attributes never downloads the document
    assert emu.stats()["total"] == 0


def test_files_without_attributes(mnt):
    for p in (mnt.p("usage"), mnt.p("billing"), mnt.p("regions"), mnt.p("keys")):
        assert not [n for n in os.listxattr(p) if n.startswith("user.xai.")], p
        assert xattr_errno(p, "user.xai.id") == errno.ENODATA


def test_name_xattr_is_the_servers_name(emu, mount_factory):
    emu.reset("hostile")
    m = mount_factory()
    by_id = {k["apiKeyId"]: k.get("name", "") for k in emu.state()["keys"]}
    differs = 0
    files = os.listdir(m.p("keys"))
    assert files
    for f in files:
        key_id = xattr(m.p("keys", f), "user.xai.id").decode()
        assert key_id in by_id, f
        name = by_id[key_id]
        if not name or "\ufffd" in name:
            continue                 # omitted name, or invalid UTF-8 the control API mangles
        assert xattr(m.p("keys", f), "user.xai.name") == name.encode(), f
        differs += name != f
    assert differs >= 3              # "a/b", "new\nline", "dup" twice, ...
    # "new\nline" is shown as new%0Aline; its attribute keeps the newline
    assert xattr(m.p("keys", "new%0Aline"), "user.xai.name") == b"new\nline"


def test_setfattr_rotate_shows_the_new_secret(emu, mnt):
    p = mnt.p("keys", "ci-bot")
    before = read_json(p)
    assert "apiKey" not in before
    emu.reset_stats()
    r = run(["setfattr", "-n", "user.xai.rotate", "-v", "1", p])
    assert r.returncode == 0, r.stderr
    assert util.route_count(emu.stats(), ROTATE_ROUTE) == 1
    after = read_json(p)
    secret = after.get("apiKey")
    assert secret and secret.startswith("xai-")
    assert after["apiKeyId"] == before["apiKeyId"]
    assert os.stat(p).st_size == len(read_bytes(p))
    # the secret is the key's real new secret: the inference API accepts it
    who = api_json(emu, "/v1/api-key", key=secret)
    assert who["api_key_id"] == before["apiKeyId"]
    # ... and stays shown for the life of the mount, never in the log
    with open(mnt.p(".xaifs", "refresh"), "w") as f:
        f.write("1")
    assert read_json(p).get("apiKey") == secret
    assert secret not in mnt.stderr()


def test_setfattr_reindex_a_document(emu, mnt):
    emu.faults(process_delay_s=60)
    doc = mnt.p("collections", "contracts", "documents", "msa.txt")
    assert xattr(doc, "user.xai.status") == b"DOCUMENT_STATUS_PROCESSED"
    emu.reset_stats()
    r = run(["setfattr", "-n", "user.xai.reindex", "-v", "1", doc])
    assert r.returncode == 0, r.stderr
    assert util.route_count(emu.stats(), REINDEX_ROUTE) == 1
    assert emu.stats()["mutating"] == 1
    # the change shows at once, in the attribute and in the metadata file
    assert xattr(doc, "user.xai.status") == b"DOCUMENT_STATUS_PROCESSING"
    meta = read_json(mnt.p("collections", "contracts", "metadata", "msa.txt.json"))
    assert meta["status"] == "DOCUMENT_STATUS_PROCESSING"


def test_other_xattr_changes_are_not_supported(emu, mnt):
    key = mnt.p("keys", "ci-bot")
    doc = mnt.p("collections", "contracts", "documents", "nda.pdf")
    os.listdir(mnt.p("collections", "contracts", "documents"))
    emu.reset_stats()
    attempts = [
        lambda: os.setxattr(key, "user.xai.id", b"x"),
        lambda: os.setxattr(key, "user.xai.name", b"renamed"),
        lambda: os.setxattr(key, "user.comment", b"hello"),
        lambda: os.setxattr(key, "user.xai.reindex", b"1"),       # keys cannot be re-indexed
        lambda: os.setxattr(doc, "user.xai.rotate", b"1"),        # documents cannot rotate
        lambda: os.setxattr(mnt.p("regions"), "user.xai.rotate", b"1"),
        lambda: os.removexattr(key, "user.xai.id"),
        lambda: os.removexattr(doc, "user.xai.status"),
        lambda: os.removexattr(key, "user.xai.rotate"),
    ]
    for i, attempt in enumerate(attempts):
        with pytest.raises(OSError) as e:
            attempt()
        assert e.value.errno == errno.EOPNOTSUPP, (i, e.value)
    r = run(["setfattr", "-n", "user.other", "-v", "1", key])
    assert r.returncode != 0 and "Operation not supported" in r.stderr
    s = emu.stats()
    assert s["mutating"] == 0, s


def test_actions_on_a_read_only_mount_send_nothing(emu, mount_factory):
    m = mount_factory(["ro"])
    key = m.p("keys", "ci-bot")
    doc = m.p("collections", "contracts", "documents", "nda.pdf")
    os.listdir(m.p("collections", "contracts", "documents"))
    for path, name in ((key, "user.xai.rotate"), (doc, "user.xai.reindex")):
        with pytest.raises(OSError):
            os.setxattr(path, name, b"1")
    assert emu.stats()["mutating"] == 0
    assert "apiKey" not in read_json(key)


# -- the config file -----------------------------------------------------------------------

def write_config(path, lines):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def test_config_file_in_xdg_config_home(emu, mount_factory, tmp_path):
    xdg = tmp_path / "xdg"
    write_config(str(xdg / "xaifs" / "config"), [
        "# xaifs configuration",
        "",
        "key_file=" + key_file(tmp_path),
        "   ",
        "# a bare name is a flag",
        "ro",
    ])
    m = mount_factory(key_env=False, env={"XDG_CONFIG_HOME": str(xdg)})
    assert "ci-bot" in os.listdir(m.p("keys"))
    with pytest.raises(OSError) as e:             # "ro" from the file applies
        open(m.p("keys", "from-config"), "w")
    assert e.value.errno == errno.EROFS


def test_config_file_defaults_to_home_dot_config(emu, mount_factory, tmp_path, monkeypatch):
    home = tmp_path / "home"
    write_config(str(home / ".config" / "xaifs" / "config"),
                 ["key_file=" + key_file(tmp_path), "ro"])
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    m = mount_factory(key_env=False, env={"HOME": str(home), "XDG_CONFIG_HOME": ""})
    assert "ci-bot" in os.listdir(m.p("keys"))
    with pytest.raises(OSError) as e:
        open(m.p("keys", "from-config"), "w")
    assert e.value.errno == errno.EROFS


def test_config_file_can_hold_every_setting(emu, argv_mount, tmp_path):
    """Nothing on the command line but the mountpoint, -f and config=: URLs, team and keys
    come from the file."""
    settings = [
        "management_url=" + emu.url,
        "api_url=" + emu.url,
        "key_file=" + key_file(tmp_path),
        "api_key_file=" + key_file(tmp_path, "api-key", util.API_KEY),
        "cache_ttl=0",
    ]
    cfg = write_config(str(tmp_path / "xaifs.conf"), settings + ["team_id=" + util.TEAM_ID])
    env = {"XDG_CONFIG_HOME": str(tmp_path / "none")}
    m = argv_mount(["-f", "-o", "config=" + cfg], env)
    assert "contracts" in os.listdir(m.p("collections"))
    # api_key_file from the file: document bytes can be read
    assert read_bytes(m.p("collections", "contracts", "documents", "msa.txt"))
    # cache_ttl=0 from the file (the default is 60): every listing asks the server
    os.listdir(m.p("keys"))
    emu.reset_stats()
    os.listdir(m.p("keys"))
    assert util.route_count(emu.stats(), "GET /auth/teams/{teamId}/api-keys") == 1
    # team_id from the file is used: a wrong one fails the mount
    bad = write_config(str(tmp_path / "bad-team.conf"), settings + ["team_id=" + WRONG_TEAM])
    rc, out = fail_to_start(["-o", "config=" + bad], env)
    assert rc != 0 and "not found" in out


def test_command_line_wins_over_config_file(emu, mount_factory, tmp_path):
    xdg = tmp_path / "xdg"
    write_config(str(xdg / "xaifs" / "config"), [
        "management_url=http://127.0.0.1:1",      # unreachable: the mount would fail
        "team_id=" + WRONG_TEAM,                   # wrong: the mount would fail
        "key_file=" + key_file(tmp_path),
    ])
    # util.Mount passes management_url and api_url with -o; team_id too here
    m = mount_factory(["team_id=" + util.TEAM_ID], key_env=False,
                      env={"XDG_CONFIG_HOME": str(xdg)})
    assert "ci-bot" in os.listdir(m.p("keys"))
    # and the same file without the command line's team_id fails on the wrong team
    rc, out = fail_to_start(["-o", "management_url=%s,api_url=%s" % (emu.url, emu.url)],
                            {"XDG_CONFIG_HOME": str(xdg)})
    assert rc != 0 and "not found" in out


def test_command_line_rw_wins_over_ro_in_config_file(emu, mount_factory, tmp_path):
    xdg = tmp_path / "xdg"
    write_config(str(xdg / "xaifs" / "config"), ["ro"])
    m = mount_factory(["rw"], env={"XDG_CONFIG_HOME": str(xdg)})
    with open(m.p("keys", "made-rw"), "w") as f:
        f.write('{"acls": ["api-key:model:*"]}')
    assert "made-rw" in {k["name"] for k in emu.state()["keys"]}


def test_explicit_config_replaces_the_default_one(emu, mount_factory, tmp_path):
    xdg = tmp_path / "xdg"
    write_config(str(xdg / "xaifs" / "config"), ["team_id=" + WRONG_TEAM])
    cfg = write_config(str(tmp_path / "other.conf"), ["key_file=" + key_file(tmp_path)])
    m = mount_factory(["config=" + cfg], key_env=False, env={"XDG_CONFIG_HOME": str(xdg)})
    assert "ci-bot" in os.listdir(m.p("keys"))


def test_key_in_config_file_is_refused(emu, tmp_path):
    cfg = write_config(str(tmp_path / "bad.conf"), ["key=" + util.MGMT_KEY])
    for env in ({}, {"XAI_MANAGEMENT_KEY": util.MGMT_KEY}):
        rc, out = fail_to_start(
            ["-o", "config=%s,management_url=%s,api_url=%s" % (cfg, emu.url, emu.url)],
            dict(env, XDG_CONFIG_HOME=str(tmp_path / "none")))
        assert rc != 0, out
        assert "key_file" in out
        assert util.MGMT_KEY not in out
    # also from the default location
    xdg = tmp_path / "xdg"
    write_config(str(xdg / "xaifs" / "config"), ["key=" + util.MGMT_KEY])
    rc, out = fail_to_start(["-o", "management_url=%s,api_url=%s" % (emu.url, emu.url)],
                            {"XDG_CONFIG_HOME": str(xdg), "XAI_MANAGEMENT_KEY": util.MGMT_KEY})
    assert rc != 0 and "key_file" in out and util.MGMT_KEY not in out


def test_missing_explicit_config_file_fails(emu, tmp_path):
    rc, out = fail_to_start(
        ["-o", "config=%s,management_url=%s" % (tmp_path / "nope.conf", emu.url)],
        {"XAI_MANAGEMENT_KEY": util.MGMT_KEY})
    assert rc != 0 and "nope.conf" in out


# -- /audit.jsonl ----------------------------------------------------------------------------

def all_events(emu):
    events, token = [], None
    while True:
        q = "pageSize=100" + ("&pageToken=" + token if token else "")
        page = api_json(emu, "/audit/teams/%s/events?%s" % (util.TEAM_ID, q))
        events += page.get("events", [])
        token = page.get("nextPageToken")
        if not token:
            return events


def read_audit(m):
    raw = read_bytes(m.p("audit.jsonl"))
    assert raw.endswith(b"\n")
    assert os.stat(m.p("audit.jsonl")).st_size == len(raw)
    lines = raw.decode().split("\n")[:-1]
    assert all(line and "\n" not in line for line in lines)
    return [json.loads(line) for line in lines]


def test_audit_jsonl_newest_first(emu, mnt):
    assert "audit.jsonl" in os.listdir(mnt.path)
    got = read_audit(mnt)
    want = all_events(emu)
    assert len(want) == 8
    assert got == want
    times = [e["eventTime"] for e in got]
    assert times == sorted(times, reverse=True)
    r = run("jq -r .description %s | head -1" % mnt.p("audit.jsonl"))
    assert r.stdout.strip() == "Rotated API key 'ci-bot'"


def test_audit_jsonl_keeps_the_latest_1000(emu, mount_factory):
    def make(i):
        emu.api("POST", "/auth/teams/%s/api-keys" % util.TEAM_ID,
                {"name": "audit-%04d" % i, "acls": []})
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(make, range(1100)))
    want = all_events(emu)
    assert len(want) == 1108
    m = mount_factory()
    emu.reset_stats()
    got = read_audit(m)
    assert len(got) == 1000
    assert got == want[:1000]
    assert util.route_count(emu.stats(), AUDIT_ROUTE) == 10


def test_audit_jsonl_shows_changes_made_through_the_mount(emu, mnt):
    assert len(read_audit(mnt)) == 8
    os.mkdir(mnt.p("collections", "audited"))
    got = read_audit(mnt)
    assert len(got) == 9
    assert got[0]["description"] == "Created collection 'audited'"


# -- /usage-by-month -------------------------------------------------------------------------

def months_back(now, n):
    y, m = now.year, now.month - n
    while m < 1:
        y, m = y - 1, m + 12
    return y, m


def check_month(usage, y, m):
    ny, nm = (y + 1, 1) if m == 12 else (y, m + 1)
    assert usage["startTime"] == "%04d-%02d-01 00:00:00" % (y, m)
    assert usage["endTime"] == "%04d-%02d-01 00:00:00" % (ny, nm)
    assert usage["timeUnit"] == "TIME_UNIT_DAY"
    days = calendar.monthrange(y, m)[1]
    assert usage["timeSeries"]
    for s in usage["timeSeries"]:
        assert len(s["dataPoints"]) == days
    points = [p for s in usage["timeSeries"] for p in s["dataPoints"]]
    total = sum(p["values"][0] for p in points if p.get("values"))
    assert abs(usage["totalUsd"] - total) < 1e-6


def test_usage_by_month_lists_thirteen_months(mnt):
    now = datetime.now(timezone.utc)
    want = sorted("%04d-%02d" % months_back(now, n) for n in range(13))
    want = sorted(want + [m + ".svg" for m in want])    # each month's drawing beside it
    assert sorted(os.listdir(mnt.p("usage-by-month"))) == want
    assert "usage-by-month" in os.listdir(mnt.path)
    assert os.path.isdir(mnt.p("usage-by-month"))


def test_usage_by_month_past_month(emu, mnt):
    now = datetime.now(timezone.utc)
    y, m = months_back(now, 3)
    path = mnt.p("usage-by-month", "%04d-%02d" % (y, m))
    emu.reset_stats()
    raw = read_bytes(path)
    assert os.stat(path).st_size == len(raw) and raw.endswith(b"}\n")
    assert util.route_count(emu.stats(), USAGE_ROUTE) == 1
    usage = json.loads(raw)
    check_month(usage, y, m)
    with open(mnt.p("usage")) as f:
        current = json.load(f)
    assert set(current) <= set(usage) | {"limitReached"}
    r = run(["jq", "-e", ".totalUsd >= 0", path])
    assert r.returncode == 0, r.stderr


def test_usage_by_month_reads_any_month_since_2023(mnt):
    check_month(read_json(mnt.p("usage-by-month", "2023-01")), 2023, 1)
    check_month(read_json(mnt.p("usage-by-month", "2024-02")), 2024, 2)   # leap year
    now = datetime.now(timezone.utc)
    cur = read_json(mnt.p("usage-by-month", "%04d-%02d" % (now.year, now.month)))
    assert cur["startTime"] == "%04d-%02d-01 00:00:00" % (now.year, now.month)
    ny, nm = months_back(now, -1)
    for bad in ("2022-12", "%04d-%02d" % (ny, nm), "2024-13", "2024-00", "2024-1",
                "2024-011", "latest", "2024-01.json"):
        assert not os.path.exists(mnt.p("usage-by-month", bad)), bad
        with pytest.raises(FileNotFoundError):
            open(mnt.p("usage-by-month", bad))


# -- -d ------------------------------------------------------------------------------------

HTTP_LINE = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE) (/\S*) -> (\d{3})\b.*?\b(\d+) ?ms\b")


def test_debug_shows_fuse_operations_and_http_requests(emu, argv_mount, tmp_path):
    emu.reset_stats()
    m = argv_mount(["-d", "-o", "management_url=%s,api_url=%s,key_file=%s" % (
        emu.url, emu.url, key_file(tmp_path))], {"XAI_API_KEY": util.API_KEY})
    os.listdir(m.p("keys"))
    read_bytes(m.p("keys", "ci-bot"))
    read_bytes(m.p("collections", "contracts", "documents", "msa.txt"))
    with open(m.p("keys", "debug-made"), "w") as f:
        f.write('{"acls": ["api-key:model:*"]}')
    secret = read_json(m.p("keys", "debug-made"))["apiKey"]
    out = m.stop()
    requests = emu.stats()["total"]
    for op in ("LOOKUP", "OPENDIR", "READDIR(PLUS)?", "OPEN", "READ", "CREATE", "WRITE",
               "FLUSH", "RELEASE"):
        assert re.search(r"opcode: %s \(\d+\)" % op, out), op
    lines = HTTP_LINE.findall(out)
    routes = {(method, route) for method, route, _, _ in lines}
    for want in (("GET", "/auth/management-keys/validation"),
                 ("GET", "/auth/teams/{teamId}/api-keys"),
                 ("POST", "/auth/teams/{teamId}/api-keys"),
                 ("GET", "/v1/collections"),
                 ("GET", "/v1/files/{file_id}/content")):
        assert want in routes, (want, routes)
    assert all(status == "200" for _, _, status, _ in lines), lines
    assert len(lines) == requests        # every request, once
    for secret_text in (util.MGMT_KEY, util.API_KEY, secret, "Bearer"):
        assert secret_text not in out, secret_text
