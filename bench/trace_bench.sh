#!/usr/bin/env bash
# What recording costs: redis-benchmark GET throughput and a syscall-heavy
# loop, bare vs under `capgate trace` (eBPF) vs under `strace -f`, side by
# side in one run, several rounds interleaved, medians. Prints ratios (not a
# test). Then the closure sizes per phase of nginx and redis.
#   bash bench/trace_bench.sh [ROUNDS]      (root; after `make`)
set -u
cd "$(dirname "$0")/.."
CAPGATE=${CAPGATE:-./build/capgate}
ROUNDS=${1:-5}
N=${N:-100000}
T=$(mktemp -d /tmp/capgate-bench.XXXXXX)
chmod 755 "$T"
trap 'rm -rf "$T"' EXIT

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
wrap() { # MODE CMD... : run CMD bare, under capgate trace, or under strace
	local mode=$1; shift
	case $mode in
	bare) "$@" ;;
	trace) "$CAPGATE" trace -q -o "$T/trace.json" -- "$@" ;;
	strace) strace -f -qq -o /dev/null "$@" ;;
	esac
}

redis_rps() { # MODE -> GET requests per second
	local port rps pid
	port=$(free_port)
	wrap "$1" redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$T" >/dev/null 2>&1 &
	pid=$!
	for _ in $(seq 200); do redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && break; sleep 0.05; done
	rps=$(timeout 300 redis-benchmark -p "$port" -t get -n "$N" -c 50 -q --csv 2>/dev/null |
		awk -F, '/GET/ {gsub(/"/, "", $2); print $2}')
	redis-cli -p "$port" shutdown nosave >/dev/null 2>&1
	wait $pid 2>/dev/null
	echo "${rps:-0}"
}

loop_secs() { # MODE -> seconds for 2M read+write pairs
	local s e
	s=$(date +%s.%N)
	wrap "$1" dd if=/dev/zero of=/dev/null bs=1 count=2000000 status=none
	e=$(date +%s.%N)
	echo "$e - $s" | bc -l
}

echo "capgate trace overhead: $ROUNDS rounds, redis-benchmark -t get -n $N -c 50, dd bs=1 count=2M"
for r in $(seq "$ROUNDS"); do
	for m in bare trace strace; do
		redis_rps $m >>"$T/redis.$m"
		loop_secs $m >>"$T/loop.$m"
	done
	echo "  round $r: redis GET rps bare $(tail -1 "$T/redis.bare") trace $(tail -1 "$T/redis.trace")" \
		"strace $(tail -1 "$T/redis.strace"); loop s bare $(tail -1 "$T/loop.bare")" \
		"trace $(tail -1 "$T/loop.trace") strace $(tail -1 "$T/loop.strace")"
done
for m in bare trace strace; do
	eval "R_$m=$(median <"$T/redis.$m")"
	eval "L_$m=$(median <"$T/loop.$m")"
done
printf '\nredis GET (median rps): bare %.0f, capgate trace %.0f (%.3f of bare, cost %.1f%%), strace -f %.0f (%.3f of bare)\n' \
	"$R_bare" "$R_trace" "$(echo "$R_trace / $R_bare" | bc -l)" "$(echo "(1 - $R_trace / $R_bare) * 100" | bc -l)" \
	"$R_strace" "$(echo "$R_strace / $R_bare" | bc -l)"
printf 'syscall loop (median s): bare %.3f, capgate trace %.3f (%.2fx), strace -f %.3f (%.2fx)\n' \
	"$L_bare" "$L_trace" "$(echo "$L_trace / $L_bare" | bc -l)" "$L_strace" "$(echo "$L_strace / $L_bare" | bc -l)"
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
mkdir -p "$NG/html" "$NG/logs" && echo hello >"$NG/html/index.html" && chmod -R a+rX "$NG"
port=$(free_port)
cat >"$NG/nginx.conf" <<EOF
worker_processes 2;
error_log $NG/logs/error.log;
pid $NG/nginx.pid;
events { worker_connections 64; }
http {
  access_log $NG/logs/access.log;
  client_body_temp_path $NG/tb; proxy_temp_path $NG/tp; fastcgi_temp_path $NG/tf;
  uwsgi_temp_path $NG/tu; scgi_temp_path $NG/ts;
  server { listen 127.0.0.1:$port; location / { root $NG/html; } }
}
EOF
"$CAPGATE" trace --serve-after-syscall accept4 -o "$T/nginx.json" -- \
	nginx -p "$NG" -c "$NG/nginx.conf" -g 'daemon off;' 2>"$T/nginx.err" &
pid=$!
for _ in $(seq 200); do curl -sf -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.05; done
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/"; done
nginx -p "$NG" -c "$NG/nginx.conf" -s quit 2>/dev/null
wait $pid
echo "nginx: $(grep -o '[0-9]* in the closure.*' "$T/nginx.err")"
