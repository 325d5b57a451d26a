// SPDX-License-Identifier: Apache-2.0
/*
 * An image's layers unpacked into a root file system, for 'capgate run
 * --image': capgate runs the image it checked, not a tree another tool
 * unpacked from who knows what.
 *
 * Layers are untrusted archives. Each blob is checked against its digest
 * first (cg_oci_blob_verify), then read once, in order, through zlib (which
 * passes an uncompressed tar through as it is). Every member is placed
 * relative to a directory descriptor of the root, one component at a time
 * with O_NOFOLLOW: a name that is absolute or has a ".." component, a path
 * through a symbolic link (the "link -> /, then link/etc/passwd" escape), a
 * relative link target that climbs out of the root and a hard link to
 * anything outside it are refused, and the whole unpack fails: a half-made
 * root is removed, never run. OCI whiteouts (".wh.NAME" removes NAME of a
 * lower layer, ".wh..wh..opq" empties its directory) are honoured.
 * Devices and FIFOs are skipped: the runtime makes /dev.
 */
#include <capgate/image.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <dirent.h>

#include "static/oci.h"
#include "static/tar.h"

#define WH ".wh."
#define WH_OPQ ".wh..wh..opq"

struct layer {
	gzFile gz;
	const char *source; /* the layer, for messages */
	int root;
};

static int gz_read_all(struct layer *l, void *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		int k = gzread(l->gz, (char *)buf + got, (unsigned)(n - got > (1u << 30) ? 1u << 30 : n - got));
		if (k <= 0)
			return -EIO;
		got += (size_t)k;
	}
	return 0;
}

static int gz_skip(struct layer *l, uint64_t n)
{
	char buf[65536];
	while (n) {
		size_t k = n > sizeof(buf) ? sizeof(buf) : (size_t)n;
		if (gz_read_all(l, buf, k) < 0)
			return -EIO;
		n -= k;
	}
	return 0;
}

