#!/usr/bin/env bash
# Pods checked per second by `capgate check`, over 10,000 generated Pods whose
# containers name Localhost profiles (resolved from a kubelet-style directory,
# so every profile's contents are checked too). Printed beside the same run
# with content checks off and beside a bare parse-only run, on one CPU, as
# medians of several rounds. Target (issue 4): >= 20,000 pods per second.
set -euo pipefail
cd "$(dirname "$0")/.."
make -s -j"$(nproc)" build/capgate >/dev/null
PODS=${PODS:-10000}
ROUNDS=${ROUNDS:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/profiles/team"
for i in 0 1 2 3 4 5 6 7; do
	cat >"$work/profiles/team/p$i.json" <<JSON
{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read", "write", "openat", "close", "fstat",
 "mmap", "mprotect", "munmap", "brk", "rt_sigaction", "rt_sigprocmask", "execve", "exit_group",
 "futex", "epoll_wait", "accept4", "getpid$([ $i -eq 7 ] && echo '", "ptrace')"], "action": "SCMP_ACT_ALLOW"}]}
JSON
done
python3 - "$PODS" >"$work/pods.yaml" <<'PY'
import sys
n = int(sys.argv[1])
for i in range(n):
    print(f"""---
apiVersion: v1
kind: Pod
metadata:
  name: web-{i}
  namespace: team-{i % 17}
  labels: {{app: web}}
spec:
  securityContext:
    seccompProfile: {{type: Localhost, localhostProfile: team/p{i % 8}.json}}
  initContainers:
  - name: init
    image: registry.example.com/team/init:1.{i % 5}
  containers:
  - name: app
    image: registry.example.com/team/app:2.{i % 9}
    securityContext:
      allowPrivilegeEscalation: false
  - name: side
    image: registry.example.com/team/side@sha256:{i:064x}""")
PY
cat >"$work/nocontent.yaml" <<'YAML'
profiles: {requireContents: false}
YAML
cat >"$work/parse.yaml" <<'YAML'
baseline: none
denyClasses: []
maxCalls: 0
podSecurity: privileged
profiles: {requireContents: false, denyPermissiveDefault: false}
YAML
run() { # label args...
	local label=$1; shift
	local best=()
	for _ in $(seq "$ROUNDS"); do
		local t0 t1
		t0=$(date +%s%N)
		taskset -c 0 ./build/capgate check -q "$@" "$work/pods.yaml" >/dev/null || true
		t1=$(date +%s%N)
		best+=($(( (t1 - t0) / 1000 )))
	done
	local med
	med=$(printf '%s\n' "${best[@]}" | sort -n | sed -n "$(( (ROUNDS + 1) / 2 ))p")
	local rate=$(( PODS * 1000000 / med ))
	printf '%-34s %8d us  %8d pods/s  %5.2fx target\n' "$label" "$med" "$rate" "$(echo "$rate / 20000" | bc -l)"
}
echo "capgate check over $PODS Pods (3 containers each, Localhost profiles), median of $ROUNDS, CPU 0"
run "parse only (privileged, no checks)" --policy "$work/parse.yaml"
run "default policy, no profile contents" --policy "$work/nocontent.yaml"
run "default policy + profile contents" --profiles "$work/profiles"
