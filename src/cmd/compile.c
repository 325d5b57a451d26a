// SPDX-License-Identifier: Apache-2.0
/* capgate compile: profile -> raw seccomp-BPF program. */
#include <stdio.h>
#include <string.h>

#include <capgate/compile.h>

#include "../cli.h"

static const char usage[] = "PROFILE -o FILE [options]";
static const char desc[] =
	"Compile a seccomp profile (OCI/Docker/Podman JSON, SeccompProfile YAML or a capgate closure)\n"
	"into a raw classic-BPF program: the kernel's struct sock_filter array, as bwrap --seccomp FD\n"
	"and seccomp_export_bpf use it.";

int cmd_compile(int argc, char **argv)
{
	struct cli_resolve ro = { 0 };
	const char *out = NULL, *phase = NULL;
	bool audit = false, no_enosys = false, list = false;
	struct opt opts[] = {
		{ OPT_STRING, 'o', "output", &out, "FILE", "where to write the program ('-' = stdout)", NULL },
		{ OPT_STRING, 0, "phase", &phase, "NAME", "compile only the calls of this phase", NULL },
		{ OPT_BOOL, 0, "audit", &audit, NULL, "log instead of denying (SCMP_ACT_LOG for every denial)", NULL },
		{ OPT_BOOL, 0, "no-enosys", &no_enosys, NULL, "no ENOSYS answer for calls newer than the profile", NULL },
		{ OPT_BOOL, 0, "disasm", &list, NULL, "also print the listing to stderr", NULL },
		CLI_RESOLVE_OPTS(&ro),
		OPT_END_MARK,
	};
	_cleanup_(cg_closure_freep) struct cg_closure *c = NULL;
	struct cg_compile_opts co = { .sz = sizeof(co), .phase = -1 };
	struct cg_bpf_prog prog = { 0 };
	struct cg_error err = { 0 };
	struct cg_strbuf sb;
	char **args;
	int nargs, r;

	if ((r = opt_parse("compile", usage, desc, argc, argv, opts, false, &args, &nargs)))
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	if (nargs != 1 || !out) {
		cli_error("compile", nargs != 1 ? "expected one profile" : "-o FILE is required (the output is binary)");
		free(args);
		return EXIT_USAGE;
	}
	if (strcmp(out, "-") == 0 && isatty(STDOUT_FILENO)) {
		cli_error("compile", "refusing to write a binary program to a terminal; use -o FILE");
		free(args);
		return EXIT_USAGE;
	}
	r = cli_load_closure("compile", args[0], &ro, &c);
	free(args);
	opt_list_release(&ro.caps);
	if (r < 0)
		return EXIT_USAGE;
	if (phase && (co.phase = cg_closure_phase(c, phase, false)) < 0) {
		cli_error("compile", "the profile has no phase '%s'", phase);
		return EXIT_USAGE;
	}
	co.audit = audit;
	co.no_enosys_stub = no_enosys;
	if (cg_compile(c, &co, &prog, &err) < 0) {
		cli_error("compile", "%s", err.msg);
		return EXIT_USAGE;
	}
	cg_strbuf_init(&sb);
	cg_strbuf_add(&sb, prog.insns, prog.len * sizeof(*prog.insns));
	if (list) {
		struct cg_strbuf l;
		cg_strbuf_init(&l);
		cg_bpf_disasm(prog.insns, prog.len, -1, &l);
		fputs(l.buf ? l.buf : "", stderr);
		cg_strbuf_release(&l);
	}
	r = cli_write("compile", out, &sb);
	if (r == 0 && strcmp(out, "-") != 0)
		fprintf(stderr, "capgate compile: %s: %zu instructions\n", out, prog.len);
	cg_strbuf_release(&sb);
	cg_bpf_prog_release(&prog);
	return r < 0 ? EXIT_USAGE : EXIT_OK;
}
