#!/usr/bin/env bash
# Record capgate webhook's own closure under the load tests/cli/webhook.sh
# gives it (every request kind, HTTP/1.1 and HTTP/2, wrk, a SIGHUP reload, a
# file-change reload) and write it as deploy/kubernetes/profiles/capgate-webhook.json,
# the profile the Deployment runs the webhook under. Run as root (eBPF recorder):
#   scripts/record-webhook-profile.sh [CAPGATE]
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
C=$(cd "$(dirname "${1:-$ROOT/build/capgate}")" && pwd)/$(basename "${1:-$ROOT/build/capgate}")
H=$ROOT/tests/helpers
PY=python3
/usr/bin/python3 -c 'import yaml' 2>/dev/null && PY=/usr/bin/python3
export PY
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$t/key.pem" -out "$t/cert.pem" \
	-days 2 -subj /CN=capgate-webhook -addext subjectAltName=IP:127.0.0.1 2>/dev/null
printf 'podSecurity: baseline\nprofiles: {requireContents: false}\n' >"$t/policy.yaml"
printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n  - {name: app, image: registry.example.com/app:1}\n' >"$t/pod.yaml"
printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: app, image: x, securityContext: {privileged: true}}\n' >"$t/priv.yaml"
mkdir -p "$t/w" "$t/profiles/capgate"
$PY "$H/admission_review.py" one "$t/pod.yaml" >"$t/w/allow.json"
$PY "$H/admission_review.py" one "$t/priv.yaml" >"$t/w/deny.json"
cp "$t/w/allow.json" "$t/w/mutate.json"
port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
out=$ROOT/deploy/kubernetes/profiles/capgate-webhook.json
"$C" trace -q -o "$out" --serve-when-listening "$port" -- "$C" webhook --listen "127.0.0.1:$port" \
	--tls-cert "$t/cert.pem" --tls-key "$t/key.pem" --policy "$t/policy.yaml" --profiles "$t/profiles" 2>"$t/log" &
tp=$!
for i in $(seq 100); do
	curl -sS --max-time 2 --cacert "$t/cert.pem" "https://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
	sleep 0.1
done
wp=$(pgrep -P "$tp" | head -1)
bash "$H/webhook_load.sh" "https://127.0.0.1:$port" "$t/cert.pem" "$t/w" "$wp"
# file-change reloads: policy, profiles, certificate; a failed reload too
printf 'podSecurity: restricted\n' >"$t/policy.new" && mv "$t/policy.new" "$t/policy.yaml"
cp "$ROOT/examples/demo.json" "$t/profiles/capgate/x.json" 2>/dev/null || echo '{}' >"$t/profiles/capgate/x.json"
sleep 2
printf 'podSecurity: [\n' >"$t/policy.new" && mv "$t/policy.new" "$t/policy.yaml"
touch "$t/cert.pem"
sleep 2
bash "$H/webhook_load.sh" "https://127.0.0.1:$port" "$t/cert.pem" "$t/w" >/dev/null || true
kill -TERM "$tp"
wait "$tp" || true
# rseq: glibc probes it and runs without it; gVisor lacks it (capgate fallback --list)
"$C" fallback "$out" -o "$out"
echo "wrote $out"
