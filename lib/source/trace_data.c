// SPDX-License-Identifier: Apache-2.0
/*
 * The record of a run (struct cg_trace_data) and the closure built from it.
 * Kept apart from the recorders that fill it (trace_bpf.c, trace_ptrace.c):
 * this is the part every source of a dynamic closure shares, and it needs
 * neither libbpf nor a live kernel (the unit tests build records by hand). Which argument values are kept is policy as data (the
 * sorted argkinds table), computed the same way as in trace.bpf.c.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error_internal.h"
#include "source/trace_internal.h"
#include "source/trace_shared.h"
#include "testing.h"

static const enum cg_arch_id slot_arch[CG_TRACE_NARCH] = { CG_ARCH_X86_64, CG_ARCH_X86, CG_ARCH_X32 };

enum cg_arch_id cg_trace_slot_arch(unsigned slot)
{
	return slot < CG_TRACE_NARCH ? slot_arch[slot] : CG_ARCH_X86_64;
}

const char *cg_trace_slot_name(unsigned slot, uint32_t nr)
{
	return cg_syscall_name(slot_arch[slot], slot == 2 ? nr | CG_X32_SYSCALL_BIT : nr);
}

/* ---- which arguments are kept: policy as data, sorted by name ------------- */

static const struct {
	const char *name;
	uint8_t kind;
} argkinds[] = {
	{ "clone", CGT_ARG_CLONE },
	{ "clone3", CGT_ARG_CLONE3 },
	{ "fcntl", CGT_ARG_A1 },
	{ "fcntl64", CGT_ARG_A1 },
	{ "ioctl", CGT_ARG_A1 },
	{ "ipc", CGT_ARG_A0 }, /* i386 multiplexer: which call (version << 16 | op) */
	{ "kill", CGT_ARG_SIG_A1 },
	{ "mmap", CGT_ARG_PROT_EXEC },
	{ "mmap2", CGT_ARG_PROT_EXEC },
	{ "mprotect", CGT_ARG_PROT_EXEC },
	{ "personality", CGT_ARG_A0 },
	{ "pidfd_send_signal", CGT_ARG_SIG_PIDFD },
	{ "pkey_mprotect", CGT_ARG_PROT_EXEC },
	{ "prctl", CGT_ARG_A0 },
	{ "rt_sigqueueinfo", CGT_ARG_SIG_A1 },
	{ "rt_tgsigqueueinfo", CGT_ARG_SIG_A2 },
	{ "setsockopt", CGT_ARG_SOCKOPT },
	{ "socket", CGT_ARG_SOCKET },
	{ "socketcall", CGT_ARG_A0 }, /* i386 multiplexer: which call (SYS_SOCKET, ...) */
	{ "tgkill", CGT_ARG_SIG_A2 },
	{ "tkill", CGT_ARG_SIG_A1 },
	{ "unshare", CGT_ARG_UNSHARE },
};

bool cg_trace_argkinds_sorted(void)
{
	for (size_t i = 1; i < CG_ARRAY_SIZE(argkinds); i++)
		if (strcmp(argkinds[i - 1].name, argkinds[i].name) >= 0)
			return false;
	return true;
}

