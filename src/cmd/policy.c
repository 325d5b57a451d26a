// SPDX-License-Identifier: Apache-2.0
/* capgate policy: show the effective policy, probe gVisor, export Rego. The
 * export and the probe are the library's; this file chooses and prints. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

/* "label: a b c", or "label: none"; the values start in column 20. */
static void print_list(const char *label, char *const *v, size_t n)
{
	printf("%-18s", label);
	for (size_t i = 0; i < n; i++)
		printf(" %s", v[i]);
	printf("%s\n", n ? "" : " none");
}

/* Every setting a policy file can change, so that what a policy does can
 * be read without its file (and the built-in one without the source). */
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
	print_list("allow:", p->allow, p->n_allow);
	print_list("deny:", p->deny, p->n_deny);
	if (p->max_calls > 0)
		printf("bound:             %ld calls%s%s\n", p->max_calls, p->bound_phase ? " in phase " : "",
		       p->bound_phase ? p->bound_phase : "");
	else
		printf("bound:             none\n");
	print_list("denied classes:", p->deny_classes, p->n_deny_classes);
	printf("pod security:      %s\n", p->pss == CG_PSS_RESTRICTED ? "restricted" : p->pss == CG_PSS_BASELINE ? "baseline"
														 : "privileged");
	printf("profiles:          contents %s, permissive default %s\n",
	       p->require_profile_contents ? "checked" : "not checked", p->deny_permissive_default ? "denied" : "allowed");
	printf("  runtime:         %s\n", p->node_runtime == CG_COND_RESOLVE  ? "docker, cri-o or podman (includes and "
										"excludes resolved with each container's "
										"capabilities)"
					  : p->node_runtime == CG_COND_IGNORE ? "containerd (includes and excludes "
										"ignored)"
									      : "unknown (the worst case of "
										"includes and excludes)");
	printf("  startable:       %s\n", p->require_startable ? "required (a profile no program can start under fails)"
							       : "not required");
	printf("images:            signature %s (%zu keys), %zu trusted registries%s\n",
	       p->require_signature ? "required" : "not required", p->n_keys, p->n_trusted,
	       p->require_digest ? ", digest pinning required" : "");
	print_list("  keys:", p->key_files, p->n_keys);
	print_list("  registries:", p->trusted_registries, p->n_trusted);
	printf("exemptions:\n");
	print_list("  namespaces:", p->exempt_namespaces, p->n_exempt_namespaces);
	printf("  labels:         ");
	for (size_t i = 0; i < p->n_exempt_labels; i++)
		printf(" %s=%s", p->exempt_label_keys[i], p->exempt_label_values[i]);
	printf("%s\n", p->n_exempt_labels ? "" : " none");
	printf("namespaces:       %s\n", p->n_namespaces ? "" : " no per-namespace profiles");
	for (size_t i = 0; i < p->n_namespaces; i++) {
		const struct cg_policy_namespace *n = &p->namespaces[i];
		printf("  %s%s:\n", n->name, strcmp(n->name, "*") == 0 ? " (every namespace not named)" : "");
		if (n->has_allowed)
			print_list("    allowed profiles:", n->allowed_profiles, n->n_allowed_profiles);
		else
			printf("    allowed profiles: any\n");
		printf("    default profile:  %s\n", n->default_profile ? n->default_profile : "the webhook's own");
	}
	printf("unknown kinds:     %s\n", p->ignore_unknown_kinds ? "ignored (reported as not checked)"
								  : "denied (an object capgate does not check fails)");
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

/* Probe runsc and write the baseline file; exit 1 if it differs from the
 * built-in gvisor baseline. */
static int do_probe(const char *runsc, const char *out)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	struct cg_policy_probe pr;
	struct cg_error err = { 0 };
	struct cg_strbuf sb;
	int r;

	if (n < 0) {
		cli_error("policy", "cannot find the capgate binary: %m");
		return EXIT_USAGE;
	}
	self[n] = '\0';
	if (cg_policy_probe_gvisor(runsc, self, &pr, &err) < 0) {
		cli_error("policy", "%s", err.msg);
		return EXIT_USAGE;
	}
	cg_strbuf_init(&sb);
	r = cg_policy_probe_write(&pr, &sb) < 0 ? -1 : cli_write("policy", out, &sb);
	fprintf(stderr, "capgate policy: %s implements %zu x86_64 calls, %zu answer ENOSYS; built-in gvisor baseline: %zu "
			"(%zu only in the probe, %zu only built in)\n",
		pr.runtime, pr.n_implemented, pr.n_unimplemented, pr.n_builtin, pr.only_probe, pr.only_builtin);
	cg_strbuf_release(&sb);
	cg_policy_probe_release(&pr);
	return r < 0 ? EXIT_USAGE : (pr.only_probe || pr.only_builtin) ? EXIT_FINDINGS
								       : EXIT_OK;
}

static int do_export(const struct cg_policy *p, bool rego, bool gatekeeper, bool tests, char *const *inputs,
		     int n_inputs, const char *out)
{
	struct cg_error err = { 0 };
	struct cg_strbuf sb;
	int r;

	if (tests && (rego || gatekeeper)) {
		cli_error("policy", "export: give one of --rego, --gatekeeper or --rego-tests");
		return EXIT_USAGE;
	}
	if (!tests && rego == gatekeeper) {
		cli_error("policy", "export: give exactly one of --rego or --gatekeeper");
		return EXIT_USAGE;
	}
	if (tests && n_inputs == 0) {
		cli_error("policy", "export --rego-tests: give the manifests to write tests for");
		return EXIT_USAGE;
	}
	/* fail closed: an export that would silently drop a rule is refused */
	if (p->n_namespaces) {
		cli_error("policy",
			  "export: %s: the Rego export does not implement namespaces: (per-namespace profiles); "
			  "enforce them with capgate check or capgate webhook",
			  p->source);
		return EXIT_USAGE;
	}
	cg_strbuf_init(&sb);
	if (tests)
		r = cg_policy_export_rego_tests(p, (const char *const *)inputs, (size_t)n_inputs, &sb, &err);
	else
		r = rego ? cg_policy_export_rego(p, &sb) : cg_policy_export_gatekeeper(p, &sb);
	if (r < 0)
		cli_error("policy", "%s", err.msg[0] ? err.msg : "out of memory");
	else
		r = cli_write("policy", out, &sb);
	cg_strbuf_release(&sb);
	return r < 0 ? EXIT_USAGE : EXIT_OK;
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
	return do_export(p, rego, gatekeeper, rego_tests, args + 1, nargs - 1, out);
}
