// SPDX-License-Identifier: Apache-2.0
/*
 * The one file reader and atomic writer: bounded reads of regular files,
 * pipes and stdin (the limit and the file named in the message), FIFOs
 * refused without blocking where only regular files are wanted, /proc files
 * that report size 0, and an atomic write read back.
 */
#include <capgate/file.h>
#include <capgate/policy.h>
#include <capgate/profile.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>

#include "t.h"

static char tmp[256];

static void put(const char *path, const char *data, size_t n)
{
	FILE *fp = fopen(path, "we");
	if (fp) {
		fwrite(data, 1, n, fp);
		fclose(fp);
	}
}

static int test_regular(void)
{
	char path[300], big[300], *buf = NULL;
	struct cg_error err = { 0 };
	size_t len = 99;

	snprintf(path, sizeof(path), "%s/small", tmp);
	put(path, "hello\n", 6);
	CHECK_EQ_INT(cg_read_file(path, &buf, &len, &err), 0);
	CHECK_EQ_INT(len, 6);
	CHECK_STR(buf, "hello\n");
	free(buf);
	buf = NULL;

	snprintf(path, sizeof(path), "%s/empty", tmp);
	put(path, "", 0);
	CHECK_EQ_INT(cg_read_file_max(path, 0, CG_READ_REGULAR, &buf, &len, &err), 0);
	CHECK_EQ_INT(len, 0);
	CHECK(buf && buf[0] == '\0');
	free(buf);
	buf = NULL;

	/* at the limit is fine; one byte over is refused before it is read */
	snprintf(big, sizeof(big), "%s/hundred", tmp);
	{
		char h[100];
		memset(h, 'x', sizeof(h));
		put(big, h, sizeof(h));
	}
	CHECK_EQ_INT(cg_read_file_max(big, 100, 0, &buf, &len, &err), 0);
	CHECK_EQ_INT(len, 100);
	free(buf);
	buf = NULL;
	len = 7;
	CHECK_EQ_INT(cg_read_file_max(big, 99, 0, &buf, &len, &err), -EFBIG);
	CHECK_CONTAINS(err.msg, big);
	CHECK_CONTAINS(err.msg, "100 bytes is more than the 99 bytes capgate reads");
	CHECK(buf == NULL && len == 7); /* outputs untouched on failure */

	/* a sparse file over a MiB limit: the limit is said in MiB */
	snprintf(path, sizeof(path), "%s/sparse", tmp);
	{
		int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
		CHECK(fd >= 0 && ftruncate(fd, ((off_t)1 << 20) + 1) == 0);
		if (fd >= 0)
			close(fd);
	}
	CHECK_EQ_INT(cg_read_file_max(path, (size_t)1 << 20, CG_READ_REGULAR, &buf, &len, &err), -EFBIG);
	CHECK_CONTAINS(err.msg, "1048577 bytes is more than the 1 MiB capgate reads");

	/* missing file */
	snprintf(path, sizeof(path), "%s/none", tmp);
	CHECK_EQ_INT(cg_read_file(path, &buf, &len, &err), -ENOENT);
	CHECK_CONTAINS(err.msg, path);
	return 0;
}

static int test_proc_size_zero(void)
{
	struct cg_error err = { 0 };
	char *buf = NULL;
	size_t len = 0;

	/* /proc files say st_size 0 but have content */
	CHECK_EQ_INT(cg_read_file_max("/proc/self/status", 1 << 20, CG_READ_REGULAR, &buf, &len, &err), 0);
	CHECK(len > 100);
	CHECK_CONTAINS(buf, "Pid:");
	free(buf);
	return 0;
}

