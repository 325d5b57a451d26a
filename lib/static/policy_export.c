// SPDX-License-Identifier: Apache-2.0
/* The policy for other admission engines: a Rego module for OPA, a Gatekeeper
 * ConstraintTemplate and Constraint, and OPA tests that hold the Rego to
 * capgate's own verdicts. The rules are one file (capgate.rego, embedded by
 * capgate_rego.S) written with two sets of markers, so both targets run the
 * same text; only the parameters differ. */
#include <capgate/policy.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/json.h"

extern const char cg_rego_rules[], cg_rego_rules_end[];

/* A list of strings, six to a line (the layout of the exported text). */
static void list_json(struct cg_strbuf *sb, char *const *v, size_t n, const char *indent)
{
	cg_strbuf_addf(sb, "[");
	for (size_t i = 0; i < n; i++) {
		cg_strbuf_addf(sb, "%s%s", i ? "," : "", (i % 6 == 0) ? "\n" : " ");
		if (i % 6 == 0)
			cg_strbuf_addf(sb, "%s", indent);
		cg_strbuf_add_json_str(sb, v[i]);
	}
	cg_strbuf_addf(sb, "%s]", n ? "\n" : "");
}

static void rego_set(struct cg_strbuf *sb, char *const *v, size_t n)
{
	cg_strbuf_addf(sb, "{");
	for (size_t i = 0; i < n; i++) {
		cg_strbuf_addf(sb, "%s%s", i ? "," : "", i % 6 == 0 ? "\n\t" : " ");
		cg_strbuf_add_json_str(sb, v[i]);
	}
	cg_strbuf_addf(sb, "%s}", n ? "\n" : "");
}

/* The rules with "PARAM." replaced by @param and "DENY" by @head; the
 * file's "#:" notes are left out. */
static void rego_rules(struct cg_strbuf *sb, const char *param, const char *head)
{
	const char *q = cg_rego_rules;

	while (q < cg_rego_rules_end) {
		const char *eol = memchr(q, '\n', (size_t)(cg_rego_rules_end - q));
		const char *next = eol ? eol + 1 : cg_rego_rules_end;
		if (strncmp(q, "#:", 2) == 0) {
			q = next;
			continue;
		}
		for (; q < next; q++) {
			if (strncmp(q, "PARAM.", 6) == 0) {
				cg_strbuf_addf(sb, "%s", param);
				q += 5;
			} else if (strncmp(q, "DENY", 4) == 0) {
				cg_strbuf_addf(sb, "%s", head);
				q += 3;
			} else {
				cg_strbuf_add(sb, q, 1);
			}
		}
	}
}

static const char *pss_name(enum cg_pss_level l)
{
	return l == CG_PSS_RESTRICTED ? "restricted" : l == CG_PSS_BASELINE ? "baseline"
									    : "privileged";
}

/*
 * The parameters the rules read (PARAM.name in capgate.rego): one table, so
 * the Rego values, the Constraint's parameters and the ConstraintTemplate's
 * schema are written from the same list and cannot drift apart. test_policy's
 * test_rego_params holds capgate.rego's PARAM names to this table.
 */
enum param_kind { P_BASELINE,
		  P_MAX_CALLS,
		  P_REQUIRE_DIGEST,
		  P_POD_SECURITY,
		  P_TRUSTED,
		  P_EXEMPT_NS,
		  P_EXEMPT_LABELS,
		  P_ALLOWED };

static const struct {
	const char *name;
	const char *schema; /* openAPIV3Schema of the template */
	enum param_kind kind;
} params[] = {
	{ "baseline", "{type: string}", P_BASELINE },
	{ "max_calls", "{type: integer}", P_MAX_CALLS },
	{ "require_digest", "{type: boolean}", P_REQUIRE_DIGEST },
	{ "pod_security", "{type: string}", P_POD_SECURITY },
	{ "trusted_registries", "{type: array, items: {type: string}}", P_TRUSTED },
	{ "exempt_namespaces", "{type: array, items: {type: string}}", P_EXEMPT_NS },
	{ "exempt_labels", "{type: object, additionalProperties: {type: string}}", P_EXEMPT_LABELS },
	{ "allowed_syscalls", "{type: array, items: {type: string}}", P_ALLOWED },
};

