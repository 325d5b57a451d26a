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
fail() { printf "FAIL %s\n" "$(printf %s "$1" | tr "\n" "|" | head -c 2000)"; } # one line: the CI shows a part
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

# ---- the evaluation deadline: a slow evaluation is denied, the rest goes on --
# The internal testing hook (CAPGATE_WEBHOOK_TEST_HOOKS=1 and the header
# x-capgate-test-delay-ms) makes one evaluation slow; nothing else is.
for u in slow-a slow-b slow-c; do $A one "$t/pod.yaml" --uid $u >"$t/w/$u.json"; done
if CAPGATE_WEBHOOK_TEST_HOOKS=1 start_webhook deadline --policy "$t/policy.yaml" --eval-timeout 5000 --workers 2 --max-pending 3; then
	U=https://127.0.0.1:$PORT
	slow() { # uid: in the background, the answer into $t/UID.out
		curl -sS --max-time 120 --cacert "$CA" -o "$t/$1.out" -H 'Content-Type: application/json' \
			-H 'x-capgate-test-delay-ms: 600000' --data-binary @"$t/w/$1.json" "$U/validate" &
	}
	slow slow-a
	sa=$!
	# while it is being judged: /metrics, /healthz and another review are answered
	if wait_metric "$PORT" capgate_webhook_pending 1 &&
		[ "$(curl -sS --max-time 10 --cacert "$CA" "$U/healthz")" = ok ] &&
		curl -sS --max-time 10 --cacert "$CA" -o "$t/dl-allow.out" -H 'Content-Type: application/json' \
			--data-binary @"$t/w/allow.json" "$U/validate" && [ "$(field "$t/dl-allow.out" allowed)" = true ] &&
		[ "$(metric "$PORT" capgate_webhook_pending)" = 1 ] && [ "$(metric "$PORT" capgate_webhook_evaluation_timeouts_total)" = 0 ]; then
		ok deadline-others-answered-meanwhile
	else fail "deadline-others-answered-meanwhile (pending $(metric "$PORT" capgate_webhook_pending))"; fi
	# the queue is bounded: with --max-pending requests in flight, one more is denied at once
	slow slow-b
	sb=$!
	slow slow-c
	sc=$!
	if wait_metric "$PORT" capgate_webhook_pending 3 &&
		curl -sS --max-time 10 --cacert "$CA" -o "$t/busy.out" -H 'Content-Type: application/json' \
			--data-binary @"$t/w/allow.json" "$U/validate" && [ "$(field "$t/busy.out" allowed)" = false ] &&
		grep -q '"code":429' "$t/busy.out" && grep -q 'max-pending' "$t/busy.out"; then ok deadline-queue-bounded; else
		fail "deadline-queue-bounded ($(head -c 300 "$t/busy.out" 2>/dev/null))"
	fi
	wait $sa $sb $sc
	# each slow one: denied with a message under its own uid (never allowed, never dropped)
	n=0
	for u in slow-a slow-b slow-c; do
		[ "$(field "$t/$u.out" allowed)" = false ] && [ "$(field "$t/$u.out" uid)" = $u ] &&
			grep -q '"code":504' "$t/$u.out" && grep -q 'eval-timeout' "$t/$u.out" && n=$((n + 1))
	done
	[ $n -eq 3 ] && ok deadline-denied-with-message || fail "deadline-denied-with-message ($n of 3: $(head -c 300 "$t/slow-a.out"))"
	v=$(metric "$PORT" capgate_webhook_evaluation_timeouts_total)
	r=$(metric "$PORT" 'capgate_webhook_verdicts_total{path="/validate",verdict="deny",reason="timeout"}')
	[ "$v" = 3 ] && [ "$r" = 3 ] && ok deadline-counted || fail "deadline-counted (timeouts $v, verdicts $r)"
	# the workers are free again once the slow evaluations are given up
	wait_metric "$PORT" capgate_webhook_late_evaluations_total 3
	curl -sS --max-time 10 --cacert "$CA" -o "$t/dl-after.out" -H 'Content-Type: application/json' \
		--data-binary @"$t/w/allow.json" "$U/validate"
	[ "$(field "$t/dl-after.out" allowed)" = true ] && [ "$(metric "$PORT" capgate_webhook_pending)" = 0 ] &&
		ok deadline-workers-free-again || fail deadline-workers-free-again
	kill "$WPID"
