// SPDX-License-Identifier: Apache-2.0
/*
 * Kubernetes manifests: find the pod spec of every workload in a YAML or JSON
 * stream, read its containers and the seccomp settings the kubelet applies,
 * and check them against the Pod Security Standards.
 *
 * Every mapping is walked once (a table of wanted keys per mapping), so the
 * work per document is linear in its size. The document tree from libfyaml is
 * read in place and nothing is parsed twice.
 *
 * The parser fails closed on YAML it cannot read the way Kubernetes would.
 * Kubernetes reads YAML with go-yaml v2, which merges a "<<" key when it is
 * plain or tagged !!merge (also through %TAG, or as !<tag:yaml.org,2002:merge>)
 * and resolves alias keys; capgate does neither, so a merge key in any
 * spelling (quoted ones too: one rule is easier to trust than go-yaml's
 * exact test), any !!merge tag, and any key that is an alias or not a
 * scalar are errors wherever they are in a document: a merged
 * securityContext or an aliased "privileged" key would hide what the node
 * runs. Aliases as values are errors where capgate reads a field.
 *
 * Every object is accounted for: the workload kinds are read by shape; any
 * other object with a pod template (a Rollout, say) is read through it; a
 * document with "items" is a list, whatever its kind, because that is how
 * kubectl reads it (its own fields are dropped); anything else is reported
 * as not checked rather than passed over.
 */
#include <capgate/k8s.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/doc.h"
#include "static/k8s_internal.h"

#define K8S_PATH_MAX 512
#define K8S_LIST_DEPTH 4
#define K8S_NEST_MAX 256 /* deeper documents are refused (the key check recurses) */

static const char ANN_POD[] = "seccomp.security.alpha.kubernetes.io/pod";
static const char ANN_CONTAINER_PREFIX[] = "container.seccomp.security.alpha.kubernetes.io/";

struct kctx {
	const char *source;
	bool json;
	bool keep_json;
	bool keep_unchecked;
	struct cg_error *err;
	size_t doc_index;
	struct cg_k8s_workload **v;
	size_t n, cap;
	size_t skipped;
};

/* A container annotation, found before the containers it names are read:
 * a legacy seccomp one, or capgate's declaration of the container's calls. */
struct ann {
	bool declared;    /* io.capgate.syscalls/<name> rather than the seccomp one */
	const char *name; /* borrowed from the document */
	size_t name_len;
	struct fy_node *key, *value;
	char *path;
};

static void path_join(char *buf, size_t n, const char *base, const char *key)
{
	if (base && *base)
		snprintf(buf, n, "%s.%s", base, key);
	else
		snprintf(buf, n, "%s", key);
}

static void setting_release(struct cg_seccomp_setting *s)
{
	free(s->localhost_profile);
	free(s->path);
	memset(s, 0, sizeof(*s));
}

static int setting_copy(const struct cg_seccomp_setting *from, struct cg_seccomp_setting *to)
{
	*to = *from;
	to->localhost_profile = NULL;
	to->path = NULL;
	if (from->localhost_profile && !(to->localhost_profile = strdup(from->localhost_profile)))
		return -ENOMEM;
	if (from->path && !(to->path = strdup(from->path))) {
		free(to->localhost_profile);
		to->localhost_profile = NULL;
		return -ENOMEM;
	}
	return 0;
}

void cg_k8s_workload_free(struct cg_k8s_workload *w)
{
	if (!w)
		return;
	free(w->source);
	free(w->api_version);
	free(w->kind);
	free(w->name);
	free(w->namespace);
	cg_strv_free(w->label_keys, w->n_labels);
	cg_strv_free(w->label_values, w->n_labels);
	free(w->pod_spec_path);
	free(w->object_json);
	free(w->not_checked_reason);
	free(w->host_network.path);
	free(w->host_pid.path);
	free(w->host_ipc.path);
	setting_release(&w->pod);
	for (size_t i = 0; i < w->n_containers; i++) {
		struct cg_k8s_container *c = &w->containers[i];
		free(c->name);
		free(c->image);
		free(c->path);
		free(c->declared);
		free(c->declared_path);
		free(c->privileged.path);
		free(c->allow_privilege_escalation.path);
		cg_strv_free(c->caps_add, c->n_caps_add);
		cg_strv_free(c->caps_drop, c->n_caps_drop);
		free(c->caps_add_path);
		setting_release(&c->own);
		setting_release(&c->effective);
	}
	free(w->containers);
	free(w);
}

void cg_k8s_workloads_free(struct cg_k8s_workload **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		cg_k8s_workload_free(v[i]);
	free(v);
}

static int oom(struct kctx *x)
{
	return cg_error_set(x->err, -ENOMEM, "out of memory");
}

/* An error at @n. An empty collection has no position of its own (libfyaml
 * marks scalars only), so it is located by its key in the parent mapping. */
static int k8s_error(struct kctx *x, struct fy_node *n, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int k8s_error(struct kctx *x, struct fy_node *n, const char *path, const char *fmt, ...)
{
	char msg[CG_ERROR_MAX];
	struct fy_node *at = n, *parent;
	int line = 0, col = 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n)
		cg_doc_pos(n, &line, &col);
	if (n && !line && (parent = fy_node_get_parent(n)) != NULL && fy_node_is_mapping(parent)) {
		void *it = NULL;
		struct fy_node_pair *p;
		while ((p = fy_node_mapping_iterate(parent, &it)) != NULL) {
			if (fy_node_pair_value(p) == n) {
				at = fy_node_pair_key(p);
				break;
			}
		}
	}
	return cg_doc_error(x->err, x->source, at, path, "%s", msg);
}

/* Aliases are not expanded by the loader: where a field is read, an alias
 * would hide its value, so it is an error rather than "unset". */
static int check_alias(struct kctx *x, struct fy_node *n, const char *path)
{
	if (n && fy_node_is_alias(n))
		return k8s_error(x, n, path,
				 "YAML aliases are not supported here (write the value out)");
	return 0;
}

/* Walk mapping @m once and pick the values of @keys (NULL when absent or
 * null). A merge key is an error: its fields would be invisible to capgate
 * but not to Kubernetes. So is a wanted key given twice (the parser lets
 * duplicates through, see cg_k8s_parse, and they are caught here). */
static int map_pick(struct kctx *x, struct fy_node *m, const char *path, const char *const *keys, size_t nk,
		    struct fy_node **out)
{
	void *it = NULL;
	struct fy_node_pair *p;
	char kb[64];
	uint32_t seen = 0;

	memset(out, 0, nk * sizeof(*out));
	while ((p = fy_node_mapping_iterate(m, &it)) != NULL) {
		struct fy_node *kn = fy_node_pair_key(p);
		const char *k = cg_doc_key(p, kb, sizeof(kb));
		if (!k)
			continue;
		if (strcmp(k, "<<") == 0) /* check_keys() has refused it already */
			return k8s_error(x, kn, path, "YAML merge keys ('<<') are not supported (write the fields out)");
		for (size_t i = 0; i < nk; i++) {
			if (strcmp(k, keys[i]) == 0) {
				struct fy_node *v = fy_node_pair_value(p);
				if (seen & (1u << i)) {
					char sub[K8S_PATH_MAX];
					path_join(sub, sizeof(sub), path, k);
					return k8s_error(x, kn, sub, "duplicate key");
				}
				seen |= 1u << i;
				out[i] = cg_doc_is_null(v) ? NULL : v;
				break;
			}
		}
	}
	return 0;
}

/* @n must be a mapping (or absent/null when @optional). */
static int want_mapping(struct kctx *x, struct fy_node *n, const char *path, const char *what)
{
	int r = check_alias(x, n, path);
	if (r < 0)
		return r;
	if (n && !fy_node_is_mapping(n))
		return k8s_error(x, n, path, "expected %s", what);
	return 0;
}

