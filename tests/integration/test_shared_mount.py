"""A mount shared with other users of the machine, and a mount run by systemd.

xaifs acts with the team's management key for every user who reaches the mount, so the
modes it shows must be the whole access policy: the kernel enforces them
(default_permissions, always on), and -o uid=, gid=, umask= choose them. Here root mounts
with allow_other and `nobody` (through setpriv) reads, writes, creates, deletes and makes
directories; each refused operation must be refused by the kernel, before any request
reaches the emulator.

The last tests listen on a datagram socket as systemd would ($NOTIFY_SOCKET) and check
READY=1 (sent once the mount answers), STATUS= (the team, never the key, and the last
error) and STOPPING=1.
"""
import errno
import json
import os
import shutil
import socket
import stat
import subprocess
import tempfile
import threading

import pytest

import util

NOBODY, NOGROUP = 65534, 65534
KEYS_ROUTE = "GET /auth/teams/{teamId}/api-keys"
CREATE_KEY_ROUTE = "POST /auth/teams/{teamId}/api-keys"
CREATE_COLL_ROUTE = "POST /v1/collections"
UPLOAD_ROUTE = "POST /v1/collections/{collection_id}/documents"

# Operations another user runs, one Python process per batch: each prints its result as
# {"ok": ...} or {"errno": N}, so a test sees the exact errno.
AGENT = r"""
import json, os, sys

def run(op, path, arg):
    if op == "listdir":
        return sorted(os.listdir(path))
    if op == "read":
        with open(path, "rb") as f:
            return f.read().decode("latin-1")
    if op == "stat":
        st = os.stat(path)
        return [stat_mode(st), st.st_uid, st.st_gid]
    if op in ("write", "create"):
        flags = os.O_WRONLY | os.O_TRUNC | (os.O_CREAT | os.O_EXCL if op == "create" else 0)
        fd = os.open(path, flags, 0o600)
        try:
            os.write(fd, arg.encode())
        finally:
            os.close(fd)
        return None
    if op == "unlink":
        return os.unlink(path)
    if op == "mkdir":
        return os.mkdir(path)
    if op == "rmdir":
        return os.rmdir(path)
    if op == "rename":
        return os.rename(path, arg)
    if op == "chmod":
        return os.chmod(path, arg)
    if op == "chown":
        return os.chown(path, arg, -1)
    if op == "truncate":
        return os.truncate(path, 0)
    if op == "touch":
        return os.utime(path, None)
    raise ValueError(op)

def stat_mode(st):
    return st.st_mode & 0o7777

out = []
for op, path, arg in json.loads(sys.argv[1]):
    try:
        out.append({"ok": run(op, path, arg)})
    except OSError as e:
        out.append({"errno": e.errno})
print(json.dumps(out))
"""


def as_user(ops, uid=NOBODY, gid=NOGROUP):
    """Run [(op, path, arg), ...] as uid:gid with no supplementary groups; results in order."""
    r = subprocess.run(["setpriv", "--reuid=%d" % uid, "--regid=%d" % gid, "--clear-groups",
                        util.PYTHON, "-c", AGENT, json.dumps([list(o) for o in ops])],
                       capture_output=True, text=True, timeout=120, cwd="/")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def one(op, path, arg=None, **kw):
    return as_user([(op, path, arg)], **kw)[0]


@pytest.fixture(autouse=True)
def needs_root():
    # Acting as another user takes root: fail loudly rather than skip.
    if os.geteuid() != 0:
        pytest.fail("test_shared_mount.py needs root (to mount with allow_other and act "
                    "as nobody through setpriv)")


def shared(mount_factory, *options):
    """A mount with allow_other (plus options) that nobody can reach: the mount point's
    directory is made traversable, and every directory above it must already be."""
    m = mount_factory(["allow_other", "cache_ttl=600", "live_ttl=600", *options])
    os.chmod(m.dir, 0o755)
    d = os.path.dirname(m.dir)
    while True:
        assert os.stat(d).st_mode & 0o001, "%s is not traversable by other users" % d
        if d == "/":
            break
        d = os.path.dirname(d)
    return m


