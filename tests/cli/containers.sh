#!/usr/bin/env bash
# The mission's flow end to end on real tools: an image built locally (umoci,
# busybox-static), traced, its closure attached and signed (capgate image),
# checked (capgate check), and run by OCI runtimes (runsc, crun, runc) with
# the closure enforced; the same calls denied as under 'capgate run'.
set -u
C=${CAPGATE:-./build/capgate}
C=$(cd "$(dirname "$C")" && pwd)/$(basename "$C")
H=$(cd "$(dirname "$0")/../helpers" && pwd)
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
ok() { echo "ok $1"; }
fail() { printf "FAIL %s\n" "$(printf %s "$1" | tr "\n" "|" | head -c 2000)"; } # one line: the CI shows a part
expect() { # name want-exit cmd...
	local name=$1 want=$2; shift 2
	"$@" >"$t/out" 2>"$t/err" <"$t/empty"
	local rc=$?
	if [ "$rc" -eq "$want" ]; then ok "$name"; else fail "$name (exit $rc, want $want)"; sed 's/^/    /' "$t/out" "$t/err" | head -20; fi
}
# stdin for every runtime is a file of this test's own: runsc as root chowns
# the stdio it is given to nobody, and must never be handed /dev/null
: >"$t/empty"

for tool in umoci jq openssl busybox; do
	if ! command -v $tool >/dev/null; then
		echo "skip containers: $tool is not installed (scripts/dev.sh installs it)"
		exit 0
	fi
done
BUSYBOX=$(command -v busybox)
file -L "$BUSYBOX" 2>/dev/null | grep -q "statically linked" || { echo "skip containers: $BUSYBOX is not static (busybox-static)"; exit 0; }

# ---- build: a busybox image in an OCI layout, made with umoci --------------
L=$t/layout
umoci init --layout "$L" && umoci new --image "$L:app" && umoci unpack --image "$L:app" "$t/b" >/dev/null \
	&& mkdir -p "$t/b/rootfs/bin" && cp "$BUSYBOX" "$t/b/rootfs/bin/busybox" \
	&& umoci repack --image "$L:app" "$t/b" && umoci config --image "$L:app" --config.cmd /bin/busybox \
	|| { fail umoci-build; exit 0; }
ok umoci-build

# ---- trace the workload; gVisor implements no rseq (glibc falls back when it
# fails), so the closure for gVisor leaves it out: with it, the image is the
# "138th call" case below
W='echo hi; ls /'
if ! "$C" trace -o "$t/traced.json" -- "$t/b/rootfs/bin/busybox" sh -c "$W" >"$t/out" 2>"$t/err" </dev/zero; then
	fail trace; cat "$t/err"; exit 0
fi
ok trace
jq '.syscalls |= map(select(.names != ["rseq"]))' "$t/traced.json" >"$t/good.json"
cp -r "$L" "$t/layout-bad"

