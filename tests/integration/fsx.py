"""An fsx-style checker of our own: a seeded random sequence of operations on
ONE file, every result compared with a shadow copy kept in memory.

The operations are those a handle open for writing must answer like a local
file (docs/semantics.md, "Writes"): write and pwrite at random offsets,
ftruncate (grow and shrink), read and pread, fstat and stat by name (size),
lseek (SEEK_SET, SEEK_CUR, SEEK_END), and close followed by a reopen. A
document is replaced whole, so every reopen uses O_TRUNC (or, with --vim,
O_WRONLY and then ftruncate(0)) and the shadow starts empty again; after
each close the file is read back through a fresh open(O_RDONLY) and, when
emu_content is given, the bytes the server stores are compared too.

On the first mismatch FsxError is raised naming the seed, the operation's
number, the operation, the first differing offset and the last operations.

    python3 tests/integration/fsx.py --seed 7 --ops 2000 MOUNT/collections/c/documents/f
"""
import argparse
import os
import random
import sys
import time

MAX_SIZE = 256 << 10  # the file never grows past this
BIG_WRITE = 64 << 10  # the largest single write
HISTORY = 12  # operations shown with a failure

# The first open of each run kind (run_fsx's first_open): a new name, an
# existing document rewritten through a read-write handle, or through a
# write-only one.
FIRST_OPEN = {
    "new": os.O_RDWR | os.O_CREAT | os.O_EXCL,
    "rdwr": os.O_RDWR | os.O_TRUNC,
    "wronly": os.O_WRONLY | os.O_TRUNC,
}
# A reopen truncates: O_TRUNC, or with vim_reopen also (as vim and GIO do)
# O_WRONLY and then ftruncate(0), which docs/semantics.md allows too ("Modes,
# times and unsupported operations"); before the ftruncate that handle still
# shows the stored version's size.
REOPEN = (os.O_RDWR | os.O_TRUNC, os.O_WRONLY | os.O_TRUNC)
VIM_REOPEN = os.O_WRONLY


class FsxError(AssertionError):
    pass


def first_difference(a, b):
    """The first offset where a and b differ (len of the shorter if one is a prefix)."""
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


def flag_names(flags):
    names = [n for n in ("O_RDWR", "O_WRONLY", "O_CREAT", "O_EXCL", "O_TRUNC")
             if flags & getattr(os, n)]
    return "|".join(names) or "O_RDONLY"


