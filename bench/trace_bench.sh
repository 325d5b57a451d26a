#!/usr/bin/env bash
# What recording costs: redis-benchmark GET throughput and a syscall-heavy
# loop, bare vs under `capgate trace` (eBPF) vs under `strace -f`, side by
# side in one run, rounds interleaved (bare, trace, strace, bare, ...).
# The server (and its tracer) is pinned to CPU 1 and redis-benchmark to
# CPU 0, so client and server do not fight over one core. Prints, per mode,
# the median throughput and the median of the per-round ratios to the bare
# run of the same round (paired: slow drift of the machine cancels out).
# Not a test. Then the closure sizes per phase of nginx and redis.
#   bash bench/trace_bench.sh [ROUNDS]      (root; after `make`)
set -u
cd "$(dirname "$0")/.."
CAPGATE=${CAPGATE:-./build/capgate}
ROUNDS=${1:-9}
N=${N:-100000}
T=$(mktemp -d /tmp/capgate-bench.XXXXXX)
chmod 755 "$T"
trap 'rm -rf "$T"' EXIT
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
[ "$(nproc)" -ge 2 ] || { SERVER_CPU=0; CLIENT_CPU=0; echo "(one CPU: client and server share it)"; }

. tests/helpers/workloads.sh # free_port, nginx_prepare
median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
wrap() { # MODE CMD... : run CMD bare, under capgate trace, or under strace, on the server CPU
	local mode=$1; shift
	case $mode in
	bare) taskset -c "$SERVER_CPU" "$@" ;;
	trace) taskset -c "$SERVER_CPU" "$CAPGATE" trace -q -o "$T/trace.json" -- "$@" ;;
	strace) taskset -c "$SERVER_CPU" strace -f -qq -o /dev/null "$@" ;;
	esac
}

redis_rps() { # MODE -> GET requests per second
	local port rps pid
	port=$(free_port)
	wrap "$1" redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$T" >/dev/null 2>&1 &
	pid=$!
	for _ in $(seq 200); do redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && break; sleep 0.05; done
	rps=$(timeout 300 taskset -c "$CLIENT_CPU" redis-benchmark -p "$port" -t get -n "$N" -c 50 -q --csv 2>/dev/null |
		awk -F, '/GET/ {gsub(/"/, "", $2); print $2}')
	redis-cli -p "$port" shutdown nosave >/dev/null 2>&1
	wait $pid 2>/dev/null
	echo "${rps:-0}"
}

loop_ns() { # MODE -> nanoseconds per system call of a read+write loop (500k pairs)
	local s e
	s=$(date +%s%N)
	wrap "$1" dd if=/dev/zero of=/dev/null bs=1 count=500000 status=none
	e=$(date +%s%N)
	echo "($e - $s) / 1000000" | bc -l
}

echo "capgate trace overhead: $ROUNDS rounds, redis-benchmark -t get -n $N -c 50 (server on CPU $SERVER_CPU," \
	"client on CPU $CLIENT_CPU), dd bs=1 count=500k"
for r in $(seq "$ROUNDS"); do
	for m in bare trace strace; do
		redis_rps $m >"$T/redis.$m.now"
		loop_ns $m >"$T/loop.$m.now"
	done
	for m in bare trace strace; do
		cat "$T/redis.$m.now" >>"$T/redis.$m"
		cat "$T/loop.$m.now" >>"$T/loop.$m"
		echo "$(cat "$T/redis.$m.now") / $(cat "$T/redis.bare.now")" | bc -l >>"$T/rratio.$m"
		echo "$(cat "$T/loop.$m.now") / $(cat "$T/loop.bare.now")" | bc -l >>"$T/lratio.$m"
	done
	printf '  round %d: redis GET rps bare %.0f trace %.0f strace %.0f; loop ns/call bare %.0f trace %.0f strace %.0f\n' "$r" \
		"$(cat "$T/redis.bare.now")" "$(cat "$T/redis.trace.now")" "$(cat "$T/redis.strace.now")" \
		"$(cat "$T/loop.bare.now")" "$(cat "$T/loop.trace.now")" "$(cat "$T/loop.strace.now")"
done
for m in bare trace strace; do
	eval "R_$m=$(median <"$T/redis.$m")"
	eval "L_$m=$(median <"$T/loop.$m")"
	eval "RR_$m=$(median <"$T/rratio.$m")"
	eval "LR_$m=$(median <"$T/lratio.$m")"
done
printf '\nredis GET, median rps: bare %.0f, capgate trace %.0f, strace -f %.0f\n' "$R_bare" "$R_trace" "$R_strace"
printf 'redis GET, median of per-round ratios to bare: capgate trace %.3f (cost %.1f%%), strace -f %.3f (cost %.1f%%)\n' \
	"$RR_trace" "$(echo "(1 - $RR_trace) * 100" | bc -l)" "$RR_strace" "$(echo "(1 - $RR_strace) * 100" | bc -l)"
printf 'syscall loop, median ns per call: bare %.0f, capgate trace %.0f (%.2fx), strace -f %.0f (%.2fx)\n' \
	"$L_bare" "$L_trace" "$LR_trace" "$L_strace" "$LR_strace"
echo "target: capgate trace costs <= 3% of redis throughput"

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
