"""Security: the management key never leaks, unsafe transports are refused, files are private.

No traffic leaves 127.0.0.1: refusals of non-loopback URLs run the daemon inside an empty
network namespace (unshare -n) when that is possible, so even a wrongly accepted URL could
not send anything.
"""
import errno
import http.server
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time

import pytest

import util

SECRETS = (util.MGMT_KEY, util.API_KEY)


def clean_env(**extra):
    e = {k: v for k, v in os.environ.items() if not k.startswith("XAI_")}
    e.update(extra)
    return e


def fail_start(options, env, timeout=30, prefix=()):
    """Run xaifs in the foreground expecting it to fail; return (rc, output, seconds)."""
    d = tempfile.mkdtemp(prefix="xaifs-sec-")
    t0 = time.monotonic()
    try:
        p = subprocess.run(list(prefix) + [util.xaifs_bin(), "-f", d, "-o", ",".join(options)],
                           env=env, capture_output=True, text=True, timeout=timeout)
    finally:
        if os.path.ismount(d):
            subprocess.run(["fusermount3", "-u", d])
        os.rmdir(d)
    return p.returncode, p.stdout + p.stderr, time.monotonic() - t0


def no_secret(text, what):
    for s in SECRETS:
        assert s not in text, "%s shows a credential:\n%s" % (what, text)


def netns_prefix():
    """unshare -n when it works here (root or user namespaces), else nothing."""
    if shutil.which("unshare"):
        for argv in (["unshare", "-n"], ["unshare", "-rn"]):
            if subprocess.run(argv + ["true"], capture_output=True).returncode == 0:
                return argv
    return []


class DebugMount:
    """xaifs started with -d (debug output, which implies -f), argv built here."""

    def __init__(self, emu, options=(), env=None):
        self.dir = tempfile.mkdtemp(prefix="xaifs-dbg-")
        self.path = os.path.join(self.dir, "mnt")
        self.tmp = os.path.join(self.dir, "tmp")
        os.mkdir(self.path)
        os.mkdir(self.tmp, 0o700)
        self.errpath = os.path.join(self.dir, "stderr")
        self.err = open(self.errpath, "w+b")
        opts = ["management_url=" + emu.url, "api_url=" + emu.url] + list(options)
        e = clean_env(XAI_MANAGEMENT_KEY=util.MGMT_KEY, XAI_API_KEY=util.API_KEY,
                      TMPDIR=self.tmp)
        e.update(env or {})
        self.proc = subprocess.Popen([util.xaifs_bin(), "-d", self.path, "-o", ",".join(opts)],
                                     stdout=self.err, stderr=subprocess.STDOUT, env=e)
        util.wait_for(lambda: os.path.ismount(self.path) or self.proc.poll() is not None, 60,
                      "mount")
        assert os.path.ismount(self.path), self.output()

    def p(self, *parts):
        return os.path.join(self.path, *parts)

    def output(self):
        self.err.flush()
        self.err.seek(0)
        return self.err.read().decode(errors="replace")

    def stop(self):
        if self.err.closed:
            return ""
        subprocess.run(["fusermount3", "-u", self.path], capture_output=True)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if os.path.ismount(self.path) or self.proc.returncode != 0:
            # A daemon that died leaves its mount behind: detach it.
            subprocess.run(["fusermount3", "-u", "-z", self.path], capture_output=True)
        out = self.output()
        self.err.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        return out


@pytest.fixture
def dmnt(emu):
    m = DebugMount(emu)
    yield m
    m.stop()


