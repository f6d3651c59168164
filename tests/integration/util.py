"""Helpers for the integration tests: the emulator process and xaifs mounts."""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
EMULATOR = os.path.join(ROOT, "tests", "emulator", "server.py")
PYTHON = "/usr/bin/python3"

MGMT_KEY = "xai-emulator-management-key"
API_KEY = "xai-emulator-inference-key"
TEAM_ID = "2d7a3c1e-8f4b-4c6a-9e21-5b0d7f3a9c44"

# Words in the daemon's stderr that mean something went badly wrong.
BAD_WORDS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer",
             "runtime error:", "Segmentation fault", "double free", "ThreadSanitizer")


def xaifs_bin():
    path = os.environ.get("XAIFS_BIN") or os.path.join(ROOT, "build", "src", "xaifs")
    if not os.access(path, os.X_OK):
        raise RuntimeError("xaifs binary not found at %s (build first or set XAIFS_BIN)" % path)
    return path


def wait_for(pred, timeout=10.0, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.02)
    raise TimeoutError("timed out waiting for " + what)


class Emulator:
    """The bundled emulator, started on a free loopback port."""

    def __init__(self, seed="sample", extra=()):
        self.dir = tempfile.mkdtemp(prefix="xaifs-emu-")
        self.port_file = os.path.join(self.dir, "port")
        self.log = open(os.path.join(self.dir, "emulator.log"), "w+b")
        self.proc = subprocess.Popen(
            [PYTHON, EMULATOR, "--port", "0", "--port-file", self.port_file,
             "--seed", seed, "--quiet", *extra],
            stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(lambda: os.path.exists(self.port_file) or self.proc.poll() is not None,
                 60, "emulator port file")
        if self.proc.poll() is not None:
            raise RuntimeError("emulator exited: " + self.output())
        with open(self.port_file) as f:
            self.port = int(f.read().strip())
        self.url = "http://127.0.0.1:%d" % self.port

    def output(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def control(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            raw = r.read()
        return json.loads(raw.decode("utf-8", "replace")) if raw else None

    def api(self, method, path, body=None, key=MGMT_KEY):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json",
                                              "Authorization": "Bearer " + key})
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.read()

    def reset(self, seed="sample", **counts):
        return self.control("POST", "/_emu/reset", dict(seed=seed, **counts))

    def stats(self):
        return self.control("GET", "/_emu/stats")

    def reset_stats(self):
        self.control("POST", "/_emu/stats/reset", {})

    def faults(self, **f):
        return self.control("POST", "/_emu/faults", f)

    def state(self):
        return self.control("GET", "/_emu/state")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def route_count(stats, route):
    return stats.get("routes", {}).get(route, 0)


class Mount:
    """xaifs mounted in the foreground on a temporary directory."""

    def __init__(self, emu, options=(), env=None, inference_key=True, key_env=True):
        self.dir = tempfile.mkdtemp(prefix="xaifs-mnt-")
        self.path = os.path.join(self.dir, "mnt")
        os.mkdir(self.path)
        self.errpath = os.path.join(self.dir, "stderr")
        self.err = open(self.errpath, "w+b")
        opts = ["management_url=" + emu.url, "api_url=" + emu.url]
        opts += list(options)
        e = dict(os.environ)
        for k in ("XAI_MANAGEMENT_KEY", "XAI_API_KEY", "XAI_TEAM_ID", "XAI_MANAGEMENT_URL",
                  "XAI_API_URL", "XAI_API_REGION"):
            e.pop(k, None)
        # A developer's own ~/.config/xaifs/config must not change the tests.
        e["XDG_CONFIG_HOME"] = os.path.join(self.dir, "config")
        if key_env:
            e["XAI_MANAGEMENT_KEY"] = MGMT_KEY
        if inference_key:
            e["XAI_API_KEY"] = API_KEY
        e.update(env or {})
        self.argv = [xaifs_bin(), "-f", self.path, "-o", ",".join(opts)]
        self.proc = subprocess.Popen(self.argv, stdout=self.err, stderr=subprocess.STDOUT, env=e)
        try:
            wait_for(lambda: os.path.ismount(self.path) or self.proc.poll() is not None,
                     60, "mount")
        except TimeoutError:
            self.stop()
            raise
        if self.proc.poll() is not None:
            out = self.stderr()
            self.cleanup_dir()
            raise RuntimeError("xaifs exited with %s: %s" % (self.proc.returncode, out))

    def p(self, *parts):
        return os.path.join(self.path, *parts)

    def stderr(self):
        self.err.flush()
        self.err.seek(0)
        return self.err.read().decode(errors="replace")

    def stop(self):
        if os.path.ismount(self.path):
            subprocess.run(["fusermount3", "-u", self.path], check=False,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            subprocess.run(["fusermount3", "-u", "-z", self.path], check=False)
            self.proc.kill()
            self.proc.wait()
        out = self.stderr()
        self.err.close()
        self.cleanup_dir()
        bad = [w for w in BAD_WORDS if w in out]
        if bad:
            raise AssertionError("xaifs stderr shows %s:\n%s" % (bad, out))
        return out

    def cleanup_dir(self):
        try:
            os.rmdir(self.path)
        except OSError:
            subprocess.run(["fusermount3", "-u", "-z", self.path], check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


def writable_file(rel):
    """Whether the file at rel (relative to the mount) can ever be written: keys,
    collection.json, documents, local files there, .xaifs/refresh, spending-limits. The
    others show no write bits (docs/semantics.md, "Modes and owner")."""
    parts = rel.strip("/").split("/")
    if parts[0] == "keys" or rel.strip("/") in (".xaifs/refresh", "spending-limits"):
        return True
    return parts[0] == "collections" and len(parts) >= 3 and parts[2] in (
        "collection.json", "documents")


def run(cmd, **kw):
    """Run a shell command; return CompletedProcess with text output."""
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 60)
    return subprocess.run(cmd, shell=isinstance(cmd, str), **kw)