int cg_trace_argkind(enum cg_arch_id arch, const char *name)
{
	size_t lo = 0, hi = CG_ARRAY_SIZE(argkinds);
	if (!name)
		return 0;
	/* i386 "mmap" is old_mmap: its arguments are in a struct in memory. */
	if (arch == CG_ARCH_X86 && strcmp(name, "mmap") == 0)
		return 0;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(name, argkinds[mid].name);
		if (c == 0)
			return argkinds[mid].kind;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

/* The value kept for one call: the same computation as the BPF program. For
 * CGT_ARG_CLONE3 @a[0] must already hold clone_args.flags. */
static uint64_t arg_value(int kind, unsigned slot, const uint64_t a0[6], pid_t tgid)
{
	uint64_t a[6];
	for (int i = 0; i < 6; i++)
		a[i] = slot == 1 ? a0[i] & 0xffffffffu : a0[i];
	switch (kind) {
	case CGT_ARG_SOCKET:
		return (a[0] & 0xffffffffu) << 32 | (a[1] & 0xffffffffu);
	case CGT_ARG_CLONE:
		return a[0] & CGT_NS_FLAGS;
	case CGT_ARG_CLONE3:
	case CGT_ARG_UNSHARE:
		return a[0] & (CGT_NS_FLAGS | CGT_CLONE_NEWTIME);
	case CGT_ARG_A0:
		return a[0];
	case CGT_ARG_A1:
		return a[1];
	case CGT_ARG_PROT_EXEC:
		return a[2] & CGT_PROT_EXEC;
	case CGT_ARG_SOCKOPT:
		return (a[1] & 0xffffffffu) << 32 | (a[2] & 0xffffffffu);
	case CGT_ARG_SIG_A1:
		return (a[1] & 0xffffffffu) | (uint64_t)((int32_t)a[0] != (int32_t)tgid) << 32;
	case CGT_ARG_SIG_A2:
		return (a[2] & 0xffffffffu) | (uint64_t)((int32_t)a[0] != (int32_t)tgid) << 32;
	case CGT_ARG_SIG_PIDFD:
		return (a[1] & 0xffffffffu) | 1ull << 32;
	}
	return 0;
}

/* ---- the record ------------------------------------------------------------ */

struct cg_trace_data *cg_trace_data_new(void)
{
	return calloc(1, sizeof(struct cg_trace_data));
}

void cg_trace_data_free(struct cg_trace_data *d)
{
	if (!d)
		return;
	free(d->vals);
	free(d);
}

static int val_cmp(const struct cg_trace_argval *a, const struct cg_trace_argval *b)
{
	if (a->slot != b->slot)
		return a->slot < b->slot ? -1 : 1;
	if (a->nr != b->nr)
		return a->nr < b->nr ? -1 : 1;
	if (a->phase != b->phase)
		return a->phase < b->phase ? -1 : 1;
	if (a->value != b->value)
		return a->value < b->value ? -1 : 1;
	return 0;
}

static int val_qsort(const void *a, const void *b) { return val_cmp(a, b); }

int cg_trace_data_add_value(struct cg_trace_data *d, const struct cg_trace_argval *v)
{
	size_t lo = 0, hi = d->n_vals;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = val_cmp(v, &d->vals[mid]);
		if (c == 0) {
			d->vals[mid].count += v->count;
			return 0;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	if ((d->n_vals & (d->n_vals + 1)) == 0 || !d->vals) { /* grow at 2^k - 1 */
		struct cg_trace_argval *n = realloc(d->vals, (d->n_vals * 2 + 2) * sizeof(*n));
		if (!n)
			return -ENOMEM;
		d->vals = n;
	}
	memmove(&d->vals[lo + 1], &d->vals[lo], (d->n_vals - lo) * sizeof(*v));
	d->vals[lo] = *v;
	d->n_vals++;
	return 0;
}

int cg_trace_data_add(struct cg_trace_data *d, unsigned slot, uint32_t nr, unsigned phase, const uint64_t args[6],
		      pid_t tgid)
{
	int kind;

	if (slot >= CG_TRACE_NARCH || phase >= CG_TRACE_NPHASE)
		return -EINVAL;
	if (nr >= CG_TRACE_NR_MAX) {
		d->bad_nr++;
		return -ERANGE;
	}
	d->counts[slot][nr][phase]++;
	if (!args || !(kind = cg_trace_argkind(slot_arch[slot], cg_trace_slot_name(slot, nr))))
		return 0;
	struct cg_trace_argval v = { .slot = (uint8_t)slot, .phase = (uint8_t)phase, .nr = (uint16_t)nr, .value = arg_value(kind, slot, args, tgid), .count = 1 };
	if (cg_trace_data_add_value(d, &v) < 0) {
		d->lost_args++;
		return -ENOMEM;
	}
	return 0;
}

void cg_trace_data_finish(struct cg_trace_data *d)
{
	size_t out = 0;
	if (d->n_vals)
		qsort(d->vals, d->n_vals, sizeof(*d->vals), val_qsort);
	for (size_t i = 0; i < d->n_vals; i++) {
		if (out && val_cmp(&d->vals[out - 1], &d->vals[i]) == 0) {
			d->vals[out - 1].count += d->vals[i].count;
			continue;
		}
		d->vals[out++] = d->vals[i];
	}
	d->n_vals = out;
}

void cg_trace_data_totals(const struct cg_trace_data *d, int phase, uint64_t *ret_calls, unsigned *ret_distinct)
{
	uint64_t calls = 0;
	unsigned distinct = 0;
	for (unsigned s = 0; s < CG_TRACE_NARCH; s++)
		for (unsigned nr = 0; nr < CG_TRACE_NR_MAX; nr++) {
			uint64_t n = 0;
			for (unsigned p = 0; p < CG_TRACE_NPHASE; p++)
				if (phase < 0 || (unsigned)phase == p)
					n += d->counts[s][nr][p];
			calls += n;
			distinct += n > 0;
		}
	if (ret_calls)
		*ret_calls = calls;
	if (ret_distinct)
		*ret_distinct = distinct;
}

void cg_trace_data_info(const struct cg_trace_data *d, struct cg_trace_data_info *ret)
{
	*ret = (struct cg_trace_data_info){
		.phased = d->phased,
		.serving = d->serving,
		.exec_seen = d->exec_seen,
		.lost_tasks = d->lost_tasks,
		.lost_args = d->lost_args,
		.bad_nr = d->bad_nr,
		.n_values = d->n_vals,
		.window_calls = d->window_calls,
		.window_open_at_end = d->window_open_at_end,
	};
}

/* ---- values in words -------------------------------------------------------- */

struct named {
	uint64_t v;
	const char *name;
};

static const char *lookup_name(const struct named *t, size_t n, uint64_t v)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].v == v)
			return t[i].name;
	return NULL;
}