static int test_fifo_and_stdin(void)
{
	struct cg_error err = { 0 };
	char path[300], *buf = NULL, chunk[1000];
	size_t len = 0;
	int p[2], saved;

	/* a FIFO without a writer would block a plain open: refused at once */
	snprintf(path, sizeof(path), "%s/fifo", tmp);
	CHECK(mkfifo(path, 0600) == 0);
	CHECK_EQ_INT(cg_read_file_max(path, 100, CG_READ_REGULAR, &buf, &len, &err), -EINVAL);
	CHECK_CONTAINS(err.msg, "not a regular file");

	/* stdin ("-") from a pipe: bounded while it is read */
	memset(chunk, 'y', sizeof(chunk));
	saved = dup(STDIN_FILENO);
	CHECK(saved >= 0 && pipe(p) == 0);
	CHECK(write(p[1], chunk, sizeof(chunk)) == (ssize_t)sizeof(chunk));
	close(p[1]);
	dup2(p[0], STDIN_FILENO);
	close(p[0]);
	CHECK_EQ_INT(cg_read_file_max("-", 999, 0, &buf, &len, &err), -EFBIG);
	CHECK_CONTAINS(err.msg, "-: more than the 999 bytes capgate reads");

	CHECK(pipe(p) == 0);
	CHECK(write(p[1], chunk, sizeof(chunk)) == (ssize_t)sizeof(chunk));
	close(p[1]);
	dup2(p[0], STDIN_FILENO);
	close(p[0]);
	CHECK_EQ_INT(cg_read_file_max("-", 1000, 0, &buf, &len, &err), 0);
	CHECK_EQ_INT(len, 1000);
	free(buf);
	buf = NULL;
	dup2(saved, STDIN_FILENO);
	close(saved);

	/* with CG_READ_REGULAR, "-" is a file of that name, not stdin */
	CHECK_EQ_INT(cg_read_file_max("-", 100, CG_READ_REGULAR, &buf, &len, &err), -ENOENT);
	return 0;
}

static int test_write_atomic(void)
{
	struct cg_error err = { 0 };
	char path[300], *buf = NULL;
	struct stat st;
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/out.json", tmp);
	put(path, "old content that is longer", 26);
	CHECK_EQ_INT(cg_write_file_atomic(path, "{}\n", 3, 0600, &err), 0);
	CHECK_EQ_INT(cg_read_file(path, &buf, &len, &err), 0);
	CHECK_EQ_INT(len, 3);
	CHECK_STR(buf, "{}\n");
	free(buf);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);

	snprintf(path, sizeof(path), "%s/no/such/dir/out.json", tmp);
	CHECK(cg_write_file_atomic(path, "x", 1, 0644, &err) < 0);
	CHECK_CONTAINS(err.msg, "cannot create temporary file");
	return 0;
}

/* Each kind of input capgate parses has its own bound, named with the file
 * when it is passed (a sparse file: refused from its size, never read). */
static int test_input_bounds(void)
{
	struct {
		const char *name;
		size_t max;
		const char *limit;
	} k[] = {
		{ "profile.json", CG_READ_PROFILE_MAX, "16 MiB" },
		{ "policy.yaml", CG_READ_POLICY_MAX, "1 MiB" },
		{ "pods.yaml", CG_READ_MANIFEST_MAX, "64 MiB" },
	};
	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		struct cg_error err = { 0 };
		char path[300], *buf = NULL;
		struct cg_policy *pol = NULL;
		struct cg_profile *prof = NULL;
		int fd, r;

		snprintf(path, sizeof(path), "%s/%s", tmp, k[i].name);
		fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
		CHECK(fd >= 0 && ftruncate(fd, (off_t)k[i].max + 1) == 0);
		if (fd >= 0)
			close(fd);
		if (i == 0)
			r = cg_profile_load(path, &prof, &err);
		else if (i == 1)
			r = cg_policy_load(path, &pol, &err);
		else
			r = cg_read_file_max(path, k[i].max, 0, &buf, NULL, &err);
		CHECK_EQ_INT(r, -EFBIG);
		CHECK_CONTAINS(err.msg, path);
		CHECK_CONTAINS(err.msg, k[i].limit);
		cg_profile_free(prof);
		cg_policy_free(pol);
		free(buf);
		unlink(path);
	}
	return 0;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

int main(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/capgate-test-file-XXXXXX");
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_regular);
	RUN(test_proc_size_zero);
	RUN(test_fifo_and_stdin);
	RUN(test_write_atomic);
	RUN(test_input_bounds);
	nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	T_DONE();
}