def mount_options(path):
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            if fields[4] == path:
                sep = fields.index("-")
                return set(fields[5].split(",")) | set(fields[sep + 3].split(","))
    raise AssertionError("%s is not in /proc/self/mountinfo" % path)


def modes(m):
    """rel path -> (permission bits, uid, gid) of everything in the mount (as root)."""
    out = {}
    for top, dirs, files in os.walk(m.path):
        for n in dirs + files + ["."]:
            p = os.path.join(top, n)
            st = os.lstat(p)
            out[os.path.normpath(os.path.relpath(p, m.path))] = (
                stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, stat.S_ISDIR(st.st_mode))
    return out


def check_modes(m, uid, gid, dir_mode, file_mode, ro_file_mode):
    seen = modes(m)
    assert len(seen) > 30
    for rel, (mode, u, g, isdir) in seen.items():
        want = dir_mode if isdir else file_mode if util.writable_file(rel) else ro_file_mode
        assert (mode, u, g) == (want, uid, gid), "%s is %o %d:%d" % (rel, mode, u, g)


def refused(results):
    return [r.get("errno") for r in results]


# Everything nobody tries against keys, documents and collections that changes the account.
def changes(m):
    key = m.p("keys", "ci-bot")
    doc = m.p("collections", "contracts", "documents", "nda.pdf")
    return [
        ("write", key, '{"acls": []}'),
        ("truncate", key, None),
        ("create", m.p("keys", "made-by-nobody"), '{"acls": []}'),
        ("unlink", key, None),
        ("rename", key, m.p("keys", "renamed-by-nobody")),
        ("mkdir", m.p("collections", "made-by-nobody"), None),
        ("rmdir", m.p("collections", "contracts"), None),
        ("rename", m.p("collections", "contracts"), m.p("collections", "renamed")),
        ("write", m.p("collections", "contracts", "collection.json"), "{}"),
        ("write", doc, "new bytes"),
        ("unlink", doc, None),
        ("create", m.p("collections", "contracts", "documents", "new.txt"), "x"),
        ("create", m.p("keys", ".made-by-nobody.swp"), "local"),
        ("write", m.p(".xaifs", "refresh"), "1"),
    ]


# ---------------------------------------------------------------------------
# default_permissions, always

@pytest.mark.parametrize("options", [(), ("allow_other",), ("ro",),
                                     ("allow_other", "gid=0", "umask=0")])
def test_the_kernel_checks_permissions_whatever_the_options(mount_factory, options):
    m = mount_factory(list(options))
    opts = mount_options(m.path)
    assert "default_permissions" in opts, opts
    assert ("allow_other" in opts) == ("allow_other" in options), opts


# ---------------------------------------------------------------------------
# allow_other alone: other users may enter the mount, the modes keep them out

def test_allow_other_alone_keeps_everything_private(emu, mount_factory):
    m = shared(mount_factory)
    check_modes(m, 0, 0, 0o700, 0o600, 0o400)
    before = emu.state()
    emu.reset_stats()
    reads = as_user([("listdir", m.path, None), ("listdir", m.p("keys"), None),
                     ("read", m.p("keys", "ci-bot"), None), ("stat", m.p("keys"), None),
                     ("read", m.p(".xaifs", "stats"), None)])
    assert refused(reads) == [errno.EACCES] * 5, reads
    assert refused(as_user(changes(m))) == [errno.EACCES] * len(changes(m))
    assert refused([one("chmod", m.p("keys"), 0o777)]) == [errno.EACCES]
    # Refused in the kernel: not one request reached the server.
    assert emu.stats()["total"] == 0, emu.stats()
    assert emu.state() == before
    # The mounting user still does everything.
    with open(m.p("keys", "ci-bot")) as f:
        json.load(f)