static void param_value(struct cg_strbuf *sb, const struct cg_policy *p, enum param_kind k, bool rego,
			const char *deeper)
{
	switch (k) {
	case P_BASELINE:
		cg_strbuf_add_json_str(sb, p->baseline_file ? p->baseline_file : p->baseline ? p->baseline
											     : "none");
		break;
	case P_MAX_CALLS:
		cg_strbuf_addf(sb, "%ld", p->max_calls);
		break;
	case P_REQUIRE_DIGEST:
		cg_strbuf_addf(sb, "%s", p->require_digest ? "true" : "false");
		break;
	case P_POD_SECURITY:
		cg_strbuf_addf(sb, "\"%s\"", pss_name(p->pss));
		break;
	case P_TRUSTED:
		list_json(sb, p->trusted_registries, p->n_trusted, deeper);
		break;
	case P_EXEMPT_NS:
		list_json(sb, p->exempt_namespaces, p->n_exempt_namespaces, deeper);
		break;
	case P_EXEMPT_LABELS:
		cg_strbuf_addf(sb, "{");
		for (size_t i = 0; i < p->n_exempt_labels; i++) {
			cg_strbuf_addf(sb, "%s", i ? ", " : "");
			cg_strbuf_add_json_str(sb, p->exempt_label_keys[i]);
			cg_strbuf_addf(sb, ": ");
			cg_strbuf_add_json_str(sb, p->exempt_label_values[i]);
		}
		cg_strbuf_addf(sb, "}");
		break;
	case P_ALLOWED:
		if (rego)
			rego_set(sb, p->allowed, p->n_allowed);
		else
			list_json(sb, p->allowed, p->n_allowed, deeper);
		break;
	}
}

/* The policy's parameters, as Rego values (`name := value`, the allowed
 * calls as a set) or as the Constraint's YAML parameters (JSON values). */
static void params_out(struct cg_strbuf *sb, const struct cg_policy *p, bool rego, const char *indent)
{
	char deeper[32];
	snprintf(deeper, sizeof(deeper), "%s  ", indent);

	for (size_t i = 0; i < CG_ARRAY_SIZE(params); i++) {
		cg_strbuf_addf(sb, "%s%s%s", rego ? "" : indent, params[i].name, rego ? " := " : ": ");
		param_value(sb, p, params[i].kind, rego, deeper);
		cg_strbuf_addf(sb, "%s", rego ? "\n\n" : "\n");
	}
}

int cg_policy_export_rego(const struct cg_policy *p, struct cg_strbuf *sb)
{
	cg_strbuf_addf(sb, "# Generated by capgate from %s. The same rules as `capgate check`, for OPA.\n"
			   "# Verify with: opa check --v1-compatible FILE; opa eval -d FILE -i admission-review.json "
			   "'data.capgate.admission.deny'\n"
			   "# Not here: cosign signatures (Rego cannot verify them offline) and the contents of\n"
			   "# Localhost profiles (they live on the nodes); capgate check keeps those rules.\n"
			   "package capgate.admission\n\nimport rego.v1\n\n",
		       p->source);
	params_out(sb, p, true, "");
	rego_rules(sb, "", "deny contains msg");
	return sb->oom ? -ENOMEM : 0;
}

int cg_policy_export_gatekeeper(const struct cg_policy *p, struct cg_strbuf *sb)
{
	struct cg_strbuf rules;

	cg_strbuf_init(&rules);
	rego_rules(&rules, "input.parameters.", "violation contains {\"msg\": msg}");
	cg_strbuf_addf(sb, "# Generated by capgate from %s.\napiVersion: templates.gatekeeper.sh/v1\n"
			   "kind: ConstraintTemplate\nmetadata:\n  name: k8scapgate\nspec:\n  crd:\n    spec:\n"
			   "      names:\n        kind: K8sCapgate\n      validation:\n        openAPIV3Schema:\n"
			   "          type: object\n          properties:\n",
		       p->source);
	for (size_t i = 0; i < CG_ARRAY_SIZE(params); i++)
		cg_strbuf_addf(sb, "            %s: %s\n", params[i].name, params[i].schema);
	cg_strbuf_addf(sb, "  targets:\n    - target: admission.k8s.gatekeeper.sh\n      code:\n        - engine: Rego\n"
			   "          source:\n            version: \"v1\"\n            rego: |\n");
	cg_strbuf_addf(sb, "              package k8scapgate\n\n              import rego.v1\n\n");
	for (char *line = rules.buf, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		cg_strbuf_addf(sb, "%s%s\n", *line ? "              " : "", line);
	}
	if (rules.oom)
		sb->oom = true;
	cg_strbuf_release(&rules);
	cg_strbuf_addf(sb, "---\napiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sCapgate\nmetadata:\n"
			   "  name: capgate\nspec:\n  match:\n    kinds:\n      - apiGroups: [\"\"]\n"
			   "        kinds: [\"Pod\", \"ReplicationController\"]\n"
			   "      - apiGroups: [\"apps\"]\n"
			   "        kinds: [\"Deployment\", \"StatefulSet\", \"DaemonSet\", \"ReplicaSet\"]\n"
			   "      - apiGroups: [\"batch\"]\n        kinds: [\"Job\", \"CronJob\"]\n");
	if (p->n_exempt_namespaces) {
		cg_strbuf_addf(sb, "    excludedNamespaces:");
		for (size_t i = 0; i < p->n_exempt_namespaces; i++) {
			cg_strbuf_addf(sb, "\n      - ");
			cg_strbuf_add_json_str(sb, p->exempt_namespaces[i]);
		}
		cg_strbuf_addf(sb, "\n");
	}
	cg_strbuf_addf(sb, "  parameters:\n");
	params_out(sb, p, false, "    ");
	return sb->oom ? -ENOMEM : 0;
}

