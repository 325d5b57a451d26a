#!/usr/bin/env bash
# What phase-aware enforcement costs on the serving path: nginx (wrk, with
# and without keep-alive) and redis (redis-benchmark) bare, under their
# whole-life closure (`run --no-phases`) and under their phase closure, side
# by side in one run, rounds alternating so that load from other work falls
# on every mode alike. Issue 12's target: the phase closure within 1% of the
# whole-life one, and no notification while serving. A benchmark, not a
# test: it prints numbers.
#
#   bash bench/phase_bench.sh [ROUNDS] [SECONDS]        (root, after make)
#
# Both closures are the same file, traced here with --serve-when-listening;
# both sandboxed modes run with --net host (everything else is capgate's
# default isolation): the filter is what is measured, and capgate's TCP
# forwarder (--net tcp-bind), which costs far more than any filter, would
# hide it. The two modes differ only in the filter.
# "notifications while serving" is what capgate counts after readiness,
# less what an idle start of the same server counts (nginx calls listen()
# again while starting: the trigger call is always notified).
set -u
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
SECS=${2:-5}
CAPGATE=${CAPGATE:-./build/capgate}
T=$(mktemp -d /tmp/capgate-phase-bench.XXXXXX)
chmod 755 "$T"
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done; rm -rf "$T"' EXIT
. tests/helpers/workloads.sh
[ -x "$CAPGATE" ] || { echo "phase_bench: $CAPGATE not built (make)" >&2; exit 2; }
for t in nginx wrk redis-server redis-benchmark redis-cli curl; do
	command -v $t >/dev/null || { echo "phase_bench: $t not installed (scripts/dev.sh)" >&2; exit 2; }
done
wait_for() { local n=$(($1 * 10)); shift; for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }

NP=$(free_port) RP=$(free_port)
nginx_prepare "$T/ng" "$NP"
NGINX=(nginx -p "$T/ng" -c "$T/ng/nginx.conf" -g 'daemon off;')
mkdir -p "$T/rd"
REDIS=(redis-server --port "$RP" --bind 127.0.0.1 --save '' --appendonly no --dir "$T/rd" --daemonize no)

# ---- the closures ------------------------------------------------------------
# nginx with start-up windows (docs/PHASES.md): its workers start after the
# master's listen(); the load comes after their windows
$CAPGATE trace -q --serve-when-listening "$NP" --worker-startup 2 -o "$T/nginx.json" -- "${NGINX[@]}" >/dev/null 2>&1 &
TP=$!; PIDS+=($TP)
wait_for 20 curl -sf -o /dev/null "http://127.0.0.1:$NP/"
sleep 3
wrk -t2 -c20 -d2s "http://127.0.0.1:$NP/" >/dev/null
wrk -t2 -c20 -d2s -H 'Connection: close' "http://127.0.0.1:$NP/" >/dev/null
kill -QUIT "$(cat "$T/ng/nginx.pid")"; wait $TP
$CAPGATE trace -q --serve-when-listening "$RP" -o "$T/redis.json" -- "${REDIS[@]}" >/dev/null 2>&1 &
TP=$!; PIDS+=($TP)
wait_for 20 sh -c "redis-cli -p $RP ping | grep -q PONG"
# the recording's exercise covers the measured load: a shorter one missed
# jemalloc's madvise(MADV_DONTNEED) purge, which the load then made while
# serving (denied, and counted below as a notification)
redis-benchmark -p "$RP" -n 100000 -c 20 -t set,get,incr,lpush -q >/dev/null
redis-cli -p "$RP" shutdown >/dev/null; wait $TP

# ---- one measurement -----------------------------------------------------------
# start MODE SERVER...: start SERVER bare or under capgate; sets SP, ERR
start() {
	local mode=$1 name=$2; shift 2
	ERR=$T/$name-$mode.err
	case $mode in
	bare) "$@" >/dev/null 2>"$ERR" & ;;
	whole) $CAPGATE run --no-phases --net host --profile "$T/$name.json" -- "$@" >/dev/null 2>"$ERR" & ;;
	phase) $CAPGATE run --net host --profile "$T/$name.json" -- "$@" >/dev/null 2>"$ERR" & ;;
	esac
	SP=$!; PIDS+=($SP)
}
# notified MODE ERR: the "while serving" count of a phase run, else 0
notified() { [ "$1" = phase ] && sed -n 's/.*notifications: [0-9]* before, \([0-9]*\) while serving.*/\1/p' "$2" || echo 0; }
stop_nginx() { if [ "$1" = bare ]; then kill -QUIT "$(cat "$T/ng/nginx.pid")"; else kill -QUIT "$SP"; fi; wait "$SP"; }
stop_redis() { redis-cli -p "$RP" shutdown nosave >/dev/null 2>&1; wait "$SP"; }

