#!/usr/bin/python3
"""xaifs benchmark: requests, latency, throughput and memory against the emulator.

Starts the bundled emulator with injected latency, mounts xaifs on it (the same
way tests/integration/util.py does), measures each scenario side by side with
its reference (curl, local disk, one reader, a plain keep-alive client) in the same
run, and prints one table with targets and PASS/MISS. See bench/README.md.

Everything runs on loopback. Every loop is bounded; mounts, the emulator and
temporary files are removed on success, failure, Ctrl-C and SIGTERM.
"""
import argparse
import datetime
import hashlib
import http.client
import importlib.util
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.dont_write_bytecode = True          # no __pycache__ next to util.py or here
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def _load_util():
    path = os.path.join(ROOT, "tests", "integration", "util.py")
    spec = importlib.util.spec_from_file_location("xaifs_test_util", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


util = _load_util()

KEYS_ROUTE = "GET /auth/teams/{teamId}/api-keys"
MODELS_ROUTE = "GET /auth/teams/{teamId}/models"
COLLS_ROUTE = "GET /v1/collections"
DOCS_ROUTE = "GET /v1/collections/{collection_id}/documents"
CONTENT_ROUTE = "GET /v1/files/{file_id}/content"
PAGE = 100                      # xaifs' default documents/collections limit (keys: no pageSize)
MiB = 1024 * 1024

FULL = dict(keys=(10, 1000, 10000), tree=(100, 100), file_mib=(64, 256), big_listing=100000,
            cold_reps=11, warm_spawn_reps=300, warm_inproc_reps=10000, par_reps=5, dl_reps=3,
            up_reps=3, warm_json_reps=15, stream_mib=(40, 256))
QUICK = dict(keys=(10, 1000), tree=(20, 20), file_mib=(32,), big_listing=10000,
             cold_reps=5, warm_spawn_reps=100, warm_inproc_reps=2000, par_reps=3, dl_reps=3,
             up_reps=3, warm_json_reps=7, stream_mib=(40,))


class Interrupted(Exception):
    pass


_defer = {"depth": 0, "pending": None}


def _on_signal(signum, frame):
    if _defer["depth"]:
        _defer["pending"] = signum          # raised when the critical section ends
        return
    raise Interrupted("signal %d" % signum)


class deferred_signals:
    """Hold SIGINT/SIGTERM/SIGHUP while a mount or the emulator is being started or
    stopped, so that what was started is always recorded for cleanup."""

    def __enter__(self):
        _defer["depth"] += 1

    def __exit__(self, *exc):
        _defer["depth"] -= 1
        if not _defer["depth"] and _defer["pending"] is not None:
            signum, _defer["pending"] = _defer["pending"], None
            raise Interrupted("signal %d" % signum)
        return False


# ---------------------------------------------------------------- formatting

def fmt_s(sec):
    if sec is None:
        return "-"
    if sec < 1e-3:
        return "%.1f us" % (sec * 1e6)
    if sec < 1:
        return "%.1f ms" % (sec * 1e3)
    return "%.2f s" % sec


def fmt_rate(nbytes, sec):
    return "%.0f MiB/s" % (nbytes / MiB / sec) if sec else "-"


def fmt_mib(kib):
    return "%.1f MiB" % (kib / 1024.0)


def fmt_x(r):
    return "%.2fx" % r


def verdict(ok):
    return "PASS" if ok else "MISS"


def median(xs):
    return statistics.median(xs)


# ---------------------------------------------------------------- helpers

def vm_hwm_kib(pid):
    """Peak resident set size (VmHWM) of a process, in KiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM for pid %d" % pid)


def timed(argv, timeout=600, stdout=subprocess.DEVNULL, check=True):
    """Run argv; return (wall seconds, CompletedProcess).

    The bound is a watchdog that kills the child: subprocess's own timeout
    makes wait() poll with 0.5, 1, 2 ms sleeps, which would quantize the
    millisecond figures measured here.
    """
    procs, killed = [], []

    def kill():
        killed.append(True)
        for p in procs:
            p.kill()

    dog = threading.Timer(timeout, kill)     # started before the clock: not timed
    dog.daemon = True
    dog.start()
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.PIPE)
    procs.append(proc)
    try:
        out, err = proc.communicate()
    finally:
        dog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    dt = time.perf_counter() - t0
    if killed:
        raise RuntimeError("%s killed after %d s" % (argv[0], timeout))
    p = subprocess.CompletedProcess(argv, proc.returncode, out, err)
    if check and p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (argv[0], p.returncode,
                                                   p.stderr.decode(errors="replace").strip()))
    return dt, p


def first_byte(argv, timeout=600, digest=False):
    """Spawn argv; (seconds until its first output byte, seconds until it exits, the
    byte count or, with digest, the output's sha256)."""
    procs, killed = [], []

    def kill():
        killed.append(True)
        for p in procs:
            p.kill()

    dog = threading.Timer(timeout, kill)
    dog.daemon = True
    dog.start()
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0)
    procs.append(proc)
    try:
        fd = proc.stdout.fileno()
        b = os.read(fd, 1 << 16)
        t1 = time.perf_counter()
        n = len(b)
        h = hashlib.sha256(b) if digest else None
        for _ in range(1 << 24):            # bounded: 1 TiB in 64 KiB reads
            if not b:
                break
            b = os.read(fd, 1 << 16)
            n += len(b)
            if h:
                h.update(b)
        proc.stdout.close()
        rc = proc.wait()
    finally:
        dog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    t2 = time.perf_counter()
    if killed or rc != 0:
        raise RuntimeError("%s %s" % (argv[0], "killed" if killed else "failed (%d)" % rc))
    return t1 - t0, t2 - t0, h.hexdigest() if h else n


def interleaved_reads(path, other, reps):
    """In-process open+read+close times of path and of other, taken in turn."""
    pc = time.perf_counter
    xs, os_ = [], []
    for _ in range(reps):
        t0 = pc()
        read_all(path)
        t1 = pc()
        read_all(other)
        t2 = pc()
        xs.append(t1 - t0)
        os_.append(t2 - t1)
    return xs, os_


def read_all(path, bufsize=1 << 17):
    """open/read to EOF/close, like cat; returns the byte count."""
    fd = os.open(path, os.O_RDONLY)
    try:
        n = 0
        while True:
            b = os.read(fd, bufsize)
            if not b:
                return n
            n += len(b)
    finally:
        os.close(fd)


def parallel_read(paths, timeout=120):
    """Read every path in its own thread, all released at once; (wall seconds, errors)."""
    barrier = threading.Barrier(len(paths) + 1)
    errors = []

    def worker(p):
        try:
            barrier.wait(30)
            if read_all(p) <= 0:
                errors.append("%s: empty" % p)
        except Exception as exc:        # reported, not raised: the row shows it
            errors.append("%s: %s" % (p, exc))

    threads = [threading.Thread(target=worker, args=(p,), daemon=True) for p in paths]
    for t in threads:
        t.start()
    barrier.wait(30)
    t0 = time.perf_counter()
    end = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, end - time.monotonic()))
    dt = time.perf_counter() - t0
    if any(t.is_alive() for t in threads):
        errors.append("readers still blocked after %d s" % timeout)
    return dt, errors


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                return h.hexdigest()
            h.update(b)


