#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The test runner: unit suites (normal and ASan+UBSan builds), then the root integration suites
# on this kernel. Every suite prints "PASS name", "FAIL name: why" or "SKIP name: why" lines;
# this script counts them and ends with "N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.."
what=${1:-all}
passed=0 failed=0 skipped=0
OUTDIR=${TEST_OUT:-tests/out}
mkdir -p "$OUTDIR"

tally() { # NAME CMD... : run a suite, echo its lines and how long it took, count them
	local name=$1 log="$OUTDIR/$1.log" rc p f s t0
	shift
	echo "== $name"
	t0=$(date +%s)
	"$@" >"$log" 2>&1
	rc=$?
	grep -E '^(PASS|FAIL|SKIP) ' "$log"
	echo "-- $name: $(( $(date +%s) - t0 )) s"
	p=$(grep -c '^PASS ' "$log") f=$(grep -c '^FAIL ' "$log") s=$(grep -c '^SKIP ' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL $name: exited $rc without a failing check (log: $log)"
		tail -20 "$log" | sed 's/^/    /'
		f=1
	fi
	[ "$f" -gt 0 ] && { echo "---- $log (last 40 lines)"; tail -40 "$log" | sed 's/^/    /'; }
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
}

if [ "$what" = all ] || [ "$what" = unit ]; then
	tally unit-policy build/test_policy
	[ -x build-san/test_policy ] && tally unit-policy-asan build-san/test_policy
	tally unit-token build/test_token
	[ -x build-san/test_token ] && tally unit-token-asan build-san/test_token
	tally unit-vectors build/test_vectors tests/vectors
	tally manifests bash tests/manifests.sh
	tally import bash tests/import.sh
	[ -x build-san/test_vectors ] && tally unit-vectors-asan build-san/test_vectors tests/vectors
fi

# A bounded libFuzzer run per target, seeded with the corpus in tests/fuzz/.
fuzz_suite() {
	local target=$1 secs=${FUZZ_SECONDS:-12} corpus
	corpus=$(mktemp -d)
	cp tests/fuzz/corpus-"${target#fuzz_}"/* "$corpus"/
	if build/"$target" -max_total_time="$secs" -max_len=65536 -print_final_stats=1 "$corpus" \
		>"$OUTDIR/$target.fuzz.log" 2>&1; then
		echo "PASS $target: $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$OUTDIR/$target.fuzz.log" | grep -o '[0-9]*$') inputs in ${secs}s, no crash or leak"
	else
		echo "FAIL $target: see $OUTDIR/$target.fuzz.log"; grep -A5 ERROR "$OUTDIR/$target.fuzz.log" | head -20
	fi
	rm -rf "$corpus"
}

lint_suite() {
	if make --no-print-directory lint >"$OUTDIR/lint.out" 2>&1; then
		echo "PASS lint: cppcheck and clang-tidy report nothing"
	else
		echo "FAIL lint:"; cat "$OUTDIR/lint.out"
	fi
}

if [ "$what" = all ] || [ "$what" = unit ]; then
	[ -x build/fuzz_policy ] && tally fuzz-policy fuzz_suite fuzz_policy
	[ -x build/fuzz_jws ] && tally fuzz-jws fuzz_suite fuzz_jws
	[ -x build/fuzz_tokenop ] && tally fuzz-tokenop fuzz_suite fuzz_tokenop
	tally lint lint_suite
fi

if [ "$what" = all ] || [ "$what" = integration ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "SKIP integration: needs root (real cgroups and BPF)"
		skipped=$((skipped + 1))
	else
		# MCPF_SUITES: a glob to run some suites only while working on them, e.g. "70-*"
		for t in tests/integration/${MCPF_SUITES:-[0-9]*}.sh; do
			tally "$(basename "$t" .sh)" bash "$t"
		done
	fi
fi

# One tiny iteration of every benchmark, so that the harness keeps building and running.
bench_smoke() {
	if TEST_OUT="$OUTDIR" bench/run.sh --smoke >"$OUTDIR/bench-smoke.log" 2>&1 && [ -s "$OUTDIR/bench-smoke.md" ]; then
		echo "PASS bench smoke: every benchmark ran once ($OUTDIR/bench-smoke.md)"
	else
		echo "FAIL bench smoke:"; tail -20 "$OUTDIR/bench-smoke.log"
	fi
	if TEST_OUT="$OUTDIR" bench/names.sh --smoke >"$OUTDIR/bench-names-smoke.log" 2>&1 &&
		[ -s "$OUTDIR/bench-names-smoke.md" ]; then
		echo "PASS bench smoke: the names benchmark ran once ($OUTDIR/bench-names-smoke.md)"
	else
		echo "FAIL bench smoke (names):"; tail -20 "$OUTDIR/bench-names-smoke.log"
	fi
}
if [ "$what" = all ] || [ "$what" = bench ]; then
	if [ "$(id -u)" -eq 0 ]; then tally bench-smoke bench_smoke
	else echo "SKIP bench smoke: needs root"; skipped=$((skipped + 1)); fi
fi

# The integration suite again on Debian's 6.1 and 6.12 kernels, under qemu (vmtest/run.sh).
if [ "$what" = all ] || [ "$what" = vmtest ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "SKIP vmtest: needs root"; skipped=$((skipped + 1))
	elif [ "${MCPF_SKIP_VMTEST:-0}" = 1 ]; then
		echo "SKIP vmtest: MCPF_SKIP_VMTEST=1 was given"; skipped=$((skipped + 1))
	else
		tally vmtest bash vmtest/run.sh ${KERNELS:-6.1 6.12}
	fi
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
