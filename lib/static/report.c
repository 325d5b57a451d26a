// SPDX-License-Identifier: Apache-2.0
/* The static gate's report (capgate/report.h). The writers live in the
 * library, not in `capgate check`, so every front end that gates on a policy
 * (CI, the admission webhook, a node agent) reports the same way. JSON and
 * SARIF go through the one JSON writer; JUnit is XML and escapes its own.
 *
 * Each format is written in three parts, a head, one piece per verdict and a
 * tail, so that a streamed report writes each verdict as it comes and keeps
 * only the counts: memory does not grow with the number of workloads. The
 * same three parts write a kept report, so both read the same. */
#include <capgate/report.h>

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/json.h"

#define FLUSH_AT (64 * 1024)

struct cg_report {
	char *policy;
	char *base; /* absolute, without trailing '/' (but "/" itself) */
	struct cg_report_counts c;
	size_t n; /* verdicts added */
	/* kept */
	struct cg_verdict *v;
	size_t cap;
	/* streamed */
	bool stream;
	enum cg_report_format fmt;
	unsigned flags;
	int fd;      /* stdout or the temporary file */
	char *path;  /* the final file, NULL for stdout */
	char *tmp;   /* the temporary file beside it */
	FILE *spool; /* JUnit test cases until the counts are known, SARIF
		      * notifications until the results are written */
	struct cg_strbuf out, cases;
	int werr;        /* first write error (negative errno) */
	bool first;      /* no JSON verdict or SARIF result written yet */
	bool first_note; /* no SARIF notification written yet */
	bool finished;
};

/* ---- verdict states -------------------------------------------------------------- */

enum vstate { V_PASS,
	      V_FAIL,
	      V_EXEMPT,
	      V_NOT_CHECKED,
	      V_ERROR };

static bool verdict_input_error(const struct cg_verdict *v)
{
	return v->n_findings && v->findings[0].rule && strcmp(v->findings[0].rule, CG_RULE_INPUT_ERROR) == 0;
}

/* An object capgate has no rule for (a kind it does not know, read with
 * unknownKinds: ignore, or denied when the policy denies what it cannot
 * check): the manifest reader marks its verdict. */
static bool verdict_not_checked(const struct cg_verdict *v) { return v->not_checked; }

/* A not-checked verdict with findings (a policy that denies what it cannot
 * check) fails: it is counted both as not checked and as failed. */
static enum vstate verdict_state(const struct cg_verdict *v)
{
	if (verdict_input_error(v))
		return V_ERROR;
	if (verdict_not_checked(v) && !v->exempt && cg_verdict_allowed(v))
		return V_NOT_CHECKED;
	if (v->exempt)
		return V_EXEMPT;
	return cg_verdict_allowed(v) ? V_PASS : V_FAIL;
}

static void count(struct cg_report_counts *c, const struct cg_verdict *v)
{
	switch (verdict_state(v)) {
	case V_PASS:
		c->checked++;
		c->passed++;
		break;
	case V_FAIL:
		if (verdict_not_checked(v))
			c->not_checked++;
		else
			c->checked++;
		c->failed++;
		break;
	case V_EXEMPT:
		c->checked++;
		c->exempt++;
		break;
	case V_NOT_CHECKED:
		c->not_checked++;
		break;
	case V_ERROR:
		c->errors++;
		break;
	}
}

/* Findings a report shows for @v: none for an exempt verdict. */
static bool shows_findings(const struct cg_verdict *v) { return !v->exempt; }

/* ---- SARIF paths ----------------------------------------------------------------- */

/* @file as a URI reference relative to the base (*rel true), or as a file:
 * URI when it lies outside. Characters outside RFC 3986's unreserved set
 * and '/' are percent-encoded. */
static void sarif_uri(const struct cg_report *r, const char *file, struct cg_strbuf *sb, bool *rel)
{
	char real[PATH_MAX];
	const char *p = file;
	size_t bl = strlen(r->base);

	*rel = false;
	if (realpath(file, real)) {
		p = real;
		if (strcmp(r->base, "/") == 0) {
			p = real + 1;
			*rel = true;
		} else if (strncmp(real, r->base, bl) == 0 && real[bl] == '/') {
			p = real + bl + 1;
			*rel = true;
		}
	} else if (file[0] != '/') {
		*rel = true; /* not a file on disk ("<stdin>"): as written */
	}
	if (!*rel)
		CG_STRBUF_LIT(sb, "file://");
	for (const unsigned char *c = (const unsigned char *)p; *c; c++) {
		if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || strchr("-._~/", *c))
			cg_strbuf_add(sb, c, 1);
		else
			cg_strbuf_addf(sb, "%%%02X", *c);
	}
}

