/* SPDX-License-Identifier: (Apache-2.0 OR GPL-2.0-only) */
/*
 * Layout shared by the eBPF recorder (trace.bpf.c) and its loader
 * (trace_bpf.c). Plain C with fixed-width types only, so both sides
 * compile it: the BPF side gets the types from vmlinux.h, userspace from
 * <stdint.h> through the typedefs below.
 */
#ifndef CAPGATE_TRACE_SHARED_H
#define CAPGATE_TRACE_SHARED_H

#ifndef __bpf__
#include <stdint.h>
typedef uint8_t cgt_u8;
typedef uint32_t cgt_u32;
typedef uint64_t cgt_u64;
#else
typedef __u8 cgt_u8;
typedef __u32 cgt_u32;
typedef __u64 cgt_u64;
#endif

/* Architecture slots: x86_64 (native), i386 compat (TS_COMPAT), x32. */
#define CGT_NARCH 3
#define CGT_NR_MAX 1024 /* syscall numbers kept per arch (x32 bit stripped) */
#define CGT_NPHASE 2    /* 0 = start-up, 1 = serving */
#define CGT_SLOTS (CGT_NARCH * CGT_NR_MAX * CGT_NPHASE)
/* Index of the counter for (arch slot, nr, phase). */
#define CGT_SLOT(arch, nr, phase) ((((phase)*CGT_NARCH) + (arch)) * CGT_NR_MAX + (nr))

#define CGT_X32_BIT 0x40000000u
#define CGT_TS_COMPAT 0x0002u /* arch/x86/include/asm/thread_info.h */

/* State of a tgid in the tasks map. */
#define CGT_TASK_PENDING 1 /* forked by capgate, counting starts at its exec */
#define CGT_TASK_TRACED 2

/* What is filtered on. */
#define CGT_MODE_TREE 0   /* the tgids in the tasks map (follow fork) */
#define CGT_MODE_CGROUP 1 /* bpf_get_current_cgroup_id() == cgroup_id */

/* Which arguments of a call are kept as a value set (argkind map value). */
enum cgt_argkind {
	CGT_ARG_NONE,
	CGT_ARG_SOCKET,    /* socket(domain, type): domain << 32 | type */
	CGT_ARG_CLONE,     /* clone(flags): flags & namespace bits */
	CGT_ARG_CLONE3,    /* clone3(args): args->flags & namespace bits (user memory) */
	CGT_ARG_UNSHARE,   /* unshare(flags): flags & namespace bits */
	CGT_ARG_A0,        /* the first argument (prctl option, personality) */
	CGT_ARG_A1,        /* the second argument (ioctl request, fcntl command) */
	CGT_ARG_PROT_EXEC, /* arg 2 & PROT_EXEC (mmap, mprotect, pkey_mprotect, mmap2) */
	CGT_ARG_SOCKOPT,   /* setsockopt(fd, level, name): level << 32 | name */
	CGT_ARG_SIG_A1,    /* kill/tkill/rt_sigqueueinfo(target, sig): sig | other << 32 */
	CGT_ARG_SIG_A2,    /* tgkill/rt_tgsigqueueinfo(tgid, tid, sig): sig | other << 32 */
	CGT_ARG_SIG_PIDFD, /* pidfd_send_signal(pidfd, sig): sig | 1 << 32 */
	CGT_ARG_COUNT,
};

/* Namespace flags of clone/unshare (CLONE_NEWTIME only for clone3/unshare:
 * in clone() 0x80 belongs to the exit signal). */
#define CGT_NS_FLAGS 0x7e020000ull /* NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET */
#define CGT_CLONE_NEWTIME 0x80ull
#define CGT_PROT_EXEC 0x4ull

/* Key of the argvals hash: (arch, nr, phase) slot and the value. */
struct cgt_argkey {
	cgt_u32 slot; /* CGT_SLOT() */
	cgt_u32 pad;
	cgt_u64 value;
};

#endif
