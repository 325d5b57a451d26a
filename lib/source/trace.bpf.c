/* SPDX-License-Identifier: (Apache-2.0 OR GPL-2.0-only) */
/*
 * capgate's eBPF recorder: counts every system call of the traced process
 * tree (or cgroup) per architecture, number and phase, and keeps the
 * arguments that matter for least privilege as small value sets.
 *
 * Lossless by design: nothing is streamed. Counters live in a per-CPU
 * array indexed by (phase, arch, nr) and are only ever incremented; value
 * sets live in a hash map, and a failed insert (map full) is counted, never
 * silently dropped, so userspace can say a run may be incomplete.
 *
 * Which tasks are traced lives in the kernel: a hash of tgids, seeded by
 * userspace with the workload's pid ("pending" until its exec, so nothing
 * capgate does before the exec counts), extended on sched_process_fork and
 * pruned on sched_process_exit once the whole thread group is gone.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "trace_shared.h"

/* GPL-compatible: bpf_probe_read_user is GPL-only. */
char LICENSE[] SEC("license") = "GPL";

/* Set by userspace before load. */
const volatile __u32 mode = CGT_MODE_TREE;
const volatile __u64 cgroup_id = 0;
const volatile __u32 serve_nr[CGT_NARCH] = { ~0u, ~0u, ~0u }; /* in-kernel serving trigger */
/* Per-process start-up windows (docs/PHASES.md): while serving, a process
 * whose parent is the spawner (the program's first process) and that
 * started less than window_ns ago is counted in the start-up phase. 0 =
 * no windows. The spawner's calls that make a window unsafe (it accepts
 * connections, it adopts orphans) are counted for userspace to refuse. */
const volatile __u64 window_ns = 0;
const volatile __u32 accept_nr[CGT_NARCH][2] = { { ~0u, ~0u }, { ~0u, ~0u }, { ~0u, ~0u } };
const volatile __u32 prctl_nr[CGT_NARCH] = { ~0u, ~0u, ~0u };

/* Shared with userspace through the mmap'd .bss. */
__u32 serving;         /* current phase: 0 start-up, 1 serving */
__u64 lost_tasks;      /* forks that could not be added to the tasks map */
__u64 lost_args;       /* argument values that could not be added to argvals */
__u64 bad_nr;          /* calls with a number outside 0..CGT_NR_MAX-1 */
__u64 execs;           /* pending tasks that reached their exec */
__u32 gen;             /* bumped by userspace after each change to tasks */
__u32 spawner;         /* tgid of the program's first process (set before it runs) */
__u64 spawner_accepts; /* accept/accept4 by the spawner while serving */
__u64 spawner_reaper;  /* prctl(PR_SET_CHILD_SUBREAPER, non-zero) by the spawner */
__u64 window_calls;    /* calls counted in a start-up window while serving */
__u64 reload_until;    /* the spawner's reload window (SIGHUP) ends then (boot clock, ns) */
__u64 reloads;         /* SIGHUPs delivered to the spawner while serving */
__u64 window_last;     /* the latest end of a window a call was counted in (boot clock, ns) */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768);
	__type(key, __u32);  /* tgid */
	__type(value, __u8); /* CGT_TASK_* */
} tasks SEC(".maps");

/* A per-task cache of the tasks map, for the hot path: local storage is
 * reached through the task itself, far cheaper than hashing the tgid on
 * every call, and every task on the machine passes through sys_enter while
 * the recorder is attached, traced or not. "Not traced" is cached too, so
 * an unrelated task pays one storage lookup per call. Userspace may
 * register a task after it first ran (the workload waits for its go-ahead),
 * so an entry holds the generation it was read under: userspace bumps
 * `gen` after every change it makes to the tasks map, and an entry of an
 * older generation is read again from the map. The kernel's own changes
 * need no bump: a fork makes a new task (no entry yet), an exec updates
 * the entry of the task that execs, and an exit ends the task. */
struct tcache_ent {
	__u32 gen;
	__u32 state; /* 0 (not traced) or CGT_TASK_* */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct tcache_ent);
} tcache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CGT_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CGT_NARCH *CGT_NR_MAX);
	__type(key, __u32);
	__type(value, __u8); /* enum cgt_argkind */
} argkind SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct cgt_argkey);
	__type(value, __u64);
} argvals SEC(".maps");

static __always_inline void add_value(__u32 slot, __u64 value)
{
	struct cgt_argkey k = { .slot = slot, .value = value };
	__u64 one = 1, *v;

	v = bpf_map_lookup_elem(&argvals, &k);
	if (v) {
		__sync_fetch_and_add(v, 1);
		return;
	}
	if (bpf_map_update_elem(&argvals, &k, &one, BPF_NOEXIST) == 0)
		return;
	/* Lost a race with another CPU inserting the same key, or full. */
	v = bpf_map_lookup_elem(&argvals, &k);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		__sync_fetch_and_add(&lost_args, 1);
}

