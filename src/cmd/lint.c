// SPDX-License-Identifier: Apache-2.0
/*
 * capgate lint: report what makes a profile unsafe or broken.
 *
 * Exit status: 1 if any finding is at or above --fail-on (default high),
 * 0 otherwise, 2 on usage errors and on files that cannot be read or parsed
 * (the other files are still linted).
 */
#include <capgate/lint.h>
#include <stdio.h>
#include <string.h>

#include "../cli.h"

/* Resolve options from --cap/--no-default-caps/--kernel/--arch. */
static int resolve_opts(const struct cli_resolve *r, struct cg_resolve_opts *ro)
{
	*ro = (struct cg_resolve_opts){ .sz = sizeof(*ro), .native_arch = -1, .default_caps = !r->no_default_caps };
	ro->caps = r->caps.items;
	ro->n_caps = r->caps.n;
	if (r->kernel && sscanf(r->kernel, "%u.%u", &ro->kernel_major, &ro->kernel_minor) != 2) {
		cli_error("lint", "--kernel expects MAJOR.MINOR, got '%s'", r->kernel);
		return -1;
	}
	if (r->arch && (ro->native_arch = cg_arch_lookup(r->arch)) < 0) {
		cli_error("lint", "--arch: unknown architecture '%s'", r->arch);
		return -1;
	}
	return 0;
}

/* Lint every profile of one file into @out; returns the worst severity seen
 * (-1 if none) or -2 if the file could not be read or parsed. */
static int lint_file(const char *path, const struct cg_lint_opts *lo, bool json, bool *first, struct cg_strbuf *out)
{
	_cleanup_free_ char *buf = NULL;
	struct cg_profile **profiles = NULL;
	struct cg_error err = { 0 };
	const char *source = strcmp(path, "-") == 0 ? "<stdin>" : path;
	size_t len = 0, n = 0;
	int worst = -1;

	if (cg_read_file(path, &buf, &len, &err) < 0 ||
	    cg_profile_parse_all(buf, len, source, &profiles, &n, &err) < 0) {
		cli_error("lint", "%s", err.msg);
		return -2;
	}
	for (size_t i = 0; i < n; i++) {
		struct cg_lint_report *rep = NULL;
		if (cg_lint_profile(profiles[i], lo, &rep, &err) < 0) {
			cli_error("lint", "%s", err.msg);
			worst = -2;
		} else {
			if (json)
				cg_lint_report_write_json(rep, first, out);
			else
				cg_lint_report_write_text(rep, out);
			for (size_t k = 0; k < rep->n && worst != -2; k++)
				if ((int)rep->findings[k].severity > worst)
					worst = (int)rep->findings[k].severity;
			cg_lint_report_free(rep);
		}
		cg_profile_free(profiles[i]);
	}
	free(profiles);
	return worst;
}

int cmd_lint(int argc, char **argv)
{
	static const char usage[] = "P.json [P2 ...] [--fail-on SEVERITY] [--format text|json] [--cap CAP]...";
	static const char desc[] =
		"Report what makes seccomp profiles unsafe or broken: permissive defaults, dangerous calls\n"
		"(and those a capability would add), TRACE/NOTIFY actions, extra architectures, argument\n"
		"rules runc compares differently, profiles no program can start under, unknown calls,\n"
		"ignored fields, conflicting rules, size. Profiles are judged as resolved for the given\n"
		"capabilities (Docker's default set unless --no-default-caps), kernel and architecture.\n"
		"Multi-document YAML files of SeccompProfile resources are linted document by document.\n\n"
		"output: FILE:LINE:COL: SEVERITY: RULE: MESSAGE, or with --format json an array of\n"
		"{file, line, column, severity, rule, message, calls}\n"
		"exit status: 1 if a finding is at or above --fail-on (default high), 0 otherwise,\n"
		"2 usage error or a file that cannot be read or parsed";
	const char *fail_on = "high", *format = "text";
	struct cli_resolve rr = { 0 };
	const struct opt opts[] = {
		{ OPT_STRING, 0, "fail-on", &fail_on, "SEVERITY", "exit 1 at or above: info, low, medium, high (default), critical", NULL },
		{ OPT_STRING, 0, "format", &format, "FORMAT", "text (default) or json", NULL },
		CLI_RESOLVE_OPTS(&rr),
		OPT_END_MARK,
	};
	struct cg_resolve_opts ro;
	struct cg_lint_opts lo = { .sz = sizeof(lo), .resolve = &ro };
	struct cg_strbuf out;
	char **args = NULL;
	int nargs = 0, threshold, rc = EXIT_OK, r;
	bool json, first = true, bad = false;

	r = opt_parse("lint", usage, desc, argc, argv, opts, false, &args, &nargs);
	if (r != 0) {
		opt_list_release(&rr.caps);
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	}
	threshold = cg_severity_parse(fail_on);
	if (threshold < 0) {
		cli_error("lint", "--fail-on: unknown severity '%s' (info, low, medium, high, critical)", fail_on);
		rc = EXIT_USAGE;
		goto out;
	}
	if (strcmp(format, "text") != 0 && strcmp(format, "json") != 0) {
		cli_error("lint", "--format: expected text or json, got '%s'", format);
		rc = EXIT_USAGE;
		goto out;
	}
	json = strcmp(format, "json") == 0;
	if (nargs == 0) {
		cli_error("lint", "no profile given: capgate lint P.json [P2 ...]");
		rc = EXIT_USAGE;
		goto out;
	}
	if (resolve_opts(&rr, &ro) < 0) {
		rc = EXIT_USAGE;
		goto out;
	}

	cg_strbuf_init(&out);
	if (json)
		cg_strbuf_add(&out, "[", 1);
	for (int i = 0; i < nargs; i++) {
		int worst = lint_file(args[i], &lo, json, &first, &out);
		if (worst == -2)
			bad = true;
		else if (worst >= threshold)
			rc = EXIT_FINDINGS;
	}
	if (json)
		cg_strbuf_add(&out, first ? "]\n" : "\n]\n", first ? 2 : 3);
	if (cli_write("lint", "-", &out) < 0)
		bad = true;
	cg_strbuf_release(&out);
	if (bad)
		rc = EXIT_USAGE;
out:
	opt_list_release(&rr.caps);
	free(args);
	return rc;
}
