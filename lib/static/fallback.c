// SPDX-License-Identifier: Apache-2.0
/*
 * The calls libc and runtimes survive ENOSYS for, and the rewrite that marks
 * them in a closure. Why a table with sources rather than "whatever the
 * baseline lacks": answering a call ENOSYS is safe for the workload only
 * where its code has a fallback, and each fallback is a claim about someone
 * else's code; an entry names the file and function that makes it, and
 * tests/cli/fallback.sh runs the program named in `check` with the call
 * answered ENOSYS by capgate run. An entry that cannot be checked here does
 * not go in.
 */
#include <capgate/fallback.h>
#include <capgate/policy.h>
#include <capgate/syscalls.h>

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error_internal.h"

/*
 * Sorted by call (tests/unit/test_policy.c checks it). The sources were read
 * at glibc tag glibc-2.36, coreutils tag v9.1 (and the gnulib commit it
 * pins, 58c597d13b), Python's Python/fileutils.c and Go 1.23's
 * src/os/pidfd_linux.go -- the versions Debian 12 ships, whose programs
 * tests/cli/fallback.sh runs. Two things the sources teach:
 *   - glibc 2.36 is built for kernels from 3.2 on, so none of its
 *     __ASSUME_CLONE3 / __ASSUME_CLOSE_RANGE / __ASSUME_FACCESSAT2 /
 *     __ASSUME_STATX is set and every fallback below is compiled in;
 *   - the answer must not change while the program runs: glibc's
 *     start_thread (nptl/pthread_create.c) calls __libc_fatal when rseq
 *     registration fails in a new thread after it worked in the first one.
 *     cg_closure_fallback_enosys therefore answers a call ENOSYS in every
 *     phase, and check refuses a closure that allows it in some phase.
 *
 * Left out, because no program installed here could prove the fallback
 * (the bar for an entry):
 *   - epoll_pwait2: glibc's wrapper has no fallback, and no installed
 *     program or library calls it (libsystemd 252's sd-event has its use
 *     compiled out, libevent 2.1, libuv 1.44 and GLib 2.74 use epoll_wait);
 *     the only binaries naming it carry syscall tables (strace, perf,
 *     libseccomp, runsc);
 *   - openat2: glibc 2.36 has no wrapper; crun 1.8 and runc 1.1 call it with
 *     a fallback, but only on paths that create a container (rootfs and
 *     cgroup files), which cannot run inside capgate run's own sandbox
 *     here;
 *   - mlock2, preadv2 and pwritev2 with no flags, renameat2 with none, and
 *     fexecve's execveat: glibc falls back, but no installed program was
 *     found to reach those paths.
 */
