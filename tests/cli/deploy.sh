#!/usr/bin/env bash
# End-to-end tests of capgate's deployment: the kustomization in
# deploy/kubernetes (built offline with kubectl, every object checked, and
# capgate's own workloads checked by `capgate check` against the built-in
# policy), gen-cert.sh, `capgate node-sync` (atomic writes, the ConfigMap
# ..data layout, bad closures skipped, only its own stale profiles removed,
# links refused, the profiles it writes loaded by capgate run and by runc)
# and `capgate export spo`.
# Prints "ok NAME" / "FAIL NAME: why" / "skip NAME: reason".
set -u
cd "$(dirname "$0")/../.."
CAPGATE=${CAPGATE:-./build/capgate}
CAPGATE=$(realpath "$CAPGATE")
SHARED=${CAPGATE_SHARED:-../shared}
KDIR=deploy/kubernetes
WEBHOOK_PROFILE=$KDIR/profiles/capgate-webhook.json
NODESYNC_PROFILE=$KDIR/profiles/capgate-node-sync.json
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok() { echo "ok $1"; }
fail() { printf "FAIL %s: %s\n" "$1" "$(printf %s "$2" | tr "\n" "|" | head -c 2000)"; } # one line: the CI shows a part
skip() { echo "skip $1: $2"; }

if [ ! -x "$CAPGATE" ]; then echo "FAIL deploy.sh: $CAPGATE not built"; exit 1; fi
PY=python3
$PY -c 'import yaml' 2>/dev/null || PY=/usr/bin/python3
have_yaml=1
$PY -c 'import yaml' 2>/dev/null || have_yaml=0

# ---- the manifests ----------------------------------------------------------

# The checker of the built kustomization: every object, the fields the
# deployment's safety rests on. Exit 1 with one line per problem.
cat >"$tmp/check_manifests.py" <<'PY'
import sys, yaml, base64, copy

