#: The rules of `capgate policy export`, written once for both targets. Lines that
#: start with "#:" are notes for the reader and are not exported. "PARAM." becomes
#: the parameter prefix ("" in the Rego module, where the parameters are rules of
#: their own; "input.parameters." in the Gatekeeper template), and "DENY" the head
#: of a deny rule ("deny contains msg", or "violation contains {"msg": msg}").
#: The rules follow capgate's own reading rule by rule (lib/static/k8s.c,
#: lib/static/policy_eval.c, lib/static/imageref.c); `capgate policy export
#: --rego-tests` writes OPA tests that hold them to capgate's verdicts.
#: Every PARAM.name must be in the parameter table of lib/static/policy_export.c,
#: which writes the values, the Constraint's parameters and the template's schema
#: (tests/unit/test_policy.c test_rego_params fails otherwise).
# The pod spec and the pod's metadata, for any workload kind.
pod_spec = input.review.object.spec if input.review.object.kind == "Pod"
pod_spec = input.review.object.spec.jobTemplate.spec.template.spec if input.review.object.kind == "CronJob"
pod_spec = input.review.object.template.spec if input.review.object.kind == "PodTemplate"
pod_spec = input.review.object.spec.template.spec if {
	not input.review.object.kind in {"Pod", "CronJob", "PodTemplate"}
}

pod_meta = input.review.object.metadata if input.review.object.kind == "Pod"
pod_meta = input.review.object.spec.jobTemplate.spec.template.metadata if input.review.object.kind == "CronJob"
pod_meta = input.review.object.template.metadata if input.review.object.kind == "PodTemplate"
pod_meta = input.review.object.spec.template.metadata if {
	not input.review.object.kind in {"Pod", "CronJob", "PodTemplate"}
}

containers contains c if some c in pod_spec.containers
containers contains c if some c in pod_spec.initContainers
containers contains c if some c in pod_spec.ephemeralContainers

# Exemptions by namespace or label: an exempt workload is allowed.
exempt if input.review.object.metadata.namespace in PARAM.exempt_namespaces
exempt if {
	some k, v in PARAM.exempt_labels
	input.review.object.metadata.labels[k] == v
}

# Pod Security Standards, seccomp. A setting is the securityContext field, or else the
# legacy annotation; a container's own setting overrides the pod's. An Unconfined or
# invalid annotation is denied, but restricted counts fields only: the annotations
# have done nothing since Kubernetes 1.25.
valid_localhost(p) if {
	is_string(p)
	p != ""
	not startswith(p, "/")
	not ".." in split(p, "/")
}

field_ok(sp) if {
	sp.type in {"RuntimeDefault", "Unconfined"}
	object.get(sp, "localhostProfile", null) == null
}
field_ok(sp) if {
	sp.type == "Localhost"
	valid_localhost(sp.localhostProfile)
}

field_kind(sp) = sp.type if field_ok(sp)
field_kind(sp) = "invalid" if not field_ok(sp)

ann_ok(v) if v in {"runtime/default", "docker/default", "unconfined"}
ann_ok(v) if {
	startswith(v, "localhost/")
	valid_localhost(substring(v, 10, -1))
}

ann_kind(v) = "RuntimeDefault" if v in {"runtime/default", "docker/default"}
ann_kind(v) = "Unconfined" if v == "unconfined"
ann_kind(v) = "Localhost" if {
	startswith(v, "localhost/")
	ann_ok(v)
}
ann_kind(v) = "invalid" if not ann_ok(v)

pod_field := object.get(pod_spec, ["securityContext", "seccompProfile"], null)

pod_kind = field_kind(pod_field) if pod_field != null
pod_kind = ann_kind(pod_meta.annotations["seccomp.security.alpha.kubernetes.io/pod"]) if pod_field == null

own_field(c) := object.get(c, ["securityContext", "seccompProfile"], null)

own_kind(c) = field_kind(own_field(c)) if own_field(c) != null
own_kind(c) = ann_kind(pod_meta.annotations[concat("", ["container.seccomp.security.alpha.kubernetes.io/", c.name])]) if {
	own_field(c) == null
}

bad_kind(k) if k in {"Unconfined", "invalid"}

DENY if {
	not exempt
	PARAM.pod_security != "privileged"
	bad_kind(pod_kind)
	msg := sprintf("pod: seccompProfile is %v", [pod_kind])
}

DENY if {
	not exempt
	PARAM.pod_security != "privileged"
	some c in containers
	bad_kind(own_kind(c))
	msg := sprintf("container %v: seccompProfile is %v", [c.name, own_kind(c)])
}

bad_pod if bad_kind(pod_kind)

DENY if {
	not exempt
	PARAM.pod_security == "restricted"
	some c in containers
	own_field(c) == null
	pod_field == null
	not bad_pod
	msg := sprintf("container %v: seccompProfile is not set (restricted requires RuntimeDefault or Localhost in a securityContext field)", [c.name])
}

