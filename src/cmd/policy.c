// SPDX-License-Identifier: Apache-2.0
/* capgate policy: show the effective policy, probe gVisor, export Rego. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include <capgate/policy.h>

#include "../cli.h"

static const char usage[] = "show|probe-gvisor|export [options]";
static const char desc[] =
	"  show          print the effective policy: baseline, allowed calls, bounds, images rules\n"
	"  probe-gvisor  run a syscall probe inside gVisor (runsc) and write the calls it implements\n"
	"                as a baseline file for the policy's baselineFile\n"
	"  export        write the policy as a Rego module (--rego, rego.v1) or a Gatekeeper\n"
	"                ConstraintTemplate and Constraint (--gatekeeper)";

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

static void rego_set(struct cg_strbuf *sb, const char *name, char *const *v, size_t n)
{
	cg_strbuf_addf(sb, "%s := {", name);
	for (size_t i = 0; i < n; i++) {
		cg_strbuf_addf(sb, "%s%s", i ? "," : "", i % 6 == 0 ? "\n\t" : " ");
		cg_strbuf_add_json_str(sb, v[i]);
	}
	cg_strbuf_addf(sb, "%s}\n\n", n ? "\n" : "");
}

/* The rules, written once; parameters come from data (Rego module) or from
 * input.parameters (Gatekeeper). @P is the prefix for parameters. */
