#!/usr/bin/python3
"""An emulator of the xAI Management API (and the api.x.ai routes collections need).

It follows shared/xai-api.md: the routes of its section 0 on one loopback port, with
the real paths, field spellings, proto3 JSON conventions (int64 as strings, enums as
names, default values left out), the four pagination styles and the gateway error
body {"code": <gRPC status text>, "error": <message>}. A control API under /_emu/
resets data sets, injects faults and counts requests. See README.md.

Python 3.11 standard library only. Layout, top to bottom:
  wire helpers     timestamps, int64/Cent encoding, proto3 pruning, JSON bytes
  records, State   keys, collections, documents, files, audit, billing; content on disk
  bodies           Content-Length / chunked readers, streaming multipart parser
  Response         status + headers + body (bytes or streamed chunks)
  Faults, Stats    fault injection and request counters
  Router           the route table of xai-api.md section 0
  *Api classes     one class per API family
  Control          the /_emu/ control API
  App, Handler     dispatch and the HTTP/1.1 handler
  main             command line, port file, signals
"""

import argparse
import base64
import hashlib
import ipaddress
import json
import mimetypes
import os
import re
import secrets
import shutil
import signal
import socket
import socketserver
import sys
import tempfile
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seed  # noqa: E402  (the data sets live next to this file)

DEFAULT_MGMT_KEY = "xai-emulator-management-key"
DEFAULT_API_KEY = "xai-emulator-inference-key"
DEFAULT_TEAM_ID = "2d7a3c1e-8f4b-4c6a-9e21-5b0d7f3a9c44"
MGMT_KEY_ID = "5c1d9e7a-3f2b-4a8c-b6e4-9d0f1a2b3c4d"
INFERENCE_KEY_ID = "0b6f4e2d-8a1c-4d3e-9f5a-7c2e1d0b9a8f"

FILES_MAX_BYTES = 50 * 1024 * 1024      # Files API upload limit (413 above)
JSON_MAX_BYTES = 16 * 1024 * 1024       # largest JSON request body we read
FIELD_MAX_BYTES = 1024 * 1024           # largest non-file multipart part
DRAIN_MAX_BYTES = 512 * 1024 * 1024     # unread bodies up to this are drained, else close
CHUNK = 1024 * 1024                     # I/O chunk for bodies and content

DOC_PROCESSING = "DOCUMENT_STATUS_PROCESSING"
DOC_PROCESSED = "DOCUMENT_STATUS_PROCESSED"
DOC_FAILED = "DOCUMENT_STATUS_FAILED"
DOC_STATUSES = ("DOCUMENT_STATUS_UNKNOWN", DOC_PROCESSING, DOC_PROCESSED, DOC_FAILED)

MSG_BAD_MGMT_KEY = "Invalid bearer token. Please ensure you use a valid management key."
MSG_BAD_API_KEY = "Incorrect API key provided. You can obtain an API key from https://console.x.ai."

# The gRPC status texts the xAI gateway puts in "code" (xai-api.md section 2).
GRPC_TEXT = {
    400: "Client specified an invalid argument",
    401: "The request does not have valid authentication credentials",
    403: "The caller does not have permission to execute the specified operation",
    404: "Some requested entity was not found",
    409: "Some entity that we attempted to create already exists",
    412: "The system is not in a state required for the operation's execution",
    413: "Client specified an invalid argument",
    415: "Client specified an invalid argument",
    416: "Operation was attempted past the valid range",
    422: "Client specified an invalid argument",
    429: "Some resource has been exhausted",
    500: "Internal error",
    501: "Operation is not implemented or not supported",
    502: "The service is currently unavailable",
    503: "The service is currently unavailable",
    504: "Deadline expired before operation could complete",
}


# ===========================================================================
# Wire helpers
# ===========================================================================

def ts(epoch):
    """RFC 3339 UTC with microseconds: 2025-11-13T16:14:38.164829Z."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def i64(value):
    """An int64 as proto3 JSON: a string, or None (left out) when zero/unset."""
    return str(value) if value else None


def cent(value):
    """The Cent message {"val": "<int64>"}; zero leaves val out: {}."""
    return {"val": str(value)} if value else {}


def _is_default(value):
    if value is None or value is False or value == "" or value == []:
        return True
    return type(value) in (int, float) and value == 0


def msg(**fields):
    """A proto3 JSON message: fields with default values (None, false, 0, "", []) left out.

    Dict values are sub-messages or maps and are kept even when empty; pass None to
    leave one out."""
    return {k: v for k, v in fields.items() if not _is_default(v)}


def prune(obj):
    """Recursively drop default-valued fields from static data (models, billing info)."""
    if isinstance(obj, dict):
        return {k: prune(v) for k, v in obj.items() if not _is_default(v)}
    if isinstance(obj, list):
        return [prune(v) for v in obj]
    return obj


def dumps(obj):
    """JSON bytes. Surrogate escapes (names that are invalid UTF-8) become raw bytes."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:       # a lone surrogate outside the escape range
        return json.dumps(obj, separators=(",", ":")).encode("ascii")


def loads(data):
    """Parse JSON from request bytes; invalid UTF-8 is kept as surrogate escapes."""
    return json.loads(data.decode("utf-8", "surrogateescape"))


def redact(secret):
    return "xai-..." + secret[-4:]


def parse_rfc3339(value, name):
    if not isinstance(value, str) or "T" not in value:
        raise ApiError(400, "%s: invalid timestamp %r" % (name, value))
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise ApiError(400, "%s: invalid timestamp %r" % (name, value)) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


