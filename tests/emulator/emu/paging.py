"""Pagination tokens: opaque base64 (kind, offset, anchor) triples. The kind makes a
token of one list useless for another; the anchor (the id of the last item returned)
keeps paging right while other clients add or remove items between pages, as a real
cursor does: the next page starts after the anchor wherever it now stands.
"""

import base64

from .wire import ApiError


class Paginator:
    """Opaque offset tokens, one kind per list so tokens cannot be mixed up."""

    @staticmethod
    def ident(item):
        for attr in ("id", "file_id"):
            if hasattr(item, attr):
                return str(getattr(item, attr))
        if isinstance(item, dict):
            return str(item.get("eventId", ""))
        return ""

    @staticmethod
    def token(kind, offset, anchor=""):
        raw = "%s:%d:%s" % (kind, offset, anchor)
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @staticmethod
    def decode(kind, token):
        """(offset, anchor) of a token; (0, "") for none."""
        if not token:
            return 0, ""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            got_kind, _, rest = raw.partition(":")
            num, _, anchor = rest.partition(":")
            if got_kind == kind and num.isdigit():
                return int(num), anchor
        except (ValueError, UnicodeDecodeError):
            pass
        raise ApiError(400, "invalid pagination token")

    @classmethod
    def offset(cls, kind, token):
        return cls.decode(kind, token)[0]

    @classmethod
    def page(cls, kind, items, token, size):
        """(page items, next token or None). size 0 = everything."""
        start, anchor = cls.decode(kind, token)
        if anchor and not (0 < start <= len(items) and cls.ident(items[start - 1]) == anchor):
            where = [i for i, it in enumerate(items) if cls.ident(it) == anchor]
            if where:
                start = where[0] + 1
        if not size:
            return items[start:], None
        end = start + size
        nxt = cls.token(kind, end, cls.ident(items[end - 1])) if end < len(items) else None
        return items[start:end], nxt
