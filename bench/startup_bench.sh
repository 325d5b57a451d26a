#!/usr/bin/env bash
# What it costs to start a sandboxed program: `capgate run --profile P -- /bin/true`
# with capgate's default isolation, beside bubblewrap with comparable isolation
# and gVisor's `runsc do`, in the same run, alternating, so that load from
# other work on the machine falls on every tool alike. Issue 10's target:
# capgate no slower than bwrap. A benchmark, not a test: it prints numbers.
#
#   bash bench/startup_bench.sh [ROUNDS] [RUNS_PER_ROUND]     (root, after make)
#
# Each round starts every tool RUNS_PER_ROUND times back to back (order
# rotated each round) under `perf stat -r RUNS_PER_ROUND` (counters inherited
# by every descendant, reaped or not) and keeps the mean per start of:
#   wall   elapsed time: on a shared machine mostly the wait for a CPU;
#   CPU    task-clock: what the start itself costs, much less sensitive to
#          other work on the machine;
#   faults page faults taken (exceptions): a count, the same on a loaded
#          machine; on a virtual machine each costs ~13 us (bench/README.md).
# Without perf, wait4's rusage stands in (it misses descendants a tool does
# not reap itself -- bwrap's -- and counts pages populated by madvise as
# faults: say so when comparing).
# The tables give the median over rounds, min and max, and the median of the
# per-round ratios to bwrap; the last lines are the verdicts against the target.
#
# Two bwrap rows: plain bwrap loads no seccomp filter at all, so it is the
# floor of isolation without a profile; "bwrap+f" loads the program `capgate
# compile` makes of the same profile (bwrap --seccomp FD), which is the same
# isolation capgate sets up and what a bwrap user with that profile runs.
# Every start is its own `perf stat` (the filter is read from fd 3, rewound
# before each start), and the mean of RUNS_PER_ROUND starts is kept.
set -u
cd "$(dirname "$0")/.."
ROUNDS=${1:-11}
RUNS=${2:-10}
CAPGATE=${CAPGATE:-./build/capgate}
SHARED=${CAPGATE_SHARED:-$(cd .. && pwd)/shared}
PROFILE=${PROFILE:-$SHARED/corpus/profiles/docker-default.json}

[ -x "$CAPGATE" ] || { echo "startup_bench: $CAPGATE not built (make)" >&2; exit 2; }
[ -r "$PROFILE" ] || { echo "startup_bench: no profile $PROFILE (CAPGATE_SHARED, PROFILE)" >&2; exit 2; }

# runsc as root chowns its stdio to nobody: never hand it (or any tool) the
# host's /dev/null; every start reads and writes a scratch file of its own
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
: >"$SCRATCH/in"
export STARTUP_BENCH_SCRATCH=$SCRATCH
# the profile as a raw BPF program, for bwrap --seccomp (fd 3 of every start)
FILTER=$SCRATCH/filter.bpf
"$CAPGATE" compile "$PROFILE" -o "$FILTER" || { echo "startup_bench: capgate compile failed" >&2; exit 2; }
export STARTUP_BENCH_FILTER=$FILTER