static const struct cg_fallback fallbacks[] = {
	{ "clone3", "glibc 2.36",
	  "sysdeps/unix/sysv/linux/clone-internal.c: __clone_internal (called by nptl/pthread_create.c: "
	  "create_thread and sysdeps/unix/sysv/linux/spawni.c: __spawnix)",
	  "falls back to clone when clone3 answers ENOSYS (and only ENOSYS)", "python3: start and join a thread",
	  "clone" },
	{ "close_range", "Python 3.11, glibc 2.36",
	  "Python/fileutils.c: _Py_closerange (a close loop after any error); glibc io/closefrom.c: __closefrom and "
	  "sysdeps/unix/sysv/linux/spawni.c: __spawni_child, both then "
	  "sysdeps/unix/sysv/linux/closefrom_fallback.c: __closefrom_fallback",
	  "closes descriptors one by one when close_range fails (Python with close; glibc walking /proc/self/fd)",
	  "python3: os.closerange(3, 100)", "close openat getdents64 lseek" },
	{ "copy_file_range", "coreutils 9.1", "src/copy.c: sparse_copy; src/cat.c: copy_cat",
	  "copies with read and write when copy_file_range answers ENOSYS (or EPERM before the first byte)",
	  "cp FILE COPY", "read write" },
	{ "faccessat2", "glibc 2.36", "sysdeps/unix/sysv/linux/faccessat.c: __faccessat",
	  "calls faccessat when faccessat2 answers ENOSYS (and only ENOSYS), emulating AT_EACCESS and "
	  "AT_SYMLINK_NOFOLLOW with fstatat in set-id programs",
	  "python3: os.access(path, os.X_OK, effective_ids=True)",
	  "faccessat newfstatat getuid geteuid getgid getegid getgroups" },
	{ "getrandom", "glibc 2.36",
	  "malloc/malloc.c: tcache_key_initialize; stdlib/arc4random.c: __arc4random_buf",
	  "malloc seeds its tcache key from the clock when getrandom fails; arc4random reads /dev/urandom when it "
	  "answers ENOSYS. A program calling getrandom itself is not covered",
	  "ls -l /usr", "clock_gettime openat poll read close" },
	{ "pidfd_open", "Go 1.23",
	  "src/os/pidfd_linux.go: checkPidfd (pidfdWorks, used by os.StartProcess, Process.Wait and Process.Signal)",
	  "waits with wait4 and signals with kill when pidfd_open fails with any error",
	  "kubectl: run an exec credential plugin", "wait4 kill" },
	{ "renameat2", "coreutils 9.1 (gnulib)",
	  "gnulib lib/renameatu.c: renameatu (src/copy.c: copy_internal, for mv); glibc "
	  "sysdeps/unix/sysv/linux/renameat2.c: __renameat2 turns ENOSYS into EINVAL",
	  "checks that the target is absent with fstatat, then calls renameat, when renameat2 answers ENOSYS, EINVAL "
	  "or ENOTSUP",
	  "mv FILE NEW", "newfstatat renameat" },
	{ "rseq", "glibc 2.36",
	  "sysdeps/nptl/dl-tls_init_tp.c: __tls_init_tp; sysdeps/unix/sysv/linux/rseq-internal.h: "
	  "rseq_register_current_thread; nptl/pthread_create.c: start_thread",
	  "leaves __rseq_size 0 and runs without restartable sequences when the first thread's registration fails; "
	  "later threads then do not try (one that fails after the first succeeded is fatal)",
	  "ls -l /usr", "" },
	{ "set_robust_list", "glibc 2.36",
	  "sysdeps/nptl/dl-tls_init_tp.c: __tls_init_tp and nptl/pthread_create.c: start_thread ignore its result "
	  "(sysdeps/unix/sysv/linux/kernel-features.h sets __ASSUME_SET_ROBUST_LIST on x86_64)",
	  "ignores the failure: start-up and ordinary mutexes work, but a thread that dies holding a robust mutex no "
	  "longer has it released by the kernel (no EOWNERDEAD: its waiters block)",
	  "ls -l /usr", "" },
	{ "statx", "glibc 2.36", "sysdeps/unix/sysv/linux/statx.c: statx; io/statx_generic.c: statx_generic",
	  "fills struct statx from fstatat when statx answers ENOSYS (and only ENOSYS)", "ls -l /usr", "newfstatat" },
};

const struct cg_fallback *cg_fallbacks(size_t *ret_n)
{
	*ret_n = CG_ARRAY_SIZE(fallbacks);
	return fallbacks;
}

static int fallback_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct cg_fallback *)elem)->call);
}

const struct cg_fallback *cg_fallback_find(const char *call)
{
	return call ? bsearch(call, fallbacks, CG_ARRAY_SIZE(fallbacks), sizeof(fallbacks[0]), fallback_cmp) : NULL;
}

static bool closure_permits(const struct cg_closure *c, const char *name)
{
	for (size_t i = 0; i < c->n_rules; i++)
		if (strcmp(c->rules[i].name, name) == 0 && cg_action_permits(c->rules[i].action))
			return true;
	return false;
}

/* The phases @name is permitted in: 0 when some rule holds in every phase. */
static uint32_t permitted_phases(const struct cg_closure *c, const char *name)
{
	uint32_t ph = 0;

	for (size_t i = 0; i < c->n_rules; i++) {
		const struct cg_rule *r = &c->rules[i];
		if (strcmp(r->name, name) != 0 || !cg_action_permits(r->action))
			continue;
		if (!r->phases)
			return 0;
		ph |= r->phases;
	}
	return ph;
}

