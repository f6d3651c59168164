"""The data sets (seeds) of the emulator, and the static team data they share.

Everything here is deterministic: ids and secrets come from a random.Random
seeded with the data set's name, and timestamps are fixed instants in
2025/2026. The functions fill a state.State through its add_* methods and
never touch its internals. Also the static team data the routes serve:
models, endpoint ACLs, the owner, billing, and generated document content.

Data sets:
  empty    the team, its models and billing; no keys, collections or audit.
  sample   six realistic keys, two collections with five documents, audit.
  large    --keys N keys, --collections C collections of --documents D
           documents each, whose content is generated from the file id.
  hostile  names that cannot be file names, duplicates, control bytes,
           invalid UTF-8 (as surrogate escapes, sent as raw bytes).
"""

import base64
import hashlib
import random
import uuid
from datetime import datetime, timezone

SEEDS = ("empty", "sample", "large", "hostile")

# 2026-01-05T09:00:00Z: the instant the seeded team's history starts.
BASE_TIME = datetime(2026, 1, 5, 9, 0, 0, tzinfo=timezone.utc).timestamp()
DAY = 86400.0

CLUSTER_HOSTS = ("us-east-1.api.x.ai", "eu-west-1.api.x.ai")


class Ids:
    """Deterministic ids, secrets and time jitter for one data set."""

    ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

    def __init__(self, name):
        self.rng = random.Random("xaifs-emulator/" + name)

    def uuid(self):
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def secret(self):
        return "xai-" + "".join(self.rng.choices(self.ALNUM, k=80))

    def at(self, days, spread=0.0):
        """BASE_TIME + days, plus up to `spread` days of jitter, with microseconds."""
        jitter = self.rng.random() * spread * DAY if spread else 0.0
        return round(BASE_TIME + days * DAY + jitter + self.rng.random(), 6)


def derived_secret(key_id):
    """A deterministic secret for bulk keys (cheaper than the RNG)."""
    h = hashlib.sha256(key_id.encode()).hexdigest()
    return "xai-" + h + h[:16]


# ---------------------------------------------------------------------------
# Generated document content (large seed): a few hundred bytes from the id
# ---------------------------------------------------------------------------

_FILLER = (b"The quick brown fox jumps over the lazy dog. "
           b"Pack my box with five dozen liquor jugs. ")


def generated_content(file_id, name, size):
    """Exactly `size` bytes of text derived from the file id and name."""
    head = ("%s\nfile_id: %s\n" % (name, file_id)).encode("utf-8", "surrogateescape")
    digest = hashlib.sha256(file_id.encode()).hexdigest().encode()
    body = head + digest + b"\n"
    while len(body) < size:
        body += _FILLER
    return body[:size]


# ---------------------------------------------------------------------------
# Static team data: models, endpoint ACLs, the management key's identity
# ---------------------------------------------------------------------------

def _language_model(name, aliases, cluster, prompt, completion, cached, modalities,
                    max_prompt, reasoning, rps, tpm):
    return {
        "name": name,
        "version": "1.0",
        "aliases": aliases,
        "inputModalities": modalities,
        "outputModalities": ["TEXT"],
        "promptTextTokenPrice": str(prompt),
        "promptImageTokenPrice": str(prompt) if "IMAGE" in modalities else None,
        "cachedPromptTokenPrice": str(cached),
        "completionTextTokenPrice": str(completion),
        "searchPrice": "2500000000",
        "rps": str(rps),
        "rpm": str(rps * 60),
        "tpm": str(tpm),
        "cluster": cluster,
        "maxPromptLength": max_prompt,
        "features": {"functionCalling": True, "structuredOutputs": True,
                     "reasoning": True} if reasoning else
                    {"functionCalling": True, "structuredOutputs": True},
    }


def _embedding_model(cluster):
    return {
        "name": "grok-embedding-small",
        "version": "1.0",
        "aliases": ["grok-embedding-small-latest"],
        "inputModalities": ["TEXT"],
        "promptTextTokenPrice": "1000",
        "rps": "20",
        "rpm": "1200",
        "cluster": cluster,
        "maxPromptLength": 8192,
    }


