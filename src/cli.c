// SPDX-License-Identifier: Apache-2.0
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void cli_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "capgate %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_resolve_opts(const char *cmd, const struct cli_resolve *r, struct cg_resolve_opts *ret)
{
	struct cg_resolve_opts ro = { .sz = sizeof(ro), .native_arch = -1, .default_caps = true };

	if (r) {
		ro.caps = r->caps.items;
		ro.n_caps = r->caps.n;
		ro.default_caps = !r->no_default_caps;
		if (r->kernel && sscanf(r->kernel, "%u.%u", &ro.kernel_major, &ro.kernel_minor) != 2) {
			cli_error(cmd, "--kernel expects MAJOR.MINOR, got '%s'", r->kernel);
			return -1;
		}
		if (r->arch) {
			ro.native_arch = cg_arch_lookup(r->arch);
			if (ro.native_arch < 0) {
				cli_error(cmd, "--arch: unknown architecture '%s'", r->arch);
				return -1;
			}
		}
	}
	*ret = ro;
	return 0;
}

int cli_load_closure(const char *cmd, const char *path, const struct cli_resolve *r,
		     struct cg_closure **ret)
{
	struct cg_resolve_opts ro;
	struct cg_error err = { 0 };

	if (cli_resolve_opts(cmd, r, &ro) < 0)
		return -1;
	if (cg_closure_load(path, &ro, ret, &err) < 0) {
		cli_error(cmd, "%s", err.msg);
		return -1;
	}
	return 0;
}

int cli_write(const char *cmd, const char *path, const struct cg_strbuf *sb)
{
	struct cg_error err = { 0 };
	if (sb->oom) {
		cli_error(cmd, "out of memory");
		return -1;
	}
	if (cg_write_file_atomic(path, sb->buf ? sb->buf : "", sb->len, 0644, &err) < 0) {
		cli_error(cmd, "%s", err.msg);
		return -1;
	}
	return 0;
}

bool cli_isatty(void) { return isatty(STDOUT_FILENO); }
