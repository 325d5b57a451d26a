#!/usr/bin/env bash
# End-to-end tests of `capgate lint` through the binary: exit statuses
# (0 clean, 1 findings at or above --fail-on, 2 usage or parse error),
# --fail-on, --format json, positions, multi-document YAML.
# Prints "ok NAME" / "FAIL NAME: why" / "skip NAME: reason".
set -u
cd "$(dirname "$0")/../.."
CAPGATE=${CAPGATE:-./build/capgate}
SHARED=${CAPGATE_SHARED:-../shared}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok() { echo "ok $1"; }
fail() { printf "FAIL %s: %s\n" "$1" "$(printf %s "$2" | tr "\n" "|" | head -c 2000)"; } # one line: the CI shows a part
# run NAME WANT_RC ARGS...: runs capgate lint, output in $tmp/out and $tmp/err
run() {
	local name=$1 want=$2
	shift 2
	"$CAPGATE" lint "$@" >"$tmp/out" 2>"$tmp/err"
	local rc=$?
	if [ "$rc" -ne "$want" ]; then
		fail "$name" "exit $rc, expected $want; stdout: $(head -c 300 "$tmp/out"); stderr: $(head -c 300 "$tmp/err")"
		return 1
	fi
}
has() { # NAME FILE TEXT
	if grep -qF -- "$3" "$2"; then return 0; fi
	fail "$1" "$(basename "$2") lacks '$3': $(head -c 600 "$2")"
	return 1
}

if [ ! -x "$CAPGATE" ]; then echo "FAIL lint.sh: $CAPGATE not built"; exit 1; fi

# A profile whose worst finding is medium (x86 besides x86_64) with no size note.
cat >"$tmp/medium.json" <<'J'
{
  "defaultAction": "SCMP_ACT_ERRNO",
  "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
  "syscalls": [
    {"names": ["execve", "brk", "mmap", "mprotect", "exit_group", "arch_prctl", "read", "write", "close",
               "openat", "newfstatat", "pread64", "munmap", "set_tid_address", "set_robust_list", "rseq",
               "prlimit64", "rt_sigaction", "rt_sigprocmask", "futex", "getrandom"],
     "action": "SCMP_ACT_ALLOW"}
  ]
}
J
cat >"$tmp/reboot.json" <<'J'
{
  "defaultAction": "SCMP_ACT_ERRNO",
  "syscalls": [
    {"names": ["execve", "brk", "exit_group", "arch_prctl"], "action": "SCMP_ACT_ALLOW"},
    {"names": ["reboot"], "action": "SCMP_ACT_ALLOW"}
  ]
}
J
# malformed: unknown action on line 4
cat >"$tmp/bad.json" <<'J'
{
  "defaultAction": "SCMP_ACT_ERRNO",
  "syscalls": [
    {"names": ["read"], "action": "SCMP_ACT_ALOW"}
  ]
}
J
printf '{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [\n' >"$tmp/trunc.json"

# exit 0 below the threshold, 1 at or above it
if run clean-below-threshold 0 "$tmp/medium.json"; then
	has clean-below-threshold "$tmp/out" "medium: extra-arch:" && ok clean-below-threshold
fi
run fail-on-medium 1 "$tmp/medium.json" --fail-on medium && ok fail-on-medium
run reboot-critical 1 "$tmp/reboot.json" --fail-on critical &&
	has reboot-critical "$tmp/out" "reboot.json:5:16: critical: dangerous-call: allows reboot: reboots or halts the host" &&
	ok reboot-critical
run default-fail-on-high 1 "$tmp/reboot.json" && ok default-fail-on-high

# usage errors: 2
run bad-fail-on 2 "$tmp/medium.json" --fail-on severe && has bad-fail-on "$tmp/err" "unknown severity" && ok bad-fail-on
run bad-format 2 "$tmp/medium.json" --format xml && ok bad-format
run no-args 2 && ok no-args
run missing-file 2 "$tmp/nope.json" && ok missing-file

# parse errors: 2 with file:line:col, other files still linted
if run parse-error 2 "$tmp/bad.json" "$tmp/reboot.json"; then
	has parse-error "$tmp/err" "bad.json:4:" && has parse-error "$tmp/err" "SCMP_ACT_ALOW" &&
		has parse-error "$tmp/out" "allows reboot" && ok parse-error
fi
run truncated 2 "$tmp/trunc.json" && has truncated "$tmp/err" "trunc.json:" && ok truncated

# JSON output parses and carries the fields
if run json-format 1 --format json "$tmp/reboot.json" "$tmp/medium.json"; then
	if python3 -c '