class Fsx:
    def __init__(self, path, seed, emu_content=None, first_open="new", log=None,
                 vim_reopen=False):
        self.path = path
        self.seed = seed
        self.rng = random.Random(seed)
        self.emu_content = emu_content
        self.first_open = first_open
        self.log = log
        self.vim = vim_reopen
        self.reopen = REOPEN + ((VIM_REOPEN,) if vim_reopen else ())
        self.shadow = bytearray()
        self.pos = 0
        self.fd = -1
        self.readable = False
        self.n = 0  # the number of the operation running
        self.history = []
        self.closes = 0
        self.count = 0  # the operations asked for

    # ------------------------------------------------------------ reporting

    def fail(self, what, want=None, got=None, base=0):
        """Raise FsxError; want and got are bytes that start at file offset base."""
        __tracebackhide__ = True  # pytest: show the operation, not this
        last = self.history[-1].split(" ", 1)[1] if self.history else "(none)"
        lines = ["fsx seed %d, operation %d: %s" % (self.seed, self.n, last),
                 "  " + what]
        if want is not None:
            i = first_difference(want, got)
            lines.append("  first difference at file offset %d: want %d bytes, got %d" % (
                base + i, len(want), len(got)))
            lines.append("  want[%d:+16] %r" % (base + i, bytes(want[i:i + 16])))
            lines.append("  got [%d:+16] %r" % (base + i, bytes(got[i:i + 16])))
        lines.append("  last operations:")
        lines += ["    " + h for h in self.history[-HISTORY:]]
        lines.append("  replay: python3 tests/integration/fsx.py --seed %d --ops %d%s PATH" % (
            self.seed, max(1, min(self.n, self.count)), self.replay_flags()))
        raise FsxError("\n".join(lines))

    def replay_flags(self):
        flags = "" if self.first_open == "new" else " --existing"
        flags += " --wronly" if self.first_open == "wronly" else ""
        return flags + (" --vim" if self.vim else "")

    def note(self, text):
        self.history.append("#%d %s" % (self.n, text))
        if self.log:
            self.log("#%d %s" % (self.n, text))

    def call(self, fn, *args):
        __tracebackhide__ = True
        try:
            return fn(*args)
        except OSError as e:
            self.fail("%s failed: %s" % (fn.__name__, os.strerror(e.errno or 0)))

    def check_size(self, how, size):
        __tracebackhide__ = True
        if size != len(self.shadow):
            self.fail("%s: size %d, want %d" % (how, size, len(self.shadow)))

    # ------------------------------------------------------------ the shadow

    def put(self, off, data):
        if off > len(self.shadow):
            self.shadow.extend(bytes(off - len(self.shadow)))
        self.shadow[off:off + len(data)] = data

    def resize(self, size):
        if size < len(self.shadow):
            del self.shadow[size:]
        else:
            self.shadow.extend(bytes(size - len(self.shadow)))

    # ------------------------------------------------------------ sizes

    def length(self):
        """A write's length: mostly small, sometimes a big one."""
        r = self.rng.random()
        if r < 0.6:
            return self.rng.randint(1, 512)
        if r < 0.9:
            return self.rng.randint(513, 8192)
        return self.rng.randint(8193, BIG_WRITE)

    def offset(self, n):
        """An offset for n bytes: inside the file, just past its end, or a hole."""
        top = MAX_SIZE - n
        r = self.rng.random()
        if r < 0.5 or not self.shadow:
            off = self.rng.randint(0, len(self.shadow))
        elif r < 0.8:
            off = len(self.shadow)
        else:
            off = len(self.shadow) + self.rng.randint(1, 32 << 10)
        return max(0, min(off, top))

    def payload(self, n):
        return self.rng.randbytes(n)

    # ------------------------------------------------------------ operations

    def op_write(self):
        n = self.length()
        if self.pos + n > MAX_SIZE:
            self.pos = self.call(os.lseek, self.fd, self.offset(n), os.SEEK_SET)
        data = self.payload(n)
        self.note("write %d at %d (pos)" % (n, self.pos))
        got = self.call(os.write, self.fd, data)
        if got != n:
            self.fail("write returned %d, want %d" % (got, n))
        self.put(self.pos, data)
        self.pos += n

    def op_pwrite(self):
        n = self.length()
        off = self.offset(n)
        data = self.payload(n)
        self.note("pwrite %d at %d" % (n, off))
        got = self.call(os.pwrite, self.fd, data, off)
        if got != n:
            self.fail("pwrite returned %d, want %d" % (got, n))
        self.put(off, data)

    def op_ftruncate(self):
        if self.rng.random() < 0.5 and self.shadow:
            size = self.rng.randint(0, len(self.shadow))
        else:
            size = self.rng.randint(len(self.shadow), MAX_SIZE)
        self.note("ftruncate %d (from %d)" % (size, len(self.shadow)))
        self.call(os.ftruncate, self.fd, size)
        self.resize(size)

    def op_read(self):
        n = self.rng.randint(1, BIG_WRITE)
        self.note("read %d at %d (pos)" % (n, self.pos))
        got = self.call(os.read, self.fd, n)
        want = bytes(self.shadow[self.pos:self.pos + n])
        if got != want:
            self.fail("read at %d returned other bytes" % self.pos, want, got, self.pos)
        self.pos += len(got)

    def op_pread(self):
        n = self.rng.randint(1, BIG_WRITE)
        off = self.rng.randint(0, len(self.shadow) + 4096)
        self.note("pread %d at %d" % (n, off))
        got = self.call(os.pread, self.fd, n, off)
        want = bytes(self.shadow[off:off + n])
        if got != want:
            self.fail("pread at %d returned other bytes" % off, want, got, off)

    def op_fstat(self):
        self.note("fstat")
        self.check_size("fstat", self.call(os.fstat, self.fd).st_size)

    def op_stat(self):
        self.note("stat by name")
        self.check_size("stat", self.call(os.stat, self.path).st_size)

    def op_seek_end(self):
        self.note("lseek 0 SEEK_END")
        self.pos = self.call(os.lseek, self.fd, 0, os.SEEK_END)
        self.check_size("lseek(SEEK_END)", self.pos)

    def op_seek(self):
        off = self.rng.randint(0, min(len(self.shadow) + 4096, MAX_SIZE))
        self.note("lseek %d SEEK_SET" % off)
        got = self.call(os.lseek, self.fd, off, os.SEEK_SET)
        if got != off:
            self.fail("lseek(SEEK_SET) returned %d" % got)
        cur = self.call(os.lseek, self.fd, 0, os.SEEK_CUR)
        if cur != off:
            self.fail("lseek(SEEK_CUR) after seeking to %d returned %d" % (off, cur))
        self.pos = off

    def op_reopen(self):
        self.close_and_verify()
        self.open(self.rng.choice(self.reopen))

    # ------------------------------------------------------------ open, close

    def open(self, flags):
        self.note("open %s" % flag_names(flags))
        self.fd = self.call(os.open, self.path, flags, 0o644)
        self.readable = (flags & os.O_ACCMODE) == os.O_RDWR
        if flags & os.O_TRUNC or flags & os.O_EXCL:
            self.shadow = bytearray()
        self.pos = 0
        self.check_size("fstat after open", self.call(os.fstat, self.fd).st_size)
        if not flags & (os.O_TRUNC | os.O_EXCL):
            self.note("ftruncate 0 (a new version)")
            self.call(os.ftruncate, self.fd, 0)
            self.resize(0)
            self.check_size("fstat after ftruncate 0", self.call(os.fstat, self.fd).st_size)

    def close_and_verify(self):
        self.note("close (%d bytes)" % len(self.shadow))
        fd, self.fd = self.fd, -1
        self.call(os.close, fd)
        self.closes += 1
        self.check_size("stat after close", self.call(os.stat, self.path).st_size)
        rd = self.call(os.open, self.path, os.O_RDONLY)
        try:
            got = b"".join(iter(lambda: self.call(os.read, rd, 1 << 20), b""))
        finally:
            os.close(rd)
        if got != self.shadow:
            self.fail("read back after close: other bytes", self.shadow, got)
        if self.emu_content:
            self.check_stored()

    def check_stored(self):
        # An empty version is uploaded at FUSE release, just after close()
        # returns (docs/semantics.md, "Writes"): give it a moment.
        end = time.monotonic() + (5 if not self.shadow else 0)
        while True:
            got = self.emu_content()
            if got == self.shadow or time.monotonic() >= end:
                break
            time.sleep(0.05)
        if not isinstance(got, (bytes, bytearray)):
            self.fail("on the server: %s" % got)
        if got != self.shadow:
            self.fail("the server stores other bytes", self.shadow, got)

    # ------------------------------------------------------------ the run

    def pick(self):
        ops = [(self.op_write, 20), (self.op_pwrite, 20), (self.op_ftruncate, 8),
               (self.op_fstat, 8), (self.op_stat, 3), (self.op_seek_end, 6),
               (self.op_seek, 5), (self.op_reopen, 3)]
        if self.readable:
            ops += [(self.op_read, 12), (self.op_pread, 12)]
        fns, weights = zip(*ops)
        return self.rng.choices(fns, weights)[0]

    def run(self, count):
        self.count = count
        self.open(FIRST_OPEN[self.first_open])
        try:
            for self.n in range(1, count + 1):
                self.pick()()
            self.n = count + 1
            self.close_and_verify()
        finally:
            if self.fd >= 0:
                try:
                    os.close(self.fd)
                except OSError:
                    pass
        return self


