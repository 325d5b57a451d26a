#!/usr/bin/env bash
# Phase-aware enforcement in `capgate run`, end to end (docs/PHASES.md):
# a closure traced with a serving trigger keeps the trigger, run switches
# on it, start-up calls made while serving are denied and reported, the
# kernel fails notified calls once capgate's supervisor is gone, and nginx
# and redis pass their exercises under their phase closures with the
# default isolation. The attacker is tests/helpers/phase_inject.so
# (LD_PRELOAD), which makes a start-up call on SIGRTMIN+3.
# Speaks ok/FAIL/skip lines.
set -u
cd "$(dirname "$0")/../.."
CAPGATE=${CAPGATE:-./build/capgate}
BUILD=$(dirname "$CAPGATE")
INJ=$PWD/$BUILD/tests/helpers/phase_inject.so
WAIT=$BUILD/tests/helpers/phase_wait
T=$(mktemp -d /tmp/capgate-phases.XXXXXX)
chmod 755 "$T"
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
. "$(dirname "$0")/../helpers/workloads.sh" # free_port, nginx_prepare

ok() { echo "ok $1"; }
fail() { echo "FAIL $1: $2"; }
skip() { echo "skip $1: $2"; }
wait_for() {
	local n=$(($1 * 10)); shift
	for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
	return 1
}
# every descendant of $1 (pids as this shell sees them)
descendants() {
	local p
	for p in $(pgrep -P "$1"); do echo "$p"; descendants "$p"; done
}
# the descendant of $1 whose command line starts with $2
desc_named() {
	local p
	for p in $(descendants "$1"); do
		case "$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" in "$2"*) echo "$p" ;; esac
	done
}

if [ ! -x "$CAPGATE" ] || [ ! -f "$INJ" ] || [ ! -x "$WAIT" ]; then
	echo "FAIL phases.sh: $CAPGATE or the helpers are not built"; exit 1
fi

# ---- the closure file keeps the trigger; bad triggers are input errors -------
cat >"$T/bad.json" <<'J'
{"defaultAction":"SCMP_ACT_ERRNO","capgate":{"phases":["startup","serving"],
 "serveWhen":"listening:99999"},"syscalls":[]}
J
$CAPGATE run --dry-run --profile "$T/bad.json" -- true >/dev/null 2>"$T/err"
rc=$?
if [ $rc -eq 2 ] && grep -q 'bad.json:2:14: capgate.serveWhen: serving trigger .listening:99999.: the port must be' "$T/err"; then
	ok bad-trigger-position
else fail bad-trigger-position "exit $rc: $(cat "$T/err")"; fi
$CAPGATE run --dry-run --serve-after-call nosuchcall --profile examples/demo.json -- true >/dev/null 2>"$T/err"
# demo.json has no phases: the option is not used, and not an error
[ $? -eq 0 ] && ok trigger-ignored-without-phases || fail trigger-ignored-without-phases "$(cat "$T/err")"

# ---- a small two-process server: trace, then run under the phase closure -----
export CG_INJECT=bind CG_INJECT_OUT="$T/inject.txt"
LD_PRELOAD=$INJ $CAPGATE trace -q --serve-after 1 -o "$T/w.json" -- "$WAIT" >"$T/trace.out" 2>"$T/trace.err" &
TP=$!; PIDS+=($TP)
wait_for 10 grep -q child "$T/trace.out"
sleep 1.5 # past the trigger: the ticks below are serving work
W=$(awk '/parent|child/{print $2}' "$T/trace.out")
kill -USR2 $W; sleep 0.3; kill -TERM $W
wait $TP
python3 - "$T/w.json" <<'P' && ok trace-records-trigger || fail trace-records-trigger "$(head -c 400 "$T/w.json") $(cat "$T/trace.err")"
import json, sys
c = json.load(open(sys.argv[1]))
assert c['capgate'] == {'phases': ['startup', 'serving'], 'serveWhen': 'after:1'}, c['capgate']
ph = {n: s.get('phases', []) for s in c['syscalls'] for n in s['names']}
assert ph['bind'] == ['startup'], ph['bind']
assert 'serving' in ph['write'] and 'serving' in ph['pause']
P
# an old closure without serveWhen stays readable (it switches on SIGUSR1)
python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); del c["capgate"]["serveWhen"]; json.dump(c,open(sys.argv[2],"w"))' "$T/w.json" "$T/w-old.json"
$CAPGATE run --dry-run --profile "$T/w-old.json" -- true >"$T/out" 2>&1 &&
	grep -q 'phases: startup until signal' "$T/out" && ok old-closure-readable || fail old-closure-readable "$(cat "$T/out")"

