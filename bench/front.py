#!/usr/bin/python3
"""A front like the real one, before the emulator: TLS 1.3, HTTP/2, kept-alive upstream.

    with Front(emulator_url, rtt_ms=40) as f:
        f.url          # https://127.0.0.1:PORT: the relay (or nginx when rtt_ms is None)
        f.ca_path      # the test CA to trust (curl --cacert, xaifs -o cacert=)
        f.connections()  # connections the relay accepted so far

What runs, all in one temporary directory removed at the end:

- a throwaway CA and a server certificate for 127.0.0.1 and localhost, made
  with the openssl command;
- Debian's nginx (package nginx-light), in the foreground as a child process
  with its own prefix, pid file and logs: TLS 1.3 only, HTTP/2 (ALPN h2, and
  http/1.1 for clients that ask for it), every path proxied to the emulator
  over HTTP/1.1 connections the upstream block keeps alive (keepalive 16),
  request and response bodies streamed through (no buffering), bodies up to
  1 GiB;
- bench/relay.py in front of nginx, adding rtt_ms of round-trip time (RTT/2
  each way, one RTT per new connection) and counting connections.

Only 127.0.0.1 is listened on. Standard library only, plus the openssl and
nginx commands (scripts/install-deps.sh test installs them).
"""
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from relay import Relay  # noqa: E402  (bench/relay.py, beside this file)

NGINX = "/usr/sbin/nginx"
NGINX_HINT = ("nginx is not installed (%s): run scripts/install-deps.sh test as root, "
              "or apt-get install -y nginx-light" % NGINX)

# Each request in the access log: what a test or the bench may want to look at.
LOG_FIELDS = ("msec", "connection", "connection_requests", "protocol", "method", "uri",
              "status", "request_length", "bytes_sent", "request_time",
              "upstream_connect_time", "upstream_response_time")

CONF = """\
daemon off;
master_process on;
worker_processes 1;
{user}pid {dir}/nginx.pid;
error_log {dir}/error.log warn;

events {{
    worker_connections 1024;
}}

http {{
    log_format front '$msec $connection $connection_requests $server_protocol '
                     '$request_method "$request_uri" $status $request_length $bytes_sent '
                     '$request_time $upstream_connect_time $upstream_response_time';
    access_log {dir}/access.log front;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    default_type application/octet-stream;
    sendfile off;
    tcp_nodelay on;
    keepalive_timeout {client_idle}s;
    keepalive_requests {client_requests};

    upstream emulator {{
        server {upstream};
        keepalive 16;
        keepalive_requests 100000;
        keepalive_timeout 300s;
    }}

    server {{
        listen 127.0.0.1:{port} ssl http2;
        server_name 127.0.0.1 localhost;
        ssl_certificate {dir}/server.pem;
        ssl_certificate_key {dir}/server.key;
        ssl_protocols TLSv1.3;
        ssl_session_cache shared:front:1m;
        client_max_body_size 1g;
        client_body_timeout 600s;
        send_timeout 600s;

        location / {{
            proxy_pass http://emulator;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_request_buffering off;
            proxy_buffering off;
            proxy_connect_timeout 10s;
            proxy_read_timeout 600s;
            proxy_send_timeout 600s;
        }}
    }}
}}
"""

SERVER_EXT = """\
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
"""


def free_port():
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def _openssl(*args, cwd):
    p = subprocess.run(["openssl"] + list(args), cwd=cwd, capture_output=True, text=True,
                       timeout=60)
    if p.returncode != 0:
        raise RuntimeError("openssl %s failed: %s" % (args[0], p.stderr.strip()))