def camel_to_snake(name):
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def snake_keys(obj):
    """Collections accept camelCase on input: convert keys, but not user `fields` maps."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            key = camel_to_snake(k) if isinstance(k, str) else k
            out[key] = v if key == "fields" else snake_keys(v)
        return out
    if isinstance(obj, list):
        return [snake_keys(v) for v in obj]
    return obj


class ApiError(Exception):
    """An error answered as {"code": <gRPC text>, "error": message}."""

    def __init__(self, status, message, headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or []


# ---------------------------------------------------------------------------
# Typed access to request JSON fields
# ---------------------------------------------------------------------------

def as_int(value, name, bits=32):
    """int32/int64 from a JSON number or a decimal string (proto3 accepts both)."""
    if value is None:
        return 0
    if isinstance(value, bool):
        raise ApiError(400, "%s: expected an integer" % name)
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value.strip()):
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or value < 0 or value >= 1 << (bits - 1):
        raise ApiError(400, "%s: expected a non-negative integer, got %r" % (name, value))
    return value


def as_bool(value, name):
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise ApiError(400, "%s: expected a boolean" % name)


def as_str(value, name):
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ApiError(400, "%s: expected a string" % name)
    return value


def as_str_list(value, name):
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ApiError(400, "%s: expected a list of strings" % name)
    return list(value)


def as_fields(value, name="fields"):
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ApiError(400, "%s: expected an object of string values" % name)
    return dict(value)


def as_cent(value, name):
    """A Cent {"val": "<int64>"} from a request; the sign is kept."""
    if not isinstance(value, dict):
        raise ApiError(400, "%s: expected {\"val\": \"<cents>\"}" % name)
    raw = value.get("val", 0)
    if isinstance(raw, str) and re.fullmatch(r"-?[0-9]+", raw):
        return int(raw)
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    raise ApiError(400, "%s.val: expected an integer string" % name)


# ===========================================================================
# Records and State
# ===========================================================================

@dataclass(slots=True)
class ApiKey:
    id: str
    name: str
    created: float
    modified: float
    acls: list
    secret: str
    qps: int = 0
    qpm: int = 0
    tpm: int = 0
    disabled: bool = False
    expire: float = None
    propagating_since: float = None     # monotonic time of create/rotate; None = done


@dataclass(slots=True)
class StoredFile:
    id: str
    name: str
    content_type: str
    created: float
    size: int
    path: str = None            # content on disk, or None: generated from the id
    sha256: str = None          # computed lazily for generated content
    purpose: str = ""
    expires: float = None
    deleted: bool = False


@dataclass(slots=True)
class Document:
    file_id: str
    fields: dict
    added: float
    status: str = DOC_PROCESSED
    error: str = ""
    ready_at: float = None      # monotonic time PROCESSING turns PROCESSED
    indexed: float = None


@dataclass(slots=True)
class Collection:
    id: str
    name: str
    created: float
    description: str = ""
    index_model: str = "grok-embedding-small"
    chunk: dict = None
    field_defs: list = field(default_factory=list)
    docs: dict = field(default_factory=dict)        # file_id -> Document, insertion order
    sorted_cache: dict = field(default_factory=dict)


DEFAULT_CHUNK = {"tokens_configuration": {"max_chunk_size_tokens": 512,
                                          "chunk_overlap_tokens": 64,
                                          "encoding_name": "o200k_base"}}


class State:
    """All resources of the one emulated team. Every access holds `lock`."""

    def __init__(self, team_id, data_dir, process_delay=1.0):
        self.lock = threading.RLock()
        self.team_id = team_id
        self.data_dir = data_dir
        self.process_delay = process_delay
        self.keys = {}          # apiKeyId -> ApiKey, in creation order
        self.collections = {}   # collection_id -> Collection
        self.files = {}         # file_id -> StoredFile
        self.audit = []         # [{"time","id","description"}]
        self.billing = None
        self.files_version = 0
        self._files_sorted = {}
        os.makedirs(os.path.join(data_dir, "files"), exist_ok=True)
        os.makedirs(os.path.join(data_dir, "tmp"), exist_ok=True)

    # -- keys ---------------------------------------------------------------
    def add_key(self, key_id, name, acls, created, qps=0, qpm=0, tpm=None, disabled=False,
                expire=None, secret=None):
        key = ApiKey(key_id, name, created, created, acls, secret or new_secret(),
                     qps, qpm, tpm or 0, disabled, expire)
        self.keys[key_id] = key
        return key

    def key(self, key_id):
        key = self.keys.get(key_id)
        if key is None:
            raise ApiError(404, "Cannot find API key")
        return key

    def key_by_secret(self, secret):
        now = time.time()
        for key in self.keys.values():
            live = not key.disabled and (key.expire is None or key.expire > now)
            if live and key.secret == secret:
                return key
        return None

    # -- files --------------------------------------------------------------
    def add_file(self, file_id, name, content_type, created, data=None, size=None, path=None,
                 sha256=None, purpose="", expires=None):
        """Register a file. data: bytes written to disk now; size alone: generated content."""
        if data is not None:
            path = os.path.join(self.data_dir, "files", file_id)
            with open(path, "wb") as out:
                out.write(data)
            size, sha256 = len(data), hashlib.sha256(data).hexdigest()
        f = StoredFile(file_id, name, content_type, created, size, path, sha256, purpose, expires)
        self.files[file_id] = f
        self.files_version += 1
        return f

    def adopt_upload(self, tmp_path, file_id):
        """Move a finished upload into the content directory; returns its final path."""
        path = os.path.join(self.data_dir, "files", file_id)
        os.replace(tmp_path, path)
        return path

    def live_file(self, file_id):
        f = self.files.get(file_id)
        if f is None or f.deleted or (f.expires is not None and f.expires <= time.time()):
            return None
        return f

    def file_sha256(self, f):
        if f.sha256 is None:
            f.sha256 = hashlib.sha256(self.read_generated(f)).hexdigest()
        return f.sha256

    @staticmethod
    def read_generated(f):
        return seed.generated_content(f.id, f.name, f.size)

    def sorted_files(self, sort_by, descending):
        key = (self.files_version, sort_by, descending)
        cached = self._files_sorted.get(key)
        if cached is None:
            keyfn = {"created_at": lambda f: (f.created, f.id),
                     "filename": lambda f: (f.name, f.id),
                     "size": lambda f: (f.size, f.id)}[sort_by]
            cached = sorted(self.files.values(), key=keyfn, reverse=descending)
            self._files_sorted = {key: cached}
        return cached

    # -- collections and documents -------------------------------------------
    def add_collection(self, cid, name, created, description="", field_definitions=None,
                       chunk=None, index_model="grok-embedding-small"):
        fdefs = [dict({"required": False, "inject_into_chunk": False, "unique": False,
                       "description": ""}, **d) for d in field_definitions or []]
        coll = Collection(cid, name, created, description, index_model,
                          chunk or DEFAULT_CHUNK, fdefs)
        self.collections[cid] = coll
        return coll

    def collection(self, cid):
        coll = self.collections.get(cid)
        if coll is None:
            raise ApiError(404, "Collection %s not found" % cid)
        return coll

    def add_document(self, coll, f, fields, added, indexed=None, status=DOC_PROCESSED):
        doc = Document(f.id, fields, added, status, indexed=indexed)
        coll.docs[f.id] = doc
        coll.sorted_cache.clear()
        return doc

    def start_processing(self, doc):
        doc.status, doc.error, doc.indexed = DOC_PROCESSING, "", None
        doc.ready_at = time.monotonic() + self.process_delay

    def document(self, coll, file_id):
        doc = coll.docs.get(file_id)
        if doc is None:
            raise ApiError(404, "Document %s not found in collection %s" % (file_id, coll.id))
        return doc

    def refresh(self, doc):
        """Lazily move a PROCESSING document to PROCESSED once its delay has passed."""
        if doc.status == DOC_PROCESSING and doc.ready_at is not None \
                and time.monotonic() >= doc.ready_at:
            doc.status, doc.ready_at, doc.indexed = DOC_PROCESSED, None, time.time()

    def sorted_docs(self, coll, sort_by, descending):
        key = (sort_by, descending)
        cached = coll.sorted_cache.get(key)
        if cached is None:
            files = self.files
            keyfn = {"name": lambda d: (files[d.file_id].name, d.file_id),
                     "size": lambda d: (files[d.file_id].size, d.file_id),
                     "age": lambda d: (d.added, d.file_id)}[sort_by]
            cached = sorted(coll.docs.values(), key=keyfn, reverse=descending)
            coll.sorted_cache[key] = cached
        return cached

    # -- audit --------------------------------------------------------------
    def add_audit(self, when, description, event_id=None):
        self.audit.append({"time": when, "id": event_id or str(uuid.uuid4()),
                           "description": description})


def new_secret():
    alphabet = seed.Ids.ALNUM
    return "xai-" + "".join(secrets.choice(alphabet) for _ in range(80))


def new_id(prefix=""):
    return prefix + str(uuid.uuid4())


# ===========================================================================
# Wire renderings of records
# ===========================================================================

class Wire:
    """JSON shapes of stored records, per xai-api.md sections 4-8."""

    def __init__(self, state, clusters=seed.CLUSTER_HOSTS):
        self.state = state
        self.clusters = clusters

    def key(self, k, with_secret=False):
        out = msg(redactedApiKey=redact(k.secret), userId=seed.OWNER["userId"], name=k.name,
                  createTime=ts(k.created), modifyTime=ts(k.modified),
                  teamId=self.state.team_id, aclStrings=k.acls, apiKeyId=k.id,
                  qps=k.qps, qpm=k.qpm, tpm=i64(k.tpm), expireTime=ts(k.expire),
                  disabled=k.disabled)
        if with_secret:
            out["apiKey"] = k.secret
        return out

    def propagation(self, k):
        """Cluster i has the key (i + 1) * 0.5 s after create/rotate (all by 1 s)."""
        since = k.propagating_since
        elapsed = float("inf") if since is None else time.monotonic() - since
        n = len(self.clusters)
        return {"icPropagation": {host: elapsed >= (i + 1) / n
                                  for i, host in enumerate(self.clusters)}}

    def collection(self, c):
        return msg(collection_id=c.id, collection_name=c.name, created_at=ts(c.created),
                   index_configuration={"model_name": c.index_model},
                   chunk_configuration=c.chunk, documents_count=len(c.docs),
                   field_definitions=[msg(**d) for d in c.field_defs],
                   collection_description=c.description)

    def file_metadata(self, f):
        return msg(file_id=f.id, name=f.name, size_bytes=i64(f.size),
                   content_type=f.content_type, created_at=ts(f.created),
                   hash=self.state.file_sha256(f))

    def document(self, doc):
        self.state.refresh(doc)
        f = self.state.files[doc.file_id]
        return msg(file_metadata=self.file_metadata(f), fields=doc.fields or None,
                   status=doc.status, error_message=doc.error,
                   last_indexed_at=ts(doc.indexed))

    @staticmethod
    def file(f):
        return {"id": f.id, "object": "file", "bytes": f.size, "created_at": int(f.created),
                "expires_at": int(f.expires) if f.expires is not None else None,
                "filename": f.name, "purpose": f.purpose}

    def audit_event(self, e):
        return msg(eventTime=ts(e["time"]), eventId=e["id"], description=e["description"],
                   user=prune(seed.OWNER))


# ===========================================================================
# Request bodies: Content-Length / chunked, and a streaming multipart parser
# ===========================================================================

class BodyReader:
    """Reads one request body, framed by Content-Length or chunked encoding."""

    def __init__(self, rfile, length=0, chunked=False):
        self.rfile = rfile
        self.remaining = length       # bytes left (length mode) or in the current chunk
        self.chunked = chunked
        self.eof = not chunked and length == 0
        self.total = 0

    def read(self, n=CHUNK):
        if self.eof:
            return b""
        if self.chunked and self.remaining == 0:
            self._next_chunk()
            if self.eof:
                return b""
        data = self.rfile.read(min(n, self.remaining))
        if not data:
            raise ApiError(400, "request body ended early")
        self.remaining -= len(data)
        self.total += len(data)
        if self.remaining == 0:
            if self.chunked:
                self._expect_crlf()
            else:
                self.eof = True
        return data

    def _next_chunk(self):
        line = self.rfile.readline(1024)
        try:
            size = int(line.split(b";")[0].strip(), 16)
        except ValueError:
            raise ApiError(400, "bad chunk size") from None
        if size == 0:
            while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                pass                      # trailers
            self.eof = True
        self.remaining = size

    def _expect_crlf(self):
        if self.rfile.readline(8) not in (b"\r\n", b"\n"):
            raise ApiError(400, "bad chunk framing")

    def read_all(self, limit):
        parts = []
        while True:
            data = self.read()
            if not data:
                return b"".join(parts)
            parts.append(data)
            if self.total > limit:
                raise ApiError(413, "request body larger than %d bytes" % limit)

    def drain(self, limit):
        """Read and drop the rest of the body. False if more than `limit` bytes remain."""
        if not self.chunked and self.remaining > limit:
            return False
        start = self.total
        while self.read():
            if self.total - start > limit:
                return False
        return True


class TooLarge(Exception):
    pass


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


# ===========================================================================
# Request and Response
# ===========================================================================

class Request:
    """What handlers see of one HTTP request."""

    def __init__(self, handler):
        self.handler = handler
        self.method = handler.command
        url = urlsplit(handler.path)
        self.raw_path = url.path
        self.path = url.path
        self.query = parse_qs(url.query, keep_blank_values=True)
        self.headers = handler.headers
        self.params = {}
        self.route = None
        self.identity = None
        self._reader = None

    # -- body ---------------------------------------------------------------
    @property
    def reader(self):
        if self._reader is None:
            chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
            try:
                length = int(self.headers.get("Content-Length", "0") or 0)
            except ValueError:
                raise ApiError(400, "bad Content-Length") from None
            self._reader = BodyReader(self.handler.rfile, max(length, 0), chunked)
        return self._reader

    def content_length(self):
        try:
            return int(self.headers.get("Content-Length", ""))
        except ValueError:
            return None

    def json(self):
        """The body as a JSON object; an empty body is {}."""
        data = self.reader.read_all(JSON_MAX_BYTES)
        if not data.strip():
            return {}
        try:
            obj = loads(data)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "request body is not valid JSON") from None
        if not isinstance(obj, dict):
            raise ApiError(400, "request body must be a JSON object")
        return obj

    def multipart(self, spool_dir, disk_parts, file_limit=None):
        ctype, params = parse_params(self.headers.get("Content-Type", ""))
        if ctype != "multipart/form-data" or not params.get("boundary"):
            raise ApiError(400, "expected a multipart/form-data body with a boundary")
        boundary = params["boundary"].encode("utf-8", "surrogateescape")
        return MultipartParser(self.reader, boundary, spool_dir, disk_parts, file_limit).parse()

    def body_done(self, limit=DRAIN_MAX_BYTES):
        """Consume what is left of the body so the connection can be reused."""
        try:
            has_body = self._reader is not None or self.content_length() or \
                "chunked" in self.headers.get("Transfer-Encoding", "").lower()
            return not has_body or self.reader.drain(limit)
        except (ApiError, OSError):
            return False

    # -- query --------------------------------------------------------------
    def qlist(self, name):
        """Every value of a query parameter; a snake_case name also answers to its
        lowerCamelCase spelling (the gateway parses both)."""
        values = self.query.get(name)
        if values is None and "_" in name:
            values = self.query.get(re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name))
        return values or []

    def q(self, name, default=None):
        values = self.qlist(name)
        return values[-1] if values else default

    def qint(self, name, default=0, maximum=None):
        raw = self.q(name)
        if raw is None or raw == "":
            return default
        if not re.fullmatch(r"[0-9]+", raw):
            raise ApiError(400, "%s: expected a non-negative integer" % name)
        value = int(raw)
        if maximum is not None and value > maximum:
            raise ApiError(400, "%s must be at most %d" % (name, maximum))
        return value

    def qbool(self, name):
        raw = self.q(name)
        if raw in (None, "", "false", "0"):
            return False
        if raw in ("true", "1"):
            return True
        raise ApiError(400, "%s: expected true or false" % name)


class Response:
    """One response. body is bytes, or an iterable of bytes with an explicit length."""

    def __init__(self, status=200, body=b"", ctype="application/json", headers=None,
                 length=None, obj=None):
        self.status = status
        self.body = body
        self.ctype = ctype
        self.headers = list(headers or [])
        self.length = len(body) if length is None else length
        self.obj = obj                  # the JSON object, for fault transforms
        self.fault = None               # "drop" / "truncate" decided by Faults

    @classmethod
    def json(cls, obj, status=200, headers=None):
        return cls(status, dumps(obj), headers=headers, obj=obj)

    @classmethod
    def error(cls, status, message, headers=None):
        code = GRPC_TEXT.get(status, "Unknown error")
        return cls.json({"code": code, "error": message}, status, headers)

    @classmethod
    def text(cls, status, text):
        return cls(status, text.encode(), "text/plain; charset=utf-8")

    def chunks(self):
        if isinstance(self.body, (bytes, bytearray)):
            return [self.body] if self.body else []
        return self.body


# ===========================================================================
# Fault injection and statistics
# ===========================================================================

class Faults:
    """Fault settings. Each POST /_emu/faults replaces them all (missing = default).

    Counted faults (*_next) each spoil that many matching requests, one fault per
    request, tried in the order of ORDER. fail and drop stop the request before it is
    carried out; malformed, truncate, oversize and wrong_types carry it out and spoil
    only the response."""

    ORDER = ("drop_next", "fail_next", "truncate_next", "malformed_next",
             "oversize_next", "wrong_types_next")

    def __init__(self, latency_ms=0, process_delay_s=1.0):
        self.lock = threading.Lock()
        self.defaults = {"latency_ms": latency_ms, "fail_next": 0, "fail_status": 503,
                         "retry_after": None, "fail_route": None, "malformed_next": 0,
                         "truncate_next": 0, "drop_next": 0, "oversize_next": 0,
                         "oversize_bytes": 80 * 1024 * 1024, "wrong_types_next": 0,
                         "process_delay_s": process_delay_s}
        self.settings = dict(self.defaults)

    def replace(self, body):
        new = dict(self.defaults)
        for name, value in body.items():
            if name not in new:
                raise ApiError(400, "unknown fault setting %r" % name)
            new[name] = self._check(name, value)
        with self.lock:
            self.settings = new

    @staticmethod
    def _check(name, value):
        if value is None:
            return None if name in ("retry_after", "fail_route") else 0
        if name == "retry_after":
            if isinstance(value, (int, str)) and not isinstance(value, bool):
                return str(value)
        elif name == "fail_route":
            if isinstance(value, str):
                return value
        elif name == "process_delay_s":
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
                return float(value)
        elif isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            if name != "fail_status" or 400 <= value <= 599:
                return value
        raise ApiError(400, "bad value for %s: %r" % (name, value))

    def snapshot(self):
        with self.lock:
            return dict(self.settings)

    def get(self, name):
        with self.lock:
            return self.settings[name]

    def _matches(self, route_key, path):
        target = self.settings["fail_route"]
        if not target:
            return True
        if route_key and (target == route_key or target == route_key.split(" ", 1)[1]):
            return True
        return path.startswith(target)

    def take(self, route_key, path):
        """The fault this request suffers (name without _next), or None."""
        with self.lock:
            if not any(self.settings[n] for n in self.ORDER) or not self._matches(route_key, path):
                return None
            for name in self.ORDER:
                if self.settings[name] > 0:
                    self.settings[name] -= 1
                    return name[:-len("_next")]
        return None

    def failure(self):
        with self.lock:
            status, retry = self.settings["fail_status"], self.settings["retry_after"]
        headers = [("Retry-After", retry)] if retry is not None else []
        return Response.error(status, "injected failure (HTTP %d)" % status, headers)

    def spoil(self, kind, resp):
        """Apply a body fault to a finished response."""
        if kind == "truncate":
            resp.fault = "truncate"
            return resp
        if kind == "malformed":
            body = b'{"error": "this is not JSON\x00 <html><body>502 Bad Gateway'
            return Response(200, body)
        if kind == "oversize":
            return oversize_response(resp, self.get("oversize_bytes"))
        if kind == "wrong_types":
            obj = resp.obj if resp.obj is not None else {"data": "raw"}
            return Response.json(wrong_types(obj), resp.status)
        return resp


def wrong_types(obj, top=True):
    """Valid JSON whose values have the wrong types: numbers become objects, arrays
    strings, strings numbers, booleans strings, nulls arrays. The top object stays."""
    if isinstance(obj, dict):
        inner = {k: wrong_types(v, False) for k, v in obj.items()}
        return inner if top else inner or []
    if isinstance(obj, list):
        return json.dumps(obj, ensure_ascii=True)
    if isinstance(obj, bool):
        return "yes" if obj else "no"
    if isinstance(obj, (int, float)):
        return {"value": obj}
    if isinstance(obj, str):
        return len(obj) * 1000 + 7
    return []


def oversize_response(resp, size):
    """A valid JSON object of about `size` bytes: a padding string first, then the
    response's own fields. Streamed, never built in memory."""
    rest = dumps(resp.obj) if isinstance(resp.obj, dict) else b"{}"
    tail = b'",' + rest[1:] if rest != b"{}" else b'"}'
    head = b'{"_padding":"'
    pad = b"x" * 65536

    def chunks():
        yield head
        left = size
        while left > 0:
            yield pad[:min(left, len(pad))]
            left -= len(pad)
        yield tail
    return Response(200, chunks(), length=len(head) + size + len(tail))


