#!/usr/bin/env python3
"""AdmissionReviews for the webhook tests, built the way the API server
sends them, and the JSONPatch of an answer applied to its object.

  admission_review.py split OUTDIR FILE...   one review per object of each
      manifest: OUTDIR/NNN.review.json and OUTDIR/NNN.object.json (the same
      object alone, for capgate check), and OUTDIR/index (NNN file kind)
  admission_review.py one FILE [--uid U] [--namespace NS] [--dry-run]
      the review of the only object of FILE on stdout
  admission_review.py patch REVIEW ANSWER   the review with the answer's
      patch applied to request.object (only "add", what /mutate writes)
  admission_review.py field ANSWER KEY      response.KEY of an answer
"""
import base64
import json
import os
import sys

import yaml


def review(obj, uid, ns=None, dry_run=False):
    kind = obj.get("kind", "")
    api = obj.get("apiVersion", "")
    group, _, version = api.rpartition("/")
    meta = obj.get("metadata") or {}
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": uid,
            "kind": {"group": group, "version": version, "kind": kind},
            "resource": {"group": group, "version": version, "resource": kind.lower() + "s"},
            "name": meta.get("name", ""),
            "namespace": ns or meta.get("namespace", "default"),
            "operation": "CREATE",
            "userInfo": {"username": "test"},
            "object": obj,
            "dryRun": dry_run,
        },
    }


def objects(path):
    with open(path) as f:
        for doc in yaml.safe_load_all(f):
            if isinstance(doc, dict) and "kind" in doc and "items" not in doc:
                yield doc


def add(doc, path, value):
    parts = [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]
    for p in parts[:-1]:
        doc = doc[int(p)] if isinstance(doc, list) else doc[p]
    last = parts[-1]
    if isinstance(doc, list):
        doc.insert(int(last) if last != "-" else len(doc), value)
    else:
        doc[last] = value


def main():
    cmd = sys.argv[1]
    if cmd == "split":
        out, n = sys.argv[2], 0
        with open(os.path.join(out, "index"), "w") as idx:
            for f in sys.argv[3:]:
                try:
                    objs = list(objects(f))
                except yaml.YAMLError:
                    continue
                for o in objs:
                    base = os.path.join(out, "%03d" % n)
                    with open(base + ".review.json", "w") as w:
                        json.dump(review(o, "uid-%03d" % n), w)
                    with open(base + ".object.json", "w") as w:
                        json.dump(o, w)
                    idx.write("%03d %s %s\n" % (n, f, o.get("kind")))
                    n += 1
    elif cmd == "one":
        args = sys.argv[2:]
        f, uid, ns, dry = args[0], "uid-1", None, False
        i = 1
        while i < len(args):
            if args[i] == "--uid":
                uid, i = args[i + 1], i + 2
            elif args[i] == "--namespace":
                ns, i = args[i + 1], i + 2
            elif args[i] == "--dry-run":
                dry, i = True, i + 1
            else:
                sys.exit("unknown option " + args[i])
        (o,) = list(objects(f))
        json.dump(review(o, uid, ns, dry), sys.stdout)
    elif cmd == "patch":
        rv = json.load(open(sys.argv[2]))
        ans = json.load(open(sys.argv[3]))["response"]
        if ans.get("patchType") != "JSONPatch":
            sys.exit("no JSONPatch in the answer")
        for op in json.loads(base64.b64decode(ans["patch"])):
            if op["op"] != "add":
                sys.exit("unexpected op " + op["op"])
            add(rv["request"]["object"], op["path"], op["value"])
        rv["request"]["uid"] += "-patched"
        json.dump(rv, sys.stdout)
    elif cmd == "compare":
        # OUTDIR: NNN.rc (capgate check's exit) against NNN.answer
        out, bad, total = sys.argv[2], [], 0
        for line in open(os.path.join(out, "index")):
            n, f, k = line.split()
            total += 1
            rc = int(open(os.path.join(out, n + ".rc")).read())
            try:
                ans = json.load(open(os.path.join(out, n + ".answer")))["response"]
            except (OSError, ValueError, KeyError):
                ans = {}
            if ans.get("allowed") != (rc == 0) or ans.get("uid") != "uid-" + n:
                bad.append("%s %s %s: check exit %d, webhook %s" % (n, f, k, rc, json.dumps(ans)[:200]))
        print("%d %d" % (total, total - len(bad)))
        for b in bad[:10]:
            print("    " + b)
    elif cmd == "field":
        v = json.load(open(sys.argv[2]))["response"]
        for k in sys.argv[3].split("."):
            v = v.get(k) if isinstance(v, dict) else None
        print(json.dumps(v) if not isinstance(v, str) else v)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
