#!/usr/bin/env bash
# Fuzz the pure modules: build the libFuzzer targets of tests/fuzz/ (clang,
# AddressSanitizer, UndefinedBehaviorSanitizer) in build-fuzz and run each one
# for SECONDS, the targets side by side, starting from the seed corpus.
# Fails if any target crashes, leaks, hits UB, breaks an invariant or hangs.
# Usage: scripts/fuzz.sh [SECONDS]   (default 30 per target)
# The run is seeded (FUZZ_SEED, default 1) so CI repeats the same search;
# FUZZ_SEED=0 picks a random seed for exploring.
#
# New inputs go to build-fuzz/fuzz/<target>/ (the seeds in tests/fuzz/corpus/
# are never written); a failing input is saved as
# build-fuzz/fuzz/artifacts/<target>-crash-* and replays with
#   build-fuzz/tests/fuzz/fuzz_<target> FILE
# Once fixed, copy it into tests/fuzz/corpus/<target>/ as a regression seed.
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:-30}
case $secs in
'' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac
dir=build-fuzz
targets=(model names)

if [ -f "$dir/build.ninja" ]; then
	meson configure "$dir" -Dfuzzers=true -Db_sanitize=address,undefined \
		-Db_lundef=false >/dev/null
else
	CC=clang meson setup "$dir" -Dfuzzers=true -Db_sanitize=address,undefined \
		-Db_lundef=false >/dev/null
fi
ninja -C "$dir" tests/fuzz/fuzz_model tests/fuzz/fuzz_names >/dev/null

work=$dir/fuzz
rm -rf "$work"
mkdir -p "$work/artifacts"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp

pids=()
for t in "${targets[@]}"; do
	mkdir -p "$work/$t"
	"$dir/tests/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=10 -seed="${FUZZ_SEED:-1}" \
		-dict="tests/fuzz/$t.dict" -artifact_prefix="$work/artifacts/$t-" \
		-print_final_stats=1 "$work/$t" "tests/fuzz/corpus/$t" \
		>"$work/$t.log" 2>&1 &
	pids+=($!)
done

failed=0
for i in "${!targets[@]}"; do
	t=${targets[$i]}
	if wait "${pids[$i]}"; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log")
		cov=$(grep -o 'cov: [0-9]*' "$work/$t.log" | tail -n 1)
		echo "fuzz_$t: ok, ${runs:-?} runs in ${secs}s, ${cov:-cov: ?}"
	else
		failed=1
		echo "fuzz_$t: FAILED (log: $work/$t.log)" >&2
		grep -v '^#[0-9]' "$work/$t.log" | tail -n 40 >&2
		for a in "$work/artifacts/$t-"*; do
			[ -e "$a" ] && echo "replay: $dir/tests/fuzz/fuzz_$t $a" >&2
		done
	fi
done
exit $failed
