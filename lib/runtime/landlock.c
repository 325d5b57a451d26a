// SPDX-License-Identifier: Apache-2.0
/*
 * Landlock for the runtime gate, best effort said out loud: the kernel is
 * asked for its ABI at run time, the rights it lacks are dropped from the
 * ruleset, and each protection that is lost that way becomes a sentence in
 * the sandbox's list of missing protections (--strict refuses to run).
 *
 * The rights are one table (kind, bit, name, first ABI) so that the ABI
 * reduction, the dry-run listing and the missing-protection sentences all
 * read the same data.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/landlock.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/landlock.h"

/* Ruleset attributes up to ABI 6 (the kernel accepts a shorter size from
 * older callers; we pass the size that matches the running ABI). */
struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net; /* ABI 4 */
	uint64_t scoped;             /* ABI 6 */
};

struct ll_net_port_attr {
	uint64_t allowed_access;
	uint64_t port;
};

const struct cg_landlock_right cg_landlock_rights[] = {
	{ CG_LANDLOCK_FS, LANDLOCK_ACCESS_FS_EXECUTE, "execute", 1 },
	{ CG_LANDLOCK_FS, LANDLOCK_ACCESS_FS_WRITE_FILE, "write_file", 1 },
	{ CG_LANDLOCK_FS, LANDLOCK_ACCESS_FS_READ_FILE, "read_file", 1 },
	{ CG_LANDLOCK_FS, LANDLOCK_ACCESS_FS_READ_DIR, "read_dir", 1 },
	{ CG_LANDLOCK_FS, LANDLOCK_ACCESS_FS_REMOVE_DIR, "remove_dir", 1 },
	{ CG_LANDLOCK_FS, LANDLOCK_ACCESS_FS_REMOVE_FILE, "remove_file", 1 },
	{ CG_LANDLOCK_FS, LANDLOCK_ACCESS_FS_MAKE_CHAR, "make_char", 1 },
	{ CG_LANDLOCK_FS, LANDLOCK_ACCESS_FS_MAKE_DIR, "make_dir", 1 },
	{ CG_LANDLOCK_FS, LANDLOCK_ACCESS_FS_MAKE_REG, "make_reg", 1 },
	{ CG_LANDLOCK_FS, LANDLOCK_ACCESS_FS_MAKE_SOCK, "make_sock", 1 },
	{ CG_LANDLOCK_FS, LANDLOCK_ACCESS_FS_MAKE_FIFO, "make_fifo", 1 },
	{ CG_LANDLOCK_FS, LANDLOCK_ACCESS_FS_MAKE_BLOCK, "make_block", 1 },
	{ CG_LANDLOCK_FS, LANDLOCK_ACCESS_FS_MAKE_SYM, "make_sym", 1 },
	{ CG_LANDLOCK_FS, CG_LANDLOCK_ACCESS_FS_REFER, "refer", 2 },
	{ CG_LANDLOCK_FS, CG_LANDLOCK_ACCESS_FS_TRUNCATE, "truncate", 3 },
	{ CG_LANDLOCK_FS, CG_LANDLOCK_ACCESS_FS_IOCTL_DEV, "ioctl_dev", 5 },
	{ CG_LANDLOCK_NET, CG_LANDLOCK_ACCESS_NET_BIND_TCP, "bind_tcp", 4 },
	{ CG_LANDLOCK_NET, CG_LANDLOCK_ACCESS_NET_CONNECT_TCP, "connect_tcp", 4 },
	{ CG_LANDLOCK_SCOPE, CG_LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET, "abstract-unix-socket", 6 },
	{ CG_LANDLOCK_SCOPE, CG_LANDLOCK_SCOPE_SIGNAL, "signal", 6 },
};
const size_t cg_landlock_n_rights = CG_ARRAY_SIZE(cg_landlock_rights);

/* --fs-ro: read and execute. */
#define LL_FS_RO (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
/* The rights that make sense on a non-directory (landlock_add_rule EINVAL otherwise). */
#define LL_FS_FILE (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |    \
		    LANDLOCK_ACCESS_FS_READ_FILE | CG_LANDLOCK_ACCESS_FS_TRUNCATE | \
		    CG_LANDLOCK_ACCESS_FS_IOCTL_DEV)

