// SPDX-License-Identifier: Apache-2.0
/*
 * The node agent: closures in, Localhost seccomp profiles out.
 *
 * The admission webhook names a Pod's profile by its closure digest
 * (localhostProfile: capgate/sha256-<hex>.json); this puts the file there.
 * Why it is careful about each step:
 *
 * - The file name comes from the digest of what is written, never from the
 *   source's file names, so a source entry cannot choose (or overwrite)
 *   another profile, and a Pod gets exactly the closure its digest names.
 * - What is written is the canonical closure, checked first: a closure the
 *   runtime would read as allowing more (a rule for some architectures
 *   only; runtimes ignore capgate's "arches") is refused, not installed.
 * - Writes are a temporary file, fsync, rename, relative to directory
 *   descriptors opened without following symbolic links: a runtime never
 *   reads half a profile, and a link planted in the profile tree does not
 *   send a write elsewhere.
 * - Only profiles this agent wrote (its owned list) are removed, only when
 *   they left the source, and not at all in a pass where an entry was bad:
 *   the bad entry may be the new version of a profile running Pods need
 *   when they restart. Names in the owned list that are not profile names
 *   are ignored, so a tampered list cannot delete anything else.
 * - A ConfigMap mount is read through its ..data link, resolved once, so a
 *   pass reads one version of the ConfigMap even while the kubelet swaps it.
 */
#include "static/nodesync.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <capgate/export.h>
#include <capgate/file.h>
#include <capgate/profile.h>
#include <capgate/strbuf.h>

#include "core/error_internal.h"

#define PROFILE_PREFIX "sha256-"
#define PROFILE_SUFFIX ".json"
#define TMP_PREFIX ".capgate-tmp."

/* A growable list of owned strings. */
struct names {
	char **v;
	size_t n;
};

static int names_add(struct names *l, const char *s)
{
	char **nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	l->v = nv;
	if (!(nv[l->n] = strdup(s)))
		return -ENOMEM;
	l->n++;
	return 0;
}

static bool names_has(const struct names *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return true;
	return false;
}

static void names_release(struct names *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int str_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static bool has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	return n >= m && strcmp(s + n - m, suf) == 0;
}

/* "sha256-" + 64 lowercase hex + ".json": the only names ever removed. */
static bool is_profile_name(const char *s)
{
	size_t pre = strlen(PROFILE_PREFIX);
	if (strlen(s) != pre + 64 + strlen(PROFILE_SUFFIX) || strncmp(s, PROFILE_PREFIX, pre) != 0 ||
	    strcmp(s + pre + 64, PROFILE_SUFFIX) != 0)
		return false;
	for (size_t i = pre; i < pre + 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* Is @name one of the source entries installed under their own name? */
static bool is_named(const struct cg_nodesync_opts *o, const char *name)
{
	for (size_t i = 0; i < o->n_named; i++)
		if (strcmp(o->named[i], name) == 0)
			return true;
	return false;
}

/* A name --named accepts: a plain file name ending in .json that cannot be
 * taken for a digest name or a hidden file. */
static bool named_ok(const char *s)
{
	size_t n = strlen(s);
	if (n < 6 || n > 200 || s[0] == '.' || strncmp(s, PROFILE_PREFIX, strlen(PROFILE_PREFIX)) == 0 ||
	    !has_suffix(s, PROFILE_SUFFIX))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_' ||
		      s[i] == '.'))
			return false;
	return true;
}

/* Read the regular file @name under @dirfd (no symbolic link followed), at
 * most @max bytes, NUL-terminated. */
static int read_at(int dirfd, const char *name, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t len = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if ((uint64_t)st.st_size > max)
		return -EFBIG;
	if (!(buf = malloc((size_t)st.st_size + 2)))
		return -ENOMEM;
	for (;;) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > (size_t)st.st_size) /* grew while read */
			return -EFBIG;
	}
	buf[len] = '\0';
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

/* Write @name under @dirfd atomically: a new temporary file (never an
 * existing one, never through a link), fsync, rename over @name, fsync of
 * the directory. cg_write_file_atomic() takes a path; this one stays inside
 * the directory descriptor it was given. */