static const struct named af_names[] = {
	{ 1, "AF_UNIX" },
	{ 2, "AF_INET" },
	{ 10, "AF_INET6" },
	{ 16, "AF_NETLINK" },
	{ 17, "AF_PACKET" },
	{ 38, "AF_ALG" },
	{ 40, "AF_VSOCK" },
	{ 44, "AF_XDP" },
};
static const struct named sock_names[] = {
	{ 1, "SOCK_STREAM" },
	{ 2, "SOCK_DGRAM" },
	{ 3, "SOCK_RAW" },
	{ 5, "SOCK_SEQPACKET" },
};
static const struct named prctl_names[] = {
	{ 1, "PR_SET_PDEATHSIG" },
	{ 4, "PR_SET_DUMPABLE" },
	{ 8, "PR_SET_KEEPCAPS" },
	{ 15, "PR_SET_NAME" },
	{ 16, "PR_GET_NAME" },
	{ 22, "PR_SET_SECCOMP" },
	{ 23, "PR_CAPBSET_READ" },
	{ 24, "PR_CAPBSET_DROP" },
	{ 36, "PR_SET_CHILD_SUBREAPER" },
	{ 38, "PR_SET_NO_NEW_PRIVS" },
	{ 47, "PR_CAP_AMBIENT" },
	{ 0x53564d41, "PR_SET_VMA" },
};
static const struct named fcntl_names[] = {
	{ 0, "F_DUPFD" },
	{ 1, "F_GETFD" },
	{ 2, "F_SETFD" },
	{ 3, "F_GETFL" },
	{ 4, "F_SETFL" },
	{ 5, "F_GETLK" },
	{ 6, "F_SETLK" },
	{ 7, "F_SETLKW" },
	{ 8, "F_SETOWN" },
	{ 9, "F_GETOWN" },
	{ 1030, "F_DUPFD_CLOEXEC" },
	{ 1033, "F_ADD_SEALS" },
	{ 1034, "F_GET_SEALS" },
	{ 36, "F_OFD_GETLK" },
	{ 37, "F_OFD_SETLK" },
	{ 38, "F_OFD_SETLKW" },
};
static const struct named ioctl_names[] = {
	{ 0x5401, "TCGETS" },
	{ 0x5402, "TCSETS" },
	{ 0x540f, "TIOCGPGRP" },
	{ 0x5413, "TIOCGWINSZ" },
	{ 0x541b, "FIONREAD" },
	{ 0x5421, "FIONBIO" },
	{ 0x5450, "FIONCLEX" },
	{ 0x5451, "FIOCLEX" },
	{ 0x5452, "FIOASYNC" },
};
static const struct named socketcall_names[] = {
	/* <linux/net.h> */
	{ 1, "SYS_SOCKET" },
	{ 2, "SYS_BIND" },
	{ 3, "SYS_CONNECT" },
	{ 4, "SYS_LISTEN" },
	{ 5, "SYS_ACCEPT" },
	{ 6, "SYS_GETSOCKNAME" },
	{ 7, "SYS_GETPEERNAME" },
	{ 8, "SYS_SOCKETPAIR" },
	{ 9, "SYS_SEND" },
	{ 10, "SYS_RECV" },
	{ 11, "SYS_SENDTO" },
	{ 12, "SYS_RECVFROM" },
	{ 13, "SYS_SHUTDOWN" },
	{ 14, "SYS_SETSOCKOPT" },
	{ 15, "SYS_GETSOCKOPT" },
	{ 16, "SYS_SENDMSG" },
	{ 17, "SYS_RECVMSG" },
	{ 18, "SYS_ACCEPT4" },
	{ 19, "SYS_RECVMMSG" },
	{ 20, "SYS_SENDMMSG" },
};
static const struct named ipc_names[] = {
	/* <linux/ipc.h>: the op, without the version */
	{ 1, "SEMOP" },
	{ 2, "SEMGET" },
	{ 3, "SEMCTL" },
	{ 4, "SEMTIMEDOP" },
	{ 11, "MSGSND" },
	{ 12, "MSGRCV" },
	{ 13, "MSGGET" },
	{ 14, "MSGCTL" },
	{ 21, "SHMAT" },
	{ 22, "SHMDT" },
	{ 23, "SHMGET" },
	{ 24, "SHMCTL" },
};
static const struct named level_names[] = {
	{ 0, "IPPROTO_IP" },
	{ 1, "SOL_SOCKET" },
	{ 6, "IPPROTO_TCP" },
	{ 17, "IPPROTO_UDP" },
	{ 41, "IPPROTO_IPV6" },
};
static const struct named ns_names[] = {
	{ 0x80, "CLONE_NEWTIME" },
	{ 0x20000, "CLONE_NEWNS" },
	{ 0x2000000, "CLONE_NEWCGROUP" },
	{ 0x4000000, "CLONE_NEWUTS" },
	{ 0x8000000, "CLONE_NEWIPC" },
	{ 0x10000000, "CLONE_NEWUSER" },
	{ 0x20000000, "CLONE_NEWPID" },
	{ 0x40000000, "CLONE_NEWNET" },
};

