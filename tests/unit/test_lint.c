// SPDX-License-Identifier: Apache-2.0
/* capgate lint: each rule on small inline profiles (firing and not firing),
 * and the findings the shared corpus must get. */
#include <capgate/lint.h>

#include <unistd.h>

#include "static/lint_internal.h"
#include "t.h"

static const char *const no_caps[] = { NULL };

/* Resolve like a default Docker container on x86_64 under Linux 6.1, so the
 * results do not depend on the machine running the tests. */
static struct cg_resolve_opts ro_default(void)
{
	return (struct cg_resolve_opts){ .sz = sizeof(struct cg_resolve_opts), .default_caps = true, .kernel_major = 6, .kernel_minor = 1, .native_arch = CG_ARCH_X86_64 };
}

static struct cg_lint_report *lint_with(const char *json, const struct cg_resolve_opts *ro)
{
	struct cg_profile *p = NULL;
	struct cg_lint_report *rep = NULL;
	struct cg_error err = { 0 };
	struct cg_lint_opts lo = { .sz = sizeof(lo), .resolve = ro };

	if (cg_profile_parse(json, strlen(json), "inline.json", &p, &err) < 0) {
		printf("  parse: %s\n", err.msg);
		return NULL;
	}
	if (cg_lint_profile(p, &lo, &rep, &err) < 0)
		printf("  lint: %s\n", err.msg);
	cg_profile_free(p);
	return rep;
}

static struct cg_lint_report *lint(const char *json)
{
	struct cg_resolve_opts ro = ro_default();
	return lint_with(json, &ro);
}

static struct cg_lint_report *lint_file(const char *rel)
{
	char path[512];
	struct cg_profile *p = NULL;
	struct cg_lint_report *rep = NULL;
	struct cg_error err = { 0 };
	struct cg_resolve_opts ro = ro_default();
	struct cg_lint_opts lo = { .sz = sizeof(lo), .resolve = &ro };

	snprintf(path, sizeof(path), "%s/%s", t_shared(), rel);
	if (cg_profile_load(path, &p, &err) < 0) {
		printf("  load: %s\n", err.msg);
		return NULL;
	}
	if (cg_lint_profile(p, &lo, &rep, &err) < 0)
		printf("  lint: %s\n", err.msg);
	cg_profile_free(p);
	return rep;
}

static bool has_call(const struct cg_lint_finding *f, const char *call)
{
	for (size_t i = 0; f && i < f->n_calls; i++)
		if (strcmp(f->calls[i], call) == 0)
			return true;
	return false;
}

/* The finding of rule @id that names @call (NULL if none). */
static const struct cg_lint_finding *find_call(const struct cg_lint_report *r, const char *id, const char *call)
{
	const struct cg_lint_finding *f = NULL;
	size_t n = r ? cg_lint_report_findings(r, &f) : 0;

	for (size_t i = 0; i < n; i++)
		if (strcmp(f[i].rule, id) == 0 && (!call || has_call(&f[i], call)))
			return &f[i];
	return NULL;
}

#define ALLOWLIST(extra)                                                                                     \
	"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"architectures\": [\"SCMP_ARCH_X86_64\"], \"syscalls\": [" \
	"{\"names\": [\"execve\", \"brk\", \"mmap\", \"exit_group\", \"arch_prctl\", \"read\", \"write\"], " \
	"\"action\": \"SCMP_ACT_ALLOW\"}" extra "]}"

static int test_rules_table_sorted(void)
{
	size_t n;
	const struct cg_lint_rule *r = cg_lint_rules(&n);
	CHECK(n > 10);
	for (size_t i = 1; i < n; i++)
		CHECKF(strcmp(r[i - 1].id, r[i].id) < 0, "rules not sorted at %s", r[i].id);
	return 0;
}

static int test_default_allow(void)
{
	struct cg_lint_report *r = lint("{\"defaultAction\": \"SCMP_ACT_ALLOW\"}");
	const struct cg_lint_finding *f = cg_lint_report_find(r, "default-allow");
	CHECK(f && f->severity == CG_SEV_CRITICAL);
	CHECK(find_call(r, "dangerous-call", "reboot") != NULL);
	CHECK(find_call(r, "dangerous-call", "kexec_load") != NULL);
	CHECK(!cg_lint_report_find(r, "cannot-start"));
	cg_lint_report_free(r);

	r = lint("{\"defaultAction\": \"SCMP_ACT_LOG\"}");
	f = cg_lint_report_find(r, "default-log");
	CHECK(f && f->severity == CG_SEV_HIGH);
	CHECK(!cg_lint_report_find(r, "default-allow"));
	cg_lint_report_free(r);

	r = lint(ALLOWLIST(""));
	CHECK(r && !cg_lint_report_find(r, "default-allow") && !cg_lint_report_find(r, "default-log"));
	CHECK(!cg_lint_report_find(r, "dangerous-call"));
	cg_lint_report_free(r);
	return 0;
}

