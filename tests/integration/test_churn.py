"""Two writers churning on three shared document names in one collection.

Each writer thread repeatedly opens one of the names with
O_WRONLY|O_CREAT|O_TRUNC, writes a payload of random length tagged with its
writer, iteration and name (now and then one over 1 MiB, which is streamed),
closes it, and sometimes unlinks a name instead. Every operation's start and
end times and errors are recorded. After both stop, the rules of
docs/semantics.md ("One name, one document") are checked against the
emulator:

- no open(), write() or unlink() fails (but unlink's ENOENT), nor close() (the emulator
  refuses nothing, so a close() can only fail if its bytes were not stored);
  above all no close() failed whose bytes were stored;
- every stored upload holds exactly the bytes its writer wrote;
- the server holds at most one document per name, and the mount lists it
  once;
- a name's document is the payload of a successful close among the name's
  last operations (those no other operation on the name started after), and
  not one of a handle opened before an unlink that started while it was open
  (that handle stores nothing);
- exactly one document when one of those last operations is a successful
  close that no unlink overlapped; none when the last ones are all unlinks.

8 s here; 30 s marked slow (the soak)."""
import errno
import os
import random
import threading
import time

import pytest

import util

CNAME = "research-notes"
NAMES = ("shared-a", "shared-b", "shared-c")
FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
SHOW = 10  # lines shown per kind of failure


class Op:
    def __init__(self, kind, writer, it, name):
        self.kind, self.writer, self.it, self.name = kind, writer, it, name
        self.payload = b""
        self.t0 = self.opened = self.t1 = 0.0
        self.stage, self.err = None, 0  # where it failed (open, write, close, unlink)

    @property
    def ok(self):
        return self.stage is None

    def __repr__(self):
        what = "write %d bytes" % len(self.payload) if self.kind == "write" else "unlink"
        res = "ok" if not self.err else "%s %s" % (self.stage or "",
                                                  errno.errorcode.get(self.err, self.err))
        return "w%d#%d %s %s [%.3f-%.3f] %s" % (self.writer, self.it, what, self.name,
                                                self.t0, self.t1, res)


def tag(writer, it, name):
    return b"churn w%d i%d %s\n" % (writer, it, name.encode())


def length(rng):
    r = rng.random()
    if r < 0.7:
        return rng.randint(0, 4096)
    if r < 0.95:
        return rng.randint(4097, 64 << 10)
    return rng.randint(1 << 20, 5 << 19)  # past 1 MiB: streamed while written


def write_op(path, op, rng, base):
    op.payload = tag(op.writer, op.it, op.name) + rng.randbytes(length(rng))
    op.t0 = time.monotonic() - base
    try:
        fd = os.open(path, FLAGS, 0o644)
    except OSError as e:
        op.stage, op.err, op.t1 = "open", e.errno, time.monotonic() - base
        return
    op.opened = time.monotonic() - base
    try:
        view = memoryview(op.payload)
        while view:
            view = view[os.write(fd, view):]
    except OSError as e:
        op.stage, op.err = "write", e.errno
    try:
        os.close(fd)
    except OSError as e:
        if op.ok:
            op.stage, op.err = "close", e.errno
    op.t1 = time.monotonic() - base


def unlink_op(path, op, base):
    op.t0 = time.monotonic() - base
    try:
        os.unlink(path)
    except OSError as e:
        op.err = e.errno  # ENOENT: the name was not there (nothing removed)
        if e.errno != errno.ENOENT:
            op.stage = "unlink"
    op.t1 = time.monotonic() - base


def writer(m, w, seed, deadline, base, ops):
    rng = random.Random(seed * 100 + w)
    d = m.p("collections", CNAME, "documents")
    it = 0
    while time.monotonic() < deadline:
        it += 1
        name = rng.choice(NAMES)
        op = Op("unlink" if rng.random() < 0.12 else "write", w, it, name)
        if op.kind == "write":
            write_op(os.path.join(d, name), op, rng, base)
        else:
            unlink_op(os.path.join(d, name), op, base)
        ops.append(op)


def churn(m, seconds, seed):
    base = time.monotonic()
    deadline = base + seconds
    lists = ([], [])
    threads = [threading.Thread(target=writer, args=(m, w, seed, deadline, base, lists[w]))
               for w in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 120)
    assert not any(t.is_alive() for t in threads), "a writer is stuck:\n" + m.stderr()[-3000:]
    return lists[0] + lists[1]


# ------------------------------------------------------------------ the checks

def content(emu, fid):
    return emu.api("GET", "/v1/files/%s/content" % fid, key=util.API_KEY)


def by_tag(ops, data):
    """The write whose payload data is (by its tag), or None."""
    if not hasattr(by_tag, "index") or by_tag.ops is not ops:
        by_tag.ops = ops
        by_tag.index = {tag(o.writer, o.it, o.name): o for o in ops if o.kind == "write"}
    return by_tag.index.get(data.split(b"\n", 1)[0] + b"\n")


