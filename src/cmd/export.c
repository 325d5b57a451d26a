// SPDX-License-Identifier: Apache-2.0
/* capgate export: a closure in another tool's format. The conversion is the
 * library's (lib/closure/export.c); this file reads, chooses and writes. */
#include <stdio.h>
#include <string.h>

#include <capgate/export.h>

#include "../cli.h"

static const char usage[] = "spo --name NAME [--namespace NS] [-f yaml|json] [-o FILE] CLOSURE";
static const char desc[] =
	"  spo   write the closure (or a profile, resolved as 'capgate resolve' does) as a Security\n"
	"        Profiles Operator SeccompProfile (security-profiles-operator.x-k8s.io/v1beta1),\n"
	"        its closure digest in the io.capgate.closure.digest annotation. Only the\n"
	"        operator's fields are written; a closure the resource cannot express without\n"
	"        allowing more (a permitting rule on some architectures only, an errno default\n"
	"        other than EPERM) is refused. -o writes atomically: nothing on error.";

int cmd_export(int argc, char **argv)
{
	struct cli_resolve ro = { 0 };
	const char *out = "-", *name = NULL, *ns = NULL, *format = "yaml";
	struct opt opts[] = {
		{ OPT_STRING, 0, "name", &name, "NAME", "metadata.name of the resource (required)", NULL },
		{ OPT_STRING, 0, "namespace", &ns, "NS", "metadata.namespace of the resource", NULL },
		{ OPT_STRING, 'f', "format", &format, "yaml|json", "output format (default yaml)", NULL },
		{ OPT_STRING, 'o', "output", &out, "FILE", "write here instead of stdout (atomically)", NULL },
		CLI_RESOLVE_OPTS(&ro),
		OPT_END_MARK,
	};
	_cleanup_(cg_closure_freep) struct cg_closure *c = NULL;
	_cleanup_free_ char **args = NULL;
	struct cg_error err = { 0 };
	struct cg_strbuf sb;
	int nargs, r;

	if ((r = opt_parse("export", usage, desc, argc, argv, opts, false, &args, &nargs)))
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	r = -1;
	if (nargs >= 1 && strcmp(args[0], "spo") != 0)
		cli_error("export", "unknown target '%s' (expected spo)", args[0]);
	else if (nargs != 2)
		cli_error("export", "expected: spo CLOSURE");
	else if (!name)
		cli_error("export", "--name is required (the SeccompProfile's metadata.name)");
	else if (strcmp(format, "yaml") != 0 && strcmp(format, "json") != 0)
		cli_error("export", "unknown format '%s' (expected yaml or json)", format);
	else
		r = cli_load_closure("export", args[1], &ro, &c);
	opt_list_release(&ro.caps);
	if (r < 0)
		return EXIT_USAGE;

	struct cg_spo_opts so = { .sz = sizeof(so), .name = name, .namespace = ns, .json = strcmp(format, "json") == 0 };
	cg_strbuf_init(&sb);
	if (cg_closure_write_spo(c, &so, &sb, &err) < 0) {
		cli_error("export", "%s: %s", args[1], err.msg);
		r = -1;
	} else {
		r = cli_write("export", out, &sb);
	}
	cg_strbuf_release(&sb);
	return r < 0 ? EXIT_USAGE : EXIT_OK;
}
