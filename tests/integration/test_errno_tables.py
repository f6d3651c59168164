"""Errno tables in the manner of pjdfstest: open, unlink, mkdir, rmdir,
truncate(2) and rename in each kind of directory (documents/, keys/, the
root, collections/, a collection's folder, metadata/, and a read-only mount),
every row's expected result written from docs/semantics.md.

A row is (operation, path, want[, sends]): path is relative to the table's
directory (a rename's is (from, to)), want the errno (0: success; an open
row opens and closes, and a close() error counts), sends the mutating
requests the emulator must see for the row ({route: count}; reads are not
counted). A refused row must send nothing: the mount refuses before any
request. Rows marked "# ext4" are where semantics.md is silent and ext4's
answer is taken (mostly the VFS's own checks); "# like ..." marks a row
where it is silent and a neighbouring rule's answer is taken. Rows are never
skipped: each test runs its whole table, then checks the server's state, and
reports every mismatching row at once."""
import errno
import os
import re
import time

import pytest

import util

L = "n" * 256  # one byte over NAME_MAX: ENAMETOOLONG for every operation
D251 = "d" * 251  # one byte over a document name's limit

KEY_UPDATE = "PUT /auth/api-keys/{apiKeyId}"
KEY_DELETE = "DELETE /auth/api-keys/{apiKeyId}"
COLL_CREATE = "POST /v1/collections"
COLL_UPDATE = "PUT /v1/collections/{collection_id}"
COLL_DELETE = "DELETE /v1/collections/{collection_id}"
DOC_UPLOAD = "POST /v1/collections/{collection_id}/documents"
DOC_DELETE = "DELETE /v1/collections/{collection_id}/documents/{file_id}"
# POSTs that only read (usage, search) are not changes
READS = ("POST /v1/billing/teams/{team_id}/usage", "POST /v1/documents/search")
REPLACE = {DOC_UPLOAD: 1, DOC_DELETE: 1}  # a new version, the old one removed

E = errno


def missing(name):
    """The rows of a name that does not exist."""
    return [("stat", name, E.ENOENT),
            ("open O_RDONLY", name, E.ENOENT),
            ("open O_WRONLY", name, E.ENOENT),  # ext4: no O_CREAT
            ("unlink", name, E.ENOENT),
            ("rmdir", name, E.ENOENT),  # ext4
            ("truncate", name, E.ENOENT),
            ("rename", (name, "x"), E.ENOENT)]  # ext4


def too_long(existing):
    """The rows of a 256-byte name in a directory holding `existing`."""
    ops = ("stat", "open O_RDONLY", "open O_WRONLY|O_CREAT", "open O_WRONLY|O_CREAT|O_EXCL",
           "unlink", "mkdir", "rmdir", "truncate")
    pairs = (("rename", (existing, L)), ("rename", (L, "x")), ("link", (existing, L)),
             ("symlink", ("x", L)))
    return [(op, L, E.ENAMETOOLONG) for op in ops] + [
        (op, p, E.ENAMETOOLONG) for op, p in pairs]


# ------------------------------------------------------------------ running

def attempt(op, path):
    """Carry out one row's operation; its errno, 0 on success."""
    name, _, arg = op.partition(" ")
    try:
        if name == "open":
            flags = 0
            for f in arg.split("|"):
                flags |= getattr(os, f)
            os.close(os.open(path, flags, 0o644))
        elif name == "truncate":
            os.truncate(path, int(arg or 0))
        elif name in ("rename", "link", "symlink"):
            getattr(os, name)(*path)
        else:
            getattr(os, name)(path)
    except OSError as e:
        return e.errno
    return 0


def sent(emu):
    return {r: n for r, n in emu.stats()["routes"].items()
            if not r.startswith("GET ") and r not in READS}


def ename(e):
    return "0" if e == 0 else errno.errorcode.get(e, str(e))


def show(path):
    """A path or value for a message, long runs of one character shortened."""
    if isinstance(path, tuple):
        return " -> ".join(show(p) for p in path)
    text = re.sub(r"(.)\1{31,}", lambda m: "<%d x %s>" % (len(m.group()), m.group(1)),
                  path if isinstance(path, str) else repr(path))
    return text if len(text) < 400 else text[:400] + "..."


def settle(fn, want, timeout):
    """fn() once it equals want, or its last value after timeout seconds (an
    empty document is uploaded at FUSE release, just after close() returns)."""
    end = time.monotonic() + timeout
    got = fn()
    while got != want and time.monotonic() < end:
        time.sleep(0.02)
        got = fn()
    return got