static int write_at(int dirfd, const char *name, const char *data, size_t len)
{
	static unsigned seq;
	char tmp[NAME_MAX + 1];
	int fd = -1, r = 0;

	for (int tries = 0; fd < 0; tries++) {
		snprintf(tmp, sizeof(tmp), TMP_PREFIX "%d.%u", (int)getpid(), seq++);
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && (errno != EEXIST || tries > 100))
			return -errno;
	}
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			r = -errno;
			goto fail;
		}
		off += (size_t)w;
	}
	if (fchmod(fd, 0644) < 0 || fsync(fd) < 0) {
		r = -errno;
		goto fail;
	}
	r = close(fd);
	fd = -1;
	if (r < 0 || renameat(dirfd, tmp, dirfd, name) < 0) {
		r = -errno;
		goto fail;
	}
	fsync(dirfd);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlinkat(dirfd, tmp, 0);
	return r;
}

/* Open (creating it 0755 if missing) the directory @name under @parent,
 * refusing a symbolic link or anything not a directory. */
static int open_subdir(int parent, const char *name, const char *shown, struct cg_error *err)
{
	int fd;

	if (mkdirat(parent, name, 0755) < 0 && errno != EEXIST)
		return cg_error_set(err, -errno, "%s: cannot create: %m", shown);
	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return cg_error_set(err, -errno, "%s: %s", shown,
				    errno == ELOOP || errno == ENOTDIR ? "not a directory (a symbolic link is refused)"
								       : strerror(errno));
	return fd;
}

/* The profile directory <root>/seccomp/capgate, as a descriptor. */
static int open_profile_dir(const char *root, struct cg_error *err)
{
	char shown[PATH_MAX];
	_cleanup_close_ int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int seccompfd = -1;

	if (rootfd < 0)
		return cg_error_set(err, -errno, "--kubelet-root %s: %m", root);
	snprintf(shown, sizeof(shown), "%s/seccomp", root);
	if ((seccompfd = open_subdir(rootfd, "seccomp", shown, err)) < 0)
		return seccompfd;
	snprintf(shown, sizeof(shown), "%s/" CG_NODESYNC_SUBDIR, root);
	return open_subdir(seccompfd, "capgate", shown, err);
}

/* The directory whose entries are the source's files: a ConfigMap mount's
 * current version (..data -> ..2026_12_01_...), else @source itself. */
static int open_source(const char *source, struct cg_error *err)
{
	_cleanup_close_ int fd = open(source, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char target[NAME_MAX + 1];
	ssize_t n;
	int data;

	if (fd < 0)
		return cg_error_set(err, -errno, "--source %s: %m", source);
	n = readlinkat(fd, "..data", target, sizeof(target) - 1);
	if (n < 0) {
		if (errno == ENOENT || errno == EINVAL) /* a plain directory (or ..data is not a link) */
			return TAKE_FD(fd);
		return cg_error_set(err, -errno, "%s/..data: %m", source);
	}
	target[n] = '\0';
	/* The kubelet's link is one hidden name in the same directory. */
	if (target[0] != '.' || strchr(target, '/') || strcmp(target, "..") == 0)
		return cg_error_set(err, -EINVAL, "%s/..data: points to '%s', not to a version directory beside it", source,
				    target);
	data = openat(fd, target, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (data < 0)
		return cg_error_set(err, -errno, "%s/%s: %m", source, target);
	return data;
}

/* The visible entries of @dirfd in name order. */
static int list_dir(int dirfd, struct names *ret)
{
	int fd = dup(dirfd);
	DIR *d;
	struct dirent *de;
	int r = 0;

	if (fd < 0)
		return -errno;
	if (!(d = fdopendir(fd))) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d)) && r == 0)
		if (de->d_name[0] != '.')
			r = names_add(ret, de->d_name);
	closedir(d);
	if (r == 0)
		qsort(ret->v, ret->n, sizeof(char *), str_cmp);
	return r;
}

/* Parse, resolve and check one source file into the bytes of its profile
 * and the profile's file name. */
static int closure_of(const char *shown, const char *buf, size_t len, struct cg_strbuf *out, char digest[72],
		      struct cg_error *err)
{
	_cleanup_(cg_profile_freep) struct cg_profile *p = NULL;
	_cleanup_(cg_closure_freep) struct cg_closure *c = NULL;
	struct cg_resolve_opts ro = { .sz = sizeof(ro), .default_caps = true };
	int r;

