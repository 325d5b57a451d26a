// SPDX-License-Identifier: Apache-2.0
/*
 * A small tar reader for docker-archive files (docker save writes ustar, with
 * PAX or GNU long-name records for long paths), used instead of libarchive:
 * only two members are needed (manifest.json and the config), nothing is
 * ever extracted, and the format docker save writes is plain uncompressed
 * tar, so a 150-line reader is less to trust than a new library that also
 * speaks a dozen formats.
 *
 * The archive is untrusted: every header is checksummed, sizes and member
 * counts are bounded, names that leave the archive are dropped, and a
 * member is read (with pread, at the offset the scan found) only when asked
 * for by name.
 */
#include "static/tar.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cg_tar_index_release(struct cg_tar_index *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].name);
	free(t->v);
	*t = (struct cg_tar_index){ 0 };
}

/* Octal (NUL/space terminated) or GNU base-256 numeric field. */
bool cg_tar_num(const unsigned char *f, size_t n, uint64_t *ret)
{
	uint64_t v = 0;
	size_t i = 0;

	if (f[0] & 0x80) {
		if (f[0] != 0x80)
			return false; /* negative or too large */
		for (i = 1; i < n; i++) {
			if (v >> 56)
				return false;
			v = v << 8 | f[i];
		}
		*ret = v;
		return true;
	}
	while (i < n && f[i] == ' ')
		i++;
	for (; i < n && f[i] >= '0' && f[i] <= '7'; i++) {
		if (v >> 60)
			return false;
		v = v * 8 + (f[i] - '0');
	}
	if (i < n && f[i] != '\0' && f[i] != ' ')
		return false;
	*ret = v;
	return true;
}

bool cg_tar_checksum_ok(const unsigned char h[512])
{
	uint64_t sum = 0, want;
	for (int i = 0; i < 512; i++)
		sum += (i >= 148 && i < 156) ? ' ' : h[i];
	return cg_tar_num(h + 148, 8, &want) && want == sum;
}

