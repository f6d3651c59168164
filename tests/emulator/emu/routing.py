"""The route table of xai-api.md section 0, and ApiBase, the base of each API family.

Router matches METHOD + raw path against the templates ({name} is one path segment,
%3A matches ':'); each Route names its handler and the key it takes (MGMT or INFERENCE).
ApiBase gives a family the State of the current request, its Shapes and the audit log.
"""

import re
import time
from dataclasses import dataclass
from urllib.parse import unquote

from .exchange import Response
from .paging import Paginator
from .shapes import Shapes

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


class ApiBase:
    """One API family: register(router) adds its routes; handlers take a Request and
    return a Response or raise ApiError."""

    def __init__(self, app):
        self.app = app

    @property
    def state(self):
        """The State this request started with (a reset may swap app.state meanwhile)."""
        return getattr(self.app.local, "state", None) or self.app.state

    @property
    def shapes(self):
        return Shapes(self.state)

    def listing(self, obj, token_name, asked, nxt, kind, total):
        """A listing's answer: obj (a proto3 message) with its next-page token as the
        variants say (absent on the last page, or empty, or endless; or the asked token
        repeated). kind and total (the list's length) make tokens past the end."""
        def endless():
            return Paginator.token(kind, max(Paginator.offset(kind, asked), total) + 1)
        token = self.app.variants.page_token(asked, nxt, endless)
        if token is not None:
            obj[token_name] = token
        return Response.json(obj)

    def audit(self, description):
        self.state.add_audit(time.time(), description)