static int opt_strdup(struct kctx *x, struct fy_node *n, const char *path, char **ret)
{
	int r = check_alias(x, n, path);
	if (r < 0 || !n)
		return r;
	return cg_doc_strdup(n, x->json, x->source, path, ret, x->err);
}

static void node_pos(struct fy_node *n, struct cg_pos *pos)
{
	cg_doc_pos(n, &pos->line, &pos->col);
}

/* A boolean as Kubernetes reads it: in YAML, go-yaml v2's YAML 1.1 words
 * ("yes", "on", "True", ...: `privileged: yes` is true to the API server);
 * in JSON, true and false. Null is unset; anything else is an error, as the
 * API server would reject it. */
static int opt_flag(struct kctx *x, struct fy_node *n, const char *path, struct cg_k8s_flag *f)
{
	static const char *const yes[] = { "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON" };
	static const char *const no[] = { "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF" };
	char b[8];
	const char *v;
	int r = check_alias(x, n, path);

	if (r < 0 || !n)
		return r;
	v = fy_node_is_scalar(n) && fy_node_get_style(n) == FYNS_PLAIN ? cg_doc_scalar(n, b, sizeof(b)) : NULL;
	for (size_t i = 0; v && i < CG_ARRAY_SIZE(yes) && f->value == CG_K8S_UNSET; i++) {
		if (x->json && i != 5) /* JSON: true and false only */
			continue;
		if (strcmp(v, yes[i]) == 0)
			f->value = CG_K8S_TRUE;
		else if (strcmp(v, no[i]) == 0)
			f->value = CG_K8S_FALSE;
	}
	if (f->value == CG_K8S_UNSET)
		return k8s_error(x, n, path, "expected true or false");
	node_pos(n, &f->pos);
	if (!(f->path = strdup(path)))
		return oom(x);
	return 0;
}

/* A list of strings (capabilities); absent or null is empty. */
static int opt_strv(struct kctx *x, struct fy_node *n, const char *path, char ***ret, size_t *ret_n)
{
	struct fy_node *item;
	void *it = NULL;
	char sub[K8S_PATH_MAX];
	size_t cnt;
	int r = check_alias(x, n, path);

	if (r < 0 || !n)
		return r;
	if (!fy_node_is_sequence(n))
		return k8s_error(x, n, path, "expected a list of strings");
	cnt = (size_t)fy_node_sequence_item_count(n);
	if (!cnt)
		return 0;
	if (!(*ret = calloc(cnt, sizeof(char *))))
		return oom(x);
	while ((item = fy_node_sequence_iterate(n, &it)) != NULL && *ret_n < cnt) {
		snprintf(sub, sizeof(sub), "%s[%zu]", path, *ret_n);
		if (cg_doc_is_null(item) || !fy_node_is_scalar(item) || fy_node_is_alias(item))
			return k8s_error(x, item, sub, "expected a string");
		r = opt_strdup(x, item, sub, &(*ret)[*ret_n]);
		if (r < 0)
			return r;
		(*ret_n)++;
	}
	return 0;
}

/* Is @k a merge key, in any spelling go-yaml might merge (or one it would
 * not, quoted: the rule is simpler than go-yaml's and fails closed)? */
static bool is_merge_key(struct fy_node *k)
{
	size_t len = 0, tlen = 0;
	const char *v = fy_node_get_scalar(k, &len);
	const char *tag = fy_node_get_tag(k, &tlen);
	static const char merge_tag[] = "tag:yaml.org,2002:merge";

	if (v && len == 2 && v[0] == '<' && v[1] == '<')
		return true;
	return tag && tlen == sizeof(merge_tag) - 1 && memcmp(tag, merge_tag, tlen) == 0;
}

/* Refuse, anywhere in the document, what Kubernetes would read differently:
 * merge keys, alias keys and keys that are not scalars. @path grows in place
 * up to @cap. */
static int check_keys(struct kctx *x, struct fy_node *n, char *path, size_t plen, size_t cap, int depth)
{
	void *it = NULL;
	int r = 0;

	if (!n || (!fy_node_is_sequence(n) && !fy_node_is_mapping(n)))
		return 0;
	if (depth > K8S_NEST_MAX)
		return k8s_error(x, n, path, "nested deeper than %d levels", K8S_NEST_MAX);
	if (fy_node_is_sequence(n)) {
		struct fy_node *item;
		size_t i = 0;
		while (r == 0 && (item = fy_node_sequence_iterate(n, &it)) != NULL) {
			snprintf(path + plen, cap - plen, "[%zu]", i++);
			r = check_keys(x, item, path, strlen(path), cap, depth + 1);
			path[plen] = '\0';
		}
		return r;
	}
	struct fy_node_pair *p;
	while (r == 0 && (p = fy_node_mapping_iterate(n, &it)) != NULL) {
		struct fy_node *k = fy_node_pair_key(p);
		size_t kl = 0;
		const char *ks;
		if (!k)
			return k8s_error(x, n, path, "a key must be a string, not null");
		if (fy_node_is_alias(k))
			return k8s_error(x, k, path, "a YAML alias as a key is not supported (write the key out)");
		if (!fy_node_is_scalar(k))
			return k8s_error(x, k, path, "a key must be a string, not %s",
					 fy_node_is_mapping(k) ? "an object" : "a list");
		if (is_merge_key(k))
			return k8s_error(x, k, path,
					 "YAML merge keys ('<<', !!merge) are not supported: Kubernetes would merge "
					 "fields capgate does not read (write the fields out)");
		ks = fy_node_get_scalar(k, &kl);
		snprintf(path + plen, cap - plen, "%s%.*s", plen ? "." : "", (int)(kl > 64 ? 64 : kl), ks ? ks : "");
		r = check_keys(x, fy_node_pair_value(p), path, strlen(path), cap, depth + 1);
		path[plen] = '\0';
	}
	return r;
}

/* A Localhost profile name must stay below the kubelet's seccomp root, as
 * Kubernetes validation requires: relative, no ".." element, not empty. */
static bool localhost_path_ok(const char *s)
{
	const char *p = s;
	if (!*s || *s == '/')
		return false;
	while (*p) {
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len == 2 && p[0] == '.' && p[1] == '.')
			return false;
		if (!e)
			break;
		p = e + 1;
	}
	return true;
}

/* securityContext.seccompProfile at @sp (a mapping), path @path. */
static int parse_seccomp_field(struct kctx *x, struct fy_node *sp, const char *path, struct cg_seccomp_setting *s)
{
	static const char *const keys[] = { "type", "localhostProfile" };
	struct fy_node *v[2];
	char sub[K8S_PATH_MAX];
	_cleanup_free_ char *type = NULL;
	int r;

	r = want_mapping(x, sp, path, "an object with type and localhostProfile");
	if (r < 0 || !sp)
		return r;
	r = map_pick(x, sp, path, keys, 2, v);
	if (r < 0)
		return r;
	path_join(sub, sizeof(sub), path, "type");
	r = opt_strdup(x, v[0], sub, &type);
	if (r < 0)
		return r;
	path_join(sub, sizeof(sub), path, "localhostProfile");
	r = opt_strdup(x, v[1], sub, &s->localhost_profile);
	if (r < 0)
		return r;
	s->from_annotation = false;
	if (!(s->path = strdup(path)))
		return oom(x);
	node_pos(v[0] ? v[0] : sp, &s->pos);
	if (!type)
		s->kind = CG_SECCOMP_INVALID; /* type is required */
	else if (strcmp(type, "RuntimeDefault") == 0)
		s->kind = CG_SECCOMP_RUNTIME_DEFAULT;
	else if (strcmp(type, "Unconfined") == 0)
		s->kind = CG_SECCOMP_UNCONFINED;
	else if (strcmp(type, "Localhost") == 0)
		s->kind = CG_SECCOMP_LOCALHOST;
	else
		s->kind = CG_SECCOMP_INVALID;
	/* localhostProfile is required for Localhost and forbidden otherwise */
	if (s->kind == CG_SECCOMP_LOCALHOST && (!s->localhost_profile || !localhost_path_ok(s->localhost_profile)))
		s->kind = CG_SECCOMP_INVALID;
	else if (s->kind != CG_SECCOMP_LOCALHOST && s->localhost_profile)
		s->kind = CG_SECCOMP_INVALID;
	return 0;
}