#define NAMED(t, v) lookup_name((t), CG_ARRAY_SIZE(t), (v))

static void add_named(struct cg_strbuf *out, const char *name, uint64_t v)
{
	if (name)
		cg_strbuf_addf(out, "%s", name);
	else
		cg_strbuf_addf(out, "%#llx", (unsigned long long)v);
}

void cg_trace_arg_describe(const char *name, int kind, uint64_t v, struct cg_strbuf *out)
{
	(void)name;
	switch (kind) {
	case CGT_ARG_SOCKET: {
		uint32_t type = (uint32_t)v, base = type & 0xf;
		add_named(out, NAMED(af_names, v >> 32), v >> 32);
		CG_STRBUF_LIT(out, ", ");
		add_named(out, NAMED(sock_names, base), base);
		if (type & 04000)
			CG_STRBUF_LIT(out, "|SOCK_NONBLOCK");
		if (type & 02000000)
			CG_STRBUF_LIT(out, "|SOCK_CLOEXEC");
		if (type & ~(0xfu | 04000 | 02000000))
			cg_strbuf_addf(out, "|%#x", type & ~(0xfu | 04000 | 02000000));
		break;
	}
	case CGT_ARG_CLONE:
	case CGT_ARG_CLONE3:
	case CGT_ARG_UNSHARE: {
		bool first = true;
		if (!v) {
			CG_STRBUF_LIT(out, "no namespace flags");
			break;
		}
		for (size_t i = 0; i < CG_ARRAY_SIZE(ns_names); i++)
			if (v & ns_names[i].v) {
				cg_strbuf_addf(out, "%s%s", first ? "" : "|", ns_names[i].name);
				first = false;
			}
		break;
	}
	case CGT_ARG_A0:
	case CGT_ARG_A1: {
		const char *n = NULL;
		if (name && strcmp(name, "prctl") == 0)
			n = NAMED(prctl_names, v);
		else if (name && strncmp(name, "fcntl", 5) == 0)
			n = NAMED(fcntl_names, v);
		else if (name && strcmp(name, "ioctl") == 0)
			n = NAMED(ioctl_names, v & 0xffffffffu);
		else if (name && strcmp(name, "socketcall") == 0)
			n = NAMED(socketcall_names, v);
		else if (name && strcmp(name, "ipc") == 0)
			n = NAMED(ipc_names, v & 0xffff);
		if (n)
			cg_strbuf_addf(out, "%s (%#llx)", n, (unsigned long long)v);
		else
			cg_strbuf_addf(out, "%#llx", (unsigned long long)v);
		break;
	}
	case CGT_ARG_PROT_EXEC:
		cg_strbuf_addf(out, "%s", v ? "PROT_EXEC" : "without PROT_EXEC");
		break;
	case CGT_ARG_SOCKOPT:
		add_named(out, NAMED(level_names, v >> 32), v >> 32);
		cg_strbuf_addf(out, " %u", (unsigned)(uint32_t)v);
		break;
	case CGT_ARG_SIG_A1:
	case CGT_ARG_SIG_A2:
	case CGT_ARG_SIG_PIDFD: {
		int sig = (int)(uint32_t)v;
		const char *abbr = sig ? sigabbrev_np(sig) : NULL;
		if (abbr)
			cg_strbuf_addf(out, "SIG%s", abbr);
		else
			cg_strbuf_addf(out, "signal %d", sig);
		if (v >> 32)
			CG_STRBUF_LIT(out, " to another process");
		break;
	}
	default:
		cg_strbuf_addf(out, "%#llx", (unsigned long long)v);
	}
}

