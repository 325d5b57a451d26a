// SPDX-License-Identifier: Apache-2.0
/*
 * An image's layers unpacked into a root file system, for 'capgate run
 * --image': capgate runs the image it checked, not a tree another tool
 * unpacked from who knows what.
 *
 * Layers are untrusted archives, read once: each blob is opened once and
 * hashed as its bytes go through the decompressor (gzip, zstd or none, told
 * by its first bytes) into the tar reader, and at its end its size and
 * digest must be the descriptor's -- so what was checked is what was
 * unpacked, even if the file changes underneath. A mismatch, like any other
 * failure, removes everything unpacked so far: a half-made root is never run.
 *
 * Every path is resolved inside the root with openat2(RESOLVE_IN_ROOT |
 * RESOLVE_NO_MAGICLINKS): the root is "/" for the resolution, so the
 * symbolic links of earlier layers are followed as the container will see
 * them (a merged-/usr image's bin -> usr/bin), and an absolute target or a
 * ".." chain stops at the root instead of reaching the host. Only the
 * parent of a member is resolved; its last component is replaced, never
 * followed. Names that are absolute or have ".." components, hard links to
 * such names and whiteouts of "." or ".." are refused. OCI whiteouts
 * (".wh.NAME" removes NAME of a lower layer, ".wh..wh..opq" empties its
 * directory) are honoured. Devices and FIFOs are skipped: the runtime makes
 * /dev. The uncompressed bytes and the members of all layers are bounded
 * (a decompression bomb is refused, not unpacked until the disk is full).
 */
#include <capgate/image.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include "core/crypto.h"
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "static/image_internal.h"
#include "static/oci.h"
#include "static/tar.h"

#define WH ".wh."
#define WH_OPQ ".wh..wh..opq"

enum layer_kind { KIND_TAR,
		  KIND_GZIP,
		  KIND_ZSTD };

/* What all layers of one unpack count against. */
struct limits {
	uint64_t bytes, entries, max_bytes, max_entries;
};

struct layer {
	const char *source; /* the layer, for messages */
	const struct cg_oci_desc *desc;
	int root;
	struct limits *lim;
	/* the blob: read once, hashed as it is read */
	int fd;
	const struct cg_crypto *cr; /* libcrypto (core/crypto.h) */
	EVP_MD_CTX *md;
	EVP_MD_CTX *diff_md; /* the uncompressed stream: the config's diff_id */
	uint64_t blob_read;
	unsigned char in[65536];
	size_t in_pos, in_len;
	bool in_eof;
	/* its decompressor */
	enum layer_kind kind;
	z_stream z;
	bool z_init;
	ZSTD_DStream *zs;
	bool end;        /* the compressed stream is over */
	bool frame_done; /* zstd: the last frame is complete */
	struct cg_error *err;
};

/* More bytes of the blob into l->in (when it is used up), hashed. */
static int raw_fill(struct layer *l)
{
	ssize_t n;

	if (l->in_pos < l->in_len || l->in_eof)
		return 0;
	do
		n = read(l->fd, l->in, sizeof(l->in));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return cg_error_set(l->err, -errno, "%s: %m", l->source);
	l->in_pos = 0;
	l->in_len = (size_t)n;
	l->in_eof = n == 0;
	l->blob_read += (uint64_t)n;
	if (l->blob_read > l->desc->size) /* longer than its descriptor: stop reading */
		return cg_error_set(l->err, -EBADMSG, "%s: the blob has more than the %llu bytes its descriptor says",
				    l->source, (unsigned long long)l->desc->size);
	if (n > 0 && l->cr->EVP_DigestUpdate(l->md, l->in, (size_t)n) != 1)
		return cg_error_set(l->err, -EIO, "sha-256 failed");
	return 0;
}

static ssize_t stream_read_raw(struct layer *l, unsigned char *buf, size_t n);

/* Up to @n bytes of the uncompressed stream into @buf: how many, 0 at its
 * end, < 0 on error (l->err set); hashed for the diff_id as they come. */
static ssize_t stream_read(struct layer *l, unsigned char *buf, size_t n)
{
	ssize_t k = stream_read_raw(l, buf, n);
	if (k > 0 && l->cr->EVP_DigestUpdate(l->diff_md, buf, (size_t)k) != 1)
		return cg_error_set(l->err, -EIO, "sha-256 failed");
	return k;
}