/* One of the legacy annotation values. */
static int parse_seccomp_annotation(struct kctx *x, struct fy_node *key, struct fy_node *val, const char *path,
				    struct cg_seccomp_setting *s)
{
	_cleanup_free_ char *str = NULL;
	int r;

	r = check_alias(x, val, path);
	if (r < 0)
		return r;
	s->from_annotation = true;
	if (!(s->path = strdup(path)))
		return oom(x);
	if (cg_doc_is_null(val)) {
		/* an empty value names no profile the kubelet knows */
		node_pos(key, &s->pos);
		s->kind = CG_SECCOMP_INVALID;
		return 0;
	}
	r = cg_doc_strdup(val, x->json, x->source, path, &str, x->err);
	if (r < 0)
		return r;
	node_pos(val, &s->pos);
	if (strcmp(str, "runtime/default") == 0 || strcmp(str, "docker/default") == 0) {
		s->kind = CG_SECCOMP_RUNTIME_DEFAULT;
	} else if (strcmp(str, "unconfined") == 0) {
		s->kind = CG_SECCOMP_UNCONFINED;
	} else if (strncmp(str, "localhost/", 10) == 0 && localhost_path_ok(str + 10)) {
		s->kind = CG_SECCOMP_LOCALHOST;
		if (!(s->localhost_profile = strdup(str + 10)))
			return oom(x);
	} else {
		s->kind = CG_SECCOMP_INVALID;
	}
	return 0;
}

struct keyref {
	const char *key;
	struct fy_node *node;
	size_t index;
};

static int keyref_cmp(const void *a, const void *b)
{
	const struct keyref *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	return c ? c : (x->index > y->index) - (x->index < y->index);
}

/* "metadata.labels": a mapping of strings (null reads as ""). Duplicate names
 * are an error: which value would Kubernetes keep? */
static int parse_labels(struct kctx *x, struct fy_node *m, const char *path, struct cg_k8s_workload *w)
{
	size_t cnt;
	void *it = NULL;
	struct fy_node_pair *p;
	char sub[K8S_PATH_MAX], kb[512];
	_cleanup_free_ struct keyref *refs = NULL;
	int r;

	r = want_mapping(x, m, path, "an object of label names and values");
	if (r < 0 || !m)
		return r;
	cnt = (size_t)fy_node_mapping_item_count(m);
	if (!cnt)
		return 0;
	w->label_keys = calloc(cnt, sizeof(char *));
	w->label_values = calloc(cnt, sizeof(char *));
	refs = calloc(cnt, sizeof(*refs));
	if (!w->label_keys || !w->label_values || !refs)
		return oom(x);
	while ((p = fy_node_mapping_iterate(m, &it)) != NULL && w->n_labels < cnt) {
		struct fy_node *kn = fy_node_pair_key(p), *vn = fy_node_pair_value(p);
		const char *k = cg_doc_key(p, kb, sizeof(kb));
		size_t i = w->n_labels;
		if (!k || !cg_doc_is_string(kn, x->json))
			return k8s_error(x, kn, path, "expected a label name");
		snprintf(sub, sizeof(sub), "%s[\"%s\"]", path, k);
		if (cg_doc_is_null(vn)) {
			w->label_values[i] = strdup("");
			if (!w->label_values[i])
				return oom(x);
		} else {
			r = opt_strdup(x, vn, sub, &w->label_values[i]);
			if (r < 0)
				return r;
		}
		if (!(w->label_keys[i] = strdup(k))) {
			free(w->label_values[i]);
			w->label_values[i] = NULL;
			return oom(x);
		}
		refs[i] = (struct keyref){ w->label_keys[i], kn, i };
		w->n_labels++;
	}
	qsort(refs, w->n_labels, sizeof(*refs), keyref_cmp);
	for (size_t i = 1; i < w->n_labels; i++) {
		if (strcmp(refs[i - 1].key, refs[i].key) == 0) {
			snprintf(sub, sizeof(sub), "%s[\"%s\"]", path, refs[i].key);
			return k8s_error(x, refs[i].node, sub, "duplicate key");
		}
	}
	return 0;
}

static int parse_metadata(struct kctx *x, struct fy_node *m, const char *path, struct cg_k8s_workload *w)
{
	static const char *const keys[] = { "name", "namespace", "labels" };
	struct fy_node *v[3];
	char sub[K8S_PATH_MAX];
	int r;

	r = want_mapping(x, m, path, "an object (name, namespace, labels, annotations)");
	if (r < 0 || !m)
		return r;
	r = map_pick(x, m, path, keys, 3, v);
	if (r < 0)
		return r;
	path_join(sub, sizeof(sub), path, "name");
	r = opt_strdup(x, v[0], sub, &w->name);
	if (r < 0)
		return r;
	path_join(sub, sizeof(sub), path, "namespace");
	r = opt_strdup(x, v[1], sub, &w->namespace);
	if (r < 0)
		return r;
	path_join(sub, sizeof(sub), path, "labels");
	return parse_labels(x, v[2], sub, w);
}

