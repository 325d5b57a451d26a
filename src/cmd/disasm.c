// SPDX-License-Identifier: Apache-2.0
/* capgate disasm: readable listing of a raw program or a compiled profile. */
#include <stdio.h>

#include <capgate/compile.h>

#include "../cli.h"

static const char usage[] = "FILE [options]";
static const char desc[] =
	"Print a seccomp-BPF program as text, naming architectures, syscalls and actions.\n"
	"FILE is a raw program (from 'capgate compile', seccomp_export_bpf, bwrap) or a profile,\n"
	"which is compiled first.";

int cmd_disasm(int argc, char **argv)
{
	struct cli_resolve ro = { 0 };
	const char *arch = NULL;
	bool raw = false;
	struct opt opts[] = {
		{ OPT_BOOL, 0, "raw", &raw, NULL, "treat FILE as a raw program even if it looks like text", NULL },
		{ OPT_STRING, 0, "names-for", &arch, "ARCH", "name syscalls for this arch when the program does not say", NULL },
		CLI_RESOLVE_OPTS(&ro),
		OPT_END_MARK,
	};
	struct cg_bpf_prog prog = { 0 };
	struct cg_error err = { 0 };
	struct cg_strbuf sb;
	char **args, *buf = NULL;
	size_t len = 0;
	int nargs, r, hint = -1;

	if ((r = opt_parse("disasm", usage, desc, argc, argv, opts, false, &args, &nargs)))
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	if (nargs != 1) {
		cli_error("disasm", "expected one file");
		free(args);
		return EXIT_USAGE;
	}
	if (arch && (hint = cg_arch_lookup(arch)) < 0) {
		cli_error("disasm", "unknown architecture '%s'", arch);
		free(args);
		return EXIT_USAGE;
	}
	if (cg_read_file(args[0], &buf, &len, &err) < 0) {
		cli_error("disasm", "%s", err.msg);
		free(args);
		return EXIT_USAGE;
	}
	if (!raw && cg_bpf_looks_like_profile(buf, len)) {
		struct cg_closure *c = NULL;
		r = cli_load_closure("disasm", args[0], &ro, &c);
		if (r == 0 && cg_compile(c, NULL, &prog, &err) < 0) {
			cli_error("disasm", "%s", err.msg);
			r = -1;
		}
		cg_closure_free(c);
	} else if ((r = cg_bpf_parse(buf, len, &prog, &err)) < 0) {
		cli_error("disasm", "%s: %s", args[0], err.msg);
	}
	free(buf);
	free(args);
	opt_list_release(&ro.caps);
	if (r < 0)
		return EXIT_USAGE;
	cg_strbuf_init(&sb);
	cg_bpf_disasm(prog.insns, prog.len, hint, &sb);
	fputs(sb.buf ? sb.buf : "", stdout);
	cg_strbuf_release(&sb);
	cg_bpf_prog_release(&prog);
	return EXIT_OK;
}