class Stats:
    """Request counters keyed by "METHOD /route/{template}" (control API not counted)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with getattr(self, "lock"):
            self.total = 0
            self.mutating = 0
            self.unmatched = 0
            self.routes = {}

    def count(self, method, route_key):
        with self.lock:
            self.total += 1
            if method != "GET":
                self.mutating += 1
            if route_key is None:
                self.unmatched += 1
            else:
                self.routes[route_key] = self.routes.get(route_key, 0) + 1

    def snapshot(self):
        with self.lock:
            return {"total": self.total, "mutating": self.mutating,
                    "unmatched": self.unmatched, "routes": dict(sorted(self.routes.items()))}


# ===========================================================================
# Routing
# ===========================================================================

MGMT, INFERENCE = "management", "inference"


@dataclass
class Route:
    method: str
    template: str
    handler: object
    auth: str
    regex: object = None

    @property
    def key(self):
        return "%s %s" % (self.method, self.template)


class Router:
    """Matches METHOD + raw path against the templates of xai-api.md section 0."""

    def __init__(self):
        self.routes = []

    def add(self, method, template, handler, auth=MGMT):
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
        self.routes.append(Route(method, template, handler, auth, re.compile(pattern + r"\Z")))

    def match(self, method, path):
        """(route, params) for a match; (None, allowed_methods) otherwise."""
        path = re.sub(r"%3[aA]", ":", path)
        allowed = []
        for route in self.routes:
            m = route.regex.match(path)
            if m:
                if route.method == method:
                    return route, {k: unquote(v, errors="surrogateescape")
                                   for k, v in m.groupdict().items()}
                allowed.append(route.method)
        return None, allowed


class Paginator:
    """Opaque offset tokens, one kind per list so tokens cannot be mixed up."""

    @staticmethod
    def token(kind, offset):
        return base64.urlsafe_b64encode(("%s:%d" % (kind, offset)).encode()).decode().rstrip("=")

    @staticmethod
    def offset(kind, token):
        if not token:
            return 0
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            got_kind, _, num = raw.partition(":")
            if got_kind == kind and num.isdigit():
                return int(num)
        except (ValueError, UnicodeDecodeError):
            pass
        raise ApiError(400, "invalid pagination token")

    @classmethod
    def page(cls, kind, items, token, size):
        """(page items, next token or None). size 0 = everything."""
        start = cls.offset(kind, token)
        if not size:
            return items[start:], None
        end = start + size
        return items[start:end], cls.token(kind, end) if end < len(items) else None


# ===========================================================================
# Filters (AIP-160-like subset): term AND term ...
# ===========================================================================

FILTER_TERM = re.compile(r'\s*([\w.]+)\s*:\s*(!|>=|<=|>|<|=)?\s*("(?:[^"\\]|\\.)*"|[^\s]+)\s*')


def parse_filter(text):
    """[(field, op, value)] from 'a:"x" AND b:>3'. op is ':' (partial/equal) or a comparison."""
    terms = []
    for chunk in re.split(r"\s+AND\s+", text.strip()) if text.strip() else []:
        m = FILTER_TERM.fullmatch(chunk)
        if not m:
            raise ApiError(400, "unsupported filter term %r" % chunk)
        name, op, value = m.group(1), m.group(2) or ":", m.group(3)
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        terms.append((name, op, value))
    return terms


def filter_match(terms, getter):
    for name, op, value in terms:
        actual = getter(name)
        if actual is KeyError:
            raise ApiError(400, "unknown filter field %r" % name)
        if not _term_true(actual, op, value):
            return False
    return True


def _term_true(actual, op, value):
    if isinstance(actual, (int, float)):
        try:
            num = float(value) if not isinstance(actual, float) else parse_rfc3339(value, "filter")
        except (ValueError, ApiError):
            raise ApiError(400, "filter value %r is not comparable" % value) from None
        return {":": actual == num, "=": actual == num, "!": actual != num, ">": actual > num,
                "<": actual < num, ">=": actual >= num, "<=": actual <= num}[op]
    actual = actual or ""
    if op == "!":
        return value.lower() not in actual.lower()
    if op in (":",):
        return value.lower() in actual.lower()
    if op == "=":
        return actual == value
    raise ApiError(400, "operator %s needs a number or time field" % op)


def enum_arg(raw, names, default, what):
    """An enum query value: its full name or its number (proto3 accepts both)."""
    if raw is None or raw == "":
        return default
    if raw.isdigit() and int(raw) < len(names):
        raw = names[int(raw)]
    if raw not in names:
        raise ApiError(400, "%s: unknown value %r" % (what, raw))
    return raw if raw != names[0] else default


# ===========================================================================
# API families
# ===========================================================================

class ApiBase:
    def __init__(self, app):
        self.app = app

    @property
    def state(self):
        """The State this request started with (a reset may swap app.state meanwhile)."""
        return getattr(self.app.local, "state", None) or self.app.state

    @property
    def wire(self):
        return Wire(self.state)

    def audit(self, description):
        self.state.add_audit(time.time(), description)


class KeysApi(ApiBase):
    """/auth/... API keys (section 4). camelCase."""

    MASK_PATHS = ("name", "aclStrings", "qps", "qpm", "tpm", "disabled", "expireTime")

    def register(self, r):
        r.add("POST", "/auth/teams/{teamId}/api-keys", self.create)
        r.add("GET", "/auth/teams/{teamId}/api-keys", self.list)
        r.add("PUT", "/auth/api-keys/{apiKeyId}", self.update)
        r.add("POST", "/auth/api-keys/{apiKeyId}/rotate", self.rotate)
        r.add("DELETE", "/auth/api-keys/{apiKeyId}", self.delete)
        r.add("GET", "/auth/api-keys/{apiKeyId}/propagation", self.propagation)

    def create(self, req):
        body = req.json()
        name = as_str(body.get("name"), "name")
        if not name:
            raise ApiError(400, "name must not be empty")
        acls = as_str_list(body.get("acls", body.get("aclStrings")), "acls")
        qps, qpm = as_int(body.get("qps"), "qps"), as_int(body.get("qpm"), "qpm")
        tpm = as_int(body.get("tpm"), "tpm", 64)
        expire = parse_rfc3339(body["expireTime"], "expireTime") if body.get("expireTime") else None
        now = time.time()
        with self.state.lock:
            key = self.state.add_key(new_id(), name, acls, now, qps, qpm, tpm, False, expire)
            key.propagating_since = time.monotonic()
            self.audit("Created API key '%s'" % name)
            return Response.json(self.wire.key(key, with_secret=True))

    def list(self, req):
        size = req.qint("pageSize")
        token = req.q("paginationToken")
        active = req.qbool("activeOnly")
        acl_filters = req.qlist("aclFilters")
        now = time.time()
        with self.state.lock:
            keys = [k for k in self.state.keys.values()
                    if (not active or k.expire is None or k.expire > now)
                    and all(a in k.acls for a in acl_filters)]
            page, nxt = Paginator.page("keys", keys, token, size)
            wire = self.wire
            return Response.json(msg(apiKeys=[wire.key(k) for k in page], paginationToken=nxt))

    def update(self, req):
        with self.state.lock:
            key = self.state.key(req.params["apiKeyId"])
        body = req.json()
        mask = body.get("fieldMask")
        if not isinstance(mask, str) or not mask.strip():
            raise ApiError(400, "fieldMask must name at least one field")
        paths = [p.strip() for p in mask.split(",") if p.strip()]
        for p in paths:
            if p not in self.MASK_PATHS:
                raise ApiError(400, "fieldMask: unknown or read-only field %r" % p)
        src = body.get("apiKey") or {}
        if not isinstance(src, dict):
            raise ApiError(400, "apiKey must be an object")
        changes = {p: self._mask_value(p, src) for p in paths}
        with self.state.lock:
            key = self.state.key(req.params["apiKeyId"])
            for p, value in changes.items():
                setattr(key, {"aclStrings": "acls", "expireTime": "expire"}.get(p, p), value)
            key.modified = time.time()
            self.audit("Updated API key '%s' (%s)" % (key.name, ",".join(paths)))
            return Response.json(self.wire.key(key))

    @staticmethod
    def _mask_value(path, src):
        value = src.get(path)
        if path == "name":
            name = as_str(value, "name")
            if not name:
                raise ApiError(400, "name must not be empty")
            return name
        if path == "aclStrings":
            return as_str_list(value if value is not None else src.get("acls"), "aclStrings")
        if path in ("qps", "qpm"):
            return as_int(value, path)
        if path == "tpm":
            return as_int(value, path, 64)
        if path == "disabled":
            return as_bool(value, path)
        return parse_rfc3339(value, "expireTime") if value else None

    def rotate(self, req):
        with self.state.lock:
            self.state.key(req.params["apiKeyId"])
        body = req.json()
        now = time.time()
        expire = parse_rfc3339(body["expireTime"], "expireTime") if body.get("expireTime") else None
        if body.get("oldSecretExpireTime"):
            old = parse_rfc3339(body["oldSecretExpireTime"], "oldSecretExpireTime")
            if old > now + 7 * 86400:
                raise ApiError(400, "oldSecretExpireTime may be at most 7 days ahead")
        with self.state.lock:
            key = self.state.key(req.params["apiKeyId"])
            key.secret = new_secret()
            key.modified = now
            key.propagating_since = time.monotonic()
            if expire is not None:
                key.expire = expire
            self.audit("Rotated API key '%s'" % key.name)
            return Response.json(self.wire.key(key, with_secret=True))

    def delete(self, req):
        with self.state.lock:
            key = self.state.key(req.params["apiKeyId"])
            del self.state.keys[key.id]
            self.audit("Deleted API key '%s'" % key.name)
        return Response.json({})

    def propagation(self, req):
        with self.state.lock:
            return Response.json(self.wire.propagation(self.state.key(req.params["apiKeyId"])))


class TeamApi(ApiBase):
    """Models, endpoint ACLs, management-key validation, audit log (sections 3-5)."""

    def register(self, r):
        r.add("GET", "/auth/teams/{teamId}/models", self.models)
        r.add("GET", "/auth/teams/{teamId}/endpoints", self.endpoints)
        r.add("GET", "/auth/management-keys/validation", self.validation)
        r.add("GET", "/audit/teams/{teamId}/events", self.events)

    def models(self, req):
        return Response.json(prune(seed.models()))

    def endpoints(self, req):
        return Response.json(seed.endpoint_acls())

    def validation(self, req):
        created = seed.BASE_TIME - 90 * seed.DAY + 0.123456
        team = self.state.team_id
        return Response.json(msg(
            apiKeyId=MGMT_KEY_ID, teamId=team, scope="SCOPE_TEAM", scopeId=team,
            ownerUserId=seed.OWNER["userId"], createTime=ts(created), modifyTime=ts(created),
            name="emulator-management-key", acls=seed.MANAGEMENT_ACLS,
            redactedApiKey=redact(self.app.config.mgmt_key)))

    def events(self, req):
        size = req.qint("pageSize", 50)
        order = req.q("orderBy", "TIME_DESCENDING")
        if order not in ("TIME_ASCENDING", "TIME_DESCENDING"):
            raise ApiError(400, "orderBy: unknown value %r" % order)
        start = self._time_arg(req, "eventTimeFrom")
        end = self._time_arg(req, "eventTimeTo")
        query = (req.q("eventFilter.query") or "").lower()
        event_id = req.q("eventFilter.eventId")
        user_id = req.q("eventFilter.userId")
        with self.state.lock:
            events = [e for e in self.state.audit
                      if (start is None or e["time"] >= start) and (end is None or e["time"] < end)
                      and query in e["description"].lower()
                      and (not event_id or e["id"] == event_id)
                      and (not user_id or user_id == seed.OWNER["userId"])]
            events.sort(key=lambda e: (e["time"], e["id"]), reverse=order == "TIME_DESCENDING")
            page, nxt = Paginator.page("audit", events, req.q("pageToken"), size or 50)
            return Response.json(msg(events=[self.wire.audit_event(e) for e in page],
                                     nextPageToken=nxt))

    @staticmethod
    def _time_arg(req, name):
        raw = req.q(name)
        return parse_rfc3339(raw, name) if raw else None


class BillingApi(ApiBase):
    """/v1/billing/teams/{team_id}/... (section 6). camelCase, money in cents."""

    TOPUP_PENDING = ("TO_GENERATE_INVOICE", "TO_CHARGE")

    def register(self, r):
        base = "/v1/billing/teams/{team_id}"
        r.add("GET", base + "/billing-info", self.get_info)
        r.add("POST", base + "/billing-info", self.set_info)
        r.add("GET", base + "/invoices", self.invoices)
        r.add("GET", base + "/payment-method", self.payment_methods)
        r.add("POST", base + "/payment-method/default", self.set_default)
        r.add("GET", base + "/postpaid/invoice/preview", self.preview)
        r.add("GET", base + "/postpaid/spending-limits", self.get_limits)
        r.add("POST", base + "/postpaid/spending-limits", self.set_limit)
        r.add("GET", base + "/prepaid/balance", self.balance)
        r.add("POST", base + "/prepaid/top-up", self.top_up)
        r.add("POST", base + "/usage", self.usage)

    @property
    def billing(self):
        return self.state.billing

    def get_info(self, req):
        with self.state.lock:
            return Response.json({"billingInfo": prune(self.billing["info"])})

    INFO_FIELDS = ("name", "email", "taxIdType", "taxNumber")
    ADDRESS_FIELDS = ("line1", "line2", "city", "state", "postalCode", "country")

    def set_info(self, req):
        info = req.json().get("billingInfo")
        if not isinstance(info, dict):
            raise ApiError(400, "billingInfo must be an object")
        clean = {k: as_str(info.get(k), k) for k in self.INFO_FIELDS}
        address = info.get("address") or {}
        if not isinstance(address, dict):
            raise ApiError(400, "billingInfo.address must be an object")
        clean["address"] = {k: as_str(address.get(k), k) for k in self.ADDRESS_FIELDS}
        country = clean["address"]["country"]
        if country and not re.fullmatch(r"[A-Z]{2}", country):
            raise ApiError(400, "address.country must be an ISO 3166-1 alpha-2 code")
        with self.state.lock:
            self.billing["info"] = clean
        return Response.json({})

    def invoices(self, req):
        groups = [g for g in ("billingCycle", "since", "invoiceIds")
                  if any(k.startswith(g + ".") for k in req.query)]
        if len(groups) > 1:
            raise ApiError(400, "at most one of billingCycle, since and invoiceIds may be given")
        with self.state.lock:
            out = [inv for inv in self.billing["invoices"]
                   if self._invoice_wanted(req, inv, groups)]
            return Response.json(msg(invoices=[self._invoice(inv) for inv in out]))

    def _invoice_wanted(self, req, inv, groups):
        if not groups:
            return True
        group = groups[0]
        if group == "invoiceIds":
            return inv["invoiceId"] in req.qlist("invoiceIds.invoiceIds")
        year = req.qint(group + ".year")
        month = req.qint(group + ".month")
        if not year or not 1 <= month <= 12:
            raise ApiError(400, "%s needs year and month (1-12)" % group)
        if group == "billingCycle":
            return inv["cycle"] == (year, month)
        return inv["cycle"] >= (year, month)

    def _invoice(self, inv):
        year, month = inv["cycle"]
        return msg(teamId=inv["teamId"], invoiceId=inv["invoiceId"],
                   invoiceNumber=inv["invoiceNumber"], createTime=ts(inv["createTime"]),
                   invoicePdfAssetKeySuffix=inv["invoicePdfAssetKeySuffix"],
                   invoiceStatus=inv["invoiceStatus"],
                   chargerAttempts=[msg(**a) for a in inv["chargerAttempts"]],
                   lines=[prune(line) for line in inv["lines"]],
                   subtotal=i64(inv["subtotal"]), tax=i64(inv["tax"]), total=i64(inv["total"]),
                   monthly={"billingCycle": {"year": year, "month": month},
                            "defaultCreditsIssued": {}, "autoCreditsIssued": {},
                            "prepaidTokensToSpend": {},
                            "billingItemsCsvAssetKeySuffix": "usage/%04d-%02d.csv" % (year, month)})

    def payment_methods(self, req):
        with self.state.lock:
            methods = []
            for pm in self.billing["payment_methods"]:
                pm = dict(pm, addedTs=ts(pm["addedTs"]))
                methods.append(prune(pm))
            return Response.json(msg(paymentMethods=methods))

    def set_default(self, req):
        pm_id = as_str(req.json().get("paymentMethodId"), "paymentMethodId")
        with self.state.lock:
            if not any(pm["paymentMethodId"] == pm_id for pm in self.billing["payment_methods"]):
                raise ApiError(404, "payment method %r not found" % pm_id)
            self.billing["default_payment_method"] = pm_id
        return Response.json({})

    def _limits(self):
        lim = self.billing["limits"]
        hard = lim["hardSlOverride"] or lim["hardSlAuto"]
        return hard, min(lim["softSl"], hard) if lim["softSl"] is not None else hard

    def preview(self, req):
        now = datetime.now(timezone.utc)
        with self.state.lock:
            lines = self.billing["preview_lines"]
            before = sum(int(line["amount"]) for line in lines)
            credit = self._total()           # negative = credit available
            used = min(before, -credit) if credit < 0 else 0
            _, effective = self._limits()
            core = msg(lines=[prune(line) for line in lines], amountBeforeVat=i64(before),
                       vatCost=None, amountAfterVat=i64(before), totalWithCorr=cent(before),
                       prepaidCredits=cent(credit), prepaidCreditsUsed=cent(used),
                       autoCreditsIssued=None, defaultCreditsIssued=None)
            return Response.json(msg(coreInvoice=core, effectiveSpendingLimit=i64(effective),
                                     defaultCredits=None,
                                     billingCycle={"year": now.year, "month": now.month}))

    def get_limits(self, req):
        with self.state.lock:
            lim = self.billing["limits"]
            hard, effective = self._limits()
            out = {"hardSlAuto": cent(lim["hardSlAuto"]), "effectiveHardSl": cent(hard),
                   "effectiveSl": cent(effective)}
            if lim["hardSlOverride"]:
                out["hardSlOverride"] = cent(lim["hardSlOverride"])
            if lim["softSl"] is not None:
                out["softSl"] = cent(lim["softSl"])
            return Response.json({"spendingLimits": out})

    def set_limit(self, req):
        body = req.json()
        value = as_cent(body.get("desiredSoftSpendingLimit"), "desiredSoftSpendingLimit")
        with self.state.lock:
            hard, _ = self._limits()
            if value < 0 or value > hard:
                raise ApiError(400, "soft spending limit must be between 0 and %d cents" % hard)
            self.billing["limits"]["softSl"] = value
            self.audit("Set soft spending limit to %d cents" % value)
        return Response.json({"thisBpSoftSpendingLimit": cent(value)})

    def _settle(self):
        """Pending top-ups succeed once the processing delay has passed."""
        now = time.monotonic()
        for c in self.billing["changes"]:
            if c["topupStatus"] in self.TOPUP_PENDING and c["ready_at"] is not None \
                    and now >= c["ready_at"]:
                c["topupStatus"], c["ready_at"] = "SUCCEEDED", None

    def _total(self):
        self._settle()
        return sum(c["amount"] for c in self.billing["changes"]
                   if c["changeOrigin"] in ("SPEND", "REFUND", "MANUAL")
                   or c["topupStatus"] == "SUCCEEDED")

    def _change(self, c):
        return msg(teamId=self.state.team_id, changeOrigin=c["changeOrigin"],
                   topupStatus=c["topupStatus"], amount=cent(c["amount"]),
                   invoiceId=c["invoiceId"], invoiceNumber=c["invoiceNumber"],
                   createTime=ts(c["created"]), spendBpKeyYear=c["spendYear"],
                   spendBpKeyMonth=c["spendMonth"], createTs=ts(c["created"]))

    def balance(self, req):
        with self.state.lock:
            total = self._total()
            changes = sorted(self.billing["changes"], key=lambda c: c["created"], reverse=True)
            return Response.json(msg(changes=[self._change(c) for c in changes],
                                     total=cent(total)))

    def top_up(self, req):
        body = req.json()
        amount = abs(as_cent(body.get("amount"), "amount"))
        if amount == 0:
            raise ApiError(400, "amount must not be zero")
        with self.state.lock:
            self._settle()
            for c in self.billing["changes"]:
                if c["changeOrigin"] == "PURCHASE" and c["topupStatus"] in self.TOPUP_PENDING:
                    return Response.json({"change": self._change(c)})
            invoice = base64.b64encode(uuid.uuid4().bytes + b"\0\0\0\0").decode()
            change = {"changeOrigin": "PURCHASE", "topupStatus": "TO_CHARGE", "amount": -amount,
                      "created": time.time(), "invoiceId": invoice,
                      "invoiceNumber": "%03d-%03d-%03d-%03d" % tuple(secrets.randbelow(1000)
                                                                     for _ in range(4)),
                      "spendYear": 0, "spendMonth": 0,
                      "ready_at": time.monotonic() + self.state.process_delay}
            self.billing["changes"].append(change)
            self.audit("Top-up of %d cents" % amount)
            return Response.json({"change": self._change(change)})

    def usage(self, req):
        body = req.json()
        ar = body.get("analyticsRequest", body.get("analytics_request"))
        if not isinstance(ar, dict):
            raise ApiError(400, "analyticsRequest must be an object")
        with self.state.lock:
            key_labels = [(k.id, k.name) for k in self.state.keys.values()]
        return Response.json(Usage(ar, key_labels).run())


class Usage:
    """POST usage: dense, zero-filled, deterministic time series (section 6.11)."""

    MAX_BUCKETS = 10000
    MAX_SERIES = 100
    UNITS = {"TIME_UNIT_SECOND": timedelta(seconds=1), "TIME_UNIT_MINUTE": timedelta(minutes=1),
             "TIME_UNIT_QUARTER_HOUR": timedelta(minutes=15), "TIME_UNIT_HOUR": timedelta(hours=1),
             "TIME_UNIT_DAY": timedelta(days=1), "TIME_UNIT_CALENDAR_WEEK": timedelta(weeks=1)}
    DESCRIPTIONS = ("grok-4-0709 input tokens", "grok-4-0709 output tokens",
                    "grok-3-mini input tokens", "grok-code-fast-1 output tokens")
    MODELS = ("grok-4-0709", "grok-3-mini", "grok-code-fast-1")

    def __init__(self, ar, key_labels):
        self.ar = ar
        self.key_labels = key_labels

    def run(self):
        tz, start, end = self._range()
        buckets = self._buckets(tz, start, end)
        values = self._values()
        groups, limited = self._groups()
        series = []
        for group_ids, labels in groups:
            points = [{"timestamp": b.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                       "values": [self._value(labels, name, b, width) for name in values]}
                      for b, width in buckets]
            series.append(msg(group=group_ids, groupLabels=labels, dataPoints=points))
        return msg(timeSeries=series, limitReached=limited)

    def _range(self):
        tr = self.ar.get("timeRange")
        if not isinstance(tr, dict):
            raise ApiError(400, "analyticsRequest.timeRange is required")
        tz = self._zone(tr.get("timezone") or "Etc/GMT")
        start = self._time(tr.get("startTime"), "startTime", tz)
        end = self._time(tr.get("endTime"), "endTime", tz)
        if start >= end:
            raise ApiError(400, "timeRange: startTime must be before endTime")
        return tz, start, end

    @staticmethod
    def _zone(name):
        if name in ("Etc/GMT", "UTC", "Etc/UTC", "GMT"):
            return timezone.utc
        try:
            from zoneinfo import ZoneInfo
            return ZoneInfo(name)
        except Exception:
            raise ApiError(400, "timeRange.timezone: unknown time zone %r" % name) from None

    @staticmethod
    def _time(value, name, tz):
        """'YYYY-MM-DD HH:MM:SS' local to tz (not ISO 8601, as the real API)."""
        if not isinstance(value, str):
            raise ApiError(400, "timeRange.%s is required" % name)
        try:
            dt = datetime.strptime(value.split(".")[0], "%Y-%m-%d %H:%M:%S")
        except ValueError:
            raise ApiError(400, "timeRange.%s: expected 'YYYY-MM-DD HH:MM:SS', got %r"
                           % (name, value)) from None
        return dt.replace(tzinfo=tz)

    def _buckets(self, tz, start, end):
        unit = self.ar.get("timeUnit") or "TIME_UNIT_NONE"
        if unit == "TIME_UNIT_NONE":
            return [(start, (end - start).total_seconds())]
        if unit == "TIME_UNIT_MONTH":
            step = None
        elif unit in self.UNITS:
            step = self.UNITS[unit]
        else:
            raise ApiError(400, "timeUnit: unknown value %r" % unit)
        out, cur = [], start
        while cur < end:
            nxt = self._next_month(cur) if step is None else cur + step
            out.append((cur, (min(nxt, end) - cur).total_seconds()))
            cur = nxt
            if len(out) > self.MAX_BUCKETS:
                raise ApiError(400, "time range has more than %d buckets" % self.MAX_BUCKETS)
        return out

    @staticmethod
    def _next_month(dt):
        first = dt.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        return first.replace(year=first.year + first.month // 12, month=first.month % 12 + 1)

    def _values(self):
        values = self.ar.get("values")
        if not isinstance(values, list) or not values:
            raise ApiError(400, "analyticsRequest.values must name at least one value")
        names = []
        for v in values:
            if not isinstance(v, dict) or not isinstance(v.get("name"), str) or not v["name"]:
                raise ApiError(400, "values[]: each needs a name")
            names.append(v["name"])
        return names

    def _groups(self):
        group_by = self.ar.get("groupBy") or []
        if not isinstance(group_by, list) or len(group_by) > 1:
            raise ApiError(400, "groupBy: at most one of description, model, api_key_id")
        if not group_by:
            return [([], [])], False
        dim = group_by[0]
        if dim == "description":
            groups = [([d], [d]) for d in self.DESCRIPTIONS]
        elif dim == "model":
            groups = [([m], [m]) for m in self.MODELS]
        elif dim == "api_key_id":
            groups = [([kid], [name]) for kid, name in self.key_labels]
        else:
            raise ApiError(400, "groupBy: unknown dimension %r" % dim)
        return groups[:self.MAX_SERIES], len(groups) > self.MAX_SERIES

    @staticmethod
    def _value(labels, name, bucket, width):
        """Deterministic per (group, value, bucket); zero in the future and on some days."""
        if bucket.timestamp() > time.time():
            return 0.0
        h = hashlib.sha256(("%s|%s|%d" % ("/".join(labels), name, bucket.timestamp()))
                           .encode("utf-8", "surrogateescape")).digest()
        if h[0] % 5 == 0:
            return 0.0
        daily = int.from_bytes(h[1:5], "big") / 2 ** 32 * 3.0
        scale = 1.0 if name == "usd" else 1000000.0
        return round(daily * scale * width / 86400.0, 4)


class CollectionsApi(ApiBase):
    """/v1/collections and their documents (section 7). snake_case."""

    ORDERS = ("ORDERING_UNKNOWN", "ORDERING_ASCENDING", "ORDERING_DESCENDING")
    COLL_SORTS = ("COLLECTIONS_SORT_BY_UNKNOWN", "COLLECTIONS_SORT_BY_NAME",
                  "COLLECTIONS_SORT_BY_AGE")
    DOC_SORTS = ("DOCUMENTS_SORT_BY_UNKNOWN", "DOCUMENTS_SORT_BY_NAME", "DOCUMENTS_SORT_BY_SIZE",
                 "DOCUMENTS_SORT_BY_AGE")

    def register(self, r):
        r.add("POST", "/v1/collections", self.create)
        r.add("GET", "/v1/collections", self.list)
        r.add("GET", "/v1/collections/{collection_id}", self.get)
        r.add("PUT", "/v1/collections/{collection_id}", self.update)
        r.add("DELETE", "/v1/collections/{collection_id}", self.delete)
        r.add("POST", "/v1/collections/{collection_id}/documents/{file_id}", self.add_file)
        r.add("POST", "/v1/collections/{collection_id}/documents", self.upload)
        r.add("GET", "/v1/collections/{collection_id}/documents", self.list_docs)
        r.add("GET", "/v1/collections/{collection_id}/documents/{file_id}", self.get_doc)
        r.add("PATCH", "/v1/collections/{collection_id}/documents/{file_id}", self.reindex)
        r.add("DELETE", "/v1/collections/{collection_id}/documents/{file_id}", self.delete_doc)
        r.add("GET", "/v1/collections/{collection_id}/documents:batchGet", self.batch_get)

    def body(self, req):
        body = snake_keys(req.json())
        team = body.get("team_id")
        if team and team != self.state.team_id:
            raise ApiError(403, "no access to team %s" % team)
        return body

    # -- collections ---------------------------------------------------------
    def create(self, req):
        body = self.body(req)
        name = as_str(body.get("collection_name"), "collection_name")
        if not name:
            raise ApiError(400, "collection_name must not be empty")
        chunk = self._chunk(body.get("chunk_configuration"))
        fdefs = [self._field_def(d) for d in body.get("field_definitions") or []]
        index = body.get("index_configuration") or {}
        model = as_str(index.get("model_name"), "model_name") if isinstance(index, dict) else ""
        with self.state.lock:
            coll = self.state.add_collection(new_id("collection_"), name, time.time(),
                                             as_str(body.get("collection_description"),
                                                    "collection_description"),
                                             fdefs, chunk, model or "grok-embedding-small")
            self.audit("Created collection '%s'" % name)
            return Response.json(self.wire.collection(coll))

    @staticmethod
    def _chunk(value):
        if value is None:
            return None
        if not isinstance(value, dict):
            raise ApiError(400, "chunk_configuration must be an object")
        strategies = [k for k in value if k.endswith("_configuration")]
        if len(strategies) != 1:
            raise ApiError(400, "chunk_configuration must set exactly one strategy")
        return value

    @staticmethod
    def _field_def(d):
        if not isinstance(d, dict) or not isinstance(d.get("key"), str) or not d["key"]:
            raise ApiError(400, "field_definitions[]: each needs a key")
        return {"key": d["key"], "required": as_bool(d.get("required"), "required"),
                "inject_into_chunk": as_bool(d.get("inject_into_chunk"), "inject_into_chunk"),
                "unique": as_bool(d.get("unique"), "unique"),
                "description": as_str(d.get("description"), "description")}

    def list(self, req):
        self._team_query(req)
        limit = req.qint("limit", 100, 100) or 100
        order = enum_arg(req.q("order"), self.ORDERS, "ORDERING_DESCENDING", "order")
        sort_by = enum_arg(req.q("sort_by"), self.COLL_SORTS, "COLLECTIONS_SORT_BY_NAME", "sort_by")
        terms = parse_filter(req.q("filter") or "")
        with self.state.lock:
            colls = [c for c in self.state.collections.values()
                     if filter_match(terms, lambda f, c=c: self._coll_field(c, f))]
            keyfn = (lambda c: (c.name, c.id)) if sort_by.endswith("NAME") else \
                (lambda c: (c.created, c.id))
            colls.sort(key=keyfn, reverse=order == "ORDERING_DESCENDING")
            page, nxt = Paginator.page("collections", colls, req.q("pagination_token"), limit)
            wire = self.wire
            return Response.json(msg(collections=[wire.collection(c) for c in page],
                                     pagination_token=nxt))

    @staticmethod
    def _coll_field(c, name):
        return {"collection_id": c.id, "collection_name": c.name, "documents_count": len(c.docs),
                "created_at": c.created}.get(name, KeyError)

    def _team_query(self, req):
        team = req.q("team_id")
        if team and team != self.state.team_id:
            raise ApiError(403, "no access to team %s" % team)

    def get(self, req):
        self._team_query(req)
        with self.state.lock:
            coll = self.state.collection(req.params["collection_id"])
            return Response.json(self.wire.collection(coll))

    def update(self, req):
        body = self.body(req)
        if "index_configuration" in body or "metric_space" in body:
            raise ApiError(400, "index_configuration and metric_space cannot be changed")
        chunk = self._chunk(body.get("chunk_configuration"))
        name = as_str(body.get("collection_name"), "collection_name")
        desc = body.get("collection_description")
        updates = body.get("field_definition_updates") or []
        if not isinstance(updates, list):
            raise ApiError(400, "field_definition_updates must be a list")
        with self.state.lock:
            coll = self.state.collection(req.params["collection_id"])
            for u in updates:
                self._apply_field_update(coll, u)
            if name:
                coll.name = name
            if desc is not None:
                coll.description = as_str(desc, "collection_description")
            if chunk is not None:
                coll.chunk = chunk
            self.audit("Updated collection '%s'" % coll.name)
            return Response.json(self.wire.collection(coll))

    def _apply_field_update(self, coll, u):
        if not isinstance(u, dict):
            raise ApiError(400, "field_definition_updates[]: expected objects")
        op = u.get("operation")
        fdef = self._field_def(u.get("field_definition"))
        existing = [d for d in coll.field_defs if d["key"] == fdef["key"]]
        if op == "FIELD_DEFINITION_ADD":
            if fdef["required"] and not existing:
                raise ApiError(400, "a new field definition cannot be required")
            coll.field_defs = [d for d in coll.field_defs if d["key"] != fdef["key"]] + [fdef]
        elif op == "FIELD_DEFINITION_DELETE":
            coll.field_defs = [d for d in coll.field_defs if d["key"] != fdef["key"]]
            for doc in coll.docs.values():
                doc.fields.pop(fdef["key"], None)
        else:
            raise ApiError(400, "field_definition_updates[].operation: unknown value %r" % op)

    def delete(self, req):
        self._team_query(req)
        with self.state.lock:
            coll = self.state.collection(req.params["collection_id"])
            del self.state.collections[coll.id]
            self.audit("Deleted collection '%s'" % coll.name)
        return Response.json({})

    # -- documents -------------------------------------------------------------
    def _check_fields(self, coll, fields, skip_id=None):
        for d in coll.field_defs:
            value = fields.get(d["key"])
            if d["required"] and not value:
                raise ApiError(400, "field %r is required in collection %s" % (d["key"], coll.id))
            if d["unique"] and value is not None:
                for other in coll.docs.values():
                    if other.file_id != skip_id and other.fields.get(d["key"]) == value:
                        raise ApiError(400, "field %r must be unique; %r is taken"
                                       % (d["key"], value))

    def add_file(self, req):
        body = self.body(req)
        fields = as_fields(body.get("fields"))
        with self.state.lock:
            coll = self.state.collection(req.params["collection_id"])
            f = self.state.live_file(req.params["file_id"])
            if f is None:
                raise ApiError(404, "File %s not found" % req.params["file_id"])
            if f.id in coll.docs:
                raise ApiError(409, "File %s is already in collection %s" % (f.id, coll.id))
            self._check_fields(coll, fields)
            doc = self.state.add_document(coll, f, fields, time.time(), status=DOC_PROCESSING)
            self.state.start_processing(doc)
            self.audit("Added file '%s' to collection '%s'" % (f.name, coll.name))
        return Response.json({})

    def upload(self, req):
        """Direct multipart upload: parts name, data, content_type, fields (JSON string)."""
        self._team_query(req)
        with self.state.lock:
            self.state.collection(req.params["collection_id"])
            spool = os.path.join(self.state.data_dir, "tmp")
        form = req.multipart(spool, {"data"})
        try:
            return self._finish_upload(req, form)
        finally:
            form.discard()

    def _finish_upload(self, req, form):
        data = form.file("data")
        if data is None:
            raise ApiError(400, "multipart part 'data' is required")
        name = form.text("name")
        name = name if name is not None else data.filename
        if not name:
            raise ApiError(400, "multipart part 'name' is required")
        ctype = form.text("content_type") or data.content_type or \
            mimetypes.guess_type(name)[0] or "application/octet-stream"
        fields = {}
        if form.text("fields"):
            try:
                fields = as_fields(loads(form.text("fields").encode("utf-8", "surrogateescape")))
            except ValueError:
                raise ApiError(400, "fields must be a JSON object encoded as a string") from None
        with self.state.lock:
            coll = self.state.collection(req.params["collection_id"])
            self._check_fields(coll, fields)
            file_id = new_id("file_")
            path = self.state.adopt_upload(data.sink.path, file_id)
            now = time.time()
            f = self.state.add_file(file_id, name, ctype, now, size=data.sink.size, path=path,
                                    sha256=data.sink.sha.hexdigest())
            doc = self.state.add_document(coll, f, fields, now, status=DOC_PROCESSING)
            self.state.start_processing(doc)
            self.audit("Uploaded document '%s' to collection '%s'" % (name, coll.name))
            return Response.json(self.wire.document(doc))

    def list_docs(self, req):
        self._team_query(req)
        limit = req.qint("limit", 100, 100) or 100
        order = enum_arg(req.q("order"), self.ORDERS, "ORDERING_ASCENDING", "order")
        sort_by = enum_arg(req.q("sort_by"), self.DOC_SORTS, "DOCUMENTS_SORT_BY_NAME", "sort_by")
        terms = parse_filter(req.q("filter") or "")
        if req.q("name"):
            terms.append(("name", ":", req.q("name")))
        with self.state.lock:
            coll = self.state.collection(req.params["collection_id"])
            docs = self.state.sorted_docs(coll, sort_by.rsplit("_", 1)[1].lower(),
                                          order == "ORDERING_DESCENDING")
            if terms:
                docs = [d for d in docs
                        if filter_match(terms, lambda f, d=d: self._doc_field(d, f))]
            page, nxt = Paginator.page("documents", docs, req.q("pagination_token"), limit)
            wire = self.wire
            return Response.json(msg(documents=[wire.document(d) for d in page],
                                     pagination_token=nxt))

    def _doc_field(self, doc, name):
        self.state.refresh(doc)
        f = self.state.files[doc.file_id]
        if name.startswith("fields."):
            return doc.fields.get(name[7:], "")
        return {"name": f.name, "content_type": f.content_type, "size_bytes": f.size,
                "created_at": f.created, "status": doc.status}.get(name, KeyError)

    def get_doc(self, req):
        self._team_query(req)
        with self.state.lock:
            coll = self.state.collection(req.params["collection_id"])
            doc = self.state.document(coll, req.params["file_id"])
            return Response.json(self.wire.document(doc))

    def reindex(self, req):
        self._team_query(req)
        with self.state.lock:
            coll = self.state.collection(req.params["collection_id"])
            self.state.start_processing(self.state.document(coll, req.params["file_id"]))
        return Response.json({})

    def delete_doc(self, req):
        self._team_query(req)
        with self.state.lock:
            coll = self.state.collection(req.params["collection_id"])
            doc = self.state.document(coll, req.params["file_id"])
            del coll.docs[doc.file_id]
            coll.sorted_cache.clear()
            self.audit("Removed document '%s' from collection '%s'"
                       % (self.state.files[doc.file_id].name, coll.name))
        return Response.json({})

    def batch_get(self, req):
        self._team_query(req)
        ids = req.qlist("file_ids")
        if not ids:
            raise ApiError(400, "file_ids is required")
        if len(ids) > 100:
            raise ApiError(400, "at most 100 file_ids per request")
        with self.state.lock:
            coll = self.state.collection(req.params["collection_id"])
            wire = self.wire
            docs = [wire.document(coll.docs[i]) for i in ids if i in coll.docs]
            return Response.json(msg(documents=docs))


class FilesApi(ApiBase):
    """api.x.ai: Files API, document search and inference-key whoami (section 8)."""

    def register(self, r):
        r.add("POST", "/v1/files", self.upload, INFERENCE)
        r.add("GET", "/v1/files", self.list, INFERENCE)
        r.add("GET", "/v1/files/{file_id}", self.get, INFERENCE)
        r.add("DELETE", "/v1/files/{file_id}", self.delete, INFERENCE)
        r.add("GET", "/v1/files/{file_id}/content", self.content, INFERENCE)
        r.add("POST", "/v1/documents/search", self.search, INFERENCE)
        r.add("GET", "/v1/api-key", self.whoami, INFERENCE)

    def upload(self, req):
        limit = self.app.config.files_max_bytes
        length = req.content_length()
        if length is not None and length > limit + 65536:
            raise ApiError(413, "file larger than the %d byte limit" % limit)
        with self.state.lock:
            spool = os.path.join(self.state.data_dir, "tmp")
        try:
            form = req.multipart(spool, {"file"}, limit)
        except TooLarge:
            raise ApiError(413, "file larger than the %d byte limit" % limit) from None
        try:
            return self._finish_upload(form)
        finally:
            form.discard()

    def _finish_upload(self, form):
        part = form.file("file")
        if part is None:
            raise ApiError(400, "multipart part 'file' is required")
        if not part.filename:
            raise ApiError(400, "the file part needs a filename")
        ttl = self._ttl(form)
        now = time.time()
        with self.state.lock:
            file_id = new_id("file_")
            path = self.state.adopt_upload(part.sink.path, file_id)
            f = self.state.add_file(file_id, part.filename,
                                    part.content_type or "application/octet-stream", now,
                                    size=part.sink.size, path=path,
                                    sha256=part.sink.sha.hexdigest(),
                                    purpose=form.text("purpose") or "",
                                    expires=now + ttl if ttl else None)
            return Response.json(Wire.file(f))

    @staticmethod
    def _ttl(form):
        names = [n for n in ("expires_after", "expires_after[seconds]") if n in form.parts]
        if not names:
            return None
        if form.order.index(names[0]) > form.order.index("file"):
            raise ApiError(400, "expires_after must come before the file part")
        raw = form.text(names[0]) or ""
        if not raw.isdigit() or not 3600 <= int(raw) <= 2592000:
            raise ApiError(400, "expires_after must be between 3600 and 2592000 seconds")
        return int(raw)

    def list(self, req):
        limit = req.qint("limit", 100, 10000) or 100
        order = req.q("order", "desc")
        sort_by = req.q("sort_by", "created_at")
        if order not in ("asc", "desc") or sort_by not in ("created_at", "filename", "size"):
            raise ApiError(400, "order must be asc|desc and sort_by created_at|filename|size")
        with self.state.lock:
            files = [f for f in self.state.sorted_files(sort_by, order == "desc")
                     if self.state.live_file(f.id) is not None]
            start = Paginator.offset("files", req.q("pagination_token"))
            after = req.q("after")
            if after:
                ids = [f.id for f in files]
                start = ids.index(after) + 1 if after in ids else len(files)
            page = files[start:start + limit]
            return Response.json({"data": [Wire.file(f) for f in page],
                                  "pagination_token": Paginator.token("files", start + len(page))})

    def _file(self, req):
        f = self.state.live_file(req.params["file_id"])
        if f is None:
            raise ApiError(404, "File %s not found" % req.params["file_id"])
        return f

    def get(self, req):
        with self.state.lock:
            return Response.json(Wire.file(self._file(req)))

    def delete(self, req):
        with self.state.lock:
            f = self._file(req)
            f.deleted = True
            self.state.files_version += 1
        return Response.json({"id": f.id, "deleted": True, "object": "file"})

    def content(self, req):
        with self.state.lock:
            f = self._file(req)
            path, size = f.path, f.size
            data = None if path else State.read_generated(f)
        first, last = self._range(req.headers.get("Range"), size)
        length = last - first + 1 if size else 0
        headers = [("Accept-Ranges", "bytes")]
        status = 200
        if req.headers.get("Range") and size:
            status = 206
            headers.append(("Content-Range", "bytes %d-%d/%d" % (first, last, size)))
        if data is not None:
            body = data[first:first + length]
            return Response(status, body, "application/octet-stream", headers)
        return Response(status, file_chunks(path, first, length), "application/octet-stream",
                        headers, length=length)

    @staticmethod
    def _range(header, size):
        """(first, last) byte of a 'bytes=a-b' / 'a-' / '-n' range (emulator convenience)."""
        if not header:
            return 0, size - 1
        m = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", header)
        if not m or (m.group(1) == "" and m.group(2) == ""):
            raise ApiError(416, "unsupported Range %r" % header,
                           [("Content-Range", "bytes */%d" % size)])
        if m.group(1) == "":
            n = int(m.group(2))
            first, last = max(size - n, 0), size - 1
        else:
            first = int(m.group(1))
            last = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
        if first >= size or first > last:
            raise ApiError(416, "range not satisfiable for %d bytes" % size,
                           [("Content-Range", "bytes */%d" % size)])
        return first, last

    def search(self, req):
        body = snake_keys(req.json())
        query = as_str(body.get("query"), "query")
        source = body.get("source") or {}
        cids = as_str_list(source.get("collection_ids") if isinstance(source, dict) else None,
                           "source.collection_ids")
        if not query or not cids:
            raise ApiError(400, "query and source.collection_ids are required")
        limit = as_int(body.get("limit"), "limit") or 10
        words = [w for w in re.findall(r"\w+", query.lower())]
        matches = []
        with self.state.lock:
            for cid in cids:
                coll = self.state.collection(cid)
                for doc in list(coll.docs.values())[:20000]:
                    matches.extend(self._doc_matches(coll, doc, words))
        matches.sort(key=lambda m: (-m["score"], m["file_id"], m["chunk_id"]))
        return Response.json(msg(matches=matches[:limit]))

    def _doc_matches(self, coll, doc, words):
        self.state.refresh(doc)
        f = self.state.files[doc.file_id]
        if doc.status != DOC_PROCESSED or f.size > CHUNK:
            return []
        if f.path:
            with open(f.path, "rb") as src:
                data = src.read()
        else:
            data = State.read_generated(f)
        text = data.decode("utf-8", "replace")
        out = []
        for i in range(0, len(text), 400):
            chunk = text[i:i + 400]
            hits = sum(chunk.lower().count(w) for w in words)
            if hits:
                out.append(msg(file_id=f.id, chunk_id=str(uuid.uuid5(uuid.NAMESPACE_URL,
                                                                      "%s/%d" % (f.id, i))),
                               chunk_content=chunk, score=round(hits / (1 + len(words)), 4),
                               collection_ids=[coll.id], fields=doc.fields or None))
        return out

    def whoami(self, req):
        ident = req.identity
        team = self.state.team_id
        if isinstance(ident, ApiKey):
            key_id, name, acls, created = ident.id, ident.name, ident.acls, ident.created
        else:
            key_id, name, acls = INFERENCE_KEY_ID, "emulator-inference-key", \
                ["api-key:endpoint:*", "api-key:model:*"]
            created = seed.BASE_TIME - 60 * seed.DAY + 0.5
        return Response.json({
            "redacted_api_key": redact(ident.secret if isinstance(ident, ApiKey)
                                       else self.app.config.api_key),
            "user_id": seed.OWNER["userId"], "name": name, "create_time": ts(created),
            "modify_time": ts(created), "modified_by": seed.OWNER["userId"], "team_id": team,
            "acls": acls, "api_key_id": key_id, "team_blocked": False,
            "api_key_blocked": False, "api_key_disabled": False})


def file_chunks(path, first, length):
    with open(path, "rb") as src:
        src.seek(first)
        while length > 0:
            data = src.read(min(CHUNK, length))
            if not data:
                return
            length -= len(data)
            yield data


# ===========================================================================
# Control API (/_emu/...): no auth, not counted, never faulted
# ===========================================================================

class Control:
    def __init__(self, app):
        self.app = app
        self.routes = {
            ("GET", "/_emu/health"): lambda req: {"ok": True},
            ("POST", "/_emu/reset"): self.reset,
            ("GET", "/_emu/stats"): lambda req: self.app.stats.snapshot(),
            ("POST", "/_emu/stats/reset"): self.stats_reset,
            ("GET", "/_emu/faults"): lambda req: self.app.faults.snapshot(),
            ("POST", "/_emu/faults"): self.set_faults,
            ("GET", "/_emu/state"): self.dump_state,
            ("POST", "/_emu/documents/status"): self.force_status,
        }

    def handle(self, req):
        fn = self.routes.get((req.method, req.path.rstrip("/") or "/"))
        if fn is None:
            return Response.error(404, "unknown control route %s %s" % (req.method, req.path))
        return Response.json(fn(req))

    def reset(self, req):
        body = req.json()
        cfg = self.app.config
        opts = {"seed": body.get("seed", cfg.seed), "keys": body.get("keys", cfg.keys),
                "collections": body.get("collections", cfg.collections),
                "documents": body.get("documents", cfg.documents)}
        if opts["seed"] not in seed.SEEDS:
            raise ApiError(400, "seed must be one of %s" % ", ".join(seed.SEEDS))
        for name in ("keys", "collections", "documents"):
            if not isinstance(opts[name], int) or isinstance(opts[name], bool) or opts[name] < 0:
                raise ApiError(400, "%s must be a non-negative integer" % name)
        if "files_max_bytes" in body:
            cfg.files_max_bytes = as_int(body["files_max_bytes"], "files_max_bytes", 64)
        self.app.faults.replace({})
        self.app.stats.reset()
        started = time.monotonic()
        self.app.load(opts["seed"], opts["keys"], opts["collections"], opts["documents"])
        return {"ok": True, "seed": opts["seed"], "seconds": round(time.monotonic() - started, 3)}

    def stats_reset(self, req):
        self.app.stats.reset()
        return {"ok": True}

    def set_faults(self, req):
        self.app.faults.replace(req.json())
        self.app.state.process_delay = self.app.faults.get("process_delay_s")
        return self.app.faults.snapshot()

    def dump_state(self, req):
        st = self.app.state
        with st.lock:
            wire = Wire(st)
            colls = []
            for c in st.collections.values():
                docs = []
                for d in c.docs.values():
                    doc = wire.document(d)
                    doc["sha256"] = st.file_sha256(st.files[d.file_id])
                    docs.append(doc)
                colls.append(dict(wire.collection(c), documents=docs))
            return {"team_id": st.team_id, "keys": [wire.key(k) for k in st.keys.values()],
                    "collections": colls,
                    "files": [Wire.file(f) for f in st.files.values() if st.live_file(f.id)],
                    "default_payment_method": st.billing["default_payment_method"]}

    def force_status(self, req):
        body = req.json()
        status = as_str(body.get("status"), "status")
        if not status.startswith("DOCUMENT_STATUS_"):
            status = "DOCUMENT_STATUS_" + status.upper()
        if status not in DOC_STATUSES:
            raise ApiError(400, "status must be one of %s" % ", ".join(DOC_STATUSES))
        st = self.app.state
        with st.lock:
            coll = st.collection(as_str(body.get("collection_id"), "collection_id"))
            doc = st.document(coll, as_str(body.get("file_id"), "file_id"))
            doc.status, doc.ready_at = status, None
            doc.error = as_str(body.get("error_message"), "error_message")
            doc.indexed = time.time() if status == DOC_PROCESSED else None
            return Wire(st).document(doc)


# ===========================================================================
# Application: configuration, dispatch, authentication
# ===========================================================================

@dataclass
class Config:
    mgmt_key: str = DEFAULT_MGMT_KEY
    api_key: str = DEFAULT_API_KEY
    team_id: str = DEFAULT_TEAM_ID
    seed: str = "sample"
    keys: int = 1000
    collections: int = 10
    documents: int = 100
    latency_ms: int = 0
    process_delay: float = 1.0
    files_max_bytes: int = FILES_MAX_BYTES
    quiet: bool = False


class App:
    """Holds the current State and routes each request through faults, auth and handlers."""

    def __init__(self, config):
        self.config = config
        self.root_dir = tempfile.mkdtemp(prefix="xai-emulator-")
        self.faults = Faults(config.latency_ms, config.process_delay)
        self.stats = Stats()
        self.state = None
        self.local = threading.local()      # .state: the State of this thread's request
        self.router = Router()
        for api in (KeysApi(self), TeamApi(self), BillingApi(self), CollectionsApi(self),
                    FilesApi(self)):
            api.register(self.router)
        self.control = Control(self)
        self.load(config.seed, config.keys, config.collections, config.documents)

    def load(self, seed_name, keys, collections, documents):
        data_dir = tempfile.mkdtemp(prefix="state-", dir=self.root_dir)
        state = State(self.config.team_id, data_dir, self.faults.get("process_delay_s"))
        seed.build(state, seed_name, {"keys": keys, "collections": collections,
                                      "documents": documents})
        old, self.state = self.state, state
        if old is not None:
            shutil.rmtree(old.data_dir, ignore_errors=True)

    def close(self):
        shutil.rmtree(self.root_dir, ignore_errors=True)

    def handle(self, req):
        """Response for one request; never raises."""
        try:
            if req.path == "/_emu" or req.path.startswith("/_emu/"):
                return self.control.handle(req)
            return self._handle_api(req)
        except ApiError as e:
            return Response.error(e.status, e.message, e.headers)
        except Exception:
            traceback.print_exc()
            return Response.error(500, "emulator error")

    def _handle_api(self, req):
        self.local.state = state = self.state
        route, found = self.router.match(req.method, req.path)
        self.stats.count(req.method, route.key if route else None)
        latency = self.faults.get("latency_ms")
        if latency:
            time.sleep(latency / 1000.0)
        fault = self.faults.take(route.key if route else None, req.path)
        if fault == "drop":
            resp = Response()
            resp.fault = "drop"
            return resp
        if fault == "fail":
            return self.faults.failure()
        if route is None:
            if found:
                return Response(405, b"Method Not Allowed", "text/plain; charset=utf-8",
                                [("Allow", ", ".join(sorted(set(found))))])
            return Response.text(404, "Not Found")
        req.route, req.params = route, found
        try:
            self._authenticate(req, route, state)
            resp = route.handler(req)
        except ApiError as e:
            resp = Response.error(e.status, e.message, e.headers)
        return self.faults.spoil(fault, resp) if fault else resp

    def _authenticate(self, req, route, state):
        auth = req.headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        token = token.strip() if scheme.lower() == "bearer" else ""
        if route.auth == MGMT:
            if not same_secret(token, self.config.mgmt_key):
                raise ApiError(401, MSG_BAD_MGMT_KEY)
            team = req.params.get("teamId") or req.params.get("team_id")
            if team is not None and team != state.team_id:
                raise ApiError(403, "The management key has no access to team %s" % team)
            return
        if same_secret(token, self.config.api_key):
            req.identity = "inference"
            return
        with state.lock:
            key = state.key_by_secret(token) if token else None
        if key is None:
            raise ApiError(401, MSG_BAD_API_KEY)
        req.identity = key


# ===========================================================================
# HTTP
# ===========================================================================

def same_secret(token, secret):
    """Constant-time comparison; an empty token never matches."""
    return bool(token) and secrets.compare_digest(token.encode("utf-8", "surrogateescape"),
                                                  secret.encode())


def printable(text):
    """A path or message safe for one log line: control bytes escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "xai-emulator/1.0"
    sys_version = ""
    timeout = 300           # idle keep-alive connections are closed after this

    def version_string(self):
        return self.server_version

    def setup(self):
        super().setup()
        # Headers and body are separate writes; without NODELAY, Nagle plus the client's
        # delayed ACK would add ~40 ms to every keep-alive response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self):
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _serve(self):
        started = time.monotonic()
        app = self.server.app
        req = Request(self)
        resp = app.handle(req)
        if resp.fault == "drop":
            self._drop()
            sent = "dropped"
        else:
            if not req.body_done():
                self.close_connection = True
            sent = self._send(resp)
        if not app.config.quiet:
            self._log("%s %s -> %s %s %.1fms" % (req.method, printable(self.path), resp.status,
                                                   sent, (time.monotonic() - started) * 1000))

    def _send(self, resp):
        """Write the response; a 'truncate' fault sends half the body and closes."""
        truncate = resp.fault == "truncate"
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.ctype)
        self.send_header("Content-Length", str(resp.length))
        for name, value in resp.headers:
            self.send_header(name, value)
        if self.close_connection or truncate:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        limit = resp.length // 2 if truncate else resp.length
        written = 0
        try:
            for chunk in resp.chunks():
                chunk = chunk[:limit - written]
                if chunk:
                    self.wfile.write(chunk)
                    written += len(chunk)
                if written >= limit:
                    break
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            return "%d/%dB (client went away)" % (written, resp.length)
        if truncate:
            self._drop()
            return "%d/%dB (truncated)" % (written, resp.length)
        return "%dB" % written

    def _drop(self):
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def log_request(self, code="-", size="-"):
        pass                    # _serve logs one line per request itself

    def log_message(self, fmt, *args):
        if not self.server.app.config.quiet:
            self._log(printable(fmt % args))

    @staticmethod
    def _log(line):
        sys.stderr.write("[xai-emulator] %s\n" % line)
        sys.stderr.flush()


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, app, family=socket.AF_INET):
        self.address_family = family
        self.app = app
        super().__init__(address, Handler)

    def server_bind(self):
        # HTTPServer.server_bind would call socket.getfqdn(), a DNS lookup; skip it.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


