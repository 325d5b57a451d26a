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
[ -n "${PHASES_KEEP:-}" ] && trap - EXIT
. "$(dirname "$0")/../helpers/workloads.sh" # free_port, nginx_prepare

ok() { echo "ok $1"; }
fail() { printf "FAIL %s: %s\n" "$1" "$(printf %s "$2" | tr "\n" "|" | head -c 2000)"; } # one line: the CI shows a part
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

# ---- per-process start-up windows: a spawner and its workers -----------------
# tests/helpers/phase_spawn (nginx's shape): traced with --worker-startup, a
# worker forked while serving keeps the start-up set for its first seconds
# in trace and run alike; the attacks of a worker that wants a window it
# should not have fail (each succeeded before the guard: docs/PHASES.md)
SPAWN=$BUILD/tests/helpers/phase_spawn
export CG_INJECT=bind CG_INJECT_OUT="$T/sp-inject.txt"
LD_PRELOAD=$INJ $CAPGATE trace -q --serve-after 1 --worker-startup 2 -o "$T/sp.json" -- "$SPAWN" >"$T/sp-trace.out" 2>"$T/sp-trace.err" &
TP=$!; PIDS+=($TP)
wait_for 10 grep -q '^worker' "$T/sp-trace.out"
S=$(awk '/^spawner/{print $2}' "$T/sp-trace.out")
sleep 1.3; kill -USR2 "$S"  # a worker forked while serving: its start-up is in its window
wait_for 10 test "$(grep -c '^worker' "$T/sp-trace.out")" -eq 2
sleep 2.5                   # every window is over: what follows is serving work
n=0
for w in $(awk '/^worker/{print $2}' "$T/sp-trace.out"); do
	n=$((n + 1)); kill -USR2 "$w"; wait_for 10 test "$(grep -c '^thread' "$T/sp-trace.out")" -eq $n; kill -RTMIN+4 "$w"
done
sleep 0.3; kill -USR2 "$S"; wait_for 10 test "$(grep -c '^worker' "$T/sp-trace.out")" -eq 3
kill -TERM "$S"; wait $TP
python3 - "$T/sp.json" <<'P' && ok window-trace || fail window-trace "$(cat "$T/sp-trace.err") $(head -c 600 "$T/sp.json")"
import json, sys
c = json.load(open(sys.argv[1]))
assert c['capgate'].get('workerStartup') == 2, c['capgate']
ph = {n: s.get('phases', []) for s in c['syscalls'] for n in s['names']}
# the second worker's bind was made while serving, in its window
assert ph['bind'] == ['startup'], ph['bind']
assert 'serving' in ph['clone'] and 'serving' in ph['clone3'] and 'serving' in ph['prctl'], ph
P
: >"$T/sp-inject.txt"
LD_PRELOAD=$INJ $CAPGATE run --share-ns pid --profile "$T/sp.json" -- "$SPAWN" >"$T/sp.out" 2>"$T/sp.err" &
CG=$!; PIDS+=($CG)
wait_for 10 grep -q '^worker' "$T/sp.out"
S=$(awk '/^spawner/{print $2}' "$T/sp.out"); A=$(awk '/^worker/{print $2}' "$T/sp.out")
# seen N PATTERN: wait until FILE has N lines matching (each step waits for
# the answer to the one before: no timing in the checks)
seen() { wait_for 10 test "$(grep -c "$3" "$2")" -ge "$1"; }
sleep 2.5                        # serving; A's window is over
kill -USR2 "$S"; seen 2 "$T/sp.out" '^worker'  # worker C, forked while serving
C=$(awk '/^worker/{print $2}' "$T/sp.out" | sed -n 2p)
kill -RTMIN+3 "$A"; seen 1 "$T/sp-inject.txt" '^serving'  # A, after its window
# what A is doing, for a failure below: alive? in which call?
a_state() { echo "A=$A: $(grep -E '^(State|SigBlk|SigPnd|ShdPnd)' /proc/$A/status 2>&1 | tr '\n\t' '  ') syscall $(cat /proc/$A/syscall 2>&1)"; }
A_BEFORE=$(a_state)
kill -USR2 "$A"; seen 1 "$T/sp.out" '^thread' || A_AFTER=$(a_state) # a thread: clone3 answered ENOSYS, libc falls back to clone
kill -USR1 "$A"; seen 1 "$T/sp.out" '^cloneparent '      # clone(CLONE_PARENT)
kill -HUP "$A"; seen 1 "$T/sp.out" '^clone3parent '      # clone3 with CLONE_PARENT
kill -WINCH "$S"; seen 1 "$T/sp.out" '^subreaper'        # the spawner adopting orphans
kill -URG "$A"; seen 1 "$T/sp.out" '^orphan '            # A forks and dies: its orphan
kill -USR2 "$S"; seen 3 "$T/sp.out" '^worker'            # worker D, then the spawner dies in D's window
D=$(awk '/^worker/{print $2}' "$T/sp.out" | sed -n 3p)
kill -KILL "$S"; wait $CG
kill -RTMIN+3 "$D"; seen 2 "$T/sp-inject.txt" '^serving'; kill -KILL "$D" "$C" 2>/dev/null
# C's and D's own start-up (their first calls, at once after their start:
# the check does not depend on how fast this script is) ran in their windows
[ "$(grep -c "^worker $C bind errno=9$" "$T/sp.out")" -eq 1 ] && [ "$(grep -c "^worker $D bind errno=9$" "$T/sp.out")" -eq 1 ] &&
	ok window-run-worker-forked-while-serving || fail window-run-worker-forked-while-serving "$(cat "$T/sp.out" "$T/sp-inject.txt" "$T/sp.err")"
