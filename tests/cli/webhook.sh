#!/usr/bin/env bash
# capgate webhook end to end over real HTTPS (curl, wrk, Python's ssl): the
# verdicts of 'capgate check' on the corpus Pods, bodies that must be denied,
# slow and surplus connections, reloads under load, mutation with the node's
# profiles appearing, and the webhook under its own recorded closure.
set -u
C=${CAPGATE:-./build/capgate}
S=${CAPGATE_SHARED:-../shared}
H=$(cd "$(dirname "$0")/../helpers" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# the system Python when it has PyYAML: a version manager's shim costs seconds per start on a loaded machine
PY=python3
/usr/bin/$PY -c 'import yaml' 2>/dev/null && PY=/usr/bin/python3
export PY
A="$PY $H/admission_review.py"
t=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$t"
}
trap cleanup EXIT
ok() { echo "ok $1"; }
fail() { echo "FAIL $1"; }
field() { $A field "$1" "$2" 2>/dev/null; }

for tool in curl openssl wrk python3; do
	command -v $tool >/dev/null || {
		echo "FAIL webhook-tools: $tool is not installed (scripts/dev.sh)"
		exit 0
	}
done
mkcert() { # dir
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1/key.pem" -out "$1/cert.pem" \
		-days 2 -subj /CN=capgate-webhook -addext subjectAltName=IP:127.0.0.1,DNS:localhost 2>/dev/null
}
mkdir -p "$t/tls" "$t/kubelet/profiles" "$t/w"
mkcert "$t/tls"
CA=$t/tls/cert.pem

# start_webhook NAME ARGS...: sets PORT and WPID, or fails the test
start_webhook() {
	local name=$1 i
	shift
	"$C" webhook --listen 127.0.0.1:0 --tls-cert "$t/tls/cert.pem" --tls-key "$t/tls/key.pem" "$@" 2>"$t/$name.log" &
	WPID=$!
	pids+=("$WPID")
	PORT=
	for i in $(seq 100); do
		PORT=$(grep -m1 -o '"addr":"127.0.0.1:[0-9]*"' "$t/$name.log" 2>/dev/null | grep -o '[0-9]*"$' | tr -d '"')
		[ -n "$PORT" ] && return 0
		kill -0 "$WPID" 2>/dev/null || break
		sleep 0.1
	done
	fail "$name-starts"
	sed 's/^/    /' "$t/$name.log"
	return 1
}
metric() { # port name-with-labels
	curl -sS --max-time 10 --cacert "$CA" "https://127.0.0.1:$1/metrics" | awk -v m="$2" '$1 == m { print $2 }'
}
# wait_metric PORT NAME MIN: until the counter reaches MIN (a reload polled once a second)
wait_metric() {
	local i v
	for i in $(seq 100); do
		v=$(metric "$1" "$2")
		[ -n "$v" ] && [ "$v" -ge "$3" ] && return 0
		sleep 0.1
	done
	return 1
}

