// SPDX-License-Identifier: Apache-2.0
/* The static gate's policy: the model, its parser (YAML or JSON, errors with
 * positions), the built-in baselines, and the allowed set computed once when
 * a policy is loaded, so that every evaluation (policy_eval.c) is a lookup. */
#include <capgate/policy.h>

#include <errno.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/doc.h"
#include "static/baselines_table.h"
#include "static/policy_internal.h"

/* ---- baselines ------------------------------------------------------------ */

const char *const *cg_baseline_names(size_t *ret_n)
{
	static const char *names[8];
	for (size_t i = 0; i < cg_baselines_len && i < 8; i++)
		names[i] = cg_baselines[i].name;
	*ret_n = cg_baselines_len;
	return names;
}

static const struct cg_baseline *baseline_find(const char *name)
{
	for (size_t i = 0; i < cg_baselines_len; i++)
		if (strcmp(cg_baselines[i].name, name) == 0)
			return &cg_baselines[i];
	return NULL;
}

/* The pointer arrays cg_baseline_calls hands out, made once. */
#define MAX_BASELINES 8
static const char **baseline_ptrs[MAX_BASELINES];
static pthread_once_t baseline_ptrs_once = PTHREAD_ONCE_INIT;

static void baseline_ptrs_make(void)
{
	for (size_t i = 0; i < cg_baselines_len && i < MAX_BASELINES; i++) {
		const char **v = malloc((cg_baselines[i].n_calls + 1) * sizeof(*v));
		for (size_t k = 0; v && k < cg_baselines[i].n_calls; k++)
			v[k] = cg_baselines[i].calls[k];
		baseline_ptrs[i] = v; /* NULL: out of memory, reported per call */
	}
}

int cg_baseline_calls(const char *name, const char *const **ret, size_t *ret_n)
{
	const struct cg_baseline *b = baseline_find(name);
	if (!b)
		return -ENOENT;
	pthread_once(&baseline_ptrs_once, baseline_ptrs_make);
	if ((size_t)(b - cg_baselines) >= MAX_BASELINES || !baseline_ptrs[b - cg_baselines])
		return -ENOMEM;
	*ret = baseline_ptrs[b - cg_baselines];
	*ret_n = b->n_calls;
	return 0;
}

const char *cg_baseline_origin(const char *name)
{
	const struct cg_baseline *b = baseline_find(name);
	return b ? b->origin : NULL;
}

/* ---- the policy ------------------------------------------------------------ */

bool cg_policy_class_denied(const struct cg_policy *p, const char *name, const struct cg_risk_class **ret)
{
	const struct cg_risk_class *rc = cg_risk_class_of(name);
	if (ret)
		*ret = rc;
	if (!rc)
		return false;
	return policy_in_list(p->deny_classes, p->n_deny_classes, "all") ||
	       policy_in_list(p->deny_classes, p->n_deny_classes, rc->name);
}

long cg_policy_phase_bound(const struct cg_policy *p, const char *name)
{
	for (size_t i = 0; i < p->n_phase_bounds; i++)
		if (strcmp(p->phase_bound_names[i], name) == 0)
			return p->phase_bound_max[i];
	return p->max_calls;
}

/* Set the bound of phase @name (replacing an earlier one); 0 or -ENOMEM. */
static int set_phase_bound(struct cg_policy *p, const char *name, long max)
{
	long *nm;

	for (size_t i = 0; i < p->n_phase_bounds; i++)
		if (strcmp(p->phase_bound_names[i], name) == 0) {
			p->phase_bound_max[i] = max;
			return 0;
		}
	if (!(nm = realloc(p->phase_bound_max, (p->n_phase_bounds + 1) * sizeof(*nm))))
		return -ENOMEM;
	p->phase_bound_max = nm;
	nm[p->n_phase_bounds] = max;
	return policy_strv_push(&p->phase_bound_names, &p->n_phase_bounds, name);
}

bool cg_policy_allows(const struct cg_policy *p, const char *name)
{
	return policy_in_sorted(p->allowed, p->n_allowed, name);
}

