#!/usr/bin/env bash
# End-to-end tests of `capgate run` through the binary: exit statuses,
# --dry-run, --explain, --strict, Landlock and netns from the command line.
# Prints "ok NAME" / "FAIL NAME: why" / "skip NAME: reason".
set -u
cd "$(dirname "$0")/../.."
CAPGATE=${CAPGATE:-./build/capgate}
DEMO=build/tests/helpers/demo
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok() { echo "ok $1"; }
fail() { printf "FAIL %s: %s\n" "$1" "$(printf %s "$2" | tr "\n" "|" | head -c 2000)"; } # one line: the CI shows a part
# expect NAME WANT_RC GOT_RC
rc_is() { if [ "$3" -eq "$2" ]; then return 0; fi; fail "$1" "exit $3, expected $2; stderr: $(head -c 400 "$tmp/err")"; return 1; }
has() { # NAME FILE TEXT
	if grep -qF -- "$3" "$2"; then return 0; fi
	fail "$1" "$(basename "$2") lacks '$3': $(head -c 600 "$2")"; return 1
}

if [ ! -x "$CAPGATE" ]; then echo "FAIL run.sh: $CAPGATE not built"; exit 1; fi
if [ ! -x "$DEMO" ]; then echo "FAIL run.sh: $DEMO not built"; exit 1; fi