static int ann_cmp(const void *a, const void *b)
{
	const struct ann *x = a, *y = b;
	size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
	int c = (x->declared > y->declared) - (x->declared < y->declared);
	if (c)
		return c;
	c = memcmp(x->name, y->name, n);
	return c ? c : (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

static void anns_free(struct ann *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(a[i].path);
	free(a);
}

/* strlen(@prefix) if @k (of @klen bytes) starts with it and goes on, else 0. */
static size_t prefix_len(const char *k, size_t klen, const char *prefix)
{
	size_t pl = strlen(prefix);
	return klen > pl && memcmp(k, prefix, pl) == 0 ? pl : 0;
}

/* The pod template's annotations: the pod one into w->pod (as a fallback the
 * pod field overrides later), the container ones into a sorted array. */
static int parse_annotations(struct kctx *x, struct fy_node *meta, const char *meta_path, struct cg_k8s_workload *w,
			     struct ann **ret, size_t *ret_n)
{
	static const char *const keys[] = { "annotations" };
	struct fy_node *m;
	struct ann *v = NULL;
	size_t n = 0, cnt;
	void *it = NULL;
	struct fy_node_pair *p;
	char path[K8S_PATH_MAX], sub[K8S_PATH_MAX];
	int r;

	*ret = NULL;
	*ret_n = 0;
	if (!meta)
		return 0;
	r = map_pick(x, meta, meta_path, keys, 1, &m);
	if (r < 0)
		return r;
	path_join(path, sizeof(path), meta_path, "annotations");
	r = want_mapping(x, m, path, "an object of annotation names and values");
	if (r < 0 || !m)
		return r;
	cnt = (size_t)fy_node_mapping_item_count(m);
	while ((p = fy_node_mapping_iterate(m, &it)) != NULL) {
		struct fy_node *kn = fy_node_pair_key(p);
		size_t klen, pre;
		const char *k = (kn && fy_node_is_scalar(kn)) ? fy_node_get_scalar(kn, &klen) : NULL;
		if (!k)
			continue;
		if (klen == sizeof(ANN_POD) - 1 && memcmp(k, ANN_POD, klen) == 0) {
			snprintf(sub, sizeof(sub), "%s[\"%s\"]", path, ANN_POD);
			if (w->pod.path) {
				r = k8s_error(x, kn, sub, "duplicate key");
				goto fail;
			}
			r = parse_seccomp_annotation(x, kn, fy_node_pair_value(p), sub, &w->pod);
		} else if ((pre = prefix_len(k, klen, CG_K8S_ANN_DECLARED)) != 0 ||
			   (pre = prefix_len(k, klen, ANN_CONTAINER_PREFIX)) != 0) {
			if (!v && !(v = calloc(cnt, sizeof(*v)))) {
				r = oom(x);
				goto fail;
			}
			if (n >= cnt)
				break;
			v[n].declared = pre == sizeof(CG_K8S_ANN_DECLARED) - 1 && memcmp(k, CG_K8S_ANN_DECLARED, pre) == 0;
			v[n].name = k + pre;
			v[n].name_len = klen - pre;
			v[n].key = kn;
			v[n].value = fy_node_pair_value(p);
			if (asprintf(&v[n].path, "%s[\"%.*s\"]", path, (int)klen, k) < 0) {
				v[n].path = NULL;
				r = oom(x);
				goto fail;
			}
			n++;
			r = 0;
		} else {
			r = 0;
		}
		if (r < 0)
			goto fail;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), ann_cmp);
	for (size_t i = 1; i < n; i++) {
		if (ann_cmp(&v[i - 1], &v[i]) == 0) {
			r = k8s_error(x, v[i].key, v[i].path, "duplicate key");
			goto fail;
		}
	}
	*ret = v;
	*ret_n = n;
	return 0;
fail:
	anns_free(v, n);
	return r;
}

static const struct ann *ann_find(const struct ann *v, size_t n, bool declared, const char *name)
{
	struct ann key = { .declared = declared, .name = name, .name_len = strlen(name) };
	return n ? bsearch(&key, v, n, sizeof(*v), ann_cmp) : NULL;
}

static int parse_capabilities(struct kctx *x, struct fy_node *caps, const char *path, struct cg_k8s_container *c)
{
	static const char *const keys[] = { "add", "drop" };
	struct fy_node *v[2];
	char sub[K8S_PATH_MAX];
	int r;

	r = want_mapping(x, caps, path, "an object (add, drop)");
	if (r < 0 || !caps)
		return r;
	r = map_pick(x, caps, path, keys, 2, v);
	if (r < 0)
		return r;
	path_join(sub, sizeof(sub), path, "add");
	if (v[0]) {
		node_pos(v[0], &c->caps_add_pos);
		if (!(c->caps_add_path = strdup(sub)))
			return oom(x);
	}
	r = opt_strv(x, v[0], sub, &c->caps_add, &c->n_caps_add);
	if (r < 0)
		return r;
	path_join(sub, sizeof(sub), path, "drop");
	return opt_strv(x, v[1], sub, &c->caps_drop, &c->n_caps_drop);
}

/* A pod's (@c NULL) or a container's securityContext: the seccomp setting
 * into @s, and for a container what decides whether seccomp applies at all
 * and what the container may do beyond it. */
static int parse_security_context(struct kctx *x, struct fy_node *sc, const char *path, struct cg_seccomp_setting *s,
				  struct cg_k8s_container *c)
{
	static const char *const keys[] = { "seccompProfile", "privileged", "allowPrivilegeEscalation", "capabilities" };
	struct fy_node *v[4];
	char sub[K8S_PATH_MAX];
	int r;

	r = want_mapping(x, sc, path, "an object (securityContext)");
	if (r < 0 || !sc)
		return r;
	r = map_pick(x, sc, path, keys, c ? 4 : 1, v);
	if (r < 0)
		return r;
	if (c) {
		path_join(sub, sizeof(sub), path, "privileged");
		r = opt_flag(x, v[1], sub, &c->privileged);
		if (r < 0)
			return r;
		path_join(sub, sizeof(sub), path, "allowPrivilegeEscalation");
		r = opt_flag(x, v[2], sub, &c->allow_privilege_escalation);
		if (r < 0)
			return r;
		path_join(sub, sizeof(sub), path, "capabilities");
		r = parse_capabilities(x, v[3], sub, c);
		if (r < 0)
			return r;
	}
	if (!v[0])
		return 0;
	path_join(sub, sizeof(sub), path, "seccompProfile");
	setting_release(s);
	return parse_seccomp_field(x, v[0], sub, s);
}

/* One containers/initContainers/ephemeralContainers list. The kubelet's
 * order for a container: its field, then its annotation, then the pod's field,
 * then the pod's annotation (w->pod holds the pod's winner already). */
static int parse_containers(struct kctx *x, struct fy_node *list, const char *path, enum cg_container_kind kind,
			    struct cg_k8s_workload *w, const struct ann *anns, size_t n_anns)
{
	static const char *const keys[] = { "name", "image", "securityContext" };
	struct cg_k8s_container *nc;
	struct fy_node *item;
	void *it = NULL;
	size_t cnt, i = 0;
	char cpath[K8S_PATH_MAX], sub[K8S_PATH_MAX];
	int r;

	r = check_alias(x, list, path);
	if (r < 0 || !list)
		return r;
	if (!fy_node_is_sequence(list))
		return k8s_error(x, list, path, "expected a list of containers");
	cnt = (size_t)fy_node_sequence_item_count(list);
	if (!cnt)
		return 0;
	nc = realloc(w->containers, (w->n_containers + cnt) * sizeof(*nc));
	if (!nc)
		return oom(x);
	w->containers = nc;
	while ((item = fy_node_sequence_iterate(list, &it)) != NULL) {
		struct cg_k8s_container *c = &w->containers[w->n_containers];
		struct fy_node *v[3];
		const struct ann *a;

		snprintf(cpath, sizeof(cpath), "%s[%zu]", path, i++);
		r = check_alias(x, item, cpath);
		if (r < 0)
			return r;
		if (!item || !fy_node_is_mapping(item))
			return k8s_error(x, item, cpath, "expected a container (an object)");
		memset(c, 0, sizeof(*c));
		w->n_containers++; /* owned by w from here on, freed with it */
		c->kind = kind;
		node_pos(item, &c->pos);
		if (!(c->path = strdup(cpath)))
			return oom(x);
		r = map_pick(x, item, cpath, keys, 3, v);
		if (r < 0)
			return r;
		path_join(sub, sizeof(sub), cpath, "name");
		if (!v[0])
			return k8s_error(x, item, cpath, "container has no name");
		r = opt_strdup(x, v[0], sub, &c->name);
		if (r < 0)
			return r;
		path_join(sub, sizeof(sub), cpath, "image");
		r = opt_strdup(x, v[1], sub, &c->image);
		if (r < 0)
			return r;
		/* the annotation first, so that the field replaces it */
		a = ann_find(anns, n_anns, false, c->name);
		if (a) {
			r = parse_seccomp_annotation(x, a->key, a->value, a->path, &c->own);
			if (r < 0)
				return r;
		}
		a = ann_find(anns, n_anns, true, c->name);
		if (a) {
			if (!(c->declared_path = strdup(a->path)))
				return oom(x);
			node_pos(a->value ? a->value : a->key, &c->declared_pos);
			r = opt_strdup(x, a->value, a->path, &c->declared);
			if (r < 0)
				return r;
			if (!c->declared && !(c->declared = strdup("")))
				return oom(x);
		}
		path_join(sub, sizeof(sub), cpath, "securityContext");
		r = parse_security_context(x, v[2], sub, &c->own, c);
		if (r < 0)
			return r;
		r = setting_copy(c->own.kind != CG_SECCOMP_UNSET ? &c->own : &w->pod, &c->effective);
		if (r < 0)
			return oom(x);
	}
	return 0;
}

/* The pod spec at @spec (path @spec_path) with its template metadata @meta. */
static int parse_pod(struct kctx *x, struct fy_node *meta, const char *meta_path, struct fy_node *spec,
		     const char *spec_path, struct cg_k8s_workload *w)
{
	static const char *const keys[] = { "securityContext", "containers", "initContainers",
					    "ephemeralContainers", "hostNetwork", "hostPID",
					    "hostIPC" };
	static const enum cg_container_kind kinds[] = { CG_CONTAINER_APP, CG_CONTAINER_INIT, CG_CONTAINER_EPHEMERAL };
	struct cg_k8s_flag *host[] = { &w->host_network, &w->host_pid, &w->host_ipc };
	struct fy_node *v[7];
	struct ann *anns = NULL;
	size_t n_anns = 0;
	char sub[K8S_PATH_MAX];
	int r;

	r = want_mapping(x, meta, meta_path, "an object (pod template metadata)");
	if (r < 0)
		return r;
	r = want_mapping(x, spec, spec_path, "an object (a pod spec)");
	if (r < 0)
		return r;
	if (!(w->pod_spec_path = strdup(spec_path)))
		return oom(x);
	r = parse_annotations(x, meta, meta_path, w, &anns, &n_anns);
	if (r < 0)
		return r;
	r = map_pick(x, spec, spec_path, keys, 7, v);
	if (r < 0)
		goto out;
	for (size_t k = 0; r == 0 && k < 3; k++) {
		path_join(sub, sizeof(sub), spec_path, keys[k + 4]);
		r = opt_flag(x, v[k + 4], sub, host[k]);
	}
	path_join(sub, sizeof(sub), spec_path, "securityContext");
	if (r == 0)
		r = parse_security_context(x, v[0], sub, &w->pod, NULL);
	for (size_t k = 0; r == 0 && k < 3; k++) {
		path_join(sub, sizeof(sub), spec_path, keys[k + 1]);
		r = parse_containers(x, v[k + 1], sub, kinds[k], w, anns, n_anns);
	}
out:
	anns_free(anns, n_anns);
	return r;
}

enum wl_shape { WL_NONE,
		WL_POD,
		WL_TEMPLATE,
		WL_CRONJOB,
		WL_PODTEMPLATE };

static const struct {
	const char *kind;
	const char *group; /* API group ("" = core) */
	const char *group2;
	enum wl_shape shape;
} kinds_table[] = {
	{ "CronJob", "batch", NULL, WL_CRONJOB },
	{ "DaemonSet", "apps", "extensions", WL_TEMPLATE },
	{ "Deployment", "apps", "extensions", WL_TEMPLATE },
	{ "Job", "batch", NULL, WL_TEMPLATE },
	{ "Pod", "", NULL, WL_POD },
	{ "PodTemplate", "", NULL, WL_PODTEMPLATE },
	{ "ReplicaSet", "apps", "extensions", WL_TEMPLATE },
	{ "ReplicationController", "", NULL, WL_TEMPLATE },
	{ "StatefulSet", "apps", NULL, WL_TEMPLATE },
};

/* Shape of a resource by kind and apiVersion group. A kind of the same name in
 * another group (a CRD "Job", say) is not one of these. A missing apiVersion
 * is read by kind alone. */
static enum wl_shape shape_of(const char *kind, const char *api_version)
{
	for (size_t i = 0; i < CG_ARRAY_SIZE(kinds_table); i++) {
		const char *slash;
		size_t glen;
		if (strcmp(kind, kinds_table[i].kind) != 0)
			continue;
		if (!api_version)
			return kinds_table[i].shape;
		slash = strchr(api_version, '/');
		glen = slash ? (size_t)(slash - api_version) : 0;
		if ((strlen(kinds_table[i].group) == glen && strncmp(api_version, kinds_table[i].group, glen) == 0) ||
		    (kinds_table[i].group2 && strlen(kinds_table[i].group2) == glen &&
		     strncmp(api_version, kinds_table[i].group2, glen) == 0))
			return kinds_table[i].shape;
		return WL_NONE;
	}
	return WL_NONE;
}

/* Descend @n by @keys (each a mapping), building the path; NULL if absent. */
static int descend(struct kctx *x, struct fy_node *n, char *path, size_t path_sz, const char *const *keys,
		   size_t nk, struct fy_node **ret)
{
	for (size_t i = 0; i < nk && n; i++) {
		struct fy_node *next;
		int r = want_mapping(x, n, path, "an object");
		if (r < 0)
			return r;
		r = map_pick(x, n, path, &keys[i], 1, &next);
		if (r < 0)
			return r;
		size_t len = strlen(path);
		snprintf(path + len, path_sz - len, "%s%s", len ? "." : "", keys[i]);
		n = next;
	}
	*ret = n;
	return 0;
}

/* The value at @keys from mapping @m when every step is a mapping, without
 * errors: for finding a pod template in an object capgate does not know.
 * A key given twice on the way sets *dup (the caller then reads the object
 * strictly, and map_pick reports the duplicate: which one would the API
 * server keep?). */
static struct fy_node *peek(struct fy_node *m, const char *const *keys, size_t nk, bool *dup)
{
	for (size_t i = 0; i < nk; i++) {
		void *it = NULL;
		struct fy_node_pair *p;
		struct fy_node *next = NULL;
		char kb[32];
		if (!m || !fy_node_is_mapping(m))
			return NULL;
		while ((p = fy_node_mapping_iterate(m, &it)) != NULL) {
			const char *k = cg_doc_key(p, kb, sizeof(kb));
			if (k && strcmp(k, keys[i]) == 0) {
				*dup |= next != NULL;
				next = fy_node_pair_value(p);
			}
		}
		m = next;
	}
	return m;
}

/* Where the pod template of an object of unknown kind is, as the path of
 * keys to the template (NULL when it has none): spec.template (Rollouts,
 * Knative Services, most operators), spec.jobTemplate.spec.template, or a
 * template at the top. A template is one whose spec has containers. */
static const char *const *generic_template(struct fy_node *root, size_t *ret_n)
{
	static const char *const spec_t[] = { "spec", "template" };
	static const char *const job_t[] = { "spec", "jobTemplate", "spec", "template" };
	static const char *const top_t[] = { "template" };
	static const struct {
		const char *const *keys;
		size_t n;
	} where[] = { { spec_t, 2 }, { job_t, 4 }, { top_t, 1 } };
	static const char *const containers[] = { "spec", "containers" };

	for (size_t i = 0; i < CG_ARRAY_SIZE(where); i++) {
		bool dup = false;
		struct fy_node *t = peek(root, where[i].keys, where[i].n, &dup);
		if ((t && peek(t, containers, 2, &dup)) || dup) {
			*ret_n = where[i].n;
			return where[i].keys;
		}
	}
	return NULL;
}

static int parse_resource(struct kctx *x, struct fy_node *root, const char *path, unsigned depth);

static int parse_list(struct kctx *x, struct fy_node *items, const char *path, unsigned depth)
{
	struct fy_node *item;
	void *it = NULL;
	size_t i = 0;
	char sub[K8S_PATH_MAX];
	int r;

	if (depth >= K8S_LIST_DEPTH)
		return k8s_error(x, items, path, "lists nested more than %d deep",
				 K8S_LIST_DEPTH);
	r = check_alias(x, items, path);
	if (r < 0 || !items)
		return r;
	if (!fy_node_is_sequence(items))
		return k8s_error(x, items, path, "expected a list of resources");
	while ((item = fy_node_sequence_iterate(items, &it)) != NULL) {
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i++);
		r = parse_resource(x, item, sub, depth + 1);
		if (r < 0)
			return r;
	}
	return 0;
}

