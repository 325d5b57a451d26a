// SPDX-License-Identifier: Apache-2.0
/*
 * Closures for readers that do not know capgate's extensions.
 *
 * A closure can say things a plain OCI profile cannot: a rule that holds on
 * one architecture only, a rule that holds in one phase only. A runtime (or
 * the Security Profiles Operator) that reads the canonical JSON ignores
 * those fields and applies the rule everywhere. For a phase that is the
 * documented meaning (the runtime enforces the union of the phases); for an
 * architecture it would let a call through where the closure denies it, so
 * the export fails instead of widening.
 *
 * The SeccompProfile resource is written with the one JSON writer. YAML is
 * that JSON re-emitted by libfyaml (the reader every capgate input goes
 * through), not a second hand-written serializer.
 */
#include <capgate/export.h>

#include <errno.h>
#include <libfyaml.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <capgate/image.h>
#include <capgate/profile.h>
#include <capgate/syscalls.h>

#include "closure/closure_internal.h"
#include "core/error_internal.h"
#include "core/json.h"

#define SPO_API_VERSION "security-profiles-operator.x-k8s.io/v1beta1"

int cg_closure_check_plain(const struct cg_closure *c, struct cg_error *err)
{
	for (size_t i = 0; i < c->n_rules; i++) {
		const struct cg_rule *r = &c->rules[i];
		char only[160] = "";
		size_t len = 0;

		if (!r->arch_mask || !cg_action_permits(r->action) || (c->arch_mask & ~r->arch_mask) == 0)
			continue;
		for (int a = 0; a < 32; a++) {
			const struct cg_arch_info *ai = cg_arch_info(a);
			if (ai && (r->arch_mask & c->arch_mask & CG_ARCH_BIT(a)) && len < sizeof(only))
				len += snprintf(only + len, sizeof(only) - len, "%s%s", len ? ", " : "", ai->name);
		}
		return cg_error_set(err, -EINVAL,
				    "rule for '%s' (%s) holds only on %s: a runtime reading the profile applies it on "
				    "every architecture it lists, so the closure cannot be installed as a plain profile",
				    r->name, cg_action_name(r->action.kind), len ? only : "no listed architecture");
	}
	return 0;
}

/* A DNS-1123 label (@dots false) or subdomain (@dots true), as Kubernetes
 * checks metadata.name and metadata.namespace. */
static bool dns1123(const char *s, bool dots)
{
	size_t n = strlen(s);
	bool start = true;

	if (n == 0 || n > (dots ? 253u : 63u))
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
		if (ch == '.' && dots) {
			if (start || s[i - 1] == '-')
				return false;
			start = true;
			continue;
		}
		if (!alnum && ch != '-')
			return false;
		if (ch == '-' && start)
			return false;
		start = false;
	}
	return !start && s[n - 1] != '-';
}

/* The flags the operator's schema lists (its Flag enum). */
static bool spo_flag_known(const char *f)
{
	static const char *const known[] = { "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
					     "SECCOMP_FILTER_FLAG_TSYNC" };
	for (size_t i = 0; i < CG_ARRAY_SIZE(known); i++)
		if (strcmp(f, known[i]) == 0)
			return true;
	return false;
}

static void write_strv(struct cg_json *j, const char *key, char *const *v, size_t n)
{
	cg_json_key(j, key);
	cg_json_arr_open(j);
	for (size_t i = 0; i < n; i++)
		cg_json_str(j, v[i]);
	cg_json_arr_close(j);
}

/* The spec: the operator's fields only, in its order. */
static void write_spec(struct cg_json *j, const struct cg_profile *p)
{
	cg_json_key(j, "spec");
	cg_json_obj_open(j);
	cg_json_kv_str(j, "defaultAction", cg_action_name(p->default_action.kind));
	if (p->n_architectures)
		write_strv(j, "architectures", p->architectures, p->n_architectures);
	if (p->listener_path)
		cg_json_kv_str(j, "listenerPath", p->listener_path);
	if (p->listener_metadata)
		cg_json_kv_str(j, "listenerMetadata", p->listener_metadata);
	if (p->n_flags)
		write_strv(j, "flags", p->flags, p->n_flags);
	cg_json_key(j, "syscalls");
	cg_json_arr_open(j);
	for (size_t i = 0; i < p->n_syscalls; i++) {
		const struct cg_profile_syscall *s = &p->syscalls[i];
		cg_json_obj_open(j);
		write_strv(j, "names", s->names, s->n_names);
		cg_json_kv_str(j, "action", cg_action_name(s->action.kind));
		if (s->action.kind == CG_ACT_ERRNO || (s->action.kind == CG_ACT_TRACE && s->action.data))
			cg_json_kv_uint(j, "errnoRet", s->action.data);
		cg_closure_write_args(j, s->args, s->n_args);
		cg_json_obj_close(j);
	}
	cg_json_arr_close(j);
	cg_json_obj_close(j);
}

/* Whether a DNS-1123 name reads back as a string when written plain: not
 * one of YAML 1.1's booleans or null, not number-like ("123", "1e3", "1.5"). */
