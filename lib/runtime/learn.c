// SPDX-License-Identifier: Apache-2.0
/*
 * Learn mode, explanations and coverage (include/capgate/learn.h).
 *
 * Why the learned closure goes through the trace record: `capgate trace`
 * already decides which argument values of which calls are worth keeping
 * (socket families, clone namespace flags, prctl options, ...) and how a
 * value set becomes OCI argument rules. Learn mode feeds the supervisor's
 * events into that same record (lib/source/trace_data.c), one record per
 * phase of the enforced closure, so a learned closure and a traced one
 * carry the same detail and merge the same way -- one rule, not two.
 *
 * Why events are grouped here and not printed one by one: a busy loop
 * outside the closure makes hundreds of thousands of calls a second. The
 * learner keeps every count but only the first few distinct forms of each
 * call; telling a form apart costs a comparison of six registers, and the
 * explanation of a form is worked out once. Decoding (reading paths from
 * the workload, naming flags) is done here, not by the supervisor, and only
 * for events that may be shown: an event whose registers match a kept form
 * is counted, and once a call's forms are full, or it has been decoded
 * DECODES_PER_FORM times per form without giving a new one (the same path
 * at changing addresses), its other events are counted as not shown.
 */
#include <capgate/learn.h>
#include <stdio.h>

#include "closure/closure_internal.h"
#include "core/error_internal.h"
#include "core/json.h"
#include "runtime/syscall_fmt.h"
#include "source/trace_internal.h"
#include "source/trace_shared.h"

#define RECORDS (CG_MAX_PHASES + 1) /* index 0: no phase; i + 1: phase i */
#define DECODES_PER_FORM 2

struct cg_learn {
	const struct cg_closure *closure;
	unsigned max_forms;
	struct cg_learn_call *calls;
	size_t n_calls, cap_calls;
	uint64_t n_events;
	uint64_t unrecordable; /* events of an arch the record does not keep */
	struct cg_trace_data *rec[RECORDS];
};

int cg_learn_new(const struct cg_learn_opts *user_opts, struct cg_learn **ret, struct cg_error *err)
{
	struct cg_learn_opts o = { .sz = sizeof(o) };
	struct cg_learn *l;
	int r;

	if ((r = CG_OPTS_COPY(&o, user_opts)) < 0)
		return cg_opts_error(err, r, "cg_learn_opts");
	if (!o.closure)
		return cg_error_set(err, -EINVAL, "no closure to learn against");
	l = calloc(1, sizeof(*l));
	if (!l)
		return cg_error_set(err, -ENOMEM, "out of memory");
	l->closure = o.closure;
	l->max_forms = o.max_forms ? o.max_forms : 3;
	*ret = l;
	return 0;
}

void cg_learn_free(struct cg_learn *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n_calls; i++) {
		for (size_t f = 0; f < l->calls[i].n_forms; f++) {
			free(l->calls[i].forms[f].text);
			free(l->calls[i].forms[f].why);
		}
		free(l->calls[i].forms);
	}
	free(l->calls);
	for (size_t i = 0; i < RECORDS; i++)
		cg_trace_data_free(l->rec[i]);
	free(l);
}

size_t cg_learn_n_calls(const struct cg_learn *l) { return l->n_calls; }

const struct cg_learn_call *cg_learn_call_at(const struct cg_learn *l, size_t i)
{
	return i < l->n_calls ? &l->calls[i] : NULL;
}

uint64_t cg_learn_n_events(const struct cg_learn *l) { return l->n_events; }

/* ---- why a call is denied ------------------------------------------------- */

static void add_rule(struct cg_strbuf *out, const struct cg_rule *r)
{
	char abuf[64];
	cg_strbuf_addf(out, "%s %s", cg_action_describe(r->action, abuf, sizeof(abuf)), r->name);
	for (unsigned i = 0; i < r->n_args; i++) {
		cg_strbuf_addf(out, "%s", i ? " and " : " when ");
		cg_arg_cond_describe(out, &r->args[i]);
	}
}

/* Argument indexes of @r whose conditions all fail for @args (a bit each). */
static unsigned failing_indexes(const struct cg_rule *r, enum cg_arch_id arch, const uint64_t args[6])
{
	unsigned seen = 0, held = 0;
	for (unsigned i = 0; i < r->n_args; i++) {
		unsigned bit = 1u << r->args[i].index;
		seen |= bit;
		if (cg_arg_cond_holds(&r->args[i], arch, r->name, args))
			held |= bit;
	}
	return seen & ~held;
}