# ---------------------------------------------------------------- the bench

class Bench:
    def __init__(self, args):
        self.args = args
        self.cfg = QUICK if args.quick else FULL
        self.lat = args.latency_ms
        self.rows = []
        self.emu = None
        self.mounts = []
        self.tmp = tempfile.mkdtemp(prefix="xaifs-bench-")
        self.t_start = time.monotonic()

    # -- infrastructure ------------------------------------------------------
    def log(self, msg):
        if not self.args.quiet:
            print("[%6.1fs] %s" % (time.monotonic() - self.t_start, msg), file=sys.stderr,
                  flush=True)

    def row(self, section, what, value, ref="", ratio="", target="", result="", samples=None):
        r = dict(section=section, what=what, xaifs=value, reference=ref, ratio=ratio,
                 target=target, result=result)
        if samples:
            r["samples"] = samples          # raw seconds, for --json only
        self.rows.append(r)
        self.log("%s | %s | %s | %s | %s | %s" % (what, value, ref, ratio, target, result))

    def mount(self):
        with deferred_signals():
            m = util.Mount(self.emu, self.args.option)
            self.mounts.append(m)
        return m

    def unmount(self, m):
        with deferred_signals():
            try:
                m.stop()
            finally:
                self.mounts.remove(m)

    def cleanup(self):
        errors = []
        for m in list(self.mounts):
            try:
                m.stop()
            except Exception as exc:
                errors.append("unmount %s: %s" % (m.path, exc))
        self.mounts = []
        if self.emu is not None:
            try:
                self.emu.stop()
            except Exception as exc:
                errors.append("emulator: %s" % exc)
            self.emu = None
        shutil.rmtree(self.tmp, ignore_errors=True)
        return errors

    def header_file(self, name, key):
        """A curl -H @file header, so keys stay off the command line."""
        path = os.path.join(self.tmp, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("Authorization: Bearer %s\n" % key)
        return path

    def requests(self):
        return self.emu.stats()

    # -- reference client: the same list requests, one keep-alive connection ------
    def client_list(self, conn, path, token_param, token_field):
        """Follow one listing to its end like xaifs does; (pages, items of the last key)."""
        pages, items, tok = 0, [], None
        for _ in range(100000):
            url = path + ("&%s=%s" % (token_param, urllib.parse.quote(tok, safe="")) if tok else "")
            conn.request("GET", url, headers={"Authorization": "Bearer " + util.MGMT_KEY})
            r = conn.getresponse()
            body = r.read()
            if r.status != 200:
                raise RuntimeError("reference client: GET %s -> %d" % (url, r.status))
            d = json.loads(body)
            pages += 1
            for v in d.values():
                if isinstance(v, list):
                    items += v
            tok = d.get(token_field)
            if not tok:
                return pages, items
        raise RuntimeError("reference client: listing never ends")

    def client_keys(self, conn):
        """Every key: the route answers all of them at once without pageSize."""
        return self.client_list(conn, "/auth/teams/%s/api-keys?" % util.TEAM_ID,
                                "paginationToken", "paginationToken")

    def client_docs(self, conn, cid):
        return self.client_list(conn, "/v1/collections/%s/documents?limit=%d" % (cid, PAGE),
                                "pagination_token", "pagination_token")

    def client_colls(self, conn):
        return self.client_list(conn, "/v1/collections?limit=%d" % PAGE,
                                "pagination_token", "pagination_token")

    def client_timed(self, fn):
        """(seconds, requests, result) of fn(conn) on a fresh keep-alive connection."""
        conn = http.client.HTTPConnection("127.0.0.1", self.emu.port, timeout=60)
        try:
            self.emu.reset_stats()
            t0 = time.perf_counter()
            res = fn(conn)
            dt = time.perf_counter() - t0
            return dt, self.requests()["total"], res
        finally:
            conn.close()

    def curl(self, *args):
        return ["curl", "-sS", "-f", "--noproxy", "*"] + list(args)

    # -- run -----------------------------------------------------------------
    def run(self):
        self.t_start = time.monotonic()
        # Where the emulator keeps uploaded files (its TMPDIR): the system default, or
        # --emulator-tmpdir (e.g. /dev/shm, to keep its writes off the disk).
        emu_tmp = self.args.emulator_tmpdir
        saved = os.environ.get("TMPDIR")
        with deferred_signals():
            try:
                if emu_tmp:
                    os.environ["TMPDIR"] = emu_tmp
                self.emu = util.Emulator(seed="empty", extra=["--latency-ms", str(self.lat)])
            finally:
                if saved is None:
                    os.environ.pop("TMPDIR", None)
                else:
                    os.environ["TMPDIR"] = saved
        self.emu_tmp = emu_tmp or tempfile.gettempdir()
        self.mgmt_hdr = self.header_file("mgmt.hdr", util.MGMT_KEY)
        self.api_hdr = self.header_file("api.hdr", util.API_KEY)
        self.log("emulator on %s, latency %d ms, xaifs %s" % (self.emu.url, self.lat,
                                                              util.xaifs_bin()))
        steps = (self.bench_ls, self.bench_find, self.bench_reads, self.bench_warm_json,
                 self.bench_bulk, self.bench_transfer, self.bench_stream, self.bench_big_listing)
        only = set(self.args.only.split(",")) if self.args.only else None
        for step in steps:
            if only and step.__name__[len("bench_"):] not in only:
                continue
            try:
                step()
            except Interrupted:
                raise
            except Exception as exc:
                name = step.__name__[len("bench_"):]
                self.row(name, "%s: error" % name, "error: %s" % exc, result="MISS")
                for m in list(self.mounts):
                    try:
                        self.unmount(m)
                    except Interrupted:
                        raise
                    except Exception:
                        pass

    # -- ls -l keys/ -----------------------------------------------------------
    def ref_text(self, ref_dt, pages):
        return "client %s (floor %d x %d ms = %s)" % (fmt_s(ref_dt), pages, self.lat,
                                                     fmt_s(pages * self.lat / 1000.0))

    def bench_ls(self):
        for n in self.cfg["keys"]:
            self.emu.reset("large", keys=n, collections=0, documents=0)
            pages = 1
            ref_dt, ref_req, (_, items) = self.client_timed(self.client_keys)
            if len(items) != n or ref_req != pages:
                raise RuntimeError("reference client saw %d keys in %d requests"
                                   % (len(items), ref_req))
            m = self.mount()
            for phase in ("cold", "warm"):
                self.emu.reset_stats()
                dt, p = timed(["ls", "-l", m.p("keys")], stdout=subprocess.PIPE)
                s = self.requests()
                lines = p.stdout.count(b"\n") - 1       # minus "total N"
                want = pages if phase == "cold" else 0
                ok = s["total"] == want and lines == n
                extra = "" if lines == n else " (%d entries listed, want %d)" % (lines, n)
                cold = phase == "cold"
                self.row("ls", "ls -l keys/, %d keys, %s" % (n, phase),
                         "%d req, %s%s" % (s["total"], fmt_s(dt), extra),
                         self.ref_text(ref_dt, pages) if cold else "",
                         fmt_x(dt / ref_dt) if cold else "",
                         "%d req" % want, verdict(ok))
            self.unmount(m)

    # -- find ------------------------------------------------------------------
    def client_tree(self, conn):
        """What find makes xaifs list: keys, models, collections, each collection's documents."""
        self.client_keys(conn)
        conn.request("GET", "/auth/teams/%s/models" % util.TEAM_ID,
                     headers={"Authorization": "Bearer " + util.MGMT_KEY})
        r = conn.getresponse()
        r.read()
        if r.status != 200:
            raise RuntimeError("reference client: models -> %d" % r.status)
        _, colls = self.client_colls(conn)
        ndocs = 0
        for c in colls:
            ndocs += len(self.client_docs(conn, c["collection_id"])[1])
        return ndocs

    def bench_find(self):
        c, d = self.cfg["tree"]
        nkeys = 10
        self.emu.reset("large", keys=nkeys, collections=c, documents=d)
        want = (max(1, math.ceil(nkeys / PAGE)) + 1 + max(1, math.ceil(c / PAGE))
                + c * max(1, math.ceil(d / PAGE)))
        ref_dt, ref_req, ref_docs = self.client_timed(self.client_tree)
        if ref_req != want or ref_docs != c * d:
            raise RuntimeError("reference client saw %d documents in %d requests"
                               % (ref_docs, ref_req))
        m = self.mount()
        for phase in ("cold", "warm"):
            self.emu.reset_stats()
            dt, p = timed(["find", m.path], stdout=subprocess.PIPE)
            s = self.requests()
            docs = sum(1 for ln in p.stdout.split(b"\n") if b"/documents/" in ln)
            w = want if phase == "cold" else 0
            ok = s["total"] == w and docs == c * d
            extra = "" if docs == c * d else " (%d documents found, want %d)" % (docs, c * d)
            routes = s.get("routes", {})
            detail = "" if phase == "warm" else \
                " [keys %d, models %d, colls %d, docs %d]" % (
                    util.route_count(s, KEYS_ROUTE), util.route_count(s, MODELS_ROUTE),
                    util.route_count(s, COLLS_ROUTE), util.route_count(s, DOCS_ROUTE))
            other = s["total"] - sum(routes.get(r, 0) for r in (KEYS_ROUTE, MODELS_ROUTE,
                                                                COLLS_ROUTE, DOCS_ROUTE))
            if other:
                detail += " [other %d]" % other
            cold = phase == "cold"
            self.row("find", "find MNT over %dx%d tree, %s" % (c, d, phase),
                     "%d req, %s%s%s" % (s["total"], fmt_s(dt), detail, extra),
                     self.ref_text(ref_dt, want) if cold else "",
                     fmt_x(dt / ref_dt) if cold else "",
                     "%d req (1 per dir page)" % w if cold else "0 req", verdict(ok))
        self.unmount(m)

    # -- small reads -------------------------------------------------------------
    def bench_reads(self):
        nkeys, ndocs = 50, 50
        self.emu.reset("large", keys=nkeys, collections=1, documents=ndocs)
        list_url = "%s/auth/teams/%s/api-keys" % (self.emu.url, util.TEAM_ID)
        key = "key-00001"

        # Cold cat vs curl of the same list request: both spawned, wall time. And the
        # same in-process: first byte of open+read vs one GET on a new connection.
        cat_t, curl_t, in_t, http_t, bad = [], [], [], [], []
        pc = time.perf_counter
        for _ in range(self.cfg["cold_reps"]):
            m = self.mount()
            self.emu.reset_stats()
            dt, p = timed(["cat", m.p("keys", key)], stdout=subprocess.PIPE)
            cat_t.append(dt)
            if json.loads(p.stdout).get("name") != key:
                bad.append("cat returned the wrong key")
            if self.requests()["total"] != 1:
                bad.append("cold cat made %d requests" % self.requests()["total"])
            self.unmount(m)
            dt, p = timed(self.curl("-H", "@" + self.mgmt_hdr, list_url), stdout=subprocess.PIPE)
            curl_t.append(dt)
            if len(json.loads(p.stdout).get("apiKeys", [])) != nkeys:
                bad.append("curl listing incomplete")
            m = self.mount()
            t0 = pc()
            fd = os.open(m.p("keys", key), os.O_RDONLY)
            try:
                first = os.read(fd, 1 << 16)
                t1 = pc()
            finally:
                os.close(fd)
            in_t.append(t1 - t0)
            if not first:
                bad.append("empty read")
            self.unmount(m)
            conn = http.client.HTTPConnection("127.0.0.1", self.emu.port, timeout=60)
            try:
                t0 = pc()
                conn.request("GET", list_url[len(self.emu.url):],
                             headers={"Authorization": "Bearer " + util.MGMT_KEY})
                r = conn.getresponse()
                first = r.read(1)
                t1 = pc()
                r.read()
            finally:
                conn.close()
            http_t.append(t1 - t0)
        bad = " (%s)" % "; ".join(sorted(set(bad))) if bad else ""
        r = median(cat_t) / median(curl_t)
        self.row("reads", "cold cat keys/X vs curl of the list (spawned, median of %d)"
                 % len(cat_t), fmt_s(median(cat_t)) + bad,
                 "curl " + fmt_s(median(curl_t)), fmt_x(r), "<= 1.20x",
                 verdict(r <= 1.2 and not bad))
        r = median(in_t) / median(http_t)
        self.row("reads", "cold first byte keys/X vs same GET, new conn (in-process, "
                 "median of %d)" % len(in_t), fmt_s(median(in_t)) + bad,
                 "GET " + fmt_s(median(http_t)), fmt_x(r), "<= 1.20x",
                 verdict(r <= 1.2 and not bad))

        # Warm cat vs the same bytes on local disk.
        m = self.mount()
        path = m.p("keys", key)
        with open(path, "rb") as f:
            data = f.read()
        local = os.path.join(self.tmp, "local-key.json")
        with open(local, "wb") as f:
            f.write(data)
        read_all(local)
        self.emu.reset_stats()
        xs, ls_ = [], []
        for _ in range(self.cfg["warm_spawn_reps"]):
            xs.append(timed(["cat", path])[0])
            ls_.append(timed(["cat", local])[0])
        r = median(xs) / median(ls_)
        req = self.requests()["total"]
        self.row("reads", "warm cat keys/X vs local file (spawned cat, median of %d)"
                 % len(xs), fmt_s(median(xs)) + (" (%d req!)" % req if req else ""),
                 "local " + fmt_s(median(ls_)), fmt_x(r), "<= 3.00x", verdict(r <= 3 and not req))
        xs, ls_ = interleaved_reads(path, local, self.cfg["warm_inproc_reps"])
        r = median(xs) / median(ls_)
        req = self.requests()["total"]
        self.row("reads", "warm open+read+close keys/X vs local file (in-process, median of %d)"
                 % len(xs), fmt_s(median(xs)) + (" (%d req!)" % req if req else ""),
                 "local " + fmt_s(median(ls_)), fmt_x(r), "<= 3.00x", verdict(r <= 3 and not req))
        self.unmount(m)
        self.bench_floor(local, xs)

        # 16 parallel cold reads of different resources vs one (fresh mount each).
        keys16 = ["key-%05d" % i for i in range(1, 17)]
        docs16 = ["doc-%05d.txt" % i for i in range(1, 17)]
        for label, parts in (("keys", [("keys", k) for k in keys16]),
                             ("documents", [("collections", "coll-001", "documents", d)
                                            for d in docs16])):
            one, par, errs, reqs = [], [], [], []
            for _ in range(self.cfg["par_reps"]):
                for group, out in ((parts[:1], one), (parts, par)):
                    m = self.mount()
                    self.emu.reset_stats()
                    dt, e = parallel_read([m.p(*p) for p in group])
                    out.append(dt)
                    errs += e
                    if len(group) > 1:
                        reqs.append(self.requests()["total"])
                    self.unmount(m)
            r = median(par) / median(one)
            self.row("reads", "16 parallel cold reads of different %s vs 1 (median of %d)"
                     % (label, len(par)),
                     "%s (%d req)%s" % (fmt_s(median(par)), median(reqs),
                                        " errors: %s" % errs[:2] if errs else ""),
                     "one " + fmt_s(median(one)), fmt_x(r), "<= 2.00x",
                     verdict(r <= 2 and not errs))

        # 16 parallel reads of the same uncached resource.
        m = self.mount()
        self.emu.reset_stats()
        dt, errs = parallel_read([m.p("keys", "key-00007")] * 16)
        n = util.route_count(self.requests(), KEYS_ROUTE)
        self.row("reads", "16 parallel reads of the same uncached key: list requests",
                 "%d req, %s%s" % (n, fmt_s(dt), " errors: %s" % errs[:2] if errs else ""),
                 "", "", "1 req", verdict(n == 1 and not errs))
        self.unmount(m)
        m = self.mount()
        self.emu.reset_stats()
        doc = m.p("collections", "coll-001", "documents", "doc-00007.txt")
        dt, errs = parallel_read([doc] * 16)
        s = self.requests()
        lists = util.route_count(s, COLLS_ROUTE) + util.route_count(s, DOCS_ROUTE)
        dls = util.route_count(s, CONTENT_ROUTE)
        self.row("reads", "16 parallel reads of the same uncached document: downloads",
                 "%d download req (+%d list req), %s%s" % (
                     dls, lists, fmt_s(dt), " errors: %s" % errs[:2] if errs else ""),
                 "", "", "1 req", verdict(dls == 1 and lists == 2 and not errs))
        self.emu.reset_stats()
        for _ in range(3):
            read_all(doc)
        dls = util.route_count(self.requests(), CONTENT_ROUTE)
        self.row("reads", "warm cat of a document, 3 times: downloads",
                 "%d download req" % dls, "", "", "(no target)", "info")
        self.unmount(m)

    # -- warm JSON through the page cache -------------------------------------------
    def bench_warm_json(self):
        """jq over every key file, warm, vs the same files on local disk (both spawned)."""
        nkeys = 300
        self.emu.reset("large", keys=nkeys, collections=0, documents=0)
        m = self.mount()
        names = sorted(os.listdir(m.p("keys")))
        local = os.path.join(self.tmp, "keys-local")
        os.mkdir(local)
        for n in names:
            with open(m.p("keys", n), "rb") as f, open(os.path.join(local, n), "wb") as g:
                g.write(f.read())
        mnt_cmd = ["sh", "-c", "cd '%s' && exec jq -c . * >/dev/null" % m.p("keys")]
        loc_cmd = ["sh", "-c", "cd '%s' && exec jq -c . * >/dev/null" % local]
        timed(mnt_cmd)
        timed(loc_cmd)
        self.emu.reset_stats()
        with open(m.p(".xaifs", "stats")) as f:
            r0 = json.load(f).get("fuse", {}).get("reads")
        xs, ls_ = [], []
        for _ in range(self.cfg["warm_json_reps"]):
            xs.append(timed(mnt_cmd)[0])
            ls_.append(timed(loc_cmd)[0])
        req = self.requests()["total"]
        with open(m.p(".xaifs", "stats")) as f:
            r1 = json.load(f).get("fuse", {}).get("reads")
        with open(m.p(".xaifs", "stats")) as f:     # what reading the stats costs
            r2 = json.load(f).get("fuse", {}).get("reads")
        reads = ("%d daemon READs" % ((r1 - r0) - (r2 - r1)) if r0 is not None
                 else "reads not counted")
        r = median(xs) / median(ls_)
        self.row("reads", "warm jq -c . keys/* (%d keys) vs local copies (spawned, median of %d)"
                 % (len(names), len(xs)),
                 "%s (%d req, %s)" % (fmt_s(median(xs)), req, reads),
                 "local " + fmt_s(median(ls_)), fmt_x(r), "<= 1.50x", verdict(r <= 1.5 and not req),
                 samples=dict(xaifs=xs, local=ls_))
        shutil.rmtree(local, ignore_errors=True)
        self.unmount(m)

    # -- streamed uploads, large reads -------------------------------------------------
    def write_pieces(self, path, src, piece=MiB):
        """open, write src in piece-sized write()s, close: (write seconds, close seconds)."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        t0 = time.perf_counter()
        try:
            with open(src, "rb", buffering=0) as f:
                while True:
                    b = f.read(piece)
                    if not b:
                        break
                    view = memoryview(b)
                    while view:
                        view = view[os.write(fd, view):]
        except BaseException:
            os.close(fd)
            raise
        t1 = time.perf_counter()
        os.close(fd)
        return t1 - t0, time.perf_counter() - t1

    def bench_stream(self):
        """40 MiB with 1 MiB write()s vs curl -F, with the share of close(); cold cat of
        it vs curl; peak RSS while 256 MiB go up and down."""
        self.emu.reset("empty")
        cid = json.loads(self.emu.api("POST", "/v1/collections",
                                      {"collection_name": "bench"}))["collection_id"]
        for mib in self.cfg["stream_mib"]:
            src = os.path.join(self.tmp, "stream-%d.bin" % mib)
            with open(src, "wb") as f:
                for _ in range(mib):
                    f.write(os.urandom(MiB))
            digest = sha256_file(src)
            size = mib * MiB
            xs, shares, cs, hwms, bad = [], [], [], [], []
            doc = None
            for rep in range(self.cfg["up_reps"]):
                m, docs_dir = self.fresh_docs_mount()
                name = "w-%d-%d.bin" % (mib, rep)
                read_all(src, MiB)
                w, c = self.write_pieces(os.path.join(docs_dir, name), src)
                xs.append(w + c)
                shares.append(c / (w + c))
                hwms.append(vm_hwm_kib(m.proc.pid))
                self.unmount(m)
                d = self.emulator_doc(cid, name)
                if not d or d.get("sha256") != digest:
                    bad.append("emulator holds other bytes")
                doc = doc or d
                dt, _ = self.upload_curl(cid, src, "ref-w-%d-%d.bin" % (mib, rep))
                cs.append(dt)
            bad = " (%s)" % "; ".join(sorted(set(bad))) if bad else ""
            r = median(cs) / median(xs)
            self.row("stream", "upload %d MiB in 1 MiB write()s, open to close() return, vs "
                     "curl -F (median of %d)" % (mib, len(xs)),
                     "%s, %s%s" % (fmt_rate(size, median(xs)), fmt_s(median(xs)), bad),
                     "curl -F %s, %s" % (fmt_rate(size, median(cs)), fmt_s(median(cs))),
                     fmt_x(r), ">= 0.80x", verdict(r >= 0.8 and not bad),
                     samples=dict(xaifs=xs, curl=cs, close_share=shares))
            self.row("stream", "upload %d MiB in 1 MiB write()s: share of the time in close() "
                     "(median of %d)" % (mib, len(shares)), "%.0f%%" % (100 * median(shares)),
                     "", "", "<= 25%", verdict(median(shares) <= 0.25))
            self.row("stream", "upload %d MiB in 1 MiB write()s: daemon peak RSS (VmHWM, max of "
                     "%d mounts)" % (mib, len(hwms)), fmt_mib(max(hwms)), "", "", "< 64 MiB",
                     verdict(max(hwms) < 64 * 1024))
            if doc:
                self.bench_download(mib, src, digest, doc)
            os.unlink(src)

    # -- download / upload ----------------------------------------------------------
    def bench_floor(self, local, xaifs_times):
        """The same open+read+close on the least FUSE file system there is
        (bench/fuse_floor.c: the bytes in memory, keep_cache, no flush), with
        workers kept as xaifs keeps them and with libfuse's single-threaded
        loop: what the OPEN round trip alone costs here."""
        exe = os.path.join(os.path.dirname(os.path.dirname(util.xaifs_bin())), "bench",
                           "fuse_floor")
        if not os.access(exe, os.X_OK):
            self.row("reads", "warm open+read+close on a minimal FUSE file system",
                     "bench/fuse_floor not built (%s)" % exe, "", "n/a", "(no target)", "n/a")
            return
        for mode, how in (("mt", "16 kept workers, as xaifs"), ("st", "single-threaded loop")):
            fs, ls_ = self.floor_times(exe, mode, local)
            self.row("reads", "warm open+read+close on a minimal FUSE file system "
                     "(bench/fuse_floor.c, %s) vs local file (median of %d)" % (how, len(fs)),
                     fmt_s(median(fs)), "local " + fmt_s(median(ls_)),
                     fmt_x(median(fs) / median(ls_)), "(no target)", "info",
                     samples=dict(floor=fs, local=ls_))
            self.row("reads", "warm open+read+close: xaifs vs that minimal file system (%s)"
                     % how, fmt_s(median(xaifs_times)), "floor " + fmt_s(median(fs)),
                     fmt_x(median(xaifs_times) / median(fs)), "(no target)", "info")

    def floor_times(self, exe, mode, local):
        """(floor times, local times) of open+read+close, interleaved."""
        mnt = tempfile.mkdtemp(prefix="floor-", dir=self.tmp)
        proc = subprocess.Popen([exe, mnt, local, mode], stderr=subprocess.PIPE)
        path = os.path.join(mnt, "f")
        fs, ls_ = [], []
        try:
            for _ in range(200):
                if os.path.exists(path) or proc.poll() is not None:
                    break
                time.sleep(0.02)
            read_all(path)
            fs, ls_ = interleaved_reads(path, local, self.cfg["warm_inproc_reps"])
        finally:
            subprocess.run(["fusermount3", "-u", mnt], stderr=subprocess.DEVNULL)
            proc.wait(timeout=10)
            os.rmdir(mnt)
        return fs, ls_

    # -- bulk changes: the mount vs a small script of the same job ----------------
    def script_delete_prefix(self, conn, prefix):
        """List once, DELETE every key whose name starts with prefix; keys deleted."""
        _, keys = self.client_keys(conn)
        n = 0
        for k in keys:
            if k.get("name", "").startswith(prefix):
                conn.request("DELETE", "/auth/api-keys/%s" % k["apiKeyId"],
                             headers={"Authorization": "Bearer " + util.MGMT_KEY})
                r = conn.getresponse()
                r.read()
                if r.status != 200:
                    raise RuntimeError("script: DELETE -> %d" % r.status)
                n += 1
        return n

    def script_upload(self, conn, cid, files):
        """One multipart POST per file, as a script with requests would send it."""
        for path in files:
            name = os.path.basename(path)
            with open(path, "rb") as f:
                data = f.read()
            b = "xaifs-bench-boundary"
            body = b"".join(
                b"--%s\r\nContent-Disposition: form-data; name=\"%s\"%s\r\n\r\n%s\r\n" % (
                    b.encode(), k.encode(), fn, v)
                for k, fn, v in (("name", b"", name.encode()),
                                 ("data", b'; filename="%s"' % name.encode(), data),
                                 ("content_type", b"", b"text/plain"))) + b"--%s--\r\n" % b.encode()
            conn.request("POST", "/v1/collections/%s/documents" % cid, body=body,
                         headers={"Authorization": "Bearer " + util.MGMT_KEY,
                                  "Content-Type": "multipart/form-data; boundary=" + b})
            r = conn.getresponse()
            r.read()
            if r.status != 200:
                raise RuntimeError("script: upload -> %d" % r.status)
        return len(files)

    def bulk_row(self, what, m_dt, m_req, s_dt, s_req, want_req, ok, time_target=True):
        """A row with the request target, and the time target (<= the script) if given."""
        self.row("bulk", what, "%d req, %s" % (m_req, fmt_s(m_dt)),
                 "script %d req, %s" % (s_req, fmt_s(s_dt)), fmt_x(m_dt / s_dt),
                 "<= %d req%s" % (want_req, ", <= 1.0x" if time_target else ""),
                 verdict(ok and m_req <= want_req and (m_dt <= s_dt or not time_target)))

    def bench_bulk(self):
        """rm of 100 keys by prefix, cp of 20 files, cat of every key: both ways."""
        n = 1000
        self.emu.reset("large", keys=n, collections=0, documents=0)
        m = self.mount()
        self.emu.reset_stats()
        dt, _ = timed(["sh", "-c", 'rm "$0"/key-001*', m.p("keys")])
        req = self.requests()["total"]
        left = len(os.listdir(m.p("keys")))
        self.unmount(m)
        self.emu.reset("large", keys=n, collections=0, documents=0)
        s_dt, s_req, gone = self.client_timed(lambda c: self.script_delete_prefix(c, "key-001"))
        self.bulk_row("rm keys/key-001* (100 of %d keys)" % n, dt, req, s_dt, s_req, 101,
                      left == n - 100 and gone == 100)

        self.emu.reset("large", keys=n, collections=0, documents=0)
        m = self.mount()
        self.emu.reset_stats()
        dt, p = timed(["sh", "-c", 'cat "$0"/* | wc -c', m.p("keys")], stdout=subprocess.PIPE)
        req = self.requests()["total"]
        self.unmount(m)
        s_dt, s_req, (_, items) = self.client_timed(self.client_keys)
        self.bulk_row("cat keys/* (%d keys, cold)" % n, dt, req, s_dt, s_req, 1,
                      len(items) == n and int(p.stdout.split()[0]) > 0, time_target=False)

        files = []
        src = os.path.join(self.tmp, "bulk")
        os.makedirs(src, exist_ok=True)
        for i in range(20):
            path = os.path.join(src, "note-%02d.txt" % i)
            with open(path, "wb") as f:
                f.write(os.urandom(2048).hex().encode())
            files.append(path)
        self.emu.reset("empty")
        cid = json.loads(self.emu.api("POST", "/v1/collections",
                                      {"collection_name": "bulk"}))["collection_id"]
        m = self.mount()
        docs = m.p("collections", "bulk", "documents")
        os.listdir(docs)                        # the user looked at the folder first
        self.emu.reset_stats()
        dt, _ = timed(["cp"] + files + [docs + "/"])
        req = self.requests()["total"]
        stored = len(os.listdir(docs))
        self.unmount(m)
        self.emu.reset("empty")
        cid = json.loads(self.emu.api("POST", "/v1/collections",
                                      {"collection_name": "bulk"}))["collection_id"]
        s_dt, s_req, up = self.client_timed(lambda c: self.script_upload(c, cid, files))
        self.bulk_row("cp 20 files into documents/", dt, req, s_dt, s_req, 21,
                      stored == 20 and up == 20)
        shutil.rmtree(src, ignore_errors=True)

    def upload_curl(self, cid, src, name):
        """curl -F direct upload; (seconds, document JSON)."""
        out = os.path.join(self.tmp, "upload.json")
        read_all(src, 1 << 20)              # both sides start with src in the page cache
        dt, _ = timed(self.curl("-H", "@" + self.mgmt_hdr, "-o", out,
                                "-F", "name=" + name,
                                "-F", "data=@%s;type=application/octet-stream" % src,
                                "-F", "content_type=application/octet-stream",
                                "%s/v1/collections/%s/documents" % (self.emu.url, cid)))
        with open(out) as f:
            doc = json.load(f)
        os.unlink(out)
        return dt, doc

    def emulator_doc(self, cid, name):
        for c in self.emu.state()["collections"]:
            if c.get("collection_id") == cid:
                for d in c.get("documents", []):
                    if d.get("file_metadata", {}).get("name") == name:
                        return d
        return None

    def bench_transfer(self):
        self.emu.reset("empty")
        cid = json.loads(self.emu.api("POST", "/v1/collections",
                                      {"collection_name": "bench"}))["collection_id"]
        for mib in self.cfg["file_mib"]:
            src = os.path.join(self.tmp, "src-%d.bin" % mib)
            with open(src, "wb") as f:
                for _ in range(mib):
                    f.write(os.urandom(MiB))
            digest = sha256_file(src)
            timed(["cat", src])                   # the local file is in the page cache
            up_curl = []
            dt, doc = self.upload_curl(cid, src, "big-%d.bin" % mib)
            up_curl.append(dt)
            self.bench_download(mib, src, digest, doc)
            self.bench_upload(mib, src, digest, cid, up_curl)
            os.unlink(src)

    def fresh_docs_mount(self):
        """A fresh mount (nothing cached) whose bench/documents listing is already fetched."""
        m = self.mount()
        docs_dir = m.p("collections", "bench", "documents")
        timed(["ls", "-l", docs_dir])
        self.emu.reset_stats()
        return m, docs_dir

    def bench_download(self, mib, src, digest, doc):
        """cat through a fresh mount (a cold download) vs curl of the content route."""
        size = mib * MiB
        name = doc["file_metadata"]["name"]
        content_url = "%s/v1/files/%s/content" % (self.emu.url, doc["file_metadata"]["file_id"])
        get = self.curl("-H", "@" + self.api_hdr, content_url)
        xs, cs, xf, cf, ws, ls_, hwms, bad = [], [], [], [], [], [], [], []
        for _ in range(self.cfg["dl_reps"]):
            m, docs_dir = self.fresh_docs_mount()
            path = os.path.join(docs_dir, name)
            xs.append(timed(["cat", path])[0])
            hwms.append(vm_hwm_kib(m.proc.pid))
            dls = util.route_count(self.requests(), CONTENT_ROUTE)
            if dls != 1:
                bad.append("cold cat made %d downloads" % dls)
            # Second cat on the same mount (whatever xaifs keeps) vs the local file.
            self.emu.reset_stats()
            ws.append(timed(["cat", path])[0])
            ls_.append(timed(["cat", src])[0])
            if util.route_count(self.requests(), CONTENT_ROUTE):
                bad.append("second cat downloaded again")
            self.unmount(m)
            cs.append(timed(get)[0])
            # Time to first byte, cold, with the bytes checked on both sides.
            m, docs_dir = self.fresh_docs_mount()
            t, _, h = first_byte(["cat", os.path.join(docs_dir, name)], digest=True)
            hwms.append(vm_hwm_kib(m.proc.pid))
            self.unmount(m)
            xf.append(t)
            if h != digest:
                bad.append("CONTENT DIFFERS through the mount")
            t, _, h = first_byte(get, digest=True)
            cf.append(t)
            if h != digest:
                bad.append("curl got different bytes")
        bad = " (%s)" % "; ".join(sorted(set(bad))) if bad else ""
        r = median(cs) / median(xs)         # throughput ratio = inverse time ratio
        self.row("transfer", "download %d MiB: cold cat vs curl throughput (median of %d)"
                 % (mib, len(xs)),
                 "%s, %s%s" % (fmt_rate(size, median(xs)), fmt_s(median(xs)), bad),
                 "curl %s, %s" % (fmt_rate(size, median(cs)), fmt_s(median(cs))),
                 fmt_x(r), ">= 0.80x", verdict(r >= 0.8 and not bad),
                 samples=dict(xaifs=xs, curl=cs))
        self.row("transfer", "download %d MiB: daemon peak RSS (VmHWM, max of %d mounts)"
                 % (mib, len(hwms)), fmt_mib(max(hwms)), "", "", "< 64 MiB",
                 verdict(max(hwms) < 64 * 1024))
        self.row("transfer", "download %d MiB: cold time to first byte, cat vs curl (median of %d)"
                 % (mib, len(xf)), fmt_s(median(xf)), "curl " + fmt_s(median(cf)),
                 fmt_x(median(xf) / median(cf)), "(no target)", "info",
                 samples=dict(xaifs=xf, curl=cf))
        self.row("transfer", "download %d MiB: second cat (same mount) vs cat of local file"
                 % mib, "%s, %s" % (fmt_rate(size, median(ws)), fmt_s(median(ws))),
                 "local %s, %s" % (fmt_rate(size, median(ls_)), fmt_s(median(ls_))),
                 fmt_x(median(ws) / median(ls_)), "(no target)", "info")

    def bench_upload(self, mib, src, digest, cid, up_curl):
        """cp into a fresh mount, done when the emulator holds the document, vs curl -F."""
        size = mib * MiB
        what = "upload %d MiB: cp into mount vs curl -F" % mib
        xs, cps, hwms, status = [], [], [], ""
        for rep in range(self.cfg["up_reps"]):
            m, docs_dir = self.fresh_docs_mount()
            up_name = "up-%d-%d.bin" % (mib, rep)
            read_all(src, 1 << 20)
            t0 = time.perf_counter()
            dt, p = timed(["cp", src, os.path.join(docs_dir, up_name)], timeout=900, check=False)
            cps.append(dt)
            err = p.stderr.decode(errors="replace").strip()
            if p.returncode != 0:
                self.unmount(m)
                status = "n/a" if "Read-only file system" in err else "cp failed: " + err
                break
            # Written: wait (bounded) until the emulator holds it, then check it.
            d = None
            for _ in range(2400):               # 2 minutes at most
                d = self.emulator_doc(cid, up_name)
                if d and int(d["file_metadata"].get("size_bytes", 0)) == size:
                    break
                time.sleep(0.05)
            xs.append(time.perf_counter() - t0)
            hwms.append(vm_hwm_kib(m.proc.pid))
            self.unmount(m)
            if not d:
                status = "cp succeeded but the emulator has no %s" % up_name
            elif int(d["file_metadata"].get("size_bytes", 0)) != size:
                status = "emulator holds %s bytes, want %d" % (
                    d["file_metadata"].get("size_bytes"), size)
            elif d.get("sha256") and d["sha256"] != digest:
                status = "emulator holds different bytes (sha256)"
            if status:
                break
            if len(up_curl) < self.cfg["up_reps"]:
                up_curl.append(self.upload_curl(cid, src, "ref-%d-%d.bin" % (mib, rep))[0])
        ref = "curl -F %s, %s" % (fmt_rate(size, median(up_curl)), fmt_s(median(up_curl)))
        if status == "n/a":
            why = "n/a (mounted -o ro)" if "ro" in ",".join(self.args.option).split(",") \
                else "n/a (writes not implemented yet)"
            self.row("transfer", what, why, ref, "n/a", ">= 0.80x", "n/a")
            self.row("transfer", "upload %d MiB: daemon peak RSS (VmHWM)" % mib, why,
                     "", "", "< 64 MiB", "n/a")
            return
        if status:
            self.row("transfer", what, status, ref, "", ">= 0.80x", "MISS")
            return
        r = median(up_curl) / median(xs)
        self.row("transfer", what + " (median of %d)" % len(xs),
                 "%s, %s" % (fmt_rate(size, median(xs)), fmt_s(median(xs))), ref,
                 fmt_x(r), ">= 0.80x", verdict(r >= 0.8),
                 samples=dict(xaifs=xs, xaifs_cp=cps, curl=up_curl))
        self.row("transfer", "upload %d MiB: daemon peak RSS (VmHWM, max of %d mounts)"
                 % (mib, len(hwms)), fmt_mib(max(hwms)), "", "", "< 64 MiB",
                 verdict(max(hwms) < 64 * 1024))
        # Where the time goes: the same cp to a name xaifs keeps local (a leading dot,
        # never uploaded) is the FUSE write part alone.
        m, docs_dir = self.fresh_docs_mount()
        dt, p = timed(["cp", src, os.path.join(docs_dir, ".bench-local.bin")], timeout=900,
                      check=False)
        sent = self.requests().get("mutating", 0)
        self.unmount(m)
        if p.returncode == 0:
            self.row("transfer", "upload %d MiB: cp to a local-only name (.NAME, not sent): "
                     "the FUSE write part" % mib,
                     "%s, %s%s" % (fmt_rate(size, dt), fmt_s(dt),
                                   " (%d mutating req!)" % sent if sent else ""),
                     "", "", "(no target)", "info")

    # -- 100,000 documents -------------------------------------------------------------
    def bench_big_listing(self):
        n = self.cfg["big_listing"]
        self.emu.reset("large", keys=0, collections=1, documents=n)
        want = 1 + math.ceil(n / PAGE)

        def ref(conn):
            _, colls = self.client_colls(conn)
            return len(self.client_docs(conn, colls[0]["collection_id"])[1])

        ref_dt, ref_req, ref_n = self.client_timed(ref)
        if ref_req != want or ref_n != n:
            raise RuntimeError("reference client saw %d documents in %d requests"
                               % (ref_n, ref_req))
        m = self.mount()
        base = vm_hwm_kib(m.proc.pid)
        d = m.p("collections", "coll-001", "documents")
        for phase in ("cold", "warm"):
            self.emu.reset_stats()
            dt, p = timed(["ls", "-l", d], stdout=subprocess.PIPE, timeout=900)
            s = self.requests()
            lines = p.stdout.count(b"\n") - 1
            w = want if phase == "cold" else 0
            cold = phase == "cold"
            self.row("listing", "ls -l documents/, %d documents, %s" % (n, phase),
                     "%d req, %s%s" % (s["total"], fmt_s(dt),
                                       "" if lines == n else " (%d entries)" % lines),
                     self.ref_text(ref_dt, want) if cold else "",
                     fmt_x(dt / ref_dt) if cold else "",
                     "%d req" % w, verdict(s["total"] == w and lines == n))
        hwm = vm_hwm_kib(m.proc.pid)
        self.row("listing", "ls -l of %d documents: daemon peak RSS (VmHWM)" % n,
                 fmt_mib(hwm), "after mount %s" % fmt_mib(base), "", "< 200 MiB",
                 verdict(hwm < 200 * 1024))
        self.unmount(m)


# ---------------------------------------------------------------- output

def machine():
    mem_kib = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return "%d CPUs (%s), %.1f GiB RAM, Linux %s" % (os.cpu_count() or 0, cpu or "?",
                                                     mem_kib / 1024.0 / 1024.0,
                                                     platform.release())


def git_rev():
    try:
        p = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                           capture_output=True, text=True, timeout=10)
        return p.stdout.strip() or "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def table(rows):
    cols = [("#", None), ("measurement", "what"), ("xaifs", "xaifs"),
            ("reference", "reference"), ("ratio", "ratio"), ("target", "target"),
            ("result", "result")]
    cells = [[h for h, _ in cols]]
    for i, r in enumerate(rows, 1):
        cells.append([str(i)] + [str(r[k]) for _, k in cols[1:]])
    w = [max(len(c[i]) for c in cells) for i in range(len(cols))]
    out = []
    for j, c in enumerate(cells):
        out.append("| " + " | ".join(c[i].ljust(w[i]) for i in range(len(cols))) + " |")
        if j == 0:
            out.append("|" + "|".join("-" * (w[i] + 2) for i in range(len(cols))) + "|")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="smaller sizes (1,000 keys, 20x20 tree, 32 MiB, 10,000 documents)")
    ap.add_argument("--latency-ms", type=int, default=20,
                    help="emulator delay before every API response (default 20)")
    ap.add_argument("--xaifs", help="the xaifs binary (default build/src/xaifs)")
    ap.add_argument("-o", "--option", action="append", default=[], metavar="OPT",
                    help="extra xaifs mount option for every mount (repeatable), e.g. -o ro")
    ap.add_argument("--emulator-tmpdir", metavar="DIR",
                    help="TMPDIR of the emulator: where it keeps uploaded files "
                    "(default: the system's)")
    ap.add_argument("--json", metavar="FILE", help="also write the rows as JSON to FILE")
    ap.add_argument("--only", metavar="STEPS",
                    help="run only these steps, comma-separated: ls, find, reads, warm_json, "
                    "transfer, stream, bulk, big_listing")
    ap.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = ap.parse_args()
    if args.latency_ms < 0:
        ap.error("--latency-ms must be >= 0")
    if args.xaifs:
        os.environ["XAIFS_BIN"] = os.path.abspath(args.xaifs)
    # Loopback only: neither curl nor xaifs (libcurl) may go through a proxy.
    for k in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY",
              "ALL_PROXY"):
        os.environ.pop(k, None)
    for tool in ("curl", "fusermount3", "ls", "find", "cat", "cp", "cmp", "jq", "sh"):
        if not shutil.which(tool):
            ap.error("%s is needed" % tool)
    try:
        util.xaifs_bin()    # fail early, with a clear message, when it is not built
    except RuntimeError as exc:
        ap.error(str(exc))

    # SIGINT too: a shell starts background jobs with SIGINT ignored.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)
    b = Bench(args)
    started = datetime.datetime.now().astimezone()
    load0 = os.getloadavg()[0]
    status = 0
    try:
        b.run()
    except (KeyboardInterrupt, Interrupted) as exc:
        print("\ninterrupted (%s); cleaning up" % (exc or "Ctrl-C"), file=sys.stderr)
        status = 130
    finally:
        # Cleanup must not be cut short by a second signal.
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        errs = b.cleanup()
        for e in errs:
            print("cleanup: " + e, file=sys.stderr)
    elapsed = time.monotonic() - b.t_start
    cmd = "bench/run.sh" + ("".join(" " + a for a in sys.argv[1:]))
    print("xaifs benchmark: %s run, %s" % ("quick" if args.quick else "full", cmd))
    print("date %s; %s; load average %.2f at start, %.2f at end" % (
        started.strftime("%Y-%m-%d %H:%M %Z"), machine(), load0, os.getloadavg()[0]))
    st = os.stat(util.xaifs_bin())
    print("xaifs %s (built %s; source tree at git %s)%s; emulator latency %d ms per "
          "request, its files in %s; xaifs TMPDIR %s; took %.0f s"
          % (util.xaifs_bin(), time.strftime("%Y-%m-%d %H:%M", time.localtime(st.st_mtime)),
             git_rev(), " -o " + ",".join(args.option) if args.option else "",
             args.latency_ms, getattr(b, "emu_tmp", "?"), os.environ.get("TMPDIR", "/var/tmp"),
             elapsed))
    print()
    print(table(b.rows))
    misses = sum(1 for r in b.rows if r["result"] == "MISS")
    if any(r["xaifs"].startswith("error") for r in b.rows) and status == 0:
        status = 1
    print()
    print("%d rows: %d PASS, %d MISS, %d n/a, %d info" % (
        len(b.rows), sum(1 for r in b.rows if r["result"] == "PASS"), misses,
        sum(1 for r in b.rows if r["result"] == "n/a"),
        sum(1 for r in b.rows if r["result"] == "info")))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(date=started.isoformat(), machine=machine(), quick=args.quick,
                           latency_ms=args.latency_ms, git=git_rev(), seconds=elapsed,
                           rows=b.rows), f, indent=2)
    return status


if __name__ == "__main__":
    sys.exit(main())