cat >"$tmp/allow.json" <<'J'
{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["ptrace"],"action":"SCMP_ACT_ERRNO"}]}
J
cat >"$tmp/noexec.json" <<'J'
{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read","write","exit_group"],"action":"SCMP_ACT_ALLOW"}]}
J
# the demo profile plus a kill rule for socket
python3 - "$tmp/kill.json" <<'P'
import json, sys
p = json.load(open("examples/demo.json"))
p["syscalls"].append({"names": ["socket"], "action": "SCMP_ACT_KILL_PROCESS"})
json.dump(p, open(sys.argv[1], "w"))
P
cat >"$tmp/phases.json" <<'J'
{"defaultAction":"SCMP_ACT_ALLOW","capgate":{"phases":["startup","serving"]},
 "syscalls":[{"names":["ptrace"],"action":"SCMP_ACT_ERRNO","phases":["serving"]}]}
J

# --- exit status propagation ---------------------------------------------
n=exit_status
$CAPGATE run --profile "$tmp/allow.json" -- sh -c 'exit 7' 2>"$tmp/err"; rc_is $n 7 $? && ok $n
n=exit_signal
$CAPGATE run --profile "$tmp/allow.json" -- sh -c 'kill -TERM $$' 2>"$tmp/err"; rc_is $n 143 $? && ok $n
n=args_passed
out=$($CAPGATE run --profile "$tmp/allow.json" -- printf '%s|' a 'b c' --fs-ro 2>"$tmp/err")
rc_is $n 0 $? && { [ "$out" = "a|b c|--fs-ro|" ] && ok $n || fail $n "got '$out'"; }

# --- --dry-run -------------------------------------------------------------
n=dry_run
$CAPGATE run --dry-run --fs-system --net tcp-connect=443 --profile examples/demo.json -- touch "$tmp/ran" \
	>"$tmp/out" 2>"$tmp/err"
if rc_is $n 0 $? && has $n "$tmp/out" "digest: sha256:" && has $n "$tmp/out" "seccomp allowed calls on x86_64: 20" &&
	has $n "$tmp/out" "seccomp default action: errno(EPERM)" && has $n "$tmp/out" "landlock: ABI" &&
	has $n "$tmp/out" "fs ro /usr: execute,read_file,read_dir" && has $n "$tmp/out" "net tcp-connect: 443" &&
	has $n "$tmp/out" "missing protections:" && has $n "$tmp/out" "network: new network namespace, only lo (up)" &&
	has $n "$tmp/out" "way out: capgate's TCP forwarder" && has $n "$tmp/out" "MSG_FASTOPEN on sendto/sendmsg/sendmmsg: denied" &&
	has $n "$tmp/out" "socket() may create AF_INET/SOCK_STREAM/0, AF_INET/SOCK_STREAM/6,"; then
	[ -e "$tmp/ran" ] && fail $n "the command ran" || ok $n
fi
n=dry_run_no_command
$CAPGATE run --dry-run --profile examples/demo.json >"$tmp/out" 2>"$tmp/err"; rc_is $n 0 $? && has $n "$tmp/out" "mode: enforce" && ok $n

# --- the demo: enforce, explain, kill ---------------------------------------
n=demo_enforce
$CAPGATE run --profile examples/demo.json -- $DEMO >"$tmp/out" 2>"$tmp/err"
if rc_is $n 0 $? && has $n "$tmp/out" "demo: hello from inside the sandbox" &&
	has $n "$tmp/out" "socket(AF_INET, SOCK_STREAM) denied: Operation not permitted"; then
	grep -q denied "$tmp/err" && fail $n "reported without --explain" || ok $n
fi
n=demo_explain
$CAPGATE run --explain --profile examples/demo.json -- $DEMO >"$tmp/out" 2>"$tmp/err"
rc_is $n 0 $? && has $n "$tmp/err" \
	"capgate run: denied socket(AF_INET=2, SOCK_STREAM=1, 0) [x86_64 nr 41]: default action errno(EPERM)" &&
	has $n "$tmp/out" "denied: Operation not permitted" && ok $n
n=demo_audit_explain
$CAPGATE run --audit --explain --profile examples/demo.json -- $DEMO >"$tmp/out" 2>"$tmp/err"
rc_is $n 0 $? && has $n "$tmp/err" "would deny socket(AF_INET=2, SOCK_STREAM=1, 0)" &&
	has $n "$tmp/out" "socket(AF_INET, SOCK_STREAM) allowed" && ok $n
n=seccomp_kill
$CAPGATE run --profile "$tmp/kill.json" -- $DEMO >"$tmp/out" 2>"$tmp/err"
rc_is $n 159 $? && has $n "$tmp/err" "capgate run: $DEMO was killed by seccomp (SIGSYS): a call outside the profile" && ok $n
n=seccomp_kill_explain
$CAPGATE run --explain --profile "$tmp/kill.json" -- $DEMO >"$tmp/out" 2>"$tmp/err"
rc_is $n 159 $? && has $n "$tmp/err" "rule kill-process" && has $n "$tmp/err" "killed by seccomp (SIGSYS)" && ok $n

# --- errors ------------------------------------------------------------------
n=missing_command
$CAPGATE run --profile "$tmp/allow.json" -- capgate-no-such-program 2>"$tmp/err"
rc_is $n 127 $? && has $n "$tmp/err" "cannot execute capgate-no-such-program: No such file or directory" && ok $n
n=not_executable
touch "$tmp/plain"; chmod 0644 "$tmp/plain"
$CAPGATE run --profile "$tmp/allow.json" -- "$tmp/plain" 2>"$tmp/err"
rc_is $n 126 $? && has $n "$tmp/err" "cannot execute $tmp/plain: Permission denied" && ok $n
n=bad_profile_path
$CAPGATE run --profile "$tmp/nope.json" -- true 2>"$tmp/err"; rc_is $n 2 $? && has $n "$tmp/err" "$tmp/nope.json" && ok $n
n=no_profile
$CAPGATE run -- true 2>"$tmp/err"; rc_is $n 2 $? && has $n "$tmp/err" "--profile is required" && ok $n
n=no_command
$CAPGATE run --profile "$tmp/allow.json" 2>"$tmp/err"; rc_is $n 2 $? && has $n "$tmp/err" "no command given" && ok $n
n=profile_without_execve
$CAPGATE run --profile "$tmp/noexec.json" -- true 2>"$tmp/err"
rc_is $n 126 $? && has $n "$tmp/err" "profile does not allow execve: the program could not even start" && ok $n
n=unknown_phase
$CAPGATE run --phase nope --profile "$tmp/phases.json" -- true 2>"$tmp/err"
rc_is $n 2 $? && has $n "$tmp/err" "unknown phase 'nope' (phases: startup, serving)" && ok $n
n=phase
$CAPGATE run --dry-run --phase serving --profile "$tmp/phases.json" -- true >"$tmp/out" 2>"$tmp/err"
rc_is $n 0 $? && has $n "$tmp/out" "phase: serving" && ok $n
n=bad_net
$CAPGATE run --net wifi --profile "$tmp/allow.json" -- true 2>"$tmp/err"; rc_is $n 2 $? && has $n "$tmp/err" "unknown mode 'wifi'" && ok $n
n=net_host_alone
$CAPGATE run --net host --net tcp-connect=80 --profile "$tmp/allow.json" -- true 2>"$tmp/err"
rc_is $n 2 $? && has $n "$tmp/err" "--net host turns network isolation off" && ok $n
n=net_none_with_ports
$CAPGATE run --net none --net tcp-bind=8080 --profile "$tmp/allow.json" -- true 2>"$tmp/err"
rc_is $n 2 $? && has $n "$tmp/err" "--net none cannot be combined" && ok $n
# no --net: isolated, and the dry run says so, scopes included
n=dry_run_default_isolation
$CAPGATE run --dry-run --profile "$tmp/allow.json" >"$tmp/out" 2>"$tmp/err"
if rc_is $n 0 $? && has $n "$tmp/out" "network: new network namespace, only lo (up)" &&
	has $n "$tmp/out" "way out: none" && has $n "$tmp/out" "socketpair(AF_UNIX): allowed; every other family" &&
	has $n "$tmp/out" "socketcall(2) SYS_SOCKET, SYS_SOCKETPAIR: denied" &&
	has $n "$tmp/out" "io_uring_setup: denied"; then
	if grep -q "^landlock: ABI [6-9]" "$tmp/out"; then
		has $n "$tmp/out" "scope: abstract-unix-socket,signal" && has $n "$tmp/out" "missing protections: none" && ok $n
	else
		has $n "$tmp/out" "scoping need ABI 6" && ok $n
	fi
fi
n=dry_run_host
$CAPGATE run --dry-run --net host --profile "$tmp/allow.json" >"$tmp/out" 2>"$tmp/err"
rc_is $n 0 $? && has $n "$tmp/out" "network: the host's (--net host: no network namespace, no socket rules)" && ok $n

# --- --strict ----------------------------------------------------------------
abi=$($CAPGATE run --dry-run --profile "$tmp/allow.json" | sed -n 's/^landlock: ABI \([0-9]*\).*/\1/p')
n=strict_refuses
$CAPGATE run --strict --landlock-abi 3 --net tcp-connect=443 --profile "$tmp/allow.json" -- touch "$tmp/strict" 2>"$tmp/err"
rc_is $n 125 $? && has $n "$tmp/err" "landlock ABI 3: signal and abstract unix socket scoping need ABI 6" &&
	{ [ -e "$tmp/strict" ] && fail $n "the command ran" || ok $n; }
n=missing_warns
$CAPGATE run --landlock-abi 3 --net tcp-connect=443 --profile "$tmp/allow.json" -- true 2>"$tmp/err"
rc_is $n 0 $? && has $n "$tmp/err" "warning: missing protection: landlock ABI 3: signal and abstract unix socket scoping" && ok $n
n=strict_runs_when_complete
if [ -z "$abi" ] || [ "$abi" -lt 6 ]; then
	echo "skip $n: kernel Landlock ABI '${abi:-none}' < 6, something is always missing"
else
	# memfd exec needs the PID namespace: turned off here so that only Landlock counts
	$CAPGATE run --strict --allow-memfd-exec --fs-system --net tcp-connect=443 --profile "$tmp/allow.json" -- true 2>"$tmp/err"
	rc_is $n 0 $? && ok $n
fi

# --- Landlock and network from the command line ------------------------------
mkdir -p "$tmp/granted" "$tmp/other"; echo secret >"$tmp/other/f"; echo fine >"$tmp/granted/f"
n=fs_ro_denies_outside
if [ -z "$abi" ]; then echo "skip $n: landlock unavailable"; else
	$CAPGATE run --fs-system --fs-ro "$tmp/granted" --profile "$tmp/allow.json" -- cat "$tmp/granted/f" "$tmp/other/f" \
		>"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ $rc -ne 0 ] && has $n "$tmp/out" fine && has $n "$tmp/err" "Permission denied"; then
		grep -q secret "$tmp/out" && fail $n "read outside --fs-ro" || ok $n
	elif [ $rc -eq 0 ]; then fail $n "cat of a file outside --fs-ro succeeded"; fi
fi
n=fs_rw_writes
if [ -z "$abi" ]; then echo "skip $n: landlock unavailable"; else
	$CAPGATE run --fs-system --fs-rw "$tmp/granted" --profile "$tmp/allow.json" -- \
		sh -c "echo new >'$tmp/granted/new' && ! echo x 2>/dev/null >'$tmp/other/new'" 2>"$tmp/err"
	rc_is $n 0 $? && { [ -e "$tmp/granted/new" ] && [ ! -e "$tmp/other/new" ] && ok $n || fail $n "files wrong"; }
fi
# /proc/net follows the process's namespace (sysfs would show the mounter's)
n=net_none
$CAPGATE run --net none --profile "$tmp/allow.json" -- cat /proc/net/dev >"$tmp/out" 2>"$tmp/err"
if rc_is $n 0 $? && has $n "$tmp/out" "lo:"; then
	others=$(sed -n 's/^ *\([^ :]*\):.*/\1/p' "$tmp/out" | grep -v '^lo$' | tr '\n' ' ')
	[ -z "$others" ] && ok $n || fail $n "interfaces other than lo: $others"
fi
n=net_none_tcp
$CAPGATE run --net none --profile "$tmp/allow.json" -- bash -c 'exec 3<>/dev/tcp/127.0.0.1/1' >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -eq 0 ]; then fail $n "connected"
elif grep -q "Connection refused" "$tmp/err"; then fail $n "reached a loopback: $(cat "$tmp/err")"
else ok $n; fi
n=net_loopback
$CAPGATE run --net loopback --profile "$tmp/allow.json" -- bash -c 'exec 3<>/dev/tcp/127.0.0.1/1' >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -ne 0 ] && has $n "$tmp/err" "Connection refused" && ok $n