# ---- attach and sign --------------------------------------------------------
openssl ecparam -name prime256v1 -genkey -noout -out "$t/cosign.key" 2>/dev/null
openssl ec -in "$t/cosign.key" -pubout -out "$t/cosign.pub" 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out "$t/other.key" 2>/dev/null
openssl ec -in "$t/other.key" -pubout -out "$t/other.pub" 2>/dev/null
printf 'images:\n  requireSignature: true\n  keys: [cosign.pub]\n' >"$t/policy.yaml"
printf 'images:\n  requireSignature: true\n  keys: [other.pub]\n' >"$t/other-policy.yaml"
cp -r "$L" "$t/layout-orig"
expect attach 0 "$C" image attach --closure "$t/good.json" "$L:app"
new=$(head -1 "$t/out")
# the closure's digest is the label, and the image got a new digest
cdig=$(sed -n 's/^closure //p' "$t/out")
cfg=$(jq -r '.config.digest' "$L/blobs/sha256/${new#sha256:}" | cut -d: -f2)
[ "$(jq -r '.config.Labels["io.capgate.closure.digest"]' "$L/blobs/sha256/$cfg")" = "$cdig" ] && ok attach-label || fail attach-label
jq -e '.config.Labels["io.capgate.syscalls"] | split(",") | index("execve")' "$L/blobs/sha256/$cfg" >/dev/null && ok attach-syscalls-label || fail attach-syscalls-label
# everything else of the config kept (umoci's history and Cmd)
jq -e '.config.Cmd == ["/bin/busybox"] and (.history | length) >= 1' "$L/blobs/sha256/$cfg" >/dev/null && ok attach-keeps-config || fail attach-keeps-config
expect sign-needs-identity 2 "$C" image sign --key "$t/cosign.key" "$L:app"
grep -q "give the identity" "$t/err" && ok sign-needs-identity-reason || fail sign-needs-identity-reason
expect sign 0 "$C" image sign --key "$t/cosign.key" --identity registry.example.com/bb "$L:app"
[ "$(cat "$t/out")" = "$new" ] && ok sign-digest || fail sign-digest
expect check-pass 0 "$C" check --policy "$t/policy.yaml" "$L"
# umoci still reads the layout and unpacks the attached image
umoci unpack --image "$L:app" "$t/run" >/dev/null 2>&1 && [ -x "$t/run/rootfs/bin/busybox" ] && ok umoci-reads-attached || fail umoci-reads-attached
# an unlisted key
expect check-unlisted-key 1 "$C" check --policy "$t/other-policy.yaml" "$L"
grep -q "no trusted key" "$t/out" && ok check-unlisted-key-reason || fail check-unlisted-key-reason
# a private key that is not P-256
openssl genrsa -out "$t/rsa.key" 2048 2>/dev/null
expect sign-rsa-refused 2 "$C" image sign --key "$t/rsa.key" --identity registry.example.com/bb "$L:app"

# one byte of the image changed: in its config, in its manifest, in its layer
mutate() { # layout blob-hex
	python3 - "$1/blobs/sha256/$2" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
b[len(b) // 2] ^= 1
open(p, 'wb').write(bytes(b))
PY
}
for what in config manifest layer; do
	rm -rf "$t/mut"; cp -r "$L" "$t/mut"
	case $what in
	config) h=$cfg ;;
	manifest) h=${new#sha256:} ;;
	layer) h=$(jq -r '.layers[0].digest' "$L/blobs/sha256/${new#sha256:}" | cut -d: -f2) ;;
	esac
	mutate "$t/mut" "$h"
	"$C" check --policy "$t/policy.yaml" "$t/mut" >"$t/out" 2>&1 </dev/null
	rc=$?
	[ $rc -ne 0 ] && ok "one-byte-$what-fails" || { fail "one-byte-$what-fails (exit $rc)"; cat "$t/out"; }
done

# atomic: a closure that cannot be read leaves the layout as it was
cp "$L/index.json" "$t/index.before"
expect attach-bad-closure 2 "$C" image attach --closure /nonexistent.json "$L:app"
cmp -s "$L/index.json" "$t/index.before" && ok attach-bad-closure-untouched || fail attach-bad-closure-untouched
# a full blob store: attach fails before index.json is replaced
if mkdir "$t/small" && mount -t tmpfs -o size=4m tmpfs "$t/small" 2>/dev/null; then
	cp -r "$t/layout-orig" "$t/small/l"
	head -c 5000000 /dev/zero >"$t/small/fill" 2>/dev/null
	cp "$t/small/l/index.json" "$t/index.before"
	expect attach-disk-full 2 "$C" image attach --closure "$t/good.json" "$t/small/l:app"
	cmp -s "$t/small/l/index.json" "$t/index.before" && ok attach-disk-full-untouched || fail attach-disk-full-untouched
	umount "$t/small"
else
	echo "skip attach-disk-full: cannot mount a small tmpfs"
fi