[ "$(grep ^serving "$T/sp-inject.txt" | sed -n 1p)" = "serving bind errno=1" ] &&
	grep -q "denied bind(-1, 0, 0).*pid $A's start-up window of 2s ended" "$T/sp.err" &&
	ok window-run-after-window-denied || fail window-run-after-window-denied "$(cat "$T/sp-inject.txt" "$T/sp.err")"
grep -q '^thread errno=0$' "$T/sp.out" && grep -q 'denied clone3(.*answered ENOSYS, libc falls back to clone' "$T/sp.err" &&
	ok window-run-threads-fall-back || fail window-run-threads-fall-back "$A_BEFORE; ${A_AFTER:-}; $(cat "$T/sp.out" "$T/sp.err")"
grep -q '^cloneparent errno=1$' "$T/sp.out" && ! grep -q '^cloneparent-child' "$T/sp.out" &&
	grep -q 'denied clone(CLONE_PARENT|SIGCHLD.*would make a child of the program' "$T/sp.err" &&
	ok window-clone-parent-denied || fail window-clone-parent-denied "$(cat "$T/sp.out" "$T/sp.err")"
grep -q '^clone3parent errno=38$' "$T/sp.out" && ! grep -q '^clone3parent-child' "$T/sp.out" &&
	ok window-clone3-parent-enosys || fail window-clone3-parent-enosys "$(cat "$T/sp.out")"
grep -q '^subreaper errno=1$' "$T/sp.out" && grep -q 'denied prctl(PR_SET_CHILD_SUBREAPER' "$T/sp.err" &&
	ok window-subreaper-denied || fail window-subreaper-denied "$(cat "$T/sp.out" "$T/sp.err")"
grep -q '^orphan .* bind errno=1$' "$T/sp.out" && grep -q 'is not a child of the program.s first process: no start-up window' "$T/sp.err" &&
	ok window-orphan-none || fail window-orphan-none "$(cat "$T/sp.out" "$T/sp.err")"
# the spawner died in D's window: D is an orphan now, and capgate is gone
[ "$(grep ^serving "$T/sp-inject.txt" | sed -n 2p)" = "serving bind errno=38" ] && ok window-spawner-dead-fails-closed ||
	fail window-spawner-dead-fails-closed "$(cat "$T/sp-inject.txt")"
