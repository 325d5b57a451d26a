// SPDX-License-Identifier: Apache-2.0
/*
 * capgate webhook: exec capgate-webhook, installed beside this binary.
 *
 * The server links libh2o and the shared OpenSSL; this command links its
 * libraries statically so that `capgate run` starts fast. Keeping the
 * server in its own binary keeps one copy of OpenSSL per process and the
 * HTTP stack out of every other command.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "../cli.h"

int cmd_webhook(int argc, char **argv)
{
	/* The path capgate was started by (from the aux vector: no system call,
	 * so the webhook's own profile needs nothing beyond execve). */
	const char *self = (const char *)getauxval(AT_EXECFN);
	const char *slash = self ? strrchr(self, '/') : NULL;
	char path[PATH_MAX];
	char **nargv = calloc((size_t)argc + 2, sizeof(*nargv));

	if (!nargv) {
		cli_error("webhook", "out of memory");
		return EXIT_USAGE;
	}
	if (slash)
		snprintf(path, sizeof(path), "%.*s/capgate-webhook", (int)(slash - self), self);
	else
		snprintf(path, sizeof(path), "capgate-webhook"); /* found through PATH, as capgate was */
	nargv[0] = path;
	for (int i = 0; i < argc; i++)
		nargv[i + 1] = argv[i];
	if (slash)
		execv(path, nargv);
	else
		execvp(path, nargv);
	cli_error("webhook", "cannot run %s: %s (the HTTPS server is a separate binary, installed beside capgate)",
		  path, strerror(errno));
	free(nargv);
	return EXIT_USAGE;
}