def read_all(root):
    """Every file under root: {path: bytes or errno}."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for n in files:
            p = os.path.join(dirpath, n)
            try:
                with open(p, "rb") as f:
                    out[p] = f.read()
            except OSError as e:
                out[p] = e.errno
    return out


def spool_fds(pid):
    """Contents of the regular files the daemon holds open (its unlinked spool files)."""
    out = {}
    d = "/proc/%d/fd" % pid
    for fd in os.listdir(d):
        try:
            target = os.readlink(os.path.join(d, fd))
            if not target.startswith("/") or target.startswith(("/dev/", "/proc/")):
                continue
            with open(os.path.join(d, fd), "rb") as f:
                out[target] = f.read(16 << 20)
        except OSError:
            continue
    return out


# ---------------------------------------------------------------------------
# The key never shows

def test_key_never_in_proc_debug_log_stats_or_files(emu, dmnt):
    m = dmnt
    # Exercise every kind of request: lists, reads, a document download, a key creation,
    # an upload, a rotate, a failure with the server's message, usage and billing.
    assert "ci-bot" in os.listdir(m.p("keys"))
    with open(m.p("keys", "new-secret-key"), "w") as f:
        f.write('{"acls": ["api-key:model:*"]}')
    with open(m.p("keys", "new-secret-key")) as f:
        created = json.load(f)
    assert created["apiKey"].startswith("xai-")       # the one-time secret, shown by design
    with open(m.p("collections", "contracts", "documents", "up.txt"), "wb") as f:
        f.write(b"uploaded\n")
    emu.faults(fail_next=1, fail_status=403, fail_route="POST /auth/teams/{teamId}/api-keys")
    try:
        with open(m.p("keys", "refused-key"), "w") as f:
            f.write("{}")
    except OSError as e:
        assert e.errno == errno.EACCES
    emu.faults()
    files = read_all(m.path)
    assert len(files) > 20
    assert all(isinstance(v, bytes) for v in files.values()), \
        {k: v for k, v in files.items() if not isinstance(v, bytes)}
    for path, data in files.items():
        for s in SECRETS:
            assert s.encode() not in data, "%s holds a credential" % path
    with open(m.p(".xaifs", "stats"), "rb") as f:
        stats = f.read()
    for s in SECRETS:
        assert s.encode() not in stats
    for what in ("cmdline", "environ"):
        with open("/proc/%d/%s" % (m.proc.pid, what), "rb") as f:
            data = f.read()
        for s in SECRETS:
            assert s.encode() not in data, "/proc/<pid>/%s shows a credential" % what
    # The spool files the daemon holds hold neither credential nor the new key's secret.
    for target, data in spool_fds(m.proc.pid).items():
        for s in SECRETS + (created["apiKey"],):
            assert s.encode() not in data, "open file %s holds a secret" % target
    out = m.stop()
    assert "debug" in out and "GET /auth/teams/{teamId}/api-keys" in out, out[-2000:]
    no_secret(out, "the -d output")
    assert created["apiKey"] not in out, "the -d output shows a created key's secret"
    assert "Authorization" not in out and "Bearer" not in out
    # The spool directory is empty: spool files are unlinked at once.
    assert not os.path.exists(m.tmp) or os.listdir(m.tmp) == []


def test_key_file_is_not_in_proc_either(emu, mount_factory, tmp_path):
    kf = tmp_path / "key"
    kf.write_text(util.MGMT_KEY + "\n")
    kf.chmod(0o600)
    m = mount_factory(["key_file=" + str(kf)], key_env=False)
    assert "keys" in os.listdir(m.path)
    for what in ("cmdline", "environ"):
        with open("/proc/%d/%s" % (m.proc.pid, what), "rb") as f:
            assert util.MGMT_KEY.encode() not in f.read()


class EchoHandler(http.server.BaseHTTPRequestHandler):
    """A hostile server: it answers the credential check, then puts the caller's
    Authorization header into every error message."""
    validation = b"{}"

    def log_message(self, *a):
        pass

    def _answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        auth = self.headers.get("Authorization", "")
        if self.path.startswith("/auth/management-keys/validation") and self.server.validate:
            body, code = self.validation, 200
        else:
            body = json.dumps({"code": "Internal", "error": "bad token: %s (%s)" % (
                auth, auth.split(" ")[-1])}).encode()
            code = self.server.status
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = _answer


class EchoServer:
    def __init__(self, validate, status, validation):
        EchoHandler.validation = validation
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), EchoHandler)
        self.srv.validate = validate
        self.srv.status = status
        self.url = "http://127.0.0.1:%d" % self.srv.server_address[1]
        self.t = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.t.start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def test_key_echoed_by_the_server_is_redacted(emu):
    validation = emu.api("GET", "/auth/management-keys/validation")
    # 1. The credential check fails with the key in the server's message.
    for status in (500, 401):
        srv = EchoServer(False, status, validation)
        try:
            rc, out, _ = fail_start(["management_url=" + srv.url, "api_url=" + srv.url,
                                     "timeout=2"],
                                    clean_env(XAI_MANAGEMENT_KEY=util.MGMT_KEY,
                                              XAI_API_KEY=util.API_KEY))
        finally:
            srv.close()
        assert rc != 0
        no_secret(out, "a failed mount (HTTP %d)" % status)
    # 2. Mounted, then every listing fails with the key in the message.
    srv = EchoServer(True, 500, validation)
    try:
        m = util.Mount(emu, ["management_url=" + srv.url, "api_url=" + srv.url,
                             "cache_ttl=0", "timeout=1"])
        try:
            for p in (m.p("keys"), m.p("collections")):
                with pytest.raises(OSError) as e:
                    os.listdir(p)
                assert e.value.errno == errno.EIO
            for p in (m.p("usage"), m.p("billing")):
                with pytest.raises(OSError):
                    open(p).read()
        finally:
            out = m.stop()
    finally:
        srv.close()
    assert "bad token" in out, out
    for s in SECRETS:
        assert s not in out, "the daemon logged a credential echoed by the server:\n" + out


def test_failed_mounts_never_show_the_key(emu, tmp_path):
    env = clean_env(XAI_MANAGEMENT_KEY=util.MGMT_KEY, XAI_API_KEY=util.API_KEY)
    base = ["management_url=" + emu.url, "api_url=" + emu.url]
    cases = [
        (["management_url=http://127.0.0.1:1", "connect_timeout=1", "timeout=2"], "cannot reach"),
        (base + ["team_id=00000000-0000-4000-8000-000000000000"], "not found"),
        (["management_url=http://192.0.2.1"], "loopback"),
        (base + ["api_url=ftp://127.0.0.1"], "refused"),
        (base + ["page_size=1001"], "out of range"),
        (base + ["no_such_option=1"], ""),
    ]
    for opts, want in cases:
        rc, out, _ = fail_start(opts, env, prefix=netns_prefix() if "192.0.2.1" in str(opts)
                                else ())
        assert rc != 0, opts
        assert want in out, (opts, out)
        no_secret(out, "failed mount %s" % opts)
    # Refused by the server (an injected 401 on the credential check).
    emu.faults(fail_next=1, fail_status=401, fail_route="GET /auth/management-keys/validation")
    rc, out, _ = fail_start(base, env)
    emu.faults()
    assert rc != 0 and "refused" in out
    no_secret(out, "refused mount")
    # Key file refused.
    kf = tmp_path / "key"
    kf.write_text(util.MGMT_KEY + "\n")
    kf.chmod(0o644)
    rc, out, _ = fail_start(base + ["key_file=" + str(kf)], clean_env())
    assert rc != 0
    no_secret(out, "refused key file")


@pytest.mark.parametrize("opt", ["key=", "key=" + util.MGMT_KEY, "ro,key=" + util.MGMT_KEY])
def test_key_option_is_refused(emu, opt):
    rc, out, dt = fail_start(["management_url=" + emu.url, opt],
                             clean_env(XAI_MANAGEMENT_KEY=util.MGMT_KEY))
    assert rc != 0
    assert "command line" in out, out
    assert util.MGMT_KEY not in out
    assert dt < 5


def test_key_option_refused_with_dash_o_glued(emu):
    d = tempfile.mkdtemp()
    try:
        p = subprocess.run([util.xaifs_bin(), "-f", d, "-okey=" + util.MGMT_KEY,
                            "-omanagement_url=" + emu.url],
                           env=clean_env(XAI_MANAGEMENT_KEY=util.MGMT_KEY),
                           capture_output=True, text=True, timeout=30)
        assert not os.path.ismount(d)
    finally:
        if os.path.ismount(d):
            subprocess.run(["fusermount3", "-u", d])
        os.rmdir(d)
    assert p.returncode != 0 and "command line" in p.stderr
    assert util.MGMT_KEY not in p.stdout + p.stderr


# ---------------------------------------------------------------------------
# Key files

@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660, 0o606])
def test_key_file_readable_by_others_is_refused(emu, tmp_path, mode):
    kf = tmp_path / "key"
    kf.write_text(util.MGMT_KEY + "\n")
    kf.chmod(mode)
    emu.reset_stats()
    rc, out, dt = fail_start(["management_url=" + emu.url, "key_file=" + str(kf)], clean_env())
    assert rc != 0
    assert "chmod 600" in out and ("%04o" % mode) in out, out
    assert "group or others" in out
    assert emu.stats()["total"] == 0, "nothing is sent with a refused key file"
    assert dt < 2
    no_secret(out, "key file message")


@pytest.mark.parametrize("mode", [0o600, 0o400, 0o700])
def test_private_key_file_is_accepted(emu, mount_factory, tmp_path, mode):
    kf = tmp_path / "key"
    kf.write_text(util.MGMT_KEY + "\n")
    kf.chmod(mode)
    m = mount_factory(["key_file=" + str(kf)], key_env=False)
    assert "ci-bot" in os.listdir(m.p("keys"))


# ---------------------------------------------------------------------------
# Transport: https only, except plain http to loopback; TLS always verified

NON_LOOPBACK = [
    "http://192.0.2.1",
    "http://192.0.2.1:80/",
    "http://example.invalid",
    "http://127.0.0.1.example.invalid",
    "http://127.0.0.1@192.0.2.1",
    "http://user:pw@127.0.0.1",
    "http://localhost.example.invalid",
    "http://[::ffff:192.0.2.1]",
    "http://0x7f000001",
    "http://[fe80::1]",
    "HTTP://192.0.2.1",
    "ftp://127.0.0.1",
    "file:///etc/passwd",
    "https://",
    "gopher://127.0.0.1",
]


@pytest.mark.parametrize("which", ["management_url", "api_url"])
def test_plain_http_to_other_hosts_is_refused_before_any_request(emu, which):
    prefix = netns_prefix()
    env = clean_env(XAI_MANAGEMENT_KEY=util.MGMT_KEY, XAI_API_KEY=util.API_KEY)
    for url in NON_LOOPBACK:
        emu.reset_stats()
        opts = ["management_url=" + emu.url, "api_url=" + emu.url, which + "=" + url,
                "connect_timeout=1", "timeout=1"]
        # Inside an empty network namespace even the emulator is out of reach: that is
        # fine, the refusal must come before any request.
        rc, out, dt = fail_start(opts, env, prefix=prefix)
        assert rc != 0, "%s=%s was accepted" % (which, url)
        assert "refused" in out and "loopback" in out, (url, out)
        assert "cannot reach" not in out, "%s was tried, not refused: %s" % (url, out)
        assert dt < 2, "%s: refusal took %.1f s" % (url, dt)
        assert emu.stats()["total"] == 0


def test_plain_http_to_loopback_forms_is_accepted(emu, mount_factory):
    port = emu.port
    for url in ("http://localhost:%d" % port, "http://127.0.0.1:%d/" % port):
        m = util.Mount(emu, ["management_url=" + url, "api_url=" + url])
        try:
            assert "ci-bot" in os.listdir(m.p("keys"))
        finally:
            m.stop()


class TlsServer:
    """A TLS server on 127.0.0.1 with a self-signed certificate; records what it got."""

    def __init__(self, tmp):
        self.cert = os.path.join(tmp, "cert.pem")
        self.keyf = os.path.join(tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-subj", "/CN=localhost", "-days", "1", "-keyout", self.keyf,
                        "-out", self.cert], check=True, capture_output=True)
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(self.cert, self.keyf)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.handshakes = 0
        self.failed = []
        self.received = b""
        self.stop = False
        self.t = threading.Thread(target=self.loop, daemon=True)
        self.t.start()

    def loop(self):
        self.sock.settimeout(0.2)
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            try:
                c.settimeout(5)
                s = self.ctx.wrap_socket(c, server_side=True)
                self.handshakes += 1
                self.received += s.recv(65536)
                s.close()
            except (ssl.SSLError, OSError) as e:
                self.failed.append(str(e))
                c.close()

    def close(self):
        self.stop = True
        self.t.join(5)
        self.sock.close()


def test_self_signed_certificate_is_refused(tmp_path):
    if not shutil.which("openssl"):
        pytest.fail("openssl is needed to make a self-signed certificate (apt-get install openssl)")
    srv = TlsServer(str(tmp_path))
    env = clean_env(XAI_MANAGEMENT_KEY=util.MGMT_KEY)
    try:
        for host in ("localhost", "127.0.0.1"):
            url = "https://%s:%d" % (host, srv.port)
            rc, out, dt = fail_start(["management_url=" + url, "api_url=" + url,
                                      "connect_timeout=2", "timeout=5"], env)
            assert rc != 0, "a self-signed certificate was accepted"
            low = out.lower()
            assert "certificate" in low or "ssl" in low, out
            assert dt < 10
            no_secret(out, "TLS failure")
    finally:
        srv.close()
    assert srv.handshakes == 0, "a TLS session was completed with an unknown certificate"
    assert srv.received == b"", "request bytes were sent over an unverified connection"
    assert srv.failed, "the client never tried"


@pytest.mark.parametrize("opt", ["insecure", "ssl_verify=0", "no_verify", "tls_verify=0",
                                 "verify=no", "cacert=/dev/null"])
def test_tls_verification_cannot_be_switched_off(emu, opt):
    rc, out, _ = fail_start(["management_url=" + emu.url, opt],
                            clean_env(XAI_MANAGEMENT_KEY=util.MGMT_KEY))
    assert rc != 0, "-o %s was accepted" % opt


# ---------------------------------------------------------------------------
# Private files

def test_files_0600_or_0400_dirs_0700_owned_by_the_mounting_user(emu, mnt):
    # Include things made through the mount: a key, a document, a local temp file.
    with open(mnt.p("keys", "made-here"), "w") as f:
        f.write('{"acls": []}')
    with open(mnt.p("collections", "contracts", "documents", "made.txt"), "w") as f:
        f.write("made\n")
    with open(mnt.p("keys", ".made-here.swp"), "w") as f:
        f.write("local")
    os.mkdir(mnt.p("collections", "made-coll"))
    uid, gid = os.getuid(), os.getgid()
    seen = {"f": 0, "d": 0}
    for dirpath, dirs, files in os.walk(mnt.path):
        for n in dirs + files + ["."]:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            assert (st.st_uid, st.st_gid) == (uid, gid), p
            if os.path.isdir(p):
                assert st.st_mode & 0o7777 == 0o700, "%s is %o" % (p, st.st_mode)
                seen["d"] += 1
            else:
                want = 0o600 if util.writable_file(os.path.relpath(p, mnt.path)) else 0o400
                assert st.st_mode & 0o7777 == want, "%s is %o" % (p, st.st_mode)
                seen["f"] += 1
    assert seen["f"] > 20 and seen["d"] > 8
    # Not shared with other users: no allow_other.
    with open("/proc/self/mountinfo") as f:
        line = [ln for ln in f if " %s " % mnt.path in ln][0]
    assert "allow_other" not in line


def test_other_users_see_nothing(emu, mnt):
    if os.getuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to act as another user")
    os.chmod(mnt.dir, 0o755)        # let the other user reach the mount point itself
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        "ls", mnt.p("keys")], capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "Permission denied" in r.stderr, r
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        "cat", mnt.p(".xaifs", "stats")], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode != 0 and "Permission denied" in r.stderr, r