/* ---- text ---------------------------------------------------------------------- */

static void text_verdict(const struct cg_verdict *v, bool quiet, struct cg_strbuf *sb)
{
	enum vstate st = verdict_state(v);
	static const char *const tags[] = {
		[V_PASS] = "pass    ",
		[V_FAIL] = "FAIL    ",
		[V_EXEMPT] = "exempt  ",
		[V_NOT_CHECKED] = "skip    ",
		[V_ERROR] = "ERROR   ",
	};

	if (quiet && st != V_FAIL && st != V_ERROR)
		return;
	cg_strbuf_addf(sb, "%s%s", tags[st], v->subject ? v->subject : "");
	if (st == V_EXEMPT || st == V_NOT_CHECKED)
		cg_strbuf_addf(sb, " (%s)", v->file ? v->file : "");
	CG_STRBUF_LIT(sb, "\n");
	if (st == V_EXEMPT)
		return;
	for (size_t k = 0; (st == V_FAIL || st == V_ERROR) && k < v->n_findings; k++) {
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

static void text_tail(const struct cg_report *r, struct cg_strbuf *sb)
{
	const struct cg_report_counts *c = &r->c;
	cg_strbuf_addf(sb, "%zu checked against %s: %zu passed, %zu failed, %zu exempt, %zu not checked", c->checked,
		       r->policy, c->passed, c->failed, c->exempt, c->not_checked);
	if (c->errors)
		cg_strbuf_addf(sb, "; %zu input%s could not be read", c->errors, c->errors == 1 ? "" : "s");
	CG_STRBUF_LIT(sb, "\n");
}

/* ---- JSON ---------------------------------------------------------------------- */

/* Absent strings are written as "" (as consumers of this format expect). */
static void kv_str0(struct cg_json *j, const char *k, const char *v) { cg_json_kv_str(j, k, v ? v : ""); }

static void json_head(const struct cg_report *r, struct cg_strbuf *sb)
{
	struct cg_json j;
	CG_STRBUF_LIT(sb, "{\n  \"policy\": ");
	cg_json_init(&j, sb, 0);
	cg_json_str(&j, r->policy);
	cg_json_finish(&j);
	CG_STRBUF_LIT(sb, ",\n  \"verdicts\": [");
}

/* One verdict per line. */
static void json_verdict(const struct cg_verdict *v, bool first, struct cg_strbuf *sb)
{
	static const char *const states[] = {
		[V_PASS] = "pass",
		[V_FAIL] = "fail",
		[V_EXEMPT] = "exempt",
		[V_NOT_CHECKED] = "not-checked",
		[V_ERROR] = "error",
	};
	enum vstate st = verdict_state(v);
	struct cg_json j;

	cg_strbuf_addf(sb, "%s\n    ", first ? "" : ",");
	cg_json_init(&j, sb, 2);
	cg_json_obj_open_inline(&j);
	kv_str0(&j, "subject", v->subject);
	kv_str0(&j, "kind", v->kind);
	kv_str0(&j, "file", v->file);
	cg_json_kv_str(&j, "status", states[st]);
	cg_json_kv_bool(&j, "allowed", st != V_FAIL && st != V_ERROR);
	cg_json_kv_bool(&j, "exempt", v->exempt);
	cg_json_key(&j, "findings");
	cg_json_arr_open(&j);
	for (size_t k = 0; shows_findings(v) && k < v->n_findings; k++) {
		const struct cg_finding *f = &v->findings[k];
		const struct cg_policy_rule *rule = cg_policy_rule_find(f->rule);
		cg_json_obj_open(&j);
		kv_str0(&j, "rule", f->rule);
		cg_json_kv_str(&j, "severity", cg_severity_name(rule ? rule->severity : CG_SEV_HIGH));
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
	cg_json_finish(&j);
	if (sb->len && sb->buf[sb->len - 1] == '\n')
		sb->buf[--sb->len] = '\0';
}

static void json_tail(const struct cg_report *r, struct cg_strbuf *sb)
{
	const struct cg_report_counts *c = &r->c;
	cg_strbuf_addf(sb,
		       "%s],\n  \"summary\": {\"checked\": %zu, \"failed\": %zu, \"passed\": %zu, \"exempt\": %zu, "
		       "\"notChecked\": %zu, \"inputErrors\": %zu}\n}\n",
		       r->n ? "\n  " : "", c->checked, c->failed, c->passed, c->exempt, c->not_checked, c->errors);
}

/* ---- SARIF 2.1.0 --------------------------------------------------------------- */

static const char *sarif_level(const char *rule_id)
{
	const struct cg_policy_rule *rule = cg_policy_rule_find(rule_id ? rule_id : "");
	enum cg_severity s = rule ? rule->severity : CG_SEV_HIGH;
	return s >= CG_SEV_HIGH ? "error" : s == CG_SEV_MEDIUM ? "warning"
							       : "note";
}

/* A fingerprint that survives edits elsewhere in the file: the rule, the
 * file (relative to the base), the subject and the message, not the line. */
static void fingerprint(const char *parts[], size_t n, char out[17])
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++) {
		for (const unsigned char *s = (const unsigned char *)(parts[i] ? parts[i] : ""); *s; s++)
			h = (h ^ *s) * 1099511628211ULL;
		h = (h ^ 0xffu) * 1099511628211ULL; /* a separator no string holds */
	}
	snprintf(out, 17, "%016llx", (unsigned long long)h);
}

static void sarif_head(const struct cg_report *r, struct cg_strbuf *sb)
{
	struct cg_json j;
	struct cg_strbuf uri;
	size_t n_rules;
	const struct cg_policy_rule *rules = cg_policy_rules(&n_rules);

	cg_strbuf_init(&uri);
	/* the base as a file: URI with a trailing slash, as SARIF requires */
	CG_STRBUF_LIT(&uri, "file://");
	for (const unsigned char *c = (const unsigned char *)r->base; *c; c++) {
		if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || strchr("-._~/", *c))
			cg_strbuf_add(&uri, c, 1);
		else
			cg_strbuf_addf(&uri, "%%%02X", *c);
	}
	if (strcmp(r->base, "/") != 0)
		CG_STRBUF_LIT(&uri, "/");

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
	cg_json_key(&j, "rules");
	cg_json_arr_open(&j);
	for (size_t i = 0; i < n_rules; i++) {
		char full[1024];
		snprintf(full, sizeof(full), "%s: %s.", rules[i].help, rules[i].fix);
		full[0] = (char)(full[0] >= 'a' && full[0] <= 'z' ? full[0] - 'a' + 'A' : full[0]);
		cg_json_obj_open_inline(&j);
		cg_json_kv_str(&j, "id", rules[i].id);
		cg_json_kv_str(&j, "name", rules[i].name);
		cg_json_key(&j, "shortDescription");
		cg_json_obj_open(&j);
		cg_json_kv_str(&j, "text", rules[i].help);
		cg_json_obj_close(&j);
		cg_json_key(&j, "fullDescription");
		cg_json_obj_open(&j);
		cg_json_kv_str(&j, "text", full);
		cg_json_obj_close(&j);
		cg_json_key(&j, "help");
		cg_json_obj_open(&j);
		cg_json_kv_str(&j, "text", full);
		cg_json_obj_close(&j);
		cg_json_key(&j, "defaultConfiguration");
		cg_json_obj_open(&j);
		cg_json_kv_str(&j, "level", sarif_level(rules[i].id));
		cg_json_obj_close(&j);
		cg_json_key(&j, "properties");
		cg_json_obj_open(&j);
		cg_json_kv_str(&j, "severity", cg_severity_name(rules[i].severity));
		cg_json_obj_close(&j);
		cg_json_obj_close(&j);
	}
	cg_json_arr_close(&j);
	cg_json_obj_close(&j);
	cg_json_obj_close(&j);
	cg_json_key(&j, "originalUriBaseIds");
	cg_json_obj_open(&j);
	cg_json_key(&j, "%SRCROOT%");
	cg_json_obj_open(&j);
	cg_json_kv_str(&j, "uri", uri.buf ? uri.buf : "file:///");
	cg_json_obj_close(&j);
	cg_json_obj_close(&j);
	cg_json_key(&j, "results");
	cg_json_arr_open(&j);
	cg_json_str(&j, "x"); /* a placeholder member, cut below */
	cg_json_arr_close(&j);
	cg_json_obj_close(&j);
	cg_json_arr_close(&j);
	cg_json_obj_close(&j);
	cg_json_finish(&j);
	cg_strbuf_release(&uri);
	/* keep everything up to the results array's opening bracket */
	if (!sb->oom) {
		char *open = strstr(sb->buf, "\"results\": [");
		if (open) {
			sb->len = (size_t)(open - sb->buf) + strlen("\"results\": [");
			sb->buf[sb->len] = '\0';
		}
	}
}

