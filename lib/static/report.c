// SPDX-License-Identifier: Apache-2.0
/* The static gate's report (capgate/report.h). The writers live in the
 * library, not in `capgate check`, so every front end that gates on a policy
 * (CI, the admission webhook, a node agent) reports the same way. JSON and
 * SARIF go through the one JSON writer; JUnit is XML and escapes its own. */
#include <capgate/report.h>

#include <errno.h>
#include <string.h>

#include "core/json.h"

struct cg_report {
	char *policy;
	struct cg_verdict *v;
	size_t n, cap;
};

int cg_report_new(const char *policy_source, struct cg_report **ret, struct cg_error *err)
{
	struct cg_report *r = calloc(1, sizeof(*r));

	if (!r || !(r->policy = strdup(policy_source ? policy_source : ""))) {
		free(r);
		return cg_error_set(err, -ENOMEM, "out of memory");
	}
	*ret = r;
	return 0;
}

void cg_report_free(struct cg_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		cg_verdict_release(&r->v[i]);
	free(r->v);
	free(r->policy);
	free(r);
}

int cg_report_add(struct cg_report *r, struct cg_verdict *v, struct cg_error *err)
{
	if (r->n == r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 64;
		struct cg_verdict *nv = realloc(r->v, ncap * sizeof(*nv));
		if (!nv) {
			cg_verdict_release(v);
			return cg_error_set(err, -ENOMEM, "out of memory");
		}
		r->v = nv;
		r->cap = ncap;
	}
	r->v[r->n++] = *v;
	memset(v, 0, sizeof(*v));
	return 0;
}

size_t cg_report_count(const struct cg_report *r) { return r->n; }

const struct cg_verdict *cg_report_verdict(const struct cg_report *r, size_t i) { return i < r->n ? &r->v[i] : NULL; }

static bool verdict_fails(const struct cg_verdict *v) { return !v->exempt && !cg_verdict_allowed(v); }

bool cg_report_failed(const struct cg_report *r)
{
	for (size_t i = 0; i < r->n; i++)
		if (verdict_fails(&r->v[i]))
			return true;
	return false;
}

int cg_report_format_parse(const char *name, enum cg_report_format *ret)
{
	static const char *const names[] = { [CG_REPORT_TEXT] = "text", [CG_REPORT_JSON] = "json", [CG_REPORT_SARIF] = "sarif", [CG_REPORT_JUNIT] = "junit" };
	for (size_t i = 0; i < CG_ARRAY_SIZE(names); i++)
		if (strcmp(name, names[i]) == 0) {
			*ret = (enum cg_report_format)i;
			return 0;
		}
	return -EINVAL;
}

/* ---- text ---------------------------------------------------------------------- */

static void write_text(const struct cg_report *r, struct cg_strbuf *sb, bool quiet)
{
	size_t pass = 0, fail = 0, exempt = 0;

	for (size_t i = 0; i < r->n; i++) {
		const struct cg_verdict *v = &r->v[i];
		if (v->exempt) {
			exempt++;
			if (!quiet)
				cg_strbuf_addf(sb, "exempt  %s (%s)\n", v->subject, v->file ? v->file : "");
			continue;
		}
		if (cg_verdict_allowed(v)) {
			pass++;
			if (!quiet)
				cg_strbuf_addf(sb, "pass    %s\n", v->subject);
			for (size_t k = 0; !quiet && k < v->n_notes; k++)
				cg_strbuf_addf(sb, "  note: %s\n", v->notes[k]);
			continue;
		}
		fail++;
		cg_strbuf_addf(sb, "FAIL    %s\n", v->subject);
		for (size_t k = 0; k < v->n_findings; k++) {
			const struct cg_finding *f = &v->findings[k];
			if (f->file && f->pos.line)
				cg_strbuf_addf(sb, "  %s:%d:%d: %s [%s]\n", f->file, f->pos.line, f->pos.col, f->msg, f->rule);
			else if (f->file)
				cg_strbuf_addf(sb, "  %s: %s [%s]\n", f->file, f->msg, f->rule);
			else
				cg_strbuf_addf(sb, "  %s [%s]\n", f->msg, f->rule);
		}
		for (size_t k = 0; k < v->n_notes; k++)
			cg_strbuf_addf(sb, "  note: %s\n", v->notes[k]);
	}
	cg_strbuf_addf(sb, "%zu checked against %s: %zu passed, %zu failed, %zu exempt\n", r->n, r->policy, pass, fail,
		       exempt);
}

/* ---- JSON ---------------------------------------------------------------------- */

/* Absent strings are written as "" (as consumers of this format expect). */
static void kv_str0(struct cg_json *j, const char *k, const char *v) { cg_json_kv_str(j, k, v ? v : ""); }

