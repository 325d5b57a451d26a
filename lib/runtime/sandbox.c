// SPDX-License-Identifier: Apache-2.0
/*
 * The runtime gate: network namespace, no_new_privs, Landlock, seccomp,
 * execve -- and the explain supervisor in the parent. See sandbox.h for the
 * order and the reasons for it.
 */
#include <capgate/compile.h>
#include <capgate/sandbox.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/landlock.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "core/proc.h"

/* ---- Landlock ABI, rights, and what each ABI lacks ----------------------- */

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

#define LL_FS_V1 ((1ULL << 13) - 1)
#define LL_FS_RO (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
/* Everything Landlock knows: the handled set when any path rule is given. */
#define LL_FS_ALL (LL_FS_V1 | CG_LANDLOCK_ACCESS_FS_REFER | CG_LANDLOCK_ACCESS_FS_TRUNCATE | \
		   CG_LANDLOCK_ACCESS_FS_IOCTL_DEV)
/* --fs-rw: read, write, create, remove -- not execute (W^X: grant --fs-ro
 * on the same path as well to run programs from it). */
#define LL_FS_RW (LL_FS_ALL & ~(uint64_t)LANDLOCK_ACCESS_FS_EXECUTE)
/* The rights that make sense on a non-directory (landlock_add_rule EINVAL otherwise). */
#define LL_FS_FILE (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | \
		    LANDLOCK_ACCESS_FS_READ_FILE | CG_LANDLOCK_ACCESS_FS_TRUNCATE | \
		    CG_LANDLOCK_ACCESS_FS_IOCTL_DEV)
#define LL_NET_ALL (CG_LANDLOCK_ACCESS_NET_BIND_TCP | CG_LANDLOCK_ACCESS_NET_CONNECT_TCP)
#define LL_SCOPE_ALL (CG_LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | CG_LANDLOCK_SCOPE_SIGNAL)

static uint64_t ll_fs_for_abi(int abi)
{
	uint64_t m = 0;
	if (abi >= 1)
		m |= LL_FS_V1;
	if (abi >= 2)
		m |= CG_LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		m |= CG_LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		m |= CG_LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return m;
}

/* Landlock rights as data, for --dry-run. */
static const struct {
	uint64_t bit;
	const char *name;
} fs_right_names[] = {
	{ LANDLOCK_ACCESS_FS_EXECUTE, "execute" },
	{ LANDLOCK_ACCESS_FS_WRITE_FILE, "write_file" },
	{ LANDLOCK_ACCESS_FS_READ_FILE, "read_file" },
	{ LANDLOCK_ACCESS_FS_READ_DIR, "read_dir" },
	{ LANDLOCK_ACCESS_FS_REMOVE_DIR, "remove_dir" },
	{ LANDLOCK_ACCESS_FS_REMOVE_FILE, "remove_file" },
	{ LANDLOCK_ACCESS_FS_MAKE_CHAR, "make_char" },
	{ LANDLOCK_ACCESS_FS_MAKE_DIR, "make_dir" },
	{ LANDLOCK_ACCESS_FS_MAKE_REG, "make_reg" },
	{ LANDLOCK_ACCESS_FS_MAKE_SOCK, "make_sock" },
	{ LANDLOCK_ACCESS_FS_MAKE_FIFO, "make_fifo" },
	{ LANDLOCK_ACCESS_FS_MAKE_BLOCK, "make_block" },
	{ LANDLOCK_ACCESS_FS_MAKE_SYM, "make_sym" },
	{ CG_LANDLOCK_ACCESS_FS_REFER, "refer" },
	{ CG_LANDLOCK_ACCESS_FS_TRUNCATE, "truncate" },
	{ CG_LANDLOCK_ACCESS_FS_IOCTL_DEV, "ioctl_dev" },
};

int cg_sandbox_landlock_abi(void)
{
	long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	if (v < 0)
		return -errno;
	return (int)v;
}

/* ---- the prepared sandbox ------------------------------------------------ */

struct fs_rule {
	char *path;
	int fd;         /* O_PATH */
	bool is_dir;
	bool rw;
	uint64_t access; /* after reduction to the ABI and to the file type */
};

struct cg_sandbox {
	struct cg_sandbox_opts opts; /* fs pointers cleared: the rules below own the paths */
	struct cg_closure *closure;  /* the enforced closure as given (NULL: no seccomp) */
	struct cg_compile_opts copts;
	char digest[72];
	struct cg_bpf_prog prog;
	unsigned int flags;
	bool listener;               /* the filter creates a notification fd */
	int abi;                     /* Landlock ABI or -errno */
	bool landlock;               /* a Landlock ruleset is applied */
	uint64_t handled_fs, handled_net, scoped;
	struct fs_rule *fs;
	size_t n_fs;
	char **missing;
	size_t n_missing;
};

