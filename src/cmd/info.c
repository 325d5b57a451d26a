// SPDX-License-Identifier: Apache-2.0
/* capgate info: what a profile allows, per arch, and what the kernel caches. */
#include <stdio.h>
#include <string.h>

#include <capgate/compile.h>

#include "../cli.h"

static const char usage[] = "PROFILE [options]";
static const char desc[] =
	"Summarise a profile as capgate resolves it: default action, architectures, permitted calls\n"
	"per arch, the closure digest, risk classes present, the compiled program's size, and how\n"
	"many permitted calls the kernel answers from its action cache without running the filter.";

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
	struct cg_bpf_prog prog = { 0 };
	struct cg_error err = { 0 };
	const char **names = NULL;
	size_t n_names = 0, n_classes;
	char digest[72], abuf[64];
	char **args;
	int nargs, r;

	if ((r = opt_parse("info", usage, desc, argc, argv, opts, false, &args, &nargs)))
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	if (nargs != 1) {
		cli_error("info", "expected one profile");
		free(args);
		return EXIT_USAGE;
	}
	r = cli_load_closure("info", args[0], &ro, &c);
	opt_list_release(&ro.caps);
	if (r < 0 || cg_closure_digest(c, digest) < 0 || cg_closure_permitted_names(c, -1, &names, &n_names) < 0) {
		free(args);
		return EXIT_USAGE;
	}
	if (cg_compile(c, NULL, &prog, &err) < 0) {
		cli_error("info", "%s", err.msg);
		free(names);
		free(args);
		return EXIT_USAGE;
	}
	printf("profile:        %s\n", args[0]);
	printf("digest:         %s\n", digest);
	printf("default action: %s%s\n", cg_action_describe(c->default_action, abuf, sizeof(abuf)),
	       cg_action_permits(c->default_action) ? "  (permissive: a denylist, not a closure)" : "");
	printf("rules:          %zu\n", c->n_rules);
	printf("permitted:      %zu distinct calls%s\n", n_names,
	       n_names > 35 ? " (above the mission's bound of 35)" : "");
	printf("program:        %zu instructions\n", prog.len);
	if (c->n_phases) {
		printf("phases:        ");
		for (unsigned p = 0; p < c->n_phases; p++) {
			const char **pn = NULL;
			size_t pc = 0;
			cg_closure_permitted_names(c, (int)p, &pn, &pc);
			printf(" %s=%zu", c->phase_names[p], pc);
			free(pn);
		}
		printf("\n");
	}
	printf("architectures:\n");
	for (int a = 0; a < CG_ARCH_COUNT; a++) {
		uint32_t *nrs = NULL;
		size_t n = 0, cached_of_allowed = 0;
		const struct cg_arch_info *ai = cg_arch_info(a);
		if (!(c->arch_mask & CG_ARCH_BIT(a)))
			continue;
		cg_closure_arch_numbers(c, a, -1, &nrs, &n);
		if (a != CG_ARCH_X32 && cg_syscall_max_nr(a) >= 0) {
			uint32_t count = (uint32_t)cg_syscall_max_nr(a) + 1;
			uint8_t *bm = calloc((count + 7) / 8, 1);
			if (bm) {
				cg_bpf_cache_predict(prog.insns, prog.len, ai->audit, count, bm);
				for (size_t i = 0; i < n; i++)
					if (nrs[i] < count && (bm[nrs[i] / 8] & (1u << (nrs[i] % 8))))
						cached_of_allowed++;
				free(bm);
			}
			printf("  %-10s %4zu permitted calls, %zu answered from the kernel's action cache\n", ai->name, n,
			       cached_of_allowed);
		} else {
			printf("  %-10s %4zu permitted calls (x32 calls are never cached by the kernel)\n", ai->name, n);
		}
		free(nrs);
	}
	size_t printed = 0;
	const struct cg_risk_class *rc = cg_risk_classes(&n_classes);
	for (size_t i = 0; i < n_classes; i++) {
		bool first = true;
		for (const char *const *call = rc[i].calls; *call; call++) {
			bool in = false;
			for (size_t k = 0; k < n_names && !in; k++)
				in = strcmp(names[k], *call) == 0;
			if (cg_action_permits(c->default_action)) {
				uint64_t z[6] = { 0 };
				in = cg_action_permits(cg_closure_decide(c, cg_arch_native(), *call, z, -1, NULL));
			}
			if (!in)
				continue;
			if (!printed++)
				printf("risk classes permitted:\n");
			printf(first ? "  %-15s (%s) %s" : ", %s", first ? rc[i].name : *call,
			       cg_severity_name(rc[i].severity), *call);
			first = false;
		}
		if (!first)
			printf("\n");
	}
	if (list) {
		printf("permitted calls:\n");
		for (size_t i = 0; i < n_names; i++)
			printf("  %s\n", names[i]);
	}
	free(names);
	free(args);
	cg_bpf_prog_release(&prog);
	return EXIT_OK;
}
