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

/* Sorted by call (tests/unit/test_policy.c checks it). */
static const struct cg_fallback fallbacks[] = {
	{ "clone3", "glibc 2.36",
	  "sysdeps/unix/sysv/linux/clone-internal.c: __clone_internal (pthread_create, posix_spawn)",
	  "falls back to clone when clone3 answers ENOSYS (and only ENOSYS)",
	  "python3: start and join a thread", "clone" },
	{ "close_range", "glibc 2.36, Python 3.11",
	  "glibc sysdeps/unix/sysv/linux/closefrom.c: __closefrom; Python/fileutils.c: _Py_closerange",
	  "closes descriptors one by one (glibc walks /proc/self/fd) when close_range fails",
	  "python3: os.closerange(3, 100)", "close openat getdents64" },
	{ "copy_file_range", "coreutils 9.1",
	  "src/copy.c: sparse_copy", "copies with read and write when copy_file_range answers ENOSYS",
	  "cp FILE COPY", "read write" },
	{ "faccessat2", "glibc 2.36",
	  "sysdeps/unix/sysv/linux/faccessat.c: __faccessat",
	  "calls faccessat, emulating AT_EACCESS with fstatat, when faccessat2 answers ENOSYS",
	  "python3: os.access(path, os.X_OK, effective_ids=True)", "faccessat newfstatat" },
	{ "getrandom", "glibc 2.36", "malloc/malloc.c: tcache_key_initialize",
	  "seeds malloc's tcache key from the clock when getrandom fails", "ls -l /usr", "clock_gettime" },
	{ "rseq", "glibc 2.36",
	  "sysdeps/nptl/dl-tls_init_tp.c: __tls_init_tp; sysdeps/unix/sysv/linux/rseq-internal.h: "
	  "rseq_register_current_thread",
	  "sets __rseq_size to 0 and runs without restartable sequences when registration fails", "ls -l /usr", "" },
	{ "set_robust_list", "glibc 2.36", "sysdeps/nptl/dl-tls_init_tp.c: __tls_init_tp",
	  "marks robust mutexes unavailable (they fail with ENOTSUP; plain mutexes work) when set_robust_list fails",
	  "ls -l /usr", "" },
	{ "statx", "glibc 2.36",
	  "sysdeps/unix/sysv/linux/statx.c: statx (statx_generic)",
	  "fills struct statx from fstatat when statx answers ENOSYS", "ls -l /usr", "newfstatat" },
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
