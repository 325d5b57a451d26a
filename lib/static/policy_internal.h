/* SPDX-License-Identifier: Apache-2.0 */
/* Internal: what the policy model (policy.c) and the evaluators
 * (policy_eval.c) share: small string-list helpers and the risk-class test
 * both the allowed set and the verdicts' reasons are computed with. */
#ifndef CAPGATE_POLICY_INTERNAL_H
#define CAPGATE_POLICY_INTERNAL_H

#include <capgate/policy.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static inline int policy_str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Is @s in the sorted list @v? */
static inline bool policy_in_sorted(char *const *v, size_t n, const char *s)
{
	return n && bsearch(&s, v, n, sizeof(*v), policy_str_cmp) != NULL;
}

/* Is @s in the list @v (any order)? */
static inline bool policy_in_list(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

/* Append a copy of @s to the list @v of @n strings; 0 or -ENOMEM. */
static inline int policy_strv_push(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(char *));
	if (!nv)
		return -ENOMEM;
	*v = nv;
	if (!(nv[*n] = strdup(s)))
		return -ENOMEM;
	(*n)++;
	return 0;
}

/* Is @name in a risk class the policy denies? @ret (optional) gets the
 * call's class, denied or not. */
bool cg_policy_class_denied(const struct cg_policy *p, const char *name, const struct cg_risk_class **ret);

#endif
