#!/usr/bin/env bash
# What recording costs, side by side in one run:
#   bare      nothing attached
#   floor     an empty eBPF program on tp_btf/sys_enter, the hook capgate's
#             recorder uses (build/bench/tp_floor): what any recorder on it pays
#   capgate   capgate trace (eBPF)
#   bpftrace  the naive recorder: bpftrace, a count() map keyed by call on
#             tracepoint:raw_syscalls:sys_enter filtered by pid (if installed)
#   strace    strace -f
# 1. redis GET throughput. One redis-server, pinned to CPU 1, serves every
#    round; redis-benchmark runs on CPU 0. In each round every mode gets one
#    segment of N GETs, the tracer attached to the running server (--pid,
#    -p) before the segment and detached after it, in an order that rotates
#    from round to round. One warm server and paired segments make the ratio
#    to the same round's bare segment far steadier than restarting servers.
# 2. A syscall-heavy loop: dd bs=1 (500k read+write pairs) run under each mode.
# Prints the median throughput and the median of per-round ratios to bare.
# Not a test. Then the closure sizes per phase of nginx and redis.
#   bash bench/trace_bench.sh [ROUNDS]      (root; after `make`)
# CAPGATE_BASE=PATH adds a mode "base": another capgate binary (an earlier
# commit, say) timed in the same rounds, to tell a change's cost apart from
# the machine's mood: compare the capgate and base rows of one run.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
CAPGATE=${CAPGATE:-./$BUILD/capgate}
FLOOR=./$BUILD/bench/tp_floor
ROUNDS=${1:-9}
N=${N:-50000}
T=$(mktemp -d /tmp/capgate-bench.XXXXXX)
chmod 755 "$T"
SRV=
cleanup() { [ -n "$SRV" ] && kill "$SRV" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
[ "$(nproc)" -ge 2 ] || { SERVER_CPU=0; CLIENT_CPU=0; echo "(one CPU: client and server share it)"; }
[ -x "$FLOOR" ] || make -s "$FLOOR" || exit 1

MODES="bare floor capgate"
BASE=${CAPGATE_BASE:-}
[ -n "$BASE" ] && { [ -x "$BASE" ] || { echo "trace_bench: CAPGATE_BASE=$BASE is not executable" >&2; exit 2; }; MODES="$MODES base"; }
command -v bpftrace >/dev/null && MODES="$MODES bpftrace"
MODES="$MODES strace"

. tests/helpers/workloads.sh # free_port, nginx_prepare
median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
rotate() { # K WORD... -> the words rotated left by K
	local k=$1; shift
	local a=("$@") n=$#
	for ((i = 0; i < n; i++)); do printf '%s ' "${a[(i + k) % n]}"; done
}
wait_prog() { # NAME: until an eBPF program of that name is loaded (the tracer is attached)
	for _ in $(seq 200); do bpftool prog show name "$1" >/dev/null 2>&1 && return 0; sleep 0.05; done
	echo "bench: $1 was never attached" >&2
	return 1
}

# ---- redis: tracers attached to one running server --------------------------
TRACER=
attach() { # MODE: start its tracer on $SRV, pinned with it
	TRACER=
	case $1 in
	floor) taskset -c "$SERVER_CPU" "$FLOOR" & TRACER=$!; wait_prog floor_enter ;;
	capgate | base) taskset -c "$SERVER_CPU" "$([ "$1" = base ] && echo "$BASE" || echo "$CAPGATE")" \
		trace -q --pid "$SRV" -o "$T/attach.json" &
		TRACER=$!; wait_prog cg_sys_enter ;;
	bpftrace) taskset -c "$SERVER_CPU" bpftrace -e \
		"tracepoint:raw_syscalls:sys_enter /pid == $SRV/ { @[args->id] = count(); }" >/dev/null 2>&1 &
		TRACER=$!; wait_prog sys_enter ;;
	strace) taskset -c "$SERVER_CPU" strace -f -qq -o /dev/null -p "$SRV" & TRACER=$!; sleep 0.5 ;;
	esac
}
detach() {
	[ -n "$TRACER" ] || return 0
	kill -INT "$TRACER" 2>/dev/null
	wait "$TRACER" 2>/dev/null
	TRACER=
}
get_rps() {
	timeout 300 taskset -c "$CLIENT_CPU" redis-benchmark -p "$PORT" -t get -n "$N" -c 50 -q --csv 2>/dev/null |
		awk -F, '/GET/ {gsub(/"/, "", $2); print $2}'
}

PORT=$(free_port)
taskset -c "$SERVER_CPU" redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$T" \
	>/dev/null 2>&1 &
