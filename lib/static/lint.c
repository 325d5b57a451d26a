// SPDX-License-Identifier: Apache-2.0
/*
 * Profile lint. The profile is resolved the way capgate enforces it (for a
 * capability set, kernel and native arch), and each check reads either that
 * closure (what a call actually gets) or the profile itself (where a thing is
 * written, and how other runtimes read it). What the checks know about
 * system calls lives in tables: the risk classes (syscalls.c), and below the
 * calls a program needs to start, the arguments that make a call dangerous,
 * and the few cases where a risk class overstates the danger.
 */
#include <capgate/lint.h>

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "closure/closure_internal.h"
#include "core/error_internal.h"
#include "core/json.h"
#include "static/lint_internal.h"

#define CALLS(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* ---- rules ------------------------------------------------------------------ */

static const struct cg_lint_rule lint_rules[] = {
	{ "arg-width", CG_SEV_MEDIUM,
	  "an argument condition on a 32-bit argument that runc/libseccomp compare on 64 bits" },
	{ "cannot-start", CG_SEV_CRITICAL, "a denying profile without the calls every program needs to start or exit" },
	{ "conflicting-rule", CG_SEV_MEDIUM,
	  "one call both allowed and denied, decided differently by capgate and by libseccomp/runc" },
	{ "dangerous-call", CG_SEV_HIGH, "a call from a risk class is permitted (severity from the class)" },
	{ "dangerous-with-cap", CG_SEV_LOW, "an entry allows dangerous calls once the container gets a capability" },
	{ "default-allow", CG_SEV_CRITICAL, "defaultAction SCMP_ACT_ALLOW: a denylist that lets every unlisted call run" },
	{ "default-log", CG_SEV_HIGH, "defaultAction SCMP_ACT_LOG: every unlisted call runs (and is logged)" },
	{ "extra-arch", CG_SEV_MEDIUM, "architectures beyond the native one add a second system call table" },
	{ "ignored-field", CG_SEV_LOW, "a field other runtimes ignore (often a typo)" },
	{ "notify-action", CG_SEV_LOW, "SCMP_ACT_NOTIFY: the supervisor decides at run time, lint cannot" },
	{ "notify-default", CG_SEV_HIGH, "SCMP_ACT_NOTIFY as defaultAction, which runc rejects" },
	{ "notify-without-listener", CG_SEV_HIGH, "SCMP_ACT_NOTIFY without listenerPath" },
	{ "repeated-arg-index", CG_SEV_MEDIUM, "several conditions on one argument, which runc ORs" },
	{ "shadowed-rule", CG_SEV_LOW, "a rule that can never decide a call" },
	{ "size", CG_SEV_INFO, "number of permitted calls against the bound" },
	{ "socketcall-bypass", CG_SEV_HIGH,
	  "socket is denied (high) or limited (medium), but i386 socketcall, which creates sockets out of sight, is "
	  "allowed" },
	{ "startup-calls", CG_SEV_HIGH, "calls a dynamically linked program makes at start-up are denied" },
	{ "trace-action", CG_SEV_MEDIUM, "SCMP_ACT_TRACE: a tracer decides, or the call fails with ENOSYS" },
	{ "unknown-syscall", CG_SEV_LOW, "a name that is not a system call capgate knows" },
	{ "x32-allowed", CG_SEV_MEDIUM, "the x32 ABI is accepted" },
};

const struct cg_lint_rule *cg_lint_rules(size_t *ret_n)
{
	*ret_n = CG_ARRAY_SIZE(lint_rules);
	return lint_rules;
}

/* ---- policy tables ----------------------------------------------------------- */

/* Calls without which no program starts or ends. One of each group suffices. */
static const struct start_need {
	const char *const *any;
	bool x86_64_only;
	const char *why;
} start_needs[] = {
	{ CALLS("execve", "execveat"), false, "the program cannot be executed (execve)" },
	{ CALLS("brk", "mmap", "mmap2"), false, "no memory can be mapped (brk, mmap)" },
	{ CALLS("exit_group", "exit"), false, "the program cannot exit (exit_group, exit): it dies by SIGSEGV or hangs" },
	{ CALLS("arch_prctl"), true, "the C library sets up thread-local storage with arch_prctl(ARCH_SET_FS) and aborts if it fails" },
};

/* What a dynamically linked program (nginx, redis) calls before main(): the
 * groups marked fatal make the dynamic loader abort. Those marked loader
 * are what glibc 2.36's loader and libc start-up make for every program
 * (strace -f /bin/true); the others most programs make early. */
static const struct startup_call {
	const char *const *any;
	bool fatal;
	bool loader;
} startup_calls[] = {
	{ CALLS("mprotect"), true, true },       /* RELRO after relocation */
	{ CALLS("openat", "open"), true, true }, /* shared libraries */
	{ CALLS("read"), true, true },
	{ CALLS("mmap", "mmap2"), true, true },
	{ CALLS("close"), false, true },
	{ CALLS("newfstatat", "fstat", "fstat64", "statx"), false, true },
	{ CALLS("pread64"), false, true },
	{ CALLS("munmap"), false, true },
	{ CALLS("set_tid_address"), false, true },
	{ CALLS("set_robust_list"), false, true },
	{ CALLS("rseq"), false, true },
	{ CALLS("prlimit64", "getrlimit"), false, true },
	{ CALLS("rt_sigaction"), false, false },
	{ CALLS("rt_sigprocmask"), false, false },
	{ CALLS("futex"), false, false },
	{ CALLS("getrandom"), false, false },
	{ CALLS("write"), false, false },
};

/* How the program a profile is for is linked (cg_lint_opts.binary). */
enum link_kind {
	LINK_UNKNOWN, /* no program given */
	LINK_STATIC,  /* no interpreter: no loader runs before main() */
	LINK_GLIBC,   /* dynamically linked, glibc's loader (ld-linux*) */
	LINK_OTHER,   /* dynamically linked, another loader (musl's, ...) */
};

/* Read @path's ELF program headers: is there a PT_INTERP, and whose? */
static int elf_link_kind(const char *path, enum link_kind *ret, struct cg_error *err)
{
	unsigned char eh[64];
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool is64;
	uint64_t phoff;
	unsigned phentsize, phnum;

	if (fd < 0)
		return cg_error_set(err, -errno, "%s: %s", path, strerror(errno));
	if (pread(fd, eh, sizeof(eh), 0) < 52 || memcmp(eh, ELFMAG, SELFMAG) != 0 ||
	    (eh[EI_CLASS] != ELFCLASS32 && eh[EI_CLASS] != ELFCLASS64) || eh[EI_DATA] != ELFDATA2LSB)
		return cg_error_set(err, -EINVAL, "%s: not a little-endian ELF file", path);
	is64 = eh[EI_CLASS] == ELFCLASS64;
	if (is64) {
		Elf64_Ehdr h;
		memcpy(&h, eh, sizeof(h));
		phoff = h.e_phoff, phentsize = h.e_phentsize, phnum = h.e_phnum;
	} else {
		Elf32_Ehdr h;
		memcpy(&h, eh, sizeof(h));
		phoff = h.e_phoff, phentsize = h.e_phentsize, phnum = h.e_phnum;
	}
	if (phentsize < (is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr)) || phnum > 4096)
		return cg_error_set(err, -EINVAL, "%s: bad ELF program header table", path);
	*ret = LINK_STATIC;
	for (unsigned i = 0; i < phnum; i++) {
		uint64_t type, off, size;
		char interp[256];
		if (is64) {
			Elf64_Phdr ph;
			if (pread(fd, &ph, sizeof(ph), (off_t)(phoff + (uint64_t)i * phentsize)) != sizeof(ph))
				return cg_error_set(err, -EINVAL, "%s: truncated ELF program header table", path);
			type = ph.p_type, off = ph.p_offset, size = ph.p_filesz;
		} else {
			Elf32_Phdr ph;
			if (pread(fd, &ph, sizeof(ph), (off_t)(phoff + (uint64_t)i * phentsize)) != sizeof(ph))
				return cg_error_set(err, -EINVAL, "%s: truncated ELF program header table", path);
			type = ph.p_type, off = ph.p_offset, size = ph.p_filesz;
		}
		if (type != PT_INTERP)
			continue;
		if (size < 2 || size > sizeof(interp) || pread(fd, interp, size, (off_t)off) != (ssize_t)size ||
		    interp[size - 1] != '\0')
			return cg_error_set(err, -EINVAL, "%s: bad ELF interpreter (PT_INTERP)", path);
		const char *base = strrchr(interp, '/');
		base = base ? base + 1 : interp;
		*ret = strncmp(base, "ld-linux", 8) == 0 ? LINK_GLIBC : LINK_OTHER;
		return 0;
	}
	return 0;
}

