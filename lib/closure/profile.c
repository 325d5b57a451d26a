// SPDX-License-Identifier: Apache-2.0
/* OCI / Docker / Podman seccomp profiles: parse (with positions), write, resolve. */
#include <capgate/phase.h>
#include <capgate/profile.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>

#include "closure/capabilities.h"
#include "closure/closure_internal.h"
#include "core/doc.h"
#include "core/error_internal.h"
#include "core/json.h"
#include "core/tree.h"
#include "testing.h"

#define PATH_MAX_LEN 256

struct pctx {
	const char *source;
	bool json;
	struct cg_error *err;
	struct cg_profile *p;
};

static int add_note(struct pctx *x, const struct cg_tnode *n, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int add_note(struct pctx *x, const struct cg_tnode *n, const char *path, const char *fmt, ...)
{
	struct cg_profile_note *nn = realloc(x->p->notes, (x->p->n_notes + 1) * sizeof(*nn));
	char msg[512];
	va_list ap;

	if (!nn)
		return cg_error_set(x->err, -ENOMEM, "out of memory");
	x->p->notes = nn;
	nn = &nn[x->p->n_notes];
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cg_tn_pos(n, &nn->pos.line, &nn->pos.col);
	nn->path = strdup(path);
	nn->msg = strdup(msg);
	if (!nn->path || !nn->msg) {
		free(nn->path);
		free(nn->msg);
		return cg_error_set(x->err, -ENOMEM, "out of memory");
	}
	x->p->n_notes++;
	return 0;
}

static int parse_action(struct pctx *x, const struct cg_tnode *n, const char *path, struct cg_action *ret)
{
	char b[64];
	const char *s;
	int k;

	if (!cg_tn_is_string(n, x->json) || !(s = cg_tn_scalar(n, b, sizeof(b))))
		return cg_tn_error(x->err, x->source, n, path, "expected an action name such as SCMP_ACT_ERRNO");
	k = cg_action_parse(s);
	if (k < 0)
		return cg_tn_error(x->err, x->source, n, path,
				   "unknown action '%s' (expected SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, SCMP_ACT_KILL_PROCESS, "
				   "SCMP_ACT_KILL_THREAD, SCMP_ACT_KILL, SCMP_ACT_TRAP, SCMP_ACT_TRACE, SCMP_ACT_LOG or "
				   "SCMP_ACT_NOTIFY)",
				   s);
	ret->kind = (enum cg_action_kind)k;
	ret->data = (k == CG_ACT_ERRNO || k == CG_ACT_TRACE) ? EPERM : 0;
	return 0;
}

static int parse_errno_ret(struct pctx *x, const struct cg_tnode *n, const char *path, uint32_t *ret)
{
	uint64_t v;
	int r = cg_tn_u64(n, x->json, x->source, path, &v, x->err);
	if (r < 0)
		return r;
	if (v > 0xffff)
		return cg_tn_error(x->err, x->source, n, path, "errno %llu is out of range (0..65535)",
				   (unsigned long long)v);
	*ret = (uint32_t)v;
	return 0;
}

static int parse_arches(struct pctx *x, const struct cg_tnode *n, const char *path, char ***ret, size_t *ret_n,
			struct cg_pos **ret_pos)
{
	int r = cg_tn_strv(n, x->json, x->source, path, ret, ret_n, x->err);
	size_t i = 0;

	if (r < 0)
		return r;
	if (ret_pos && *ret_n && !(*ret_pos = calloc(*ret_n, sizeof(**ret_pos))))
		return cg_error_set(x->err, -ENOMEM, "out of memory");
	for (const struct cg_tnode *item = *ret_n ? n->first : NULL; item; item = item->next) {
		char sub[PATH_MAX_LEN];
		if (ret_pos)
			cg_tn_pos(item, &(*ret_pos)[i].line, &(*ret_pos)[i].col);
		if (cg_arch_lookup((*ret)[i]) < 0) {
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
			return cg_tn_error(x->err, x->source, item, sub, "unknown architecture '%s'", (*ret)[i]);
		}
		i++;
	}
	return 0;
}

static int parse_filter(struct pctx *x, const struct cg_tnode *n, const char *path, struct cg_profile_filter *f)
{
	char key[64], sub[PATH_MAX_LEN];
	int r;

	if (cg_tn_is_null(n))
		return 0;
	if (!cg_tn_is_mapping(n))
		return cg_tn_error(x->err, x->source, n, path, "expected an object with caps, arches, minKernel");
	CG_TN_FOREACH_PAIR(n, kn, v)
	{
		const char *k = cg_tn_scalar(kn, key, sizeof(key));
		snprintf(sub, sizeof(sub), "%s.%s", path, k ? k : "?");
		if (!k) {
			r = cg_tn_error(x->err, x->source, kn, path, "expected a field name");
		} else if (strcmp(k, "caps") == 0) {
			r = cg_tn_strv(v, x->json, x->source, sub, &f->caps, &f->n_caps, x->err);
		} else if (strcmp(k, "arches") == 0) {
			/* Docker matches these against its host arch by name; an
			 * unknown one (moby's own fixture has 'mips3l64n32') never
			 * matches: note it, don't reject the profile */
			r = cg_tn_strv(v, x->json, x->source, sub, &f->arches, &f->n_arches, x->err);
			for (size_t i = 0; r == 0 && i < f->n_arches; i++)
				if (cg_arch_lookup(f->arches[i]) < 0)
					r = add_note(x, v, sub, "unknown architecture '%s' never matches", f->arches[i]);
		} else if (strcmp(k, "minKernel") == 0) {
			unsigned a, b;
			char tail;
			r = cg_tn_strdup(v, x->json, x->source, sub, &f->min_kernel, x->err);
			if (r == 0 && sscanf(f->min_kernel, "%u.%u%c", &a, &b, &tail) != 2)
				r = cg_tn_error(x->err, x->source, v, sub, "expected a kernel version MAJOR.MINOR, got '%s'",
						f->min_kernel);
		} else {
			r = add_note(x, kn, sub, "unknown field '%s' is ignored", k);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_arg(struct pctx *x, const struct cg_tnode *n, const char *path, struct cg_arg_cond *a)
{
	char key[64], sub[PATH_MAX_LEN], b[64];
	bool has_index = false, has_op = false;
	int r;

	if (!cg_tn_is_mapping(n))
		return cg_tn_error(x->err, x->source, n, path, "expected an object with index, value, valueTwo, op");
	memset(a, 0, sizeof(*a));
	CG_TN_FOREACH_PAIR(n, kn, v)
	{
		const char *k = cg_tn_scalar(kn, key, sizeof(key));
		uint64_t u;
		snprintf(sub, sizeof(sub), "%s.%s", path, k ? k : "?");
		r = 0;
		if (!k) {
			r = cg_tn_error(x->err, x->source, kn, path, "expected a field name");
		} else if (strcmp(k, "index") == 0) {
			r = cg_tn_u64(v, x->json, x->source, sub, &u, x->err);
			if (r == 0 && u > 5)
				r = cg_tn_error(x->err, x->source, v, sub, "argument index %llu is out of range (0..5)",
						(unsigned long long)u);
			a->index = (uint8_t)u;
			has_index = true;
		} else if (strcmp(k, "value") == 0) {
			r = cg_tn_u64(v, x->json, x->source, sub, &a->value, x->err);
		} else if (strcmp(k, "valueTwo") == 0) {
			r = cg_tn_u64(v, x->json, x->source, sub, &a->value_two, x->err);
		} else if (strcmp(k, "op") == 0) {
			const char *s = cg_tn_is_string(v, x->json) ? cg_tn_scalar(v, b, sizeof(b)) : NULL;
			int op = s ? cg_op_parse(s) : -1;
			if (op < 0)
				r = cg_tn_error(x->err, x->source, v, sub,
						"unknown comparison '%s' (expected SCMP_CMP_NE, _LT, _LE, _EQ, _GE, _GT or "
						"_MASKED_EQ)",
						s ? s : "?");
			a->op = (uint8_t)op;
			has_op = true;
		} else {
			r = add_note(x, kn, sub, "unknown field '%s' is ignored", k);
		}
		if (r < 0)
			return r;
	}
	if (!has_index)
		return cg_tn_error(x->err, x->source, n, path, "argument rule has no index");
	if (!has_op)
		return cg_tn_error(x->err, x->source, n, path, "argument rule has no op");
	return 0;
}

static int parse_syscall(struct pctx *x, const struct cg_tnode *n, const char *path, struct cg_profile_syscall *s)
{
	char key[64], sub[PATH_MAX_LEN];
	const struct cg_tnode *action_node = NULL, *errno_node = NULL;
	bool has_action = false, has_names = false;
	uint64_t u = 0;
	int r;

	if (!cg_tn_is_mapping(n))
		return cg_tn_error(x->err, x->source, n, path, "expected an object with names and action");
	cg_tn_pos(n, &s->pos.line, &s->pos.col);
	CG_TN_FOREACH_PAIR(n, kn, v)
	{
		const char *k = cg_tn_scalar(kn, key, sizeof(key));
		snprintf(sub, sizeof(sub), "%s.%s", path, k ? k : "?");
		r = 0;
		if (!k) {
			r = cg_tn_error(x->err, x->source, kn, path, "expected a field name");
		} else if (strcmp(k, "names") == 0 || strcmp(k, "name") == 0) {
			if (has_names) {
				r = cg_tn_error(x->err, x->source, kn, sub,
						"both 'name' and 'names' given");
			} else if (strcmp(k, "name") == 0) {
				s->names = calloc(1, sizeof(char *));
				s->n_names = 1;
				s->single_name = true;
				r = s->names ? cg_tn_strdup(v, x->json, x->source, sub, &s->names[0], x->err)
					     : cg_error_set(x->err, -ENOMEM, "out of memory");
				if (r < 0)
					s->n_names = 0;
			} else {
				r = cg_tn_strv(v, x->json, x->source, sub, &s->names, &s->n_names, x->err);
			}
			has_names = true;
			if (r == 0 && s->n_names) {
				size_t i = 0;
				s->name_pos = calloc(s->n_names, sizeof(*s->name_pos));
				if (!s->name_pos)
					return cg_error_set(x->err, -ENOMEM, "out of memory");
				if (s->single_name)
					cg_tn_pos(v, &s->name_pos[0].line, &s->name_pos[0].col);
				else
					for (const struct cg_tnode *item = v->first; item && i < s->n_names; item = item->next) {
						cg_tn_pos(item, &s->name_pos[i].line, &s->name_pos[i].col);
						if (!s->names[i][0])
							return cg_tn_error(x->err, x->source, item, sub, "empty syscall name");
						i++;
					}
			}
		} else if (strcmp(k, "action") == 0) {
			r = parse_action(x, v, sub, &s->action);
			action_node = v;
			has_action = true;
		} else if (strcmp(k, "errnoRet") == 0) {
			uint32_t e;
			r = parse_errno_ret(x, v, sub, &e);
			s->has_errno_ret = true;
			errno_node = v;
			u = e;
			s->action.data = e; /* reapplied after the loop: action may come later */
		} else if (strcmp(k, "errno") == 0) {
			r = cg_tn_strdup(v, x->json, x->source, sub, &s->errno_name, x->err);
			if (r == 0 && cg_errno_parse(s->errno_name) < 0)
				r = cg_tn_error(x->err, x->source, v, sub, "unknown errno name '%s'", s->errno_name);
		} else if (strcmp(k, "args") == 0) {
			if (cg_tn_is_null(v))
				continue;
			if (!cg_tn_is_sequence(v)) {
				r = cg_tn_error(x->err, x->source, v, sub, "expected a list of argument rules");
			} else {
				size_t cnt = v->len;
				if (cnt > CG_MAX_CONDS)
					return cg_tn_error(x->err, x->source, v, sub,
							   "%zu argument rules; at most %d are supported", cnt, CG_MAX_CONDS);
				s->args = calloc(cnt + 1, sizeof(*s->args));
				if (!s->args)
					return cg_error_set(x->err, -ENOMEM, "out of memory");
				CG_TN_FOREACH(v, item)
				{
					char sub2[PATH_MAX_LEN + 16];
					snprintf(sub2, sizeof(sub2), "%s[%zu]", sub, s->n_args);
					r = parse_arg(x, item, sub2, &s->args[s->n_args]);
					if (r < 0)
						return r;
					s->n_args++;
				}
			}
		} else if (strcmp(k, "comment") == 0) {
			r = cg_tn_is_null(v) ? 0 : cg_tn_strdup(v, x->json, x->source, sub, &s->comment, x->err);
		} else if (strcmp(k, "includes") == 0) {
			r = parse_filter(x, v, sub, &s->includes);
		} else if (strcmp(k, "excludes") == 0) {
			r = parse_filter(x, v, sub, &s->excludes);
		} else if (strcmp(k, "phases") == 0) {
			r = cg_tn_strv(v, x->json, x->source, sub, &s->phases, &s->n_phases, x->err);
		} else if (strcmp(k, "count") == 0) {
			r = cg_tn_u64(v, x->json, x->source, sub, &s->count, x->err);
		} else if (strcmp(k, "arches") == 0) {
			r = parse_arches(x, v, sub, &s->arches, &s->n_arches, NULL);
		} else {
			r = add_note(x, kn, sub, "unknown field '%s' is ignored by OCI runtimes", k);
		}
		if (r < 0)
			return r;
	}
	if (!has_names)
		return cg_tn_error(x->err, x->source, n, path, "syscall entry has no 'names'");
	if (!has_action)
		return cg_tn_error(x->err, x->source, n, path, "syscall entry has no 'action'");
	if (s->has_errno_ret) {
		if (s->action.kind != CG_ACT_ERRNO && s->action.kind != CG_ACT_TRACE)
			return cg_tn_error(x->err, x->source, errno_node, path,
					   "errnoRet is only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not %s",
					   cg_action_name(s->action.kind));
		s->action.data = (uint32_t)u;
	}
	if (s->errno_name) {
		uint32_t e = (uint32_t)cg_errno_parse(s->errno_name);
		if (s->has_errno_ret && e != s->action.data)
			return cg_tn_error(x->err, x->source, action_node, path,
					   "errno '%s' (%u) disagrees with errnoRet %u", s->errno_name, e, s->action.data);
		if (s->action.kind == CG_ACT_ERRNO)
			s->action.data = e;
	}
	return 0;
}

static int parse_archmap(struct pctx *x, const struct cg_tnode *n, const char *path)
{
	char sub[PATH_MAX_LEN], key[64];
	struct cg_profile *p = x->p;
	size_t cnt;

	if (cg_tn_is_null(n))
		return 0;
	if (!cg_tn_is_sequence(n))
		return cg_tn_error(x->err, x->source, n, path, "expected a list of {architecture, subArchitectures}");
	cnt = n->len;
	p->arch_map = calloc(cnt + 1, sizeof(*p->arch_map));
	if (!p->arch_map)
		return cg_error_set(x->err, -ENOMEM, "out of memory");
	CG_TN_FOREACH(n, item)
	{
		struct cg_profile_archmap *m = &p->arch_map[p->n_arch_map];
		snprintf(sub, sizeof(sub), "%s[%zu]", path, p->n_arch_map);
		p->n_arch_map++;
		if (!cg_tn_is_mapping(item))
			return cg_tn_error(x->err, x->source, item, sub, "expected an object");
		CG_TN_FOREACH_PAIR(item, kn, v)
		{
			const char *k = cg_tn_scalar(kn, key, sizeof(key));
			char sub2[PATH_MAX_LEN + 32];
			int r;
			snprintf(sub2, sizeof(sub2), "%s.%s", sub, k ? k : "?");
			if (k && strcmp(k, "architecture") == 0) {
				r = cg_tn_strdup(v, x->json, x->source, sub2, &m->arch, x->err);
				if (r == 0 && cg_arch_lookup(m->arch) < 0)
					r = cg_tn_error(x->err, x->source, v, sub2, "unknown architecture '%s'", m->arch);
			} else if (k && strcmp(k, "subArchitectures") == 0) {
				r = parse_arches(x, v, sub2, &m->subs, &m->n_subs, NULL);
			} else {
				r = add_note(x, kn, sub2, "unknown field '%s' is ignored", k ? k : "?");
			}
			if (r < 0)
				return r;
		}
		if (!m->arch)
			return cg_tn_error(x->err, x->source, item, sub, "archMap entry has no 'architecture'");
	}
	return 0;
}

/* Parse the profile object @n (top level, or a SeccompProfile's spec). */
static int parse_profile_obj(struct pctx *x, const struct cg_tnode *n, const char *base)
{
	struct cg_profile *p = x->p;
	char key[64], sub[PATH_MAX_LEN];
	bool has_default = false;
	const struct cg_tnode *derrno_node = NULL;
	uint32_t derrno = EPERM;
	int r;

	if (!cg_tn_is_mapping(n))
		return cg_tn_error(x->err, x->source, n, base, "expected a seccomp profile object");
	CG_TN_FOREACH_PAIR(n, kn, v)
	{
		const char *k = cg_tn_scalar(kn, key, sizeof(key));
		snprintf(sub, sizeof(sub), "%s%s%s", base, *base ? "." : "", k ? k : "?");
		r = 0;
		if (!k) {
			r = cg_tn_error(x->err, x->source, kn, base, "expected a field name");
		} else if (strcmp(k, "defaultAction") == 0) {
			r = parse_action(x, v, sub, &p->default_action);
			has_default = true;
		} else if (strcmp(k, "defaultErrnoRet") == 0) {
			r = parse_errno_ret(x, v, sub, &derrno);
			p->has_default_errno_ret = true;
			derrno_node = v;
		} else if (strcmp(k, "defaultErrno") == 0) {
			r = cg_tn_strdup(v, x->json, x->source, sub, &p->default_errno_name, x->err);
			if (r == 0 && cg_errno_parse(p->default_errno_name) < 0)
				r = cg_tn_error(x->err, x->source, v, sub, "unknown errno name '%s'", p->default_errno_name);
		} else if (strcmp(k, "architectures") == 0) {
			r = parse_arches(x, v, sub, &p->architectures, &p->n_architectures, &p->arch_pos);
		} else if (strcmp(k, "archMap") == 0) {
			r = parse_archmap(x, v, sub);
		} else if (strcmp(k, "flags") == 0) {
			r = cg_tn_strv(v, x->json, x->source, sub, &p->flags, &p->n_flags, x->err);
			for (size_t i = 0; r == 0 && i < p->n_flags; i++)
				if (cg_flag_parse(p->flags[i]) < 0)
					r = cg_tn_error(x->err, x->source, v, sub,
							"unknown flag '%s' (expected SECCOMP_FILTER_FLAG_TSYNC, _LOG, "
							"_SPEC_ALLOW or _WAIT_KILLABLE_RECV)",
							p->flags[i]);
		} else if (strcmp(k, "listenerPath") == 0) {
			r = cg_tn_strdup(v, x->json, x->source, sub, &p->listener_path, x->err);
		} else if (strcmp(k, "listenerMetadata") == 0) {
			r = cg_tn_strdup(v, x->json, x->source, sub, &p->listener_metadata, x->err);
		} else if (strcmp(k, "syscalls") == 0) {
			size_t cnt;
			if (cg_tn_is_null(v)) {
				p->syscalls_null = true;
				continue;
			}
			if (!cg_tn_is_sequence(v))
				return cg_tn_error(x->err, x->source, v, sub, "expected a list of syscall entries");
			cnt = v->len;
			p->syscalls = calloc(cnt + 1, sizeof(*p->syscalls));
			if (!p->syscalls)
				return cg_error_set(x->err, -ENOMEM, "out of memory");
			CG_TN_FOREACH(v, item)
			{
				char sub2[PATH_MAX_LEN + 16];
				snprintf(sub2, sizeof(sub2), "%s[%zu]", sub, p->n_syscalls);
				r = parse_syscall(x, item, sub2, &p->syscalls[p->n_syscalls++]);
				if (r < 0)
					return r;
			}
		} else if (strcmp(k, "capgate") == 0) {
			const struct cg_tnode *ph = cg_tn_is_mapping(v) ? cg_tn_lookup(v, "phases") : NULL;
			if (!cg_tn_is_mapping(v))
				r = cg_tn_error(x->err, x->source, v, sub, "expected an object");
			else if (ph)
				r = cg_tn_strv(ph, x->json, x->source, "capgate.phases", &p->phase_names, &p->n_phase_names,
					       x->err);
			if (r == 0 && p->n_phase_names > CG_MAX_PHASES)
				r = cg_tn_error(x->err, x->source, ph, "capgate.phases", "at most %d phases", CG_MAX_PHASES);
			const struct cg_tnode *sw = cg_tn_is_mapping(v) ? cg_tn_lookup(v, "serveWhen") : NULL;
			struct cg_serve_trigger trig;
			if (r == 0 && sw)
				r = cg_tn_strdup(sw, x->json, x->source, "capgate.serveWhen", &p->serve_when, x->err);
			if (r == 0 && sw && cg_serve_trigger_parse(p->serve_when, &trig, NULL) < 0) {
				struct cg_error e2 = { 0 };
				(void)cg_serve_trigger_parse(p->serve_when, &trig, &e2);
				r = cg_tn_error(x->err, x->source, sw, "capgate.serveWhen", "%s", e2.msg);
			}
			const struct cg_tnode *ws =
				cg_tn_is_mapping(v) ? cg_tn_lookup(v, "workerStartup") : NULL;
			uint64_t wsv = 0;
			if (r == 0 && ws)
				r = cg_tn_u64(ws, x->json, x->source, "capgate.workerStartup", &wsv, x->err);
			if (r == 0 && ws && (wsv < 1 || wsv > CG_WORKER_STARTUP_MAX))
				r = cg_tn_error(x->err, x->source, ws, "capgate.workerStartup",
						"a start-up window must be 1..%d seconds", CG_WORKER_STARTUP_MAX);
			if (r == 0 && ws && !ph)
				r = cg_tn_error(x->err, x->source, ws, "capgate.workerStartup",
						"a start-up window needs phases (capgate.phases)");
			p->worker_startup = (unsigned)wsv;
		} else if (strcmp(k, "baseProfileName") == 0 || strcmp(k, "disabled") == 0) {
			r = add_note(x, kn, sub,
				     "'%s' is a Security Profiles Operator field capgate does not resolve", k);
		} else {
			r = add_note(x, kn, sub, "unknown field '%s' is ignored by OCI runtimes", k);
		}
		if (r < 0)
			return r;
	}
	if (!has_default)
		return cg_tn_error(x->err, x->source, n, base, "missing required field 'defaultAction'");
	if (p->has_default_errno_ret && p->default_action.kind != CG_ACT_ERRNO)
		return cg_tn_error(x->err, x->source, derrno_node, "defaultErrnoRet",
				   "defaultErrnoRet is only valid with defaultAction SCMP_ACT_ERRNO");
	if (p->default_errno_name) {
		uint32_t e = (uint32_t)cg_errno_parse(p->default_errno_name);
		if (p->has_default_errno_ret && e != derrno)
			return cg_tn_error(x->err, x->source, derrno_node, "defaultErrnoRet",
					   "defaultErrno '%s' (%u) disagrees with defaultErrnoRet %u",
					   p->default_errno_name, e, derrno);
		derrno = e;
	}
	if (p->default_action.kind == CG_ACT_ERRNO)
		p->default_action.data = derrno;
	if (p->n_architectures && p->n_arch_map)
		return cg_tn_error(x->err, x->source, n, base, "both 'architectures' and 'archMap' are given");
	for (size_t i = 0; i < p->n_syscalls; i++)
		for (size_t j = 0; j < p->syscalls[i].n_phases; j++) {
			bool found = false;
			for (size_t k = 0; k < p->n_phase_names; k++)
				found |= strcmp(p->phase_names[k], p->syscalls[i].phases[j]) == 0;
			if (!found)
				return cg_error_set(x->err, -EINVAL, "%s:%d:%d: syscalls[%zu].phases: phase '%s' is not "
								     "declared in capgate.phases",
						    x->source, p->syscalls[i].pos.line, p->syscalls[i].pos.col, i,
						    p->syscalls[i].phases[j]);
		}
	return 0;
}

static int parse_doc(const struct cg_tnode *root, bool json, const char *source, struct cg_profile **ret,
		     struct cg_error *err)
{
	struct cg_profile *p = calloc(1, sizeof(*p));
	struct pctx x = { source, json, err, p };
	const struct cg_tnode *kind, *spec = NULL;
	char b[64];
	int r;

	if (!p || !(p->source = strdup(source))) {
		cg_profile_free(p);
		return cg_error_set(err, -ENOMEM, "out of memory");
	}
	kind = cg_tn_is_mapping(root) ? cg_tn_lookup(root, "kind") : NULL;
	if (kind) {
		const char *k = cg_tn_scalar(kind, b, sizeof(b));
		const struct cg_tnode *meta = cg_tn_lookup(root, "metadata");
		const struct cg_tnode *name = cg_tn_is_mapping(meta) ? cg_tn_lookup(meta, "name") : NULL;
		if (!k || strcmp(k, "SeccompProfile") != 0) {
			r = cg_tn_error(err, source, kind, "kind", "expected a seccomp profile or a SeccompProfile resource, got kind '%s'",
					k ? k : "?");
			goto fail;
		}
		if (name && cg_tn_strdup(name, json, source, "metadata.name", &p->name, err) < 0) {
			r = -EINVAL;
			goto fail;
		}
		spec = cg_tn_lookup(root, "spec");
		if (!spec) {
			r = cg_tn_error(err, source, root, "", "SeccompProfile has no spec");
			goto fail;
		}
		r = parse_profile_obj(&x, spec, "spec");
	} else {
		r = parse_profile_obj(&x, root, "");
	}
	if (r < 0)
		goto fail;
	*ret = p;
	return 0;
fail:
	cg_profile_free(p);
	return r;
}

bool cg_profile_sniff(const char *buf, size_t len)
{
	struct cg_doc_stream *s = NULL;
	struct fy_document *d = NULL;
	struct cg_error err = { 0 };
	bool yes = false;

	if (cg_doc_stream_open(buf, len, "", CG_DOC_ALLOW_DUPLICATE_KEYS, &s, &err) < 0)
		return false;
	if (cg_doc_stream_next(s, &d, &err) > 0) {
		struct fy_node *root = fy_document_root(d);
		if (cg_doc_is_mapping(root)) {
			struct fy_node *kind = fy_node_mapping_lookup_by_string(root, "kind", -1);
			char b[32];
			const char *k = cg_doc_scalar(kind, b, sizeof(b));
			yes = kind ? k && strcmp(k, "SeccompProfile") == 0
				   : fy_node_mapping_lookup_by_string(root, "defaultAction", -1) != NULL;
		}
		cg_doc_stream_destroy_doc(s, d);
	}
	cg_doc_stream_close(s);
	return yes;
}

/* A JSON profile (what `capgate run` reads on every start) is read by
 * capgate's own JSON reader when it takes the file on (tree.h); any other
 * file, and every JSON file it declines, by libfyaml. Both give the same
 * tree, so parse_doc reads a file the same way either way
 * (cg__profile_readers_agree holds them to it). */
static bool fyaml_only; /* a test hook: libfyaml for everything */

void cg__profile_fyaml_only(bool on) { fyaml_only = on; }

static int parse_fast(const char *buf, size_t len, const char *source, struct cg_profile ***ret, size_t *ret_n,
		      struct cg_error *err)
{
	struct cg_tree *t = NULL;
	struct cg_profile **v;
	int r = fyaml_only ? 0 : cg_tree_parse_json(buf, len, &t);

	if (r <= 0)
		return r < 0 ? cg_error_set(err, r, "out of memory") : 0;
	if (!(v = calloc(1, sizeof(*v))))
		r = cg_error_set(err, -ENOMEM, "out of memory");
	else if ((r = parse_doc(cg_tree_root(t), true, source, &v[0], err)) < 0)
		free(TAKE_PTR(v));
	cg_tree_free(t);
	if (r < 0)
		return r;
	*ret = v;
	*ret_n = 1;
	return 1;
}

int cg_profile_parse_all(const char *buf, size_t len, const char *source, struct cg_profile ***ret, size_t *ret_n,
			 struct cg_error *err)
{
	struct fy_document **docs = NULL;
	struct cg_profile **v;
	size_t n = 0, got = 0;
	bool json = false;
	int r;

	if ((r = parse_fast(buf, len, source, ret, ret_n, err)) != 0)
		return r < 0 ? r : 0;
	if ((r = cg_doc_parse_all(buf, len, source, &docs, &n, &json, err)) < 0)
		return r;
	v = calloc(n, sizeof(*v));
	if (!v) {
		r = cg_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct cg_tree *t = NULL;
		if (!fy_document_root(docs[i]))
			continue; /* empty document between separators */
		if ((r = cg_tree_from_fy(fy_document_root(docs[i]), &t, err)) < 0)
			goto out;
		r = parse_doc(cg_tree_root(t), json, source, &v[got], err);
		cg_tree_free(t);
		if (r < 0)
			goto out;
		got++;
	}
	if (got == 0) {
		r = cg_error_set(err, -EINVAL, "%s: no profile in the file", source);
		goto out;
	}
	*ret = TAKE_PTR(v);
	*ret_n = got;
	got = 0;
out:
	for (size_t i = 0; i < got; i++)
		cg_profile_free(v[i]);
	free(v);
	for (size_t i = 0; i < n; i++)
		fy_document_destroy(docs[i]);
	free(docs);
	return r;
}

/* Everything parsing put into @p, as text (test hook below). */
static void describe(const struct cg_profile *p, struct cg_strbuf *sb)
{
	cg_profile_write(p, sb);
	cg_strbuf_addf(sb, "\nsource=%s name=%s serveWhen=%s workerStartup=%u syscallsNull=%d\n", p->source,
		       p->name ? p->name : "-", p->serve_when ? p->serve_when : "-", p->worker_startup,
		       p->syscalls_null);
	for (size_t i = 0; i < p->n_architectures; i++)
		cg_strbuf_addf(sb, "arch %zu at %d:%d\n", i, p->arch_pos[i].line, p->arch_pos[i].col);
	for (size_t i = 0; i < p->n_syscalls; i++) {
		const struct cg_profile_syscall *c = &p->syscalls[i];
		cg_strbuf_addf(sb, "syscalls[%zu] at %d:%d single=%d errno=%s\n", i, c->pos.line, c->pos.col,
			       c->single_name, c->errno_name ? c->errno_name : "-");
		for (size_t k = 0; k < c->n_names; k++)
			cg_strbuf_addf(sb, "  name %zu at %d:%d\n", k, c->name_pos[k].line, c->name_pos[k].col);
	}
	for (size_t i = 0; i < p->n_notes; i++)
		cg_strbuf_addf(sb, "note %d:%d %s: %s\n", p->notes[i].pos.line, p->notes[i].pos.col, p->notes[i].path,
			       p->notes[i].msg);
}

static int parse_described(const char *buf, size_t len, bool fyaml, struct cg_strbuf *sb)
{
	struct cg_profile **v = NULL;
	struct cg_error err = { 0 };
	size_t n = 0;
	int r;

	fyaml_only = fyaml;
	r = cg_profile_parse_all(buf, len, "<in>", &v, &n, &err);
	fyaml_only = false;
	if (r < 0) {
		cg_strbuf_addf(sb, "error %d: %s", r, err.msg);
		return r;
	}
	for (size_t i = 0; i < n; i++) {
		describe(v[i], sb);
		cg_profile_free(v[i]);
	}
	free(v);
	return 0;
}

bool cg__profile_readers_agree(const char *buf, size_t len, char *why, size_t n_why)
{
	struct cg_strbuf a, b;
	bool same;
	size_t i = 0;

	cg_strbuf_init(&a);
	cg_strbuf_init(&b);
	(void)parse_described(buf, len, false, &a);
	(void)parse_described(buf, len, true, &b);
	same = a.oom || b.oom || (a.len == b.len && memcmp(a.buf, b.buf, a.len) == 0);
	if (!same) {
		while (i < a.len && i < b.len && a.buf[i] == b.buf[i])
			i++;
		size_t from = i > 60 ? i - 60 : 0;
		int na = (int)(a.len - from < 120 ? a.len - from : 120), nb = (int)(b.len - from < 120 ? b.len - from : 120);
		snprintf(why, n_why, "the readers part at byte %zu: capgate's reader gives ...%.*s... libfyaml's ...%.*s...", i,
			 na, a.buf + from, nb, b.buf + from);
		for (char *c = why; *c; c++)
			if (*c == '\n')
				*c = '|';
	}
	cg_strbuf_release(&a);
	cg_strbuf_release(&b);
	return same;
}

int cg_profile_parse(const char *buf, size_t len, const char *source, struct cg_profile **ret,
		     struct cg_error *err)
{
	struct cg_profile **v = NULL;
	size_t n = 0;
	int r = cg_profile_parse_all(buf, len, source, &v, &n, err);
	if (r < 0)
		return r;
	if (n != 1) {
		for (size_t i = 0; i < n; i++)
			cg_profile_free(v[i]);
		free(v);
		return cg_error_set(err, -EINVAL, "%s: holds %zu profiles; name one (this command reads a single profile)",
				    source, n);
	}
	*ret = v[0];
	free(v);
	return 0;
}

int cg_profile_load(const char *path, struct cg_profile **ret, struct cg_error *err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r = cg_read_file_max(path, CG_READ_PROFILE_MAX, 0, &buf, &len, err);
	if (r < 0)
		return r;
	return cg_profile_parse(buf, len, strcmp(path, "-") == 0 ? "<stdin>" : path, ret, err);
}

static void filter_release(struct cg_profile_filter *f)
{
	cg_strv_free(f->caps, f->n_caps);
	cg_strv_free(f->arches, f->n_arches);
	free(f->min_kernel);
}

void cg_profile_free(struct cg_profile *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_syscalls; i++) {
		struct cg_profile_syscall *s = &p->syscalls[i];
		cg_strv_free(s->names, s->n_names);
		free(s->name_pos);
		free(s->errno_name);
		free(s->args);
		free(s->comment);
		filter_release(&s->includes);
		filter_release(&s->excludes);
		cg_strv_free(s->phases, s->n_phases);
		cg_strv_free(s->arches, s->n_arches);
	}
	free(p->syscalls);
	for (size_t i = 0; i < p->n_arch_map; i++) {
		free(p->arch_map[i].arch);
		cg_strv_free(p->arch_map[i].subs, p->arch_map[i].n_subs);
	}
	free(p->arch_map);
	cg_strv_free(p->architectures, p->n_architectures);
	free(p->arch_pos);
	cg_strv_free(p->flags, p->n_flags);
	cg_strv_free(p->phase_names, p->n_phase_names);
	for (size_t i = 0; i < p->n_notes; i++) {
		free(p->notes[i].path);
		free(p->notes[i].msg);
	}
	free(p->notes);
	free(p->listener_path);
	free(p->listener_metadata);
	free(p->serve_when);
	free(p->default_errno_name);
	free(p->source);
	free(p->name);
	free(p);
}

/* ---- writing ------------------------------------------------------------- */

static void write_strv(struct cg_json *j, const char *key, char **v, size_t n)
{
	cg_json_key(j, key);
	cg_json_arr_open(j);
	for (size_t i = 0; i < n; i++)
		cg_json_str(j, v[i]);
	cg_json_arr_close(j);
}

static bool filter_empty(const struct cg_profile_filter *f)
{
	return !f->n_caps && !f->n_arches && !f->min_kernel;
}

static void write_filter(struct cg_json *j, const char *key, const struct cg_profile_filter *f)
{
	cg_json_key(j, key);
	cg_json_obj_open(j);
	if (f->n_caps)
		write_strv(j, "caps", f->caps, f->n_caps);
	if (f->n_arches)
		write_strv(j, "arches", f->arches, f->n_arches);
	if (f->min_kernel)
		cg_json_kv_str(j, "minKernel", f->min_kernel);
	cg_json_obj_close(j);
}

static void write_syscall(struct cg_json *j, const struct cg_profile_syscall *s)
{
	cg_json_obj_open(j);
	if (s->single_name)
		cg_json_kv_str(j, "name", s->names[0]);
	else
		write_strv(j, "names", s->names, s->n_names);
	cg_json_kv_str(j, "action", cg_action_name(s->action.kind));
	if (s->has_errno_ret ||
	    ((s->action.kind == CG_ACT_ERRNO || s->action.kind == CG_ACT_TRACE) && s->action.data != EPERM))
		cg_json_kv_uint(j, "errnoRet", s->action.data);
	if (s->errno_name)
		cg_json_kv_str(j, "errno", s->errno_name);
	cg_closure_write_args(j, s->args, s->n_args);
	if (s->comment)
		cg_json_kv_str(j, "comment", s->comment);
	if (!filter_empty(&s->includes))
		write_filter(j, "includes", &s->includes);
	if (!filter_empty(&s->excludes))
		write_filter(j, "excludes", &s->excludes);
	if (s->n_phases)
		write_strv(j, "phases", s->phases, s->n_phases);
	if (s->n_arches)
		write_strv(j, "arches", s->arches, s->n_arches);
	if (s->count)
		cg_json_kv_uint(j, "count", s->count);
	cg_json_obj_close(j);
}

int cg_profile_write(const struct cg_profile *p, struct cg_strbuf *sb)
{
	struct cg_json j;

	cg_json_init(&j, sb, 2);
	cg_json_obj_open(&j);
	cg_json_kv_str(&j, "defaultAction", cg_action_name(p->default_action.kind));
	if (p->default_action.kind == CG_ACT_ERRNO && (p->has_default_errno_ret || p->default_action.data != EPERM))
		cg_json_kv_uint(&j, "defaultErrnoRet", p->default_action.data);
	if (p->default_errno_name)
		cg_json_kv_str(&j, "defaultErrno", p->default_errno_name);
	if (p->n_architectures)
		write_strv(&j, "architectures", p->architectures, p->n_architectures);
	if (p->n_arch_map) {
		cg_json_key(&j, "archMap");
		cg_json_arr_open(&j);
		for (size_t i = 0; i < p->n_arch_map; i++) {
			cg_json_obj_open(&j);
			cg_json_kv_str(&j, "architecture", p->arch_map[i].arch);
			write_strv(&j, "subArchitectures", p->arch_map[i].subs, p->arch_map[i].n_subs);
			cg_json_obj_close(&j);
		}
		cg_json_arr_close(&j);
	}
	if (p->n_flags)
		write_strv(&j, "flags", p->flags, p->n_flags);
	if (p->listener_path)
		cg_json_kv_str(&j, "listenerPath", p->listener_path);
	if (p->listener_metadata)
		cg_json_kv_str(&j, "listenerMetadata", p->listener_metadata);
	if (p->n_phase_names) {
		cg_json_key(&j, "capgate");
		cg_json_obj_open(&j);
		write_strv(&j, "phases", p->phase_names, p->n_phase_names);
		if (p->serve_when)
			cg_json_kv_str(&j, "serveWhen", p->serve_when);
		if (p->worker_startup)
			cg_json_kv_uint(&j, "workerStartup", p->worker_startup);
		cg_json_obj_close(&j);
	}
	cg_json_key(&j, "syscalls");
	if (p->syscalls_null && !p->n_syscalls) {
		cg_json_null(&j);
	} else {
		cg_json_arr_open(&j);
		for (size_t i = 0; i < p->n_syscalls; i++)
			write_syscall(&j, &p->syscalls[i]);
		cg_json_arr_close(&j);
	}
	cg_json_obj_close(&j);
	return cg_json_finish(&j);
}

/* ---- resolving ------------------------------------------------------------- */

static bool has_cap(const struct cg_resolve_opts *o, const char *cap)
{
	for (size_t i = 0; i < o->n_caps; i++)
		if (strcmp(o->caps[i], cap) == 0)
			return true;
	if (o->default_caps)
		for (size_t i = 0; i < cg_cap_docker_default_n; i++)
			if (strcmp(cg_cap_docker_default[i], cap) == 0)
				return true;
	return false;
}

/* "sys_admin", "SYS_ADMIN", "CAP_SYS_ADMIN" -> "CAP_SYS_ADMIN" */
static char *cap_canon(const char *name)
{
	size_t n = strlen(name), skip = strncasecmp(name, "CAP_", 4) == 0 ? 4 : 0;
	char *s = malloc(n - skip + 5);
	if (!s)
		return NULL;
	memcpy(s, "CAP_", 4);
	for (size_t i = skip; i <= n; i++)
		s[4 + i - skip] = (char)toupper((unsigned char)name[i]);
	return s;
}

static int capset_set(char **set, size_t *n, const char *cap, bool on)
{
	size_t i;
	for (i = 0; i < *n; i++)
		if (strcmp(set[i], cap) == 0)
			break;
	if (on && i == *n) {
		if (!(set[*n] = strdup(cap)))
			return -ENOMEM;
		(*n)++;
	} else if (!on && i < *n) {
		free(set[i]);
		set[i] = set[--*n];
	}
	return 0;
}

static int str_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int cg_caps_effective(const char *const *add, size_t n_add, const char *const *drop, size_t n_drop, bool privileged,
		      char ***ret, size_t *ret_n)
{
	size_t n_all = 0;
	while (cg_cap_name((int)n_all))
		n_all++;
	size_t cap = n_all + n_add, n = 0;
	char **set = calloc(cap, sizeof(*set));
	bool add_all = privileged, drop_all = false;
	int r = set ? 0 : -ENOMEM;

	for (size_t i = 0; i < n_add; i++)
		add_all |= strcasecmp(add[i], "ALL") == 0;
	for (size_t i = 0; i < n_drop; i++)
		drop_all |= strcasecmp(drop[i], "ALL") == 0;
	for (size_t i = 0; r == 0 && !drop_all && i < cg_cap_docker_default_n; i++)
		r = capset_set(set, &n, cg_cap_docker_default[i], true);
	/* every capability the kernel knows: the one table, in caps.c */
	for (size_t i = 0; r == 0 && add_all && !(drop_all && !privileged) && i < n_all; i++)
		r = capset_set(set, &n, cg_cap_name((int)i), true);
	for (size_t i = 0; r == 0 && i < n_add; i++) {
		char *c = strcasecmp(add[i], "ALL") == 0 ? NULL : cap_canon(add[i]);
		if (strcasecmp(add[i], "ALL") != 0)
			r = c ? capset_set(set, &n, c, true) : -ENOMEM;
		free(c);
	}
	for (size_t i = 0; r == 0 && !privileged && i < n_drop; i++) {
		char *c = strcasecmp(drop[i], "ALL") == 0 ? NULL : cap_canon(drop[i]);
		if (strcasecmp(drop[i], "ALL") != 0)
			r = c ? capset_set(set, &n, c, false) : -ENOMEM;
		free(c);
	}
	if (r < 0) {
		for (size_t i = 0; set && i < n; i++)
			free(set[i]);
		free(set);
		return r;
	}
	qsort(set, n, sizeof(*set), str_cmp);
	*ret = set;
	*ret_n = n;
	return 0;
}

static bool arch_listed(char **arches, size_t n, enum cg_arch_id native)
{
	for (size_t i = 0; i < n; i++)
		if (cg_arch_lookup(arches[i]) == (int)native)
			return true;
	return false;
}

static bool any_arch_known(char **arches, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (cg_arch_lookup(arches[i]) >= 0)
			return true;
	return false;
}

static bool kernel_at_least(unsigned maj, unsigned min, const char *want)
{
	unsigned a = 0, b = 0;
	if (sscanf(want, "%u.%u", &a, &b) != 2)
		return false;
	return maj > a || (maj == a && min >= b);
}

static bool kernel_zero(const char *v) { return kernel_at_least(0, 0, v); }

/* Whether an entry applies: surely, on some nodes, or on none. */
enum applies { APPLIES_NO,
	       APPLIES_MAYBE,
	       APPLIES_YES };

static enum applies weaker(enum applies a, enum applies b) { return a < b ? a : b; }

/* moby's rules: an entry is skipped when an exclude matches or an include
 * doesn't. With the kernel or arch unknown, a condition on it holds on some
 * nodes and not on others (MAYBE), unless it holds on all or none. The
 * capabilities are the container's, known. */
static enum applies entry_applies(const struct cg_profile_syscall *s, const struct cg_resolve_opts *o,
				  enum cg_arch_id native, unsigned kmaj, unsigned kmin)
{
	const struct cg_profile_filter *ex = &s->excludes, *in = &s->includes;
	enum applies a = APPLIES_YES;

	for (size_t i = 0; i < ex->n_caps; i++)
		if (has_cap(o, ex->caps[i]))
			return APPLIES_NO;
	for (size_t i = 0; i < in->n_caps; i++)
		if (!has_cap(o, in->caps[i]))
			return APPLIES_NO;
	if (o->any_arch) {
		if (ex->n_arches && any_arch_known(ex->arches, ex->n_arches))
			a = weaker(a, APPLIES_MAYBE); /* excluded on those, applies on others */
		if (in->n_arches)
			a = weaker(a, any_arch_known(in->arches, in->n_arches) ? APPLIES_MAYBE : APPLIES_NO);
	} else {
		if (ex->n_arches && arch_listed(ex->arches, ex->n_arches, native))
			return APPLIES_NO;
		if (in->n_arches && !arch_listed(in->arches, in->n_arches, native))
			return APPLIES_NO;
	}
	if (o->any_kernel) {
		/* it applies on kernels in [includes.minKernel, excludes.minKernel) */
		if (ex->min_kernel && in->min_kernel) {
			unsigned a1 = 0, b1 = 0;
			if (sscanf(in->min_kernel, "%u.%u", &a1, &b1) == 2 && kernel_at_least(a1, b1, ex->min_kernel))
				return APPLIES_NO;
		}
		if (ex->min_kernel)
			a = weaker(a, kernel_zero(ex->min_kernel) ? APPLIES_NO : APPLIES_MAYBE);
		if (in->min_kernel && !kernel_zero(in->min_kernel))
			a = weaker(a, APPLIES_MAYBE);
	} else {
		if (ex->min_kernel && kernel_at_least(kmaj, kmin, ex->min_kernel))
			return APPLIES_NO;
		if (in->min_kernel && !kernel_at_least(kmaj, kmin, in->min_kernel))
			return APPLIES_NO;
	}
	return a;
}

/* Does the entry go into the closure? Under the runtime's treatment of
 * conditions, a permitting entry when it may apply, a denying one when it
 * surely does: the closure is what the worst node could allow. */
static bool entry_counts(const struct cg_profile_syscall *s, const struct cg_resolve_opts *o, enum cg_arch_id native,
			 unsigned kmaj, unsigned kmin)
{
	enum applies a;

	if (o->runtime == CG_COND_IGNORE)
		return true;
	a = entry_applies(s, o, native, kmaj, kmin);
	if (o->runtime == CG_COND_ANY && a != APPLIES_YES)
		a = APPLIES_MAYBE; /* containerd applies it */
	return cg_action_permits(s->action) ? a != APPLIES_NO : a == APPLIES_YES;
}

int cg_profile_resolve(const struct cg_profile *p, const struct cg_resolve_opts *opts, struct cg_closure **ret,
		       struct cg_error *err)
{
	struct cg_resolve_opts o = { .sz = sizeof(o), .native_arch = -1, .default_caps = true };
	struct cg_closure *c;
	enum cg_arch_id native;
	unsigned kmaj, kmin;
	int r;

	if ((r = CG_OPTS_COPY(&o, opts)) < 0)
		return cg_opts_error(err, r, "cg_resolve_opts");
	native = o.native_arch >= 0 ? (enum cg_arch_id)o.native_arch : cg_arch_native();
	if (o.runtime < CG_COND_RESOLVE || o.runtime > CG_COND_ANY)
		return cg_error_set(err, -EINVAL, "unknown runtime treatment of includes/excludes (%d)", o.runtime);
	kmaj = o.kernel_major;
	kmin = o.kernel_minor;
	if (kmaj == 0 && !o.any_kernel) {
		struct utsname u;
		if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &kmaj, &kmin) != 2)
			return cg_error_set(err, -EINVAL, "cannot read the running kernel's version");
	}
	c = cg_closure_new();
	if (!c)
		return cg_error_set(err, -ENOMEM, "out of memory");
	c->default_action = p->default_action;
	c->arch_mask = CG_ARCH_BIT(native);
	for (size_t i = 0; i < p->n_architectures; i++)
		c->arch_mask |= CG_ARCH_BIT(cg_arch_lookup(p->architectures[i]));
	for (size_t i = 0; i < p->n_arch_map; i++) {
		if (!o.any_arch && cg_arch_lookup(p->arch_map[i].arch) != (int)native)
			continue;
		for (size_t j = 0; j < p->arch_map[i].n_subs; j++)
			c->arch_mask |= CG_ARCH_BIT(cg_arch_lookup(p->arch_map[i].subs[j]));
	}
	for (size_t i = 0; i < p->n_flags; i++)
		c->flags |= (uint32_t)cg_flag_parse(p->flags[i]);
	if ((p->listener_path && !(c->listener_path = strdup(p->listener_path))) ||
	    (p->listener_metadata && !(c->listener_metadata = strdup(p->listener_metadata))) ||
	    (p->serve_when && !(c->serve_when = strdup(p->serve_when)))) {
		r = cg_error_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	c->worker_startup = p->worker_startup;
	for (size_t i = 0; i < p->n_phase_names; i++)
		if (cg_closure_phase(c, p->phase_names[i], true) < 0) {
			r = cg_error_set(err, -ENOMEM, "out of memory");
			goto fail;
		}
	/* the rule array at once, for at most every name: growing it by
	 * doubling touched twice the memory (each page a fault at start-up) */
	size_t n_names = 0;
	for (size_t i = 0; i < p->n_syscalls; i++)
		n_names += p->syscalls[i].n_names;
	if (cg_closure_reserve(c, n_names) < 0) {
		r = cg_error_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < p->n_syscalls; i++) {
		const struct cg_profile_syscall *s = &p->syscalls[i];
		struct cg_rule rule = { 0 };
		if (!entry_counts(s, &o, native, kmaj, kmin))
			continue;
		rule.action = s->action;
		rule.n_args = (uint8_t)s->n_args;
		if (s->n_args)
			memcpy(rule.args, s->args, s->n_args * sizeof(*s->args));
		rule.count = s->count;
		rule.origin = s->comment && *s->comment ? s->comment : NULL;
		for (size_t k = 0; k < s->n_phases; k++)
			rule.phases |= 1u << cg_closure_phase(c, s->phases[k], false);
		for (size_t k = 0; k < s->n_arches; k++)
			rule.arch_mask |= CG_ARCH_BIT(cg_arch_lookup(s->arches[k]));
		for (size_t n = 0; n < s->n_names; n++) {
			rule.name = s->names[n];
			if (!cg_syscall_known(rule.name)) {
				if (cg_action_permits(s->action) && !cg_action_permits(p->default_action)) {
					cg_log(CG_LOG_WARN, "%s:%d:%d: syscalls[%zu].names[%zu]: unknown syscall '%s' skipped",
					       p->source, s->name_pos ? s->name_pos[n].line : 0,
					       s->name_pos ? s->name_pos[n].col : 0, i, n, rule.name);
					continue;
				}
				r = cg_error_set(err, -EINVAL,
						 "%s:%d:%d: syscalls[%zu].names[%zu]: unknown syscall '%s': capgate cannot "
						 "enforce a %s rule for it",
						 p->source, s->name_pos ? s->name_pos[n].line : 0,
						 s->name_pos ? s->name_pos[n].col : 0, i, n, rule.name,
						 cg_action_name(s->action.kind));
				goto fail;
			}
			if ((r = cg_closure_add_rule(c, &rule)) < 0) {
				cg_error_set(err, r, "out of memory");
				goto fail;
			}
		}
	}
	cg_closure_canonicalize(c);
	*ret = c;
	return 0;
fail:
	cg_closure_free(c);
	return r;
}

int cg_profile_from_closure(const struct cg_closure *c, bool plain, struct cg_profile **ret)
{
	struct cg_strbuf sb;
	struct cg_error err;
	int r;

	(void)plain;
	cg_strbuf_init(&sb);
	cg_closure_serialize(c, false, &sb);
	if (sb.oom) {
		cg_strbuf_release(&sb);
		return -ENOMEM;
	}
	r = cg_profile_parse(sb.buf, sb.len, "<closure>", ret, &err);
	cg_strbuf_release(&sb);
	return r;
}

int cg_closure_load(const char *path, const struct cg_resolve_opts *opts, struct cg_closure **ret,
		    struct cg_error *err)
{
	struct cg_profile *p = NULL;
	int r = cg_profile_load(path, &p, err);
	if (r < 0)
		return r;
	r = cg_profile_resolve(p, opts, ret, err);
	cg_profile_free(p);
	return r;
}