/* Allow the calls @f's fallback makes, in @phases. */
static int add_needs(struct cg_closure *c, const struct cg_fallback *f, uint32_t phases)
{
	char origin[160], name[64];
	struct cg_rule nr = { .name = name, .action = { CG_ACT_ALLOW, 0 }, .phases = phases, .origin = origin };

	snprintf(origin, sizeof(origin), "the fallback of %s (%s)", f->call, f->who);
	for (const char *s = f->needs; *s;) {
		size_t n = strcspn(s, " ");
		int r;
		if (n && n < sizeof(name)) {
			memcpy(name, s, n);
			name[n] = '\0';
			if (cg_syscall_known(name) && (r = cg_closure_add_rule(c, &nr)) < 0)
				return r;
		}
		s += n + (s[n] == ' ');
	}
	return 0;
}

/* Replace every rule for @f->call with one errno(ENOSYS) rule, and allow
 * what its fallback needs. */
static int mark_enosys(struct cg_closure *c, const struct cg_fallback *f)
{
	struct cg_rule nr = { .name = (char *)f->call, .action = { CG_ACT_ERRNO, ENOSYS } };
	char origin[160];
	size_t k = 0, added;
	int r;

	if ((r = add_needs(c, f, permitted_phases(c, f->call))) < 0)
		return r;

	snprintf(origin, sizeof(origin), "answered ENOSYS: %s falls back", f->who);
	nr.origin = origin;
	if ((r = cg_closure_add_rule(c, &nr)) < 0)
		return r;
	added = c->n_rules - 1; /* appended: the old rules go only once it is in */
	for (size_t i = 0; i < c->n_rules; i++) {
		if (i != added && strcmp(c->rules[i].name, f->call) == 0) {
			free(c->rules[i].name);
			free(c->rules[i].origin);
			continue;
		}
		c->rules[k++] = c->rules[i];
	}
	c->n_rules = k;
	return 0;
}

int cg_closure_fallback_enosys(struct cg_closure *c, const struct cg_fallback_opts *o, const char ***ret_marked,
			       size_t *ret_n, struct cg_error *err)
{
	struct cg_fallback_opts opts = { .sz = sizeof(opts) };
	bool want[CG_ARRAY_SIZE(fallbacks)] = { false };
	_cleanup_free_ const char **marked = NULL;
	size_t n_marked = 0;
	int r;

	if ((r = CG_OPTS_COPY(&opts, o)) < 0)
		return cg_opts_error(err, r, "cg_fallback_opts");
	const struct cg_policy *policy = opts.policy;
	const char *const *calls = opts.calls;
	size_t n_calls = opts.n_calls;
	for (size_t i = 0; i < n_calls; i++) {
		const struct cg_fallback *f = cg_fallback_find(calls[i]);
		if (!f)
			return cg_error_set(err, -EINVAL,
					    "%s: no known fallback for this call (see capgate fallback --list): answering "
					    "it ENOSYS may break the workload",
					    calls[i]);
		want[f - fallbacks] = true;
	}
	for (size_t i = 0; policy && i < CG_ARRAY_SIZE(fallbacks); i++)
		if (!cg_policy_allows(policy, fallbacks[i].call))
			want[i] = true;
	if (!(marked = calloc(CG_ARRAY_SIZE(fallbacks), sizeof(*marked))))
		return cg_error_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < CG_ARRAY_SIZE(fallbacks); i++) {
		if (!want[i] || !closure_permits(c, fallbacks[i].call))
			continue;
		if ((r = mark_enosys(c, &fallbacks[i])) < 0)
			return cg_error_set(err, r, "out of memory");
		marked[n_marked++] = fallbacks[i].call;
	}
	cg_closure_canonicalize(c);
	if (ret_marked)
		*ret_marked = TAKE_PTR(marked);
	if (ret_n)
		*ret_n = n_marked;
	return 0;
}