const struct cg_policy_namespace *cg_policy_namespace_find(const struct cg_policy *p, const char *ns)
{
	const struct cg_policy_namespace *any = NULL;

	if (!ns)
		ns = "default";
	for (size_t i = 0; i < p->n_namespaces; i++) {
		if (strcmp(p->namespaces[i].name, ns) == 0)
			return &p->namespaces[i];
		if (strcmp(p->namespaces[i].name, "*") == 0)
			any = &p->namespaces[i];
	}
	return any;
}

/* The keywords an entry may be besides a Localhost path. */
static bool profile_keyword(const char *s) { return strcmp(s, "RuntimeDefault") == 0 || strcmp(s, "Unconfined") == 0; }

bool cg_policy_namespace_allows(const struct cg_policy_namespace *n, const char *profile)
{
	if (!n || !n->has_allowed)
		return true;
	for (size_t i = 0; i < n->n_allowed_profiles; i++) {
		const char *a = n->allowed_profiles[i];
		if (profile_keyword(a) || profile_keyword(profile)) {
			if (strcmp(a, profile) == 0)
				return true;
		} else if (fnmatch(a, profile, FNM_PATHNAME | FNM_PERIOD) == 0) {
			return true;
		}
	}
	return false;
}

void cg_policy_free(struct cg_policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_namespaces; i++) {
		free(p->namespaces[i].name);
		cg_strv_free(p->namespaces[i].allowed_profiles, p->namespaces[i].n_allowed_profiles);
		free(p->namespaces[i].default_profile);
	}
	free(p->namespaces);
	free(p->source);
	free(p->baseline);
	free(p->baseline_file);
	cg_strv_free(p->allow, p->n_allow);
	cg_strv_free(p->deny, p->n_deny);
	cg_strv_free(p->deny_classes, p->n_deny_classes);
	free(p->bound_phase);
	cg_strv_free(p->key_files, p->n_keys);
	cg_strv_free(p->key_pems, p->key_pems ? p->n_keys : 0);
	cg_strv_free(p->trusted_registries, p->n_trusted);
	cg_strv_free(p->exempt_namespaces, p->n_exempt_namespaces);
	cg_strv_free(p->exempt_label_keys, p->n_exempt_labels);
	cg_strv_free(p->exempt_label_values, p->n_exempt_labels);
	cg_strv_free(p->allowed, p->n_allowed);
	cg_strv_free(p->phase_bound_names, p->n_phase_bounds);
	free(p->phase_bound_max);
	free(p);
}
/* baseline (+ file) + allow - deny - denied classes, sorted and unique. */
static int policy_finish(struct cg_policy *p, struct cg_error *err)
{
	const char *const *calls = NULL;
	size_t n_calls = 0;
	int rb = p->baseline && strcmp(p->baseline, "none") != 0 ? cg_baseline_calls(p->baseline, &calls, &n_calls) : 0;

	if (rb == -ENOMEM)
		return cg_error_set(err, -ENOMEM, "out of memory");
	if (rb < 0) {
		size_t nb;
		const char *const *names = cg_baseline_names(&nb);
		return cg_error_set(err, -EINVAL, "%s: unknown baseline '%s' (built-in: %s, %s, %s, or none)", p->source,
				    p->baseline, names[0], nb > 1 ? names[1] : "", nb > 2 ? names[2] : "");
	}
	for (size_t i = 0; i < n_calls; i++)
		if (policy_strv_push(&p->allowed, &p->n_allowed, calls[i]) < 0)
			return cg_error_set(err, -ENOMEM, "out of memory");
	if (p->baseline_file) {
		_cleanup_free_ char *buf = NULL;
		size_t len;
		struct fy_document **docs = NULL;
		size_t nd = 0;
		int r = cg_read_file_max(p->baseline_file, CG_READ_POLICY_MAX, 0, &buf, &len, err);
		if (r < 0)
			return cg_error_prefix(err, "%s: baselineFile: ", p->source);
		if ((r = cg_doc_parse_all(buf, len, p->baseline_file, &docs, &nd, NULL, err)) < 0)
			return r;
		struct fy_node *root = fy_document_root(docs[0]);
		struct fy_node *impl = cg_doc_is_mapping(root) ? fy_node_mapping_lookup_by_string(root, "implemented", -1) : NULL;
		char **names = NULL;
		size_t nn = 0;
		if (!impl)
			r = cg_doc_error(err, p->baseline_file, root, "", "expected an object with an 'implemented' list");
		else
			r = cg_doc_strv(impl, false, p->baseline_file, "implemented", &names, &nn, err);
		for (size_t i = 0; r == 0 && i < nn; i++)
			if (policy_strv_push(&p->allowed, &p->n_allowed, names[i]) < 0)
				r = cg_error_set(err, -ENOMEM, "out of memory");
		cg_strv_free(names, nn);
		for (size_t i = 0; i < nd; i++)
			fy_document_destroy(docs[i]);
		free(docs);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < p->n_allow; i++)
		if (policy_strv_push(&p->allowed, &p->n_allowed, p->allow[i]) < 0)
			return cg_error_set(err, -ENOMEM, "out of memory");
	if (p->n_allowed)
		qsort(p->allowed, p->n_allowed, sizeof(char *), policy_str_cmp);
	size_t out = 0;
	for (size_t i = 0; i < p->n_allowed; i++) {
		bool drop = (out && strcmp(p->allowed[out - 1], p->allowed[i]) == 0) ||
			    policy_in_list(p->deny, p->n_deny, p->allowed[i]) || cg_policy_class_denied(p, p->allowed[i], NULL);
		if (drop)
			free(p->allowed[i]);
		else
			p->allowed[out++] = p->allowed[i];
	}
	p->n_allowed = out;
	/* keys are read once, with the policy */
	if (p->n_keys) {
		p->key_pems = calloc(p->n_keys + 1, sizeof(char *));
		if (!p->key_pems)
			return cg_error_set(err, -ENOMEM, "out of memory");
		for (size_t i = 0; i < p->n_keys; i++) {
			int r = cg_read_file_max(p->key_files[i], CG_READ_POLICY_MAX, 0, &p->key_pems[i], NULL, err);
			if (r < 0)
				return cg_error_prefix(err, "%s: images.keys[%zu]: ", p->source, i);
		}
	}
	return 0;
}

