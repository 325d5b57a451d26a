#!/usr/bin/env bash
# capgate run --learn / --explain / --coverage, end to end, on real
# workloads whose rare paths a short recording misses: sort spilling to
# disk, python3 + sqlite3 with a file database in WAL mode, redis BGSAVE and
# BGREWRITEAOF, nginx on a fresh prefix. Each is recorded (capgate trace)
# with a short exercise; the long exercise under that closure must be
# denied something (the recording is too small -- the test is not vacuous);
# the long exercise is then learned (run --learn, multi-process: shells,
# forks, threads, exec'd children), merged, and replayed with no denial and
# the right result. Also: the silent breakage (a pipeline that prints a
# wrong result and exits 0 under a too-small closure) named by learn's
# output, bounded explain output for a busy loop, the closest rule, JSON
# lines, and coverage. Services bind 127.0.0.1 on a free port; every wait
# has a timeout. Speaks ok/FAIL/skip lines.
set -u
cd "$(dirname "$0")/../.."
CAPGATE=${CAPGATE:-./build/capgate}
T=$(mktemp -d /tmp/capgate-learn.XXXXXX)
chmod 755 "$T"
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT

ok() { echo "ok $1"; }
fail() { printf "FAIL %s: %s\n" "$1" "$(printf %s "$2" | tr "\n" "|" | head -c 2000)"; } # one line: the CI shows a part
skip() { echo "skip $1: $2"; }
. "$(dirname "$0")/../helpers/workloads.sh" # free_port, nginx_prepare
PY=/usr/bin/python3
wait_for() {
	local n=$(($1 * 10))
	shift
	for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
	return 1
}

if [ "$(id -u)" != 0 ]; then
	skip learn "the trace recorder and --coverage need root (eBPF)"
	exit 0
fi
if ! "$CAPGATE" trace -q -o "$T/true.json" -- /bin/true 2>"$T/true.err"; then
	fail learn-trace "capgate trace cannot record: $(head -2 "$T/true.err")"
	exit 0
fi

# ---- options: fail closed, no partial output --------------------------------
n=learn-needs-output
"$CAPGATE" run --learn --profile "$T/true.json" -- /bin/true 2>"$T/err"
[ $? -eq 2 ] && grep -q "needs -o" "$T/err" && ok $n || fail $n "$(cat "$T/err")"
n=learn-output-unwritable
"$CAPGATE" run --learn -o "$T/nodir/x.json" --profile "$T/true.json" -- /bin/ls / >/dev/null 2>"$T/err"
rc=$?
[ $rc -ne 0 ] && [ ! -e "$T/nodir/x.json" ] && ok $n || fail $n "rc=$rc"
n=explain-format-bad
"$CAPGATE" run --explain-format yaml --profile "$T/true.json" -- /bin/true 2>"$T/err"
[ $? -eq 2 ] && grep -q "text or json" "$T/err" && ok $n || fail $n "$(cat "$T/err")"

# ---- explanations: decoded, grouped, closest rule, JSON ---------------------
"$CAPGATE" trace -q -o "$T/py.json" -- $PY -c 'pass' 2>/dev/null
RMDIR='import os
try: os.rmdir("/nonexistent-capgate")
except OSError: pass'
n=explain-decoded
"$CAPGATE" run --explain --profile "$T/py.json" -- $PY -c "$RMDIR" >/dev/null 2>"$T/err"
grep -q 'denied rmdir("/nonexistent-capgate") \[x86_64 nr 84\]: default action errno(EPERM) -- no rule allows rmdir' "$T/err" &&
	ok $n || fail $n "$(grep -m3 rmdir "$T/err")"

# a busy loop outside the closure: a few lines and a count, not 20000 lines
n=explain-bounded
"$CAPGATE" run --explain --profile "$T/py.json" -- $PY -c '
import os
for _ in range(20000): os.getppid()' >/dev/null 2>"$T/err"
lines=$(wc -l <"$T/err")
grep -q '20000 x getppid' "$T/err" && [ "$lines" -lt 40 ] && ok $n || fail $n "$lines lines: $(tail -3 "$T/err")"