static const char *const system_ro[] = { "/usr", "/lib", "/lib64", "/bin", "/sbin", "/etc" };
static const char *const system_rw[] = { "/dev/null", "/dev/zero", "/dev/urandom" };

void cg_sandbox_free(struct cg_sandbox *sb)
{
	if (!sb)
		return;
	cg_closure_free(sb->closure);
	cg_bpf_prog_release(&sb->prog);
	for (size_t i = 0; i < sb->n_fs; i++) {
		free(sb->fs[i].path);
		if (sb->fs[i].fd >= 0)
			close(sb->fs[i].fd);
	}
	free(sb->fs);
	for (size_t i = 0; i < sb->n_missing; i++)
		free(sb->missing[i]);
	free(sb->missing);
	free(sb);
}

__attribute__((format(printf, 2, 3))) static int add_missing(struct cg_sandbox *sb, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	char **n = realloc(sb->missing, (sb->n_missing + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	sb->missing = n;
	va_start(ap, fmt);
	int r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	sb->missing[sb->n_missing++] = s;
	return 0;
}

static int add_fs(struct cg_sandbox *sb, const char *path, bool rw, bool optional, struct cg_error *err)
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
	struct fs_rule *n = realloc(sb->fs, (sb->n_fs + 1) * sizeof(*n));
	if (!n) {
		close(fd);
		return cg_error_set(err, -ENOMEM, "out of memory");
	}
	sb->fs = n;
	struct fs_rule *r = &sb->fs[sb->n_fs];
	r->path = strdup(path);
	if (!r->path) {
		close(fd);
		return cg_error_set(err, -ENOMEM, "out of memory");
	}
	r->fd = fd;
	r->is_dir = S_ISDIR(st.st_mode);
	r->rw = rw;
	r->access = rw ? LL_FS_RW : LL_FS_RO;
	if (!r->is_dir)
		r->access &= LL_FS_FILE;
	sb->n_fs++;
	return 0;
}

int cg_sandbox_parse_net(struct cg_sandbox_opts *o, const char *spec, struct cg_error *err)
{
	uint16_t *ports;
	size_t *n;
	const char *p;

	if (strcmp(spec, "none") == 0) {
		o->netns = CG_NETNS_NONE;
		o->net_tcp = true;
		return 0;
	}
	if (strcmp(spec, "loopback") == 0) {
		o->netns = CG_NETNS_LOOPBACK;
		return 0;
	}
	if (strcmp(spec, "host") == 0) {
		o->netns = CG_NETNS_HOST;
		return 0;
	}
	if (strncmp(spec, "tcp-connect=", 12) == 0) {
		ports = o->tcp_connect, n = &o->n_tcp_connect, p = spec + 12;
	} else if (strncmp(spec, "tcp-bind=", 9) == 0) {
		ports = o->tcp_bind, n = &o->n_tcp_bind, p = spec + 9;
	} else {
		return cg_error_set(err, -EINVAL,
				    "--net: unknown mode '%s' (none, loopback, host, tcp-connect=PORT[,PORT], "
				    "tcp-bind=PORT[,PORT])",
				    spec);
	}
	o->net_tcp = true;
	do {
		char *end;
		errno = 0;
		unsigned long v = strtoul(p, &end, 10);
		if (errno || end == p || v > 65535 || (*end && *end != ','))
			return cg_error_set(err, -EINVAL, "--net %s: bad port list (numbers 0-65535 separated by commas)",
					    spec);
		if (*n >= CG_SANDBOX_MAX_PORTS)
			return cg_error_set(err, -E2BIG, "--net %s: more than %d ports", spec, CG_SANDBOX_MAX_PORTS);
		ports[(*n)++] = (uint16_t)v;
		p = end;
	} while (*p++ == ',');
	return 0;
}

/* Explain mode: every denial of @c (rules and default) becomes a notification. */
static struct cg_closure *closure_for_explain(const struct cg_closure *c)
{
	struct cg_closure *x = cg_closure_dup(c);
	if (!x)
		return NULL;
	struct cg_action notify = { .kind = CG_ACT_NOTIFY, .data = 0 };
	if (!cg_action_permits(x->default_action))
		x->default_action = notify;
	for (size_t i = 0; i < x->n_rules; i++)
		if (!cg_action_permits(x->rules[i].action))
			x->rules[i].action = notify;
	return x;
}

static int plan_landlock(struct cg_sandbox *sb, const struct cg_sandbox_opts *o, struct cg_error *err)
{
	int r;
	bool want_fs = sb->n_fs > 0;
	bool want_net = o->net_tcp || o->n_tcp_connect || o->n_tcp_bind || o->netns == CG_NETNS_NONE;
	bool want_ports = o->n_tcp_connect || o->n_tcp_bind || (o->net_tcp && o->netns == CG_NETNS_HOST);
	int abi = sb->abi;

	if (!want_fs && !want_net)
		return 0;
	if (abi < 1) {
		if (want_fs)
			r = add_missing(sb, "landlock is not available (%s): --fs-ro/--fs-rw cannot be enforced",
					strerror(-abi));
		if (want_ports)
			r = add_missing(sb, "landlock is not available (%s): --net tcp-connect/tcp-bind cannot be "
					    "enforced", strerror(-abi));
		(void)r;
		return 0;
	}
	sb->landlock = true;
	if (want_fs) {
		sb->handled_fs = LL_FS_ALL & ll_fs_for_abi(abi);
		for (size_t i = 0; i < sb->n_fs; i++)
			sb->fs[i].access &= sb->handled_fs;
		if (abi < 3 && add_missing(sb, "landlock ABI %d: truncate restriction needs ABI 3; truncate() of "
					       "files outside --fs-rw cannot be denied", abi) < 0)
			goto oom;
		if (abi < 5 && add_missing(sb, "landlock ABI %d: device ioctl restriction needs ABI 5; ioctl() on "
					       "devices cannot be denied", abi) < 0)
			goto oom;
	}
	if (want_net) {
		if (abi >= 4) {
			sb->handled_net = LL_NET_ALL;
		} else if (want_ports) {
			const char *what = o->n_tcp_connect && o->n_tcp_bind ? "tcp-connect/tcp-bind"
					   : o->n_tcp_bind                    ? "tcp-bind"
									      : "tcp-connect";
			if (add_missing(sb, "landlock ABI %d: TCP port rules need ABI 4; --net %s cannot be enforced",
					abi, what) < 0)
				goto oom;
		}
	}
	if (abi >= 6)
		sb->scoped = LL_SCOPE_ALL;
	else if (add_missing(sb, "landlock ABI %d: signal and abstract unix socket scoping need ABI 6; the program "
				 "can signal processes outside the sandbox", abi) < 0)
		goto oom;
	/* Nothing this ABI can handle: no ruleset (the kernel refuses an empty one). */
	if (!sb->handled_fs && !sb->handled_net && !sb->scoped)
		sb->landlock = false;
	return 0;
oom:
	return cg_error_set(err, -ENOMEM, "out of memory");
}

int cg_sandbox_new(const struct cg_closure *c, const struct cg_sandbox_opts *opts, struct cg_sandbox **ret,
		   struct cg_error *err)
{
	_cleanup_(cg_sandbox_freep) struct cg_sandbox *sb = NULL;
	struct cg_closure *compiled = NULL;
	int r;

	if (!opts || opts->sz < sizeof(*opts))
		return cg_error_set(err, -EINVAL, "cg_sandbox_opts: size mismatch");
	if (!c && !opts->no_seccomp)
		return cg_error_set(err, -EINVAL, "no closure to enforce");
	sb = calloc(1, sizeof(*sb));
	if (!sb)
		return cg_error_set(err, -ENOMEM, "out of memory");
	sb->opts = *opts;
	sb->opts.fs_ro = sb->opts.fs_rw = NULL;
	sb->opts.n_fs_ro = sb->opts.n_fs_rw = 0;
	sb->abi = cg_sandbox_landlock_abi();
	if (opts->landlock_abi_max > 0 && sb->abi > opts->landlock_abi_max)
		sb->abi = opts->landlock_abi_max;

	for (size_t i = 0; i < opts->n_fs_ro; i++)
		if ((r = add_fs(sb, opts->fs_ro[i], false, false, err)) < 0)
			return r;
	for (size_t i = 0; i < opts->n_fs_rw; i++)
		if ((r = add_fs(sb, opts->fs_rw[i], true, false, err)) < 0)
			return r;
	if (opts->fs_system) {
		for (size_t i = 0; i < CG_ARRAY_SIZE(system_ro); i++)
			if ((r = add_fs(sb, system_ro[i], false, true, err)) < 0)
				return r;
		for (size_t i = 0; i < CG_ARRAY_SIZE(system_rw); i++)
			if ((r = add_fs(sb, system_rw[i], true, true, err)) < 0)
				return r;
	}
	if ((r = plan_landlock(sb, opts, err)) < 0)
		return r;

	if (c && !opts->no_seccomp) {
		sb->closure = cg_closure_dup(c);
		if (!sb->closure)
			return cg_error_set(err, -ENOMEM, "out of memory");
		if ((r = cg_closure_digest(sb->closure, sb->digest)) < 0)
			return cg_error_set(err, r, "cannot compute the closure digest");
		sb->copts = (struct cg_compile_opts){ .sz = sizeof(sb->copts), .phase = opts->phase, .audit = opts->audit };
		if (opts->explain) {
			compiled = closure_for_explain(sb->closure);
			if (!compiled)
				return cg_error_set(err, -ENOMEM, "out of memory");
			struct cg_compile_opts xo = sb->copts;
			xo.audit = false; /* the supervisor lets audited calls through */
			r = cg_compile(compiled, &xo, &sb->prog, err);
		} else {
			r = cg_compile(sb->closure, &sb->copts, &sb->prog, err);
		}
		if (r < 0) {
			cg_closure_free(compiled);
			return cg_error_prefix(err, "compiling the filter: ");
		}
		sb->flags = cg_compile_seccomp_flags(compiled ? compiled : sb->closure);
		cg_closure_free(compiled);
		/* Only explain mode has someone to answer notifications; without a
		 * listener the kernel answers a notify action with ENOSYS. */
		if (opts->explain) {
			sb->flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
			if (sb->flags & SECCOMP_FILTER_FLAG_TSYNC)
				sb->flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
		} else {
			sb->flags &= ~(unsigned)SECCOMP_FILTER_FLAG_NEW_LISTENER;
		}
		sb->listener = sb->flags & SECCOMP_FILTER_FLAG_NEW_LISTENER;
	}

	if (opts->strict && sb->n_missing) {
		struct cg_strbuf sbuf;
		cg_strbuf_init(&sbuf);
		for (size_t i = 0; i < sb->n_missing; i++)
			cg_strbuf_addf(&sbuf, "%s%s", i ? "; " : "", sb->missing[i]);
		r = cg_error_set(err, -EOPNOTSUPP, "--strict: cannot enforce every requested protection: %s",
				 sbuf.buf ? sbuf.buf : "");
		cg_strbuf_release(&sbuf);
		return r;
	}
	*ret = TAKE_PTR(sb);
	return 0;
}

const char *const *cg_sandbox_missing(const struct cg_sandbox *sb, size_t *ret_n)
{
	*ret_n = sb->n_missing;
	return (const char *const *)sb->missing;
}

const struct cg_bpf_prog *cg_sandbox_prog(const struct cg_sandbox *sb)
{
	return sb->closure ? &sb->prog : NULL;
}

unsigned int cg_sandbox_seccomp_flags(const struct cg_sandbox *sb) { return sb->flags; }

/* What the original closure (with the prologue, and --audit) answers for a raw call. */
static struct cg_action original_action(const struct cg_sandbox *sb, uint32_t audit_arch, uint32_t nr,
					const uint64_t args[6], bool with_audit)
{
	struct cg_compile_opts o = sb->copts;
	o.audit = with_audit && sb->copts.audit;
	return cg_action_from_ret(cg_compile_expect(sb->closure, &o, audit_arch, nr, args));
}

int cg_sandbox_check_exec(const struct cg_sandbox *sb, struct cg_error *err)
{
	static const uint64_t zero[6];
	enum cg_arch_id native = cg_arch_native();
	int nr;
	char buf[64];

	if (!sb->closure)
		return 0;
	nr = cg_syscall_nr(native, "execve");
	if (nr < 0)
		return 0;
	struct cg_action a = original_action(sb, cg_arch_info(native)->audit, (uint32_t)nr, zero, true);
	/* Only allow and log run the call: notify and trace have no agent here. */
	if (a.kind != CG_ACT_ALLOW && a.kind != CG_ACT_LOG)
		return cg_error_set(err, -EPERM,
				    "profile does not allow execve: the program could not even start (execve -> %s)",
				    cg_action_describe(a, buf, sizeof(buf)));
	return 0;
}

static void describe_rights(struct cg_strbuf *out, uint64_t access)
{
	bool first = true;
	for (size_t i = 0; i < CG_ARRAY_SIZE(fs_right_names); i++)
		if (access & fs_right_names[i].bit) {
			cg_strbuf_addf(out, "%s%s", first ? "" : ",", fs_right_names[i].name);
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

static void describe_flags(struct cg_strbuf *out, unsigned int flags)
{
	static const struct {
		unsigned int bit;
		const char *name;
	} names[] = {
		{ SECCOMP_FILTER_FLAG_TSYNC, "TSYNC" },
		{ SECCOMP_FILTER_FLAG_LOG, "LOG" },
		{ SECCOMP_FILTER_FLAG_SPEC_ALLOW, "SPEC_ALLOW" },
		{ SECCOMP_FILTER_FLAG_NEW_LISTENER, "NEW_LISTENER" },
		{ SECCOMP_FILTER_FLAG_TSYNC_ESRCH, "TSYNC_ESRCH" },
		{ SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, "WAIT_KILLABLE_RECV" },
	};
	if (!flags)
		cg_strbuf_addf(out, " none");
	for (size_t i = 0; i < CG_ARRAY_SIZE(names); i++)
		if (flags & names[i].bit)
			cg_strbuf_addf(out, " %s", names[i].name);
	cg_strbuf_addf(out, "\n");
}

void cg_sandbox_describe(const struct cg_sandbox *sb, struct cg_strbuf *out)
{
	const struct cg_sandbox_opts *o = &sb->opts;
	char buf[64];

	if (sb->closure) {
		const struct cg_closure *c = sb->closure;
		cg_strbuf_addf(out, "digest: %s\n", sb->digest);
		cg_strbuf_addf(out, "mode: %s\n", o->explain && o->audit ? "audit + explain (nothing is denied, denials are reported)"
						  : o->audit                ? "audit (denials are logged, not enforced)"
						  : o->explain              ? "enforce + explain (denials are reported)"
									    : "enforce");
		if (o->phase >= 0 && (unsigned)o->phase < c->n_phases)
			cg_strbuf_addf(out, "phase: %s\n", c->phase_names[o->phase]);
		else
			cg_strbuf_addf(out, "phase: all\n");
		cg_strbuf_addf(out, "seccomp default action: %s\n", cg_action_describe(c->default_action, buf, sizeof(buf)));
		for (int a = 0; a < CG_ARCH_COUNT; a++) {
			uint32_t *nrs = NULL;
			size_t n = 0;
			if (!(c->arch_mask & CG_ARCH_BIT(a)))
				continue;
			if (cg_closure_arch_numbers(c, (enum cg_arch_id)a, o->phase, &nrs, &n) < 0)
				continue;
			cg_strbuf_addf(out, "seccomp allowed calls on %s: %zu\n", cg_arch_info((enum cg_arch_id)a)->name, n);
			free(nrs);
		}
		cg_strbuf_addf(out, "seccomp filter: %zu instructions, flags:", sb->prog.len);
		describe_flags(out, sb->flags);
	} else {
		cg_strbuf_addf(out, "seccomp: none\n");
	}

	if (sb->abi >= 1)
		cg_strbuf_addf(out, "landlock: ABI %d%s\n", sb->abi, sb->landlock ? "" : " (no rules requested)");
	else
		cg_strbuf_addf(out, "landlock: unavailable (%s)\n", strerror(-sb->abi));
	if (sb->landlock) {
		if (sb->handled_fs) {
			cg_strbuf_addf(out, "  fs handled: ");
			describe_rights(out, sb->handled_fs);
			cg_strbuf_addf(out, "\n");
			for (size_t i = 0; i < sb->n_fs; i++) {
				cg_strbuf_addf(out, "  fs %s %s: ", sb->fs[i].rw ? "rw" : "ro", sb->fs[i].path);
				describe_rights(out, sb->fs[i].access);
				cg_strbuf_addf(out, "\n");
			}
			cg_strbuf_addf(out, "  fs everything else: denied\n");
		}
		if (sb->handled_net) {
			describe_ports(out, "tcp-connect", o->tcp_connect, o->n_tcp_connect);
			describe_ports(out, "tcp-bind", o->tcp_bind, o->n_tcp_bind);
		}
		if (sb->scoped)
			cg_strbuf_addf(out, "  scope: abstract-unix-socket,signal\n");
	}
	cg_strbuf_addf(out, "network: %s\n", o->netns == CG_NETNS_NONE       ? "none (new empty network namespace)"
					     : o->netns == CG_NETNS_LOOPBACK ? "loopback (new network namespace, lo up)"
									     : "host");
	if (!sb->n_missing)
		cg_strbuf_addf(out, "missing protections: none\n");
	else
		cg_strbuf_addf(out, "missing protections: %zu\n", sb->n_missing);
	for (size_t i = 0; i < sb->n_missing; i++)
		cg_strbuf_addf(out, "  %s\n", sb->missing[i]);
}

/* ---- applying it --------------------------------------------------------- */

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, s, strlen(s));
	int e = n < 0 ? -errno : 0;
	close(fd);
	return e;
}

static int enter_netns(const struct cg_sandbox *sb, struct cg_error *err)
{
	if (sb->opts.netns == CG_NETNS_HOST)
		return 0;
	if (unshare(CLONE_NEWNET) < 0) {
		int e = errno;
		uid_t uid = getuid();
		gid_t gid = getgid();
		char map[64];
		if (e != EPERM)
			return cg_error_set(err, -e, "cannot create a network namespace: %s", strerror(e));
		/* Unprivileged: own a user namespace, mapped to ourselves. */
		if (unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0)
			return cg_error_set(err, -errno, "cannot create a network namespace (also not through a user "
							 "namespace): %s", strerror(errno));
		/* A process that changed its ids is not dumpable, and its /proc
		 * files belong to root: dumpable just long enough to map. */
		int dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
		if (dumpable == 0)
			(void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
		int r = write_file("/proc/self/setgroups", "deny");
		if (r == 0) {
			snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
			r = write_file("/proc/self/uid_map", map);
		}
		if (r == 0) {
			snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
			r = write_file("/proc/self/gid_map", map);
		}
		if (dumpable == 0)
			(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
		if (r < 0)
			return cg_error_set(err, r, "cannot map ids in the new user namespace: %s", strerror(-r));
	}
	if (sb->opts.netns == CG_NETNS_LOOPBACK) {
		struct ifreq ifr = { 0 };
		int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (s < 0)
			return cg_error_set(err, -errno, "loopback: socket: %s", strerror(errno));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
		if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0 ||
		    (ifr.ifr_flags |= IFF_UP | IFF_RUNNING, ioctl(s, SIOCSIFFLAGS, &ifr) < 0)) {
			int e = errno;
			close(s);
			return cg_error_set(err, -e, "cannot bring lo up: %s", strerror(e));
		}
		close(s);
	}
	return 0;
}

static int apply_landlock(const struct cg_sandbox *sb, struct cg_error *err)
{
	struct ll_ruleset_attr attr = {
		.handled_access_fs = sb->handled_fs,
		.handled_access_net = sb->handled_net,
		.scoped = sb->scoped,
	};
	size_t size = sb->abi >= 6 ? 24 : sb->abi >= 4 ? 16 : 8;
	int fd, r = 0;

	if (!sb->landlock)
		return 0;
	fd = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
	if (fd < 0)
		return cg_error_set(err, -errno, "landlock_create_ruleset: %s", strerror(errno));
	for (size_t i = 0; i < sb->n_fs && sb->handled_fs; i++) {
		struct landlock_path_beneath_attr pb = { .allowed_access = sb->fs[i].access, .parent_fd = sb->fs[i].fd };
		if (!pb.allowed_access)
			continue;
		if (syscall(SYS_landlock_add_rule, fd, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0) {
			r = cg_error_set(err, -errno, "landlock rule for %s: %s", sb->fs[i].path, strerror(errno));
			goto out;
		}
	}
	for (int w = 0; w < 2 && sb->handled_net; w++) {
		const uint16_t *p = w ? sb->opts.tcp_bind : sb->opts.tcp_connect;
		size_t n = w ? sb->opts.n_tcp_bind : sb->opts.n_tcp_connect;
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

int cg_sandbox_apply(const struct cg_sandbox *sb, int *ret_listener, struct cg_error *err)
{
	int r;

	if (sb->listener && !ret_listener)
		return cg_error_set(err, -EINVAL, "the filter creates a listener but no place to put it");
	if ((r = enter_netns(sb, err)) < 0)
		return r;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return cg_error_set(err, -errno, "prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
	if ((r = apply_landlock(sb, err)) < 0)
		return r;
	if (sb->closure) {
		struct sock_fprog fprog = { .len = (unsigned short)sb->prog.len, .filter = sb->prog.insns };
		long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, sb->flags, &fprog);
		if (fd < 0)
			return cg_error_set(err, -errno, "seccomp(SECCOMP_SET_MODE_FILTER, %#x): %s", sb->flags,
					    strerror(errno));
		if (ret_listener)
			*ret_listener = sb->listener ? (int)fd : -1;
	} else if (ret_listener) {
		*ret_listener = -1;
	}
	return 0;
}

/* ---- spawn, supervise, wait ---------------------------------------------- */

/* Shared with the child, written without system calls after the filter is on. */
struct shared_page {
	atomic_int listener_fd; /* child -> parent: the listener's number, -1 until loaded */
	atomic_int acked;       /* parent -> child: listener taken, go on */
	int exec_errno;
	int setup_errno;
	char setup_msg[CG_ERROR_MAX];
};

static void child_exit(int code)
{
	/* The profile may deny exit_group; never return into the caller. */
	syscall(SYS_exit_group, code);
	syscall(SYS_exit, code);
	for (;;)
		__builtin_trap();
}

int cg_sandbox_spawn(const struct cg_sandbox *sb, char *const argv[], char *const envp[],
		     struct cg_sandbox_child *ret, struct cg_error *err)
{
	_cleanup_free_ char *path = NULL;
	struct shared_page *sh;
	int r;

	if (!argv || !argv[0])
		return cg_error_set(err, -EINVAL, "no command to run");
	if ((r = cg_sandbox_check_exec(sb, err)) < 0)
		return r;
	if ((r = cg_exec_find(argv[0], &path, err)) < 0)
		return r;
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return cg_error_set(err, -errno, "mmap: %s", strerror(errno));
	atomic_init(&sh->listener_fd, -1);
	atomic_init(&sh->acked, 0);

	fflush(NULL);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		r = cg_error_set(err, -errno, "fork: %s", strerror(errno));
		munmap(sh, sizeof(*sh));
		return r;
	}
	if (pid == 0) {
		struct cg_error cerr = { 0 };
		int lfd = -1;
		/* With a listener the program depends on capgate to answer: if
		 * capgate dies, the program goes too (and never spins forever
		 * waiting for a hand-over that cannot come). */
		if (sb->listener && (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent))
			child_exit(125);
		if (cg_sandbox_apply(sb, &lfd, &cerr) < 0) {
			sh->setup_errno = -cerr.code ? -cerr.code : EINVAL;
			snprintf(sh->setup_msg, sizeof(sh->setup_msg), "%s", cerr.msg);
			child_exit(125);
		}
		/* From here on only the profile's calls: no syscalls until execve. */
		if (lfd >= 0) {
			atomic_store_explicit(&sh->listener_fd, lfd, memory_order_release);
			while (!atomic_load_explicit(&sh->acked, memory_order_acquire))
				__builtin_ia32_pause();
		}
		execve(path, argv, envp);
		sh->exec_errno = errno;
		child_exit(errno == ENOENT ? 127 : 126);
	}

	*ret = (struct cg_sandbox_child){ .pid = pid, .pidfd = -1, .listener = -1, .shared = sh };
	ret->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (ret->pidfd < 0)
		ret->pidfd = -1;
	if (sb->listener) {
		/* Wait for the child to load its filter (or to fail), then take
		 * its listener: pidfd_getfd needs no call from the child. */
		for (;;) {
			int lfd = atomic_load_explicit(&sh->listener_fd, memory_order_acquire);
			siginfo_t si = { 0 };
			if (lfd >= 0) {
				if (ret->pidfd >= 0)
					ret->listener = (int)syscall(SYS_pidfd_getfd, ret->pidfd, lfd, 0);
				if (ret->listener < 0) {
					int e = ret->pidfd < 0 ? ENOSYS : errno;
					kill(pid, SIGKILL);
					atomic_store_explicit(&sh->acked, 1, memory_order_release);
					snprintf(sh->setup_msg, sizeof(sh->setup_msg),
						 "cannot take the seccomp listener from the child (pidfd_getfd): %s",
						 strerror(e));
					sh->setup_errno = e;
					return 0; /* cg_sandbox_supervise reports it */
				}
				fcntl(ret->listener, F_SETFD, FD_CLOEXEC);
				atomic_store_explicit(&sh->acked, 1, memory_order_release);
				break;
			}
			if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid)
				break; /* setup failed: reported by cg_sandbox_supervise */
			struct timespec ts = { 0, 20000 };
			nanosleep(&ts, NULL);
		}
	}
	return 0;
}

int cg_sandbox_status_exit(const struct cg_sandbox_status *st)
{
	if (st->setup_errno)
		return 125;
	if (st->exec_errno)
		return st->exec_errno == ENOENT ? 127 : 126;
	if (st->signal)
		return 128 + st->signal;
	return st->exit_code;
}

static int arch_from_audit(uint32_t audit, uint32_t nr)
{
	for (int a = 0; a < CG_ARCH_COUNT; a++)
		if (cg_arch_info((enum cg_arch_id)a)->audit == audit) {
			if (a == CG_ARCH_X86_64 && (nr & CG_X32_SYSCALL_BIT))
				return CG_ARCH_X32;
			return a;
		}
	return -1;
}

/* One notification: report it, then answer with the original action's effect. */
static void serve_one(const struct cg_sandbox *sb, int listener, struct seccomp_notif *req,
		      struct seccomp_notif_resp *resp, size_t resp_size, cg_sandbox_event_fn fn, void *user,
		      struct cg_sandbox_status *st, pid_t child, bool *killed_child)
{
	struct cg_sandbox_event ev = { 0 };
	struct cg_strbuf text;
	char abuf[64];
	const struct cg_rule *rule = NULL;

	ev.pid = (pid_t)req->pid;
	ev.nr = (uint32_t)req->data.nr;
	ev.arch = arch_from_audit(req->data.arch, ev.nr);
	ev.name = ev.arch >= 0 ? cg_syscall_name((enum cg_arch_id)ev.arch, ev.nr) : NULL;
	memcpy(ev.args, req->data.args, sizeof(ev.args));
	ev.action = original_action(sb, req->data.arch, ev.nr, ev.args, false);
	if (ev.name && ev.arch >= 0)
		(void)cg_closure_decide(sb->closure, (enum cg_arch_id)ev.arch, ev.name, ev.args, sb->opts.phase, &rule);
	ev.rule = rule;
	ev.allowed = sb->opts.audit;
	memset(resp, 0, resp_size);
	resp->id = req->id;
	if (ev.action.kind == CG_ACT_ALLOW || ev.action.kind == CG_ACT_LOG) {
		/* not a denial of the profile (e.g. a number above the floor that
		 * the rewritten program sends here): let it run, say nothing */
		resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		(void)ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp);
		return;
	}

	cg_strbuf_init(&text);
	cg_sandbox_format_call(ev.arch, ev.nr, ev.args, &text);
	cg_strbuf_addf(&text, ": %s %s%s", rule ? "rule" : "default action",
		       cg_action_describe(ev.action, abuf, sizeof(abuf)),
		       ev.allowed ? " (audit: allowed)" : "");
	ev.text = text.buf ? text.buf : "";
	st->n_denied++;
	if (fn)
		fn(&ev, user);
	cg_strbuf_release(&text);

	if (ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &req->id) < 0)
		return; /* the caller is gone (killed, or a signal interrupted it) */
	if (ev.allowed) {
		resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	} else {
		switch (ev.action.kind) {
		case CG_ACT_ERRNO:
			resp->error = -(int32_t)ev.action.data;
			break;
		case CG_ACT_KILL_PROCESS:
		case CG_ACT_KILL_THREAD: {
			/* Kill before answering, so the call never returns. A kill-thread
			 * is approximated by killing the process. */
			pid_t tgid = cg_proc_tgid(ev.pid);
			kill(tgid, SIGKILL);
			if (tgid == child)
				*killed_child = true;
			resp->error = -ENOSYS;
			break;
		}
		case CG_ACT_TRAP:
			/* The call fails with ENOSYS and SIGSYS is raised on the thread,
			 * as a seccomp trap does (without the SYS_SECCOMP siginfo). */
			resp->error = -ENOSYS;
			(void)ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp);
			syscall(SYS_tgkill, cg_proc_tgid(ev.pid), ev.pid, SIGSYS);
			return;
		default:
			/* notify / trace: no agent, no tracer -- the kernel would say ENOSYS */
			resp->error = -ENOSYS;
			break;
		}
	}
	(void)ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp);
}