def run_table(emu, base, rows):
    """Run every row under the directory base; return the mismatch lines."""
    bad = []
    for row in rows:
        op, path, want = row[:3]
        sends = row[3] if len(row) > 3 else ({} if want else None)
        full = tuple(os.path.join(base, p) for p in path) if isinstance(path, tuple) \
            else os.path.join(base, path)
        emu.reset_stats()
        got = attempt(op, full)
        s = settle(lambda: sent(emu), sends, 5 if sends else 0.1)
        line = "%-28s %-36s want %-12s got %-12s" % (op, show(path), ename(want), ename(got))
        if sends is not None and s != sends:
            bad.append(line + " want sends %s, sent %s" % (sends, s))
        elif got != want:
            bad.append(line)
    return bad


def report(where, rows, bad):
    if bad:
        pytest.fail("%s: %d of %d rows differ:\n  %s" % (where, len(bad), len(rows),
                                                        "\n  ".join(bad)), pytrace=False)


# ------------------------------------------------------------------ the server

def coll(emu, name):
    found = [c for c in emu.state()["collections"] if c["collection_name"] == name]
    return found[0] if len(found) == 1 else None


def stored(emu, cname):
    """name -> list of stored contents of the documents of collection cname."""
    out = {}
    for d in (coll(emu, cname) or {}).get("documents", []):
        fid = d["file_metadata"]["file_id"]
        out.setdefault(d["file_metadata"]["name"], []).append(
            emu.api("GET", "/v1/files/%s/content" % fid, key=util.API_KEY))
    return out


def expect(bad, what, got, want):
    if got != want:
        bad.append("afterwards, %s: want %s, got %s" % (what, show(want), show(got)))


# ------------------------------------------------------------------ the tables

DOCUMENTS = [
    ("open O_RDONLY", "msa.txt", 0, {}),
    ("open O_WRONLY", "msa.txt", 0, {}),  # a handle that writes nothing sends nothing
    ("open O_RDWR", "msa.txt", E.EOPNOTSUPP),  # read-write without O_TRUNC
    ("open O_WRONLY|O_APPEND", "msa.txt", E.EOPNOTSUPP),
    ("open O_WRONLY|O_CREAT|O_EXCL", "msa.txt", E.EEXIST),
    ("mkdir", "dir", E.EACCES),  # mkdir anywhere but collections/
    ("mkdir", "msa.txt", E.EEXIST),  # ext4
    ("rmdir", "msa.txt", E.ENOTDIR),  # ext4
    ("truncate 10", "msa.txt", E.EOPNOTSUPP),  # a size other than 0
    ("rename", ("msa.txt", "other.txt"), E.EXDEV),  # no rename route: mv copies
    ("rename", ("msa.txt", "sow.md"), E.EXDEV),
    ("rename", ("msa.txt", "../../../keys/msa.txt"), E.EXDEV),  # across directories
    ("open O_WRONLY|O_CREAT", ".msa.txt.swp", 0, {}),  # a local name: never sent
    ("unlink", ".msa.txt.swp", 0, {}),
    ("rename", ("msa.txt", "msa.txt~"), 0, {}),  # real -> local: a copy, msa.txt untouched
    ("unlink", "msa.txt~", 0, {}),
    # a document's name leaves room for metadata/'s ".json": at most 250 bytes
    ("open O_WRONLY|O_CREAT", D251, E.ENAMETOOLONG),
    ("rename", ("msa.txt", D251), E.ENAMETOOLONG),
    ("open O_WRONLY|O_CREAT", D251[:250], 0, {DOC_UPLOAD: 1}),  # 250 bytes: fine
    ("unlink", D251[:250], 0, {DOC_DELETE: 1}),
] + missing("nope") + too_long("msa.txt") + [
    ("open O_WRONLY|O_TRUNC", "sow.md", 0, REPLACE),  # a new, empty version
    ("open O_WRONLY|O_CREAT", "new.txt", 0, {DOC_UPLOAD: 1}),  # touch: an empty document
    ("unlink", "nda.pdf", 0, {DOC_DELETE: 1}),
    ("truncate", "msa.txt", 0, REPLACE),  # ext4: emptied, like open(O_TRUNC) or `> msa.txt`
]


def test_documents(emu, mnt):
    base = mnt.p("collections", "contracts", "documents")
    bad = run_table(emu, base, DOCUMENTS)
    want = {"msa.txt": [b""], "sow.md": [b""], "new.txt": [b""]}
    expect(bad, "documents of contracts", settle(lambda: stored(emu, "contracts"), want, 5),
           want)
    expect(bad, "ls documents/", sorted(os.listdir(base)), sorted(want))
    report("documents/", DOCUMENTS, bad)


