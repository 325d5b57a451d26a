// SPDX-License-Identifier: Apache-2.0
/* capgate sim: one call through the compiled program in capgate's emulator. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <capgate/compile.h>

#include "../cli.h"

static const char usage[] = "PROFILE ARCH SYSCALL [ARG0 ... ARG5] [options]";
static const char desc[] =
	"Evaluate one call (architecture, syscall name or number, up to six arguments) through the\n"
	"program capgate compiles for PROFILE, in capgate's own BPF emulator. Prints the action,\n"
	"the rule that decided it, and the instructions executed. Exit 0 if the call is permitted,\n"
	"1 if it is denied.";

/* ARCH SYSCALL [ARG...]: the architecture, the call (name or number) and
 * its arguments. Prints the error and returns -1 on a bad value. */
static int parse_call(char **args, int nargs, int *ret_arch, int *ret_nr, uint64_t ret_args[6])
{
	int arch, nr;

	if ((arch = cg_arch_lookup(args[1])) < 0) {
		cli_error("sim", "unknown architecture '%s' (x86_64, x86, x32, aarch64, ...)", args[1]);
		return -1;
	}
	nr = cg_syscall_nr((enum cg_arch_id)arch, args[2]);
	if (nr < 0) {
		char *end;
		unsigned long long v = strtoull(args[2], &end, 0);
		if (*end || end == args[2]) {
			cli_error("sim", nr == -ENOSYS ? "%s does not exist on %s" : "unknown syscall '%s'", args[2],
				  args[1]);
			return -1;
		}
		nr = (int)(uint32_t)v;
	}
	for (int i = 3; i < nargs; i++) {
		char *end;
		ret_args[i - 3] = strtoull(args[i], &end, 0);
		if (*end || end == args[i]) {
			cli_error("sim", "argument %d: expected a number, got '%s'", i - 3, args[i]);
			return -1;
		}
		if (args[i][0] == '-')
			ret_args[i - 3] = (uint64_t)strtoll(args[i], NULL, 0);
	}
	*ret_arch = arch;
	*ret_nr = nr;
	return 0;
}

static void print_sim(const struct cg_closure *c, const char *arch_name, int arch, int nr, const uint64_t a[6],
		      const struct cg_compile_sim *s)
{
	const char *name = cg_syscall_name((enum cg_arch_id)arch, (uint32_t)nr);
	const struct cg_rule *rule = s->rule;
	char act_buf[64];
	struct cg_strbuf l;

	printf("call:    %s %s (nr %d) args [0x%llx, 0x%llx, 0x%llx, 0x%llx, 0x%llx, 0x%llx]\n", arch_name,
	       name ? name : "?", nr, (unsigned long long)a[0], (unsigned long long)a[1], (unsigned long long)a[2],
	       (unsigned long long)a[3], (unsigned long long)a[4], (unsigned long long)a[5]);
	printf("action:  %s (0x%08x)\n", cg_action_describe(cg_action_from_ret(s->ret), act_buf, sizeof(act_buf)),
	       s->ret);
	if (rule)
		printf("rule:    %s %s with %u argument condition(s)%s%s\n", rule->name,
		       cg_action_name(rule->action.kind), rule->n_args, rule->origin ? ": " : "",
		       rule->origin ? rule->origin : "");
	else
		printf("rule:    none matched: %s\n", s->ret == cg_action_ret(c->default_action)
							      ? "default action"
							      : "architecture check or ENOSYS for calls newer than the profile");
	printf("path:    %zu instructions of %zu\n", s->trace.n, s->prog.len);
	cg_strbuf_init(&l);
	cg_bpf_disasm_trace(s->prog.insns, s->prog.len, &s->trace, arch, "  ", &l);
	fputs(l.buf ? l.buf : "", stdout);
	cg_strbuf_release(&l);
}

int cmd_sim(int argc, char **argv)
{
	struct cli_resolve ro = { 0 };
	const char *phase = NULL;
	bool quiet = false;
	struct opt opts[] = {
		{ OPT_STRING, 0, "phase", &phase, "NAME", "compile only this phase", NULL },
		{ OPT_BOOL, 'q', "quiet", &quiet, NULL, "print only the action", NULL },
		CLI_RESOLVE_OPTS(&ro),
		OPT_END_MARK,
	};
	struct cg_closure *c = NULL;
	struct cg_compile_opts co = { .sz = sizeof(co), .phase = -1 };
	struct cg_compile_sim *s = NULL;
	struct cg_error err = { 0 };
	uint64_t a[6] = { 0 };
	char **args, act_buf[64];
	int nargs, r, arch, nr, rc = EXIT_USAGE;

	if ((r = opt_parse("sim", usage, desc, argc, argv, opts, false, &args, &nargs)))
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	if (nargs < 3 || nargs > 9) {
		cli_error("sim", "expected PROFILE ARCH SYSCALL [ARG...] (see 'capgate sim --help')");
		goto out;
	}
	if (parse_call(args, nargs, &arch, &nr, a) < 0 || cli_load_closure("sim", args[0], &ro, &c) < 0)
		goto out;
	if (phase && (co.phase = cg_closure_phase(c, phase, false)) < 0) {
		cli_error("sim", "the profile has no phase '%s'", phase);
		goto out;
	}
	if (cg_compile_sim(c, &co, (enum cg_arch_id)arch, (uint32_t)nr, a, &s, &err) < 0) {
		cli_error("sim", "%s", err.msg);
		goto out;
	}
	if (quiet)
		printf("%s\n", cg_action_describe(cg_action_from_ret(s->ret), act_buf, sizeof(act_buf)));
	else
		print_sim(c, args[1], arch, nr, a, s);
	if (s->ret != s->expect)
		cli_error("sim", "internal error: the program returned 0x%x but the profile says 0x%x", s->ret,
			  s->expect);
	else
		rc = cg_action_permits(cg_action_from_ret(s->ret)) ? EXIT_OK : EXIT_FINDINGS;
out:
	cg_compile_sim_free(s);
	cg_closure_free(c);
	free(args);
	opt_list_release(&ro.caps);
	return rc;
}
