#!/usr/bin/python3
"""Walks that make several requests, through the front (bench/front.py) at
--rtt ms: `ls -l /` (each root file's attributes), `cat billing` right
after it, and `find` over every collection's documents/. Prints each one's
time, the emulator's requests and the new connections the relay accepted.

Usage: bench/walk.py [--rtt MS] [--xaifs BIN]
"""
import argparse
import os
import subprocess
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
    ap.add_argument("--xaifs")
    args = ap.parse_args()
    if args.xaifs:
        os.environ["XAIFS_BIN"] = os.path.abspath(args.xaifs)
    with mounted(util, args.rtt) as (emu, f, m):
        for what, cmd in (("ls -l /", ["ls", "-l", m.p()]),
                          ("cat billing", ["cat", m.p("billing")]),
                          ("find documents/", ["find", m.p("collections"), "-path",
                                               "*/documents/*"])):
            emu.reset_stats()
            c0 = f.connections()
            t0 = time.monotonic()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            dt = time.monotonic() - t0
            print("%-16s %7.1f ms  %3d requests  %d new connections" % (
                what, dt * 1000, emu.stats()["total"], f.connections() - c0))

if __name__ == "__main__":
    main()
