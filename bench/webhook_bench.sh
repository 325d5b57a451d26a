#!/usr/bin/env bash
# capgate webhook: p50/p99 latency and requests per second for a typical Pod
# AdmissionReview over TLS keep-alive (wrk, HTTP/1.1) at concurrency 1, 2, 4, 16
# and 64, beside `capgate check` deciding the same Pod in-process (10,000
# copies in one run, so start-up is amortised). Target (issue 14): p99 under
# 1 ms at 5,000 requests per second. wrk runs on the same machine and takes
# CPU from the server: on 2 cores the numbers are a floor.
#
# The HTTP library was chosen with these numbers: the same run measures
# capgate webhook (libh2o, its event loop plus --workers evaluation threads)
# beside the smallest equivalent servers on the two other Debian libraries,
# bench/webhook_mhd.c (libmicrohttpd, GnuTLS, a 2-thread pool) and
# bench/webhook_civetweb.c (civetweb, OpenSSL, a thread per connection),
# all three calling the same cg_admission_review() under the built-in
# policy; their answers are compared byte for byte first. A library whose
# headers are missing (libmicrohttpd-dev, libcivetweb-dev) is skipped with a
# message. ONLY=h2o|mhd|civetweb runs one.
set -euo pipefail
cd "$(dirname "$0")/.."
make -s -j2 build/capgate build/capgate-webhook build/libcapgate.a >/dev/null
# the two comparison servers, linked as the tests link libcapgate
B=build/bench
mkdir -p "$B"
BLIBS="build/libcapgate.a -lseccomp -lfyaml -lcrypto -lz -lzstd -lbpf -lelf -lpthread"
have_mhd=no have_civetweb=no
if [ -f /usr/include/microhttpd.h ]; then
	# shellcheck disable=SC2086
	cc -std=gnu11 -D_GNU_SOURCE -O2 -Iinclude -o "$B/webhook_mhd" bench/webhook_mhd.c $BLIBS -lmicrohttpd && have_mhd=yes
else
	echo "skip libmicrohttpd: /usr/include/microhttpd.h is missing (libmicrohttpd-dev)"
fi
if [ -f /usr/include/civetweb.h ]; then
	# shellcheck disable=SC2086
	cc -std=gnu11 -D_GNU_SOURCE -O2 -Iinclude -o "$B/webhook_civetweb" bench/webhook_civetweb.c $BLIBS -lcivetweb &&
		mkdir -p "$B/civetweb-ssl" &&
		cc -shared -fPIC -O2 -o "$B/civetweb-ssl/libssl.so" bench/civetweb_openssl3_shim.c -Wl,--no-as-needed -l:libssl.so.3 &&
		have_civetweb=yes
else
	echo "skip civetweb: /usr/include/civetweb.h is missing (libcivetweb-dev)"
fi
DUR=${DUR:-5}
PY=python3
/usr/bin/python3 -c 'import yaml' 2>/dev/null && PY=/usr/bin/python3
t=$(mktemp -d)
SPIDS=()
trap 'for p in "${SPIDS[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$t"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$t/key.pem" -out "$t/cert.pem" \
	-days 2 -subj /CN=bench -addext subjectAltName=IP:127.0.0.1 2>/dev/null
# a typical restricted Pod: two containers, pod-level RuntimeDefault, labels
cat >"$t/pod.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
  labels: {app: web, tier: frontend}
spec:
  securityContext:
    runAsNonRoot: true
    seccompProfile: {type: RuntimeDefault}
  containers:
  - name: app
    image: registry.example.com/team/web@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
    ports: [{containerPort: 8080}]
    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
  - name: sidecar
    image: registry.example.com/team/proxy:1.2
    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
YAML
$PY tests/helpers/admission_review.py one "$t/pod.yaml" >"$t/review.json"
awk 'NR == FNR { pod = pod $0 "\n"; next } END { for (i = 0; i < 10000; i++) { p = pod; sub(/name: web\n/, "name: web-" i "\n", p); printf "---\n%s", p } }' "$t/pod.yaml" /dev/null >"$t/pods.yaml"
s=$(date +%s.%N)
./build/capgate check -q "$t/pods.yaml" >/dev/null
e=$(date +%s.%N)
check_us=$(echo "($e - $s) * 1000000 / 10000" | bc -l)
printf 'capgate check, in-process: %.1f us per Pod (10,000 Pods, one run)\n' "$check_us"