def check(docs, profile, argv):
    bad = []

    def need(cond, msg):
        if not cond:
            bad.append(msg)

    kinds = sorted(d["kind"] for d in docs)
    want = sorted(["Namespace", "Namespace", "ServiceAccount", "ServiceAccount", "Deployment", "Service",
                   "PodDisruptionBudget", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration",
                   "DaemonSet", "RuntimeClass", "ConfigMap", "ConfigMap", "ConfigMap"] + argv[3:4])
    need(kinds == want, "kinds %s, expected %s" % (kinds, want))
    by = {}
    for d in docs:
        by.setdefault(d["kind"], []).append(d)
    def one(kind, name=None, ns=None):
        for d in by.get(kind, []):
            m = d["metadata"]
            if (name is None or m["name"] == name) and (ns is None or m.get("namespace") == ns):
                return d
        bad.append("no %s %s/%s" % (kind, ns, name))
        return {}

    nss = {d["metadata"]["name"]: d for d in by.get("Namespace", [])}
    need(set(nss) == {"capgate-system", "capgate-node"}, "namespaces %s" % sorted(nss))
    need(nss.get("capgate-system", {}).get("metadata", {}).get("labels", {}).get("pod-security.kubernetes.io/enforce") == "restricted",
         "capgate-system does not enforce the restricted Pod Security level")

    def sc_all(pod, c, key):
        """A container's effective securityContext field (container over pod)."""
        v = (c.get("securityContext") or {}).get(key)
        return v if v is not None else (pod.get("securityContext") or {}).get(key)

    # The webhook Deployment.
    dep = one("Deployment", "capgate-webhook", "capgate-system")
    spec = dep.get("spec", {})
    pod = spec.get("template", {}).get("spec", {})
    need(spec.get("replicas") == 2, "Deployment replicas %r, expected 2" % spec.get("replicas"))
    need(pod.get("automountServiceAccountToken") is False, "Deployment mounts a service account token")
    cs = pod.get("containers", [])
    need(len(cs) == 1 and not pod.get("initContainers"), "Deployment: one container expected")
    for c in cs:
        args = c.get("args", [])
        need(args[:1] == ["webhook"], "webhook container does not run 'capgate webhook': %s" % args)
        for opt in ("--listen", "--tls-cert", "--tls-key", "--policy", "--profiles"):
            need(opt in args, "webhook args lack %s" % opt)
        port = args[args.index("--listen") + 1].rsplit(":", 1)[1] if "--listen" in args else None
        need(any(str(p.get("containerPort")) == port and p.get("name") == "https" for p in c.get("ports", [])),
             "no containerPort named https for --listen port %s" % port)
        for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
            g = (c.get(probe) or {}).get("httpGet") or {}
            need(g.get("path") == path and g.get("scheme") == "HTTPS" and g.get("port") in ("https", port, int(port or 0)),
                 "%s is not HTTPS GET %s on the webhook port: %s" % (probe, path, g))
        lim = (c.get("resources") or {}).get("limits") or {}
        req = (c.get("resources") or {}).get("requests") or {}
        need("cpu" in lim and "memory" in lim and "cpu" in req and "memory" in req, "webhook resources incomplete: %s" % c.get("resources"))
        need(sc_all(pod, c, "runAsNonRoot") is True, "webhook not runAsNonRoot")
        uid = sc_all(pod, c, "runAsUser")
        need(uid is not None and uid != 0, "webhook runAsUser %r" % uid)
        need((c.get("securityContext") or {}).get("readOnlyRootFilesystem") is True, "webhook root filesystem is writable")
        need((c.get("securityContext") or {}).get("allowPrivilegeEscalation") is False, "webhook allows privilege escalation")
        need(not (c.get("securityContext") or {}).get("privileged"), "webhook is privileged")
        need(((c.get("securityContext") or {}).get("capabilities") or {}).get("drop") == ["ALL"], "webhook does not drop ALL capabilities")
        need(not ((c.get("securityContext") or {}).get("capabilities") or {}).get("add"), "webhook adds capabilities")
        sp = sc_all(pod, c, "seccompProfile") or {}
        need(sp == {"type": "Localhost", "localhostProfile": "capgate/capgate-webhook.json"},
             "webhook seccompProfile %s" % sp)
    vols = {v["name"]: v for v in pod.get("volumes", [])}
    need(vols.get("tls", {}).get("secret", {}).get("secretName") == "capgate-webhook-tls", "no TLS secret volume")
    need(not any("hostPath" in v for v in vols.values()), "the webhook mounts a host path")

    # Service <-> webhook configurations.
    svc = one("Service", "capgate-webhook", "capgate-system")
    sel = svc.get("spec", {}).get("selector", {})
    labels = spec.get("template", {}).get("metadata", {}).get("labels", {})
    need(sel and all(labels.get(k) == v for k, v in sel.items()), "Service selector %s does not select the webhook Pods" % sel)
    sports = svc.get("spec", {}).get("ports", [])
    need(len(sports) == 1 and sports[0].get("targetPort") == "https", "Service ports %s" % sports)
    excluded = {"kube-system", "capgate-system", "capgate-node"}
    for kind, path in (("ValidatingWebhookConfiguration", "/validate"), ("MutatingWebhookConfiguration", "/mutate")):
        w = one(kind)
        hooks = w.get("webhooks", [])
        need(len(hooks) == 1, "%s: %d webhooks" % (kind, len(hooks)))
        for h in hooks:
            need(h.get("failurePolicy") == "Fail", "%s failurePolicy %r" % (kind, h.get("failurePolicy")))
            need(h.get("sideEffects") == "None", "%s sideEffects %r" % (kind, h.get("sideEffects")))
            t = h.get("timeoutSeconds")
            need(isinstance(t, int) and 1 <= t <= 10, "%s timeoutSeconds %r" % (kind, t))
            need(h.get("admissionReviewVersions") == ["v1"], "%s admissionReviewVersions %r" % (kind, h.get("admissionReviewVersions")))
            s = (h.get("clientConfig") or {}).get("service") or {}
            need(s.get("name") == "capgate-webhook" and s.get("namespace") == "capgate-system" and s.get("path") == path
                 and s.get("port") == sports[0].get("port") if sports else False, "%s service %s" % (kind, s))
            need("url" not in (h.get("clientConfig") or {}), "%s has a url" % kind)
            if len(argv) > 3:  # built with gen-cert.sh's overlay: caBundle must be the CA
                ca = base64.b64decode((h.get("clientConfig") or {}).get("caBundle", "")).decode()
                need(ca == open(argv[4]).read() if len(argv) > 4 else False, "%s caBundle is not the CA" % kind)
            nsel = h.get("namespaceSelector") or {}
            outs = set()
            for e in nsel.get("matchExpressions", []):
                if e.get("key") == "kubernetes.io/metadata.name" and e.get("operator") == "NotIn":
                    outs |= set(e.get("values", []))
            need(outs == excluded and not nsel.get("matchLabels"), "%s namespaceSelector %s does not leave out exactly %s" % (kind, nsel, sorted(excluded)))
            need(dep.get("metadata", {}).get("namespace") in outs, "%s would call the webhook for its own Pods" % kind)
            need(not h.get("objectSelector"), "%s has an objectSelector (an author could opt out)" % kind)
            res = {(g, r) for rule in h.get("rules", []) for g in rule.get("apiGroups", []) for r in rule.get("resources", [])}
            need(("", "pods") in res, "%s does not cover pods" % kind)
            ops = {o for rule in h.get("rules", []) for o in rule.get("operations", [])}
            need("CREATE" in ops and "*" not in ops and "DELETE" not in ops, "%s operations %s" % (kind, sorted(ops)))

    # The node agent.
    ds = one("DaemonSet", "capgate-node-sync", "capgate-node")
    dpod = ds.get("spec", {}).get("template", {}).get("spec", {})
    need(dpod.get("automountServiceAccountToken") is False, "node agent mounts a service account token")
    need(not dpod.get("hostNetwork") and not dpod.get("hostPID") and not dpod.get("hostIPC"), "node agent shares a host namespace")
    for c in dpod.get("containers", []):
        args = c.get("args", [])
        need(args[:1] == ["node-sync"], "node agent does not run node-sync: %s" % args)
        sc = c.get("securityContext") or {}
        need(sc.get("readOnlyRootFilesystem") is True and sc.get("allowPrivilegeEscalation") is False and not sc.get("privileged"),
             "node agent securityContext %s" % sc)
        need((sc.get("capabilities") or {}).get("drop") == ["ALL"] and not (sc.get("capabilities") or {}).get("add"),
             "node agent capabilities %s" % sc.get("capabilities"))
        need(sc_all(dpod, c, "seccompProfile") == {"type": "Localhost", "localhostProfile": "capgate/capgate-node-sync.json"},
             "node agent does not run under its own recorded profile: %s" % sc_all(dpod, c, "seccompProfile"))
        lim = (c.get("resources") or {}).get("limits") or {}
        need("cpu" in lim and "memory" in lim, "node agent has no limits")
        mounts = {m["mountPath"]: m for m in c.get("volumeMounts", [])}
        dvols = {v["name"]: v for v in dpod.get("volumes", [])}
        src = args[args.index("--source") + 1] if "--source" in args else None
        root = args[args.index("--kubelet-root") + 1] if "--kubelet-root" in args else None
        need(src in mounts and mounts[src].get("readOnly") and "configMap" in dvols.get(mounts[src]["name"], {})
             and not mounts[src].get("subPath"), "--source %s is not a whole ConfigMap mount (updates must reach it)" % src)
        sm = mounts.get("%s/seccomp" % root)
        need(sm is not None and dvols.get(sm["name"], {}).get("hostPath", {}).get("path") == "/var/lib/kubelet/seccomp",
             "--kubelet-root %s/seccomp is not the node's /var/lib/kubelet/seccomp" % root)
        hp = [v for v in dvols.values() if "hostPath" in v]
        need(len(hp) == 1, "node agent mounts %d host paths" % len(hp))
        named = [args[i + 1] for i in range(len(args) - 1) if args[i] == "--named"]
        need("capgate-webhook.json" in named, "node agent does not install capgate-webhook.json")
        need("capgate-node-sync.json" in named, "node agent does not keep its own profile capgate-node-sync.json")
        cmname = dvols.get(mounts.get(src, {}).get("name"), {}).get("configMap", {}).get("name")
        cm = one("ConfigMap", cmname, "capgate-node")
        need(profile is None or cm.get("data", {}).get("capgate-webhook.json") == profile,
             "ConfigMap %s lacks the webhook's profile as capgate-webhook.json" % cmname)
        need(nprofile is None or cm.get("data", {}).get("capgate-node-sync.json") == nprofile,
             "ConfigMap %s lacks the node agent's profile as capgate-node-sync.json" % cmname)
        # The kubelet reads a Localhost profile when it creates the container:
        # an init container (not under that profile) must install it first,
        # from the same source into the same directory, removing nothing.
        inits = [i for i in dpod.get("initContainers", []) if (i.get("args") or [])[:1] == ["node-sync"]]
        need(len(inits) == 1, "no init container installs the node agent's own profile before it starts")
        for i in inits:
            ia = i.get("args", [])
            inamed = [ia[k + 1] for k in range(len(ia) - 1) if ia[k] == "--named"]
            need("--init" in ia and "capgate-node-sync.json" in inamed, "init container args %s" % ia)
            need(ia[ia.index("--source") + 1] == src if "--source" in ia else False, "init container reads another source")
            need(ia[ia.index("--kubelet-root") + 1] == root if "--kubelet-root" in ia else False, "init container writes elsewhere")
            isc = i.get("securityContext") or {}
            need(isc.get("readOnlyRootFilesystem") is True and isc.get("allowPrivilegeEscalation") is False and not isc.get("privileged")
                 and (isc.get("capabilities") or {}).get("drop") == ["ALL"] and not (isc.get("capabilities") or {}).get("add"),
                 "init container securityContext %s" % isc)
            need((sc_all(dpod, i, "seccompProfile") or {}).get("type") in ("RuntimeDefault", "Localhost"), "init container is Unconfined")
            need("cpu" in ((i.get("resources") or {}).get("limits") or {}), "init container has no limits")
    cm = one("ConfigMap", "capgate-closures", "capgate-system")
    need(profile is None or cm.get("data", {}).get("capgate-webhook.json") == profile, "the webhook's closures ConfigMap lacks its profile")
    for v in vols.values():
        if "configMap" in v:
            one("ConfigMap", v["configMap"]["name"], "capgate-system")
    rc = one("RuntimeClass", "gvisor")
    need(rc.get("handler") == "runsc", "RuntimeClass gvisor handler %r" % rc.get("handler"))
    pdb = one("PodDisruptionBudget", "capgate-webhook", "capgate-system")
    need(pdb.get("spec", {}).get("minAvailable") == 1, "PodDisruptionBudget minAvailable %r" % pdb.get("spec", {}).get("minAvailable"))
    if len(argv) > 3:
        sec = one("Secret", "capgate-webhook-tls", "capgate-system")
        need(sec.get("type") == "kubernetes.io/tls" and set(sec.get("data", {})) == {"tls.crt", "tls.key"},
             "the TLS Secret is not a kubernetes.io/tls pair")
    return bad

