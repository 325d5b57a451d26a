#!/usr/bin/env bash
# Unpacking an image's layers (capgate image unpack, the step under 'run
# --image'), attacker first: writes through an earlier layer's symbolic link
# stay inside the root (merged-/usr images unpack, escapes do not), the
# digest is checked on the very bytes unpacked, size and entry limits, a
# multi-platform index resolved by platform, zstd layers. No runtime needed:
# containers.sh runs the results.
set -u
C=${CAPGATE:-./build/capgate}
C=$(cd "$(dirname "$C")" && pwd)/$(basename "$C")
H=$(cd "$(dirname "$0")/../helpers" && pwd)
t=$(mktemp -d)
writer=
trap '[ -n "$writer" ] && kill $writer 2>/dev/null; rm -rf "$t"' EXIT
ok() { echo "ok $1"; }
fail() { printf "FAIL %s\n" "$(printf %s "$1" | tr "\n" "|" | head -c 2000)"; } # one line: the CI shows a part
expect() { # name want-exit cmd...
	local name=$1 want=$2; shift 2
	"$@" >"$t/out" 2>"$t/err" </dev/null
	local rc=$?
	if [ "$rc" -eq "$want" ]; then ok "$name"; else fail "$name (exit $rc, want $want)"; sed 's/^/    /' "$t/out" "$t/err" | head -20; fi
}
check() { # name cond...
	local name=$1; shift
	if "$@"; then ok "$name"; else fail "$name"; sed 's/^/    /' "$t/err" | head -10; fi
}
mk() { python3 "$H/mklayers.py" "$@" || { fail "mklayers $*"; exit 0; }; }

BUSYBOX=$(command -v busybox)
[ -n "$BUSYBOX" ] || { echo "skip unpack: busybox is not installed (scripts/dev.sh installs it)"; exit 0; }
command -v zstd >/dev/null || { echo "skip unpack: zstd is not installed (scripts/dev.sh installs it)"; exit 0; }

# the base: a merged-/usr busybox image, /bin -> usr/bin in its first layer
B=$t/base
mk "$B" init
mk "$B" layer --compress gzip d:usr d:usr/bin "F:usr/bin/busybox=$BUSYBOX" l:bin=usr/bin d:tmp d:etc f:etc/passwd=root-inside
fresh() { rm -rf "$t/$1" "$t/r"; cp -r "$B" "$t/$1"; L=$t/$1; }
# outside the root: what an escape would reach
O=$t/outside
mkdir -p "$O" && echo orig >"$O/victim"
noescape() { [ -z "$(ls -A "$O" | grep -v '^victim$')" ] && [ "$(cat "$O/victim")" = orig ] && [ ! -e /tmp/capgate-escape-$$ ]; }

expect base 0 "$C" image unpack "$B" "$t/r"
check base-busybox cmp -s "$BUSYBOX" "$t/r/usr/bin/busybox"

# ---- 1. symbolic links of earlier layers: followed inside the root ----------
# merged /usr: a later layer writes bin/..., which is usr/bin/...
fresh merged
mk "$L" layer 'f:bin/hello=#!/bin/busybox sh\necho merged\n' f:bin/sub/x=1 l:bin/sh=busybox
expect merged-usr 0 "$C" image unpack "$L" "$t/r"
check merged-usr-through-link [ -L "$t/r/bin" -a -f "$t/r/usr/bin/hello" -a -L "$t/r/usr/bin/sh" -a -f "$t/r/usr/bin/sub/x" ]
check merged-usr-mode [ -x "$t/r/usr/bin/hello" ]