def run_fsx(path, seed, ops, emu_content=None, first_open=None, log=None, vim_reopen=False):
    """Run ops random operations on path with seed; raise FsxError on the first
    mismatch. first_open: "new" (O_CREAT|O_EXCL; the default when path does not
    exist), "rdwr" (O_RDWR|O_TRUNC; the default when it does) or "wronly"
    (O_WRONLY|O_TRUNC). emu_content, if given, returns the bytes the server
    stores under the name (or a string saying why there are none) and is
    checked after every close. vim_reopen: some reopens are O_WRONLY without
    O_TRUNC, then ftruncate(0). Returns the Fsx (closes: how many closes)."""
    if first_open is None:
        first_open = "rdwr" if os.path.exists(path) else "new"
    return Fsx(path, seed, emu_content, first_open, log, vim_reopen).run(ops)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=None, help="default: random, printed")
    ap.add_argument("--ops", type=int, default=1000)
    ap.add_argument("--existing", action="store_true",
                    help="path is an existing document (first open with O_TRUNC)")
    ap.add_argument("--wronly", action="store_true",
                    help="with --existing: the first open is O_WRONLY|O_TRUNC")
    ap.add_argument("--vim", action="store_true",
                    help="some reopens are O_WRONLY, then ftruncate(0)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every operation")
    ap.add_argument("path")
    a = ap.parse_args(argv)
    seed = a.seed if a.seed is not None else random.randrange(1 << 31)
    first = ("wronly" if a.wronly else "rdwr") if a.existing else "new"
    if first == "new" and os.path.exists(a.path):
        ap.error("%s exists: remove it or give --existing" % a.path)
    print("fsx seed %d, %d operations on %s" % (seed, a.ops, a.path), flush=True)
    t = time.monotonic()
    try:
        f = run_fsx(a.path, seed, a.ops, first_open=first, vim_reopen=a.vim,
                    log=print if a.verbose else None)
    except FsxError as e:
        print(e, file=sys.stderr)
        return 1
    print("ok: %d operations, %d closes, %.1f s" % (a.ops, f.closes, time.monotonic() - t))
    return 0


if __name__ == "__main__":
    sys.exit(main())