# ---------------------------------------------------------------------------
# A group that reads: allow_other,gid=nogroup,umask=0027

def test_a_group_reads_and_changes_nothing(emu, mount_factory):
    m = shared(mount_factory, "gid=nogroup", "umask=0027")
    check_modes(m, 0, NOGROUP, 0o750, 0o640, 0o440)
    with open(m.p("keys", "ci-bot"), "rb") as f:
        key = f.read()
    docs = m.p("collections", "contracts", "documents")
    reads = as_user([("listdir", m.path, None), ("listdir", m.p("keys"), None),
                     ("read", m.p("keys", "ci-bot"), None), ("listdir", docs, None),
                     ("read", os.path.join(docs, "nda.pdf"), None),
                     ("read", m.p("usage"), None), ("stat", m.p("keys", "ci-bot"), None)])
    assert all("ok" in r for r in reads), reads
    assert reads[1]["ok"] == sorted(os.listdir(m.p("keys")))
    assert reads[2]["ok"].encode("latin-1") == key
    with open(os.path.join(docs, "nda.pdf"), "rb") as f:
        assert reads[4]["ok"].encode("latin-1") == f.read()
    assert reads[6]["ok"] == [0o640, 0, NOGROUP]
    # Everything nobody needs is now looked up and cached: what follows is refused
    # by the kernel, from the modes alone, with no request at all.
    before = emu.state()
    emu.reset_stats()
    results = as_user(changes(m))
    assert refused(results) == [errno.EACCES] * len(results), list(zip(changes(m), results))
    # Only the owner may change modes and owners (and they are ignored: see test below).
    assert refused([one("chmod", m.p("keys", "ci-bot"), 0o666),
                    one("chown", m.p("keys", "ci-bot"), NOBODY),
                    one("touch", m.p("keys", "ci-bot"))]) == [errno.EPERM, errno.EPERM,
                                                              errno.EACCES]
    # The files that are never writable: write bits off, refused for the group too.
    assert refused([one("write", m.p("usage"), "x")]) == [errno.EACCES]
    assert emu.stats()["total"] == 0, emu.stats()
    assert emu.state() == before
    # A user outside the group sees nothing.
    assert refused([one("listdir", m.path, uid=4321, gid=4321)]) == [errno.EACCES]
    assert emu.stats()["total"] == 0, emu.stats()


# ---------------------------------------------------------------------------
# A group that writes, on purpose: allow_other,gid=nogroup,umask=0007