static void add_phases(struct cg_strbuf *out, const struct cg_closure *c, uint32_t phases)
{
	bool first = true;
	for (unsigned p = 0; p < c->n_phases; p++)
		if (phases & (1u << p)) {
			cg_strbuf_addf(out, "%s%s", first ? "" : ", ", c->phase_names[p]);
			first = false;
		}
}

void cg_learn_explain(const struct cg_closure *c, const struct cg_sandbox_event *ev, struct cg_strbuf *out)
{
	const struct cg_rule *best = NULL, *other_phase = NULL, *other_arch = NULL;
	unsigned best_fail = 0, best_n = 7;
	enum cg_arch_id arch = (enum cg_arch_id)ev->arch;
	uint32_t phases = 0, arches = 0;

	if (ev->arch < 0 || !(c->arch_mask & CG_ARCH_BIT(arch))) {
		CG_STRBUF_LIT(out, "the closure does not accept this architecture");
		return;
	}
	if (!ev->name) {
		cg_strbuf_addf(out, "number %u is no system call capgate knows on %s", ev->nr, cg_arch_info(arch)->name);
		return;
	}
	if (ev->socket_rules) {
		CG_STRBUF_LIT(out, "denied by the socket rules of --net, not by the closure (--net unix, tcp-connect, "
				   "tcp-bind or host grants sockets)");
		return;
	}
	if (ev->rule) {
		CG_STRBUF_LIT(out, "denied by the rule ");
		add_rule(out, ev->rule);
		return;
	}
	for (size_t i = 0; i < c->n_rules; i++) {
		const struct cg_rule *r = &c->rules[i];
		unsigned fail, n = 0;
		if (strcmp(r->name, ev->name) != 0 || !cg_action_permits(r->action))
			continue;
		if (!cg_rule_in_scope(r, CG_ARCH_BIT(arch), -1)) {
			other_arch = r;
			arches |= r->arch_mask;
			continue;
		}
		if (!cg_rule_in_scope(r, CG_ARCH_BIT(arch), ev->phase)) {
			other_phase = r;
			phases |= r->phases;
			continue;
		}
		fail = failing_indexes(r, arch, ev->args);
		for (unsigned b = fail; b; b &= b - 1)
			n++;
		if (n < best_n) {
			best = r;
			best_fail = fail;
			best_n = n;
		}
	}
	if (best && best_fail) {
		CG_STRBUF_LIT(out, "allowed with other arguments: the closest rule ");
		add_rule(out, best);
		CG_STRBUF_LIT(out, " fails on");
		for (unsigned i = 0; i < 6; i++)
			if (best_fail & (1u << i))
				cg_strbuf_addf(out, " arg%u = %#llx", i, (unsigned long long)ev->args[i]);
		return;
	}
	if (best) {
		/* a permitting rule matches: a stricter one (or the audit of a
		 * log rule) decided; say which rule matched */
		CG_STRBUF_LIT(out, "the rule ");
		add_rule(out, best);
		CG_STRBUF_LIT(out, " matches, but the closure decides otherwise");
		return;
	}
	if (other_phase && ev->phase >= 0 && (unsigned)ev->phase < c->n_phases) {
		cg_strbuf_addf(out, "allowed only in phase ");
		add_phases(out, c, phases);
		cg_strbuf_addf(out, ", not in %s", c->phase_names[ev->phase]);
		return;
	}
	if (other_arch) {
		CG_STRBUF_LIT(out, "allowed only on");
		for (int a = 0; a < CG_ARCH_COUNT; a++)
			if (arches & CG_ARCH_BIT(a))
				cg_strbuf_addf(out, " %s", cg_arch_info((enum cg_arch_id)a)->name);
		cg_strbuf_addf(out, ", not on %s", cg_arch_info(arch)->name);
		return;
	}
	cg_strbuf_addf(out, "no rule allows %s: the default action decides", ev->name);
}

/* ---- counting events ------------------------------------------------------ */

static int arch_slot(int arch)
{
	switch (arch) {
	case CG_ARCH_X86_64:
		return 0;
	case CG_ARCH_X86:
		return 1;
	case CG_ARCH_X32:
		return 2;
	}
	return -1;
}

