"""Request and Response: what a route handler receives and what it returns.

Request wraps one HTTP request's method, path, query and headers, and reads its body on
demand (JSON, multipart, or drained so the connection can be reused). Response is a
status, headers and a body of bytes or of streamed chunks with a known length; gateway
error bodies are made here.
"""

import re
from urllib.parse import parse_qs, urlsplit

from .body import BodyReader
from .multipart import MultipartParser, parse_params
from .wire import GRPC_TEXT, ApiError, dumps, loads

JSON_MAX_BYTES = 16 * 1024 * 1024       # largest JSON request body we read

DRAIN_MAX_BYTES = 512 * 1024 * 1024     # unread bodies up to this are drained, else close


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