/* Values of (slot, nr) over all phases: [*lo, *hi) in d->vals. */
static void vals_range(const struct cg_trace_data *d, unsigned slot, unsigned nr, size_t *lo, size_t *hi)
{
	size_t i = 0;
	while (i < d->n_vals && (d->vals[i].slot < slot || (d->vals[i].slot == slot && d->vals[i].nr < nr)))
		i++;
	*lo = i;
	while (i < d->n_vals && d->vals[i].slot == slot && d->vals[i].nr == nr)
		i++;
	*hi = i;
}

/* In [lo, hi) (sorted by phase then value, so a value may appear once per
 * phase): false if vals[i]'s value already appeared before i; else true,
 * with its count per phase in @n. */
static bool value_first(const struct cg_trace_data *d, size_t lo, size_t hi, size_t i, uint64_t n[2])
{
	for (size_t j = lo; j < i; j++)
		if (d->vals[j].value == d->vals[i].value)
			return false;
	n[0] = n[1] = 0;
	for (size_t j = i; j < hi; j++)
		if (d->vals[j].value == d->vals[i].value)
			n[d->vals[j].phase ? 1 : 0] += d->vals[j].count;
	return true;
}

/* Distinct values of [lo, hi) in words. */
static void describe_values(const struct cg_trace_data *d, const char *name, int kind, size_t lo, size_t hi,
			    struct cg_strbuf *out)
{
	bool first = true;
	uint64_t n[2];
	for (size_t i = lo; i < hi; i++) {
		if (!value_first(d, lo, hi, i, n))
			continue;
		cg_strbuf_addf(out, "%s", first ? "" : "; ");
		cg_trace_arg_describe(name, kind, d->vals[i].value, out);
		cg_strbuf_addf(out, " (%llu)", (unsigned long long)(n[0] + n[1]));
		first = false;
	}
}

