// SPDX-License-Identifier: Apache-2.0
/*
 * The serving trigger's text form (capgate/phase.h). It lives with the
 * closure because it is part of the closure's file format: the profile
 * reader checks it with the position of the field, and trace and run read
 * and write it through these two functions only.
 */
#include <capgate/phase.h>
#include <capgate/syscalls.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int number(const char *s, uint64_t max, uint64_t *ret)
{
	char *end;
	if (!*s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

int cg_serve_trigger_parse(const char *s, struct cg_serve_trigger *ret, struct cg_error *err)
{
	struct cg_serve_trigger t = { 0 };
	uint64_t v;

	if (!s)
		return cg_error_set(err, -EINVAL, "no serving trigger given");
	if (strncmp(s, "listening:", 10) == 0) {
		if (number(s + 10, 65535, &v) < 0 || v == 0)
			return cg_error_set(err, -EINVAL, "serving trigger '%s': the port must be 1..65535", s);
		t.kind = CG_SERVE_LISTENING;
		t.port = (unsigned)v;
	} else if (strncmp(s, "call:", 5) == 0) {
		if (strlen(s + 5) >= sizeof(t.call) || cg_syscall_nr(cg_arch_native(), s + 5) < 0)
			return cg_error_set(err, -EINVAL, "serving trigger '%s': unknown system call '%s'", s, s + 5);
		t.kind = CG_SERVE_CALL;
		snprintf(t.call, sizeof(t.call), "%s", s + 5);
	} else if (strncmp(s, "after:", 6) == 0) {
		if (number(s + 6, 86400 * 366, &v) < 0)
			return cg_error_set(err, -EINVAL, "serving trigger '%s': expected a number of seconds", s);
		t.kind = CG_SERVE_AFTER;
		t.ms = v * 1000;
	} else if (strcmp(s, "sd-notify") == 0) {
		t.kind = CG_SERVE_SD_NOTIFY;
	} else if (strcmp(s, "signal") == 0) {
		t.kind = CG_SERVE_SIGNAL;
	} else {
		return cg_error_set(err, -EINVAL,
				    "unknown serving trigger '%s' (expected listening:PORT, call:NAME, "
				    "after:SECONDS, sd-notify or signal)",
				    s);
	}
	*ret = t;
	return 0;
}

const char *cg_serve_trigger_format(const struct cg_serve_trigger *t, char *buf, size_t n)
{
	switch (t->kind) {
	case CG_SERVE_LISTENING:
		snprintf(buf, n, "listening:%u", t->port);
		break;
	case CG_SERVE_CALL:
		snprintf(buf, n, "call:%s", t->call);
		break;
	case CG_SERVE_AFTER:
		snprintf(buf, n, "after:%" PRIu64, t->ms / 1000);
		break;
	case CG_SERVE_SD_NOTIFY:
		snprintf(buf, n, "sd-notify");
		break;
	case CG_SERVE_SIGNAL:
		snprintf(buf, n, "signal");
		break;
	default:
		snprintf(buf, n, "%s", "");
		break;
	}
	return buf;
}
