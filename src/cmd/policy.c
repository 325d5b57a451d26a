// SPDX-License-Identifier: Apache-2.0
/* capgate policy: show the effective policy, probe gVisor, export Rego. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include <capgate/policy.h>

#include "../cli.h"

static const char usage[] = "show|probe-gvisor|export [options] [MANIFEST...]";
static const char desc[] =
	"  show          print the effective policy: baseline, allowed calls, bounds, images rules\n"
	"  probe-gvisor  run a syscall probe inside gVisor (runsc) and write the calls it implements\n"
	"                as a baseline file for the policy's baselineFile\n"
	"  export        write the policy as a Rego module (--rego, rego.v1) or a Gatekeeper\n"
	"                ConstraintTemplate and Constraint (--gatekeeper); --rego-tests MANIFEST...\n"
	"                writes OPA tests asserting capgate's verdict on each workload, for\n"
	"                `opa test capgate.rego capgate_test.rego`";

static int load_policy(const char *path, struct cg_policy **p)
{
	struct cg_error err = { 0 };
	if ((path ? cg_policy_load(path, p, &err) : cg_policy_default(p, &err)) < 0) {
		cli_error("policy", "%s", err.msg);
		return -1;
	}
	return 0;
}

static void list_json(struct cg_strbuf *sb, char *const *v, size_t n, const char *indent)
{
	cg_strbuf_addf(sb, "[");
	for (size_t i = 0; i < n; i++) {
		cg_strbuf_addf(sb, "%s%s", i ? "," : "", (i % 6 == 0) ? "\n" : " ");
		if (i % 6 == 0)
			cg_strbuf_addf(sb, "%s", indent);
		cg_strbuf_add_json_str(sb, v[i]);
	}
	cg_strbuf_addf(sb, "%s]", n ? "\n" : "");
}

static int do_show(struct cg_policy *p, bool list, bool classes)
{
	size_t nc, nb;
	const struct cg_risk_class *rc = cg_risk_classes(&nc);
	const char *const *bn = cg_baseline_names(&nb);
	printf("policy:            %s\n", p->source);
	printf("baseline:          %s%s%s\n", p->baseline ? p->baseline : "none", p->baseline_file ? " + " : "",
	       p->baseline_file ? p->baseline_file : "");
	if (p->baseline && cg_baseline_origin(p->baseline))
		printf("                   (%s)\n", cg_baseline_origin(p->baseline));
	printf("allowed calls:     %zu\n", p->n_allowed);
	printf("bound:             %ld calls%s%s\n", p->max_calls, p->bound_phase ? " in phase " : "",
	       p->bound_phase ? p->bound_phase : "");
	printf("denied classes:   ");
	for (size_t i = 0; i < p->n_deny_classes; i++)
		printf(" %s", p->deny_classes[i]);
	printf("\npod security:      %s\n", p->pss == CG_PSS_RESTRICTED ? "restricted" : p->pss == CG_PSS_BASELINE ? "baseline" : "privileged");
	printf("profiles:          contents %s, permissive default %s\n",
	       p->require_profile_contents ? "checked" : "not checked", p->deny_permissive_default ? "denied" : "allowed");
	printf("images:            signature %s (%zu keys), %zu trusted registries%s\n",
	       p->require_signature ? "required" : "not required", p->n_keys, p->n_trusted,
	       p->require_digest ? ", digest pinning required" : "");
	if (classes)
		for (size_t i = 0; i < nc; i++) {
			printf("class %-15s %-8s %s:", rc[i].name, cg_severity_name(rc[i].severity), rc[i].reason);
			for (const char *const *c = rc[i].calls; *c; c++)
				printf(" %s", *c);
			printf("\n");
		}
	if (list)
		for (size_t i = 0; i < p->n_allowed; i++)
			printf("%s\n", p->allowed[i]);
	if (classes)
		for (size_t i = 0; i < nb; i++)
			printf("baseline %s: %s\n", bn[i], cg_baseline_origin(bn[i]));
	return EXIT_OK;
}

/* Run the probe inside runsc and collect the names that answered ENOSYS. */
static int do_probe(const char *runsc, const char *out)
{
	char self[4096], line[256], cmd[8400];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	struct cg_strbuf sb, ver;
	char **unimpl = NULL;
	size_t n_unimpl = 0;
	FILE *f;
	int status;

	if (n < 0) {
		cli_error("policy", "cannot find the capgate binary: %m");
		return EXIT_USAGE;
	}
	self[n] = '\0';
	cg_strbuf_init(&ver);
	snprintf(cmd, sizeof(cmd), "'%s' --version 2>/dev/null | head -1", runsc);
	if ((f = popen(cmd, "r")) && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		cg_strbuf_addf(&ver, "%s", line);
	}
	if (f)
		pclose(f);
	if (!ver.len) {
		cli_error("policy", "%s does not run (install Debian's runsc, or give --runsc PATH)", runsc);
		cg_strbuf_release(&ver);
		return EXIT_USAGE;
	}
	snprintf(cmd, sizeof(cmd), "cd / && '%s' --rootless --network=none do '%s' __probe-syscalls", runsc, self);
	f = popen(cmd, "r");
	if (!f) {
		cli_error("policy", "cannot start %s: %m", runsc);
		cg_strbuf_release(&ver);
		return EXIT_USAGE;
	}
	bool saw_header = false;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#') {
			saw_header = true;
			continue;
		}
		if (!cg_syscall_known(line))
			continue;
		char **nv = realloc(unimpl, (n_unimpl + 1) * sizeof(*nv));
		if (!nv || !(nv[n_unimpl] = strdup(line))) {
			free(nv ? nv : unimpl);
			pclose(f);
			cg_strbuf_release(&ver);
			return EXIT_USAGE;
		}
		unimpl = nv;
		n_unimpl++;
	}
	status = pclose(f);
	if (!saw_header || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		cli_error("policy", "the probe did not run inside %s (exit status %d)", runsc,
			  WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		cg_strbuf_release(&ver);
		for (size_t i = 0; i < n_unimpl; i++)
			free(unimpl[i]);
		free(unimpl);
		return EXIT_USAGE;
	}
	/* implemented = every x86_64 call capgate knows minus the unimplemented */
	char **impl = NULL;
	size_t n_impl = 0;
	for (size_t i = 0; cg_syscall_name_at(i); i++) {
		const char *name = cg_syscall_name_at(i);
		bool un = false;
		if (cg_syscall_nr(CG_ARCH_X86_64, name) < 0)
			continue;
		for (size_t k = 0; k < n_unimpl && !un; k++)
			un = strcmp(unimpl[k], name) == 0;
		if (!un) {
			char **nv = realloc(impl, (n_impl + 1) * sizeof(*nv));
			if (!nv)
				break;
			impl = nv;
			impl[n_impl++] = (char *)name;
		}
	}
	cg_strbuf_init(&sb);
	cg_strbuf_addf(&sb, "{\n  \"runtime\": ");
	cg_strbuf_add_json_str(&sb, ver.buf);
	cg_strbuf_addf(&sb, ",\n  \"arch\": \"x86_64\",\n  \"implemented\": ");
	list_json(&sb, impl, n_impl, "    ");
	cg_strbuf_addf(&sb, ",\n  \"unimplemented\": ");
	list_json(&sb, unimpl, n_unimpl, "    ");
	cg_strbuf_addf(&sb, "\n}\n");
	int r = cli_write("policy", out, &sb);
	/* compare with the built-in table */
	const char *const *builtin;
	size_t nb = 0, only_probe = 0, only_builtin = 0;
	cg_baseline_calls("gvisor", &builtin, &nb);
	for (size_t i = 0; i < n_impl; i++) {
		bool in = false;
		for (size_t k = 0; k < nb && !in; k++)
			in = strcmp(builtin[k], impl[i]) == 0;
		only_probe += !in;
	}
	for (size_t k = 0; k < nb; k++) {
		bool in = false;
		for (size_t i = 0; i < n_impl && !in; i++)
			in = strcmp(builtin[k], impl[i]) == 0;
		only_builtin += !in;
	}
	fprintf(stderr, "capgate policy: %s implements %zu x86_64 calls, %zu answer ENOSYS; built-in gvisor baseline: %zu "
			"(%zu only in the probe, %zu only built in)\n",
		ver.buf, n_impl, n_unimpl, nb, only_probe, only_builtin);
	cg_strbuf_release(&sb);
	cg_strbuf_release(&ver);
	for (size_t i = 0; i < n_unimpl; i++)
		free(unimpl[i]);
	free(unimpl);
	free(impl);
	return r < 0 ? EXIT_USAGE : (only_probe || only_builtin) ? EXIT_FINDINGS : EXIT_OK;
}