uint64_t cg_landlock_rights_for(enum cg_landlock_kind kind, int abi)
{
	uint64_t m = 0;
	for (size_t i = 0; i < CG_ARRAY_SIZE(cg_landlock_rights); i++)
		if (cg_landlock_rights[i].kind == kind && cg_landlock_rights[i].min_abi <= abi)
			m |= cg_landlock_rights[i].bit;
	return m;
}

int cg_landlock_min_abi(enum cg_landlock_kind kind, uint64_t bit)
{
	for (size_t i = 0; i < CG_ARRAY_SIZE(cg_landlock_rights); i++)
		if (cg_landlock_rights[i].kind == kind && cg_landlock_rights[i].bit == bit)
			return cg_landlock_rights[i].min_abi;
	return 0;
}

int cg_sandbox_landlock_abi(void)
{
	long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	if (v < 0)
		return -errno;
	return (int)v;
}

void cg_landlock_init(struct cg_landlock *ll, int abi_max)
{
	*ll = (struct cg_landlock){ .abi = cg_sandbox_landlock_abi() };
	if (abi_max > 0 && ll->abi > abi_max)
		ll->abi = abi_max;
}

void cg_landlock_release(struct cg_landlock *ll)
{
	for (size_t i = 0; i < ll->n_paths; i++) {
		free(ll->paths[i].path);
		if (ll->paths[i].fd >= 0)
			close(ll->paths[i].fd);
	}
	free(ll->paths);
	for (size_t i = 0; i < ll->n_missing; i++)
		free(ll->missing[i]);
	free(ll->missing);
	ll->paths = NULL;
	ll->missing = NULL;
	ll->n_paths = ll->n_missing = 0;
}

__attribute__((format(printf, 2, 3))) static int add_missing(struct cg_landlock *ll, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	char **n = realloc(ll->missing, (ll->n_missing + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	ll->missing = n;
	va_start(ap, fmt);
	int r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	ll->missing[ll->n_missing++] = s;
	return 0;
}

int cg_landlock_add_path(struct cg_landlock *ll, const char *path, bool rw, bool optional,
			 struct cg_error *err)
{
	struct stat st;
	int fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0) {
		if (optional && errno == ENOENT)
			return 0;
		return cg_error_set(err, -errno, "--fs-%s %s: %s", rw ? "rw" : "ro", path, strerror(errno));
	}
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return cg_error_set(err, -e, "--fs-%s %s: %s", rw ? "rw" : "ro", path, strerror(e));
	}
	struct cg_landlock_path *n = realloc(ll->paths, (ll->n_paths + 1) * sizeof(*n));
	if (!n) {
		close(fd);
		return cg_error_set(err, -ENOMEM, "out of memory");
	}
	ll->paths = n;
	struct cg_landlock_path *p = &ll->paths[ll->n_paths];
	p->path = strdup(path);
	if (!p->path) {
		close(fd);
		return cg_error_set(err, -ENOMEM, "out of memory");
	}
	p->fd = fd;
	p->is_dir = S_ISDIR(st.st_mode);
	p->rw = rw;
	/* --fs-rw: read, write, create, remove -- not execute (W^X: grant
	 * --fs-ro on the same path as well to run programs from it). */
	p->access = rw ? cg_landlock_rights_for(CG_LANDLOCK_FS, INT_MAX) & ~(uint64_t)LANDLOCK_ACCESS_FS_EXECUTE
		       : LL_FS_RO;
	if (!p->is_dir)
		p->access &= LL_FS_FILE;
	ll->n_paths++;
	return 0;
}