	if ((r = cg_profile_parse(buf, len, shown, &p, err)) < 0 || (r = cg_profile_resolve(p, &ro, &c, err)) < 0)
		return r;
	if ((r = cg_closure_check_plain(c, err)) < 0)
		return cg_error_prefix(err, "%s: ", shown);
	if ((r = cg_closure_digest(c, digest)) < 0 || (r = cg_closure_serialize(c, false, out)) < 0)
		return cg_error_set(err, r, "%s: %s", shown, strerror(-r));
	return 0;
}

static int entry_error(struct cg_nodesync_result *res, struct cg_nodesync_entry *e, const char *msg)
{
	e->state = CG_NODESYNC_ERROR;
	e->digest[0] = '\0';
	res->n_errors++;
	return (e->error = strdup(msg)) ? 0 : -ENOMEM;
}

/* The owned list: profile names one a line; anything else is ignored. */
static int owned_load(int dirfd, const struct cg_nodesync_opts *o, struct names *ret)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r = read_at(dirfd, CG_NODESYNC_OWNED, CG_READ_POLICY_MAX, &buf, &len);

	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if ((is_profile_name(line) || is_named(o, line)) && !names_has(ret, line) && (r = names_add(ret, line)) < 0)
			return r;
	return 0;
}

static int owned_store(int dirfd, struct names *owned)
{
	struct cg_strbuf sb;
	int r;

	qsort(owned->v, owned->n, sizeof(char *), str_cmp);
	cg_strbuf_init(&sb);
	for (size_t i = 0; i < owned->n; i++)
		cg_strbuf_addf(&sb, "%s\n", owned->v[i]);
	r = sb.oom ? -ENOMEM : write_at(dirfd, CG_NODESYNC_OWNED, sb.buf ? sb.buf : "", sb.len);
	cg_strbuf_release(&sb);
	return r;
}

/* Temporary files a killed pass left behind. */
static void remove_stale_tmp(int dirfd)
{
	int fd = dup(dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)))
		if (strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0)
			unlinkat(dirfd, de->d_name, 0);
	closedir(d);
}

/* The file name of a profile: "sha256-<hex>.json" from "sha256:<hex>". */
static void profile_name(const char *digest, char out[80])
{
	snprintf(out, 80, PROFILE_PREFIX "%s" PROFILE_SUFFIX, digest + strlen("sha256:"));
}

/* Read and check every source entry into res->entries; (*ret_bodies)[i]
 * holds entry i's profile when it is valid (one strbuf per entry). */
static int scan_source(const char *source, int srcfd, struct cg_nodesync_result *res, struct cg_strbuf **ret_bodies)
{
	struct names files = { 0 };
	struct cg_strbuf *bodies = NULL;
	int r = list_dir(srcfd, &files);

	if (r == 0 && !(bodies = calloc(files.n ? files.n : 1, sizeof(*bodies))))
		r = -ENOMEM;
	if (r == 0 && files.n && !(res->entries = calloc(files.n, sizeof(*res->entries))))
		r = -ENOMEM;
	*ret_bodies = bodies;
	for (size_t i = 0; r == 0 && i < files.n; i++) {
		struct cg_nodesync_entry *e = &res->entries[res->n_entries++];
		_cleanup_free_ char *buf = NULL, *shown = NULL;
		struct cg_error err = { 0 };
		size_t len;
		int q;

		cg_strbuf_init(&bodies[i]);
		e->name = TAKE_PTR(files.v[i]);
		if (!has_suffix(e->name, ".json") && !has_suffix(e->name, ".yaml") && !has_suffix(e->name, ".yml")) {
			e->state = CG_NODESYNC_IGNORED;
			continue;
		}
		if (asprintf(&shown, "%s/%s", source, e->name) < 0) {
			shown = NULL;
			r = -ENOMEM;
			break;
		}
		q = read_at(srcfd, e->name, CG_READ_PROFILE_MAX, &buf, &len);
		if (q < 0) {
			snprintf(err.msg, sizeof(err.msg), "%s: %s", shown,
				 q == -EINVAL || q == -ELOOP ? "not a regular file (a symbolic link is not followed)"
				 : q == -EFBIG               ? "larger than the 16 MiB capgate reads"
							     : strerror(-q));
			r = entry_error(res, e, err.msg);
			continue;
		}
		if (closure_of(shown, buf, len, &bodies[i], e->digest, &err) < 0) {
			cg_strbuf_release(&bodies[i]);
			cg_strbuf_init(&bodies[i]);
			r = entry_error(res, e, err.msg);
			continue;
		}
		e->state = CG_NODESYNC_WRITTEN; /* to be written, unless already there */
		if (bodies[i].oom)
			r = -ENOMEM;
	}
	for (size_t i = res->n_entries; i < files.n; i++)
		free(files.v[i]);
	free(files.v);
	return r;
}