static void rego_set(struct cg_strbuf *sb, char *const *v, size_t n)
{
	cg_strbuf_addf(sb, "{");
	for (size_t i = 0; i < n; i++) {
		cg_strbuf_addf(sb, "%s%s", i ? "," : "", i % 6 == 0 ? "\n\t" : " ");
		cg_strbuf_add_json_str(sb, v[i]);
	}
	cg_strbuf_addf(sb, "%s}", n ? "\n" : "");
}

/* The rules, written once; parameters come from data (Rego module) or from
 * input.parameters (Gatekeeper). Every "PARAM." in the text is replaced by the
 * parameter prefix, and "DENY" by the head of a deny rule. They follow
 * capgate's own reading rule by rule (lib/static/k8s.c, lib/static/policy.c,
 * lib/static/imageref.c); `capgate policy export --rego-tests` writes OPA tests
 * that hold them to capgate's verdicts. */
static const char rego_text[] =
	"# The pod spec and the pod's metadata, for any workload kind.\n"
	"pod_spec = input.review.object.spec if input.review.object.kind == \"Pod\"\n"
	"pod_spec = input.review.object.spec.jobTemplate.spec.template.spec if input.review.object.kind == \"CronJob\"\n"
	"pod_spec = input.review.object.spec.template.spec if {\n"
	"\tnot input.review.object.kind in {\"Pod\", \"CronJob\"}\n"
	"}\n\n"
	"pod_meta = input.review.object.metadata if input.review.object.kind == \"Pod\"\n"
	"pod_meta = input.review.object.spec.jobTemplate.spec.template.metadata if input.review.object.kind == \"CronJob\"\n"
	"pod_meta = input.review.object.spec.template.metadata if {\n"
	"\tnot input.review.object.kind in {\"Pod\", \"CronJob\"}\n"
	"}\n\n"
	"containers contains c if some c in pod_spec.containers\n"
	"containers contains c if some c in pod_spec.initContainers\n"
	"containers contains c if some c in pod_spec.ephemeralContainers\n\n"
	"# Exemptions by namespace or label: an exempt workload is allowed.\n"
	"exempt if input.review.object.metadata.namespace in PARAM.exempt_namespaces\n"
	"exempt if {\n"
	"\tsome k, v in PARAM.exempt_labels\n"
	"\tinput.review.object.metadata.labels[k] == v\n"
	"}\n\n"
	"# Pod Security Standards, seccomp. A setting is the securityContext field, or else the\n"
	"# legacy annotation; a container's own setting overrides the pod's.\n"
	"valid_localhost(p) if {\n"
	"\tis_string(p)\n"
	"\tp != \"\"\n"
	"\tnot startswith(p, \"/\")\n"
	"\tnot \"..\" in split(p, \"/\")\n"
	"}\n\n"
	"field_ok(sp) if {\n"
	"\tsp.type in {\"RuntimeDefault\", \"Unconfined\"}\n"
	"\tobject.get(sp, \"localhostProfile\", null) == null\n"
	"}\n"
	"field_ok(sp) if {\n"
	"\tsp.type == \"Localhost\"\n"
	"\tvalid_localhost(sp.localhostProfile)\n"
	"}\n\n"
	"field_kind(sp) = sp.type if field_ok(sp)\n"
	"field_kind(sp) = \"invalid\" if not field_ok(sp)\n\n"
	"ann_ok(v) if v in {\"runtime/default\", \"docker/default\", \"unconfined\"}\n"
	"ann_ok(v) if {\n"
	"\tstartswith(v, \"localhost/\")\n"
	"\tvalid_localhost(substring(v, 10, -1))\n"
	"}\n\n"
	"ann_kind(v) = \"RuntimeDefault\" if v in {\"runtime/default\", \"docker/default\"}\n"
	"ann_kind(v) = \"Unconfined\" if v == \"unconfined\"\n"
	"ann_kind(v) = \"Localhost\" if {\n"
	"\tstartswith(v, \"localhost/\")\n"
	"\tann_ok(v)\n"
	"}\n"
	"ann_kind(v) = \"invalid\" if not ann_ok(v)\n\n"
	"pod_field := object.get(pod_spec, [\"securityContext\", \"seccompProfile\"], null)\n\n"
	"pod_kind = field_kind(pod_field) if pod_field != null\n"
	"pod_kind = ann_kind(pod_meta.annotations[\"seccomp.security.alpha.kubernetes.io/pod\"]) if pod_field == null\n\n"
	"own_field(c) := object.get(c, [\"securityContext\", \"seccompProfile\"], null)\n\n"
	"own_kind(c) = field_kind(own_field(c)) if own_field(c) != null\n"
	"own_kind(c) = ann_kind(pod_meta.annotations[concat(\"\", [\"container.seccomp.security.alpha.kubernetes.io/\", c.name])]) if {\n"
	"\town_field(c) == null\n"
	"}\n\n"
	"bad_kind(k) if k in {\"Unconfined\", \"invalid\"}\n\n"
	"DENY if {\n"
	"\tnot exempt\n"
	"\tPARAM.pod_security != \"privileged\"\n"
	"\tbad_kind(pod_kind)\n"
	"\tmsg := sprintf(\"pod: seccompProfile is %v\", [pod_kind])\n"
	"}\n\n"
	"DENY if {\n"
	"\tnot exempt\n"
	"\tPARAM.pod_security != \"privileged\"\n"
	"\tsome c in containers\n"
	"\tbad_kind(own_kind(c))\n"
	"\tmsg := sprintf(\"container %v: seccompProfile is %v\", [c.name, own_kind(c)])\n"
	"}\n\n"
	"DENY if {\n"
	"\tnot exempt\n"
	"\tPARAM.pod_security == \"restricted\"\n"
	"\tsome c in containers\n"
	"\tnot own_kind(c)\n"
	"\tnot pod_kind\n"
	"\tmsg := sprintf(\"container %v: seccompProfile is not set (restricted requires RuntimeDefault or Localhost)\", [c.name])\n"
	"}\n\n"
	"# The calls a container declares: the pod annotation " CG_K8S_ANN_DECLARED "<container>,\n"
	"# names separated by commas or white space (capgate check splits the same way).\n"
	"declared(c) := {s | some s in regex.split(`[\\s,\\[\\]\"]+`, pod_meta.annotations[concat(\"\", [\"" CG_K8S_ANN_DECLARED "\", c.name])]); s != \"\"}\n\n"
	"DENY if {\n"
	"\tnot exempt\n"
	"\tsome c in containers\n"
	"\tsome s in declared(c)\n"
	"\tnot s in PARAM.allowed_syscalls\n"
	"\tmsg := sprintf(\"container %v: syscall %v is not in the allowed list (baseline: %v)\", [c.name, s, PARAM.baseline])\n"
	"}\n\n"
	"DENY if {\n"
	"\tnot exempt\n"
	"\tPARAM.max_calls > 0\n"
	"\tsome c in containers\n"
	"\tcount(declared(c)) > PARAM.max_calls\n"
	"\tmsg := sprintf(\"container %v: declares %v calls; the bound is %v\", [c.name, count(declared(c)), PARAM.max_calls])\n"
	"}\n\n"
	"# Image references, read with the distribution/reference grammar. Trust is decided on\n"
	"# the parsed registry and whole path components, never on a string prefix.\n"
	"ref_re := `^((?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?/|\\[[0-9a-fA-F:]+\\](?::[0-9]+)?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@(?:sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128}))?$`\n\n"
	"before_at(img) := s if {\n"
	"\tparts := split(img, \"@\")\n"
	"\ts := parts[0]\n"
	"}\n\n"
	"ref_name(img) := regex.replace(before_at(img), `:[A-Za-z0-9_][A-Za-z0-9_.-]*$`, \"\")\n\n"
	"valid_ref(img) if {\n"
	"\tis_string(img)\n"
	"\tregex.match(ref_re, img)\n"
	"\tcount(ref_name(img)) <= 255\n"
	"\tnot regex.match(`^[a-f0-9]{64}$`, img)\n"
	"}\n\n"
	"domain_first(name) if {\n"
	"\tcomps := split(name, \"/\")\n"
	"\tregex.match(`[.:A-Z]|^localhost$`, comps[0])\n"
	"}\n\n"
	"norm_host(h) = \"docker.io\" if lower(h) == \"index.docker.io\"\n"
	"norm_host(h) = lower(h) if lower(h) != \"index.docker.io\"\n\n"
	"# Docker Hub's one-component names are official images: library/<name>.\n"
	"hub_path(host, p) = array.concat([\"library\"], p) if {\n"
	"\thost == \"docker.io\"\n"
	"\tcount(p) == 1\n"
	"}\n"
	"hub_path(host, p) = p if host != \"docker.io\"\n"
	"hub_path(host, p) = p if count(p) != 1\n\n"
	"ref_parts(img) = [host, hub_path(host, array.slice(parts, 1, count(parts)))] if {\n"
	"\tparts := split(ref_name(img), \"/\")\n"
	"\tcount(parts) > 1\n"
	"\tdomain_first(ref_name(img))\n"
	"\thost := norm_host(parts[0])\n"
	"}\n"
	"ref_parts(img) = [\"docker.io\", parts] if {\n"
	"\tparts := split(ref_name(img), \"/\")\n"
	"\tcount(parts) > 1\n"
	"\tnot domain_first(ref_name(img))\n"
	"}\n"
	"ref_parts(img) = [\"docker.io\", [\"library\", ref_name(img)]] if {\n"
	"\tcount(split(ref_name(img), \"/\")) == 1\n"
	"}\n\n"
	"trusted(img) if {\n"
	"\tsome t in PARAM.trusted_registries\n"
	"\tparts := ref_parts(img)\n"
	"\ttp := [x | some x in split(t, \"/\"); x != \"\"]\n"
	"\tnorm_host(tp[0]) == parts[0]\n"
	"\tprefix := array.slice(tp, 1, count(tp))\n"
	"\tcount(prefix) <= count(parts[1])\n"
	"\tarray.slice(parts[1], 0, count(prefix)) == prefix\n"
	"}\n\n"
	"DENY if {\n"
	"\tnot exempt\n"
	"\tsome c in containers\n"
	"\tc.image\n"
	"\tnot valid_ref(c.image)\n"
	"\tmsg := sprintf(\"image %v is not a valid image reference\", [c.image])\n"
	"}\n\n"
	"DENY if {\n"
	"\tnot exempt\n"
	"\tcount(PARAM.trusted_registries) > 0\n"
	"\tsome c in containers\n"
	"\tvalid_ref(c.image)\n"
	"\tnot trusted(c.image)\n"
	"\tmsg := sprintf(\"image %v is not from a trusted registry\", [c.image])\n"
	"}\n\n"
	"DENY if {\n"
	"\tnot exempt\n"
	"\tPARAM.require_digest\n"
	"\tsome c in containers\n"
	"\tvalid_ref(c.image)\n"
	"\tnot contains(c.image, \"@\")\n"
	"\tmsg := sprintf(\"image %v is not pinned by digest\", [c.image])\n"
	"}\n";