# ---- the 138th call: a closure outside the gVisor baseline is rejected ----
expect attach-rseq 0 "$C" image attach --closure "$t/traced.json" "$t/layout-bad:app"
expect sign-rseq 0 "$C" image sign --key "$t/cosign.key" --identity registry.example.com/bb "$t/layout-bad:app"
expect check-outside-gvisor 1 "$C" check --policy "$t/policy.yaml" "$t/layout-bad"
grep -q "attached closure: syscall rseq is not in the allowed list (baseline: gvisor)" "$t/out" && ok check-outside-gvisor-reason || fail check-outside-gvisor-reason

# ---- a multi-platform index whose entries are indexes: a platform manifest
# pinned by digest is found through the nesting --------------------------------
N=$t/nested
cp -r "$L" "$N"
python3 - "$N" "$new" <<'PY'
import hashlib, json, os, sys
root, man = sys.argv[1], sys.argv[2]
def put(obj):
    b = json.dumps(obj, separators=(",", ":")).encode()
    d = hashlib.sha256(b).hexdigest()
    open(os.path.join(root, "blobs", "sha256", d), "wb").write(b)
    return {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": "sha256:" + d, "size": len(b)}
size = os.path.getsize(os.path.join(root, "blobs", "sha256", man[7:]))
inner = put({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": man, "size": size,
     "platform": {"os": "linux", "architecture": "amd64"}}]})
inner["platform"] = {"os": "linux", "architecture": "amd64"}
outer = put({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [inner]})
idx = json.load(open(os.path.join(root, "index.json")))
outer["annotations"] = {"org.opencontainers.image.ref.name": "app"}
idx["manifests"] = [outer] + [m for m in idx["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") != "app"]
json.dump(idx, open(os.path.join(root, "index.json"), "w"))
PY
printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  securityContext: {seccompProfile: {type: RuntimeDefault}}\n  containers: [{name: app, image: "registry.example.com/bb@%s", securityContext: {allowPrivilegeEscalation: false}}]\n' "$new" >"$t/nested-pod.yaml"
printf 'images:\n  requireSignature: false\n' >"$t/nosign.yaml"
expect nested-digest-found 0 "$C" check --policy "$t/nosign.yaml" --layout "$N" "$t/nested-pod.yaml"
grep -q "no manifest has digest" "$t/out" && fail nested-digest-reason || ok nested-digest-reason

# ---- oci apply ---------------------------------------------------------------
B=$t/bundle
mkdir -p "$B" && (cd "$B" && runc spec 2>/dev/null || umoci unpack --image "$L:app" . >/dev/null) || true
if [ -f "$B/config.json" ]; then
	jq '.annotations = {"keep": "me"} | .linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW"}' "$B/config.json" >"$B/c" && mv "$B/c" "$B/config.json"
	jq -S 'del(.linux.seccomp) | del(.annotations["io.capgate.closure.digest"])' "$B/config.json" >"$t/before.json"
	expect oci-apply 0 "$C" oci apply --closure "$t/good.json" "$B"
	jq -S 'del(.linux.seccomp) | del(.annotations["io.capgate.closure.digest"])' "$B/config.json" >"$t/after.json"
	cmp -s "$t/before.json" "$t/after.json" && ok oci-apply-keeps-the-rest || { fail oci-apply-keeps-the-rest; diff "$t/before.json" "$t/after.json" | head; }
	[ "$(jq -r '.annotations["io.capgate.closure.digest"]' "$B/config.json")" = "$cdig" ] && ok oci-apply-annotation || fail oci-apply-annotation
	jq -e '.linux.seccomp.defaultAction == "SCMP_ACT_ERRNO" and ([.linux.seccomp.syscalls[].names[]] | index("execve")) and ([.linux.seccomp.syscalls[] | has("comment") or has("count")] | any | not)' "$B/config.json" >/dev/null \
		&& ok oci-apply-profile || fail oci-apply-profile
	cp "$B/config.json" "$t/cfg.before"
	printf '{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["opne"], "action": "SCMP_ACT_ALLOW"}]}' >"$t/badname.json"
	printf '{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [' >"$t/broken.json"
	expect oci-apply-broken-closure 2 "$C" oci apply --closure "$t/broken.json" "$B"
	cmp -s "$B/config.json" "$t/cfg.before" && ok oci-apply-broken-untouched || fail oci-apply-broken-untouched
	mkdir -p "$t/badcfg" && printf '{"linux": [1]}' >"$t/badcfg/config.json"
	expect oci-apply-bad-config 2 "$C" oci apply --closure "$t/good.json" "$t/badcfg"
	grep -q "config.json:1:.*linux: expected an object" "$t/err" && ok oci-apply-bad-config-position || { fail oci-apply-bad-config-position; cat "$t/err"; }
