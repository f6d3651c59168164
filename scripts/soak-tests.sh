#!/usr/bin/env bash
# Run the whole test suite N times, each from a fresh clone of this
# repository's HEAD (as CI and a new user get it), and tally which tests
# failed and how often. Flaky tests hide on an idle machine: --load K runs K
# CPU-bound processes beside every run.
#
# Usage: scripts/soak-tests.sh [--load K] [--quick] [--long] [--keep] N
#   --load K   K busy loops run for the whole soak (default 0)
#   --quick    pass --quick to ./test.sh (no sanitizer and fuzz passes)
#   --long     then the 'slow' suite too: the long counts of fsx (5,000
#              operations a run) and of the two-writer churn (30 s)
#   --keep     keep the clones and logs of passing runs too
# Logs: $SOAK_DIR (default /var/tmp/xaifs-soak.XXXXXX)/run-I.log; the clone of
# a failing run is kept beside its log. Exit status: 0 when every run passed.
set -euo pipefail
cd "$(dirname "$0")/.."

load=0 quick= keep=0 long=0
while [ $# -gt 1 ]; do
	case $1 in
	--load) load=$2; shift 2 ;;
	--quick) quick=--quick; shift ;;
	--long) long=1; shift ;;
	--keep) keep=1; shift ;;
	*) break ;;
	esac
done
n=${1:-}
case "$n$load" in
'' | *[!0-9]*) echo "usage: $0 [--load K] [--quick] [--keep] N" >&2; exit 2 ;;
esac

dir=${SOAK_DIR:-$(mktemp -d /var/tmp/xaifs-soak.XXXXXX)}
mkdir -p "$dir"
src=$PWD
rev=$(git rev-parse HEAD)
short=$(git rev-parse --short HEAD)
[ -z "$(git status --porcelain --untracked-files=no)" ] ||
	echo "note: uncommitted changes are not part of the soak (it tests $short)" >&2

busy=()
stop_load() {
	[ ${#busy[@]} -eq 0 ] || kill "${busy[@]}" 2>/dev/null || true
}
trap stop_load EXIT
for ((i = 0; i < load; i++)); do
	sh -c 'while :; do :; done' &
	busy+=($!)
done

# The failures one run's log shows: pytest's "FAILED/ERROR path::test" lines,
# meson's failing test names, sanitizer and fuzz verdicts; "unknown" if the
# run failed and none of these say why.
failures_of() {	# failures_of LOG
	local log=$1
	{
		grep -aoE '^(FAILED|ERROR) [^ ]+' "$log" | awk '{print $2}'
		grep -aE '^ *[0-9]+/[0-9]+ [^ ]+ */ [^ ]+ +(FAIL|TIMEOUT|ERROR)' "$log" |
			awk '{print "meson:" $2 "/" $4 " " $5}'
		grep -aoE '(AddressSanitizer|LeakSanitizer|ThreadSanitizer|UndefinedBehaviorSanitizer)' \
			"$log" | sed 's/^/report:/' | sort -u
		grep -aoE '^fuzz_[a-z_]+: FAILED' "$log" | sed 's/: FAILED//' || true
	} | sort -u
}

declare -A tally=()
passed=0 failed=0
for ((i = 1; i <= n; i++)); do
	clone=$dir/clone-$i log=$dir/run-$i.log
	rm -rf "$clone"
	git clone -q "$src" "$clone"
	git -C "$clone" checkout -q "$rev"
	start=$(date +%s)
	if (cd "$clone" && ./test.sh $quick &&
		{ [ $long -eq 0 ] || meson test -C build --suite slow --print-errorlogs; }) \
		>"$log" 2>&1; then
		rc=0
	else
		rc=$?
	fi
	secs=$(($(date +%s) - start))
	if [ $rc -eq 0 ]; then
		passed=$((passed + 1))
		echo "run $i/$n: passed in ${secs}s"
		[ $keep -eq 1 ] || { rm -rf "$clone"; rm -f "$log"; }
		continue
	fi
	failed=$((failed + 1))
	what=$(failures_of "$log")
	[ -n "$what" ] || what=unknown
	echo "run $i/$n: FAILED (exit $rc) in ${secs}s; log $log"
	while IFS= read -r t; do
		echo "    $t"
		tally[$t]=$((${tally[$t]:-0} + 1))
	done <<<"$what"
done

echo
echo "soak of $short: $n runs, $passed passed, $failed failed (load $load${quick:+, quick})"
if [ ${#tally[@]} -gt 0 ]; then
	echo "failures by test (runs failed / runs):"
	for t in "${!tally[@]}"; do
		printf '  %3d/%d  %s\n' "${tally[$t]}" "$n" "$t"
	done | sort -rn
fi
[ $failed -eq 0 ]
