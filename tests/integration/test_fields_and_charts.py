"""Documents' fields as the user.xai.fields attribute (cp --preserve=xattr, rsync -X, setfattr)
and the usage charts (usage.svg, usage-by-month/YYYY-MM.svg): docs/semantics.md, "Fields" and
"The tree"."""
import errno
import json
import os
import stat
import struct
import subprocess
import xml.etree.ElementTree as ET
import zlib

import util

FIELDS = "user.xai.fields"
UPLOAD = "POST /v1/collections/{collection_id}/documents"
ADD_FILE = "POST /v1/collections/{collection_id}/documents/{file_id}"
DELETE = "DELETE /v1/collections/{collection_id}/documents/{file_id}"
CONTENT = "GET /v1/files/{file_id}/content"
SCHEMA = {"field_definitions": [{"key": "author", "required": True},
                                {"key": "year", "description": "publication year"}]}


def make_papers(mnt):
    """A collection 'papers' whose schema requires 'author'."""
    with open(mnt.p("collections", "papers.json"), "w") as f:
        json.dump(SCHEMA, f)
    return mnt.p("collections", "papers", "documents")


def stored(emu, coll):
    """{name: fields} of the documents the server holds in coll."""
    c = next(c for c in emu.state()["collections"] if c["collection_name"] == coll)
    return {d["file_metadata"]["name"]: d.get("fields") or {} for d in c["documents"]}


def source(tmp_path, name, data=b"a paper\n", fields=None):
    p = tmp_path / name
    p.write_bytes(data)
    if fields is not None:
        os.setxattr(p, FIELDS, json.dumps(fields).encode())
    return str(p)


def errno_of(fn, *args):
    try:
        fn(*args)
    except OSError as e:
        return e.errno
    return 0


# -- uploads with fields ----------------------------------------------------------------------

def test_a_missing_required_field_fails_close_and_sends_nothing(emu, mnt, tmp_path):
    docs = make_papers(mnt)
    os.listdir(docs)
    emu.reset_stats()
    r = util.run(["cp", source(tmp_path, "p1.txt"), docs])
    assert r.returncode != 0 and "Invalid argument" in r.stderr, r.stderr
    assert util.route_count(emu.stats(), UPLOAD) == 0, "the upload must not be sent"
    assert stored(emu, "papers") == {}
    assert os.listdir(docs) == []
    lines = [ln for ln in mnt.stderr().splitlines() if "'author' is required" in ln]
    assert len(lines) == 1, mnt.stderr()
    assert "p1.txt" in lines[0] and "papers" in lines[0]


def test_cp_preserve_xattr_uploads_the_fields(emu, mnt, tmp_path):
    docs = make_papers(mnt)
    src = source(tmp_path, "p2.txt", fields={"author": "ann", "year": "2024"})
    emu.reset_stats()
    r = util.run(["cp", "--preserve=xattr", src, docs])
    assert r.returncode == 0, r.stderr + mnt.stderr()
    assert util.route_count(emu.stats(), UPLOAD) == 1
    assert stored(emu, "papers") == {"p2.txt": {"author": "ann", "year": "2024"}}
    path = os.path.join(docs, "p2.txt")
    emu.reset_stats()
    assert FIELDS in os.listxattr(path)
    assert json.loads(os.getxattr(path, FIELDS)) == {"author": "ann", "year": "2024"}
    meta = json.load(open(mnt.p("collections", "papers", "metadata", "p2.txt.json")))
    assert meta["fields"] == {"author": "ann", "year": "2024"}
    assert emu.stats()["total"] == 0, "the listing learned the upload's answer"


def test_fields_of_a_streamed_upload_are_decided_at_close(emu, mnt, tmp_path):
    docs = make_papers(mnt)
    big = os.urandom(3 << 20)
    src = source(tmp_path, "big.bin", big, fields={"author": "zed"})
    r = util.run(["cp", "--preserve=xattr", src, docs])
    assert r.returncode == 0, r.stderr + mnt.stderr()
    st = json.load(open(mnt.p(".xaifs", "stats")))
    assert st["uploads"]["streamed"] == 1, st
    assert stored(emu, "papers") == {"big.bin": {"author": "zed"}}
    # The same without the field: the stream is cut before its end, nothing is stored.
    r = util.run(["cp", source(tmp_path, "big2.bin", big), docs])
    assert r.returncode != 0 and "Invalid argument" in r.stderr
    assert json.load(open(mnt.p(".xaifs", "stats")))["uploads"]["streamed"] == 2
    assert set(stored(emu, "papers")) == {"big.bin"}
    assert sorted(os.listdir(docs)) == ["big.bin"]