def test_a_group_may_change_the_account_when_asked(emu, mount_factory):
    m = shared(mount_factory, "gid=nogroup", "umask=0007")
    check_modes(m, 0, NOGROUP, 0o770, 0o660, 0o440)
    emu.reset_stats()
    docs = m.p("collections", "contracts", "documents")
    results = as_user([
        ("create", m.p("keys", "made-by-nobody"), '{"acls": ["api-key:endpoint:chat"]}'),
        ("mkdir", m.p("collections", "made-by-nobody"), None),
        ("create", os.path.join(docs, "from-nobody.txt"), "bytes from nobody\n"),
        ("create", m.p("keys", ".made-by-nobody.swp"), "local"),
        ("stat", m.p("keys", ".made-by-nobody.swp"), None),
        ("stat", m.p("keys", "made-by-nobody"), None),
        ("stat", m.p("collections", "made-by-nobody"), None),
    ])
    assert all("ok" in r for r in results), results
    # What nobody made shows the mount's owner, group and modes, like everything else.
    assert results[4]["ok"] == [0o660, 0, NOGROUP]
    assert results[5]["ok"] == [0o660, 0, NOGROUP]
    assert results[6]["ok"] == [0o770, 0, NOGROUP]
    st = emu.state()
    assert "made-by-nobody" in [k["name"] for k in st["keys"]]
    assert "made-by-nobody" in [c["collection_name"] for c in st["collections"]]
    contracts = [c for c in st["collections"] if c["collection_name"] == "contracts"][0]
    assert "from-nobody.txt" in [d["file_metadata"]["name"] for d in contracts["documents"]]
    stats = emu.stats()
    assert util.route_count(stats, CREATE_KEY_ROUTE) == 1
    assert util.route_count(stats, CREATE_COLL_ROUTE) == 1
    assert util.route_count(stats, UPLOAD_ROUTE) == 1
    # ... and deletes.
    results = as_user([("unlink", m.p("keys", "made-by-nobody"), None),
                       ("rmdir", m.p("collections", "made-by-nobody"), None),
                       ("unlink", m.p("keys", ".made-by-nobody.swp"), None)])
    assert all("ok" in r for r in results), results
    st = emu.state()
    assert "made-by-nobody" not in [k["name"] for k in st["keys"]]
    assert "made-by-nobody" not in [c["collection_name"] for c in st["collections"]]
    # Still: what can never be written stays read-only, and only the owner changes modes.
    emu.reset_stats()
    assert refused([one("write", m.p("usage"), "x"),
                    one("write", m.p("models", os.listdir(m.p("models"))[0]), "x"),
                    one("chmod", m.p("keys", "ci-bot"), 0o666)]) == [errno.EACCES,
                                                                     errno.EACCES,
                                                                     errno.EPERM]
    assert emu.stats()["mutating"] == 0


# ---------------------------------------------------------------------------
# Owner by name; chmod and chown by the owner are accepted and change nothing

def test_owner_and_group_by_name(emu, mount_factory):
    m = shared(mount_factory, "uid=nobody", "gid=nogroup")
    check_modes(m, NOBODY, NOGROUP, 0o700, 0o600, 0o400)
    emu.reset_stats()
    results = as_user([("read", m.p("keys", "ci-bot"), None),
                       ("create", m.p("keys", "owned-by-nobody"), '{"acls": []}'),
                       ("chmod", m.p("keys", "ci-bot"), 0o644),
                       ("stat", m.p("keys", "ci-bot"), None)])
    assert all("ok" in r for r in results), results
    assert results[3]["ok"] == [0o600, NOBODY, NOGROUP]     # chmod: accepted, ignored
    assert "owned-by-nobody" in [k["name"] for k in emu.state()["keys"]]
    assert emu.stats()["mutating"] == 1
    # Anyone else (not root) is the "other" class: nothing.
    emu.reset_stats()
    assert refused([one("read", m.p("keys", "ci-bot"), uid=4321, gid=NOGROUP)]) == [
        errno.EACCES]
    assert emu.stats()["total"] == 0


# ---------------------------------------------------------------------------
# contrib/fstab.example: read-only, readable by a group

def test_read_only_mount_readable_by_a_group(emu, mount_factory):
    m = shared(mount_factory, "ro", "gid=nogroup", "umask=0027")
    check_modes(m, 0, NOGROUP, 0o550, 0o440, 0o440)
    reads = as_user([("listdir", m.p("keys"), None), ("read", m.p("keys", "ci-bot"), None),
                     ("listdir", m.p("collections", "contracts", "documents"), None)])
    assert all("ok" in r for r in reads), reads
    before = emu.state()
    emu.reset_stats()
    results = as_user(changes(m))
    assert all(e in (errno.EROFS, errno.EACCES) for e in refused(results)), results
    assert emu.stats()["total"] == 0, emu.stats()
    assert emu.state() == before


class At:
    """A mount made some other way than util.Mount: its path and p()."""

    def __init__(self, path):
        self.path = path

    def p(self, *parts):
        return os.path.join(self.path, *parts)


def contrib(name):
    with open(os.path.join(util.ROOT, "contrib", name)) as f:
        return f.read()