/* Arguments that make a conditionally allowed call dangerous: if every one
 * of them is denied, the call is allowed only in a harmless form. */
static const struct arg_probe {
	const char *call;
	unsigned idx;
	uint64_t value;
	const char *what;
} arg_probes[] = {
	{ "personality", 0, 0x0040000, "ADDR_NO_RANDOMIZE" },
	{ "personality", 0, 0x0100000, "MMAP_PAGE_ZERO" },
	{ "personality", 0, 0x0400000, "READ_IMPLIES_EXEC" },
	{ "unshare", 0, 0x00020000, "CLONE_NEWNS" },
	{ "unshare", 0, 0x10000000, "CLONE_NEWUSER" },
	{ "unshare", 0, 0x40000000, "CLONE_NEWNET" },
};

/* Where a risk class overstates the danger of some of its calls. */
static const struct mitigation {
	const char *cls;
	const char *const *calls; /* the calls this applies to */
	const char *unless_cap;   /* ...when the container lacks this capability */
	const char *unless_call;  /* ...and this call is not permitted */
	bool kernel_4_8;          /* ...on Linux 4.8 or later */
	enum cg_severity severity;
	const char *note;
} mitigations[] = {
	{ "clock", CALLS("adjtimex", "clock_adjtime", "clock_adjtime64"), "CAP_SYS_TIME", NULL, false, CG_SEV_LOW,
	  "without CAP_SYS_TIME they only read the clock state (ntp_gettime), the kernel refuses changes" },
	{ "open-by-handle", CALLS("name_to_handle_at"), NULL, "open_by_handle_at", false, CG_SEV_LOW,
	  "name_to_handle_at only encodes handles; opening them takes open_by_handle_at, which is denied" },
	{ "process-memory", CALLS("process_vm_readv", "process_vm_writev", "ptrace"), "CAP_SYS_PTRACE", NULL, true,
	  CG_SEV_MEDIUM,
	  "without CAP_SYS_PTRACE only processes of the same user in the container are reachable, and since "
	  "Linux 4.8 a tracer cannot use ptrace to slip past seccomp" },
};

/* Field names of the format, for "did you mean" on ignored fields. */
static const char *const known_fields[] = {
	"action",
	"architecture",
	"architectures",
	"archMap",
	"args",
	"arches",
	"caps",
	"comment",
	"defaultAction",
	"defaultErrno",
	"defaultErrnoRet",
	"errno",
	"errnoRet",
	"excludes",
	"flags",
	"includes",
	"index",
	"listenerMetadata",
	"listenerPath",
	"minKernel",
	"name",
	"names",
	"op",
	"subArchitectures",
	"syscalls",
	"value",
	"valueTwo",
};
/* Ignoring these changes what a rule means. */
static const char *const weighty_fields[] = {
	"action",
	"architectures",
	"archMap",
	"args",
	"defaultAction",
	"errnoRet",
	"excludes",
	"includes",
	"names",
	"syscalls",
};

/* ---- context ------------------------------------------------------------------ */

struct lctx {
	const struct cg_profile *p;
	struct cg_profile view; /* p with unknown names left out (borrowed strings) */
	struct cg_resolve_opts ro;
	enum cg_arch_id native;
	unsigned kmaj, kmin;
	struct cg_closure *c;
	bool *applies; /* per entry: applies to the resolved closure */
	struct cg_lint_report *rep;
	struct cg_error *err;
	bool oom;
	enum link_kind link; /* of cg_lint_opts.binary */
	const char *binary;
};

enum how { H_DENIED,
	   H_NOTIFY,
	   H_TRACE,
	   H_LOG,
	   H_ALLOW };

struct call_status {
	enum how how;
	bool conditional; /* only some arguments are permitted */
	bool by_default;  /* the default action decides */
	const struct cg_rule *rule;
};

static bool in_list(const char *const *v, const char *s)
{
	for (; v && *v; v++)
		if (strcmp(*v, s) == 0)
			return true;
	return false;
}

static enum how how_of(struct cg_action a)
{
	switch (a.kind) {
	case CG_ACT_ALLOW:
		return H_ALLOW;
	case CG_ACT_LOG:
		return H_LOG;
	case CG_ACT_TRACE:
		return H_TRACE;
	case CG_ACT_NOTIFY:
		return H_NOTIFY;
	default:
		return H_DENIED;
	}
}

static char *xstrdup(struct lctx *x, const char *s)
{
	char *d = strdup(s ? s : "");
	if (!d)
		x->oom = true;
	return d;
}

static struct cg_lint_finding *add_finding(struct lctx *x, enum cg_severity sev, const char *rule, struct cg_pos pos,
					   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static struct cg_lint_finding *add_finding(struct lctx *x, enum cg_severity sev, const char *rule, struct cg_pos pos,
					   const char *fmt, ...)
{
	struct cg_lint_report *r = x->rep;
	struct cg_lint_finding *f;
	struct cg_strbuf sb;
	va_list ap;

	if (r->n == r->cap) {
		size_t nc = r->cap ? r->cap * 2 : 16;
		struct cg_lint_finding *nf = realloc(r->findings, nc * sizeof(*nf));
		if (!nf) {
			x->oom = true;
			return NULL;
		}
		r->findings = nf;
		r->cap = nc;
	}
	cg_strbuf_init(&sb);
	va_start(ap, fmt);
	{
		char tmp[4096];
		int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
		if (n >= (int)sizeof(tmp)) {
			/* long lists of calls: format again into a buffer of the right size */
			char *big = malloc((size_t)n + 1);
			va_end(ap);
			va_start(ap, fmt);
			if (big) {
				vsnprintf(big, (size_t)n + 1, fmt, ap);
				cg_strbuf_add(&sb, big, (size_t)n);
				free(big);
			} else {
				sb.oom = true;
			}
		} else if (n > 0) {
			cg_strbuf_add(&sb, tmp, (size_t)n);
		}
	}
	va_end(ap);
	if (sb.oom) {
		cg_strbuf_release(&sb);
		x->oom = true;
		return NULL;
	}
	f = &r->findings[r->n];
	memset(f, 0, sizeof(*f));
	f->severity = sev;
	f->rule = rule;
	f->pos = pos;
	f->message = sb.buf ? sb.buf : xstrdup(x, "");
	if (!f->message)
		return NULL;
	r->n++;
	return f;
}

static void finding_add_call(struct lctx *x, struct cg_lint_finding *f, const char *name)
{
	char **v;
	if (!f)
		return;
	for (size_t i = 0; i < f->n_calls; i++)
		if (strcmp(f->calls[i], name) == 0)
			return;
	v = realloc(f->calls, (f->n_calls + 1) * sizeof(*v));
	if (!v) {
		x->oom = true;
		return;
	}
	f->calls = v;
	if ((v[f->n_calls] = xstrdup(x, name)))
		f->n_calls++;
}

static const struct cg_pos no_pos = { 0, 0 };

/* ---- resolving -------------------------------------------------------------- */

static void view_release(struct cg_profile *v)
{
	for (size_t i = 0; i < v->n_syscalls; i++) {
		free(v->syscalls[i].names);
		free(v->syscalls[i].name_pos);
	}
	free(v->syscalls);
	memset(v, 0, sizeof(*v));
}

/* A shallow copy of @p without the names capgate does not know, so it
 * resolves whatever typos it holds (lint reports those itself). */
static int view_build(const struct cg_profile *p, struct cg_profile *v)
{
	*v = *p;
	v->syscalls = NULL;
	v->n_syscalls = 0;
	if (!p->n_syscalls)
		return 0;
	v->syscalls = calloc(p->n_syscalls, sizeof(*v->syscalls));
	if (!v->syscalls)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_syscalls; i++) {
		const struct cg_profile_syscall *s = &p->syscalls[i];
		struct cg_profile_syscall *d = &v->syscalls[i];
		*d = *s;
		d->names = NULL;
		d->name_pos = NULL;
		d->n_names = 0;
		v->n_syscalls++;
		if (!s->n_names)
			continue;
		d->names = calloc(s->n_names, sizeof(*d->names));
		d->name_pos = calloc(s->n_names, sizeof(*d->name_pos));
		if (!d->names || !d->name_pos)
			return -ENOMEM;
		for (size_t j = 0; j < s->n_names; j++) {
			if (!s->names[j] || !cg_syscall_known(s->names[j]))
				continue;
			d->names[d->n_names] = s->names[j];
			if (s->name_pos)
				d->name_pos[d->n_names] = s->name_pos[j];
			d->n_names++;
		}
	}
	return 0;
}

