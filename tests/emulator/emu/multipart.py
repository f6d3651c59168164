"""The streaming multipart/form-data parser, and parse_params for header parameters.

A body is parsed from a BodyReader without being held in memory: file parts stream to temp
files (hashed on the way, with an optional size limit that raises TooLarge), small fields
stay in memory (FIELD_MAX_BYTES at most). The caller owns the returned Form and must
discard() it, which removes the temp files it has not adopted.
"""

import hashlib
import os
import tempfile
from dataclasses import dataclass
from urllib.parse import unquote

from .body import CHUNK
from .wire import ApiError

FIELD_MAX_BYTES = 1024 * 1024           # largest non-file multipart part


class TooLarge(Exception):
    """A file part went past its size limit (the route answers 413)."""


class DiskSink:
    """A multipart file part streamed to a temp file, hashed on the way."""

    def __init__(self, directory, limit=None):
        fd, self.path = tempfile.mkstemp(dir=directory, prefix="upload-")
        self.out = os.fdopen(fd, "wb")
        self.sha = hashlib.sha256()
        self.size = 0
        self.limit = limit

    def write(self, data):
        self.size += len(data)
        if self.limit is not None and self.size > self.limit:
            raise TooLarge()
        self.sha.update(data)
        self.out.write(data)

    def close(self):
        self.out.close()

    def discard(self):
        self.out.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


class MemSink:
    def __init__(self, limit=FIELD_MAX_BYTES):
        self.data = bytearray()
        self.limit = limit

    def write(self, data):
        self.data += data
        if len(self.data) > self.limit:
            raise ApiError(400, "multipart field larger than %d bytes" % self.limit)

    def close(self):
        pass

    def discard(self):
        pass


def parse_params(value):
    """'main; a=1; b="x \\" y"' -> ('main', {'a': '1', 'b': 'x " y'}); keys lower-case."""
    main, _, rest = value.partition(";")
    params = {}
    i, n = 0, len(rest)
    while i < n:
        while i < n and rest[i] in " \t;":
            i += 1
        eq = rest.find("=", i)
        if eq < 0:
            break
        key = rest[i:eq].strip().lower()
        i = eq + 1
        if i < n and rest[i] == '"':
            i += 1
            val = []
            while i < n and rest[i] != '"':
                if rest[i] == "\\" and i + 1 < n:
                    i += 1
                val.append(rest[i])
                i += 1
            i += 1
            params[key] = "".join(val)
        else:
            end = rest.find(";", i)
            end = n if end < 0 else end
            params[key] = rest[i:end].strip()
            i = end
    if "filename*" in params:            # RFC 5987: UTF-8''percent-encoded
        _, _, encoded = params["filename*"].partition("''")
        params["filename"] = unquote(encoded, errors="surrogateescape")
    return main.strip().lower(), params


@dataclass
class Part:
    name: str
    filename: str
    content_type: str
    sink: object


class Form:
    """A parsed multipart body: small fields in memory, file parts on disk."""

    def __init__(self):
        self.parts = {}         # name -> first Part of that name
        self.order = []         # part names in body order

    def text(self, name):
        part = self.parts.get(name)
        if part is None or not isinstance(part.sink, MemSink):
            return None
        return bytes(part.sink.data).decode("utf-8", "surrogateescape")

    def file(self, name):
        part = self.parts.get(name)
        return part if part is not None and isinstance(part.sink, DiskSink) else None

    def discard(self):
        for part in self.parts.values():
            part.sink.discard()


class MultipartParser:
    """Parses multipart/form-data from a BodyReader without holding the body in memory.

    Parts named in `disk_parts` (or carrying a filename) stream to temp files in
    `spool_dir`; at most CHUNK + len(boundary) bytes are buffered at any time."""

    def __init__(self, reader, boundary, spool_dir, disk_parts, file_limit=None):
        self.reader = reader
        self.dash = b"--" + boundary
        self.spool_dir = spool_dir
        self.disk_parts = disk_parts
        self.file_limit = file_limit
        self.buf = b""

    def parse(self):
        form = Form()
        try:
            self._skip_preamble()
            while True:
                after = self._take(2)
                if after == b"--":
                    break
                if after != b"\r\n":
                    raise ApiError(400, "malformed multipart boundary line")
                self._read_part(form)
            self.reader.drain(1 << 30)          # epilogue
        except BaseException:
            form.discard()
            raise
        return form

    def _more(self):
        data = self.reader.read(CHUNK)
        self.buf += data
        return bool(data)

    def _take(self, n):
        while len(self.buf) < n:
            if not self._more():
                raise ApiError(400, "multipart body ended early")
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _skip_preamble(self):
        while True:
            if self.buf.startswith(self.dash):
                self.buf = self.buf[len(self.dash):]
                return
            idx = self.buf.find(b"\r\n" + self.dash)
            if idx >= 0:
                self.buf = self.buf[idx + 2 + len(self.dash):]
                return
            if len(self.buf) > 65536 or not self._more():
                raise ApiError(400, "multipart boundary not found")

    def _read_headers(self):
        while True:
            if self.buf.startswith(b"\r\n"):
                raw, self.buf = b"", self.buf[2:]
                break
            idx = self.buf.find(b"\r\n\r\n")
            if idx >= 0:
                raw, self.buf = self.buf[:idx], self.buf[idx + 4:]
                break
            if len(self.buf) > 16384 or not self._more():
                raise ApiError(400, "malformed multipart part headers")
        headers = {}
        for line in raw.split(b"\r\n"):
            name, sep, value = line.decode("utf-8", "surrogateescape").partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        return headers

    def _read_part(self, form):
        headers = self._read_headers()
        _, disp = parse_params(headers.get("content-disposition", ""))
        name = disp.get("name")
        if name is None:
            raise ApiError(400, "multipart part without a name")
        filename = disp.get("filename")
        to_disk = name in self.disk_parts or filename is not None
        sink = DiskSink(self.spool_dir, self.file_limit) if to_disk else MemSink()
        part = Part(name, filename, headers.get("content-type", ""), sink)
        try:
            self._copy_until(b"\r\n" + self.dash, sink)
        except BaseException:
            sink.discard()
            raise
        sink.close()
        if name in form.parts:
            sink.discard()                  # the first part of a name wins
        else:
            form.parts[name] = part
        form.order.append(name)

    def _copy_until(self, needle, sink):
        keep = len(needle) - 1
        while True:
            idx = self.buf.find(needle)
            if idx >= 0:
                sink.write(self.buf[:idx])
                self.buf = self.buf[idx + len(needle):]
                return
            if len(self.buf) > keep:
                sink.write(self.buf[:-keep])
                self.buf = self.buf[-keep:]
            if not self._more():
                raise ApiError(400, "multipart part not terminated")
