#!/usr/bin/env bash
# Container engines enforcing a capgate closure: Podman (crun), Docker
# (dockerd with runc and with runsc as a runtime) and Compose (security_opt)
# run a locally built image with seccomp=FILE; the workload works and the
# calls outside the closure (mount, ptrace) fail with the errno 'capgate run'
# gives. Then the OCI hook (capgate oci-hook) records a container's closure
# under Podman with crun and with runc, and the same container runs under it
# with no call denied. Every daemon and
# store is private to this test (under its temp dir) and removed at exit.
set -u
C=${CAPGATE:-./build/capgate}
C=$(cd "$(dirname "$C")" && pwd)/$(basename "$C")
t=$(mktemp -d)
DOCKERD_PID= CONTAINERD_PID=
cleanup() {
	[ -n "$DOCKERD_PID" ] && kill "$DOCKERD_PID" 2>/dev/null && wait "$DOCKERD_PID" 2>/dev/null
	[ -n "$CONTAINERD_PID" ] && kill "$CONTAINERD_PID" 2>/dev/null && wait "$CONTAINERD_PID" 2>/dev/null
	# the stores hold read-only layers and mounts of their own
	grep -o " $t/[^ ]*" /proc/self/mounts 2>/dev/null | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
	chmod -R u+w "$t" 2>/dev/null
	rm -rf "$t"
}
trap cleanup EXIT
ok() { echo "ok $1"; }
fail() { printf "FAIL %s\n" "$(printf %s "$1" | tr "\n" "|" | head -c 2000)"; } # one line: the CI shows a part
# stdin of every engine is a file of this test's own, never /dev/null (runsc
# as root chowns the stdio it is given)
: >"$t/empty"

for tool in umoci skopeo jq busybox cc; do
	if ! command -v $tool >/dev/null; then
		echo "skip engines: $tool is not installed (scripts/dev.sh installs it)"
		exit 0
	fi
done
BUSYBOX=$(command -v busybox)
file -L "$BUSYBOX" 2>/dev/null | grep -q "statically linked" || { echo "skip engines: $BUSYBOX is not static (busybox-static)"; exit 0; }

# ---- the image: busybox and a probe that makes one call and says how it went
cat >"$t/probe.c" <<'EOF'
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	long r = 0;
	if (argc > 1 && !strcmp(argv[1], "ptrace"))
		r = ptrace(PTRACE_TRACEME, 0, 0, 0);
	else if (argc > 1 && !strcmp(argv[1], "mount"))
		r = mount("none", "/tmp", "tmpfs", 0, "");
	else if (argc > 1 && !strcmp(argv[1], "rseq"))
		r = syscall(SYS_rseq, 0, 0, 0, 0);
	printf("%s: %s\n", argc > 1 ? argv[1] : "none", r < 0 ? strerror(errno) : "ok");
	return r < 0 ? errno : 0;
}
EOF
cc -static -O2 -o "$t/probe" "$t/probe.c" 2>"$t/err" || { echo "skip engines: cannot link a static program (libc6-dev)"; cat "$t/err"; exit 0; }
L=$t/layout
umoci init --layout "$L" && umoci new --image "$L:app" && umoci unpack --image "$L:app" "$t/b" >/dev/null \
	&& mkdir -p "$t/b/rootfs/bin" && cp "$BUSYBOX" "$t/b/rootfs/bin/busybox" && cp "$t/probe" "$t/b/rootfs/bin/probe" \
	&& umoci repack --image "$L:app" "$t/b" && umoci config --image "$L:app" --config.cmd /bin/busybox \
	|| { fail umoci-build; exit 0; }
R=$t/b/rootfs

# ---- the closure, and what capgate run says about calls outside it --------
W='echo hi; ls /; ./bin/probe none'
(cd "$R" && "$C" trace -q -o "$t/good.json" -- ./bin/busybox sh -c "$W") >/dev/null 2>"$t/err" </dev/zero \
	|| { fail trace; cat "$t/err"; exit 0; }
