// SPDX-License-Identifier: Apache-2.0
/* capgate info: what a profile allows, per arch, and what the kernel caches. */
#include <stdio.h>
#include <string.h>

#include <capgate/lint.h>
#include <capgate/summary.h>

#include "core/json.h"

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
	       s->n_names > 35 ? " (above the built-in policy's bound of 35)" : "");
	printf("program:        %zu instructions\n", s->prog_len);
	if (c->n_phases) {
		printf("phases:        ");
		for (size_t p = 0; p < s->n_phases; p++)
			printf(" %s=%zu", c->phase_names[p], s->phase_permitted[p]);
		printf("\n");
		if (c->serve_when)
			printf("serving from:   %s\n", c->serve_when);
		if (c->worker_startup)
			printf("start-up windows: %us for each child of the first process, and for it after SIGHUP\n",
			       c->worker_startup);
	}
	printf("architectures:\n");
	for (size_t i = 0; i < s->n_arches; i++) {
		const struct cg_summary_arch *sa = &s->arches[i];
		if (sa->cache_known)
			printf("  %-10s %4zu permitted calls, %zu answered from the kernel's action cache\n",
			       cg_arch_info(sa->arch)->name, sa->permitted, sa->cached);
		else
			printf("  %-10s %4zu permitted calls (x32 calls are never cached by the kernel)\n",
			       cg_arch_info(sa->arch)->name, sa->permitted);
	}
	for (size_t i = 0; i < s->n_risks; i++) {
		const struct cg_summary_risk *sr = &s->risks[i];
		if (i == 0)
			printf("risk classes permitted:\n");
		printf("  %-15s (%s) %s", sr->cls->name, cg_severity_name(sr->severity), sr->calls[0]);
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

static int write_json(const char *path, const struct cg_closure *c, const struct cg_summary *s, struct cg_strbuf *sb)
{
	struct cg_json j;
	char abuf[64];

	cg_json_init(&j, sb, 2);
	cg_json_obj_open(&j);
	cg_json_kv_str(&j, "profile", path);
	cg_json_kv_str(&j, "digest", s->digest);
	cg_json_kv_str(&j, "defaultAction", cg_action_describe(c->default_action, abuf, sizeof(abuf)));
	cg_json_kv_bool(&j, "permissive", cg_action_permits(c->default_action));
	cg_json_kv_uint(&j, "rules", c->n_rules);
	cg_json_kv_uint(&j, "permitted", s->n_names);
	cg_json_kv_uint(&j, "programInstructions", s->prog_len);
	cg_json_key(&j, "phases");
	cg_json_obj_open_inline(&j);
	for (size_t p = 0; p < s->n_phases; p++)
		cg_json_kv_uint(&j, c->phase_names[p], s->phase_permitted[p]);
	cg_json_obj_close(&j);
	if (c->worker_startup)
		cg_json_kv_uint(&j, "workerStartup", c->worker_startup);
	cg_json_key(&j, "architectures");
	cg_json_arr_open(&j);
	for (size_t i = 0; i < s->n_arches; i++) {
		const struct cg_summary_arch *sa = &s->arches[i];
		cg_json_obj_open_inline(&j);
		cg_json_kv_str(&j, "name", cg_arch_info(sa->arch)->name);
		cg_json_kv_uint(&j, "permitted", sa->permitted);
		cg_json_key(&j, "cached");
		if (sa->cache_known)
			cg_json_uint(&j, sa->cached);
		else
			cg_json_null(&j);
		cg_json_obj_close(&j);
	}
	cg_json_arr_close(&j);
	cg_json_key(&j, "riskClasses");
	cg_json_arr_open(&j);
	for (size_t i = 0; i < s->n_risks; i++) {
		cg_json_obj_open_inline(&j);
		cg_json_kv_str(&j, "name", s->risks[i].cls->name);
		cg_json_kv_str(&j, "severity", cg_severity_name(s->risks[i].severity));
		cg_json_key(&j, "calls");
		cg_json_arr_open_inline(&j);
		for (size_t k = 0; k < s->risks[i].n_calls; k++)
			cg_json_str(&j, s->risks[i].calls[k]);
		cg_json_arr_close(&j);
		cg_json_obj_close(&j);
	}
	cg_json_arr_close(&j);
	cg_json_key(&j, "calls");
	cg_json_arr_open_inline(&j);
	for (size_t i = 0; i < s->n_names; i++)
		cg_json_str(&j, s->names[i]);
	cg_json_arr_close(&j);
	cg_json_obj_close(&j);
	return cg_json_finish(&j);
}

int cmd_info(int argc, char **argv)
{
	struct cli_resolve ro = { 0 };
	bool list = false;
	const char *format = "text";
	struct opt opts[] = {
		{ OPT_BOOL, 'l', "list", &list, NULL, "list the permitted calls", NULL },
		{ OPT_STRING, 'f', "format", &format, "FMT", "text (default) or json", NULL },
		CLI_RESOLVE_OPTS(&ro),
		OPT_END_MARK,
	};
	_cleanup_(cg_closure_freep) struct cg_closure *c = NULL;
	_cleanup_(cg_summary_freep) struct cg_summary *s = NULL;
	_cleanup_(cg_lint_report_freep) struct cg_lint_report *lr = NULL;
	_cleanup_(cg_profile_freep) struct cg_profile *prof = NULL;
	_cleanup_free_ char **args = NULL;
	struct cg_error err = { 0 };
	struct cg_resolve_opts rop;
	struct cg_lint_opts lo = { .sz = sizeof(lo), .resolve = &rop };
	int nargs, r;

	if ((r = opt_parse("info", usage, desc, argc, argv, opts, false, &args, &nargs)))
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	if (strcmp(format, "text") != 0 && strcmp(format, "json") != 0) {
		cli_error("info", "--format: expected text or json, got '%s'", format);
		opt_list_release(&ro.caps);
		return EXIT_USAGE;
	}
	if (nargs != 1) {
		cli_error("info", "expected one profile");
		opt_list_release(&ro.caps);
		return EXIT_USAGE;
	}
	r = cli_resolve_opts("info", &ro, &rop) < 0 ? -1 : cli_load_closure("info", args[0], &ro, &c);
	opt_list_release(&ro.caps);
	if (r < 0)
		return EXIT_USAGE;
	/* the risk classes' severities are lint's, for the same profile */
	if (cg_summary_closure(c, &s, &err) < 0 || cg_profile_load(args[0], &prof, &err) < 0 ||
	    cg_lint_profile(prof, &lo, &lr, &err) < 0) {
		cli_error("info", "%s", err.msg);
		return EXIT_USAGE;
	}
	cg_summary_apply_lint(s, lr);
	if (strcmp(format, "json") == 0) {
		struct cg_strbuf sb;
		cg_strbuf_init(&sb);
		r = write_json(args[0], c, s, &sb) < 0 || cli_write("info", "-", &sb) < 0 ? EXIT_USAGE : EXIT_OK;
		cg_strbuf_release(&sb);
		return r;
	}
	print_summary(args[0], c, s, list);
	return EXIT_OK;
}
