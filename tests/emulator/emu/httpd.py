"""HTTP/1.1 transport: the request handler (keep-alive, Content-Length on every response,
the drop and truncate faults carried out on the socket, one log line per request; headers
and so secrets never logged) and the threaded server bound without a DNS lookup.
"""

import socket
import socketserver
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .exchange import Request


def printable(text):
    """A path or message safe for one log line: control bytes escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "xai-emulator/1.0"
    sys_version = ""
    timeout = 300           # idle keep-alive connections are closed after this

    def version_string(self):
        return self.server_version

    def setup(self):
        super().setup()
        # Headers and body are separate writes; without NODELAY, Nagle plus the client's
        # delayed ACK would add ~40 ms to every keep-alive response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.app.stats.connected()

    def do_GET(self):
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _serve(self):
        started = time.monotonic()
        app = self.server.app
        req = Request(self)
        resp = app.handle(req)
        if resp.fault == "drop":
            self._drop()
            sent = "dropped"
        else:
            if not req.body_done():
                self.close_connection = True
            try:
                sent = self._send(resp)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True     # the client gave up (hang_after)
                sent = "not sent (client went away)"
        if not app.config.quiet:
            self._log("%s %s -> %s %s %.1fms" % (req.method, printable(self.path), resp.status,
                                                   sent, (time.monotonic() - started) * 1000))

    def _send(self, resp):
        """Write the response; a 'truncate' fault sends half the body and closes."""
        truncate = resp.fault == "truncate"
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.ctype)
        self.send_header("Content-Length", str(resp.length))
        for name, value in resp.headers:
            self.send_header(name, value)
        if self.close_connection or truncate:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        limit = resp.length // 2 if truncate else resp.length
        written = 0
        try:
            for chunk in resp.chunks():
                chunk = chunk[:limit - written]
                if chunk:
                    self.wfile.write(chunk)
                    written += len(chunk)
                if written >= limit:
                    break
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            return "%d/%dB (client went away)" % (written, resp.length)
        if truncate:
            self._drop()
            return "%d/%dB (truncated)" % (written, resp.length)
        return "%dB" % written

    def _drop(self):
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def log_request(self, code="-", size="-"):
        pass                    # _serve logs one line per request itself

    def log_message(self, fmt, *args):
        if not self.server.app.config.quiet:
            self._log(printable(fmt % args))

    @staticmethod
    def _log(line):
        sys.stderr.write("[xai-emulator] %s\n" % line)
        sys.stderr.flush()


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, app, family=socket.AF_INET):
        self.address_family = family
        self.app = app
        super().__init__(address, Handler)

    def server_bind(self):
        # HTTPServer.server_bind would call socket.getfqdn(), a DNS lookup; skip it.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]