KEYS = [
    ("open O_RDONLY", "ci-bot", 0, {}),
    ("open O_WRONLY", "ci-bot", 0, {}),  # nothing written: no request
    ("open O_WRONLY|O_TRUNC", "ci-bot", 0, {}),  # empty content: no request
    ("open O_RDWR", "ci-bot", 0, {}),  # ext4
    ("open O_WRONLY|O_CREAT|O_EXCL", "ci-bot", E.EEXIST),
    ("open O_WRONLY|O_CREAT", "ci-new", 0, {}),  # a new key file closed empty creates nothing
    ("open O_WRONLY|O_CREAT", "4913", 0, {}),  # vim's probe: a local name
    ("unlink", "4913", 0, {}),
    ("mkdir", "dir", E.EACCES),  # mkdir anywhere but collections/
    ("mkdir", "ci-bot", E.EEXIST),  # ext4
    ("rmdir", "ci-bot", E.ENOTDIR),  # ext4
    ("truncate", "ci-bot", 0, {}),  # an empty key file is not a key: changes nothing
    ("truncate 10", "ci-bot", E.EINVAL),  # open, truncate, close: JSON cut short
    ("rename", ("staging", "ci-bot"), E.EEXIST),  # mv keys/A keys/B: EEXIST when B exists
    ("rename", ("ci-bot", "../collections/contracts/documents/ci-bot"), E.EXDEV),
] + missing("nope") + too_long("ci-bot") + [
    ("unlink", "old-test-2", 0, {KEY_DELETE: 1}),
    ("rename", ("embeddings-worker", "ew-2"), 0, {KEY_UPDATE: 1}),
]


def test_keys(emu, mnt):
    before = {k["name"]: k for k in emu.state()["keys"]}
    bad = run_table(emu, mnt.p("keys"), KEYS)
    names = sorted(set(before) - {"old-test-2", "embeddings-worker"} | {"ew-2"})
    expect(bad, "keys", sorted(k["name"] for k in emu.state()["keys"]), names)
    after = {k["name"]: k for k in emu.state()["keys"]}
    expect(bad, "key ci-bot", after.get("ci-bot"), before["ci-bot"])
    expect(bad, "ls keys/", sorted(os.listdir(mnt.p("keys"))), names)
    report("keys/", KEYS, bad)


ROOT = [
    ("open O_RDONLY", "regions", 0, {}),
    ("open O_WRONLY", "regions", E.EACCES),  # files that cannot be written
    ("open O_WRONLY|O_TRUNC", "usage", E.EACCES),
    ("open O_WRONLY|O_CREAT|O_EXCL", "regions", E.EEXIST),  # ext4
    ("open O_WRONLY|O_CREAT", "newfile", E.EACCES),  # creating files in /
    ("open O_WRONLY", "keys", E.EISDIR),  # ext4
    ("unlink", "regions", E.EACCES),  # like search/ files, which cannot be removed
    ("unlink", "keys", E.EISDIR),  # ext4
    ("mkdir", "dir", E.EACCES),  # mkdir anywhere but collections/
    ("mkdir", "keys", E.EEXIST),  # ext4
    ("rmdir", "keys", E.EACCES),  # like mkdir here: the fixed directories stay
    ("rmdir", "regions", E.ENOTDIR),  # ext4
    ("truncate", "usage", E.EACCES),  # as open(O_TRUNC) of a file that cannot be written
    ("truncate", "regions", E.EACCES),
    ("truncate", "keys", E.EISDIR),  # ext4
    ("rename", ("regions", "regions2"), E.EACCES),  # like creating files in /
    ("rename", ("keys", "keys2"), E.EACCES),  # like mkdir here
    ("rename", ("regions", "keys/regions"), E.EXDEV),  # across directories
] + missing("nope") + too_long("regions")


def test_root(emu, mnt):
    before, listed = emu.state(), sorted(os.listdir(mnt.path))
    bad = run_table(emu, mnt.path, ROOT)
    expect(bad, "state unchanged", emu.state() == before, True)
    expect(bad, "ls /", sorted(os.listdir(mnt.path)), listed)
    report("/", ROOT, bad)