/* A result's or a notification's "locations": the file (relative to
 * %SRCROOT% when @rel), the line and column when known, and the subject as
 * a logical location (may be NULL). */
static void sarif_locations(struct cg_json *j, const char *uri, bool rel, struct cg_pos pos, const char *subject)
{
	cg_json_key(j, "locations");
	cg_json_arr_open(j);
	cg_json_obj_open(j);
	cg_json_key(j, "physicalLocation");
	cg_json_obj_open(j);
	cg_json_key(j, "artifactLocation");
	cg_json_obj_open(j);
	cg_json_kv_str(j, "uri", uri);
	if (rel)
		cg_json_kv_str(j, "uriBaseId", "%SRCROOT%");
	cg_json_obj_close(j);
	if (pos.line > 0) {
		cg_json_key(j, "region");
		cg_json_obj_open(j);
		cg_json_kv_int(j, "startLine", pos.line);
		cg_json_kv_int(j, "startColumn", pos.col > 0 ? pos.col : 1);
		cg_json_obj_close(j);
	}
	cg_json_obj_close(j);
	if (subject && *subject) {
		cg_json_key(j, "logicalLocations");
		cg_json_arr_open(j);
		cg_json_obj_open(j);
		cg_json_kv_str(j, "fullyQualifiedName", subject);
		cg_json_obj_close(j);
		cg_json_arr_close(j);
	}
	cg_json_obj_close(j);
	cg_json_arr_close(j);
}

