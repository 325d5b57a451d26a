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
#include <unistd.h>

#include "../cli.h"

int cmd_webhook(int argc, char **argv)
{
	char self[PATH_MAX], path[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;
	char **nargv;

	if (n <= 0) {
		cli_error("webhook", "cannot find capgate's own binary: %s", strerror(errno));
		return EXIT_USAGE;
	}
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	snprintf(path, sizeof(path), "%s/capgate-webhook", slash ? self : ".");
	nargv = calloc((size_t)argc + 2, sizeof(*nargv));
	if (!nargv) {
		cli_error("webhook", "out of memory");
		return EXIT_USAGE;
	}
	nargv[0] = path;
	for (int i = 0; i < argc; i++)
		nargv[i + 1] = argv[i];
	execv(path, nargv);
	cli_error("webhook", "cannot run %s: %s (the HTTPS server is a separate binary, installed beside capgate)",
		  path, strerror(errno));
	free(nargv);
	return EXIT_USAGE;
}
