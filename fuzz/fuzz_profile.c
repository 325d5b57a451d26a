// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz the profile reader and everything that consumes a parsed profile:
 * for each document of the input that parses,
 *   - writing it and parsing the output must succeed, and writing that must
 *     give the same bytes (the writer is a fixed point);
 *   - resolving it, then compiling the closure, must not crash, and the
 *     program must pass capgate's own validator;
 *   - linting it must succeed, and every finding must be well formed.
 */
#include <capgate/compile.h>
#include <capgate/lint.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "static/lint_internal.h"

static void check_round_trip(const struct cg_profile *p)
{
	struct cg_strbuf a, b;
	struct cg_profile *q = NULL;
	struct cg_error err = { 0 };

	cg_strbuf_init(&a);
	cg_strbuf_init(&b);
	cg_profile_write(p, &a);
	if (a.oom)
		goto out;
	if (cg_profile_parse(a.buf, a.len, "<written>", &q, &err) < 0)
		FAIL("written profile does not parse: %s\n%.*s", err.msg, (int)a.len, a.buf);
	cg_profile_write(q, &b);
	if (!b.oom && (a.len != b.len || memcmp(a.buf, b.buf, a.len) != 0))
		FAIL("round trip differs:\n%.*s\n----\n%.*s", (int)a.len, a.buf, (int)b.len, b.buf);
out:
	cg_profile_free(q);
	cg_strbuf_release(&a);
	cg_strbuf_release(&b);
}

static void check_resolve_compile(const struct cg_profile *p, const struct cg_resolve_opts *ro)
{
	struct cg_closure *c = NULL;
	struct cg_compile_opts co = { .sz = sizeof(co), .phase = -1 };
	struct cg_bpf_prog prog = { 0 };
	struct cg_error err = { 0 };

	if (cg_profile_resolve(p, ro, &c, &err) < 0)
		return; /* e.g. an unknown name in a denial: refused, not a bug */
	if (cg_compile(c, &co, &prog, &err) == 0) {
		if (cg_bpf_validate(prog.insns, prog.len, &err) < 0)
			FAIL("compiled program does not validate: %s", err.msg);
		cg_bpf_prog_release(&prog);
	}
	cg_closure_free(c);
}

static void check_lint(const struct cg_profile *p, const struct cg_resolve_opts *ro)
{
	struct cg_lint_opts lo = { .sz = sizeof(lo), .resolve = ro };
	struct cg_lint_report *rep = NULL;
	struct cg_error err = { 0 };
	struct cg_lint_reports set = { &rep, 1 };
	struct cg_strbuf sb;
	int r = cg_lint_profile(p, &lo, &rep, &err);

	if (r == -ENOMEM)
		return;
	if (r < 0)
		FAIL("lint failed on a parsed profile: %s", err.msg);
	for (size_t i = 0; i < rep->n; i++) {
		const struct cg_lint_finding *f = &rep->findings[i];
		if (!f->rule || !f->message || (unsigned)f->severity > CG_SEV_CRITICAL)
			FAIL("malformed finding %zu", i);
		if (i && f->severity > rep->findings[i - 1].severity)
			FAIL("findings not sorted by severity");
	}
	cg_strbuf_init(&sb);
	cg_lint_report_write_text(rep, &sb);
	cg_lint_reports_write_json(&set, &sb);
	cg_strbuf_release(&sb);
	cg_lint_report_free(rep);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cg_profile **v = NULL;
	struct cg_error err = { 0 };
	size_t n = 0;
	/* fixed kernel and arch: the same input behaves the same on every machine */
	struct cg_resolve_opts ro = { .sz = sizeof(ro), .default_caps = true, .kernel_major = 6, .kernel_minor = 1, .native_arch = CG_ARCH_X86_64 };

	cg_set_log(NULL, NULL);
	if (cg_profile_parse_all((const char *)data, size, "<fuzz>", &v, &n, &err) < 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		check_round_trip(v[i]);
		check_resolve_compile(v[i], &ro);
		check_lint(v[i], &ro);
		cg_profile_free(v[i]);
	}
	free(v);
	return 0;
}