fi
# the hook is internal: without CAPGATE_WEBHOOK_TEST_HOOKS=1 the header changes nothing
if start_webhook nohook --policy "$t/policy.yaml" --eval-timeout 5000; then
	curl -sS --max-time 60 --cacert "$CA" -o "$t/nohook.out" -H 'Content-Type: application/json' \
		-H 'x-capgate-test-delay-ms: 600000' --data-binary @"$t/w/allow.json" "https://127.0.0.1:$PORT/validate"
	[ "$(field "$t/nohook.out" allowed)" = true ] && [ "$(metric "$PORT" capgate_webhook_evaluation_timeouts_total)" = 0 ] &&
		ok test-hook-off-by-default || fail test-hook-off-by-default
	kill "$WPID"
fi

# ---- per-namespace profiles over HTTPS, and the namespace attack ------------
# The policy's namespaces: tenant-a may use RuntimeDefault only, tenant-b its
# own Localhost profiles only. The request's namespace (set by the API server)
# decides, never the object's own metadata.namespace.
cat >"$t/ns-policy.yaml" <<'YAML'
podSecurity: baseline
profiles: {requireContents: false}
namespaces:
  tenant-a: {allowedProfiles: [RuntimeDefault]}
  tenant-b: {allowedProfiles: ["tenant-b/*"], defaultProfile: tenant-b/base.json}
  "*": {allowedProfiles: [RuntimeDefault]}
YAML
nspod() { # name object-namespace seccompProfile-flow
	printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: %s, namespace: %s}\nspec:\n  securityContext: {seccompProfile: %s}\n  containers:\n  - {name: app, image: registry.example.com/app:1}\n' "$1" "$2" "$3"
}
nspod rd tenant-a '{type: RuntimeDefault}' >"$t/ns-rd.yaml"
nspod lb tenant-b '{type: Localhost, localhostProfile: tenant-b/web.json}' >"$t/ns-lb.yaml"
printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: bare, namespace: tenant-a}\nspec:\n  containers:\n  - {name: app, image: registry.example.com/app:1}\n' >"$t/ns-bare.yaml"
# name pod request-namespace expected-allowed [expected message]
nscases="rd-in-a ns-rd tenant-a true
rd-claims-a-in-b ns-rd tenant-b false
lb-in-b ns-lb tenant-b true
lb-claims-b-in-a ns-lb tenant-a false
lb-claims-b-elsewhere ns-lb tenant-z false"
while read -r n f ns want; do $A one "$t/$f.yaml" --uid "$n" --namespace "$ns" >"$t/w/ns-$n.json"; done <<<"$nscases"
if start_webhook ns --policy "$t/ns-policy.yaml"; then
	U=https://127.0.0.1:$PORT
	while read -r n f ns want; do
		curl -sS --max-time 20 --cacert "$CA" -o "$t/ns-$n.out" -H 'Content-Type: application/json' \
			--data-binary @"$t/w/ns-$n.json" "$U/validate"
		# capgate check on the object as the API server creates it (in the request's namespace)
		$PY -c 'import sys,yaml,json; d=yaml.safe_load(open(sys.argv[1])); d["metadata"]["namespace"]=sys.argv[2]; json.dump(d,sys.stdout)' \
			"$t/$f.yaml" "$ns" >"$t/ns-$n.obj.json"
		"$C" check --policy "$t/ns-policy.yaml" "$t/ns-$n.obj.json" >/dev/null 2>&1
		crc=$?
		got=$(field "$t/ns-$n.out" allowed)
		if [ "$want" = true ]; then
			[ $crc -eq 0 ]
		else
			[ $crc -eq 1 ] && grep -q '"code":403' "$t/ns-$n.out" &&
				grep -q "\[profile-not-allowed\] .*not allowed in namespace $ns" "$t/ns-$n.out"
		fi
		same=$?
		if [ $same -eq 0 ] && [ "$got" = "$want" ] && [ "$(field "$t/ns-$n.out" uid)" = "$n" ]; then
			ok "ns-https-$n"
		else
			fail "ns-https-$n (allowed $got, check exit $crc: $(head -c 400 "$t/ns-$n.out"))"
		fi
	done <<<"$nscases"
	v=$(metric "$PORT" 'capgate_webhook_verdicts_total{path="/validate",verdict="deny",reason="profile-not-allowed"}')
	[ "$v" = 3 ] && ok ns-https-counted || fail "ns-https-counted ($v)"
	# /mutate: tenant-b's defaultProfile where a container names none, judged
	# by tenant-b's rules even though the object says tenant-a
	$A one "$t/ns-bare.yaml" --uid nm --namespace tenant-b >"$t/w/ns-m.json"
	curl -sS --max-time 20 --cacert "$CA" -o "$t/ns-m.out" -H 'Content-Type: application/json' \
		--data-binary @"$t/w/ns-m.json" "$U/mutate"
	$A patch "$t/w/ns-m.json" "$t/ns-m.out" >"$t/ns-m.patched.json" 2>/dev/null
	curl -sS --max-time 20 --cacert "$CA" -o "$t/ns-m2.out" -H 'Content-Type: application/json' \
		--data-binary @"$t/ns-m.patched.json" "$U/validate"
	if grep -q '"localhostProfile": "tenant-b/base.json"' "$t/ns-m.patched.json" && [ "$(field "$t/ns-m2.out" allowed)" = true ]; then
		ok ns-https-mutate-default-profile
	else fail "ns-https-mutate-default-profile ($(head -c 300 "$t/ns-m.out"))"; fi
	kill "$WPID"
