"""The data model: the records (API keys, files, documents, collections) and State.

State holds every resource of the one emulated team: API keys, files (content on disk
under data_dir/files, or generated from the file id for the large seed), collections and
their documents, audit events, and billing (a plain dict made by seed.billing). seed.py
fills a State through the add_* methods only.

Locking: State.lock (an RLock) guards every field of State and of the records it holds.
Route handlers take it around each read or change, including rendering through Shapes
(which advances document status and caches hashes), and release it before the response is
written. A reset builds a new State and swaps App.state; requests already running keep the
State they started with (App.local). No other lock is taken while State.lock is held.
"""

import hashlib
import os
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field

from . import seed
from .wire import ApiError


DOC_PROCESSING = "DOCUMENT_STATUS_PROCESSING"
DOC_PROCESSED = "DOCUMENT_STATUS_PROCESSED"
DOC_FAILED = "DOCUMENT_STATUS_FAILED"
DOC_STATUSES = ("DOCUMENT_STATUS_UNKNOWN", DOC_PROCESSING, DOC_PROCESSED, DOC_FAILED)


@dataclass(slots=True)
class ApiKey:
    id: str
    name: str
    created: float
    modified: float
    acls: list
    secret: str
    qps: int = 0
    qpm: int = 0
    tpm: int = 0
    disabled: bool = False
    expire: float = None
    propagating_since: float = None     # monotonic time of create/rotate; None = done
    old_secret: str = None              # the secret before the last rotation
    old_secret_expire: float = None     # until when old_secret still works


@dataclass(slots=True)
class StoredFile:
    id: str
    name: str
    content_type: str
    created: float
    size: int
    path: str = None            # content on disk, or None: generated from the id
    sha256: str = None          # computed lazily for generated content
    purpose: str = ""
    expires: float = None
    deleted: bool = False


@dataclass(slots=True)
class Document:
    file_id: str
    fields: dict
    added: float
    status: str = DOC_PROCESSED
    error: str = ""
    ready_at: float = None      # monotonic time PROCESSING turns PROCESSED
    indexed: float = None


@dataclass(slots=True)
class Collection:
    id: str
    name: str
    created: float
    description: str = ""
    index_model: str = "grok-embedding-small"
    chunk: dict = None
    field_defs: list = field(default_factory=list)
    docs: dict = field(default_factory=dict)        # file_id -> Document, insertion order
    sorted_cache: dict = field(default_factory=dict)


DEFAULT_CHUNK = {"tokens_configuration": {"max_chunk_size_tokens": 512,
                                          "chunk_overlap_tokens": 64,
                                          "encoding_name": "o200k_base"}}