int cg_landlock_plan(struct cg_landlock *ll, const struct cg_sandbox_opts *o, struct cg_error *err)
{
	bool want_fs = ll->n_paths > 0;
	/* TCP port rules: in a network namespace of capgate's they are a second
	 * layer (the namespace lets only the forwarded ports out), so only
	 * --net host would lose them -- and host turns the network rules off. */
	bool want_net = o->net_tcp || o->n_tcp_connect || o->n_tcp_bind || o->netns == CG_NETNS_NONE;
	int abi = ll->abi;
	int truncate_abi = cg_landlock_min_abi(CG_LANDLOCK_FS, CG_LANDLOCK_ACCESS_FS_TRUNCATE);
	int ioctl_abi = cg_landlock_min_abi(CG_LANDLOCK_FS, CG_LANDLOCK_ACCESS_FS_IOCTL_DEV);
	int net_abi = cg_landlock_min_abi(CG_LANDLOCK_NET, CG_LANDLOCK_ACCESS_NET_CONNECT_TCP);
	int scope_abi = cg_landlock_min_abi(CG_LANDLOCK_SCOPE, CG_LANDLOCK_SCOPE_SIGNAL);

	if (o->netns == CG_NETNS_HOST)
		want_net = false;
	if (abi < 1) {
		/* Scoping is asked for on every run, so its loss is always said. */
		if (want_fs && add_missing(ll, "landlock is not available (%s): --fs-ro/--fs-rw cannot be enforced",
					   strerror(-abi)) < 0)
			goto oom;
		if (add_missing(ll, "landlock is not available (%s): signal and abstract unix socket scoping "
				    "cannot be enforced",
				strerror(-abi)) < 0)
			goto oom;
		return 0;
	}
	ll->enabled = true;
	if (want_fs) {
		ll->handled_fs = cg_landlock_rights_for(CG_LANDLOCK_FS, abi);
		for (size_t i = 0; i < ll->n_paths; i++)
			ll->paths[i].access &= ll->handled_fs;
		if (abi < truncate_abi &&
		    add_missing(ll, "landlock ABI %d: truncate restriction needs ABI %d; truncate() of files outside "
				    "--fs-rw cannot be denied",
				abi, truncate_abi) < 0)
			goto oom;
		if (abi < ioctl_abi &&
		    add_missing(ll, "landlock ABI %d: device ioctl restriction needs ABI %d; ioctl() on devices "
				    "cannot be denied",
				abi, ioctl_abi) < 0)
			goto oom;
	}
	if (want_net && abi >= net_abi)
		ll->handled_net = cg_landlock_rights_for(CG_LANDLOCK_NET, abi);
	if (abi >= scope_abi)
		ll->scoped = cg_landlock_rights_for(CG_LANDLOCK_SCOPE, abi);
	else if (add_missing(ll, "landlock ABI %d: signal and abstract unix socket scoping need ABI %d; the "
				 "program can signal processes outside the sandbox and connect to abstract unix "
				 "sockets of its network namespace",
			     abi, scope_abi) < 0)
		goto oom;
	/* Nothing this ABI can handle: no ruleset (the kernel refuses an empty one). */
	if (!ll->handled_fs && !ll->handled_net && !ll->scoped)
		ll->enabled = false;
	return 0;
oom:
	return cg_error_set(err, -ENOMEM, "out of memory");
}

static void describe_rights(struct cg_strbuf *out, enum cg_landlock_kind kind, uint64_t bits)
{
	bool first = true;
	for (size_t i = 0; i < CG_ARRAY_SIZE(cg_landlock_rights); i++)
		if (cg_landlock_rights[i].kind == kind && (bits & cg_landlock_rights[i].bit)) {
			cg_strbuf_addf(out, "%s%s", first ? "" : ",", cg_landlock_rights[i].name);
			first = false;
		}
	if (first)
		cg_strbuf_addf(out, "(none)");
}

static void describe_ports(struct cg_strbuf *out, const char *what, const uint16_t *p, size_t n)
{
	cg_strbuf_addf(out, "  net %s:", what);
	if (!n)
		cg_strbuf_addf(out, " (none: denied)");
	for (size_t i = 0; i < n; i++)
		cg_strbuf_addf(out, "%s%u", i ? "," : " ", p[i]);
	cg_strbuf_addf(out, "\n");
}