else
	fail oci-apply-bundle
fi

# ---- run the good image in each runtime with its closure ------------------
R=$t/run/rootfs
"$C" run --profile "$t/good.json" -- "$R/bin/busybox" sh -c "$W" >"$t/host.out" 2>&1 </dev/zero
"$C" run --profile "$t/good.json" -- "$R/bin/busybox" mount -t tmpfs none /tmp >"$t/host-mount.out" 2>&1 </dev/zero
host_mount_rc=$?
# runc (Go) runs on after it installs the filter: fstatfs and futex always,
# and its Go runtime's calls (signals, threads, memory) at random moments
RUNC_CALLS='"fstatfs","futex","nanosleep","sched_yield","rt_sigprocmask","rt_sigreturn","sigaltstack","mmap","munmap","madvise","getpid","gettid","tgkill","write","read","epoll_pwait","epoll_ctl","newfstatat","fstat"'
jq ".syscalls += [{\"names\": [$RUNC_CALLS], \"action\": \"SCMP_ACT_ALLOW\"}]" "$t/good.json" >"$t/good-runc.json"
for rt in runsc crun runc; do
	if ! command -v $rt >/dev/null; then
		echo "skip run-$rt: $rt is not installed"
		continue
	fi
	prof=$t/good.json
	[ $rt = runc ] && prof=$t/good-runc.json
	expect "run-$rt" 0 "$C" run --runtime $rt --rootfs "$R" --profile "$prof" -- /bin/busybox sh -c "$W"
	grep -q '^hi$' "$t/out" && grep -q '^bin$' "$t/out" && ok "run-$rt-output" || fail "run-$rt-output"
	# mount is outside the closure: denied with the errno capgate run gives
	"$C" run --runtime $rt --rootfs "$R" --profile "$prof" -- /bin/busybox mount -t tmpfs none /tmp >"$t/mount.out" 2>&1 <"$t/empty"
	rc=$?
	[ $rc -eq $host_mount_rc ] && [ $rc -ne 0 ] && ok "run-$rt-mount-denied" || { fail "run-$rt-mount-denied (exit $rc, capgate run $host_mount_rc)"; cat "$t/mount.out"; }
	grep -q "must be root\|Operation not permitted" "$t/mount.out" && diff -q <(grep -o "mount: .*" "$t/mount.out") <(grep -o "mount: .*" "$t/host-mount.out") >/dev/null \
		&& ok "run-$rt-mount-errno-same" || { fail "run-$rt-mount-errno-same"; cat "$t/mount.out" "$t/host-mount.out"; }
done
# runsc chowns the stdio it is given: it got capgate's pipes, so the file
# this test handed capgate as stdin is still root's (/dev/null itself is
# shared with whatever else runs on the machine, so it is not the witness)
[ "$(stat -c %U "$t/empty")" = root ] && ok runtime-stdio-untouched || { fail runtime-stdio-untouched; ls -l "$t/empty"; }
# runc without fstatfs: refused up front, with the reason
expect run-runc-needs-fstatfs 2 "$C" run --runtime runc --rootfs "$R" --profile "$t/good.json" -- /bin/busybox true
grep -q "must permit fstatfs for runc" "$t/err" && ok run-runc-needs-fstatfs-reason || fail run-runc-needs-fstatfs-reason
expect run-unknown-runtime 2 "$C" run --runtime kata --rootfs "$R" --profile "$t/good.json" -- /bin/busybox true