static int push_workload(struct kctx *x, struct cg_k8s_workload *w)
{
	if (x->n == x->cap) {
		size_t nc = x->cap ? x->cap * 2 : 8;
		struct cg_k8s_workload **nv = realloc(x->v, nc * sizeof(*nv));
		if (!nv)
			return oom(x);
		x->v = nv;
		x->cap = nc;
	}
	x->v[x->n++] = w;
	return 0;
}

static void workload_freep(struct cg_k8s_workload **w)
{
	cg_k8s_workload_free(*w);
}

/* Is @key in mapping @m, null or not? */
static bool has_key(struct fy_node *m, const char *key)
{
	void *it = NULL;
	struct fy_node_pair *p;
	char kb[32];
	while ((p = fy_node_mapping_iterate(m, &it)) != NULL) {
		const char *k = cg_doc_key(p, kb, sizeof(kb));
		if (k && strcmp(k, key) == 0)
			return true;
	}
	return false;
}

/* One resource (a document root or a List item) at @path ("" for a root). */
static int parse_resource(struct kctx *x, struct fy_node *root, const char *path, unsigned depth)
{
	static const char *const keys[] = { "apiVersion", "kind", "metadata", "spec", "items", "template" };
	struct fy_node *v[6], *meta, *spec;
	_cleanup_(workload_freep) struct cg_k8s_workload *w = NULL;
	_cleanup_free_ char *kind = NULL, *api = NULL;
	char sub[K8S_PATH_MAX], mpath[K8S_PATH_MAX], spath[K8S_PATH_MAX];
	const char *const *tkeys = NULL;
	size_t n_tkeys = 0;
	enum wl_shape shape;
	int r;

	r = check_alias(x, root, path);
	if (r < 0)
		return r;
	if (!root || !fy_node_is_mapping(root))
		return k8s_error(x, root, path,
				 "expected a Kubernetes resource (an object with apiVersion and kind)");
	r = map_pick(x, root, path, keys, 6, v);
	if (r < 0)
		return r;
	path_join(sub, sizeof(sub), path, "apiVersion");
	r = opt_strdup(x, v[0], sub, &api);
	if (r < 0)
		return r;
	path_join(sub, sizeof(sub), path, "kind");
	if (!v[1])
		return k8s_error(x, root, path[0] ? path : NULL,
				 "missing kind: not a Kubernetes resource");
	r = opt_strdup(x, v[1], sub, &kind);
	if (r < 0)
		return r;
	/* kubectl reads any object with "items" as a list (List, PodList, or a
	 * Pod that also has items): the items are what it applies */
	if (has_key(root, "items")) {
		path_join(sub, sizeof(sub), path, "items");
		return parse_list(x, v[4], sub, depth);
	}
	shape = shape_of(kind, api);
	if (shape == WL_NONE)
		tkeys = generic_template(root, &n_tkeys);

	w = calloc(1, sizeof(*w));
	if (!w)
		return oom(x);
	w->doc_index = x->doc_index;
	node_pos(root, &w->pos);
	w->kind = TAKE_PTR(kind);
	w->api_version = TAKE_PTR(api);
	if (!(w->source = strdup(x->source)))
		return oom(x);
	if (shape == WL_NONE && !tkeys) {
		x->skipped++;
		if (!x->keep_unchecked)
			return 0;
		w->not_checked = true;
		if (asprintf(&w->not_checked_reason,
			     "kind %s (apiVersion %s) is not a workload capgate knows and has no pod template", w->kind,
			     w->api_version ? w->api_version : "unset") < 0) {
			w->not_checked_reason = NULL;
			return oom(x);
		}
		path_join(mpath, sizeof(mpath), path, "metadata");
		r = parse_metadata(x, v[2], mpath, w);
		if (r < 0)
			return r;
		r = push_workload(x, w);
		if (r == 0)
			w = NULL;
		return r;
	}
	path_join(mpath, sizeof(mpath), path, "metadata");
	r = parse_metadata(x, v[2], mpath, w);
	if (r < 0)
		return r;

	path_join(spath, sizeof(spath), path, "spec");
	meta = v[2];
	spec = v[3];
	if (shape == WL_POD && !spec)
		return k8s_error(x, root, spath, "missing (a Pod needs a spec)");
	if (shape != WL_POD) {
		static const char *const job_keys[] = { "jobTemplate", "spec" };
		static const char *const tmpl_keys[] = { "template" };
		static const char *const m_keys[] = { "metadata" };
		static const char *const s_keys[] = { "spec" };
		struct fy_node *tmpl = NULL;

		if (shape == WL_PODTEMPLATE || (tkeys && n_tkeys == 1)) {
			path_join(spath, sizeof(spath), path, "template");
			tmpl = v[5];
			if (!tmpl)
				return k8s_error(x, root, spath, "missing (a %s needs a pod template)", w->kind);
			r = want_mapping(x, tmpl, spath, "an object (a pod template)");
			if (r < 0)
				return r;
		} else {
			if (!spec)
				return k8s_error(x, root, spath, "missing (a %s needs spec.template)", w->kind);
			if (shape == WL_CRONJOB || (tkeys && n_tkeys == 4)) {
				r = descend(x, spec, spath, sizeof(spath), job_keys, 2, &spec);
				if (r < 0)
					return r;
				if (!spec)
					return k8s_error(x, v[3], spath, "missing (a CronJob needs a job template)");
			}
			r = descend(x, spec, spath, sizeof(spath), tmpl_keys, 1, &tmpl);
			if (r < 0)
				return r;
			if (!tmpl)
				return k8s_error(x, spec, spath, "missing (a %s needs a pod template)", w->kind);
		}
		snprintf(mpath, sizeof(mpath), "%s", spath);
		r = descend(x, tmpl, mpath, sizeof(mpath), m_keys, 1, &meta);
		if (r < 0)
			return r;
		r = descend(x, tmpl, spath, sizeof(spath), s_keys, 1, &spec);
		if (r < 0)
			return r;
		if (!spec)
			return k8s_error(x, tmpl, spath, "missing (a %s needs a pod spec)", w->kind);
	}
	r = parse_pod(x, meta, mpath, spec, spath, w);
	if (r < 0)
		return r;
	/* not libfyaml's JSON emitter: it refuses aliases, which Kubernetes expands */
	if (x->keep_json && (r = cg_doc_json_string(root, x->source, &w->object_json, x->err)) < 0)
		return r;
	r = push_workload(x, w);
	if (r < 0)
		return r;
	w = NULL; /* the list owns it now */
	return 0;
}