/* One OPA test: the comment says where the workload is and what capgate
 * decided, the body asserts the same decision of data.capgate.admission. */
static void rego_test(struct cg_strbuf *sb, const char *file, const struct cg_k8s_workload *w,
		      const struct cg_verdict *v, size_t nr)
{
	bool denied = !v->exempt && !cg_verdict_allowed(v);
	struct cg_strbuf note;
	struct cg_json j;
	char name[96];
	size_t l = 0;

	for (const char *c = w->name ? w->name : "unnamed"; *c && l < sizeof(name) - 1; c++)
		name[l++] = (char)((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ? *c : '_');
	name[l] = '\0';
	cg_strbuf_init(&note);
	cg_strbuf_addf(&note, "%s:%d %s: %s%s%s", file, w->pos.line, v->subject,
		       v->exempt ? "exempt" : denied ? "denied: "
						     : "allowed",
		       denied ? v->findings[0].msg : "",
		       denied && v->n_findings > 1 ? " (and more)" : "");
	/* names come from the manifest: a line break must not end the comment */
	for (size_t c = 0; c < note.len; c++)
		if ((unsigned char)note.buf[c] < 0x20 || note.buf[c] == 0x7f)
			note.buf[c] = ' ';
	cg_strbuf_addf(sb, "\n# %s\n", note.len ? note.buf : "");
	if (note.oom)
		sb->oom = true;
	cg_strbuf_release(&note);
	cg_strbuf_addf(sb, "test_%zu_%s_%s if {\n\tcount(admission.deny) %s 0 with input as ", nr, name,
		       denied ? "denied" : "allowed", denied ? ">" : "==");
	/* {"review": {"object": ...}} on one line, then the newline finish adds */
	cg_json_init(&j, sb, 1);
	cg_json_obj_open_inline(&j);
	cg_json_key(&j, "review");
	cg_json_obj_open_inline(&j);
	cg_json_key(&j, "object");
	cg_json_raw(&j, w->object_json, strlen(w->object_json));
	cg_json_obj_close(&j);
	cg_json_obj_close(&j);
	cg_json_finish(&j);
	cg_strbuf_addf(sb, "}\n");
}

int cg_policy_export_rego_tests(const struct cg_policy *p, const char *const *manifests, size_t n_manifests,
				struct cg_strbuf *sb, struct cg_error *err)
{
	struct cg_policy q = *p; /* shallow, read-only: only two switches differ */
	size_t n_tests = 0;
	int r = 0;

	q.require_profile_contents = false;
	q.require_signature = false;
	cg_strbuf_addf(sb,
		       "# Generated by capgate from %s: what capgate decides for each workload below, under\n"
		       "# the rules `capgate policy export --rego` implements (all but Localhost profile contents\n"
		       "# and image signatures). Run: opa test capgate.rego capgate_test.rego\n"
		       "package capgate.admission_test\n\nimport rego.v1\n\nimport data.capgate.admission\n",
		       p->source);
	for (size_t i = 0; i < n_manifests && r == 0; i++) {
		_cleanup_free_ char *buf = NULL;
		struct cg_k8s_workload **ws = NULL;
		size_t len, n = 0;
		if ((r = cg_read_file_max(manifests[i], CG_READ_MANIFEST_MAX, 0, &buf, &len, err)) < 0 ||
		    (r = cg_k8s_parse_flags(buf, len, manifests[i], CG_K8S_KEEP_JSON, &ws, &n, NULL, err)) < 0)
			break;
		for (size_t k = 0; k < n && r == 0; k++) {
			struct cg_verdict v;
			if ((r = cg_policy_eval_workload(&q, ws[k], NULL, &v, err)) < 0)
				break;
			rego_test(sb, manifests[i], ws[k], &v, ++n_tests);
			cg_verdict_release(&v);
		}
		cg_k8s_workloads_free(ws, n);
	}
	if (r == 0 && sb->oom)
		r = cg_error_set(err, -ENOMEM, "out of memory");
	return r;
}
