#!/usr/bin/env bash
# Every kind of request capgate webhook answers, with the answers checked:
# used by tests/cli/webhook.sh (the webhook under its own recorded profile)
# and by scripts/record-webhook-profile.sh (the load the profile is recorded
# under), so the profile covers what the test asks of it.
#   webhook_load.sh URL CACERT WORKDIR [PID]
# WORKDIR holds allow.json (a review the policy allows), deny.json (one it
# denies) and mutate.json; PID, if given, gets a SIGHUP halfway (a reload).
# Prints "ok NAME" / "FAIL NAME" lines; exits 1 if any failed.
set -u
U=$1 CA=$2 W=$3 PID=${4:-}
H=$(dirname "$0")
failed=0
ok() { echo "ok $1"; }
fail() { echo "FAIL $1"; failed=1; }
post() { # path body-file out-file [curl args]
	local p=$1 b=$2 o=$3; shift 3
	curl -sS --max-time 20 --cacert "$CA" -o "$o" -w '%{http_code} %{http_version}' "$@" \
		-H 'Content-Type: application/json' --data-binary @"$b" "$U$p"
}
field() { ${PY:-python3} "$H/admission_review.py" field "$1" "$2" 2>/dev/null; }

[ "$(curl -sS --max-time 20 --cacert "$CA" "$U/healthz")" = ok ] && ok load-healthz || fail load-healthz
[ "$(curl -sS --max-time 20 --cacert "$CA" "$U/readyz")" = ready ] && ok load-readyz || fail load-readyz
curl -sS --max-time 20 --cacert "$CA" "$U/metrics" | grep -q '^capgate_webhook_requests_total' && ok load-metrics || fail load-metrics
for v in 1.1 2; do
	hv=--http1.1
	[ "$v" = 2 ] && hv=--http2
	r=$(post /validate "$W/allow.json" "$W/a.out" $hv)
	[ "$r" = "200 $v" ] && [ "$(field "$W/a.out" allowed)" = true ] && ok "load-allow-http$v" || fail "load-allow-http$v ($r)"
	r=$(post /validate "$W/deny.json" "$W/d.out" $hv)
	[ "$r" = "200 $v" ] && [ "$(field "$W/d.out" allowed)" = false ] && ok "load-deny-http$v" || fail "load-deny-http$v ($r)"
	r=$(post /mutate "$W/mutate.json" "$W/m.out" $hv)
	[ "$r" = "200 $v" ] && [ "$(field "$W/m.out" allowed)" = true ] && ok "load-mutate-http$v" || fail "load-mutate-http$v ($r)"
done
printf 'not json' >"$W/bad.json"
r=$(post /validate "$W/bad.json" "$W/b.out")
[ "${r%% *}" = 200 ] && [ "$(field "$W/b.out" allowed)" = false ] && ok load-bad-body-denied || fail "load-bad-body-denied ($r)"
r=$(curl -sS --max-time 20 --cacert "$CA" -o /dev/null -w '%{http_code}' "$U/validate")
[ "$r" = 405 ] && ok load-get-validate-405 || fail "load-get-validate-405 ($r)"
r=$(curl -sS --max-time 20 --cacert "$CA" -o /dev/null -w '%{http_code}' "$U/nothing-here")
[ "$r" = 404 ] && ok load-unknown-path-404 || fail "load-unknown-path-404 ($r)"
# plain HTTP to the TLS port: refused, counted, the server goes on
curl -sS --max-time 5 "${U/https:/http:}/healthz" >/dev/null 2>&1 && fail load-plain-http-refused || ok load-plain-http-refused
# concurrent keep-alive load from a second process, a reload in the middle
cat >"$W/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$W/allow.json"); wrk.body = f:read("*a"); f:close()
local threads = {}
function setup(t) table.insert(threads, t) end
function init() wrong = 0 end
function response(status, headers, body)
  if status ~= 200 or not body:find('"allowed":true', 1, true) then wrong = wrong + 1 end
end
function done(s, l, r)
  local w = 0
  for _, t in ipairs(threads) do w = w + t:get("wrong") end
  io.write(string.format("wrong %d\n", w))
end
LUA
wrk -t1 -c8 -d3s -s "$W/post.lua" "$U/validate" >"$W/wrk.out" 2>&1 &
wp=$!
if [ -n "$PID" ]; then
	sleep 1
	kill -HUP "$PID"
fi
wait $wp
if grep -q '^wrong 0$' "$W/wrk.out" && ! grep -q 'Socket errors\|Non-2xx' "$W/wrk.out" &&
	grep -Eq '^ +[0-9]+ requests in' "$W/wrk.out"; then ok load-wrk-zero-errors; else
	fail load-wrk-zero-errors
	sed 's/^/    /' "$W/wrk.out"
fi
exit $failed