SRV=$!
for _ in $(seq 200); do redis-cli -p "$PORT" ping 2>/dev/null | grep -q PONG && break; sleep 0.05; done
get_rps >/dev/null # warm-up

echo "redis GET: $ROUNDS rounds x $N requests per mode, one server on CPU $SERVER_CPU, client on CPU $CLIENT_CPU"
for r in $(seq "$ROUNDS"); do
	line=""
	for m in $(rotate $((r - 1)) $MODES); do
		attach "$m" || exit 1
		get_rps >"$T/rps.$m.now"
		detach
	done
	for m in $MODES; do
		v=$(cat "$T/rps.$m.now")
		echo "${v:-0}" >>"$T/rps.$m"
		echo "${v:-0} / $(cat "$T/rps.bare.now")" | bc -l >>"$T/rratio.$m"
		line="$line $m $(printf '%.0f' "${v:-0}")"
	done
	echo "  round $r:$line"
done
redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1
wait "$SRV" 2>/dev/null
SRV=

# ---- a syscall-heavy loop ---------------------------------------------------------
wrap() { # MODE CMD...
	local mode=$1; shift
	case $mode in
	bare) taskset -c "$SERVER_CPU" "$@" ;;
	floor) taskset -c "$SERVER_CPU" "$FLOOR" "$@" ;;
	capgate) taskset -c "$SERVER_CPU" "$CAPGATE" trace -q -o "$T/trace.json" -- "$@" ;;
	base) taskset -c "$SERVER_CPU" "$BASE" trace -q -o "$T/trace.json" -- "$@" ;;
	bpftrace) taskset -c "$SERVER_CPU" bpftrace -e \
		'tracepoint:raw_syscalls:sys_enter /pid == cpid/ { @[args->id] = count(); }' \
		-c "$(command -v "$1") ${*:2}" >/dev/null 2>&1 ;;
	strace) taskset -c "$SERVER_CPU" strace -f -qq -o /dev/null "$@" ;;
	esac
}
loop_ns() { # MODE -> ns per call of dd bs=1 (500k read+write pairs), tracer start-up included
	local s e
	s=$(date +%s%N)
	wrap "$1" dd if=/dev/zero of=/dev/null bs=1 count=500000 status=none
	e=$(date +%s%N)
	echo "($e - $s) / 1000000" | bc -l
}
echo "syscall loop: dd bs=1 count=500000, $ROUNDS rounds"
for r in $(seq "$ROUNDS"); do
	for m in $(rotate $((r - 1)) $MODES); do loop_ns "$m" >"$T/loop.$m.now"; done
	for m in $MODES; do
		cat "$T/loop.$m.now" >>"$T/loop.$m"
		echo "$(cat "$T/loop.$m.now") / $(cat "$T/loop.bare.now")" | bc -l >>"$T/lratio.$m"
	done
done

echo
printf '%-9s %12s %14s %10s %14s %10s\n' mode "GET rps" "ratio to bare" cost "loop ns/call" "x bare"
for m in $MODES; do
	rr=$(median <"$T/rratio.$m")
	lr=$(median <"$T/lratio.$m")
	printf '%-9s %12.0f %14.3f %9.1f%% %14.0f %9.2fx\n' "$m" "$(median <"$T/rps.$m")" "$rr" \
		"$(echo "(1 - $rr) * 100" | bc -l)" "$(median <"$T/loop.$m")" "$lr"
done
echo "(ratio: median over rounds of the mode's rps / the same round's bare rps)"
echo "target: capgate trace costs <= 3% of redis throughput; the floor row is what the hook alone costs"

# ---- closure sizes per phase ------------------------------------------------
echo
port=$(free_port)
"$CAPGATE" trace --serve-when-listening "$port" -o "$T/redis.json" -- \
	redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$T" >/dev/null 2>"$T/redis.err" &
pid=$!
for _ in $(seq 200); do redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && break; sleep 0.05; done
redis-benchmark -p "$port" -n 1000 -q >/dev/null 2>&1
redis-cli -p "$port" shutdown nosave >/dev/null 2>&1
wait $pid
echo "redis: $(grep -o '[0-9]* in the closure.*' "$T/redis.err")"

NG=$T/nginx
port=$(free_port)
nginx_prepare "$NG" "$port"
"$CAPGATE" trace --serve-after-syscall accept4 -o "$T/nginx.json" -- \
	nginx -p "$NG" -c "$NG/nginx.conf" -g 'daemon off;' 2>"$T/nginx.err" &
pid=$!
for _ in $(seq 200); do curl -sf -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.05; done
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/"; done
nginx -p "$NG" -c "$NG/nginx.conf" -s quit 2>/dev/null
wait $pid
echo "nginx: $(grep -o '[0-9]* in the closure.*' "$T/nginx.err")"
