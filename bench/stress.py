#!/usr/bin/python3
"""xaifs stress run: threads of mixed reads and writes against the emulator under faults.

Starts the bundled emulator and mounts xaifs on it (as tests/integration/util.py does,
with -o cache_ttl=1), then for DURATION seconds THREADS threads each loop over random
operations on the mount:

    ls         list keys/, collections/, a collection's documents/, or `ls -l` the root
    cat_key    read a key (one of the sample keys or one of the thread's own)
    create_key write {"acls": [...], "qps": N} to a new keys/<unique name>
    update_key write {"qps": N} to one of the thread's keys
    delete_key rm one of the thread's keys
    cp_doc     copy a small local file into a collection's documents/ (cp or open/write/close)
    cat_doc    read a document (a sample one or one of the thread's own) and check its bytes
    rm_doc     rm one of the thread's documents

while a separate thread re-arms the emulator's faults (one at a time, checked every
20 ms) so that about FAULT_RATE of all requests fail: HTTP 503 (70%), HTTP 429 with Retry-After: 1 (10%) or a
dropped connection (20%).

Each thread owns its names, so it knows what the server must hold: every write it saw
succeed must be on the server with the right content, and every write it saw fail must not
be (none of these faults is carried out by the server). At the end it checks emu.state():

    lost       a write the user saw succeed that the server does not reflect (must be 0)
    phantom    a write the user saw fail that the server carried out anyway
    duplicate  two server objects with one of the thread's names
    stale      a read after the thread's own successful write that did not show it

and that the mount still answers `ls` within 10 s and unmounts within 10 s (no deadlock),
that the daemon never crashed, and that its spool directory is empty afterwards.

    bench/stress.py [--threads 8] [--duration 60] [--fault-rate 0.1] [--seed N]
                    [--xaifs PATH] [--json FILE]

Exit status 0 when nothing was lost, nothing hung and nothing crashed. Everything runs
on loopback; the emulator, the mount and temporary files are removed at the end.
tests/integration/test_stress.py runs the same engine for 20 s.
"""
import argparse
import collections
import errno
import hashlib
import importlib.util
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def _load_util():
    path = os.path.join(ROOT, "tests", "integration", "util.py")
    spec = importlib.util.spec_from_file_location("xaifs_stress_util", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


util = _load_util()

COLLECTIONS = ("contracts", "research-notes")
SAMPLE_KEYS = ("ci-bot", "prod-backend", "staging", "embeddings-worker")
SAMPLE_DOCS = (("contracts", "msa.txt"), ("contracts", "sow.md"),
               ("research-notes", "reading-list.txt"))
ACLS = ["api-key:model:*"]
WEIGHTS = {"ls": 16, "cat_key": 14, "create_key": 12, "update_key": 12, "delete_key": 7,
           "cp_doc": 12, "cat_doc": 12, "rm_doc": 7}
WRITES = ("create_key", "update_key", "delete_key", "cp_doc", "rm_doc")
FAULT_MIX = (("fail503", 0.7), ("fail429", 0.1), ("drop", 0.2))


def sha(b):
    return hashlib.sha256(b).hexdigest()


class Tally:
    """What the users saw, per kind of operation. Thread-safe."""

    def __init__(self):
        self.lock = threading.Lock()
        self.ok = collections.Counter()
        self.failed = collections.Counter()
        self.errnos = collections.defaultdict(collections.Counter)
        self.times = collections.defaultdict(list)
        self.stale = []
        self.unexpected = []

    def add(self, kind, err, seconds):
        with self.lock:
            if err:
                self.failed[kind] += 1
                self.errnos[kind][errno.errorcode.get(err, str(err))] += 1
            else:
                self.ok[kind] += 1
            self.times[kind].append(seconds)

    def note_stale(self, what):
        with self.lock:
            self.stale.append(what)

    def note_unexpected(self, what):
        with self.lock:
            self.unexpected.append(what)


def write_bytes(path, data):
    """open/write/close; return 0 or the errno of the failing step (close() included)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as e:
        return e.errno
    err = 0
    try:
        os.write(fd, data)
    except OSError as e:
        err = e.errno
    try:
        os.close(fd)
    except OSError as e:
        err = err or e.errno
    return err


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


class Worker(threading.Thread):
    def __init__(self, run, tid):
        super().__init__(name="stress-%d" % tid, daemon=True)
        self.run_ = run
        self.tid = tid
        self.rng = random.Random(run.seed * 1000 + tid)
        self.n = 0
        # name -> {"present": bool, "qps": int, "uncertain": bool}; only this thread's.
        self.keys = {}
        # (collection, name) -> {"present": bool, "sha": str, "uncertain": bool}
        self.docs = {}
        self.src = os.path.join(run.tmp, "src-%d" % tid)
        self.history = {}
        self.error = None

    def hist(self, what, name, err):
        self.history.setdefault(name, []).append("%s %s %s" % (
            time.strftime("%H:%M:%S", time.gmtime()) + ".%03d" % (time.time() % 1 * 1000),
            what, errno.errorcode.get(err, "ok") if err else "ok"))

    def fresh(self, what):
        self.n += 1
        return "st%d-%s%d" % (self.tid, what, self.n)

    def own_keys(self):
        return [k for k, v in self.keys.items() if v["present"] and not v["uncertain"]]

    def own_docs(self):
        return [k for k, v in self.docs.items() if v["present"] and not v["uncertain"]]

    def run(self):
        try:
            kinds = list(WEIGHTS)
            weights = [WEIGHTS[k] for k in kinds]
            while time.monotonic() < self.run_.deadline:
                kind = self.rng.choices(kinds, weights)[0]
                t0 = time.monotonic()
                err = getattr(self, "op_" + kind)()
                if err is None:             # nothing to act on yet
                    continue
                self.run_.tally.add(kind, err, time.monotonic() - t0)
        except Exception as e:              # a bug in this script, not in xaifs
            self.error = repr(e)
            raise

    # -- reads ------------------------------------------------------------

    def op_ls(self):
        m = self.run_.m
        r = self.rng.random()
        try:
            if r < 0.4:
                names = set(os.listdir(m.p("keys")))
                own = {k for k, v in self.keys.items() if not v["uncertain"]}
                for k in own:
                    if self.keys[k]["present"] != (k in names):
                        self.run_.tally.note_stale("ls keys/: %s %s" % (
                            k, "missing" if self.keys[k]["present"] else "still listed"))
            elif r < 0.8:
                coll = self.rng.choice(COLLECTIONS)
                names = set(os.listdir(m.p("collections", coll, "documents")))
                for (c, n), v in self.docs.items():
                    if c == coll and not v["uncertain"] and v["present"] != (n in names):
                        self.run_.tally.note_stale("ls %s/documents/: %s %s" % (
                            c, n, "missing" if v["present"] else "still listed"))
            elif r < 0.9:
                os.listdir(m.p("collections"))
            else:
                for n in os.listdir(m.path):
                    os.stat(m.p(n))
        except OSError as e:
            return e.errno
        return 0

    def op_cat_key(self):
        own = self.own_keys()
        if own and self.rng.random() < 0.6:
            name = self.rng.choice(own)
        else:
            name = self.rng.choice(SAMPLE_KEYS)
        try:
            obj = json.loads(read_bytes(self.run_.m.p("keys", name)))
        except OSError as e:
            return e.errno
        except ValueError:
            self.run_.tally.note_unexpected("keys/%s is not JSON" % name)
            return 0
        if obj.get("name") != name:
            self.run_.tally.note_unexpected("keys/%s has name %r" % (name, obj.get("name")))
        if name in self.keys and obj.get("qps") != self.keys[name]["qps"]:
            self.run_.tally.note_stale("keys/%s: qps %s, last written %s" % (
                name, obj.get("qps"), self.keys[name]["qps"]))
        return 0

    def op_cat_doc(self):
        own = self.own_docs()
        if own and self.rng.random() < 0.6:
            coll, name = self.rng.choice(own)
            want = self.docs[(coll, name)]["sha"]
        else:
            coll, name = self.rng.choice(SAMPLE_DOCS)
            want = self.run_.sample_sha[(coll, name)]
        try:
            data = read_bytes(self.run_.m.p("collections", coll, "documents", name))
        except OSError as e:
            return e.errno
        if sha(data) != want:
            self.run_.tally.note_stale("%s/documents/%s: wrong bytes (%d)" % (coll, name,
                                                                              len(data)))
        return 0

    # -- writes -----------------------------------------------------------

    def op_create_key(self):
        name = self.fresh("k")
        qps = self.rng.randint(1, 1000)
        body = json.dumps({"acls": ACLS, "qps": qps}).encode()
        err = write_bytes(self.run_.m.p("keys", name), body)
        self.hist("create", name, err)
        self.keys[name] = {"present": err == 0, "qps": qps if err == 0 else None,
                           "uncertain": err == errno.ETIMEDOUT, "created_ok": err == 0}
        if err == 0:
            self.op_cat_key_named(name)
        return err

    def op_cat_key_named(self, name):
        """Read-your-write after a create; its failures are not counted as operations."""
        try:
            obj = json.loads(read_bytes(self.run_.m.p("keys", name)))
        except OSError as e:
            self.hist("cat", name, e.errno)
            return
        except ValueError:
            return
        self.hist("cat", name, 0)
        self.keys[name]["id"] = obj.get("apiKeyId")
        if obj.get("qps") != self.keys[name]["qps"]:
            self.run_.tally.note_stale("keys/%s just created: qps %s, written %s" % (
                name, obj.get("qps"), self.keys[name]["qps"]))

    def op_update_key(self):
        own = self.own_keys()
        if not own:
            return None
        name = self.rng.choice(own)
        qps = self.rng.randint(1, 1000)
        while qps == self.keys[name]["qps"]:
            qps = self.rng.randint(1, 1000)
        err = write_bytes(self.run_.m.p("keys", name), json.dumps({"qps": qps}).encode())
        self.hist("update", name, err)
        if err == 0:
            self.keys[name]["qps"] = qps
        elif err == errno.ETIMEDOUT:
            self.keys[name]["uncertain"] = True
        return err

    def op_delete_key(self):
        own = self.own_keys()
        if not own:
            return None
        name = self.rng.choice(own)
        try:
            os.unlink(self.run_.m.p("keys", name))
        except OSError as e:
            self.hist("rm", name, e.errno)
            if e.errno == errno.ETIMEDOUT:
                self.keys[name]["uncertain"] = True
            return e.errno
        self.hist("rm", name, 0)
        self.keys[name]["present"] = False
        return 0

    def op_cp_doc(self):
        coll = self.rng.choice(COLLECTIONS)
        name = self.fresh("d") + ".txt"
        data = ("%s %s\n" % (name, self.rng.random())).encode() * self.rng.randint(1, 60)
        with open(self.src, "wb") as f:
            f.write(data)
        dst = self.run_.m.p("collections", coll, "documents", name)
        if self.rng.random() < 0.5:
            r = subprocess.run(["cp", self.src, dst], capture_output=True, text=True,
                               timeout=120)
            err = 0 if r.returncode == 0 else (errno.ETIMEDOUT if "timed out" in r.stderr
                                               else errno.EIO)
        else:
            err = write_bytes(dst, data)
        self.hist("cp", name, err)
        self.docs[(coll, name)] = {"present": err == 0, "sha": sha(data),
                                   "uncertain": err == errno.ETIMEDOUT,
                                   "uploaded_ok": err == 0}
        return err

    def op_rm_doc(self):
        own = self.own_docs()
        if not own:
            return None
        coll, name = self.rng.choice(own)
        try:
            os.unlink(self.run_.m.p("collections", coll, "documents", name))
        except OSError as e:
            self.hist("rm", name, e.errno)
            if e.errno == errno.ETIMEDOUT:
                self.docs[(coll, name)]["uncertain"] = True
            return e.errno
        self.hist("rm", name, 0)
        self.docs[(coll, name)]["present"] = False
        return 0


class FaultPump(threading.Thread):
    """Keeps about `rate` of all requests failing: every 20 ms, when what it armed last
    has been served and fewer than rate x requests have failed so far, it arms the
    shortfall (1 to 3 requests) of one kind (POST /_emu/faults replaces all settings)."""

    def __init__(self, emu, rate, seed, interval=0.02):
        super().__init__(name="fault-pump", daemon=True)
        self.emu = emu
        self.rate = rate
        self.rng = random.Random(seed)
        self.interval = interval
        self.stop = threading.Event()
        self.armed = None          # (setting name, kind, count)
        self.served = collections.Counter()
        self.error = None

    def settle(self):
        """Whether the armed fault (if any) has been served; counts it."""
        if not self.armed:
            return True
        name, kind, n = self.armed
        left = self.emu.control("GET", "/_emu/faults")[name]
        if left > 0 and not self.stop.is_set():
            return False
        self.served[kind] += n - left
        self.armed = None
        return True

    def arm(self, n):
        r, acc = self.rng.random(), 0.0
        for kind, p in FAULT_MIX:
            acc += p
            if r < acc:
                break
        if kind == "fail503":
            self.emu.faults(fail_next=n, fail_status=503)
            self.armed = ("fail_next", kind, n)
        elif kind == "fail429":
            self.emu.faults(fail_next=n, fail_status=429, retry_after=1)
            self.armed = ("fail_next", kind, n)
        else:
            self.emu.faults(drop_next=n)
            self.armed = ("drop_next", kind, n)

    def run(self):
        try:
            while not self.stop.wait(self.interval):
                if not self.settle():
                    continue
                short = self.rate * self.emu.stats()["total"] - sum(self.served.values())
                if short >= 1:
                    self.arm(min(3, int(short)))
        except Exception as e:
            self.error = repr(e)
        finally:
            try:
                self.settle()       # stop is set: count what was served, then disarm
                self.emu.faults()
            except Exception:
                pass


class Run:
    def __init__(self, emu, threads, duration, fault_rate, seed, log=None):
        self.emu = emu
        self.threads = threads
        self.duration = duration
        self.fault_rate = fault_rate
        self.seed = seed
        self.log = log or (lambda s: None)
        self.tally = Tally()
        self.tmp = tempfile.mkdtemp(prefix="xaifs-stress-")
        self.spool = os.path.join(self.tmp, "spool")
        os.mkdir(self.spool, 0o700)
        self.m = None
        self.deadline = 0
        self.sample_sha = {}

    def go(self):
        try:
            return self._go()
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def _go(self):
        emu = self.emu
        emu.reset("sample")
        state = emu.state()
        for coll, name in SAMPLE_DOCS:
            c = [c for c in state["collections"] if c["collection_name"] == coll][0]
            self.sample_sha[(coll, name)] = [d["sha256"] for d in c["documents"]
                                             if d["file_metadata"]["name"] == name][0]
        self.m = m = util.Mount(emu, ["cache_ttl=1", "timeout=10", "connect_timeout=5"],
                                env={"TMPDIR": self.spool})
        rep = {"threads": self.threads, "duration_s": self.duration,
               "fault_rate": self.fault_rate, "seed": self.seed}
        try:
            emu.reset_stats()
            workers = [Worker(self, i) for i in range(self.threads)]
            pump = FaultPump(emu, self.fault_rate, self.seed)
            t0 = time.monotonic()
            self.deadline = t0 + self.duration
            pump.start()
            for w in workers:
                w.start()
            for w in workers:
                w.join(max(0.0, self.deadline + 60 - time.monotonic()))
            hung = [w.name for w in workers if w.is_alive()]
            pump.stop.set()
            pump.join(10)
            emu.faults()
            rep["elapsed_s"] = round(time.monotonic() - t0, 1)
            rep["hung_threads"] = hung
            rep["script_errors"] = [w.error for w in workers if w.error] + (
                [pump.error] if pump.error else [])
            rep["crashed"] = m.proc.poll() is not None
            # No deadlock: the mount answers and unmounts in time.
            t = time.monotonic()
            try:
                r = subprocess.run(["ls", m.p("keys")], capture_output=True, timeout=10)
                rep["ls_after_s"] = round(time.monotonic() - t, 3)
                rep["ls_after_ok"] = r.returncode == 0
            except subprocess.TimeoutExpired:
                rep["ls_after_s"], rep["ls_after_ok"] = None, False
            try:
                with open(m.p(".xaifs", "stats")) as f:
                    rep["xaifs_stats"] = json.load(f)
            except (OSError, ValueError) as e:
                rep["xaifs_stats"] = {"error": str(e)}
            server_stats = emu.stats()
            rep["server_requests"] = server_stats["total"]
            rep["server_routes"] = server_stats["routes"]
            rep["faults_served"] = dict(pump.served)
            rep.update(self.verify(workers, emu.state()))
            t = time.monotonic()
            subprocess.run(["fusermount3", "-u", m.path], capture_output=True, timeout=10)
            try:
                m.proc.wait(10)
                rep["unmount_s"] = round(time.monotonic() - t, 3)
            except subprocess.TimeoutExpired:
                rep["unmount_s"] = None
            rep["daemon_rc"] = m.proc.returncode
        finally:
            out = ""
            try:
                out = m.stop()
            except AssertionError as e:
                out = str(e)
                rep["crashed"] = True
        rep["bad_words"] = [w for w in util.BAD_WORDS if w in out]
        rep["daemon_log_lines"] = len([ln for ln in out.splitlines() if "error:" in ln])
        rep["daemon_log"] = out.splitlines()[-2000:]     # for --json (keys are redacted)
        rep["spool_left"] = sorted(os.listdir(self.spool)) if os.path.isdir(self.spool) else []
        t = self.tally
        rep["ops"] = {k: {"ok": t.ok[k], "failed": t.failed[k],
                          "errnos": dict(t.errnos[k]),
                          "p50_ms": pct(t.times[k], 50), "p99_ms": pct(t.times[k], 99)}
                      for k in WEIGHTS}
        rep["stale"] = t.stale
        rep["unexpected"] = t.unexpected
        rep["passed"] = (not rep["hung_threads"] and not rep["crashed"] and
                         rep["ls_after_ok"] and rep["unmount_s"] is not None and
                         rep["daemon_rc"] == 0 and not rep["lost"] and
                         not rep["duplicates"] and not rep["bad_words"] and
                         not rep["spool_left"] and not rep["script_errors"])
        return rep

    def verify(self, workers, state):
        """Compare what each thread saw with what the server holds."""
        keys = collections.defaultdict(list)
        for k in state["keys"]:
            keys[k.get("name")].append(k)
        docs = collections.defaultdict(list)
        for c in state["collections"]:
            for d in c["documents"]:
                docs[(c["collection_name"], d["file_metadata"].get("name"))].append(d)
        lost, phantom, dups, uncertain = [], [], [], 0
        writes_ok = writes_failed = 0
        for w in workers:
            for name, v in w.keys.items():
                got = keys.get(name, [])
                if len(got) > 1:
                    dups.append("key %s x%d" % (name, len(got)))
                if v["uncertain"]:
                    uncertain += 1
                    continue
                if v["present"]:
                    if not got:
                        lost.append("key %s: created, never deleted, not on the server" % name)
                    elif got[0].get("qps") != v["qps"] or got[0].get("aclStrings") != ACLS:
                        lost.append("key %s: qps %s on the server, last written %s; history: %s; "
                                    "server audit: %s" % (
                                        name, got[0].get("qps"), v["qps"],
                                        "; ".join(w.history.get(name, [])),
                                        "; ".join(audit_for(self.emu, name))))
                elif got:
                    if v["created_ok"]:
                        lost.append("key %s: deleted, still on the server (created as %s, "
                                    "on the server as %s, created %s, modified %s)" % (
                                        name, v.get("id"), got[0].get("apiKeyId"),
                                        got[0].get("createTime"), got[0].get("modifyTime"))
                                    + "; history: " + "; ".join(w.history.get(name, []))
                                    + "; server audit: " + "; ".join(audit_for(self.emu, name)))
                    else:
                        phantom.append("key %s: creation failed, on the server" % name)
            for (coll, name), v in w.docs.items():
                got = docs.get((coll, name), [])
                if len(got) > 1:
                    dups.append("document %s/%s x%d" % (coll, name, len(got)))
                if v["uncertain"]:
                    uncertain += 1
                    continue
                if v["present"]:
                    if not got:
                        lost.append("document %s/%s: uploaded, not on the server" % (coll, name))
                    elif got[0]["sha256"] != v["sha"]:
                        lost.append("document %s/%s: wrong bytes on the server" % (coll, name))
                elif got:
                    if v["uploaded_ok"]:
                        lost.append("document %s/%s: removed, still on the server; history: %s"
                                    % (coll, name, "; ".join(w.history.get(name, []))))
                    else:
                        phantom.append("document %s/%s: upload failed, on the server"
                                       % (coll, name))
        for kind in WRITES:
            writes_ok += self.tally.ok[kind]
            writes_failed += self.tally.failed[kind]
        return {"lost": lost, "phantom": phantom, "duplicates": dups,
                "uncertain": uncertain, "writes_ok": writes_ok,
                "writes_failed": writes_failed}


def audit_for(emu, name):
    """The server's audit events that name `name` (what it really did with it), oldest first."""
    try:
        q = urllib.parse.urlencode({"eventFilter.query": "'%s'" % name, "pageSize": 100,
                                    "orderBy": "TIME_ASCENDING"})
        raw = emu.api("GET", "/audit/teams/%s/events?%s" % (util.TEAM_ID, q))
        return ["%s %s" % (e.get("eventTime", e.get("time", ""))[11:23], e.get("description"))
                for e in json.loads(raw).get("events", [])]
    except Exception as e:      # the audit log is a diagnostic only
        return ["(audit log unavailable: %s)" % e]


def pct(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    return round(1000 * xs[min(len(xs) - 1, int(len(xs) * p / 100))], 1)


def table(rep):
    lines = []
    add = lines.append
    add("xaifs stress: %d threads, %s s, fault rate %.0f%%, seed %s" % (
        rep["threads"], rep.get("elapsed_s"), 100 * rep["fault_rate"], rep["seed"]))
    add("")
    add("%-11s %7s %7s  %-34s %8s %8s" % ("operation", "ok", "failed", "errnos seen by the user",
                                         "p50 ms", "p99 ms"))
    tot_ok = tot_f = 0
    for k, v in rep["ops"].items():
        tot_ok += v["ok"]
        tot_f += v["failed"]
        errs = ", ".join("%s %d" % e for e in sorted(v["errnos"].items())) or "-"
        add("%-11s %7d %7d  %-34s %8s %8s" % (k, v["ok"], v["failed"], errs, v["p50_ms"],
                                             v["p99_ms"]))
    add("%-11s %7d %7d" % ("total", tot_ok, tot_f))
    add("")
    hs = rep.get("xaifs_stats", {}).get("http", {})
    served = rep.get("faults_served", {})
    n_faults = sum(served.values())
    add("server requests      %d" % rep.get("server_requests", 0))
    add("faults served        %d (%.1f%% of requests): %s" % (
        n_faults, 100.0 * n_faults / max(1, rep.get("server_requests", 0)),
        ", ".join("%s %d" % kv for kv in sorted(served.items()))))
    add("xaifs http           requests %s, retries %s, errors %s" % (
        hs.get("requests"), hs.get("retries"), hs.get("errors")))
    add("daemon error lines   %d" % rep.get("daemon_log_lines", 0))
    add("writes               %d succeeded, %d failed visibly, %d uncertain (timed out)" % (
        rep["writes_ok"], rep["writes_failed"], rep["uncertain"]))
    add("lost                 %d%s" % (len(rep["lost"]), "  <-- MUST BE 0" if rep["lost"] else ""))
    add("phantom              %d" % len(rep["phantom"]))
    add("duplicates           %d" % len(rep["duplicates"]))
    add("stale reads          %d" % len(rep["stale"]))
    add("unexpected contents  %d" % len(rep["unexpected"]))
    add("hung threads         %d" % len(rep["hung_threads"]))
    add("crashed              %s" % ("yes" if rep["crashed"] else "no"))
    add("ls after the run     %s s (%s)" % (rep.get("ls_after_s"),
                                           "ok" if rep.get("ls_after_ok") else "FAILED"))
    add("unmount              %s s, exit %s" % (rep.get("unmount_s"), rep.get("daemon_rc")))
    add("spool files left     %d" % len(rep["spool_left"]))
    for what in ("lost", "phantom", "duplicates", "stale", "unexpected", "script_errors"):
        for x in rep[what][:10]:
            add("  %s: %s" % (what, x))
    add("")
    add("RESULT: %s" % ("PASS" if rep["passed"] else "FAIL"))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--duration", type=float, default=60)
    ap.add_argument("--fault-rate", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=int(time.time()) % 100000)
    ap.add_argument("--xaifs", help="xaifs binary (default: $XAIFS_BIN or build/src/xaifs)")
    ap.add_argument("--json", help="also write the report as JSON to this file")
    a = ap.parse_args()
    if a.xaifs:
        os.environ["XAIFS_BIN"] = os.path.abspath(a.xaifs)
    util.xaifs_bin()
    emu = util.Emulator()
    try:
        rep = Run(emu, a.threads, a.duration, a.fault_rate, a.seed).go()
    finally:
        emu.stop()
    print(table(rep))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rep, f, indent=2)
    return 0 if rep["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