int cg_nodesync_once(const struct cg_nodesync_opts *opts, struct cg_nodesync_result *ret, struct cg_error *err)
{
	struct cg_nodesync_opts o = { .sz = sizeof(o) };
	struct names owned = { 0 }, desired = { 0 };
	struct cg_strbuf *bodies = NULL;
	struct pending {
		size_t entry;
		char name[NAME_MAX + 1];
	} *pending = NULL;
	size_t n_pending = 0;
	_cleanup_close_ int srcfd = -1, dirfd = -1;
	bool owned_changed = false;
	int r;

	memset(ret, 0, sizeof(*ret));
	if ((r = CG_OPTS_COPY(&o, opts)) < 0)
		return cg_opts_error(err, r, "cg_nodesync_opts");
	if (!o.source || !o.kubelet_root)
		return cg_error_set(err, -EINVAL, "a source and a kubelet root are required");
	for (size_t i = 0; i < o.n_named; i++)
		if (!named_ok(o.named[i]))
			return cg_error_set(err, -EINVAL, "--named %s: not a profile name to install (lowercase letters, digits, "
							  "'-', '_' and '.', ending in .json, not sha256-*)",
					    o.named[i]);
	if ((srcfd = open_source(o.source, err)) < 0)
		return srcfd;
	if ((dirfd = open_profile_dir(o.kubelet_root, err)) < 0)
		return dirfd;
	if ((r = owned_load(dirfd, &o, &owned)) < 0) {
		cg_error_set(err, r, "%s/" CG_NODESYNC_SUBDIR "/" CG_NODESYNC_OWNED ": %s", o.kubelet_root, strerror(-r));
		goto out;
	}
	remove_stale_tmp(dirfd);

	if ((r = scan_source(o.source, srcfd, ret, &bodies)) < 0) {
		cg_error_set(err, r, "--source %s: %s", o.source, strerror(-r));
		goto out;
	}

	/* The files each valid entry stands for: its digest name, and its own
	 * name when --named asks for it. Claim what is about to be written
	 * before writing it: a pass killed between the two leaves an owned
	 * name, never an unowned profile. */
	if (ret->n_entries && !(pending = calloc(2 * ret->n_entries, sizeof(*pending))))
		goto oom;
	for (size_t i = 0; i < ret->n_entries; i++) {
		struct cg_nodesync_entry *e = &ret->entries[i];
		char targets[2][NAME_MAX + 1];
		size_t n_targets = 1, n_new = 0;

		if (e->state != CG_NODESYNC_WRITTEN)
			continue;
		profile_name(e->digest, targets[0]);
		if (is_named(&o, e->name))
			snprintf(targets[n_targets++], sizeof(targets[0]), "%s", e->name);
		for (size_t t = 0; t < n_targets; t++) {
			_cleanup_free_ char *cur = NULL;
			size_t len;

			if (names_has(&desired, targets[t])) /* a second entry with the same closure */
				continue;
			if ((r = names_add(&desired, targets[t])) < 0)
				goto oom;
			if (read_at(dirfd, targets[t], CG_READ_PROFILE_MAX, &cur, &len) == 0 && len == bodies[i].len &&
			    memcmp(cur, bodies[i].buf, len) == 0)
				continue;
			if (!names_has(&owned, targets[t])) {
				if ((r = names_add(&owned, targets[t])) < 0)
					goto oom;
				owned_changed = true;
			}
			pending[n_pending].entry = i;
			snprintf(pending[n_pending++].name, sizeof(pending[0].name), "%s", targets[t]);
			n_new++;
		}
		if (!n_new)
			e->state = CG_NODESYNC_UNCHANGED;
	}
	if (owned_changed && (r = owned_store(dirfd, &owned)) < 0) {
		cg_error_set(err, r, "%s/" CG_NODESYNC_SUBDIR "/" CG_NODESYNC_OWNED ": %s", o.kubelet_root, strerror(-r));
		goto out;
	}
	owned_changed = false;
	for (size_t k = 0; k < n_pending; k++) {
		struct cg_nodesync_entry *e = &ret->entries[pending[k].entry];
		char msg[CG_ERROR_MAX];

		if (e->state == CG_NODESYNC_ERROR) /* its other file could not be written */
			continue;
		r = write_at(dirfd, pending[k].name, bodies[pending[k].entry].buf, bodies[pending[k].entry].len);
		if (r < 0) {
			snprintf(msg, sizeof(msg), "%s/" CG_NODESYNC_SUBDIR "/%s: cannot write: %s", o.kubelet_root,
				 pending[k].name, strerror(-r));
			if ((r = entry_error(ret, e, msg)) < 0)
				goto oom;
		}
	}
	for (size_t i = 0; i < ret->n_entries; i++) {
		ret->n_written += ret->entries[i].state == CG_NODESYNC_WRITTEN;
		ret->n_unchanged += ret->entries[i].state == CG_NODESYNC_UNCHANGED;
	}

	/* Remove what left the source, when every entry could be read. */
	if (ret->n_errors) {
		ret->removal_held = true;
	} else if (!o.no_remove) {
		size_t keep = 0;
		for (size_t i = 0; i < owned.n; i++) {
			if (names_has(&desired, owned.v[i])) {
				owned.v[keep++] = owned.v[i];
				continue;
			}
			if (unlinkat(dirfd, owned.v[i], 0) < 0 && errno != ENOENT) {
				owned.v[keep++] = owned.v[i]; /* tried again next pass */
				continue;
			}
			char **nv = realloc(ret->removed, (ret->n_removed + 1) * sizeof(*nv));
			if (!nv) {
				owned.v[keep++] = owned.v[i];
				continue;
			}
			ret->removed = nv;
			ret->removed[ret->n_removed++] = owned.v[i];
			owned_changed = true;
		}
		owned.n = keep;
	}
	if (owned_changed && (r = owned_store(dirfd, &owned)) < 0)
		cg_error_set(err, r, "%s/" CG_NODESYNC_SUBDIR "/" CG_NODESYNC_OWNED ": %s", o.kubelet_root, strerror(-r));
	goto out;
oom:
	r = cg_error_set(err, -ENOMEM, "out of memory");
out:
	for (size_t i = 0; bodies && i < ret->n_entries; i++)
		cg_strbuf_release(&bodies[i]);
	free(bodies);
	free(pending);
	names_release(&owned);
	names_release(&desired);
	return r < 0 ? r : 0;
}

void cg_nodesync_result_release(struct cg_nodesync_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_entries; i++) {
		free(r->entries[i].name);
		free(r->entries[i].error);
	}
	free(r->entries);
	for (size_t i = 0; i < r->n_removed; i++)
		free(r->removed[i]);
	free(r->removed);
	memset(r, 0, sizeof(*r));
}

int cg_nodesync_watch(const char *source, int *ret_fd, struct cg_error *err)
{
	int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);

	if (fd < 0)
		return cg_error_set(err, -errno, "inotify: %m");
	if (inotify_add_watch(fd, source,
			      IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_CLOSE_WRITE | IN_ATTRIB |
				      IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR) < 0) {
		int e = -errno;
		close(fd);
		return cg_error_set(err, e, "--source %s: cannot watch: %s", source, strerror(-e));
	}
	*ret_fd = fd;
	return 0;
}

int cg_nodesync_wait(int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	int n = poll(&pfd, 1, timeout_ms);

	if (n < 0)
		return -errno;
	if (n == 0)
		return 0;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	return 1;
}