# a first process that adopts orphans gets no windows recorded
LD_PRELOAD=$INJ $CAPGATE trace -q --serve-after 1 --worker-startup 2 -o "$T/sp2.json" -- "$SPAWN" >"$T/sp2.out" 2>"$T/sp2.err" &
TP=$!; PIDS+=($TP)
wait_for 10 grep -q '^worker' "$T/sp2.out"
S=$(awk '/^spawner/{print $2}' "$T/sp2.out")
sleep 1.2; kill -WINCH "$S"; sleep 0.2; kill -TERM "$S"; wait $TP; rc=$?
[ $rc -ne 0 ] && [ ! -e "$T/sp2.json" ] && grep -q 'made itself a child subreaper' "$T/sp2.err" &&
	ok window-trace-refuses-subreaper || fail window-trace-refuses-subreaper "exit $rc $(cat "$T/sp2.err")"
unset CG_INJECT CG_INJECT_OUT
# closure errors: a window without phases, or out of range
cat >"$T/bad-ws.json" <<'J'
{"defaultAction":"SCMP_ACT_ERRNO","capgate":{"phases":["startup","serving"],
 "workerStartup":0},"syscalls":[]}
J
$CAPGATE run --dry-run --profile "$T/bad-ws.json" -- true >/dev/null 2>"$T/err"
[ $? -eq 2 ] && grep -q 'bad-ws.json:2:18: capgate.workerStartup: a start-up window must be 1..3600 seconds' "$T/err" &&
	ok window-bad-value || fail window-bad-value "$(cat "$T/err")"
$CAPGATE run --dry-run --profile "$T/sp.json" -- true 2>&1 | grep -q '^start-up windows: 2s' && ok window-dry-run ||
	fail window-dry-run "$($CAPGATE run --dry-run --profile "$T/sp.json" -- true 2>&1)"
$CAPGATE run --dry-run --worker-startup 0 --profile "$T/sp.json" -- true 2>&1 | grep -q '^start-up windows: none' &&
	ok window-dry-run-off || fail window-dry-run-off "$($CAPGATE run --dry-run --worker-startup 0 --profile "$T/sp.json" -- true 2>&1)"

# ---- the sd-notify trigger: READY=1 on $NOTIFY_SOCKET ------------------------
# tests/helpers/phase_notify says READY=1 as a systemd service does; trace
# and run give it NOTIFY_SOCKET (an abstract socket of capgate's), and the
# serving phase starts when it speaks. sd_notify(3) needs an AF_UNIX
# datagram socket, which the default socket rules deny: run refuses the
# trigger without --net unix rather than wait for a READY=1 that cannot come.
NOTIFY=$BUILD/tests/helpers/phase_notify
$CAPGATE trace -q --serve-when-notified -o "$T/nt.json" -- "$NOTIFY" >"$T/nt-trace.out" 2>"$T/nt-trace.err" &
TP=$!; PIDS+=($TP)
wait_for 10 grep -q '^ready' "$T/nt-trace.out"
NP=$(pgrep -x phase_notify | head -1)
kill -USR2 "$NP"; wait_for 10 grep -q '^tick' "$T/nt-trace.out"; kill -TERM "$NP"; wait $TP
python3 - "$T/nt.json" <<'P' && grep -q '^ready errno=0$' "$T/nt-trace.out" && ok notify-trace || fail notify-trace "$(cat "$T/nt-trace.out" "$T/nt-trace.err") $(head -c 600 "$T/nt.json")"
import json, sys
c = json.load(open(sys.argv[1]))
assert c['capgate']['serveWhen'] == 'sd-notify', c['capgate']
ph = {n: s.get('phases', []) for s in c['syscalls'] for n in s['names']}
assert ph['bind'] == ['startup'], ph['bind']           # made before READY=1
assert 'serving' in ph['rt_sigreturn'], ph            # the serving work
# what the program made right after READY=1 (sd_notify closes its socket)
# counts in both phases: run may switch before trace does
assert 'serving' in ph['close'], ph
P
$CAPGATE run --profile "$T/nt.json" -- "$NOTIFY" >/dev/null 2>"$T/nt-refused.err"; rc=$?
[ $rc -eq 2 ] && grep -q 'sd-notify trigger needs an AF_UNIX datagram socket.*--net unix' "$T/nt-refused.err" &&
	ok notify-needs-unix-socket || fail notify-needs-unix-socket "exit $rc: $(cat "$T/nt-refused.err")"