static void sarif_result(const struct cg_report *r, const struct cg_verdict *v, const struct cg_finding *f,
			 bool first, struct cg_strbuf *sb)
{
	const char *file = f->file ? f->file : v->file;
	const char *subject = f->subject ? f->subject : v->subject;
	struct cg_strbuf uri;
	struct cg_json j;
	bool rel = false;
	char fp[17];

	cg_strbuf_init(&uri);
	if (file)
		sarif_uri(r, file, &uri, &rel);
	/* a subject named by its path ("profile.json#name") is keyed by the
	 * URI instead, so the fingerprint does not depend on how it was named */
	const char *skey = subject;
	if (skey && file && strncmp(skey, file, strlen(file)) == 0)
		skey += strlen(file);
	const char *parts[] = { f->rule, uri.buf, skey, f->msg };
	fingerprint(parts, CG_ARRAY_SIZE(parts), fp);

	cg_strbuf_addf(sb, "%s\n        ", first ? "" : ",");
	cg_json_init(&j, sb, 2);
	cg_json_obj_open_inline(&j);
	kv_str0(&j, "ruleId", f->rule);
	cg_json_kv_str(&j, "level", sarif_level(f->rule));
	cg_json_key(&j, "message");
	cg_json_obj_open(&j);
	kv_str0(&j, "text", f->msg);
	cg_json_obj_close(&j);
	if (file && uri.buf)
		sarif_locations(&j, uri.buf, rel, f->pos, subject);
	cg_json_key(&j, "partialFingerprints");
	cg_json_obj_open(&j);
	cg_json_kv_str(&j, "capgateFinding/v1", fp);
	cg_json_obj_close(&j);
	if (v->n_notes) { /* what the verdict rests on, beside each of its results */
		cg_json_key(&j, "properties");
		cg_json_obj_open(&j);
		cg_json_key(&j, "notes");
		cg_json_arr_open(&j);
		for (size_t k = 0; k < v->n_notes; k++)
			cg_json_str(&j, v->notes[k]);
		cg_json_arr_close(&j);
		cg_json_obj_close(&j);
	}
	cg_json_obj_close(&j);
	cg_json_finish(&j);
	if (sb->len && sb->buf[sb->len - 1] == '\n')
		sb->buf[--sb->len] = '\0';
	cg_strbuf_release(&uri);
}