static int test_dangerous_call(void)
{
	struct cg_lint_report *r = lint(ALLOWLIST(",\n{\"names\": [\"reboot\", \"mount\"], \"action\": \"SCMP_ACT_ALLOW\"}"));
	const struct cg_lint_finding *f = find_call(r, "dangerous-call", "reboot");
	CHECK(f && f->severity == CG_SEV_CRITICAL && f->pos.line == 2);
	CHECK_CONTAINS(f ? f->message : NULL, "reboots or halts the host");
	CHECK(find_call(r, "dangerous-call", "mount") != NULL);
	cg_lint_report_free(r);

	/* a denial of the dangerous call under a permissive default is honoured */
	r = lint("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"reboot\"], "
		 "\"action\": \"SCMP_ACT_ERRNO\"}]}");
	CHECK(r && !find_call(r, "dangerous-call", "reboot"));
	CHECK(find_call(r, "dangerous-call", "kexec_load") != NULL);
	cg_lint_report_free(r);

	/* personality with harmless arguments only: low */
	r = lint(ALLOWLIST(",{\"names\": [\"personality\"], \"action\": \"SCMP_ACT_ALLOW\", "
			   "\"args\": [{\"index\": 0, \"value\": 8, \"op\": \"SCMP_CMP_EQ\"}]}"));
	f = find_call(r, "dangerous-call", "personality");
	CHECK(f && f->severity == CG_SEV_LOW);
	CHECK_CONTAINS(f ? f->message : NULL, "ADDR_NO_RANDOMIZE");
	cg_lint_report_free(r);
	r = lint(ALLOWLIST(",{\"names\": [\"personality\"], \"action\": \"SCMP_ACT_ALLOW\"}"));
	f = find_call(r, "dangerous-call", "personality");
	CHECK(f && f->severity == CG_SEV_MEDIUM);
	cg_lint_report_free(r);
	return 0;
}

static int test_dangerous_with_cap(void)
{
	static const char *const admin[] = { "CAP_SYS_ADMIN" };
	const char *json = ALLOWLIST(",{\"names\": [\"mount\", \"umount2\"], \"action\": \"SCMP_ACT_ALLOW\", "
				     "\"includes\": {\"caps\": [\"CAP_SYS_ADMIN\"]}}");
	struct cg_resolve_opts ro = ro_default();
	struct cg_lint_report *r = lint(json);
	const struct cg_lint_finding *f = find_call(r, "dangerous-with-cap", "mount");

	CHECK(f && f->severity == CG_SEV_LOW);
	CHECK_CONTAINS(f ? f->message : NULL, "with CAP_SYS_ADMIN");
	CHECK(!find_call(r, "dangerous-call", "mount"));
	cg_lint_report_free(r);

	ro.caps = admin;
	ro.n_caps = 1;
	r = lint_with(json, &ro);
	CHECK(find_call(r, "dangerous-call", "mount") != NULL);
	CHECK(!cg_lint_report_find(r, "dangerous-with-cap"));
	cg_lint_report_free(r);

	/* without the default set, CAP_CHOWN-gated entries are reported too */
	ro = ro_default();
	ro.default_caps = false;
	ro.caps = no_caps;
	ro.n_caps = 0;
	r = lint_with(ALLOWLIST(",{\"names\": [\"mount\"], \"action\": \"SCMP_ACT_ALLOW\", "
				"\"includes\": {\"caps\": [\"CAP_CHOWN\"]}}"),
		      &ro);
	f = find_call(r, "dangerous-with-cap", "mount");
	CHECK_CONTAINS(f ? f->message : NULL, "CAP_CHOWN");
	cg_lint_report_free(r);
	return 0;
}