$CAPGATE run --serve-when-notified --serve-after 5 --profile "$T/nt.json" -- "$NOTIFY" >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 2 ] && grep -q 'at most one of' "$T/err" && ok notify-one-trigger || fail notify-one-trigger "exit $rc: $(cat "$T/err")"
$CAPGATE trace -o "$T/x.json" --serve-when-notified --pid $$ >/dev/null 2>"$T/err"; rc=$?
[ $rc -ne 0 ] && grep -q 'needs a command' "$T/err" && [ ! -e "$T/x.json" ] && ok notify-trace-needs-command ||
	fail notify-trace-needs-command "exit $rc: $(cat "$T/err")"
$CAPGATE run --share-ns pid --net unix --profile "$T/nt.json" -- "$NOTIFY" >"$T/nt.out" 2>"$T/nt.err" &
CG=$!; PIDS+=($CG)
wait_for 10 grep -q '^ready' "$T/nt.out"
NP=$(pgrep -x phase_notify | head -1)
kill -USR2 "$NP"; wait_for 10 grep -q '^tick' "$T/nt.out"
kill -HUP "$NP"; wait_for 10 grep -q '^serving bind' "$T/nt.out"   # the attacker's start-up call
kill -TERM "$NP"; wait $CG; rc=$?
if [ $rc -eq 0 ] && grep -q '^startup bind errno=9$' "$T/nt.out" && grep -q '^ready errno=0$' "$T/nt.out" &&
	grep -q '^serving bind errno=1$' "$T/nt.out" && grep -q 'denied bind(-1, 0, 0).*serving since sd-notify READY=1' "$T/nt.err" &&
	[ "$(grep -c denied "$T/nt.err")" -eq 1 ] && grep -q 'serving from .* (sd-notify READY=1)' "$T/nt.err"; then
	ok notify-run-switches