n=net_default_isolated
$CAPGATE run --profile "$tmp/allow.json" -- cat /proc/net/dev >"$tmp/out" 2>"$tmp/err"
if rc_is $n 0 $? && has $n "$tmp/out" "lo:"; then
	others=$(sed -n 's/^ *\([^ :]*\):.*/\1/p' "$tmp/out" | grep -v '^lo$' | tr '\n' ' ')
	[ -z "$others" ] && ok $n || fail $n "interfaces other than lo: $others"
fi
# the forwarder, both ways, with a real HTTP server and client (Debian's python3:
# a wrapper that forks would outlive kill)
PY=/usr/bin/python3
port=$($PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$tmp/www"; echo served-page >"$tmp/www/index.html"
n=net_tcp_connect_forwards
$PY -m http.server "$port" --bind 127.0.0.1 --directory "$tmp/www" >/dev/null 2>&1 &
hs=$!
for _ in $(seq 50); do bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null && break; sleep 0.1; done
$CAPGATE run --net tcp-connect=$port --profile "$tmp/allow.json" -- curl -s --max-time 10 "http://127.0.0.1:$port/" \
	>"$tmp/out" 2>"$tmp/err"
rc_is $n 0 $? && has $n "$tmp/out" served-page && ok $n
n=net_tcp_connect_other_port_refused
$CAPGATE run --net tcp-connect=$((port + 1)) --profile "$tmp/allow.json" -- curl -s --max-time 10 "http://127.0.0.1:$port/" \
	>"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -ne 0 ] && ! grep -q served-page "$tmp/out" && ok $n || fail $n "curl exit $rc: $(head -c 200 "$tmp/out")"
kill $hs 2>/dev/null; wait $hs 2>/dev/null
n=net_tcp_bind_serves_the_host
$CAPGATE run --net tcp-bind=$port --profile "$tmp/allow.json" -- \
	$PY -m http.server "$port" --bind 127.0.0.1 --directory "$tmp/www" >/dev/null 2>"$tmp/err" &
cp=$!
got=""
for _ in $(seq 100); do
	got=$(curl -s --max-time 5 "http://127.0.0.1:$port/") && [ -n "$got" ] && break
	sleep 0.1
done
kill -TERM $cp 2>/dev/null; wait $cp 2>/dev/null
[ "$got" = served-page ] && ok $n || fail $n "the host got '$got': $(head -c 300 "$tmp/err")"
n=net_forwarder_setup_fails_closed
# a port some other program listens on: capgate refuses to run, naming it
$PY -c 'import socket, time; s = socket.socket(); s.bind(("0.0.0.0", 0)); s.listen()
print(s.getsockname()[1], flush=True); time.sleep(30)' >"$tmp/busy" &
busy=$!
for _ in $(seq 50); do [ -s "$tmp/busy" ] && break; sleep 0.1; done
bport=$(cat "$tmp/busy")
$CAPGATE run --net tcp-bind=$bport --profile "$tmp/allow.json" -- touch "$tmp/bound" 2>"$tmp/err"
rc_is $n 125 $? && has $n "$tmp/err" "cannot listen on the host's port $bport" &&
	{ [ -e "$tmp/bound" ] && fail $n "the command ran" || ok $n; }
kill $busy 2>/dev/null; wait $busy 2>/dev/null

# --- signal forwarding ---------------------------------------------------------
n=forwards_sigterm
$CAPGATE run --profile "$tmp/allow.json" -- sleep 30 2>"$tmp/err" &
pid=$!
sleep 0.5
kill -TERM $pid
start=$SECONDS
wait $pid; rc=$?
if [ $((SECONDS - start)) -gt 5 ]; then fail $n "capgate did not stop the program"
else rc_is $n 143 $rc && ok $n; fi
n=forwards_sigterm_explain
$CAPGATE run --explain --profile "$tmp/allow.json" -- sleep 30 2>"$tmp/err" &
pid=$!
sleep 0.5
kill -TERM $pid
start=$SECONDS
wait $pid; rc=$?
if [ $((SECONDS - start)) -gt 5 ]; then fail $n "capgate did not stop the program"
else rc_is $n 143 $rc && ok $n; fi

# --- the process: namespaces, session, capabilities, user, limits ------------
D=${CAPGATE_SHARED:-$(cd .. && pwd)/shared}/corpus/profiles/docker-default.json
sid_of() { awk '{ print $6 }' "$1"; }
n=dry_run_process
$CAPGATE run --dry-run --profile "$tmp/allow.json" --cap-drop ALL --cap-add NET_BIND_SERVICE --rlimit nofile=64 \
	--share-ns ipc >"$tmp/out" 2>"$tmp/err"
rc_is $n 0 $? && has $n "$tmp/out" "namespaces (created in a check just now):" &&
	has $n "$tmp/out" "pid, uts, cgroup" && has $n "$tmp/out" "namespaces shared with capgate: ipc" &&
	has $n "$tmp/out" "capabilities bounding: NET_BIND_SERVICE" && has $n "$tmp/out" "capabilities ambient: NET_BIND_SERVICE" &&
	has $n "$tmp/out" "session: new (setsid)" && has $n "$tmp/out" "rlimits: nofile=64:64" && ok $n
n=new_session
$CAPGATE run --profile "$tmp/allow.json" -- cat /proc/self/stat >"$tmp/out" 2>"$tmp/err"
if rc_is $n 0 $?; then
	[ "$(sid_of "$tmp/out")" != "$(sid_of /proc/$$/stat)" ] && ok $n || fail $n "the program is in the caller's session"
fi
n=tty_new_session
# --tty too: a new session whose terminal is a pty of its own
# (--share-ns pid: a session id seen from inside a PID namespace is relative to it)
$CAPGATE run --tty --share-ns pid --profile "$tmp/allow.json" -- cat /proc/self/stat </dev/null >"$tmp/out" 2>"$tmp/err"
if rc_is $n 0 $?; then
	[ "$(sid_of "$tmp/out")" != "$(sid_of /proc/$$/stat)" ] && ok $n || fail $n "--tty: the program is in the caller's session"
fi
n=pid_namespace
out=$($CAPGATE run --profile "$tmp/allow.json" -- sh -c 'echo $$; readlink /proc/self/ns/pid' 2>"$tmp/err")
if rc_is $n 0 $?; then
	[ "$(head -1 <<<"$out")" = 2 ] && [ "$(tail -1 <<<"$out")" != "$(readlink /proc/self/ns/pid)" ] && ok $n ||
		fail $n "not in a PID namespace of its own: $out"
fi
n=share_ns_pid
out=$($CAPGATE run --share-ns pid --profile "$tmp/allow.json" -- readlink /proc/self/ns/pid 2>"$tmp/err")
rc_is $n 0 $? && { [ "$out" = "$(readlink /proc/self/ns/pid)" ] && ok $n || fail $n "--share-ns pid: $out"; }
n=caps_resolved_with_profile
if [ -f "$D" ] && [ "$(id -u)" -eq 0 ]; then
	# Docker's profile allows sethostname only with CAP_SYS_ADMIN: the filter follows --cap-add
	$CAPGATE run --dry-run --profile "$D" >"$tmp/a" 2>"$tmp/err"
	$CAPGATE run --dry-run --cap-add SYS_ADMIN --profile "$D" >"$tmp/b" 2>>"$tmp/err"
	a=$(sed -n 's/^seccomp allowed calls on x86_64: //p' "$tmp/a")
	b=$(sed -n 's/^seccomp allowed calls on x86_64: //p' "$tmp/b")
	[ -n "$a" ] && [ -n "$b" ] && [ "$b" -gt "$a" ] && ok $n || fail $n "allowed calls $a without, $b with SYS_ADMIN"
else
	echo "skip $n: needs root and $D"
fi
n=caps_root_default
if [ "$(id -u)" -eq 0 ]; then
	$CAPGATE run --profile "$tmp/allow.json" -- grep -E '^Cap(Eff|Bnd|Amb)' /proc/self/status >"$tmp/out" 2>"$tmp/err"
	rc_is $n 0 $? && has $n "$tmp/out" "CapEff:	00000000a80425fb" && has $n "$tmp/out" "CapBnd:	00000000a80425fb" &&
		has $n "$tmp/out" "CapAmb:	00000000a80425fb" && ok $n
	n=user_switch
	$CAPGATE run --user 65534:65534 --profile "$tmp/allow.json" -- sh -c 'id -u; id -g; grep ^CapEff /proc/self/status' \
		>"$tmp/out" 2>"$tmp/err"
	rc_is $n 0 $? && has $n "$tmp/out" "65534" && has $n "$tmp/out" "CapEff:	0000000000000000" && ok $n
	n=user_needs_root
	setpriv --reuid=65534 --regid=65534 --clear-groups $CAPGATE run --user 0 --profile "$tmp/allow.json" -- true \
		2>"$tmp/err"
	rc_is $n 2 $? && has $n "$tmp/err" "--user needs capgate to run as root" && ok $n
	n=rootless_run
	chmod 755 "$tmp"
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups $CAPGATE run --profile "$tmp/allow.json" -- \
		sh -c 'id -u; echo $$; grep ^CapEff /proc/self/status' 2>"$tmp/err")
	if rc_is $n 0 $?; then
		[ "$out" = "$(printf '65534\n2\nCapEff:\t0000000000000000')" ] && ok $n ||
			fail $n "as nobody: '$out' $(head -c 300 "$tmp/err")"
	fi