# ===========================================================================
# main
# ===========================================================================

def loopback_address(host):
    """(address, family) for a loopback host; raises ValueError for anything else."""
    if host == "localhost":
        host = "127.0.0.1"
    addr = ipaddress.ip_address(host)
    if not addr.is_loopback:
        raise ValueError("refusing to bind %s: the emulator binds loopback addresses only" % host)
    return str(addr), socket.AF_INET6 if addr.version == 6 else socket.AF_INET


def write_port_file(path, port):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as out:
        out.write("%d\n" % port)
    os.replace(tmp, path)


def parse_args(argv):
    p = argparse.ArgumentParser(description="xAI Management API emulator (loopback only)")
    p.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--port-file", help="write the port here once listening")
    p.add_argument("--seed", default="sample", choices=seed.SEEDS)
    p.add_argument("--keys", type=int, default=1000, help="large seed: number of API keys")
    p.add_argument("--collections", type=int, default=10, help="large seed: collections")
    p.add_argument("--documents", type=int, default=100, help="large seed: documents each")
    p.add_argument("--latency-ms", type=int, default=0, help="delay before every API response")
    p.add_argument("--process-delay", type=float, default=1.0,
                   help="seconds a document stays PROCESSING")
    p.add_argument("--files-max-bytes", type=int, default=FILES_MAX_BYTES,
                   help="Files API upload limit (413 above)")
    p.add_argument("--mgmt-key", default=DEFAULT_MGMT_KEY)
    p.add_argument("--api-key", default=DEFAULT_API_KEY)
    p.add_argument("--team-id", default=DEFAULT_TEAM_ID)
    p.add_argument("--quiet", action="store_true", help="no per-request log lines")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        host, family = loopback_address(args.host)
    except ValueError as e:
        sys.stderr.write("xai-emulator: %s\n" % e)
        return 2
    config = Config(args.mgmt_key, args.api_key, args.team_id, args.seed, args.keys,
                    args.collections, args.documents, args.latency_ms, args.process_delay,
                    args.files_max_bytes, args.quiet)
    app = App(config)
    server = EmulatorServer((host, args.port), app, family)
    port = server.server_address[1]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    thread = threading.Thread(target=server.serve_forever, name="serve", daemon=True)
    thread.start()
    if args.port_file:
        write_port_file(args.port_file, port)
    if not args.quiet:
        sys.stderr.write("[xai-emulator] listening on http://%s:%d (seed %s)\n"
                         % (host if family == socket.AF_INET else "[%s]" % host, port, args.seed))
    while not stop.wait(0.5):
        pass
    server.shutdown()
    server.server_close()
    app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
