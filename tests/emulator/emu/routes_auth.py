"""Routes of the auth and audit services (xai-api.md sections 3-5), camelCase: API keys
(create, list, update, rotate, delete, propagation), models, endpoint ACLs, management-key
validation and audit events.
"""

import time

from . import seed
from .config import MGMT_KEY_ID
from .exchange import Response
from .paging import Paginator
from .routing import ApiBase
from .state import new_id, new_secret
from .wire import (ApiError, as_bool, as_int, as_str, as_str_list, msg, parse_rfc3339, prune,
                   redact, ts)


class KeysApi(ApiBase):
    """/auth/... API keys (section 4). camelCase."""

    MASK_PATHS = ("name", "aclStrings", "qps", "qpm", "tpm", "disabled", "expireTime")
    OLD_SECRET_GRACE_S = 24 * 3600      # the documented default of oldSecretExpireTime

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
            return Response.json(self.shapes.key(key, with_secret=True))

    def list(self, req):
        size = req.qint("pageSize") or self.app.variants.get("keys_page_size")
        token = req.q("paginationToken")
        active = req.qbool("activeOnly")
        acl_filters = req.qlist("aclFilters")
        now = time.time()
        with self.state.lock:
            keys = [k for k in self.state.keys.values()
                    if (not active or k.expire is None or k.expire > now)
                    and all(a in k.acls for a in acl_filters)]
            page, nxt = Paginator.page("keys", keys, token, size)
            shapes = self.shapes
            return self.listing(msg(apiKeys=[shapes.key(k) for k in page]), "paginationToken",
                                token, nxt, "keys", len(keys))

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
            return Response.json(self.shapes.key(key))

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
        old = now + self.OLD_SECRET_GRACE_S
        if body.get("oldSecretExpireTime"):
            old = parse_rfc3339(body["oldSecretExpireTime"], "oldSecretExpireTime")
            if old > now + 7 * 86400:
                raise ApiError(400, "oldSecretExpireTime may be at most 7 days ahead")
        with self.state.lock:
            key = self.state.key(req.params["apiKeyId"])
            # The old secret keeps working until oldSecretExpireTime (default 24 h),
            # for a key that has not expired.
            if key.expire is None or key.expire > now:
                key.old_secret, key.old_secret_expire = key.secret, old
            key.secret = new_secret()
            key.modified = now
            key.propagating_since = time.monotonic()
            if expire is not None:
                key.expire = expire
            self.audit("Rotated API key '%s'" % key.name)
            return Response.json(self.shapes.key(key, with_secret=True))

    def delete(self, req):
        with self.state.lock:
            key = self.state.key(req.params["apiKeyId"])
            del self.state.keys[key.id]
            self.audit("Deleted API key '%s'" % key.name)
        return Response.json({})

    def propagation(self, req):
        with self.state.lock:
            return Response.json(self.shapes.propagation(self.state.key(req.params["apiKeyId"])))


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
        scope, scope_id = "SCOPE_TEAM", team
        if self.app.variants.get("key_scope") == "organization":
            # An organization-scoped key names its organization and no team.
            scope, scope_id, team = "SCOPE_ORGANIZATION", self.app.variants.ORG_ID, None
        return Response.json(msg(
            apiKeyId=MGMT_KEY_ID, teamId=team, scope=scope, scopeId=scope_id,
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
            return self.listing(msg(events=[self.shapes.audit_event(e) for e in page]),
                                "nextPageToken", req.q("pageToken"), nxt, "audit", len(events))

    @staticmethod
    def _time_arg(req, name):
        raw = req.q(name)
        return parse_rfc3339(raw, name) if raw else None