def _image_model(cluster):
    return {
        "name": "grok-2-image-1212",
        "version": "1.0",
        "aliases": ["grok-2-image", "grok-2-image-latest"],
        "inputModalities": ["TEXT"],
        "outputModalities": ["IMAGE"],
        "imagePrice": "700000000",
        "resolutionPricing": [{"resolution": "1024x768", "pricePerImage": "700000000"}],
        "rps": "5",
        "rpm": "300",
        "cluster": cluster,
        "maxPromptLength": 1024,
    }


def models():
    """The GET /auth/teams/{teamId}/models body (before default pruning)."""
    us, eu = "us-east-1", "eu-west-1"
    grok4 = dict(aliases=["grok-4", "grok-4-latest"], prompt=30000, completion=150000,
                 cached=7500, modalities=["TEXT", "IMAGE"], max_prompt=256000,
                 reasoning=True, rps=8, tpm=2000000)
    return {"clusterConfigs": [
        {"clusterName": us,
         "languageModels": [
             _language_model("grok-4-0709", cluster=us, **grok4),
             _language_model("grok-3-mini", ["grok-3-mini-latest"], us, 3000, 5000, 750,
                             ["TEXT"], 131072, True, 10, 1000000),
         ],
         "embeddingModels": [_embedding_model(us)],
         "imageGenerationModels": [_image_model(us)]},
        {"clusterName": eu,
         "languageModels": [
             _language_model("grok-4-0709", cluster=eu, **grok4),
             _language_model("grok-code-fast-1", ["grok-code-fast"], eu, 2000, 15000, 200,
                             ["TEXT"], 256000, True, 8, 2000000),
         ],
         "embeddingModels": [_embedding_model(eu)]},
    ]}


ENDPOINTS = (
    ("chat", "Chat completions and vision"),
    ("embed", "Embeddings"),
    ("image", "Image generation"),
    ("models", "List and describe models"),
    ("sample", "Raw sampling"),
    ("tokenize", "Tokenize text"),
    ("documents", "Search documents in collections"),
)


def endpoint_acls():
    return {"acls": [{"acl": "api-key:endpoint:" + value, "description": desc,
                      "namespace": "api-key", "key": "endpoint", "value": value}
                     for value, desc in ENDPOINTS]}


MANAGEMENT_ACLS = [
    "team-token:endpoint:ListApiKeys", "team-token:endpoint:CreateApiKey",
    "team-token:endpoint:UpdateApiKey", "team-token:endpoint:DeleteApiKey",
    "team-token:endpoint:CheckApiKeyPropagation", "team-token:endpoint:ListPossibleEndpointAcls",
    "team-token:endpoint:BillingRead", "team-token:endpoint:BillingWrite",
    "team-token:endpoint:AddFileToCollection",
]

OWNER = {
    "userId": "7f3e1c2a-9b4d-4e8f-a1c6-0d2b5e7f9a13",
    "email": "owner@example.com",
    "givenName": "Ada",
    "familyName": "Lovelace",
    "profileImageUrl": "https://example.com/avatars/ada.png",
}


# ---------------------------------------------------------------------------
# Billing: the same base for every data set
# ---------------------------------------------------------------------------

PREVIEW_LINES = [
    # description, cluster, unit price (1e-6 cent per unit), units
    ("grok-4-0709 input tokens", "us-east-1", 300, 4120000),
    ("grok-4-0709 output tokens", "us-east-1", 1500, 910000),
    ("grok-3-mini input tokens", "us-east-1", 30, 12500000),
    ("grok-code-fast-1 output tokens", "eu-west-1", 150, 2400000),
]