/* Does entry @i of the view produce rules when resolved with @ro? */
static int entry_applies(struct lctx *x, size_t i, const struct cg_resolve_opts *ro, bool *ret)
{
	struct cg_profile one = x->view;
	struct cg_closure *c = NULL;
	int r;

	one.syscalls = &x->view.syscalls[i];
	one.n_syscalls = 1;
	one.notes = NULL;
	one.n_notes = 0;
	r = cg_profile_resolve(&one, ro, &c, NULL);
	if (r < 0)
		return r;
	*ret = c->n_rules > 0;
	cg_closure_free(c);
	return 0;
}

/* Does the container have capability @cap under the lint's options? */
static bool cap_held(struct lctx *x, const char *cap)
{
	char *caps[] = { (char *)cap };
	char *names[] = { (char *)"read" };
	struct cg_profile_syscall s = { .names = names, .n_names = 1, .action = { CG_ACT_ALLOW, 0 } };
	struct cg_profile probe = { .source = (char *)"<probe>", .default_action = { CG_ACT_ERRNO, EPERM } };
	struct cg_closure *c = NULL;
	bool held;

	s.includes.caps = caps;
	s.includes.n_caps = 1;
	probe.syscalls = &s;
	probe.n_syscalls = 1;
	if (cg_profile_resolve(&probe, &x->ro, &c, NULL) < 0)
		return false;
	held = c->n_rules > 0;
	cg_closure_free(c);
	return held;
}

/* ---- reading the closure ------------------------------------------------------- */

/* Can @r decide a call at all: one of its arches is accepted, in any phase. */
static bool rule_in_scope(const struct lctx *x, const struct cg_rule *r)
{
	return cg_rule_in_scope(r, x->c->arch_mask, -1);
}

/* Is @name a system call on any architecture the filter accepts? */
static bool call_exists(const struct lctx *x, const char *name)
{
	for (unsigned a = 0; a < CG_ARCH_COUNT; a++)
		if ((x->c->arch_mask & CG_ARCH_BIT(a)) && cg_syscall_nr((enum cg_arch_id)a, name) >= 0)
			return true;
	return false;
}

/* The most a call can get through the closure, over all arguments: the
 * least restrictive action that can decide it (kernel precedence: a rule
 * weaker than an unconditional one never decides). */
static struct call_status call_status(const struct lctx *x, const char *name)
{
	const struct cg_closure *c = x->c;
	const struct cg_rule *strong = NULL, *best = NULL;
	struct call_status st = { H_DENIED, false, false, NULL };
	bool any = false, weaker_cond_deny = false;

	for (size_t i = 0; i < c->n_rules; i++) {
		const struct cg_rule *r = &c->rules[i];
		if (strcmp(r->name, name) != 0 || !rule_in_scope(x, r))
			continue;
		any = true;
		if (r->n_args == 0 && (!strong || cg_action_cmp(r->action, strong->action) < 0))
			strong = r;
	}
	for (size_t i = 0; i < c->n_rules; i++) {
		const struct cg_rule *r = &c->rules[i];
		if (strcmp(r->name, name) != 0 || !rule_in_scope(x, r))
			continue;
		if (strong && cg_action_cmp(r->action, strong->action) > 0)
			continue; /* never decides */
		if (how_of(r->action) != H_DENIED && (!best || how_of(r->action) > how_of(best->action) ||
						      (how_of(r->action) == how_of(best->action) && best->n_args && !r->n_args)))
			best = r;
	}
	if (best) {
		st.how = how_of(best->action);
		st.rule = best;
		st.conditional = best->n_args > 0;
	}
	if (!strong && how_of(c->default_action) > st.how) {
		st.how = how_of(c->default_action);
		st.by_default = true;
		st.rule = NULL;
		st.conditional = any;
	}
	if (st.how == H_DENIED)
		return st;
	/* a stronger conditional denial carves out some arguments */
	for (size_t i = 0; i < c->n_rules; i++) {
		const struct cg_rule *r = &c->rules[i];
		if (strcmp(r->name, name) != 0 || !rule_in_scope(x, r) || !r->n_args)
			continue;
		if (how_of(r->action) < st.how && (!strong || cg_action_cmp(r->action, strong->action) <= 0))
			weaker_cond_deny = true;
	}
	st.conditional |= weaker_cond_deny;
	return st;
}

static bool allows(const struct call_status *s) { return s->how == H_ALLOW || s->how == H_LOG; }

static bool call_allowed(const struct lctx *x, const char *name)
{
	struct call_status s = call_status(x, name);
	return allows(&s);
}

/* The first applying entry that permits @name: where the permission is written. */
static struct cg_pos permit_pos(const struct lctx *x, const char *name, bool want_allow)
{
	for (size_t i = 0; i < x->view.n_syscalls; i++) {
		const struct cg_profile_syscall *s = &x->view.syscalls[i];
		enum how h = how_of(s->action);
		if (!x->applies[i] || h == H_DENIED || (want_allow && h != H_ALLOW && h != H_LOG))
			continue;
		for (size_t j = 0; j < s->n_names; j++)
			if (strcmp(s->names[j], name) == 0)
				return s->name_pos ? s->name_pos[j] : s->pos;
	}
	return no_pos;
}

/* The applying entry a closure rule came from. */
static const struct cg_profile_syscall *entry_of_rule(const struct lctx *x, const struct cg_rule *r, size_t *ret_j)
{
	for (size_t i = 0; i < x->view.n_syscalls; i++) {
		const struct cg_profile_syscall *s = &x->view.syscalls[i];
		if (!x->applies[i] || s->action.kind != r->action.kind || s->action.data != r->action.data ||
		    s->n_args != r->n_args)
			continue;
		if (s->n_args && memcmp(s->args, r->args, s->n_args * sizeof(*s->args)) != 0) {
			/* canonicalization may reorder conditions: compare as sets */
			bool same = true;
			for (size_t a = 0; a < s->n_args && same; a++) {
				bool f = false;
				for (size_t b = 0; b < r->n_args && !f; b++)
					f = memcmp(&s->args[a], &r->args[b], sizeof(s->args[a])) == 0;
				same = f;
			}
			if (!same)
				continue;
		}
		for (size_t j = 0; j < s->n_names; j++)
			if (strcmp(s->names[j], r->name) == 0) {
				*ret_j = j;
				return s;
			}
	}
	return NULL;
}

static struct cg_pos rule_pos(const struct lctx *x, const struct cg_rule *r)
{
	size_t j = 0;
	const struct cg_profile_syscall *s = r ? entry_of_rule(x, r, &j) : NULL;
	if (!s)
		return no_pos;
	return s->name_pos ? s->name_pos[j] : s->pos;
}

static void describe_rule_conds(struct cg_strbuf *sb, const struct cg_rule *r)
{
	for (unsigned i = 0; i < r->n_args; i++) {
		if (i)
			cg_strbuf_addf(sb, " and ");
		cg_arg_cond_describe(sb, &r->args[i]);
	}
}

/* "arg0 == 0x0 or arg0 == 0x8": the permitting conditions of @name. */
static void describe_permits(const struct lctx *x, const char *name, struct cg_strbuf *sb)
{
	int n = 0;
	for (size_t i = 0; i < x->c->n_rules; i++) {
		const struct cg_rule *r = &x->c->rules[i];
		if (strcmp(r->name, name) != 0 || !rule_in_scope(x, r) || how_of(r->action) < H_LOG || !r->n_args)
			continue;
		if (n++)
			cg_strbuf_addf(sb, " or ");
		describe_rule_conds(sb, r);
	}
}

/* ---- checks ------------------------------------------------------------------ */

static void check_default(struct lctx *x)
{
	const struct cg_profile *p = x->p;
	switch (p->default_action.kind) {
	case CG_ACT_ALLOW:
		add_finding(x, CG_SEV_CRITICAL, "default-allow", no_pos,
			    "permissive profile: defaultAction SCMP_ACT_ALLOW lets every call the profile does not list run, "
			    "including calls added to the kernel after it was written; list what the workload needs and "
			    "make the default SCMP_ACT_ERRNO");
		break;
	case CG_ACT_LOG:
		add_finding(x, CG_SEV_HIGH, "default-log", no_pos,
			    "permissive profile: defaultAction SCMP_ACT_LOG lets every unlisted call run and only logs it; "
			    "fine while recording a profile, not for enforcing one");
		break;
	case CG_ACT_TRACE:
		add_finding(x, CG_SEV_HIGH, "trace-action", no_pos,
			    "defaultAction SCMP_ACT_TRACE: every unlisted call is handed to a ptrace tracer, which may let it "
			    "run or rewrite it; with no tracer attached each such call fails with ENOSYS");
		break;
	case CG_ACT_NOTIFY:
		add_finding(x, CG_SEV_HIGH, "notify-default", no_pos,
			    "defaultAction SCMP_ACT_NOTIFY: runc refuses it as a default, and every unlisted call would wait "
			    "for the supervisor; deny by default and notify only the calls the supervisor handles");
		break;
	default:
		break;
	}
}