static __always_inline __u64 sig_value(__u64 target, __u64 sig, __u32 tgid)
{
	__u64 other = (__s32)target != (__s32)tgid;
	return (sig & 0xffffffffull) | other << 32;
}

static __always_inline void record_args(__u8 kind, __u32 arch, struct pt_regs *regs, __u32 slot, __u32 tgid)
{
	__u64 a0, a1, a2;

	if (arch == 1) { /* i386: ebx, ecx, edx */
		a0 = BPF_CORE_READ(regs, bx) & 0xffffffffull;
		a1 = BPF_CORE_READ(regs, cx) & 0xffffffffull;
		a2 = BPF_CORE_READ(regs, dx) & 0xffffffffull;
	} else {
		a0 = BPF_CORE_READ(regs, di);
		a1 = BPF_CORE_READ(regs, si);
		a2 = BPF_CORE_READ(regs, dx);
	}
	switch (kind) {
	case CGT_ARG_SOCKET:
		add_value(slot, (a0 & 0xffffffffull) << 32 | (a1 & 0xffffffffull));
		break;
	case CGT_ARG_CLONE:
		add_value(slot, a0 & CGT_NS_FLAGS);
		break;
	case CGT_ARG_CLONE3: {
		__u64 flags = 0;
		if (bpf_probe_read_user(&flags, sizeof(flags), (void *)a0) < 0)
			flags = ~0ull; /* unreadable: the kernel will refuse it too */
		add_value(slot, flags & (CGT_NS_FLAGS | CGT_CLONE_NEWTIME));
		break;
	}
	case CGT_ARG_UNSHARE:
		add_value(slot, a0 & (CGT_NS_FLAGS | CGT_CLONE_NEWTIME));
		break;
	case CGT_ARG_A0:
		add_value(slot, a0);
		break;
	case CGT_ARG_A1:
		add_value(slot, a1);
		break;
	case CGT_ARG_PROT_EXEC:
		add_value(slot, a2 & CGT_PROT_EXEC);
		break;
	case CGT_ARG_SOCKOPT:
		add_value(slot, (a1 & 0xffffffffull) << 32 | (a2 & 0xffffffffull));
		break;
	case CGT_ARG_SIG_A1:
		add_value(slot, sig_value(a0, a1, tgid));
		break;
	case CGT_ARG_SIG_A2:
		add_value(slot, sig_value(a0, a2, tgid));
		break;
	case CGT_ARG_SIG_PIDFD:
		add_value(slot, (a1 & 0xffffffffull) | 1ull << 32);
		break;
	}
}

/* The task's CGT_TASK_* state, 0 if not traced (see tcache). */
static __always_inline __u32 task_state(struct task_struct *task)
{
	struct tcache_ent *c = bpf_task_storage_get(&tcache, task, 0, 0);
	/* Read the generation before the map: an entry stamped with it then
	 * reflects every change userspace made before bumping it. */
	__u32 g = *(volatile __u32 *)&gen;
	struct tcache_ent fresh = { .gen = g };
	__u32 tgid;
	__u8 *st;

	if (c && c->gen == g)
		return c->state;
	tgid = task->tgid;
	st = bpf_map_lookup_elem(&tasks, &tgid);
	fresh.state = st ? *st : 0;
	if (c)
		*c = fresh;
	else
		bpf_task_storage_get(&tcache, task, &fresh, BPF_LOCAL_STORAGE_GET_F_CREATE);
	return fresh.state;
}

#define CGT_PR_SET_CHILD_SUBREAPER 36

/* The phase of a call of @task when start-up windows are on (see
 * window_ns): start-up for a child of the spawner in its first window_ns
 * (the group leader's start, boot clock: the same clock /proc's starttime
 * and run's supervisor use), @phase otherwise. */
static __always_inline __u32 window_phase(struct task_struct *task, __u32 arch, __u32 nr, __u32 phase,
					  struct pt_regs *regs)
{
	__u32 sp = spawner;