# ---- run the image itself: --image LAYOUT:REF ------------------------------
# the layers unpacked into a private root; no --profile: the closure attached
# to the image is what the runtime enforces
for rt in runsc crun runc; do
	command -v $rt >/dev/null || { echo "skip image-run-$rt: $rt is not installed"; continue; }
	popt=()
	[ $rt = runc ] && popt=(--profile "$t/good-runc.json") # runc's own calls after the filter
	expect "image-run-$rt" 0 "$C" run --runtime $rt --image "$L:app" "${popt[@]}" -- /bin/busybox sh -c "$W"
	grep -q '^hi$' "$t/out" && grep -q '^bin$' "$t/out" && ok "image-run-$rt-output" || fail "image-run-$rt-output"
	[ $rt = runc ] || { grep -q "enforcing the closure attached to the image ($cdig)" "$t/err" && ok "image-run-$rt-attached-closure" || fail "image-run-$rt-attached-closure"; }
	"$C" run --runtime $rt --image "$L:app" "${popt[@]}" -- /bin/busybox mount -t tmpfs none /tmp >"$t/mount.out" 2>&1 <"$t/empty"
	rc=$?
	[ $rc -eq $host_mount_rc ] && [ $rc -ne 0 ] && grep -q "must be root\|Operation not permitted" "$t/mount.out" \
		&& ok "image-run-$rt-mount-denied" || { fail "image-run-$rt-mount-denied (exit $rc)"; cat "$t/mount.out"; }
done
ls -d /tmp/capgate-rootfs-* >/dev/null 2>&1 && fail image-run-rootfs-removed || ok image-run-rootfs-removed
# an image without a closure needs --profile
expect image-run-needs-closure 2 "$C" run --runtime runsc --image "$t/layout-orig:app" -- /bin/busybox true
grep -q "carries no closure: give --profile" "$t/err" && ok image-run-needs-closure-reason || fail image-run-needs-closure-reason

# hostile layers, appended to the image: each is refused before anything runs
evil() { # name: a copy of the layout whose image gains one hostile layer
	rm -rf "$t/evil-$1"; cp -r "$t/layout-orig" "$t/evil-$1"
	python3 - "$t/evil-$1" "$1" <<'PY'
import hashlib, io, json, os, sys, tarfile
L, kind = sys.argv[1], sys.argv[2]
def put(b):
    d = hashlib.sha256(b).hexdigest()
    open(os.path.join(L, "blobs/sha256", d), "wb").write(b)
    return "sha256:" + d, len(b)
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tf:
    def f(name, data=b"pwned\n"):
        ti = tarfile.TarInfo(name); ti.size = len(data); tf.addfile(ti, io.BytesIO(data))
    def ln(name, target, kind=tarfile.SYMTYPE):
        ti = tarfile.TarInfo(name); ti.type = kind; ti.linkname = target; tf.addfile(ti)
    marker = "capgate-escape-" + str(os.getpid())
    if kind == "dotdot":
        f("../../../../tmp/" + marker)
    elif kind == "abs":
        f("/tmp/" + marker)
    elif kind == "abslink":
        ln("esc", "/"); f("esc/tmp/" + marker)
    elif kind == "rellink":
        ln("bin/up", "../../..")
    elif kind == "hardlink":
        ln("bin/pw", "../../etc/passwd", tarfile.LNKTYPE)
    elif kind == "whiteout":
        f("bin/.wh.busybox", b"")
    elif kind == "opaque":
        f("bin/.wh..wh..opq", b""); f("bin/kept", b"#!/bin/busybox sh\n")
layer, lsize = put(buf.getvalue())
idx = json.load(open(os.path.join(L, "index.json")))
m = [d for d in idx["manifests"] if d.get("annotations", {}).get("org.opencontainers.image.ref.name") == "app"][0]
man = json.load(open(os.path.join(L, "blobs/sha256", m["digest"][7:])))
man["layers"].append({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer, "size": lsize})
# the config names the layer too (rootfs.diff_ids: an uncompressed tar is its own diff_id)
cfg = json.load(open(os.path.join(L, "blobs/sha256", man["config"]["digest"][7:])))
cfg["rootfs"]["diff_ids"].append(layer)
man["config"]["digest"], man["config"]["size"] = put(json.dumps(cfg).encode())
m["digest"], m["size"] = put(json.dumps(man).encode())
json.dump(idx, open(os.path.join(L, "index.json"), "w"))
PY
}
for kind in dotdot abs hardlink; do
	evil $kind
	rm -f /tmp/capgate-escape-*
	expect "image-evil-$kind-refused" 2 "$C" run --runtime runsc --image "$t/evil-$kind:app" --profile "$t/good.json" -- /bin/busybox sh -c 'echo RAN'
	grep -q "refused" "$t/err" && grep -q "nothing run" "$t/err" && ok "image-evil-$kind-reason" || { fail "image-evil-$kind-reason"; cat "$t/err"; }
	grep -q RAN "$t/out" && fail "image-evil-$kind-not-run" || ok "image-evil-$kind-not-run"
	ls /tmp/capgate-escape-* >/dev/null 2>&1 && fail "image-evil-$kind-no-escape" || ok "image-evil-$kind-no-escape"
