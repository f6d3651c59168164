"""The `filter` query parameter of the collection and document lists (an AIP-160-like
subset): terms field:value, field:"partial", field:!x, field:>n joined by AND.
"""

import re

from .wire import ApiError, parse_rfc3339


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