static ssize_t stream_read_raw(struct layer *l, unsigned char *buf, size_t n)
{
	int r;

	if (l->kind == KIND_TAR) {
		size_t k;
		if ((r = raw_fill(l)) < 0)
			return r;
		k = l->in_len - l->in_pos < n ? l->in_len - l->in_pos : n;
		memcpy(buf, l->in + l->in_pos, k);
		l->in_pos += k;
		return (ssize_t)k;
	}
	if (l->kind == KIND_GZIP) {
		l->z.next_out = buf;
		l->z.avail_out = (uInt)n;
		while (l->z.avail_out == n && !l->end) {
			int zr;
			if ((r = raw_fill(l)) < 0)
				return r;
			if (l->in_pos == l->in_len)
				return cg_error_set(l->err, -EINVAL, "%s: truncated gzip stream", l->source);
			l->z.next_in = l->in + l->in_pos;
			l->z.avail_in = (uInt)(l->in_len - l->in_pos);
			zr = inflate(&l->z, Z_NO_FLUSH);
			l->in_pos = l->in_len - l->z.avail_in;
			if (zr == Z_STREAM_END) {
				/* another gzip member may follow; anything else ends the stream */
				if ((r = raw_fill(l)) < 0)
					return r;
				if (l->in_pos < l->in_len && l->in[l->in_pos] == 0x1f)
					inflateReset(&l->z);
				else
					l->end = true;
			} else if (zr != Z_OK) {
				return cg_error_set(l->err, -EINVAL, "%s: gzip: %s", l->source,
						    l->z.msg ? l->z.msg : "corrupt stream");
			}
		}
		return (ssize_t)(n - l->z.avail_out);
	}
	{
		ZSTD_outBuffer out = { buf, n, 0 };
		while (out.pos == 0 && !l->end) {
			ZSTD_inBuffer in;
			size_t zr;
			if ((r = raw_fill(l)) < 0)
				return r;
			if (l->in_pos == l->in_len) {
				/* the end of the blob: after a complete frame, the end of the stream */
				if (!l->frame_done)
					return cg_error_set(l->err, -EINVAL, "%s: truncated zstd stream", l->source);
				l->end = true;
				break;
			}
			in = (ZSTD_inBuffer){ l->in, l->in_len, l->in_pos };
			zr = ZSTD_decompressStream(l->zs, &out, &in);
			l->in_pos = in.pos;
			if (ZSTD_isError(zr))
				return cg_error_set(l->err, -EINVAL, "%s: zstd: %s", l->source, ZSTD_getErrorName(zr));
			l->frame_done = zr == 0; /* complete and flushed: another frame may follow */
		}
		return (ssize_t)out.pos;
	}
}

/* @n more uncompressed bytes against the size limit. */
static int charge(struct layer *l, uint64_t n)
{
	if (n > l->lim->max_bytes - l->lim->bytes)
		return cg_error_set(l->err, -EFBIG, "%s: the image unpacks to more than %llu bytes (the limit): refused",
				    l->source, (unsigned long long)l->lim->max_bytes);
	l->lim->bytes += n;
	return 0;
}

/* Exactly @n uncompressed bytes, counted against the size limit. */
static int read_all(struct layer *l, void *buf, size_t n)
{
	size_t got = 0;
	int r;

	if ((r = charge(l, n)) < 0)
		return r;
	while (got < n) {
		ssize_t k = stream_read(l, (unsigned char *)buf + got, n - got);
		if (k < 0)
			return (int)k;
		if (k == 0)
			return cg_error_set(l->err, -EINVAL, "%s: truncated tar archive", l->source);
		got += (size_t)k;
	}
	return 0;
}

static int write_data(struct layer *l, int fd, uint64_t size);

/* Read and drop @n bytes of the stream (they are still hashed). */
static int skip(struct layer *l, uint64_t n) { return write_data(l, -1, n); }

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