static int test_trace_and_notify(void)
{
	struct cg_lint_report *r = lint(ALLOWLIST(",{\"names\": [\"ptrace\"], \"action\": \"SCMP_ACT_TRACE\"}"));
	const struct cg_lint_finding *f = find_call(r, "trace-action", "ptrace");
	CHECK_CONTAINS(f ? f->message : NULL, "ENOSYS");
	CHECK(!find_call(r, "dangerous-call", "ptrace"));
	cg_lint_report_free(r);

	r = lint(ALLOWLIST(",{\"names\": [\"mount\"], \"action\": \"SCMP_ACT_NOTIFY\"}"));
	CHECK(cg_lint_report_find(r, "notify-without-listener") != NULL);
	f = find_call(r, "notify-action", "mount");
	CHECK(f && f->severity == CG_SEV_MEDIUM);
	CHECK(!find_call(r, "dangerous-call", "mount")); /* never treated as allow */
	cg_lint_report_free(r);

	r = lint("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"listenerPath\": \"/run/x.sock\", \"syscalls\": [{\"names\": "
		 "[\"execve\", \"brk\", \"exit_group\", \"arch_prctl\"], \"action\": \"SCMP_ACT_ALLOW\"}, {\"names\": "
		 "[\"getpid\"], \"action\": \"SCMP_ACT_NOTIFY\"}]}");
	CHECK(r && !cg_lint_report_find(r, "notify-without-listener"));
	f = find_call(r, "notify-action", "getpid");
	CHECK(f && f->severity == CG_SEV_LOW);
	CHECK_CONTAINS(f ? f->message : NULL, "/run/x.sock");
	cg_lint_report_free(r);

	r = lint(ALLOWLIST(""));
	CHECK(r && !cg_lint_report_find(r, "trace-action") && !cg_lint_report_find(r, "notify-action"));
	cg_lint_report_free(r);
	return 0;
}

static int test_arches(void)
{
	struct cg_lint_report *r = lint("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"architectures\": [\"SCMP_ARCH_X86_64\", "
					"\"SCMP_ARCH_X86\", \"SCMP_ARCH_X32\"]}");
	const struct cg_lint_finding *f = cg_lint_report_find(r, "extra-arch");
	CHECK(f && f->severity == CG_SEV_MEDIUM && f->pos.line == 1);
	CHECK_CONTAINS(f ? f->message : NULL, "x86");
	f = cg_lint_report_find(r, "x32-allowed");
	CHECK_CONTAINS(f ? f->message : NULL, "doubles");
	cg_lint_report_free(r);

	r = lint(ALLOWLIST(""));
	CHECK(r && !cg_lint_report_find(r, "extra-arch") && !cg_lint_report_find(r, "x32-allowed"));
	cg_lint_report_free(r);
	return 0;
}

/* A profile that denies socket on x86 but lets socketcall through. */
static int test_socketcall_bypass(void)
{
	struct cg_lint_report *r =
		lint("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\"], "
		     "\"syscalls\": [{\"names\": [\"socket\"], \"action\": \"SCMP_ACT_ERRNO\"}]}");
	const struct cg_lint_finding *f = find_call(r, "socketcall-bypass", "socketcall");
	CHECK(f && f->severity == CG_SEV_HIGH);
	CHECK_CONTAINS(f ? f->message : NULL, "socket is denied");
	cg_lint_report_free(r);

	/* allowed only for some families: the same hole */
	r = lint(ALLOWLIST(",{\"names\": [\"socketcall\"], \"action\": \"SCMP_ACT_ALLOW\"},"
			   "{\"names\": [\"socket\"], \"action\": \"SCMP_ACT_ALLOW\", "
			   "\"args\": [{\"index\": 0, \"value\": 2, \"op\": \"SCMP_CMP_EQ\"}]}"));
	CHECK(r && !cg_lint_report_find(r, "socketcall-bypass")); /* x86_64 only: no socketcall */
	cg_lint_report_free(r);
	r = lint("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\"], "
		 "\"syscalls\": [{\"names\": [\"socketcall\", \"execve\", \"exit_group\"], \"action\": \"SCMP_ACT_ALLOW\"},"
		 "{\"names\": [\"socket\"], \"action\": \"SCMP_ACT_ALLOW\", "
		 "\"args\": [{\"index\": 0, \"value\": 2, \"op\": \"SCMP_CMP_EQ\"}]}]}");
	f = find_call(r, "socketcall-bypass", "socketcall");
	CHECK_CONTAINS(f ? f->message : NULL, "allowed only for some arguments");
	CHECK(f && f->pos.line == 1 && f->severity == CG_SEV_MEDIUM);
	cg_lint_report_free(r);

	/* socketcall denied too, or socket allowed outright: nothing to say */
	r = lint("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\"], "
		 "\"syscalls\": [{\"names\": [\"socket\", \"socketcall\"], \"action\": \"SCMP_ACT_ERRNO\"}]}");
	CHECK(r && !cg_lint_report_find(r, "socketcall-bypass"));
	cg_lint_report_free(r);
	r = lint("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\"]}");
	CHECK(r && !cg_lint_report_find(r, "socketcall-bypass"));
	cg_lint_report_free(r);
	return 0;
}

