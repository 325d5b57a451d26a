// SPDX-License-Identifier: Apache-2.0
/*
 * The program's user and capabilities. Root keeps every capability across
 * execve, so a profile that allows ptrace or setpriority still lets root
 * attach to or renice anything it can see: the seccomp filter decides which
 * calls run, the capabilities decide what they may do, and both are needed.
 * The default is Docker's set for a root program and nothing for any other
 * uid; all five sets (bounding, permitted, effective, inheritable, ambient)
 * are written to the same value and read back, because a set left as it was
 * inherited is a set nobody decided. The profile is resolved with the same
 * set (cg_sandbox_caps), so calls included "by capability" match.
 *
 * Raw capset(2)/prctl(2) rather than libcap-ng: five sets of one value need
 * a few calls, and reading them back is the same few calls.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <linux/magic.h>
#include <sys/prctl.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "closure/capabilities.h"
#include "runtime/caps.h"

#define BIT(c) (UINT64_C(1) << (c))

/* The highest capability the running kernel knows (asked once: the sandbox
 * setup asks for every capability it sets). */
static int last_cap(void)
{
	static int cached = -1;
	if (cached >= 0)
		return cached;
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int n = -1;
	if (f) {
		if (fscanf(f, "%d", &n) != 1)
			n = -1;
		fclose(f);
	}
	if (n < 0) /* no /proc: ask the bounding set */
		for (n = 0; n < 63 && prctl(PR_CAPBSET_READ, n + 1, 0, 0, 0) >= 0; n++)
			;
	cached = n < 63 ? n : 63;
	return cached;
}

static uint64_t all_caps(void) { return (BIT(last_cap()) << 1) - 1; }

static int parse_id(const char *s, unsigned long *ret)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v >= 0xffffffffUL || *s == '-')
		return -EINVAL;
	*ret = v;
	return 0;
}

/* "UID[:GID]", numbers or names; without GID the user's group from the
 * passwd database, or the same number when the uid has no entry. */
static int parse_user(const char *spec, uid_t *ret_uid, gid_t *ret_gid, struct cg_error *err)
{
	char buf[256];
	unsigned long v;
	char *colon;

	if (snprintf(buf, sizeof(buf), "%s", spec) >= (int)sizeof(buf) || !*buf)
		return cg_error_set(err, -EINVAL, "--user '%s': expected UID[:GID]", spec);
	colon = strchr(buf, ':');
	if (colon)
		*colon++ = 0;
	struct passwd *pw = NULL;
	if (parse_id(buf, &v) == 0) {
		*ret_uid = (uid_t)v;
		pw = getpwuid(*ret_uid);
	} else {
		pw = getpwnam(buf);
		if (!pw)
			return cg_error_set(err, -EINVAL, "--user '%s': no user '%s' (and not a number)", spec, buf);
		*ret_uid = pw->pw_uid;
	}
	if (!colon) {
		*ret_gid = pw ? pw->pw_gid : (gid_t)*ret_uid;
	} else if (parse_id(colon, &v) == 0) {
		*ret_gid = (gid_t)v;
	} else {
		struct group *gr = getgrnam(colon);
		if (!gr)
			return cg_error_set(err, -EINVAL, "--user '%s': no group '%s' (and not a number)", spec, colon);
		*ret_gid = gr->gr_gid;
	}
	return 0;
}

static int apply_names(const char *const *names, size_t n, const char *opt, uint64_t *set, bool add,
		       struct cg_error *err)
{
	for (size_t i = 0; i < n; i++) {
		if (strcasecmp(names[i], "ALL") == 0)
			continue; /* handled first */
		int c = cg_cap_lookup(names[i]);
		if (c < 0)
			return cg_error_set(err, -EINVAL, "%s: unknown capability '%s'", opt, names[i]);
		if (c > last_cap())
			return cg_error_set(err, -EINVAL, "%s: %s is not known to the running kernel", opt,
					    cg_cap_name(c));
		*set = add ? *set | BIT(c) : *set & ~BIT(c);
	}
	return 0;
}

static bool has_all(const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(names[i], "ALL") == 0)
			return true;
	return false;
}

