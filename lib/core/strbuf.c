// SPDX-License-Identifier: Apache-2.0
#include <capgate/strbuf.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

void cg_strbuf_init(struct cg_strbuf *sb) { memset(sb, 0, sizeof(*sb)); }

void cg_strbuf_release(struct cg_strbuf *sb)
{
	free(sb->buf);
	memset(sb, 0, sizeof(*sb));
}

static bool grow(struct cg_strbuf *sb, size_t extra)
{
	size_t need, ncap;
	char *n;

	if (sb->oom)
		return false;
	need = sb->len + extra + 1;
	if (need <= sb->cap)
		return true;
	ncap = sb->cap ? sb->cap : 256;
	while (ncap < need)
		ncap *= 2;
	n = realloc(sb->buf, ncap);
	if (!n) {
		sb->oom = true;
		return false;
	}
	sb->buf = n;
	sb->cap = ncap;
	return true;
}

void cg_strbuf_add(struct cg_strbuf *sb, const void *p, size_t n)
{
	if (!grow(sb, n))
		return;
	memcpy(sb->buf + sb->len, p, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
}

void cg_strbuf_addf(struct cg_strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !grow(sb, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
}

void cg_strbuf_add_json_str(struct cg_strbuf *sb, const char *s)
{
	cg_strbuf_add(sb, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			cg_strbuf_add(sb, "\\\"", 2);
			break;
		case '\\':
			cg_strbuf_add(sb, "\\\\", 2);
			break;
		case '\n':
			cg_strbuf_add(sb, "\\n", 2);
			break;
		case '\t':
			cg_strbuf_add(sb, "\\t", 2);
			break;
		case '\r':
			cg_strbuf_add(sb, "\\r", 2);
			break;
		default:
			if (*p < 0x20)
				cg_strbuf_addf(sb, "\\u%04x", *p);
			else
				cg_strbuf_add(sb, p, 1);
		}
	}
	cg_strbuf_add(sb, "\"", 1);
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
	_cleanup_close_ int fd = -1;
	char *buf = NULL;
	size_t len = 0, cap = 0;

	fd = strcmp(path, "-") == 0 ? dup(STDIN_FILENO) : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cg_error_set(err, -errno, "%s: %m", path);
	for (;;) {
		ssize_t r;
		if (len + 4096 + 1 > cap) {
			size_t ncap = cap ? cap * 2 : 8192;
			char *n;
			if (ncap > (size_t)256 << 20) {
				free(buf);
				return cg_error_set(err, -EFBIG, "%s: file is larger than 256 MiB", path);
			}
			n = realloc(buf, ncap);
			if (!n) {
				free(buf);
				return cg_error_set(err, -ENOMEM, "out of memory");
			}
			buf = n;
			cap = ncap;
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			free(buf);
			return cg_error_set(err, -errno, "%s: %m", path);
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	*ret_buf = buf;
	if (ret_len)
		*ret_len = len;
	return 0;
}
