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

static const char usage[] = "P.json [P2 ...] [--fail-on SEVERITY] [-f text|json] [--binary PROG] [--cap CAP]...";
static const char desc[] =
	"Report what makes seccomp profiles unsafe or broken: permissive defaults, dangerous calls\n"
	"(and those a capability would add), TRACE/NOTIFY actions, extra architectures, argument\n"
	"rules runc compares differently, profiles no program can start under, unknown calls,\n"
	"ignored fields, conflicting rules, size. Profiles are judged as resolved for the given\n"
	"capabilities (Docker's default set unless --no-default-caps), kernel and architecture.\n"
	"Multi-document YAML files of SeccompProfile resources are linted document by document.\n"
	"With --binary PROG the calls made before main() are judged by how PROG is linked (its\n"
	"ELF interpreter): none for a static program, glibc's loader's for a glibc one.\n\n"
	"output: FILE:LINE:COL: SEVERITY: RULE: MESSAGE, or with --format json an array of\n"
	"{file, line, column, severity, rule, message, calls}\n"
	"exit status: 1 if a finding is at or above --fail-on (default high), 0 otherwise,\n"
	"2 usage error or a file that cannot be read or parsed";

int cmd_lint(int argc, char **argv)
{
	const char *fail_on = "high", *format = "text", *binary = NULL;
	struct cli_resolve rr = { 0 };
	const struct opt opts[] = {
		{ OPT_STRING, 0, "fail-on", &fail_on, "SEVERITY", "exit 1 at or above: info, low, medium, high (default), critical", NULL },
		{ OPT_STRING, 'f', "format", &format, "FMT", "text (default) or json", NULL },
		{ OPT_STRING, 0, "binary", &binary, "PROG", "the program the profiles are for: judge its start-up calls by how it is linked", NULL },
		CLI_RESOLVE_OPTS(&rr),
		OPT_END_MARK,
	};
	struct cg_resolve_opts ro;
	struct cg_lint_opts lo = { .sz = sizeof(lo), .resolve = &ro };
	struct cg_lint_reports set = { 0 };
	struct cg_strbuf out;
	char **args = NULL;
	int nargs = 0, threshold, rc = EXIT_USAGE, r;
	bool bad = false;

	r = opt_parse("lint", usage, desc, argc, argv, opts, false, &args, &nargs);
	if (r != 0) {
		opt_list_release(&rr.caps);
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	}
	threshold = cg_severity_parse(fail_on);
	if (threshold < 0) {
		cli_error("lint", "--fail-on: unknown severity '%s' (info, low, medium, high, critical)", fail_on);
		goto out;
	}
	if (strcmp(format, "text") != 0 && strcmp(format, "json") != 0) {
		cli_error("lint", "--format: expected text or json, got '%s'", format);
		goto out;
	}
	if (nargs == 0) {
		cli_error("lint", "no profile given: capgate lint P.json [P2 ...]");
		goto out;
	}
	if (cli_resolve_opts("lint", &rr, &ro) < 0)
		goto out;
	lo.binary = binary;

	/* a file that cannot be read or parsed is reported; the others are still linted */
	for (int i = 0; i < nargs; i++) {
		struct cg_error err = { 0 };
		if (cg_lint_path(args[i], &lo, &set, &err) < 0) {
			cli_error("lint", "%s", err.msg);
			bad = true;
		}
	}
	cg_strbuf_init(&out);
	if (strcmp(format, "json") == 0)
		cg_lint_reports_write_json(&set, &out);
	else
		cg_lint_reports_write_text(&set, &out);
	if (cli_write("lint", "-", &out) < 0)
		bad = true;
	cg_strbuf_release(&out);
	rc = bad ? EXIT_USAGE : cg_lint_reports_count(&set, (enum cg_severity)threshold) ? EXIT_FINDINGS
											 : EXIT_OK;
out:
	cg_lint_reports_release(&set);
	opt_list_release(&rr.caps);
	free(args);
	return rc;
}