static struct cg_policy *policy_new(const char *source)
{
	struct cg_policy *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->source = strdup(source);
	p->baseline = strdup("gvisor");
	p->bound_phase = strdup("serving");
	p->max_calls = 35;
	p->pss = CG_PSS_RESTRICTED;
	p->require_profile_contents = true;
	p->deny_permissive_default = true;
	p->node_runtime = CG_COND_ANY;
	p->require_startable = true;
	if (!p->source || !p->baseline || !p->bound_phase || policy_strv_push(&p->deny_classes, &p->n_deny_classes, "all") < 0 ||
	    set_phase_bound(p, "startup", 0) < 0) {
		cg_policy_free(p);
		return NULL;
	}
	return p;
}

int cg_policy_default(struct cg_policy **ret, struct cg_error *err)
{
	struct cg_policy *p = policy_new("<built-in policy>");
	int r;
	if (!p)
		return cg_error_set(err, -ENOMEM, "out of memory");
	if ((r = policy_finish(p, err)) < 0) {
		cg_policy_free(p);
		return r;
	}
	*ret = p;
	return 0;
}

/* Resolve a path written in the policy relative to the policy's directory. */
static char *relative_to(const char *source, const char *path)
{
	const char *slash = strrchr(source, '/');
	char *out;
	if (path[0] == '/' || !slash)
		return strdup(path);
	if (asprintf(&out, "%.*s/%s", (int)(slash - source), source, path) < 0)
		return NULL;
	return out;
}

struct pp {
	const char *src;
	bool json;
	struct cg_error *err;
};

