"""JSON shapes of stored records (xai-api.md sections 4-8): the one place where a key,
collection, document, file or audit event becomes a response object.

Callers hold State.lock: rendering a document may move it from PROCESSING to PROCESSED
and rendering file metadata may compute and cache a hash.
"""

import time

from . import seed
from .wire import i64, msg, prune, redact, ts


class Shapes:
    """JSON shapes of stored records, per xai-api.md sections 4-8."""

    def __init__(self, state, clusters=seed.CLUSTER_HOSTS):
        self.state = state
        self.clusters = clusters

    def key(self, k, with_secret=False):
        out = msg(redactedApiKey=redact(k.secret), userId=seed.OWNER["userId"], name=k.name,
                  createTime=ts(k.created), modifyTime=ts(k.modified),
                  teamId=self.state.team_id, aclStrings=k.acls, apiKeyId=k.id,
                  qps=k.qps, qpm=k.qpm, tpm=i64(k.tpm), expireTime=ts(k.expire),
                  disabled=k.disabled)
        if with_secret:
            out["apiKey"] = k.secret
        return out

    def propagation(self, k):
        """Cluster i has the key (i + 1) * 0.5 s after create/rotate (all by 1 s)."""
        since = k.propagating_since
        elapsed = float("inf") if since is None else time.monotonic() - since
        n = len(self.clusters)
        return {"icPropagation": {host: elapsed >= (i + 1) / n
                                  for i, host in enumerate(self.clusters)}}

    def collection(self, c):
        return msg(collection_id=c.id, collection_name=c.name, created_at=ts(c.created),
                   index_configuration={"model_name": c.index_model},
                   chunk_configuration=c.chunk, documents_count=len(c.docs),
                   field_definitions=[msg(**d) for d in c.field_defs],
                   collection_description=c.description)

    def file_metadata(self, f):
        return msg(file_id=f.id, name=f.name, size_bytes=i64(f.size),
                   content_type=f.content_type, created_at=ts(f.created),
                   hash=self.state.file_sha256(f))

    def document(self, doc):
        self.state.refresh(doc)
        f = self.state.files[doc.file_id]
        return msg(file_metadata=self.file_metadata(f), fields=doc.fields or None,
                   status=doc.status, error_message=doc.error,
                   last_indexed_at=ts(doc.indexed))

    @staticmethod
    def file(f):
        return {"id": f.id, "object": "file", "bytes": f.size, "created_at": int(f.created),
                "expires_at": int(f.expires) if f.expires is not None else None,
                "filename": f.name, "purpose": f.purpose}

    def audit_event(self, e):
        return msg(eventTime=ts(e["time"]), eventId=e["id"], description=e["description"],
                   user=prune(seed.OWNER))