else
	echo "skip caps_root_default: needs root"
fi
n=bad_process_options
for bad in "--cap-add NOPE" "--cap-drop" "--share-ns net" "--rlimit nofile" "--rlimit nofile=2:1" \
	"--cap-add NET_RAW --cap-drop NET_RAW"; do
	# shellcheck disable=SC2086
	$CAPGATE run $bad --profile "$tmp/allow.json" -- true 2>"$tmp/err"
	rc=$?
	[ $rc -eq 2 ] || { fail $n "'$bad' exit $rc: $(cat "$tmp/err")"; continue 2; }
done
ok $n
n=rlimit_applied
out=$($CAPGATE run --rlimit nofile=50:60 --profile "$tmp/allow.json" -- sh -c 'ulimit -Sn; ulimit -Hn' 2>"$tmp/err")
rc_is $n 0 $? && { [ "$out" = "$(printf '50\n60')" ] && ok $n || fail $n "got '$out'"; }
# The program's process shares its init's memory until its execve (vfork-like)
# unless it waits for capgate first (--explain): either way a step that fails
# in it is reported, and nothing it sets up (filters, capabilities, mount and
# network namespaces) reaches the init, which keeps its own small filter.
n=setup_failure_reported
$CAPGATE run --rlimit nofile=2000000000 --profile "$tmp/allow.json" -- touch "$tmp/ran" 2>"$tmp/err"
rc_is $n 125 $? && has $n "$tmp/err" "--rlimit nofile: setrlimit" &&
	{ [ -e "$tmp/ran" ] && fail $n "the command ran" || ok $n; }