/* openat2(@root, @path, O_PATH | O_DIRECTORY) resolved inside @root. */
static int open_in_root(int root, const char *path)
{
	struct open_how how = {
		.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	long fd;

	for (int i = 0; i < 16; i++) { /* EAGAIN: a rename raced the lookup */
		fd = syscall(SYS_openat2, root, path[0] ? path : ".", &how, sizeof(how));
		if (fd >= 0 || errno != EAGAIN)
			break;
	}
	return fd < 0 ? -errno : (int)fd;
}

/* The directory of @path's parent ("a/b" of "a/b/c") resolved inside the
 * root, made (0755) where missing when @create; the last component into
 * *@base. */
static int parent_open(struct layer *l, char *path, bool create, const char **base, struct cg_error *err)
{
	char *slash = strrchr(path, '/');
	int fd, cur;

	*base = slash ? slash + 1 : path;
	if (slash)
		*slash = '\0';
	fd = open_in_root(l->root, slash ? path : "");
	if (fd == -ENOENT && create) {
		/* make what is missing, each prefix resolved from the root again */
		char *p = path;
		cur = open_in_root(l->root, "");
		for (fd = cur; fd >= 0 && p;) {
			char *next = strchr(p, '/');
			if (next)
				*next = '\0';
			fd = open_in_root(l->root, path);
			if (fd == -ENOENT) {
				if (mkdirat(cur, p, 0755) == 0)
					fd = open_in_root(l->root, path);
				else
					fd = errno == EEXIST ? -ENOLINK : -errno; /* EEXIST: a link to what is not there */
			}
			if (next)
				*next = '/';
			close(cur);
			cur = fd;
			p = next ? next + 1 : NULL;
		}
	}
	if (fd < 0) {
		int e = -fd;
		if (e == ENOSYS)
			cg_error_set(err, -ENOSYS, "%s: openat2 is needed to unpack an image safely (linux 5.6)", l->source);
		else if (e == ENOENT || e == ENOLINK)
			cg_error_set(err, -ENOENT, "%s: %s: the directory does not exist inside the root%s", l->source,
				     slash ? path : ".", e == ENOLINK ? " (a symbolic link to nothing)" : "");
		else if (e == ENOTDIR)
			cg_error_set(err, -ENOTDIR, "%s: %s: not a directory inside the root", l->source, path);
		else
			cg_error_set(err, -e, "%s: %s: %s", l->source, slash ? path : ".", strerror(e));
		fd = -(e == ENOLINK ? ENOENT : e);
	}
	if (slash)
		*slash = '/';
	return fd;
}

/* Copy @size bytes of the stream to @fd (-1: drop them). */
static int write_data(struct layer *l, int fd, uint64_t size)
{
	unsigned char buf[65536];
	int r;

	while (size) {
		size_t k = size > sizeof(buf) ? sizeof(buf) : (size_t)size;
		if ((r = read_all(l, buf, k)) < 0)
			return r;
		for (size_t o = 0; fd >= 0 && o < k;) {
			ssize_t w = write(fd, buf + o, k - o);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return cg_error_set(l->err, w < 0 ? -errno : -EIO, "%s: write: %s", l->source,
						    strerror(w < 0 ? errno : EIO));
			o += (size_t)w;
		}
		size -= k;
	}
	return 0;
}

/* One member: @type, its cleaned @name, @link (link target), the header.
 * Errors of the stream are set by the reader; others are set here. */
static int member(struct layer *l, char type, char *name, const char *link, const unsigned char *h, uint64_t size,
		  struct cg_error *err)
{
	uint64_t mode = 0644, uid = 0, gid = 0;
	const char *base;
	int dfd, r = 0;
	bool whiteout;

	cg_tar_num(h + 100, 8, &mode);
	cg_tar_num(h + 108, 8, &uid);
	cg_tar_num(h + 116, 8, &gid);
	mode &= 07777;
	if (!name[0]) /* the root itself */
		return skip(l, size);
	if ((dfd = parent_open(l, name, true, &base, err)) < 0)
		return dfd;
	whiteout = strncmp(base, WH, strlen(WH)) == 0;
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
	} else if (whiteout) {
		const char *victim = base + strlen(WH);
		if (!victim[0] || strcmp(victim, ".") == 0 || strcmp(victim, "..") == 0)
			r = cg_error_set(err, -EPERM, "%s: whiteout %s names no entry of its directory: refused", l->source,
					 name);
		else if ((r = remove_at(dfd, victim)) < 0)
			r = cg_error_set(err, r, "%s: whiteout %s: %s", l->source, name, strerror(-r));
	} else if (type == '5') {
		struct stat st;
		if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode))
			r = remove_at(dfd, base);
		if (r == 0 && mkdirat(dfd, base, (mode_t)mode) < 0 && errno != EEXIST)
			r = -errno;
		if (r == 0 && fchmodat(dfd, base, (mode_t)mode, 0) < 0) /* a directory: just made or kept */
			r = -errno;
		if (r < 0)
			r = cg_error_set(err, r, "%s: %s: %s", l->source, name, strerror(-r));
	} else if (type == '2') {
		/* any target: resolved later inside the root, as the container does */
		if ((r = remove_at(dfd, base)) < 0 || symlinkat(link, dfd, base) < 0)
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
			struct stat st;
			/* linking a name to itself would remove it first */
			if (fstatat(tfd, tbase, &st, AT_SYMLINK_NOFOLLOW) < 0)
				r = -errno;
			else if ((r = remove_at(dfd, base)) == 0 && linkat(tfd, tbase, dfd, base, 0) < 0)
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
		if (r < 0)
			r = cg_error_set(err, r, "%s: %s: %s", l->source, name, strerror(-r));
		if (r == 0)
			r = write_data(l, fd, size);
		if (r == 0 && fchmod(fd, (mode_t)mode) < 0)
			r = cg_error_set(err, -errno, "%s: %s: chmod: %m", l->source, name);
		if (fd >= 0)
			close(fd);
		size = 0; /* consumed */
	}
	/* devices, FIFOs: skipped (the runtime makes /dev) */
	if (r == 0 && (type == '0' || type == '\0' || type == '7' || type == '5' || type == '2' || type == '1') &&
	    !whiteout && fchownat(dfd, base, (uid_t)uid, (gid_t)gid, AT_SYMLINK_NOFOLLOW) < 0)
		r = cg_error_set(err, -errno, "%s: %s: chown: %m", l->source, name);
	close(dfd);
	if (r == 0 && size)
		r = skip(l, size);
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
		ssize_t k = 0;
		size_t got = 0;

		/* a header, or the end of the stream (a tar without its two zero blocks is accepted there) */
		if ((r = charge(l, 512)) < 0)
			return r;
		while (got < 512 && (k = stream_read(l, h + got, 512 - got)) > 0)
			got += (size_t)k;
		if (got < 512) {
			if (k < 0)
				return (int)k;
			return got == 0 ? 0 : cg_error_set(err, -EINVAL, "%s: truncated or not a tar archive", l->source);
		}
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
			if ((r = read_all(l, data, size)) < 0 || (r = skip(l, (512 - size % 512) % 512)) < 0)
				return r;
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
			if ((r = skip(l, (size + 511) / 512 * 512)) < 0)
				return r;
			continue;
		}
		if (++l->lim->entries > l->lim->max_entries)
			return cg_error_set(err, -EFBIG, "%s: the image has more than %llu entries (the limit): refused",
					    l->source, (unsigned long long)l->lim->max_entries);
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
		if ((r = skip(l, (512 - size % 512) % 512)) < 0)
			return r;
		free(longname);
		free(longlink);
		longname = longlink = NULL;
	}
}

