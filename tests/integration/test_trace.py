"""-o trace=FILE: every request and answer as one JSON line, every secret
replaced (docs/semantics.md, "First contact: the trace"). A session that creates,
rotates and deletes keys, uploads and reads a document and reads billing
leaves a trace that holds none of the secrets it saw: the management and
inference keys, and each one-time secret the emulator handed out."""
import json
import os
import stat
import subprocess

import util


def secret_of(mnt, name):
    with open(mnt.p("keys", name)) as f:
        return json.load(f).get("apiKey")


def test_trace_holds_every_request_and_no_secret(emu, tmp_path):
    trace = tmp_path / "trace.jsonl"
    m = util.Mount(emu, ["trace=%s" % trace])
    assert stat.S_IMODE(os.stat(trace).st_mode) == 0o600
    secrets = [util.MGMT_KEY, util.API_KEY]
    p = m.p("keys", "traced")
    with open(p, "w") as f:
        f.write('{"acls": ["api-key:model:*"], "qps": 2}')
    secrets.append(secret_of(m, "traced"))
    r = subprocess.run(["setfattr", "-n", "user.xai.rotate", "-v", "1", p],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    secrets.append(secret_of(m, "traced"))
    assert all(s and s.startswith("xai-") for s in secrets[2:]), secrets
    docs = m.p("collections", "contracts", "documents")
    with open(os.path.join(docs, "t.txt"), "wb") as f:
        f.write(b"traced bytes\n")
    with open(os.path.join(docs, "msa.txt"), "rb") as f:
        f.read()
    with open(m.p("billing")) as f:
        f.read()
    os.unlink(p)
    m.stop()
    text = trace.read_text()
    for s in secrets:
        assert s not in text, "a secret is in the trace"
    lines = [json.loads(line) for line in text.splitlines()]
    routes = {(ln["method"], ln["route"]) for ln in lines}
    for want in (("GET", "/auth/management-keys/validation"),
                 ("POST", "/auth/teams/{teamId}/api-keys"),
                 ("POST", "/auth/api-keys/{apiKeyId}/rotate"),
                 ("DELETE", "/auth/api-keys/{apiKeyId}"),
                 ("POST", "/v1/collections/{collection_id}/documents"),
                 ("GET", "/v1/files/{file_id}/content"),
                 ("GET", "/v1/billing/teams/{team_id}/prepaid/balance")):
        assert want in routes, (want, sorted(routes))
    for ln in lines:
        assert set(ln) == {"time", "method", "route", "status", "ms", "up", "down", "try",
                           "error", "body"}, ln
        assert "{" in ln["route"] or "/" in ln["route"]
    created = [ln for ln in lines if ln["route"] == "/auth/teams/{teamId}/api-keys"
               and ln["method"] == "POST"][0]
    assert created["status"] == 200 and created["body"]["apiKey"] == "[redacted]", created
    content = [ln for ln in lines if ln["route"] == "/v1/files/{file_id}/content"][0]
    assert content["body"] is None and content["down"] > 0, "document bytes stay out"


def test_trace_that_cannot_be_made_is_refused_before_any_request(emu, tmp_path):
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "elsewhere")
    emu.reset_stats()
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    env = dict(os.environ, XAI_MANAGEMENT_KEY=util.MGMT_KEY,
               XDG_CONFIG_HOME=str(tmp_path / "config"))
    r = subprocess.run([util.xaifs_bin(), "-f", str(mnt), "-o",
                        "management_url=%s,api_url=%s,trace=%s" % (emu.url, emu.url, link)],
                       env=env, capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "trace" in r.stderr and len(r.stderr.splitlines()) == 1, \
        r.stderr
    assert emu.stats()["total"] == 0
    assert not (tmp_path / "elsewhere").exists()