def test_the_fstab_example_for_a_group_works_through_mount(emu, tmp_path):
    """The read-only group line of contrib/fstab.example, mounted by mount(8) and
    mount.fuse3 as fstab would (group xai-readers played by nogroup)."""
    lines = [ln.lstrip("#") for ln in contrib("fstab.example").splitlines()
             if "gid=xai-readers" in ln and ln.lstrip("#").startswith("xaifs ")]
    assert len(lines) == 1, lines
    source, _, fstype, opts = lines[0].split()[:4]
    assert fstype == "fuse.xaifs" and "ro" in opts.split(",")
    kf = tmp_path / "key"
    kf.write_text(util.MGMT_KEY + "\n")
    kf.chmod(0o600)
    opts = (opts.replace("/etc/xaifs/key", str(kf)).replace("TEAM_ID", util.TEAM_ID)
            .replace("xai-readers", "nogroup")
            + ",management_url=%s,api_url=%s,cache_ttl=600,live_ttl=600" % (emu.url, emu.url))
    d = tempfile.mkdtemp(prefix="xaifs-fstab-")
    os.chmod(d, 0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("XAI_")}
    try:
        r = subprocess.run(["mount", "-t", "fuse", "%s#%s" % (util.xaifs_bin(), source), d,
                            "-o", opts], capture_output=True, text=True, timeout=60, env=env)
        assert r.returncode == 0, r.stdout + r.stderr
        m = At(d)
        check_modes(m, 0, NOGROUP, 0o550, 0o440, 0o440)
        assert {"ro", "allow_other", "default_permissions"} <= mount_options(d)
        reads = as_user([("read", m.p("keys", "ci-bot"), None),
                         ("listdir", m.p("collections", "contracts", "documents"), None)])
        assert all("ok" in x for x in reads), reads
        emu.reset_stats()
        results = as_user(changes(m))
        assert all(e in (errno.EROFS, errno.EACCES) for e in refused(results)), results
        assert refused([one("read", m.p("keys", "ci-bot"), uid=4321, gid=4321)]) == [
            errno.EACCES]
        assert emu.stats()["total"] == 0, emu.stats()
    finally:
        if os.path.ismount(d):
            subprocess.run(["umount", d], check=False, timeout=60)
        if os.path.ismount(d):
            subprocess.run(["umount", "-l", d], check=False, timeout=60)
        shutil.rmtree(d, ignore_errors=True)


def test_the_service_file_waits_for_the_mount(emu, mount_factory):
    """contrib/xaifs.service: Type=notify, xaifs in the foreground, options that work."""
    unit = contrib("xaifs.service").split("# --- Alternative")[0]
    settings = dict(ln.split("=", 1) for ln in unit.splitlines()
                    if "=" in ln and not ln.startswith("#"))
    assert settings["Type"] == "notify"
    argv = settings["ExecStart"].split()
    assert "-f" in argv
    opts = argv[argv.index("-o") + 1].split(",")
    assert {"allow_other", "gid=xai-readers", "umask=0027"} <= set(opts)
    # Those options, with nogroup for xai-readers and no cache_dir, do what the comment says.
    m = shared(mount_factory, *[o.replace("xai-readers", "nogroup") for o in opts
                                if o != "allow_other" and not o.startswith("cache_dir=")])
    check_modes(m, 0, NOGROUP, 0o750, 0o640, 0o440)
    assert "ok" in one("read", m.p("keys", "ci-bot"))
    assert refused([one("unlink", m.p("keys", "ci-bot"))]) == [errno.EACCES]


# ---------------------------------------------------------------------------
# Bad values fail the mount with one line, before any request