# allowed with other arguments: the closest rule and what it failed on
n=explain-closest-rule
"$CAPGATE" trace -q --args -o "$T/inet.json" -- $PY -c 'import socket; socket.socket(socket.AF_INET)' 2>/dev/null
"$CAPGATE" run --net unix --explain --profile "$T/inet.json" -- $PY -c '
import socket
try: socket.socket(socket.AF_UNIX)
except OSError: pass' >/dev/null 2>"$T/err"
grep 'socket(AF_UNIX=1' "$T/err" | grep -q 'allowed with other arguments: the closest rule allow socket when arg0 == 0x2.* fails on arg0 = 0x1' &&
	ok $n || fail $n "$(grep -m2 socket "$T/err")"

n=explain-json
"$CAPGATE" run --explain-format json --profile "$T/py.json" -- $PY -c "$RMDIR" >/dev/null 2>"$T/err"
$PY - "$T/err" <<'EOF' && ok $n || fail $n "$(head -c 400 "$T/err")"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
calls = {e["call"] for e in ev if e["event"] == "denied"}
summ = {e["call"]: e["count"] for e in ev if e["event"] == "summary"}
op = [e for e in ev if e["event"] == "denied" and e["call"] == "rmdir" and "/nonexistent-capgate" in e["text"]]
assert "rmdir" in calls and summ.get("rmdir") == 1 and op and len(op[0]["args"]) == 1, ev
assert op[0]["why"] == "no rule allows rmdir: the default action decides", op
EOF

# ---- coverage ---------------------------------------------------------------
n=coverage
"$CAPGATE" trace -q -o "$T/cat.json" -- /bin/cat /etc/hostname >/dev/null 2>&1
"$CAPGATE" run --coverage "$T/cov.json" --profile "$T/cat.json" -- /bin/true 2>"$T/err"
$PY - "$T/cov.json" <<'EOF' && grep -q "never called:.*write" "$T/err" && ok $n || fail $n "$(cat "$T/err"; head -c 300 "$T/cov.json")"
import json, sys
c = json.load(open(sys.argv[1]))
assert "write" in c["unused"] and "openat" not in c["unused"], c
assert c["used"]["execve"] == 1 and c["usedCount"] < c["total"], c
EOF

# without the eBPF recorder coverage cannot be sound: no run, no file
n=coverage-fails-closed
if command -v setpriv >/dev/null; then
	chmod 644 "$T/cat.json"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$CAPGATE" run --coverage "$T/nobody.json" \
		--profile "$T/cat.json" -- /bin/true 2>"$T/err"
	rc=$?
	[ $rc -eq 125 ] && [ ! -e "$T/nobody.json" ] && grep -q "coverage: cannot load the eBPF recorder" "$T/err" &&
		ok $n || fail $n "rc=$rc $(cat "$T/err")"
else
	skip $n "setpriv not installed"
fi

# ---- the exercise suites ----------------------------------------------------
# suite NAME CHECK SHORT LONG: SHORT and LONG are shell functions that run
# their exercise after the capgate command prefix given as arguments and
# test the result (LONG's CHECK is its exit status).
suite() {
	local name=$1 short=$2 long=$3
	if ! $short "$CAPGATE" trace -q -o "$T/$name.json" -- >"$T/$name.trace.out" 2>&1; then
		fail "$name-short" "the short exercise fails under trace: $(tail -3 "$T/$name.trace.out")"
		return
	fi
	$long "$CAPGATE" run --explain --profile "$T/$name.json" -- >"$T/$name.small.out" 2>&1
	grep -q "denied" "$T/$name.small.out" && ok "$name-short-closure-too-small" ||
		fail "$name-short-closure-too-small" "the long exercise ran under the short closure without a denial"
	if $long "$CAPGATE" run --learn -o "$T/$name.extra.json" --profile "$T/$name.json" -- >"$T/$name.learn.out" 2>&1 &&
		grep -q "learned [1-9]" "$T/$name.learn.out"; then
		ok "$name-learn"
	else
		fail "$name-learn" "$(tail -4 "$T/$name.learn.out")"
	fi
	"$CAPGATE" merge -q "$T/$name.json" "$T/$name.extra.json" -o "$T/$name.merged.json"
	# zero denials of the closure (the --net socket rules deny what no closure can grant: e.g. nginx's AF_UNIX probe)
	if $long "$CAPGATE" run --explain --profile "$T/$name.merged.json" -- >"$T/$name.replay.out" 2>&1 &&
		! grep denied "$T/$name.replay.out" | grep -vq 'socket rules (--net)'; then
		ok "$name-replay-no-denial"
	else
		fail "$name-replay-no-denial" "$(grep -m4 'denied\|FAIL' "$T/$name.replay.out")"
	fi
}