static int serve(const struct cg_sandbox *sb, struct cg_sandbox_child *ch, cg_sandbox_event_fn fn, void *user,
		 struct cg_sandbox_status *st, bool *killed_child, struct cg_error *err)
{
	struct seccomp_notif_sizes sizes = { 0 };
	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0)
		return cg_error_set(err, -errno, "SECCOMP_GET_NOTIF_SIZES: %s", strerror(errno));
	size_t req_size = sizes.seccomp_notif > sizeof(struct seccomp_notif) ? sizes.seccomp_notif
									      : sizeof(struct seccomp_notif);
	size_t resp_size = sizes.seccomp_notif_resp > sizeof(struct seccomp_notif_resp)
				   ? sizes.seccomp_notif_resp
				   : sizeof(struct seccomp_notif_resp);
	_cleanup_free_ struct seccomp_notif *req = calloc(1, req_size);
	_cleanup_free_ struct seccomp_notif_resp *resp = calloc(1, resp_size);
	if (!req || !resp)
		return cg_error_set(err, -ENOMEM, "out of memory");

	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = ch->listener, .events = POLLIN },
			{ .fd = ch->pidfd, .events = POLLIN },
		};
		int n = poll(pfd, ch->pidfd >= 0 ? 2 : 1, ch->pidfd >= 0 ? -1 : 100);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return cg_error_set(err, -errno, "poll: %s", strerror(errno));
		}
		if (pfd[0].revents & POLLIN) {
			memset(req, 0, req_size);
			if (ioctl(ch->listener, SECCOMP_IOCTL_NOTIF_RECV, req) == 0)
				serve_one(sb, ch->listener, req, resp, resp_size, fn, user, st, ch->pid, killed_child);
			continue; /* drain notifications before looking at exits */
		}
		if (pfd[0].revents & (POLLHUP | POLLERR | POLLNVAL))
			return 0; /* no task uses the filter any more */
		if (ch->pidfd >= 0 && (pfd[1].revents & (POLLIN | POLLHUP)))
			return 0;
		if (ch->pidfd < 0) {
			siginfo_t si = { 0 };
			if (waitid(P_PID, (id_t)ch->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == ch->pid)
				return 0;
		}
	}
}

