"""-o upload=files: documents go through the Files API in two steps."""
import hashlib
import os
import subprocess

import util

FILES_UPLOAD = "POST /v1/files"
ADD_FILE = "POST /v1/collections/{collection_id}/documents/{file_id}"
DIRECT = "POST /v1/collections/{collection_id}/documents"


def contracts(emu):
    return next(c for c in emu.state()["collections"] if c["collection_name"] == "contracts")


def test_two_step_upload(emu, mount_factory, tmp_path):
    m = mount_factory(["upload=files"])
    src = tmp_path / "two-step.bin"
    data = os.urandom(200000) + b"\x00\xff"
    src.write_bytes(data)
    emu.reset_stats()
    r = subprocess.run(["cp", str(src), m.p("collections", "contracts", "documents")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr + m.stderr()
    s = emu.stats()
    assert util.route_count(s, FILES_UPLOAD) == 1
    assert util.route_count(s, ADD_FILE) == 1
    assert util.route_count(s, DIRECT) == 0
    docs = [d for d in contracts(emu)["documents"] if d["file_metadata"]["name"] == "two-step.bin"]
    assert len(docs) == 1
    fid = docs[0]["file_metadata"]["file_id"]
    assert emu.api("GET", "/v1/files/%s/content" % fid, key=util.API_KEY) == data
    with open(m.p("collections", "contracts", "documents", "two-step.bin"), "rb") as f:
        assert hashlib.sha256(f.read()).digest() == hashlib.sha256(data).digest()


def test_failed_second_step_leaves_nothing(emu, mount_factory, tmp_path):
    m = mount_factory(["upload=files"])
    src = tmp_path / "half.txt"
    src.write_bytes(b"half made\n")
    files_before = len(emu.state()["files"])
    emu.faults(fail_next=1, fail_status=500, fail_route=ADD_FILE)
    r = subprocess.run(["cp", str(src), m.p("collections", "contracts", "documents")],
                       capture_output=True, text=True)
    emu.faults()
    assert r.returncode != 0
    st = emu.state()
    names = [d["file_metadata"]["name"] for c in st["collections"] for d in c["documents"]]
    assert "half.txt" not in names
    assert len(st["files"]) == files_before, "the uploaded file was left behind"
    assert "half.txt" not in os.listdir(m.p("collections", "contracts", "documents"))


def test_two_step_needs_an_inference_key(emu, mount_factory, tmp_path):
    m = mount_factory(["upload=files"], inference_key=False)
    src = tmp_path / "nokey.txt"
    src.write_bytes(b"x\n")
    r = subprocess.run(["cp", str(src), m.p("collections", "contracts", "documents")],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "Permission denied" in r.stderr
    assert "inference key" in m.stderr()


def test_bad_upload_option_is_refused(emu):
    d = util.tempfile.mkdtemp()
    e = dict(os.environ, XAI_MANAGEMENT_KEY=util.MGMT_KEY, XDG_CONFIG_HOME=d)
    p = subprocess.run([util.xaifs_bin(), "-f", d, "-o",
                        "management_url=%s,upload=sideways" % emu.url], env=e,
                       capture_output=True, text=True, timeout=30)
    os.rmdir(d)
    assert p.returncode != 0 and "upload=" in p.stderr