int cg_caps_plan(const struct cg_sandbox_opts *o, struct cg_caps_plan *ret, struct cg_error *err)
{
	struct cg_caps_plan p = { 0 };
	int r;

	if (o->user) {
		if (geteuid() != 0)
			return cg_error_set(err, -EINVAL,
					    "--user needs capgate to run as root (an ordinary user's program runs "
					    "with the caller's own ids)");
		if ((r = parse_user(o->user, &p.uid, &p.gid, err)) < 0)
			return r;
		p.switch_user = true;
	} else {
		p.uid = geteuid();
		p.gid = getegid();
	}
	for (size_t i = 0; i < o->n_cap_add; i++)
		for (size_t j = 0; j < o->n_cap_drop; j++)
			if (strcasecmp(o->cap_add[i], o->cap_drop[j]) == 0 && strcasecmp(o->cap_add[i], "ALL") != 0)
				return cg_error_set(err, -EINVAL, "capability '%s' is both added and dropped",
						    o->cap_add[i]);
	/* The default, then ALL, then the names: --cap-drop ALL --cap-add X is X. */
	p.set = p.uid == 0 ? cg_cap_docker_default_mask() : 0;
	if (has_all(o->cap_add, o->n_cap_add))
		p.set = all_caps();
	if (has_all(o->cap_drop, o->n_cap_drop))
		p.set = 0;
	if ((r = apply_names(o->cap_add, o->n_cap_add, "--cap-add", &p.set, true, err)) < 0 ||
	    (r = apply_names(o->cap_drop, o->n_cap_drop, "--cap-drop", &p.set, false, err)) < 0)
		return r;
	p.set &= all_caps();
	*ret = p;
	return 0;
}

int cg_sandbox_caps(const struct cg_sandbox_opts *opts, uint64_t *ret, struct cg_error *err)
{
	struct cg_caps_plan p;
	int r = cg_caps_plan(opts, &p, err);
	if (r < 0)
		return r;
	*ret = p.set;
	return 0;
}

/* ---- applying -------------------------------------------------------------- */

struct capsets {
	uint64_t eff, prm, inh;
};

static int caps_get(struct capsets *ret)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2] = { 0 };
	if (syscall(SYS_capget, &h, d) < 0)
		return -errno;
	ret->eff = d[0].effective | (uint64_t)d[1].effective << 32;
	ret->prm = d[0].permitted | (uint64_t)d[1].permitted << 32;
	ret->inh = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
	return 0;
}

static int caps_set(uint64_t set)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2] = {
		{ (uint32_t)set, (uint32_t)set, (uint32_t)set },
		{ (uint32_t)(set >> 32), (uint32_t)(set >> 32), (uint32_t)(set >> 32) },
	};
	return syscall(SYS_capset, &h, d) < 0 ? -errno : 0;
}

static uint64_t set_read(int option)
{
	uint64_t s = 0;
	for (int c = 0; c <= last_cap(); c++)
		if (option == PR_CAPBSET_READ ? prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1
					      : prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c, 0, 0) == 1)
			s |= BIT(c);
	return s;
}

/* The bounding and ambient sets from /proc/self/status (one read instead of
 * a prctl per capability and set: each system call costs over a microsecond
 * on a virtual machine, and these were 82 of a start's ~400). Only from a
 * real procfs; -1 if it cannot be read, and the caller asks prctl. */
static int status_sets(uint64_t *bnd, uint64_t *amb)
{
	char buf[4096];
	struct statfs sf;
	ssize_t n = -1;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC | O_NOCTTY);
	bool got_b = false, got_a = false;

	if (fd < 0)
		return -1;
	if (fstatfs(fd, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC)
		n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	for (char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		unsigned long long v;
		if (sscanf(l, "CapBnd: %llx", &v) == 1)
			*bnd = v, got_b = true;
		else if (sscanf(l, "CapAmb: %llx", &v) == 1)
			*amb = v, got_a = true;
	}
	return got_b && got_a ? 0 : -1;
}

static int first_missing(uint64_t want, uint64_t have)
{
	for (int c = 0; c < 64; c++)
		if ((want & BIT(c)) && !(have & BIT(c)))
			return c;
	return -1;
}