def unlinked_while_open(op, ops):
    """A successful unlink of op's name that started while op's handle was open."""
    return any(u.kind == "unlink" and u.err == 0 and u.name == op.name and
               op.opened and op.opened < u.t0 < op.t1 for u in ops)


def overlapped_by_unlink(op, ops):
    return any(u.kind == "unlink" and u.name == op.name and u.t0 < op.t1 and u.t1 > op.t0
               for u in ops)


def last_ops(ops, name):
    """The operations on name that no other operation on name started after."""
    on = [o for o in ops if o.name == name]
    return [x for x in on if not any(y.t0 > x.t1 for y in on)]


def check_name(emu, m, ops, name, stored, bad):
    found = stored.get(name, [])
    if len(found) > 1:
        bad["names"].append("%s: %d documents on the server (%s, ...)" % (
            name, len(found), ", ".join(f for f, _ in found[:3])))
    last = last_ops(ops, name)
    cands = [o for o in last if o.kind == "write" and o.ok and not unlinked_while_open(o, ops)]
    for fid, data in found:
        op = by_tag(ops, data)
        if op not in cands:
            bad["names"].append("%s: holds %s (%s), not one of the last closes %r; last: %r"
                                % (name, op or "untagged bytes", fid, cands, last))
    sure = [o for o in cands if not overlapped_by_unlink(o, ops)]
    if sure and len(found) != 1:
        bad["names"].append("%s: the last operation %r is a successful close, but the server "
                            "holds %d documents" % (name, sure[0], len(found)))
    if all(o.kind == "unlink" and o.err in (0, errno.ENOENT) for o in last) and found:
        bad["names"].append("%s: unlinked last (%r) but the server holds %r" % (
            name, last, [f for f, _ in found]))
    path = m.p("collections", CNAME, "documents", name)
    if len(found) == 1:
        try:
            with open(path, "rb") as f:
                same = f.read() == found[0][1]
        except OSError as e:
            same = "cannot read it: %s" % os.strerror(e.errno)
        if same is not True:
            bad["names"].append("%s: the mount reads other bytes than the server holds%s" % (
                name, "" if same is False else " (%s)" % same))


def check(emu, m, ops):
    bad = {"errors": [], "stored": [], "names": []}
    for op in ops:
        if not op.ok:
            bad["errors"].append(repr(op))
    st = emu.state()
    # every upload of a shared name, replaced or not, is still a live file
    for f in st["files"]:
        if f["filename"] not in NAMES:
            continue
        data = content(emu, f["id"])
        op = by_tag(ops, data)
        if op is None or op.name != f["filename"]:
            bad["stored"].append("%s: stored bytes of no write (%r...)" % (f["id"], data[:40]))
        elif data != op.payload:
            bad["stored"].append("%s: stored %d bytes, %r wrote other ones" % (
                f["id"], len(data), op))
        elif op.stage == "close":
            bad["stored"].append("close() failed but its bytes were stored (%s): %r" % (
                f["id"], op))
    coll = [c for c in st["collections"] if c["collection_name"] == CNAME][0]
    stored = {}
    for d in coll.get("documents", []):
        fm = d["file_metadata"]
        if fm["name"] in NAMES:
            stored.setdefault(fm["name"], []).append((fm["file_id"], content(emu, fm["file_id"])))
    for name in NAMES:
        check_name(emu, m, ops, name, stored, bad)
    listed = sorted(n for n in os.listdir(m.p("collections", CNAME, "documents"))
                    if n.startswith("shared-"))
    if listed != sorted(stored):
        bad["names"].append("the mount lists %r, the server holds %r" % (listed, sorted(stored)))
    return bad


def run_churn(emu, m, seconds, seed):
    ops = churn(m, seconds, seed)
    bad = check(emu, m, ops)
    writes = [o for o in ops if o.kind == "write"]
    summary = "churn seed %d, %.0f s: %d closes, %d unlinks, %d uploads stored" % (
        seed, seconds, len(writes), len(ops) - len(writes),
        len([f for f in emu.state()["files"] if f["filename"] in NAMES]))
    assert len(writes) >= 20, summary + ": too few operations to mean anything"
    lines = []
    for kind, what in (("errors", "failed operations"), ("stored", "stored uploads"),
                       ("names", "names")):
        if bad[kind]:
            lines.append("%s (%d):" % (what, len(bad[kind])))
            lines += ["  " + b for b in bad[kind][:SHOW]]
    if lines:
        pytest.fail(summary + "\n" + "\n".join(lines) + "\nmount log:\n" + m.stderr()[-2000:],
                    pytrace=False)
    print(summary + ": no failed operation, every stored upload a close's bytes, one "
          "document per name")


def test_two_writers_on_shared_names(emu, mnt):
    run_churn(emu, mnt, 8, seed=1)


@pytest.mark.slow
def test_two_writers_on_shared_names_long(emu, mnt):
    run_churn(emu, mnt, 30, seed=2)