if __name__ == "__main__":
    docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
    profile = open(sys.argv[2]).read() if len(sys.argv) > 2 else None
    import os
    np = os.path.join(os.path.dirname(sys.argv[2]), "capgate-node-sync.json") if len(sys.argv) > 2 else None
    nprofile = open(np).read() if np and os.path.exists(np) else None
    if len(sys.argv) > 3 and sys.argv[3] == "--mutations":
        # one weakened copy per line of sys.argv[4]: "NAME<TAB>python"; each must fail
        rc = 0
        for line in open(sys.argv[4]):
            name, code = line.rstrip("\n").split("\t", 1)
            d2 = copy.deepcopy(docs)
            k = {d["kind"] + "/" + d["metadata"]["name"]: d for d in d2}
            exec(code)
            if check(d2, profile, sys.argv[:3]):
                print("ok deploy-manifests-catch-" + name)
            else:
                print("FAIL deploy-manifests-catch-%s: the checker accepts the weakened manifests" % name)
        sys.exit(0)
    bad = check(docs, profile, sys.argv)
    for b in bad:
        print(b)
    sys.exit(1 if bad else 0)
PY

built=$tmp/built.yaml
if ! command -v kubectl >/dev/null; then
	skip deploy-kustomize "kubectl is not installed (its kustomize builds deploy/kubernetes offline)"
elif [ $have_yaml = 0 ]; then
	skip deploy-kustomize "python3 has no yaml module (python3-yaml)"
elif [ ! -f "$WEBHOOK_PROFILE" ]; then
	skip deploy-kustomize "$WEBHOOK_PROFILE is not there yet (the webhook's recorded closure, which the kustomization puts in its ConfigMaps)"
else
	# Offline: no kubeconfig, no cluster.
	if KUBECONFIG=/dev/null kubectl kustomize "$KDIR" >"$built" 2>"$tmp/err"; then
		ok deploy-kustomize-builds
	else
		fail deploy-kustomize-builds "$(head -c 600 "$tmp/err")"
	fi
	if $PY "$tmp/check_manifests.py" "$built" "$WEBHOOK_PROFILE" >"$tmp/out" 2>&1; then
		ok deploy-manifests-checked
	else
		fail deploy-manifests-checked "$(head -c 1500 "$tmp/out")"
	fi
	# The checker must catch each weakening: break one field at a time.
	W='k["Deployment/capgate-webhook"]["spec"]["template"]["spec"]'
	D='k["DaemonSet/capgate-node-sync"]["spec"]["template"]["spec"]'
	V='k["ValidatingWebhookConfiguration/capgate"]["webhooks"][0]'
	M='k["MutatingWebhookConfiguration/capgate"]["webhooks"][0]'
	{
		printf 'failure-policy\t%s["failurePolicy"] = "Ignore"\n' "$V"
		printf 'side-effects\t%s["sideEffects"] = "Some"\n' "$M"
		printf 'review-versions\t%s["admissionReviewVersions"] = ["v1", "v1beta1"]\n' "$M"
		printf 'timeout\t%s["timeoutSeconds"] = 30\n' "$V"
		printf 'no-ns-selector\tdel %s["namespaceSelector"]\n' "$V"
		printf 'own-ns-included\t%s["namespaceSelector"]["matchExpressions"][0]["values"].remove("capgate-system")\n' "$V"
		printf 'kube-system-included\t%s["namespaceSelector"]["matchExpressions"][0]["values"].remove("kube-system")\n' "$M"
		printf 'object-selector\t%s["objectSelector"] = {"matchLabels": {"x": "y"}}\n' "$M"
		printf 'no-pods\t%s["rules"][0]["resources"] = ["replicationcontrollers"]\n' "$V"
		printf 'writable-root\t%s["containers"][0]["securityContext"]["readOnlyRootFilesystem"] = False\n' "$W"
		printf 'root-user\t%s["securityContext"]["runAsNonRoot"] = False; %s["containers"][0]["securityContext"].pop("runAsNonRoot")\n' "$W" "$W"
		printf 'escalation\t%s["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = True\n' "$W"
		printf 'caps\t%s["containers"][0]["securityContext"]["capabilities"] = {"drop": ["NET_RAW"]}\n' "$W"
		printf 'seccomp\t%s["containers"][0]["securityContext"]["seccompProfile"] = {"type": "RuntimeDefault"}\n' "$W"
		printf 'limits\tdel %s["containers"][0]["resources"]["limits"]\n' "$W"
		printf 'replicas\tk["Deployment/capgate-webhook"]["spec"]["replicas"] = 1\n'
		printf 'probe-http\t%s["containers"][0]["readinessProbe"]["httpGet"]["scheme"] = "HTTP"\n' "$W"
		printf 'webhook-token\t%s["automountServiceAccountToken"] = True\n' "$W"
		printf 'agent-subpath\t%s["containers"][0]["volumeMounts"][0]["subPath"] = "x"\n' "$D"
		printf 'agent-host-root\t%s["volumes"][1]["hostPath"]["path"] = "/"\n' "$D"
		printf 'agent-privileged\t%s["containers"][0]["securityContext"]["privileged"] = True\n' "$D"
		printf 'agent-host-pid\t%s["hostPID"] = True\n' "$D"
		printf 'agent-runtime-default\t%s["containers"][0]["securityContext"]["seccompProfile"] = {"type": "RuntimeDefault"}\n' "$D"
		printf 'agent-no-init\t%s["initContainers"] = []\n' "$D"
		printf 'agent-init-removes\t%s["initContainers"][0]["args"].remove("--init")\n' "$D"
		printf 'agent-profile-not-in-configmap\t[d for d in d2 if d["kind"] == "ConfigMap" and d["metadata"]["namespace"] == "capgate-node"][0]["data"].pop("capgate-node-sync.json")\n'
		printf 'runtimeclass\tk["RuntimeClass/gvisor"]["handler"] = "runc"\n'
	} >"$tmp/mutations.tsv"
	$PY "$tmp/check_manifests.py" "$built" "$WEBHOOK_PROFILE" --mutations "$tmp/mutations.tsv" 2>&1 | grep -E '^(ok|FAIL) ' ||
		fail deploy-manifests-mutations "the mutation run printed nothing"

	# capgate's own workloads pass capgate's built-in policy. The other
	# kinds are not workloads: counted as not checked (unknownKinds: ignore,
	# the only change from the built-in policy).
	mkdir -p "$tmp/kubelet-seccomp/capgate"
	cp "$WEBHOOK_PROFILE" "$NODESYNC_PROFILE" "$tmp/kubelet-seccomp/capgate/"
	printf 'apiVersion: capgate.io/v1\nkind: Policy\nunknownKinds: ignore\n' >"$tmp/ignore-unknown.yaml"
	"$CAPGATE" check --policy "$tmp/ignore-unknown.yaml" --profiles "$tmp/kubelet-seccomp" "$built" >"$tmp/out" 2>&1
	rc=$?
	if [ $rc -eq 0 ] && grep -q '^pass *Deployment capgate-system/capgate-webhook' "$tmp/out" &&
		grep -q '^pass *DaemonSet capgate-node/capgate-node-sync' "$tmp/out" &&
		grep -q '2 checked .*2 passed, 0 failed, 0 exempt, 12 not checked' "$tmp/out"; then
		ok deploy-own-policy
	else
		fail deploy-own-policy "exit $rc: $(grep -v '^skip' "$tmp/out" | head -c 1500)"
	fi
	# ... and the same check refuses them when weakened (so the pass above
	# is a decision, not a blind spot).
	$PY - "$built" "$tmp/priv.yaml" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
for d in docs:
    if d["kind"] in ("Deployment", "DaemonSet"):
        d["spec"]["template"]["spec"]["containers"][0]["securityContext"]["seccompProfile"] = {"type": "Unconfined"}
