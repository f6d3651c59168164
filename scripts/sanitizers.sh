#!/usr/bin/env bash
# The sanitizer passes test.sh does not make with AddressSanitizer:
#  1. ThreadSanitizer (clang, build-tsan): the unit and integration suites,
#     so the daemon's threads are checked under real FUSE load. Any report
#     fails the run (halt_on_error; the integration tests also scan the
#     daemon's stderr). tests/tsan.supp may only list races inside libfuse or
#     libcurl themselves, each with the reason it is not ours.
#  2. valgrind memcheck on the unit tests of the plain build (build): invalid
#     accesses, uninitialised reads and definite leaks fail.
# Usage: scripts/sanitizers.sh
set -euo pipefail
cd "$(dirname "$0")/.."

setup() {	# setup DIR [meson options...]
	local dir=$1; shift
	if [ -f "$dir/build.ninja" ]; then
		meson configure "$dir" "$@" >/dev/null
	else
		meson setup "$dir" "$@" >/dev/null
	fi
}

echo "== ThreadSanitizer: unit and integration suites (build-tsan)"
CC=clang setup build-tsan -Db_sanitize=thread -Db_lundef=false
ninja -C build-tsan
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 history_size=4 suppressions=$PWD/tests/tsan.supp"
meson test -C build-tsan --print-errorlogs --suite unit
# (the emulator's own tests, the rest of the integration suite, run no C)
meson test -C build-tsan --print-errorlogs integration

echo "== valgrind: unit suite (build)"
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build
meson test -C build --print-errorlogs --suite unit \
	--wrapper 'valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite --quiet'
echo "sanitizer passes ok"