for mode in plain explain; do
	n=init_apart_from_program_$mode
	extra=""
	[ $mode = explain ] && extra=--explain
	# shellcheck disable=SC2086
	$CAPGATE run $extra --profile "$tmp/allow.json" -- sh -c ": >$tmp/up.$mode; sleep 30" 2>"$tmp/err" &
	cg=$!
	for _ in $(seq 200); do [ -e "$tmp/up.$mode" ] && break; sleep 0.05; done
	init=$(pgrep -P $cg | head -1)
	prog=$(pgrep -P "${init:-0}" | head -1)
	if [ -z "$init" ] || [ -z "$prog" ]; then
		fail $n "no init ($init) or program ($prog) under capgate $cg"
	else
		st_i=$(grep -E '^(CapEff|NoNewPrivs|Seccomp_filters)' /proc/$init/status | tr '\n\t' '  ')
		st_p=$(grep -E '^(CapEff|NoNewPrivs|Seccomp_filters)' /proc/$prog/status | tr '\n\t' '  ')
		# CAP_KILL only (also for an ordinary user: the init's user namespace)
		want_i="CapEff: 0000000000000020 NoNewPrivs: 1 Seccomp_filters: 1 "
		if [ "$st_i" != "$want_i" ]; then
			fail $n "init: '$st_i', expected '$want_i'"
		elif ! grep -q "^Seccomp_filters:[[:space:]]*[12]$" /proc/$prog/status || [ "$st_p" = "$st_i" ]; then
			fail $n "program: '$st_p'"
		elif [ "$(readlink /proc/$init/ns/mnt)" != "$(readlink /proc/$cg/ns/mnt)" ] ||
			[ "$(readlink /proc/$init/ns/net)" != "$(readlink /proc/$cg/ns/net)" ] ||
			[ "$(readlink /proc/$prog/ns/mnt)" = "$(readlink /proc/$cg/ns/mnt)" ] ||
			[ "$(readlink /proc/$prog/ns/net)" = "$(readlink /proc/$cg/ns/net)" ]; then
			fail $n "namespaces: init mnt/net $(readlink /proc/$init/ns/mnt) $(readlink /proc/$init/ns/net), program $(readlink /proc/$prog/ns/mnt) $(readlink /proc/$prog/ns/net), capgate $(readlink /proc/$cg/ns/mnt) $(readlink /proc/$cg/ns/net)"
		else
			ok $n
		fi
	fi
	kill -TERM $cg 2>/dev/null
	wait $cg 2>/dev/null
done
n=forwards_sigterm_to_session
$CAPGATE run --profile "$tmp/allow.json" -- sh -c "trap 'exit 5' TERM; : >$tmp/ready; while :; do sleep 0.05; done" \
	2>"$tmp/err" &
