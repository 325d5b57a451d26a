#!/usr/bin/env python3
"""Build a small OCI image layout for the check tests, optionally signed the
way cosign signs (simple signing), with the signature made by openssl.

  mkoci.py DIR [--ref NAME] [--label K=V ...] [--sign KEY.pem]
               [--sign-digest sha256:...] [--identity REPO] [--tamper-payload]

The image is one empty layer and a config carrying the labels. With --sign,
a signature manifest tagged sha256-<hex>.sig holds the payload layer and the
base64 DER ECDSA signature in its annotation. --sign-digest signs another
digest (a signature that names the wrong image); --tamper-payload changes the
payload after signing (its blob digest is updated, so only the signature can
catch it); --identity sets critical.identity.docker-reference (default: the
repository of --ref, without tag or digest, as cosign writes it; "" leaves it
out). --ref may carry a digest that is not the image's: the attack where a
layout names a signed image after a digest it does not have. Prints the
image manifest's digest.
"""
import argparse
import base64
import hashlib
import json
import os
import subprocess
import sys


def blob(root, data, media_type):
    d = hashlib.sha256(data).hexdigest()
    path = os.path.join(root, "blobs", "sha256")
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, d), "wb") as f:
        f.write(data)
    return {"mediaType": media_type, "digest": "sha256:" + d, "size": len(data)}


def canon(obj):
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--ref", default="registry.example.com/app:1")
    ap.add_argument("--label", action="append", default=[])
    ap.add_argument("--sign")
    ap.add_argument("--sign-digest")
    ap.add_argument("--identity")
    ap.add_argument("--tamper-payload", action="store_true")
    a = ap.parse_args()

    root = a.dir
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion": "1.0.0"}')
    layer = blob(root, b"", "application/vnd.oci.image.layer.v1.tar")
    labels = dict(kv.split("=", 1) for kv in a.label)
    config = blob(root, canon({
        "architecture": "amd64", "os": "linux",
        "config": {"Labels": labels},
        "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]},
    }), "application/vnd.oci.image.config.v1+json")
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": config, "layers": [layer]}
    mdesc = blob(root, canon(manifest), manifest["mediaType"])
    mdesc["annotations"] = {"org.opencontainers.image.ref.name": a.ref}
    index = {"schemaVersion": 2, "manifests": [mdesc]}

    if a.sign:
        repo = a.ref.split("@", 1)[0]
        repo = repo.rsplit(":", 1)[0] if ":" in repo.rsplit("/", 1)[-1] else repo
        ident = repo if a.identity is None else a.identity
        critical = {"identity": {"docker-reference": ident},
                    "image": {"docker-manifest-digest": a.sign_digest or mdesc["digest"]},
                    "type": "cosign container image signature"}
        if ident == "":
            del critical["identity"]
        payload = canon({"critical": critical, "optional": None})
        der = subprocess.run(["openssl", "dgst", "-sha256", "-sign", a.sign], input=payload,
                             capture_output=True, check=True).stdout
        if a.tamper_payload:
            payload = payload.replace(b'"optional":null', b'"optional":{"x":"y"}')
        pdesc = blob(root, payload, "application/vnd.dev.cosign.simplesigning.v1+json")
        pdesc["annotations"] = {"dev.cosignproject.cosign/signature": base64.b64encode(der).decode()}
        sconfig = blob(root, b"{}", "application/vnd.oci.image.config.v1+json")
        sman = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": sconfig, "layers": [pdesc]}
        sdesc = blob(root, canon(sman), sman["mediaType"])
        sdesc["annotations"] = {"org.opencontainers.image.ref.name":
                                "%s:sha256-%s.sig" % (repo, mdesc["digest"][7:])}
        index["manifests"].append(sdesc)

    with open(os.path.join(root, "index.json"), "wb") as f:
        f.write(canon(index))
    print(mdesc["digest"])


if __name__ == "__main__":
    sys.exit(main())