done
ls -d /tmp/capgate-rootfs-* >/dev/null 2>&1 && fail image-evil-rootfs-removed || ok image-evil-rootfs-removed
# links to / and above the root: resolved inside the root, as the container sees them
for kind in abslink rellink; do
	evil $kind
	rm -f /tmp/capgate-escape-*
	expect "image-link-$kind-inside" 0 "$C" run --runtime runsc --image "$t/evil-$kind:app" --profile "$t/good.json" -- /bin/busybox sh -c 'echo RAN'
	ls /tmp/capgate-escape-* >/dev/null 2>&1 && fail "image-link-$kind-no-escape" || ok "image-link-$kind-no-escape"
done
# a merged-/usr image: /bin -> usr/bin in its first layer, a program under
# bin/ in its second (written through the link), run by each runtime
MU=$t/merged
python3 "$H/mklayers.py" "$MU" init && python3 "$H/mklayers.py" "$MU" layer --compress gzip d:usr d:usr/bin "F:usr/bin/busybox=$BUSYBOX" l:bin=usr/bin d:tmp \
	&& python3 "$H/mklayers.py" "$MU" layer --compress zstd "F:bin/busybox-merged=$BUSYBOX" f:bin/msg=merged || fail merged-usr-build
for rt in runsc crun runc; do
	command -v $rt >/dev/null || { echo "skip merged-usr-$rt: $rt is not installed"; continue; }
	prof=$t/good.json
	[ $rt = runc ] && prof=$t/good-runc.json
	expect "merged-usr-$rt" 0 "$C" run --runtime $rt --image "$MU:app" --profile "$prof" -- /bin/busybox-merged sh -c "echo hi; ls /usr/bin"
	grep -q '^hi$' "$t/out" && grep -q '^busybox-merged$' "$t/out" && grep -q '^msg$' "$t/out" && ok "merged-usr-$rt-output" || fail "merged-usr-$rt-output"
done
# whiteouts (runsc: 128 when the program is missing): a lower layer's file removed, a directory made opaque
for kind in whiteout opaque; do
	evil $kind
	expect "image-$kind" 128 "$C" run --runtime runsc --image "$t/evil-$kind:app" --profile "$t/good.json" -- /bin/busybox true
	grep -q "load /bin/busybox: no such file" "$t/err" && ok "image-$kind-removed" || { fail "image-$kind-removed"; cat "$t/err"; }
done