int cg_sandbox_supervise(const struct cg_sandbox *sb, struct cg_sandbox_child *ch, cg_sandbox_event_fn fn,
			 void *user, struct cg_sandbox_status *ret, struct cg_error *err)
{
	struct cg_sandbox_status st = { 0 };
	struct shared_page *sh = ch->shared;
	bool killed_child = false;
	int r = 0, status = 0;

	if (ch->listener >= 0)
		r = serve(sb, ch, fn, user, &st, &killed_child, err);
	for (;;) {
		pid_t w = waitpid(ch->pid, &status, 0);
		if (w == ch->pid)
			break;
		if (w < 0 && errno != EINTR) {
			r = cg_error_set(err, -errno, "waitpid: %s", strerror(errno));
			break;
		}
	}
	if (ch->listener >= 0)
		close(ch->listener);
	if (ch->pidfd >= 0)
		close(ch->pidfd);
	ch->listener = ch->pidfd = -1;
	if (WIFEXITED(status))
		st.exit_code = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		st.signal = WTERMSIG(status);
	if (st.signal == SIGSYS || (st.signal == SIGKILL && killed_child)) {
		st.seccomp_kill = true;
		st.signal = SIGSYS; /* what the real filter would have done */
	}
	if (sh) {
		st.exec_errno = sh->exec_errno;
		st.setup_errno = sh->setup_errno;
		snprintf(st.setup_msg, sizeof(st.setup_msg), "%s", sh->setup_msg);
		munmap(sh, sizeof(*sh));
		ch->shared = NULL;
	}
	if (st.exec_errno || st.setup_errno)
		st.seccomp_kill = false;
	*ret = st;
	return r;
}
