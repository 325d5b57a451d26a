// SPDX-License-Identifier: Apache-2.0
/*
 * Resource limits for the program (--rlimit), named as prlimit(1) names
 * them. Set in the program's process before the user switch and the
 * capability drop, so that root may also raise a hard limit; an ordinary
 * caller can only lower them, and setrlimit says so.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/rlimit.h"

static const struct {
	const char *name;
	int resource;
} names[] = {
	{ "as", RLIMIT_AS },
	{ "core", RLIMIT_CORE },
	{ "cpu", RLIMIT_CPU },
	{ "data", RLIMIT_DATA },
	{ "fsize", RLIMIT_FSIZE },
	{ "locks", RLIMIT_LOCKS },
	{ "memlock", RLIMIT_MEMLOCK },
	{ "msgqueue", RLIMIT_MSGQUEUE },
	{ "nice", RLIMIT_NICE },
	{ "nofile", RLIMIT_NOFILE },
	{ "nproc", RLIMIT_NPROC },
	{ "rss", RLIMIT_RSS },
	{ "rtprio", RLIMIT_RTPRIO },
	{ "rttime", RLIMIT_RTTIME },
	{ "sigpending", RLIMIT_SIGPENDING },
	{ "stack", RLIMIT_STACK },
};

static const char *rlimit_name(int resource)
{
	for (size_t i = 0; i < CG_ARRAY_SIZE(names); i++)
		if (names[i].resource == resource)
			return names[i].name;
	return "?";
}

static int parse_value(const char *s, size_t len, rlim_t *ret)
{
	char buf[32];
	char *end;
	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = 0;
	if (strcmp(buf, "unlimited") == 0 || strcmp(buf, "infinity") == 0) {
		*ret = RLIM_INFINITY;
		return 0;
	}
	errno = 0;
	unsigned long long v = strtoull(buf, &end, 10);
	if (errno || *end || buf[0] == '-' || v >= (unsigned long long)RLIM_INFINITY)
		return -EINVAL;
	*ret = (rlim_t)v;
	return 0;
}

int cg_rlimit_parse(const char *spec, struct cg_rlimit *ret, struct cg_error *err)
{
	const char *eq = strchr(spec, '='), *val, *colon;
	struct cg_rlimit l = { .resource = -1 };

	if (!eq)
		return cg_error_set(err, -EINVAL, "--rlimit '%s': expected NAME=SOFT[:HARD]", spec);
	for (size_t i = 0; i < CG_ARRAY_SIZE(names); i++)
		if (strlen(names[i].name) == (size_t)(eq - spec) && strncmp(spec, names[i].name, eq - spec) == 0)
			l.resource = names[i].resource;
	if (l.resource < 0)
		return cg_error_set(err, -EINVAL,
				    "--rlimit '%s': unknown limit (as, core, cpu, data, fsize, locks, memlock, "
				    "msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack)",
				    spec);
	val = eq + 1;
	colon = strchr(val, ':');
	if (parse_value(val, colon ? (size_t)(colon - val) : strlen(val), &l.lim.rlim_cur) < 0 ||
	    (colon && parse_value(colon + 1, strlen(colon + 1), &l.lim.rlim_max) < 0))
		return cg_error_set(err, -EINVAL, "--rlimit '%s': values are numbers or 'unlimited'", spec);
	if (!colon)
		l.lim.rlim_max = l.lim.rlim_cur;
	if (l.lim.rlim_cur > l.lim.rlim_max)
		return cg_error_set(err, -EINVAL, "--rlimit '%s': the soft limit is above the hard limit", spec);
	*ret = l;
	return 0;
}

int cg_rlimit_apply(const struct cg_rlimit *l, size_t n, struct cg_error *err)
{
	for (size_t i = 0; i < n; i++)
		if (setrlimit(l[i].resource, &l[i].lim) < 0)
			return cg_error_set(err, -errno, "--rlimit %s: setrlimit: %s", rlimit_name(l[i].resource),
					    strerror(errno));
	return 0;
}

static void add_value(struct cg_strbuf *out, rlim_t v)
{
	if (v == RLIM_INFINITY)
		cg_strbuf_addf(out, "unlimited");
	else
		cg_strbuf_addf(out, "%llu", (unsigned long long)v);
}

void cg_rlimit_describe(const struct cg_rlimit *l, size_t n, struct cg_strbuf *out)
{
	cg_strbuf_addf(out, "rlimits:");
	if (!n)
		cg_strbuf_addf(out, " capgate's own (none set)");
	for (size_t i = 0; i < n; i++) {
		cg_strbuf_addf(out, " %s=", rlimit_name(l[i].resource));
		add_value(out, l[i].lim.rlim_cur);
		cg_strbuf_addf(out, ":");
		add_value(out, l[i].lim.rlim_max);
	}
	cg_strbuf_addf(out, "\n");
}
