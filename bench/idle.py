#!/usr/bin/python3
"""What the first request after an idle spell costs through the front.

A mount through bench/front.py (TLS 1.3, HTTP/2, --rtt ms, nginx closing
client connections idle for --server-idle seconds, 75 by default as nginx's
own default), cache_ttl=0 so that every `ls keys/` is one listing request.
After a warm-up, for each idle spell (default 0, 60, 120, 300 s) the mount
sits idle, then one `ls keys/` is timed and the connections the relay
accepted for it are counted. A new connection costs 3 RTT here (the relay's
handshake, TLS 1.3, the request), a warm one 1 RTT.

Usage: bench/idle.py [--rtt MS] [--server-idle S] [--spells 0,60,120,300] [--xaifs BIN]
"""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True
from front import mounted  # noqa: E402
from internet import util  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rtt", type=int, default=40)
    ap.add_argument("--server-idle", type=int, default=75)
    ap.add_argument("--spells", default="0,60,120,300")
    ap.add_argument("--xaifs")
    args = ap.parse_args()
    if args.xaifs:
        os.environ["XAIFS_BIN"] = os.path.abspath(args.xaifs)
    with mounted(util, args.rtt, ["cache_ttl=0"], client_idle=args.server_idle) as (_, f, m):
        os.listdir(m.p("keys"))
        print("rtt %d ms, server idle timeout %d s, xaifs %s" % (
            args.rtt, args.server_idle, util.xaifs_bin()))
        print("%8s %10s %12s" % ("idle s", "ls keys/", "new conns"))
        for spell in [int(x) for x in args.spells.split(",")]:
            time.sleep(spell)
            c0 = f.connections()
            t0 = time.monotonic()
            os.listdir(m.p("keys"))
            dt = time.monotonic() - t0
            print("%8d %8.1f ms %12d" % (spell, dt * 1000, f.connections() - c0), flush=True)

if __name__ == "__main__":
    main()
