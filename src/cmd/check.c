// SPDX-License-Identifier: Apache-2.0
/* capgate check: the static gate in CI. */
#include <errno.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <capgate/report.h>

#include "../cli.h"

static const char usage[] = "[--policy FILE] [options] INPUT...";
static const char desc[] =
	"Check workloads against a policy before they run. An INPUT is a seccomp profile or capgate\n"
	"closure, a Kubernetes manifest (YAML or JSON, multi-document: Pod, Deployment, StatefulSet,\n"
	"DaemonSet, ReplicaSet, Job, CronJob, List), an OCI image layout directory, a docker-archive\n"
	"tarball (.tar), a directory (walked recursively in name order, hidden entries skipped,\n"
	"reading *.yaml, *.yml, *.json and *.tar) or a quoted glob ('deploy/*.yaml').\n"
	"--image REF checks a bare image reference (registry, digest pinning).\n"
	"Without --policy the built-in policy applies: gVisor baseline, at most 35 calls (serving\n"
	"phase, and any maintenance phase), dangerous risk classes denied, every Pod names a seccomp\n"
	"profile, and a profile no program can start under fails (what 'capgate lint' calls\n"
	"cannot-start). A call the closure answers ENOSYS is not permitted: outside the baseline it\n"
	"is a warning note, not a denial ('capgate fallback' marks the calls libc falls back from).\n"
	"An input that cannot be read is reported as an error at its position; the others are\n"
	"still checked and the report is still written. Verdicts are written as they come.\n"
	"Exit status: 0 every input passes, 1 any fails, 2 usage error or an input could not be read.";

/* The inputs, each owned (a copy of the argument or a match of a pattern). */
struct inputs {
	char **v;
	size_t n;
};

static int inputs_push(struct inputs *in, const char *path)
{
	char **nv = realloc(in->v, (in->n + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	in->v = nv;
	if (!(nv[in->n] = strdup(path)))
		return -ENOMEM;
	in->n++;
	return 0;
}

static void inputs_release(struct inputs *in)
{
	for (size_t i = 0; i < in->n; i++)
		free(in->v[i]);
	free(in->v);
}

static int str_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* A pattern the shell did not expand (quoted, or from a CI variable):
 * expand it here, in byte order. A pattern that matches nothing stays as
 * written, so it is reported as an input that cannot be read. */
static int expand_input(const char *arg, struct inputs *into)
{
	struct stat st;
	glob_t g;
	int r = 0;

	if (!strpbrk(arg, "*?[") || stat(arg, &st) == 0 || glob(arg, GLOB_NOSORT, NULL, &g) != 0)
		return inputs_push(into, arg);
	qsort(g.gl_pathv, g.gl_pathc, sizeof(char *), str_cmp);
	for (size_t i = 0; i < g.gl_pathc && r == 0; i++)
		r = inputs_push(into, g.gl_pathv[i]);
	globfree(&g);
	return r;
}

int cmd_check(int argc, char **argv)
{
	struct cli_resolve ro = { 0 };
	struct opt_list layouts = { 0 }, images = { 0 };
	struct inputs inputs = { 0 };
	const char *policy_path = NULL, *profiles = NULL, *format = "text", *out = "-", *base = NULL;
	bool quiet = false;
	struct opt opts[] = {
		{ OPT_STRING, 'p', "policy", &policy_path, "FILE", "the policy (YAML or JSON); default: the built-in policy", NULL },
		{ OPT_STRING, 0, "profiles", &profiles, "DIR", "kubelet-style seccomp profile directory for Localhost profiles", NULL },
		{ OPT_LIST, 0, "layout", &layouts, "DIR", "OCI layout holding images referenced by manifests (repeatable)", NULL },
		{ OPT_LIST, 0, "image", &images, "REF", "check an image reference (repeatable)", NULL },
		{ OPT_STRING, 'f', "format", &format, "FMT", "text (default), json, sarif or junit", NULL },
		{ OPT_STRING, 'o', "output", &out, "FILE", "write the report here (atomically) instead of stdout", NULL },
		{ OPT_STRING, 0, "base", &base, "DIR", "SARIF: file paths relative to DIR, as %SRCROOT% (default: the current directory)", NULL },
		{ OPT_BOOL, 'q', "quiet", &quiet, NULL, "text: print only failures and the summary", NULL },
		CLI_RESOLVE_OPTS(&ro),
		OPT_END_MARK,
	};
	_cleanup_(cg_policy_freep) struct cg_policy *p = NULL;
	_cleanup_(cg_report_freep) struct cg_report *rep = NULL;
	struct cg_error err = { 0 };
	struct cg_resolve_opts rop;
	struct cg_eval_env env = { .sz = sizeof(env) };
	struct cg_report_opts rpo = { .sz = sizeof(rpo) };
	struct cg_report_counts counts;
	char **args;
	int nargs, r, rc = EXIT_USAGE;

	if ((r = opt_parse("check", usage, desc, argc, argv, opts, false, &args, &nargs)))
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	rpo.output = out;
	rpo.base = base;
	rpo.flags = quiet ? CG_REPORT_QUIET : 0;
	for (int i = 0; i < nargs; i++)
		if (expand_input(args[i], &inputs) < 0) {
			cli_error("check", "out of memory");
			goto out;
		}
	if (cg_report_format_parse(format, &rpo.format) < 0)
		cli_error("check", "--format: expected text, json, sarif or junit, got '%s'", format);
	else if (nargs == 0 && images.n == 0)
		cli_error("check", "nothing to check (see 'capgate check --help')");
	else if ((policy_path ? cg_policy_load(policy_path, &p, &err) : cg_policy_default(&p, &err)) == 0 &&
		 cli_resolve_opts("check", &ro, &rop) == 0 && cg_report_open(p->source, &rpo, &rep, &err) == 0)
		rc = EXIT_OK;
	env.profiles_dir = profiles;
	env.layouts = layouts.items;
	env.n_layouts = layouts.n;
	env.resolve = &rop;
	env.cache = rc == EXIT_OK ? cg_closure_cache_new() : NULL;
	if (rc == EXIT_OK && !env.cache) {
		cg_error_set(&err, -ENOMEM, "out of memory");
		rc = EXIT_USAGE;
	}
	for (size_t i = 0; rc == EXIT_OK && i < inputs.n; i++)
		if (cg_policy_eval_path(p, inputs.v[i], &env, rep, &err) < 0)
			rc = EXIT_USAGE;
	for (size_t i = 0; rc == EXIT_OK && i < images.n; i++) {
		struct cg_verdict v;
		if (cg_policy_eval_imageref(p, images.items[i], NULL, &v, &err) < 0 || cg_report_add(rep, &v, &err) < 0)
			rc = EXIT_USAGE;
	}
	if (rc == EXIT_OK && cg_report_finish(rep, &err) < 0)
		rc = EXIT_USAGE;
	if (rc != EXIT_OK && err.msg[0])
		cli_error("check", "%s", err.msg);
	if (rc == EXIT_OK) {
		cg_report_counts(rep, &counts);
		rc = counts.errors ? EXIT_USAGE : counts.failed ? EXIT_FINDINGS
								: EXIT_OK;
	}
	cg_closure_cache_free(env.cache);
out:
	free(args);
	inputs_release(&inputs);
	opt_list_release(&layouts);
	opt_list_release(&images);
	opt_list_release(&ro.caps);
	return rc;
}