static int test_arg_width(void)
{
	struct cg_lint_report *r = lint(ALLOWLIST(",{\"names\": [\"socket\"], \"action\": \"SCMP_ACT_ALLOW\", "
						  "\"args\": [{\"index\": 0, \"value\": 40, \"op\": \"SCMP_CMP_NE\"}]}"));
	const struct cg_lint_finding *f = find_call(r, "arg-width", "socket");
	CHECK(f && f->severity == CG_SEV_MEDIUM);
	CHECK_CONTAINS(f ? f->message : NULL, "0x100000028");
	CHECK_CONTAINS(f ? f->message : NULL, "runc");
	cg_lint_report_free(r);

	/* EQ in an allow rule only denies more under runc: fine */
	r = lint(ALLOWLIST(",{\"names\": [\"socket\"], \"action\": \"SCMP_ACT_ALLOW\", "
			   "\"args\": [{\"index\": 0, \"value\": 2, \"op\": \"SCMP_CMP_EQ\"}]}"));
	CHECK(r && !cg_lint_report_find(r, "arg-width"));
	cg_lint_report_free(r);

	/* a 64-bit argument (clone flags) is compared at full width everywhere */
	r = lint(ALLOWLIST(",{\"names\": [\"clone\"], \"action\": \"SCMP_ACT_ALLOW\", "
			   "\"args\": [{\"index\": 0, \"value\": 256, \"op\": \"SCMP_CMP_NE\"}]}"));
	CHECK(r && !cg_lint_report_find(r, "arg-width"));
	cg_lint_report_free(r);

	/* a value above 32 bits on a 32-bit argument */
	r = lint(ALLOWLIST(",{\"names\": [\"socket\"], \"action\": \"SCMP_ACT_ALLOW\", "
			   "\"args\": [{\"index\": 0, \"value\": 4294967298, \"op\": \"SCMP_CMP_EQ\"}]}"));
	f = find_call(r, "arg-width", "socket");
	CHECK_CONTAINS(f ? f->message : NULL, "upper 32 bits");
	cg_lint_report_free(r);

	/* a denial with EQ can be escaped under runc */
	r = lint("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"socket\"], \"action\": "
		 "\"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 0, \"value\": 40, \"op\": \"SCMP_CMP_EQ\"}]}]}");
	f = find_call(r, "arg-width", "socket");
	CHECK_CONTAINS(f ? f->message : NULL, "escapes this denial");
	cg_lint_report_free(r);
	return 0;
}

