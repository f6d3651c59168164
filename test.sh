#!/usr/bin/env bash
# Run the whole test suite: build with warnings as errors, check the layout
# rules (scripts/check-structure.py), run the unit,
# emulator and integration tests, then build again with AddressSanitizer and
# UndefinedBehaviorSanitizer (clang) and run everything once more; then a
# short fuzz run (scripts/fuzz.sh), ThreadSanitizer and valgrind
# (scripts/sanitizers.sh).
# Usage: ./test.sh [--quick]   (--quick skips the sanitizer and fuzz passes)
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-deps.sh test

setup() {	# setup DIR [meson options...]
	local dir=$1; shift
	if [ -f "$dir/build.ninja" ]; then
		meson configure "$dir" "$@" >/dev/null
	else
		meson setup "$dir" "$@" >/dev/null
	fi
}

setup build -Dwerror=true
ninja -C build
# The layout rules of src/README.md: file and function lengths, owning
# headers, no include or call cycle, formatted as .clang-format says.
scripts/check-structure.py --build build
meson test -C build --print-errorlogs

# meson install puts the program, its man page and the examples in place,
# and the man page renders without warnings.
inst=$(mktemp -d)
DESTDIR=$inst meson install -C build --quiet >/dev/null
for f in bin/xaifs share/man/man1/xaifs.1 share/doc/xaifs/examples/xaifs.service \
	 share/doc/xaifs/examples/fstab.example; do
	[ -e "$inst/usr/local/$f" ] || { echo "install check: $f was not installed" >&2; exit 1; }
done
rm -rf "$inst"
if [ -n "$(groff -man -ww -z man/xaifs.1 2>&1)" ]; then
	echo "install check: man/xaifs.1 has groff warnings" >&2
	exit 1
fi
echo "install check: 1 passed, 0 failed"

if [ "${1:-}" != --quick ]; then
	CC=clang setup build-asan -Dwerror=true -Db_sanitize=address,undefined \
		-Db_lundef=false -Dbuildtype=debug
	ninja -C build-asan
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:suppressions=$PWD/tests/asan.supp \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp \
		meson test -C build-asan --print-errorlogs
	scripts/fuzz.sh 20
	scripts/sanitizers.sh
fi
echo "all tests passed"