/* One verdict per line. */
static int write_json(const struct cg_report *r, struct cg_strbuf *sb)
{
	struct cg_json j;
	size_t fail = 0;

	cg_json_init(&j, sb, 2);
	cg_json_obj_open(&j);
	kv_str0(&j, "policy", r->policy);
	cg_json_key(&j, "verdicts");
	cg_json_arr_open(&j);
	for (size_t i = 0; i < r->n; i++) {
		const struct cg_verdict *v = &r->v[i];
		fail += verdict_fails(v);
		cg_json_obj_open_inline(&j);
		kv_str0(&j, "subject", v->subject);
		kv_str0(&j, "kind", v->kind);
		kv_str0(&j, "file", v->file);
		cg_json_kv_bool(&j, "allowed", !verdict_fails(v));
		cg_json_kv_bool(&j, "exempt", v->exempt);
		cg_json_key(&j, "findings");
		cg_json_arr_open(&j);
		for (size_t k = 0; k < v->n_findings; k++) {
			const struct cg_finding *f = &v->findings[k];
			cg_json_obj_open(&j);
			kv_str0(&j, "rule", f->rule);
			kv_str0(&j, "message", f->msg);
			kv_str0(&j, "file", f->file);
			cg_json_kv_int(&j, "line", f->pos.line);
			cg_json_kv_int(&j, "column", f->pos.col);
			kv_str0(&j, "path", f->path);
			cg_json_obj_close(&j);
		}
		cg_json_arr_close(&j);
		if (v->n_notes) {
			cg_json_key(&j, "notes");
			cg_json_arr_open(&j);
			for (size_t k = 0; k < v->n_notes; k++)
				cg_json_str(&j, v->notes[k]);
			cg_json_arr_close(&j);
		}
		cg_json_obj_close(&j);
	}
	cg_json_arr_close(&j);
	cg_json_key(&j, "summary");
	cg_json_obj_open_inline(&j);
	cg_json_kv_uint(&j, "checked", r->n);
	cg_json_kv_uint(&j, "failed", fail);
	cg_json_obj_close(&j);
	cg_json_obj_close(&j);
	return cg_json_finish(&j);
}

/* ---- SARIF 2.1.0 --------------------------------------------------------------- */

static void sarif_result(struct cg_json *j, const struct cg_verdict *v, const struct cg_finding *f)
{
	const char *file = f->file ? f->file : v->file;

	cg_json_obj_open_inline(j);
	kv_str0(j, "ruleId", f->rule);
	cg_json_kv_str(j, "level", "error");
	cg_json_key(j, "message");
	cg_json_obj_open(j);
	kv_str0(j, "text", f->msg);
	cg_json_obj_close(j);
	if (file) {
		cg_json_key(j, "locations");
		cg_json_arr_open(j);
		cg_json_obj_open(j);
		cg_json_key(j, "physicalLocation");
		cg_json_obj_open(j);
		cg_json_key(j, "artifactLocation");
		cg_json_obj_open(j);
		cg_json_kv_str(j, "uri", file);
		cg_json_obj_close(j);
		if (f->pos.line) {
			cg_json_key(j, "region");
			cg_json_obj_open(j);
			cg_json_kv_int(j, "startLine", f->pos.line);
			cg_json_kv_int(j, "startColumn", f->pos.col ? f->pos.col : 1);
			cg_json_obj_close(j);
		}
		cg_json_obj_close(j);
		if (f->subject) {
			cg_json_key(j, "logicalLocations");
			cg_json_arr_open(j);
			cg_json_obj_open(j);
			cg_json_kv_str(j, "fullyQualifiedName", f->subject);
			cg_json_obj_close(j);
			cg_json_arr_close(j);
		}
		cg_json_obj_close(j);
		cg_json_arr_close(j);
	}
	cg_json_obj_close(j);
}