pid=$!
for _ in $(seq 200); do [ -e "$tmp/ready" ] && break; sleep 0.05; done
kill -TERM $pid
wait $pid
rc_is $n 5 $? && ok $n

# --- opt-outs: what --net unix and --share-ns grant, and what stays denied -----------
# a pathname UNIX socket served on the host
/usr/bin/python3 -c "
import socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(4)
while True:
    c, _ = s.accept(); c.sendall(b'hello-unix'); c.close()
" "$tmp/host.sock" &
unix_srv=$!
for _ in $(seq 50); do [ -S "$tmp/host.sock" ] && break; sleep 0.1; done
PROBE='import errno, socket, sys
def try_(name, fam, typ, connect=None):
    try:
        s = socket.socket(fam, typ)
        if connect:
            s.connect(connect)
            print(name, "ok", s.recv(32).decode())
        else:
            print(name, "ok")
    except OSError as e:
        print(name, errno.errorcode.get(e.errno, e.errno))
try_("unix", socket.AF_UNIX, socket.SOCK_STREAM, sys.argv[1])
try_("udp", socket.AF_INET, socket.SOCK_DGRAM)
try_("vsock", socket.AF_VSOCK, socket.SOCK_STREAM)
try_("packet", socket.AF_PACKET, socket.SOCK_RAW)'
n=net_unix_grants_unix_only
$CAPGATE run --net unix --profile "$tmp/allow.json" -- /usr/bin/python3 -c "$PROBE" "$tmp/host.sock" >"$tmp/out" 2>"$tmp/err"
rc_is $n 0 $? && has $n "$tmp/out" "unix ok hello-unix" && has $n "$tmp/out" "vsock EACCES" &&
	has $n "$tmp/out" "packet EACCES" && has $n "$tmp/out" "udp ok" && ok $n
n=net_unix_with_tcp_keeps_udp_denied
$CAPGATE run --net unix --net tcp-connect=1 --profile "$tmp/allow.json" -- /usr/bin/python3 -c "$PROBE" "$tmp/host.sock" >"$tmp/out" 2>"$tmp/err"
rc_is $n 0 $? && has $n "$tmp/out" "unix ok hello-unix" && has $n "$tmp/out" "udp EACCES" && ok $n
n=net_default_denies_unix
$CAPGATE run --profile "$tmp/allow.json" -- /usr/bin/python3 -c "$PROBE" "$tmp/host.sock" >"$tmp/out" 2>"$tmp/err"
rc_is $n 0 $? && has $n "$tmp/out" "unix EACCES" && has $n "$tmp/out" "vsock EACCES" && ok $n
kill $unix_srv 2>/dev/null
wait $unix_srv 2>/dev/null
# each --share-ns value keeps exactly that namespace; the others, the network
# namespace and the capability set stay the sandbox's
NSPROBE='for x in pid ipc uts cgroup net; do echo "$x $(readlink /proc/self/ns/$x)"; done; grep CapBnd /proc/self/status'
for ns in pid ipc uts cgroup all; do
	n=share_ns_keeps_only_$ns
	$CAPGATE run --share-ns $ns --profile "$tmp/allow.json" -- sh -c "$NSPROBE" >"$tmp/out" 2>"$tmp/err"
	rc_is $n 0 $? || continue
	bad=""
	for x in pid ipc uts cgroup net; do
		same=no
		[ "$(awk -v x=$x '$1 == x { print $2 }' "$tmp/out")" = "$(readlink /proc/self/ns/$x)" ] && same=yes
		want=no
		{ [ $ns = $x ] || { [ $ns = all ] && [ $x != net ]; }; } && want=yes
		[ $same = $want ] || bad="$bad $x(shared=$same)"
	done
	grep -q "CapBnd:	$(grep CapBnd /proc/self/status | cut -f2)" "$tmp/out" && [ "$(id -u)" = 0 ] && bad="$bad capabilities-not-dropped"
	[ -z "$bad" ] && ok $n || fail $n "namespaces:$bad: $(tr '\n' ' ' <"$tmp/out")"
done

# --- --explain names the socket rules' denials too (they are folded into the one
# filter that has the listener), and the program still gets their EACCES -----------
SOCKP='import errno, socket
for f, t in ((socket.AF_INET, socket.SOCK_DGRAM), (socket.AF_VSOCK, socket.SOCK_STREAM), (socket.AF_INET, socket.SOCK_STREAM)):
    try:
        socket.socket(f, t).close(); print("created", f, t)
    except OSError as e:
        print("error", errno.errorcode[e.errno])'
n=explain_socket_rules
$CAPGATE run --explain --net tcp-connect=1 --profile "$tmp/allow.json" -- /usr/bin/python3 -c "$SOCKP" >"$tmp/out" 2>"$tmp/err"
rc_is $n 0 $? && has $n "$tmp/err" "denied socket(AF_INET=2, SOCK_DGRAM" && has $n "$tmp/err" "socket rules (--net) errno(EACCES)" &&
	has $n "$tmp/err" "denied socket(AF_VSOCK=40" && has $n "$tmp/out" "created 2 1" &&
	{ [ "$(grep -c '^error EACCES' "$tmp/out")" = 2 ] && ok $n || fail $n "the program did not get EACCES twice: $(cat "$tmp/out")"; }