def billing_line(description, cluster, unit_price, units):
    return {"clusterName": cluster, "description": description, "unitType": "tokens",
            "unitPrice": str(unit_price), "numUnits": str(units),
            "amount": str(unit_price * units // 1000000)}


def _invoice(ids, team_id, year, month, status, pm, lines):
    subtotal = sum(int(line["amount"]) for line in lines)
    created = datetime(year + (month == 12), month % 12 + 1, 1, 2, 15, 0,
                       tzinfo=timezone.utc).timestamp() + ids.rng.random()
    number = "%03d-%03d-%03d-%03d" % tuple(ids.rng.randrange(1000) for _ in range(4))
    raw = ids.rng.getrandbits(160).to_bytes(20, "big")
    return {
        "teamId": team_id,
        "invoiceId": base64.b64encode(raw).decode(),
        "invoiceNumber": number,
        "createTime": created,
        "invoiceStatus": status,
        "chargerAttempts": [{"ticket": 1, "successful": status == "PAID", "paymentMethodId": pm}],
        "lines": lines,
        "subtotal": subtotal,
        "tax": 0,
        "total": subtotal,
        "cycle": (year, month),
        "invoicePdfAssetKeySuffix": "invoices/%04d-%02d.pdf" % (year, month),
    }


def billing(team_id):
    """Billing state: contact, payment methods, invoices, limits, prepaid ledger."""
    ids = Ids("billing")
    card = "pm_1QexampleCardVisa4242"
    bank = "pm_1QexampleBankAccount6789"
    info = {"name": "Example Team Inc.", "email": "billing@example.com",
            "taxIdType": "us_ein", "taxNumber": "12-3456789",
            "address": {"line1": "1 Market St", "line2": "Suite 400", "city": "San Francisco",
                        "state": "CA", "postalCode": "94105", "country": "US"}}
    methods = [
        {"paymentMethodId": card, "billingInfo": info, "paymentType": "card",
         "addedTs": BASE_TIME - 30 * DAY + 0.25,
         "cardDetails": {"brand": "visa", "expMonth": "8", "expYear": "2028", "last4": "4242"}},
        {"paymentMethodId": bank, "billingInfo": info, "paymentType": "us_bank_account",
         "addedTs": BASE_TIME - 10 * DAY + 0.5,
         "usBankAccountDetails": {"bankName": "STRIPE TEST BANK", "last4": "6789",
                                  "routingNumber": "110000000"}},
    ]
    invoices = [
        _invoice(ids, team_id, 2025, 12, "PAID", card,
                 [billing_line(*PREVIEW_LINES[0][:3], 2100000),
                  billing_line(*PREVIEW_LINES[1][:3], 400000)]),
        _invoice(ids, team_id, 2026, 1, "PAID", card,
                 [billing_line(*line) for line in PREVIEW_LINES]),
        _invoice(ids, team_id, 2026, 2, "PENDING", card,
                 [billing_line(*PREVIEW_LINES[2][:3], 9000000)]),
    ]
    changes = [
        ("PURCHASE", "SUCCEEDED", -5000, -20),
        ("SPEND", None, 1200, -15),
        ("PURCHASE", "SUCCEEDED", -2500, -9),
        ("SPEND", None, 1800, -3),
        ("REFUND", None, -300, -2),
    ]
    ledger = []
    for origin, status, amount, days in changes:
        when = ids.at(days)
        month = datetime.fromtimestamp(when, timezone.utc)
        ledger.append({"changeOrigin": origin, "topupStatus": status, "amount": amount,
                       "created": when, "invoiceId": "", "invoiceNumber": "",
                       "spendYear": month.year if origin == "SPEND" else 0,
                       "spendMonth": month.month if origin == "SPEND" else 0,
                       "ready_at": None})
    return {
        "info": info,
        "payment_methods": methods,
        "default_payment_method": card,
        "invoices": invoices,
        "limits": {"hardSlAuto": 50000, "hardSlOverride": 0, "softSl": 20000},
        "changes": ledger,
        "preview_lines": [billing_line(*line) for line in PREVIEW_LINES],
    }


# ---------------------------------------------------------------------------
# Data sets
# ---------------------------------------------------------------------------

SAMPLE_KEYS = [
    # name, acls, qps, qpm, tpm, disabled, expire (days from BASE_TIME)
    ("ci-bot", ["api-key:endpoint:chat", "api-key:model:grok-code-fast-1"], 5, 100, 200000,
     False, None),
    ("prod-backend", ["api-key:endpoint:*", "api-key:model:*"], 50, 3000, 5000000, False, None),
    ("staging", ["api-key:endpoint:chat", "api-key:endpoint:embed", "api-key:model:*"], 0, 600,
     None, False, None),
    ("embeddings-worker", ["api-key:endpoint:embed", "api-key:model:grok-embedding-small"], 10,
     0, None, False, 400),
    ("old-test-1", ["api-key:endpoint:chat", "api-key:model:grok-3-mini"], 1, 10, 10000,
     True, None),
    ("old-test-2", [], 0, 0, None, False, 60),
]

NDA_PDF = (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
           b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\nstream\n"
           + bytes(range(256)) + b"\x00\x00\xff\xfe\xff\x00"
           + b"\nendstream\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")

MSA_TXT = (b"MASTER SERVICES AGREEMENT\n\n"
           b"This Master Services Agreement is entered into by Example Team Inc. and "
           b"Acme Corporation.\n\n1. Services. Provider shall perform the services described "
           b"in each Statement of Work.\n2. Term. This Agreement begins on the Effective Date "
           b"and continues for two (2) years.\n3. Fees. Customer shall pay the fees within "
           b"thirty (30) days of invoice.\n4. Confidentiality. Each party shall protect the "
           b"other's Confidential Information.\n")

SOW_MD = (b"# Statement of Work 7\n\n## Scope\n\n- Build the retrieval pipeline\n"
          b"- Index the contracts collection\n\n## Milestones\n\n| # | Deliverable | Date |\n"
          b"|---|---|---|\n| 1 | Prototype | 2026-02-01 |\n| 2 | Production | 2026-03-15 |\n\n"
          b"Fees: USD 48,000, billed monthly.\n")

BENCH_MD = (b"# Retrieval benchmarks\n\nhybrid vs semantic vs keyword on 1,200 questions.\n\n"
            b"- hybrid: recall@10 0.91\n- semantic: recall@10 0.87\n- keyword: recall@10 0.74\n")

READING_TXT = ("Reading list\n\n1. Attention Is All You Need (2017)\n"
               "2. Dense Passage Retrieval (2020)\n3. ColBERT: efficient passage search\n"
               "Notes: caf\u00e9 discussion on chunk sizes \u2014 512 tokens works well.\n"
               ).encode("utf-8")

SAMPLE_COLLECTIONS = [
    ("contracts", "Signed customer contracts",
     [{"key": "counterparty", "inject_into_chunk": True, "description": "Other party"}],
     [("nda.pdf", "application/pdf", NDA_PDF, {"counterparty": "Acme Corporation"}),
      ("msa.txt", "text/plain", MSA_TXT, {"counterparty": "Acme Corporation"}),
      ("sow.md", "text/markdown", SOW_MD, {})]),
    ("research-notes", "", [],
     [("retrieval-benchmarks.md", "text/markdown", BENCH_MD, {}),
      ("reading-list.txt", "text/plain", READING_TXT, {})]),
]

SAMPLE_AUDIT = [
    (-4.9, "Created API key 'prod-backend'"),
    (-4.8, "Created API key 'ci-bot'"),
    (-4.0, "Created collection 'contracts'"),
    (-3.5, "Uploaded document 'nda.pdf' to collection 'contracts'"),
    (-3.0, "Updated API key 'staging' (qpm)"),
    (-2.2, "Disabled API key 'old-test-1'"),
    (-1.0, "Set soft spending limit to $200.00"),
    (-0.5, "Rotated API key 'ci-bot'"),
]


def seed_empty(state, opts):
    state.billing = billing(state.team_id)


def _add_key(state, ids, name, acls=(), qps=0, qpm=0, tpm=None, disabled=False, expire=None,
             day=0.0):
    created = ids.at(day, 0.5)
    return state.add_key(ids.uuid(), name, list(acls), created=created, qps=qps, qpm=qpm,
                         tpm=tpm, disabled=disabled,
                         expire=ids.at(expire) if expire is not None else None,
                         secret=ids.secret())


def _add_doc(state, ids, coll, name, ctype, data, fields=None, day=0.0):
    when = ids.at(day, 0.2)
    f = state.add_file("file_" + ids.uuid(), name, ctype, when, data=data)
    state.add_document(coll, f, fields or {}, added=when, indexed=when + 2.5)
    return f


def seed_sample(state, opts):
    seed_empty(state, opts)
    ids = Ids("sample")
    for i, (name, acls, qps, qpm, tpm, disabled, expire) in enumerate(SAMPLE_KEYS):
        _add_key(state, ids, name, acls, qps, qpm, tpm, disabled, expire, day=i - 30)
    for i, (name, desc, fdefs, docs) in enumerate(SAMPLE_COLLECTIONS):
        coll = state.add_collection("collection_" + ids.uuid(), name, ids.at(i * 3 - 20, 0.5),
                                    description=desc, field_definitions=fdefs)
        for j, (dname, ctype, data, fields) in enumerate(docs):
            _add_doc(state, ids, coll, dname, ctype, data, fields, day=i * 3 - 19 + j * 0.1)
    for day, desc in SAMPLE_AUDIT:
        state.add_audit(ids.at(day), desc, ids.uuid())


def seed_large(state, opts):
    seed_empty(state, opts)
    ids = Ids("large")
    rng = ids.rng
    nkeys = opts.get("keys", 1000)
    for i in range(1, nkeys + 1):
        key_id = ids.uuid()
        state.add_key(key_id, "key-%05d" % i,
                      ["api-key:endpoint:chat", "api-key:model:*"] if i % 3 else [],
                      created=BASE_TIME - 60 * DAY + i * 37.25, qps=i % 7, qpm=(i % 5) * 60,
                      tpm=(i % 4) * 100000 or None, disabled=(i % 97 == 0),
                      secret=derived_secret(key_id))
    ndocs = opts.get("documents", 100)
    for c in range(1, opts.get("collections", 10) + 1):
        created = BASE_TIME - 40 * DAY + c * 3600.5
        coll = state.add_collection("collection_" + ids.uuid(), "coll-%03d" % c, created)
        for d in range(1, ndocs + 1):
            when = created + d * 1.000001
            name = "doc-%05d.txt" % d
            f = state.add_file("file_" + ids.uuid(), name, "text/plain", when,
                               size=rng.randrange(200, 600))
            state.add_document(coll, f, {}, added=when, indexed=when + 2.0)


HOSTILE_LONG = "long-" + "x" * 95 + "\u00e9" * 100   # 300 bytes of UTF-8
HOSTILE_BAD_UTF8 = "bad-\udcff\udcfe-utf8"           # raw 0xff 0xfe on the wire

HOSTILE_NAMES = ["a/b", "..", ".", "", None, HOSTILE_LONG, "new\nline", "tab\there",
                 "esc\x1b[31mred", "dup", "dup", HOSTILE_BAD_UTF8, "collection.json",
                 "a%2Fb", "normal"]

HOSTILE_DOC_NAMES = ["a/b", "..", ".", "", HOSTILE_LONG, "new\nline.txt", "tab\t.txt",
                     "esc\x1b.txt", "dup.txt", "dup.txt", HOSTILE_BAD_UTF8 + ".txt",
                     "collection.json", "x.json", "a%2Fb", "readme.txt"]


def seed_hostile(state, opts):
    seed_empty(state, opts)
    ids = Ids("hostile")
    for i, name in enumerate(HOSTILE_NAMES):
        _add_key(state, ids, name or "", ["api-key:model:*"], day=i * 0.01 - 5)
    colls = []
    for i, name in enumerate(HOSTILE_NAMES):
        colls.append(state.add_collection("collection_" + ids.uuid(), name or "",
                                          ids.at(i * 0.01 - 4)))
    docs_home = colls[-1]            # "normal" holds the hostile document names
    for j, name in enumerate(HOSTILE_DOC_NAMES):
        data = ("document %d: %r\n" % (j, name)).encode("utf-8", "surrogateescape")
        _add_doc(state, ids, docs_home, name, "text/plain", data, day=j * 0.01 - 3)
    _add_doc(state, ids, colls[0], "inside-a-slash.txt", "text/plain", b"in a/b\n", day=-2)
    state.add_audit(ids.at(-1), "Created API key 'a/b'", ids.uuid())
    state.add_audit(ids.at(-0.5), "Created API key '\x1b[31mred'", ids.uuid())


BUILDERS = {"empty": seed_empty, "sample": seed_sample, "large": seed_large,
            "hostile": seed_hostile}


def build(state, name, opts):
    """Fill `state` with data set `name`; opts: keys, collections, documents."""
    if name not in BUILDERS:
        raise ValueError("unknown seed %r (one of %s)" % (name, ", ".join(SEEDS)))
    BUILDERS[name](state, opts)