# name and command of every tool that works here; the others are reported
names=() cmds=()
add() { # NAME CMD...
	local name=$1
	shift
	if err=$("$@" 2>&1 <"$SCRATCH/in" >"$SCRATCH/out" 3<"$FILTER"); then
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
	add bwrap+f bwrap --unshare-all --die-with-parent --new-session --ro-bind / / \
		--proc /proc --dev /dev --cap-drop ALL --seccomp 3 /bin/true
else
	echo "skip bwrap: not installed (Debian package bubblewrap, in scripts/dev.sh)"
fi
if command -v runsc >/dev/null; then
	# runsc's default network needs iptables on the host; bwrap has no network either
	if runsc do /bin/true <"$SCRATCH/in" >"$SCRATCH/out" 2>&1; then
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
echo "  machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start"
for i in $(seq 0 $((n - 1))); do printf '  %-8s %s\n' "${names[$i]}" "${cmds[$i]}"; done

args=()
for i in $(seq 0 $((n - 1))); do args+=("${names[$i]}" "${cmds[$i]}"); done
exec python3 - "$ROUNDS" "$RUNS" "${args[@]}" <<'P'
import os, re, shlex, statistics, subprocess, sys, time

rounds, runs = int(sys.argv[1]), int(sys.argv[2])
tools = [(sys.argv[i], shlex.split(sys.argv[i + 1])) for i in range(3, len(sys.argv), 2)]
names = [t[0] for t in tools]
scratch = os.environ["STARTUP_BENCH_SCRATCH"]
null = os.open(os.path.join(scratch, "io"), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
# fd 3 of every start: the compiled profile for bwrap --seccomp 3
ffd = os.open(os.environ["STARTUP_BENCH_FILTER"], os.O_RDONLY)
os.dup2(ffd, 3, inheritable=True)

PERF = None
for d in os.environ.get("PATH", "/usr/bin").split(":"):
    if os.access(os.path.join(d, "perf"), os.X_OK):
        PERF = os.path.join(d, "perf")
        break
if PERF and subprocess.run([PERF, "stat", "-e", "task-clock,page-faults", "--", "/bin/true"],
                           capture_output=True).returncode != 0:
    PERF = None

def batch_perf(argv):
    """RUNS starts, each under perf stat: mean wall ms, task-clock ms and faults."""
    w = c = f = 0.0
    for _ in range(runs):
        os.lseek(3, 0, os.SEEK_SET)
        p = subprocess.run([PERF, "stat", "-e", "task-clock,page-faults", "--"] + argv,
                           stdin=null, stdout=null, stderr=subprocess.PIPE, text=True, pass_fds=(3,))
        if p.returncode != 0:
            sys.exit(f"startup_bench: {' '.join(argv)} failed: {p.stderr[-300:]}")
        num = lambda pat: float(re.search(pat, p.stderr).group(1).replace(",", ""))
        w += num(r"([\d.,]+) seconds time elapsed") * 1e3
        c += num(r"([\d.,]+) msec task-clock")
        f += num(r"([\d.,]+)\s+page-faults")
    return w / runs, c / runs, f / runs

def batch_rusage(argv):
    """RUNS starts, from wait4's rusage (no perf)."""
    w = c = f = 0
    for _ in range(runs):
        os.lseek(3, 0, os.SEEK_SET)
        t0 = time.perf_counter()
        pid = os.posix_spawnp(argv[0], argv, os.environ,
                              file_actions=[(os.POSIX_SPAWN_DUP2, null, 0), (os.POSIX_SPAWN_DUP2, null, 1),
                                            (os.POSIX_SPAWN_DUP2, null, 2)])
        _, status, ru = os.wait4(pid, 0)
        w += time.perf_counter() - t0
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"startup_bench: {' '.join(argv)} failed: status {status:#x}")
        c, f = c + ru.ru_utime + ru.ru_stime, f + ru.ru_minflt
    return w / runs * 1e3, c / runs * 1e3, f / runs

if not PERF:
    print("note: no perf here: CPU time and faults from wait4's rusage (bwrap's unreaped children not counted)")
# per[measure][tool][round] = mean per start
per = {m: {n: {} for n in names} for m in ("wall", "cpu", "faults")}
for r in range(rounds):
    for k in range(len(tools)):
        name, argv = tools[(k + r) % len(tools)]
        w, c, f = (batch_perf if PERF else batch_rusage)(argv)
        per["wall"][name][r], per["cpu"][name][r], per["faults"][name][r] = w, c, f

base = "bwrap" if "bwrap" in names else None

def ratio(m, n):
    if not base:
        return None
    return statistics.median(per[m][n][r] / per[m][base][r] for r in per[m][n] if per[m][base].get(r))

def table(m, what, unit):
    print(what)
    print(f"{'tool':<10}{'median ' + unit:>13}{'min':>9}{'max':>9}{'x bwrap':>10}")
    for n in names:
        v = list(per[m][n].values())
        q = ratio(m, n)
        print(f"{n:<10}{statistics.median(v):>13.2f}{min(v):>9.2f}{max(v):>9.2f}{'' if q is None else '%.2fx' % q:>10}")

table("wall", "wall time per start:", "ms")
table("cpu", "CPU time per start (task-clock, every descendant):", "ms")
table("faults", "page faults per start:", "")
print("(per start; x bwrap: median over rounds of the ratio within the round)")
if base and "capgate" in names:
    w, c, f = ratio("wall", "capgate"), ratio("cpu", "capgate"), ratio("faults", "capgate")
    verdict = "met" if max(w, c) <= 1.0 else "NOT met"
    print(f"capgate/bwrap (no filter): wall {w:.2f}x, CPU {c:.2f}x, faults {f:.2f}x "
          f"(target <= 1.00x: {verdict})")
    if "bwrap+f" in names:
        rf = lambda m: statistics.median(per[m]["capgate"][r] / per[m]["bwrap+f"][r] for r in per[m]["capgate"])
        w, c, f = rf("wall"), rf("cpu"), rf("faults")
        verdict = "met" if max(w, c) <= 1.0 else "NOT met"
        print(f"capgate/bwrap+f (the same filter): wall {w:.2f}x, CPU {c:.2f}x, faults {f:.2f}x "
              f"(target <= 1.00x: {verdict})")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs at the end")
P
