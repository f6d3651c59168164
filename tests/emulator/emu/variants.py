"""Variants: legal readings of what the real API leaves open ([G] in xai-api.md), one
switch each, set through /_emu/variants. Faults (faults.py) make the server misbehave;
variants make it behave in another way the public reference allows, so a client can be
tested against each reading.

Variants.lock guards the settings and the rate limiter's bucket; nothing else is taken
while it is held.
"""

import threading
import time

from .wire import ApiError


class Variants:
    """The switches (each POST /_emu/variants replaces them all; missing = default):

    upload_answer    "document" (DocumentMetadata), "empty" ({}) or "id" ({"file_id": ..})
                     as the answer of the direct upload (route #28)
    last_page_token  "absent" or "empty": how a listing's last page says it is the last;
                     "endless": it never says so: the last page and every page after it
                     carry a fresh token, and the pages after it are empty
    repeat_token     listings answer a page asked for with a token with that same token
    key_scope        "team", or "organization": the management key is organization
                     scoped (validation: SCOPE_ORGANIZATION, scopeId an org id, no teamId)
    prepaid_only     the postpaid routes (spending limits, invoice preview) answer 403
    strict_accept    file content answers 406 unless Accept admits application/octet-stream
    keys_page_size   null, or n: the page size of the keys route when the request
                     sends no pageSize (a server that pages anyway)
    rate_limit       null, or {"route": METHOD template, "burst": n, "per_s": r,
                     "retry_after": s|null}: a token bucket in front of that route's
                     handler; a request finding it empty gets 429 (not carried out)
    """

    DEFAULTS = {"upload_answer": "document", "last_page_token": "absent",
                "repeat_token": False, "key_scope": "team", "prepaid_only": False,
                "strict_accept": False, "rate_limit": None, "keys_page_size": None}
    CHOICES = {"upload_answer": ("document", "empty", "id"),
               "last_page_token": ("absent", "empty", "endless"),
               "key_scope": ("team", "organization")}
    ORG_ID = "org_5f0e2b7c-1a3d-4c9e-8b6f-2d4a7e9c1b30"

    def __init__(self):
        self.lock = threading.Lock()
        self.settings = dict(self.DEFAULTS)
        self.bucket = 0.0
        self.bucket_at = 0.0
        self.limited = 0            # requests refused by rate_limit since it was set

    def replace(self, body):
        if not isinstance(body, dict):
            raise ApiError(400, "variants must be a JSON object")
        new = dict(self.DEFAULTS)
        for name, value in body.items():
            if name not in new:
                raise ApiError(400, "unknown variant %r" % name)
            new[name] = self._check(name, value)
        with self.lock:
            self.settings = new
            self.limited = 0
            if new["rate_limit"]:
                self.bucket, self.bucket_at = new["rate_limit"]["burst"], time.monotonic()

    def _check(self, name, value):
        if value is None:
            return self.DEFAULTS[name]
        if name in self.CHOICES:
            if value in self.CHOICES[name]:
                return value
        elif name == "rate_limit":
            return self._check_rate(value)
        elif name == "keys_page_size":
            if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
                return value
        elif isinstance(value, bool):
            return value
        raise ApiError(400, "bad value for %s: %r" % (name, value))

    @staticmethod
    def _check_rate(value):
        ok = (isinstance(value, dict) and isinstance(value.get("route"), str)
              and isinstance(value.get("burst", 1), int) and value.get("burst", 1) >= 1
              and isinstance(value.get("per_s", 1), (int, float)) and value.get("per_s", 1) > 0
              and (value.get("retry_after") is None
                   or isinstance(value.get("retry_after"), int)))
        if not ok or set(value) - {"route", "burst", "per_s", "retry_after"}:
            raise ApiError(400, "rate_limit must be {route, burst >= 1, per_s > 0, "
                                "retry_after: int|null}")
        return {"route": value["route"], "burst": value.get("burst", 1),
                "per_s": float(value.get("per_s", 1)), "retry_after": value.get("retry_after")}

    def snapshot(self):
        with self.lock:
            return dict(self.settings, limited=self.limited)

    def get(self, name):
        with self.lock:
            return self.settings[name]

    def rate_limited(self, route_key):
        """Retry-After value ("" for none) when this request must get 429, else None."""
        with self.lock:
            rl = self.settings["rate_limit"]
            if not rl or route_key != rl["route"]:
                return None
            now = time.monotonic()
            self.bucket = min(rl["burst"], self.bucket + (now - self.bucket_at) * rl["per_s"])
            self.bucket_at = now
            if self.bucket >= 1:
                self.bucket -= 1
                return None
            self.limited += 1
            return "" if rl["retry_after"] is None else str(rl["retry_after"])

    def page_token(self, asked, nxt, endless):
        """The next-page token a listing answers with, given the token it was asked with;
        endless() makes a fresh token past the end of the list."""
        with self.lock:
            repeat, last = self.settings["repeat_token"], self.settings["last_page_token"]
        if repeat and asked:
            return asked
        if nxt is None and last == "empty":
            return ""
        if nxt is None and last == "endless":
            return endless()
        return nxt