/* The rule table, one rule per line, then one result per line. */
static int write_sarif(const struct cg_report *r, struct cg_strbuf *sb)
{
	struct cg_json j;
	size_t n_rules;
	const struct cg_policy_rule *rules = cg_policy_rules(&n_rules);

	cg_json_init(&j, sb, 2);
	cg_json_obj_open(&j);
	cg_json_kv_str(&j, "$schema", "https://json.schemastore.org/sarif-2.1.0.json");
	cg_json_kv_str(&j, "version", "2.1.0");
	cg_json_key(&j, "runs");
	cg_json_arr_open(&j);
	cg_json_obj_open(&j);
	cg_json_key(&j, "tool");
	cg_json_obj_open(&j);
	cg_json_key(&j, "driver");
	cg_json_obj_open(&j);
	cg_json_kv_str(&j, "name", "capgate");
	cg_json_kv_str(&j, "informationUri", "https://capgate.io");
	cg_json_key(&j, "rules");
	cg_json_arr_open(&j);
	for (size_t i = 0; i < n_rules; i++) {
		cg_json_obj_open_inline(&j);
		cg_json_kv_str(&j, "id", rules[i].id);
		cg_json_kv_str(&j, "name", rules[i].name);
		cg_json_key(&j, "shortDescription");
		cg_json_obj_open(&j);
		cg_json_kv_str(&j, "text", rules[i].help);
		cg_json_obj_close(&j);
		cg_json_obj_close(&j);
	}
	cg_json_arr_close(&j);
	cg_json_obj_close(&j);
	cg_json_obj_close(&j);
	cg_json_key(&j, "results");
	cg_json_arr_open(&j);
	for (size_t i = 0; i < r->n; i++)
		for (size_t k = 0; !r->v[i].exempt && k < r->v[i].n_findings; k++)
			sarif_result(&j, &r->v[i], &r->v[i].findings[k]);
	cg_json_arr_close(&j);
	cg_json_obj_close(&j);
	cg_json_arr_close(&j);
	cg_json_obj_close(&j);
	return cg_json_finish(&j);
}

/* ---- JUnit XML ----------------------------------------------------------------- */

static void xml_str(struct cg_strbuf *sb, const char *s)
{
	for (const unsigned char *c = (const unsigned char *)(s ? s : ""); *c; c++) {
		switch (*c) {
		case '<':
			CG_STRBUF_LIT(sb, "&lt;");
			break;
		case '>':
			CG_STRBUF_LIT(sb, "&gt;");
			break;
		case '&':
			CG_STRBUF_LIT(sb, "&amp;");
			break;
		case '"':
			CG_STRBUF_LIT(sb, "&quot;");
			break;
		default:
			if (*c < 0x20 && *c != '\n' && *c != '\t')
				cg_strbuf_addf(sb, "&#%u;", *c);
			else
				cg_strbuf_add(sb, c, 1);
		}
	}
}

/* One testcase per verdict: exempt ones are skipped, failing ones carry
 * every finding in their failure text. */
static void write_junit(const struct cg_report *r, struct cg_strbuf *sb)
{
	size_t fail = 0, skipped = 0;

	for (size_t i = 0; i < r->n; i++) {
		fail += verdict_fails(&r->v[i]);
		skipped += r->v[i].exempt;
	}
	cg_strbuf_addf(sb, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites tests=\"%zu\" failures=\"%zu\">\n"
			   "<testsuite name=\"capgate check\" tests=\"%zu\" failures=\"%zu\" skipped=\"%zu\" errors=\"0\">\n",
		       r->n, fail, r->n, fail, skipped);
	for (size_t i = 0; i < r->n; i++) {
		const struct cg_verdict *v = &r->v[i];
		CG_STRBUF_LIT(sb, "  <testcase classname=\"");
		xml_str(sb, v->kind);
		CG_STRBUF_LIT(sb, "\" name=\"");
		xml_str(sb, v->subject);
		CG_STRBUF_LIT(sb, "\" file=\"");
		xml_str(sb, v->file);
		CG_STRBUF_LIT(sb, "\"");
		if (v->exempt) {
			CG_STRBUF_LIT(sb, "><skipped message=\"exempt\"/></testcase>\n");
		} else if (cg_verdict_allowed(v)) {
			CG_STRBUF_LIT(sb, "/>\n");
		} else {
			CG_STRBUF_LIT(sb, ">\n    <failure message=\"");
			xml_str(sb, v->findings[0].msg);
			cg_strbuf_addf(sb, "\" type=\"%s\">", v->findings[0].rule);
			for (size_t k = 0; k < v->n_findings; k++) {
				xml_str(sb, v->findings[k].msg);
				CG_STRBUF_LIT(sb, "\n");
			}
			CG_STRBUF_LIT(sb, "</failure>\n  </testcase>\n");
		}
	}
	CG_STRBUF_LIT(sb, "</testsuite>\n</testsuites>\n");
}

int cg_report_write(const struct cg_report *r, enum cg_report_format f, unsigned flags, struct cg_strbuf *sb)
{
	switch (f) {
	case CG_REPORT_JSON:
		return write_json(r, sb);
	case CG_REPORT_SARIF:
		return write_sarif(r, sb);
	case CG_REPORT_JUNIT:
		write_junit(r, sb);
		break;
	case CG_REPORT_TEXT:
	default:
		write_text(r, sb, flags & CG_REPORT_QUIET);
		break;
	}
	return sb->oom ? -ENOMEM : 0;
}
