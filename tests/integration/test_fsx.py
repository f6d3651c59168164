"""fsx on a document: a seeded random run of write, pwrite, ftruncate, read,
pread, fstat, stat, lseek and close-and-reopen (with O_TRUNC) on one name,
each result compared with a shadow copy in memory (tests/integration/fsx.py).

The contract (docs/semantics.md, "Writes"): a handle open for writing behaves
like a local file for that handle, and close() stores exactly its bytes as
the one document of that name. So after every close the file read back
through the mount and the bytes the emulator stores must both equal the
shadow, and the server must hold exactly one document under the name.

Three kinds of run, three seeds each: a new name (O_CREAT|O_EXCL), an
existing document rewritten through O_RDWR|O_TRUNC, and one whose first open
is O_WRONLY|O_TRUNC (no reads until a reopen makes the handle readable);
reopens are O_RDWR|O_TRUNC or O_WRONLY|O_TRUNC. One more run also reopens as
vim does (O_WRONLY, then ftruncate(0)).
Short counts here; the long ones are marked slow (the soak). A failure shows
the seed and the operation; replay it by hand with
`python3 tests/integration/fsx.py --seed N --ops M PATH`."""
import os
import time

import pytest

import util
from fsx import run_fsx

CNAME = "contracts"
SEEDS = (11, 22, 33)
SHORT = 300
LONG = 5000

# kind -> (document name, fsx first_open)
KINDS = {
    "new": ("fsx-new.bin", "new"),
    "existing": ("msa.txt", "rdwr"),
    "existing-wronly": ("sow.md", "wronly"),
}


def stored(emu, cname, name):
    """The bytes the server holds under name, or a string saying why not one."""
    colls = [c for c in emu.state()["collections"] if c["collection_name"] == cname]
    if len(colls) != 1:
        return "%d collections named %r" % (len(colls), cname)
    found = [d for d in colls[0].get("documents", []) if d["file_metadata"]["name"] == name]
    if len(found) != 1:
        return "%d documents named %r (want exactly one): %r" % (
            len(found), name, [d["file_metadata"]["file_id"] for d in found])
    fid = found[0]["file_metadata"]["file_id"]
    return emu.api("GET", "/v1/files/%s/content" % fid, key=util.API_KEY)


def run_kind(emu, m, kind, seed, ops, vim_reopen=False):
    name, first = KINDS[kind]
    path = m.p("collections", CNAME, "documents", name)
    assert os.path.exists(path) == (first != "new"), path
    t = time.monotonic()
    f = run_fsx(path, seed, ops, emu_content=lambda: stored(emu, CNAME, name),
                first_open=first, vim_reopen=vim_reopen)
    # every close left one document of the name, holding the shadow (checked
    # by fsx); the listing shows the name once and nothing beside it
    names = os.listdir(m.p("collections", CNAME, "documents"))
    assert names.count(name) == 1 and not [n for n in names if n.startswith(name + "~")], \
        "listing after fsx: %r" % sorted(names)
    assert f.closes >= 1
    return time.monotonic() - t


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_fsx(emu, mnt, kind, seed):
    run_kind(emu, mnt, kind, seed, SHORT)


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS[:2])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_fsx_long(emu, mnt, kind, seed):
    run_kind(emu, mnt, kind, seed, LONG)


@pytest.mark.parametrize("seed", SEEDS[:1])
def test_fsx_vim_style_reopen(emu, mnt, seed):
    """Some reopens as vim and GIO do them: O_WRONLY without O_TRUNC (the
    handle shows the stored version: fstat gives its size), then ftruncate(0),
    which starts the new version (docs/semantics.md, "Modes, times and
    unsupported operations")."""
    run_kind(emu, mnt, "existing", seed, SHORT, vim_reopen=True)


def test_fsx_reports_the_seed_and_operation(tmp_path):
    """The checker itself: a file changed behind its back is caught, and the
    message names the seed, the operation and the offset."""
    path = str(tmp_path / "f")

    def tampered():
        with open(path, "rb") as f:
            data = bytearray(f.read())
        if data:
            data[len(data) // 2] ^= 0xFF
        return bytes(data)

    with pytest.raises(AssertionError) as exc:
        run_fsx(path, 5, 400, emu_content=tampered)
    msg = str(exc.value)
    assert "fsx seed 5, operation " in msg and "first difference at file offset" in msg, msg
    assert "the server stores other bytes" in msg, msg