void cg_trace_data_describe_args(const struct cg_trace_data *d, struct cg_strbuf *out)
{
	for (unsigned s = 0; s < CG_TRACE_NARCH; s++)
		for (unsigned nr = 0; nr < CG_TRACE_NR_MAX; nr++) {
			size_t lo, hi;
			const char *name;
			vals_range(d, s, nr, &lo, &hi);
			if (lo == hi)
				continue;
			name = cg_trace_slot_name(s, nr);
			cg_strbuf_addf(out, "%s [%s]: ", name ? name : "?", cg_arch_info(slot_arch[s])->name);
			describe_values(d, name, cg_trace_argkind(slot_arch[s], name), lo, hi, out);
			CG_STRBUF_LIT(out, "\n");
		}
}

/* ---- record -> closure ----------------------------------------------------- */

/* Argument conditions for one value; 0 conditions = not expressible. */
static unsigned value_conds(int kind, uint64_t v, struct cg_arg_cond *c)
{
	switch (kind) {
	case CGT_ARG_SOCKET:
		c[0] = (struct cg_arg_cond){ 0, CG_OP_EQ, v >> 32, 0 };
		c[1] = (struct cg_arg_cond){ 1, CG_OP_EQ, v & 0xffffffffu, 0 };
		return 2;
	case CGT_ARG_CLONE:
		c[0] = (struct cg_arg_cond){ 0, CG_OP_MASKED_EQ, CGT_NS_FLAGS, v };
		return 1;
	case CGT_ARG_UNSHARE:
		c[0] = (struct cg_arg_cond){ 0, CG_OP_MASKED_EQ, CGT_NS_FLAGS | CGT_CLONE_NEWTIME, v };
		return 1;
	case CGT_ARG_A0:
		c[0] = (struct cg_arg_cond){ 0, CG_OP_EQ, v, 0 };
		return 1;
	case CGT_ARG_A1:
		c[0] = (struct cg_arg_cond){ 1, CG_OP_EQ, v, 0 };
		return 1;
	case CGT_ARG_SOCKOPT:
		c[0] = (struct cg_arg_cond){ 1, CG_OP_EQ, v >> 32, 0 };
		c[1] = (struct cg_arg_cond){ 2, CG_OP_EQ, v & 0xffffffffu, 0 };
		return 2;
	case CGT_ARG_SIG_A1:
	case CGT_ARG_SIG_PIDFD:
		c[0] = (struct cg_arg_cond){ 1, CG_OP_EQ, v & 0xffffffffu, 0 };
		return 1;
	case CGT_ARG_SIG_A2:
		c[0] = (struct cg_arg_cond){ 2, CG_OP_EQ, v & 0xffffffffu, 0 };
		return 1;
	}
	return 0; /* CLONE3 (flags in a struct), PROT_EXEC (handled by the caller) */
}

static uint32_t phase_bits(const struct cg_trace_data *d, const int ph[2], uint64_t n0, uint64_t n1)
{
	if (!d->phased)
		return 0;
	return (n0 ? 1u << ph[0] : 0) | (n1 ? 1u << ph[1] : 0);
}

int cg_trace_data_closure(const struct cg_trace_data *d, const struct cg_trace_closure_opts *user_opts,
			  struct cg_strbuf *notes, struct cg_closure **ret, struct cg_error *err)
{
	_cleanup_(cg_closure_freep) struct cg_closure *c = cg_closure_new();
	struct cg_trace_closure_opts o = { .sz = sizeof(o) };
	const struct cg_trace_closure_opts *opts = &o;
	const char *origin;
	bool want_args;
	int ph[2] = { 0, 0 }, execve_nr = cg_syscall_nr(CG_ARCH_X86_64, "execve"), e;
	struct cg_strbuf com;

