"""The control API under /_emu/: health, reset, stats, faults, a state dump and forced
document status. No auth, not counted in stats, never faulted.
"""

import time

from . import seed
from .exchange import Response
from .shapes import Shapes
from .state import DOC_PROCESSED, DOC_STATUSES
from .wire import ApiError, as_int, as_str, ts


class Control:
    """Dispatches /_emu/ requests; handlers return a JSON object (or raise ApiError)."""

    def __init__(self, app):
        self.app = app
        self.routes = {
            ("GET", "/_emu/health"): lambda req: {"ok": True},
            ("POST", "/_emu/reset"): self.reset,
            ("GET", "/_emu/stats"): lambda req: self.app.stats.snapshot(),
            ("POST", "/_emu/stats/reset"): self.stats_reset,
            ("GET", "/_emu/faults"): lambda req: self.app.faults.snapshot(),
            ("POST", "/_emu/faults"): self.set_faults,
            ("GET", "/_emu/variants"): lambda req: self.app.variants.snapshot(),
            ("POST", "/_emu/variants"): self.set_variants,
            ("GET", "/_emu/state"): self.dump_state,
            ("POST", "/_emu/documents/status"): self.force_status,
        }

    def handle(self, req):
        fn = self.routes.get((req.method, req.path.rstrip("/") or "/"))
        if fn is None:
            return Response.error(404, "unknown control route %s %s" % (req.method, req.path))
        return Response.json(fn(req))

    def reset(self, req):
        body = req.json()
        cfg = self.app.config
        opts = {"seed": body.get("seed", cfg.seed), "keys": body.get("keys", cfg.keys),
                "collections": body.get("collections", cfg.collections),
                "documents": body.get("documents", cfg.documents)}
        if opts["seed"] not in seed.SEEDS:
            raise ApiError(400, "seed must be one of %s" % ", ".join(seed.SEEDS))
        for name in ("keys", "collections", "documents"):
            if not isinstance(opts[name], int) or isinstance(opts[name], bool) or opts[name] < 0:
                raise ApiError(400, "%s must be a non-negative integer" % name)
        if "files_max_bytes" in body:
            cfg.files_max_bytes = as_int(body["files_max_bytes"], "files_max_bytes", 64)
        self.app.faults.replace({})
        self.app.variants.replace({})
        self.app.stats.reset()
        started = time.monotonic()
        self.app.load(opts["seed"], opts["keys"], opts["collections"], opts["documents"])
        return {"ok": True, "seed": opts["seed"], "seconds": round(time.monotonic() - started, 3)}

    def stats_reset(self, req):
        self.app.stats.reset()
        return {"ok": True}

    def set_faults(self, req):
        self.app.faults.replace(req.json())
        self.app.state.process_delay = self.app.faults.get("process_delay_s")
        return self.app.faults.snapshot()

    def set_variants(self, req):
        self.app.variants.replace(req.json())
        return self.app.variants.snapshot()

    def dump_state(self, req):
        st = self.app.state
        with st.lock:
            shapes = Shapes(st)
            colls = []
            for c in st.collections.values():
                docs = []
                for d in c.docs.values():
                    doc = shapes.document(d)
                    doc["sha256"] = st.file_sha256(st.files[d.file_id])
                    docs.append(doc)
                colls.append(dict(shapes.collection(c), documents=docs))
            keys = []
            for k in st.keys.values():
                key = shapes.key(k)
                if k.old_secret_expire is not None:
                    key["_oldSecretExpireTime"] = ts(k.old_secret_expire)
                keys.append(key)
            return {"team_id": st.team_id, "keys": keys,
                    "collections": colls,
                    "files": [Shapes.file(f) for f in st.files.values() if st.live_file(f.id)],
                    "default_payment_method": st.billing["default_payment_method"]}

    def force_status(self, req):
        body = req.json()
        status = as_str(body.get("status"), "status")
        if not status.startswith("DOCUMENT_STATUS_"):
            status = "DOCUMENT_STATUS_" + status.upper()
        if status not in DOC_STATUSES:
            raise ApiError(400, "status must be one of %s" % ", ".join(DOC_STATUSES))
        st = self.app.state
        with st.lock:
            coll = st.collection(as_str(body.get("collection_id"), "collection_id"))
            doc = st.document(coll, as_str(body.get("file_id"), "file_id"))
            doc.status, doc.ready_at = status, None
            doc.error = as_str(body.get("error_message"), "error_message")
            doc.indexed = time.time() if status == DOC_PROCESSED else None
            return Shapes(st).document(doc)