/* Can capgate unpack a layer of media type @mt? NULL: no media type given. */
static bool layer_type_ok(const char *mt)
{
	static const char *const ok[] = {
		"application/vnd.oci.image.layer.v1.tar",
		"application/vnd.oci.image.layer.nondistributable.v1.tar",
		"application/vnd.docker.image.rootfs.diff.tar",
		"application/vnd.docker.image.rootfs.foreign.diff.tar",
	};
	for (size_t i = 0; mt && i < sizeof(ok) / sizeof(ok[0]); i++) {
		size_t n = strlen(ok[i]);
		if (strncmp(mt, ok[i], n) == 0 && (!mt[n] || strcmp(mt + n, "+gzip") == 0 || strcmp(mt + n, "+zstd") == 0 ||
						   strcmp(mt + n, ".gzip") == 0))
			return true;
	}
	return false;
}

/* Unpack one layer blob: opened once, hashed while it is unpacked, its
 * size and digest checked at its end. */
static int layer_run(const char *dir, const struct cg_oci_desc *d, size_t i, const char *diff_id, int root,
		     struct limits *lim, struct cg_error *err)
{
	_cleanup_free_ char *path = NULL, *source = NULL;
	struct layer *l;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char got[72];
	int r;

	if (!cg_oci_digest_valid(d->digest))
		return cg_error_set(err, -EINVAL, "%s: digest '%s' is not sha256:<64 hex>", d->path, d->digest);
	if (asprintf(&path, "%s/blobs/sha256/%s", dir, d->digest + 7) < 0 ||
	    asprintf(&source, "layer %zu (%s)", i, d->digest) < 0 || !(l = calloc(1, sizeof(*l))))
		return cg_error_set(err, -ENOMEM, "out of memory");
	*l = (struct layer){ .source = source, .desc = d, .root = root, .lim = lim, .err = err, .fd = -1 };
	if ((l->fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		r = cg_error_set(err, -errno, "%s: %s: %m", source, path);
		goto out;
	}
	if (!(l->cr = cg_crypto(err))) {
		r = -ELIBACC;
		goto out;
	}
	if (!(l->md = l->cr->EVP_MD_CTX_new()) || l->cr->EVP_DigestInit_ex(l->md, l->cr->EVP_sha256(), NULL) != 1 ||
	    !(l->diff_md = l->cr->EVP_MD_CTX_new()) ||
	    l->cr->EVP_DigestInit_ex(l->diff_md, l->cr->EVP_sha256(), NULL) != 1) {
		r = cg_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	/* the first bytes say the compression (a pipe may give them in pieces) */
	while (l->in_len < 4 && !l->in_eof) {
		ssize_t n = read(l->fd, l->in + l->in_len, sizeof(l->in) - l->in_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = cg_error_set(err, -errno, "%s: %m", source);
			goto out;
		}
		l->in_eof = n == 0;
		l->blob_read += (uint64_t)n;
		if (n > 0 && l->cr->EVP_DigestUpdate(l->md, l->in + l->in_len, (size_t)n) != 1) {
			r = cg_error_set(err, -EIO, "sha-256 failed");
			goto out;
		}
		l->in_len += (size_t)n;
	}
	if (l->blob_read > d->size) {
		r = cg_error_set(err, -EBADMSG, "%s: the blob has more than the %llu bytes its descriptor says", source,
				 (unsigned long long)d->size);
		goto out;
	}
	if (l->in_len >= 2 && l->in[0] == 0x1f && l->in[1] == 0x8b) {
		l->kind = KIND_GZIP;
		if (inflateInit2(&l->z, 15 + 16) != Z_OK) {
			r = cg_error_set(err, -ENOMEM, "out of memory");
			goto out;
		}
		l->z_init = true;
	} else if (l->in_len >= 4 && memcmp(l->in, "\x28\xb5\x2f\xfd", 4) == 0) {
		l->kind = KIND_ZSTD;
		if (!(l->zs = ZSTD_createDStream()) || ZSTD_isError(ZSTD_initDStream(l->zs))) {
			r = cg_error_set(err, -ENOMEM, "out of memory");
			goto out;
		}
	}
	if ((r = layer_unpack(l, err)) < 0)
		goto out;
	/* the compressed stream to its end, so that its own checks (gzip's CRC,
	 * zstd's checksum) are made, counted against the limit */
	for (;;) {
		unsigned char buf[4096];
		ssize_t k = stream_read(l, buf, sizeof(buf));
		if (k <= 0 && (r = (int)k) < 0)
			goto out;
		if (k == 0)
			break;
		if ((r = charge(l, (uint64_t)k)) < 0)
			goto out;
	}
	/* the rest of the blob (trailing bytes) is hashed too */
	do {
		l->in_pos = l->in_len;
		r = raw_fill(l);
	} while (r == 0 && !l->in_eof);
	if (r < 0)
		goto out;
	if (l->cr->EVP_DigestFinal_ex(l->md, md, &mdlen) != 1 || mdlen != 32) {
		r = cg_error_set(err, -EIO, "sha-256 failed");
		goto out;
	}
	memcpy(got, "sha256:", 7);
	for (unsigned int k = 0; k < 32; k++)
		snprintf(got + 7 + 2 * k, 3, "%02x", md[k]);
	if (l->blob_read != d->size)
		r = cg_error_set(err, -EBADMSG, "%s: the blob has %llu bytes, its descriptor says %llu: refused", source,
				 (unsigned long long)l->blob_read, (unsigned long long)d->size);
	else if (strcmp(got, d->digest) != 0)
		r = cg_error_set(err, -EBADMSG,
				 "%s: the blob unpacked does not match its digest (it hashes to %s): refused", source, got);
	if (r < 0)
		goto out;
	/* the uncompressed tar is what the config names (rootfs.diff_ids):
	 * the same bytes the files came from */
	if (l->cr->EVP_DigestFinal_ex(l->diff_md, md, &mdlen) != 1 || mdlen != 32) {
		r = cg_error_set(err, -EIO, "sha-256 failed");
		goto out;
	}
	for (unsigned int k = 0; k < 32; k++)
		snprintf(got + 7 + 2 * k, 3, "%02x", md[k]);
	if (strcmp(got, diff_id) != 0)
		r = cg_error_set(err, -EBADMSG,
				 "%s: its uncompressed content hashes to %s, but the image config's rootfs.diff_ids "
				 "says %s for it: refused",
				 source, got, diff_id);
out:
	if (l->z_init)
		inflateEnd(&l->z);
	ZSTD_freeDStream(l->zs);
	if (l->cr) {
		l->cr->EVP_MD_CTX_free(l->md);
		l->cr->EVP_MD_CTX_free(l->diff_md);
	}
	if (l->fd >= 0)
		close(l->fd);
	free(l);
	return r;
}

/* The image manifest @img was opened from, found again: index.json's entry
 * of img->manifest_digest, through indexes by img->platform. */
static int image_manifest(const char *dir, const struct cg_image *img, struct cg_oci_manifest *man,
			  struct cg_error *err)
{
	struct cg_oci_manifest idx = { 0 };
	const struct cg_oci_desc *d = NULL;
	int r, depth = 0;

	if ((r = cg_oci_index_load(dir, &idx, err)) < 0)
		return r;
	for (size_t i = 0; i < idx.n_items && !d; i++)
		if (strcmp(idx.items[i].digest, img->manifest_digest) == 0)
			d = &idx.items[i];
	if (!d) {
		/* a platform manifest the image was pinned to by digest: its own entry is not in index.json */
		r = cg_error_set(err, -EOPNOTSUPP,
				 "%s: image %s is not an entry of index.json (a platform of an index pinned by digest): "
				 "name the index and give its platform instead",
				 dir, img->manifest_digest);
		goto out;
	}
	if ((r = cg_oci_manifest_load(dir, d, man, err)) < 0)
		goto out;
	while (man->is_index) {
		struct cg_oci_manifest nested = { 0 };
		const struct cg_oci_desc *p;
		if (++depth > 4) {
			r = cg_error_set(err, -ELOOP, "%s: indexes nested more than 4 deep", man->source);
			goto out;
		}
		if ((r = cg_image_index_pick(man, img->platform[0] ? img->platform : NULL, &p, err)) < 0 ||
		    (r = cg_oci_manifest_load(dir, p, &nested, err)) < 0)
			goto out;
		cg_oci_manifest_release(man);
		*man = nested;
	}
	if (img->image_digest[0] && strcmp(man->digest, img->image_digest) != 0)
		r = cg_error_set(err, -EBADMSG, "%s: the image manifest is now %s, not the %s that was opened: refused", dir,
				 man->digest, img->image_digest);
	else if (strcmp(man->config.digest, img->config_digest) != 0)
		r = cg_error_set(err, -EBADMSG, "%s: the image config is now %s, not the %s that was opened: refused", dir,
				 man->config.digest, img->config_digest);
out:
	cg_oci_manifest_release(&idx);
	return r;
}

static void root_empty(const char *rootfs)
{
	int fd = open(rootfs, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d;
	struct dirent *e;

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			remove_at(dirfd(d), e->d_name);
	closedir(d);
}

/* The image config's rootfs.diff_ids, read from its blob checked against
 * its digest (the bytes parsed are the bytes hashed). */
static int config_diff_ids(const char *dir, const struct cg_oci_manifest *man, char ***ret, size_t *ret_n,
			   struct cg_error *err)
{
	_cleanup_free_ char *buf = NULL;
	struct fy_document *doc = NULL;
	size_t len = 0;
	int r;

	if ((r = cg_oci_blob_read(dir, man->config.digest, man->config.size, "image config", &buf, &len, err)) < 0 ||
	    (r = cg_oci_json_parse(buf, len, man->config.digest, &doc, err)) < 0)
		return r;
	struct fy_node *rootfs = cg_oci_get(fy_document_root(doc), "rootfs");
	struct fy_node *ids = cg_oci_get(rootfs, "diff_ids");
	if (!ids || !cg_doc_is_sequence(ids))
		r = cg_error_set(err, -EBADMSG,
				 "%s: image config %s has no rootfs.diff_ids list: the layers cannot be checked "
				 "against it (refused)",
				 dir, man->config.digest);
	else
		r = cg_doc_strv(ids, true, man->config.digest, "rootfs.diff_ids", ret, ret_n, err);
	fy_document_destroy(doc);
	return r;
}

int cg_image_unpack_opts(const char *dir, const struct cg_image *img, const char *rootfs,
			 const struct cg_unpack_opts *o, struct cg_error *err)
{
	struct cg_oci_manifest man = { 0 };
	char **diff_ids = NULL;
	size_t n_diff = 0, n_fs = 0;
	struct limits lim = { .max_bytes = CG_UNPACK_MAX_BYTES, .max_entries = CG_UNPACK_MAX_ENTRIES };
	int root = -1, r;

	if (!dir || !img || !rootfs)
		return cg_error_set(err, -EINVAL, "unpack needs a layout, an image and a root");
	if (!img->manifest_digest[0])
		return cg_error_set(err, -EINVAL, "%s: the image has no manifest to unpack", dir);
	if (o && o->sz >= offsetof(struct cg_unpack_opts, max_entries) + sizeof(o->max_entries)) {
		if (o->max_bytes)
			lim.max_bytes = o->max_bytes;
		if (o->max_entries)
			lim.max_entries = o->max_entries;
	}
	if ((r = image_manifest(dir, img, &man, err)) < 0 || (r = config_diff_ids(dir, &man, &diff_ids, &n_diff, err)) < 0)
		goto out;
	for (size_t i = 0; i < man.n_items; i++)
		n_fs += !(man.items[i].media_type && strcmp(man.items[i].media_type, CG_CLOSURE_MEDIA_TYPE) == 0);
	if (n_fs != n_diff) {
		r = cg_error_set(err, -EBADMSG,
				 "%s: the image has %zu layers but its config's rootfs.diff_ids names %zu: refused", dir,
				 n_fs, n_diff);
		goto out;
	}
	n_fs = 0;
	if ((root = open(rootfs, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		r = cg_error_set(err, -errno, "%s: %m", rootfs);
		goto out;
	}
	for (size_t i = 0; i < man.n_items && r == 0; i++) {
		const struct cg_oci_desc *ld = &man.items[i];
		if (ld->media_type && strcmp(ld->media_type, CG_CLOSURE_MEDIA_TYPE) == 0)
			continue; /* an attached closure, not a file system layer */
		if (!layer_type_ok(ld->media_type)) {
			r = cg_error_set(err, -EOPNOTSUPP, "%s: layer %zu (%s) has media type '%s': not a layer capgate unpacks",
					 dir, i, ld->digest, ld->media_type ? ld->media_type : "");
			break;
		}
		r = layer_run(dir, ld, i, diff_ids[n_fs++], root, &lim, err);
	}
	if (r < 0)
		root_empty(rootfs);
out:
	if (root >= 0)
		close(root);
	cg_strv_free(diff_ids, n_diff);
	cg_oci_manifest_release(&man);
	return r;
}

int cg_image_unpack(const char *dir, const struct cg_image *img, const char *rootfs, struct cg_error *err)
{
	return cg_image_unpack_opts(dir, img, rootfs, NULL, err);
}

int cg_image_rootfs_remove(const char *rootfs)
{
	return rootfs && rootfs[0] ? remove_at(AT_FDCWD, rootfs) : 0;
}