static void rego_rules(struct cg_strbuf *sb, const char *P, const char *head)
{
	cg_strbuf_addf(sb,
		"# The pod spec of any workload kind.\n"
		"pod_spec = input.review.object.spec if input.review.object.kind == \"Pod\"\n"
		"pod_spec = input.review.object.spec.jobTemplate.spec.template.spec if input.review.object.kind == \"CronJob\"\n"
		"pod_spec = input.review.object.spec.template.spec if {\n"
		"\tnot input.review.object.kind in {\"Pod\", \"CronJob\"}\n"
		"}\n\n"
		"containers contains c if some c in pod_spec.containers\n"
		"containers contains c if some c in pod_spec.initContainers\n"
		"containers contains c if some c in pod_spec.ephemeralContainers\n\n"
		"pod_profile_type := pod_spec.securityContext.seccompProfile.type\n\n"
		"effective_type(c) = c.securityContext.seccompProfile.type\n"
		"effective_type(c) = pod_profile_type if {\n"
		"\tnot c.securityContext.seccompProfile.type\n"
		"}\n\n"
		"# Pod Security Standards, seccomp (restricted): RuntimeDefault or Localhost everywhere.\n"
		"%s if {\n"
		"\tsome c in containers\n"
		"\tnot effective_type(c) in {\"RuntimeDefault\", \"Localhost\"}\n"
		"\tmsg := sprintf(\"container %%v: seccompProfile is %%v\", [c.name, object.get(c, [\"securityContext\", \"seccompProfile\", \"type\"], object.get(pod_spec, [\"securityContext\", \"seccompProfile\", \"type\"], \"not set\"))])\n"
		"}\n\n"
		"# The pod's metadata (where the pod template's annotations are).\n"
		"pod_meta = input.review.object.metadata if input.review.object.kind == \"Pod\"\n"
		"pod_meta = input.review.object.spec.jobTemplate.spec.template.metadata if input.review.object.kind == \"CronJob\"\n"
		"pod_meta = input.review.object.spec.template.metadata if {\n"
		"\tnot input.review.object.kind in {\"Pod\", \"CronJob\"}\n"
		"}\n\n"
		"# The calls a container declares: the pod annotation io.capgate.syscalls/<container>,\n"
		"# names separated by commas or white space (capgate check splits the same way).\n"
		"declared(c) := {s | some s in regex.split(`[\\s,\\[\\]\"]+`, pod_meta.annotations[concat(\"\", [\"" CG_K8S_ANN_DECLARED "\", c.name])]); s != \"\"}\n\n"
		"%s if {\n"
		"\tsome c in containers\n"
		"\tsome s in declared(c)\n"
		"\tnot s in %sallowed_syscalls\n"
		"\tmsg := sprintf(\"syscall %%v is not in the allowed list (baseline: %%v)\", [s, %sbaseline])\n"
		"}\n\n"
		"%s if {\n"
		"\tsome c in containers\n"
		"\tcount(declared(c)) > %smax_calls\n"
		"\t%smax_calls > 0\n"
		"\tmsg := sprintf(\"closure has %%v calls; the bound is %%v\", [count(declared(c)), %smax_calls])\n"
		"}\n\n"
		"# Image references are split as the distribution grammar does; trust is decided on the\n"
		"# parsed registry and whole path components, never on a string prefix.\n"
		"ref_parts(img) = [reg, path] if {\n"
		"\tname := split(split(img, \"@\")[0], \"/\")\n"
		"\tcount(name) > 1\n"
		"\tfirst := name[0]\n"
		"\tregex.match(`[.:]|^localhost$`, first)\n"
		"\treg := lower(first)\n"
		"\tpath := array.slice(name, 1, count(name))\n"
		"}\n"
		"ref_parts(img) = [\"docker.io\", path] if {\n"
		"\tname := split(split(img, \"@\")[0], \"/\")\n"
		"\tnot regex.match(`[.:]|^localhost$`, name[0])\n"
		"\tcount(name) > 1\n"
		"\tpath := name\n"
		"}\n"
		"ref_parts(img) = [\"docker.io\", [\"library\", split(img, \"@\")[0]]] if {\n"
		"\tcount(split(split(img, \"@\")[0], \"/\")) == 1\n"
		"}\n\n"
		"strip_tag(path) := array.concat(array.slice(path, 0, count(path) - 1), [split(path[count(path) - 1], \":\")[0]])\n\n"
		"trusted(img) if {\n"
		"\tsome t in %strusted_registries\n"
		"\tparts := ref_parts(img)\n"
		"\ttp := split(t, \"/\")\n"
		"\tlower(tp[0]) == parts[0]\n"
		"\tprefix := array.slice(tp, 1, count(tp))\n"
		"\tarray.slice(strip_tag(parts[1]), 0, count(prefix)) == prefix\n"
		"}\n\n"
		"%s if {\n"
		"\tcount(%strusted_registries) > 0\n"
		"\tsome c in containers\n"
		"\tnot trusted(c.image)\n"
		"\tmsg := sprintf(\"image %%v is not from a trusted registry\", [c.image])\n"
		"}\n\n"
		"%s if {\n"
		"\t%srequire_digest\n"
		"\tsome c in containers\n"
		"\tnot contains(c.image, \"@sha256:\")\n"
		"\tmsg := sprintf(\"image %%v is not pinned by digest\", [c.image])\n"
		"}\n",
		head, head, P, P, head, P, P, P, P, head, P, head, P);
}