# escapes: each either refused (exit 2, the root removed) or landing inside
# the root; never anything outside it
escape() { # name want-exit layer-entries... ('|' starts the next layer)
	local name=$1 want=$2 e
	shift 2
	fresh "esc-$name"
	local cur=()
	for e in "$@" '|'; do
		if [ "$e" = '|' ]; then mk "$L" layer "${cur[@]}"; cur=(); else cur+=("$e"); fi
	done
	expect "escape-$name" "$want" "$C" image unpack "$L" "$t/r"
	check "escape-$name-nothing-outside" noescape
	[ "$want" -ne 0 ] && check "escape-$name-root-removed" [ ! -e "$t/r" ]
}
M=capgate-escape-$$
# an absolute link to / in the same layer: resolved against the root
escape abslink 0 l:esc=/ "f:esc/tmp/$M=x"
check escape-abslink-inside [ -f "$t/r/tmp/$M" ]
# an absolute link to a host directory: inside the root it does not exist
escape abslink-host 2 "l:esc=$O" '|' "f:esc/$M=x"
grep -q "does not exist inside the root\|No such file" "$t/err" && ok escape-abslink-host-reason || fail escape-abslink-host-reason
# a relative link climbing above the root: clamped at the root, as in the container
escape rellink 0 l:up=../../../../../.. '|' "f:up/tmp/$M=x"
check escape-rellink-inside [ -f "$t/r/tmp/$M" ]
# a directory of one layer swapped for a link by the next, written through by a third
escape swapped 0 d:sw f:sw/a=1 '|' l:sw=../../../../.. '|' "f:sw/$M=x"
check escape-swapped-inside [ -f "$t/r/$M" -a -L "$t/r/sw" ]
escape swapped-host 2 d:sw '|' "l:sw=$O" '|' "f:sw/$M=x"
# links through links
escape chain 0 l:a=b l:b=/.. "f:a/tmp/$M=x"
check escape-chain-inside [ -f "$t/r/tmp/$M" ]
# a link as the last component is replaced, never written through
escape replace-link 0 "l:victim=$O/victim" '|' f:victim=pwned
check escape-replace-link-inside [ -f "$t/r/victim" -a ! -L "$t/r/victim" ]
# hard links: to a name outside, and through a link to the host's /etc
escape hardlink-dotdot 2 h:pw=../../etc/passwd
escape hardlink-via-link 0 l:hostetc=/etc '|' h:pw=hostetc/passwd
check escape-hardlink-via-link-inside [ "$(cat "$t/r/pw" 2>/dev/null)" = root-inside ]
check escape-hardlink-not-host [ "$(stat -c %d:%i "$t/r/pw")" != "$(stat -c %d:%i /etc/passwd)" ]
escape hardlink-host 2 "l:h=$O" '|' h:pw=h/victim
# a write through a link to a file, and names that leave the root
escape through-file 2 l:f=etc/passwd '|' f:f/x=1
escape dotdot 2 "f:../../../../tmp/$M=x"
escape absolute 2 "f:/tmp/$M=x"
rm -f "/tmp/$M"
# whiteouts of "." and "..": they would name the directory above the root
for wh in .wh.. x/.wh.. x/.wh.; do
	fresh "wh"
	mk "$L" layer d:x f:x/a=1
	mk "$L" layer "f:$wh="
	mkdir -p "$t/above" && echo c >"$t/above/canary"
	expect "whiteout-${wh//\//-}" 2 "$C" image unpack "$L" "$t/above/r"
	grep -q "names no entry of its directory: refused" "$t/err" && ok "whiteout-${wh//\//-}-reason" || fail "whiteout-${wh//\//-}-reason"
	check "whiteout-${wh//\//-}-above-kept" [ -f "$t/above/canary" ]
done

