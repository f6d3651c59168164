"""The bench's front (bench/front.py, bench/relay.py): nginx terminating TLS 1.3 with
HTTP/2 before the emulator, a relay adding 40 ms of round-trip time before nginx, and
xaifs mounted through it with -o cacert=. nginx is installed by scripts/install-deps.sh
test: without it these tests fail, they are never skipped."""
import http.client
import importlib.util
import json
import os
import subprocess
import time

import pytest

import util

RTT_MS = 40
RTT = RTT_MS / 1000.0
BENCH = os.path.join(util.ROOT, "bench")


def _load_front():
    spec = importlib.util.spec_from_file_location("xaifs_bench_front",
                                                  os.path.join(BENCH, "front.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


front_mod = _load_front()


@pytest.fixture(scope="module")
def front(emu_module):
    if not os.access(front_mod.NGINX, os.X_OK):
        pytest.fail(front_mod.NGINX_HINT)
    with front_mod.Front(emu_module.url, rtt_ms=RTT_MS) as f:
        yield f


def curl(front, url, *urls, verbose=False):
    """curl through the front with the test CA: (per-URL -w lines, stderr)."""
    argv = ["curl", "-sS", "-f", "--noproxy", "*", "--cacert", front.ca_path,
            "-H", "Authorization: Bearer " + util.MGMT_KEY]
    if verbose:
        argv.append("-v")
    fmt = "%{http_version} %{http_code} %{time_appconnect} %{time_starttransfer} " \
          "%{time_total}\\n"
    for u in (url,) + urls:
        argv += ["-o", "/dev/null", "-w", fmt, u]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return [line.split() for line in p.stdout.splitlines()], p.stderr


def validation(base):
    return base + "/auth/management-keys/validation"


def test_tls13_http2_and_the_emulators_answer(emu, front):
    lines, err = curl(front, validation(front.url), verbose=True)
    assert lines[0][:2] == ["2", "200"], lines          # HTTP/2, 200
    assert "SSL connection using TLSv1.3" in err, err
    assert "ALPN: server accepted h2" in err, err
    # The body is the emulator's: its own validation answer, through nginx.
    p = subprocess.run(["curl", "-sS", "-f", "--noproxy", "*", "--cacert", front.ca_path,
                        "-H", "Authorization: Bearer " + util.MGMT_KEY,
                        validation(front.url)], capture_output=True, text=True, timeout=30)
    direct = json.loads(emu.api("GET", "/auth/management-keys/validation"))
    assert json.loads(p.stdout).keys() == direct.keys()
    # TLS 1.2 is refused: the front speaks TLS 1.3 only.
    p = subprocess.run(["curl", "-sS", "--noproxy", "*", "--cacert", front.ca_path,
                        "--tls-max", "1.2", "-o", "/dev/null", validation(front.nginx_url)],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode != 0


def test_untrusted_without_the_ca(front):
    p = subprocess.run(["curl", "-sS", "--noproxy", "*", "-o", "/dev/null",
                        validation(front.url)], capture_output=True, text=True, timeout=30)
    assert p.returncode == 60, p.stderr       # CURLE_PEER_FAILED_VERIFICATION


def test_relay_adds_the_round_trip(front):
    # Two requests on one connection, through nginx directly and through the relay.
    direct, _ = curl(front, validation(front.nginx_url), validation(front.nginx_url))
    relayed, _ = curl(front, validation(front.url), validation(front.url))
    d_first, r_first = float(direct[0][4]), float(relayed[0][4])
    # A new connection: one RTT for TCP, one for TLS 1.3, one for the request
    # (a floor: the handshake's CPU time overlaps the relay's delays, so the
    # direct time is not added; on a busy machine it was 17 ms).
    assert r_first >= 3 * RTT * 0.95 and r_first > d_first, (direct, relayed)
    assert r_first < 3 * RTT + 1.0, relayed
    # The reused connection: one RTT per request.
    d_again, r_again = float(direct[1][4]), float(relayed[1][4])
    assert r_again >= RTT * 0.95 and r_again > d_again, (direct, relayed)
    assert r_again < RTT + 0.5, relayed


def test_relay_keeps_throughput(emu, front, tmp_path):
    """Each chunk is delayed, not each chunk held for an RTT: 8 MiB through 40 ms
    comes in well under the 1.3 s that 256 KiB per round trip would take."""
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(8 << 20))
    cid = json.loads(emu.api("POST", "/v1/collections",
                             {"collection_name": "front"}))["collection_id"]
    p = subprocess.run(["curl", "-sS", "-f", "--noproxy", "*", "-o", "/dev/null",
                        "-H", "Authorization: Bearer " + util.MGMT_KEY,
                        "-F", "name=big.bin", "-F", "data=@%s" % src,
                        "-F", "content_type=application/octet-stream",
                        "%s/v1/collections/%s/documents" % (emu.url, cid)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    docs = json.loads(emu.api("GET", "/v1/collections/%s/documents" % cid))["documents"]
    fid = docs[0]["file_metadata"]["file_id"]
    p = subprocess.run(["curl", "-sS", "-f", "--noproxy", "*", "--cacert", front.ca_path,
                        "-H", "Authorization: Bearer " + util.API_KEY, "-o", "/dev/null",
                        "-w", "%{size_download} %{time_total}",
                        "%s/v1/files/%s/content" % (front.url, fid)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    size, total = p.stdout.split()
    assert int(size) == 8 << 20
    assert 3 * RTT * 0.95 <= float(total) < 0.8, p.stdout


def test_connections_are_counted(front):
    c0 = front.connections()
    curl(front, validation(front.url), validation(front.url), validation(front.url))
    assert front.connections() - c0 == 1            # curl kept its connection
    curl(front, validation(front.url))
    curl(front, validation(front.url))
    assert front.connections() - c0 == 3


def test_upstream_connections_kept_alive(emu, front):
    for _ in range(2):                               # warm nginx's upstream pool
        curl(front, validation(front.url))
    emu.reset_stats()
    for _ in range(4):                               # four client connections...
        curl(front, validation(front.url))
    s = emu.stats()
    assert s["total"] == 4
    # ...one upstream connection at most, besides the one asking for the stats.
    assert s["connections"] - 1 <= 1, s


def test_emulator_answers_without_nagle_delay(emu):
    """Headers and body are two sends; with TCP_NODELAY a kept connection costs no
    delayed-ACK wait (~40 ms) per request."""
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=10)
    try:
        times = []
        for _ in range(10):
            t0 = time.perf_counter()
            conn.request("GET", "/auth/management-keys/validation",
                         headers={"Authorization": "Bearer " + util.MGMT_KEY})
            r = conn.getresponse()
            r.read()
            assert r.status == 200
            times.append(time.perf_counter() - t0)
    finally:
        conn.close()
    times.sort()
    assert times[5] < 0.025, times


class _Target:
    def __init__(self, url):
        self.url = url


def test_xaifs_mounts_through_the_front(emu, front):
    c0 = front.connections()
    m = util.Mount(_Target(front.url), ["cacert=" + front.ca_path])
    try:
        names = sorted(os.listdir(m.p("keys")))
        assert names and names == sorted(
            k["name"] for k in json.loads(emu.api(
                "GET", "/auth/teams/%s/api-keys" % util.TEAM_ID))["apiKeys"])
        p = util.run(["ls", "-l", m.p("keys")])
        assert p.returncode == 0 and p.stdout.count("\n") == len(names) + 1, p.stderr
        assert front.connections() - c0 >= 1
        log = front.access_log()
        assert any(r["protocol"] == "HTTP/2.0" and "/api-keys" in r["uri"] for r in log), log
    finally:
        m.stop()


def test_xaifs_refuses_the_front_without_cacert(front):
    with pytest.raises(RuntimeError, match="certificate"):
        util.Mount(_Target(front.url)).stop()


class Tinyproxy:
    """Debian's tinyproxy on a free loopback port, logging every request."""

    def __init__(self, tmp):
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.log = os.path.join(tmp, "tinyproxy.log")
        conf = os.path.join(tmp, "tinyproxy.conf")
        with open(conf, "w") as f:
            f.write("Port %d\nListen 127.0.0.1\nTimeout 60\nLogFile \"%s\"\n"
                    "LogLevel Connect\nMaxClients 20\nAllow 127.0.0.1\n"
                    % (self.port, self.log))  # no ConnectPort line: any port
        self.proc = subprocess.Popen(["tinyproxy", "-d", "-c", conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        util.wait_for(lambda: self._listening(), 10, "tinyproxy")
        self.url = "http://127.0.0.1:%d" % self.port

    def _listening(self):
        import socket
        try:
            socket.create_connection(("127.0.0.1", self.port), 0.2).close()
            return True
        except OSError:
            return False

    def text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


def test_xaifs_through_an_https_proxy(emu, front, tmp_path):
    """https_proxy (libcurl reads it) through a real proxy: the mount works, the
    proxy sees a CONNECT to the front and nothing else (the key goes inside TLS);
    no_proxy lets the same host bypass it."""
    if not os.access("/usr/bin/tinyproxy", os.X_OK):
        pytest.fail("tinyproxy is missing: scripts/install-deps.sh test installs it")
    tp = Tinyproxy(str(tmp_path))
    try:
        env = {"https_proxy": tp.url, "HTTPS_PROXY": tp.url, "no_proxy": "", "NO_PROXY": ""}
        m = util.Mount(_Target(front.url), ["cacert=" + front.ca_path], env=env)
        try:
            assert "ci-bot" in os.listdir(m.p("keys"))
        finally:
            m.stop()
        log = tp.text()
        port = front.url.rsplit(":", 1)[1]
        assert "CONNECT" in log and ("127.0.0.1:%s" % port) in log, log
        assert util.MGMT_KEY not in log and "api-keys" not in log, log
        # no_proxy names the host: the proxy sees nothing more
        before = log.count("CONNECT")
        env2 = dict(env, no_proxy="127.0.0.1", NO_PROXY="127.0.0.1")
        m = util.Mount(_Target(front.url), ["cacert=" + front.ca_path], env=env2)
        try:
            assert "ci-bot" in os.listdir(m.p("keys"))
        finally:
            m.stop()
        assert tp.text().count("CONNECT") == before
    finally:
        tp.stop()


KEY_CREATE = "POST /auth/teams/{teamId}/api-keys"


def test_creates_across_goaway_and_stream_resets_are_made_once(emu_module, emu):
    """Over HTTP/2 through nginx: a front that ends each connection after 3
    requests with a GOAWAY, and a create whose answer the front resets mid-body
    (the emulator cuts its answer; nginx, with headers sent, resets the stream).
    Every create ends with exactly one key and close() 0."""
    with front_mod.Front(emu_module.url, rtt_ms=None, client_requests=3) as f:
        m = util.Mount(_Target(f.url), ["cacert=" + f.ca_path])
        try:
            for i in range(10):
                p = m.p("keys", "ga-%d" % i)
                with open(p, "w") as fh:
                    fh.write('{"qps": 1}')
            emu.faults(truncate_next=1, fail_route=KEY_CREATE)
            with open(m.p("keys", "reset-1"), "w") as fh:
                fh.write('{"qps": 1}')
            emu.faults()
            names = [k["name"] for k in emu.state()["keys"]]
            for i in range(10):
                assert names.count("ga-%d" % i) == 1, names
            assert names.count("reset-1") == 1, names
            assert f.connections() >= 4, "nginx should have ended connections (GOAWAY)"
            log = f.access_log()
            assert all(r["protocol"] == "HTTP/2.0" for r in log if "/api-keys" in r["uri"])
        finally:
            out = m.stop()
        assert "reset-1" in out and "the answer was lost, but the server made it" in out, out