class State:
    """All resources of the one emulated team. Every access holds `lock`."""

    def __init__(self, team_id, data_dir, process_delay=1.0):
        self.lock = threading.RLock()
        self.team_id = team_id
        self.data_dir = data_dir
        self.process_delay = process_delay
        self.keys = {}          # apiKeyId -> ApiKey, in creation order
        self.collections = {}   # collection_id -> Collection
        self.files = {}         # file_id -> StoredFile
        self.audit = []         # [{"time","id","description"}]
        self.billing = None
        self.files_version = 0
        self._files_sorted = {}
        os.makedirs(os.path.join(data_dir, "files"), exist_ok=True)
        os.makedirs(os.path.join(data_dir, "tmp"), exist_ok=True)

    # -- keys ---------------------------------------------------------------
    def add_key(self, key_id, name, acls, created, qps=0, qpm=0, tpm=None, disabled=False,
                expire=None, secret=None):
        key = ApiKey(key_id, name, created, created, acls, secret or new_secret(),
                     qps, qpm, tpm or 0, disabled, expire)
        self.keys[key_id] = key
        return key

    def key(self, key_id):
        key = self.keys.get(key_id)
        if key is None:
            raise ApiError(404, "Cannot find API key")
        return key

    def key_by_secret(self, secret):
        now = time.time()
        for key in self.keys.values():
            live = not key.disabled and (key.expire is None or key.expire > now)
            if live and key.secret == secret:
                return key
            if live and key.old_secret == secret and key.old_secret_expire > now:
                return key      # the grace period after a rotation
        return None

    # -- files --------------------------------------------------------------
    def add_file(self, file_id, name, content_type, created, data=None, size=None, path=None,
                 sha256=None, purpose="", expires=None):
        """Register a file. data: bytes written to disk now; size alone: generated content."""
        if data is not None:
            path = os.path.join(self.data_dir, "files", file_id)
            with open(path, "wb") as out:
                out.write(data)
            size, sha256 = len(data), hashlib.sha256(data).hexdigest()
        f = StoredFile(file_id, name, content_type, created, size, path, sha256, purpose, expires)
        self.files[file_id] = f
        self.files_version += 1
        return f

    def adopt_upload(self, tmp_path, file_id):
        """Move a finished upload into the content directory; returns its final path."""
        path = os.path.join(self.data_dir, "files", file_id)
        os.replace(tmp_path, path)
        return path

    def live_file(self, file_id):
        f = self.files.get(file_id)
        if f is None or f.deleted or (f.expires is not None and f.expires <= time.time()):
            return None
        return f

    def file_sha256(self, f):
        if f.sha256 is None:
            f.sha256 = hashlib.sha256(self.read_generated(f)).hexdigest()
        return f.sha256

    @staticmethod
    def read_generated(f):
        return seed.generated_content(f.id, f.name, f.size)

    def sorted_files(self, sort_by, descending):
        key = (self.files_version, sort_by, descending)
        cached = self._files_sorted.get(key)
        if cached is None:
            keyfn = {"created_at": lambda f: (f.created, f.id),
                     "filename": lambda f: (f.name, f.id),
                     "size": lambda f: (f.size, f.id)}[sort_by]
            cached = sorted(self.files.values(), key=keyfn, reverse=descending)
            self._files_sorted = {key: cached}
        return cached

    # -- collections and documents -------------------------------------------
    def add_collection(self, cid, name, created, description="", field_definitions=None,
                       chunk=None, index_model="grok-embedding-small"):
        fdefs = [dict({"required": False, "inject_into_chunk": False, "unique": False,
                       "description": ""}, **d) for d in field_definitions or []]
        coll = Collection(cid, name, created, description, index_model,
                          chunk or DEFAULT_CHUNK, fdefs)
        self.collections[cid] = coll
        return coll

    def collection(self, cid):
        coll = self.collections.get(cid)
        if coll is None:
            raise ApiError(404, "Collection %s not found" % cid)
        return coll

    def add_document(self, coll, f, fields, added, indexed=None, status=DOC_PROCESSED):
        doc = Document(f.id, fields, added, status, indexed=indexed)
        coll.docs[f.id] = doc
        coll.sorted_cache.clear()
        return doc

    def start_processing(self, doc):
        doc.status, doc.error, doc.indexed = DOC_PROCESSING, "", None
        doc.ready_at = time.monotonic() + self.process_delay

    def document(self, coll, file_id):
        doc = coll.docs.get(file_id)
        if doc is None:
            raise ApiError(404, "Document %s not found in collection %s" % (file_id, coll.id))
        return doc

    def refresh(self, doc):
        """Lazily move a PROCESSING document to PROCESSED once its delay has passed."""
        if doc.status == DOC_PROCESSING and doc.ready_at is not None \
                and time.monotonic() >= doc.ready_at:
            doc.status, doc.ready_at, doc.indexed = DOC_PROCESSED, None, time.time()

    def sorted_docs(self, coll, sort_by, descending):
        key = (sort_by, descending)
        cached = coll.sorted_cache.get(key)
        if cached is None:
            files = self.files
            keyfn = {"name": lambda d: (files[d.file_id].name, d.file_id),
                     "size": lambda d: (files[d.file_id].size, d.file_id),
                     "age": lambda d: (d.added, d.file_id)}[sort_by]
            cached = sorted(coll.docs.values(), key=keyfn, reverse=descending)
            coll.sorted_cache[key] = cached
        return cached

    # -- audit --------------------------------------------------------------
    def add_audit(self, when, description, event_id=None):
        self.audit.append({"time": when, "id": event_id or str(uuid.uuid4()),
                           "description": description})


def new_secret():
    alphabet = seed.Ids.ALNUM
    return "xai-" + "".join(secrets.choice(alphabet) for _ in range(80))


def new_id(prefix=""):
    return prefix + str(uuid.uuid4())
