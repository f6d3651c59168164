"""Request body framing: one body read by Content-Length or chunked transfer encoding, in
pieces of at most CHUNK bytes, with a size limit for whole reads and a drain for reusing
the connection.
"""

from .wire import ApiError

CHUNK = 1024 * 1024                     # I/O chunk for bodies and content


class BodyReader:
    """Reads one request body, framed by Content-Length or chunked encoding."""

    def __init__(self, rfile, length=0, chunked=False):
        self.rfile = rfile
        self.remaining = length       # bytes left (length mode) or in the current chunk
        self.chunked = chunked
        self.eof = not chunked and length == 0
        self.total = 0

    def read(self, n=CHUNK):
        if self.eof:
            return b""
        if self.chunked and self.remaining == 0:
            self._next_chunk()
            if self.eof:
                return b""
        data = self.rfile.read(min(n, self.remaining))
        if not data:
            raise ApiError(400, "request body ended early")
        self.remaining -= len(data)
        self.total += len(data)
        if self.remaining == 0:
            if self.chunked:
                self._expect_crlf()
            else:
                self.eof = True
        return data

    def _next_chunk(self):
        line = self.rfile.readline(1024)
        try:
            size = int(line.split(b";")[0].strip(), 16)
        except ValueError:
            raise ApiError(400, "bad chunk size") from None
        if size == 0:
            while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                pass                      # trailers
            self.eof = True
        self.remaining = size

    def _expect_crlf(self):
        if self.rfile.readline(8) not in (b"\r\n", b"\n"):
            raise ApiError(400, "bad chunk framing")

    def read_all(self, limit):
        parts = []
        while True:
            data = self.read()
            if not data:
                return b"".join(parts)
            parts.append(data)
            if self.total > limit:
                raise ApiError(413, "request body larger than %d bytes" % limit)

    def drain(self, limit):
        """Read and drop the rest of the body. False if more than `limit` bytes remain."""
        if not self.chunked and self.remaining > limit:
            return False
        start = self.total
        while self.read():
            if self.total - start > limit:
                return False
        return True
