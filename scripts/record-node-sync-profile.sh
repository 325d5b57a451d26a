#!/usr/bin/env bash
# Record capgate node-sync's own closure while it does everything the
# DaemonSet asks of it -- the first pass over a ConfigMap-shaped source, new
# and changed closures (a ..data swap), a --named profile, a bad entry, a
# closure that left the source removed, the interval pass, SIGTERM -- and
# write it as deploy/kubernetes/profiles/capgate-node-sync.json, the profile
# the DaemonSet runs the agent under. Run as root (eBPF recorder):
#   scripts/record-node-sync-profile.sh [CAPGATE]
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
C=$(cd "$(dirname "${1:-$ROOT/build/capgate}")" && pwd)/$(basename "${1:-$ROOT/build/capgate}")
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
out=$ROOT/deploy/kubernetes/profiles/capgate-node-sync.json
cm=$t/closures
mkdir -p "$cm" "$t/kubelet/seccomp"
version() { # DIR FILE...: a ConfigMap version holding each FILE under its base name
	local d=$1 f
	shift
	mkdir -p "$cm/$d"
	for f in "$@"; do
		cp "$f" "$cm/$d/"
		ln -sfn "..data/$(basename "$f")" "$cm/$(basename "$f")"
	done
	ln -sfn "$d" "$cm/..data_tmp" && mv -T "$cm/..data_tmp" "$cm/..data"
}
cp "$ROOT/examples/demo.json" "$t/demo.json"
cp "$ROOT/deploy/kubernetes/profiles/capgate-webhook.json" "$t/capgate-webhook.json"
sed 's/"write"$/"write", "getpid"/; s/"set_tid_address", "write"/"set_tid_address", "write", "getpid"/' "$t/demo.json" >"$t/other.json"
version ..v1 "$t/demo.json" "$t/capgate-webhook.json"
# the whole life of the agent, interval 1 s so that the timed pass runs too
"$C" trace -q -o "$out" --serve-after-syscall poll -- "$C" node-sync --source "$cm" --kubelet-root "$t/kubelet" \
	--named capgate-webhook.json --interval 1 >"$t/log" 2>&1 &
tp=$!
for _ in $(seq 100); do [ -f "$t/kubelet/seccomp/capgate/capgate-webhook.json" ] && break; sleep 0.1; done
sleep 1.5 # an interval pass with nothing to do
# a new version: demo.json changed, a bad entry, then the bad entry gone and demo.json removed
echo '{"defaultAction": "SCMP_ACT_BOGUS"}' >"$t/bad.json"
version ..v2 "$t/other.json" "$t/capgate-webhook.json" "$t/bad.json"
sleep 1.5
rm -f "$cm/bad.json" "$cm/demo.json"
version ..v3 "$t/other.json" "$t/capgate-webhook.json"
rm -rf "$cm/..v1" "$cm/..v2"
sleep 1.5
kill -TERM "$tp"
wait "$tp" || true
grep -q 'removed' "$t/log" || {
	echo "record-node-sync-profile: the agent removed nothing; the recording misses a path:" >&2
	cat "$t/log" >&2
	exit 1
}
# rseq: glibc probes it and runs without it; gVisor lacks it (capgate fallback --list)
"$C" fallback "$out" -o "$out"
echo "wrote $out"