ok trace
# gVisor implements no rseq (glibc falls back): the closure for runsc leaves it out
jq '.syscalls |= map(select(.names != ["rseq"]))' "$t/good.json" >"$t/good-gvisor.json"
# runc (Go) runs on after it installs the filter (see docs/CONTAINERS.md)
RUNC_CALLS='"fstatfs","futex","nanosleep","sched_yield","rt_sigprocmask","rt_sigreturn","sigaltstack","mmap","munmap","madvise","getpid","gettid","tgkill","write","read","epoll_pwait","epoll_ctl","newfstatat","fstat"'
jq ".syscalls += [{\"names\": [$RUNC_CALLS], \"action\": \"SCMP_ACT_ALLOW\"}]" "$t/good.json" >"$t/good-runc.json"
for call in mount ptrace; do
	(cd "$R" && "$C" run --profile "$t/good.json" -- ./bin/probe $call) >"$t/host-$call.out" 2>&1 </dev/zero
	echo $? >"$t/host-$call.rc"
done
grep -q "^mount: Operation not permitted" "$t/host-mount.out" && grep -q "^ptrace: Operation not permitted" "$t/host-ptrace.out" \
	&& ok host-denials || { fail host-denials; cat "$t/host-mount.out" "$t/host-ptrace.out"; }

# check_engine NAME OUTFILE-PREFIX: the workload ran; mount and ptrace were
# denied with the same message and status as under capgate run; no warning
check_engine() { # name run-function profile
	local name=$1 run=$2 prof=$3 call rc
	$run "$prof" /bin/busybox sh -c "$W" >"$t/$name.out" 2>"$t/$name.err" <"$t/empty"
	rc=$?
	[ $rc -eq 0 ] && grep -q '^hi$' "$t/$name.out" && grep -q '^none: ok$' "$t/$name.out" \
		&& ok "$name-runs" || { fail "$name-runs (exit $rc)"; sed 's/^/    /' "$t/$name.out" "$t/$name.err" | head -20; }
	# the profile is taken as it is: nothing on stderr (no warning, no error)
	[ ! -s "$t/$name.err" ] && ok "$name-no-warning" || { fail "$name-no-warning"; sed 's/^/    /' "$t/$name.err" | head; }
	for call in mount ptrace; do
		$run "$prof" /bin/probe $call >"$t/$name-$call.out" 2>&1 <"$t/empty"
		rc=$?
		[ "$rc" = "$(cat "$t/host-$call.rc")" ] && cmp -s "$t/$name-$call.out" "$t/host-$call.out" \
			&& ok "$name-$call-denied-as-capgate-run" \
			|| { fail "$name-$call-denied-as-capgate-run (exit $rc, capgate run $(cat "$t/host-$call.rc"))"; sed 's/^/    /' "$t/$name-$call.out" | head; }
	done
}

