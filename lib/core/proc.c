// SPDX-License-Identifier: Apache-2.0
/* Reading /proc and starting a program: see proc.h. */
#include "core/proc.h"

#include <capgate/error.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

int cg_proc_status(pid_t pid, const char *field, long *ret)
{
	char path[64], line[256];
	size_t len = strlen(field);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (!(f = fopen(path, "re")))
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, len) == 0 && line[len] == ':') {
			char *end;
			long v = strtol(line + len + 1, &end, 10);
			fclose(f);
			if (end == line + len + 1)
				return -ENOENT;
			*ret = v;
			return 0;
		}
	fclose(f);
	return -ENOENT;
}

pid_t cg_proc_tgid(pid_t tid)
{
	long tgid;
	return cg_proc_status(tid, "Tgid", &tgid) == 0 ? (pid_t)tgid : tid;
}

int cg_proc_descendants(pid_t root, pid_t **ret, size_t *ret_n)
{
	DIR *dir = opendir("/proc");
	struct dirent *de;
	size_t n = 0, cap = 0, nout = 0;
	struct {
		pid_t pid, ppid;
	} *v = NULL;
	bool grew = true;
	uint8_t *in;
	pid_t *out;

	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		char path[64], buf[512], *p;
		int fd;
		ssize_t len;
		pid_t pid = (pid_t)strtol(de->d_name, &p, 10);
		if (*p || pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len <= 0)
			continue;
		buf[len] = 0;
		if (!(p = strrchr(buf, ')')))
			continue;
		if (n == cap) {
			void *nv = realloc(v, (cap = cap ? cap * 2 : 256) * sizeof(*v));
			if (!nv) {
				free(v);
				closedir(dir);
				return -ENOMEM;
			}
			v = nv;
		}
		v[n].pid = pid;
		v[n].ppid = (pid_t)strtol(p + 4, NULL, 10); /* ") S ppid" */
		n++;
	}
	closedir(dir);
	in = calloc(n + 1, 1);
	out = calloc(n + 1, sizeof(*out));
	if (!in || !out) {
		free(in);
		free(out);
		free(v);
		return -ENOMEM;
	}
	while (grew) {
		grew = false;
		for (size_t i = 0; i < n; i++) {
			if (in[i])
				continue;
			bool parent_in = v[i].ppid == root;
			for (size_t j = 0; j < n && !parent_in; j++)
				parent_in = in[j] && v[j].pid == v[i].ppid;
			if (parent_in) {
				in[i] = 1;
				grew = true;
				out[nout++] = v[i].pid;
			}
		}
	}
	free(in);
	free(v);
	*ret = out;
	*ret_n = nout;
	return 0;
}

/* 0 if @path is a regular file we may execute, else the errno execve
 * would give: EACCES for what is not a regular file (*ret_mode: what it is, 0 if
 * stat failed). */
static int exec_check(const char *path, mode_t *ret_mode)
{
	struct stat st;

	*ret_mode = 0;
	if (stat(path, &st) < 0)
		return errno;
	*ret_mode = st.st_mode;
	if (!S_ISREG(st.st_mode))
		return EACCES;
	return access(path, X_OK) < 0 ? errno : 0;
}

int cg_exec_find(const char *file, char **ret, struct cg_error *err)
{
	const char *path = getenv("PATH");
	mode_t mode;
	int e = ENOENT;

	if (!file || !*file)
		return cg_error_set(err, -ENOENT, "cannot execute '': %s", strerror(ENOENT));
	if (strchr(file, '/')) {
		char *p;
		if ((e = exec_check(file, &mode)))
			return cg_error_set(err, -e, "cannot execute %s: %s", file,
					    strerror(S_ISDIR(mode) ? EISDIR : e));
		if (!(p = strdup(file)))
			return cg_error_set(err, -ENOMEM, "out of memory");
		*ret = p;
		return 0;
	}
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (const char *p = path;; p++) {
		const char *end = strchrnul(p, ':');
		char *cand = NULL;

		if (asprintf(&cand, "%.*s%s%s", (int)(end - p), p, end == p ? "" : "/", file) < 0)
			return cg_error_set(err, -ENOMEM, "out of memory");
		if (exec_check(cand, &mode) == 0) {
			*ret = cand;
			return 0;
		}
		free(cand);
		if (S_ISREG(mode))
			e = EACCES; /* there, but not executable: said if nothing else is found */
		if (!*end)
			break;
		p = end;
	}
	return cg_error_set(err, -e, "cannot execute %s: %s", file, strerror(e));
}

void cg_exec_or_report(const char *path, char *const argv[], char *const envp[], int errfd)
{
	int e;

	execve(path, argv, envp ? envp : environ);
	e = errno;
	if (write(errfd, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(e == ENOENT ? 127 : 126);
}

int cg_proc_write(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, s, strlen(s));
	int e = n < 0 ? -errno : 0;
	close(fd);
	return e;
}
