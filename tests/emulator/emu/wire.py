"""Wire encoding: the proto3 JSON conventions, the gateway error and typed request values.

Owns how values look on the wire and how request values are checked (xai-api.md sections 1
and 2): RFC 3339 timestamps, int64 as strings, the Cent message, default values left out,
JSON bytes (invalid UTF-8 travels as raw bytes through surrogate escapes), camelCase input
turned snake_case, enum query values, and ApiError, which any layer raises to answer
{"code": <gRPC status text>, "error": <message>}. Pure functions, no state.
"""

import json
import re
from datetime import datetime, timezone


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


def enum_arg(raw, names, default, what):
    """An enum query value: its full name or its number (proto3 accepts both)."""
    if raw is None or raw == "":
        return default
    if raw.isdigit() and int(raw) < len(names):
        raw = names[int(raw)]
    if raw not in names:
        raise ApiError(400, "%s: unknown value %r" % (what, raw))
    return raw if raw != names[0] else default