def test_fields_set_on_the_open_file_show_before_close(emu, mnt):
    docs = make_papers(mnt)
    path = os.path.join(docs, "open.txt")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, b"text\n")
        assert errno_of(os.getxattr, path, FIELDS) == errno.ENODATA
        assert FIELDS not in os.listxattr(path)
        os.setxattr(fd, FIELDS, b'{"author":"ann"}')
        assert os.getxattr(path, FIELDS) == b'{"author":"ann"}'
        assert FIELDS in os.listxattr(path)
        os.removexattr(path, FIELDS)
        assert errno_of(os.getxattr, path, FIELDS) == errno.ENODATA
        os.setxattr(path, FIELDS, b'{ "author" : "bea" }')
        assert os.getxattr(path, FIELDS) == b'{"author":"bea"}'
    finally:
        os.close(fd)
    assert stored(emu, "papers") == {"open.txt": {"author": "bea"}}


def test_rsync_x_temp_name_carries_the_fields(emu, mnt, tmp_path):
    docs = make_papers(mnt)
    src = source(tmp_path, "r.txt", fields={"author": "rob"})
    emu.reset_stats()
    r = util.run(["rsync", "-X", src, docs + "/"])
    assert r.returncode == 0, r.stderr + mnt.stderr()
    assert util.route_count(emu.stats(), UPLOAD) == 1
    assert stored(emu, "papers") == {"r.txt": {"author": "rob"}}
    # By hand: fields set on a closed temporary file, renamed twice, then to the final name.
    tmp = os.path.join(docs, ".x.tmp")
    with open(tmp, "w") as f:
        f.write("renamed\n")
    os.setxattr(tmp, FIELDS, b'{"author":"tia","year":"1999"}')
    os.rename(tmp, os.path.join(docs, ".y.tmp"))
    assert os.getxattr(os.path.join(docs, ".y.tmp"), FIELDS) == b'{"author":"tia","year":"1999"}'
    os.rename(os.path.join(docs, ".y.tmp"), os.path.join(docs, "final.txt"))
    assert stored(emu, "papers")["final.txt"] == {"author": "tia", "year": "1999"}


def test_a_document_copied_out_with_its_attributes_copies_back(emu, mnt, tmp_path):
    src = mnt.p("collections", "contracts", "documents", "msa.txt")
    out = str(tmp_path / "msa.txt")
    r = util.run(["cp", "-a", src, out])
    assert r.returncode == 0, r.stderr
    assert "user.xai.id" in os.listxattr(out) and FIELDS in os.listxattr(out)
    r = util.run(["cp", "--preserve=xattr", out,
                  mnt.p("collections", "research-notes", "documents", "msa-copy.txt")])
    assert r.returncode == 0, r.stderr + mnt.stderr()
    assert stored(emu, "research-notes")["msa-copy.txt"] == {"counterparty": "Acme Corporation"}
    # Stored documents keep refusing them.
    assert errno_of(os.setxattr, src, "user.xai.id", b"x") == errno.ENOTSUP


def test_a_value_that_is_not_an_object_of_strings_is_einval(emu, mnt, tmp_path):
    docs = make_papers(mnt)
    path = os.path.join(docs, ".draft")
    open(path, "w").close()
    for bad in (b'{"year": 2024}', b"[1]", b"author=ann", b'{"": "x"}', b'{"a": "b"} x', b""):
        assert errno_of(os.setxattr, path, FIELDS, bad) == errno.EINVAL, bad
    log = mnt.stderr()
    assert "field 'year' needs a non-empty name and a string value (fields are text" in log
    assert "not one JSON object of strings" in log
    assert errno_of(os.getxattr, path, FIELDS) == errno.ENODATA
    # Not a document: keys and JSON files have no fields.
    assert errno_of(os.setxattr, mnt.p("keys", "ci-bot"), FIELDS, b"{}") == errno.ENOTSUP
    assert FIELDS not in os.listxattr(mnt.p("keys", "ci-bot"))


def test_a_stored_document_is_uploaded_again_with_new_fields(emu, mnt):
    path = mnt.p("collections", "contracts", "documents", "msa.txt")
    old_id = os.getxattr(path, "user.xai.id").decode()
    data = open(path, "rb").read()
    assert json.loads(os.getxattr(path, FIELDS)) == {"counterparty": "Acme Corporation"}
    emu.reset_stats()
    os.setxattr(path, FIELDS, b'{"counterparty":"Acme Corporation"}')
    assert emu.stats()["total"] == 0, "the same fields: nothing to send"
    os.setxattr(path, FIELDS, b'{"counterparty":"Globex"}')
    s = emu.stats()
    assert util.route_count(s, UPLOAD) == 1 and util.route_count(s, DELETE) == 1
    assert util.route_count(s, CONTENT) == 1
    assert s["total"] == 3, s
    assert stored(emu, "contracts")["msa.txt"] == {"counterparty": "Globex"}
    assert os.getxattr(path, "user.xai.id").decode() != old_id
    assert open(path, "rb").read() == data
    assert json.loads(os.getxattr(path, FIELDS)) == {"counterparty": "Globex"}
    assert "uploaded again with new fields" in mnt.stderr()
    os.removexattr(path, FIELDS)    # uploaded again, without fields
    assert stored(emu, "contracts")["msa.txt"] == {}
    assert os.getxattr(path, FIELDS) == b"{}"
    assert open(path, "rb").read() == data


