#!/usr/bin/python3
"""An emulator of the xAI Management API (and the api.x.ai routes collections need).

It follows shared/xai-api.md: the routes of its section 0 on one loopback port, with
the real paths, field spellings, proto3 JSON conventions (int64 as strings, enums as
names, default values left out), the four pagination styles and the gateway error
body {"code": <gRPC status text>, "error": <message>}. A control API under /_emu/
resets data sets, injects faults and counts requests. See README.md.

This file is the entry point only: command line, loopback check, port file, signals.
The emulator is the package emu/ next to it, one module per concept (emu/__init__.py
lists them). Python 3.11 standard library only.
"""

import argparse
import ipaddress
import os
import signal
import socket
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# The package emu/ lives next to this file, hence the path first (E402).
from emu import seed  # noqa: E402
from emu.app import App  # noqa: E402
from emu.config import (DEFAULT_API_KEY, DEFAULT_MGMT_KEY, DEFAULT_TEAM_ID,  # noqa: E402
                        FILES_MAX_BYTES, Config)
from emu.httpd import EmulatorServer  # noqa: E402


def loopback_address(host):
    """(address, family) for a loopback host; raises ValueError for anything else."""
    if host == "localhost":
        host = "127.0.0.1"
    addr = ipaddress.ip_address(host)
    if not addr.is_loopback:
        raise ValueError("refusing to bind %s: the emulator binds loopback addresses only" % host)
    return str(addr), socket.AF_INET6 if addr.version == 6 else socket.AF_INET


def write_port_file(path, port):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as out:
        out.write("%d\n" % port)
    os.replace(tmp, path)


def parse_args(argv):
    p = argparse.ArgumentParser(description="xAI Management API emulator (loopback only)")
    p.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--port-file", help="write the port here once listening")
    p.add_argument("--seed", default="sample", choices=seed.SEEDS)
    p.add_argument("--keys", type=int, default=1000, help="large seed: number of API keys")
    p.add_argument("--collections", type=int, default=10, help="large seed: collections")
    p.add_argument("--documents", type=int, default=100, help="large seed: documents each")
    p.add_argument("--latency-ms", type=int, default=0, help="delay before every API response")
    p.add_argument("--process-delay", type=float, default=1.0,
                   help="seconds a document stays PROCESSING")
    p.add_argument("--files-max-bytes", type=int, default=FILES_MAX_BYTES,
                   help="Files API upload limit (413 above)")
    p.add_argument("--mgmt-key", default=DEFAULT_MGMT_KEY)
    p.add_argument("--api-key", default=DEFAULT_API_KEY)
    p.add_argument("--team-id", default=DEFAULT_TEAM_ID)
    p.add_argument("--quiet", action="store_true", help="no per-request log lines")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        host, family = loopback_address(args.host)
    except ValueError as e:
        sys.stderr.write("xai-emulator: %s\n" % e)
        return 2
    config = Config(args.mgmt_key, args.api_key, args.team_id, args.seed, args.keys,
                    args.collections, args.documents, args.latency_ms, args.process_delay,
                    args.files_max_bytes, args.quiet)
    app = App(config)
    server = EmulatorServer((host, args.port), app, family)
    port = server.server_address[1]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    thread = threading.Thread(target=server.serve_forever, name="serve", daemon=True)
    thread.start()
    if args.port_file:
        write_port_file(args.port_file, port)
    if not args.quiet:
        sys.stderr.write("[xai-emulator] listening on http://%s:%d (seed %s)\n"
                         % (host if family == socket.AF_INET else "[%s]" % host, port, args.seed))
    while not stop.wait(0.5):
        pass
    server.shutdown()
    server.server_close()
    app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
