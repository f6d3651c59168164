"""Request counters for /_emu/stats: total, mutating, unmatched and per route, keyed by
"METHOD /route/{template}", and the TCP connections accepted. Stats.lock guards them;
the control API is never counted (its connections are: a test resets before it acts).
"""

import threading


class Stats:
    """Request counters keyed by "METHOD /route/{template}" (control API not counted)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with getattr(self, "lock"):
            self.total = 0
            self.mutating = 0
            self.unmatched = 0
            self.routes = {}
            self.connections = 0

    def connected(self):
        with self.lock:
            self.connections += 1

    def count(self, method, route_key):
        with self.lock:
            self.total += 1
            if method != "GET":
                self.mutating += 1
            if route_key is None:
                self.unmatched += 1
            else:
                self.routes[route_key] = self.routes.get(route_key, 0) + 1

    def snapshot(self):
        with self.lock:
            return {"total": self.total, "mutating": self.mutating,
                    "unmatched": self.unmatched, "connections": self.connections,
                    "routes": dict(sorted(self.routes.items()))}