	if (!c)
		return cg_error_set(err, -ENOMEM, "out of memory");
	if ((e = CG_OPTS_COPY(&o, user_opts)) < 0)
		return cg_opts_error(err, e, "cg_trace_closure_opts");
	origin = o.origin ? o.origin : "trace";
	want_args = o.args;
	c->arch_mask = CG_ARCH_BIT(CG_ARCH_X86_64);
	if (d->phased) {
		ph[0] = cg_closure_phase(c, "startup", true);
		ph[1] = cg_closure_phase(c, "serving", true);
		if (ph[0] < 0 || ph[1] < 0)
			return cg_error_set(err, -ENOMEM, "out of memory");
	}
	cg_strbuf_init(&com);
	for (unsigned s = 0; s < CG_TRACE_NARCH; s++)
		for (unsigned nr = 0; nr < CG_TRACE_NR_MAX; nr++) {
			uint64_t n0 = d->counts[s][nr][0], n1 = d->counts[s][nr][1], sum = 0;
			bool is_exec = s == 0 && (int)nr == execve_nr && !(opts && opts->no_execve);
			struct cg_rule r = { .action = { CG_ACT_ALLOW, 0 }, .arch_mask = CG_ARCH_BIT(slot_arch[s]) };
			size_t lo, hi;
			int kind, rc;

			if (is_exec && d->exec_seen)
				n0++; /* the workload's own exec, made before counting started */
			if (!n0 && !n1 && !is_exec)
				continue;
			r.name = (char *)cg_trace_slot_name(s, nr);
			if (!r.name) {
				if (notes)
					cg_strbuf_addf(notes, "%s call number %u has no name in capgate's table: "
							      "it cannot be put in a profile\n",
						       cg_arch_info(slot_arch[s])->name, nr);
				continue;
			}
			c->arch_mask |= CG_ARCH_BIT(slot_arch[s]);
			kind = cg_trace_argkind(slot_arch[s], r.name);
			vals_range(d, s, nr, &lo, &hi);
			for (size_t i = lo; i < hi; i++)
				sum += d->vals[i].count;
			com.len = 0;
			cg_strbuf_addf(&com, "%s", origin);
			if (lo < hi) {
				CG_STRBUF_LIT(&com, "; ");
				describe_values(d, r.name, kind, lo, hi, &com);
			}
			if (com.oom) {
				cg_strbuf_release(&com);
				return cg_error_set(err, -ENOMEM, "out of memory");
			}
			r.origin = com.buf;

			bool complete = lo < hi && sum == n0 + n1 && !d->lost_args;
			if (want_args && kind && !complete && (n0 || n1) && notes)
				cg_strbuf_addf(notes, "%s [%s]: the recorded values may be incomplete: allowed "
						      "without argument rules\n",
					       r.name, cg_arch_info(slot_arch[s])->name);
			if (want_args && kind == CGT_ARG_CLONE3 && complete && notes)
				cg_strbuf_addf(notes, "clone3 [%s]: its namespace flags live in struct clone_args, "
						      "which OCI argument rules cannot see: allowed without argument rules\n",
					       cg_arch_info(slot_arch[s])->name);

			if (want_args && complete && kind == CGT_ARG_PROT_EXEC) {
				bool exec = false;
				for (size_t i = lo; i < hi; i++)
					exec |= d->vals[i].value != 0;
				if (!exec) {
					r.args[0] = (struct cg_arg_cond){ 2, CG_OP_MASKED_EQ, CGT_PROT_EXEC, 0 };
					r.n_args = 1;
				}
				r.phases = phase_bits(d, ph, n0, n1);
				r.count = n0 + n1;
				rc = cg_closure_add_rule(c, &r);
			} else if (want_args && complete && kind && kind != CGT_ARG_CLONE3) {
				rc = 0;
				for (size_t i = lo; i < hi && rc == 0; i++) {
					/* one rule per value, over the phases it was seen in */
					uint64_t m[2];
					if (!value_first(d, lo, hi, i, m))
						continue;
					r.n_args = (uint8_t)value_conds(kind, d->vals[i].value, r.args);
					r.phases = phase_bits(d, ph, m[0], m[1]);
					r.count = m[0] + m[1];
					rc = cg_closure_add_rule(c, &r);
				}
				/* the exec made before counting started has no recorded value */
			} else {
				r.phases = phase_bits(d, ph, n0 ? n0 : is_exec, n1);
				r.count = n0 + n1;
				rc = cg_closure_add_rule(c, &r);
			}
			if (rc < 0) {
				cg_strbuf_release(&com);
				return cg_error_set(err, rc, "cannot add a rule: %s", strerror(-rc));
			}
		}
	cg_strbuf_release(&com);
	cg_closure_canonicalize(c);
	*ret = TAKE_PTR(c);
	return 0;
}