else fail notify-run-switches "exit $rc: $(cat "$T/nt.out" "$T/nt.err")"; fi
# a real daemon that speaks it: redis --supervised systemd
if command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null; then
	RNP=$(free_port)
	mkdir -p "$T/rdn"
	RDN=(redis-server --port "$RNP" --bind 127.0.0.1 --save '' --appendonly no --dir "$T/rdn" --daemonize no --supervised systemd)
	$CAPGATE trace -q --serve-when-notified -o "$T/rdn.json" -- "${RDN[@]}" >/dev/null 2>"$T/rdn-trace.err" &
	TP=$!; PIDS+=($TP)
	wait_for 20 sh -c "redis-cli -p $RNP ping 2>/dev/null | grep -q PONG"
	redis-benchmark -p "$RNP" -n 5000 -c 5 -t set,get,incr,lpush -q >/dev/null 2>&1
	redis-cli -p "$RNP" shutdown >/dev/null 2>&1; wait $TP
	serving_set_of() { python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); print(len({n for s in c["syscalls"] if "serving" in s.get("phases",[]) for n in s["names"]}))' "$1"; }
	n=$(serving_set_of "$T/rdn.json" 2>/dev/null)
	grep -q '"serveWhen": *"sd-notify"' "$T/rdn.json" && [ -n "$n" ] && [ "$n" -le 35 ] && ok "notify-redis-traced (serving set $n)" ||
		fail notify-redis-traced "serving set ${n:-?}: $(cat "$T/rdn-trace.err" | tail -3)"
	rm -rf "$T/rdn"/*
	$CAPGATE run --net "tcp-bind=$RNP" --net unix --profile "$T/rdn.json" -- "${RDN[@]}" >/dev/null 2>"$T/rdn-run.err" &
	CG=$!; PIDS+=($CG)
	wait_for 20 sh -c "redis-cli -p $RNP ping 2>/dev/null | grep -q PONG"
	errs=$(redis-benchmark -p "$RNP" -n 5000 -c 5 -t set,get,incr,lpush -q 2>&1 | grep -ci error)
	redis-cli -p "$RNP" shutdown >/dev/null 2>&1; wait $CG; rc=$?
	if [ $rc -eq 0 ] && [ "$errs" -eq 0 ] && grep -q 'serving from .* (sd-notify READY=1); notifications: [0-9]* before, 0 while serving' "$T/rdn-run.err" &&
		! grep -q denied "$T/rdn-run.err"; then ok notify-redis-run
	else fail notify-redis-run "exit $rc, $errs errors: $(grep -v '^[0-9]*:[CM] ' "$T/rdn-run.err" | tail -5)"; fi
else
	skip notify-redis "redis-server or redis-benchmark not installed (scripts/dev.sh installs them)"
fi

# ---- nginx and redis: traced with their trigger, run under the phase closure --
# serving_set NAME: print the serving set of $T/NAME.json, fail if > 35
serving_set() {
	python3 - "$T/$1.json" "$1" <<'P'
import json, sys
c = json.load(open(sys.argv[1]))
ph = {}
for s in c['syscalls']:
    if s['action'] in ('SCMP_ACT_ALLOW', 'SCMP_ACT_LOG'):
        for n in s['names']:
            ph.setdefault(n, set()).update(s.get('phases', ['startup', 'serving']))
serving = sorted(n for n, p in ph.items() if 'serving' in p)
print(f"{sys.argv[2]}: whole life {len(ph)} calls, serving {len(serving)}: {' '.join(serving)}", file=sys.stderr)
sys.exit(0 if len(serving) <= 35 else 1)
P
}
# server_pid CG NAME: the pid of the server process NAME under capgate CG
server_pid() { desc_named "$1" "$2" | head -1; }

if command -v nginx >/dev/null && command -v curl >/dev/null; then
	NG=$T/nginx
	PORT=$(free_port)
	nginx_prepare "$NG" "$PORT"
	head -c 3000000 /dev/urandom >"$NG/html/big.bin"
	chmod a+r "$NG/html/big.bin"
	NGINX=(nginx -p "$NG" -c "$NG/nginx.conf" -g 'daemon off;')
	# nginx's workers start after the master's listen(): each keeps the
	# start-up set for its first WS seconds (--worker-startup), and so does
	# the master after a SIGHUP (its reload)
	WS=2
	# nginx_exercise SIGNAL_TO: static file, 404, keep-alive, large file,
	# HEAD, reload (SIGHUP), the same again (graceful quit: the caller);
	# the requests come after the windows, so that they are serving work
	nginx_exercise() {
		local to=$1 u="http://127.0.0.1:$PORT"
		wait_for 20 curl -sf -o /dev/null "$u/" || { echo "not serving"; return 1; }
		sleep $((WS + 1))
		[ "$(curl -s "$u/")" = hello ] || { echo "GET /"; return 1; }
		[ "$(curl -s -o /dev/null -w '%{http_code}' "$u/nope")" = 404 ] || { echo 404; return 1; }
		[ "$(curl -s "$u/" "$u/" "$u/")" = "hello
hello
hello" ] || { echo keep-alive; return 1; }
		curl -s -o "$T/big.out" "$u/big.bin" && cmp -s "$T/big.out" "$NG/html/big.bin" || { echo "large file"; return 1; }
		curl -sI "$u/" | grep -q '^HTTP/1.1 200' || { echo HEAD; return 1; }
		kill -HUP "$to"; sleep $((WS + 1))
		[ "$(curl -s "$u/" "$u/")" = "hello
hello" ] || { echo "after reload"; return 1; }
		curl -s -o "$T/big.out" "$u/big.bin" && cmp -s "$T/big.out" "$NG/html/big.bin" || { echo "large file after reload"; return 1; }
		return 0
	}
	export CG_INJECT=bind CG_INJECT_OUT="$T/ng-inject.txt"
	LD_PRELOAD=$INJ $CAPGATE trace -q --serve-when-listening "$PORT" --worker-startup $WS -o "$T/nginx.json" -- "${NGINX[@]}" 2>"$T/ng-trace.err" &
	TP=$!; PIDS+=($TP)
	wait_for 20 test -s "$NG/nginx.pid"
	why=$(nginx_exercise "$(cat "$NG/nginx.pid")") && ok nginx-traced || fail nginx-traced "$why"
	kill -QUIT "$(cat "$NG/nginx.pid")"
	wait $TP
	grep -q '"serveWhen": *"listening:'"$PORT"'", *"workerStartup": *'$WS "$T/nginx.json" && ok nginx-closure-trigger ||
		fail nginx-closure-trigger "$(grep -o '"capgate".*' "$T/nginx.json" | head -1)"
	serving_set nginx && ok nginx-serving-set-bounded || fail nginx-serving-set-bounded "more than 35 calls (above)"
	# the workers' privilege drop is start-up work, not serving
	python3 - "$T/nginx.json" <<'P' && ok nginx-worker-startup-not-serving || fail nginx-worker-startup-not-serving "$(grep -E '"(setuid|setgid|setgroups|bind|execve)"' "$T/nginx.json")"
import json, sys
c = json.load(open(sys.argv[1]))
for s in c['syscalls']:
    for n in s['names']:
        if n in ('setuid', 'setgid', 'setgroups', 'bind', 'execve', 'socket'):
            assert s.get('phases') == ['startup'], (n, s.get('phases'))
P
	$CAPGATE info "$T/nginx.json" | grep -q "start-up windows: ${WS}s" && ok nginx-info-window ||
		fail nginx-info-window "$($CAPGATE info "$T/nginx.json")"

	: >"$T/ng-inject.txt"
	LD_PRELOAD=$INJ $CAPGATE run --net tcp-bind="$PORT" --profile "$T/nginx.json" -- "${NGINX[@]}" 2>"$T/ng-run.err" &
	CG=$!; PIDS+=($CG)
	# signals to capgate reach nginx's master (it forwards HUP and QUIT)
	why=$(nginx_exercise $CG) && ok nginx-phases-exercise || fail nginx-phases-exercise "$why: $(cat "$T/ng-run.err")"
	# the attacker in a serving worker
	WK=$(server_pid $CG "nginx: worker process")
	[ -n "$WK" ] && kill -RTMIN+3 "$WK"; sleep 0.5
	kill -QUIT $CG; wait $CG; RC=$?
	if [ "$(grep -c '^serving bind errno=1$' "$T/ng-inject.txt")" -eq 1 ] &&
		grep -q "denied bind(-1, 0, 0).*a start-up call while serving.*pid $WK's start-up window of ${WS}s ended" "$T/ng-run.err"; then
		ok nginx-worker-startup-call-denied
	else fail nginx-worker-startup-call-denied "worker $WK: $(cat "$T/ng-inject.txt") $(cat "$T/ng-run.err")"; fi
	# zero denials besides the injected one, and a clean graceful quit
	if [ $RC -eq 0 ] && [ "$(grep -c denied "$T/ng-run.err")" -eq 1 ]; then ok nginx-no-other-denial
	else fail nginx-no-other-denial "exit $RC: $(cat "$T/ng-run.err")"; fi
	grep 'capgate run: phases:' "$T/ng-run.err" >&2
	unset CG_INJECT CG_INJECT_OUT
else
	skip nginx "nginx or curl not installed (scripts/dev.sh installs them)"
fi

if command -v redis-server >/dev/null && command -v redis-cli >/dev/null; then
	RD=$T/redis
	mkdir -p "$RD" && chmod 777 "$RD"
	PORT=$(free_port)
	REDIS=(redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$RD" --daemonize no)
	rcli() { redis-cli -p "$PORT" "$@"; }
	# GET/SET/INCR/LPUSH, BGSAVE, BGREWRITEAOF, CONFIG SET (SHUTDOWN: the caller)
	redis_exercise() {
		wait_for 20 sh -c "redis-cli -p $PORT ping | grep -q PONG" || { echo "not serving"; return 1; }
		[ "$(rcli set k v)" = OK ] && [ "$(rcli get k)" = v ] || { echo SET/GET; return 1; }
		[ "$(rcli incr n)" = 1 ] && [ "$(rcli incr n)" = 2 ] || { echo INCR; return 1; }
		[ "$(rcli lpush l a b c)" = 3 ] || { echo LPUSH; return 1; }
		rcli bgsave | grep -q 'Background saving started' || { echo BGSAVE; return 1; }
		wait_for 20 sh -c "redis-cli -p $PORT info persistence | grep -q 'rdb_bgsave_in_progress:0'"
		rcli info persistence | grep -q 'rdb_last_bgsave_status:ok' || { echo "BGSAVE failed"; return 1; }
		rcli bgrewriteaof | grep -qi 'rewriting' || { echo BGREWRITEAOF; return 1; }
		wait_for 20 sh -c "redis-cli -p $PORT info persistence | grep -q 'aof_rewrite_in_progress:0'"
		rcli info persistence | grep -q 'aof_last_bgrewrite_status:ok' || { echo "BGREWRITEAOF failed"; return 1; }
		[ "$(rcli config set maxmemory 100mb)" = OK ] || { echo "CONFIG SET"; return 1; }
		[ "$(rcli get k)" = v ] || { echo "GET after"; return 1; }
		return 0
	}
	export CG_INJECT=bind CG_INJECT_OUT="$T/rd-inject.txt"
	LD_PRELOAD=$INJ $CAPGATE trace -q --serve-when-listening "$PORT" -o "$T/redis.json" -- "${REDIS[@]}" 2>"$T/rd-trace.err" &
	TP=$!; PIDS+=($TP)
	why=$(redis_exercise) && ok redis-traced || fail redis-traced "$why"
	kill -RTMIN+4 "$(desc_named $TP redis-server)" # a signal while serving (rt_sigreturn)
	sleep 0.3
	rcli shutdown >/dev/null 2>&1
	wait $TP
	grep -q '"serveWhen": *"listening:'"$PORT"'"' "$T/redis.json" && ok redis-closure-trigger || fail redis-closure-trigger "no trigger"
	serving_set redis && ok redis-serving-set-bounded || fail redis-serving-set-bounded "more than 35 calls (above)"
	# redis's first process accepts connections itself: its children (the
	# BGSAVE child) must not get start-up calls, so no window is recorded
	$CAPGATE trace -q --serve-when-listening "$PORT" --worker-startup 2 -o "$T/redis-ws.json" -- "${REDIS[@]}" >/dev/null 2>"$T/rd-ws.err" &
	TP=$!; PIDS+=($TP)
	wait_for 20 sh -c "redis-cli -p $PORT ping | grep -q PONG"
	rcli shutdown nosave >/dev/null 2>&1
	wait $TP; rc=$?
	[ $rc -ne 0 ] && [ ! -e "$T/redis-ws.json" ] && grep -q 'first process (pid [0-9]*) accepted connections while serving' "$T/rd-ws.err" &&
		ok redis-window-refused || fail redis-window-refused "exit $rc: $(cat "$T/rd-ws.err")"

	: >"$T/rd-inject.txt"
	rm -rf "${RD:?}"/* # what the traced run saved
	LD_PRELOAD=$INJ $CAPGATE run --net tcp-bind="$PORT" --profile "$T/redis.json" -- "${REDIS[@]}" 2>"$T/rd-run.err" &
	CG=$!; PIDS+=($CG)
	why=$(redis_exercise) && ok redis-phases-exercise || fail redis-phases-exercise "$why: $(cat "$T/rd-run.err")"
	RS=$(server_pid $CG "redis-server")
	[ -n "$RS" ] && kill -RTMIN+3 "$RS"; sleep 0.5
	rcli shutdown >/dev/null 2>&1
	wait $CG; RC=$?
	if [ "$(grep -c '^serving bind errno=1$' "$T/rd-inject.txt")" -eq 1 ] &&
		grep -q 'denied bind(-1, 0, 0).*a start-up call while serving' "$T/rd-run.err"; then
		ok redis-startup-call-denied
	else fail redis-startup-call-denied "redis $RS: $(cat "$T/rd-inject.txt") $(cat "$T/rd-run.err")"; fi
	if [ $RC -eq 0 ] && [ "$(grep -c denied "$T/rd-run.err")" -eq 1 ]; then ok redis-no-other-denial
	else fail redis-no-other-denial "exit $RC: $(cat "$T/rd-run.err")"; fi
	grep 'capgate run: phases:' "$T/rd-run.err" >&2
	unset CG_INJECT CG_INJECT_OUT
else
	skip redis "redis-server or redis-cli not installed (scripts/dev.sh installs them)"
fi
