// SPDX-License-Identifier: Apache-2.0
/* capgate fallback: mark the calls a workload survives ENOSYS for (see
 * capgate/fallback.h), so that a traced closure passes a policy whose
 * baseline lacks them and runs with them answered ENOSYS. */
#include <stdio.h>
#include <string.h>

#include <capgate/fallback.h>
#include <capgate/policy.h>

#include "../cli.h"
#include "core/json.h"

static const char usage[] = "CLOSURE -o OUT [--policy FILE] [--call NAME]... | --list [-f json]";
static const char desc[] =
	"Answer ENOSYS to the calls of a closure that the policy does not allow but that libc or\n"
	"the runtime probes and survives ENOSYS for (rseq, clone3, statx, ...: --list shows each\n"
	"with the code that falls back). Each such call's rules become one errno(ENOSYS) rule,\n"
	"and the calls its fallback makes instead are allowed where it was (a trace never saw them);\n"
	"'capgate run' then answers it ENOSYS, and 'capgate check' reports it as a warning,\n"
	"not a denial. --call NAME marks a call of the table whatever the policy says.\n"
	"Typical use, after a trace:\n"
	"  capgate trace -o app.json -- APP && capgate fallback app.json -o app.json\n\n"
	"exit status: 0 written (or listed), 2 usage or input error";

static int list(const char *format)
{
	size_t n;
	const struct cg_fallback *f = cg_fallbacks(&n);
	struct cg_strbuf sb;
	int r;

	cg_strbuf_init(&sb);
	if (strcmp(format, "json") == 0) {
		struct cg_json j;
		cg_json_init(&j, &sb, 2);
		cg_json_arr_open(&j);
		for (size_t i = 0; i < n; i++) {
			cg_json_obj_open_inline(&j);
			cg_json_kv_str(&j, "call", f[i].call);
			cg_json_kv_str(&j, "who", f[i].who);
			cg_json_kv_str(&j, "source", f[i].source);
			cg_json_kv_str(&j, "then", f[i].then);
			cg_json_kv_str(&j, "check", f[i].check);
			cg_json_kv_str(&j, "needs", f[i].needs);
			cg_json_obj_close(&j);
		}
		cg_json_arr_close(&j);
		cg_json_finish(&j);
	} else {
		for (size_t i = 0; i < n; i++)
			cg_strbuf_addf(&sb, "%-16s %s: %s\n%16s %s%s%s\n", f[i].call, f[i].who, f[i].then, "", f[i].source,
				       *f[i].needs ? "; the fallback calls " : "", f[i].needs);
	}
	r = cli_write("fallback", "-", &sb);
	cg_strbuf_release(&sb);
	return r < 0 ? EXIT_USAGE : EXIT_OK;
}

int cmd_fallback(int argc, char **argv)
{
	const char *out = NULL, *policy_path = NULL, *format = "text";
	bool show = false, quiet = false;
	struct opt_list calls = { 0 };
	struct cli_resolve ro = { 0 };
	struct opt opts[] = {
		{ OPT_STRING, 'o', "output", &out, "FILE", "write the closure here (atomically; '-' = stdout; may be CLOSURE)", NULL },
		{ OPT_STRING, 'p', "policy", &policy_path, "FILE", "mark the table's calls this policy does not allow (default: the built-in policy)", NULL },
		{ OPT_LIST, 0, "call", &calls, "NAME", "also mark NAME (a call of the table), whatever the policy allows", NULL },
		{ OPT_BOOL, 0, "list", &show, NULL, "print the table of known fallbacks with their sources", NULL },
		{ OPT_STRING, 'f', "format", &format, "FMT", "--list as text (default) or json", NULL },
		{ OPT_BOOL, 'q', "quiet", &quiet, NULL, "do not say what was marked", NULL },
		CLI_RESOLVE_OPTS(&ro),
		OPT_END_MARK,
	};
	_cleanup_(cg_closure_freep) struct cg_closure *c = NULL;
	_cleanup_(cg_policy_freep) struct cg_policy *p = NULL;
	_cleanup_free_ const char **marked = NULL;
	struct cg_fallback_opts fo = { .sz = sizeof(fo) };
	struct cg_error err = { 0 };
	struct cg_strbuf sb;
	char **args = NULL;
	size_t n_marked = 0;
	int nargs = 0, r, rc = EXIT_USAGE;

	if ((r = opt_parse("fallback", usage, desc, argc, argv, opts, false, &args, &nargs)))
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	if (strcmp(format, "text") != 0 && strcmp(format, "json") != 0) {
		cli_error("fallback", "--format: expected text or json, got '%s'", format);
		goto out;
	}
	if (show) {
		if (nargs || out) {
			cli_error("fallback", "--list takes no closure and no -o");
			goto out;
		}
		rc = list(format);
		goto out;
	}
	if (nargs != 1 || !out) {
		cli_error("fallback", "expected one closure and -o OUT: capgate fallback CLOSURE -o OUT");
		goto out;
	}
	if ((policy_path ? cg_policy_load(policy_path, &p, &err) : cg_policy_default(&p, &err)) < 0) {
		cli_error("fallback", "%s", err.msg);
		goto out;
	}
	if (cli_load_closure("fallback", args[0], &ro, &c) < 0)
		goto out;
	fo.policy = p;
	fo.calls = calls.items;
	fo.n_calls = calls.n;
	if (cg_closure_fallback_enosys(c, &fo, &marked, &n_marked, &err) < 0) {
		cli_error("fallback", "%s", err.msg);
		goto out;
	}
	cg_strbuf_init(&sb);
	cg_closure_serialize(c, false, &sb);
	r = cli_write("fallback", out, &sb);
	cg_strbuf_release(&sb);
	if (r < 0)
		goto out;
	for (size_t i = 0; !quiet && i < n_marked; i++) {
		const struct cg_fallback *f = cg_fallback_find(marked[i]);
		fprintf(stderr, "capgate fallback: %s: answered ENOSYS (%s %s)\n", f->call, f->who, f->then);
	}
	if (!quiet && !n_marked)
		fprintf(stderr, "capgate fallback: nothing to mark: the closure permits no call of the table that the "
				"policy does not allow\n");
	rc = EXIT_OK;
out:
	opt_list_release(&calls);
	opt_list_release(&ro.caps);
	free(args);
	return rc;
}