/*
 * The stream is read one document at a time: each is walked and destroyed
 * before the next is loaded. cg_doc_parse_all() would hold every document
 * (and stops at 10000), which for a cluster dump costs more in allocation
 * than the walk itself. (cg_doc_stream_* gives the same checks and errors.)
 * With @fn, the workloads of each document are handed over and freed before
 * the next is read; without, they are gathered into x->v.
 */
static int walk_stream(struct cg_doc_stream *st, const char *source, unsigned flags, cg_k8s_each_fn fn, void *user,
		       struct kctx *x, struct cg_error *err)
{
	struct fy_document *d;
	int r;

	*x = (struct kctx){ .source = source ? source : "<input>",
			    .err = err,
			    .keep_json = flags & CG_K8S_KEEP_JSON,
			    .keep_unchecked = flags & CG_K8S_KEEP_UNCHECKED };
	for (x->doc_index = 0; (r = cg_doc_stream_next(st, &d, err)) > 0; x->doc_index++) {
		struct fy_node *root = fy_document_root(d);
		char kpath[K8S_PATH_MAX] = "";
		size_t first = x->n;
		/* known only once the first document is read (a file stream) */
		x->json = cg_doc_stream_json(st);
		/* an empty document (a trailing "---") is no resource */
		r = check_keys(x, root, kpath, 0, sizeof(kpath), 0);
		if (r == 0 && !cg_doc_is_null(root))
			r = parse_resource(x, root, "", 0);
		/* duplicates where capgate reads nothing too: kubectl and the API
		 * server refuse the object (the reader's own errors, where it
		 * reads, come first and name the field as it reads it) */
		if (r == 0)
			r = cg_doc_check_duplicates(root, x->source, err);
		cg_doc_stream_destroy_doc(st, d);
		if (r < 0)
			break;
		for (size_t i = first; fn && i < x->n; i++) {
			if (r == 0)
				r = fn(x->v[i], user, err);
			cg_k8s_workload_free(x->v[i]);
		}
		if (fn)
			x->n = first;
		if (r < 0)
			break;
	}
	return r;
}