static bool yaml_plain_safe(const char *s)
{
	static const char *const words[] = { "y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf" };

	if ((s[0] >= '0' && s[0] <= '9') || s[0] == '-' || s[0] == '.')
		return false;
	for (size_t i = 0; i < CG_ARRAY_SIZE(words); i++)
		if (strcasecmp(s, words[i]) == 0)
			return false;
	return true;
}

/* Re-emit the JSON in @in as block YAML into @out. libfyaml's "de-JSON"
 * mode writes strings plain where it can, and it writes the string "true"
 * plain too, which YAML reads back as a boolean. Every string of the
 * resource is an enum name, a syscall name, a validated object name or the
 * digest, none of which YAML can misread, except the free-form listener
 * fields and names such as "true" or "123": with those, @quoted keeps every
 * scalar double-quoted (valid, only less pretty). */
static int json_to_yaml(const struct cg_strbuf *in, bool quoted, struct cg_strbuf *out, struct cg_error *err)
{
	struct fy_parse_cfg cfg = { .flags = FYPCF_QUIET | FYPCF_JSON_FORCE };
	struct fy_document *fyd = fy_document_build_from_string(&cfg, in->buf, in->len);
	char *s;

	if (!fyd)
		return cg_error_set(err, -ENOMEM, "cannot re-read the resource for YAML");
	s = fy_emit_document_to_string(fyd, (quoted ? FYECF_MODE_BLOCK : FYECF_MODE_DEJSON) | FYECF_INDENT_2 |
						    FYECF_WIDTH_INF | FYECF_DOC_START_MARK_ON);
	fy_document_destroy(fyd);
	if (!s)
		return cg_error_set(err, -ENOMEM, "cannot write the resource as YAML");
	cg_strbuf_add(out, s, strlen(s));
	free(s);
	return out->oom ? -ENOMEM : 0;
}

int cg_closure_write_spo(const struct cg_closure *c, const struct cg_spo_opts *opts, struct cg_strbuf *out,
			 struct cg_error *err)
{
	struct cg_spo_opts o = { .sz = sizeof(o) };
	_cleanup_(cg_profile_freep) struct cg_profile *p = NULL;
	struct cg_strbuf sb;
	struct cg_json j;
	char digest[72];
	int r;

	if ((r = CG_OPTS_COPY(&o, opts)) < 0)
		return cg_opts_error(err, r, "cg_spo_opts");
	if (!o.name || !dns1123(o.name, true))
		return cg_error_set(err, -EINVAL, "metadata.name: '%s' is not a valid object name (lowercase letters, digits, "
						  "'-' and '.', at most 253)",
				    o.name ? o.name : "");
	if (o.namespace && !dns1123(o.namespace, false))
		return cg_error_set(err, -EINVAL, "metadata.namespace: '%s' is not a valid namespace name (lowercase letters, "
						  "digits and '-', at most 63)",
				    o.namespace);
	if (c->default_action.kind == CG_ACT_ERRNO && c->default_action.data != EPERM)
		return cg_error_set(err, -EINVAL, "spec.defaultAction: the closure's default is errno %u, and a SeccompProfile "
						  "has no defaultErrnoRet (its errno default is EPERM)",
				    c->default_action.data);
	if ((r = cg_closure_check_plain(c, err)) < 0)
		return r;
	if ((r = cg_closure_digest(c, digest)) < 0 || (r = cg_profile_from_closure(c, true, &p)) < 0)
		return cg_error_set(err, r, "cannot convert the closure: %s", strerror(-r));
	for (size_t i = 0; i < p->n_flags; i++)
		if (!spo_flag_known(p->flags[i]))
			return cg_error_set(err, -EINVAL, "spec.flags: %s is not in the SeccompProfile schema", p->flags[i]);

	cg_strbuf_init(&sb);
	cg_json_init(&j, &sb, 2);
	cg_json_obj_open(&j);
	cg_json_kv_str(&j, "apiVersion", SPO_API_VERSION);
	cg_json_kv_str(&j, "kind", "SeccompProfile");
	cg_json_key(&j, "metadata");
	cg_json_obj_open(&j);
	cg_json_kv_str(&j, "name", o.name);
	if (o.namespace)
		cg_json_kv_str(&j, "namespace", o.namespace);
	cg_json_key(&j, "annotations");
	cg_json_obj_open(&j);
	cg_json_kv_str(&j, CG_LABEL_CLOSURE_DIGEST, digest);
	cg_json_obj_close(&j);
	cg_json_obj_close(&j);
	write_spec(&j, p);
	cg_json_obj_close(&j);
	if ((r = cg_json_finish(&j)) < 0) {
		cg_strbuf_release(&sb);
		return cg_error_set(err, r, "cannot write the resource: %s", strerror(-r));
	}
	if (o.json) {
		cg_strbuf_add(out, sb.buf, sb.len);
		r = out->oom ? -ENOMEM : 0;
	} else {
		r = json_to_yaml(&sb,
				 p->listener_path || p->listener_metadata || !yaml_plain_safe(o.name) ||
					 (o.namespace && !yaml_plain_safe(o.namespace)),
				 out, err);
	}
	cg_strbuf_release(&sb);
	return r;
}