struct class_hit {
	const char *name;
	enum cg_severity sev;
	bool conditional, by_default, log;
	const char *note;
};

static bool kernel_at_least(const struct lctx *x, unsigned maj, unsigned min)
{
	return x->kmaj > maj || (x->kmaj == maj && x->kmin >= min);
}

/* The probes of @name that the closure denies, as "A, B"; false if any is allowed. */
static bool probes_all_denied(const struct lctx *x, const char *name, char *buf, size_t n)
{
	bool have = false;
	size_t len = 0;
	buf[0] = 0;
	for (size_t i = 0; i < CG_ARRAY_SIZE(arg_probes); i++) {
		uint64_t args[6] = { 0 };
		struct cg_action a;
		if (strcmp(arg_probes[i].call, name) != 0)
			continue;
		args[arg_probes[i].idx] = arg_probes[i].value;
		a = cg_closure_decide(x->c, x->native, name, args, -1, NULL);
		if (a.kind == CG_ACT_ALLOW || a.kind == CG_ACT_LOG)
			return false;
		len += (size_t)snprintf(buf + len, len < n ? n - len : 0, "%s%s", have ? ", " : "", arg_probes[i].what);
		have = true;
	}
	return have;
}

static void check_dangerous(struct lctx *x)
{
	size_t n_classes;
	const struct cg_risk_class *classes = cg_risk_classes(&n_classes);

	for (size_t k = 0; k < n_classes; k++) {
		const struct cg_risk_class *rc = &classes[k];
		struct class_hit hits[32];
		size_t n = 0;
		enum cg_severity top = CG_SEV_INFO;
		struct cg_pos pos = no_pos;
		struct cg_strbuf sb;
		struct cg_lint_finding *f;
		const char *note = NULL;

		for (const char *const *call = rc->calls; *call && n < CG_ARRAY_SIZE(hits); call++) {
			struct call_status st;
			struct class_hit *h = &hits[n];
			char pbuf[128];
			if (!call_exists(x, *call))
				continue;
			st = call_status(x, *call);
			if (!allows(&st))
				continue;
			memset(h, 0, sizeof(*h));
			h->name = *call;
			h->sev = rc->severity;
			h->conditional = st.conditional;
			h->by_default = st.by_default;
			h->log = st.how == H_LOG;
			if (st.conditional && !st.by_default) {
				if (probes_all_denied(x, *call, pbuf, sizeof(pbuf)))
					h->sev = CG_SEV_LOW;
				else if (h->sev > CG_SEV_LOW) {
					h->sev = (enum cg_severity)(h->sev - 1);
				}
			}
			for (size_t m = 0; m < CG_ARRAY_SIZE(mitigations); m++) {
				const struct mitigation *mi = &mitigations[m];
				if (strcmp(mi->cls, rc->name) != 0 || !in_list(mi->calls, *call))
					continue;
				if (mi->unless_cap && cap_held(x, mi->unless_cap))
					continue;
				if (mi->unless_call && call_allowed(x, mi->unless_call))
					continue;
				if (mi->kernel_4_8 && !kernel_at_least(x, 4, 8))
					continue;
				if (mi->severity < h->sev) {
					h->sev = mi->severity;
					h->note = mi->note;
				}
			}
			if (pos.line == 0 && !st.by_default)
				pos = permit_pos(x, *call, true);
			n++;
		}
		if (!n)
			continue;
		/* a mitigation's note is worth saying only if it covers every call */
		note = hits[0].note;
		for (size_t i = 0; i < n; i++) {
			if (hits[i].sev > top)
				top = hits[i].sev;
			if (hits[i].note != note)
				note = NULL;
		}
		cg_strbuf_init(&sb);
		for (size_t i = 0; i < n; i++) {
			char pbuf[128];
			cg_strbuf_addf(&sb, "%s%s", i ? ", " : "", hits[i].name);
			if (hits[i].by_default) {
				if (hits[i].conditional)
					cg_strbuf_addf(&sb, " (for some arguments)");
			} else if (hits[i].conditional) {
				cg_strbuf_addf(&sb, " (when ");
				describe_permits(x, hits[i].name, &sb);
				if (probes_all_denied(x, hits[i].name, pbuf, sizeof(pbuf)))
					cg_strbuf_addf(&sb, "; %s denied", pbuf);
				cg_strbuf_addf(&sb, ")");
			}
		}
		{
			bool all_default = true, all_log = true;
			for (size_t i = 0; i < n; i++) {
				all_default &= hits[i].by_default;
				all_log &= hits[i].log;
			}
			f = add_finding(x, top, "dangerous-call", pos, "allows %s%s: %s%s%s", sb.buf ? sb.buf : "",
					all_default ? (all_log ? " (by the default action, logged)" : " (by the default action)")
						    : "",
					rc->reason, note ? "; " : "", note ? note : "");
		}
		cg_strbuf_release(&sb);
		for (size_t i = 0; i < n; i++)
			finding_add_call(x, f, hits[i].name);
	}
}

/* Entries gated on capabilities the container lacks that would allow
 * dangerous calls once granted. */
static void check_cap_gated(struct lctx *x)
{
	for (size_t i = 0; i < x->view.n_syscalls; i++) {
		const struct cg_profile_syscall *s = &x->view.syscalls[i];
		const char *missing[16];
		size_t n_missing = 0;
		struct cg_resolve_opts ro = x->ro;
		const char **caps;
		bool would = false;
		struct cg_strbuf calls, cls;
		struct cg_lint_finding *f;
		size_t n_calls = 0;
		struct cg_pos pos = no_pos;

		if (x->applies[i] || !s->includes.n_caps || (how_of(s->action) != H_ALLOW && how_of(s->action) != H_LOG))
			continue;
		for (size_t k = 0; k < s->includes.n_caps && n_missing < CG_ARRAY_SIZE(missing); k++)
			if (!cap_held(x, s->includes.caps[k]))
				missing[n_missing++] = s->includes.caps[k];
		if (!n_missing)
			continue; /* skipped for its arch or kernel, not for a capability */
		caps = malloc((x->ro.n_caps + n_missing) * sizeof(*caps));
		if (!caps) {
			x->oom = true;
			return;
		}
		for (size_t k = 0; k < x->ro.n_caps; k++)
			caps[k] = x->ro.caps[k];
		for (size_t k = 0; k < n_missing; k++)
			caps[x->ro.n_caps + k] = missing[k];
		ro.caps = caps;
		ro.n_caps = x->ro.n_caps + n_missing;
		if (entry_applies(x, i, &ro, &would) < 0)
			would = false;
		free(caps);
		if (!would)
			continue;
		cg_strbuf_init(&calls);
		cg_strbuf_init(&cls);
		for (size_t j = 0; j < s->n_names; j++) {
			const struct cg_risk_class *rc = cg_risk_class_of(s->names[j]);
			if (!rc || !call_exists(x, s->names[j]) || call_allowed(x, s->names[j]))
				continue;
			if (!n_calls)
				pos = s->name_pos ? s->name_pos[j] : s->pos;
			cg_strbuf_addf(&calls, "%s%s", n_calls ? ", " : "", s->names[j]);
			if (!cls.buf || !strstr(cls.buf, rc->name))
				cg_strbuf_addf(&cls, "%s%s", cls.len ? ", " : "", rc->name);
			n_calls++;
		}
		if (n_calls) {
			struct cg_strbuf capl;
			cg_strbuf_init(&capl);
			for (size_t k = 0; k < n_missing; k++)
				cg_strbuf_addf(&capl, "%s%s", k ? ", " : "", missing[k]);
			f = add_finding(x, CG_SEV_LOW, "dangerous-with-cap", pos.line ? pos : s->pos,
					"with %s this entry also allows %s (%s): grant %s only to workloads that need these calls",
					capl.buf, calls.buf, cls.buf, n_missing > 1 ? "these capabilities" : capl.buf);
			for (size_t j = 0; j < s->n_names; j++)
				if (cg_risk_class_of(s->names[j]) && call_exists(x, s->names[j]) &&
				    !call_allowed(x, s->names[j]))
					finding_add_call(x, f, s->names[j]);
			cg_strbuf_release(&capl);
		}
		cg_strbuf_release(&calls);
		cg_strbuf_release(&cls);
	}
}