# ---- 1b. the config's rootfs.diff_ids name the uncompressed layers ----------
# containerd and the other runtimes check them: an image whose config names
# other content than its layers unpack to is refused here too (and an image
# whose config names fewer or more layers), never run differently
retag() { # LAYOUT PYTHON: edit the image config (cfg) and rewrite config, manifest and index
	python3 - "$1" "$2" <<'PY'
import hashlib, json, os, sys
L, code = sys.argv[1], sys.argv[2]
def put(b):
    d = hashlib.sha256(b).hexdigest(); open(os.path.join(L, "blobs/sha256", d), "wb").write(b); return "sha256:" + d, len(b)
idx = json.load(open(os.path.join(L, "index.json")))
m = idx["manifests"][0]
man = json.load(open(os.path.join(L, "blobs/sha256", m["digest"][7:])))
cfg = json.load(open(os.path.join(L, "blobs/sha256", man["config"]["digest"][7:])))
exec(code)
man["config"]["digest"], man["config"]["size"] = put(json.dumps(cfg).encode())
m["digest"], m["size"] = put(json.dumps(man).encode())
json.dump(idx, open(os.path.join(L, "index.json"), "w"))
PY
}
fresh diffid
retag "$L" 'cfg["rootfs"]["diff_ids"][-1] = "sha256:" + hashlib.sha256(b"other").hexdigest()'
expect diff-id-mismatch 2 "$C" image unpack "$L" "$t/r"
grep -q "uncompressed content hashes to sha256:.*rootfs.diff_ids says sha256:" "$t/err" && ok diff-id-mismatch-reason || fail diff-id-mismatch-reason
check diff-id-mismatch-removed [ ! -e "$t/r" ]
fresh diffcount
retag "$L" 'cfg["rootfs"]["diff_ids"].append(cfg["rootfs"]["diff_ids"][-1])'
expect diff-id-count 2 "$C" image unpack "$L" "$t/r"
grep -q "has 1 layers but its config's rootfs.diff_ids names 2" "$t/err" && ok diff-id-count-reason || fail diff-id-count-reason
fresh diffnone
retag "$L" 'del cfg["rootfs"]'
expect diff-id-missing 2 "$C" image unpack "$L" "$t/r"
grep -q "has no rootfs.diff_ids list" "$t/err" && ok diff-id-missing-reason || fail diff-id-missing-reason

# ---- 2. the digest is checked on the bytes unpacked ------------------------
# the layer blob is a FIFO that serves the right bytes to the first two
# opens and other bytes after: an unpacker that checks the digest on one read
# and unpacks a second read unpacks the other bytes
fresh toctou
mk "$L" layer f:payload=good
lay=$(python3 -c 'import json,sys; L=sys.argv[1]; i=json.load(open(L+"/index.json")); m=json.load(open(L+"/blobs/sha256/"+i["manifests"][0]["digest"][7:])); print(m["layers"][-1]["digest"][7:])' "$L")
mv "$L/blobs/sha256/$lay" "$t/good.blob"
python3 - "$t/evil.blob" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.GNU_FORMAT) as tf:
    ti = tarfile.TarInfo("payload"); d = b"evil"; ti.size = len(d); tf.addfile(ti, io.BytesIO(d))
PY
serve() { # how many opens get the right bytes
	mkfifo "$L/blobs/sha256/$lay"
	python3 - "$L/blobs/sha256/$lay" "$t/good.blob" "$t/evil.blob" "$1" <<'PY' &
import os, sys, time
fifo, good, evil, n = sys.argv[1], open(sys.argv[2], "rb").read(), open(sys.argv[3], "rb").read(), int(sys.argv[4])
def held():  # does a reader still hold the FIFO open (then a new open would join its read)?
    # each descriptor on its own: one that closes while we look (the
    # unpacker opens and closes others all the time) must not hide the rest
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fds = os.listdir("/proc/%s/fd" % pid)
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink("/proc/%s/fd/%s" % (pid, fd)) == fifo:
                    return True
            except OSError:
                pass
    return False
i = 0
while True:
    try:
        with open(fifo, "wb") as f:
            f.write(good if i < n else evil)
    except BrokenPipeError:
        pass
    i += 1
    # our open returns when the reader arrives, before its descriptor is
    # in its table: first see it (or give up after a while: a fast reader
    # may be gone already), then wait until it is closed
    t0 = time.time()
    while not held() and time.time() - t0 < 1:
        time.sleep(0.005)
    while held():
        time.sleep(0.01)
PY
	writer=$!
}
unserve() { kill $writer 2>/dev/null; wait $writer 2>/dev/null; writer=; rm -f "$L/blobs/sha256/$lay"; }
serve 2 # one read by the image check (open), one by the unpacker
expect toctou-one-read 0 "$C" image unpack "$L" "$t/r"
check toctou-good-bytes [ "$(cat "$t/r/payload" 2>/dev/null)" = good ]
unserve
rm -rf "$t/r"
serve 1 # the unpacker's read gets the other bytes: they are unpacked, then refused
expect toctou-changed 2 "$C" image unpack "$L" "$t/r"
grep -q "does not match its digest" "$t/err" && ok toctou-changed-reason || fail toctou-changed-reason
check toctou-changed-removed [ ! -e "$t/r" ]
unserve