/* The thread group of @tid as the workload sees it (its innermost PID
 * namespace, the last NStgid field): what a kill(2) target is compared to. */
static pid_t ns_tgid(pid_t tid)
{
	char path[64], line[256];
	pid_t v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	if (!(f = fopen(path, "re")))
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "NStgid:", 7) == 0) {
			for (char *t = strtok(line + 7, " \t\n"); t; t = strtok(NULL, " \t\n"))
				v = (pid_t)atoi(t);
			break;
		}
	fclose(f);
	return v;
}

/* Put the event into the record of its phase, with trace's argument
 * detail. */
static int record(struct cg_learn *l, const struct cg_sandbox_event *ev)
{
	int slot = arch_slot(ev->arch), idx = ev->phase >= 0 && ev->phase < CG_MAX_PHASES ? ev->phase + 1 : 0;
	uint64_t a[6];
	const uint64_t *args = a;
	int kind;

	if (slot < 0) {
		l->unrecordable++;
		return 0;
	}
	if (!l->rec[idx] && !(l->rec[idx] = cg_trace_data_new()))
		return -ENOMEM;
	memcpy(a, ev->args, sizeof(a));
	kind = cg_trace_argkind((enum cg_arch_id)ev->arch, ev->name);
	if (kind == CGT_ARG_CLONE3) {
		/* its flags are in struct clone_args (flags first) */
		uint64_t flags;
		if (cg_syscall_fmt_read(ev->pid, ev->args[0], &flags, sizeof(flags)) == sizeof(flags))
			a[0] = flags;
		else
			args = NULL; /* counted, value unknown: no argument rule */
	}
	int r = cg_trace_data_add(l->rec[idx], (unsigned)slot, ev->nr & ~CG_X32_SYSCALL_BIT, 0, args,
				  kind == CGT_ARG_SIG_A1 || kind == CGT_ARG_SIG_A2 ? ns_tgid(ev->pid) : 0);
	return r == -ERANGE ? 0 : r; /* an impossible number is counted as bad_nr */
}

static struct cg_learn_call *call_find(struct cg_learn *l, const struct cg_sandbox_event *ev)
{
	/* the last call first: a loop repeats the same one */
	for (size_t i = l->n_calls; i-- > 0;) {
		struct cg_learn_call *c = &l->calls[i];
		if (c->arch == ev->arch && c->nr == ev->nr && c->phase == ev->phase)
			return c;
	}
	return NULL;
}

/* Keep @ev as a new form of @c, with its decoded @text (taken). */
static int form_add(struct cg_learn *l, struct cg_learn_call *c, const struct cg_sandbox_event *ev, char *text)
{
	struct cg_learn_form f = { .count = 1, .pid = ev->pid, .text = text };
	struct cg_strbuf why;

	if (!c->forms && !(c->forms = calloc(l->max_forms, sizeof(*c->forms)))) {
		free(text);
		return -ENOMEM;
	}
	cg_strbuf_init(&why);
	cg_learn_explain(l->closure, ev, &why);
	f.why = why.buf && !why.oom ? why.buf : NULL;
	if (!f.why) {
		free(f.text);
		cg_strbuf_release(&why);
		return -ENOMEM;
	}
	memcpy(f.args, ev->args, sizeof(f.args));
	c->forms[c->n_forms++] = f;
	return 0;
}

