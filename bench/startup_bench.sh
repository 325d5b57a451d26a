#!/usr/bin/env bash
# What it costs to start a sandboxed program: `capgate run --profile P -- /bin/true`
# with capgate's default isolation, beside bubblewrap with comparable isolation
# and gVisor's `runsc do`, in the same run, alternating, so that load from
# other work on the machine falls on every tool alike. Issue 10's target:
# capgate no slower than bwrap. A benchmark, not a test: it prints numbers.
#
#   bash bench/startup_bench.sh [ROUNDS] [RUNS_PER_ROUND]     (root, after make)
#
# Each round times RUNS_PER_ROUND back-to-back starts of every tool (order
# rotated each round) and keeps the mean per start; the table gives the median
# over rounds, min and max, and the median of the per-round ratios to bwrap.
# Where perf is installed, each round also counts the CPU time of the starts
# (perf stat task-clock, children included): on a machine shared with other
# work, wall time mostly measures the wait for a CPU, CPU time much less.
set -u
cd "$(dirname "$0")/.."
ROUNDS=${1:-11}
RUNS=${2:-10}
CAPGATE=${CAPGATE:-./build/capgate}
SHARED=${CAPGATE_SHARED:-$(cd .. && pwd)/shared}
PROFILE=${PROFILE:-$SHARED/corpus/profiles/docker-default.json}

[ -x "$CAPGATE" ] || { echo "startup_bench: $CAPGATE not built (make)" >&2; exit 2; }
[ -r "$PROFILE" ] || { echo "startup_bench: no profile $PROFILE (CAPGATE_SHARED, PROFILE)" >&2; exit 2; }

# name and command of every tool that works here; the others are reported
names=() cmds=()
add() { # NAME CMD...
	local name=$1
	shift
	if err=$("$@" 2>&1 >/dev/null); then
		names+=("$name")
		cmds+=("$*")
	else
		echo "skip $name: '$*' fails here: $(head -c 300 <<<"$err" | tr '\n' ' ')"
	fi
}
add bare /bin/true
add capgate "$CAPGATE" run --profile "$PROFILE" -- /bin/true
if command -v bwrap >/dev/null; then
	add bwrap bwrap --unshare-all --die-with-parent --new-session --ro-bind / / \
		--proc /proc --dev /dev --cap-drop ALL /bin/true
else
	echo "skip bwrap: not installed (Debian package bubblewrap, in scripts/dev.sh)"
fi
if command -v runsc >/dev/null; then
	# runsc's default network needs iptables on the host; bwrap has no network either
	if runsc do /bin/true >/dev/null 2>&1; then
		add runsc runsc do /bin/true
	else
		echo "note: 'runsc do' fails here (its default sandbox network needs iptables);" \
			"timing 'runsc --network=none do' instead"
		add runsc runsc --network=none do /bin/true
	fi
else
	echo "skip runsc: not installed"
fi
n=${#names[@]}

echo "startup_bench: $ROUNDS rounds x $RUNS starts per tool, order rotated each round"
echo "  profile: $PROFILE"
for i in $(seq 0 $((n - 1))); do printf '  %-8s %s\n' "${names[$i]}" "${cmds[$i]}"; done

results=$(mktemp)
cpufile=$(mktemp)
trap 'rm -f "$results" "$cpufile"' EXIT
PERF=$(command -v perf || true)
if [ -n "$PERF" ] && ! $PERF stat -x, -e task-clock -- /bin/true >/dev/null 2>&1; then PERF=""; fi
for r in $(seq 0 $((ROUNDS - 1))); do
	for k in $(seq 0 $((n - 1))); do
		i=$(((k + r) % n))
		# shellcheck disable=SC2086
		set -- ${cmds[$i]}
		t0=$(date +%s%N)
		for _ in $(seq "$RUNS"); do "$@" >/dev/null 2>&1; done
		t1=$(date +%s%N)
		echo "$r ${names[$i]} $(((t1 - t0) / RUNS))" >>"$results"
		if [ -n "$PERF" ]; then
			cpu=$($PERF stat -x, -e task-clock -r "$RUNS" -- "$@" 2>&1 >/dev/null | awk -F, '$3 == "task-clock" { print $1 }')
			[ -n "$cpu" ] && echo "$r ${names[$i]} $cpu" >>"$cpufile"
		fi
	done
done

python3 - "$results" "$cpufile" "${names[@]}" <<'P'
import statistics, sys
names = sys.argv[3:]
base = "bwrap" if "bwrap" in names else None

def table(path, scale, what):
    per = {n: {} for n in names}
    for l in open(path):
        r, n, v = l.split()
        per[n][int(r)] = float(v) / scale
    if not any(per.values()):
        return
    print(what)
    print(f"{'tool':<10}{'median ms':>11}{'min':>9}{'max':>9}{'x bwrap':>10}")
    for n in names:
        v = list(per[n].values())
        if not v:
            continue
        ratio = ""
        if base:
            ratio = "%.2fx" % statistics.median(per[n][r] / per[base][r] for r in per[n] if r in per[base])
        print(f"{n:<10}{statistics.median(v):>11.2f}{min(v):>9.2f}{max(v):>9.2f}{ratio:>10}")

table(sys.argv[1], 1e6, "wall time per start:")
table(sys.argv[2], 1.0, "CPU time per start (perf stat task-clock, children included):")
print("(ms per start; x bwrap: median over rounds of the ratio within the round)")
P