import json, sys
v = json.load(sys.stdin)
assert isinstance(v, list) and v
for f in v:
    assert set(["file", "line", "column", "severity", "rule", "message", "calls"]) <= set(f), f
assert any(f["rule"] == "dangerous-call" and f["calls"] == ["reboot"] and f["line"] == 5 for f in v)
' <"$tmp/out" 2>"$tmp/py"; then ok json-format; else fail json-format "$(cat "$tmp/py")"; fi
fi
run json-empty 0 --format json --fail-on critical "$tmp/medium.json" &&
	python3 -c 'import json,sys; json.load(sys.stdin)' <"$tmp/out" && ok json-empty

# the shared corpus
if [ -d "$SHARED/mission/profiles" ]; then
	if run web-server-cannot-start 1 "$SHARED/mission/profiles/seed-web-server.json"; then
		has web-server-cannot-start "$tmp/out" "critical: cannot-start:" &&
			has web-server-cannot-start "$tmp/out" "mprotect" && ok web-server-cannot-start
	fi
	if run restrictive-flagged 1 "$SHARED/mission/profiles/seed-restrictive.json"; then
		has restrictive-flagged "$tmp/out" "seed-restrictive.json:171:9: critical: dangerous-call: allows reboot" &&
			has restrictive-flagged "$tmp/out" "kexec_load" && ok restrictive-flagged
	fi
	run docker-default-clean 0 --kernel 6.1 --arch x86_64 "$SHARED/corpus/profiles/docker-default.json" &&
		ok docker-default-clean
	run docker-sys-admin 1 --cap CAP_SYS_ADMIN --kernel 6.1 --arch x86_64 "$SHARED/corpus/profiles/docker-default.json" &&
		has docker-sys-admin "$tmp/out" "allows fsconfig, fsmount, fsopen, fspick, mount" && ok docker-sys-admin
	if run multi-doc-yaml 1 "$SHARED/corpus/profiles/spo-seccompprofile.yaml"; then
		has multi-doc-yaml "$tmp/out" "profile-allow: permissive profile" &&
			has multi-doc-yaml "$tmp/out" "profile-block: no program can run" && ok multi-doc-yaml
	fi
	run permissive 1 "$SHARED/corpus/profiles/spo-test-profiles-permissive.json" &&
		has permissive "$tmp/out" "critical: default-allow: permissive profile" && ok permissive
else
	echo "skip corpus: shared corpus not found at $SHARED"
fi

# --binary: the start-up calls are judged by how the program is linked. A
# profile with what glibc's loader makes but not rt_sigaction, futex, ...
cat >"$tmp/loader.json" <<'J'
{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],"syscalls":[{"names":["execve","brk",
"exit_group","arch_prctl","write","mmap","mprotect","openat","read","close","newfstatat","pread64","munmap",
"set_tid_address","set_robust_list","rseq","prlimit64"],"action":"SCMP_ACT_ALLOW"}]}
J
run startup-unknown 1 "$tmp/loader.json" --fail-on medium && grep -q "startup-calls: a dynamically linked program.*rt_sigaction.*--binary" "$tmp/out" &&
	ok startup-unknown-warns || fail startup-unknown-warns "$(cat "$tmp/out" "$tmp/err")"
"$CAPGATE" lint --fail-on medium --binary /bin/true "$tmp/loader.json" >"$tmp/out" 2>&1 && ! grep -q startup-calls "$tmp/out" &&
	ok startup-glibc-loader-only || fail startup-glibc-loader-only "$(cat "$tmp/out")"
# without rseq, glibc's loader set is still checked
sed 's/"rseq",//' "$tmp/loader.json" >"$tmp/norseq.json"
"$CAPGATE" lint --binary /bin/true "$tmp/norseq.json" >"$tmp/out" 2>&1
grep -q "/bin/true is dynamically linked against glibc.*: rseq" "$tmp/out" && ok startup-glibc-rseq ||
	fail startup-glibc-rseq "$(cat "$tmp/out")"
if [ -x /bin/busybox ] && ! readelf -l /bin/busybox 2>/dev/null | grep -q INTERP; then
	"$CAPGATE" lint --fail-on medium --binary /bin/busybox "$tmp/norseq.json" >"$tmp/out" 2>&1 &&
		! grep -q startup-calls "$tmp/out" && ok startup-static-none || fail startup-static-none "$(cat "$tmp/out")"
else
	fail startup-static-none "no static busybox (busybox-static: scripts/dev.sh installs it)"
fi
"$CAPGATE" lint --binary /etc/hostname "$tmp/loader.json" >"$tmp/out" 2>&1
[ $? -eq 2 ] && grep -q "not a little-endian ELF file" "$tmp/out" && ok binary-not-elf || fail binary-not-elf "$(cat "$tmp/out")"
