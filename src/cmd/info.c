// SPDX-License-Identifier: Apache-2.0
/* capgate info: what a profile allows, per arch, and what the kernel caches. */
#include <stdio.h>
#include <string.h>

#include <capgate/summary.h>

#include "../cli.h"

static const char usage[] = "PROFILE [options]";
static const char desc[] =
	"Summarise a profile as capgate resolves it: default action, architectures, permitted calls\n"
	"per arch, the closure digest, risk classes present, the compiled program's size, and how\n"
	"many permitted calls the kernel answers from its action cache without running the filter.";

static void print_summary(const char *path, const struct cg_closure *c, const struct cg_summary *s, bool list)
{
	char abuf[64];

	printf("profile:        %s\n", path);
	printf("digest:         %s\n", s->digest);
	printf("default action: %s%s\n", cg_action_describe(c->default_action, abuf, sizeof(abuf)),
	       cg_action_permits(c->default_action) ? "  (permissive: a denylist, not a closure)" : "");
	printf("rules:          %zu\n", c->n_rules);
	printf("permitted:      %zu distinct calls%s\n", s->n_names,
	       s->n_names > 35 ? " (above the mission's bound of 35)" : "");
	printf("program:        %zu instructions\n", s->prog_len);
	if (c->n_phases) {
		printf("phases:        ");
		for (unsigned p = 0; p < c->n_phases; p++)
			printf(" %s=%zu", c->phase_names[p], s->phase_permitted[p]);
		printf("\n");
	}
	printf("architectures:\n");
	for (int a = 0; a < CG_ARCH_COUNT; a++) {
		const struct cg_summary_arch *sa = &s->arch[a];
		if (!(c->arch_mask & CG_ARCH_BIT(a)))
			continue;
		if (sa->cache_known)
			printf("  %-10s %4zu permitted calls, %zu answered from the kernel's action cache\n",
			       cg_arch_info(a)->name, sa->permitted, sa->cached);
		else
			printf("  %-10s %4zu permitted calls (x32 calls are never cached by the kernel)\n",
			       cg_arch_info(a)->name, sa->permitted);
	}
	for (size_t i = 0; i < s->n_risks; i++) {
		const struct cg_summary_risk *sr = &s->risks[i];
		if (i == 0)
			printf("risk classes permitted:\n");
		printf("  %-15s (%s) %s", sr->cls->name, cg_severity_name(sr->cls->severity), sr->calls[0]);
		for (size_t k = 1; k < sr->n_calls; k++)
			printf(", %s", sr->calls[k]);
		printf("\n");
	}
	if (list) {
		printf("permitted calls:\n");
		for (size_t i = 0; i < s->n_names; i++)
			printf("  %s\n", s->names[i]);
	}
}

int cmd_info(int argc, char **argv)
{
	struct cli_resolve ro = { 0 };
	bool list = false;
	struct opt opts[] = {
		{ OPT_BOOL, 'l', "list", &list, NULL, "list the permitted calls", NULL },
		CLI_RESOLVE_OPTS(&ro),
		OPT_END_MARK,
	};
	_cleanup_(cg_closure_freep) struct cg_closure *c = NULL;
	_cleanup_(cg_summary_freep) struct cg_summary *s = NULL;
	_cleanup_free_ char **args = NULL;
	struct cg_error err = { 0 };
	int nargs, r;

	if ((r = opt_parse("info", usage, desc, argc, argv, opts, false, &args, &nargs)))
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	if (nargs != 1) {
		cli_error("info", "expected one profile");
		opt_list_release(&ro.caps);
		return EXIT_USAGE;
	}
	r = cli_load_closure("info", args[0], &ro, &c);
	opt_list_release(&ro.caps);
	if (r < 0)
		return EXIT_USAGE;
	if (cg_summary_closure(c, &s, &err) < 0) {
		cli_error("info", "%s", err.msg);
		return EXIT_USAGE;
	}
	print_summary(args[0], c, s, list);
	return EXIT_OK;
}
