// SPDX-License-Identifier: Apache-2.0
/*
 * Two closures compared call by call, for `capgate diff` and anyone who
 * reviews a change of profile: the comparison lives here so that every front
 * end (the CLI today, the admission webhook later) reports the same
 * differences. A call's rules are compared as one text, which is also what a
 * person is shown: its actions, argument conditions, arches and phases (by
 * name), so that two closures that differ only in which phase a call
 * belongs to are not "the same enforcement".
 */
#include <capgate/closure.h>
#include <errno.h>
#include <string.h>

#include "closure/closure_internal.h"

/* All rules of @c for @name, as one comparable text. */
static void rules_text(const struct cg_closure *c, const char *name, struct cg_strbuf *sb)
{
	char buf[64];

	for (size_t i = 0; i < c->n_rules; i++) {
		const struct cg_rule *r = &c->rules[i];
		if (strcmp(r->name, name) != 0)
			continue;
		cg_strbuf_addf(sb, "%s%s", sb->len ? "; " : "", cg_action_describe(r->action, buf, sizeof(buf)));
		for (unsigned k = 0; k < r->n_args; k++)
			cg_strbuf_addf(sb, " arg%u %s 0x%llx", r->args[k].index, cg_op_name(r->args[k].op) + 9,
				       (unsigned long long)r->args[k].value);
		if (r->arch_mask)
			cg_strbuf_addf(sb, " [arch mask 0x%x]", r->arch_mask);
		/* phases by name: two closures may number them differently; a
		 * rule in every phase reads as one without phases */
		if (r->phases && r->phases != (c->n_phases >= 32 ? ~0u : (1u << c->n_phases) - 1)) {
			bool first = true;
			cg_strbuf_addf(sb, " [phase");
			for (unsigned p = 0; p < c->n_phases; p++)
				if (r->phases & (1u << p)) {
					cg_strbuf_addf(sb, "%s%s", first ? " " : ",", c->phase_names[p]);
					first = false;
				}
			cg_strbuf_addf(sb, "]");
		}
	}
}

/* The rule names of @c, once each, in order (the rules are sorted by name). */
static int collect_names(const struct cg_closure *c, const char ***ret, size_t *ret_n)
{
	const char **v = malloc((c->n_rules + 1) * sizeof(*v));
	size_t k = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_rules; i++)
		if (k == 0 || strcmp(v[k - 1], c->rules[i].name) != 0)
			v[k++] = c->rules[i].name;
	*ret = v;
	*ret_n = k;
	return 0;
}

/* The text of @name's rules in @c, or NULL when @c has none. */
static char *side_text(const struct cg_closure *c, const char *name, bool present)
{
	struct cg_strbuf sb;

	if (!present)
		return NULL;
	cg_strbuf_init(&sb);
	rules_text(c, name, &sb);
	CG_STRBUF_LIT(&sb, ""); /* an empty text is still a string */
	if (sb.oom) {
		cg_strbuf_release(&sb);
		return NULL;
	}
	return sb.buf;
}

/* Append the change for @name unless both sides say the same. */
static int add_call(struct cg_closure_diff *d, const struct cg_closure *a, const struct cg_closure *b,
		    const char *name, bool in_a, bool in_b)
{
	char *ta = side_text(a, name, in_a), *tb = side_text(b, name, in_b);
	struct cg_closure_diff_call *v;

	if ((in_a && !ta) || (in_b && !tb))
		goto oom;
	if (ta && tb && strcmp(ta, tb) == 0) {
		free(ta);
		free(tb);
		return 0;
	}
	v = realloc(d->calls, (d->n_calls + 1) * sizeof(*v));
	if (!v)
		goto oom;
	d->calls = v;
	v[d->n_calls++] = (struct cg_closure_diff_call){ .name = name, .a = ta, .b = tb };
	return 0;
oom:
	free(ta);
	free(tb);
	return -ENOMEM;
}

int cg_closure_diff(const struct cg_closure *a, const struct cg_closure *b, struct cg_closure_diff **ret)
{
	const char **na = NULL, **nb = NULL;
	struct cg_closure_diff *d = calloc(1, sizeof(*d));
	size_t ca = 0, cb = 0, i = 0, j = 0;
	int r = -ENOMEM;

	if (!d || collect_names(a, &na, &ca) < 0 || collect_names(b, &nb, &cb) < 0)
		goto out;
	d->default_differs = cg_action_cmp(a->default_action, b->default_action) != 0;
	d->arches_only_a = a->arch_mask & ~b->arch_mask;
	d->arches_only_b = b->arch_mask & ~a->arch_mask;
	r = 0;
	while (r == 0 && (i < ca || j < cb)) {
		int c = i >= ca ? 1 : j >= cb ? -1
					      : strcmp(na[i], nb[j]);
		r = add_call(d, a, b, c <= 0 ? na[i] : nb[j], c <= 0, c >= 0);
		i += c <= 0;
		j += c >= 0;
	}
out:
	free(na);
	free(nb);
	if (r < 0) {
		cg_closure_diff_free(d);
		return r;
	}
	*ret = d;
	return 0;
}

bool cg_closure_diff_empty(const struct cg_closure_diff *d)
{
	return !d->default_differs && !d->arches_only_a && !d->arches_only_b && !d->n_calls;
}

void cg_closure_diff_free(struct cg_closure_diff *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n_calls; i++) {
		free(d->calls[i].a);
		free(d->calls[i].b);
	}
	free(d->calls);
	free(d);
}
