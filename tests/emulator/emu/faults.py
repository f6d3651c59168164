"""Fault injection: the settings of /_emu/faults and what a request suffers from them.

Faults.lock guards the settings; take() picks and counts down a fault in one step, so no
counted fault is shared by two requests. The transforms that spoil a finished response
(malformed, oversize, wrong types) live here too.
"""

import json
import threading

from .exchange import Response
from .wire import ApiError, dumps


class Faults:
    """Fault settings. Each POST /_emu/faults replaces them all (missing = default).

    Counted faults (*_next) each spoil that many matching requests, one fault per
    request, tried in the order of ORDER. fail and drop stop the request before it is
    carried out; malformed, truncate, oversize and wrong_types carry it out and spoil
    only the response. drop_after carries it out and closes the connection without an
    answer; hang_after carries it out and holds the answer for hang_ms (a client with a
    shorter timeout gives up first): for both the client cannot know the outcome."""

    ORDER = ("drop_next", "fail_next", "drop_after_next", "hang_after_next", "truncate_next",
             "malformed_next", "oversize_next", "wrong_types_next")

    def __init__(self, latency_ms=0, process_delay_s=1.0):
        self.lock = threading.Lock()
        self.defaults = {"latency_ms": latency_ms, "fail_next": 0, "fail_status": 503,
                         "retry_after": None, "fail_route": None, "malformed_next": 0,
                         "truncate_next": 0, "drop_next": 0, "oversize_next": 0,
                         "oversize_bytes": 80 * 1024 * 1024, "wrong_types_next": 0,
                         "drop_after_next": 0, "hang_after_next": 0, "hang_ms": 10000,
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
