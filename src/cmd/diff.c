// SPDX-License-Identifier: Apache-2.0
/* capgate diff: two closures compared call by call. */
#include <stdio.h>
#include <string.h>

#include <capgate/closure.h>

#include "../cli.h"
#include "core/json.h"

static const char usage[] = "A B [options]";
static const char desc[] =
	"Compare two profiles or closures as capgate resolves them: calls permitted by only one side,\n"
	"calls whose action or argument rules differ, and default-action, architecture and digest\n"
	"changes. Exit 0 if they enforce the same thing, 1 if they differ, 2 on error.";

static void print_diff(const struct cg_closure *a, const struct cg_closure *b, const struct cg_closure_diff *d)
{
	char x[64], y[64];

	if (d->default_differs)
		printf("default action: %s -> %s\n", cg_action_describe(a->default_action, x, sizeof(x)),
		       cg_action_describe(b->default_action, y, sizeof(y)));
	for (int k = 0; k < CG_ARCH_COUNT; k++)
		if ((d->arches_only_a | d->arches_only_b) & CG_ARCH_BIT(k))
			printf("%carch %s\n", (d->arches_only_a & CG_ARCH_BIT(k)) ? '-' : '+', cg_arch_info(k)->name);
	for (size_t i = 0; i < d->n_calls; i++) {
		const struct cg_closure_diff_call *c = &d->calls[i];
		if (!c->b)
			printf("-%s: %s\n", c->name, c->a);
		else if (!c->a)
			printf("+%s: %s\n", c->name, c->b);
		else
			printf("~%s: %s -> %s\n", c->name, c->a, c->b);
	}
	if (cg_closure_diff_empty(d))
		printf("same enforcement\n");
}

static void side(struct cg_json *j, const char *key, const char *path, const char *digest)
{
	cg_json_key(j, key);
	cg_json_obj_open_inline(j);
	cg_json_kv_str(j, "profile", path);
	cg_json_kv_str(j, "digest", digest);
	cg_json_obj_close(j);
}

static int write_json(const char *pa, const char *da, const struct cg_closure *a, const char *pb, const char *db,
		      const struct cg_closure *b, const struct cg_closure_diff *d, struct cg_strbuf *sb)
{
	struct cg_json j;
	char x[64], y[64];

	cg_json_init(&j, sb, 2);
	cg_json_obj_open(&j);
	side(&j, "a", pa, da);
	side(&j, "b", pb, db);
	cg_json_kv_bool(&j, "same", cg_closure_diff_empty(d));
	cg_json_key(&j, "defaultAction");
	if (d->default_differs) {
		cg_json_obj_open_inline(&j);
		cg_json_kv_str(&j, "a", cg_action_describe(a->default_action, x, sizeof(x)));
		cg_json_kv_str(&j, "b", cg_action_describe(b->default_action, y, sizeof(y)));
		cg_json_obj_close(&j);
	} else {
		cg_json_null(&j);
	}
	for (int side_b = 0; side_b < 2; side_b++) {
		cg_json_key(&j, side_b ? "archesOnlyB" : "archesOnlyA");
		cg_json_arr_open_inline(&j);
		for (int k = 0; k < CG_ARCH_COUNT; k++)
			if ((side_b ? d->arches_only_b : d->arches_only_a) & CG_ARCH_BIT(k))
				cg_json_str(&j, cg_arch_info(k)->name);
		cg_json_arr_close(&j);
	}
	cg_json_key(&j, "calls");
	cg_json_arr_open(&j);
	for (size_t i = 0; i < d->n_calls; i++) {
		cg_json_obj_open_inline(&j);
		cg_json_kv_str(&j, "name", d->calls[i].name);
		cg_json_kv_str(&j, "a", d->calls[i].a); /* null: not permitted on that side */
		cg_json_kv_str(&j, "b", d->calls[i].b);
		cg_json_obj_close(&j);
	}
	cg_json_arr_close(&j);
	cg_json_obj_close(&j);
	return cg_json_finish(&j);
}

int cmd_diff(int argc, char **argv)
{
	struct cli_resolve ro = { 0 };
	const char *format = "text";
	struct opt opts[] = {
		{ OPT_STRING, 'f', "format", &format, "FMT", "text (default) or json", NULL },
		CLI_RESOLVE_OPTS(&ro),
		OPT_END_MARK,
	};
	_cleanup_(cg_closure_freep) struct cg_closure *a = NULL;
	_cleanup_(cg_closure_freep) struct cg_closure *b = NULL;
	_cleanup_(cg_closure_diff_freep) struct cg_closure_diff *d = NULL;
	_cleanup_free_ char **args = NULL;
	char da[72], db[72];
	int nargs, r;

	if ((r = opt_parse("diff", usage, desc, argc, argv, opts, false, &args, &nargs)))
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	if (strcmp(format, "text") != 0 && strcmp(format, "json") != 0) {
		cli_error("diff", "--format: expected text or json, got '%s'", format);
		opt_list_release(&ro.caps);
		return EXIT_USAGE;
	}
	if (nargs != 2) {
		cli_error("diff", "expected two profiles");
		opt_list_release(&ro.caps);
		return EXIT_USAGE;
	}
	r = cli_load_closure("diff", args[0], &ro, &a) < 0 || cli_load_closure("diff", args[1], &ro, &b) < 0 ? -1 : 0;
	opt_list_release(&ro.caps);
	if (r < 0)
		return EXIT_USAGE;
	if (cg_closure_diff(a, b, &d) < 0 || cg_closure_digest(a, da) < 0 || cg_closure_digest(b, db) < 0) {
		cli_error("diff", "out of memory");
		return EXIT_USAGE;
	}
	if (strcmp(format, "json") == 0) {
		struct cg_strbuf sb;
		cg_strbuf_init(&sb);
		r = write_json(args[0], da, a, args[1], db, b, d, &sb) < 0 || cli_write("diff", "-", &sb) < 0 ? -1 : 0;
		cg_strbuf_release(&sb);
		if (r < 0)
			return EXIT_USAGE;
		return cg_closure_diff_empty(d) ? EXIT_OK : EXIT_FINDINGS;
	}
	printf("--- %s %s\n+++ %s %s\n", args[0], da, args[1], db);
	print_diff(a, b, d);
	return cg_closure_diff_empty(d) ? EXIT_OK : EXIT_FINDINGS;
}