static int test_repeated_index(void)
{
	struct cg_lint_report *r = lint(ALLOWLIST(",\n{\"names\": [\"kill\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": ["
						  "{\"index\": 1, \"value\": 9, \"op\": \"SCMP_CMP_NE\"}, "
						  "{\"index\": 1, \"value\": 19, \"op\": \"SCMP_CMP_NE\"}]}"));
	const struct cg_lint_finding *f = cg_lint_report_find(r, "repeated-arg-index");
	CHECK(f && f->pos.line == 2);
	CHECK_CONTAINS(f ? f->message : NULL, "always true");
	cg_lint_report_free(r);

	r = lint(ALLOWLIST(",{\"names\": [\"kill\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": ["
			   "{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}, "
			   "{\"index\": 1, \"value\": 15, \"op\": \"SCMP_CMP_EQ\"}]}"));
	CHECK(r && !cg_lint_report_find(r, "repeated-arg-index"));
	cg_lint_report_free(r);
	return 0;
}

static int test_cannot_start(void)
{
	struct cg_lint_report *r = lint("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\", "
					"\"write\"], \"action\": \"SCMP_ACT_ALLOW\"}]}");
	const struct cg_lint_finding *f = cg_lint_report_find(r, "cannot-start");
	CHECK(f && f->severity == CG_SEV_CRITICAL);
	CHECK(has_call(f, "execve") && has_call(f, "brk") && has_call(f, "exit_group") && has_call(f, "arch_prctl"));
	f = cg_lint_report_find(r, "startup-calls");
	CHECK(f && f->severity == CG_SEV_HIGH && has_call(f, "mprotect"));
	cg_lint_report_free(r);

	r = lint(ALLOWLIST(""));
	CHECK(r && !cg_lint_report_find(r, "cannot-start"));
	f = cg_lint_report_find(r, "startup-calls");
	CHECK(f && has_call(f, "mprotect") && !has_call(f, "read"));
	cg_lint_report_free(r);
	return 0;
}

static int test_unknown_syscall(void)
{
	struct cg_lint_report *r = lint(ALLOWLIST(",\n{\"names\": [\"getpid\", \"opne\"], \"action\": \"SCMP_ACT_ALLOW\"}"));
	const struct cg_lint_finding *f = find_call(r, "unknown-syscall", "opne");
	CHECK(f && f->severity == CG_SEV_LOW && f->pos.line == 2 && f->pos.col == 22);
	CHECK_CONTAINS(f ? f->message : NULL, "did you mean 'open'");
	cg_lint_report_free(r);

	/* in a denial it is a hole: high, and the profile still lints */
	r = lint("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"rebot\"], \"action\": "
		 "\"SCMP_ACT_ERRNO\"}]}");
	f = find_call(r, "unknown-syscall", "rebot");
	CHECK(f && f->severity == CG_SEV_HIGH);
	CHECK(find_call(r, "dangerous-call", "reboot") != NULL);
	cg_lint_report_free(r);

	r = lint(ALLOWLIST(""));
	CHECK(r && !cg_lint_report_find(r, "unknown-syscall"));
	cg_lint_report_free(r);
	return 0;
}

static int test_ignored_field(void)
{
	struct cg_lint_report *r = lint(ALLOWLIST(",{\"names\": [\"kill\"], \"action\": \"SCMP_ACT_ALLOW\", \"arg\": []}"));
	const struct cg_lint_finding *f = cg_lint_report_find(r, "ignored-field");
	CHECK(f && f->severity == CG_SEV_MEDIUM && f->pos.line == 1);
	CHECK_CONTAINS(f ? f->message : NULL, "did you mean 'args'");
	cg_lint_report_free(r);

	r = lint(ALLOWLIST(""));
	CHECK(r && !cg_lint_report_find(r, "ignored-field"));
	cg_lint_report_free(r);
	return 0;
}

static int test_overlaps(void)
{
	struct cg_lint_report *r = lint(ALLOWLIST(",{\"names\": [\"socket\"], \"action\": \"SCMP_ACT_ALLOW\"},\n"
						  "{\"names\": [\"socket\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": "
						  "[{\"index\": 0, \"value\": 16, \"op\": \"SCMP_CMP_EQ\"}]}"));
	const struct cg_lint_finding *f = find_call(r, "conflicting-rule", "socket");
	CHECK(f && f->pos.line == 2);
	CHECK_CONTAINS(f ? f->message : NULL, "keep only the unconditional rule");
	cg_lint_report_free(r);

	r = lint(ALLOWLIST(",{\"names\": [\"setns\"], \"action\": \"SCMP_ACT_ALLOW\"},\n"
			   "{\"names\": [\"setns\"], \"action\": \"SCMP_ACT_ERRNO\"}"));
	f = find_call(r, "conflicting-rule", "setns");
	CHECK(f && f->severity == CG_SEV_HIGH);
	CHECK_CONTAINS(f ? f->message : NULL, "comes first");
	cg_lint_report_free(r);

	r = lint(ALLOWLIST(",{\"names\": [\"kill\"], \"action\": \"SCMP_ACT_ERRNO\"},\n"
			   "{\"names\": [\"kill\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": "
			   "[{\"index\": 1, \"value\": 15, \"op\": \"SCMP_CMP_EQ\"}]}"));
	f = find_call(r, "shadowed-rule", "kill");
	CHECK(f && f->pos.line == 2);
	cg_lint_report_free(r);

	r = lint(ALLOWLIST(",{\"names\": [\"kill\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": "
			   "[{\"index\": 1, \"value\": 15, \"op\": \"SCMP_CMP_EQ\"}]}"));
	CHECK(r && !cg_lint_report_find(r, "shadowed-rule") && !cg_lint_report_find(r, "conflicting-rule"));
	cg_lint_report_free(r);
	return 0;
}

static int test_size(void)
{
	struct cg_lint_report *r = lint(ALLOWLIST(""));
	const struct cg_lint_finding *f = cg_lint_report_find(r, "size");
	CHECK(f && f->severity == CG_SEV_INFO);
	CHECK_CONTAINS(f ? f->message : NULL, "permits 7 system calls");
	cg_lint_report_free(r);
	return 0;
}

static int test_output(void)
{
	struct cg_lint_report *r = lint(ALLOWLIST(",\n{\"names\": [\"reboot\"], \"action\": \"SCMP_ACT_ALLOW\"}"));
	struct cg_lint_reports set = { &r, 1 }, none = { 0 };
	struct cg_strbuf sb;

	cg_strbuf_init(&sb);
	cg_lint_report_write_text(r, &sb);
	CHECK_CONTAINS(sb.buf, "inline.json:2:12: critical: dangerous-call: allows reboot: reboots or halts the host\n");
	cg_strbuf_release(&sb);
	cg_strbuf_init(&sb);
	CHECK_EQ_INT(cg_lint_reports_write_json(&set, &sb), 0);
	CHECK(strncmp(sb.buf, "[\n  {\"file\": ", 12) == 0 && strcmp(sb.buf + sb.len - 4, "}\n]\n") == 0);
	CHECK_CONTAINS(sb.buf, "{\"file\": \"inline.json\", \"line\": 2, \"column\": 12, \"severity\": \"critical\", "
			       "\"rule\": \"dangerous-call\"");
	CHECK_CONTAINS(sb.buf, "\"calls\": [\"reboot\"]}");
	CHECK_EQ_INT(cg_lint_reports_count(&set, CG_SEV_CRITICAL), 1);
	cg_strbuf_release(&sb);
	cg_strbuf_init(&sb);
	CHECK_EQ_INT(cg_lint_reports_write_json(&none, &sb), 0);
	CHECK_STR(sb.buf, "[]\n");
	CHECK(cg_lint_report_count(r, CG_SEV_CRITICAL) == 1);
	CHECK(r && r->findings[0].severity == CG_SEV_CRITICAL); /* most severe first */
	cg_strbuf_release(&sb);
	cg_lint_report_free(r);
	return 0;
}

/* ---- the shared corpus ---------------------------------------------------- */

static int test_seed_restrictive(void)
{
	struct cg_lint_report *r = lint_file("mission/profiles/seed-restrictive.json");
	static const char *const must[] = { "reboot", "kexec_load", "mount", "bpf", "ptrace", "init_module" };
	const struct cg_lint_finding *f;
	if (!r)
		SKIP("shared corpus not found at %s", t_shared());
	for (size_t i = 0; i < CG_ARRAY_SIZE(must); i++)
		CHECKF(find_call(r, "dangerous-call", must[i]), "%s not flagged", must[i]);
	f = find_call(r, "dangerous-call", "reboot");
	CHECK(f && f->severity == CG_SEV_CRITICAL && f->pos.line == 171 && f->pos.col == 9);
	f = find_call(r, "dangerous-call", "kexec_load");
	CHECK(f && f->severity == CG_SEV_CRITICAL);
	CHECK(!cg_lint_report_find(r, "cannot-start"));
	cg_lint_report_free(r);
	return 0;
}

static int test_seed_web_server(void)
{
	struct cg_lint_report *r = lint_file("mission/profiles/seed-web-server.json");
	const struct cg_lint_finding *f;
	if (!r)
		SKIP("shared corpus not found at %s", t_shared());
	f = cg_lint_report_find(r, "cannot-start");
	CHECK(f && f->severity == CG_SEV_CRITICAL && has_call(f, "execve") && has_call(f, "arch_prctl"));
	f = cg_lint_report_find(r, "startup-calls");
	CHECK(f && has_call(f, "mprotect") && has_call(f, "rt_sigaction") && has_call(f, "futex") &&
	      has_call(f, "set_tid_address"));
	CHECK(f && !has_call(f, "mmap") && !has_call(f, "read"));
	f = cg_lint_report_find(r, "size");
	CHECK_CONTAINS(f ? f->message : NULL, "permits 19 system calls");
	cg_lint_report_free(r);
	return 0;
}

static int test_spo_permissive_and_invalid(void)
{
	struct cg_lint_report *r = lint_file("corpus/profiles/spo-test-profiles-permissive.json");
	const struct cg_lint_finding *f;
	if (!r)
		SKIP("shared corpus not found at %s", t_shared());
	f = cg_lint_report_find(r, "default-allow");
	CHECK(f && f->severity == CG_SEV_CRITICAL);
	CHECK_CONTAINS(f ? f->message : NULL, "permissive profile");
	cg_lint_report_free(r);

	r = lint_file("corpus/profiles/spo-test-profiles-invalid.json");
	CHECK(cg_lint_report_find(r, "default-allow") != NULL);
	f = find_call(r, "notify-action", "mount");
	CHECK(f && f->severity >= CG_SEV_MEDIUM);
	CHECK(!find_call(r, "dangerous-call", "mount")); /* the supervisor decides, not "allowed" */
	CHECK(find_call(r, "dangerous-call", "umount2") != NULL);
	CHECK(!cg_lint_report_find(r, "notify-without-listener"));
	cg_lint_report_free(r);
	return 0;
}

static int test_docker_default(void)
{
	struct cg_lint_report *r = lint_file("corpus/profiles/docker-default.json");
	const struct cg_lint_finding *f;
	if (!r)
		SKIP("shared corpus not found at %s", t_shared());
	/* at Docker's default capabilities nothing high or critical */
	CHECKF(cg_lint_report_count(r, CG_SEV_HIGH) == 0, "%s", r->n ? r->findings[0].message : "");
	f = find_call(r, "dangerous-call", "personality");
	CHECK(f && f->severity == CG_SEV_LOW);
	CHECK(!find_call(r, "dangerous-call", "io_uring_setup"));
	f = find_call(r, "dangerous-call", "ptrace");
	CHECK(f && f->severity == CG_SEV_MEDIUM);
	f = find_call(r, "socketcall-bypass", "socketcall"); /* AF_VSOCK is denied by socket's arguments only */
	CHECK(f && f->severity == CG_SEV_MEDIUM);
	f = find_call(r, "arg-width", "socket"); /* GT 40 on a 32-bit int: runc compares 64 bits */
	CHECK(f && f->severity == CG_SEV_MEDIUM);
	f = find_call(r, "dangerous-with-cap", "mount");
	CHECK_CONTAINS(f ? f->message : NULL, "CAP_SYS_ADMIN");
	CHECK(cg_lint_report_find(r, "x32-allowed") != NULL);
	cg_lint_report_free(r);
	return 0;
}

static int test_podman_default(void)
{
	struct cg_lint_report *r = lint_file("corpus/profiles/podman-default.json");
	if (!r)
		SKIP("shared corpus not found at %s", t_shared());
	CHECK(find_call(r, "dangerous-call", "mount") != NULL);
	CHECK(find_call(r, "conflicting-rule", "setns") != NULL);
	cg_lint_report_free(r);
	return 0;
}

static int test_multi_document_yaml(void)
{
	char path[512];
	char *buf = NULL;
	size_t len = 0, n = 0, allow = 0, block = 0;
	struct cg_profile **v = NULL;
	struct cg_error err = { 0 };
	struct cg_resolve_opts ro = ro_default();
	struct cg_lint_opts lo = { .sz = sizeof(lo), .resolve = &ro };

	snprintf(path, sizeof(path), "%s/corpus/profiles/spo-seccompprofile.yaml", t_shared());
	if (cg_read_file(path, &buf, &len, &err) < 0)
		SKIP("shared corpus not found at %s", t_shared());
	CHECK(cg_profile_parse_all(buf, len, path, &v, &n, &err) == 0);
	CHECK(n >= 2);
	for (size_t i = 0; i < n; i++) {
		struct cg_lint_report *r = NULL;
		CHECK(cg_lint_profile(v[i], &lo, &r, &err) == 0);
		CHECK(r && r->name);
		allow += cg_lint_report_find(r, "default-allow") != NULL;
		block += cg_lint_report_find(r, "cannot-start") != NULL;
		cg_lint_report_free(r);
		cg_profile_free(v[i]);
	}
	CHECK(allow >= 1 && block >= 1);
	free(v);
	free(buf);
	return 0;
}

/* cg_lint_path: every document of a file appended in order; a file that
 * cannot be read or parsed leaves the set as it was. */
static int test_lint_path(void)
{
	char yaml[512], json[512];
	struct cg_resolve_opts ro = ro_default();
	struct cg_lint_opts lo = { .sz = sizeof(lo), .resolve = &ro };
	struct cg_lint_reports set = { 0 };
	struct cg_error err = { 0 };
	size_t n;

	snprintf(yaml, sizeof(yaml), "%s/corpus/profiles/spo-seccompprofile.yaml", t_shared());
	snprintf(json, sizeof(json), "%s/corpus/profiles/docker-default.json", t_shared());
	if (cg_lint_path(yaml, &lo, &set, &err) < 0)
		SKIP("shared corpus not found at %s", t_shared());
	n = set.n;
	CHECK(n >= 2);
	CHECK(cg_lint_path(json, &lo, &set, &err) == 0);
	CHECK_EQ_INT(set.n, n + 1);
	CHECK(set.n == n + 1 && !set.v[n]->name && strcmp(set.v[n]->source, json) == 0);
	CHECK(cg_lint_path("/nonexistent/p.json", &lo, &set, &err) < 0);
	CHECK_CONTAINS(err.msg, "/nonexistent/p.json");
	{
		char bad[] = "/tmp/capgate-lint-XXXXXX";
		int fd = mkstemp(bad);
		CHECK(fd >= 0 && write(fd, "{\"defaultAction\": 7}", 20) == 20);
		CHECK(cg_lint_path(bad, &lo, &set, &err) < 0);
		CHECK_CONTAINS(err.msg, bad);
		close(fd);
		unlink(bad);
	}
	CHECK_EQ_INT(set.n, n + 1);
	CHECK(cg_lint_reports_count(&set, CG_SEV_INFO) >= cg_lint_reports_count(&set, CG_SEV_CRITICAL));
	cg_lint_reports_release(&set);
	CHECK(set.n == 0 && !set.v);
	return 0;
}

/* Every corpus profile lints without error, and every finding is well formed. */
static int test_whole_corpus(void)
{
	static const char *const files[] = {
		"mission/profiles/seed-base.json",
		"mission/profiles/seed-database.json",
		"mission/profiles/seed-minimal.json",
		"corpus/profiles/docker-fixtures-conditional_include.json",
		"corpus/profiles/docker-fixtures-default-old-format.json",
		"corpus/profiles/docker-fixtures-example.json",
		"corpus/profiles/jessfraz-chrome.json",
		"corpus/profiles/k8s-docs-fine-grained.json",
		"corpus/profiles/k8s-docs-violation.json",
		"corpus/profiles/moby-default-without-user-namespaces.json",
		"corpus/profiles/moby-fixtures-conditional_clone3.json",
		"corpus/profiles/podman-fixture-example.json",
		"corpus/profiles/spo-test-profiles-deny-chmod.json",
	};
	size_t nr;
	const struct cg_lint_rule *rules = cg_lint_rules(&nr);
	for (size_t i = 0; i < CG_ARRAY_SIZE(files); i++) {
		struct cg_lint_report *r = lint_file(files[i]);
		if (!r && i == 0)
			SKIP("shared corpus not found at %s", t_shared());
		CHECKF(r != NULL, "%s", files[i]);
		for (size_t k = 0; r && k < r->n; k++) {
			bool known = false;
			for (size_t j = 0; j < nr; j++)
				known |= strcmp(rules[j].id, r->findings[k].rule) == 0;
			CHECKF(known, "%s: unknown rule %s", files[i], r->findings[k].rule);
			CHECK(r->findings[k].message && r->findings[k].message[0]);
		}
		cg_lint_report_free(r);
	}
	return 0;
}

static int test_corpus_specifics(void)
{
	struct cg_lint_report *r = lint_file("mission/profiles/seed-minimal.json");
	const struct cg_lint_finding *f;
	if (!r)
		SKIP("shared corpus not found at %s", t_shared());
	f = cg_lint_report_find(r, "cannot-start");
	CHECK(f && has_call(f, "execve") && has_call(f, "brk"));
	cg_lint_report_free(r);

	r = lint_file("corpus/profiles/moby-default-without-user-namespaces.json");
	f = find_call(r, "dangerous-call", "io_uring_setup");
	CHECK(f && f->severity == CG_SEV_HIGH);
	f = find_call(r, "dangerous-call", "unshare"); /* namespace flags masked out */
	CHECK(f && f->severity == CG_SEV_LOW);
	cg_lint_report_free(r);

	r = lint_file("mission/profiles/seed-base.json");
	CHECK(cg_lint_report_find(r, "x32-allowed") != NULL);
	CHECK(find_call(r, "dangerous-call", "keyctl") != NULL);
	cg_lint_report_free(r);

	r = lint_file("corpus/profiles/jessfraz-chrome.json");
	CHECK(find_call(r, "dangerous-call", "open_by_handle_at") != NULL);
	cg_lint_report_free(r);
	return 0;
}

int main(void)
{
	RUN(test_rules_table_sorted);
	RUN(test_default_allow);
	RUN(test_dangerous_call);
	RUN(test_dangerous_with_cap);
	RUN(test_trace_and_notify);
	RUN(test_arches);
	RUN(test_socketcall_bypass);
	RUN(test_arg_width);
	RUN(test_repeated_index);
	RUN(test_cannot_start);
	RUN(test_unknown_syscall);
	RUN(test_ignored_field);
	RUN(test_overlaps);
	RUN(test_size);
	RUN(test_output);
	RUN(test_seed_restrictive);
	RUN(test_seed_web_server);
	RUN(test_spo_permissive_and_invalid);
	RUN(test_docker_default);
	RUN(test_podman_default);
	RUN(test_multi_document_yaml);
	RUN(test_lint_path);
	RUN(test_whole_corpus);
	RUN(test_corpus_specifics);
	T_DONE();
}