static int parse_stream(const char *buf, size_t len, const char *source, unsigned flags, cg_k8s_each_fn fn,
			void *user, struct kctx *x, struct cg_error *err)
{
	struct cg_doc_stream *st = NULL;
	int r;

	*x = (struct kctx){ 0 };
	if (!buf)
		return cg_error_set(err, -EINVAL, "invalid argument");
	/* libfyaml checks duplicate keys by comparing every key with every
	 * earlier one: quadratic in a mapping's size. Let them through and catch
	 * them in check_keys, in O(n log n). */
	if ((r = cg_doc_stream_open(buf, len, source ? source : "<input>", CG_DOC_ALLOW_DUPLICATE_KEYS, &st, err)) < 0)
		return r;
	r = walk_stream(st, source, flags, fn, user, x, err);
	cg_doc_stream_close(st);
	return r;
}

int cg_k8s_parse_stream_each(struct cg_doc_stream *st, const char *source, unsigned flags, cg_k8s_each_fn fn,
			     void *user, size_t *ret_skipped, struct cg_error *err)
{
	struct kctx x;
	int r;

	if (!fn || !st)
		return cg_error_set(err, -EINVAL, "invalid argument");
	r = walk_stream(st, source, flags, fn, user, &x, err);
	cg_k8s_workloads_free(x.v, x.n);
	if (r == 0 && ret_skipped)
		*ret_skipped = x.skipped;
	return r;
}

int cg_k8s_parse(const char *buf, size_t len, const char *source, struct cg_k8s_workload ***ret, size_t *ret_n,
		 size_t *ret_skipped, struct cg_error *err)
{
	return cg_k8s_parse_flags(buf, len, source, 0, ret, ret_n, ret_skipped, err);
}

int cg_k8s_parse_flags(const char *buf, size_t len, const char *source, unsigned flags, struct cg_k8s_workload ***ret,
		       size_t *ret_n, size_t *ret_skipped, struct cg_error *err)
{
	struct kctx x;
	int r;

	if (!ret || !ret_n)
		return cg_error_set(err, -EINVAL, "invalid argument");
	r = parse_stream(buf, len, source, flags, NULL, NULL, &x, err);
	if (r < 0) {
		cg_k8s_workloads_free(x.v, x.n);
		return r;
	}
	*ret = x.v;
	*ret_n = x.n;
	if (ret_skipped)
		*ret_skipped = x.skipped;
	return 0;
}

int cg_k8s_parse_each(const char *buf, size_t len, const char *source, unsigned flags, cg_k8s_each_fn fn, void *user,
		      size_t *ret_skipped, struct cg_error *err)
{
	struct kctx x;
	int r;

	if (!fn)
		return cg_error_set(err, -EINVAL, "invalid argument");
	r = parse_stream(buf, len, source, flags, fn, user, &x, err);
	cg_k8s_workloads_free(x.v, x.n);
	if (r == 0 && ret_skipped)
		*ret_skipped = x.skipped;
	return r;
}

const char *cg_k8s_label(const struct cg_k8s_workload *w, const char *key)
{
	for (size_t i = 0; w && key && i < w->n_labels; i++)
		if (strcmp(w->label_keys[i], key) == 0)
			return w->label_values[i];
	return NULL;
}

/* ---- Pod Security Standards: the seccomp rules ------------------------- */

void cg_k8s_violations_free(struct cg_k8s_violation *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].msg);
		free(v[i].path);
	}
	free(v);
}

struct vlist {
	struct cg_k8s_violation *v;
	size_t n, cap;
};