static void rego_rules(struct cg_strbuf *sb, const char *P, const char *head)
{
	for (const char *q = rego_text; *q; q++) {
		if (strncmp(q, "PARAM.", 6) == 0) {
			cg_strbuf_addf(sb, "%s", P);
			q += 5;
		} else if (strncmp(q, "DENY", 4) == 0) {
			cg_strbuf_addf(sb, "%s", head);
			q += 3;
		} else
			cg_strbuf_addf(sb, "%c", *q);
	}
}

static const char *pss_name(enum cg_pss_level l)
{
	return l == CG_PSS_RESTRICTED ? "restricted" : l == CG_PSS_BASELINE ? "baseline" : "privileged";
}

/* The policy's parameters, as Rego values (`name := value`, the allowed
 * calls as a set) or as the Constraint's YAML parameters (JSON values). */
static void params_out(struct cg_strbuf *sb, const struct cg_policy *p, bool rego, const char *indent)
{
	const char *sep = rego ? " := " : ": ", *end = rego ? "\n\n" : "\n";
	const char *ind = rego ? "" : indent;
	char deeper[32];
	snprintf(deeper, sizeof(deeper), "%s  ", indent);

	cg_strbuf_addf(sb, "%sbaseline%s", ind, sep);
	cg_strbuf_add_json_str(sb, p->baseline_file ? p->baseline_file : p->baseline ? p->baseline : "none");
	cg_strbuf_addf(sb, "%s%smax_calls%s%ld%s", end, ind, sep, p->max_calls, end);
	cg_strbuf_addf(sb, "%srequire_digest%s%s%s", ind, sep, p->require_digest ? "true" : "false", end);
	cg_strbuf_addf(sb, "%spod_security%s\"%s\"%s", ind, sep, pss_name(p->pss), end);
	cg_strbuf_addf(sb, "%strusted_registries%s", ind, sep);
	list_json(sb, p->trusted_registries, p->n_trusted, deeper);
	cg_strbuf_addf(sb, "%s%sexempt_namespaces%s", end, ind, sep);
	list_json(sb, p->exempt_namespaces, p->n_exempt_namespaces, deeper);
	cg_strbuf_addf(sb, "%s%sexempt_labels%s{", end, ind, sep);
	for (size_t i = 0; i < p->n_exempt_labels; i++) {
		cg_strbuf_addf(sb, "%s", i ? ", " : "");
		cg_strbuf_add_json_str(sb, p->exempt_label_keys[i]);
		cg_strbuf_addf(sb, ": ");
		cg_strbuf_add_json_str(sb, p->exempt_label_values[i]);
	}
	cg_strbuf_addf(sb, "}%s%sallowed_syscalls%s", end, ind, sep);
	if (rego)
		rego_set(sb, p->allowed, p->n_allowed);
	else
		list_json(sb, p->allowed, p->n_allowed, deeper);
	cg_strbuf_addf(sb, "%s", end);
}