/* @first: no result has been written yet; returns whether one now has. */
static bool sarif_verdict(const struct cg_report *r, const struct cg_verdict *v, bool first, struct cg_strbuf *sb)
{
	for (size_t k = 0; shows_findings(v) && k < v->n_findings; k++, first = false)
		sarif_result(r, v, &v->findings[k], first, sb);
	return first;
}

/* The notes of a verdict that has no result to carry them (it passed, or is
 * exempt) are notifications of the run (invocations[0]), with the verdict's
 * place: a tag resolved to a digest is worth knowing about a passing Pod. */
static bool sarif_notes(const struct cg_report *r, const struct cg_verdict *v, bool first, struct cg_strbuf *sb)
{
	if (shows_findings(v) && v->n_findings)
		return first;
	for (size_t k = 0; k < v->n_notes; k++, first = false) {
		struct cg_strbuf uri, text;
		struct cg_json j;
		bool rel = false;

		cg_strbuf_init(&uri);
		cg_strbuf_init(&text);
		if (v->file)
			sarif_uri(r, v->file, &uri, &rel);
		cg_strbuf_addf(&text, "%s: %s", v->subject ? v->subject : "", v->notes[k]);
		cg_strbuf_addf(sb, "%s\n          ", first ? "" : ",");
		cg_json_init(&j, sb, 2);
		cg_json_obj_open_inline(&j);
		cg_json_kv_str(&j, "level", "note");
		cg_json_key(&j, "message");
		cg_json_obj_open(&j);
		kv_str0(&j, "text", text.buf);
		cg_json_obj_close(&j);
		if (v->file && uri.buf)
			sarif_locations(&j, uri.buf, rel, v->pos, NULL);
		cg_json_obj_close(&j);
		cg_json_finish(&j);
		if (sb->len && sb->buf[sb->len - 1] == '\n')
			sb->buf[--sb->len] = '\0';
		cg_strbuf_release(&uri);
		cg_strbuf_release(&text);
	}
	return first;
}

/* The results end; the notifications follow in one invocation. */
static void sarif_tail_open(const struct cg_report *r, bool any, struct cg_strbuf *sb)
{
	cg_strbuf_addf(sb,
		       "%s],\n      \"invocations\": [\n        {\"executionSuccessful\": %s, "
		       "\"toolExecutionNotifications\": [",
		       any ? "\n      " : "", r->c.errors ? "false" : "true");
}

static void sarif_tail_close(bool any_note, struct cg_strbuf *sb)
{
	cg_strbuf_addf(sb, "%s]}\n      ]\n    }\n  ]\n}\n", any_note ? "\n        " : "");
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
			/* XML 1.0 has no way to write other control characters */
			if (*c < 0x20 && *c != '\n' && *c != '\t')
				CG_STRBUF_LIT(sb, "?");
			else
				cg_strbuf_add(sb, c, 1);
		}
	}
}

/* One testcase per verdict: exempt and not checked ones are skipped, an
 * input that cannot be read is an error, failing ones carry every finding
 * in their failure text; the verdict's notes are its system-out. */