# sort spilling to disk: 200000 lines in 1 KiB of buffer
mkdir -p "$T/sorttmp"
sort_short() { "$@" sh -c "seq 10 | sort -S 1k -T $T/sorttmp -n | tail -1" | grep -qx 10; }
sort_long() { "$@" sh -c "seq 200000 | sort -S 1k -T $T/sorttmp -rn | tail -1" | grep -qx 1; }
suite sort sort_short sort_long

# python3 + sqlite3: in memory, then a file database in WAL mode
sqlite_short() { "$@" $PY -c "
import sqlite3; c = sqlite3.connect(':memory:'); c.execute('create table t(x)')
c.execute('insert into t values (1)'); print(c.execute('select count(*) from t').fetchone()[0])" | grep -qx 1; }
sqlite_long() {
	rm -rf "$T/db" && mkdir "$T/db" && "$@" $PY -c "
import sqlite3; c = sqlite3.connect('$T/db/x.sqlite')
print(c.execute('pragma journal_mode=wal').fetchone()[0]); c.execute('create table t(x)')
c.executemany('insert into t values (?)', [(i,) for i in range(100)]); c.commit()
print(c.execute('select count(*) from t').fetchone()[0]); c.close()" | tr '\n' ' ' | grep -qx 'wal 100 '
}
suite sqlite sqlite_short sqlite_long

# redis: GET/SET, then BGSAVE and BGREWRITEAOF (forked children writing files)
if command -v redis-server >/dev/null && command -v redis-cli >/dev/null; then
	RPORT=$(free_port)
	redis_run() { # redis_run EXERCISE CAPGATE-PREFIX...
		local ex=$1 rp rc net=()
		shift
		rm -rf "$T/redis" && mkdir -p "$T/redis"
		[ "$2" = run ] && net=(--net "tcp-bind=$RPORT")
		"${@:1:$(($# - 1))}" "${net[@]}" -- redis-server --port "$RPORT" --bind 127.0.0.1 --save '' \
			--appendonly no --dir "$T/redis" --daemonize no >"$T/redis.log" 2>&1 &
		rp=$!
		PIDS+=($rp)
		wait_for 20 sh -c "redis-cli -p $RPORT ping | grep -q PONG" && $ex
		rc=$?
		redis-cli -p "$RPORT" shutdown nosave >/dev/null 2>&1
		wait $rp
		cat "$T/redis.log"
		return $rc
	}
	redis_getset() { redis-cli -p "$RPORT" set k v >/dev/null && [ "$(redis-cli -p "$RPORT" get k)" = v ]; }
	redis_persist() {
		redis_getset || return 1
		redis-cli -p "$RPORT" bgsave >/dev/null
		wait_for 20 sh -c "redis-cli -p $RPORT info persistence | grep -q 'rdb_bgsave_in_progress:0'"
		redis-cli -p "$RPORT" info persistence | grep -q 'rdb_last_bgsave_status:ok' || return 1
		redis-cli -p "$RPORT" bgrewriteaof >/dev/null
		wait_for 20 sh -c "redis-cli -p $RPORT info persistence | grep -q 'aof_rewrite_in_progress:0'"
		redis-cli -p "$RPORT" info persistence | grep -q 'aof_last_bgrewrite_status:ok' && [ -s "$T/redis/dump.rdb" ]
	}
	redis_short() { redis_run redis_getset "$@"; }
	redis_long() { redis_run redis_persist "$@"; }
	suite redis redis_short redis_long
else
	fail redis "redis-server or redis-cli not installed (scripts/dev.sh installs them)"
fi

# nginx: recorded on a prefix that exists (its temp directories made by an
# earlier start), learned and replayed on fresh ones
if command -v nginx >/dev/null && command -v curl >/dev/null; then
	NPORT=$(free_port)
	nginx_run() { # nginx_run fresh|existing CAPGATE-PREFIX...
		local kind=$1 np rc net=() dir=$T/nginx.$RANDOM
		shift
		nginx_prepare "$dir" "$NPORT" || return 1
		if [ "$kind" = existing ]; then # a start and stop: its temp dirs are made
			nginx -p "$dir" -c "$dir/nginx.conf" 2>/dev/null &&
				wait_for 20 sh -c "curl -sf http://127.0.0.1:$NPORT/" &&
				nginx -p "$dir" -c "$dir/nginx.conf" -s quit && wait_for 20 test ! -e "$dir/nginx.pid" || return 1
		fi
		[ "$2" = run ] && net=(--net "tcp-bind=$NPORT")
		"${@:1:$(($# - 1))}" "${net[@]}" -- nginx -p "$dir" -c "$dir/nginx.conf" -g 'daemon off;' >"$T/nginx.log" 2>&1 &
		np=$!
		PIDS+=($np)
		wait_for 20 sh -c "curl -sf http://127.0.0.1:$NPORT/ | grep -q hello"
		rc=$?
		kill -TERM $np
		wait $np
		cat "$T/nginx.log" "$dir/logs/error.log" 2>/dev/null
		return $rc
	}
	nginx_short() { nginx_run existing "$@"; }
	nginx_long() { nginx_run fresh "$@"; }
	suite nginx nginx_short nginx_long
else
	fail nginx "nginx or curl not installed (scripts/dev.sh installs them)"
fi

# ---- the silent breakage ----------------------------------------------------
# Recorded on 10 lines, the pipeline prints 0 for 100000 lines and exits 0
# (sort cannot spill: its error goes to /dev/null, wc counts nothing); learn
# mode names what was missing and the learned closure gives the right count.
n=silent-breakage
mkdir -p "$T/st"
pipe() { echo "seq $1 | sort -S 1k -T $T/st | wc -l"; }
"$CAPGATE" trace -q -o "$T/pipe.json" -- sh -c "$(pipe 10)" >/dev/null 2>&1
out=$("$CAPGATE" run --profile "$T/pipe.json" -- sh -c "$(pipe 100000)" 2>/dev/null)
rc=$?
if [ "$out" = 0 ] && [ $rc -eq 0 ]; then
	"$CAPGATE" run --learn --merge-into "$T/pipe.learned.json" --profile "$T/pipe.json" -- sh -c "$(pipe 100000)" \
		>"$T/pipe.out" 2>"$T/pipe.err"
	out2=$("$CAPGATE" run --profile "$T/pipe.learned.json" -- sh -c "$(pipe 100000)" 2>/dev/null)
	grep -q "would deny" "$T/pipe.err" && grep -q "run with them: capgate run --profile $T/pipe.learned.json" "$T/pipe.err" &&
		[ "$(cat "$T/pipe.out")" = 100000 ] && [ "$out2" = 100000 ] && ok $n ||
		fail $n "learned run printed '$(cat "$T/pipe.out")', replay '$out2': $(tail -3 "$T/pipe.err")"
else
	fail $n "expected the too-small closure to print 0 and exit 0, got '$out' rc=$rc"
fi