static int do_export(const struct cg_policy *p, bool rego, bool gatekeeper, const char *out)
{
	struct cg_strbuf sb;
	cg_strbuf_init(&sb);
	if (rego == gatekeeper) {
		cli_error("policy", "export: give exactly one of --rego or --gatekeeper");
		return EXIT_USAGE;
	}
	if (rego) {
		cg_strbuf_addf(&sb, "# Generated by capgate from %s. The same rules as `capgate check`, for OPA.\n"
				    "# Verify with: opa check --v1-compatible FILE; opa eval -d FILE -i admission-review.json "
				    "'data.capgate.admission.deny'\n"
				    "# Not here: cosign signatures (Rego cannot verify them offline) and the contents of\n"
				    "# Localhost profiles (they live on the nodes); capgate check keeps those rules.\n"
				    "package capgate.admission\n\nimport rego.v1\n\n",
			       p->source);
		params_out(&sb, p, true, "");
		rego_rules(&sb, "", "deny contains msg");
	} else {
		struct cg_strbuf rules;
		cg_strbuf_init(&rules);
		rego_rules(&rules, "input.parameters.", "violation contains {\"msg\": msg}");
		cg_strbuf_addf(&sb, "# Generated by capgate from %s.\napiVersion: templates.gatekeeper.sh/v1\n"
				    "kind: ConstraintTemplate\nmetadata:\n  name: k8scapgate\nspec:\n  crd:\n    spec:\n"
				    "      names:\n        kind: K8sCapgate\n      validation:\n        openAPIV3Schema:\n"
				    "          type: object\n          properties:\n            baseline: {type: string}\n"
				    "            max_calls: {type: integer}\n            require_digest: {type: boolean}\n"
				    "            pod_security: {type: string}\n"
				    "            trusted_registries: {type: array, items: {type: string}}\n"
				    "            exempt_namespaces: {type: array, items: {type: string}}\n"
				    "            exempt_labels: {type: object, additionalProperties: {type: string}}\n"
				    "            allowed_syscalls: {type: array, items: {type: string}}\n"
				    "  targets:\n    - target: admission.k8s.gatekeeper.sh\n      code:\n        - engine: Rego\n"
				    "          source:\n            version: \"v1\"\n            rego: |\n",
			       p->source);
		cg_strbuf_addf(&sb, "              package k8scapgate\n\n              import rego.v1\n\n");
		for (char *line = rules.buf, *next; line && *line; line = next) {
			next = strchr(line, '\n');
			if (next)
				*next++ = '\0';
			cg_strbuf_addf(&sb, "%s%s\n", *line ? "              " : "", line);
		}
		cg_strbuf_release(&rules);
		cg_strbuf_addf(&sb, "---\napiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sCapgate\nmetadata:\n"
				    "  name: capgate\nspec:\n  match:\n    kinds:\n      - apiGroups: [\"\"]\n        kinds: [\"Pod\", \"ReplicationController\"]\n"
				    "      - apiGroups: [\"apps\"]\n        kinds: [\"Deployment\", \"StatefulSet\", \"DaemonSet\", \"ReplicaSet\"]\n"
				    "      - apiGroups: [\"batch\"]\n        kinds: [\"Job\", \"CronJob\"]\n");
		if (p->n_exempt_namespaces) {
			cg_strbuf_addf(&sb, "    excludedNamespaces:");
			for (size_t i = 0; i < p->n_exempt_namespaces; i++) {
				cg_strbuf_addf(&sb, "\n      - ");
				cg_strbuf_add_json_str(&sb, p->exempt_namespaces[i]);
			}
			cg_strbuf_addf(&sb, "\n");
		}
		cg_strbuf_addf(&sb, "  parameters:\n");
		params_out(&sb, p, false, "    ");
	}
	int r = cli_write("policy", out, &sb);
	cg_strbuf_release(&sb);
	return r < 0 ? EXIT_USAGE : EXIT_OK;
}

