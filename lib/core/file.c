// SPDX-License-Identifier: Apache-2.0
/*
 * Whole files in and out. One reader for every input capgate takes (profiles,
 * policies, keys, image blobs): each read is bounded, because the inputs come
 * from people and registries, and an unbounded read is a way to make a CI
 * gate or an admission check run out of memory. One writer, so that no
 * command leaves a half-written profile behind when it fails.
 */
#include <capgate/file.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* "64 MiB", or "1000 bytes" for a limit that is not whole mebibytes. */
static void limit_str(size_t max, char *out, size_t n)
{
	if (max && max % ((size_t)1 << 20) == 0)
		snprintf(out, n, "%zu MiB", max >> 20);
	else
		snprintf(out, n, "%zu bytes", max);
}

static int too_big(const char *path, size_t max, const struct stat *st, struct cg_error *err)
{
	char lim[48];

	limit_str(max, lim, sizeof(lim));
	if (st)
		return cg_error_set(err, -EFBIG, "%s: %lld bytes is more than the %s capgate reads", path,
				    (long long)st->st_size, lim);
	return cg_error_set(err, -EFBIG, "%s: more than the %s capgate reads", path, lim);
}

int cg_read_file_max(const char *path, size_t max, unsigned flags, char **ret_buf, size_t *ret_len,
		     struct cg_error *err)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	bool regular_only = flags & CG_READ_REGULAR;
	size_t len = 0, cap = 0;
	struct stat st;

	if (max > SIZE_MAX / 2)
		max = SIZE_MAX / 2;
	if (!regular_only && strcmp(path, "-") == 0)
		fd = dup(STDIN_FILENO);
	else
		fd = open(path, O_RDONLY | O_CLOEXEC | (regular_only ? O_NONBLOCK : 0));
	if (fd < 0)
		return cg_error_set(err, -errno, "%s: %m", path);
	if (fstat(fd, &st) < 0)
		return cg_error_set(err, -errno, "%s: %m", path);
	if (S_ISREG(st.st_mode)) {
		if ((uint64_t)st.st_size > max)
			return too_big(path, max, &st, err);
		cap = (size_t)st.st_size + 2; /* one byte more finds the end at once */
	} else if (regular_only) {
		return cg_error_set(err, -EINVAL, "%s: not a regular file", path);
	}
	for (;;) {
		ssize_t k;

		if (cap - len < 2) { /* room for a byte and the NUL */
			size_t ncap = cap < 4096 ? 8192 : cap * 2;
			char *n;

			if (ncap > max + 2)
				ncap = max + 2;
			n = realloc(buf, ncap);
			if (!n)
				return cg_error_set(err, -ENOMEM, "out of memory");
			buf = n;
			cap = ncap;
		} else if (!buf && !(buf = malloc(cap))) {
			return cg_error_set(err, -ENOMEM, "out of memory");
		}
		k = read(fd, buf + len, cap - len - 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return cg_error_set(err, -errno, "%s: %m", path);
		if (k == 0)
			break;
		len += (size_t)k;
		if (len > max)
			return too_big(path, max, NULL, err);
	}
	buf[len] = '\0';
	*ret_buf = TAKE_PTR(buf);
	if (ret_len)
		*ret_len = len;
	return 0;
}

int cg_write_file_atomic(const char *path, const void *data, size_t n, mode_t mode,
			 struct cg_error *err)
{
	_cleanup_free_ char *dup = NULL, *tmp = NULL;
	const char *p = data;
	int fd, r = 0;

	if (strcmp(path, "-") == 0) {
		size_t off = 0;
		while (off < n) {
			ssize_t w = write(STDOUT_FILENO, p + off, n - off);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				return cg_error_set(err, -errno, "write to stdout: %m");
			}
			off += (size_t)w;
		}
		return 0;
	}
	dup = strdup(path);
	if (!dup || asprintf(&tmp, "%s/.%s.XXXXXX", dirname(dup), basename((char *)path)) < 0) {
		tmp = NULL;
		return cg_error_set(err, -ENOMEM, "out of memory");
	}
	fd = mkstemp(tmp);
	if (fd < 0)
		return cg_error_set(err, -errno, "%s: cannot create temporary file: %m", path);
	for (size_t off = 0; off < n;) {
		ssize_t w = write(fd, p + off, n - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			r = cg_error_set(err, -errno, "%s: write: %m", path);
			goto fail;
		}
		off += (size_t)w;
	}
	if (fchmod(fd, mode) < 0 || fsync(fd) < 0) {
		r = cg_error_set(err, -errno, "%s: %m", path);
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		r = cg_error_set(err, -errno, "%s: close: %m", path);
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		r = cg_error_set(err, -errno, "%s: rename: %m", path);
		goto fail;
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return r;
}

int cg_read_file(const char *path, char **ret_buf, size_t *ret_len, struct cg_error *err)
{
	return cg_read_file_max(path, CG_READ_FILE_MAX, 0, ret_buf, ret_len, err);
}