int cg_caps_apply(const struct cg_caps_plan *p, struct cg_error *err)
{
	struct capsets cur;
	int r, last = last_cap();

	if ((r = caps_get(&cur)) < 0)
		return cg_error_set(err, r, "capget: %s", strerror(-r));
	int c = first_missing(p->set, cur.prm);
	if (c >= 0)
		return cg_error_set(err, -EPERM, "capability %s was asked for, but capgate does not have it",
				    cg_cap_name(c) ? cg_cap_name(c) : "?");

	/* 1. the bounding set, while CAP_SETPCAP is still effective. Without
	 * it (an ordinary caller outside any user namespace, only through
	 * cg_sandbox_apply) the bounding set cannot be lowered; with nothing
	 * permitted and no_new_privs, which comes next, it cannot be used
	 * either: execve grants nothing. Anything else fails. */
	bool lower_bounding = cur.eff & BIT(CAP_SETPCAP);
	if (!lower_bounding && (cur.prm || p->set))
		return cg_error_set(err, -EPERM, "cannot lower the capability bounding set without CAP_SETPCAP");
	for (c = 0; lower_bounding && c <= last; c++)
		if (!(p->set & BIT(c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) /* (dropping twice is fine) */
			return cg_error_set(err, -errno, "prctl(PR_CAPBSET_DROP, %s): %s", cg_cap_name(c),
					    strerror(errno));

	/* 2. the user: keep the permitted set across setresuid, cleared below */
	if (!p->rootless && getgroups(0, NULL) != 0 && setgroups(0, NULL) < 0)
		return cg_error_set(err, -errno, "setgroups(0): %s", strerror(errno));
	if (p->switch_user) {
		if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
			return cg_error_set(err, -errno, "prctl(PR_SET_KEEPCAPS): %s", strerror(errno));
		if (setgroups(0, NULL) < 0)
			return cg_error_set(err, -errno, "--user: setgroups(0): %s", strerror(errno));
		if (setresgid(p->gid, p->gid, p->gid) < 0)
			return cg_error_set(err, -errno, "--user: setresgid(%u): %s", (unsigned)p->gid,
					    strerror(errno));
		if (setresuid(p->uid, p->uid, p->uid) < 0)
			return cg_error_set(err, -errno, "--user: setresuid(%u): %s", (unsigned)p->uid,
					    strerror(errno));
		if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
			return cg_error_set(err, -errno, "prctl(PR_SET_KEEPCAPS, 0): %s", strerror(errno));
	}

	/* 3. permitted, effective, inheritable; 4. ambient, so that a non-root
	 * program keeps an added capability across execve */
	if ((r = caps_set(p->set)) < 0)
		return cg_error_set(err, r, "capset: %s", strerror(-r));
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && (p->set || errno != EINVAL))
		return cg_error_set(err, -errno, "prctl(PR_CAP_AMBIENT_CLEAR_ALL): %s", strerror(errno));
	for (c = 0; c <= last; c++)
		if ((p->set & BIT(c)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
			return cg_error_set(err, -errno, "prctl(PR_CAP_AMBIENT_RAISE, %s): %s", cg_cap_name(c),
					    strerror(errno));

	/* 5. read everything back */
	if ((r = caps_get(&cur)) < 0)
		return cg_error_set(err, r, "capget: %s", strerror(-r));
	if (cur.eff != p->set || cur.prm != p->set || cur.inh != p->set)
		return cg_error_set(err, -EPERM, "the capability sets did not take (effective %#llx, wanted %#llx)",
				    (unsigned long long)cur.eff, (unsigned long long)p->set);
	uint64_t bnd, amb;
	if (status_sets(&bnd, &amb) < 0) {
		bnd = lower_bounding ? set_read(PR_CAPBSET_READ) : 0;
		amb = set_read(PR_CAP_AMBIENT);
	}
	if (lower_bounding && (bnd & all_caps()) != p->set)
		return cg_error_set(err, -EPERM, "the capability bounding set did not take");
	if ((amb & all_caps()) != p->set)
		return cg_error_set(err, -EPERM, "the ambient capability set did not take");
	if (p->switch_user && (getuid() != p->uid || geteuid() != p->uid || getgid() != p->gid))
		return cg_error_set(err, -EPERM, "--user: the ids did not take");
	return 0;
}

/* ---- describing ------------------------------------------------------------ */

void cg_caps_names(uint64_t set, struct cg_strbuf *out)
{
	bool any = false;
	for (int c = 0; c < 64; c++)
		if (set & BIT(c)) {
			const char *n = cg_cap_name(c);
			if (n)
				cg_strbuf_addf(out, "%s%s", any ? " " : "", n + 4);
			else
				cg_strbuf_addf(out, "%s%d", any ? " " : "", c);
			any = true;
		}
	if (!any)
		cg_strbuf_addf(out, "none");
}

void cg_caps_describe(const struct cg_caps_plan *p, struct cg_strbuf *out)
{
	static const char *const sets[] = { "bounding", "permitted", "effective", "inheritable", "ambient" };

	cg_strbuf_addf(out, "user: %u:%u (%s)\n", (unsigned)p->uid, (unsigned)p->gid,
		       p->switch_user ? "--user; supplementary groups cleared"
		       : p->rootless  ? "capgate's own ids, in a new user namespace: only these mapped, "
					"setgroups denied"
				      : "capgate's own ids; supplementary groups cleared");
	for (size_t i = 0; i < CG_ARRAY_SIZE(sets); i++) {
		cg_strbuf_addf(out, "capabilities %s: ", sets[i]);
		cg_caps_names(p->set, out);
		cg_strbuf_addf(out, "\n");
	}
}
