#!/usr/bin/python3
"""xaifs bulk rows through a front like the real one, at several round-trip times.

Starts the emulator (1,000 keys), one Front (bench/front.py: nginx with TLS 1.3
and HTTP/2, kept-alive upstream, the RTT relay before it) per --rtt value, all
at once, and runs each bulk row through each front three ways, side by side:
xaifs mounted with -o cacert= on the front, a script that keeps one
connection (http.client), and a script that opens one connection per
request. It prints each side's time, the emulator's request count and the
connections the relay accepted during it. See bench/README.md.
"""
import argparse
import http.client
import importlib.util
import json
import os
import shutil
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from front import Front  # noqa: E402


def _load_util():
    path = os.path.join(ROOT, "tests", "integration", "util.py")
    spec = importlib.util.spec_from_file_location("xaifs_test_util", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


util = _load_util()


def _fine_wait_for(pred, timeout=10.0, what="condition"):
    """util.wait_for polls every 20 ms; the mount row needs its time to 1 ms."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.001)
    raise TimeoutError("timed out waiting for " + what)


util.wait_for = _fine_wait_for          # this process's copy of util only

TEAM = util.TEAM_ID
NKEYS = 1000
FULL = dict(reps=3, rm_prefix="key-001", rm_n=100, new_keys=10, cp_files=20)
QUICK = dict(reps=1, rm_prefix="key-0010", rm_n=10, new_keys=3, cp_files=5)
CP_SIZE = 100 * 1000
SIDES = ("xaifs", "one", "per")


# The signal deferral of bench.py: SIGINT/SIGTERM/SIGHUP wait while a mount or
# a front starts or stops, so whatever was started is cleaned up.
from bench import Interrupted as Stop  # noqa: E402
from bench import _on_signal, deferred_signals as held_signals  # noqa: E402


def fmt_s(s):
    return "%.1f ms" % (s * 1e3) if s < 1 else "%.2f s" % s


def timed(argv, timeout=300):
    """(wall seconds, stdout) of argv; a watchdog kills it after timeout seconds."""
    dog_fired = []
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    dog = threading.Timer(timeout, lambda: (dog_fired.append(1), proc.kill()))
    dog.daemon = True
    dog.start()
    try:
        out, err = proc.communicate()
    finally:
        dog.cancel()
    dt = time.perf_counter() - t0
    if dog_fired or proc.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(argv[:3]), "killed" if dog_fired else
                                       err.decode(errors="replace").strip()[:200]))
    return dt, out


class Client:
    """HTTPS requests to the front: on one kept connection, or one per request."""

    def __init__(self, front, per_request):
        u = urllib.parse.urlsplit(front.url)
        self.host, self.port = u.hostname, u.port
        self.ctx = ssl.create_default_context(cafile=front.ca_path)
        self.per_request = per_request
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        h = {"Authorization": "Bearer " + util.MGMT_KEY}
        h.update(headers or {})
        if body is not None and not isinstance(body, bytes):
            body = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        if self.conn is None:
            self.conn = http.client.HTTPSConnection(self.host, self.port, context=self.ctx,
                                                    timeout=120)
        self.conn.request(method, path, body=body, headers=h)
        r = self.conn.getresponse()
        data = r.read()
        if self.per_request:
            self.close()
        if r.status != 200:
            raise RuntimeError("%s %s -> %d" % (method, path, r.status))
        return data

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def multipart(name, data, boundary="xaifs-internet-boundary"):
    parts = [("name", b"", name.encode()),
             ("data", b'; filename="%s"' % name.encode(), data),
             ("content_type", b"", b"text/plain")]
    body = b"".join(b"--%s\r\nContent-Disposition: form-data; name=\"%s\"%s\r\n\r\n%s\r\n"
                    % (boundary.encode(), k.encode(), fn, v) for k, fn, v in parts)
    return body + b"--%s--\r\n" % boundary.encode(), "multipart/form-data; boundary=" + boundary


class Bench:
    def __init__(self, args):
        self.args = args
        self.cfg = QUICK if args.quick else FULL
        self.rtts = [float(x) for x in args.rtt.split(",") if x.strip()]
        self.tmp = tempfile.mkdtemp(prefix="xaifs-internet-")
        self.emu = None
        self.fronts = {}
        self.mounts = []
        self.results = []               # (row, rtt, side, seconds, requests, connections)
        self.t0 = time.monotonic()

    def log(self, msg):
        print("[%6.1fs] %s" % (time.monotonic() - self.t0, msg), file=sys.stderr, flush=True)

    # -- the pieces -----------------------------------------------------------------
    def mount(self, front):
        class Target:                   # util.Mount only reads .url
            url = front.url
        with held_signals():
            m = util.Mount(Target, ["cacert=" + front.ca_path] + self.args.option)
            self.mounts.append(m)
        return m

    def unmount(self, m):
        with held_signals():
            self.mounts.remove(m)
            m.stop()

    def cleanup(self):
        for m in list(self.mounts):
            try:
                self.unmount(m)
            except Exception as exc:
                print("cleanup: unmount: %s" % exc, file=sys.stderr)
        for f in self.fronts.values():
            f.stop()
        self.fronts = {}
        if self.emu:
            self.emu.stop()
            self.emu = None
        shutil.rmtree(self.tmp, ignore_errors=True)

    def seed_keys(self):
        self.emu.reset("large", keys=NKEYS, collections=0, documents=0)

    def seed_collection(self):
        self.emu.reset("empty")
        self.cid = json.loads(self.emu.api("POST", "/v1/collections",
                                           {"collection_name": "bulk"}))["collection_id"]

    def key_names(self):
        d = json.loads(self.emu.api("GET", "/auth/teams/%s/api-keys" % TEAM))
        return [k.get("name", "") for k in d.get("apiKeys", [])]

    def doc_count(self):
        return sum(len(c.get("documents", [])) for c in self.emu.state()["collections"])

    # -- the rows: (name, seed, before, xaifs, script, check) ----------------------------
    def rows(self):
        c = self.cfg
        pre, n_rm, n_new, n_cp = c["rm_prefix"], c["rm_n"], c["new_keys"], c["cp_files"]
        new = ["new-%02d" % i for i in range(n_new)]
        files = []
        for i in range(n_cp):
            p = os.path.join(self.tmp, "doc-%02d.txt" % i)
            with open(p, "wb") as f:
                f.write(os.urandom(CP_SIZE // 2).hex().encode())
            files.append(p)

        def ls_keys(m):
            _, out = timed(["ls", "-l", m.p("keys")])
            return out.count(b"\n") - 1 == NKEYS

        def script_ls(cl):
            return len(json.loads(cl.request("GET", "/auth/teams/%s/api-keys" % TEAM))
                       ["apiKeys"]) == NKEYS

        def billing(m):
            _, out = timed(["cat", m.p("billing")])
            return "errors" not in json.loads(out)

        def script_billing(cl):
            for part in ("prepaid/balance", "postpaid/spending-limits",
                         "postpaid/invoice/preview"):
                json.loads(cl.request("GET", "/v1/billing/teams/%s/%s" % (TEAM, part)))
            return True

        def rm(m):
            timed(["sh", "-c", 'rm "$0"/%s*' % pre, m.p("keys")])
            return True

        def script_rm(cl):
            keys = json.loads(cl.request("GET", "/auth/teams/%s/api-keys" % TEAM))["apiKeys"]
            for k in keys:
                if k.get("name", "").startswith(pre):
                    cl.request("DELETE", "/auth/api-keys/%s" % k["apiKeyId"])
            return True

        def rm_check():
            names = self.key_names()
            return len(names) == NKEYS - n_rm and not any(x.startswith(pre) for x in names)

        def create(m):
            timed(["sh", "-c", 'for n; do echo \'{"acls":[]}\' > "$n"; done', "sh"]
                  + [m.p("keys", x) for x in new])
            return True

        def script_create(cl):
            for x in new:
                cl.request("POST", "/auth/teams/%s/api-keys" % TEAM, {"name": x, "acls": []})
            return True

        def create_check():
            return set(new) <= set(self.key_names())

        def cp(m):
            timed(["cp"] + files + [m.p("collections", "bulk", "documents") + "/"])
            return True

        def script_cp(cl):             # the collection's id is known, as xaifs' is
            for p in files:
                with open(p, "rb") as f:
                    body, ctype = multipart(os.path.basename(p), f.read())
                cl.request("POST", "/v1/collections/%s/documents" % self.cid, body,
                           {"Content-Type": ctype})
            return True

        def script_mount(cl):
            cl.request("GET", "/auth/management-keys/validation")
            return True

        docs = lambda m: os.listdir(m.p("collections", "bulk", "documents"))  # noqa: E731
        keys = lambda m: os.listdir(m.p("keys"))                              # noqa: E731
        return [
            ("mount (until mounted)", self.seed_keys, None, "mount", script_mount, None),
            ("ls -l keys/ (%d keys, cold)" % NKEYS, self.seed_keys, None, ls_keys, script_ls,
             None),
            ("cat billing (cold)", self.seed_keys, None, billing, script_billing, None),
            ("rm keys/%s* (%d of %d keys)" % (pre, n_rm, NKEYS), self.seed_keys, None, rm,
             script_rm, rm_check),
            ("create %d keys (keys/ listed first)" % n_new, self.seed_keys, keys, create,
             script_create, create_check),
            ("cp %d files of 100 KB into documents/ (listed first)" % n_cp,
             self.seed_collection, docs, cp, script_cp,
             lambda: self.doc_count() == n_cp),
        ]

    # -- measuring -----------------------------------------------------------------
    def measure(self, front, side, seed, before, xaifs, script, check):
        """(seconds, emulator requests, relay connections) of one side, or raises."""
        seed()
        m = None
        if side == "xaifs" and xaifs != "mount":
            m = self.mount(front)
            if before:
                before(m)
        self.emu.reset_stats()
        c0 = front.connections()
        t0 = time.perf_counter()
        try:
            if side == "xaifs" and xaifs == "mount":
                m = self.mount(front)
                ok = True
            elif side == "xaifs":
                ok = xaifs(m)
            else:
                cl = Client(front, per_request=(side == "per"))
                try:
                    ok = script(cl)
                finally:
                    cl.close()
            dt = time.perf_counter() - t0
            conns = front.connections() - c0
            req = self.emu.stats()["total"]
        finally:
            if m is not None:
                self.unmount(m)
        if not ok or (check and not check()):
            raise RuntimeError("wrong result")
        return dt, req, conns

    def run(self):
        with held_signals():
            self.emu = util.Emulator(seed="empty")
        for rtt in self.rtts:
            with held_signals():
                self.fronts[rtt] = Front(self.emu.url, rtt).start()
        self.log("emulator %s; fronts %s" % (self.emu.url, ", ".join(
            "%g ms %s" % (r, f.url) for r, f in self.fronts.items())))
        for name, seed, before, xaifs, script, check in self.rows():
            for rtt, front in self.fronts.items():
                got = {s: [] for s in SIDES}
                errs = {}
                for _ in range(self.cfg["reps"]):
                    for side in SIDES:
                        if side in errs:
                            continue
                        try:
                            got[side].append(self.measure(front, side, seed, before, xaifs,
                                                          script, check))
                        except Stop:
                            raise
                        except Exception as exc:
                            errs[side] = "error: %s" % exc
                res = {}
                for side in SIDES:
                    if side in errs:
                        res[side] = errs[side]
                    else:
                        xs = got[side]
                        res[side] = (statistics.median(x[0] for x in xs),
                                     max(x[1] for x in xs), max(x[2] for x in xs), len(xs))
                self.results.append((name, rtt, res))
                self.log("%s @ %g ms: %s" % (name, rtt, "; ".join(
                    "%s %s" % (s, cell(res[s])) for s in SIDES)))


def cell(r):
    if isinstance(r, str):
        return r
    return "%s, %d req, %d conn" % (fmt_s(r[0]), r[1], r[2])


def ratio(a, b):
    if isinstance(a, str) or isinstance(b, str) or not b[0]:
        return "-"
    return "%.2fx" % (a[0] / b[0])


def table(results):
    head = ["row", "RTT", "xaifs", "script, one connection", "script, connection per request",
            "xaifs / one", "xaifs / per-request"]
    cells = [head]
    for name, rtt, res in results:
        cells.append([name, "%g ms" % rtt, cell(res["xaifs"]), cell(res["one"]),
                      cell(res["per"]), ratio(res["xaifs"], res["one"]),
                      ratio(res["xaifs"], res["per"])])
    w = [max(len(c[i]) for c in cells) for i in range(len(head))]
    lines = []
    for j, c in enumerate(cells):
        lines.append("| " + " | ".join(c[i].ljust(w[i]) for i in range(len(head))) + " |")
        if j == 0:
            lines.append("|" + "|".join("-" * (x + 2) for x in w) + "|")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rtt", default="0,40",
                    help="round-trip times in ms, comma-separated (default 0,40)")
    ap.add_argument("--quick", action="store_true",
                    help="fewer keys and files per row, one measurement per side")
    ap.add_argument("--xaifs", help="the xaifs binary (default build/src/xaifs)")
    ap.add_argument("-o", "--option", action="append", default=[], metavar="OPT",
                    help="an extra xaifs mount option (repeatable)")
    args = ap.parse_args()
    try:
        rtts = [float(x) for x in args.rtt.split(",") if x.strip()]
    except ValueError:
        ap.error("--rtt takes numbers, e.g. 0,40")
    if not rtts or any(r < 0 for r in rtts) or len(set(rtts)) != len(rtts):
        ap.error("--rtt takes distinct numbers >= 0, e.g. 0,40")
    if args.xaifs:
        os.environ["XAIFS_BIN"] = os.path.abspath(args.xaifs)
    for k in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY",
              "ALL_PROXY", "no_proxy", "NO_PROXY"):
        os.environ.pop(k, None)
    try:
        util.xaifs_bin()
    except RuntimeError as exc:
        ap.error(str(exc))
    for tool in ("fusermount3", "openssl", "/usr/sbin/nginx", "ls", "cat", "cp", "rm", "sh"):
        if not shutil.which(tool):
            ap.error("%s is needed (scripts/install-deps.sh test)" % tool)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)
    b = Bench(args)
    status = 0
    load0 = os.getloadavg()[0]
    try:
        b.run()
    except Stop as exc:
        print("interrupted (%s); cleaning up" % exc, file=sys.stderr)
        status = 130
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        b.cleanup()
    print("xaifs through a front (nginx TLS 1.3 + HTTP/2, relay adding the RTT): "
          "bench/internet.py%s" % "".join(" " + a for a in sys.argv[1:]))
    print("%s; %d CPUs; load average %.2f at start, %.2f at end; %s measurement%s per "
          "side (median time; requests and connections: the most of any); took %.0f s"
          % (util.xaifs_bin(), os.cpu_count() or 0, load0, os.getloadavg()[0],
             b.cfg["reps"], "s" if b.cfg["reps"] > 1 else "", time.monotonic() - b.t0))
    print()
    print(table(b.results))
    if any(isinstance(v, str) for _, _, res in b.results for v in res.values()) and not status:
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