yaml.safe_dump_all(docs, open(sys.argv[2], "w"))
PY
	"$CAPGATE" check --policy "$tmp/ignore-unknown.yaml" --profiles "$tmp/kubelet-seccomp" "$tmp/priv.yaml" >"$tmp/out" 2>&1
	rc=$?
	if [ $rc -eq 1 ] && grep -q '^FAIL *Deployment capgate-system/capgate-webhook' "$tmp/out" &&
		grep -q '^FAIL *DaemonSet capgate-node/capgate-node-sync' "$tmp/out"; then
		ok deploy-own-policy-catches-unconfined
	else
		fail deploy-own-policy-catches-unconfined "exit $rc: $(grep -v '^skip' "$tmp/out" | head -c 800)"
	fi
	# Without the built-in policy's unknownKinds change, the other objects are
	# refused, not silently passed.
	"$CAPGATE" check --profiles "$tmp/kubelet-seccomp" "$built" >"$tmp/out" 2>&1
	rc=$?
	if [ $rc -eq 1 ] && grep -q 'unknown-kind' "$tmp/out"; then
		ok deploy-unknown-kinds-denied-by-default
	else
		fail deploy-unknown-kinds-denied-by-default "exit $rc: $(head -c 600 "$tmp/out")"
	fi
fi

# ---- gen-cert.sh ------------------------------------------------------------

gen=$KDIR/gen-cert.sh
if ! command -v openssl >/dev/null; then
	skip deploy-gen-cert "openssl is not installed"
