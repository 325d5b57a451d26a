/* SPDX-License-Identifier: Apache-2.0 */
/* Shared pieces of the command-line front end. */
#ifndef CAPGATE_CLI_H
#define CAPGATE_CLI_H

#include <capgate/profile.h>

#include "opt.h"

/* Command entry points, one file each under src/cmd/. */
int cmd_check(int argc, char **argv);
int cmd_compile(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_fallback(int argc, char **argv);
int cmd_disasm(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_image(int argc, char **argv);
/* --max-size SIZE (K, M, G suffixes) and --max-entries N of an image unpack
 * into @o (NULL: the default); prints the error and returns -1. */
struct cg_unpack_opts;
int image_unpack_limits(const char *cmd, const char *size, const char *entries, struct cg_unpack_opts *o);
int cmd_info(int argc, char **argv);
int cmd_lint(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_node_sync(int argc, char **argv);
int cmd_oci(int argc, char **argv);
int cmd_oci_hook(int argc, char **argv);
int cmd_policy(int argc, char **argv);
int cmd_probe_syscalls(int argc, char **argv);
int cmd_resolve(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_sim(int argc, char **argv);
int cmd_trace(int argc, char **argv);
int cmd_webhook(int argc, char **argv);

/* Options every command that reads a profile understands: --cap (repeatable),
 * --kernel X.Y, --arch NAME. Add CLI_RESOLVE_OPTS(&ro) to an option table. */
struct cli_resolve {
	struct opt_list caps;
	const char *kernel;
	const char *arch;
	bool no_default_caps;
};
#define CLI_RESOLVE_OPTS(r)                                                                                                                                  \
	{ OPT_LIST, 0, "cap", &(r)->caps, "CAP", "capability the workload has, for includes/excludes (repeatable)", NULL },                                  \
		{ OPT_BOOL, 0, "no-default-caps", &(r)->no_default_caps, NULL, "resolve with only the --cap capabilities, not Docker's default set", NULL }, \
		{ OPT_STRING, 0, "kernel", &(r)->kernel, "X.Y", "kernel version for minKernel (default: the running kernel)", NULL },                        \
	{                                                                                                                                                    \
		OPT_STRING, 0, "arch", &(r)->arch, "ARCH", "native architecture for archMap (default: this machine's)", NULL                                 \
	}

/* The command's --cap/--kernel/--arch as resolve options. Prints the error
 * and returns -1 on a bad value. @r may be NULL (defaults). */
int cli_resolve_opts(const char *cmd, const struct cli_resolve *r, struct cg_resolve_opts *ret);

/* Load a profile/closure file and resolve it with the command's options.
 * Prints "capgate CMD: <error>" and returns -1 on failure. */
int cli_load_closure(const char *cmd, const char *path, const struct cli_resolve *r,
		     struct cg_closure **ret);

/* Print an error for command @cmd to stderr: "capgate cmd: msg". */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Write @sb to @path atomically ("-" = stdout); prints the error. */
int cli_write(const char *cmd, const char *path, const struct cg_strbuf *sb);

/* Is stdout a terminal (for colour and progress)? */
bool cli_isatty(void);

#endif