def test_replacing_a_document_keeps_its_fields(emu, mnt):
    path = mnt.p("collections", "contracts", "documents", "msa.txt")
    with open(path, "w") as f:
        f.write("the new terms\n")
    assert stored(emu, "contracts")["msa.txt"] == {"counterparty": "Acme Corporation"}
    # sed -i writes a temporary file and renames it over the document: the same.
    r = util.run(["sed", "-i", "s/new/newer/", path])
    assert r.returncode == 0, r.stderr + mnt.stderr()
    assert open(path).read() == "the newer terms\n"
    assert stored(emu, "contracts")["msa.txt"] == {"counterparty": "Acme Corporation"}


def test_a_document_without_fields_shows_an_empty_object(emu, mnt):
    path = mnt.p("collections", "research-notes", "documents", "reading-list.txt")
    assert FIELDS in os.listxattr(path)
    assert os.getxattr(path, FIELDS) == b"{}"


def test_two_step_upload_sends_the_fields(emu, mount_factory, tmp_path):
    m = mount_factory(["upload=files"])
    docs = make_papers(m)
    src = source(tmp_path, "two.txt", fields={"author": "two"})
    emu.reset_stats()
    r = util.run(["cp", "--preserve=xattr", src, docs])
    assert r.returncode == 0, r.stderr + m.stderr()
    assert util.route_count(emu.stats(), ADD_FILE) == 1
    assert stored(emu, "papers") == {"two.txt": {"author": "two"}}
    files = len(emu.state()["files"])
    r = util.run(["cp", source(tmp_path, "none.txt"), docs])
    assert r.returncode != 0
    assert len(emu.state()["files"]) == files, "nothing was sent"


def test_read_only_mount_refuses_fields(emu, mount_factory):
    m = mount_factory(["ro"])
    path = m.p("collections", "contracts", "documents", "msa.txt")
    assert json.loads(os.getxattr(path, FIELDS)) == {"counterparty": "Acme Corporation"}
    assert errno_of(os.setxattr, path, FIELDS, b"{}") in (errno.EROFS, errno.EACCES)
    r = subprocess.run(["getfattr", "-d", path], capture_output=True, text=True)
    assert 'user.xai.fields="{\\"counterparty\\":\\"Acme Corporation\\"}"' in r.stdout, r.stdout


# -- usage charts -----------------------------------------------------------------------------

SVG = "{http://www.w3.org/2000/svg}"
USAGE = "POST /v1/billing/teams/{team_id}/usage"