int cg_learn_add(struct cg_learn *l, const struct cg_sandbox_event *ev, enum cg_learn_seen *ret_seen,
		 const struct cg_learn_call **ret_call)
{
	struct cg_learn_call *c = call_find(l, ev);
	enum cg_learn_seen seen = CG_LEARN_REPEAT;
	int r;

	l->n_events++;
	if ((r = record(l, ev)) < 0)
		return r;
	if (!c) {
		if (l->n_calls == l->cap_calls) {
			size_t cap = l->cap_calls ? l->cap_calls * 2 : 16;
			struct cg_learn_call *n = realloc(l->calls, cap * sizeof(*n));
			if (!n)
				return -ENOMEM;
			l->calls = n;
			l->cap_calls = cap;
		}
		c = &l->calls[l->n_calls++];
		*c = (struct cg_learn_call){ .name = ev->name, .arch = ev->arch, .nr = ev->nr, .phase = ev->phase, .allowed = ev->allowed };
		seen = CG_LEARN_NEW_CALL;
	}
	c->count++;
	for (size_t i = 0; i < c->n_forms; i++)
		if (memcmp(c->forms[i].args, ev->args, sizeof(ev->args)) == 0) {
			c->forms[i].count++;
			goto out;
		}
	if (c->n_forms >= l->max_forms || c->decoded >= (uint64_t)l->max_forms * DECODES_PER_FORM) {
		c->unshown++; /* not decoded: it would not be shown */
		goto out;
	}
	/* other registers, maybe the same call (a path at another address):
	 * decode it and compare */
	struct cg_strbuf text;
	cg_strbuf_init(&text);
	if (cg_sandbox_event_text(ev, &text) < 0 || !text.buf) {
		cg_strbuf_release(&text);
		return -ENOMEM;
	}
	c->decoded++;
	for (size_t i = 0; i < c->n_forms; i++)
		if (strcmp(c->forms[i].text, text.buf) == 0) {
			c->forms[i].count++;
			cg_strbuf_release(&text);
			goto out;
		}
	if ((r = form_add(l, c, ev, text.buf)) < 0)
		return r;
	if (seen == CG_LEARN_REPEAT)
		seen = CG_LEARN_NEW_FORM;
out:
	if (ret_seen)
		*ret_seen = seen;
	if (ret_call)
		*ret_call = c;
	return 0;
}

/* ---- output ------------------------------------------------------------------ */

int cg_learn_json_line(const struct cg_learn_call *call, const struct cg_learn_form *f,
		       const char *const *phase_names, struct cg_strbuf *out)
{
	struct cg_json j;
	cg_json_init(&j, out, 0);
	cg_json_obj_open(&j);
	cg_json_kv_str(&j, "event", !f ? "summary" : call->allowed ? "would-deny"
								   : "denied");
	cg_json_kv_str(&j, "call", call->name);
	cg_json_kv_str(&j, "arch", call->arch >= 0 ? cg_arch_info((enum cg_arch_id)call->arch)->name : NULL);
	cg_json_kv_int(&j, "nr", call->nr);
	cg_json_kv_str(&j, "phase", call->phase >= 0 && phase_names ? phase_names[call->phase] : NULL);
	if (f) {
		cg_json_kv_int(&j, "pid", f->pid);
		cg_json_key(&j, "args");
		cg_json_arr_open_inline(&j);
		int n = cg_syscall_fmt_nargs(call->name);
		for (int i = 0; i < (n < 0 ? 6 : n); i++)
			cg_json_rawf(&j, "\"%#llx\"", (unsigned long long)f->args[i]);
		cg_json_arr_close(&j);
		cg_json_kv_str(&j, "text", f->text);
		cg_json_kv_str(&j, "why", f->why);
	} else {
		cg_json_key(&j, "count");
		cg_json_uint(&j, call->count);
		cg_json_key(&j, "forms");
		cg_json_uint(&j, call->n_forms);
		cg_json_key(&j, "unshown");
		cg_json_uint(&j, call->unshown);
	}
	cg_json_obj_close(&j);
	int r = cg_json_finish(&j);
	CG_STRBUF_LIT(out, "\n");
	return r < 0 ? r : out->oom ? -ENOMEM
				    : 0;
}

int cg_learn_closure(const struct cg_learn *l, struct cg_strbuf *notes, struct cg_closure **ret,
		     struct cg_error *err)
{
	_cleanup_(cg_closure_freep) struct cg_closure *c = cg_closure_new();
	struct cg_trace_closure_opts to = { .sz = sizeof(to), .args = true, .no_execve = true, .origin = "learn" };
	int r;