# run_wait NAME EXPECT_ERRNO [run options]: run the server under w.json
# (host PID namespace, to signal its processes), tick once while serving,
# inject the start-up call into both processes, and check what they got
run_wait() {
	local name=$1 want=$2; shift 2
	: >"$T/inject.txt"
	LD_PRELOAD=$INJ $CAPGATE run --share-ns pid "$@" --profile "$T/w.json" -- "$WAIT" >"$T/run.out" 2>"$T/run.err" &
	local cg=$!; PIDS+=($cg)
	wait_for 10 grep -q child "$T/run.out"
	sleep 1.5
	local w; w=$(awk '/parent|child/{print $2}' "$T/run.out")
	kill -USR2 $w; sleep 0.3
	kill -RTMIN+3 $w; sleep 0.3
	kill -TERM $w 2>/dev/null
	wait $cg; RC=$?
	local got; got=$(grep -c "^serving bind errno=$want\$" "$T/inject.txt")
	if [ "$got" -ne 2 ] || [ "$(grep -c tick "$T/run.out")" -ne 2 ]; then
		fail "$name" "exit $RC, inject: $(cat "$T/inject.txt") out: $(cat "$T/run.out") err: $(cat "$T/run.err")"
		return 1
	fi
	return 0
}
# the attack first, without phases: the whole-life closure lets it through
run_wait whole-life-allows-startup-call 9 --no-phases && ok whole-life-allows-startup-call
if run_wait startup-call-denied-while-serving 1; then
	if grep -q 'denied bind(-1, 0, 0) \[x86_64 nr 49\]: a start-up call while serving (it belongs to phase startup; serving since after:1' "$T/run.err" &&
		grep -q 'notifications: [0-9]* before, 2 while serving' "$T/run.err"; then
		ok startup-call-denied-while-serving
	else fail startup-call-denied-while-serving "not reported: $(cat "$T/run.err")"; fi
fi
# SIGUSR1 to capgate starts serving at once, whatever the closure says
: >"$T/inject.txt"
LD_PRELOAD=$INJ $CAPGATE run --share-ns pid --serve-after 3600 --profile "$T/w.json" -- "$WAIT" >"$T/run.out" 2>"$T/run.err" &
CG=$!; PIDS+=($CG)
wait_for 10 grep -q child "$T/run.out"
W=$(awk '/parent|child/{print $2}' "$T/run.out")
kill -RTMIN+3 $W; sleep 0.3
kill -USR1 $CG; sleep 0.3
kill -RTMIN+3 $W; sleep 0.3
kill -TERM $W; wait $CG
if [ "$(grep -c '^serving bind errno=9$' "$T/inject.txt")" -eq 2 ] && [ "$(grep -c '^serving bind errno=1$' "$T/inject.txt")" -eq 2 ] &&
	grep -q 'serving from .* (SIGUSR1 to capgate)' "$T/run.err"; then
	ok sigusr1-starts-serving
else fail sigusr1-starts-serving "$(cat "$T/inject.txt") $(cat "$T/run.err")"; fi
# --phase-kill: the process that makes it dies of it
: >"$T/inject.txt"
LD_PRELOAD=$INJ $CAPGATE run --share-ns pid --phase-kill --profile "$T/w.json" -- "$WAIT" >"$T/run.out" 2>"$T/run.err" &
CG=$!; PIDS+=($CG)
wait_for 10 grep -q child "$T/run.out"; sleep 1.5
W=$(awk '/parent/{print $2}' "$T/run.out"); WC=$(awk '/child/{print $2}' "$T/run.out")
kill -RTMIN+3 "$W"; wait $CG; RC=$?
kill -TERM "$WC" 2>/dev/null
[ $RC -eq 159 ] && ! grep -q serving "$T/inject.txt" && ok phase-kill || fail phase-kill "exit $RC $(cat "$T/inject.txt") $(cat "$T/run.err")"
# the supervisor dies: the kernel fails every notified call (ENOSYS), it
# never lets one through. The child outlives its parent (the parent dies
# with capgate: PR_SET_PDEATHSIG).
: >"$T/inject.txt"
LD_PRELOAD=$INJ $CAPGATE run --share-ns pid --serve-after 3600 --profile "$T/w.json" -- "$WAIT" >"$T/run.out" 2>"$T/run.err" &
CG=$!; PIDS+=($CG)
wait_for 10 grep -q child "$T/run.out"
WC=$(awk '/child/{print $2}' "$T/run.out"); PIDS+=($WC)
kill -KILL $CG; wait $CG 2>/dev/null
sleep 0.3
kill -RTMIN+3 "$WC"; sleep 0.3
kill -TERM "$WC"
# still in the start-up phase, so with capgate alive this would run (EBADF)
[ "$(grep serving "$T/inject.txt")" = "serving bind errno=38" ] && ok supervisor-dead-calls-fail ||
	fail supervisor-dead-calls-fail "$(cat "$T/inject.txt")"
unset CG_INJECT CG_INJECT_OUT