def png_pixels(data):
    """(width, height, rows of RGB(A) bytes, bytes per pixel) of an 8-bit, non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        n = struct.unpack(">I", data[pos:pos + 4])[0]
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
    assert depth == 8 and ctype in (2, 6) and interlace == 0
    bpp = 4 if ctype == 6 else 3
    raw, stride, prev, rows, i = zlib.decompress(idat), w * bpp, bytearray(w * bpp), [], 0
    for _ in range(h):
        f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b, c = prev[x], prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, rows, bpp


def render(svg_bytes, tmp_path, name):
    """Draw the SVG with a real renderer: {(r, g, b): pixel count} of the PNG."""
    src, png = tmp_path / (name + ".svg"), tmp_path / (name + ".png")
    src.write_bytes(svg_bytes)
    r = subprocess.run(["rsvg-convert", "-w", "700", "-o", str(png), str(src)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    w, h, rows, bpp = png_pixels(png.read_bytes())
    assert w == 700 and h > 100
    colours = {}
    for row in rows:
        for x in range(0, len(row), bpp):
            rgb = tuple(row[x:x + 3])
            colours[rgb] = colours.get(rgb, 0) + 1
    return colours


def hex_rgb(s):
    return tuple(int(s[i:i + 2], 16) for i in (1, 3, 5))


def series_of(usage):
    """{label: {timestamp: usd}} of a usage file."""
    out = {}
    for s in usage["timeSeries"]:
        label = " / ".join(s.get("groupLabels") or s.get("group"))
        for p in s["dataPoints"]:
            out.setdefault(label, {})[p["timestamp"]] = p["values"][0]
    return out


def check_chart(usage, raw):
    """The SVG is a stacked bar chart of usage: one day per group, one segment per series,
    stacked without gaps, a legend with one swatch per series, dollar ticks and dates."""
    svg = ET.fromstring(raw)
    assert svg.tag == SVG + "svg"
    series = series_of(usage)
    days = sorted({t for s in series.values() for t in s})
    groups = [g for g in svg.iter(SVG + "g") if g.get("class") == "day"]
    assert len(groups) == len(days) > 0
    baseline = None
    for day, g in zip(days, groups):
        want = sum(s.get(day, 0) for s in series.values())
        title = g.find(SVG + "title").text
        assert title.startswith(day + ": $") and abs(float(title.split("$")[1]) - want) < 1e-3
        bars = g.findall(SVG + "rect")
        assert len(bars) == sum(1 for s in series.values() if s.get(day, 0) > 0)
        got = 0
        for prev, rect in zip([None] + bars, bars):
            label, usd = rect.find(SVG + "title").text[len(day) + 1:].rsplit(": $", 1)
            assert abs(series[label][day] - float(usd)) < 1e-3, (day, label)
            got += float(usd)
            bottom = float(rect.get("y")) + float(rect.get("height"))
            if prev is None:
                baseline = bottom if baseline is None else baseline
                assert abs(bottom - baseline) < 0.02, "every stack starts on the axis"
            else:
                assert abs(bottom - float(prev.get("y"))) < 0.02, "segments touch"
        assert abs(got - want) < 1e-3
    swatches = [r for r in svg.iter(SVG + "rect") if r.get("class") == "swatch"]
    legend = [t.text for t in svg.iter(SVG + "text") if t.get("class") == "legend"]
    assert len(swatches) == len(legend) == len([s for s in series.values() if sum(s.values())])
    for label, pts in series.items():
        assert any(t.startswith(label) and "($%.2f)" % sum(pts.values()) in t for t in legend)
    ticks = [t.text for t in svg.iter(SVG + "text") if t.get("class") == "tick"]
    assert ticks[0] == "$0" and len(ticks) >= 3 and all(t.startswith("$") for t in ticks)
    dates = [t.text for t in svg.iter(SVG + "text") if t.get("class") == "date"]
    assert dates == [d[5:10] for d in days]
    assert "$%.2f" % usage["totalUsd"] in raw.decode()
    return [r.get("fill") for r in swatches]


def check_drawn(raw, fills, tmp_path, name):
    colours = render(raw, tmp_path, name)
    assert len(colours) > 20, "a chart, not a blank page"
    white = colours.get((255, 255, 255), 0)
    assert white < sum(colours.values()) * 0.97
    for fill in fills:
        assert colours.get(hex_rgb(fill), 0) > 50, "series colour %s is drawn" % fill


def test_usage_svg_is_a_stacked_chart_that_draws(emu, mnt, tmp_path):
    with open(mnt.p("usage")) as f:
        usage = json.load(f)
    raw = open(mnt.p("usage.svg"), "rb").read()
    assert os.stat(mnt.p("usage.svg")).st_size == len(raw)
    fills = check_chart(usage, raw)
    assert len(fills) == len(set(fills)) >= 2
    check_drawn(raw, fills, tmp_path, "usage")


def test_month_svg_beside_each_month_costs_no_more_requests(emu, mnt, tmp_path):
    names = os.listdir(mnt.p("usage-by-month"))
    months = [n for n in names if not n.endswith(".svg")]
    assert len(months) == 13 and sorted(names) == sorted(months + [m + ".svg" for m in months])
    month = sorted(months)[-3]
    emu.reset_stats()
    usage = json.load(open(mnt.p("usage-by-month", month)))
    raw = open(mnt.p("usage-by-month", month + ".svg"), "rb").read()
    assert util.route_count(emu.stats(), USAGE) == 1, "the drawing shares the month's answer"
    assert emu.stats()["total"] == 1
    assert os.stat(mnt.p("usage-by-month", month + ".svg")).st_size == len(raw)
    assert stat.S_IMODE(os.stat(mnt.p("usage-by-month", month + ".svg")).st_mode) == 0o400
    fills = check_chart(usage, raw)
    assert len(fills) >= 2
    check_drawn(raw, fills, tmp_path, "month")
    # Any month since 2023 can be drawn, in either order of reading.
    emu.reset_stats()
    raw = open(mnt.p("usage-by-month", "2024-02.svg"), "rb").read()
    usage = json.load(open(mnt.p("usage-by-month", "2024-02")))
    assert emu.stats()["total"] == 1
    check_chart(usage, raw)
    for bad in ("2022-12.svg", "2024-13.svg", "2024-02.svgx", "2024-02.SVG", ".svg"):
        assert not os.path.exists(mnt.p("usage-by-month", bad)), bad
    assert errno_of(open, mnt.p("usage-by-month", month + ".svg"), "w") == errno.EACCES