void cg_landlock_describe(const struct cg_landlock *ll, const struct cg_sandbox_opts *o,
			  struct cg_strbuf *out)
{
	if (ll->abi >= 1)
		cg_strbuf_addf(out, "landlock: ABI %d%s\n", ll->abi, ll->enabled ? "" : " (nothing this ABI can enforce)");
	else
		cg_strbuf_addf(out, "landlock: unavailable (%s)\n", strerror(-ll->abi));
	if (!ll->enabled)
		return;
	if (ll->handled_fs) {
		cg_strbuf_addf(out, "  fs handled: ");
		describe_rights(out, CG_LANDLOCK_FS, ll->handled_fs);
		cg_strbuf_addf(out, "\n");
		for (size_t i = 0; i < ll->n_paths; i++) {
			cg_strbuf_addf(out, "  fs %s %s: ", ll->paths[i].rw ? "rw" : "ro", ll->paths[i].path);
			describe_rights(out, CG_LANDLOCK_FS, ll->paths[i].access);
			cg_strbuf_addf(out, "\n");
		}
		cg_strbuf_addf(out, "  fs everything else: denied\n");
	}
	if (ll->handled_net) {
		describe_ports(out, "tcp-connect", o->tcp_connect, o->n_tcp_connect);
		describe_ports(out, "tcp-bind", o->tcp_bind, o->n_tcp_bind);
	} else if (o->netns != CG_NETNS_HOST && (o->n_tcp_connect || o->n_tcp_bind || o->net_tcp)) {
		cg_strbuf_addf(out, "  net: TCP port rules need ABI %d (the network namespace alone limits the ports)\n",
			       cg_landlock_min_abi(CG_LANDLOCK_NET, CG_LANDLOCK_ACCESS_NET_CONNECT_TCP));
	}
	if (ll->scoped) {
		cg_strbuf_addf(out, "  scope: ");
		describe_rights(out, CG_LANDLOCK_SCOPE, ll->scoped);
		cg_strbuf_addf(out, "\n");
	}
}

int cg_landlock_apply(const struct cg_landlock *ll, const struct cg_sandbox_opts *o, struct cg_error *err)
{
	struct ll_ruleset_attr attr = {
		.handled_access_fs = ll->handled_fs,
		.handled_access_net = ll->handled_net,
		.scoped = ll->scoped,
	};
	/* The attribute size the ABI knows: fields are added at the end. */
	size_t size = ll->abi >= cg_landlock_min_abi(CG_LANDLOCK_SCOPE, CG_LANDLOCK_SCOPE_SIGNAL)
			      ? sizeof(attr)
		      : ll->abi >= cg_landlock_min_abi(CG_LANDLOCK_NET, CG_LANDLOCK_ACCESS_NET_BIND_TCP)
			      ? offsetof(struct ll_ruleset_attr, scoped)
			      : offsetof(struct ll_ruleset_attr, handled_access_net);
	int fd, r = 0;

	if (!ll->enabled)
		return 0;
	fd = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
	if (fd < 0)
		return cg_error_set(err, -errno, "landlock_create_ruleset: %s", strerror(errno));
	for (size_t i = 0; i < ll->n_paths && ll->handled_fs; i++) {
		struct landlock_path_beneath_attr pb = { .allowed_access = ll->paths[i].access,
							 .parent_fd = ll->paths[i].fd };
		if (!pb.allowed_access)
			continue;
		if (syscall(SYS_landlock_add_rule, fd, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0) {
			r = cg_error_set(err, -errno, "landlock rule for %s: %s", ll->paths[i].path, strerror(errno));
			goto out;
		}
	}
	for (int w = 0; w < 2 && ll->handled_net; w++) {
		const uint16_t *p = w ? o->tcp_bind : o->tcp_connect;
		size_t n = w ? o->n_tcp_bind : o->n_tcp_connect;
		for (size_t i = 0; i < n; i++) {
			struct ll_net_port_attr np = {
				.allowed_access = w ? CG_LANDLOCK_ACCESS_NET_BIND_TCP : CG_LANDLOCK_ACCESS_NET_CONNECT_TCP,
				.port = p[i],
			};
			if (syscall(SYS_landlock_add_rule, fd, CG_LANDLOCK_RULE_NET_PORT, &np, 0) < 0) {
				r = cg_error_set(err, -errno, "landlock rule for TCP port %u: %s", p[i], strerror(errno));
				goto out;
			}
		}
	}
	if (syscall(SYS_landlock_restrict_self, fd, 0) < 0)
		r = cg_error_set(err, -errno, "landlock_restrict_self: %s", strerror(errno));
out:
	close(fd);
	return r;
}
