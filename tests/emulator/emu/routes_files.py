"""The api.x.ai routes (xai-api.md section 8), which take an inference key: the Files API
(upload, list, get, delete, content with Range), document search and /v1/api-key.
"""

import os
import re
import time
import uuid

from . import seed
from .body import CHUNK
from .config import INFERENCE_KEY_ID
from .exchange import Response
from .multipart import TooLarge
from .paging import Paginator
from .routing import INFERENCE, ApiBase
from .shapes import Shapes
from .state import DOC_PROCESSED, ApiKey, State, new_id
from .wire import ApiError, as_int, as_str, as_str_list, msg, redact, snake_keys, ts


class FilesApi(ApiBase):
    """api.x.ai: Files API, document search and inference-key whoami (section 8)."""

    def register(self, r):
        r.add("POST", "/v1/files", self.upload, INFERENCE)
        r.add("GET", "/v1/files", self.list, INFERENCE)
        r.add("GET", "/v1/files/{file_id}", self.get, INFERENCE)
        r.add("DELETE", "/v1/files/{file_id}", self.delete, INFERENCE)
        r.add("GET", "/v1/files/{file_id}/content", self.content, INFERENCE)
        r.add("POST", "/v1/documents/search", self.search, INFERENCE)
        r.add("GET", "/v1/api-key", self.whoami, INFERENCE)

    def upload(self, req):
        limit = self.app.config.files_max_bytes
        length = req.content_length()
        if length is not None and length > limit + 65536:
            raise ApiError(413, "file larger than the %d byte limit" % limit)
        with self.state.lock:
            spool = os.path.join(self.state.data_dir, "tmp")
        try:
            form = req.multipart(spool, {"file"}, limit)
        except TooLarge:
            raise ApiError(413, "file larger than the %d byte limit" % limit) from None
        try:
            return self._finish_upload(form)
        finally:
            form.discard()

    def _finish_upload(self, form):
        part = form.file("file")
        if part is None:
            raise ApiError(400, "multipart part 'file' is required")
        if not part.filename:
            raise ApiError(400, "the file part needs a filename")
        ttl = self._ttl(form)
        now = time.time()
        with self.state.lock:
            file_id = new_id("file_")
            path = self.state.adopt_upload(part.sink.path, file_id)
            f = self.state.add_file(file_id, part.filename,
                                    part.content_type or "application/octet-stream", now,
                                    size=part.sink.size, path=path,
                                    sha256=part.sink.sha.hexdigest(),
                                    purpose=form.text("purpose") or "",
                                    expires=now + ttl if ttl else None)
            return Response.json(Shapes.file(f))

    @staticmethod
    def _ttl(form):
        names = [n for n in ("expires_after", "expires_after[seconds]") if n in form.parts]
        if not names:
            return None
        if form.order.index(names[0]) > form.order.index("file"):
            raise ApiError(400, "expires_after must come before the file part")
        raw = form.text(names[0]) or ""
        if not raw.isdigit() or not 3600 <= int(raw) <= 2592000:
            raise ApiError(400, "expires_after must be between 3600 and 2592000 seconds")
        return int(raw)

    def list(self, req):
        limit = req.qint("limit", 100, 10000) or 100
        order = req.q("order", "desc")
        sort_by = req.q("sort_by", "created_at")
        if order not in ("asc", "desc") or sort_by not in ("created_at", "filename", "size"):
            raise ApiError(400, "order must be asc|desc and sort_by created_at|filename|size")
        with self.state.lock:
            files = [f for f in self.state.sorted_files(sort_by, order == "desc")
                     if self.state.live_file(f.id) is not None]
            start = Paginator.offset("files", req.q("pagination_token"))
            after = req.q("after")
            if after:
                ids = [f.id for f in files]
                start = ids.index(after) + 1 if after in ids else len(files)
            page = files[start:start + limit]
            return Response.json({"data": [Shapes.file(f) for f in page],
                                  "pagination_token": Paginator.token("files", start + len(page))})

    def _file(self, req):
        f = self.state.live_file(req.params["file_id"])
        if f is None:
            raise ApiError(404, "File %s not found" % req.params["file_id"])
        return f

    def get(self, req):
        with self.state.lock:
            return Response.json(Shapes.file(self._file(req)))

    def delete(self, req):
        with self.state.lock:
            f = self._file(req)
            f.deleted = True
            self.state.files_version += 1
        return Response.json({"id": f.id, "deleted": True, "object": "file"})

    @staticmethod
    def _accepts_bytes(accept):
        """Whether an Accept header admits application/octet-stream (no header does)."""
        if not accept:
            return True
        for item in accept.split(","):
            kind, _, params = item.strip().partition(";")
            q = [p.strip() for p in params.split(";") if p.strip().startswith("q=")]
            if q and q[0][2:].strip() in ("0", "0.0", "0.00", "0.000"):
                continue
            if kind.strip().lower() in ("application/octet-stream", "application/*", "*/*"):
                return True
        return False

    def content(self, req):
        fmt = req.q("format") or "original"
        if fmt not in ("original", "text"):
            raise ApiError(400, "format must be original or text")
        if self.app.variants.get("strict_accept") and \
                not self._accepts_bytes(req.headers.get("Accept")):
            raise ApiError(406, "the content route answers application/octet-stream")
        if fmt == "text":
            return self._text_content(req)
        with self.state.lock:
            f = self._file(req)
            path, size = f.path, f.size
            data = None if path else State.read_generated(f)
        first, last = self._range(req.headers.get("Range"), size)
        length = last - first + 1 if size else 0
        headers = [("Accept-Ranges", "bytes")]
        status = 200
        if req.headers.get("Range") and size:
            status = 206
            headers.append(("Content-Range", "bytes %d-%d/%d" % (first, last, size)))
        if data is not None:
            body = data[first:first + length]
            return Response(status, body, "application/octet-stream", headers)
        return Response(status, file_chunks(path, first, length), "application/octet-stream",
                        headers, length=length)

    def _text_content(self, req):
        """format=text: the text of the file (emulated: the bytes as UTF-8, undecodable
        ones replaced, control bytes other than tab and newline dropped)."""
        with self.state.lock:
            f = self._file(req)
            path = f.path
            data = None if path else State.read_generated(f)
        if data is None:
            with open(path, "rb") as fh:
                data = fh.read()
        text = data.decode("utf-8", "replace")
        text = "".join(ch for ch in text if ch in "\t\n" or ord(ch) >= 32)
        return Response(200, text.encode(), "text/plain; charset=utf-8")

    @staticmethod
    def _range(header, size):
        """(first, last) byte of a 'bytes=a-b' / 'a-' / '-n' range (emulator convenience)."""
        if not header:
            return 0, size - 1
        m = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", header)
        if not m or (m.group(1) == "" and m.group(2) == ""):
            raise ApiError(416, "unsupported Range %r" % header,
                           [("Content-Range", "bytes */%d" % size)])
        if m.group(1) == "":
            n = int(m.group(2))
            first, last = max(size - n, 0), size - 1
        else:
            first = int(m.group(1))
            last = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
        if first >= size or first > last:
            raise ApiError(416, "range not satisfiable for %d bytes" % size,
                           [("Content-Range", "bytes */%d" % size)])
        return first, last

    RETRIEVAL_MODES = ("hybrid", "semantic", "keyword")

    def search(self, req):
        """Every mode scores alike here (word hits per chunk); page_number is the
        chunk's 1-based position in its document, the emulator's stand-in for a page."""
        body = snake_keys(req.json())
        query = as_str(body.get("query"), "query")
        source = body.get("source") or {}
        cids = as_str_list(source.get("collection_ids") if isinstance(source, dict) else None,
                           "source.collection_ids")
        if not query or not cids:
            raise ApiError(400, "query and source.collection_ids are required")
        limit = as_int(body.get("limit"), "limit") or 10
        mode = body.get("retrieval_mode")
        if mode is not None and (not isinstance(mode, dict) or
                                 mode.get("type") not in self.RETRIEVAL_MODES):
            raise ApiError(400, "retrieval_mode.type must be one of %s"
                           % ", ".join(self.RETRIEVAL_MODES))
        words = [w for w in re.findall(r"\w+", query.lower())]
        matches = []
        with self.state.lock:
            for cid in cids:
                coll = self.state.collection(cid)
                for doc in list(coll.docs.values())[:20000]:
                    matches.extend(self._doc_matches(coll, doc, words))
        matches.sort(key=lambda m: (-m["score"], m["file_id"], m["chunk_id"]))
        return Response.json(msg(matches=matches[:limit]))

    def _doc_matches(self, coll, doc, words):
        self.state.refresh(doc)
        f = self.state.files[doc.file_id]
        if doc.status != DOC_PROCESSED or f.size > CHUNK:
            return []
        if f.path:
            with open(f.path, "rb") as src:
                data = src.read()
        else:
            data = State.read_generated(f)
        text = data.decode("utf-8", "replace")
        out = []
        for i in range(0, len(text), 400):
            chunk = text[i:i + 400]
            hits = sum(chunk.lower().count(w) for w in words)
            if hits:
                out.append(msg(file_id=f.id, chunk_id=str(uuid.uuid5(uuid.NAMESPACE_URL,
                                                                      "%s/%d" % (f.id, i))),
                               chunk_content=chunk, score=round(hits / (1 + len(words)), 4),
                               collection_ids=[coll.id], fields=doc.fields or None,
                               page_number=i // 400 + 1))
        return out

    def whoami(self, req):
        ident = req.identity
        team = self.state.team_id
        if isinstance(ident, ApiKey):
            key_id, name, acls, created = ident.id, ident.name, ident.acls, ident.created
        else:
            key_id, name, acls = INFERENCE_KEY_ID, "emulator-inference-key", \
                ["api-key:endpoint:*", "api-key:model:*"]
            created = seed.BASE_TIME - 60 * seed.DAY + 0.5
        return Response.json({
            "redacted_api_key": redact(ident.secret if isinstance(ident, ApiKey)
                                       else self.app.config.api_key),
            "user_id": seed.OWNER["userId"], "name": name, "create_time": ts(created),
            "modify_time": ts(created), "modified_by": seed.OWNER["userId"], "team_id": team,
            "acls": acls, "api_key_id": key_id, "team_blocked": False,
            "api_key_blocked": False, "api_key_disabled": False})


def file_chunks(path, first, length):
    with open(path, "rb") as src:
        src.seek(first)
        while length > 0:
            data = src.read(min(CHUNK, length))
            if not data:
                return
            length -= len(data)
            yield data
