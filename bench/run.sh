#!/bin/sh
# Build xaifs if it has not been built yet, then run the benchmark.
#   bench/run.sh [--quick] [--latency-ms N] [--xaifs PATH] [--json FILE] [--quiet]
set -eu
cd "$(dirname "$0")/.."
if [ ! -x build/src/xaifs ]; then
	if [ ! -f build/build.ninja ]; then
		meson setup build
	fi
	ninja -C build
fi
exec /usr/bin/python3 bench/bench.py "$@"
