// SPDX-License-Identifier: Apache-2.0
/* capgate: compute a workload's capability closure and enforce it. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <capgate/error.h>

#include "cli.h"

#ifndef CAPGATE_VERSION
#define CAPGATE_VERSION "0.1.0"
#endif

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct cmd commands[] = {
	{ "check", cmd_check, "check workloads, profiles and images against a policy (the static gate)" },
	{ "compile", cmd_compile, "compile a profile into a raw seccomp-BPF program" },
	{ "diff", cmd_diff, "compare two profiles or closures call by call" },
	{ "disasm", cmd_disasm, "print a seccomp-BPF program (or a profile's) as readable text" },
	{ "export", cmd_export, "write a closure as another tool's resource (Security Profiles Operator)" },
	{ "fallback", cmd_fallback, "answer ENOSYS to calls libc probes and survives ENOSYS for (rseq, clone3, ...)" },
	{ "image", cmd_image, "attach a closure to an OCI image layout and sign the image (the build step)" },
	{ "info", cmd_info, "summarise a profile: calls per arch, digest, groups, action cache" },
	{ "lint", cmd_lint, "report what makes a profile unsafe or broken" },
	{ "merge", cmd_merge, "union of several closures (runs of a trace), canonical and deterministic" },
	{ "node-sync", cmd_node_sync, "install closures as Localhost seccomp profiles on a node (DaemonSet agent)" },
	{ "oci", cmd_oci, "write a closure into an OCI runtime bundle's config.json (linux.seccomp)" },
	{ "oci-hook", cmd_oci_hook, "OCI prestart/poststop hook: record a container's closure (io.capgate.trace)" },
	{ "policy", cmd_policy, "show, export (Rego, Gatekeeper) or probe the policy's baseline" },
	{ "resolve", cmd_resolve, "resolve includes/excludes and write the canonical closure" },
	{ "run", cmd_run, "run a program under a profile (seccomp + Landlock + network rules)" },
	{ "sim", cmd_sim, "evaluate one call through the compiled filter in capgate's emulator" },
	{ "trace", cmd_trace, "record what a workload really calls: its closure per arch and phase" },
	{ "webhook", cmd_webhook, "serve the static gate as a Kubernetes admission webhook over HTTPS" },
	/* internal: run inside a sandbox by 'policy probe-gvisor' */
	{ "__probe-syscalls", cmd_probe_syscalls, NULL },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: capgate <command> [options] [args]\n\ncommands:\n");
	for (size_t i = 0; i < CG_ARRAY_SIZE(commands); i++)
		if (commands[i].summary)
			fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'capgate help <command>' (or 'capgate <command> --help') describes a command. Exit status: 0 ok, 1 findings or\n"
		   "a denied verdict, 2 usage or input error; 'run' exits with the program's status.\n");
}

static void log_to_stderr(enum cg_log_level level, const char *msg, void *user)
{
	const char *cmd = user;
	if (level == CG_LOG_DEBUG && !getenv("CAPGATE_DEBUG"))
		return;
	fprintf(stderr, "capgate %s: %s%s\n", cmd, level == CG_LOG_WARN ? "warning: " : "", msg);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
		/* capgate help CMD is capgate CMD --help */
		if (argc >= 3 && strcmp(argv[1], "help") == 0) {
			char *hargv[] = { argv[2], (char *)"--help", NULL };
			for (size_t i = 0; i < CG_ARRAY_SIZE(commands); i++)
				if (commands[i].summary && strcmp(argv[2], commands[i].name) == 0)
					return commands[i].fn(1, hargv + 1);
			fprintf(stderr, "capgate: unknown command '%s'\n\n", argv[2]);
			usage(stderr);
			return EXIT_USAGE;
		}
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("capgate %s\n", CAPGATE_VERSION);
		return EXIT_OK;
	}
	for (size_t i = 0; i < CG_ARRAY_SIZE(commands); i++)
		if (strcmp(argv[1], commands[i].name) == 0) {
			cg_set_log(log_to_stderr, (void *)commands[i].name);
			return commands[i].fn(argc - 2, argv + 2);
		}
	fprintf(stderr, "capgate: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