declare -A SUM NOTE
for m in bare whole phase; do SUM[nk-$m]=0 SUM[nc-$m]=0 SUM[rs-$m]=0 NOTE[ng-$m]=0 NOTE[rd-$m]=0; done
# what a start alone notifies while serving (no load)
PORT=$NP; start phase nginx "${NGINX[@]}"; wait_for 20 curl -sf -o /dev/null "http://127.0.0.1:$NP/"; stop_nginx phase
IDLE_NG=$(notified phase "$ERR")
PORT=$RP; start phase redis "${REDIS[@]}"; wait_for 20 sh -c "redis-cli -p $RP ping | grep -q PONG"; stop_redis
IDLE_RD=$(notified phase "$ERR")

for r in $(seq "$ROUNDS"); do
	modes=(bare whole phase)
	# rotate the order each round
	for k in $(seq 0 $(((r - 1) % 3))); do [ "$k" -gt 0 ] && modes=("${modes[@]:1}" "${modes[0]}"); done
	for m in "${modes[@]}"; do
		PORT=$NP; start "$m" nginx "${NGINX[@]}"
		wait_for 20 curl -sf -o /dev/null "http://127.0.0.1:$NP/" || { echo "nginx ($m) did not start: $(cat "$ERR")"; exit 1; }
		k=$(wrk -t2 -c20 -d"${SECS}s" "http://127.0.0.1:$NP/" | awk '/Requests\/sec/{print $2}')
		c=$(wrk -t2 -c20 -d"${SECS}s" -H 'Connection: close' "http://127.0.0.1:$NP/" | awk '/Requests\/sec/{print $2}')
		stop_nginx "$m"
		SUM[nk-$m]=$(echo "${SUM[nk-$m]} + $k" | bc -l) SUM[nc-$m]=$(echo "${SUM[nc-$m]} + $c" | bc -l)
		idle=0; [ "$m" = phase ] && idle=$IDLE_NG
		NOTE[ng-$m]=$((NOTE[ng-$m] + $(notified "$m" "$ERR") - idle))
		PORT=$RP; start "$m" redis "${REDIS[@]}"
		wait_for 20 sh -c "redis-cli -p $RP ping | grep -q PONG" || { echo "redis ($m) did not start: $(cat "$ERR")"; exit 1; }
		s=$(redis-benchmark -p "$RP" -n 100000 -c 20 -t set,get --csv 2>/dev/null |
			awk -F'"' '/^"(SET|GET)"/ {s += $4; n++} END {print n ? s / n : 0}')
		stop_redis
		SUM[rs-$m]=$(echo "${SUM[rs-$m]} + $s" | bc -l)
		idle=0; [ "$m" = phase ] && idle=$IDLE_RD
		NOTE[rd-$m]=$((NOTE[rd-$m] + $(notified "$m" "$ERR") - idle))
	done
done

printf '%-30s %12s %12s %12s %14s %14s\n' "requests/s (mean of $ROUNDS)" bare whole-life phase "phase/whole" "notif/serving"
row() { # LABEL KEY NOTEKEY
	local b=$(echo "${SUM[$2-bare]} / $ROUNDS" | bc -l) w=$(echo "${SUM[$2-whole]} / $ROUNDS" | bc -l) p=$(echo "${SUM[$2-phase]} / $ROUNDS" | bc -l)
	printf '%-30s %12.0f %12.0f %12.0f %14.3f %14d\n' "$1" "$b" "$w" "$p" "$(echo "$p / $w" | bc -l)" "${NOTE[$3-phase]}"
}
row "nginx wrk keep-alive" nk ng
row "nginx wrk Connection: close" nc ng
row "redis-benchmark set,get" rs rd
echo "(notif/serving: notifications after readiness during the load, all rounds; target 0)"