else
	ov=$tmp/overlay
	if bash "$gen" --out "$ov" >"$tmp/out" 2>"$tmp/err" && [ -s "$ov/tls.crt" ] && [ -s "$ov/kustomization.yaml" ]; then
		ok deploy-gen-cert-makes
	else
		fail deploy-gen-cert-makes "$(cat "$tmp/err")"
	fi
	host=capgate-webhook.capgate-system.svc
	if openssl verify -CAfile "$ov/ca.crt" -verify_hostname "$host" -purpose sslserver "$ov/tls.crt" >/dev/null 2>&1 &&
		! openssl verify -CAfile "$ov/ca.crt" -verify_hostname "evil.example.com" "$ov/tls.crt" >/dev/null 2>&1 &&
		! openssl verify -CAfile "$ov/ca.crt" -verify_hostname "capgate-webhook.other.svc" "$ov/tls.crt" >/dev/null 2>&1; then
		ok deploy-gen-cert-san
	else
		fail deploy-gen-cert-san "$(openssl x509 -in "$ov/tls.crt" -noout -ext subjectAltName 2>&1)"
	fi
	sans=$(openssl x509 -in "$ov/tls.crt" -noout -ext subjectAltName | tail -n +2 | tr -d ' ')
	if [ "$sans" = "DNS:capgate-webhook,DNS:capgate-webhook.capgate-system,DNS:capgate-webhook.capgate-system.svc,DNS:capgate-webhook.capgate-system.svc.cluster.local" ]; then
		ok deploy-gen-cert-san-exact
	else
		fail deploy-gen-cert-san-exact "$sans"
	fi
	if [ "$(stat -c %a "$ov/tls.key")" = 600 ] && [ "$(stat -c %a "$ov/ca.key")" = 600 ]; then
		ok deploy-gen-cert-key-modes
	else
		fail deploy-gen-cert-key-modes "$(stat -c '%n %a' "$ov"/*.key)"
	fi
	# A TLS handshake with the API server's view: trust only the CA, check the name.
	port=$((20000 + RANDOM % 20000))
	openssl s_server -quiet -accept "127.0.0.1:$port" -cert "$ov/tls.crt" -key "$ov/tls.key" -naccept 1 </dev/null >/dev/null 2>&1 &
	spid=$!
	for _ in $(seq 100); do
		ss -ltn "sport = :$port" 2>/dev/null | grep -q LISTEN && break
		sleep 0.1
	done
	if echo | openssl s_client -connect "127.0.0.1:$port" -CAfile "$ov/ca.crt" -verify_hostname "$host" \
		-verify_return_error -servername "$host" >"$tmp/out" 2>&1; then
		ok deploy-gen-cert-handshake
	else
		fail deploy-gen-cert-handshake "$(grep -i verif "$tmp/out" | head -3)"
	fi
	kill "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
	# Idempotent: a second run keeps the same certificate and overlay.
	sum1=$(cat "$ov"/* | sha256sum)
	bash "$gen" --out "$ov" >/dev/null 2>&1
	sum2=$(cat "$ov"/* | sha256sum)
	if [ "$sum1" = "$sum2" ]; then ok deploy-gen-cert-idempotent; else fail deploy-gen-cert-idempotent "the second run changed $ov"; fi
	# Other names: a new certificate, not the old one kept.
	bash "$gen" --out "$ov" --namespace other >/dev/null 2>&1
	if openssl verify -CAfile "$ov/ca.crt" -verify_hostname capgate-webhook.other.svc "$ov/tls.crt" >/dev/null 2>&1; then
		ok deploy-gen-cert-renames
	else
		fail deploy-gen-cert-renames "the certificate was kept for the old names"
	fi
	bash "$gen" --out "$ov" >/dev/null 2>&1
	# No partial output: a failing openssl leaves the overlay as it was and no
	# temporary directory behind.
	mkdir -p "$tmp/badbin"
	printf '#!/bin/sh\ncase "$1" in x509|req) exit 1;; esac\nexec %s "$@"\n' "$(command -v openssl)" >"$tmp/badbin/openssl"
	chmod +x "$tmp/badbin/openssl"
	sum1=$(cat "$ov"/* | sha256sum)
	PATH=$tmp/badbin:$PATH bash "$gen" --out "$ov" --force >/dev/null 2>&1
	rc=$?
	sum2=$(cat "$ov"/* | sha256sum)
	if [ $rc -ne 0 ] && [ "$sum1" = "$sum2" ] && [ -z "$(ls -d "$ov".tmp.* "$ov".old.* 2>/dev/null)" ]; then
		ok deploy-gen-cert-no-partial
	else
		fail deploy-gen-cert-no-partial "exit $rc; changed: $([ "$sum1" = "$sum2" ] && echo no || echo yes); left: $(ls -d "$ov".* 2>/dev/null)"
	fi
	if bash "$gen" --out "$tmp/x" --namespace 'Bad_NS' >/dev/null 2>"$tmp/err" || [ -e "$tmp/x" ]; then
		fail deploy-gen-cert-bad-name "accepted, or wrote $tmp/x"
	else
		ok deploy-gen-cert-bad-name
	fi
	# The overlay builds, with caBundle = the CA in both webhook configurations
	# and the Secret of the serving pair.
	if command -v kubectl >/dev/null && [ $have_yaml = 1 ] && [ -f "$WEBHOOK_PROFILE" ]; then
		if KUBECONFIG=/dev/null kubectl kustomize "$ov" >"$tmp/ov.yaml" 2>"$tmp/err" &&
			$PY "$tmp/check_manifests.py" "$tmp/ov.yaml" "$WEBHOOK_PROFILE" Secret "$ov/ca.crt" >"$tmp/out" 2>&1; then
			ok deploy-gen-cert-overlay
		else
			fail deploy-gen-cert-overlay "$(head -c 800 "$tmp/err") $(head -c 800 "$tmp/out")"
		fi
	else
		skip deploy-gen-cert-overlay "needs kubectl, python3-yaml and $WEBHOOK_PROFILE"
	fi
fi

# ---- node-sync --------------------------------------------------------------

docker_profile=$SHARED/corpus/profiles/docker-default.json
src=$tmp/src
kr=$tmp/kubelet
pdir=$kr/seccomp/capgate
mkdir -p "$src" "$kr"
sync() { "$CAPGATE" node-sync --source "$1" --kubelet-root "$kr" --once "${@:2}" >"$tmp/out" 2>"$tmp/err"; }
digest_of() { "$CAPGATE" resolve --digest "$1" 2>/dev/null | sed 's/^sha256://'; }

cp examples/demo.json "$src/demo.json"
if [ -f "$docker_profile" ]; then cp "$docker_profile" "$src/docker.json"; fi
cat >"$src/bad.json" <<'J'
{
  "defaultAction": "SCMP_ACT_ERRNO",
  "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALOW"}]
}
J
echo "not a closure" >"$src/NOTES.txt"
demo_hex=$(digest_of examples/demo.json)
sync "$src"
rc=$?
if [ $rc -eq 1 ] && [ -f "$pdir/sha256-$demo_hex.json" ] && grep -q "bad.json:3:46: syscalls\[0\].action: unknown action 'SCMP_ACT_ALOW'" "$tmp/err" &&
	grep -q 'skipped' "$tmp/err" && grep -q 'ignored NOTES.txt' "$tmp/out"; then
	ok node-sync-bad-closure-skipped
else
	fail node-sync-bad-closure-skipped "exit $rc; $(ls "$pdir" 2>&1); $(cat "$tmp/out" "$tmp/err" | head -c 800)"
fi
n=$(ls "$pdir" | wc -l)
want=1; [ -f "$docker_profile" ] && want=2
if [ "$n" = $want ] && [ -z "$(ls -A "$pdir" | grep -v '^sha256-' | grep -v '^\.capgate-node-sync\.owned$')" ]; then
	ok node-sync-nothing-partial
else
	fail node-sync-nothing-partial "$(ls -A "$pdir")"
fi
# The file is the canonical closure: its digest is its name.
if [ "$(digest_of "$pdir/sha256-$demo_hex.json")" = "$demo_hex" ] &&
	cmp -s "$pdir/sha256-$demo_hex.json" <("$CAPGATE" resolve examples/demo.json 2>/dev/null); then
	ok node-sync-content-addressed
else
	fail node-sync-content-addressed "the profile's digest is not its name"
fi
rm "$src/bad.json" "$src/NOTES.txt"

# Atomic replacement: a damaged profile at the name is replaced by a rename
# (a new inode), never rewritten in place; a leftover temporary file goes.
printf '{"defaultAction":' >"$pdir/sha256-$demo_hex.json"
ino1=$(stat -c %i "$pdir/sha256-$demo_hex.json")
touch "$pdir/.capgate-tmp.1.0"
sync "$src"
ino2=$(stat -c %i "$pdir/sha256-$demo_hex.json")
if [ "$ino1" != "$ino2" ] && [ "$(digest_of "$pdir/sha256-$demo_hex.json")" = "$demo_hex" ] && [ ! -e "$pdir/.capgate-tmp.1.0" ] &&
	grep -q "wrote seccomp/capgate/sha256-$demo_hex.json from demo.json" "$tmp/out"; then
	ok node-sync-atomic-replace
else
	fail node-sync-atomic-replace "inode $ino1 -> $ino2; $(cat "$tmp/out")"
fi
sync "$src"
if grep -q '^0 written' "$tmp/out"; then ok node-sync-idempotent; else fail node-sync-idempotent "$(cat "$tmp/out")"; fi

# A link planted at a profile's name is replaced, not followed.
echo precious >"$tmp/victim"
rm "$pdir/sha256-$demo_hex.json"
ln -s "$tmp/victim" "$pdir/sha256-$demo_hex.json"
sync "$src"
if [ "$(cat "$tmp/victim")" = precious ] && [ ! -L "$pdir/sha256-$demo_hex.json" ]; then
	ok node-sync-link-at-name
else
	fail node-sync-link-at-name "victim: $(head -c 80 "$tmp/victim")"
fi
# A profile directory that is a link elsewhere is refused (exit 2), nothing written there.
kr2=$tmp/kubelet2
mkdir -p "$kr2/seccomp" "$tmp/elsewhere"
ln -s "$tmp/elsewhere" "$kr2/seccomp/capgate"
"$CAPGATE" node-sync --source "$src" --kubelet-root "$kr2" --once >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -eq 2 ] && [ -z "$(ls -A "$tmp/elsewhere")" ] && grep -q 'symbolic link' "$tmp/err"; then
	ok node-sync-link-dir-refused
else
	fail node-sync-link-dir-refused "exit $rc; $(ls -A "$tmp/elsewhere"); $(cat "$tmp/err")"
fi
# A source entry that is a link is not followed (a directory source is
# read as it is; only a ConfigMap's ..data link is resolved).
ln -s "$tmp/victim" "$src/link.json"
sync "$src"
rc=$?
if [ $rc -eq 1 ] && grep -q 'link.json: not a regular file' "$tmp/err"; then
	ok node-sync-link-entry-refused
else
	fail node-sync-link-entry-refused "exit $rc; $(cat "$tmp/err")"
fi
rm "$src/link.json"

# Only what node-sync wrote is removed, and only when it left the source; a
# tampered owned list cannot name anything else.
other_hex=$(printf '%064d' 7)
echo '{}' >"$pdir/sha256-$other_hex.json"
printf '../../../victim\n../%s\nsha256-%s.json.bak\n' "$(basename "$tmp/victim")" "$other_hex" >>"$pdir/.capgate-node-sync.owned"
cp "$tmp/victim" "$kr/victim"
rm -f "$src/docker.json"
sync "$src"
rc=$?
if [ $rc -eq 0 ] && [ -f "$pdir/sha256-$other_hex.json" ] && [ -f "$pdir/sha256-$demo_hex.json" ] && [ -f "$kr/victim" ] &&
	[ -f "$tmp/victim" ] && [ "$(ls "$pdir" | wc -l)" = 2 ]; then
	ok node-sync-removes-only-its-own
else
	fail node-sync-removes-only-its-own "exit $rc; $(ls -A "$pdir"); $(cat "$tmp/out")"
fi
# A bad entry holds removal: it may be the new version of a profile in use.
mv "$src/demo.json" "$tmp/demo.json"
echo '{"defaultAction": ' >"$src/demo-v2.json"
sync "$src"
rc=$?
if [ $rc -eq 1 ] && [ -f "$pdir/sha256-$demo_hex.json" ] && grep -q 'nothing removed' "$tmp/err"; then
	ok node-sync-bad-entry-holds-removal
else
	fail node-sync-bad-entry-holds-removal "exit $rc; $(ls "$pdir"); $(cat "$tmp/err")"
fi
rm "$src/demo-v2.json"
sync "$src"
if [ ! -e "$pdir/sha256-$demo_hex.json" ] && grep -q "removed seccomp/capgate/sha256-$demo_hex.json" "$tmp/out"; then
	ok node-sync-removes-stale
else
	fail node-sync-removes-stale "$(ls "$pdir"); $(cat "$tmp/out")"
fi
rm "$pdir/sha256-$other_hex.json"

# A closure a runtime would widen (an allow on one of its architectures
# only; runtimes ignore capgate's "arches") is refused, not installed.
rm -rf "$src"; mkdir -p "$src"
cat >"$src/per-arch.json" <<'J'
{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86"],
 "syscalls":[{"names":["ptrace"],"action":"SCMP_ACT_ALLOW","arches":["SCMP_ARCH_X86"]}]}
J
sync "$src"
rc=$?
if [ $rc -eq 1 ] && grep -q "rule for 'ptrace' (SCMP_ACT_ALLOW) holds only on x86" "$tmp/err" && [ -z "$(ls "$pdir")" ]; then
	ok node-sync-refuses-widening
else
	fail node-sync-refuses-widening "exit $rc; $(ls "$pdir"); $(cat "$tmp/err")"
fi
rm "$src/per-arch.json"

# The ConfigMap layout: keys are links into ..data, which links to a
# version directory; the kubelet swaps ..data by rename.
cm=$tmp/cm
mkdir -p "$cm/..2026_01_01_00_00_00.000000001"
cp examples/demo.json "$cm/..2026_01_01_00_00_00.000000001/demo.json"
# capgate's own profile: another closure (the demo's plus getpid)
sed 's/"write"/"write", "getpid"/' examples/demo.json >"$tmp/webhook.json"
grep -q getpid "$tmp/webhook.json" || echo "FAIL node-sync-configmap: cannot make a second closure from examples/demo.json"
cp "$tmp/webhook.json" "$cm/..2026_01_01_00_00_00.000000001/capgate-webhook.json"
ln -s ..2026_01_01_00_00_00.000000001 "$cm/..data"
ln -s ..data/demo.json "$cm/demo.json"
ln -s ..data/capgate-webhook.json "$cm/capgate-webhook.json"
sync "$cm" --named capgate-webhook.json
rc=$?
webhook_hex=$(digest_of "$tmp/webhook.json")
if [ $rc -eq 0 ] && [ -f "$pdir/sha256-$demo_hex.json" ] && cmp -s "$pdir/capgate-webhook.json" "$pdir/sha256-$webhook_hex.json" &&
	grep -q '2 written, 0 unchanged' "$tmp/out"; then
	ok node-sync-configmap
else
	fail node-sync-configmap "exit $rc; $(ls -A "$pdir"); $(cat "$tmp/out" "$tmp/err")"
fi
# A new version: demo.json gone, a new closure in; ..data swapped by rename.
new=..2026_01_01_00_00_01.000000002
mkdir -p "$cm/$new"
cp "$tmp/webhook.json" "$cm/$new/capgate-webhook.json"
if [ -f "$docker_profile" ]; then
	"$CAPGATE" resolve "$docker_profile" -o "$cm/$new/docker.json" 2>/dev/null
	docker_hex=$(digest_of "$docker_profile")
	ln -s ..data/docker.json "$cm/docker.json"
fi
ln -s "$new" "$cm/..data_tmp"
mv -T "$cm/..data_tmp" "$cm/..data"
rm -rf "$cm/..2026_01_01_00_00_00.000000001" "$cm/demo.json"
sync "$cm" --named capgate-webhook.json
rc=$?
if [ $rc -eq 0 ] && [ ! -e "$pdir/sha256-$demo_hex.json" ] && [ -f "$pdir/capgate-webhook.json" ] &&
	{ [ ! -f "$docker_profile" ] || [ -f "$pdir/sha256-$docker_hex.json" ]; }; then
	ok node-sync-configmap-update
else
	fail node-sync-configmap-update "exit $rc; $(ls -A "$pdir"); $(cat "$tmp/out" "$tmp/err")"
fi
# ..data pointing out of the mount is refused.
ln -sfn ../../etc "$cm/..data"
sync "$cm"
rc=$?
if [ $rc -eq 2 ] && grep -q 'not to a version directory beside it' "$tmp/err"; then
	ok node-sync-configmap-data-escape
else
	fail node-sync-configmap-data-escape "exit $rc; $(cat "$tmp/err")"
fi
ln -sfn "$new" "$cm/..data"
# --named takes only plain profile names.
for bad in ../x.json sha256-$demo_hex.json .hidden.json x.yaml; do
	if sync "$cm" --named "$bad"; then
		fail "node-sync-named-refuses-$bad" "accepted"
	else
		ok "node-sync-named-refuses-$(echo "$bad" | tr -c 'a-z0-9\n' _ | cut -c1-20)"
	fi
done

# The watch: a running agent installs a closure added to the source.
wsrc=$tmp/wsrc
wkr=$tmp/wkubelet
mkdir -p "$wsrc" "$wkr"
"$CAPGATE" node-sync --source "$wsrc" --kubelet-root "$wkr" --interval 3600 >"$tmp/wout" 2>&1 &
wpid=$!
for _ in $(seq 100); do [ -d "$wkr/seccomp/capgate" ] && break; sleep 0.1; done
cp examples/demo.json "$wsrc/.demo.tmp" && mv "$wsrc/.demo.tmp" "$wsrc/demo.json"
for _ in $(seq 100); do [ -f "$wkr/seccomp/capgate/sha256-$demo_hex.json" ] && break; sleep 0.1; done
if [ -f "$wkr/seccomp/capgate/sha256-$demo_hex.json" ]; then
	ok node-sync-watch
else
	fail node-sync-watch "not installed within 10 s with a 3600 s interval: $(cat "$tmp/wout")"
fi
kill -TERM "$wpid" 2>/dev/null
wait "$wpid"
rc=$?
if [ $rc -eq 0 ]; then ok node-sync-sigterm; else fail node-sync-sigterm "exit $rc after SIGTERM"; fi

# The profiles it writes are what runtimes load: capgate run enforces the
# demo's closure (its socket blocked) ...
demo_prof=$wkr/seccomp/capgate/sha256-$demo_hex.json
if [ -x build/tests/helpers/demo ]; then
	./build/tests/helpers/demo >/dev/null 2>&1
	"$CAPGATE" run --profile "$demo_prof" -- ./build/tests/helpers/demo >"$tmp/a.out" 2>"$tmp/a.err"
	rc_a=$?
	"$CAPGATE" run --profile examples/demo.json -- ./build/tests/helpers/demo >"$tmp/b.out" 2>"$tmp/b.err"
	rc_b=$?
	if [ $rc_a = $rc_b ] && cmp -s "$tmp/a.out" "$tmp/b.out" && [ -s "$tmp/a.out" ]; then
		ok node-sync-profile-runs
	else
		fail node-sync-profile-runs "exit $rc_a vs $rc_b; $(head -c 300 "$tmp/a.out" "$tmp/a.err")"
	fi
else
	skip node-sync-profile-runs "build/tests/helpers/demo is not built"
fi
# ... it has the OCI runtime-spec shape (what runc/crun/containerd decode) ...
if $PY - "$demo_prof" >"$tmp/out" 2>&1 <<'PY'; then
import json, sys
p = json.load(open(sys.argv[1]))
acts = {"SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO",
        "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY"}
ops = {"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"}
assert p["defaultAction"] in acts, p["defaultAction"]
assert all(a.startswith("SCMP_ARCH_") for a in p.get("architectures", []))
assert isinstance(p["syscalls"], list) and p["syscalls"]
for s in p["syscalls"]:
    assert isinstance(s["names"], list) and s["names"] and all(isinstance(n, str) for n in s["names"])
    assert s["action"] in acts
    for a in s.get("args", []):
        assert 0 <= a["index"] < 6 and a["op"] in ops and isinstance(a["value"], int)
PY
	ok node-sync-profile-oci-shape
else
	fail node-sync-profile-oci-shape "$(tail -3 "$tmp/out")"
fi
# ... and runc loads it into a real container: a call the closure allows
# works, one it leaves out fails with EPERM.
if ! command -v runc >/dev/null || [ ! -x /bin/busybox ] || [ ! -f "$docker_profile" ] || [ "$(id -u)" != 0 ]; then
	skip node-sync-runc "needs root, runc, /bin/busybox (busybox-static) and the shared corpus"
else
	rm -rf "$src"; mkdir -p "$src"
	# Docker's default minus mkdir/mkdirat.
	$PY - "$docker_profile" "$src/nomkdir.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
for s in p["syscalls"]:
    s["names"] = [n for n in s["names"] if n not in ("mkdir", "mkdirat")]
p["syscalls"] = [s for s in p["syscalls"] if s["names"]]
json.dump(p, open(sys.argv[2], "w"))
PY
	sync "$src"
	prof=$(ls "$pdir"/sha256-*.json | head -1)
	b=$tmp/bundle
	mkdir -p "$b/rootfs/bin" "$b/rootfs/tmp" "$b/rootfs/proc" "$b/rootfs/dev" "$b/rootfs/sys"
	cp /bin/busybox "$b/rootfs/bin/busybox"
	(cd "$b" && runc spec)
	runc_try() { # ARGS... -> exit status of the command in the container
		$PY - "$b/config.json" "$prof" "$@" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["process"]["terminal"] = False
c["process"]["args"] = sys.argv[3:]
c["root"]["readonly"] = False
c["linux"]["seccomp"] = json.load(open(sys.argv[2]))
json.dump(c, open(sys.argv[1], "w"))
PY
		timeout 60 runc run -b "$b" "capgate-deploy-test-$$" </dev/null >"$tmp/runc.out" 2>&1
	}
	runc_try /bin/busybox true
	rc_true=$?
	runc_try /bin/busybox mkdir /tmp/x
	rc_mkdir=$?
	if [ $rc_true = 0 ] && [ $rc_mkdir != 0 ] && grep -qi 'not permitted' "$tmp/runc.out" && [ ! -d "$b/rootfs/tmp/x" ]; then
		ok node-sync-runc
	elif [ $rc_true != 0 ] && grep -qiE 'cgroup|mount|permission denied' "$tmp/runc.out"; then
		skip node-sync-runc "runc cannot start a container here: $(head -c 200 "$tmp/runc.out")"
	else
		fail node-sync-runc "true: $rc_true, mkdir: $rc_mkdir; $(head -c 400 "$tmp/runc.out")"
	fi
	runc delete -f "capgate-deploy-test-$$" >/dev/null 2>&1
fi

# --init, the init container's pass: installs, removes nothing, and fails
# only for a --named entry (the profile the agent is about to start under).
isrc=$tmp/isrc
ikr=$tmp/ikubelet
mkdir -p "$isrc" "$ikr"
cp examples/demo.json "$isrc/demo.json"
cp "$NODESYNC_PROFILE" "$isrc/capgate-node-sync.json"
"$CAPGATE" node-sync --source "$isrc" --kubelet-root "$ikr" --once >/dev/null 2>&1
rm "$isrc/demo.json"
echo '{"defaultAction": "SCMP_ACT_BOGUS"}' >"$isrc/bad.json"
"$CAPGATE" node-sync --source "$isrc" --kubelet-root "$ikr" --named capgate-node-sync.json --init >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -eq 0 ] && [ -f "$ikr/seccomp/capgate/sha256-$demo_hex.json" ] && [ -f "$ikr/seccomp/capgate/capgate-node-sync.json" ]; then
	ok node-sync-init-removes-nothing
else
	fail node-sync-init-removes-nothing "exit $rc; $(ls "$ikr/seccomp/capgate"); $(cat "$tmp/err")"
fi
"$CAPGATE" node-sync --source "$isrc" --kubelet-root "$ikr" --named capgate-node-sync.json --named absent.json --init >"$tmp/out" 2>"$tmp/err"
rc=$?
cp "$isrc/bad.json" "$isrc/capgate-node-sync.json"
"$CAPGATE" node-sync --source "$isrc" --kubelet-root "$ikr" --named capgate-node-sync.json --init >"$tmp/out2" 2>"$tmp/err2"
rc2=$?
if [ $rc -eq 1 ] && grep -q 'absent.json: not in the source' "$tmp/err" && [ $rc2 -eq 1 ]; then
	ok node-sync-init-fails-for-named
else
	fail node-sync-init-fails-for-named "exit $rc / $rc2; $(cat "$tmp/err" "$tmp/err2")"
fi

# The agent's own recorded closure (the DaemonSet runs it under
# capgate/capgate-node-sync.json) passes the built-in policy, a widened copy
# does not, and the agent does its whole job under it: first pass, a new
# ConfigMap version with a changed, a bad and a removed entry, SIGTERM.
if "$CAPGATE" check "$NODESYNC_PROFILE" >"$tmp/out" 2>&1; then
	sed 's/"poll"/"poll", "ptrace"/' "$NODESYNC_PROFILE" >"$tmp/ns-wide.json"
	if grep -q ptrace "$tmp/ns-wide.json" && ! "$CAPGATE" check "$tmp/ns-wide.json" >/dev/null 2>&1; then
		ok node-sync-own-profile-passes-policy
	else
		fail node-sync-own-profile-passes-policy "a copy that allows ptrace passes too"
	fi
else
	fail node-sync-own-profile-passes-policy "$(head -c 600 "$tmp/out")"
fi
ocm=$tmp/ocm
okr=$tmp/okubelet
mkdir -p "$ocm/..v1" "$okr"
cp examples/demo.json "$WEBHOOK_PROFILE" "$ocm/..v1/"
ln -s ..v1 "$ocm/..data"
ln -s ..data/demo.json "$ocm/demo.json"
ln -s ..data/capgate-webhook.json "$ocm/capgate-webhook.json"
"$CAPGATE" run --profile "$NODESYNC_PROFILE" --explain -- "$CAPGATE" node-sync --source "$ocm" --kubelet-root "$okr" \
	--named capgate-webhook.json --interval 1 >"$tmp/own.out" 2>"$tmp/own.err" &
opid=$!
for _ in $(seq 100); do [ -f "$okr/seccomp/capgate/capgate-webhook.json" ] && break; sleep 0.1; done
mkdir -p "$ocm/..v2"
sed 's/"write"$/"write", "getpid"/; s/"set_tid_address", "write"/"set_tid_address", "write", "getpid"/' examples/demo.json >"$ocm/..v2/other.json"
cp "$WEBHOOK_PROFILE" "$ocm/..v2/"
echo '{"defaultAction": "SCMP_ACT_BOGUS"}' >"$ocm/..v2/bad.json"
ln -s ..data/other.json "$ocm/other.json"
ln -s ..data/bad.json "$ocm/bad.json"
ln -s ..v2 "$ocm/..data_tmp" && mv -T "$ocm/..data_tmp" "$ocm/..data"
for _ in $(seq 100); do grep -q 'bad.json' "$tmp/own.err" && break; sleep 0.1; done
rm -f "$ocm/bad.json" "$ocm/demo.json" "$ocm/..v2/bad.json"
for _ in $(seq 100); do [ ! -e "$okr/seccomp/capgate/sha256-$demo_hex.json" ] && break; sleep 0.1; done
kill -TERM "$opid"
wait "$opid"
rc=$?
other_hex=$("$CAPGATE" resolve --digest "$ocm/..v2/other.json" | sed 's/^sha256://')
if [ $rc -eq 0 ] && [ -f "$okr/seccomp/capgate/sha256-$other_hex.json" ] && [ ! -e "$okr/seccomp/capgate/sha256-$demo_hex.json" ] &&
	grep -q 'bad.json' "$tmp/own.err" && grep -q '^removed ' "$tmp/own.out" &&
	! grep -v 'bad.json' "$tmp/own.err" | grep -v 'denied rseq(.*rule errno(ENOSYS)' | grep -qi 'denied\|seccomp\|killed'; then
	ok node-sync-under-own-profile
else
	fail node-sync-under-own-profile "exit $rc; $(ls "$okr/seccomp/capgate"); $(head -c 800 "$tmp/own.err")"
fi

# ---- export spo -------------------------------------------------------------

if [ -f "$docker_profile" ]; then
	"$CAPGATE" resolve "$docker_profile" -o "$tmp/docker.closure.json" 2>/dev/null
	closure=$tmp/docker.closure.json
else
	closure=examples/demo.json
fi
want_digest=$("$CAPGATE" resolve --digest "$closure")
"$CAPGATE" export spo --name web-app --namespace prod "$closure" -o "$tmp/spo.yaml" 2>"$tmp/err" &&
	"$CAPGATE" export spo --name web-app --namespace prod -f json "$closure" >"$tmp/spo.json" 2>>"$tmp/err"
rc=$?
if [ $rc -ne 0 ]; then
	fail spo-export "exit $rc: $(cat "$tmp/err")"
elif [ $have_yaml = 0 ]; then
	skip spo-export-structure "python3 has no yaml module (python3-yaml)"
elif $PY - "$tmp/spo.yaml" "$tmp/spo.json" "$want_digest" >"$tmp/out" 2>&1 <<'PY'; then
import json, sys, yaml
y = yaml.safe_load(open(sys.argv[1]))
j = json.load(open(sys.argv[2]))
assert y == j, "YAML and JSON differ"
assert y["apiVersion"] == "security-profiles-operator.x-k8s.io/v1beta1", y["apiVersion"]
assert y["kind"] == "SeccompProfile"
assert set(y) == {"apiVersion", "kind", "metadata", "spec"}, set(y)
m = y["metadata"]
assert m["name"] == "web-app" and m["namespace"] == "prod", m
assert m["annotations"] == {"io.capgate.closure.digest": sys.argv[3]}, m["annotations"]
s = y["spec"]
# The operator's v1beta1 schema: these fields, these enums.
assert set(s) <= {"disabled", "baseProfileName", "defaultAction", "architectures", "listenerPath",
                  "listenerMetadata", "syscalls", "flags"}, set(s)
acts = {"SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO",
        "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY"}
arches = {"SCMP_ARCH_NATIVE", "SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM",
          "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL",
          "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE",
          "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64"}
ops = {"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"}
assert s["defaultAction"] in acts
assert all(a in arches for a in s.get("architectures", [])), s.get("architectures")
assert s["syscalls"]
for c in s["syscalls"]:
    assert set(c) <= {"names", "action", "errnoRet", "args"}, set(c)
    assert c["names"] and all(isinstance(n, str) for n in c["names"])
    assert c["action"] in acts
    assert isinstance(c.get("errnoRet", 0), int) and c.get("errnoRet", 0) >= 0
    assert len(c.get("args", [])) <= 6
    for a in c.get("args", []):
        assert set(a) <= {"index", "value", "valueTwo", "op"}, set(a)
        assert 0 <= a["index"] < 6 and a["op"] in ops
        assert all(isinstance(a.get(k, 0), int) and a.get(k, 0) >= 0 for k in ("index", "value", "valueTwo"))
PY
	ok spo-export-structure
else
	fail spo-export-structure "$(tail -3 "$tmp/out")"
fi
# capgate reads the resource back to the same closure.
if [ "$("$CAPGATE" resolve --digest "$tmp/spo.yaml" 2>&1)" = "$want_digest" ] &&
	[ "$("$CAPGATE" resolve --digest "$tmp/spo.json" 2>&1)" = "$want_digest" ]; then
	ok spo-export-roundtrip
else
	fail spo-export-roundtrip "$("$CAPGATE" resolve --digest "$tmp/spo.yaml" 2>&1) != $want_digest"
fi
# What the resource cannot say without allowing more is refused, and -o
# leaves nothing (and an existing file untouched).
cat >"$tmp/per-arch.json" <<'J'
{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86"],
 "syscalls":[{"names":["read","exit_group"],"action":"SCMP_ACT_ALLOW"},
             {"names":["ptrace"],"action":"SCMP_ACT_ALLOW","arches":["SCMP_ARCH_X86"]}]}
J
cat >"$tmp/enoent-default.json" <<'J'
{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":2,"syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}
J
echo keep >"$tmp/existing.yaml"
t=0
for case in "per-arch.json|--name x|holds only on x86" "enoent-default.json|--name x|no defaultErrnoRet" \
	"per-arch.json|--name Bad_Name|not a valid object name" "per-arch.json|--name x --namespace a.b|not a valid namespace"; do
	IFS='|' read -r in args msg <<<"$case"
	t=$((t + 1))
	# shellcheck disable=SC2086
	"$CAPGATE" export spo $args "$tmp/$in" -o "$tmp/refused$t.yaml" 2>"$tmp/err"
	rc=$?
	# shellcheck disable=SC2086
	"$CAPGATE" export spo $args "$tmp/$in" -o "$tmp/existing.yaml" 2>/dev/null
	if [ $rc -eq 2 ] && [ ! -e "$tmp/refused$t.yaml" ] && grep -q "$msg" "$tmp/err" && [ "$(cat "$tmp/existing.yaml")" = keep ]; then
		ok "spo-export-refuses-$t"
	else
		fail "spo-export-refuses-$t" "$in $args: exit $rc; $(cat "$tmp/err")"
	fi
done
# Free-form strings stay strings in YAML ("true" is not a boolean).
cat >"$tmp/listener.json" <<'J'
{"defaultAction":"SCMP_ACT_ERRNO","listenerPath":"/run/a: b.sock","listenerMetadata":"true",
 "syscalls":[{"names":["read"],"action":"SCMP_ACT_NOTIFY"}]}
J
if [ $have_yaml = 1 ] && "$CAPGATE" export spo --name l "$tmp/listener.json" -o "$tmp/listener.yaml" 2>"$tmp/err" &&
	$PY -c 'import sys, yaml; s = yaml.safe_load(open(sys.argv[1]))["spec"]; sys.exit(s["listenerMetadata"] != "true" or s["listenerPath"] != "/run/a: b.sock")' "$tmp/listener.yaml"; then
	ok spo-export-yaml-strings
else
	fail spo-export-yaml-strings "$(cat "$tmp/err" "$tmp/listener.yaml" 2>/dev/null | head -c 600)"
fi
for nm in 123 1e3 true no null; do
	if [ $have_yaml = 1 ] && "$CAPGATE" export spo --name $nm --namespace $nm examples/demo.json -o "$tmp/n.yaml" 2>"$tmp/err" &&
		$PY -c 'import sys, yaml; m = yaml.safe_load(open(sys.argv[1]))["metadata"]; sys.exit(m["name"] != sys.argv[2] or m["namespace"] != sys.argv[2])' "$tmp/n.yaml" "$nm"; then
		ok "spo-export-yaml-name-$nm"
	else
		fail "spo-export-yaml-name-$nm" "$(cat "$tmp/err" "$tmp/n.yaml" 2>/dev/null | head -c 400)"
	fi
done
# A per-arch rule that denies (stricter everywhere) or covers every listed
# arch is fine.
cat >"$tmp/per-arch-ok.json" <<'J'
{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],
 "syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","arches":["SCMP_ARCH_X86_64"]}]}
J
if "$CAPGATE" export spo --name ok "$tmp/per-arch-ok.json" >/dev/null 2>"$tmp/err"; then
	ok spo-export-per-arch-covering
else
	fail spo-export-per-arch-covering "$(cat "$tmp/err")"
fi
if "$CAPGATE" export spo >/dev/null 2>&1 || "$CAPGATE" export xyz --name a "$closure" >/dev/null 2>&1; then
	fail spo-export-usage "a bad command line was accepted"
else
	ok spo-export-usage
fi

