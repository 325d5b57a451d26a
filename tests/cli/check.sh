#!/usr/bin/env bash
# capgate check end to end: exit codes, formats, positions, registry confusion.
set -u
C=${CAPGATE:-./build/capgate}
S=${CAPGATE_SHARED:-../shared}
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
ok() { echo "ok $1"; }
fail() { echo "FAIL $1"; }
expect() { # name want-exit cmd...
	local name=$1 want=$2; shift 2
	"$@" >"$t/out" 2>"$t/err"
	local rc=$?
	if [ "$rc" -eq "$want" ]; then ok "$name"; else fail "$name (exit $rc, want $want)"; sed 's/^/    /' "$t/out" "$t/err" | head -20; fi
}

# the mission's restrictive example allows reboot and kexec_load: denied
expect restrictive-denied 1 "$C" check "$S/mission/profiles/seed-restrictive.json"
grep -q "syscall reboot is in the denied risk class reboot" "$t/out" && ok restrictive-reason || fail restrictive-reason
# a minimal profile passes the default policy
expect minimal-passes 0 "$C" check "$S/mission/profiles/seed-minimal.json"
# a permissive profile is a denylist
expect permissive-denied 1 "$C" check "$S/corpus/profiles/spo-test-profiles-permissive.json"
grep -q "default action is allow" "$t/out" && ok permissive-reason || fail permissive-reason

# manifests: PSS restricted by default
expect psa-pass 0 "$C" check --policy /dev/stdin "$S/corpus/k8s-psa/restricted/v1.19/pass/seccompprofile_restricted0.yaml" <<<"profiles: {requireContents: false}"
expect psa-fail 1 "$C" check "$S/corpus/k8s-psa/restricted/v1.19/fail/seccompprofile_restricted1.yaml"
grep -q "Unconfined" "$t/out" && ok psa-fail-reason || fail psa-fail-reason
# Localhost contents: the tutorial pod names a profile missing from the corpus: fail closed
mkdir -p "$t/kubelet/profiles"
cp "$S/corpus/profiles/k8s-docs-violation.json" "$t/kubelet/profiles/violation.json"
cp "$S/corpus/profiles/k8s-docs-fine-grained.json" "$t/kubelet/profiles/fine-grained.json"
expect audit-pod-fails-closed 1 "$C" check --profiles "$t/kubelet" "$S/corpus/k8s-docs/pods/audit-pod.yaml"
grep -q "profiles/audit.json" "$t/out" && ok audit-pod-reason || fail audit-pod-reason
expect violation-pod-passes 0 "$C" check --profiles "$t/kubelet" "$S/corpus/k8s-docs/pods/violation-pod.yaml"

# registry confusion, on parsed references
cat >"$t/policy.yaml" <<'YAML'
baseline: gvisor
images:
  trustedRegistries: [registry.example.com]
YAML
expect registry-trusted 0 "$C" check --policy "$t/policy.yaml" --image registry.example.com/app:1
expect registry-confusion 1 "$C" check --policy "$t/policy.yaml" --image registry.example.com.evil.io/app:1
grep -q "is not from a trusted registry" "$t/out" && ok registry-reason || fail registry-reason
expect registry-port 1 "$C" check --policy "$t/policy.yaml" --image registry.example.com:5000/app:1

# formats
"$C" check -f json "$S/mission/profiles/seed-restrictive.json" >"$t/j" 2>/dev/null
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["summary"]["failed"] == 1' "$t/j" && ok json || fail json
"$C" check -f sarif "$S/mission/profiles/seed-restrictive.json" >"$t/s" 2>/dev/null
python3 -c '
import json,sys
d=json.load(open(sys.argv[1]))
assert d["version"] == "2.1.0"
r=d["runs"][0]
ids={x["id"] for x in r["tool"]["driver"]["rules"]}
assert r["results"] and all(x["ruleId"] in ids for x in r["results"])
' "$t/s" && ok sarif || fail sarif
"$C" check -f junit "$S/mission/profiles/seed-restrictive.json" "$S/mission/profiles/seed-minimal.json" >"$t/x" 2>/dev/null
python3 -c '
import sys, xml.etree.ElementTree as ET
s=ET.parse(sys.argv[1]).getroot().find("testsuite")
assert s.get("tests") == "2" and s.get("failures") == "1", s.attrib
' "$t/x" && ok junit || fail junit
# -o writes atomically; a failing run leaves no partial file
expect output-file 1 "$C" check -o "$t/report.txt" "$S/mission/profiles/seed-restrictive.json"
[ -s "$t/report.txt" ] && ok output-written || fail output-written

# input errors: exit 2 with a position
printf 'apiVersion: v1\nkind: Pod\nspec:\n  containers: {name: x}\n' >"$t/bad.yaml"
expect bad-manifest 2 "$C" check "$t/bad.yaml"
grep -q "bad.yaml:4:" "$t/err" && ok bad-manifest-position || { fail bad-manifest-position; cat "$t/err"; }
printf 'baseline: gvisor\nmaxCals: 3\n' >"$t/badpolicy.yaml"
expect bad-policy 2 "$C" check --policy "$t/badpolicy.yaml" "$S/mission/profiles/seed-minimal.json"
grep -q "badpolicy.yaml:2:1: unknown field 'maxCals'" "$t/err" && ok bad-policy-position || fail bad-policy-position
expect missing-input 2 "$C" check "$t/nope.json"
expect bad-format 2 "$C" check -f xml "$S/mission/profiles/seed-minimal.json"
expect no-input 2 "$C" check

# policy export: structure
"$C" policy export --rego >"$t/p.rego" && grep -q '^package capgate.admission' "$t/p.rego" && grep -q '^import rego.v1' "$t/p.rego" \
	&& grep -q 'deny contains msg if' "$t/p.rego" && ok rego || fail rego
"$C" policy export --gatekeeper >"$t/gk.yaml" && python3 -c '
import sys
t=open(sys.argv[1]).read()
assert "kind: ConstraintTemplate" in t and "kind: K8sCapgate" in t and "violation contains" in t
' "$t/gk.yaml" && ok gatekeeper || fail gatekeeper
n_allowed=$("$C" policy show --list | grep -c '^[a-z_0-9]*$')
n_rego=$(sed -n '/^allowed_syscalls := {/,/^}/p' "$t/p.rego" | grep -o '"[a-z_0-9]*"' | wc -l)
[ "$n_allowed" -eq "$n_rego" ] && ok rego-same-allowed-set || fail "rego-same-allowed-set ($n_allowed vs $n_rego)"

# the built-in gVisor baseline matches the runsc installed here (scripts/dev.sh installs it)
if command -v runsc >/dev/null 2>&1; then
	expect gvisor-probe-matches-builtin 0 "$C" policy probe-gvisor -o "$t/gvisor.json"
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["implemented"]) > 250' "$t/gvisor.json" \
		&& ok gvisor-probe-output || fail gvisor-probe-output
	printf 'baselineFile: %s\n' "$t/gvisor.json" >"$t/probed.yaml"
	expect probed-baseline-policy 0 "$C" check --policy "$t/probed.yaml" "$S/mission/profiles/seed-minimal.json"
else
	fail "gvisor-probe: runsc is not installed (scripts/dev.sh installs it)"
fi
