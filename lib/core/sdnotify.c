// SPDX-License-Identifier: Apache-2.0
/*
 * The receiving end of sd_notify(3) (core/sdnotify.h).
 */
#include "core/sdnotify.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/error_internal.h"

int cg_sdnotify_bind(const char *name, struct cg_error *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n = strlen(name);
	int fd;

	if (n + 1 > sizeof(sa.sun_path))
		return cg_error_set(err, -ENAMETOOLONG, "sd-notify trigger: socket name @%s too long", name);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
		return cg_error_set(err, -errno, "sd-notify trigger: socket(AF_UNIX, SOCK_DGRAM): %s", strerror(errno));
	memcpy(sa.sun_path + 1, name, n); /* abstract: a leading NUL */
	if (bind(fd, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)) < 0) {
		int e = errno;
		close(fd);
		return cg_error_set(err, -e, "sd-notify trigger: bind(@%s): %s", name, strerror(e));
	}
	return fd;
}

char **cg_sdnotify_env(char *const *envp, const char *name)
{
	extern char **environ;
	char *const *e = envp ? envp : environ;
	size_t n = 0, k = 0;
	char **v, *var = NULL;

	while (e[n])
		n++;
	if (!(v = calloc(n + 2, sizeof(*v))) || asprintf(&var, "NOTIFY_SOCKET=@%s", name) < 0) {
		free(v);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		if (strncmp(e[i], "NOTIFY_SOCKET=", 14) != 0)
			v[k++] = e[i];
	v[k] = var;
	return v;
}

void cg_sdnotify_env_free(char **env)
{
	size_t k = 0;

	if (!env)
		return;
	while (env[k + 1])
		k++;
	free(env[k]); /* ours: the last one */
	free(env);
}

bool cg_sdnotify_ready(int fd)
{
	char buf[4096];
	bool ready = false;
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT)) >= 0) {
		buf[n] = '\0';
		for (char *line = buf, *next; line; line = next) {
			next = strchr(line, '\n');
			if (next)
				*next++ = '\0';
			ready |= strcmp(line, "READY=1") == 0;
		}
	}
	return ready;
}