# ---- 3. limits ---------------------------------------------------------------
expect limit-size 2 "$C" image unpack --max-size 64K "$B" "$t/r"
grep -q "more than 65536 bytes" "$t/err" && ok limit-size-reason || fail limit-size-reason
check limit-size-removed [ ! -e "$t/r" ]
expect limit-entries 2 "$C" image unpack --max-entries 3 "$B" "$t/r"
grep -q "more than 3 entries" "$t/err" && ok limit-entries-reason || fail limit-entries-reason
check limit-entries-removed [ ! -e "$t/r" ]
# a layer of 64 MiB of zeros, 64 KiB compressed
fresh bomb
mk "$L" layer --compress gzip z:zeros=67108864
expect limit-bomb 2 "$C" image unpack --max-size 16M "$L" "$t/r"
check limit-bomb-removed [ ! -e "$t/r" ]
mkdir "$t/keep"
expect limit-existing-dir 2 "$C" image unpack --max-entries 3 "$B" "$t/keep"
check limit-existing-dir-emptied [ -d "$t/keep" -a -z "$(ls -A "$t/keep")" ]
expect limit-bad-value 2 "$C" image unpack --max-size 12Q "$B" "$t/r"
expect limit-zero 2 "$C" image unpack --max-entries 0 "$B" "$t/r"

# ---- 4. a multi-platform index: resolved by platform ------------------------
fresh multi
mk "$L" multi arm64
expect multi-default 0 "$C" image unpack "$L" "$t/r"
check multi-default-host [ -f "$t/r/usr/bin/busybox" -a ! -e "$t/r/arch" ]
rm -rf "$t/r"
expect multi-arm64 0 "$C" image unpack --platform linux/arm64 "$L" "$t/r"
check multi-arm64-chosen [ "$(cat "$t/r/arch" 2>/dev/null)" = arm64 ]
rm -rf "$t/r"
expect multi-variant 0 "$C" image unpack --platform linux/arm64/v8 "$L" "$t/r"
rm -rf "$t/r"
expect multi-none 2 "$C" image unpack --platform linux/s390x "$L" "$t/r"
grep -q "linux/arm64/v8, linux/amd64" "$t/err" && grep -q "none for linux/s390x" "$t/err" && ok multi-none-reason || fail multi-none-reason
check multi-none-removed [ ! -e "$t/r" ]
expect multi-wrong-variant 2 "$C" image unpack --platform linux/arm64/v7 "$L" "$t/r"
expect multi-bad-platform 2 "$C" image unpack --platform amd64 "$L" "$t/r"
grep -q "OS/ARCH" "$t/err" && ok multi-bad-platform-reason || fail multi-bad-platform-reason
# a single-platform image for another platform is refused by name too
fresh foreign
expect foreign-platform 2 "$C" image unpack --platform linux/arm64 "$L" "$t/r"
grep -q "linux/amd64" "$t/err" && ok foreign-platform-reason || fail foreign-platform-reason

# ---- 5. zstd layers ----------------------------------------------------------
fresh zstd
mk "$L" recompress zstd
grep -q 'tar+zstd' "$L"/blobs/sha256/* && ok zstd-media-type || fail zstd-media-type
expect zstd 0 "$C" image unpack "$L" "$t/r"
check zstd-busybox cmp -s "$BUSYBOX" "$t/r/usr/bin/busybox"
check zstd-link [ -L "$t/r/bin" ]
rm -rf "$t/r"
fresh zstd-bad
mk "$L" layer --compress zstd-bad "F:big=$BUSYBOX"
expect zstd-corrupt 2 "$C" image unpack "$L" "$t/r"
grep -q "zstd" "$t/err" && ok zstd-corrupt-reason || fail zstd-corrupt-reason
check zstd-corrupt-removed [ ! -e "$t/r" ]