@pytest.mark.parametrize("opt,words", [
    ("uid=no-such-user-xaifs", "unknown user 'no-such-user-xaifs'"),
    ("gid=no-such-group-xaifs", "unknown group 'no-such-group-xaifs'"),
    ("uid=-5", "bad uid '-5'"),
    ("uid=", "uid= needs a user name or a number"),
    ("gid=4294967295", "bad gid '4294967295'"),
    ("umask=0999", "bad umask '0999'"),
    ("umask=27x", "bad umask '27x'"),
    ("umask=01000", "bad umask '01000'"),
])
def test_bad_owner_or_umask_fails_the_mount(emu, mount_factory, opt, words):
    emu.reset_stats()
    with pytest.raises(RuntimeError) as exc:
        mount_factory(["allow_other", opt])
    msg = str(exc.value)
    assert "exited with 1" in msg, msg
    lines = [ln for ln in msg.split(": ", 1)[1].splitlines() if ln.strip()]
    assert len(lines) == 1 and words in lines[0], msg
    assert emu.stats()["total"] == 0


def test_owner_options_without_allow_other_warn(emu, mount_factory):
    m = mount_factory(["gid=nogroup", "umask=0027"])
    util.wait_for(lambda: "without -o allow_other" in m.stderr(), 10, "the warning")
    assert "allow_other" not in mount_options(m.path)


# ---------------------------------------------------------------------------
# systemd: Type=notify

class Listener:
    """A datagram socket where xaifs reports, as systemd listens on $NOTIFY_SOCKET."""

    def __init__(self, abstract=False):
        self.dir = tempfile.mkdtemp(prefix="xaifs-notify-")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if abstract:
            name = "xaifs-test-notify-%d-%d" % (os.getpid(), id(self))
            self.sock.bind("\0" + name)
            self.env = "@" + name
        else:
            self.env = os.path.join(self.dir, "notify")
            self.sock.bind(self.env)
        self.messages = []
        self.lock = threading.Lock()
        self.on_ready = None
        self.stop = False
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        self.sock.settimeout(0.2)
        while not self.stop:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            msg = data.decode()
            if self.on_ready and "READY=1" in msg.split("\n"):
                self.on_ready(msg)
            with self.lock:
                self.messages.append(msg)

    def all(self):
        with self.lock:
            return list(self.messages)

    def wait(self, pred, what, timeout=60):
        util.wait_for(lambda: any(pred(m) for m in self.all()), timeout, what)
        return [m for m in self.all() if pred(m)]

    def close(self):
        self.stop = True
        self.thread.join(10)
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def listener():
    made = []

    def make(abstract=False):
        lis = Listener(abstract)
        made.append(lis)
        return lis

    yield make
    for lis in made:
        lis.close()


class Daemon(util.Mount):
    """xaifs started by hand on a fresh mount point, as a service manager starts
    it: not waited for. p(), stderr() and stop() are util.Mount's."""

    def __init__(self, emu, env, foreground=True):
        self.dir = tempfile.mkdtemp(prefix="xaifs-mnt-")
        self.path = os.path.join(self.dir, "mnt")
        os.mkdir(self.path)
        e = dict(os.environ, XAI_MANAGEMENT_KEY=util.MGMT_KEY,
                 XDG_CONFIG_HOME=os.path.join(self.dir, "config"))
        for k in ("XAI_API_KEY", "XAI_TEAM_ID", "XAI_MANAGEMENT_URL", "XAI_API_URL",
                  "XAI_API_REGION"):
            e.pop(k, None)
        e.update(env)
        self.errpath = os.path.join(self.dir, "stderr")
        self.err = open(self.errpath, "w+b")
        self.argv = [util.xaifs_bin()] + (["-f"] if foreground else []) + [
            self.path, "-o", "management_url=%s,api_url=%s,cache_ttl=0,timeout=10"
            % (emu.url, emu.url)]
        self.proc = subprocess.Popen(self.argv, stdout=self.err, stderr=subprocess.STDOUT,
                                     env=e)


@pytest.fixture
def daemons():
    made = []

    def make(*a, **kw):
        d = Daemon(*a, **kw)
        made.append(d)
        return d

    yield make
    for d in made:
        d.stop()


