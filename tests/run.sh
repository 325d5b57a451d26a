#!/usr/bin/env bash
# Runs every test binary of every build in $CAPGATE_BUILDS, then the shell
# tests under tests/cli/, the fuzz targets over their seed corpora, and adds
# up the results. Last line: "N passed, N failed" (and skipped).
set -u
cd "$(dirname "$0")/.."
export CAPGATE_SHARED=${CAPGATE_SHARED:-$(cd .. && pwd)/shared}
builds=${CAPGATE_BUILDS:-build}
passed=0 failed=0 skipped=0
failures=()

count() { # file label
	local p f s
	p=$(grep -c '^ok ' "$1"); f=$(grep -c '^FAIL ' "$1"); s=$(grep -c '^skip ' "$1")
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
	grep -E '^(FAIL|skip) ' "$1" | sed "s|^|  [$2] |"
	[ "$f" -gt 0 ] && failures+=("$2")
}

for b in $builds; do
	for t in "$b"/tests/test_*; do
		[ -x "$t" ] || continue
		name="$b/$(basename "$t")"
		out=$(mktemp)
		echo "== $name"
		CAPGATE_BUILD="$b" timeout 900 "$t" >"$out" 2>&1
		rc=$?
		count "$out" "$name"
		if [ $rc -ne 0 ] && ! grep -q '^FAIL ' "$out"; then
			# crashed or sanitizer report without a FAIL line
			echo "FAIL $name exited $rc" >>"$out"
			failed=$((failed + 1)); failures+=("$name")
			tail -30 "$out" | sed 's/^/    /'
		elif [ $rc -ne 0 ]; then
			grep -B30 '^FAIL ' "$out" | grep -v '^ok ' | head -60 | sed 's/^/    /'
		fi
		rm -f "$out"
	done
done

# CLI tests: shell scripts speaking the same ok/FAIL/skip lines.
for t in tests/cli/*.sh; do
	[ -f "$t" ] || continue
	out=$(mktemp)
	echo "== $t"
	CAPGATE=${CAPGATE:-./build/capgate} timeout 900 bash "$t" >"$out" 2>&1
	rc=$?
	count "$out" "$t"
	if [ $rc -ne 0 ]; then
		grep -v '^ok ' "$out" | tail -40 | sed 's/^/    /'
		grep -q '^FAIL ' "$out" || { failed=$((failed + 1)); failures+=("$t"); }
	fi
	rm -f "$out"
done

# Fuzz targets: every seed must run clean (libFuzzer, no new inputs), and
# no input may take more than 512 MB (a leak or a blow-up fails the run, as
# it would take down a webhook). Longer runs: fuzz/README.md.
for f in build-fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	seeds=fuzz/corpus/${name#fuzz_}
	scratch=$(mktemp -d)
	limits=(-timeout=30 -rss_limit_mb=512 -malloc_limit_mb=512)
	dict=()
	case $name in fuzz_k8s | fuzz_policy | fuzz_profile | fuzz_tree) dict=(-dict=fuzz/yaml.dict) ;; esac
	if [ -d "$seeds" ] && "$f" -runs=0 "${limits[@]}" "$seeds" >/tmp/capgate-$name.log 2>&1 &&
		"$f" -runs=2000 -max_len=8192 "${limits[@]}" "${dict[@]}" -seed=1 "$scratch" "$seeds" >>/tmp/capgate-$name.log 2>&1; then
		echo "ok $name (seed corpus + 2000 mutations)"; passed=$((passed + 1))
	else
		echo "FAIL $name"; tail -30 /tmp/capgate-$name.log; failed=$((failed + 1)); failures+=("$name")
	fi
	rm -rf "$scratch"
done

# Formatting: every C file as .clang-format says (make format fixes it).
if command -v clang-format >/dev/null && git rev-parse --git-dir >/dev/null 2>&1; then
	bad=$(for f in $(git ls-files '*.c' '*.h'); do
		clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || echo "$f"
	done)
	if [ -z "$bad" ]; then
		echo "ok clang-format"; passed=$((passed + 1))
	else
		echo "FAIL clang-format: $(echo $bad) (run make format)"; failed=$((failed + 1)); failures+=(clang-format)
	fi
else
	echo "skip clang-format: clang-format or git not available"; skipped=$((skipped + 1))
fi

[ ${#failures[@]} -gt 0 ] && echo "failing: ${failures[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
