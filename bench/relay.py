#!/usr/bin/python3
"""A TCP relay that adds a round-trip time: a stand-in for the internet on loopback.

The kernel here has no netem, so the delay is made in user space. Every chunk
read from one side is stamped with the time it was read and written to the
other side no earlier than that time + RTT/2, in order; chunks are not held
back behind each other, so throughput is bounded by the window (at most
WINDOW bytes in flight per direction), not cut to one chunk per RTT. A new
connection is held for one RTT before its first byte goes through, as the TCP
handshake would hold it: the client's first bytes reach the target at
accept + RTT + RTT/2, its first answer comes back one RTT after that.

    relay = Relay("127.0.0.1", 8443, rtt_ms=40)
    relay.start()               # relay.port: where to connect
    ...                         # relay.connections: accepted so far
    relay.stop()

Relay runs the relay in a child process (this file, --control), so that the
relay's work does not share a Python interpreter (and its lock) with the
caller's clients; the count is asked of the child over a pipe, so it includes
every connection accepted before the question. For manual use:

    bench/relay.py 127.0.0.1:8443 --rtt-ms 40 [--port 9443]

Standard library only; listens and connects on loopback addresses only.
"""
import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time

CHUNK = 256 * 1024           # one read
WINDOW = 16 * 1024 * 1024    # bytes in flight per direction, like a TCP window


class _Pipe:
    """One direction of one connection: reader -> timed queue -> writer."""

    def __init__(self, reader, writer, delay, not_before, done, abort):
        self.reader, self.writer = reader, writer
        self.abort = abort                  # ends both sides of the connection
        self.delay = delay                  # seconds added to each chunk
        self.not_before = not_before        # loop time before which nothing goes out
        self.queue = []                     # [(release time, bytes or None for EOF)]
        self.inflight = 0
        self.wake = asyncio.Event()         # the writer has something to do
        self.room = asyncio.Event()         # the reader may read again
        self.room.set()
        self.done = done

    async def read_side(self):
        loop = asyncio.get_running_loop()
        try:
            while True:
                await self.room.wait()
                data = await self.reader.read(CHUNK)
                t = max(loop.time(), self.not_before) + self.delay
                self.queue.append((t, data or None))
                self.wake.set()
                if not data:
                    return
                self.inflight += len(data)
                if self.inflight >= WINDOW:
                    self.room.clear()
        except (ConnectionError, OSError):
            # A reset travels like data: RTT/2 later, the other side is reset too.
            self.queue.append((loop.time() + self.delay, ConnectionResetError))
            self.wake.set()

    async def write_side(self):
        loop = asyncio.get_running_loop()
        try:
            while True:
                while not self.queue:
                    self.wake.clear()
                    await self.wake.wait()
                t, data = self.queue[0]
                wait = t - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                self.queue.pop(0)
                if data is ConnectionResetError:
                    self.abort()
                    return
                if data is None:
                    if self.writer.can_write_eof():
                        self.writer.write_eof()
                    return
                self.writer.write(data)
                await self.writer.drain()
                self.inflight -= len(data)
                if self.inflight < WINDOW:
                    self.room.set()
        except (ConnectionError, OSError):
            self.abort()                    # the reader on this side must not wait on
        finally:                            # a window nobody empties any more
            self.room.set()
            self.done()