static void names_list(const struct cg_profile_syscall *s, struct cg_strbuf *sb, size_t max)
{
	for (size_t j = 0; j < s->n_names && j < max; j++)
		cg_strbuf_addf(sb, "%s%s", j ? ", " : "", s->names[j]);
	if (s->n_names > max)
		cg_strbuf_addf(sb, ", ... (%zu calls)", s->n_names);
}

static void check_trace_notify(struct lctx *x)
{
	const struct cg_profile *p = &x->view;
	bool notify_any = p->default_action.kind == CG_ACT_NOTIFY;
	struct cg_pos first_notify = no_pos;

	for (size_t i = 0; i < p->n_syscalls; i++) {
		const struct cg_profile_syscall *s = &p->syscalls[i];
		struct cg_strbuf sb, danger;
		struct cg_lint_finding *f;
		bool dangerous = false;

		if (s->action.kind != CG_ACT_TRACE && s->action.kind != CG_ACT_NOTIFY)
			continue;
		cg_strbuf_init(&sb);
		cg_strbuf_init(&danger);
		names_list(s, &sb, 12);
		for (size_t j = 0; j < s->n_names; j++) {
			const struct cg_risk_class *rc = cg_risk_class_of(s->names[j]);
			if (rc && rc->severity >= CG_SEV_HIGH) {
				cg_strbuf_addf(&danger, "%s%s", dangerous ? ", " : "", s->names[j]);
				dangerous = true;
			}
		}
		if (s->action.kind == CG_ACT_TRACE) {
			f = add_finding(x, CG_SEV_MEDIUM, "trace-action", s->pos,
					"SCMP_ACT_TRACE for %s: a ptrace tracer decides whether the call runs and may rewrite "
					"it, so the rule is only as strong as whoever can attach; with no tracer attached the "
					"call fails with ENOSYS. Use SCMP_ACT_ERRNO to deny, or SCMP_ACT_NOTIFY for a supervisor",
					sb.buf ? sb.buf : "");
		} else {
			notify_any = true;
			if (!first_notify.line)
				first_notify = s->pos;
			f = add_finding(x, dangerous ? CG_SEV_MEDIUM : CG_SEV_LOW, "notify-action", s->pos,
					"SCMP_ACT_NOTIFY for %s: the supervisor%s%s decides at run time, so lint counts these "
					"calls neither allowed nor denied%s%s; a supervisor that answers CONTINUE lets the "
					"call run with arguments it cannot safely re-read (pointers can change after the check)",
					sb.buf ? sb.buf : "", x->p->listener_path ? " on " : "",
					x->p->listener_path ? x->p->listener_path : "", dangerous ? "; dangerous ones among them: " : "",
					dangerous ? danger.buf : "");
		}
		for (size_t j = 0; j < s->n_names; j++)
			finding_add_call(x, f, s->names[j]);
		cg_strbuf_release(&sb);
		cg_strbuf_release(&danger);
	}
	if (notify_any && !x->p->listener_path)
		add_finding(x, CG_SEV_HIGH, "notify-without-listener", first_notify,
			    "SCMP_ACT_NOTIFY without listenerPath: OCI runtimes hand the notification descriptor to the "
			    "agent at listenerPath, and runc refuses to start the container without one; set listenerPath "
			    "(capgate run supervises by itself)");
}

static void check_arches(struct lctx *x)
{
	uint32_t extra = x->c->arch_mask & ~CG_ARCH_BIT(x->native);
	struct cg_strbuf sb;
	struct cg_pos pos = no_pos;
	struct cg_lint_finding *f;

	if (x->native == CG_ARCH_X86_64 && (extra & CG_ARCH_BIT(CG_ARCH_X32))) {
		for (size_t i = 0; i < x->p->n_architectures; i++)
			if (cg_arch_lookup(x->p->architectures[i]) == CG_ARCH_X32 && x->p->arch_pos)
				pos = x->p->arch_pos[i];
		f = add_finding(x, CG_SEV_MEDIUM, "x32-allowed", pos,
				"the filter accepts x32 calls: the x32 ABI (numbers | 0x40000000 from 64-bit processes) "
				"doubles the system call surface through a rarely used entry path, and most distributions "
				"build kernels without it; drop SCMP_ARCH_X32%s",
				x->p->n_arch_map ? " from the archMap" : "");
		finding_add_call(x, f, "x32");
		extra &= ~CG_ARCH_BIT(CG_ARCH_X32);
	}
	if (!extra)
		return;
	pos = no_pos;
	cg_strbuf_init(&sb);
	for (unsigned a = 0; a < CG_ARCH_COUNT; a++)
		if (extra & CG_ARCH_BIT(a)) {
			cg_strbuf_addf(&sb, "%s%s", sb.len ? ", " : "", cg_arch_info((enum cg_arch_id)a)->name);
			for (size_t i = 0; i < x->p->n_architectures; i++)
				if (cg_arch_lookup(x->p->architectures[i]) == (int)a && x->p->arch_pos && !pos.line)
					pos = x->p->arch_pos[i];
		}
	add_finding(x, CG_SEV_MEDIUM, "extra-arch", pos,
		    "the filter also accepts %s calls besides native %s: every rule is compiled into that ABI's "
		    "system call table too, and compat entry paths have had their own bugs; drop %s unless the "
		    "workload runs such binaries",
		    sb.buf, cg_arch_info(x->native)->name, __builtin_popcount(extra) > 1 ? "them" : "it");
	cg_strbuf_release(&sb);
}

/* i386 programs reach every socket call through socketcall(2) too, whose
 * arguments are behind a pointer no filter can read: denying socket (or
 * allowing it only for some families) means nothing on x86 while
 * socketcall runs freely. capgate run denies the sub-calls itself;
 * libseccomp-based runtimes do as well, but a filter written by hand, or
 * read by another tool, may not. */
static void check_socketcall(struct lctx *x)
{
	struct call_status sock, sc;
	struct cg_lint_finding *f;

	if (!(x->c->arch_mask & CG_ARCH_BIT(CG_ARCH_X86)))
		return;
	sock = call_status(x, "socket");
	if (allows(&sock) && !sock.conditional)
		return;
	sc = call_status(x, "socketcall");
	if (sc.how == H_DENIED || sc.conditional)
		return;
	/* denied outright: every socket comes back; limited: the families left out do */
	f = add_finding(x, sock.how == H_DENIED ? CG_SEV_HIGH : CG_SEV_MEDIUM, "socketcall-bypass",
			permit_pos(x, "socketcall", false),
			"socket is %s, but the filter accepts x86 (i386) and allows socketcall, whose SYS_SOCKET "
			"sub-call creates any socket with its arguments out of the filter's sight; deny socketcall "
			"(i386 programs then use the direct calls, Linux >= 4.3) or drop SCMP_ARCH_X86",
			sock.how != H_DENIED ? "allowed only for some arguments" : "denied");
	finding_add_call(x, f, "socketcall");
}

/* A value a caller can pass to get through (permitting rule) or around
 * (denying rule) a 64-bit comparison on a 32-bit argument. */
static bool width_bypass(const struct cg_arg_cond *k, bool permits, uint64_t *ret_val, uint32_t *ret_seen)
{
	uint32_t v = (uint32_t)k->value;
	if (permits) {
		switch (k->op) {
		case CG_OP_NE:
		case CG_OP_GT:
			*ret_seen = v;
			break;
		case CG_OP_GE:
			if (!v)
				return false;
			*ret_seen = v - 1;
			break;
		default:
			return false;
		}
	} else {
		switch (k->op) {
		case CG_OP_EQ:
		case CG_OP_LT:
		case CG_OP_LE:
			if (k->op == CG_OP_LT && !v)
				return false;
			*ret_seen = k->op == CG_OP_LT ? v - 1 : k->op == CG_OP_LE ? v
										  : v;
			break;
		default:
			return false;
		}
	}
	*ret_val = UINT64_C(0x100000000) | *ret_seen;
	return true;
}