free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# start NAME: starts the server, sets URL (or returns 1 with a message)
start() {
	local port i
	case $1 in
	h2o)
		./build/capgate webhook --listen 127.0.0.1:0 --tls-cert "$t/cert.pem" --tls-key "$t/key.pem" --no-request-log 2>"$t/h2o.log" &
		SPIDS+=($!)
		for i in $(seq 100); do grep -q listening "$t/h2o.log" 2>/dev/null && break; sleep 0.1; done
		port=$(grep -o '"addr":"127.0.0.1:[0-9]*"' "$t/h2o.log" | grep -o '[0-9]*"$' | tr -d '"')
		;;
	mhd)
		port=$(free_port)
		"$B/webhook_mhd" "$port" "$t/cert.pem" "$t/key.pem" 2 >"$t/mhd.log" 2>&1 &
		SPIDS+=($!)
		for i in $(seq 100); do grep -q listening "$t/mhd.log" 2>/dev/null && break; sleep 0.1; done
		;;
	civetweb)
		port=$(free_port)
		cat "$t/cert.pem" "$t/key.pem" >"$t/both.pem"
		LD_LIBRARY_PATH=$PWD/$B/civetweb-ssl "$B/webhook_civetweb" "$port" "$t/both.pem" 80 >"$t/civetweb.log" 2>&1 &
		SPIDS+=($!)
		for i in $(seq 100); do grep -q listening "$t/civetweb.log" 2>/dev/null && break; sleep 0.1; done
		;;
	esac
	URL=https://127.0.0.1:$port
	curl -sS --max-time 10 --http1.1 --cacert "$t/cert.pem" -H 'Content-Type: application/json' --data-binary @"$t/review.json" \
		-o "$t/$1.answer" "$URL/validate" 2>"$t/$1.curl" || { echo "skip $1: the server does not answer: $(cat "$t/$1.curl" "$t/$1.log" | head -c 300)"; return 1; }
}
cat >"$t/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$t/review.json"); wrk.body = f:read("*a"); f:close()
LUA
to_us() { # wrk latency "123.45us" / "1.23ms" / "1.2s" -> microseconds
	awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) print n; else if (v ~ /ms$/) print n * 1000; else print n * 1000000 }'
}
servers=(h2o)
[ $have_mhd = yes ] && servers+=(mhd)
[ $have_civetweb = yes ] && servers+=(civetweb)
[ -n "${ONLY:-}" ] && servers=("$ONLY")
printf '\n%-9s %-6s %10s %10s %10s %12s\n' library conns "req/s" "p50 us" "p99 us" "p50/check"
met=no
for srv in "${servers[@]}"; do
	start "$srv" || continue
	grep -q '"allowed":true' "$t/$srv.answer" || { echo "the review is not allowed by $srv: fix the bench Pod"; exit 1; }
	[ -f "$t/ref.answer" ] || cp "$t/$srv.answer" "$t/ref.answer"
	if ! cmp -s "$t/$srv.answer" "$t/ref.answer"; then
		echo "$srv answers differently from ${servers[0]}: not the same decision, not compared"
		continue
	fi
	for c in ${CONNS:-1 2 4 16 64}; do
		th=1
		[ $c -gt 1 ] && th=2
		wrk -t$th -c$c -d${DUR}s --latency -s "$t/post.lua" "$URL/validate" >"$t/wrk.$srv.$c" 2>&1
		rps=$(awk '/^Requests\/sec/ { print $2 }' "$t/wrk.$srv.$c")
		p50=$(to_us "$(awk '$1 == "50%" { print $2 }' "$t/wrk.$srv.$c")")
		p99=$(to_us "$(awk '$1 == "99%" { print $2 }' "$t/wrk.$srv.$c")")
		errs=$(grep -c 'Socket errors\|Non-2xx' "$t/wrk.$srv.$c" || true)
		printf '%-9s %-6s %10.0f %10.0f %10.0f %11.1fx%s\n' "$srv" $c "$rps" "$p50" "$p99" "$(echo "$p50 / $check_us" | bc -l)" \
			"$([ "$errs" -gt 0 ] && echo '  (errors!)')"
		if [ "$srv" = h2o ] && awk -v r="$rps" -v p="$p99" 'BEGIN { exit !(r >= 5000 && p < 1000) }'; then met=yes; fi
	done
	kill "${SPIDS[-1]}" 2>/dev/null
done
echo
echo "target (capgate webhook) p99 < 1 ms at >= 5,000 req/s: $([ $met = yes ] && echo met || echo 'not met')"
