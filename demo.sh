#!/usr/bin/env bash
# Build xaifs and mount it.
#   ./demo.sh [MOUNTPOINT]   build, then mount on MOUNTPOINT (default ./mnt):
#                            your account when XAI_MANAGEMENT_KEY is set, else the
#                            bundled emulator with sample data
#   ./demo.sh stop [MOUNTPOINT]   unmount and stop the emulator
set -euo pipefail
cd "$(dirname "$0")"
top=$PWD
state=$top/.demo

stop() {
	local mnt=${1:-$top/mnt}
	if mountpoint -q "$mnt" 2>/dev/null; then
		fusermount3 -u "$mnt" && echo "unmounted $mnt"
	fi
	if [ -f "$state/emulator.pid" ]; then
		kill "$(cat "$state/emulator.pid")" 2>/dev/null && echo "emulator stopped" || true
		rm -f "$state/emulator.pid"
	fi
}

if [ "${1:-}" = stop ]; then
	stop "${2:-}"
	exit 0
fi

mnt=$(realpath -m "${1:-$top/mnt}")
scripts/install-deps.sh build
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
mkdir -p "$mnt"
if mountpoint -q "$mnt"; then
	stop "$mnt"
fi

if [ -n "${XAI_MANAGEMENT_KEY:-}" ]; then
	./build/src/xaifs xaifs "$mnt"
	echo "mounted your xAI account on $mnt"
else
	mkdir -p "$state"
	chmod 700 "$state"
	stop "$mnt" >/dev/null
	rm -f "$state/port"
	/usr/bin/python3 tests/emulator/server.py --seed sample --port 0 \
		--port-file "$state/port" --quiet >"$state/emulator.log" 2>&1 &
	echo $! >"$state/emulator.pid"
	for _ in $(seq 100); do [ -s "$state/port" ] && break; sleep 0.1; done
	[ -s "$state/port" ] || { echo "the emulator did not start; see $state/emulator.log" >&2; exit 1; }
	url=http://127.0.0.1:$(cat "$state/port")
	(umask 077
	 printf '%s\n' xai-emulator-management-key >"$state/key"
	 printf '%s\n' xai-emulator-inference-key >"$state/api_key")
	./build/src/xaifs xaifs "$mnt" -o "key_file=$state/key,api_key_file=$state/api_key,management_url=$url,api_url=$url"
	echo "mounted the bundled emulator's sample account ($url) on $mnt"
fi

cat <<TXT

Try:
  ls $mnt
  ls -l $mnt/keys
  jq .aclStrings $mnt/keys/ci-bot
  ls -l $mnt/collections/contracts/documents
  jq .status $mnt/collections/contracts/metadata/*.json
  cat $mnt/usage $mnt/billing | jq .
Stop with:
  ./demo.sh stop${1:+ $mnt}
TXT
