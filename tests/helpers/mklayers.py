#!/usr/bin/env python3
"""Build OCI image layouts layer by layer, for the unpacking tests.

  mklayers.py DIR init [--arch ARCH]
      a layout holding one image (ref name "app", linux/ARCH, no layers)
  mklayers.py DIR layer [--compress none|gzip|zstd|zstd-bad] ENTRY...
      append a layer to the image "app"; an ENTRY is one of
        f:NAME=TEXT        regular file (mode 0755 if TEXT starts with "#!")
        F:NAME=HOSTPATH    regular file with HOSTPATH's bytes (mode 0755)
        d:NAME             directory
        l:NAME=TARGET      symbolic link
        h:NAME=TARGET      hard link (TARGET is a member name)
        z:NAME=BYTES       regular file of BYTES zero bytes
  mklayers.py DIR multi OTHER_ARCH
      turn "app" into a multi-platform index: the image as it is (its own
      platform) plus a one-layer OTHER_ARCH image whose /arch says so
  mklayers.py DIR recompress zstd
      recompress every layer of "app" with the zstd tool (media type
      ...tar+zstd), as a registry would store it

Every blob is named by its SHA-256; index.json is rewritten last.
"""
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile

MT_MAN = "application/vnd.oci.image.manifest.v1+json"
MT_IDX = "application/vnd.oci.image.index.v1+json"
MT_CFG = "application/vnd.oci.image.config.v1+json"
MT_TAR = "application/vnd.oci.image.layer.v1.tar"


def put(root, data):
    d = hashlib.sha256(data).hexdigest()
    os.makedirs(os.path.join(root, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(root, "blobs", "sha256", d), "wb") as f:
        f.write(data)
    return "sha256:" + d, len(data)


def get(root, digest):
    with open(os.path.join(root, "blobs", "sha256", digest[7:]), "rb") as f:
        return f.read()


def desc(root, data, mt, **extra):
    d, n = put(root, data)
    r = {"mediaType": mt, "digest": d, "size": n}
    r.update(extra)
    return r


def load_index(root):
    with open(os.path.join(root, "index.json")) as f:
        return json.load(f)


def save_index(root, idx):
    tmp = os.path.join(root, "index.json.tmp")
    with open(tmp, "w") as f:
        json.dump(idx, f)
    os.rename(tmp, os.path.join(root, "index.json"))


def app_entry(idx):
    for m in idx["manifests"]:
        if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == "app":
            return m
    sys.exit("mklayers: no image 'app'")


def new_image(root, arch, layers, diff_ids):
    cfg = {"architecture": arch, "os": "linux", "config": {"Cmd": ["/bin/busybox"]},
           "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    man = {"schemaVersion": 2, "mediaType": MT_MAN,
           "config": desc(root, json.dumps(cfg).encode(), MT_CFG), "layers": layers}
    return desc(root, json.dumps(man).encode(), MT_MAN)


def tar_of(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tf:
        for e in entries:
            kind, rest = e[0], e[2:]
            name, _, val = rest.partition("=")
            ti = tarfile.TarInfo(name)
            if kind in "fFz":
                if kind == "f":
                    data = val.encode().decode("unicode_escape").encode("latin-1")
                elif kind == "F":
                    with open(val, "rb") as f:
                        data = f.read()
                else:
                    data = bytes(int(val))
                ti.size = len(data)
                ti.mode = 0o755 if kind == "F" or data.startswith(b"#!") else 0o644
                tf.addfile(ti, io.BytesIO(data))
            elif kind == "d":
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                tf.addfile(ti)
            elif kind in "lh":
                ti.type = tarfile.SYMTYPE if kind == "l" else tarfile.LNKTYPE
                ti.linkname = val
                tf.addfile(ti)
            else:
                sys.exit("mklayers: bad entry " + e)
    return buf.getvalue()


def compress(data, how):
    if how == "gzip":
        return gzip.compress(data), MT_TAR + "+gzip"
    if how in ("zstd", "zstd-bad"):
        z = bytearray(subprocess.run(["zstd", "-q", "-c"], input=data, stdout=subprocess.PIPE,
                                     check=True).stdout)
        if how == "zstd-bad":  # a byte of the compressed stream flipped
            z[len(z) // 2] ^= 0xff
        return bytes(z), MT_TAR + "+zstd"
    return data, MT_TAR


def main():
    root, cmd, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    if cmd == "init":
        arch = args[1] if args[:1] == ["--arch"] else "amd64"
        os.makedirs(root, exist_ok=True)
        with open(os.path.join(root, "oci-layout"), "w") as f:
            f.write('{"imageLayoutVersion": "1.0.0"}')
        m = new_image(root, arch, [], [])
        m["annotations"] = {"org.opencontainers.image.ref.name": "app"}
        save_index(root, {"schemaVersion": 2, "manifests": [m]})
        return
    idx = load_index(root)
    top = app_entry(idx)
    man = json.loads(get(root, top["digest"]))
    if cmd in ("layer", "recompress"):
        cfg = json.loads(get(root, man["config"]["digest"]))
        if cmd == "layer":
            how = "none"
            if args[:1] == ["--compress"]:
                how, args = args[1], args[2:]
            raw = tar_of(args)
            data, mt = compress(raw, how)
            man["layers"].append(desc(root, data, mt))
            cfg["rootfs"]["diff_ids"].append("sha256:" + hashlib.sha256(raw).hexdigest())
        else:
            for l in man["layers"]:
                raw = get(root, l["digest"])
                if raw[:2] == b"\x1f\x8b":
                    raw = gzip.decompress(raw)
                data, mt = compress(raw, args[0])
                l.update(desc(root, data, mt))
        man["config"] = desc(root, json.dumps(cfg).encode(), MT_CFG)
        top.update(desc(root, json.dumps(man).encode(), MT_MAN))
    elif cmd == "multi":
        cfg = json.loads(get(root, man["config"]["digest"]))
        mine = {k: top[k] for k in ("mediaType", "digest", "size")}
        mine["platform"] = {"os": "linux", "architecture": cfg["architecture"]}
        raw = tar_of(["f:arch=" + args[0] + "\\n"])
        other = new_image(root, args[0], [desc(root, raw, MT_TAR)],
                          ["sha256:" + hashlib.sha256(raw).hexdigest()])
        other["platform"] = {"os": "linux", "architecture": args[0]}
        if args[0] == "arm64":
            other["platform"]["variant"] = "v8"
        sub = {"schemaVersion": 2, "mediaType": MT_IDX, "manifests": [other, mine]}
        top.clear()
        top.update(desc(root, json.dumps(sub).encode(), MT_IDX,
                        annotations={"org.opencontainers.image.ref.name": "app"}))
    else:
        sys.exit("mklayers: unknown command " + cmd)
    save_index(root, idx)


if __name__ == "__main__":
    main()