	if (!sp)
		return phase;
	if (task->tgid == sp) {
		if (phase && (nr == accept_nr[arch][0] || nr == accept_nr[arch][1]))
			__sync_fetch_and_add(&spawner_accepts, 1);
		if (nr == prctl_nr[arch]) {
			__u64 a0 = arch == 1 ? BPF_CORE_READ(regs, bx) & 0xffffffffull : BPF_CORE_READ(regs, di);
			__u64 a1 = arch == 1 ? BPF_CORE_READ(regs, cx) & 0xffffffffull : BPF_CORE_READ(regs, si);
			if (a0 == CGT_PR_SET_CHILD_SUBREAPER && a1)
				__sync_fetch_and_add(&spawner_reaper, 1);
		}
		if (phase && bpf_ktime_get_boot_ns() < *(volatile __u64 *)&reload_until) {
			__sync_fetch_and_add(&window_calls, 1);
			if (reload_until > window_last)
				window_last = reload_until; /* racy max: a hint for a warning */
			return 0;
		}
		return phase;
	}
	if (!phase || BPF_CORE_READ(task, real_parent, tgid) != (int)sp)
		return phase;
	__u64 end = BPF_CORE_READ(task, group_leader, start_boottime) + window_ns;
	if (end <= bpf_ktime_get_boot_ns())
		return phase;
	__sync_fetch_and_add(&window_calls, 1);
	if (end > window_last)
		window_last = end; /* racy max: a hint for a warning */
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(cg_sys_enter, struct pt_regs *regs, long id)
{
	struct task_struct *task;
	__u32 arch = 0, nr, phase, slot, idx;
	__u64 *cnt;
	__u8 *kind;

	task = bpf_get_current_task_btf();
	if (mode == CGT_MODE_CGROUP) {
		if (bpf_get_current_cgroup_id() != cgroup_id)
			return 0;
	} else if (task_state(task) != CGT_TASK_TRACED) {
		return 0;
	}

	if (task->thread_info.status & CGT_TS_COMPAT) {
		arch = 1;
	} else if ((__u64)id & CGT_X32_BIT) {
		arch = 2;
		id = (__u64)id & ~(__u64)CGT_X32_BIT;
	}
	if ((__u64)id >= CGT_NR_MAX) {
		__sync_fetch_and_add(&bad_nr, 1);
		return 0;
	}
	nr = (__u32)id;

	/* The trigger call flips the phase before it is counted, in the kernel,
	 * so nothing is attributed to the wrong phase. */
	if (arch < CGT_NARCH && nr == serve_nr[arch] && !serving)
		serving = 1;
	phase = serving ? 1 : 0;
	if (window_ns && arch < CGT_NARCH)
		phase = window_phase(task, arch, nr, phase, regs);

	slot = CGT_SLOT(arch, nr, phase);
	cnt = bpf_map_lookup_elem(&counts, &slot);
	if (cnt)
		__sync_fetch_and_add(cnt, 1); /* per-CPU, but preemptible: stay atomic */

	idx = arch * CGT_NR_MAX + nr;
	kind = bpf_map_lookup_elem(&argkind, &idx);
	if (kind && *kind)
		record_args(*kind, arch, regs, slot, task->tgid);
	return 0;
}

/* A reload of the spawner (SIGHUP, nginx's master re-reading its
 * configuration) opens a window of its own, from the moment it takes the
 * signal. */
SEC("tp_btf/signal_deliver")
int BPF_PROG(cg_signal, int sig, struct kernel_siginfo *info, struct k_sigaction *ka)
{
	struct task_struct *task = bpf_get_current_task_btf();

	if (!window_ns || sig != 1 /* SIGHUP */ || !spawner || task->tgid != spawner || !serving)
		return 0;
	reload_until = bpf_ktime_get_boot_ns() + window_ns;
	__sync_fetch_and_add(&reloads, 1);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(cg_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid, ctgid;
	__u8 *st, v;

	if (mode != CGT_MODE_TREE)
		return 0;
	ptgid = BPF_CORE_READ(parent, tgid);
	ctgid = BPF_CORE_READ(child, tgid);
	if (ptgid == ctgid) /* a new thread: its group is already traced */
		return 0;
	st = bpf_map_lookup_elem(&tasks, &ptgid);
	if (!st)
		return 0;
	v = *st;
	if (bpf_map_update_elem(&tasks, &ctgid, &v, BPF_ANY) < 0)
		__sync_fetch_and_add(&lost_tasks, 1);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(cg_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = BPF_CORE_READ(p, tgid);
	struct tcache_ent *c;
	__u8 *st;

	if (mode != CGT_MODE_TREE)
		return 0;
	st = bpf_map_lookup_elem(&tasks, &tgid);
	if (st && *st == CGT_TASK_PENDING) {
		*st = CGT_TASK_TRACED;
		__sync_fetch_and_add(&execs, 1);
		/* The cached state of the task that execs (the only one left
		 * in its group now) follows. */
		c = bpf_task_storage_get(&tcache, p, 0, 0);
		if (c)
			c->state = CGT_TASK_TRACED;
	}
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(cg_exit, struct task_struct *p)
{
	__u32 tgid;

	if (mode != CGT_MODE_TREE)
		return 0;
	/* Only when the last thread of the group is gone: signal->live counts
	 * live threads and is decremented before this tracepoint fires. */
	if (BPF_CORE_READ(p, signal, live.counter) != 0)
		return 0;
	tgid = BPF_CORE_READ(p, tgid);
	bpf_map_delete_elem(&tasks, &tgid);
	return 0;
}