/* Remove @name in directory @dfd, whatever it is (a tree: depth first). */
static int remove_at(int dfd, const char *name)
{
	struct stat st;
	int fd, r = 0;
	DIR *d;
	struct dirent *e;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dfd, name, 0) < 0 ? -errno : 0;
	if ((fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return -errno;
	if (!(d = fdopendir(fd))) {
		close(fd);
		return -errno;
	}
	while (r == 0 && (e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			r = remove_at(dirfd(d), e->d_name);
	closedir(d);
	if (r == 0 && unlinkat(dfd, name, AT_REMOVEDIR) < 0)
		r = -errno;
	return r;
}

/* The directory of @path's parent ("a/b" of "a/b/c"), walked one component
 * at a time without following links, made (0755) where missing when
 * @create. The last component into *@base. */
static int parent_open(struct layer *l, char *path, bool create, const char **base, struct cg_error *err)
{
	char *slash = strrchr(path, '/'), *p = path;
	int fd = dup(l->root);

	if (fd < 0)
		return cg_error_set(err, -errno, "dup: %m");
	*base = slash ? slash + 1 : path;
	if (!slash)
		return fd;
	*slash = '\0';
	while (p && *p) {
		char *next = strchr(p, '/');
		struct stat st;
		int nfd;
		if (next)
			*next = '\0';
		if (create && mkdirat(fd, p, 0755) < 0 && errno != EEXIST) {
			int e = errno;
			close(fd);
			if (next)
				*next = '/';
			*slash = '/';
			return cg_error_set(err, -e, "%s: %s: cannot make directory: %s", l->source, path, strerror(e));
		}
		nfd = openat(fd, p, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0) {
			int e = errno;
			bool link = fstatat(fd, p, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
			close(fd);
			if (next)
				*next = '/';
			*slash = '/';
			if (link)
				return cg_error_set(err, -ELOOP,
						    "%s: %s goes through the symbolic link %.*s: refused (it could lead out of the root)",
						    l->source, path, (int)(p - path + strlen(p)), path);
			return cg_error_set(err, -e, "%s: %s: %s", l->source, path, strerror(e));
		}
		close(fd);
		fd = nfd;
		if (next)
			*next = '/';
		p = next ? next + 1 : NULL;
	}
	*slash = '/';
	return fd;
}

/* Does the link target @target of the member @name stay inside the root?
 * Absolute targets resolve against the container's root, so they do. */
static bool link_inside(const char *name, const char *target)
{
	long depth = 0;
	const char *s;

	if (target[0] == '/')
		return true;
	for (s = name; *s; s++)
		if (*s == '/')
			depth++; /* directories above the link */
	for (s = target; *s;) {
		size_t n = strcspn(s, "/");
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			if (--depth < 0)
				return false;
		} else if (n && !(n == 1 && s[0] == '.')) {
			depth++;
		}
		s += n;
		if (*s == '/')
			s++;
	}
	return true;
}

static int write_data(struct layer *l, int fd, uint64_t size)
{
	char buf[65536];
	while (size) {
		size_t k = size > sizeof(buf) ? sizeof(buf) : (size_t)size;
		if (gz_read_all(l, buf, k) < 0)
			return -EIO;
		for (size_t o = 0; o < k;) {
			ssize_t w = write(fd, buf + o, k - o);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return w < 0 ? -errno : -EIO;
			o += (size_t)w;
		}
		size -= k;
	}
	return 0;
}

/* One member: @type, its cleaned @name, @link (link target), the header. */
static int member(struct layer *l, char type, char *name, const char *link, const unsigned char *h, uint64_t size,
		  struct cg_error *err)
{
	uint64_t mode = 0644, uid = 0, gid = 0;
	const char *base;
	int dfd, r = 0;

	cg_tar_num(h + 100, 8, &mode);
	cg_tar_num(h + 108, 8, &uid);
	cg_tar_num(h + 116, 8, &gid);
	mode &= 07777;
	if (!name[0]) /* the root itself */
		return gz_skip(l, size);
	if ((dfd = parent_open(l, name, true, &base, err)) < 0)
		return dfd;
	if (strcmp(base, WH_OPQ) == 0) {
		DIR *d;
		struct dirent *e;
		int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 || !(d = fdopendir(fd))) {
			r = cg_error_set(err, -errno, "%s: %s: %m", l->source, name);
			if (fd >= 0)
				close(fd);
		} else {
			while (r == 0 && (e = readdir(d)) != NULL)
				if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
					r = remove_at(dirfd(d), e->d_name);
			closedir(d);
			if (r < 0)
				r = cg_error_set(err, r, "%s: %s: cannot empty the directory: %s", l->source, name, strerror(-r));
		}
	} else if (strncmp(base, WH, strlen(WH)) == 0) {
		if ((r = remove_at(dfd, base + strlen(WH))) < 0)
			r = cg_error_set(err, r, "%s: whiteout %s: %s", l->source, name, strerror(-r));
	} else if (type == '5') {
		struct stat st;
		if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode))
			r = remove_at(dfd, base);
		if (r == 0 && mkdirat(dfd, base, (mode_t)mode) < 0 && errno != EEXIST)
			r = -errno;
		if (r == 0 && fchmodat(dfd, base, (mode_t)mode, 0) < 0)
			r = -errno;
		if (r < 0)
			r = cg_error_set(err, r, "%s: %s: %s", l->source, name, strerror(-r));
	} else if (type == '2') {
		if (!link_inside(name, link))
			r = cg_error_set(err, -EPERM, "%s: symbolic link %s -> %s leads out of the root: refused", l->source,
					 name, link);
		else if ((r = remove_at(dfd, base)) < 0 || symlinkat(link, dfd, base) < 0)
			r = cg_error_set(err, r < 0 ? r : -errno, "%s: %s: %s", l->source, name, strerror(r < 0 ? -r : errno));
	} else if (type == '1') {
		_cleanup_free_ char *target = cg_tar_clean(link, strlen(link));
		const char *tbase;
		int tfd;
		if (!target || !target[0]) {
			r = cg_error_set(err, -EPERM, "%s: hard link %s -> %s leads out of the root: refused", l->source,
					 name, link);
		} else if ((tfd = parent_open(l, target, false, &tbase, err)) < 0) {
			r = tfd;
		} else {
			if ((r = remove_at(dfd, base)) == 0 && linkat(tfd, tbase, dfd, base, 0) < 0)
				r = -errno;
			if (r < 0)
				r = cg_error_set(err, r, "%s: hard link %s -> %s: %s", l->source, name, link, strerror(-r));
			close(tfd);
		}
	} else if (type == '0' || type == '\0' || type == '7') {
		int fd = -1;
		if ((r = remove_at(dfd, base)) == 0 &&
		    (fd = openat(dfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
			r = -errno;
		if (r == 0)
			r = write_data(l, fd, size);
		if (r == 0 && fchmod(fd, (mode_t)mode) < 0)
			r = -errno;
		if (fd >= 0)
			close(fd);
		if (r < 0)
			r = cg_error_set(err, r, "%s: %s: %s", l->source, name, strerror(-r));
		size = 0; /* consumed */
	}
	/* devices, FIFOs: skipped (the runtime makes /dev) */
	if (r == 0 && (type == '0' || type == '\0' || type == '7' || type == '5' || type == '2' || type == '1') &&
	    strncmp(base, WH, strlen(WH)) != 0 && fchownat(dfd, base, (uid_t)uid, (gid_t)gid, AT_SYMLINK_NOFOLLOW) < 0)
		r = cg_error_set(err, -errno, "%s: %s: chown: %m", l->source, name);
	close(dfd);
	if (r == 0 && size)
		r = gz_skip(l, size);
	return r;
}

static int layer_unpack(struct layer *l, struct cg_error *err)
{
	unsigned char h[512];
	_cleanup_free_ char *longname = NULL, *longlink = NULL;
	int zeros = 0, r;

	for (;;) {
		uint64_t size = 0;
		char type, nb[256 + 156], lb[101];
		const char *name;
		bool zero = true;

		if (gz_read_all(l, h, 512) < 0)
			return zeros ? 0 : cg_error_set(err, -EINVAL, "%s: truncated or not a tar archive", l->source);
		for (int i = 0; i < 512 && zero; i++)
			zero = h[i] == 0;
		if (zero) {
			if (++zeros == 2)
				return 0;
			continue;
		}
		zeros = 0;
		if (!cg_tar_checksum_ok(h))
			return cg_error_set(err, -EINVAL, "%s: bad tar header checksum", l->source);
		if (!cg_tar_num(h + 124, 12, &size) || size > (uint64_t)INT64_MAX / 2)
			return cg_error_set(err, -EINVAL, "%s: bad size field", l->source);
		type = (char)h[156];
		if (type == 'L' || type == 'K' || type == 'x') {
			_cleanup_free_ char *data = NULL;
			if (size > 1 << 20)
				return cg_error_set(err, -EINVAL, "%s: extended header too large", l->source);
			if (!(data = malloc(size + 1)))
				return cg_error_set(err, -ENOMEM, "out of memory");
			if (gz_read_all(l, data, size) < 0 || gz_skip(l, (512 - size % 512) % 512) < 0)
				return cg_error_set(err, -EINVAL, "%s: truncated tar archive", l->source);
			data[size] = '\0';
			if (type == 'L') {
				free(longname);
				longname = strndup(data, size);
			} else if (type == 'K') {
				free(longlink);
				longlink = strndup(data, size);
			}
			for (size_t p = 0; type == 'x' && p < size;) {
				char *end;
				unsigned long rl = strtoul(data + p, &end, 10);
				if (end == data + p || *end != ' ' || rl == 0 || rl > size - p || end + 1 > data + p + rl - 1)
					return cg_error_set(err, -EINVAL, "%s: malformed PAX header", l->source);
				if (strncmp(end + 1, "path=", 5) == 0) {
					free(longname);
					longname = strndup(end + 6, (size_t)(data + p + rl - 1 - (end + 6)));
				} else if (strncmp(end + 1, "linkpath=", 9) == 0) {
					free(longlink);
					longlink = strndup(end + 10, (size_t)(data + p + rl - 1 - (end + 10)));
				}
				p += rl;
			}
			continue;
		}
		if (type == 'g') {
			if (gz_skip(l, (size + 511) / 512 * 512) < 0)
				return cg_error_set(err, -EINVAL, "%s: truncated tar archive", l->source);
			continue;
		}
		if (longname) {
			name = longname;
		} else {
			size_t pl = strnlen((char *)h + 345, 155), bl = strnlen((char *)h, 100), nl = 0;
			if (memcmp(h + 257, "ustar", 5) == 0 && pl) {
				memcpy(nb, h + 345, pl);
				nb[pl] = '/';
				nl = pl + 1;
			}
			memcpy(nb + nl, h, bl);
			nb[nl + bl] = '\0';
			name = nb;
		}
		memcpy(lb, h + 157, 100);
		lb[100] = '\0';
		{
			_cleanup_free_ char *clean = cg_tar_clean(name, strlen(name));
			if (!clean)
				return cg_error_set(err, -EPERM, "%s: member '%s' leaves the root (absolute or '..'): refused",
						    l->source, name);
			r = member(l, type, clean, longlink ? longlink : lb, h, size, err);
			if (r < 0)
				return r;
		}
		if (gz_skip(l, (512 - size % 512) % 512) < 0)
			return cg_error_set(err, -EINVAL, "%s: truncated tar archive", l->source);
		free(longname);
		free(longlink);
		longname = longlink = NULL;
	}
}

int cg_image_unpack(const char *dir, const struct cg_image *img, const char *rootfs, struct cg_error *err)
{
	struct cg_oci_manifest idx = { 0 }, man = { 0 };
	const struct cg_oci_desc *d = NULL;
	int root = -1, r;

	if (!dir || !img || !rootfs)
		return cg_error_set(err, -EINVAL, "unpack needs a layout, an image and a root");
	if (!img->manifest_digest[0])
		return cg_error_set(err, -EINVAL, "%s: the image has no manifest to unpack", dir);
	if ((r = cg_oci_index_load(dir, &idx, err)) < 0)
		return r;
	for (size_t i = 0; i < idx.n_items && !d; i++)
		if (strcmp(idx.items[i].digest, img->manifest_digest) == 0)
			d = &idx.items[i];
	if (!d) {
		r = cg_error_set(err, -EOPNOTSUPP,
				 "%s: image %s is inside a multi-platform index: unpacking it is not supported, name "
				 "its platform manifest in index.json",
				 dir, img->manifest_digest);
		goto out;
	}
	if ((r = cg_oci_manifest_load(dir, d, &man, err)) < 0)
		goto out;
	if (man.is_index) {
		r = cg_error_set(err, -EOPNOTSUPP, "%s: %s is a multi-platform index: unpacking it is not supported",
				 dir, img->manifest_digest);
		goto out;
	}
	if ((root = open(rootfs, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		r = cg_error_set(err, -errno, "%s: %m", rootfs);
		goto out;
	}
	for (size_t i = 0; i < man.n_items && r == 0; i++) {
		const struct cg_oci_desc *ld = &man.items[i];
		_cleanup_free_ char *path = NULL, *source = NULL;
		struct layer l = { .root = root };
		int fd;

		if (ld->media_type && strstr(ld->media_type, "zstd")) {
			r = cg_error_set(err, -EOPNOTSUPP, "%s: layer %s is zstd-compressed: not supported", dir, ld->digest);
			break;
		}
		if ((r = cg_oci_blob_verify(dir, ld, err)) < 0)
			break;
		if (asprintf(&path, "%s/blobs/sha256/%s", dir, ld->digest + 7) < 0 ||
		    asprintf(&source, "layer %zu (%s)", i, ld->digest) < 0) {
			r = cg_error_set(err, -ENOMEM, "out of memory");
			break;
		}
		l.source = source;
		if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0 || !(l.gz = gzdopen(fd, "rb"))) {
			r = cg_error_set(err, -errno, "%s: %m", path);
			if (fd >= 0)
				close(fd);
			break;
		}
		r = layer_unpack(&l, err);
		gzclose(l.gz);
	}
out:
	if (root >= 0)
		close(root);
	cg_oci_manifest_release(&man);
	cg_oci_manifest_release(&idx);
	return r;
}

int cg_image_rootfs_remove(const char *rootfs)
{
	return rootfs && rootfs[0] ? remove_at(AT_FDCWD, rootfs) : 0;
}