static int add_violation(struct vlist *l, const char *rule, const struct cg_k8s_container *c, const char *path,
			 struct cg_pos pos, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static int add_violation(struct vlist *l, const char *rule, const struct cg_k8s_container *c, const char *path,
			 struct cg_pos pos, const char *fmt, ...)
{
	struct cg_k8s_violation *v;
	va_list ap;
	int k;

	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 4;
		struct cg_k8s_violation *nv = realloc(l->v, nc * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		l->v = nv;
		l->cap = nc;
	}
	v = &l->v[l->n];
	memset(v, 0, sizeof(*v));
	va_start(ap, fmt);
	k = vasprintf(&v->msg, fmt, ap);
	va_end(ap);
	if (k < 0)
		return -ENOMEM;
	if (!(v->path = strdup(path ? path : ""))) {
		free(v->msg);
		return -ENOMEM;
	}
	v->rule = rule;
	v->container = c;
	v->pos = pos;
	l->n++;
	return 0;
}

static const char *bad_word(const struct cg_seccomp_setting *s)
{
	return s->kind == CG_SECCOMP_UNCONFINED ? "Unconfined" : "invalid (Kubernetes rejects it)";
}

static const char *list_name(const struct cg_k8s_container *c)
{
	const char *p = c->path ? strrchr(c->path, '.') : NULL;
	return p ? p + 1 : (c->path ? c->path : "?");
}

static bool is_bad(const struct cg_seccomp_setting *s)
{
	return s->kind == CG_SECCOMP_UNCONFINED || s->kind == CG_SECCOMP_INVALID;
}

const struct cg_seccomp_setting *cg_k8s_seccomp_enforced(const struct cg_k8s_workload *w,
							 const struct cg_k8s_container *c)
{
	if (c && c->own.kind != CG_SECCOMP_UNSET && !c->own.from_annotation)
		return &c->own;
	if (w && w->pod.kind != CG_SECCOMP_UNSET && !w->pod.from_annotation)
		return &w->pod;
	return NULL;
}

/* The legacy annotation @c (or its pod) carries, to say it does nothing. */
static const char *annotation_of(const struct cg_k8s_workload *w, const struct cg_k8s_container *c)
{
	if (c->own.from_annotation && c->own.kind != CG_SECCOMP_UNSET)
		return c->own.path;
	if (w->pod.from_annotation && w->pod.kind != CG_SECCOMP_UNSET)
		return w->pod.path;
	return NULL;
}

static int check_seccomp(const struct cg_k8s_workload *w, enum cg_pss_level level, struct vlist *l)
{
	int r = 0;

	if (level == CG_PSS_PRIVILEGED)
		return 0;
	/* baseline: nothing may set Unconfined (or a value Kubernetes rejects);
	 * an annotation that says so is denied too, though it does nothing now */
	if (is_bad(&w->pod))
		r = add_violation(l, "seccomp-profile", NULL, w->pod.path, w->pod.pos, "pod: seccompProfile is %s%s",
				  bad_word(&w->pod), w->pod.from_annotation ? " (annotation)" : "");
	for (size_t i = 0; r == 0 && i < w->n_containers; i++) {
		const struct cg_k8s_container *c = &w->containers[i];
		const char *ann;
		if (is_bad(&c->own))
			r = add_violation(l, "seccomp-profile", c, c->own.path, c->own.pos,
					  "container \"%s\" (%s): seccompProfile is %s%s", c->name, list_name(c),
					  bad_word(&c->own), c->own.from_annotation ? " (annotation)" : "");
		/* restricted: every container must end up with RuntimeDefault or
		 * Localhost in a field; one that inherits a bad pod setting is
		 * already reported through the pod */
		else if (level >= CG_PSS_RESTRICTED && !cg_k8s_seccomp_enforced(w, c) && !is_bad(&w->pod) &&
			 (ann = annotation_of(w, c)) != NULL)
			r = add_violation(l, "seccomp-profile", c, c->path, c->pos,
					  "container \"%s\" (%s): seccompProfile is not set: the legacy annotation %s has "
					  "done nothing since Kubernetes 1.25 (restricted requires RuntimeDefault or "
					  "Localhost in %s.securityContext.seccompProfile or %s.securityContext.seccompProfile)",
					  c->name, list_name(c), ann, c->path, w->pod_spec_path ? w->pod_spec_path : "spec");
		else if (level >= CG_PSS_RESTRICTED && !cg_k8s_seccomp_enforced(w, c) && !is_bad(&w->pod))
			r = add_violation(l, "seccomp-profile", c, c->path, c->pos,
					  "container \"%s\" (%s): seccompProfile is not set (restricted requires "
					  "RuntimeDefault or Localhost)",
					  c->name, list_name(c));
	}
	return r;
}

int cg_k8s_check_seccomp(const struct cg_k8s_workload *w, enum cg_pss_level level, struct cg_k8s_violation **ret,
			 size_t *ret_n)
{
	struct vlist l = { 0 };
	int r;

	if (!w || !ret || !ret_n)
		return -EINVAL;
	if ((r = check_seccomp(w, level, &l)) < 0) {
		cg_k8s_violations_free(l.v, l.n);
		return r;
	}
	*ret = l.v;
	*ret_n = l.n;
	return 0;
}

/* ---- Pod Security Standards: the other fields that bear on the closure --- */

/* What baseline lets a container add (Pod Security Standards, "Capabilities"),
 * compared as written, as Pod Security Admission does. */
static const char *const caps_baseline[] = {
	"AUDIT_WRITE",
	"CHOWN",
	"DAC_OVERRIDE",
	"FOWNER",
	"FSETID",
	"KILL",
	"MKNOD",
	"NET_BIND_SERVICE",
	"SETFCAP",
	"SETGID",
	"SETPCAP",
	"SETUID",
	"SYS_CHROOT",
};

static bool cap_allowed(const char *cap, enum cg_pss_level level)
{
	if (level >= CG_PSS_RESTRICTED)
		return strcmp(cap, "NET_BIND_SERVICE") == 0;
	for (size_t i = 0; i < CG_ARRAY_SIZE(caps_baseline); i++)
		if (strcmp(cap, caps_baseline[i]) == 0)
			return true;
	return false;
}

static int check_container(const struct cg_k8s_workload *w, const struct cg_k8s_container *c, enum cg_pss_level level,
			   struct vlist *l)
{
	const struct cg_seccomp_setting *enf = cg_k8s_seccomp_enforced(w, c);
	int r = 0;

	if (c->privileged.value == CG_K8S_TRUE) {
		if (enf && enf->kind == CG_SECCOMP_LOCALHOST)
			r = add_violation(l, "privileged-container", c, c->privileged.path, c->privileged.pos,
					  "container \"%s\" (%s): privileged is true: runtimes apply no seccomp filter to a "
					  "privileged container, so its Localhost profile %s is not enforced",
					  c->name, list_name(c), enf->localhost_profile);
		else
			r = add_violation(l, "privileged-container", c, c->privileged.path, c->privileged.pos,
					  "container \"%s\" (%s): privileged is true: runtimes apply no seccomp filter to a "
					  "privileged container, and it has every capability",
					  c->name, list_name(c));
	}
	for (size_t i = 0; r == 0 && i < c->n_caps_add; i++)
		if (!cap_allowed(c->caps_add[i], level))
			r = add_violation(l, "capability-added", c, c->caps_add_path, c->caps_add_pos,
					  "container \"%s\" (%s): capabilities.add has %s (%s allows %s)", c->name,
					  list_name(c), c->caps_add[i], level >= CG_PSS_RESTRICTED ? "restricted" : "baseline",
					  level >= CG_PSS_RESTRICTED ? "only NET_BIND_SERVICE"
								     : "only the Pod Security Standards baseline list");
	if (r == 0 && level >= CG_PSS_RESTRICTED && c->allow_privilege_escalation.value != CG_K8S_FALSE)
		r = add_violation(l, "privilege-escalation", c,
				  c->allow_privilege_escalation.path ? c->allow_privilege_escalation.path : c->path,
				  c->allow_privilege_escalation.path ? c->allow_privilege_escalation.pos : c->pos,
				  "container \"%s\" (%s): allowPrivilegeEscalation is %s (restricted requires "
				  "securityContext.allowPrivilegeEscalation: false)",
				  c->name, list_name(c),
				  c->allow_privilege_escalation.value == CG_K8S_TRUE ? "true" : "not set");
	return r;
}

int cg_k8s_check_pss(const struct cg_k8s_workload *w, enum cg_pss_level level, struct cg_k8s_violation **ret,
		     size_t *ret_n)
{
	static const char *const host_name[] = { "hostNetwork", "hostPID", "hostIPC" };
	static const char *const host_what[] = { "network", "PID", "IPC" };
	struct vlist l = { 0 };
	int r;

	if (!w || !ret || !ret_n)
		return -EINVAL;
	const struct cg_k8s_flag *host[] = { &w->host_network, &w->host_pid, &w->host_ipc };
	r = check_seccomp(w, level, &l);
	for (size_t i = 0; r == 0 && level >= CG_PSS_BASELINE && i < CG_ARRAY_SIZE(host); i++)
		if (host[i]->value == CG_K8S_TRUE)
			r = add_violation(&l, "host-namespace", NULL, host[i]->path, host[i]->pos,
					  "pod: %s is true: the pod shares the node's %s namespace", host_name[i],
					  host_what[i]);
	for (size_t i = 0; r == 0 && level >= CG_PSS_BASELINE && i < w->n_containers; i++)
		r = check_container(w, &w->containers[i], level, &l);
	if (r < 0) {
		cg_k8s_violations_free(l.v, l.n);
		return r;
	}
	*ret = l.v;
	*ret_n = l.n;
	return 0;
}

int cg_k8s_parse_node(struct fy_node *root, bool json, const char *source, const char *path, unsigned flags,
		      struct cg_k8s_workload ***ret, size_t *ret_n, struct cg_error *err)
{
	struct kctx x = { .source = source ? source : "<input>",
			  .json = json,
			  .err = err,
			  .keep_json = flags & CG_K8S_KEEP_JSON,
			  .keep_unchecked = flags & CG_K8S_KEEP_UNCHECKED };
	char kpath[K8S_PATH_MAX];
	int r;

	if (!root || !path || !ret || !ret_n)
		return cg_error_set(err, -EINVAL, "invalid argument");
	snprintf(kpath, sizeof(kpath), "%s", path);
	r = check_keys(&x, root, kpath, strlen(kpath), sizeof(kpath), 0);
	if (r == 0)
		r = parse_resource(&x, root, path, 0);
	if (r < 0) {
		cg_k8s_workloads_free(x.v, x.n);
		return r;
	}
	*ret = x.v;
	*ret_n = x.n;
	return 0;
}