n=explain_socket_rules_audit
$CAPGATE run --explain --audit --profile "$tmp/allow.json" -- /usr/bin/python3 -c "$SOCKP" >"$tmp/out" 2>"$tmp/err"
rc_is $n 0 $? && has $n "$tmp/err" "would deny socket(AF_VSOCK=40" && has $n "$tmp/out" "created 40 1" && ok $n
n=explain_closure_denial_beside_socket_rules
$CAPGATE run --explain --profile "$tmp/allow.json" -- /usr/bin/python3 -c 'import ctypes; ctypes.CDLL(None).ptrace(0, 0, 0, 0)' >"$tmp/out" 2>"$tmp/err"
rc_is $n 0 $? && has $n "$tmp/err" "denied ptrace(0, 0, 0, 0)" && has $n "$tmp/err" ": rule errno(EPERM)" && ok $n

# --- the forwarder serves the whole sandbox: without a PID namespace, a process the
# program left behind still gets out after the program (and capgate) ended ---------
fwd_port=$(/usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
/usr/bin/python3 -c "
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(8)
while True:
    c, _ = s.accept(); c.sendall(b'hello-tcp'); c.close()
" "$fwd_port" &
fwd_srv=$!
LATE="import socket, sys, time
time.sleep(1.5)
try:
    s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=5)
    open(sys.argv[2], 'w').write(s.recv(32).decode())
except OSError as e:
    open(sys.argv[2], 'w').write('error %s' % e)"
n=forwarder_outlives_child
rm -f "$tmp/late"
$CAPGATE run --share-ns pid --net tcp-connect=$fwd_port --profile "$tmp/allow.json" -- \
	sh -c '/usr/bin/python3 -c "$0" "$1" "$2" </dev/null >/dev/null 2>&1 & exit 0' "$LATE" "$fwd_port" "$tmp/late" 2>"$tmp/err"
if rc_is $n 0 $?; then
	for _ in $(seq 60); do [ -s "$tmp/late" ] && break; sleep 0.1; done
	[ "$(cat "$tmp/late" 2>/dev/null)" = hello-tcp ] && ok $n || fail $n "the late connection: $(cat "$tmp/late" 2>/dev/null)"
fi
n=forwarder_ends_with_sandbox
# and it ends once nothing of the sandbox is left (no forwarder left listening)
for _ in $(seq 30); do pgrep -f "capgate run --share-ns pid --net tcp-connect=$fwd_port" >/dev/null || break; sleep 0.1; done
if pgrep -f "capgate run --share-ns pid --net tcp-connect=$fwd_port" >/dev/null; then
	fail $n "a forwarder is still running: $(pgrep -af "tcp-connect=$fwd_port")"
else
	ok $n
fi
kill $fwd_srv 2>/dev/null
wait $fwd_srv 2>/dev/null
# name lookups under tcp-*: not offered, and said so (dry run; a failed run's note)
n=tcp_ports_no_dns
$CAPGATE run --dry-run --net tcp-connect=443 --profile "$tmp/allow.json" -- true >"$tmp/out" 2>"$tmp/err"
rc_is $n 0 $? && has $n "$tmp/out" "name lookups: not offered" || true
$CAPGATE run --net tcp-connect=443 --profile "$tmp/allow.json" -- /usr/bin/python3 -c \
	'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM)' >"$tmp/out" 2>"$tmp/err"
rc_is $n 1 $? && has $n "$tmp/err" "name lookups (DNS) are not offered: give addresses" && ok $n

# --- --tty: a pty of the program's own, relayed ------------------------------------
n=tty_relay
printf 'abc\n' | $CAPGATE run --tty --profile "$tmp/allow.json" -- \
	sh -c 'test -t 0 && test -t 1 && test -t 2 && read x && echo "got=$x"' >"$tmp/out" 2>"$tmp/err"
rc_is $n 0 $? && has $n "$tmp/out" "got=abc" && ok $n
n=tty_exit_status
$CAPGATE run --tty --profile "$tmp/allow.json" -- sh -c 'echo last words; exit 7' </dev/null >"$tmp/out" 2>"$tmp/err"
rc_is $n 7 $? && has $n "$tmp/out" "last words" && ok $n
n=tty_dry_run
$CAPGATE run --dry-run --tty --profile "$tmp/allow.json" -- true >"$tmp/out" 2>"$tmp/err"
rc_is $n 0 $? && has $n "$tmp/out" "a new pty as controlling terminal" && ok $n

# --- the filesystem view (mount namespace, read-only tree, /proc, /dev) -------
if [ "$(id -u)" -ne 0 ]; then
	echo "skip fs_view: needs root to mount (the user namespace of the process isolation lifts this)"
