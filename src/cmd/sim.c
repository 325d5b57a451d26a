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
	_cleanup_(cg_closure_freep) struct cg_closure *c = NULL;
	struct cg_compile_opts co = { .sz = sizeof(co), .phase = -1 };
	struct cg_bpf_prog prog = { 0 };
	struct cg_bpf_trace trace = { 0 };
	struct cg_error err = { 0 };
	struct seccomp_data d = { 0 };
	const struct cg_rule *rule = NULL;
	char **args, act_buf[64];
	int nargs, r, arch, nr;
	uint32_t ret = 0, want;

	if ((r = opt_parse("sim", usage, desc, argc, argv, opts, false, &args, &nargs)))
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	if (nargs < 3 || nargs > 9) {
		cli_error("sim", "expected PROFILE ARCH SYSCALL [ARG...] (see 'capgate sim --help')");
		goto usage_fail;
	}
	if ((arch = cg_arch_lookup(args[1])) < 0) {
		cli_error("sim", "unknown architecture '%s' (x86_64, x86, x32, aarch64, ...)", args[1]);
		goto usage_fail;
	}
	nr = cg_syscall_nr((enum cg_arch_id)arch, args[2]);
	if (nr < 0) {
		char *end;
		unsigned long long v = strtoull(args[2], &end, 0);
		if (*end || end == args[2]) {
			cli_error("sim", nr == -ENOSYS ? "%s does not exist on %s" : "unknown syscall '%s'", args[2],
				  args[1]);
			goto usage_fail;
		}
		nr = (int)(uint32_t)v;
	}
	for (int i = 3; i < nargs; i++) {
		char *end;
		d.args[i - 3] = strtoull(args[i], &end, 0);
		if (*end || end == args[i]) {
			cli_error("sim", "argument %d: expected a number, got '%s'", i - 3, args[i]);
			goto usage_fail;
		}
		if (args[i][0] == '-')
			d.args[i - 3] = (uint64_t)strtoll(args[i], NULL, 0);
	}
	if (cli_load_closure("sim", args[0], &ro, &c) < 0)
		goto usage_fail;
	if (phase && (co.phase = cg_closure_phase(c, phase, false)) < 0) {
		cli_error("sim", "the profile has no phase '%s'", phase);
		goto usage_fail;
	}
	if (cg_compile(c, &co, &prog, &err) < 0) {
		cli_error("sim", "%s", err.msg);
		goto usage_fail;
	}
	d.nr = nr;
	d.arch = cg_arch_info((enum cg_arch_id)arch)->audit;
	if (cg_bpf_run(prog.insns, prog.len, &d, &trace, &ret, &err) < 0) {
		cli_error("sim", "%s", err.msg);
		goto usage_fail;
	}
	want = cg_compile_expect(c, &co, d.arch, (uint32_t)d.nr, (const uint64_t *)d.args);
	struct cg_action act = cg_action_from_ret(ret);
	if (quiet) {
		printf("%s\n", cg_action_describe(act, act_buf, sizeof(act_buf)));
	} else {
		const char *name = cg_syscall_name((enum cg_arch_id)arch, (uint32_t)nr);
		struct cg_strbuf l;
		cg_closure_decide(c, (enum cg_arch_id)arch, name, (const uint64_t *)d.args, co.phase, &rule);
		printf("call:    %s %s (nr %d) args [0x%llx, 0x%llx, 0x%llx, 0x%llx, 0x%llx, 0x%llx]\n", args[1],
		       name ? name : "?", nr, (unsigned long long)d.args[0], (unsigned long long)d.args[1],
		       (unsigned long long)d.args[2], (unsigned long long)d.args[3], (unsigned long long)d.args[4],
		       (unsigned long long)d.args[5]);
		printf("action:  %s (0x%08x)\n", cg_action_describe(act, act_buf, sizeof(act_buf)), ret);
		if (rule)
			printf("rule:    %s %s with %u argument condition(s)%s%s\n", rule->name,
			       cg_action_name(rule->action.kind), rule->n_args, rule->origin ? ": " : "",
			       rule->origin ? rule->origin : "");
		else
			printf("rule:    none matched: %s\n", ret == cg_action_ret(c->default_action)
								  ? "default action"
								  : "architecture check or ENOSYS for calls newer than the profile");
		printf("path:    %zu instructions of %zu\n", trace.n, prog.len);
		cg_strbuf_init(&l);
		cg_bpf_disasm(prog.insns, prog.len, arch, &l);
		/* the listing has one line per instruction: print the executed ones */
		const char **lines = calloc(prog.len + 1, sizeof(*lines));
		size_t n_lines = 0;
		for (char *p = l.buf; lines && p && *p && n_lines < prog.len; n_lines++) {
			lines[n_lines] = p;
			p = strchr(p, '\n');
			if (p)
				*p++ = '\0';
		}
		for (size_t s = 0; lines && s < trace.n; s++)
			if (trace.steps[s].pc < n_lines)
				printf("  %s\n", lines[trace.steps[s].pc]);
		free(lines);
		cg_strbuf_release(&l);
	}
	if (ret != want)
		cli_error("sim", "internal error: the program returned 0x%x but the profile says 0x%x", ret, want);
	cg_bpf_trace_release(&trace);
	cg_bpf_prog_release(&prog);
	free(args);
	opt_list_release(&ro.caps);
	return ret != want ? EXIT_USAGE : cg_action_permits(act) ? EXIT_OK : EXIT_FINDINGS;
usage_fail:
	cg_bpf_trace_release(&trace);
	cg_bpf_prog_release(&prog);
	free(args);
	opt_list_release(&ro.caps);
	return EXIT_USAGE;
}
