// SPDX-License-Identifier: Apache-2.0
/*
 * lib/core/proc.c: the one PATH search (cg_exec_find), held to execvp's
 * rules in a scratch directory of files that are executable, not
 * executable, or not files at all.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <capgate/error.h>

#include "core/proc.h"
#include "t.h"

static char dir[] = "/tmp/capgate-test-proc-XXXXXX";

static void put(const char *name, mode_t mode)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd >= 0) {
		if (write(fd, "#!/bin/sh\n", 10) != 10)
			perror("write");
		fchmod(fd, mode);
		close(fd);
	}
}

/* Search @file with PATH set to @path (NULL: unset); the error code. */
static int find(const char *path, const char *file, char **ret, struct cg_error *err)
{
	if (path)
		setenv("PATH", path, 1);
	else
		unsetenv("PATH");
	*err = (struct cg_error){ 0 };
	return cg_exec_find(file, ret, err);
}

static int test_exec_find_slash(void)
{
	struct cg_error err;
	char *p = NULL, buf[256];

	CHECK_EQ_INT(find("/nonexistent", "/bin/sh", &p, &err), 0);
	CHECK_STR(p, "/bin/sh");
	free(p);
	p = NULL;
	snprintf(buf, sizeof(buf), "%s/plain", dir);
	CHECK_EQ_INT(find("/bin", buf, &p, &err), -EACCES);
	CHECK_CONTAINS(err.msg, "Permission denied");
	snprintf(buf, sizeof(buf), "%s/sub", dir);
	CHECK_EQ_INT(find("/bin", buf, &p, &err), -EACCES);
	CHECK_CONTAINS(err.msg, "Is a directory");
	snprintf(buf, sizeof(buf), "%s/missing", dir);
	CHECK_EQ_INT(find("/bin", buf, &p, &err), -ENOENT);
	CHECK_CONTAINS(err.msg, "No such file or directory");
	CHECK(p == NULL); /* untouched on failure */
	CHECK_EQ_INT(find("/bin", "", &p, &err), -ENOENT);
	return 0;
}

static int test_exec_find_path(void)
{
	struct cg_error err;
	char *p = NULL, path[600], want[300];

	/* the first executable regular file wins: "plain" (0644) and "sub"
	 * (a directory) are passed over */
	snprintf(path, sizeof(path), "/nonexistent:%s:%s/sub", dir, dir);
	snprintf(want, sizeof(want), "%s/sub/plain", dir);
	CHECK_EQ_INT(find(path, "plain", &p, &err), 0);
	CHECK_STR(p, want);
	free(p);
	p = NULL;
	snprintf(path, sizeof(path), "%s", dir);
	CHECK_EQ_INT(find(path, "sub", &p, &err), -ENOENT);   /* a directory is no command */
	CHECK_EQ_INT(find(path, "plain", &p, &err), -EACCES); /* found, not executable */
	CHECK_CONTAINS(err.msg, "cannot execute plain: Permission denied");
	CHECK_EQ_INT(find(path, "capgate-no-such-program", &p, &err), -ENOENT);
	CHECK_CONTAINS(err.msg, "cannot execute capgate-no-such-program: No such file or directory");
	CHECK(p == NULL);
	/* unset: the default list; set but without the program: not found */
	CHECK_EQ_INT(find(NULL, "sh", &p, &err), 0);
	CHECK(p && p[0] == '/');
	free(p);
	p = NULL;
	CHECK_EQ_INT(find("/nonexistent", "sh", &p, &err), -ENOENT);
	/* an empty entry is the current directory */
	snprintf(path, sizeof(path), "/nonexistent:");
	CHECK_EQ_INT(chdir(dir), 0);
	CHECK_EQ_INT(find(path, "run", &p, &err), 0);
	CHECK_STR(p, "run");
	free(p);
	return 0;
}

int main(void)
{
	char sub[300];

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	mkdir(sub, 0755);
	put("plain", 0644);
	put("run", 0755);
	put("sub/plain", 0755);
	RUN(test_exec_find_slash);
	RUN(test_exec_find_path);
	if (chdir("/") < 0)
		perror("chdir");
	for (size_t i = 0; i < 4; i++) {
		static const char *const names[] = { "plain", "run", "sub/plain", "sub" };
		char path[300];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (remove(path) < 0)
			perror(path);
	}
	if (rmdir(dir) < 0)
		perror(dir);
	T_DONE();
}