else
	mkdir -p "$tmp/view/rw" "$tmp/view/out" "$tmp/view/tmp"
	echo keep >"$tmp/view/out/f"
	chmod 0644 "$tmp/view/out/f"
	V=(--fs-system --fs-rw "$tmp/view/rw" --tmpfs "$tmp/view/tmp" --profile "$tmp/allow.json")
	n=fs_view_dry_run
	$CAPGATE run --dry-run "${V[@]}" -- true >"$tmp/out" 2>"$tmp/err"
	rc_is $n 0 $? && has $n "$tmp/out" "/ (everything else): ro,nosuid,nodev" &&
		has $n "$tmp/out" "$tmp/view/rw: rw,nosuid,nodev,noexec" &&
		has $n "$tmp/out" "$tmp/view/tmp: new tmpfs, rw,nosuid,nodev,noexec" &&
		has $n "$tmp/out" "/dev: new tmpfs, ro,nosuid,nodev,noexec" && has $n "$tmp/out" "  /proc: " && ok $n
	n=fs_view_metadata_outside
	$CAPGATE run "${V[@]}" -- sh -c "chmod 4755 '$tmp/view/out/f' || chown 1:1 '$tmp/view/out/f' || touch -d 2001-01-01 '$tmp/view/out/f' || exit 0; exit 9" \
		>"$tmp/out" 2>"$tmp/err"
	rc_is $n 0 $? && has $n "$tmp/err" "Read-only file system" &&
		{ [ "$(stat -c '%a %u' "$tmp/view/out/f")" = "644 0" ] && ok $n || fail $n "the file changed: $(stat -c '%a %u' "$tmp/view/out/f")"; }
	n=fs_view_rw_noexec
	$CAPGATE run "${V[@]}" -- sh -c "cp /bin/true '$tmp/view/rw/t' && ! '$tmp/view/rw/t' && ! /lib64/ld-linux-x86-64.so.2 '$tmp/view/rw/t'" \
		>"$tmp/out" 2>"$tmp/err"
	rc_is $n 0 $? && [ -e "$tmp/view/rw/t" ] && ok $n
	n=fs_view_tmpfs_gone
	$CAPGATE run "${V[@]}" -- sh -c "echo x >'$tmp/view/tmp/x' && [ -s '$tmp/view/tmp/x' ]" 2>"$tmp/err"
	rc_is $n 0 $? && { [ ! -e "$tmp/view/tmp/x" ] && ok $n || fail $n "the tmpfs file is on the host"; }
	n=fs_view_no_leak
	before=$(grep -c "$tmp" /proc/self/mountinfo)
	$CAPGATE run "${V[@]}" -- true 2>"$tmp/err"
	rc_is $n 0 $? && { [ "$(grep -c "$tmp" /proc/self/mountinfo)" = "$before" ] && ok $n || fail $n "a mount reached the host"; }
	n=fs_view_strict_memfd
	$CAPGATE run --strict "${V[@]}" -- true 2>"$tmp/err"
	rc=$?
	if grep -q "memfd exec not blocked: no PID namespace" "$tmp/err"; then
		rc_is $n 125 $rc && ok $n
	else
		rc_is $n 0 $rc && ok $n
	fi
	# where vm.memfd_noexec cannot be set (no PID namespace of its own; an
	# ordinary user), a seccomp rule requires MFD_NOEXEC_SEAL instead
	MFD="import os
fd = os.memfd_create('s', 9)  # MFD_CLOEXEC | MFD_NOEXEC_SEAL
print('sealed', oct(os.fstat(fd).st_mode & 0o777))
try:
    os.memfd_create('p', 1)
    print('plain created')
except OSError as e:
    print('plain', e.errno)"
	for how in share_pid net_host; do
		n=memfd_seccomp_$how
		X=(--share-ns pid)
		[ $how = net_host ] && X=(--share-ns pid --net host)
		$CAPGATE run --dry-run "${X[@]}" "${V[@]}" -- true >"$tmp/out" 2>"$tmp/err"
		rc_is $n 0 $? && has $n "$tmp/out" "memfd exec: denied (seccomp: memfd_create must ask for MFD_NOEXEC_SEAL" &&
			has $n "$tmp/out" "missing protections: none" || continue
		$CAPGATE run "${X[@]}" "${V[@]}" -- /usr/bin/python3 -c "$MFD" >"$tmp/out" 2>"$tmp/err"
		rc_is $n 0 $? && has $n "$tmp/out" "sealed 0o666" && has $n "$tmp/out" "plain 13" && ok $n
	done
	n=memfd_seccomp_allow_memfd_exec
	$CAPGATE run --share-ns pid --allow-memfd-exec "${V[@]}" -- /usr/bin/python3 -c "$MFD" >"$tmp/out" 2>"$tmp/err"
	rc_is $n 0 $? && has $n "$tmp/out" "plain created" && ok $n
	n=fs_view_bad_tmpfs
	$CAPGATE run --tmpfs "$tmp/view/out/f" --profile "$tmp/allow.json" -- true 2>"$tmp/err"
	rc_is $n 2 $? && has $n "$tmp/err" "--tmpfs $tmp/view/out/f: not a directory" && ok $n
	n=fs_view_no_mount_ns
	$CAPGATE run --dry-run --no-mount-ns --fs-system --profile "$tmp/allow.json" -- true >"$tmp/out" 2>"$tmp/err"
	rc_is $n 0 $? && has $n "$tmp/out" "mounts: the caller's mount namespace (--no-mount-ns)" && ok $n
	# nginx serves from its prefix (logs, temp files, pid) with the rest read-only
	n=fs_view_nginx
	. "$(dirname "$0")/../helpers/workloads.sh"
	if ! command -v nginx >/dev/null || ! command -v curl >/dev/null; then
		fail $n "nginx or curl not installed (scripts/dev.sh installs them)"
	else
		chmod 755 "$tmp" # the workers run as www-data
		NG=$tmp/nginx PORT=$(free_port)
		nginx_prepare "$NG" "$PORT"
		$CAPGATE run --fs-system --fs-rw "$NG" --net tcp-bind=$PORT --profile "$tmp/allow.json" -- \
			nginx -p "$NG" -c "$NG/nginx.conf" -g 'daemon off;' >"$tmp/ng.out" 2>"$tmp/ng.err" &
		ngp=$!
		got=""
		for _ in $(seq 50); do got=$(curl -s "http://127.0.0.1:$PORT/" 2>/dev/null) && [ -n "$got" ] && break; sleep 0.1; done
		kill -TERM $ngp 2>/dev/null
		wait $ngp
		[ "$got" = hello ] && ok $n || fail $n "got '$got': $(head -c 400 "$tmp/ng.err") $(tail -3 "$NG/logs/error.log" 2>/dev/null)"
	fi
fi