static void junit_case(const struct cg_verdict *v, struct cg_strbuf *sb)
{
	enum vstate st = verdict_state(v);

	CG_STRBUF_LIT(sb, "  <testcase classname=\"");
	xml_str(sb, v->kind);
	CG_STRBUF_LIT(sb, "\" name=\"");
	xml_str(sb, v->subject);
	CG_STRBUF_LIT(sb, "\" file=\"");
	xml_str(sb, v->file);
	CG_STRBUF_LIT(sb, "\"");
	if (st == V_PASS && !v->n_notes) {
		CG_STRBUF_LIT(sb, "/>\n");
		return;
	}
	CG_STRBUF_LIT(sb, ">");
	if (st == V_EXEMPT || st == V_NOT_CHECKED) {
		cg_strbuf_addf(sb, "<skipped message=\"%s\"/>", st == V_EXEMPT ? "exempt" : "not checked");
	} else if (st != V_PASS) {
		cg_strbuf_addf(sb, "\n    <%s message=\"", st == V_ERROR ? "error" : "failure");
		xml_str(sb, v->findings[0].msg);
		CG_STRBUF_LIT(sb, "\" type=\"");
		xml_str(sb, v->findings[0].rule);
		CG_STRBUF_LIT(sb, "\">");
		for (size_t k = 0; k < v->n_findings; k++) {
			const struct cg_finding *f = &v->findings[k];
			if (f->file && f->pos.line)
				cg_strbuf_addf(sb, "%s:%d:%d: ", f->file, f->pos.line, f->pos.col);
			xml_str(sb, f->msg);
			CG_STRBUF_LIT(sb, "\n");
		}
		cg_strbuf_addf(sb, "</%s>", st == V_ERROR ? "error" : "failure");
	}
	if (v->n_notes) {
		CG_STRBUF_LIT(sb, "\n    <system-out>");
		for (size_t k = 0; k < v->n_notes; k++) {
			CG_STRBUF_LIT(sb, "note: ");
			xml_str(sb, v->notes[k]);
			CG_STRBUF_LIT(sb, "\n");
		}
		CG_STRBUF_LIT(sb, "</system-out>");
	}
	cg_strbuf_addf(sb, "%s</testcase>\n", st == V_EXEMPT || st == V_NOT_CHECKED ? "" : "\n  ");
}

static void junit_head(const struct cg_report *r, struct cg_strbuf *sb)
{
	const struct cg_report_counts *c = &r->c;
	size_t skipped = c->exempt + c->not_checked;
	cg_strbuf_addf(sb,
		       "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites tests=\"%zu\" failures=\"%zu\" errors=\"%zu\">\n"
		       "<testsuite name=\"capgate check\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\">\n",
		       r->n, c->failed, c->errors, r->n, c->failed, c->errors, skipped);
}

static void junit_tail(struct cg_strbuf *sb) { CG_STRBUF_LIT(sb, "</testsuite>\n</testsuites>\n"); }

/* ---- the report -------------------------------------------------------------------- */

/* The same shape for a report written at once (cg_report_write) and one
 * streamed (cg_report_open .. cg_report_finish): a head, the verdicts, and
 * a tail around what was held aside -- SARIF's notifications, JUnit's
 * cases, whose head needs the final counts. */
static void head(const struct cg_report *r, enum cg_report_format f, struct cg_strbuf *sb)
{
	if (f == CG_REPORT_JSON)
		json_head(r, sb);
	else if (f == CG_REPORT_SARIF)
		sarif_head(r, sb);
}

/* @any: a JSON verdict or SARIF result was written; @any_note: a SARIF
 * notification was held aside; @copy appends what was held aside. */
static void tail(const struct cg_report *r, enum cg_report_format f, bool any, bool any_note, struct cg_strbuf *sb,
		 void (*copy)(void *user, struct cg_strbuf *sb), void *user)
{
	switch (f) {
	case CG_REPORT_JSON:
		json_tail(r, sb);
		break;
	case CG_REPORT_SARIF:
		sarif_tail_open(r, any, sb);
		copy(user, sb);
		sarif_tail_close(any_note, sb);
		break;
	case CG_REPORT_JUNIT:
		junit_head(r, sb);
		copy(user, sb);
		junit_tail(sb);
		break;
	case CG_REPORT_TEXT:
	default:
		text_tail(r, sb);
		break;
	}
}