static int pread_all(int fd, void *buf, size_t n, off_t off)
{
	size_t got = 0;
	while (got < n) {
		ssize_t k = pread(fd, (char *)buf + got, n - got, off + (off_t)got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			return -ENODATA;
		got += (size_t)k;
	}
	return 0;
}

/* "./a//b" -> "a/b"; NULL if it leaves the archive (absolute or "..") */
char *cg_tar_clean(const char *s, size_t n)
{
	char *out = malloc(n + 1);
	size_t o = 0, i = 0;

	if (!out)
		return NULL;
	if (n && s[0] == '/') {
		free(out);
		return NULL;
	}
	while (i < n) {
		size_t j = i;
		while (j < n && s[j] != '/')
			j++;
		if (j - i == 2 && s[i] == '.' && s[i + 1] == '.') {
			free(out);
			return NULL;
		}
		if (j > i && !(j - i == 1 && s[i] == '.')) {
			if (o)
				out[o++] = '/';
			memcpy(out + o, s + i, j - i);
			o += j - i;
		}
		i = j + 1;
	}
	out[o] = '\0';
	return out;
}

int cg_tar_scan(int fd, const char *path, struct cg_tar_index *t, struct cg_error *err)
{
	unsigned char h[512];
	_cleanup_free_ char *longname = NULL;
	off_t off = 0;
	size_t cap = 0, zeros = 0;
	int r;

	for (;;) {
		uint64_t size = 0;
		char type;

		r = pread_all(fd, h, 512, off);
		if (r == -ENODATA && zeros == 0 && t->n == 0 && off == 0)
			return cg_error_set(err, -EINVAL, "%s: empty file, not a tar archive", path);
		if (r == -ENODATA)
			break; /* tolerated: archive without the two zero blocks */
		if (r < 0)
			return cg_error_set(err, r, "%s: %s", path, strerror(-r));
		off += 512;
		{
			bool zero = true;
			for (int i = 0; i < 512 && zero; i++)
				zero = h[i] == 0;
			if (zero) {
				if (++zeros == 2)
					break;
				continue;
			}
		}
		zeros = 0;
		if (!cg_tar_checksum_ok(h))
			return cg_error_set(err, -EINVAL, "%s: offset %lld: bad tar header checksum (not a tar archive?)",
					    path, (long long)(off - 512));
		if (!cg_tar_num(h + 124, 12, &size) || size > (uint64_t)INT64_MAX / 2)
			return cg_error_set(err, -EINVAL, "%s: offset %lld: bad size field", path,
					    (long long)(off - 512));
		type = (char)h[156];
		if (type == 'L' || type == 'x') {
			/* GNU long name, or PAX extended header (path=) for the next member */
			_cleanup_free_ char *data = NULL;
			if (size > 1 << 20)
				return cg_error_set(err, -EINVAL, "%s: offset %lld: extended header too large", path,
						    (long long)(off - 512));
			data = malloc(size + 1);
			if (!data)
				return cg_error_set(err, -ENOMEM, "out of memory");
			if ((r = pread_all(fd, data, size, off)) < 0)
				return cg_error_set(err, r, "%s: truncated tar archive", path);
			data[size] = '\0';
			free(longname);
			longname = NULL;
			if (type == 'L') {
				longname = strndup(data, size);
			} else {
				for (size_t p = 0; p < size;) {
					char *end;
					unsigned long rl = strtoul(data + p, &end, 10);
					if (end == data + p || *end != ' ' || rl == 0 || rl > size - p)
						return cg_error_set(err, -EINVAL, "%s: malformed PAX header", path);
					if (strncmp(end + 1, "path=", 5) == 0) {
						char *v = end + 6;
						size_t vl = (size_t)(data + p + rl - 1 - v);
						if (v > data + p + rl - 1)
							return cg_error_set(err, -EINVAL, "%s: malformed PAX header", path);
						free(longname);
						longname = strndup(v, vl);
					}
					p += rl;
				}
			}
		} else if (type == '0' || type == '\0' || type == '7') {
			char nb[256 + 156];
			const char *name;
			size_t nl;
			char *clean;

			if (longname) {
				name = longname;
				nl = strlen(longname);
			} else {
				size_t pl = strnlen((char *)h + 345, 155), bl = strnlen((char *)h, 100);
				bool ustar = memcmp(h + 257, "ustar", 5) == 0;
				nl = 0;
				if (ustar && pl) {
					memcpy(nb, h + 345, pl);
					nb[pl] = '/';
					nl = pl + 1;
				}
				memcpy(nb + nl, h, bl);
				nl += bl;
				nb[nl] = '\0';
				name = nb;
			}
			clean = cg_tar_clean(name, nl);
			if (clean) {
				if (t->n == cap) {
					struct cg_tar_entry *nv;
					if (t->n >= 1u << 20)
						return cg_error_set(err, -E2BIG, "%s: more than 2^20 members", path);
					cap = cap ? cap * 2 : 16;
					nv = realloc(t->v, cap * sizeof(*nv));
					if (!nv) {
						free(clean);
						return cg_error_set(err, -ENOMEM, "out of memory");
					}
					t->v = nv;
				}
				t->v[t->n++] = (struct cg_tar_entry){ clean, off, size };
			}
			free(longname);
			longname = NULL;
		} else {
			free(longname); /* directories, links, devices: not needed */
			longname = NULL;
		}
		off += (off_t)((size + 511) / 512 * 512);
	}
	return 0;
}

int cg_tar_read(int fd, const char *path, const struct cg_tar_index *t, const char *member, size_t max,
		char **ret, size_t *ret_len, struct cg_error *err)
{
	const struct cg_tar_entry *e = NULL;
	char *buf;
	int r;

	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->v[i].name, member) == 0)
			e = &t->v[i]; /* the last one wins, as on extraction */
	if (!e)
		return cg_error_set(err, -ENOENT, "%s: no member '%s' in the archive", path, member);
	if (e->size > max)
		return cg_error_set(err, -EFBIG, "%s: %s: %llu bytes is more than the %zu MiB capgate reads", path,
				    member, (unsigned long long)e->size, max >> 20);
	buf = malloc(e->size + 1);
	if (!buf)
		return cg_error_set(err, -ENOMEM, "out of memory");
	if ((r = pread_all(fd, buf, e->size, e->offset)) < 0) {
		free(buf);
		return cg_error_set(err, r == -ENODATA ? -EINVAL : r, "%s: %s: truncated archive", path, member);
	}
	buf[e->size] = '\0';
	*ret = buf;
	*ret_len = e->size;
	return 0;
}