static void params_json(struct cg_strbuf *sb, const struct cg_policy *p, const char *indent)
{
	cg_strbuf_addf(sb, "%sbaseline: \"%s\"\n%smax_calls: %ld\n%srequire_digest: %s\n%strusted_registries:", indent,
		       p->baseline_file ? p->baseline_file : p->baseline ? p->baseline : "none", indent, p->max_calls, indent,
		       p->require_digest ? "true" : "false", indent);
	if (!p->n_trusted)
		cg_strbuf_addf(sb, " []");
	for (size_t i = 0; i < p->n_trusted; i++) {
		cg_strbuf_addf(sb, "\n%s- ", indent);
		cg_strbuf_add_json_str(sb, p->trusted_registries[i]);
	}
	cg_strbuf_addf(sb, "\n%sallowed_syscalls:", indent);
	for (size_t i = 0; i < p->n_allowed; i++)
		cg_strbuf_addf(sb, "\n%s- %s", indent, p->allowed[i]);
	cg_strbuf_addf(sb, "\n");
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
				    "# Image signatures are not verified here: Rego cannot check cosign signatures offline.\n"
				    "package capgate.admission\n\nimport rego.v1\n\n",
			       p->source);
		cg_strbuf_addf(&sb, "baseline := \"%s\"\n\nmax_calls := %ld\n\nrequire_digest := %s\n\n",
			       p->baseline_file ? p->baseline_file : p->baseline ? p->baseline : "none", p->max_calls,
			       p->require_digest ? "true" : "false");
		cg_strbuf_addf(&sb, "trusted_registries := [");
		for (size_t i = 0; i < p->n_trusted; i++) {
			cg_strbuf_addf(&sb, "%s", i ? ", " : "");
			cg_strbuf_add_json_str(&sb, p->trusted_registries[i]);
		}
		cg_strbuf_addf(&sb, "]\n\n");
		rego_set(&sb, "allowed_syscalls", p->allowed, p->n_allowed);
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
				    "            trusted_registries: {type: array, items: {type: string}}\n"
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
				    "  name: capgate\nspec:\n  match:\n    kinds:\n      - apiGroups: [\"\"]\n        kinds: [\"Pod\"]\n"
				    "      - apiGroups: [\"apps\"]\n        kinds: [\"Deployment\", \"StatefulSet\", \"DaemonSet\", \"ReplicaSet\"]\n"
				    "      - apiGroups: [\"batch\"]\n        kinds: [\"Job\", \"CronJob\"]\n");
		if (p->n_exempt_namespaces) {
			cg_strbuf_addf(&sb, "    excludedNamespaces:");
			for (size_t i = 0; i < p->n_exempt_namespaces; i++)
				cg_strbuf_addf(&sb, "\n      - %s", p->exempt_namespaces[i]);
			cg_strbuf_addf(&sb, "\n");
		}
		cg_strbuf_addf(&sb, "  parameters:\n");
		params_json(&sb, p, "    ");
	}
	int r = cli_write("policy", out, &sb);
	cg_strbuf_release(&sb);
	return r < 0 ? EXIT_USAGE : EXIT_OK;
}

int cmd_policy(int argc, char **argv)
{
	const char *policy = NULL, *out = "-", *runsc = "runsc";
	bool list = false, classes = false, rego = false, gatekeeper = false;
	struct opt opts[] = {
		{ OPT_STRING, 'p', "policy", &policy, "FILE", "the policy (default: the built-in policy)", NULL },
		{ OPT_STRING, 'o', "output", &out, "FILE", "export / probe-gvisor: write here (atomically)", NULL },
		{ OPT_BOOL, 'l', "list", &list, NULL, "show: list the allowed calls", NULL },
		{ OPT_BOOL, 0, "classes", &classes, NULL, "show: list the risk classes and baselines", NULL },
		{ OPT_BOOL, 0, "rego", &rego, NULL, "export: a Rego module (rego.v1)", NULL },
		{ OPT_BOOL, 0, "gatekeeper", &gatekeeper, NULL, "export: a Gatekeeper ConstraintTemplate + Constraint", NULL },
		{ OPT_STRING, 0, "runsc", &runsc, "PATH", "probe-gvisor: the runsc binary (default: runsc in PATH)", NULL },
		OPT_END_MARK,
	};
	_cleanup_(cg_policy_freep) struct cg_policy *p = NULL;
	char **args;
	int nargs, r;

	if ((r = opt_parse("policy", usage, desc, argc, argv, opts, false, &args, &nargs)))
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	if (nargs != 1) {
		cli_error("policy", "expected one of show, probe-gvisor, export (see 'capgate policy --help')");
		free(args);
		return EXIT_USAGE;
	}
	const char *verb = args[0];
	free(args);
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
	return do_export(p, rego, gatekeeper, out);
}