def make_certs(d):
    """A CA (ca.pem) and a server certificate (server.pem, server.key) it signed."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=xaifs bench test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    _openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr",
             "-subj", "/CN=localhost", cwd=d)
    with open(os.path.join(d, "server.ext"), "w") as f:
        f.write(SERVER_EXT)
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "server.ext",
             cwd=d)
    return os.path.join(d, "ca.pem")


class Front:
    """nginx (TLS 1.3, HTTP/2) before the emulator, and the RTT relay before nginx."""

    def __init__(self, emulator_url, rtt_ms=0, client_requests=100000, client_idle=300):
        """client_requests: requests nginx serves on one client connection
        before it closes it (HTTP/2: a GOAWAY), as keepalive_requests;
        client_idle: seconds an idle client connection is kept
        (keepalive_timeout; nginx's own default is 75)."""
        u = urllib.parse.urlsplit(emulator_url)
        if u.scheme != "http" or not u.port:
            raise ValueError("emulator_url must be http://HOST:PORT, not %r" % emulator_url)
        self.upstream = "%s:%d" % (u.hostname, u.port)
        self.rtt_ms = rtt_ms
        self.client_requests = client_requests
        self.client_idle = client_idle
        self.dir = None
        self.nginx = None
        self.relay = None
        self.nginx_port = None
        self.ca_path = None
        self.url = None

    # -- lifetime --------------------------------------------------------------
    def start(self):
        if not os.access(NGINX, os.X_OK):
            raise RuntimeError(NGINX_HINT)
        if not shutil.which("openssl"):
            raise RuntimeError("the openssl command is needed (apt-get install -y openssl)")
        self.dir = tempfile.mkdtemp(prefix="xaifs-front-")
        try:
            self.ca_path = make_certs(self.dir)
            self._start_nginx()
            self.nginx_url = "https://127.0.0.1:%d" % self.nginx_port
            if self.rtt_ms is None:
                self.url = self.nginx_url
            else:
                self.relay = Relay("127.0.0.1", self.nginx_port, self.rtt_ms).start()
                self.url = "https://127.0.0.1:%d" % self.relay.port
        except BaseException:
            self.stop()
            raise
        return self

    def _start_nginx(self):
        user = "user root root;\n" if os.geteuid() == 0 else ""
        err = ""
        for _ in range(5):                  # a free port can be taken before nginx binds it
            port = free_port()
            conf = os.path.join(self.dir, "nginx.conf")
            with open(conf, "w") as f:
                f.write(CONF.format(dir=self.dir, port=port, upstream=self.upstream,
                                    user=user, client_requests=self.client_requests,
                                    client_idle=self.client_idle))
            self.nginx_log = open(os.path.join(self.dir, "nginx.out"), "w+b")
            self.nginx = subprocess.Popen(
                [NGINX, "-p", self.dir + "/", "-c", conf, "-e", self.dir + "/error.log"],
                stdout=self.nginx_log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)     # its workers are in its own process group
            if self._wait_listening(port):
                self.nginx_port = port
                return
            err = self.nginx_output()
            self._stop_nginx()
            if "Address already in use" not in err:
                break
        raise RuntimeError("nginx did not start: " + err.strip())

    def _wait_listening(self, port, timeout=15.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.nginx.poll() is not None:
                return False
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return True
            except OSError:
                time.sleep(0.02)
        return False

    def nginx_output(self):
        out = ""
        if self.nginx_log and not self.nginx_log.closed:
            self.nginx_log.flush()
            self.nginx_log.seek(0)
            out = self.nginx_log.read().decode(errors="replace")
        try:
            with open(os.path.join(self.dir, "error.log"), errors="replace") as f:
                out += f.read()
        except OSError:
            pass
        return out

    def _stop_nginx(self):
        p, self.nginx = self.nginx, None
        if p is not None:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)   # fast shutdown: master and workers
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            try:
                os.killpg(p.pid, signal.SIGKILL)    # any worker left behind
            except OSError:
                pass
        if getattr(self, "nginx_log", None) and not self.nginx_log.closed:
            self.nginx_log.close()

    def stop(self):
        if self.relay is not None:
            self.relay.stop()
            self.relay = None
        self._stop_nginx()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    # -- what went through -----------------------------------------------------
    def connections(self):
        """Connections the relay accepted so far; without a relay (rtt_ms None), the
        client connections nginx logged a request on."""
        if self.relay is not None:
            return self.relay.connections
        return len({r["connection"] for r in self.access_log()})

    def access_log(self):
        """nginx's access log so far: one dict per request (LOG_FIELDS)."""
        rows = []
        try:
            with open(os.path.join(self.dir, "access.log"), errors="replace") as f:
                lines = f.read().splitlines()
        except OSError:
            return rows
        for line in lines:
            head, _, rest = line.partition(' "')
            uri, _, tail = rest.rpartition('" ')
            parts = head.split() + [uri] + tail.split()
            if len(parts) == len(LOG_FIELDS):
                rows.append(dict(zip(LOG_FIELDS, parts)))
        return rows


def main():
    """Manual use: bench/front.py EMULATOR_URL [RTT_MS]; prints the URL, Ctrl-C ends."""
    if len(sys.argv) not in (2, 3):
        print("usage: %s http://127.0.0.1:PORT [RTT_MS]" % sys.argv[0], file=sys.stderr)
        return 2
    rtt = float(sys.argv[2]) if len(sys.argv) == 3 else 0
    with Front(sys.argv[1], rtt) as f:
        print("front %s (nginx %s), CA %s; Ctrl-C ends" % (f.url, f.nginx_url, f.ca_path),
              flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("%d connections" % f.connections())
    return 0


if __name__ == "__main__":
    sys.exit(main())


class _At:
    """What util.Mount needs of an emulator: its URL (here, the front's)."""

    def __init__(self, url):
        self.url = url


@contextlib.contextmanager
def mounted(util, rtt_ms, options=(), **front_options):
    """The emulator with its sample data, a Front at rtt_ms before it
    (front_options as Front's), and xaifs mounted through the front with
    -o cacert= and options: yields (emulator, front, mount); all three are
    stopped after."""
    emu = util.Emulator(seed="sample")
    try:
        with Front(emu.url, rtt_ms=rtt_ms, **front_options) as f:
            m = util.Mount(_At(f.url), ["cacert=" + f.ca_path] + list(options))
            try:
                yield emu, f, m
            finally:
                m.stop()
    finally:
        emu.stop()