# ---- Podman (crun) ------------------------------------------------------------
# crun refuses hybrid cgroups ("cgroups in hybrid mode not supported"): podman
# runs in a mount namespace of its own with the cgroup2 mount beside the v1
# hierarchies detached. no-new-privileges: crun then installs the filter just
# before the workload's exec (without it, crun's own setresgid/setgroups/capset
# run under the filter and must be in the closure).
PODMAN_OPTS="--root $t/podman/root --runroot $t/podman/run --tmpdir $t/podman/tmp --storage-driver vfs --cgroup-manager cgroupfs --events-backend file"
podman_() {
	unshare -m --propagation private sh -c 'umount -l /sys/fs/cgroup/unified 2>/dev/null; exec "$@"' sh podman $PODMAN_OPTS "$@"
}
podman_run() { # profile cmd...
	local prof=$1; shift
	podman_ run --rm --pull never --network none --security-opt no-new-privileges --security-opt "seccomp=$prof" \
		--ulimit nofile=1024:1024 --ulimit nproc=1024:1024 localhost/bb:app "$@"
}
podman_run_rt() { # runtime profile cmd...
	local rt=$1 prof=$2; shift 2
	podman_ run --runtime $rt --rm --pull never --network none --security-opt no-new-privileges --security-opt "seccomp=$prof" \
		--ulimit nofile=1024:1024 --ulimit nproc=1024:1024 localhost/bb:app "$@"
}
hook_engine() { # runtime: the hook records a container podman runs with it
	local rt=$1 hp=hook rc
	[ $rt = crun ] || hp=hook-$rt
	hooked() { # annotation-value cmd...
		local a=$1; shift
		podman_ run --runtime $rt --rm --pull never --network none --security-opt no-new-privileges --hooks-dir "$t/hooks" \
			--annotation "io.capgate.trace=$a" --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 localhost/bb:app "$@"
	}
	hooked "$t/traces/app-$rt.json" /bin/busybox sh -c "$W" >"$t/out" 2>"$t/err" <"$t/empty"
	rc=$?
	[ $rc -eq 0 ] && grep -q '^none: ok$' "$t/out" && [ -s "$t/traces/app-$rt.json" ] && ok "$hp-records" \
		|| { fail "$hp-records (exit $rc)"; sed 's/^/    /' "$t/out" "$t/err" "$t/hookstate"/*.log 2>/dev/null | head -20; }
	jq -e '[.syscalls[].names[]] | index("execve") and index("getdents64") and index("getcwd")' "$t/traces/app-$rt.json" >/dev/null \
		&& ok "$hp-closure-has-the-workload" || fail "$hp-closure-has-the-workload"
	# the runtime's own start-up between the hook and the exec (pivot_root,
	# the credentials, capabilities, the filter itself) is not the workload's
	jq -e '[.syscalls[].names[]] | (index("pivot_root") or index("setresgid") or index("setgroups") or index("capset") or index("seccomp") or index("umount2")) | not' \
		"$t/traces/app-$rt.json" >/dev/null && ok "$hp-no-runtime-calls" \
		|| { fail "$hp-no-runtime-calls: runtime calls present"; jq -c '[.syscalls[].names[]]' "$t/traces/app-$rt.json"; }
	[ -z "$(ls "$t/hookstate")" ] && ok "$hp-state-cleaned" || { fail "$hp-state-cleaned"; ls "$t/hookstate"; }
	# zero denials: the recorded closure, every other call killing the
	# process, runs the same container to the end
	jq '.defaultAction = "SCMP_ACT_KILL_PROCESS" | del(.defaultErrnoRet)' "$t/traces/app-$rt.json" >"$t/app-kill-$rt.json"
	# runc (Go) runs on after it installs the filter: its calls join the closure to enforce it there
	[ $rt = runc ] && jq ".syscalls += [{\"names\": [$RUNC_CALLS], \"action\": \"SCMP_ACT_ALLOW\"}]" "$t/app-kill-$rt.json" >"$t/k" && mv "$t/k" "$t/app-kill-$rt.json"
	podman_run_rt $rt "$t/app-kill-$rt.json" /bin/busybox sh -c "$W" >"$t/out" 2>"$t/err" <"$t/empty"
	rc=$?
	[ $rc -eq 0 ] && grep -q '^none: ok$' "$t/out" && ok "$hp-closure-zero-denials" || { fail "$hp-closure-zero-denials (exit $rc)"; cat "$t/err"; }
	# ... and the check can fail: one recorded call less kills it (SIGSYS)
	jq '.syscalls |= map(select(.names != ["getcwd"]))' "$t/app-kill-$rt.json" >"$t/app-kill-less-$rt.json"
	podman_run_rt $rt "$t/app-kill-less-$rt.json" /bin/busybox sh -c "$W" >"$t/out" 2>"$t/err" <"$t/empty"
	rc=$?
	[ $rc -eq 159 ] && ok "$hp-closure-one-less-killed" || fail "$hp-closure-one-less-killed (exit $rc, want 159)"
	# the annotation is the container creator's; the hook runs as root: a
	# file outside --allow-dir is refused and the container does not start
	hooked /etc/capgate-hook-escape.json /bin/busybox true >"$t/out" 2>"$t/err" <"$t/empty"
	rc=$?
	[ $rc -ne 0 ] && [ ! -e /etc/capgate-hook-escape.json ] && ok "$hp-refuses-outside-allow-dir" || { fail "$hp-refuses-outside-allow-dir (exit $rc)"; cat "$t/err"; rm -f /etc/capgate-hook-escape.json; }
	ln -s /etc "$t/traces/etc"
	hooked "$t/traces/etc/capgate-hook-escape.json" /bin/busybox true >"$t/out" 2>"$t/err" <"$t/empty"
	rc=$?
	[ $rc -ne 0 ] && [ ! -e /etc/capgate-hook-escape.json ] && ok "$hp-refuses-symlink-out" \
		|| { fail "$hp-refuses-symlink-out (exit $rc)"; rm -f /etc/capgate-hook-escape.json; }
	rm "$t/traces/etc"
}
if ! command -v podman >/dev/null; then
	echo "skip podman: podman is not installed"
else
	skopeo copy -q "oci:$L:app" "oci-archive:$t/bb-oci.tar" >"$t/out" 2>&1 \
		&& id=$(podman_ load -q -i "$t/bb-oci.tar" 2>"$t/err" | sed -n 's/^Loaded image: *//p' | sed 's/^sha256://') \
		&& [ -n "$id" ] && podman_ tag "$id" localhost/bb:app \
		&& ok podman-load || { fail podman-load; cat "$t/out" "$t/err"; }
	check_engine podman podman_run "$t/good.json"

	# ---- the OCI hook: record the container, then run it under its closure,
	# under crun (podman's default) and runc (podman --runtime runc)
	mkdir -p "$t/hooks" "$t/traces" "$t/hookstate"
	for stage in prestart poststop; do
		jq -n --arg c "$C" --arg a "$t/traces" --arg s "$t/hookstate" --arg st $stage \
			'{version: "1.0.0", hook: {path: $c, args: ["capgate", "oci-hook", "--allow-dir", $a, "--state-dir", $s, $st]},
			  when: {annotations: {"^io\\.capgate\\.trace$": ".+"}}, stages: [$st]}' >"$t/hooks/capgate-$stage.json"
	done
	for rt in crun runc; do
		command -v $rt >/dev/null || { echo "skip hook-$rt: $rt is not installed"; continue; }
		hook_engine $rt
	done
	# a container without the annotation: the hook does nothing
	podman_ run --rm --pull never --network none --hooks-dir "$t/hooks" --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
		localhost/bb:app /bin/busybox true >"$t/out" 2>"$t/err" <"$t/empty" && [ -z "$(ls "$t/hookstate")" ] \
		&& ok hook-not-asked || { fail hook-not-asked; cat "$t/err"; }
fi

# ---- Docker: dockerd with its own containerd, runc and runsc ------------------
# dockerd and containerd of this test alone: their sockets, roots and state
# under $t; no iptables, no bridge, vfs storage (no overlay on overlay).
# runc needs no-new-privileges (else it installs the filter before its own
# start-up, which then fails: "operation not permitted") and its Go calls.
# runsc runs with -i: without it containerd's shim hands the container the
# host's /dev/null as stdin, and runsc as root chowns its stdio to nobody.
D=$t/docker
docker_() { /usr/bin/docker -H "unix://$D/docker.sock" "$@"; }
docker_runc() { local prof=$1; shift; docker_ run --rm --network none --security-opt no-new-privileges --security-opt "seccomp=$prof" localhost/bb:app "$@"; }
docker_runsc() { local prof=$1; shift; docker_ run -i --rm --network none --runtime runsc --security-opt "seccomp=$prof" localhost/bb:app "$@"; }
if [ ! -x /usr/sbin/dockerd ] || [ ! -x /usr/bin/docker ] || ! command -v containerd >/dev/null; then
	echo "skip docker: dockerd, docker (docker.io) or containerd is not installed"
else
	mkdir -p "$D"
	cat >"$D/containerd.toml" <<EOF
version = 2
root = "$D/containerd/root"
state = "$D/containerd/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$D/containerd.sock"
[ttrpc]
  address = "$D/containerd.sock.ttrpc"
EOF
	printf '{"runtimes": {"runsc": {"path": "%s", "runtimeArgs": ["--network=none", "--oci-seccomp"]}}}\n' "$(command -v runsc || echo /usr/bin/runsc)" >"$D/daemon.json"
	containerd -c "$D/containerd.toml" >"$D/containerd.log" 2>&1 </dev/null &
	CONTAINERD_PID=$!
	for _ in $(seq 100); do [ -S "$D/containerd.sock" ] && break; sleep 0.2; done
	/usr/sbin/dockerd --config-file "$D/daemon.json" --containerd "$D/containerd.sock" --data-root "$D/root" \
		--exec-root "$D/exec" --pidfile "$D/dockerd.pid" -H "unix://$D/docker.sock" --iptables=false --ip6tables=false \
		--bridge=none --storage-driver=vfs --exec-opt native.cgroupdriver=cgroupfs >"$D/dockerd.log" 2>&1 </dev/null &
	DOCKERD_PID=$!
	for _ in $(seq 150); do docker_ info >/dev/null 2>&1 && break; sleep 0.2; done
	if ! docker_ info >/dev/null 2>&1; then
		fail docker-daemon-starts
		tail -20 "$D/dockerd.log" "$D/containerd.log"
	else
		ok docker-daemon-starts
		skopeo copy -q "oci:$L:app" "docker-archive:$t/bb-docker.tar:localhost/bb:app" >"$t/out" 2>&1 \
			&& docker_ load -i "$t/bb-docker.tar" >"$t/out" 2>&1 && ok docker-load || { fail docker-load; cat "$t/out"; }
		check_engine docker-runc docker_runc "$t/good-runc.json"
		# Compose: security_opt seccomp=FILE (relative to the compose file)
		if command -v docker-compose >/dev/null; then
			mkdir -p "$t/compose"
			printf 'version: "2.4"\nservices:\n  app:\n    image: localhost/bb:app\n    network_mode: none\n    security_opt:\n      - no-new-privileges:true\n      - seccomp=app.json\n' >"$t/compose/docker-compose.yml"
			compose_run() { # profile cmd...: the profile as app.json beside the compose file
				local rc
				cp "$1" "$t/compose/app.json" && shift
				(cd "$t/compose" && DOCKER_HOST="unix://$D/docker.sock" docker-compose -p capgate run --rm -T app "$@") 2>"$t/compose-progress.err"
				rc=$?
				# compose's own lines: its progress, and the exit status it repeats
				grep -v "capgate_app_run\|^$rc\$" "$t/compose-progress.err" >&2
				return $rc
			}
			check_engine compose compose_run "$t/good-runc.json"
			# the file is what is enforced: one call less kills the workload
			jq '.defaultAction = "SCMP_ACT_KILL_PROCESS" | del(.defaultErrnoRet) | .syscalls |= map(.names -= ["getcwd"])' "$t/good-runc.json" >"$t/compose-less.json"
			compose_run "$t/compose-less.json" /bin/busybox sh -c "$W" >"$t/out" 2>"$t/err" <"$t/empty"
			rc=$?
			[ $rc -eq 159 ] && ok compose-closure-one-less-killed || { fail "compose-closure-one-less-killed (exit $rc, want 159)"; cat "$t/err"; }
		else
			echo "skip compose: docker-compose is not installed"
		fi
		if command -v runsc >/dev/null; then
			# runsc as root chowns the stdio it is given: the host's
			# /dev/null must not be among it (its change time is the witness)
			devnull_before=$(stat -c '%U:%G %Z' /dev/null)
			check_engine docker-runsc docker_runsc "$t/good-gvisor.json"
			# the 138th call: a closure that lets through a call gVisor does
			# not implement (rseq) passes the filter, and gVisor answers
			# ENOSYS where the host kernel ran it (EINVAL for these args)
			(cd "$R" && "$C" run --profile "$t/good.json" -- ./bin/probe rseq) >"$t/host-rseq.out" 2>&1 </dev/zero
			docker_runsc "$t/good.json" /bin/probe rseq >"$t/out" 2>&1 <"$t/empty"
			rc=$?
			grep -q "^rseq: Invalid argument" "$t/host-rseq.out" && grep -q "^rseq: Function not implemented" "$t/out" && [ $rc -eq 38 ] \
				&& ok docker-runsc-138th-call-enosys || { fail "docker-runsc-138th-call-enosys (exit $rc)"; cat "$t/host-rseq.out" "$t/out"; }
			[ "$(stat -c '%U:%G %Z' /dev/null)" = "$devnull_before" ] && ok docker-runsc-devnull-untouched \
				|| { fail docker-runsc-devnull-untouched; ls -l /dev/null; }
			"$C" run --runtime runsc --rootfs "$R" --profile "$t/good.json" -- /bin/probe rseq >"$t/out" 2>&1 <"$t/empty"
			rc=$?
			grep -q "^rseq: Function not implemented" "$t/out" && [ $rc -eq 38 ] \
				&& ok run-runsc-138th-call-enosys || { fail "run-runsc-138th-call-enosys (exit $rc)"; cat "$t/out"; }
		else
			echo "skip docker-runsc: runsc is not installed"
		fi
	fi
fi

# ---- the hook by itself: the state it reads, what it refuses ----------------
# a state directory whose parents do not exist yet is made
mkdir -p "$t/traces"
HS=$t/hs/run/capgate
hook() { "$C" oci-hook --allow-dir "$t/traces" --state-dir "$HS" "$@"; }
printf '{"ociVersion": "1.0.2", "id": "c1", "status": "created", "pid": %d, "bundle": "/nonexistent", "annotations": {"io.capgate.trace": "/etc/x.json"}}' $$ >"$t/state.json"
hook prestart <"$t/state.json" >"$t/out" 2>"$t/err"
rc=$?
[ $rc -eq 2 ] && grep -q "io.capgate.trace: /etc/x.json is not under the allowed directory" "$t/err" && ok hook-direct-outside-allow-dir \
	|| { fail "hook-direct-outside-allow-dir (exit $rc)"; cat "$t/err"; }
printf '{"id": "../c1", "pid": 1, "annotations": {"io.capgate.trace": "%s/traces/x.json"}}' "$t" >"$t/state.json"
hook prestart <"$t/state.json" >"$t/out" 2>"$t/err"
rc=$?
[ $rc -eq 2 ] && grep -q "<state>:1:8: id: expected a container id" "$t/err" && ok hook-direct-bad-id || { fail "hook-direct-bad-id (exit $rc)"; cat "$t/err"; }
printf '{"id": "c1", "pid": "12"' >"$t/state.json"
hook prestart <"$t/state.json" >"$t/out" 2>"$t/err"
rc=$?
[ $rc -eq 2 ] && grep -q "<state>:2:1: missing comma" "$t/err" && ok hook-direct-broken-state || { fail "hook-direct-broken-state (exit $rc)"; cat "$t/err"; }
# no such process: the recorder cannot attach, the hook fails (the engine
# then does not start the container) and no recorder is left behind
printf '{"id": "c2", "pid": 2147483646, "annotations": {"io.capgate.trace": "%s/traces/x.json"}}' "$t" >"$t/state.json"
hook prestart <"$t/state.json" >"$t/out" 2>"$t/err"
rc=$?
[ $rc -eq 125 ] && grep -q "cannot record container c2" "$t/err" && [ -z "$(ls "$HS")" ] && ok hook-direct-no-process \
	|| { fail "hook-direct-no-process (exit $rc)"; cat "$t/err"; }
# poststop of a container never recorded, asked for: says so
printf '{"id": "c3", "pid": 0, "annotations": {"io.capgate.trace": "%s/traces/x.json"}}' "$t" >"$t/state.json"
hook poststop <"$t/state.json" >"$t/out" 2>"$t/err"
rc=$?
[ $rc -eq 125 ] && grep -q "container c3 was not recorded" "$t/err" && ok hook-direct-poststop-unrecorded || { fail "hook-direct-poststop-unrecorded (exit $rc)"; cat "$t/err"; }
# a process that never execs: poststop stops the recorder, no closure is
# written (it would hold nothing of a workload)
sleep 1000 </dev/null >/dev/null 2>&1 &
sp=$!
printf '{"id": "c4", "pid": %d, "annotations": {"io.capgate.trace": "%s/traces/c4.json"}}' $sp "$t" >"$t/state.json"
hook prestart <"$t/state.json" >"$t/out" 2>"$t/err" && ok hook-direct-attach || { fail hook-direct-attach; cat "$t/err"; }
kill $sp; wait $sp 2>/dev/null
hook poststop <"$t/state.json" >"$t/out" 2>"$t/err"
rc=$?
[ $rc -eq 125 ] && grep -q "never started" "$t/err" && [ ! -e "$t/traces/c4.json" ] && ok hook-direct-no-exec-no-closure \
	|| { fail "hook-direct-no-exec-no-closure (exit $rc)"; cat "$t/err"; }
# a process that execs after prestart (as a container's init does): only
# what follows its exec counts -- the shell's open and read of the fifo
# before it do not; the probe's own calls are what a plain trace records
"$C" trace -q -o "$t/probe-alone.json" -- "$t/probe" none >/dev/null 2>&1 </dev/zero
mkfifo "$t/fifo"
sh -c 'read x <"$1"; exec "$2" none' sh "$t/fifo" "$t/probe" >/dev/null 2>&1 </dev/null &
sp=$!
printf '{"id": "c5", "pid": %d, "annotations": {"io.capgate.trace": "%s/traces/c5.json"}}' $sp "$t" >"$t/state.json"
hook prestart <"$t/state.json" >"$t/out" 2>"$t/err" || { fail hook-direct-attach-2; cat "$t/err"; }
echo go >"$t/fifo"
wait $sp
hook poststop <"$t/state.json" >"$t/out" 2>"$t/err" || { fail hook-direct-poststop; cat "$t/err"; }
if [ -s "$t/traces/c5.json" ]; then
	jq -c '[.syscalls[].names[]] | sort' "$t/traces/c5.json" >"$t/c5.names"
	jq -c '[.syscalls[].names[]] | sort' "$t/probe-alone.json" >"$t/alone.names"
	cmp -s "$t/c5.names" "$t/alone.names" && ok hook-direct-from-exec \
		|| { fail hook-direct-from-exec; cat "$t/c5.names" "$t/alone.names"; }
else
	fail hook-direct-from-exec-written
fi