	if (!c)
		return cg_error_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < RECORDS; i++) {
		_cleanup_(cg_closure_freep) struct cg_closure *k = NULL;
		int ph = -1;
		if (!l->rec[i])
			continue;
		cg_trace_data_finish(l->rec[i]);
		if (i > 0 && i - 1 < l->closure->n_phases &&
		    (ph = cg_closure_phase(c, l->closure->phase_names[i - 1], true)) < 0)
			return cg_error_set(err, -ENOMEM, "out of memory");
		if ((r = cg_trace_data_closure(l->rec[i], &to, notes, &k, err)) < 0)
			return r;
		c->arch_mask |= k->arch_mask;
		for (size_t j = 0; j < k->n_rules; j++) {
			k->rules[j].phases = ph >= 0 ? 1u << ph : 0;
			if ((r = cg_closure_add_rule(c, &k->rules[j])) < 0)
				return cg_error_set(err, r, "cannot add a rule: %s", strerror(-r));
		}
		if (notes && l->rec[i]->bad_nr)
			cg_strbuf_addf(notes, "%llu calls with an impossible number are not in the learned closure\n",
				       (unsigned long long)l->rec[i]->bad_nr);
	}
	if (notes && l->unrecordable)
		cg_strbuf_addf(notes, "%llu calls on an architecture capgate cannot record are not in the learned "
				      "closure\n",
			       (unsigned long long)l->unrecordable);
	cg_closure_canonicalize(c);
	*ret = TAKE_PTR(c);
	return 0;
}

/* ---- coverage ------------------------------------------------------------------ */

static bool name_in(const char **names, size_t n, const char *name)
{
	for (size_t k = 0; k < n; k++)
		if (strcmp(names[k], name) == 0)
			return true;
	return false;
}

/* Calls of @used by name, with their counts summed over arches and phases. */
static uint64_t used_count(const struct cg_closure *used, const char *name, bool *ret_found)
{
	uint64_t n = 0;
	*ret_found = false;
	for (size_t i = 0; i < used->n_rules; i++)
		if (strcmp(used->rules[i].name, name) == 0) {
			n += used->rules[i].count;
			*ret_found = true;
		}
	return n;
}

int cg_learn_coverage(const struct cg_closure *c, const struct cg_closure *used, bool json, struct cg_strbuf *out,
		      size_t *ret_used, size_t *ret_total)
{
	_cleanup_free_ const char **names = NULL, **unames = NULL;
	size_t n = 0, un = 0, n_used = 0;
	char digest[72] = "";
	struct cg_json j;
	bool found;
	int r;

	if ((r = cg_closure_permitted_names(c, -1, &names, &n)) < 0 ||
	    (r = cg_closure_permitted_names(used, -1, &unames, &un)) < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		used_count(used, names[i], &found);
		n_used += found;
	}
	if (json) {
		cg_closure_digest(c, digest);
		cg_json_init(&j, out, 2);
		cg_json_obj_open(&j);
		cg_json_kv_str(&j, "closure", digest);
		cg_json_kv_int(&j, "total", (long long)n);
		cg_json_kv_int(&j, "usedCount", (long long)n_used);
		for (int pass = 0; pass < 3; pass++) {
			cg_json_key(&j, pass == 0 ? "used" : pass == 1 ? "unused"
								       : "outside");
			if (pass == 1)
				cg_json_arr_open(&j);
			else
				cg_json_obj_open(&j);
			size_t m = pass == 2 ? un : n;
			for (size_t i = 0; i < m; i++) {
				const char *name = pass == 2 ? unames[i] : names[i];
				uint64_t cnt = used_count(used, name, &found);
				if (pass == 2) {
					if (name_in(names, n, name))
						continue;
				} else if (found != (pass == 0)) {
					continue;
				}
				if (pass == 1) {
					cg_json_str(&j, name);
				} else {
					cg_json_key(&j, name);
					cg_json_uint(&j, cnt);
				}
			}
			if (pass == 1)
				cg_json_arr_close(&j);
			else
				cg_json_obj_close(&j);
		}
		cg_json_obj_close(&j);
		if ((r = cg_json_finish(&j)) < 0)
			return r;
	} else {
		for (size_t i = 0; i < n; i++) {
			uint64_t cnt = used_count(used, names[i], &found);
			if (found)
				cg_strbuf_addf(out, "used %s %llu\n", names[i], (unsigned long long)cnt);
			else
				cg_strbuf_addf(out, "unused %s\n", names[i]);
		}
		for (size_t i = 0; i < un; i++)
			if (!name_in(names, n, unames[i]))
				cg_strbuf_addf(out, "outside %s %llu\n", unames[i],
					       (unsigned long long)used_count(used, unames[i], &found));
	}
	if (ret_used)
		*ret_used = n_used;
	if (ret_total)
		*ret_total = n;
	return out->oom ? -ENOMEM : 0;
}