int cg_report_format_parse(const char *name, enum cg_report_format *ret)
{
	static const char *const names[] = { [CG_REPORT_TEXT] = "text", [CG_REPORT_JSON] = "json", [CG_REPORT_SARIF] = "sarif", [CG_REPORT_JUNIT] = "junit" };
	for (size_t i = 0; name && i < CG_ARRAY_SIZE(names); i++)
		if (strcmp(name, names[i]) == 0) {
			*ret = (enum cg_report_format)i;
			return 0;
		}
	return -EINVAL;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Write out what is buffered (all of it with @force, else past FLUSH_AT). */
static void flush(struct cg_report *r, bool force)
{
	if (r->out.oom && !r->werr)
		r->werr = -ENOMEM;
	if (r->cases.oom && !r->werr)
		r->werr = -ENOMEM;
	if (r->out.len && (force || r->out.len >= FLUSH_AT)) {
		int e = r->werr ? 0 : write_all(r->fd, r->out.buf, r->out.len);
		if (e && !r->werr)
			r->werr = e;
		r->out.len = 0;
	}
	if (r->cases.len && (force || r->cases.len >= FLUSH_AT)) {
		if (!r->werr && fwrite(r->cases.buf, 1, r->cases.len, r->spool) != r->cases.len)
			r->werr = -EIO;
		r->cases.len = 0;
	}
}

int cg_report_open(const char *policy_source, const struct cg_report_opts *o, struct cg_report **ret,
		   struct cg_error *err)
{
	struct cg_report *r = calloc(1, sizeof(*r));
	char base[PATH_MAX];
	const char *b = o && o->sz >= offsetof(struct cg_report_opts, base) + sizeof(o->base) && o->base ? o->base : ".";

	if (!r || !(r->policy = strdup(policy_source ? policy_source : ""))) {
		free(r);
		return cg_error_set(err, -ENOMEM, "out of memory");
	}
	r->fd = -1;
	r->first = true;
	r->first_note = true;
	cg_strbuf_init(&r->out);
	cg_strbuf_init(&r->cases);
	if (!realpath(b, base)) {
		int e = -errno;
		cg_report_free(r);
		return cg_error_set(err, e, "base directory %s: %s", b, strerror(-e));
	}
	if (!(r->base = strdup(base))) {
		cg_report_free(r);
		return cg_error_set(err, -ENOMEM, "out of memory");
	}
	if (o && o->output) {
		r->stream = true;
		r->fmt = o->format;
		r->flags = o->flags;
		if (strcmp(o->output, "-") == 0) {
			r->fd = STDOUT_FILENO;
		} else {
			char *dup = strdup(o->output);
			if (!dup || !(r->path = strdup(o->output)) ||
			    asprintf(&r->tmp, "%s/.%s.XXXXXX", dirname(dup), basename(r->path)) < 0) {
				r->tmp = NULL;
				free(dup);
				cg_report_free(r);
				return cg_error_set(err, -ENOMEM, "out of memory");
			}
			free(dup);
			if ((r->fd = mkstemp(r->tmp)) < 0) {
				int e = -errno;
				free(r->tmp);
				r->tmp = NULL;
				cg_error_set(err, e, "%s: cannot create the report: %s", o->output, strerror(-e));
				cg_report_free(r);
				return e;
			}
		}
		if ((r->fmt == CG_REPORT_JUNIT || r->fmt == CG_REPORT_SARIF) && !(r->spool = tmpfile())) {
			int e = -errno;
			cg_report_free(r);
			return cg_error_set(err, e, "cannot create a temporary file for the report: %s", strerror(-e));
		}
		head(r, r->fmt, &r->out);
		flush(r, false);
	}
	*ret = r;
	return 0;
}

int cg_report_new(const char *policy_source, struct cg_report **ret, struct cg_error *err)
{
	return cg_report_open(policy_source, NULL, ret, err);
}

void cg_report_free(struct cg_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; r->v && i < r->n; i++)
		cg_verdict_release(&r->v[i]);
	free(r->v);
	if (r->tmp) {
		if (r->fd >= 0)
			close(r->fd);
		unlink(r->tmp); /* not finished: no partial report */
	}
	if (r->spool)
		fclose(r->spool);
	cg_strbuf_release(&r->out);
	cg_strbuf_release(&r->cases);
	free(r->tmp);
	free(r->path);
	free(r->base);
	free(r->policy);
	free(r);
}

/* One verdict in format @f; *first tracks the first JSON verdict or SARIF
 * result, *first_note the first SARIF notification (written to @cases). */