def _nodelay(writer):
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class RelayServer:
    """The relay itself, in the running asyncio loop (used by the child process)."""

    def __init__(self, target_host, target_port, rtt_ms, host="127.0.0.1", port=0,
                 on_connect=None):
        self.target = (target_host, target_port)
        self.rtt = max(0.0, float(rtt_ms)) / 1000.0
        self.host, self.want_port = host, port
        self.connections = 0
        self.on_connect = on_connect
        self.server = None
        self.port = None
        # The loop keeps only weak references to tasks: a connection's task could be
        # collected while it waits (asyncio's "Task was destroyed but it is pending").
        self.live = set()

    async def start(self):
        self.server = await asyncio.start_server(self._client, self.host, self.want_port,
                                                 limit=CHUNK, backlog=128)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _client(self, c_reader, c_writer):
        me = asyncio.current_task()
        self.live.add(me)
        try:
            await self._relay(c_reader, c_writer)
        finally:
            self.live.discard(me)

    async def _relay(self, c_reader, c_writer):
        loop = asyncio.get_running_loop()
        accepted = loop.time()
        self.connections += 1
        if self.on_connect:
            self.on_connect(self.connections)
        _nodelay(c_writer)
        try:
            t_reader, t_writer = await asyncio.open_connection(*self.target, limit=CHUNK)
        except OSError:
            c_writer.transport.abort()
            return
        _nodelay(t_writer)
        half = self.rtt / 2.0
        left = [2]

        def done():
            left[0] -= 1
            if left[0] == 0:
                c_writer.close()
                t_writer.close()

        def abort():
            c_writer.transport.abort()
            t_writer.transport.abort()

        # Client -> target: nothing before the handshake's RTT, then RTT/2 per chunk.
        up = _Pipe(c_reader, t_writer, half, accepted + self.rtt, done, abort)
        down = _Pipe(t_reader, c_writer, half, 0.0, done, abort)
        tasks = [asyncio.ensure_future(f) for f in (up.read_side(), up.write_side(),
                                                    down.read_side(), down.write_side())]
        try:
            await asyncio.gather(*tasks)
        except asyncio.CancelledError:      # the relay is stopping
            abort()
        except Exception:
            for t in tasks:
                t.cancel()
            abort()

    def close(self):
        if self.server:
            self.server.close()


class Relay:
    """The relay in a child process: start(), port, connections, stop()."""

    def __init__(self, target_host, target_port, rtt_ms):
        self.target_host, self.target_port = target_host, int(target_port)
        self.rtt_ms = rtt_ms
        self.proc = None
        self.port = None
        self._lock = threading.Lock()

    def start(self):
        self.proc = subprocess.Popen(
            [sys.executable or "/usr/bin/python3", os.path.abspath(__file__), "--control",
             "--rtt-ms", str(self.rtt_ms), "%s:%d" % (self.target_host, self.target_port)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        line = self.proc.stdout.readline().split()
        if len(line) != 2 or line[0] != "port":
            self.stop()
            raise RuntimeError("relay did not start (%r)" % line)
        self.port = int(line[1])
        return self

    def _ask(self):
        with self._lock:
            self.proc.stdin.write("count\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline().split()
        if len(line) != 3 or line[0] != "count":
            raise RuntimeError("relay gone (%r)" % line)
        return int(line[1]), int(line[2])

    @property
    def connections(self):
        """Connections accepted so far (asked of the relay, so none is missed)."""
        return self._ask()[0]

    @property
    def open_connections(self):
        """Connections relayed now (accepted and not yet closed on both sides)."""
        return self._ask()[1]

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()         # the child ends on EOF of its stdin
            except OSError:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


async def _control(args):
    """Child mode: print 'port N'; answer each 'count' line on stdin with 'count
    ACCEPTED OPEN'; end on EOF."""
    loop = asyncio.get_running_loop()
    srv = RelayServer(args.host, args.target_port, args.rtt_ms, port=args.port)
    await srv.start()
    sys.stdout.write("port %d\n" % srv.port)
    sys.stdout.flush()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = await reader.readline()
        if not line:
            break
        if line.strip() == b"count":
            sys.stdout.write("count %d %d\n" % (srv.connections, len(srv.live)))
            sys.stdout.flush()
    srv.close()


async def _manual(args):
    def said(n):
        print("%s connection %d" % (time.strftime("%H:%M:%S"), n), flush=True)

    srv = RelayServer(args.host, args.target_port, args.rtt_ms, port=args.port,
                      on_connect=said)
    await srv.start()
    print("relay 127.0.0.1:%d -> %s:%d, RTT %s ms (Ctrl-C ends)"
          % (srv.port, args.host, args.target_port, args.rtt_ms), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    srv.close()
    print("%d connections" % srv.connections)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("target", help="HOST:PORT to relay to (a loopback address)")
    ap.add_argument("--rtt-ms", type=float, default=40.0, help="round-trip time to add")
    ap.add_argument("--port", type=int, default=0, help="port to listen on (default: free)")
    ap.add_argument("--control", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    host, _, port = args.target.rpartition(":")
    args.host, args.target_port = host or "127.0.0.1", int(port)
    if args.rtt_ms < 0:
        ap.error("--rtt-ms must be >= 0")
    if args.control:
        signal.signal(signal.SIGINT, signal.SIG_IGN)    # the parent ends us
        asyncio.run(_control(args))
    else:
        asyncio.run(_manual(args))


if __name__ == "__main__":
    main()
