#!/usr/bin/env bash
# capgate trace / merge, end to end. For each deterministic workload the
# recorded closure must equal what `strace -f` saw on the same run (per
# arch, leaving out only what happened before the workload's exec), and
# the workload, run again under its recorded profile with `capgate run`,
# must complete the same exercise with no denial. Services bind 127.0.0.1
# on a free port; every wait has a timeout. Speaks ok/FAIL/skip lines.
set -u
cd "$(dirname "$0")/../.."
CAPGATE=${CAPGATE:-./build/capgate}
BUILD=$(dirname "$CAPGATE")
CMP="python3 tests/helpers/trace_cmp.py"
T=$(mktemp -d /tmp/capgate-trace.XXXXXX)
chmod 755 "$T"
PIDS=()
CGS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	for cg in "${CGS[@]}"; do
		for _ in 1 2 3 4 5; do
			for p in $(cat "$cg/cgroup.procs" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
			rmdir "$cg" 2>/dev/null && break
			sleep 0.2
		done
	done
	rm -rf "$T"
}
trap cleanup EXIT

ok() { echo "ok $1"; }
fail() { printf "FAIL %s: %s\n" "$1" "$(printf %s "$2" | tr "\n" "|" | head -c 2000)"; } # one line: the CI shows a part
skip() { echo "skip $1: $2"; }
. "$(dirname "$0")/../helpers/workloads.sh" # free_port, nginx_prepare
# wait_for SECONDS CMD...: poll until CMD succeeds (bounded)
wait_for() {
	local n=$(($1 * 10)); shift
	for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
	return 1
}
# rerun_serving NAME CHECK EXERCISE PORT CMD...: run the server CMD under its
# recorded profile $T/NAME.json, with the default isolation and its PORT
# forwarded from the host (--net tcp-bind), while EXERCISE drives it (test
# CHECK); then test NAME-rerun: it exited 0 with no denial
rerun_serving() {
	local name=$1 check=$2 exercise=$3 port=$4 rp rc
	shift 4
	"$CAPGATE" run --explain --net "tcp-bind=$port" --profile "$T/$name.json" -- "$@" >/dev/null 2>"$T/$name.run.err" &
	rp=$!; PIDS+=($rp)
	STOP_PID=$rp
	$exercise && ok "$check" || fail "$check" "$(head -3 "$T/$name.run.err")"
	STOP_PID=
	wait $rp; rc=$?
	[ $rc -eq 0 ] && ! closure_denials "$T/$name.run.err" | grep -q . && ok "$name-rerun" ||
		fail "$name-rerun" "rc=$rc $(closure_denials "$T/$name.run.err" | head -3)"
}
# cgroup_workload NAME: a new cgroup v2 directory (CG) with a process busy
# in it (CP); fails if no writable cgroup v2 hierarchy is mounted
cgroup_workload() {
	local root
	root=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/mounts)
	[ -n "$root" ] && mkdir "$root/$1-$$" 2>/dev/null || return 1
	CG=$root/$1-$$
	CGS+=("$CG")
	sh -c "echo \$\$ > $CG/cgroup.procs && exec sh -c 'while :; do cat /proc/uptime >/dev/null; sleep 0.05; done'" &
	CP=$!; PIDS+=($CP)
	wait_for 10 grep -q . "$CG/cgroup.procs"
}
# The closure's denials in an --explain log (the --net socket rules deny what
# no closure grants, e.g. a libc AF_UNIX probe for nscd: those are --net's).
closure_denials() { grep denied "$1" | grep -v 'socket rules (--net)'; }
# run_clean NAME PROFILE CMD...: run under the profile; no denial, exit 0
run_clean() {
	local name=$1 prof=$2; shift 2
	if ! timeout 120 "$CAPGATE" run --explain --profile "$prof" -- "$@" >"$T/$name.run.out" 2>"$T/$name.run.err"; then
		fail "$name-rerun" "exit $? under its recorded profile: $(head -3 "$T/$name.run.err")"
		return 1
	fi
	if closure_denials "$T/$name.run.err" | grep -q .; then
		fail "$name-rerun" "$(closure_denials "$T/$name.run.err" | head -3)"
		return 1
	fi
	ok "$name-rerun"
}
# strace_trace NAME [trace options] -- CMD...: record under strace, compare
strace_trace() {
	local name=$1; shift
	timeout 300 strace -f -qq -e trace=all -o "$T/$name.strace" "$CAPGATE" trace -q -o "$T/$name.json" "$@" \
		>"$T/$name.out" 2>"$T/$name.err"
}
compare() { # NAME [--arch A]
	local name=$1; shift
	local msg
	if msg=$($CMP "$T/$name.strace" "$T/$name.json" "$@" 2>&1); then ok "$name-equals-strace ($msg)"; else fail "$name-equals-strace" "$msg"; fi
}