static void check_args(struct lctx *x)
{
	const struct cg_arch_info *ai = cg_arch_info(x->native);

	for (size_t i = 0; i < x->view.n_syscalls; i++) {
		const struct cg_profile_syscall *s = &x->view.syscalls[i];
		bool permits = cg_action_permits(s->action);
		unsigned seen[6] = { 0 };

		for (size_t a = 0; a < s->n_args; a++)
			if (s->args[a].index < 6)
				seen[s->args[a].index]++;
		for (unsigned idx = 0; idx < 6; idx++) {
			struct cg_strbuf sb;
			bool always = false;
			if (seen[idx] < 2)
				continue;
			cg_strbuf_init(&sb);
			for (size_t a = 0; a < s->n_args; a++)
				if (s->args[a].index == idx) {
					if (sb.len)
						cg_strbuf_addf(&sb, " OR ");
					cg_arg_cond_describe(&sb, &s->args[a]);
				}
			/* two != on different values: every value differs from one of them */
			for (size_t a = 0; a < s->n_args; a++)
				for (size_t b = a + 1; b < s->n_args; b++)
					if (s->args[a].index == idx && s->args[b].index == idx && s->args[a].op == CG_OP_NE &&
					    s->args[b].op == CG_OP_NE && s->args[a].value != s->args[b].value)
						always = true;
			add_finding(x, CG_SEV_MEDIUM, "repeated-arg-index", s->pos,
				    "argument %u is tested %u times in one rule: runc and capgate OR conditions on the same "
				    "index, so the rule for %s%s matches when %s%s; most readers expect AND. Write one "
				    "entry per alternative, or a single SCMP_CMP_MASKED_EQ",
				    idx, seen[idx], s->n_names ? s->names[0] : "?", s->n_names > 1 ? ", ..." : "",
				    sb.buf ? sb.buf : "", always ? " -- which is always true" : "");
			cg_strbuf_release(&sb);
		}
		if (ai->bits != 64)
			continue;
		for (size_t a = 0; a < s->n_args; a++) {
			const struct cg_arg_cond *k = &s->args[a];
			struct cg_strbuf names, cond;
			struct cg_lint_finding *f;
			struct cg_pos pos = no_pos;
			size_t n = 0;
			bool high = k->value > UINT32_MAX || (k->op == CG_OP_MASKED_EQ && k->value_two > UINT32_MAX);
			uint64_t bypass = 0;
			uint32_t seen_v = 0;
			bool by = width_bypass(k, permits, &bypass, &seen_v);

			if (!high && !by)
				continue;
			cg_strbuf_init(&names);
			for (size_t j = 0; j < s->n_names; j++)
				if (cg_syscall_arg_bits(s->names[j], k->index) == 32) {
					if (!n)
						pos = s->name_pos ? s->name_pos[j] : s->pos;
					cg_strbuf_addf(&names, "%s%s", n ? ", " : "", s->names[j]);
					n++;
				}
			if (!n) {
				cg_strbuf_release(&names);
				continue;
			}
			cg_strbuf_init(&cond);
			cg_arg_cond_describe(&cond, k);
			if (high)
				f = add_finding(x, CG_SEV_MEDIUM, "arg-width", pos,
						"%s: argument %u is 32 bits wide but '%s' uses the upper 32 bits, which the kernel "
						"never reads: capgate compares the low 32 bits, runc/libseccomp all 64, so the rule "
						"means different things in each; use a value below 2^32",
						names.buf, k->index, cond.buf);
			else
				f = add_finding(x, CG_SEV_MEDIUM, "arg-width", pos,
						"%s: argument %u is 32 bits wide; capgate compiles '%s' at that width, but "
						"runc/libseccomp compare all 64 bits, so under runc a caller passing %#llx (the "
						"kernel reads %u) %s; prefer SCMP_CMP_EQ/SCMP_CMP_MASKED_EQ in allow rules",
						names.buf, k->index, cond.buf, (unsigned long long)bypass, seen_v,
						permits ? "gets through this allow rule" : "escapes this denial");
			for (size_t j = 0; j < s->n_names; j++)
				if (cg_syscall_arg_bits(s->names[j], k->index) == 32)
					finding_add_call(x, f, s->names[j]);
			cg_strbuf_release(&names);
			cg_strbuf_release(&cond);
		}
	}
}

/* Present for start-up purposes: allowed, or left to a supervisor. */
static bool start_present(const struct lctx *x, const char *name)
{
	struct call_status st = call_status(x, name);
	return allows(&st) || st.how == H_NOTIFY;
}

static void check_start(struct lctx *x)
{
	struct cg_strbuf why, missing, fatal;
	struct cg_lint_finding *f;
	bool any_fatal = false;
	size_t n_missing = 0;

	if (cg_action_permits(x->c->default_action))
		return;
	cg_strbuf_init(&why);
	f = NULL;
	for (size_t i = 0; i < CG_ARRAY_SIZE(start_needs); i++) {
		const struct start_need *sn = &start_needs[i];
		bool have = false;
		if (sn->x86_64_only && (x->native != CG_ARCH_X86_64 || !(x->c->arch_mask & CG_ARCH_BIT(CG_ARCH_X86_64))))
			continue;
		for (const char *const *c = sn->any; *c && !have; c++)
			have = start_present(x, *c);
		if (!have)
			cg_strbuf_addf(&why, "%s%s", why.len ? "; " : "", sn->why);
	}
	if (why.len) {
		f = add_finding(x, CG_SEV_CRITICAL, "cannot-start", no_pos,
				"no program can run under this profile: %s",
				why.buf);
		for (size_t i = 0; i < CG_ARRAY_SIZE(start_needs); i++) {
			bool have = false;
			if (start_needs[i].x86_64_only && x->native != CG_ARCH_X86_64)
				continue;
			for (const char *const *c = start_needs[i].any; *c && !have; c++)
				have = start_present(x, *c);
			if (!have)
				finding_add_call(x, f, start_needs[i].any[0]);
		}
	}
	cg_strbuf_release(&why);

	/* a static program runs no loader: only start_needs apply */
	if (x->link == LINK_STATIC)
		return;
	cg_strbuf_init(&missing);
	cg_strbuf_init(&fatal);
	for (size_t i = 0; i < CG_ARRAY_SIZE(startup_calls); i++) {
		bool have = false, exists = false;
		if (x->link == LINK_GLIBC && !startup_calls[i].loader)
			continue;
		for (const char *const *c = startup_calls[i].any; *c && !have; c++) {
			exists |= cg_syscall_nr(x->native, *c) >= 0;
			have = start_present(x, *c);
		}
		if (have || !exists)
			continue;
		cg_strbuf_addf(&missing, "%s%s", n_missing ? ", " : "", startup_calls[i].any[0]);
		n_missing++;
		if (startup_calls[i].fatal) {
			cg_strbuf_addf(&fatal, "%s%s", any_fatal ? ", " : "", startup_calls[i].any[0]);
			any_fatal = true;
		}
	}
	if (n_missing) {
		const char *tail = any_fatal ? " the dynamic loader aborts" : "";
		if (x->link == LINK_GLIBC)
			f = add_finding(x, any_fatal ? CG_SEV_HIGH : CG_SEV_MEDIUM, "startup-calls", no_pos,
					"%s is dynamically linked against glibc, whose loader and start-up make these calls "
					"before main(), which the profile denies: %s%s%s%s",
					x->binary, missing.buf, any_fatal ? " -- without " : "", any_fatal ? fatal.buf : "", tail);
		else if (x->link == LINK_OTHER)
			f = add_finding(x, any_fatal ? CG_SEV_HIGH : CG_SEV_MEDIUM, "startup-calls", no_pos,
					"%s is dynamically linked; a dynamically linked program usually makes these calls "
					"before main(), which the profile denies: %s%s%s%s",
					x->binary, missing.buf, any_fatal ? " -- without " : "", any_fatal ? fatal.buf : "", tail);
		else
			f = add_finding(x, any_fatal ? CG_SEV_HIGH : CG_SEV_MEDIUM, "startup-calls", no_pos,
					"a dynamically linked program (nginx, say) usually makes these calls before main(), "
					"which the profile denies: %s%s%s%s (give the program with --binary to have it "
					"checked: a static one makes none of them)",
					missing.buf, any_fatal ? " -- without " : "", any_fatal ? fatal.buf : "", tail);
		for (size_t i = 0; i < CG_ARRAY_SIZE(startup_calls); i++) {
			bool have = false, exists = false;
			if (x->link == LINK_GLIBC && !startup_calls[i].loader)
				continue;
			for (const char *const *c = startup_calls[i].any; *c && !have; c++) {
				exists |= cg_syscall_nr(x->native, *c) >= 0;
				have = start_present(x, *c);
			}
			if (!have && exists)
				finding_add_call(x, f, startup_calls[i].any[0]);
		}
	}
	cg_strbuf_release(&missing);
	cg_strbuf_release(&fatal);
}

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), prev[64], cur[64];
	if (la >= 63 || lb >= 63)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + ((a[i - 1] | 0x20) == (b[j - 1] | 0x20) ? 0 : 1);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, (lb + 1) * sizeof(*prev));
	}
	return prev[lb];
}

