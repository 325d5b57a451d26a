#!/usr/bin/env bash
# Peak memory of `capgate check` over one generated manifest of 1,000 Pods and
# one of 40,000 (each Pod with three containers naming one of 8 Localhost
# profiles), in every report format. `check` reads, evaluates and reports
# one document at a time (the file is never held whole), so the peak should
# not grow with the number of Pods nor with the file's size. Prints peak RSS
# for each size, the ratio, and the growth per Pod beside the input bytes per
# Pod.
# Peak RSS is getrusage's ru_maxrss as /usr/bin/time -f %M reports it.
set -euo pipefail
cd "$(dirname "$0")/.."
make -s -j"$(nproc)" build/capgate >/dev/null
SMALL=${SMALL:-1000}
LARGE=${LARGE:-40000}
CAPGATE=${CAPGATE:-./build/capgate}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/profiles/team"
for i in 0 1 2 3 4 5 6 7; do
	cat >"$work/profiles/team/p$i.json" <<JSON
{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read", "write", "openat", "close", "fstat",
 "mmap", "mprotect", "munmap", "brk", "rt_sigaction", "rt_sigprocmask", "execve", "exit_group", "arch_prctl",
 "futex", "epoll_wait", "accept4", "getpid$([ $i -eq 7 ] && echo '", "ptrace')"], "action": "SCMP_ACT_ALLOW"}]}
JSON
done
gen() { # n file
	python3 - "$1" >"$2" <<'PY'
import sys
n = int(sys.argv[1])
for i in range(n):
    print(f"""---
apiVersion: v1
kind: Pod
metadata:
  name: web-{i}
  namespace: team-{i % 17}
spec:
  securityContext:
    seccompProfile: {{type: Localhost, localhostProfile: team/p{i % 8}.json}}
  initContainers:
  - name: init
    image: registry.example.com/team/init:1.{i % 5}
  containers:
  - name: app
    image: registry.example.com/team/app:2.{i % 9}
  - name: side
    image: registry.example.com/team/side@sha256:{i:064x}""")
PY
}
gen "$SMALL" "$work/small.yaml"
gen "$LARGE" "$work/large.yaml"
peak() { # format file -> KiB
	/usr/bin/time -f %M -o "$work/rss" "$CAPGATE" check -q -f "$1" -o "$work/report" --profiles "$work/profiles" "$2" \
		>/dev/null 2>&1 || true
	tail -1 "$work/rss"
}
bs=$(stat -c %s "$work/small.yaml")
bl=$(stat -c %s "$work/large.yaml")
printf 'capgate check, peak RSS: %d Pods (%d KiB) vs %d Pods (%d KiB)\n' "$SMALL" $((bs / 1024)) "$LARGE" $((bl / 1024))
printf '%-6s %10s %10s %6s %14s %14s\n' format small/KiB large/KiB ratio growth/Pod input/Pod
for f in text json sarif junit; do
	s=$(peak "$f" "$work/small.yaml")
	l=$(peak "$f" "$work/large.yaml")
	printf '%-6s %10d %10d %6.2f %12d B %12d B\n' "$f" "$s" "$l" "$(echo "$l / $s" | bc -l)" \
		$(((l - s) * 1024 / (LARGE - SMALL))) $(((bl - bs) / (LARGE - SMALL)))
done
