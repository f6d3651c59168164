"""Collection routes, /v1/collections and their documents (xai-api.md section 7),
snake_case out, camelCase or snake_case in: collection CRUD, adding a file, the direct
multipart upload, document list/get/re-index/remove and documents:batchGet.
"""

import mimetypes
import os
import time

from .exchange import Response
from .filters import filter_match, parse_filter
from .paging import Paginator
from .routing import ApiBase
from .state import DOC_PROCESSING, new_id
from .wire import ApiError, as_bool, as_fields, as_str, enum_arg, loads, msg, snake_keys


class CollectionsApi(ApiBase):
    """/v1/collections and their documents (section 7). snake_case."""

    ORDERS = ("ORDERING_UNKNOWN", "ORDERING_ASCENDING", "ORDERING_DESCENDING")
    COLL_SORTS = ("COLLECTIONS_SORT_BY_UNKNOWN", "COLLECTIONS_SORT_BY_NAME",
                  "COLLECTIONS_SORT_BY_AGE")
    DOC_SORTS = ("DOCUMENTS_SORT_BY_UNKNOWN", "DOCUMENTS_SORT_BY_NAME", "DOCUMENTS_SORT_BY_SIZE",
                 "DOCUMENTS_SORT_BY_AGE")

    def register(self, r):
        r.add("POST", "/v1/collections", self.create)
        r.add("GET", "/v1/collections", self.list)
        r.add("GET", "/v1/collections/{collection_id}", self.get)
        r.add("PUT", "/v1/collections/{collection_id}", self.update)
        r.add("DELETE", "/v1/collections/{collection_id}", self.delete)
        r.add("POST", "/v1/collections/{collection_id}/documents/{file_id}", self.add_file)
        r.add("POST", "/v1/collections/{collection_id}/documents", self.upload)
        r.add("GET", "/v1/collections/{collection_id}/documents", self.list_docs)
        r.add("GET", "/v1/collections/{collection_id}/documents/{file_id}", self.get_doc)
        r.add("PATCH", "/v1/collections/{collection_id}/documents/{file_id}", self.reindex)
        r.add("DELETE", "/v1/collections/{collection_id}/documents/{file_id}", self.delete_doc)
        r.add("GET", "/v1/collections/{collection_id}/documents:batchGet", self.batch_get)

    def body(self, req):
        body = snake_keys(req.json())
        team = body.get("team_id")
        if team and team != self.state.team_id:
            raise ApiError(403, "no access to team %s" % team)
        return body

    # -- collections ---------------------------------------------------------
    def create(self, req):
        body = self.body(req)
        name = as_str(body.get("collection_name"), "collection_name")
        if not name:
            raise ApiError(400, "collection_name must not be empty")
        chunk = self._chunk(body.get("chunk_configuration"))
        fdefs = [self._field_def(d) for d in body.get("field_definitions") or []]
        index = body.get("index_configuration") or {}
        model = as_str(index.get("model_name"), "model_name") if isinstance(index, dict) else ""
        with self.state.lock:
            coll = self.state.add_collection(new_id("collection_"), name, time.time(),
                                             as_str(body.get("collection_description"),
                                                    "collection_description"),
                                             fdefs, chunk, model or "grok-embedding-small")
            self.audit("Created collection '%s'" % name)
            return Response.json(self.shapes.collection(coll))

    @staticmethod
    def _chunk(value):
        if value is None:
            return None
        if not isinstance(value, dict):
            raise ApiError(400, "chunk_configuration must be an object")
        strategies = [k for k in value if k.endswith("_configuration")]
        if len(strategies) != 1:
            raise ApiError(400, "chunk_configuration must set exactly one strategy")
        return value

    @staticmethod
    def _field_def(d):
        if not isinstance(d, dict) or not isinstance(d.get("key"), str) or not d["key"]:
            raise ApiError(400, "field_definitions[]: each needs a key")
        return {"key": d["key"], "required": as_bool(d.get("required"), "required"),
                "inject_into_chunk": as_bool(d.get("inject_into_chunk"), "inject_into_chunk"),
                "unique": as_bool(d.get("unique"), "unique"),
                "description": as_str(d.get("description"), "description")}

    def list(self, req):
        self._team_query(req)
        limit = req.qint("limit", 100, 100) or 100
        order = enum_arg(req.q("order"), self.ORDERS, "ORDERING_DESCENDING", "order")
        sort_by = enum_arg(req.q("sort_by"), self.COLL_SORTS, "COLLECTIONS_SORT_BY_NAME", "sort_by")
        terms = parse_filter(req.q("filter") or "")
        with self.state.lock:
            colls = [c for c in self.state.collections.values()
                     if filter_match(terms, lambda f, c=c: self._coll_field(c, f))]
            keyfn = (lambda c: (c.name, c.id)) if sort_by.endswith("NAME") else \
                (lambda c: (c.created, c.id))
            colls.sort(key=keyfn, reverse=order == "ORDERING_DESCENDING")
            page, nxt = Paginator.page("collections", colls, req.q("pagination_token"), limit)
            shapes = self.shapes
            return self.listing(msg(collections=[shapes.collection(c) for c in page]),
                                "pagination_token", req.q("pagination_token"), nxt,
                                "collections", len(colls))

    @staticmethod
    def _coll_field(c, name):
        return {"collection_id": c.id, "collection_name": c.name, "documents_count": len(c.docs),
                "created_at": c.created}.get(name, KeyError)

    def _team_query(self, req):
        team = req.q("team_id")
        if team and team != self.state.team_id:
            raise ApiError(403, "no access to team %s" % team)

    def get(self, req):
        self._team_query(req)
        with self.state.lock:
            coll = self.state.collection(req.params["collection_id"])
            return Response.json(self.shapes.collection(coll))

    def update(self, req):
        body = self.body(req)
        if "index_configuration" in body or "metric_space" in body:
            raise ApiError(400, "index_configuration and metric_space cannot be changed")
        chunk = self._chunk(body.get("chunk_configuration"))
        name = as_str(body.get("collection_name"), "collection_name")
        desc = body.get("collection_description")
        updates = body.get("field_definition_updates") or []
        if not isinstance(updates, list):
            raise ApiError(400, "field_definition_updates must be a list")
        with self.state.lock:
            coll = self.state.collection(req.params["collection_id"])
            for u in updates:
                self._apply_field_update(coll, u)
            if name:
                coll.name = name
            if desc is not None:
                coll.description = as_str(desc, "collection_description")
            if chunk is not None:
                coll.chunk = chunk
            self.audit("Updated collection '%s'" % coll.name)
            return Response.json(self.shapes.collection(coll))

    def _apply_field_update(self, coll, u):
        if not isinstance(u, dict):
            raise ApiError(400, "field_definition_updates[]: expected objects")
        op = u.get("operation")
        fdef = self._field_def(u.get("field_definition"))
        existing = [d for d in coll.field_defs if d["key"] == fdef["key"]]
        if op == "FIELD_DEFINITION_ADD":
            if fdef["required"] and not existing:
                raise ApiError(400, "a new field definition cannot be required")
            coll.field_defs = [d for d in coll.field_defs if d["key"] != fdef["key"]] + [fdef]
        elif op == "FIELD_DEFINITION_DELETE":
            coll.field_defs = [d for d in coll.field_defs if d["key"] != fdef["key"]]
            for doc in coll.docs.values():
                doc.fields.pop(fdef["key"], None)
        else:
            raise ApiError(400, "field_definition_updates[].operation: unknown value %r" % op)

    def delete(self, req):
        self._team_query(req)
        with self.state.lock:
            coll = self.state.collection(req.params["collection_id"])
            del self.state.collections[coll.id]
            self.audit("Deleted collection '%s'" % coll.name)
        return Response.json({})

    # -- documents -------------------------------------------------------------
    def _check_fields(self, coll, fields, skip_id=None):
        for d in coll.field_defs:
            value = fields.get(d["key"])
            if d["required"] and not value:
                raise ApiError(400, "field %r is required in collection %s" % (d["key"], coll.id))
            if d["unique"] and value is not None:
                for other in coll.docs.values():
                    if other.file_id != skip_id and other.fields.get(d["key"]) == value:
                        raise ApiError(400, "field %r must be unique; %r is taken"
                                       % (d["key"], value))

    def add_file(self, req):
        body = self.body(req)
        fields = as_fields(body.get("fields"))
        with self.state.lock:
            coll = self.state.collection(req.params["collection_id"])
            f = self.state.live_file(req.params["file_id"])
            if f is None:
                raise ApiError(404, "File %s not found" % req.params["file_id"])
            if f.id in coll.docs:
                raise ApiError(409, "File %s is already in collection %s" % (f.id, coll.id))
            self._check_fields(coll, fields)
            doc = self.state.add_document(coll, f, fields, time.time(), status=DOC_PROCESSING)
            self.state.start_processing(doc)
            self.audit("Added file '%s' to collection '%s'" % (f.name, coll.name))
        return Response.json({})

    def upload(self, req):
        """Direct multipart upload: parts name, data, content_type, fields (JSON string)."""
        self._team_query(req)
        with self.state.lock:
            self.state.collection(req.params["collection_id"])
            spool = os.path.join(self.state.data_dir, "tmp")
        form = req.multipart(spool, {"data"})
        try:
            return self._finish_upload(req, form)
        finally:
            form.discard()

    def _finish_upload(self, req, form):
        data = form.file("data")
        if data is None:
            raise ApiError(400, "multipart part 'data' is required")
        name = form.text("name")
        name = name if name is not None else data.filename
        if not name:
            raise ApiError(400, "multipart part 'name' is required")
        ctype = form.text("content_type") or data.content_type or \
            mimetypes.guess_type(name)[0] or "application/octet-stream"
        fields = {}
        if form.text("fields"):
            try:
                fields = as_fields(loads(form.text("fields").encode("utf-8", "surrogateescape")))
            except ValueError:
                raise ApiError(400, "fields must be a JSON object encoded as a string") from None
        with self.state.lock:
            coll = self.state.collection(req.params["collection_id"])
            self._check_fields(coll, fields)
            file_id = new_id("file_")
            path = self.state.adopt_upload(data.sink.path, file_id)
            now = time.time()
            f = self.state.add_file(file_id, name, ctype, now, size=data.sink.size, path=path,
                                    sha256=data.sink.sha.hexdigest())
            doc = self.state.add_document(coll, f, fields, now, status=DOC_PROCESSING)
            self.state.start_processing(doc)
            self.audit("Uploaded document '%s' to collection '%s'" % (name, coll.name))
            answer = self.app.variants.get("upload_answer")
            if answer == "empty":
                return Response.json({})
            if answer == "id":
                return Response.json({"file_id": file_id})
            return Response.json(self.shapes.document(doc))

    def list_docs(self, req):
        self._team_query(req)
        limit = req.qint("limit", 100, 100) or 100
        order = enum_arg(req.q("order"), self.ORDERS, "ORDERING_ASCENDING", "order")
        sort_by = enum_arg(req.q("sort_by"), self.DOC_SORTS, "DOCUMENTS_SORT_BY_NAME", "sort_by")
        terms = parse_filter(req.q("filter") or "")
        if req.q("name"):
            terms.append(("name", ":", req.q("name")))
        with self.state.lock:
            coll = self.state.collection(req.params["collection_id"])
            docs = self.state.sorted_docs(coll, sort_by.rsplit("_", 1)[1].lower(),
                                          order == "ORDERING_DESCENDING")
            if terms:
                docs = [d for d in docs
                        if filter_match(terms, lambda f, d=d: self._doc_field(d, f))]
            page, nxt = Paginator.page("documents", docs, req.q("pagination_token"), limit)
            shapes = self.shapes
            return self.listing(msg(documents=[shapes.document(d) for d in page]),
                                "pagination_token", req.q("pagination_token"), nxt,
                                "documents", len(docs))

    def _doc_field(self, doc, name):
        self.state.refresh(doc)
        f = self.state.files[doc.file_id]
        if name.startswith("fields."):
            return doc.fields.get(name[7:], "")
        return {"name": f.name, "content_type": f.content_type, "size_bytes": f.size,
                "created_at": f.created, "status": doc.status}.get(name, KeyError)

    def get_doc(self, req):
        self._team_query(req)
        with self.state.lock:
            coll = self.state.collection(req.params["collection_id"])
            doc = self.state.document(coll, req.params["file_id"])
            return Response.json(self.shapes.document(doc))

    def reindex(self, req):
        self._team_query(req)
        with self.state.lock:
            coll = self.state.collection(req.params["collection_id"])
            self.state.start_processing(self.state.document(coll, req.params["file_id"]))
        return Response.json({})

    def delete_doc(self, req):
        self._team_query(req)
        with self.state.lock:
            coll = self.state.collection(req.params["collection_id"])
            doc = self.state.document(coll, req.params["file_id"])
            del coll.docs[doc.file_id]
            coll.sorted_cache.clear()
            self.audit("Removed document '%s' from collection '%s'"
                       % (self.state.files[doc.file_id].name, coll.name))
        return Response.json({})

    def batch_get(self, req):
        self._team_query(req)
        ids = req.qlist("file_ids")
        if not ids:
            raise ApiError(400, "file_ids is required")
        if len(ids) > 100:
            raise ApiError(400, "at most 100 file_ids per request")
        with self.state.lock:
            coll = self.state.collection(req.params["collection_id"])
            shapes = self.shapes
            docs = [shapes.document(coll.docs[i]) for i in ids if i in coll.docs]
            return Response.json(msg(documents=docs))