static const char *suggest_syscall(const char *name)
{
	const char *best = NULL, *s;
	size_t bd = 3;
	for (size_t i = 0; (s = cg_syscall_name_at(i)) != NULL; i++) {
		size_t d = edit_distance(name, s);
		if (d < bd) {
			bd = d;
			best = s;
		}
	}
	return best;
}

static void check_unknown(struct lctx *x)
{
	const struct cg_profile *p = x->p;
	bool default_permits = cg_action_permits(p->default_action);
	unsigned suggested = 0; /* a suggestion scans the whole table: a few are enough */

	for (size_t i = 0; i < p->n_syscalls; i++) {
		const struct cg_profile_syscall *s = &p->syscalls[i];
		bool denies = !cg_action_permits(s->action);
		for (size_t j = 0; j < s->n_names; j++) {
			const char *sug;
			struct cg_lint_finding *f;
			char hint[96] = "";
			if (!s->names[j] || cg_syscall_known(s->names[j]))
				continue;
			sug = suggested++ < 16 ? suggest_syscall(s->names[j]) : NULL;
			if (sug)
				snprintf(hint, sizeof(hint), " (did you mean '%s'?)", sug);
			if (denies || default_permits)
				f = add_finding(x, CG_SEV_HIGH, "unknown-syscall", s->name_pos ? s->name_pos[j] : s->pos,
						"unknown system call '%s'%s in a %s rule: runc/libseccomp skip names they do not "
						"know, so %s; capgate refuses to load the profile",
						s->names[j], hint, cg_action_name(s->action.kind),
						denies ? "the denial silently does nothing" : "the rule silently does nothing");
			else
				f = add_finding(x, CG_SEV_LOW, "unknown-syscall", s->name_pos ? s->name_pos[j] : s->pos,
						"unknown system call '%s'%s: no kernel capgate knows has it, so the entry allows "
						"nothing; capgate skips it",
						s->names[j], hint);
			finding_add_call(x, f, s->names[j]);
		}
	}
}

static void check_notes(struct lctx *x)
{
	const struct cg_profile *p = x->p;
	for (size_t i = 0; i < p->n_notes; i++) {
		const struct cg_profile_note *nt = &p->notes[i];
		const char *key = nt->path ? strrchr(nt->path, '.') : NULL;
		const char *best = NULL;
		size_t bd = 3;
		key = key ? key + 1 : nt->path ? nt->path
					       : "";
		for (size_t k = 0; k < CG_ARRAY_SIZE(known_fields); k++) {
			size_t d = edit_distance(key, known_fields[k]);
			if (d < bd && d < strlen(key)) {
				bd = d;
				best = known_fields[k];
			}
		}
		if (best && strcmp(best, key) != 0) {
			bool weighty = false;
			for (size_t k = 0; k < CG_ARRAY_SIZE(weighty_fields); k++)
				weighty |= strcmp(best, weighty_fields[k]) == 0;
			add_finding(x, weighty ? CG_SEV_MEDIUM : CG_SEV_LOW, "ignored-field", nt->pos,
				    "%s: %s -- did you mean '%s'? Other runtimes drop it silently%s", nt->path, nt->msg, best,
				    weighty ? ", so the profile does not say what it seems to" : "");
		} else {
			add_finding(x, CG_SEV_LOW, "ignored-field", nt->pos, "%s: %s", nt->path, nt->msg);
		}
	}
}

static void check_overlaps(struct lctx *x)
{
	const struct cg_closure *c = x->c;
	size_t i = 0;

	while (i < c->n_rules) {
		size_t j = i;
		const char *name = c->rules[i].name;
		const struct cg_rule *uallow = NULL, *udeny = NULL, *cdeny = NULL, *callow = NULL;
		while (j < c->n_rules && strcmp(c->rules[j].name, name) == 0)
			j++;
		for (size_t k = i; k < j; k++) {
			const struct cg_rule *r = &c->rules[k];
			bool perm = how_of(r->action) >= H_LOG;
			if (!rule_in_scope(x, r) || r->phases)
				continue;
			if (perm && !r->n_args && !uallow)
				uallow = r;
			else if (perm && r->n_args && !callow)
				callow = r;
			else if (!perm && how_of(r->action) == H_DENIED && !r->n_args &&
				 (!udeny || cg_action_cmp(r->action, udeny->action) < 0))
				udeny = r;
			else if (!perm && how_of(r->action) == H_DENIED && r->n_args && !cdeny)
				cdeny = r;
		}
		if (uallow && udeny) {
			struct cg_lint_finding *f;
			char b[48];
			struct cg_pos pa = rule_pos(x, uallow), pd = rule_pos(x, udeny);
			bool allow_first = pa.line && (!pd.line || pa.line < pd.line ||
						       (pa.line == pd.line && pa.col < pd.col));
			const struct cg_risk_class *rc = cg_risk_class_of(name);
			f = add_finding(x, allow_first && rc ? CG_SEV_HIGH : CG_SEV_MEDIUM, "conflicting-rule",
					pd.line ? pd : pa,
					"%s is both allowed (line %d) and denied (line %d) without conditions: capgate applies "
					"the more restrictive action (%s), but libseccomp (runc, crun) keeps whichever entry "
					"comes first, so under those runtimes the call is %s. Keep one",
					name, pa.line, pd.line, cg_action_describe(udeny->action, b, sizeof(b)),
					allow_first ? "allowed" : "denied as well");
			finding_add_call(x, f, name);
		} else if (uallow && cdeny) {
			struct cg_lint_finding *f;
			struct cg_strbuf sb;
			char b[48];
			struct cg_pos pa = rule_pos(x, uallow), pd = rule_pos(x, cdeny);
			cg_strbuf_init(&sb);
			describe_rule_conds(&sb, cdeny);
			f = add_finding(x, CG_SEV_MEDIUM, "conflicting-rule", pd.line ? pd : pa,
					"%s is allowed without conditions (line %d) and denied when %s (line %d): capgate "
					"applies the denial when its conditions hold (kernel precedence: %s before allow), "
					"but libseccomp/runc keep only the unconditional rule, so under runc the denial never "
					"happens. Narrow the allow instead",
					name, pa.line, sb.buf ? sb.buf : "", pd.line,
					cg_action_describe(cdeny->action, b, sizeof(b)));
			finding_add_call(x, f, name);
			cg_strbuf_release(&sb);
		} else if (udeny && callow && cg_action_cmp(udeny->action, callow->action) < 0) {
			struct cg_lint_finding *f;
			struct cg_pos pa = rule_pos(x, callow), pd = rule_pos(x, udeny);
			f = add_finding(x, CG_SEV_LOW, "shadowed-rule", pa.line ? pa : pd,
					"the conditional allow of %s (line %d) never takes effect: the call is denied "
					"without conditions (line %d)",
					name, pa.line, pd.line);
			finding_add_call(x, f, name);
		}
		i = j;
	}
}

static void check_size(struct lctx *x, unsigned bound)
{
	const char **names = NULL;
	size_t n = 0;

	if (cg_action_permits(x->c->default_action))
		return;
	if (cg_closure_permitted_names(x->c, -1, &names, &n) < 0) {
		x->oom = true;
		return;
	}
	free(names);
	if (n > bound)
		add_finding(x, CG_SEV_INFO, "size", no_pos,
			    "permits %zu system calls, %zu over the bound of %u; real servers meet it "
			    "only per phase (capgate.phases)",
			    n, n - bound, bound);
	else
		add_finding(x, CG_SEV_INFO, "size", no_pos, "permits %zu system calls, within the bound of %u", n, bound);
	for (unsigned ph = 0; ph < x->c->n_phases; ph++) {
		if (cg_closure_permitted_names(x->c, (int)ph, &names, &n) < 0) {
			x->oom = true;
			return;
		}
		free(names);
		add_finding(x, CG_SEV_INFO, "size", no_pos, "phase '%s' permits %zu system calls (bound %u)%s",
			    x->c->phase_names[ph], n, bound, n > bound ? ": over" : "");
	}
}

/* ---- report ------------------------------------------------------------------ */

static int finding_cmp(const struct cg_lint_finding *a, const struct cg_lint_finding *b)
{
	if (a->severity != b->severity)
		return a->severity > b->severity ? -1 : 1;
	if (a->pos.line != b->pos.line)
		return a->pos.line < b->pos.line ? -1 : 1;
	if (a->pos.col != b->pos.col)
		return a->pos.col < b->pos.col ? -1 : 1;
	return 0;
}