# ---- usage and errors: one line, non-zero ---------------------------------
out=$("$CAPGATE" trace -o "$T/x.json" -- /nonexistent/prog 2>&1); rc=$?
[ $rc -eq 127 ] && [ "$(echo "$out" | wc -l)" -eq 1 ] && [ ! -e "$T/x.json" ] &&
	ok "missing-command" || fail "missing-command" "rc=$rc: $out"
out=$("$CAPGATE" trace -- true 2>&1); rc=$?
[ $rc -eq 2 ] && ok "needs-output" || fail "needs-output" "rc=$rc: $out"
out=$("$CAPGATE" trace -o "$T/x.json" --serve-after-syscall acept4 -- true 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$out" | grep -q "unknown system call 'acept4'" && ok "unknown-trigger" || fail "unknown-trigger" "rc=$rc: $out"
out=$("$CAPGATE" trace -o "$T/x.json" --pid 999999999 2>&1); rc=$?
[ $rc -ne 0 ] && [ "$(echo "$out" | wc -l)" -eq 1 ] && ok "no-such-pid" || fail "no-such-pid" "rc=$rc: $out"

# ---- which recorder -------------------------------------------------------
"$CAPGATE" trace -o "$T/probe.json" -- true 2>"$T/probe.err"
if grep -q "ptrace recorder" "$T/probe.err"; then
	BPF=0
	skip "ebpf" "$(grep -o 'eBPF unavailable ([^)]*)' "$T/probe.err"): only the ptrace recorder is tested"
else
	BPF=1
fi
if ! command -v strace >/dev/null; then
	echo "FAIL strace: not installed (scripts/dev.sh installs it)"
	exit 1
fi

if [ $BPF = 1 ]; then
	# ---- coreutils pipeline ------------------------------------------------
	PIPE=(sh -c 'seq 1 2000 | sort -rn | tail -5 | tr 0-9 a-j | wc -c')
	strace_trace pipe -- "${PIPE[@]}" && compare pipe || fail pipe-equals-strace "$(cat "$T/pipe.err")"
	run_clean pipe "$T/pipe.json" "${PIPE[@]}" && [ "$(cat "$T/pipe.run.out")" = "$(cat "$T/pipe.out")" ] ||
		fail pipe-same-output "$(cat "$T/pipe.run.out")"

	# ---- python3 --------------------------------------------------------------
	PY=(python3 -c 'import json, os, subprocess, hashlib; print(json.dumps({"h": hashlib.sha256(b"x").hexdigest()[:8]})); subprocess.run(["true"], check=True)')
	strace_trace py -- env PYTHONHASHSEED=0 "${PY[@]}" && compare py || fail py-equals-strace "$(cat "$T/py.err")"
	run_clean py "$T/py.json" env PYTHONHASHSEED=0 "${PY[@]}"

	# ---- sqlite3 on a temporary database ---------------------------------------
	if command -v sqlite3 >/dev/null; then
		SQL='create table t(a integer primary key, b text); insert into t(b) values ("x"),("y"),("z"); select count(*), max(a) from t;'
		strace_trace sqlite -- sqlite3 "$T/a.db" "$SQL" && compare sqlite || fail sqlite-equals-strace "$(cat "$T/sqlite.err")"
		run_clean sqlite "$T/sqlite.json" sqlite3 "$T/b.db" "$SQL"
	else
		fail sqlite "sqlite3 not installed (scripts/dev.sh installs it)"
	fi

	# ---- i386 ----------------------------------------------------------------------
	M32=$BUILD/tests/helpers/trace_m32
	"$M32" >/dev/null 2>"$T/m32.probe"; rc=$?
	if [ $rc -eq 77 ]; then
		skip "i386" "$(cat "$T/m32.probe")"
	elif [ $rc -ne 0 ]; then
		skip "i386" "this kernel cannot run a 32-bit program (exit $rc; IA32 emulation off?)"
	else
		strace_trace m32 -- "$M32" && compare m32 --arch x86 || fail m32-equals-strace "$(cat "$T/m32.err")"
		python3 - "$T/m32.json" <<'EOF' && ok "i386-kept-apart" || fail "i386-kept-apart" "i386 calls leaked into x86_64"
import json, sys
c = json.load(open(sys.argv[1]))
x64 = {n for s in c['syscalls'] if 'SCMP_ARCH_X86_64' in s.get('arches', []) for n in s['names']}
x86 = {n for s in c['syscalls'] if 'SCMP_ARCH_X86' in s.get('arches', []) for n in s['names']}
sys.exit(0 if x64 == {'execve'} and 'mmap2' in x86 and 'SCMP_ARCH_X86' in c['architectures'] else 1)
EOF
		# the multiplexer's sub-call is kept, and --args turns it into a rule
		"$CAPGATE" trace -q --args -o "$T/m32args.json" -- "$M32" >/dev/null 2>&1
		python3 - "$T/m32args.json" <<'EOF' && ok "i386-socketcall-subcalls" || fail "i386-socketcall-subcalls" "$(head -c 600 "$T/m32args.json")"
import json, sys
c = json.load(open(sys.argv[1]))
sc = [s for s in c['syscalls'] if 'socketcall' in s['names']]
# trace_m32 calls socket() once: Debian's i386 glibc sends it through
# socketcall, so the only sub-call allowed is SYS_SOCKET (1)
rule = lambda a: [(x['index'], x['value'], x['op']) for x in a]
sys.exit(0 if sc and all(rule(s.get('args', [])) == [(0, 1, 'SCMP_CMP_EQ')] for s in sc) else 1)
EOF
		run_clean m32args "$T/m32args.json" "$M32"
		run_clean m32 "$T/m32.json" "$M32"
	fi

	# ---- nginx serving 100 requests, master_process on --------------------------
	if command -v nginx >/dev/null && command -v curl >/dev/null; then
		NG=$T/nginx
		PORT=$(free_port)
		nginx_prepare "$NG" "$PORT"
		# One worker: the trigger here is run-wide (the first accept4), and
		# with two workers one may accept while the other still loads its
		# NSS modules, so the phase of those reads would depend on timing.
		# Several workers are held with per-process windows (phases.sh).
		sed -i 's/^worker_processes .*/worker_processes 1;/' "$NG/nginx.conf"
		NGINX=(nginx -p "$NG" -c "$NG/nginx.conf" -g 'daemon off;')
		serve_100() {
			local n=0
			wait_for 20 curl -sf -o /dev/null "http://127.0.0.1:$PORT/" || return 1
			for _ in $(seq 100); do
				[ "$(curl -s --max-time 5 "http://127.0.0.1:$PORT/")" = hello ] && n=$((n + 1))
			done
			# under capgate run nginx is in a PID namespace: its pid file
			# means nothing here, so capgate forwards the QUIT
			if [ -n "${STOP_PID:-}" ]; then kill -QUIT "$STOP_PID"; else
				nginx -p "$NG" -c "$NG/nginx.conf" -s quit 2>/dev/null
			fi
			[ $n -eq 100 ]
		}
		strace_trace nginx --args --serve-after-syscall accept4 -- "${NGINX[@]}" &
		SP=$!; PIDS+=($SP)
		serve_100 && ok "nginx-100-requests" || fail "nginx-100-requests" "under trace"
		wait $SP && compare nginx || fail nginx-equals-strace "$(cat "$T/nginx.err")"
		python3 - "$T/nginx.json" <<'EOF' && ok "nginx-phases" || fail "nginx-phases" "$(cat "$T/nginx.json" | head -c 600)"
import json, sys
c = json.load(open(sys.argv[1]))
assert c['capgate']['phases'] == ['startup', 'serving']
ph = {}
for s in c['syscalls']:
    for n in s['names']:
        ph.setdefault(n, set()).update(s.get('phases', []))
assert ph['accept4'] == {'serving'}, ph['accept4']      # the trigger: serving only
assert 'serving' not in ph['bind'] and 'serving' not in ph['listen']
assert any(s['names'] == ['socket'] and s.get('args') for s in c['syscalls'])  # --args: socket rules
serving = [n for n, p in ph.items() if 'serving' in p]
print(f"nginx: {len(ph)} calls, serving {len(serving)}", file=sys.stderr)
EOF
		rerun_serving nginx nginx-rerun-100-requests serve_100 "$PORT" "${NGINX[@]}"
	else
		fail nginx "nginx or curl not installed (scripts/dev.sh installs them)"
	fi

	# ---- redis-server under redis-benchmark -n 1000 -----------------------------
	if command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null; then
		RD=$T/redis
		mkdir -p "$RD"
		PORT=$(free_port)
		REDIS=(redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$RD" --daemonize no)
		bench() {
			wait_for 20 sh -c "redis-cli -p $PORT ping | grep -q PONG" || return 1
			timeout 120 redis-benchmark -p "$PORT" -n 1000 -c 10 -t set,get -q >"$RD/bench.out" 2>&1 || return 1
			redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1
			return 0
		}
		strace_trace redis --serve-when-listening "$PORT" -- "${REDIS[@]}" &
		SP=$!; PIDS+=($SP)
		bench && ok "redis-benchmark" || fail "redis-benchmark" "under trace: $(cat "$RD/bench.out")"
		wait $SP && compare redis || fail redis-equals-strace "$(cat "$T/redis.err")"
		rerun_serving redis redis-rerun-benchmark bench "$PORT" "${REDIS[@]}"
	else
		fail redis "redis-server or redis-benchmark not installed (scripts/dev.sh installs them)"
	fi

	# ---- Ctrl-C: forwarded, waited for, closure written --------------------------
	"$CAPGATE" trace -q -o "$T/int.json" -- sh -c 'trap "exit 3" INT; while :; do sleep 0.05; done' &
	TP=$!; PIDS+=($TP)
	wait_for 10 sh -c "pgrep -P $TP >/dev/null"
	kill -INT $TP
	if wait_for 20 sh -c "! kill -0 $TP 2>/dev/null" && [ -s "$T/int.json" ] && grep -q '"nanosleep"\|"clock_nanosleep"' "$T/int.json"; then
		ok "sigint-writes-closure"
	else
		fail "sigint-writes-closure" "$(ls -la "$T/int.json" 2>&1)"
	fi

	# ---- capgate killed: the workload is neither stopped nor traced -------------
	"$CAPGATE" trace -q -o "$T/k.json" -- sleep 30 &
	TP=$!; PIDS+=($TP)
	wait_for 10 sh -c "pgrep -P $TP -x sleep >/dev/null"
	W=$(pgrep -P $TP -x sleep)
	kill -KILL $TP
	sleep 0.2
	st=$(awk '/^State:/ {print $2}' /proc/"$W"/status 2>/dev/null)
	tr=$(awk '/^TracerPid:/ {print $2}' /proc/"$W"/status 2>/dev/null)
	[ "$st" = S ] && [ "$tr" = 0 ] && ok "killed-leaves-workload-running" || fail "killed-leaves-workload-running" "state=$st tracer=$tr"
	[ -n "$W" ] && kill "$W" 2>/dev/null
	[ ! -e "$T/k.json" ] && ok "killed-writes-nothing-partial" || fail "killed-writes-nothing-partial" "file exists"

	# ---- --pid: a running process and its children -------------------------------
	sh -c 'while :; do cat /proc/loadavg >/dev/null; sleep 0.05; done' &
	LP=$!; PIDS+=($LP)
	timeout 30 "$CAPGATE" trace -q --pid $LP --duration 1 -o "$T/pid.json" 2>"$T/pid.err"; rc=$?
	kill $LP 2>/dev/null
	[ $rc -eq 0 ] && grep -q '"wait4"' "$T/pid.json" && grep -q '"openat"' "$T/pid.json" &&
		ok "attach-pid-follows-children" || fail "attach-pid-follows-children" "rc=$rc $(cat "$T/pid.err")"

	# A task busy in system calls while the recorder attaches has seen the
	# recorder before capgate registered it (and cached "not traced" then):
	# its later calls must still be recorded.
	yes >/dev/null &
	YP=$!; PIDS+=($YP)
	timeout 30 "$CAPGATE" trace -q --pid $YP --duration 1 -o "$T/busy.json" 2>"$T/busy.err"; rc=$?
	kill $YP 2>/dev/null
	[ $rc -eq 0 ] && grep -q '"write"' "$T/busy.json" &&
		ok "attach-pid-busy-task" || fail "attach-pid-busy-task" "rc=$rc $(cat "$T/busy.err")"

	# ---- --cgroup -------------------------------------------------------------------
	if cgroup_workload capgate-trace; then
		timeout 30 "$CAPGATE" trace -q --cgroup "$CG" --duration 1 -o "$T/cg.json" 2>"$T/cg.err"; rc=$?
		kill $CP 2>/dev/null; wait $CP 2>/dev/null
		[ $rc -eq 0 ] && grep -q '"openat"' "$T/cg.json" && ! grep -q '"bpf"' "$T/cg.json" &&
			ok "cgroup" || fail "cgroup" "rc=$rc $(cat "$T/cg.err")"
	else
		skip "cgroup" "no writable cgroup v2 hierarchy mounted"
	fi

	# ---- loss is reported, never silent --------------------------------------------
	"$CAPGATE" trace -q --max-tasks 1 -o "$T/loss.json" -- sh -c 'true | true' 2>"$T/loss.err"; rc=$?
	[ $rc -eq 1 ] && grep -q "may be incomplete" "$T/loss.err" && [ -s "$T/loss.json" ] &&
		ok "full-task-map-is-reported" || fail "full-task-map-is-reported" "rc=$rc $(cat "$T/loss.err")"
fi

# ---- ptrace recorder: same record as eBPF on a deterministic workload ------------
PIPE=(sh -c 'seq 1 2000 | sort -rn | tail -5 | tr 0-9 a-j | wc -c')
"$CAPGATE" trace --ptrace -q -o "$T/pt.json" -- "${PIPE[@]}" >"$T/pt.out" 2>"$T/pt.err"; rc=$?
if [ $rc -eq 0 ] && grep -q "much slower" "$T/pt.err"; then
	ok "ptrace-notice"
else
	fail "ptrace-notice" "rc=$rc $(cat "$T/pt.err")"
fi
if [ $BPF = 1 ]; then
	"$CAPGATE" trace -q -o "$T/eb.json" -- "${PIPE[@]}" >"$T/eb.out" 2>"$T/eb.err"
	python3 - "$T/pt.json" "$T/eb.json" <<'EOF' && ok "ptrace-equals-ebpf" || fail "ptrace-equals-ebpf" "sets differ"
import json, sys
def names(p):
    return {(n, a) for s in json.load(open(p))['syscalls'] for n in s['names'] for a in s.get('arches', [])}
a, b = names(sys.argv[1]), names(sys.argv[2])
if a != b:
    print('ptrace only', sorted(a - b), 'ebpf only', sorted(b - a))
sys.exit(a != b)
EOF
fi
run_clean ptrace "$T/pt.json" "${PIPE[@]}"
"$CAPGATE" trace --ptrace -q -o "$T/pt127.json" -- /nonexistent/x 2>/dev/null; rc=$?
[ $rc -eq 127 ] && ok "ptrace-missing-command" || fail "ptrace-missing-command" "rc=$rc"

# ---- ptrace attached to running processes (--pid, --cgroup) ------------------------
untraced() { # PID: running, not stopped, no tracer
	local st tr
	st=$(awk '/^State:/ {print $2}' /proc/"$1"/status 2>/dev/null)
	tr=$(awk '/^TracerPid:/ {print $2}' /proc/"$1"/status 2>/dev/null)
	[ -n "$st" ] && [ "$st" != t ] && [ "$st" != T ] && [ "$tr" = 0 ]
}
sh -c 'while :; do cat /proc/loadavg >/dev/null; sleep 0.05; done' &
LP=$!; PIDS+=($LP)
yes >/dev/null &
YP=$!; PIDS+=($YP)
timeout 30 "$CAPGATE" trace --ptrace -q --pid $LP --duration 1 -o "$T/ptpid.json" 2>"$T/ptpid.err"; rc=$?
timeout 30 "$CAPGATE" trace --ptrace -q --pid $YP --duration 1 -o "$T/ptyes.json" 2>"$T/ptyes.err"; rc2=$?
sleep 0.2
[ $rc -eq 0 ] && grep -q '"wait4"' "$T/ptpid.json" && grep -q '"openat"' "$T/ptpid.json" &&
	[ $rc2 -eq 0 ] && grep -q '"write"' "$T/ptyes.json" &&
	ok "ptrace-attach-pid-follows-children" ||
	fail "ptrace-attach-pid-follows-children" "rc=$rc/$rc2 $(cat "$T/ptpid.err" "$T/ptyes.err")"
untraced $LP && untraced $YP && ok "ptrace-attach-detaches" ||
	fail "ptrace-attach-detaches" "$(grep -E '^(State|TracerPid)' /proc/$LP/status /proc/$YP/status)"
# capgate killed while attached: the kernel detaches, the workload runs on
"$CAPGATE" trace --ptrace -q --pid $YP -o "$T/ptkill.json" 2>/dev/null &
KP=$!
wait_for 10 sh -c "grep -q 'TracerPid:[[:space:]]*$KP\$' /proc/$YP/status"
kill -KILL $KP; wait $KP 2>/dev/null
sleep 0.2
untraced $YP && [ ! -e "$T/ptkill.json" ] && ok "ptrace-attach-killed-leaves-workload-running" ||
	fail "ptrace-attach-killed-leaves-workload-running" "$(grep -E '^(State|TracerPid)' /proc/$YP/status)"
kill $LP $YP 2>/dev/null
"$CAPGATE" trace --ptrace -q --pid 999999999 -o "$T/x.json" 2>"$T/ptnone.err"; rc=$?
[ $rc -eq 2 ] && grep -q "no process" "$T/ptnone.err" && ok "ptrace-attach-no-such-pid" ||
	fail "ptrace-attach-no-such-pid" "rc=$rc $(cat "$T/ptnone.err")"

if cgroup_workload capgate-ptrace; then
	timeout 30 "$CAPGATE" trace --ptrace -q --cgroup "$CG" --duration 1 -o "$T/ptcg.json" 2>"$T/ptcg.err"; rc=$?
	[ $rc -eq 0 ] && grep -q '"openat"' "$T/ptcg.json" && untraced $CP &&
		ok "ptrace-cgroup" || fail "ptrace-cgroup" "rc=$rc $(cat "$T/ptcg.err")"
	# a process that joins from outside the traced tree is attached late: said, exit 1
	"$CAPGATE" trace --ptrace -q --cgroup "$CG" --duration 2 -o "$T/ptcg2.json" 2>"$T/ptcg2.err" &
	TP=$!
	sleep 0.5
	sh -c 'while :; do sleep 0.05; done' &
	NP=$!; PIDS+=($NP)
	echo $NP >"$CG/cgroup.procs"
	wait $TP; rc=$?
	[ $rc -eq 1 ] && grep -q "joined the cgroup" "$T/ptcg2.err" && grep -q '"nanosleep"\|"clock_nanosleep"' "$T/ptcg2.json" &&
		ok "ptrace-cgroup-newcomer-is-reported" || fail "ptrace-cgroup-newcomer-is-reported" "rc=$rc $(cat "$T/ptcg2.err")"
	kill $CP $NP 2>/dev/null; wait $CP $NP 2>/dev/null
else
	skip "ptrace-cgroup" "no writable cgroup v2 hierarchy mounted"
	skip "ptrace-cgroup-newcomer-is-reported" "no writable cgroup v2 hierarchy mounted"
fi

# ---- merge: union, canonical, deterministic ------------------------------------------
"$CAPGATE" trace -q -o "$T/m1.json" -- true
"$CAPGATE" trace -q -o "$T/m2.json" -- sh -c 'echo hi >/dev/null; ls / >/dev/null'
"$CAPGATE" merge -q "$T/m1.json" "$T/m2.json" -o "$T/u12.json" &&
	"$CAPGATE" merge -q "$T/m1.json" "$T/m2.json" -o "$T/u12b.json" &&
	"$CAPGATE" merge -q "$T/m2.json" "$T/m1.json" -o "$T/u21.json"
# same inputs, same order: same bytes; either order: the same rules (the
# digest also covers rule order, which lib/closure/closure.c sorts by comment too)
if cmp -s "$T/u12.json" "$T/u12b.json" &&
	python3 - "$T/m1.json" "$T/m2.json" "$T/u12.json" "$T/u21.json" <<'EOF'; then
import json, sys
def rules(p):
    return {(n, s['action'], json.dumps(s.get('args')), json.dumps(s.get('arches')), json.dumps(s.get('phases')))
            for s in json.load(open(p))['syscalls'] for n in s['names']}
n = lambda p: {r[0] for r in rules(p)}
sys.exit(n(sys.argv[3]) != n(sys.argv[1]) | n(sys.argv[2]) or rules(sys.argv[3]) != rules(sys.argv[4]))
EOF
	ok "merge-union-deterministic"
else
	fail "merge-union-deterministic" "$(diff "$T/u12.json" "$T/u21.json" | head -5)"
fi
"$CAPGATE" merge --plain -q "$T/m2.json" -o "$T/plain.json" && ! grep -q '"count"\|"phases"\|"arches"\|"capgate"' "$T/plain.json" &&
	ok "merge-plain-oci" || fail "merge-plain-oci" "$(head -c 300 "$T/plain.json")"
