// SPDX-License-Identifier: Apache-2.0
/* capgate diff: two closures compared call by call. */
#include <stdio.h>
#include <string.h>

#include <capgate/closure.h>

#include "../cli.h"

static const char usage[] = "A B [options]";
static const char desc[] =
	"Compare two profiles or closures as capgate resolves them: calls permitted by only one side,\n"
	"calls whose action or argument rules differ, and default-action, architecture and digest\n"
	"changes. Exit 0 if they enforce the same thing, 1 if they differ, 2 on error.";

/* All rules of @c for @name, as one comparable text. */
static void rules_text(const struct cg_closure *c, const char *name, struct cg_strbuf *sb)
{
	char buf[64];
	for (size_t i = 0; i < c->n_rules; i++) {
		const struct cg_rule *r = &c->rules[i];
		if (strcmp(r->name, name) != 0)
			continue;
		cg_strbuf_addf(sb, "%s%s", sb->len ? "; " : "", cg_action_describe(r->action, buf, sizeof(buf)));
		for (unsigned k = 0; k < r->n_args; k++)
			cg_strbuf_addf(sb, " arg%u %s 0x%llx%s", r->args[k].index, cg_op_name(r->args[k].op) + 9,
				       (unsigned long long)r->args[k].value,
				       r->args[k].op == CG_OP_MASKED_EQ ? "" : "");
		if (r->arch_mask)
			cg_strbuf_addf(sb, " [arch mask 0x%x]", r->arch_mask);
	}
}

static int collect_names(const struct cg_closure *c, const char ***ret, size_t *n)
{
	const char **v = malloc((c->n_rules + 1) * sizeof(*v));
	size_t k = 0;
	if (!v)
		return -1;
	for (size_t i = 0; i < c->n_rules; i++)
		if (k == 0 || strcmp(v[k - 1], c->rules[i].name) != 0)
			v[k++] = c->rules[i].name;
	*ret = v;
	*n = k;
	return 0;
}

int cmd_diff(int argc, char **argv)
{
	struct cli_resolve ro = { 0 };
	struct opt opts[] = { CLI_RESOLVE_OPTS(&ro), OPT_END_MARK };
	_cleanup_(cg_closure_freep) struct cg_closure *a = NULL;
	_cleanup_(cg_closure_freep) struct cg_closure *b = NULL;
	const char **na = NULL, **nb = NULL;
	size_t ca = 0, cb = 0, i = 0, j = 0;
	char da[72], db[72], x[64], y[64];
	int nargs, r, differ = 0;
	char **args;

	if ((r = opt_parse("diff", usage, desc, argc, argv, opts, false, &args, &nargs)))
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	if (nargs != 2) {
		cli_error("diff", "expected two profiles");
		free(args);
		return EXIT_USAGE;
	}
	r = cli_load_closure("diff", args[0], &ro, &a) < 0 || cli_load_closure("diff", args[1], &ro, &b) < 0 ? -1 : 0;
	opt_list_release(&ro.caps);
	if (r < 0 || collect_names(a, &na, &ca) < 0 || collect_names(b, &nb, &cb) < 0) {
		free(args);
		free(na);
		return EXIT_USAGE;
	}
	cg_closure_digest(a, da);
	cg_closure_digest(b, db);
	printf("--- %s %s\n+++ %s %s\n", args[0], da, args[1], db);
	if (cg_action_cmp(a->default_action, b->default_action) != 0) {
		printf("default action: %s -> %s\n", cg_action_describe(a->default_action, x, sizeof(x)),
		       cg_action_describe(b->default_action, y, sizeof(y)));
		differ = 1;
	}
	for (int k = 0; k < CG_ARCH_COUNT; k++) {
		uint32_t bit = CG_ARCH_BIT(k);
		if ((a->arch_mask & bit) != (b->arch_mask & bit)) {
			printf("%carch %s\n", (a->arch_mask & bit) ? '-' : '+', cg_arch_info(k)->name);
			differ = 1;
		}
	}
	while (i < ca || j < cb) {
		int c = i >= ca ? 1 : j >= cb ? -1 : strcmp(na[i], nb[j]);
		struct cg_strbuf ta, tb;
		cg_strbuf_init(&ta);
		cg_strbuf_init(&tb);
		if (c <= 0)
			rules_text(a, na[i], &ta);
		if (c >= 0)
			rules_text(b, nb[j], &tb);
		if (c < 0) {
			printf("-%s: %s\n", na[i], ta.buf);
			differ = 1;
			i++;
		} else if (c > 0) {
			printf("+%s: %s\n", nb[j], tb.buf);
			differ = 1;
			j++;
		} else {
			if (strcmp(ta.buf, tb.buf) != 0) {
				printf("~%s: %s -> %s\n", na[i], ta.buf, tb.buf);
				differ = 1;
			}
			i++;
			j++;
		}
		cg_strbuf_release(&ta);
		cg_strbuf_release(&tb);
	}
	if (!differ)
		printf("same enforcement\n");
	free(na);
	free(nb);
	free(args);
	return differ ? EXIT_FINDINGS : EXIT_OK;
}