# Pod Security Standards, the other fields that bear on the closure: a privileged
# container runs without seccomp, host namespaces, added capabilities, and (restricted)
# allowPrivilegeEscalation: false.
caps_baseline := {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}

cap_ok(cap) if {
	PARAM.pod_security == "baseline"
	cap in caps_baseline
}
cap_ok(cap) if {
	PARAM.pod_security == "restricted"
	cap == "NET_BIND_SERVICE"
}

DENY if {
	not exempt
	PARAM.pod_security != "privileged"
	some c in containers
	object.get(c, ["securityContext", "privileged"], false) == true
	msg := sprintf("container %v: privileged is true: runtimes apply no seccomp filter to a privileged container", [c.name])
}

DENY if {
	not exempt
	PARAM.pod_security != "privileged"
	some f in ["hostNetwork", "hostPID", "hostIPC"]
	object.get(pod_spec, f, false) == true
	msg := sprintf("pod: %v is true", [f])
}

DENY if {
	not exempt
	PARAM.pod_security != "privileged"
	some c in containers
	some cap in object.get(c, ["securityContext", "capabilities", "add"], [])
	not cap_ok(cap)
	msg := sprintf("container %v: capabilities.add has %v", [c.name, cap])
}

DENY if {
	not exempt
	PARAM.pod_security == "restricted"
	some c in containers
	object.get(c, ["securityContext", "allowPrivilegeEscalation"], null) != false
	msg := sprintf("container %v: allowPrivilegeEscalation is not false (restricted requires false)", [c.name])
}

# The calls a container declares: the pod annotation io.capgate.syscalls/<container>,
# names separated by commas or white space (capgate check splits the same way).
declared(c) := {s | some s in regex.split(`[\s,\[\]"]+`, pod_meta.annotations[concat("", ["io.capgate.syscalls/", c.name])]); s != ""}

DENY if {
	not exempt
	some c in containers
	some s in declared(c)
	not s in PARAM.allowed_syscalls
	msg := sprintf("container %v: syscall %v is not in the allowed list (baseline: %v)", [c.name, s, PARAM.baseline])
}

DENY if {
	not exempt
	PARAM.max_calls > 0
	some c in containers
	count(declared(c)) > PARAM.max_calls
	msg := sprintf("container %v: declares %v calls; the bound is %v", [c.name, count(declared(c)), PARAM.max_calls])
}

# Image references, read with the distribution/reference grammar. Trust is decided on
# the parsed registry and whole path components, never on a string prefix.
ref_re := `^((?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?/|\[[0-9a-fA-F:]+\](?::[0-9]+)?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@(?:sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128}))?$`

before_at(img) := s if {
	parts := split(img, "@")
	s := parts[0]
}

ref_name(img) := regex.replace(before_at(img), `:[A-Za-z0-9_][A-Za-z0-9_.-]*$`, "")

valid_ref(img) if {
	is_string(img)
	regex.match(ref_re, img)
	count(ref_name(img)) <= 255
	not regex.match(`^[a-f0-9]{64}$`, img)
}

domain_first(name) if {
	comps := split(name, "/")
	regex.match(`[.:A-Z]|^localhost$`, comps[0])
}

norm_host(h) = "docker.io" if lower(h) == "index.docker.io"
norm_host(h) = lower(h) if lower(h) != "index.docker.io"

# Docker Hub's one-component names are official images: library/<name>.
hub_path(host, p) = array.concat(["library"], p) if {
	host == "docker.io"
	count(p) == 1
}
hub_path(host, p) = p if host != "docker.io"
hub_path(host, p) = p if count(p) != 1

ref_parts(img) = [host, hub_path(host, array.slice(parts, 1, count(parts)))] if {
	parts := split(ref_name(img), "/")
	count(parts) > 1
	domain_first(ref_name(img))
	host := norm_host(parts[0])
}
ref_parts(img) = ["docker.io", parts] if {
	parts := split(ref_name(img), "/")
	count(parts) > 1
	not domain_first(ref_name(img))
}
ref_parts(img) = ["docker.io", ["library", ref_name(img)]] if {
	count(split(ref_name(img), "/")) == 1
}

trusted(img) if {
	some t in PARAM.trusted_registries
	parts := ref_parts(img)
	tp := [x | some x in split(t, "/"); x != ""]
	norm_host(tp[0]) == parts[0]
	prefix := array.slice(tp, 1, count(tp))
	count(prefix) <= count(parts[1])
	array.slice(parts[1], 0, count(prefix)) == prefix
}

DENY if {
	not exempt
	some c in containers
	c.image
	not valid_ref(c.image)
	msg := sprintf("image %v is not a valid image reference", [c.image])
}

DENY if {
	not exempt
	count(PARAM.trusted_registries) > 0
	some c in containers
	valid_ref(c.image)
	not trusted(c.image)
	msg := sprintf("image %v is not from a trusted registry", [c.image])
}

DENY if {
	not exempt
	PARAM.require_digest
	some c in containers
	valid_ref(c.image)
	not contains(c.image, "@")
	msg := sprintf("image %v is not pinned by digest", [c.image])
}