# ---- the corpus: the webhook's verdicts are capgate check's ----------------
if [ -d "$S/corpus/k8s-psa" ]; then
	cp "$S/corpus/profiles/k8s-docs-violation.json" "$t/kubelet/profiles/violation.json"
	cp "$S/corpus/profiles/k8s-docs-fine-grained.json" "$t/kubelet/profiles/fine-grained.json"
	mkdir -p "$t/corpus"
	$A split "$t/corpus" $(find "$S/corpus/k8s-psa" "$S/corpus/k8s-docs" "$S/corpus/kyverno" -name '*.yaml' | sort)
	if start_webhook corpus --profiles "$t/kubelet"; then
		# one curl, one keep-alive connection, every review
		: >"$t/corpus.curl"
		while read -r n f k; do
			printf 'url = "https://127.0.0.1:%s/validate"\ncacert = "%s"\nhttp1.1\ndata-binary = "@%s/corpus/%s.review.json"\noutput = "%s/corpus/%s.answer"\nheader = "Content-Type: application/json"\nnext\n' \
				"$PORT" "$CA" "$t" "$n" "$t" "$n" >>"$t/corpus.curl"
		done <"$t/corpus/index"
		curl -sS -K "$t/corpus.curl" 2>"$t/curl.err"
		while read -r n f k; do
			"$C" check --profiles "$t/kubelet" "$t/corpus/$n.object.json" >/dev/null 2>&1
			echo $? >"$t/corpus/$n.rc"
		done <"$t/corpus/index"
		$A compare "$t/corpus" >"$t/compare.out"
		read -r total same <"$t/compare.out"
		if [ "$total" -gt 200 ] && [ "$same" -eq "$total" ]; then ok "corpus-verdicts-equal-check ($total objects)"; else
			fail "corpus-verdicts-equal-check ($same of $total)"
			tail -n +2 "$t/compare.out"
		fi
		# denied corpus answers carry status.code 403 and a message naming a rule
		n=$(grep -l '"allowed":false' "$t"/corpus/*.answer | head -1)
		grep -q '"code":403' "$n" && grep -q '\[[a-z-]*\] ' "$n" && ok corpus-deny-names-rule || fail corpus-deny-names-rule
		# HTTP/2 gives the same answers
		same2=0
		for n in 000 010 050 100 150; do
			curl -sS --http2 --cacert "$CA" -o "$t/h2.answer" -w '%{http_version}' -H 'Content-Type: application/json' \
				--data-binary @"$t/corpus/$n.review.json" "https://127.0.0.1:$PORT/validate" >"$t/h2.ver"
			[ "$(cat "$t/h2.ver")" = 2 ] && cmp -s "$t/h2.answer" "$t/corpus/$n.answer" && same2=$((same2 + 1))
		done
		[ $same2 -eq 5 ] && ok http2-same-answers || fail "http2-same-answers ($same2 of 5)"
		kill "$WPID"
	fi
else
	echo "skip corpus-verdicts-equal-check: the shared corpus is not at $S (set CAPGATE_SHARED)"
fi

# ---- bodies that must be denied, never crash or allow ----------------------
printf 'podSecurity: baseline\nprofiles: {requireContents: false}\n' >"$t/policy.yaml"
cat >"$t/pod.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - {name: app, image: registry.example.com/app:1}
YAML
cat >"$t/priv.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: priv}
spec:
  containers:
  - name: app
    image: registry.example.com/app:1
    securityContext: {privileged: true}
YAML
$A one "$t/pod.yaml" >"$t/w/allow.json"
$A one "$t/priv.yaml" >"$t/w/deny.json"
$A one "$t/pod.yaml" --uid m-1 >"$t/w/mutate.json"
if start_webhook bad --policy "$t/policy.yaml" --max-body 65536 --timeout 2 --max-connections 6; then
	U=https://127.0.0.1:$PORT
	post() { # name body-file
		curl -sS --max-time 20 --cacert "$CA" -o "$t/$1.out" -w '%{http_code}' -H 'Content-Type: application/json' \
			--data-binary @"$2" "$U/validate"
	}
	denied() { # name body-file expected-message
		local code
		code=$(post "$1" "$2")
		if [ "$code" = 200 ] && [ "$(field "$t/$1.out" allowed)" = false ] && grep -qF "$3" "$t/$1.out"; then ok "$1"; else
			fail "$1 (HTTP $code)"
			head -c 400 "$t/$1.out" | sed 's/^/    /'
		fi
	}
	printf '{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"uid": "x", ' >"$t/b1"
	denied invalid-json-denied "$t/b1" "not valid JSON"
	printf 'apiVersion: admission.k8s.io/v1\nkind: AdmissionReview\n' >"$t/b2"
	denied yaml-body-denied "$t/b2" "not a JSON object"
	sed 's|admission.k8s.io/v1|admission.k8s.io/v1beta1|' "$t/w/allow.json" >"$t/b3"
	denied wrong-apiversion-denied "$t/b3" "expected admission.k8s.io/v1"
	sed 's|"kind": "AdmissionReview"|"kind": "AdmissionResponse"|' "$t/w/allow.json" >"$t/b4"
	denied wrong-kind-denied "$t/b4" "expected AdmissionReview"
	sed 's|"uid": "uid-1", ||' "$t/w/allow.json" >"$t/b5"
	denied missing-uid-denied "$t/b5" "request.uid: missing"
	sed 's|"containers": \[|"containers": 7, "x": [|' "$t/w/allow.json" >"$t/b6"
	denied wrong-type-denied "$t/b6" "request.object.spec.containers"
	$PY -c 'import json,sys; r=json.load(open(sys.argv[1])); r["request"]["object"]["metadata"]["annotations"]={"pad":"x"*70000}; json.dump(r,sys.stdout)' "$t/w/allow.json" >"$t/b7"
	denied oversized-denied "$t/b7" "over the limit of 65536"
	# far over the limit: refused before it is read (413), the server goes on
	head -c 200000 /dev/zero | tr '\0' ' ' >"$t/b8"
	code=$(curl -sS --http1.1 --max-time 20 --cacert "$CA" -o "$t/huge.out" -w '%{http_code}' --data-binary @"$t/b8" "$U/validate" 2>/dev/null)
	code2=$(curl -sS --http2 --max-time 20 --cacert "$CA" -o "$t/huge2.out" -w '%{http_code}' --data-binary @"$t/b8" "$U/validate" 2>/dev/null)
	# HTTP/1.1: 413, or (when the server's close overtakes curl's upload) a
	# reset before curl reads it (000) -- either way refused; then it serves on
	hz=$(curl -sS --max-time 10 --cacert "$CA" -o /dev/null -w '%{http_code}' "$U/healthz" 2>/dev/null)
	if { [ "$code" = 413 ] || [ "$code" = 000 ]; } && [ "$code2" != 200 ] && [ "$hz" = 200 ] &&
		! grep -q '"allowed":true' "$t/huge.out" "$t/huge2.out" 2>/dev/null; then ok huge-body-refused; else
		fail "huge-body-refused (HTTP/1.1 $code, HTTP/2 $code2, healthz after: $hz)"
	fi
	# a client that stops sending its body: the connection is closed, nothing allowed
	$PY - "$PORT" "$CA" >"$t/slow.out" 2>&1 <<'PY'
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))), server_hostname="localhost")
s.sendall(b"POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"apiVersion\"")
s.settimeout(30)
data = b""
try:
    while True:
        b = s.recv(4096)
        if not b:
            break
        data += b
except (ssl.SSLError, ConnectionError) as e:
    pass
except socket.timeout:
    print("still open after 30 s")
    sys.exit(1)
print("closed", data[:80])
sys.exit(1 if b'"allowed":true' in data else 0)
PY
	[ $? -eq 0 ] && grep -q closed "$t/slow.out" && ok slow-body-closed || fail "slow-body-closed ($(cat "$t/slow.out"))"
	# more connections than allowed: the surplus is closed at once, the server goes on
	$PY - "$PORT" "$CA" >"$t/conns.out" 2>&1 <<'PY'
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
held, refused = [], 0
for i in range(10):
    try:
        s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))), server_hostname="localhost")
        held.append(s)
    except (ssl.SSLError, ConnectionError, OSError):
        refused += 1
print("held", len(held), "refused", refused)
PY
	grep -q 'refused [1-9]' "$t/conns.out" && ok connection-limit || fail "connection-limit ($(cat "$t/conns.out"))"
	v=$(metric "$PORT" capgate_webhook_connections_refused_total)
	[ -n "$v" ] && [ "$v" -ge 1 ] && ok connection-limit-counted || fail "connection-limit-counted ($v)"
	v=$(metric "$PORT" capgate_webhook_tls_errors_total)
	curl -sS --max-time 5 "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1
	wait_metric "$PORT" capgate_webhook_tls_errors_total $((${v:-0} + 1)) && ok tls-error-counted || fail tls-error-counted
	# every answer was logged as one JSON line with the uid and the verdict
	if grep '"msg":"admission"' "$t/bad.log" | $PY -c 'import json,sys; [json.loads(l)["verdict"] for l in sys.stdin]' &&
		grep -q '"uid":"uid-1","verdict":"deny"' "$t/bad.log"; then ok json-lines-log; else fail json-lines-log; fi
	kill -0 "$WPID" 2>/dev/null && [ "$(curl -sS --cacert "$CA" "$U/healthz")" = ok ] && ok still-serving || fail still-serving
	kill "$WPID"
fi

# ---- reloads: under load, a policy change, a bad policy, a new certificate --
cp "$t/policy.yaml" "$t/live.yaml"
if start_webhook reload --policy "$t/live.yaml"; then
	U=https://127.0.0.1:$PORT
	ans() { curl -sS --max-time 20 --cacert "$CA" -o "$t/r.out" -H 'Content-Type: application/json' --data-binary @"$1" "$U/validate" && field "$t/r.out" allowed; }
	# the load helper: every request kind, wrk from a second process, a SIGHUP in the middle
	bash "$H/webhook_load.sh" "$U" "$CA" "$t/w" "$WPID" >"$t/load.out"
	if [ $? -eq 0 ]; then ok "load-with-sighup ($(grep -c '^ok' "$t/load.out") checks)"; else
		fail load-with-sighup
		grep -v '^ok' "$t/load.out" | sed 's/^/    /'
	fi
	wait_metric "$PORT" 'capgate_webhook_reloads_total{result="ok"}' 1 && ok sighup-reloaded || fail sighup-reloaded
	[ "$(ans "$t/w/allow.json")" = true ] && ok baseline-allows-bare-pod || fail baseline-allows-bare-pod
	# the policy changes on disk: the next answers follow it
	printf 'podSecurity: restricted\nprofiles: {requireContents: false}\n' >"$t/live.new" && mv "$t/live.new" "$t/live.yaml"
	wait_metric "$PORT" 'capgate_webhook_reloads_total{result="ok"}' 2 && [ "$(ans "$t/w/allow.json")" = false ] &&
		ok policy-change-takes-effect || fail policy-change-takes-effect
	grep -q '"code":403' "$t/r.out" && grep -q 'seccomp-profile' "$t/r.out" && ok policy-change-reason || fail policy-change-reason
	# a broken policy: the reload fails, the previous policy keeps deciding
	printf 'podSecurity: [\n' >"$t/live.new" && mv "$t/live.new" "$t/live.yaml"
	wait_metric "$PORT" 'capgate_webhook_reloads_total{result="failed"}' 1 && [ "$(ans "$t/w/allow.json")" = false ] &&
		ok bad-policy-keeps-previous || fail bad-policy-keeps-previous
	grep -q '"msg":"reload failed' "$t/reload.log" && ok bad-policy-logged || fail bad-policy-logged
	# a new certificate and key (as a Secret update swaps them)
	mkdir -p "$t/tls2" && mkcert "$t/tls2"
	before=$(metric "$PORT" 'capgate_webhook_reloads_total{result="ok"}')
	cp "$t/tls/cert.pem" "$t/old-cert.pem"
	cp "$t/tls2/key.pem" "$t/tls/key.new" && cp "$t/tls2/cert.pem" "$t/tls/cert.new"
	mv "$t/tls/key.new" "$t/tls/key.pem" && mv "$t/tls/cert.new" "$t/tls/cert.pem"
	wait_metric "$PORT" 'capgate_webhook_reloads_total{result="ok"}' $((before + 1))
	if curl -sS --max-time 10 --cacert "$t/tls2/cert.pem" "$U/healthz" 2>/dev/null | grep -q ok &&
		! curl -sS --max-time 10 --cacert "$t/old-cert.pem" "$U/healthz" >/dev/null 2>&1; then
		ok certificate-reloaded
	else fail certificate-reloaded; fi
	CA=$t/tls2/cert.pem
	kill "$WPID"
fi

# ---- mutation: the image's closure, then the node's profile appears --------
if [ -d "$S/corpus/profiles" ]; then
	prof=$S/corpus/profiles/k8s-docs-fine-grained.json
	digest=$("$C" info "$prof" | awk '/^digest:/ { print $2 }')
	hex=${digest#sha256:}
	$PY "$H/mkoci.py" "$t/layout" --ref registry.example.com/app:1 --label "io.capgate.closure.digest=$digest" >/dev/null
	printf 'podSecurity: baseline\nprofiles: {requireContents: true, requireStartable: false}\nmaxCalls: 0\ndenyClasses: []\nbaseline: none\nallow: [%s]\n' \
		"$($PY -c 'import json,sys; print(",".join(n for s in json.load(open(sys.argv[1]))["syscalls"] for n in s["names"]))' "$prof")" >"$t/mpolicy.yaml"
	mkdir -p "$t/node"
	if start_webhook mutate --policy "$t/mpolicy.yaml" --profiles "$t/node" --layout "$t/layout" --runtime-class gvisor; then
		U=https://127.0.0.1:$PORT
		curl -sS --cacert "$CA" -o "$t/m.out" -H 'Content-Type: application/json' --data-binary @"$t/w/mutate.json" "$U/mutate"
		$A patch "$t/w/mutate.json" "$t/m.out" >"$t/patched.json" 2>"$t/patch.err"
		obj=$($PY -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["request"]["object"]))' "$t/patched.json")
		if grep -q "\"localhostProfile\": \"capgate/sha256-$hex.json\"" <<<"$obj" &&
			grep -q "\"io.capgate.closure.digest/app\": \"$digest\"" <<<"$obj" && grep -q '"runtimeClassName": "gvisor"' <<<"$obj"; then
			ok mutate-sets-closure-profile
		else
			fail "mutate-sets-closure-profile"
			echo "    $obj $(cat "$t/patch.err")"
		fi
		# the patched Pod names a profile the node does not hold yet: denied (fail closed)
		curl -sS --cacert "$CA" -o "$t/v1.out" -H 'Content-Type: application/json' --data-binary @"$t/patched.json" "$U/validate"
		[ "$(field "$t/v1.out" allowed)" = false ] && ok missing-node-profile-denied || fail missing-node-profile-denied
		# the node agent installs it atomically; the webhook sees the new file and admits
		mkdir -p "$t/node/capgate" && cp "$prof" "$t/node/capgate/.tmp" && mv "$t/node/capgate/.tmp" "$t/node/capgate/sha256-$hex.json"
		for i in $(seq 50); do
			curl -sS --cacert "$CA" -o "$t/v2.out" -H 'Content-Type: application/json' --data-binary @"$t/patched.json" "$U/validate"
			[ "$(field "$t/v2.out" allowed)" = true ] && break
			sleep 0.1
		done
		$PY -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["request"]["object"]))' "$t/patched.json" >"$t/patched-pod.json"
		"$C" check --policy "$t/mpolicy.yaml" --profiles "$t/node" "$t/patched-pod.json" >"$t/pc.out" 2>&1
		rc=$?
		[ "$(field "$t/v2.out" allowed)" = true ] && [ $rc -eq 0 ] && ok installed-profile-admitted ||
			fail "installed-profile-admitted (check exit $rc: $(head -c 300 "$t/v2.out"))"
		kill "$WPID"
	fi
fi

# ---- the webhook under its own recorded closure -----------------------------
P=${CAPGATE_WEBHOOK_PROFILE:-$ROOT/deploy/kubernetes/profiles/capgate-webhook.json}
if [ -f "$P" ]; then
	port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	"$C" run --profile "$P" --explain --net "tcp-bind=$port" -- "$(cd "$(dirname "$C")" && pwd)/$(basename "$C")" webhook \
		--listen "127.0.0.1:$port" --tls-cert "$t/tls2/cert.pem" --tls-key "$t/tls2/key.pem" --policy "$t/policy.yaml" \
		>"$t/run.out" 2>"$t/run.log" &
	RPID=$!
	pids+=("$RPID")
	for i in $(seq 100); do
		curl -sS --max-time 2 --cacert "$CA" "https://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
		sleep 0.1
	done
	WP=$(pgrep -f -n -- "webhook --listen 127.0.0.1:$port" | grep -v "^$RPID$" | tail -1)
	bash "$H/webhook_load.sh" "https://127.0.0.1:$port" "$CA" "$t/w" "$WP" >"$t/rload.out"
	lrc=$?
	# --explain names every call the filter refused; the webhook's own log lines are JSON
	# (rseq is answered ENOSYS by the profile's own rule: capgate fallback, glibc runs without it)
	if [ $lrc -eq 0 ] && ! grep -v '^{' "$t/run.log" | grep -v 'denied rseq(.*rule errno(ENOSYS)' |
		grep -qi 'denied\|seccomp\|killed'; then ok "under-own-profile ($(grep -c '^ok' "$t/rload.out") checks)"; else
		fail under-own-profile
		grep -v '^ok' "$t/rload.out" | sed 's/^/    /'
		grep -v '^{' "$t/run.log" | head -10 | sed 's/^/    /'
	fi
	kill "$RPID" 2>/dev/null
else
	fail "under-own-profile: $P is missing (scripts/record-webhook-profile.sh)"
fi