void cg_lint_report_free(struct cg_lint_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		struct cg_lint_finding *f = &r->findings[i];
		free(f->message);
		for (size_t j = 0; j < f->n_calls; j++)
			free(f->calls[j]);
		free(f->calls);
	}
	free(r->findings);
	free(r->source);
	free(r->name);
	free(r);
}

int cg_lint_profile(const struct cg_profile *p, const struct cg_lint_opts *o, struct cg_lint_report **ret,
		    struct cg_error *err)
{
	struct cg_lint_opts opts = { .sz = sizeof(opts) };
	struct lctx x = { .p = p, .err = err };
	struct cg_lint_report *rep;
	int r;

	if (!p || !ret)
		return cg_error_set(err, -EINVAL, "lint: no profile");
	if ((r = CG_OPTS_COPY(&opts, o)) < 0)
		return cg_opts_error(err, r, "cg_lint_opts");
	if (!opts.size_bound)
		opts.size_bound = 35;
	if (opts.binary && (r = elf_link_kind(opts.binary, &x.link, err)) < 0)
		return r;
	x.binary = opts.binary;
	x.ro = (struct cg_resolve_opts){ .sz = sizeof(x.ro), .native_arch = -1, .default_caps = true };
	if ((r = CG_OPTS_COPY(&x.ro, opts.resolve)) < 0)
		return cg_opts_error(err, r, "cg_resolve_opts");
	x.native = x.ro.native_arch >= 0 && x.ro.native_arch < CG_ARCH_COUNT ? (enum cg_arch_id)x.ro.native_arch
									     : cg_arch_native();
	x.ro.native_arch = (int)x.native;
	x.kmaj = x.ro.kernel_major;
	x.kmin = x.ro.kernel_minor;
	if (!x.kmaj) {
		struct utsname u;
		if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &x.kmaj, &x.kmin) != 2)
			return cg_error_set(err, -EINVAL, "cannot read the running kernel's version");
		x.ro.kernel_major = x.kmaj;
		x.ro.kernel_minor = x.kmin;
	}

	rep = calloc(1, sizeof(*rep));
	if (!rep)
		return cg_error_set(err, -ENOMEM, "out of memory");
	x.rep = rep;
	rep->source = xstrdup(&x, p->source ? p->source : "<profile>");
	if (p->name)
		rep->name = xstrdup(&x, p->name);

	r = view_build(p, &x.view);
	if (r < 0) {
		cg_error_set(err, r, "out of memory");
		goto fail;
	}
	r = cg_profile_resolve(&x.view, &x.ro, &x.c, err);
	if (r < 0)
		goto fail;
	x.applies = calloc(x.view.n_syscalls + 1, sizeof(*x.applies));
	if (!x.applies) {
		r = cg_error_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < x.view.n_syscalls; i++)
		if (x.view.syscalls[i].n_names && (r = entry_applies(&x, i, &x.ro, &x.applies[i])) < 0) {
			cg_error_set(err, r, "%s: cannot resolve entry %zu", rep->source, i);
			goto fail;
		}

	check_default(&x);
	check_dangerous(&x);
	check_cap_gated(&x);
	check_trace_notify(&x);
	check_arches(&x);
	check_socketcall(&x);
	check_args(&x);
	check_start(&x);
	check_unknown(&x);
	check_notes(&x);
	check_overlaps(&x);
	check_size(&x, opts.size_bound);
	if (x.oom) {
		r = cg_error_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	/* stable: findings of equal rank stay in the order the checks made them */
	for (size_t i = 1; i < rep->n; i++) {
		struct cg_lint_finding t = rep->findings[i];
		size_t j = i;
		for (; j > 0 && finding_cmp(&rep->findings[j - 1], &t) > 0; j--)
			rep->findings[j] = rep->findings[j - 1];
		rep->findings[j] = t;
	}
	free(x.applies);
	cg_closure_free(x.c);
	view_release(&x.view);
	*ret = rep;
	return 0;
fail:
	free(x.applies);
	cg_closure_free(x.c);
	view_release(&x.view);
	cg_lint_report_free(rep);
	return r;
}

size_t cg_lint_report_count(const struct cg_lint_report *r, enum cg_severity min)
{
	size_t n = 0;
	for (size_t i = 0; r && i < r->n; i++)
		n += r->findings[i].severity >= min;
	return n;
}

size_t cg_lint_report_findings(const struct cg_lint_report *r, const struct cg_lint_finding **ret)
{
	*ret = r->findings;
	return r->n;
}

const struct cg_lint_finding *cg_lint_report_find(const struct cg_lint_report *r, const char *id)
{
	for (size_t i = 0; r && i < r->n; i++)
		if (strcmp(r->findings[i].rule, id) == 0)
			return &r->findings[i];
	return NULL;
}

void cg_lint_report_write_text(const struct cg_lint_report *r, struct cg_strbuf *out)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct cg_lint_finding *f = &r->findings[i];
		if (f->pos.line > 0)
			cg_strbuf_addf(out, "%s:%d:%d: ", r->source, f->pos.line, f->pos.col);
		else
			cg_strbuf_addf(out, "%s: ", r->source);
		cg_strbuf_addf(out, "%s: %s: %s%s%s\n", cg_severity_name(f->severity), f->rule, r->name ? r->name : "",
			       r->name ? ": " : "", f->message);
	}
}

size_t cg_lint_reports_count(const struct cg_lint_reports *set, enum cg_severity min)
{
	size_t n = 0;
	for (size_t i = 0; i < set->n; i++)
		n += cg_lint_report_count(set->v[i], min);
	return n;
}

void cg_lint_reports_write_text(const struct cg_lint_reports *set, struct cg_strbuf *out)
{
	for (size_t i = 0; i < set->n; i++)
		cg_lint_report_write_text(set->v[i], out);
}

static void write_finding_json(struct cg_json *j, const struct cg_lint_report *r, const struct cg_lint_finding *f)
{
	cg_json_obj_open_inline(j);
	cg_json_kv_str(j, "file", r->source);
	if (r->name)
		cg_json_kv_str(j, "profile", r->name);
	cg_json_kv_int(j, "line", f->pos.line);
	cg_json_kv_int(j, "column", f->pos.col);
	cg_json_kv_str(j, "severity", cg_severity_name(f->severity));
	cg_json_kv_str(j, "rule", f->rule);
	cg_json_kv_str(j, "message", f->message);
	cg_json_key(j, "calls");
	cg_json_arr_open(j);
	for (size_t k = 0; k < f->n_calls; k++)
		cg_json_str(j, f->calls[k]);
	cg_json_arr_close(j);
	cg_json_obj_close(j);
}

int cg_lint_reports_write_json(const struct cg_lint_reports *set, struct cg_strbuf *out)
{
	struct cg_json j;

	cg_json_init(&j, out, 2);
	cg_json_arr_open(&j);
	for (size_t i = 0; i < set->n; i++)
		for (size_t k = 0; k < set->v[i]->n; k++)
			write_finding_json(&j, set->v[i], &set->v[i]->findings[k]);
	cg_json_arr_close(&j);
	return cg_json_finish(&j);
}

int cg_lint_path(const char *path, const struct cg_lint_opts *o, struct cg_lint_reports *set, struct cg_error *err)
{
	const char *source = strcmp(path, "-") == 0 ? "<stdin>" : path;
	struct cg_profile **profiles = NULL;
	struct cg_lint_report **v;
	char *buf = NULL;
	size_t len = 0, n = 0, done = 0;
	int r;

	r = cg_read_file_max(path, CG_READ_PROFILE_MAX, 0, &buf, &len, err);
	if (r < 0)
		return r;
	r = cg_profile_parse_all(buf, len, source, &profiles, &n, err);
	free(buf);
	if (r < 0)
		return r;
	v = realloc(set->v, (set->n + n + 1) * sizeof(*v));
	if (!v) {
		r = cg_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	set->v = v;
	for (; done < n; done++) {
		r = cg_lint_profile(profiles[done], o, &v[set->n + done], err);
		if (r < 0)
			break;
	}
	if (r < 0) /* all or nothing: the set is as it was */
		while (done)
			cg_lint_report_free(v[set->n + --done]);
	set->n += done;
out:
	for (size_t i = 0; i < n; i++)
		cg_profile_free(profiles[i]);
	free(profiles);
	return r;
}

void cg_lint_reports_release(struct cg_lint_reports *set)
{
	for (size_t i = 0; i < set->n; i++)
		cg_lint_report_free(set->v[i]);
	free(set->v);
	set->v = NULL;
	set->n = 0;
}
