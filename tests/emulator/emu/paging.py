"""Pagination tokens: opaque base64 offsets tagged with the kind of list they belong to,
so a token of one list is refused by another.
"""

import base64

from .wire import ApiError


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