static void emit(const struct cg_report *r, enum cg_report_format f, unsigned flags, const struct cg_verdict *v,
		 bool *first, bool *first_note, struct cg_strbuf *sb, struct cg_strbuf *cases)
{
	switch (f) {
	case CG_REPORT_JSON:
		json_verdict(v, *first, sb);
		*first = false;
		break;
	case CG_REPORT_SARIF:
		*first = sarif_verdict(r, v, *first, sb);
		*first_note = sarif_notes(r, v, *first_note, cases);
		break;
	case CG_REPORT_JUNIT:
		junit_case(v, cases);
		break;
	case CG_REPORT_TEXT:
	default:
		text_verdict(v, flags & CG_REPORT_QUIET, sb);
		break;
	}
}

int cg_report_add(struct cg_report *r, struct cg_verdict *v, struct cg_error *err)
{
	if (r->stream) {
		count(&r->c, v);
		r->n++;
		emit(r, r->fmt, r->flags, v, &r->first, &r->first_note, &r->out, &r->cases);
		cg_verdict_release(v);
		flush(r, false);
		if (r->werr)
			return cg_error_set(err, r->werr, "cannot write the report: %s", strerror(-r->werr));
		return 0;
	}
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
	count(&r->c, v);
	r->v[r->n++] = *v;
	memset(v, 0, sizeof(*v));
	return 0;
}

/* Write what the spool holds (JUnit cases, SARIF notifications) after what
 * is buffered. */
static void copy_spool(void *user, struct cg_strbuf *sb)
{
	struct cg_report *r = user;

	(void)sb; /* r->out, flushed first */
	flush(r, true);
	if (!r->werr && (fflush(r->spool) != 0 || fseek(r->spool, 0, SEEK_SET) != 0))
		r->werr = -EIO;
	for (char buf[16384]; !r->werr;) {
		size_t n = fread(buf, 1, sizeof(buf), r->spool);
		if (n == 0) {
			if (ferror(r->spool))
				r->werr = -EIO;
			break;
		}
		int e = write_all(r->fd, buf, n);
		if (e)
			r->werr = e;
	}
}

int cg_report_finish(struct cg_report *r, struct cg_error *err)
{
	if (!r->stream || r->finished)
		return cg_error_set(err, -EINVAL, "the report is not being written");
	r->finished = true;
	tail(r, r->fmt, !r->first, !r->first_note, &r->out, copy_spool, r);
	flush(r, true);
	if (!r->werr && r->tmp) {
		if (fchmod(r->fd, 0644) < 0 || fsync(r->fd) < 0)
			r->werr = -errno;
		if (close(r->fd) < 0 && !r->werr)
			r->werr = -errno;
		r->fd = -1;
		if (!r->werr && rename(r->tmp, r->path) < 0)
			r->werr = -errno;
		if (!r->werr) {
			free(r->tmp);
			r->tmp = NULL;
		}
	}
	if (r->werr)
		return cg_error_set(err, r->werr, "%s: cannot write the report: %s", r->path ? r->path : "stdout",
				    strerror(-r->werr));
	return 0;
}

void cg_report_counts(const struct cg_report *r, struct cg_report_counts *ret) { *ret = r->c; }

size_t cg_report_count(const struct cg_report *r) { return r->n; }

const struct cg_verdict *cg_report_verdict(const struct cg_report *r, size_t i)
{
	return !r->stream && i < r->n ? &r->v[i] : NULL;
}

bool cg_report_failed(const struct cg_report *r) { return r->c.failed || r->c.errors; }

/* cg_report_write's spool: the notifications or cases held in a buffer. */
static void copy_notes(void *user, struct cg_strbuf *sb)
{
	const struct cg_strbuf *notes = user;
	if (notes->len)
		cg_strbuf_add(sb, notes->buf, notes->len);
}

int cg_report_write(const struct cg_report *r, enum cg_report_format f, unsigned flags, struct cg_strbuf *sb)
{
	struct cg_strbuf notes;
	bool first = true, first_note = true;

	if (r->stream)
		return -EINVAL;
	cg_strbuf_init(&notes);
	head(r, f, sb);
	for (size_t i = 0; i < r->n; i++)
		emit(r, f, flags, &r->v[i], &first, &first_note, sb, &notes);
	tail(r, f, !first, !first_note, sb, copy_notes, &notes);
	if (notes.oom)
		sb->oom = true;
	cg_strbuf_release(&notes);
	return sb->oom ? -ENOMEM : 0;
}