COLLECTIONS = [
    ("open O_RDONLY", "contracts", 0, {}),  # ext4
    ("open O_WRONLY", "contracts", E.EISDIR),  # ext4
    ("open O_WRONLY|O_TRUNC", "contracts", E.EISDIR),  # ext4
    ("open O_WRONLY|O_CREAT|O_EXCL", "contracts", E.EEXIST),  # ext4
    ("open O_WRONLY|O_CREAT", "file", E.EACCES),  # only NAME.json names
    ("open O_WRONLY|O_CREAT", ".fresh.json.swp", E.EACCES),  # temporary names included
    ("open O_WRONLY|O_CREAT", "fresh.json", 0, {}),  # an empty spec creates nothing
    ("unlink", "contracts", E.EISDIR),  # ext4
    ("mkdir", "contracts", E.EEXIST),  # ext4
    ("rmdir", "contracts", E.ENOTEMPTY),  # it has documents
    ("truncate", "contracts", E.EISDIR),  # ext4
    ("rename", ("contracts", "research-notes"), E.EEXIST),  # EEXIST when B exists
    ("rename", ("contracts", "../keys/contracts"), E.EXDEV),  # across directories
] + missing("nope") + too_long("contracts") + [
    ("mkdir", "made", 0, {COLL_CREATE: 1}),
    ("rmdir", "made", 0, {COLL_DELETE: 1}),  # no documents: removed
    ("rename", ("research-notes", "notes"), 0, {COLL_UPDATE: 1}),
]


def test_collections(emu, mnt):
    bad = run_table(emu, mnt.p("collections"), COLLECTIONS)
    names = sorted(c["collection_name"] for c in emu.state()["collections"])
    expect(bad, "collections", names, ["contracts", "notes"])
    expect(bad, "ls collections/", sorted(os.listdir(mnt.p("collections"))), names)
    expect(bad, "documents of contracts", sorted(stored(emu, "contracts")),
           ["msa.txt", "nda.pdf", "sow.md"])
    report("collections/", COLLECTIONS, bad)


FOLDER = [
    ("open O_RDONLY", "collection.json", 0, {}),
    ("open O_WRONLY", "collection.json", 0, {}),  # nothing written: no request
    ("open O_WRONLY|O_TRUNC", "collection.json", 0, {}),  # like a key: empty content, no request
    ("open O_WRONLY", "documents", E.EISDIR),  # ext4
    ("open O_WRONLY|O_CREAT|O_EXCL", "collection.json", E.EEXIST),  # ext4
    ("open O_WRONLY|O_CREAT", "extra", E.EACCES),  # creating files in a collection's directory
    ("unlink", "documents", E.EISDIR),  # ext4
    ("mkdir", "dir", E.EACCES),  # mkdir anywhere but collections/
    ("mkdir", "documents", E.EEXIST),  # ext4
    ("rmdir", "documents", E.ENOTEMPTY),  # only an empty documents/ may go
    ("rmdir", "metadata", E.ENOTEMPTY),
    ("rmdir", "search", 0, {}),  # accepted, changes nothing (rm -r)
    ("rmdir", "collection.json", E.ENOTDIR),  # ext4
    ("truncate", "collection.json", 0, {}),  # like a key: an empty file changes nothing
    ("truncate", "documents", E.EISDIR),  # ext4
    ("rename", ("collection.json", "c.json"), E.EACCES),  # like creating files here
    ("rename", ("documents", "docs"), E.EACCES),  # like mkdir here
] + missing("nope") + too_long("collection.json") + [
    ("unlink", "collection.json", 0, {}),  # accepted, changes nothing (rm -r)
]


def test_collection_folder(emu, mnt):
    before = coll(emu, "contracts")
    base = mnt.p("collections", "contracts")
    bad = run_table(emu, base, FOLDER)
    expect(bad, "collection contracts unchanged", coll(emu, "contracts") == before, True)
    expect(bad, "ls collections/contracts", sorted(os.listdir(base)),
           ["collection.json", "documents", "metadata", "search"])
    report("collections/contracts/", FOLDER, bad)


METADATA = [
    ("open O_RDONLY", "msa.txt.json", 0, {}),
    ("open O_WRONLY", "msa.txt.json", E.EACCES),  # metadata/*.json cannot be written
    ("open O_WRONLY|O_TRUNC", "msa.txt.json", E.EACCES),
    ("open O_WRONLY|O_CREAT|O_EXCL", "msa.txt.json", E.EEXIST),  # ext4
    ("open O_WRONLY|O_CREAT", "x.json", E.EACCES),  # like creating in a collection's directory
    ("mkdir", "dir", E.EACCES),  # mkdir anywhere but collections/
    ("mkdir", "msa.txt.json", E.EEXIST),  # ext4
    ("rmdir", "msa.txt.json", E.ENOTDIR),  # ext4
    ("truncate", "msa.txt.json", E.EACCES),  # as open(O_TRUNC)
    ("truncate 10", "msa.txt.json", E.EACCES),
    ("rename", ("msa.txt.json", "m.json"), E.EACCES),  # like creating files here
] + missing("nope.json") + too_long("msa.txt.json") + [
    ("unlink", "nda.pdf.json", 0, {DOC_DELETE: 1}),  # rm metadata/DOC.json removes DOC
]