@pytest.mark.parametrize("abstract", [False, True], ids=["path", "abstract"])
def test_ready_status_and_stopping(emu, listener, daemons, abstract):
    lis = listener(abstract)
    seen = {}
    box = []

    def on_ready(msg):
        # Taken the moment READY=1 arrives: the mount must be there, and answer.
        d = box[0]
        seen["mounted"] = os.path.ismount(d.path)
        try:
            seen["keys"] = sorted(os.listdir(d.p("keys")))
        except OSError as e:
            seen["keys"] = e

    lis.on_ready = on_ready
    d = daemons(emu, {"NOTIFY_SOCKET": lis.env})
    box.append(d)
    ready = lis.wait(lambda s: "READY=1" in s.split("\n"), "READY=1")
    util.wait_for(lambda: "keys" in seen, 60, "the check made at READY=1")
    assert ready == ["READY=1"]                 # -f: the process systemd started stays
    assert seen["mounted"] is True
    assert seen["keys"] == sorted(k["name"] for k in emu.state()["keys"])
    # The status names the team and the mount point, never a key; it came before READY=1.
    msgs = lis.all()
    want = "STATUS=team %s on %s" % (util.TEAM_ID, d.path)
    assert want in msgs and msgs.index(want) < msgs.index("READY=1"), msgs
    # The last error follows, on one line.
    emu.faults(fail_next=10, fail_status=502, fail_route=KEYS_ROUTE)
    try:
        with pytest.raises(OSError) as exc:
            os.listdir(d.p("keys"))
        assert exc.value.errno == errno.EIO
    finally:
        emu.faults()
    err = lis.wait(lambda s: "last error:" in s, "a STATUS with the last error")
    assert err[-1].startswith(want + "; last error: "), err
    assert "502" in err[-1] and "\n" not in err[-1]
    assert "STOPPING=1" not in lis.all()
    # Unmounting: STOPPING=1, the last message, and a clean exit.
    subprocess.run(["fusermount3", "-u", d.path], check=True, timeout=60)
    assert d.proc.wait(60) == 0
    lis.wait(lambda s: s == "STOPPING=1", "STOPPING=1")
    msgs = lis.all()
    assert msgs[-1] == "STOPPING=1" and msgs.count("READY=1") == 1, msgs
    every = "\n".join(msgs)
    assert util.MGMT_KEY not in every and util.API_KEY not in every


def test_ready_from_the_daemon_names_its_pid(emu, listener, daemons):
    """Without -f the process that stays is a child: its READY=1 carries MAINPID."""
    lis = listener()
    d = daemons(emu, {"NOTIFY_SOCKET": lis.env}, foreground=False)
    assert d.proc.wait(60) == 0, d.stderr()    # the parent leaves once the child runs
    ready = lis.wait(lambda s: s.startswith("READY=1"), "READY=1 from the daemon")
    fields = dict(ln.split("=", 1) for ln in ready[0].split("\n"))
    pid = int(fields["MAINPID"])
    assert pid != d.proc.pid
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        assert f.read().split(b"\0")[0] == util.xaifs_bin().encode()
    assert os.path.ismount(d.path)
    assert "keys" in os.listdir(d.path)
    subprocess.run(["fusermount3", "-u", d.path], check=True, timeout=60)
    lis.wait(lambda s: s == "STOPPING=1", "STOPPING=1 from the daemon")
    util.wait_for(lambda: not os.path.exists("/proc/%d" % pid), 60, "the daemon's exit")


def test_bad_notify_socket_is_a_warning(emu, daemons):
    d = daemons(emu, {"NOTIFY_SOCKET": "relative/socket"})
    util.wait_for(lambda: os.path.ismount(d.path) or d.proc.poll() is not None, 60, "mount")
    assert os.path.ismount(d.path), d.stderr()
    assert "keys" in os.listdir(d.path)
    assert "bad NOTIFY_SOCKET 'relative/socket'" in d.stderr()