/* An OPA test module: for each workload in @inputs, capgate's verdict under
 * the rules the Rego export implements (capgate's own, less the contents of
 * Localhost profiles and signatures), asserted against data.capgate.admission. */
static int do_rego_tests(const struct cg_policy *p, char *const *inputs, int n_inputs, const char *out)
{
	struct cg_policy q = *p; /* shallow, read-only: only two switches differ */
	struct cg_strbuf sb;
	size_t n_tests = 0;
	int rc = EXIT_OK;

	q.require_profile_contents = false;
	q.require_signature = false;
	if (n_inputs == 0) {
		cli_error("policy", "export --rego-tests: give the manifests to write tests for");
		return EXIT_USAGE;
	}
	cg_strbuf_init(&sb);
	cg_strbuf_addf(&sb,
		       "# Generated by capgate from %s: what capgate decides for each workload below, under\n"
		       "# the rules `capgate policy export --rego` implements (all but Localhost profile contents\n"
		       "# and image signatures). Run: opa test capgate.rego capgate_test.rego\n"
		       "package capgate.admission_test\n\nimport rego.v1\n\nimport data.capgate.admission\n",
		       p->source);
	for (int i = 0; i < n_inputs && rc == EXIT_OK; i++) {
		_cleanup_free_ char *buf = NULL;
		struct cg_k8s_workload **ws = NULL;
		struct cg_error err = { 0 };
		size_t len, n = 0;
		if (cg_read_file(inputs[i], &buf, &len, &err) < 0 ||
		    cg_k8s_parse_flags(buf, len, inputs[i], CG_K8S_KEEP_JSON, &ws, &n, NULL, &err) < 0) {
			cli_error("policy", "%s", err.msg);
			rc = EXIT_USAGE;
			break;
		}
		for (size_t k = 0; k < n && rc == EXIT_OK; k++) {
			const struct cg_k8s_workload *w = ws[k];
			struct cg_verdict v;
			if (cg_policy_eval_workload(&q, w, NULL, &v, &err) < 0) {
				cli_error("policy", "%s", err.msg);
				rc = EXIT_USAGE;
				break;
			}
			bool denied = !v.exempt && !cg_verdict_allowed(&v);
			char name[96];
			size_t l = 0;
			for (const char *c = w->name ? w->name : "unnamed"; *c && l < sizeof(name) - 1; c++)
				name[l++] = (char)((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ? *c : '_');
			name[l] = '\0';
			struct cg_strbuf note;
			cg_strbuf_init(&note);
			cg_strbuf_addf(&note, "%s:%d %s: %s%s%s", inputs[i], w->pos.line, v.subject,
				       v.exempt ? "exempt" : denied ? "denied: " : "allowed", denied ? v.findings[0].msg : "",
				       denied && v.n_findings > 1 ? " (and more)" : "");
			/* names come from the manifest: a line break must not end the comment */
			for (size_t c = 0; c < note.len; c++)
				if ((unsigned char)note.buf[c] < 0x20 || note.buf[c] == 0x7f)
					note.buf[c] = ' ';
			cg_strbuf_addf(&sb, "\n# %s\n", note.buf);
			cg_strbuf_release(&note);
			cg_strbuf_addf(&sb, "test_%zu_%s_%s if {\n\tcount(admission.deny) %s 0 with input as {\"review\": {\"object\": %s}}\n}\n",
				       ++n_tests, name, denied ? "denied" : "allowed", denied ? ">" : "==", w->object_json);
			cg_verdict_release(&v);
		}
		cg_k8s_workloads_free(ws, n);
	}
	if (rc == EXIT_OK && cli_write("policy", out, &sb) < 0)
		rc = EXIT_USAGE;
	cg_strbuf_release(&sb);
	return rc;
}

int cmd_policy(int argc, char **argv)
{
	const char *policy = NULL, *out = "-", *runsc = "runsc";
	bool list = false, classes = false, rego = false, gatekeeper = false, rego_tests = false;
	struct opt opts[] = {
		{ OPT_STRING, 'p', "policy", &policy, "FILE", "the policy (default: the built-in policy)", NULL },
		{ OPT_STRING, 'o', "output", &out, "FILE", "export / probe-gvisor: write here (atomically)", NULL },
		{ OPT_BOOL, 'l', "list", &list, NULL, "show: list the allowed calls", NULL },
		{ OPT_BOOL, 0, "classes", &classes, NULL, "show: list the risk classes and baselines", NULL },
		{ OPT_BOOL, 0, "rego", &rego, NULL, "export: a Rego module (rego.v1)", NULL },
		{ OPT_BOOL, 0, "gatekeeper", &gatekeeper, NULL, "export: a Gatekeeper ConstraintTemplate + Constraint", NULL },
		{ OPT_BOOL, 0, "rego-tests", &rego_tests, NULL,
		  "export MANIFEST...: OPA tests holding the Rego module to capgate's verdicts on them", NULL },
		{ OPT_STRING, 0, "runsc", &runsc, "PATH", "probe-gvisor: the runsc binary (default: runsc in PATH)", NULL },
		OPT_END_MARK,
	};
	_cleanup_(cg_policy_freep) struct cg_policy *p = NULL;
	char **args;
	int nargs, r;

	if ((r = opt_parse("policy", usage, desc, argc, argv, opts, false, &args, &nargs)))
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	_cleanup_free_ char **argv_free = args;
	if (nargs < 1 || (nargs > 1 && !(rego_tests && strcmp(args[0], "export") == 0))) {
		cli_error("policy", "expected one of show, probe-gvisor, export (see 'capgate policy --help')");
		return EXIT_USAGE;
	}
	const char *verb = args[0];
	if (strcmp(verb, "probe-gvisor") == 0)
		return do_probe(runsc, out);
	if (strcmp(verb, "show") != 0 && strcmp(verb, "export") != 0) {
		cli_error("policy", "unknown verb '%s' (show, probe-gvisor, export)", verb);
		return EXIT_USAGE;
	}
	if (load_policy(policy, &p) < 0)
		return EXIT_USAGE;
	if (strcmp(verb, "show") == 0)
		return do_show(p, list, classes);
	if (rego_tests) {
		if (rego || gatekeeper) {
			cli_error("policy", "export: give one of --rego, --gatekeeper or --rego-tests");
			return EXIT_USAGE;
		}
		return do_rego_tests(p, args + 1, nargs - 1, out);
	}
	return do_export(p, rego, gatekeeper, out);
}