static int get_bool(struct pp *x, struct fy_node *n, const char *path, bool *ret)
{
	return cg_doc_bool(n, x->json, x->src, path, ret, x->err);
}

static int get_strv(struct pp *x, struct fy_node *n, const char *path, char ***v, size_t *nv)
{
	cg_strv_free(*v, *nv);
	*v = NULL;
	*nv = 0;
	return cg_doc_strv(n, x->json, x->src, path, v, nv, x->err);
}

/* profiles.runtime: what the nodes' runtime does with includes/excludes. */
static int get_runtime(struct pp *x, struct fy_node *n, int *ret)
{
	char b[32];
	const char *s = cg_doc_is_string(n, x->json) ? cg_doc_scalar(n, b, sizeof(b)) : NULL;

	if (s && (strcmp(s, "docker") == 0 || strcmp(s, "cri-o") == 0 || strcmp(s, "podman") == 0))
		*ret = CG_COND_RESOLVE;
	else if (s && strcmp(s, "containerd") == 0)
		*ret = CG_COND_IGNORE;
	else if (s && strcmp(s, "unknown") == 0)
		*ret = CG_COND_ANY;
	else
		return cg_doc_error(x->err, x->src, n, "profiles.runtime",
				    "expected docker, cri-o, podman, containerd or unknown");
	return 0;
}

static int get_str(struct pp *x, struct fy_node *n, const char *path, char **ret)
{
	free(*ret);
	*ret = NULL;
	return cg_doc_strdup(n, x->json, x->src, path, ret, x->err);
}

static int unknown_key(struct pp *x, struct fy_node_pair *pair, const char *where, const char *k, const char *known)
{
	return cg_doc_error(x->err, x->src, fy_node_pair_key(pair), where, "unknown field '%s' (expected one of: %s)", k,
			    known);
}

static int parse_images(struct pp *x, struct cg_policy *p, struct fy_node *n)
{
	void *it = NULL;
	struct fy_node_pair *pair;
	char key[64];
	if (!cg_doc_is_mapping(n))
		return cg_doc_error(x->err, x->src, n, "images", "expected an object");
	while ((pair = fy_node_mapping_iterate(n, &it))) {
		struct fy_node *v = fy_node_pair_value(pair);
		const char *k = cg_doc_key(pair, key, sizeof(key));
		int r;
		if (!k)
			return cg_doc_error(x->err, x->src, fy_node_pair_key(pair), "images", "expected a field name");
		if (strcmp(k, "requireSignature") == 0)
			r = get_bool(x, v, "images.requireSignature", &p->require_signature);
		else if (strcmp(k, "keys") == 0) {
			r = get_strv(x, v, "images.keys", &p->key_files, &p->n_keys);
			for (size_t i = 0; r == 0 && i < p->n_keys; i++) {
				char *abs = relative_to(p->source, p->key_files[i]);
				if (!abs)
					return cg_error_set(x->err, -ENOMEM, "out of memory");
				free(p->key_files[i]);
				p->key_files[i] = abs;
			}
		} else if (strcmp(k, "trustedRegistries") == 0) {
			r = get_strv(x, v, "images.trustedRegistries", &p->trusted_registries, &p->n_trusted);
			for (size_t i = 0; r == 0 && i < p->n_trusted; i++) {
				/* a trusted location must itself parse as host[/path] */
				struct cg_imageref ref = { 0 };
				char probe[512];
				snprintf(probe, sizeof(probe), "%s%s", p->trusted_registries[i],
					 strchr(p->trusted_registries[i], '/') ? "" : "/x");
				if (cg_imageref_parse(probe, &ref, NULL) < 0 || ref.registry_defaulted)
					r = cg_doc_error(x->err, x->src, v, "images.trustedRegistries",
							 "'%s' is not a registry host[:port][/path]", p->trusted_registries[i]);
				cg_imageref_release(&ref);
			}
		} else if (strcmp(k, "requireDigest") == 0)
			r = get_bool(x, v, "images.requireDigest", &p->require_digest);
		else
			r = unknown_key(x, pair, "images", k, "requireSignature, keys, trustedRegistries, requireDigest");
		if (r < 0)
			return r;
	}
	if (p->require_signature && p->n_keys == 0)
		return cg_doc_error(x->err, x->src, n, "images", "requireSignature needs at least one key in images.keys");
	return 0;
}

