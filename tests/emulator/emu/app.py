"""The application: the current State, the route table, and the dispatch of one request
through stats, latency, faults, routing, authentication and its handler.

App.state is replaced whole by a reset; each request pins the State it started with in
App.local, so a reset never changes data under a running request.
"""

import shutil
import tempfile
import threading
import time
import traceback

from . import seed
from .bearer import authenticate
from .control import Control
from .exchange import Response
from .faults import Faults
from .routes_auth import KeysApi, TeamApi
from .routes_billing import BillingApi
from .routes_collections import CollectionsApi
from .routes_files import FilesApi
from .routing import Router
from .state import State
from .stats import Stats
from .variants import Variants
from .wire import ApiError


class App:
    """Holds the current State and routes each request through faults, auth and handlers."""

    def __init__(self, config):
        self.config = config
        self.root_dir = tempfile.mkdtemp(prefix="xai-emulator-")
        self.faults = Faults(config.latency_ms, config.process_delay)
        self.stats = Stats()
        self.variants = Variants()
        self.state = None
        self.local = threading.local()      # .state: the State of this thread's request
        self.router = Router()
        for api in (KeysApi(self), TeamApi(self), BillingApi(self), CollectionsApi(self),
                    FilesApi(self)):
            api.register(self.router)
        self.control = Control(self)
        self.load(config.seed, config.keys, config.collections, config.documents)

    def load(self, seed_name, keys, collections, documents):
        data_dir = tempfile.mkdtemp(prefix="state-", dir=self.root_dir)
        state = State(self.config.team_id, data_dir, self.faults.get("process_delay_s"))
        seed.build(state, seed_name, {"keys": keys, "collections": collections,
                                      "documents": documents})
        old, self.state = self.state, state
        if old is not None:
            shutil.rmtree(old.data_dir, ignore_errors=True)

    def close(self):
        shutil.rmtree(self.root_dir, ignore_errors=True)

    def handle(self, req):
        """Response for one request; never raises."""
        try:
            if req.path == "/_emu" or req.path.startswith("/_emu/"):
                return self.control.handle(req)
            return self._handle_api(req)
        except ApiError as e:
            return Response.error(e.status, e.message, e.headers)
        except Exception:
            traceback.print_exc()
            return Response.error(500, "emulator error")

    def _handle_api(self, req):
        self.local.state = state = self.state
        route, found = self.router.match(req.method, req.path)
        self.stats.count(req.method, route.key if route else None)
        latency = self.faults.get("latency_ms")
        if latency:
            time.sleep(latency / 1000.0)
        fault = self.faults.take(route.key if route else None, req.path)
        if fault == "drop":
            resp = Response()
            resp.fault = "drop"
            return resp
        if fault == "fail":
            return self.faults.failure()
        retry = self.variants.rate_limited(route.key) if route else None
        if retry is not None:
            return Response.error(429, "Rate limit exceeded: too many requests",
                                  [("Retry-After", retry)] if retry else [])
        if route is None:
            if found:
                return Response(405, b"Method Not Allowed", "text/plain; charset=utf-8",
                                [("Allow", ", ".join(sorted(set(found))))])
            return Response.text(404, "Not Found")
        req.route, req.params = route, found
        try:
            authenticate(req, route, state, self.config)
            resp = route.handler(req)
        except ApiError as e:
            resp = Response.error(e.status, e.message, e.headers)
        if fault == "drop_after":
            resp.fault = "drop"
        elif fault == "hang_after":
            time.sleep(self.faults.get("hang_ms") / 1000.0)
        return self.faults.spoil(fault, resp) if fault else resp