fi

# ---- node-sync and the webhook together --------------------------------------
# One source, as the capgate-closures ConfigMap is mounted (a ..data link to
# a version directory, one link per key): node-sync installs it into a
# kubelet root while the webhook reads the same mount as its --profiles
# (the Deployment mounts it at <profiles>/capgate). A Pod naming a written
# profile is admitted, a container runs under that profile, and a new
# ConfigMap version is picked up by both: the node's file changes, the
# webhook's verdict follows, the container runs under the new one.
DEMO=$ROOT/build/tests/helpers/demo
if [ -x "$DEMO" ] && [ -f "$ROOT/examples/demo.json" ]; then
	cm=$t/nsync/profiles/capgate
	kr=$t/nsync/kubelet
	mkdir -p "$cm" "$kr"
	v1=$ROOT/examples/demo.json
	sed 's/"write"$/"write", "socket"/; s/"set_tid_address", "write"/"set_tid_address", "write", "socket"/' "$v1" >"$t/nsync/v2.json"
	hexof() { "$C" resolve --digest "$1" 2>/dev/null | sed 's/^sha256://'; }
	hex1=$(hexof "$v1")
	hex2=$(hexof "$t/nsync/v2.json")
	cmversion() { # DIR FILE: ConfigMap version DIR holding FILE as app.json and sha256-<its hex>.json
		local hex
		hex=$(hexof "$2")
		mkdir -p "$cm/$1"
		cp "$2" "$cm/$1/app.json"
		cp "$2" "$cm/$1/sha256-$hex.json"
		ln -sfn ..data/app.json "$cm/app.json"
		ln -sfn "..data/sha256-$hex.json" "$cm/sha256-$hex.json"
		ln -sfn "$1" "$cm/..data_tmp" && mv -T "$cm/..data_tmp" "$cm/..data"
	}
	cmversion ..2026_01_01_00_00_00.1 "$v1"
	printf 'podSecurity: baseline\nprofiles: {requireContents: true, requireStartable: false}\nmaxCalls: 0\ndenyClasses: []\nbaseline: none\nallow: [%s]\n' \
		"$($PY -c 'import json,sys; print(",".join(n for s in json.load(open(sys.argv[1]))["syscalls"] for n in s["names"]))' "$v1")" >"$t/nsync/policy.yaml"
	for prof in app.json "sha256-$hex1.json"; do
		printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  securityContext: {seccompProfile: {type: Localhost, localhostProfile: capgate/%s}}\n  containers:\n  - {name: app, image: registry.example.com/app:1}\n' "$prof" >"$t/nsync/pod-$prof.yaml"
		$A one "$t/nsync/pod-$prof.yaml" --uid "ns-$prof" >"$t/w/nsync-$prof.json"
	done
	"$C" node-sync --source "$cm" --kubelet-root "$kr" --named app.json --interval 3600 >"$t/nsync/agent.out" 2>&1 &
	NPID=$!
	pids+=("$NPID")
	if start_webhook nsync --policy "$t/nsync/policy.yaml" --profiles "$t/nsync/profiles"; then
		U=https://127.0.0.1:$PORT
		verdict() { # profile-name -> allowed of /validate
			curl -sS --max-time 20 --cacert "$CA" -o "$t/nsync/v.out" -H 'Content-Type: application/json' \
				--data-binary @"$t/w/nsync-$1.json" "$U/validate" && field "$t/nsync/v.out" allowed
		}
		node=$kr/seccomp/capgate
		for i in $(seq 100); do [ -f "$node/app.json" ] && [ -f "$node/sha256-$hex1.json" ] && break; sleep 0.1; done
		a1=$(verdict app.json)
		a2=$(verdict "sha256-$hex1.json")
		# the node's view gives the same verdict (capgate check with the kubelet's directory)
		"$C" check --policy "$t/nsync/policy.yaml" --profiles "$kr/seccomp" "$t/nsync/pod-app.json.yaml" >/dev/null 2>&1
		crc=$?
		if [ "$a1" = true ] && [ "$a2" = true ] && [ $crc -eq 0 ] && [ "$(hexof "$node/app.json")" = "$hex1" ]; then
			ok nsync-written-profiles-admitted
		else fail "nsync-written-profiles-admitted ($a1 $a2 check $crc; $(ls "$node" 2>&1); $(cat "$t/nsync/agent.out"))"; fi
		"$C" run --profile "$node/app.json" -- "$DEMO" >"$t/nsync/run1.out" 2>&1
		grep -q 'socket(AF_INET, SOCK_STREAM) denied' "$t/nsync/run1.out" && ok nsync-container-runs-under-written-profile ||
			fail "nsync-container-runs-under-written-profile ($(head -c 300 "$t/nsync/run1.out"))"
		# a new ConfigMap version: app.json now allows socket (outside the policy's list)
		cmversion ..2026_01_01_00_00_01.2 "$t/nsync/v2.json"
		rm -f "$cm/sha256-$hex1.json"
		rm -rf "$cm/..2026_01_01_00_00_00.1"
		for i in $(seq 100); do
			[ "$(hexof "$node/app.json")" = "$hex2" ] && [ ! -e "$node/sha256-$hex1.json" ] && [ "$(verdict app.json)" = false ] && break
			sleep 0.1
		done
		a1=$(verdict app.json)
		cp "$t/nsync/v.out" "$t/nsync/v-app2.out"
		a2=$(verdict "sha256-$hex1.json")
		if [ "$(hexof "$node/app.json")" = "$hex2" ] && [ -f "$node/sha256-$hex2.json" ] && [ ! -e "$node/sha256-$hex1.json" ]; then
			ok nsync-change-reaches-node
		else fail "nsync-change-reaches-node ($(ls "$node"); $(cat "$t/nsync/agent.out"))"; fi
		if [ "$a1" = false ] && grep -q 'socket' "$t/nsync/v-app2.out" && [ "$a2" = false ]; then
			ok nsync-change-reaches-webhook
		else fail "nsync-change-reaches-webhook ($a1 $a2: $(head -c 400 "$t/nsync/v-app2.out"))"; fi
		"$C" run --profile "$node/app.json" -- "$DEMO" >"$t/nsync/run2.out" 2>&1
		grep -q 'socket(AF_INET, SOCK_STREAM) allowed' "$t/nsync/run2.out" && ok nsync-container-runs-under-changed-profile ||
			fail "nsync-container-runs-under-changed-profile ($(head -c 300 "$t/nsync/run2.out"))"
		kill "$WPID"
	fi
	kill "$NPID"
else
	echo "skip nsync-with-webhook: build/tests/helpers/demo is not built (make all)"
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