static int parse_exemptions(struct pp *x, struct cg_policy *p, struct fy_node *n)
{
	void *it = NULL;
	struct fy_node_pair *pair;
	char key[64];
	if (!cg_doc_is_mapping(n))
		return cg_doc_error(x->err, x->src, n, "exemptions", "expected an object");
	while ((pair = fy_node_mapping_iterate(n, &it))) {
		struct fy_node *v = fy_node_pair_value(pair);
		const char *k = cg_doc_key(pair, key, sizeof(key));
		int r = 0;
		if (k && strcmp(k, "namespaces") == 0) {
			r = get_strv(x, v, "exemptions.namespaces", &p->exempt_namespaces, &p->n_exempt_namespaces);
		} else if (k && strcmp(k, "labels") == 0) {
			void *it2 = NULL;
			struct fy_node_pair *lp;
			if (!cg_doc_is_mapping(v))
				return cg_doc_error(x->err, x->src, v, "exemptions.labels", "expected an object of label: value");
			while ((lp = fy_node_mapping_iterate(v, &it2))) {
				char lk[256], lv[256];
				const char *a = cg_doc_key(lp, lk, sizeof(lk));
				const char *b = cg_doc_scalar(fy_node_pair_value(lp), lv, sizeof(lv));
				if (!a || !b)
					return cg_doc_error(x->err, x->src, fy_node_pair_value(lp), "exemptions.labels",
							    "expected a label value (a string)");
				if (policy_strv_push(&p->exempt_label_keys, &p->n_exempt_labels, a) < 0)
					return cg_error_set(x->err, -ENOMEM, "out of memory");
				p->n_exempt_labels--;
				if (policy_strv_push(&p->exempt_label_values, &p->n_exempt_labels, b) < 0)
					return cg_error_set(x->err, -ENOMEM, "out of memory");
			}
		} else {
			r = unknown_key(x, pair, "exemptions", k ? k : "?", "namespaces, labels");
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* A profile entry: a keyword or a Localhost path that stays under the
 * profile directory (relative, no "..", no empty component). */
static bool profile_entry_ok(const char *s)
{
	const char *c = s;

	if (profile_keyword(s))
		return true;
	if (!*s || *s == '/')
		return false;
	while (*c) {
		size_t n = strcspn(c, "/");
		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		c += n;
		if (*c == '/')
			c++;
		if (!*c && c[-1] == '/')
			return false;
	}
	return true;
}

/* namespaces: {NAME: {allowedProfiles: [...], defaultProfile: ...}} */
static int parse_namespaces(struct pp *x, struct cg_policy *p, struct fy_node *n)
{
	void *it = NULL;
	struct fy_node_pair *pair;
	char key[256], path[400];

	if (!cg_doc_is_mapping(n))
		return cg_doc_error(x->err, x->src, n, "namespaces",
				    "expected an object: {namespace: {allowedProfiles, defaultProfile}}");
	while ((pair = fy_node_mapping_iterate(n, &it))) {
		struct fy_node *v = fy_node_pair_value(pair), *dnode = NULL;
		const char *k = cg_doc_key(pair, key, sizeof(key));
		struct cg_policy_namespace *e, *nv;
		void *it2 = NULL;
		struct fy_node_pair *fp;
		int r = 0;

		if (!k || !*k)
			return cg_doc_error(x->err, x->src, fy_node_pair_key(pair), "namespaces", "expected a namespace name");
		if (cg_policy_namespace_find(p, k) && strcmp(cg_policy_namespace_find(p, k)->name, k) == 0)
			return cg_doc_error(x->err, x->src, fy_node_pair_key(pair), "namespaces", "namespace '%s' given twice",
					    k);
		snprintf(path, sizeof(path), "namespaces.%s", k);
		if (!cg_doc_is_mapping(v))
			return cg_doc_error(x->err, x->src, v, path, "expected an object with allowedProfiles, defaultProfile");
		if (!(nv = realloc(p->namespaces, (p->n_namespaces + 1) * sizeof(*nv))))
			return cg_error_set(x->err, -ENOMEM, "out of memory");
		p->namespaces = nv;
		e = &nv[p->n_namespaces];
		memset(e, 0, sizeof(*e));
		if (!(e->name = strdup(k)))
			return cg_error_set(x->err, -ENOMEM, "out of memory");
		p->n_namespaces++;
		while (r == 0 && (fp = fy_node_mapping_iterate(v, &it2))) {
			struct fy_node *fv = fy_node_pair_value(fp);
			char fk[64], fpath[480];
			const char *f = cg_doc_key(fp, fk, sizeof(fk));

			snprintf(fpath, sizeof(fpath), "%s.%s", path, f ? f : "?");
			if (f && strcmp(f, "allowedProfiles") == 0) {
				r = get_strv(x, fv, fpath, &e->allowed_profiles, &e->n_allowed_profiles);
				e->has_allowed = true;
				for (size_t i = 0; r == 0 && i < e->n_allowed_profiles; i++)
					if (!profile_entry_ok(e->allowed_profiles[i]))
						r = cg_doc_error(x->err, x->src, fv, fpath,
								 "'%s' is not RuntimeDefault, Unconfined or a relative Localhost "
								 "profile path",
								 e->allowed_profiles[i]);
			} else if (f && strcmp(f, "defaultProfile") == 0) {
				dnode = fv;
				r = get_str(x, fv, fpath, &e->default_profile);
				if (r == 0 && (!profile_entry_ok(e->default_profile) ||
					       strcmp(e->default_profile, "Unconfined") == 0 ||
					       strpbrk(e->default_profile, "*?[")))
					r = cg_doc_error(x->err, x->src, fv, fpath,
							 "'%s' is not RuntimeDefault or a relative Localhost profile path (no glob)",
							 e->default_profile);
			} else {
				r = unknown_key(x, fp, path, f ? f : "?", "allowedProfiles, defaultProfile");
			}
		}
		if (r < 0)
			return r;
		/* /mutate must never set what /validate then denies */
		if (e->default_profile && !cg_policy_namespace_allows(e, e->default_profile)) {
			snprintf(path, sizeof(path), "namespaces.%s.defaultProfile", k);
			return cg_doc_error(x->err, x->src, dnode, path, "'%s' is not in allowedProfiles", e->default_profile);
		}
	}
	return 0;
}

/* phaseBounds: {PHASE: N or null}: a bound per phase, null = not bounded. */
static int parse_phase_bounds(struct pp *x, struct cg_policy *p, struct fy_node *n)
{
	void *it = NULL;
	struct fy_node_pair *pair;
	char key[64], path[96];

	if (!cg_doc_is_mapping(n))
		return cg_doc_error(x->err, x->src, n, "phaseBounds", "expected an object: {phase: calls or null}");
	while ((pair = fy_node_mapping_iterate(n, &it))) {
		struct fy_node *v = fy_node_pair_value(pair);
		const char *k = cg_doc_key(pair, key, sizeof(key));
		uint64_t u = 0;
		int r;

		if (!k || !*k)
			return cg_doc_error(x->err, x->src, fy_node_pair_key(pair), "phaseBounds", "expected a phase name");
		snprintf(path, sizeof(path), "phaseBounds.%s", k);
		if (!cg_doc_is_null(v) && (r = cg_doc_u64(v, x->json, x->src, path, &u, x->err)) < 0)
			return r;
		if (set_phase_bound(p, k, (long)(u > 100000 ? 100000 : u)) < 0)
			return cg_error_set(x->err, -ENOMEM, "out of memory");
	}
	return 0;
}

static int parse_policy_obj(struct pp *x, struct cg_policy *p, struct fy_node *root)
{
	void *it = NULL;
	struct fy_node_pair *pair;
	char key[64], b[64];

	if (!cg_doc_is_mapping(root))
		return cg_doc_error(x->err, x->src, root, "", "expected a policy object");
	while ((pair = fy_node_mapping_iterate(root, &it))) {
		struct fy_node *v = fy_node_pair_value(pair);
		const char *k = cg_doc_key(pair, key, sizeof(key));
		int r = 0;
		if (!k)
			return cg_doc_error(x->err, x->src, fy_node_pair_key(pair), "", "expected a field name");
		if (strcmp(k, "apiVersion") == 0 || strcmp(k, "kind") == 0 || strcmp(k, "metadata") == 0) {
			continue;
		} else if (strcmp(k, "baseline") == 0) {
			r = get_str(x, v, "baseline", &p->baseline);
			if (r == 0 && strcmp(p->baseline, "none") != 0 && !baseline_find(p->baseline))
				r = cg_doc_error(x->err, x->src, v, "baseline",
						 "unknown baseline '%s' (expected gvisor, docker-default, example or none)",
						 p->baseline);
		} else if (strcmp(k, "baselineFile") == 0) {
			r = get_str(x, v, "baselineFile", &p->baseline_file);
			if (r == 0) {
				char *abs = relative_to(p->source, p->baseline_file);
				free(p->baseline_file);
				p->baseline_file = abs;
			}
		} else if (strcmp(k, "allow") == 0) {
			r = get_strv(x, v, "allow", &p->allow, &p->n_allow);
			for (size_t i = 0; r == 0 && i < p->n_allow; i++)
				if (!cg_syscall_known(p->allow[i]))
					r = cg_doc_error(x->err, x->src, v, "allow", "unknown syscall '%s'", p->allow[i]);
		} else if (strcmp(k, "deny") == 0) {
			r = get_strv(x, v, "deny", &p->deny, &p->n_deny);
			for (size_t i = 0; r == 0 && i < p->n_deny; i++)
				if (!cg_syscall_known(p->deny[i]))
					r = cg_doc_error(x->err, x->src, v, "deny", "unknown syscall '%s'", p->deny[i]);
		} else if (strcmp(k, "denyClasses") == 0) {
			r = get_strv(x, v, "denyClasses", &p->deny_classes, &p->n_deny_classes);
			for (size_t i = 0; r == 0 && i < p->n_deny_classes; i++) {
				size_t nc;
				const struct cg_risk_class *rc = cg_risk_classes(&nc);
				bool ok = strcmp(p->deny_classes[i], "all") == 0;
				for (size_t c = 0; c < nc; c++)
					ok |= strcmp(rc[c].name, p->deny_classes[i]) == 0;
				if (!ok)
					r = cg_doc_error(x->err, x->src, v, "denyClasses",
							 "unknown risk class '%s' (see 'capgate policy show --classes')",
							 p->deny_classes[i]);
			}
		} else if (strcmp(k, "maxCalls") == 0) {
			uint64_t u = 0;
			if (cg_doc_is_null(v))
				p->max_calls = 0;
			else if ((r = cg_doc_u64(v, x->json, x->src, "maxCalls", &u, x->err)) == 0)
				p->max_calls = (long)(u > 100000 ? 100000 : u);
		} else if (strcmp(k, "boundPhase") == 0) {
			r = get_str(x, v, "boundPhase", &p->bound_phase);
		} else if (strcmp(k, "phaseBounds") == 0) {
			r = parse_phase_bounds(x, p, v);
		} else if (strcmp(k, "podSecurity") == 0) {
			const char *s = cg_doc_scalar(v, b, sizeof(b));
			if (s && strcmp(s, "restricted") == 0)
				p->pss = CG_PSS_RESTRICTED;
			else if (s && strcmp(s, "baseline") == 0)
				p->pss = CG_PSS_BASELINE;
			else if (s && strcmp(s, "privileged") == 0)
				p->pss = CG_PSS_PRIVILEGED;
			else
				r = cg_doc_error(x->err, x->src, v, "podSecurity", "expected restricted, baseline or privileged");
		} else if (strcmp(k, "profiles") == 0) {
			void *it2 = NULL;
			struct fy_node_pair *pp2;
			if (!cg_doc_is_mapping(v))
				return cg_doc_error(x->err, x->src, v, "profiles", "expected an object");
			while (r == 0 && (pp2 = fy_node_mapping_iterate(v, &it2))) {
				const char *k2 = cg_doc_key(pp2, key, sizeof(key));
				if (k2 && strcmp(k2, "requireContents") == 0)
					r = get_bool(x, fy_node_pair_value(pp2), "profiles.requireContents",
						     &p->require_profile_contents);
				else if (k2 && strcmp(k2, "denyPermissiveDefault") == 0)
					r = get_bool(x, fy_node_pair_value(pp2), "profiles.denyPermissiveDefault",
						     &p->deny_permissive_default);
				else if (k2 && strcmp(k2, "runtime") == 0)
					r = get_runtime(x, fy_node_pair_value(pp2), &p->node_runtime);
				else if (k2 && strcmp(k2, "requireStartable") == 0)
					r = get_bool(x, fy_node_pair_value(pp2), "profiles.requireStartable",
						     &p->require_startable);
				else
					r = unknown_key(x, pp2, "profiles", k2 ? k2 : "?",
							"requireContents, denyPermissiveDefault, runtime, requireStartable");
			}
		} else if (strcmp(k, "images") == 0) {
			r = parse_images(x, p, v);
		} else if (strcmp(k, "exemptions") == 0) {
			r = parse_exemptions(x, p, v);
		} else if (strcmp(k, "namespaces") == 0) {
			r = parse_namespaces(x, p, v);
		} else if (strcmp(k, "unknownKinds") == 0) {
			const char *s = cg_doc_scalar(v, b, sizeof(b));
			if (s && strcmp(s, "deny") == 0)
				p->ignore_unknown_kinds = false;
			else if (s && strcmp(s, "ignore") == 0)
				p->ignore_unknown_kinds = true;
			else
				r = cg_doc_error(x->err, x->src, v, "unknownKinds", "expected deny or ignore");
		} else {
			r = unknown_key(x, pair, "", k,
					"baseline, baselineFile, allow, deny, denyClasses, maxCalls, boundPhase, phaseBounds, "
					"podSecurity, "
					"profiles, images, exemptions, namespaces, unknownKinds");
		}
		if (r < 0)
			return r;
	}
	return 0;
}

int cg_policy_parse(const char *buf, size_t len, const char *source, struct cg_policy **ret, struct cg_error *err)
{
	struct fy_document **docs = NULL;
	size_t nd = 0;
	bool json = false;
	struct cg_policy *p;
	int r;

	if ((r = cg_doc_parse_all(buf, len, source, &docs, &nd, &json, err)) < 0)
		return r;
	p = policy_new(source);
	if (!p) {
		r = cg_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	if (nd != 1) {
		r = cg_error_set(err, -EINVAL, "%s: a policy is one document, found %zu", source, nd);
		goto out;
	}
	struct pp x = { source, json, err };
	if ((r = parse_policy_obj(&x, p, fy_document_root(docs[0]))) < 0 || (r = policy_finish(p, err)) < 0)
		goto out;
	*ret = TAKE_PTR(p);
out:
	cg_policy_free(p);
	for (size_t i = 0; i < nd; i++)
		fy_document_destroy(docs[i]);
	free(docs);
	return r;
}

int cg_policy_load(const char *path, struct cg_policy **ret, struct cg_error *err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r = cg_read_file_max(path, CG_READ_POLICY_MAX, 0, &buf, &len, err);
	if (r < 0)
		return r;
	return cg_policy_parse(buf, len, path, ret, err);
}
