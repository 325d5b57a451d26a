// SPDX-License-Identifier: Apache-2.0
/*
 * The numbers `capgate info` shows (see capgate/summary.h). It sits with the
 * static gate because it needs both the closure and the compiled program: the
 * action-cache figure is a prediction from the program the runtime gate would
 * load.
 */
#include <capgate/bpf.h>
#include <capgate/compile.h>
#include <capgate/lint.h>
#include <capgate/summary.h>
#include <errno.h>
#include <string.h>

#include "static/lint_internal.h"

/* Of the @n permitted numbers @nrs on @arch, how many the kernel caches. */
static int count_cached(const struct cg_bpf_prog *prog, enum cg_arch_id arch, const uint32_t *nrs, size_t n,
			size_t *ret)
{
	uint32_t count = (uint32_t)cg_syscall_max_nr(arch) + 1;
	_cleanup_free_ uint8_t *bm = calloc((count + 7) / 8, 1);
	size_t cached = 0;

	if (!bm)
		return -ENOMEM;
	cg_bpf_cache_predict(prog->insns, prog->len, cg_arch_info(arch)->audit, count, bm);
	for (size_t i = 0; i < n; i++)
		if (nrs[i] < count && (bm[nrs[i] / 8] & (1u << (nrs[i] % 8))))
			cached++;
	*ret = cached;
	return 0;
}

static int summarise_arches(const struct cg_closure *c, const struct cg_bpf_prog *prog, struct cg_summary *s)
{
	if (!(s->arches = calloc(CG_ARCH_COUNT, sizeof(*s->arches))))
		return -ENOMEM;
	for (int a = 0; a < CG_ARCH_COUNT; a++) {
		_cleanup_free_ uint32_t *nrs = NULL;
		struct cg_summary_arch *sa = &s->arches[s->n_arches];
		int r;

		if (!(c->arch_mask & CG_ARCH_BIT(a)))
			continue;
		s->n_arches++;
		sa->arch = (enum cg_arch_id)a;
		if ((r = cg_closure_arch_numbers(c, a, -1, &nrs, &sa->permitted)) < 0)
			return r;
		sa->cache_known = a != CG_ARCH_X32 && cg_syscall_max_nr(a) >= 0;
		if (sa->cache_known && (r = count_cached(prog, a, nrs, sa->permitted, &sa->cached)) < 0)
			return r;
	}
	return 0;
}

static bool permits_call(const struct cg_closure *c, const struct cg_summary *s, const char *call)
{
	uint64_t z[6] = { 0 };

	if (cg_action_permits(c->default_action))
		return cg_action_permits(cg_closure_decide(c, cg_arch_native(), call, z, -1, NULL));
	for (size_t k = 0; k < s->n_names; k++)
		if (strcmp(s->names[k], call) == 0)
			return true;
	return false;
}

static int summarise_risks(const struct cg_closure *c, struct cg_summary *s)
{
	size_t n_classes;
	const struct cg_risk_class *rc = cg_risk_classes(&n_classes);

	s->risks = calloc(n_classes + 1, sizeof(*s->risks));
	if (!s->risks)
		return -ENOMEM;
	for (size_t i = 0; i < n_classes; i++) {
		struct cg_summary_risk *sr = &s->risks[s->n_risks];
		size_t n_calls = 0;

		while (rc[i].calls[n_calls])
			n_calls++;
		sr->calls = malloc((n_calls + 1) * sizeof(*sr->calls));
		if (!sr->calls)
			return -ENOMEM;
		sr->cls = &rc[i];
		sr->severity = rc[i].severity;
		for (const char *const *call = rc[i].calls; *call; call++)
			if (permits_call(c, s, *call))
				sr->calls[sr->n_calls++] = *call;
		if (sr->n_calls)
			s->n_risks++;
		else
			free(TAKE_PTR(sr->calls));
	}
	return 0;
}

static void prog_releasep(struct cg_bpf_prog *p)
{
	cg_bpf_prog_release(p);
}

int cg_summary_closure(const struct cg_closure *c, struct cg_summary **ret, struct cg_error *err)
{
	_cleanup_(cg_summary_freep) struct cg_summary *s = calloc(1, sizeof(*s));
	_cleanup_(prog_releasep) struct cg_bpf_prog prog = { 0 };
	int r;

	if (!s)
		return cg_error_set(err, -ENOMEM, "out of memory");
	if ((r = cg_closure_digest(c, s->digest)) < 0 ||
	    (r = cg_closure_permitted_names(c, -1, &s->names, &s->n_names)) < 0)
		return cg_error_set(err, r, "out of memory");
	if (c->n_phases && !(s->phase_permitted = calloc(c->n_phases, sizeof(*s->phase_permitted))))
		return cg_error_set(err, -ENOMEM, "out of memory");
	for (unsigned p = 0; p < c->n_phases; p++) {
		_cleanup_free_ const char **pn = NULL;
		if ((r = cg_closure_permitted_names(c, (int)p, &pn, &s->phase_permitted[p])) < 0)
			return cg_error_set(err, r, "out of memory");
		s->n_phases++;
	}
	if ((r = cg_compile(c, NULL, &prog, err)) < 0)
		return r;
	s->prog_len = prog.len;
	if ((r = summarise_arches(c, &prog, s)) < 0 || (r = summarise_risks(c, s)) < 0)
		return cg_error_set(err, r, "out of memory");
	*ret = TAKE_PTR(s);
	return 0;
}

void cg_summary_free(struct cg_summary *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_risks; i++)
		free(s->risks[i].calls);
	free(s->risks);
	free(s->names);
	free(s->phase_permitted);
	free(s->arches);
	free(s);
}

/* A class's severity is lint's judgement of it for this profile (lint lowers
 * a class for calls allowed only under conditions, or mitigated by the
 * kernel or a missing capability): the highest dangerous-call finding that
 * names one of the class's permitted calls. A class lint does not report
 * keeps the class table's severity. */
void cg_summary_apply_lint(struct cg_summary *s, const struct cg_lint_report *lr)
{
	for (size_t i = 0; s && lr && i < s->n_risks; i++) {
		struct cg_summary_risk *sr = &s->risks[i];
		bool found = false;
		for (size_t k = 0; k < lr->n; k++) {
			const struct cg_lint_finding *f = &lr->findings[k];
			bool hit = false;
			if (strcmp(f->rule, "dangerous-call") != 0)
				continue;
			for (size_t a = 0; a < f->n_calls && !hit; a++)
				for (size_t b = 0; b < sr->n_calls && !hit; b++)
					hit = strcmp(f->calls[a], sr->calls[b]) == 0;
			if (hit && (!found || f->severity > sr->severity)) {
				sr->severity = f->severity;
				found = true;
			}
		}
	}
}
