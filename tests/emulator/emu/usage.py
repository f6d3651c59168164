"""Usage analytics for POST .../usage (xai-api.md section 6.11): dense, zero-filled,
deterministic time series computed from the request and the key names alone.
"""

import hashlib
import time
from datetime import datetime, timedelta, timezone

from .wire import ApiError, msg


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