def test_metadata(emu, mnt):
    base = mnt.p("collections", "contracts", "metadata")
    bad = run_table(emu, base, METADATA)
    expect(bad, "documents of contracts", sorted(stored(emu, "contracts")),
           ["msa.txt", "sow.md"])
    expect(bad, "ls metadata/", sorted(os.listdir(base)), ["msa.txt.json", "sow.md.json"])
    report("collections/contracts/metadata/", METADATA, bad)


DOC = "collections/contracts/documents/"
READ_ONLY = [
    ("open O_RDONLY", "keys/ci-bot", 0, {}),
    ("open O_RDONLY", DOC + "msa.txt", 0, {}),
    ("open O_WRONLY", "keys/ci-bot", E.EROFS),
    ("open O_WRONLY", DOC + "msa.txt", E.EROFS),
    ("open O_WRONLY", "collections/contracts/collection.json", E.EROFS),
    ("open O_WRONLY|O_TRUNC", "keys/ci-bot", E.EROFS),
    ("open O_WRONLY|O_TRUNC", DOC + "msa.txt", E.EROFS),
    ("open O_WRONLY|O_TRUNC", "usage", E.EROFS),  # ext4: EROFS before the permission check
    ("open O_WRONLY|O_CREAT|O_EXCL", "keys/ci-bot", E.EEXIST),  # ext4
    ("open O_WRONLY|O_CREAT", "keys/ci-new", E.EROFS),
    ("open O_WRONLY|O_CREAT", DOC + "new.txt", E.EROFS),
    ("open O_WRONLY|O_CREAT", DOC + ".new.txt.swp", E.EROFS),  # local names too
    ("open O_WRONLY|O_CREAT", "collections/fresh.json", E.EROFS),
    ("unlink", "keys/ci-bot", E.EROFS),
    ("unlink", DOC + "msa.txt", E.EROFS),
    ("unlink", "collections/contracts/metadata/msa.txt.json", E.EROFS),
    ("unlink", "collections/contracts/collection.json", E.EROFS),
    ("unlink", "keys/nope", E.EROFS),  # ext4: EROFS before the lookup
    ("mkdir", "collections/fresh", E.EROFS),
    ("mkdir", "keys/dir", E.EROFS),  # ext4
    ("mkdir", "collections/contracts", E.EEXIST),  # ext4: the lookup before EROFS
    ("rmdir", "collections/research-notes", E.EROFS),
    ("rmdir", "collections/contracts/search", E.EROFS),
    ("truncate", "keys/ci-bot", E.EROFS),
    ("truncate", DOC + "msa.txt", E.EROFS),
    ("truncate", "usage", E.EROFS),  # ext4: EROFS before the permission check
    ("truncate", "keys/nope", E.ENOENT),  # ext4: the lookup before EROFS
    ("rename", ("keys/staging", "keys/staging-2"), E.EROFS),
    ("rename", ("keys/staging", "keys/staging~"), E.EROFS),
    ("rename", (DOC + "msa.txt", DOC + "m.txt"), E.EROFS),
    ("rename", ("collections/contracts", "collections/c2"), E.EROFS),
    # names too long: ENAMETOOLONG where the VFS looks the name up before it
    # checks for a read-only mount, EROFS where it checks first (ext4)
    ("stat", "keys/" + L, E.ENAMETOOLONG),
    ("open O_RDONLY", DOC + L, E.ENAMETOOLONG),
    ("open O_WRONLY|O_CREAT", "keys/" + L, E.ENAMETOOLONG),  # ext4
    ("mkdir", "collections/" + L, E.ENAMETOOLONG),  # ext4
    ("truncate", DOC + L, E.ENAMETOOLONG),  # ext4
    ("unlink", "keys/" + L, E.EROFS),  # ext4
    ("rmdir", "collections/" + L, E.EROFS),  # ext4
    ("rename", ("keys/ci-bot", "keys/" + L), E.EROFS),  # ext4
]


def test_read_only_mount(emu, mount_factory):
    m = mount_factory(["ro"])
    before = emu.state()
    bad = run_table(emu, m.path, READ_ONLY)
    expect(bad, "state unchanged", emu.state() == before, True)
    report("-o ro", READ_ONLY, bad)

