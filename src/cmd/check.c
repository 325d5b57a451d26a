// SPDX-License-Identifier: Apache-2.0
/* capgate check: the static gate in CI. */
#include <string.h>

#include <capgate/report.h>

#include "../cli.h"

static const char usage[] = "[--policy FILE] [options] INPUT...";
static const char desc[] =
	"Check workloads against a policy before they run. An INPUT is a seccomp profile or capgate\n"
	"closure, a Kubernetes manifest (YAML or JSON, multi-document: Pod, Deployment, StatefulSet,\n"
	"DaemonSet, ReplicaSet, Job, CronJob, List), an OCI image layout directory, or a docker-archive\n"
	"tarball (.tar). --image REF checks a bare image reference (registry, digest pinning).\n"
	"Without --policy the built-in policy applies: gVisor baseline, at most 35 calls (serving\n"
	"phase), dangerous risk classes denied, every Pod names a seccomp profile.\n"
	"Exit status: 0 every input passes, 1 any fails, 2 usage or input error.";

int cmd_check(int argc, char **argv)
{
	struct cli_resolve ro = { 0 };
	struct opt_list layouts = { 0 }, images = { 0 };
	const char *policy_path = NULL, *profiles = NULL, *format = "text", *out = "-";
	bool quiet = false;
	struct opt opts[] = {
		{ OPT_STRING, 'p', "policy", &policy_path, "FILE", "the policy (YAML or JSON); default: the built-in policy", NULL },
		{ OPT_STRING, 0, "profiles", &profiles, "DIR", "kubelet-style seccomp profile directory for Localhost profiles", NULL },
		{ OPT_LIST, 0, "layout", &layouts, "DIR", "OCI layout holding images referenced by manifests (repeatable)", NULL },
		{ OPT_LIST, 0, "image", &images, "REF", "check an image reference (repeatable)", NULL },
		{ OPT_STRING, 'f', "format", &format, "FMT", "text (default), json, sarif or junit", NULL },
		{ OPT_STRING, 'o', "output", &out, "FILE", "write the report here (atomically) instead of stdout", NULL },
		{ OPT_BOOL, 'q', "quiet", &quiet, NULL, "text: print only failures and the summary", NULL },
		CLI_RESOLVE_OPTS(&ro),
		OPT_END_MARK,
	};
	_cleanup_(cg_policy_freep) struct cg_policy *p = NULL;
	_cleanup_(cg_report_freep) struct cg_report *rep = NULL;
	struct cg_error err = { 0 };
	struct cg_resolve_opts rop;
	struct cg_eval_env env = { .sz = sizeof(env) };
	enum cg_report_format fmt;
	struct cg_strbuf sb;
	char **args;
	int nargs, r, rc = EXIT_USAGE;

	if ((r = opt_parse("check", usage, desc, argc, argv, opts, false, &args, &nargs)))
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	if (cg_report_format_parse(format, &fmt) < 0)
		cli_error("check", "--format: expected text, json, sarif or junit, got '%s'", format);
	else if (nargs == 0 && images.n == 0)
		cli_error("check", "nothing to check (see 'capgate check --help')");
	else if ((policy_path ? cg_policy_load(policy_path, &p, &err) : cg_policy_default(&p, &err)) == 0 &&
		 cg_report_new(p->source, &rep, &err) == 0 && cli_resolve_opts("check", &ro, &rop) == 0)
		rc = EXIT_OK;
	env.profiles_dir = profiles;
	env.layouts = layouts.items;
	env.n_layouts = layouts.n;
	env.resolve = &rop;
	env.cache = rc == EXIT_OK ? cg_closure_cache_new() : NULL;
	for (int i = 0; rc == EXIT_OK && i < nargs; i++)
		if (cg_policy_eval_path(p, args[i], &env, rep, &err) < 0)
			rc = EXIT_USAGE;
	for (size_t i = 0; rc == EXIT_OK && i < images.n; i++) {
		struct cg_verdict v;
		if (cg_policy_eval_imageref(p, images.items[i], NULL, &v, &err) < 0 || cg_report_add(rep, &v, &err) < 0)
			rc = EXIT_USAGE;
	}
	if (rc != EXIT_OK && err.msg[0])
		cli_error("check", "%s", err.msg);
	if (rc == EXIT_OK) {
		cg_strbuf_init(&sb);
		if (cg_report_write(rep, fmt, quiet ? CG_REPORT_QUIET : 0, &sb) < 0)
			cli_error("check", "out of memory");
		if (sb.oom || cli_write("check", out, &sb) < 0)
			rc = EXIT_USAGE;
		else if (cg_report_failed(rep))
			rc = EXIT_FINDINGS;
		cg_strbuf_release(&sb);
	}
	cg_closure_cache_free(env.cache);
	free(args);
	opt_list_release(&layouts);
	opt_list_release(&images);
	opt_list_release(&ro.caps);
	return rc;
}
