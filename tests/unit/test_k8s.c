// SPDX-License-Identifier: Apache-2.0
/*
 * Kubernetes manifests: every PSA fixture gets its verdict at its level; the
 * docs Pods parse; Gatekeeper's seccomp samples get the verdicts their
 * suite.yaml gives (the constraint parameters evaluated over the parsed
 * workloads); Kyverno's resources get their kyverno-test verdicts and the
 * chainsaw good/bad files are admitted/rejected. Bad input gets an exact
 * position and field path.
 */
#include <capgate/k8s.h>
#include <capgate/policy.h>
#include <capgate/strbuf.h>
#include <dirent.h>
#include <errno.h>
#include <time.h>
#include <fnmatch.h>
#include <unistd.h>

#include "core/doc.h"
#include "t.h"

/* ---- helpers ------------------------------------------------------------ */

struct parsed {
	struct cg_k8s_workload **w;
	size_t n, skipped;
};

static void parsed_free(struct parsed *p)
{
	cg_k8s_workloads_free(p->w, p->n);
	memset(p, 0, sizeof(*p));
}

static int parse_str(const char *s, struct parsed *p, struct cg_error *err)
{
	memset(p, 0, sizeof(*p));
	return cg_k8s_parse(s, strlen(s), "t.yaml", &p->w, &p->n, &p->skipped, err);
}

static int parse_path(const char *path, struct parsed *p)
{
	char *buf = NULL;
	size_t len;
	struct cg_error err = { 0 };
	int r;

	memset(p, 0, sizeof(*p));
	if (cg_read_file(path, &buf, &len, &err) < 0) {
		CHECKF(0, "%s", err.msg);
		return -1;
	}
	r = cg_k8s_parse(buf, len, path, &p->w, &p->n, &p->skipped, &err);
	CHECKF(r == 0, "%s: %s", path, err.msg);
	free(buf);
	return r;
}

/* Number of violations at @level (-1 on error). */
static long n_violations(const struct cg_k8s_workload *w, enum cg_pss_level level)
{
	struct cg_k8s_violation *v = NULL;
	size_t n = 0;
	if (cg_k8s_check_seccomp(w, level, &v, &n) < 0)
		return -1;
	cg_k8s_violations_free(v, n);
	return (long)n;
}

static void expect_error(const char *yaml, const char *want)
{
	struct parsed p;
	struct cg_error err = { 0 };
	int r = parse_str(yaml, &p, &err);
	CHECKF(r < 0, "accepted: %s", yaml);
	if (r < 0)
		CHECKF(strstr(err.msg, want) != NULL, "error \"%s\" lacks \"%s\"", err.msg, want);
	CHECK(p.w == NULL && p.n == 0);
	parsed_free(&p);
}

static struct cg_k8s_workload *find_workload(struct parsed *p, const char *kind, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->w[i]->kind && strcmp(p->w[i]->kind, kind) == 0 && p->w[i]->name &&
		    strcmp(p->w[i]->name, name) == 0)
			return p->w[i];
	return NULL;
}

/* The value of @key in mapping @m, or NULL. */
static struct fy_node *map_get(struct fy_node *m, const char *key)
{
	void *it = NULL;
	struct fy_node_pair *p;
	char kb[128];
	while (m && fy_node_is_mapping(m) && (p = fy_node_mapping_iterate(m, &it)) != NULL) {
		const char *k = cg_doc_key(p, kb, sizeof(kb));
		if (k && strcmp(k, key) == 0)
			return fy_node_pair_value(p);
	}
	return NULL;
}

static const char *scalar(struct fy_node *n, char *buf, size_t sz)
{
	return cg_doc_scalar(n, buf, sz);
}

/* Load one YAML file as documents (for the suites, not the manifests). The
 * documents point into the text: *buf lives as long as they do. */
static int load_docs(const char *path, struct fy_document ***docs, size_t *n, char **buf)
{
	size_t len;
	struct cg_error err = { 0 };
	int r;

	*buf = NULL;
	r = cg_read_file(path, buf, &len, &err);
	if (r == 0)
		r = cg_doc_parse_all(*buf, len, path, docs, n, NULL, &err);
	CHECKF(r == 0, "%s: %s", path, err.msg);
	if (r < 0) {
		free(*buf);
		*buf = NULL;
	}
	return r;
}

static void docs_free(struct fy_document **docs, size_t n, char *buf)
{
	for (size_t i = 0; i < n; i++)
		fy_document_destroy(docs[i]);
	free(docs);
	free(buf);
}

/* ---- the PSA fixtures --------------------------------------------------- */

static int psa_files, psa_pass, psa_fail;

static void psa_dir(const char *dir, enum cg_pss_level level, bool want_pass)
{
	DIR *dp = opendir(dir);
	struct dirent *de;
	if (!dp)
		return;
	while ((de = readdir(dp)) != NULL) {
		char path[1024];
		struct parsed p;
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (parse_path(path, &p) < 0)
			continue;
		psa_files++;
		CHECKF(p.n == 1 && p.skipped == 0, "%s: %zu workloads, %zu skipped", path, p.n, p.skipped);
		for (size_t i = 0; i < p.n; i++) {
			long nv = n_violations(p.w[i], level);
			if (want_pass) {
				CHECKF(nv == 0, "%s: %ld violations, expected none", path, nv);
				/* what restricted admits, baseline admits */
				CHECKF(n_violations(p.w[i], CG_PSS_BASELINE) == 0, "%s: fails baseline", path);
				psa_pass += nv == 0;
			} else {
				CHECKF(nv >= 1, "%s: admitted, expected a violation", path);
				/* what baseline denies, restricted denies */
				CHECKF(n_violations(p.w[i], CG_PSS_RESTRICTED) >= 1, "%s: passes restricted", path);
				psa_fail += nv >= 1;
			}
			CHECK(n_violations(p.w[i], CG_PSS_PRIVILEGED) == 0);
		}
		parsed_free(&p);
	}
	closedir(dp);
}

static int test_psa_corpus(void)
{
	NEED_SHARED("corpus");
	static const struct {
		const char *name;
		enum cg_pss_level level;
	} levels[] = { { "baseline", CG_PSS_BASELINE }, { "restricted", CG_PSS_RESTRICTED } };
	char dir[1024];

	for (size_t l = 0; l < CG_ARRAY_SIZE(levels); l++) {
		DIR *dp;
		struct dirent *de;
		snprintf(dir, sizeof(dir), "%s/corpus/k8s-psa/%s", t_shared(), levels[l].name);
		if (!(dp = opendir(dir))) {
			CHECKF(0, "%s: %s", dir, strerror(errno));
			continue;
		}
		while ((de = readdir(dp)) != NULL) {
			char sub[1100];
			if (de->d_name[0] == '.')
				continue;
			snprintf(sub, sizeof(sub), "%s/%s/pass", dir, de->d_name);
			psa_dir(sub, levels[l].level, true);
			snprintf(sub, sizeof(sub), "%s/%s/fail", dir, de->d_name);
			psa_dir(sub, levels[l].level, false);
		}
		closedir(dp);
	}
	printf("  k8s-psa: %d files, %d admitted as expected, %d denied as expected\n", psa_files, psa_pass,
	       psa_fail);
	CHECK_EQ_INT(psa_files, 18);
	CHECK_EQ_INT(psa_pass + psa_fail, psa_files);
	return 0;
}

/* The messages for one fixture, with path and position. */
static int test_psa_messages(void)
{
	NEED_SHARED("corpus");
	char path[1024];
	struct parsed p;
	struct cg_k8s_violation *v = NULL;
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/corpus/k8s-psa/restricted/v1.19/fail/seccompprofile_restricted4.yaml",
		 t_shared());
	if (parse_path(path, &p) < 0)
		return 0;
	CHECK(cg_k8s_check_seccomp(p.w[0], CG_PSS_RESTRICTED, &v, &n) == 0);
	CHECK_EQ_INT(n, 1);
	if (n == 1) {
		CHECK_STR(v[0].msg, "container \"initcontainer1\" (initContainers[0]): seccompProfile is Unconfined");
		CHECK_STR(v[0].path, "spec.initContainers[0].securityContext.seccompProfile");
		CHECK_EQ_INT(v[0].pos.line, 19);
		CHECK_EQ_INT(v[0].pos.col, 15);
		CHECK(v[0].container == &p.w[0]->containers[1]);
	}
	cg_k8s_violations_free(v, n);
	parsed_free(&p);

	snprintf(path, sizeof(path), "%s/corpus/k8s-psa/restricted/v1.19/fail/seccompprofile_restricted2.yaml",
		 t_shared());
	if (parse_path(path, &p) < 0)
		return 0;
	CHECK(cg_k8s_check_seccomp(p.w[0], CG_PSS_RESTRICTED, &v, &n) == 0);
	CHECK_EQ_INT(n, 1);
	if (n == 1) {
		CHECK_STR(v[0].msg, "container \"initcontainer1\" (initContainers[0]): seccompProfile is not set "
				    "(restricted requires RuntimeDefault or Localhost)");
		CHECK_STR(v[0].path, "spec.initContainers[0]");
		CHECK_EQ_INT(v[0].pos.line, 14);
		CHECK_EQ_INT(v[0].pos.col, 5);
	}
	cg_k8s_violations_free(v, n);
	/* unset is fine at baseline */
	CHECK_EQ_INT(n_violations(p.w[0], CG_PSS_BASELINE), 0);
	parsed_free(&p);

	snprintf(path, sizeof(path), "%s/corpus/k8s-psa/baseline/v1.19/fail/seccompprofile_baseline0.yaml",
		 t_shared());
	if (parse_path(path, &p) < 0)
		return 0;
	CHECK(cg_k8s_check_seccomp(p.w[0], CG_PSS_BASELINE, &v, &n) == 0);
	CHECK_EQ_INT(n, 1);
	if (n == 1) {
		CHECK_STR(v[0].msg, "pod: seccompProfile is Unconfined");
		CHECK_STR(v[0].path, "spec.securityContext.seccompProfile");
		CHECK(v[0].container == NULL);
		CHECK_EQ_INT(v[0].pos.line, 16);
	}
	cg_k8s_violations_free(v, n);
	parsed_free(&p);
	return 0;
}

/* ---- the Kubernetes docs Pods ------------------------------------------- */

static int test_docs_pods(void)
{
	NEED_SHARED("corpus");
	static const struct {
		const char *file;
		enum cg_seccomp_kind kind;
		const char *localhost;
	} pods[] = {
		{ "audit-pod.yaml", CG_SECCOMP_LOCALHOST, "profiles/audit.json" },
		{ "default-pod.yaml", CG_SECCOMP_RUNTIME_DEFAULT, NULL },
		{ "fine-pod.yaml", CG_SECCOMP_LOCALHOST, "profiles/fine-grained.json" },
		{ "violation-pod.yaml", CG_SECCOMP_LOCALHOST, "profiles/violation.json" },
	};
	int ok = 0;

	for (size_t i = 0; i < CG_ARRAY_SIZE(pods); i++) {
		char path[1024];
		struct parsed p;
		snprintf(path, sizeof(path), "%s/corpus/k8s-docs/pods/%s", t_shared(), pods[i].file);
		if (parse_path(path, &p) < 0)
			continue;
		CHECKF(p.n == 1, "%s: %zu workloads", path, p.n);
		if (p.n == 1) {
			const struct cg_k8s_workload *w = p.w[0];
			CHECK_STR(w->kind, "Pod");
			CHECK(w->n_containers >= 1);
			for (size_t c = 0; c < w->n_containers; c++) {
				const struct cg_seccomp_setting *e = &w->containers[c].effective;
				CHECKF(e->kind == pods[i].kind, "%s: container %zu kind %d", path, c, e->kind);
				if (pods[i].localhost)
					CHECK_STR(e->localhost_profile, pods[i].localhost);
			}
			CHECKF(n_violations(w, CG_PSS_BASELINE) == 0, "%s: baseline", path);
			CHECKF(n_violations(w, CG_PSS_RESTRICTED) == 0, "%s: restricted", path);
			ok += n_violations(w, CG_PSS_RESTRICTED) == 0;
		}
		parsed_free(&p);
	}
	printf("  k8s-docs: %d of 4 Pods parsed and admitted by profile type\n", ok);
	CHECK_EQ_INT(ok, 4);
	return 0;
}

/* ---- Gatekeeper: the constraint's parameters over the parsed workloads --- */

struct gk_params {
	bool v2;
	char **exempt, **profiles, **files;
	size_t n_exempt, n_profiles, n_files;
};

static void gk_params_release(struct gk_params *g)
{
	cg_strv_free(g->exempt, g->n_exempt);
	cg_strv_free(g->profiles, g->n_profiles);
	cg_strv_free(g->files, g->n_files);
	memset(g, 0, sizeof(*g));
}

static int gk_load_constraint(const char *path, struct gk_params *g)
{
	struct fy_document **docs = NULL;
	size_t n = 0;
	char *text = NULL;
	struct cg_error err = { 0 };
	struct fy_node *root, *params;
	char kind[64];
	int r;

	memset(g, 0, sizeof(*g));
	if (load_docs(path, &docs, &n, &text) < 0)
		return -1;
	root = fy_document_root(docs[0]);
	g->v2 = scalar(map_get(root, "kind"), kind, sizeof(kind)) && strcmp(kind, "K8sPSPSeccompV2") == 0;
	params = map_get(map_get(root, "spec"), "parameters");
	r = cg_doc_strv(map_get(params, "exemptImages"), false, path, "exemptImages", &g->exempt, &g->n_exempt,
			&err);
	if (r == 0)
		r = cg_doc_strv(map_get(params, "allowedProfiles"), false, path, "allowedProfiles", &g->profiles,
				&g->n_profiles, &err);
	if (r == 0)
		r = cg_doc_strv(map_get(params, "allowedLocalhostFiles"), false, path, "allowedLocalhostFiles",
				&g->files, &g->n_files, &err);
	CHECKF(r == 0, "%s", err.msg);
	docs_free(docs, n, text);
	return r;
}

static bool strv_has(char **v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

/* exemptImages: exact, or a prefix when the entry ends in '*'. */
static bool gk_exempt(const struct gk_params *g, const char *image)
{
	for (size_t i = 0; image && i < g->n_exempt; i++) {
		size_t len = strlen(g->exempt[i]);
		if (len && g->exempt[i][len - 1] == '*' ? strncmp(image, g->exempt[i], len - 1) == 0
							: strcmp(image, g->exempt[i]) == 0)
			return true;
	}
	return false;
}

/* Is the effective setting one of the constraint's allowedProfiles? Both
 * spellings are accepted, as the templates translate between the annotation
 * values (v1) and the field types (v2). "*" allows everything. */
static bool gk_allowed(const struct gk_params *g, const struct cg_seccomp_setting *s)
{
	if (strv_has(g->profiles, g->n_profiles, "*"))
		return true;
	switch (s->kind) {
	case CG_SECCOMP_UNSET:
		return strv_has(g->profiles, g->n_profiles, "not configured");
	case CG_SECCOMP_RUNTIME_DEFAULT:
		return strv_has(g->profiles, g->n_profiles, "runtime/default") ||
		       strv_has(g->profiles, g->n_profiles, "docker/default") ||
		       strv_has(g->profiles, g->n_profiles, "RuntimeDefault");
	case CG_SECCOMP_UNCONFINED:
		return strv_has(g->profiles, g->n_profiles, "unconfined") ||
		       strv_has(g->profiles, g->n_profiles, "Unconfined");
	case CG_SECCOMP_LOCALHOST: {
		char want[1024];
		snprintf(want, sizeof(want), "localhost/%s", s->localhost_profile);
		if (strv_has(g->profiles, g->n_profiles, "localhost/*") || strv_has(g->profiles, g->n_profiles, want))
			return true;
		if (strv_has(g->profiles, g->n_profiles, "Localhost"))
			for (size_t i = 0; i < g->n_files; i++)
				if (fnmatch(g->files[i], s->localhost_profile, 0) == 0)
					return true;
		return false;
	}
	case CG_SECCOMP_INVALID:
		break;
	}
	return false;
}

static size_t gk_violations(const struct gk_params *g, const struct cg_k8s_workload *w)
{
	size_t n = 0;
	for (size_t i = 0; i < w->n_containers; i++) {
		const struct cg_k8s_container *c = &w->containers[i];
		if (!gk_exempt(g, c->image) && !gk_allowed(g, &c->effective))
			n++;
	}
	return n;
}

static int gk_cases, gk_ok;

static void gk_suite(const char *dir)
{
	struct fy_document **docs = NULL;
	size_t nd = 0;
	char *text = NULL;
	char path[1024];
	struct fy_node *tests, *t;
	void *it = NULL;

	snprintf(path, sizeof(path), "%s/suite.yaml", dir);
	if (load_docs(path, &docs, &nd, &text) < 0)
		return;
	tests = map_get(fy_document_root(docs[0]), "tests");
	CHECKF(tests && fy_node_is_sequence(tests), "%s: no tests", path);
	while (tests && (t = fy_node_sequence_iterate(tests, &it)) != NULL) {
		struct gk_params g;
		struct fy_node *cases = map_get(t, "cases"), *c;
		void *it2 = NULL;
		char cons[256], cpath[1024];

		if (!scalar(map_get(t, "constraint"), cons, sizeof(cons)))
			continue;
		snprintf(cpath, sizeof(cpath), "%s/%s", dir, cons);
		if (gk_load_constraint(cpath, &g) < 0)
			continue;
		while (cases && (c = fy_node_sequence_iterate(cases, &it2)) != NULL) {
			char name[128] = "", obj[256], opath[1024], viol[32];
			struct fy_node *as = map_get(c, "assertions");
			struct parsed p;
			long want;

			scalar(map_get(c, "name"), name, sizeof(name));
			if (!scalar(map_get(c, "object"), obj, sizeof(obj)) || !as || !fy_node_is_sequence(as) ||
			    !scalar(map_get(fy_node_sequence_get_by_index(as, 0), "violations"), viol, sizeof(viol))) {
				CHECKF(0, "%s: case %s: no object or assertion", path, name);
				continue;
			}
			/* "no" = allowed; a number = that many violations */
			want = strcmp(viol, "no") == 0 ? 0 : strtol(viol, NULL, 10);
			snprintf(opath, sizeof(opath), "%s/%s", dir, obj);
			if (parse_path(opath, &p) < 0)
				continue;
			gk_cases++;
			CHECKF(p.n == 1, "%s: %zu workloads", opath, p.n);
			if (p.n == 1) {
				size_t got = gk_violations(&g, p.w[0]);
				CHECKF((want == 0) == (got == 0) && (long)got == want,
				       "%s: case %s: %zu violations, suite says %s", path, name, got, viol);
				gk_ok += (want == 0) == (got == 0);
			}
			parsed_free(&p);
		}
		gk_params_release(&g);
	}
	docs_free(docs, nd, text);
}

static int test_gatekeeper(void)
{
	NEED_SHARED("corpus");
	char dir[1024];
	snprintf(dir, sizeof(dir), "%s/corpus/gatekeeper/pod-security-policy/seccomp", t_shared());
	gk_suite(dir);
	snprintf(dir, sizeof(dir), "%s/corpus/gatekeeper/pod-security-policy/seccompv2", t_shared());
	gk_suite(dir);
	printf("  gatekeeper: %d of %d suite cases give the expected verdict\n", gk_ok, gk_cases);
	CHECK_EQ_INT(gk_cases, 8 + 7 + 6);
	CHECK_EQ_INT(gk_ok, gk_cases);
	return 0;
}

/* The PSS view of the same samples: where the constraint mirrors a PSS level
 * (v2 baseline/restricted, images not exempt), the verdicts agree. */
static int test_gatekeeper_pss(void)
{
	NEED_SHARED("corpus");
	static const struct {
		const char *file;
		enum cg_pss_level level;
		bool pass;
	} cases[] = {
		{ "seccompv2/samples/psp-seccomp-baseline/allowed_ephemeral.yaml", CG_PSS_BASELINE, true },
		{ "seccompv2/samples/psp-seccomp-baseline/example_allowed_no_profile.yaml", CG_PSS_BASELINE, true },
		{ "seccompv2/samples/psp-seccomp-baseline/example_disallowed2.yaml", CG_PSS_BASELINE, false },
		{ "seccompv2/samples/psp-seccomp-restricted/disallowed_ephemeral.yaml", CG_PSS_RESTRICTED, false },
		{ "seccompv2/samples/psp-seccomp-restricted/example_allowed_localhost.yaml", CG_PSS_RESTRICTED, true },
		/* the legacy annotations: container annotation on an ephemeral container */
		{ "seccomp/samples/psp-seccomp/disallowed_ephemeral.yaml", CG_PSS_BASELINE, false },
		/* the pod annotation runtime/default alone: Gatekeeper's v1 template
		 * allows it, restricted does not (the annotation does nothing since
		 * Kubernetes 1.25 and PSA reads fields only); baseline does */
		{ "seccomp/samples/psp-seccomp/example_allowed2.yaml", CG_PSS_RESTRICTED, false },
		{ "seccomp/samples/psp-seccomp/example_allowed2.yaml", CG_PSS_BASELINE, true },
		{ "seccomp/samples/psp-seccomp/example_disallowed2.yaml", CG_PSS_BASELINE, false },
	};
	for (size_t i = 0; i < CG_ARRAY_SIZE(cases); i++) {
		char path[1024];
		struct parsed p;
		snprintf(path, sizeof(path), "%s/corpus/gatekeeper/pod-security-policy/%s", t_shared(), cases[i].file);
		if (parse_path(path, &p) < 0)
			continue;
		if (p.n == 1)
			CHECKF((n_violations(p.w[0], cases[i].level) == 0) == cases[i].pass, "%s", path);
		parsed_free(&p);
	}
	return 0;
}

/* ---- Kyverno ------------------------------------------------------------- */

static int ky_results, ky_ok, ky_chainsaw_docs, ky_chainsaw_ok;

static void ky_test(const char *dir, enum cg_pss_level level)
{
	struct fy_document **docs = NULL;
	size_t nd = 0;
	char *text = NULL;
	char path[1024];
	struct parsed res;
	struct fy_node *results, *r;
	void *it = NULL;
	size_t covered = 0;

	snprintf(path, sizeof(path), "%s/.kyverno-test/resource.yaml", dir);
	if (parse_path(path, &res) < 0)
		return;
	snprintf(path, sizeof(path), "%s/.kyverno-test/kyverno-test.yaml", dir);
	if (load_docs(path, &docs, &nd, &text) < 0) {
		parsed_free(&res);
		return;
	}
	results = map_get(fy_document_root(docs[0]), "results");
	while (results && (r = fy_node_sequence_iterate(results, &it)) != NULL) {
		char kind[64], result[16];
		struct fy_node *names = map_get(r, "resources"), *nm;
		void *it2 = NULL;
		bool want_pass;

		if (!scalar(map_get(r, "kind"), kind, sizeof(kind)) ||
		    !scalar(map_get(r, "result"), result, sizeof(result))) {
			CHECKF(0, "%s: result without kind or result", path);
			continue;
		}
		want_pass = strcmp(result, "pass") == 0;
		while (names && (nm = fy_node_sequence_iterate(names, &it2)) != NULL) {
			char name[128];
			struct cg_k8s_workload *w;
			if (!scalar(nm, name, sizeof(name)))
				continue;
			ky_results++;
			w = find_workload(&res, kind, name);
			CHECKF(w != NULL, "%s: %s %s not in resource.yaml", path, kind, name);
			if (!w)
				continue;
			covered++;
			long nv = n_violations(w, level);
			CHECKF((nv == 0) == want_pass, "%s: %s %s: %ld violations, expected %s", path, kind, name, nv,
			       result);
			ky_ok += (nv == 0) == want_pass;
		}
	}
	/* every resource in resource.yaml has an expected result */
	CHECKF(covered == res.n, "%s: %zu results for %zu resources", path, covered, res.n);
	docs_free(docs, nd, text);
	parsed_free(&res);

	/* chainsaw: each workload in *-good.yaml admitted, in *-bad.yaml denied */
	snprintf(path, sizeof(path), "%s/.chainsaw-test", dir);
	DIR *dp = opendir(path);
	struct dirent *de;
	CHECKF(dp != NULL, "%s: %s", path, strerror(errno));
	while (dp && (de = readdir(dp)) != NULL) {
		size_t len = strlen(de->d_name);
		bool good = len > 10 && strcmp(de->d_name + len - 10, "-good.yaml") == 0;
		bool bad = len > 9 && strcmp(de->d_name + len - 9, "-bad.yaml") == 0;
		char fpath[1400];
		struct parsed p;

		if (de->d_name[0] == '.' || len < 5 || strcmp(de->d_name + len - 5, ".yaml") != 0)
			continue;
		snprintf(fpath, sizeof(fpath), "%s/%s", path, de->d_name);
		if (parse_path(fpath, &p) < 0)
			continue;
		if (!good && !bad) {
			/* the test and assert files: other kinds, skipped */
			CHECKF(p.n == 0 && p.skipped >= 1, "%s: %zu workloads, %zu skipped", fpath, p.n, p.skipped);
		}
		for (size_t i = 0; (good || bad) && i < p.n; i++) {
			long nv = n_violations(p.w[i], level);
			ky_chainsaw_docs++;
			CHECKF((nv == 0) == good, "%s: %s %s: %ld violations", fpath, p.w[i]->kind, p.w[i]->name, nv);
			ky_chainsaw_ok += (nv == 0) == good;
		}
		CHECKF(!(good || bad) || p.n > 0, "%s: no workloads", fpath);
		parsed_free(&p);
	}
	if (dp)
		closedir(dp);
}

static int test_kyverno(void)
{
	NEED_SHARED("corpus");
	char dir[1024];
	snprintf(dir, sizeof(dir), "%s/corpus/kyverno/pod-security/baseline/restrict-seccomp", t_shared());
	ky_test(dir, CG_PSS_BASELINE);
	snprintf(dir, sizeof(dir), "%s/corpus/kyverno/pod-security/restricted/restrict-seccomp-strict", t_shared());
	ky_test(dir, CG_PSS_RESTRICTED);
	printf("  kyverno: %d of %d kyverno-test results, %d of %d chainsaw workloads as expected\n", ky_ok,
	       ky_results, ky_chainsaw_ok, ky_chainsaw_docs);
	CHECK(ky_results > 0 && ky_ok == ky_results);
	CHECK(ky_chainsaw_docs > 0 && ky_chainsaw_ok == ky_chainsaw_docs);
	return 0;
}

/* ---- parsing: shapes, precedence, errors -------------------------------- */

static int test_nesting(void)
{
	struct parsed p;
	struct cg_error err = { 0 };
	const char *y = "apiVersion: batch/v1\n"
			"kind: CronJob\n"
			"metadata:\n"
			"  name: cj\n"
			"  namespace: ns1\n"
			"  labels: {team: a, tier: \"b\", empty: }\n"
			"spec:\n"
			"  schedule: '* * * * *'\n"
			"  jobTemplate:\n"
			"    spec:\n"
			"      template:\n"
			"        metadata:\n"
			"          annotations:\n"
			"            seccomp.security.alpha.kubernetes.io/pod: runtime/default\n"
			"        spec:\n"
			"          containers:\n"
			"          - name: a\n"
			"            image: busybox\n"
			"---\n"
			"apiVersion: v1\n"
			"kind: List\n"
			"items:\n"
			"- apiVersion: apps/v1\n"
			"  kind: Deployment\n"
			"  metadata: {name: d}\n"
			"  spec:\n"
			"    template:\n"
			"      spec:\n"
			"        securityContext: {seccompProfile: {type: Unconfined}}\n"
			"        containers:\n"
			"        - {name: web, image: nginx, securityContext: {seccompProfile: {type: RuntimeDefault}}}\n"
			"        - {name: side, image: envoy}\n"
			"- apiVersion: v1\n"
			"  kind: Service\n"
			"  metadata: {name: s}\n"
			"- apiVersion: v1\n"
			"  kind: ConfigMap\n"
			"---\n"
			"apiVersion: apps/v1\n"
			"kind: StatefulSet\n"
			"metadata: {name: ss}\n"
			"spec: {template: {spec: {containers: [{name: x}], initContainers: [{name: i}], "
			"ephemeralContainers: [{name: e}]}}}\n"
			"---\n"
			"apiVersion: batch.volcano.sh/v1alpha1\n"
			"kind: Job\n"
			"spec: {tasks: []}\n"
			"---\n";

	CHECKF(parse_str(y, &p, &err) == 0, "%s", err.msg);
	CHECK_EQ_INT(p.n, 3);
	CHECK_EQ_INT(p.skipped, 3); /* Service, ConfigMap, volcano Job */
	if (p.n == 3) {
		const struct cg_k8s_workload *cj = p.w[0], *d = p.w[1], *ss = p.w[2];
		CHECK_STR(cj->kind, "CronJob");
		CHECK_STR(cj->name, "cj");
		CHECK_STR(cj->namespace, "ns1");
		CHECK_STR(cj->api_version, "batch/v1");
		CHECK_STR(cg_k8s_label(cj, "team"), "a");
		CHECK_STR(cg_k8s_label(cj, "tier"), "b");
		CHECK_STR(cg_k8s_label(cj, "empty"), "");
		CHECK(cg_k8s_label(cj, "nope") == NULL);
		CHECK_STR(cj->pod_spec_path, "spec.jobTemplate.spec.template.spec");
		CHECK_EQ_INT(cj->doc_index, 0);
		CHECK_EQ_INT(cj->pos.line, 1);
		CHECK_EQ_INT(cj->pod.kind, CG_SECCOMP_RUNTIME_DEFAULT);
		CHECK(cj->pod.from_annotation);
		CHECK_STR(cj->pod.path,
			  "spec.jobTemplate.spec.template.metadata.annotations[\"seccomp.security.alpha.kubernetes.io/pod\"]");
		CHECK_EQ_INT(cj->pod.pos.line, 14);
		CHECK_EQ_INT(cj->pod.pos.col, 55);
		CHECK_EQ_INT(cj->n_containers, 1);
		if (cj->n_containers == 1) {
			CHECK_STR(cj->containers[0].path, "spec.jobTemplate.spec.template.spec.containers[0]");
			CHECK_STR(cj->containers[0].image, "busybox");
			CHECK_EQ_INT(cj->containers[0].effective.kind, CG_SECCOMP_RUNTIME_DEFAULT);
			CHECK_EQ_INT(cj->containers[0].own.kind, CG_SECCOMP_UNSET);
		}
		/* the annotation alone is no setting (it does nothing since 1.25) */
		CHECK_EQ_INT(n_violations(cj, CG_PSS_RESTRICTED), 1);
		CHECK_EQ_INT(n_violations(cj, CG_PSS_BASELINE), 0);

		CHECK_STR(d->kind, "Deployment");
		CHECK_EQ_INT(d->doc_index, 1);
		CHECK_STR(d->pod_spec_path, "items[0].spec.template.spec");
		CHECK_EQ_INT(d->pod.kind, CG_SECCOMP_UNCONFINED);
		CHECK_STR(d->pod.path, "items[0].spec.template.spec.securityContext.seccompProfile");
		CHECK_EQ_INT(d->pod.pos.line, 29);
		CHECK_EQ_INT(d->n_containers, 2);
		if (d->n_containers == 2) {
			CHECK_EQ_INT(d->containers[0].effective.kind, CG_SECCOMP_RUNTIME_DEFAULT);
			CHECK_EQ_INT(d->containers[1].effective.kind, CG_SECCOMP_UNCONFINED);
			CHECK_STR(d->containers[1].effective.path, d->pod.path);
		}
		/* the pod's Unconfined is reported once, for the pod */
		CHECK_EQ_INT(n_violations(d, CG_PSS_BASELINE), 1);
		CHECK_EQ_INT(n_violations(d, CG_PSS_RESTRICTED), 1);

		CHECK_STR(ss->kind, "StatefulSet");
		CHECK_EQ_INT(ss->n_containers, 3);
		if (ss->n_containers == 3) {
			CHECK_EQ_INT(ss->containers[0].kind, CG_CONTAINER_APP);
			CHECK_EQ_INT(ss->containers[1].kind, CG_CONTAINER_INIT);
			CHECK_EQ_INT(ss->containers[2].kind, CG_CONTAINER_EPHEMERAL);
			CHECK_STR(ss->containers[2].path, "spec.template.spec.ephemeralContainers[0]");
		}
		CHECK_EQ_INT(n_violations(ss, CG_PSS_BASELINE), 0);
		CHECK_EQ_INT(n_violations(ss, CG_PSS_RESTRICTED), 3);
	}
	parsed_free(&p);

	/* every workload kind, JSON, one document */
	const char *kinds[] = { "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job" };
	for (size_t i = 0; i < CG_ARRAY_SIZE(kinds); i++) {
		char j[512];
		snprintf(j, sizeof(j),
			 "{\"apiVersion\": \"%s\", \"kind\": \"%s\", \"metadata\": {\"name\": \"x\"},\n"
			 " \"spec\": {\"template\": {\"spec\": {\"containers\": [{\"name\": \"c\", "
			 "\"securityContext\": {\"seccompProfile\": {\"type\": \"Unconfined\"}}}]}}}}",
			 strcmp(kinds[i], "Job") == 0 ? "batch/v1" : "apps/v1", kinds[i]);
		CHECKF(parse_str(j, &p, &err) == 0, "%s: %s", kinds[i], err.msg);
		CHECK_EQ_INT(p.n, 1);
		if (p.n == 1) {
			CHECK_STR(p.w[0]->kind, kinds[i]);
			CHECK_EQ_INT(n_violations(p.w[0], CG_PSS_BASELINE), 1);
			CHECK_EQ_INT(p.w[0]->containers[0].own.pos.line, 2);
			CHECK_EQ_INT(p.w[0]->containers[0].own.pos.col, 109);
		}
		parsed_free(&p);
	}
	CHECK(parse_str("apiVersion: v1\nkind: ReplicationController\nspec: {template: {spec: {containers: []}}}\n", &p,
			&err) == 0);
	CHECK_EQ_INT(p.n, 1);
	parsed_free(&p);
	/* a JSON List, as kubectl get -o json writes it */
	CHECK(parse_str("{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [{\"apiVersion\": \"v1\", \"kind\": "
			"\"Pod\", \"spec\": {\"containers\": [{\"name\": \"a\"}]}}]}",
			&p, &err) == 0);
	CHECK_EQ_INT(p.n, 1);
	if (p.n == 1)
		CHECK_STR(p.w[0]->containers[0].path, "items[0].spec.containers[0]");
	parsed_free(&p);
	return 0;
}

static const char *pod_with(const char *annotations, const char *pod_sc, const char *c_sc, char *buf, size_t n)
{
	snprintf(buf, n,
		 "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n%s"
		 "spec:\n  securityContext:\n%s  containers:\n  - name: web\n    securityContext:\n%s",
		 annotations, pod_sc, c_sc);
	return buf;
}

/* container field > container annotation > pod field > pod annotation */
static int test_precedence(void)
{
#define A_POD_UNC "    seccomp.security.alpha.kubernetes.io/pod: unconfined\n"
#define A_POD_RD "    seccomp.security.alpha.kubernetes.io/pod: docker/default\n"
#define A_C_UNC "    container.seccomp.security.alpha.kubernetes.io/web: unconfined\n"
#define A_C_LH "    container.seccomp.security.alpha.kubernetes.io/web: localhost/prof.json\n"
#define F_POD_RD "    seccompProfile: {type: RuntimeDefault}\n"
#define F_POD_UNC "    seccompProfile: {type: Unconfined}\n"
#define F_C_RD "      seccompProfile: {type: RuntimeDefault}\n"
#define F_C_LH "      seccompProfile: {type: Localhost, localhostProfile: a/b.json}\n"
#define NONE ""
	static const struct {
		const char *ann_pod, *ann_c, *f_pod, *f_c;
		enum cg_seccomp_kind pod, own, eff;
		bool own_ann, pod_ann;
	} cases[] = {
		/* container field beats everything */
		{ A_POD_UNC, A_C_UNC, F_POD_UNC, F_C_RD, CG_SECCOMP_UNCONFINED, CG_SECCOMP_RUNTIME_DEFAULT,
		  CG_SECCOMP_RUNTIME_DEFAULT, false, false },
		/* container annotation beats the pod field */
		{ NONE, A_C_LH, F_POD_UNC, NONE, CG_SECCOMP_UNCONFINED, CG_SECCOMP_LOCALHOST, CG_SECCOMP_LOCALHOST, true,
		  false },
		/* pod field beats the pod annotation */
		{ A_POD_UNC, NONE, F_POD_RD, NONE, CG_SECCOMP_RUNTIME_DEFAULT, CG_SECCOMP_UNSET,
		  CG_SECCOMP_RUNTIME_DEFAULT, false, false },
		/* the pod annotation applies last */
		{ A_POD_RD, NONE, NONE, NONE, CG_SECCOMP_RUNTIME_DEFAULT, CG_SECCOMP_UNSET, CG_SECCOMP_RUNTIME_DEFAULT,
		  false, true },
		{ A_POD_UNC, NONE, NONE, F_C_LH, CG_SECCOMP_UNCONFINED, CG_SECCOMP_LOCALHOST, CG_SECCOMP_LOCALHOST,
		  false, true },
		{ NONE, A_C_UNC, F_POD_RD, NONE, CG_SECCOMP_RUNTIME_DEFAULT, CG_SECCOMP_UNCONFINED,
		  CG_SECCOMP_UNCONFINED, true, false },
	};
	for (size_t i = 0; i < CG_ARRAY_SIZE(cases); i++) {
		char ann[512], buf[2048];
		struct parsed p;
		struct cg_error err = { 0 };
		snprintf(ann, sizeof(ann), "%s%s    other: x\n", cases[i].ann_pod, cases[i].ann_c);
		pod_with(ann, cases[i].f_pod, cases[i].f_c, buf, sizeof(buf));
		if (parse_str(buf, &p, &err) < 0) {
			CHECKF(0, "case %zu: %s", i, err.msg);
			continue;
		}
		const struct cg_k8s_workload *w = p.w[0];
		const struct cg_k8s_container *c = &w->containers[0];
		CHECKF(w->pod.kind == cases[i].pod, "case %zu: pod %d", i, w->pod.kind);
		CHECKF(c->own.kind == cases[i].own, "case %zu: own %d", i, c->own.kind);
		CHECKF(c->effective.kind == cases[i].eff, "case %zu: effective %d", i, c->effective.kind);
		CHECKF(c->own.from_annotation == cases[i].own_ann, "case %zu: own from annotation", i);
		CHECKF(w->pod.from_annotation == cases[i].pod_ann, "case %zu: pod from annotation", i);
		parsed_free(&p);
	}

	/* localhost profile names from either form; an annotation for a
	 * container that does not exist changes nothing */
	char buf[2048];
	struct parsed p;
	struct cg_error err = { 0 };
	pod_with("    container.seccomp.security.alpha.kubernetes.io/other: unconfined\n"
		 "    container.seccomp.security.alpha.kubernetes.io/web: localhost/k8s/x.json\n",
		 "    {}\n", "      {}\n", buf, sizeof(buf));
	CHECKF(parse_str(buf, &p, &err) == 0, "%s", err.msg);
	if (p.n == 1) {
		const struct cg_k8s_container *c = &p.w[0]->containers[0];
		CHECK_EQ_INT(c->own.kind, CG_SECCOMP_LOCALHOST);
		CHECK_STR(c->own.localhost_profile, "k8s/x.json");
		CHECK_STR(c->own.path,
			  "metadata.annotations[\"container.seccomp.security.alpha.kubernetes.io/web\"]");
		CHECK_EQ_INT(c->own.pos.line, 7);
		CHECK_EQ_INT(c->own.pos.col, 57);
		/* recorded, but no setting a current node applies */
		CHECK(cg_k8s_seccomp_enforced(p.w[0], c) == NULL);
		CHECK_EQ_INT(n_violations(p.w[0], CG_PSS_RESTRICTED), 1);
	}
	parsed_free(&p);
	return 0;
}

/* Values Kubernetes rejects are INVALID, and denied at baseline. */
static int test_invalid_values(void)
{
	static const struct {
		const char *ann, *field;
		enum cg_seccomp_kind kind;
	} cases[] = {
		{ "", "      seccompProfile: {type: runtimedefault}\n", CG_SECCOMP_INVALID },
		{ "", "      seccompProfile: {type: Localhost}\n", CG_SECCOMP_INVALID },
		{ "", "      seccompProfile: {type: Localhost, localhostProfile: /etc/x.json}\n", CG_SECCOMP_INVALID },
		{ "", "      seccompProfile: {type: Localhost, localhostProfile: a/../../x.json}\n", CG_SECCOMP_INVALID },
		{ "", "      seccompProfile: {type: RuntimeDefault, localhostProfile: x.json}\n", CG_SECCOMP_INVALID },
		{ "", "      seccompProfile: {localhostProfile: x.json}\n", CG_SECCOMP_INVALID },
		{ "", "      seccompProfile: {type: Localhost, localhostProfile: a/..b/x.json}\n", CG_SECCOMP_LOCALHOST },
		{ "", "      seccompProfile:\n", CG_SECCOMP_UNSET },
		{ "    container.seccomp.security.alpha.kubernetes.io/web: localhost/\n", "      {}\n", CG_SECCOMP_INVALID },
		{ "    container.seccomp.security.alpha.kubernetes.io/web: Unconfined\n", "      {}\n", CG_SECCOMP_INVALID },
		{ "    container.seccomp.security.alpha.kubernetes.io/web:\n", "      {}\n", CG_SECCOMP_INVALID },
		{ "    container.seccomp.security.alpha.kubernetes.io/web: localhost/../x\n", "      {}\n",
		  CG_SECCOMP_INVALID },
	};
	for (size_t i = 0; i < CG_ARRAY_SIZE(cases); i++) {
		char ann[512], buf[2048];
		struct parsed p;
		struct cg_error err = { 0 };
		snprintf(ann, sizeof(ann), "%s    x: y\n", cases[i].ann);
		pod_with(ann, "    {}\n", cases[i].field, buf, sizeof(buf));
		if (parse_str(buf, &p, &err) < 0) {
			CHECKF(0, "case %zu: %s", i, err.msg);
			continue;
		}
		CHECKF(p.w[0]->containers[0].own.kind == cases[i].kind, "case %zu: kind %d", i,
		       p.w[0]->containers[0].own.kind);
		if (cases[i].kind == CG_SECCOMP_INVALID) {
			struct cg_k8s_violation *v = NULL;
			size_t n = 0;
			CHECK(cg_k8s_check_seccomp(p.w[0], CG_PSS_BASELINE, &v, &n) == 0);
			CHECKF(n == 1, "case %zu: %zu violations", i, n);
			if (n == 1)
				CHECK_CONTAINS(v[0].msg, "container \"web\" (containers[0]): seccompProfile is invalid");
			cg_k8s_violations_free(v, n);
		}
		parsed_free(&p);
	}
	return 0;
}

static int test_errors_have_positions(void)
{
	expect_error("apiVersion: v1\nkind: Pod\nspec:\n  containers: {name: a}\n",
		     "t.yaml:4:16: spec.containers: expected a list of containers");
	expect_error("apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: a\n  - image: b\n",
		     "t.yaml:6:5: spec.containers[1]: container has no name");
	expect_error("apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: a\n  - just-a-string\n",
		     "t.yaml:6:5: spec.containers[1]: expected a container (an object)");
	expect_error("apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: a\n    securityContext:\n"
		     "      seccompProfile: [RuntimeDefault]\n",
		     "t.yaml:7:24: spec.containers[0].securityContext.seccompProfile: expected an object");
	expect_error("apiVersion: v1\nkind: Pod\nspec:\n  securityContext: RuntimeDefault\n  containers: []\n",
		     "t.yaml:4:20: spec.securityContext: expected an object");
	expect_error("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n"
		     "    spec:\n      containers:\n      - name: [a]\n",
		     "t.yaml:8:16: spec.template.spec.containers[0].name: expected a string, got a list");
	expect_error("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  replicas: 1\n",
		     "t.yaml:5:3: spec.template: missing (a Deployment needs a pod template)");
	expect_error("apiVersion: batch/v1\nkind: CronJob\nspec:\n  jobTemplate: []\n",
		     "t.yaml:4:3: spec.jobTemplate: expected an object");
	expect_error("apiVersion: v1\nkind: Pod\nmetadata:\n  labels: [a, b]\n", "t.yaml:4:12: metadata.labels: expected an object");
	expect_error("apiVersion: v1\nkind: Pod\nmetadata:\n  annotations: 5\nspec: {}\n",
		     "t.yaml:4:16: metadata.annotations: expected an object");
	expect_error("apiVersion: v1\nkind: Pod\n", "t.yaml:1:1: spec: missing (a Pod needs a spec)");
	expect_error("- a\n- b\n", "t.yaml:1:3: expected a Kubernetes resource");
	expect_error("apiVersion: v1\nkind: Pod\nspec: {}\n---\nmetadata: {name: x}\n",
		     "t.yaml:5:1: missing kind: not a Kubernetes resource");
	expect_error("apiVersion: v1\nkind: List\nitems: {a: b}\n", "t.yaml:3:9: items: expected a list of resources");
	expect_error("apiVersion: v1\nkind: List\nitems:\n- kind: Pod\n  spec: {containers: 7}\n",
		     "t.yaml:5:22: items[0].spec.containers: expected a list of containers");
	/* YAML and JSON syntax errors: the parser's position */
	expect_error("apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: a\n   image: b\n", "t.yaml:6:");
	expect_error("{\"apiVersion\": \"v1\", \"kind\": \"Pod\",\n \"spec\": {\"containers\": [}\n", "t.yaml:2:");
	/* duplicate keys where capgate reads: which one would Kubernetes take? */
	expect_error("apiVersion: v1\nkind: Pod\nkind: Pod\n", "t.yaml:3:1: kind: duplicate key");
	expect_error("apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: a\n    securityContext:\n"
		     "      seccompProfile: {type: RuntimeDefault, type: Unconfined}\n",
		     "t.yaml:7:46: spec.containers[0].securityContext.seccompProfile.type: duplicate key");
	expect_error("apiVersion: v1\nkind: Pod\nmetadata:\n  labels: {a: x, b: y, a: z}\nspec: {}\n",
		     "t.yaml:4:24: metadata.labels[\"a\"]: duplicate key");
	expect_error("apiVersion: v1\nkind: Pod\nmetadata:\n  annotations:\n"
		     "    seccomp.security.alpha.kubernetes.io/pod: runtime/default\n"
		     "    seccomp.security.alpha.kubernetes.io/pod: unconfined\nspec: {}\n",
		     "t.yaml:6:5: metadata.annotations[\"seccomp.security.alpha.kubernetes.io/pod\"]: duplicate key");
	expect_error("apiVersion: v1\nkind: Pod\nmetadata:\n  annotations:\n"
		     "    container.seccomp.security.alpha.kubernetes.io/a: runtime/default\n"
		     "    container.seccomp.security.alpha.kubernetes.io/a: unconfined\nspec: {}\n",
		     "metadata.annotations[\"container.seccomp.security.alpha.kubernetes.io/a\"]: duplicate key");
	/* JSON is strict about types */
	expect_error("{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"spec\": {\"containers\": [{\"name\": \"a\",\n"
		     "  \"securityContext\": {\"seccompProfile\": {\"type\": 5}}}]}}",
		     "t.yaml:2:50: spec.containers[0].securityContext.seccompProfile.type: expected a string");
	expect_error("{\"apiVersion\": \"v1\", \"kind\": 7}", "t.yaml:1:30: kind: expected a string");
	/* aliases and merge keys would hide fields: fail closed */
	expect_error("x: &sc {seccompProfile: {type: Unconfined}}\napiVersion: v1\nkind: Pod\nspec:\n  containers:\n"
		     "  - name: a\n    securityContext:\n      <<: *sc\n",
		     "t.yaml:8:7: spec.containers[0].securityContext: YAML merge keys");
	expect_error("x: &sc {seccompProfile: {type: Unconfined}}\napiVersion: v1\nkind: Pod\nspec:\n  containers:\n"
		     "  - name: a\n    securityContext: *sc\n",
		     "t.yaml:7:23: spec.containers[0].securityContext: YAML aliases are not supported");
	expect_error("", "empty document");
	/* not UTF-8: refused before libfyaml, which loops forever on "%\xf5" */
	expect_error("%\xf5", "t.yaml:1:2: not valid UTF-8 (byte 0xf5)");
	expect_error("apiVersion: v1\nkind: Pod\nmetadata: {name: \"\xc3\xa9\xed\xa0\x80\"}\n",
		     "t.yaml:3:20: not valid UTF-8 (byte 0xed)");
	expect_error("%FOO\n---\nkind: Pod\n", "t.yaml:3:1: spec: missing");
	expect_error("apiVersion: v1\nkind: List\nitems:\n- kind: List\n  items:\n  - kind: List\n    items:\n"
		     "    - kind: List\n      items:\n      - kind: List\n        items: []\n",
		     "nested more than");
	return 0;
}

static int test_accepts(void)
{
	struct parsed p;
	struct cg_error err = { 0 };
	/* unknown fields, empty documents, comments, other kinds */
	CHECKF(parse_str("# header\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: a, uid: 1, whatever: [1, 2]}\n"
			 "spec:\n  nodeSelector: {a: b}\n  containers:\n  - name: a\n    futureField: {x: 1}\n"
			 "    securityContext: {runAsUser: 1000, seccompProfile: {type: RuntimeDefault, x: 1}}\n"
			 "---\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: ns}\n---\n",
			 &p, &err) == 0,
	       "%s", err.msg);
	CHECK_EQ_INT(p.n, 1);
	CHECK_EQ_INT(p.skipped, 1);
	if (p.n == 1)
		CHECK_EQ_INT(p.w[0]->containers[0].own.kind, CG_SECCOMP_RUNTIME_DEFAULT);
	parsed_free(&p);
	/* only other kinds */
	CHECK(parse_str("apiVersion: v1\nkind: Service\nspec: 1\n", &p, &err) == 0);
	CHECK_EQ_INT(p.n, 0);
	CHECK_EQ_INT(p.skipped, 1);
	parsed_free(&p);
	/* aliases elsewhere are not read, so they are fine */
	CHECK(parse_str("apiVersion: v1\nkind: Pod\nmetadata: {name: a, annotations: {x: &v y, z: *v}}\n"
			"spec: {containers: [{name: a, env: [{name: A, value: &b q}, {name: B, value: *b}]}]}\n",
			&p, &err) == 0);
	parsed_free(&p);
	return 0;
}

/* ~20,000 pods/s is the floor for `capgate check`; parse + check of one
 * big stream must be far above it (the limit here is loose for sanitizers). */
/* Many documents in one stream: every workload read and checked. (How fast
 * is the benchmark's business: tests check behaviour, never the clock.) */
static int test_throughput(void)
{
	struct cg_strbuf sb;
	struct parsed p;
	struct cg_error err = { 0 };
	const size_t n = 5000;

	cg_strbuf_init(&sb);
	for (size_t i = 0; i < n; i++) {
		char doc[1024];
		snprintf(doc, sizeof(doc),
			 "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d%zu\n  labels: {app: a%zu}\n"
			 "spec:\n  template:\n    metadata:\n      annotations:\n"
			 "        container.seccomp.security.alpha.kubernetes.io/c1: runtime/default\n"
			 "    spec:\n      securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}\n"
			 "      containers:\n"
			 "      - name: c1\n        image: nginx:1.%zu\n        ports: [{containerPort: 80}]\n"
			 "        securityContext: {allowPrivilegeEscalation: false}\n"
			 "      - name: c2\n        image: envoy\n"
			 "        securityContext: {seccompProfile: {type: RuntimeDefault}, allowPrivilegeEscalation: false}\n",
			 i, i, i);
		cg_strbuf_add(&sb, doc, strlen(doc));
	}
	CHECKF(cg_k8s_parse(sb.buf, sb.len, "big.yaml", &p.w, &p.n, &p.skipped, &err) == 0, "%s", err.msg);
	CHECK_EQ_INT(p.n, n);
	for (size_t i = 0; i < p.n; i++) {
		struct cg_k8s_violation *v = NULL;
		size_t nv = 0;
		CHECK(n_violations(p.w[i], CG_PSS_RESTRICTED) == 0);
		CHECK(cg_k8s_check_pss(p.w[i], CG_PSS_RESTRICTED, &v, &nv) == 0 && nv == 0);
		cg_k8s_violations_free(v, nv);
	}
	parsed_free(&p);
	cg_strbuf_release(&sb);
	return 0;
}

/* A huge mapping is read whole (libfyaml's own duplicate-key check is
 * quadratic, so capgate does its own where it reads; the benchmark times it). */
static int test_big_mapping(void)
{
	struct cg_strbuf sb;
	struct parsed p;
	struct cg_error err = { 0 };

	cg_strbuf_init(&sb);
	cg_strbuf_addf(&sb, "apiVersion: v1\nkind: Pod\nmetadata:\n  labels:\n");
	for (size_t i = 0; i < 50000; i++)
		cg_strbuf_addf(&sb, "    k%zu: v\n", i);
	cg_strbuf_addf(&sb, "  annotations:\n");
	for (size_t i = 0; i < 50000; i++)
		cg_strbuf_addf(&sb, "    container.seccomp.security.alpha.kubernetes.io/c%zu: runtime/default\n", i);
	cg_strbuf_addf(&sb, "spec:\n  containers:\n");
	for (size_t i = 0; i < 20000; i++)
		cg_strbuf_addf(&sb, "  - name: c%zu\n", i * 2);
	CHECKF(cg_k8s_parse(sb.buf, sb.len, "big.yaml", &p.w, &p.n, &p.skipped, &err) == 0, "%s", err.msg);
	CHECK(p.n == 1 && p.w[0]->n_labels == 50000 && p.w[0]->n_containers == 20000);
	if (p.n == 1 && p.w[0]->n_containers == 20000) {
		CHECK_EQ_INT(p.w[0]->containers[19999].own.kind, CG_SECCOMP_RUNTIME_DEFAULT);
		/* annotations only: each container has no setting at restricted */
		CHECK_EQ_INT(n_violations(p.w[0], CG_PSS_BASELINE), 0);
		CHECK_EQ_INT(n_violations(p.w[0], CG_PSS_RESTRICTED), 20000);
	}
	parsed_free(&p);
	cg_strbuf_release(&sb);
	return 0;
}

/* ---- every object accounted for ------------------------------------------ */

static int parse_flags_str(const char *y, unsigned flags, struct parsed *p, struct cg_error *err)
{
	memset(p, 0, sizeof(*p));
	return cg_k8s_parse_flags(y, strlen(y), "t.yaml", flags, &p->w, &p->n, &p->skipped, err);
}

/* Attacks that passed as "0 checked": a typo'd kind, a PodList, a Rollout, a
 * PodTemplate, a benign Pod whose items hold the real one. */
static int test_every_object(void)
{
	static const char unc[] = "{apiVersion: v1, kind: Pod, metadata: {name: hidden}, spec: {securityContext: "
				  "{seccompProfile: {type: Unconfined}}, containers: [{name: a, image: x}]}}";
	char y[2048];
	struct parsed p;
	struct cg_error err = { 0 };

	/* kubectl reads any document with items as a list: only the items */
	snprintf(y, sizeof(y),
		 "apiVersion: v1\nkind: Pod\nmetadata: {name: benign}\nspec:\n"
		 "  securityContext: {seccompProfile: {type: RuntimeDefault}}\n  containers: [{name: a, image: x}]\n"
		 "items:\n- %s\n",
		 unc);
	CHECKF(parse_str(y, &p, &err) == 0, "%s", err.msg);
	CHECK_EQ_INT(p.n, 1);
	if (p.n == 1) {
		CHECK_STR(p.w[0]->name, "hidden");
		CHECK_EQ_INT(n_violations(p.w[0], CG_PSS_BASELINE), 1);
	}
	parsed_free(&p);
	/* PodList and any *List; items: null is an empty list */
	snprintf(y, sizeof(y), "apiVersion: v1\nkind: PodList\nitems:\n- %s\n---\nkind: DeploymentList\napiVersion: apps/v1\nitems:\n", unc);
	CHECKF(parse_str(y, &p, &err) == 0, "%s", err.msg);
	CHECK(p.n == 1 && p.skipped == 0 && strcmp(p.w[0]->name, "hidden") == 0);
	parsed_free(&p);
	expect_error("apiVersion: v1\nkind: List\nitems: {a: b}\n", "t.yaml:3:9: items: expected a list of resources");

	/* a pod template anywhere Kubernetes keeps one */
	CHECKF(parse_str("apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: r}\nspec:\n"
			 "  strategy: {canary: {}}\n  template:\n    metadata: {labels: {app: r}}\n    spec:\n"
			 "      containers: [{name: a, image: x, securityContext: {seccompProfile: {type: Unconfined}}}]\n"
			 "---\napiVersion: v1\nkind: PodTemplate\nmetadata: {name: pt}\ntemplate:\n  spec:\n"
			 "    hostPID: true\n    containers: [{name: b}]\n"
			 "---\napiVersion: example.com/v1\nkind: Nightly\nmetadata: {name: n}\nspec:\n  jobTemplate:\n"
			 "    spec:\n      template:\n        spec: {containers: [{name: c}]}\n"
			 "---\napiVersion: example.com/v1\nkind: Deployment\nmetadata: {name: notapps}\nspec:\n"
			 "  template: {spec: {containers: [{name: d}]}}\n",
			 &p, &err) == 0,
	       "%s", err.msg);
	CHECK_EQ_INT(p.n, 4);
	CHECK_EQ_INT(p.skipped, 0);
	if (p.n == 4) {
		CHECK_STR(p.w[0]->kind, "Rollout");
		CHECK_STR(p.w[0]->pod_spec_path, "spec.template.spec");
		CHECK_EQ_INT(n_violations(p.w[0], CG_PSS_BASELINE), 1);
		CHECK_STR(p.w[1]->kind, "PodTemplate");
		CHECK_STR(p.w[1]->pod_spec_path, "template.spec");
		CHECK_EQ_INT(p.w[1]->host_pid.value, CG_K8S_TRUE);
		CHECK_STR(p.w[1]->host_pid.path, "template.spec.hostPID");
		CHECK_STR(p.w[2]->pod_spec_path, "spec.jobTemplate.spec.template.spec");
		CHECK_STR(p.w[3]->pod_spec_path, "spec.template.spec");
	}
	parsed_free(&p);

	/* the rest is not checked: counted, and with CG_K8S_KEEP_UNCHECKED
	 * returned so that a verdict can say so */
	static const char others[] = "apiVersion: v1\nkind: Pdo\nmetadata: {name: typo, namespace: ns}\nspec:\n"
				     "  containers: [{name: a}]\n---\n"
				     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {a: b}\n---\n"
				     "apiVersion: example.com/v1\nkind: Thing\nspec: {template: {metadata: {}}}\n";
	CHECKF(parse_str(others, &p, &err) == 0, "%s", err.msg);
	CHECK(p.n == 0 && p.skipped == 3);
	parsed_free(&p);
	CHECKF(parse_flags_str(others, CG_K8S_KEEP_UNCHECKED, &p, &err) == 0, "%s", err.msg);
	CHECK(p.n == 3 && p.skipped == 3);
	for (size_t i = 0; i < p.n; i++) {
		CHECK(p.w[i]->not_checked && p.w[i]->not_checked_reason && p.w[i]->n_containers == 0);
		CHECK_EQ_INT(n_violations(p.w[i], CG_PSS_RESTRICTED), 0);
	}
	if (p.n == 3) {
		CHECK_STR(p.w[0]->kind, "Pdo");
		CHECK_STR(p.w[0]->namespace, "ns");
		CHECK_STR(p.w[0]->not_checked_reason,
			  "kind Pdo (apiVersion v1) is not a workload capgate knows and has no pod template");
		CHECK_EQ_INT(p.w[1]->pos.line, 7);
	}
	parsed_free(&p);
	return 0;
}

/* Another engine's policy given as a manifest is an object capgate does not
 * check: it must be reported, not passed over. */
static int test_foreign_policies(void)
{
	static const char *const files[] = {
		"kyverno/pod-security/baseline/restrict-seccomp/restrict-seccomp.yaml",
		"gatekeeper/pod-security-policy/seccompv2/samples/psp-seccomp-restricted/constraint.yaml",
	};
	char path[1024];
	NEED_SHARED("corpus");
	for (size_t i = 0; i < CG_ARRAY_SIZE(files); i++) {
		char *buf = NULL;
		size_t len;
		struct parsed p = { 0 };
		struct cg_error err = { 0 };
		snprintf(path, sizeof(path), "%s/corpus/%s", t_shared(), files[i]);
		if (cg_read_file(path, &buf, &len, &err) < 0) {
			CHECKF(0, "%s", err.msg);
			continue;
		}
		CHECKF(cg_k8s_parse_flags(buf, len, path, CG_K8S_KEEP_UNCHECKED, &p.w, &p.n, &p.skipped, &err) == 0, "%s",
		       err.msg);
		CHECKF(p.n == 1 && p.w[0]->not_checked, "%s: %zu objects", path, p.n);
		parsed_free(&p);
		free(buf);
	}
	return 0;
}

/* Merge keys in every spelling go-yaml merges (and the quoted ones it would
 * not, since one rule is easier to trust), anywhere; alias and complex keys. */
static int test_merge_keys(void)
{
	expect_error("apiVersion: v1\nkind: Pod\nmetadata: {name: m}\nspec:\n  containers:\n  - name: a\n"
		     "    securityContext:\n      !!merge \"<<\": {seccompProfile: {type: Unconfined}}\n",
		     "t.yaml:8:15: spec.containers[0].securityContext: YAML merge keys ('<<', !!merge) are not supported");
	expect_error("apiVersion: v1\nkind: Pod\nmetadata:\n  annotations:\n    <<: {a: b}\nspec: {containers: []}\n",
		     "t.yaml:5:5: metadata.annotations: YAML merge keys");
	expect_error("apiVersion: v1\nkind: Pod\nmetadata: {name: m, labels: {\"<<\": {a: b}}}\nspec: {}\n",
		     "metadata.labels: YAML merge keys");
	expect_error("apiVersion: v1\nkind: Pod\nmetadata: {name: m, labels: {'<<': x}}\nspec: {}\n",
		     "metadata.labels: YAML merge keys");
	expect_error("%TAG !e! tag:yaml.org,2002:\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: m}\n"
		     "spec: {containers: [{name: a, securityContext: {!e!merge x: {privileged: true}}}]}\n",
		     "spec.containers[0].securityContext: YAML merge keys");
	expect_error("apiVersion: v1\nkind: Pod\nmetadata: {name: m}\n"
		     "spec: {containers: [{name: a, securityContext: {!<tag:yaml.org,2002:merge> x: {}}}]}\n",
		     "YAML merge keys");
	/* a merge where capgate reads nothing is refused too */
	expect_error("apiVersion: v1\nkind: Pod\nmetadata: {name: m}\nspec:\n  volumes: [{<<: {name: v}}]\n"
		     "  containers: []\n",
		     "t.yaml:5:14: spec.volumes[0]: YAML merge keys");
	/* JSON: a "<<" field is no merge, but nothing legitimate has one */
	expect_error("{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"<<\": {}}, \"spec\": {}}",
		     "metadata: YAML merge keys");
	expect_error("apiVersion: v1\nkind: Pod\nmetadata: {name: m, labels: {k: &p privileged}}\nspec:\n"
		     "  containers:\n  - name: a\n    securityContext:\n      *p : true\n",
		     "t.yaml:8:8: spec.containers[0].securityContext: a YAML alias as a key is not supported");
	expect_error("apiVersion: v1\nkind: Pod\nmetadata: {name: m}\nspec: {? {a: b} : c}\n",
		     "spec: a key must be a string, not an object");
	/* a duplicate key cannot hide a pod template from the generic reader */
	expect_error("apiVersion: example.com/v1\nkind: Foo\nmetadata: {name: f}\nspec: {}\n"
		     "spec: {template: {spec: {containers: [{name: a}]}}}\n",
		     "t.yaml:5:1: spec: duplicate key");
	/* a "<<" value (not a key) is plain data */
	struct parsed p;
	struct cg_error err = { 0 };
	CHECKF(parse_str("apiVersion: v1\nkind: Pod\nmetadata: {name: m, annotations: {x: \"<<\"}}\nspec: {containers: []}\n",
			 &p, &err) == 0,
	       "%s", err.msg);
	parsed_free(&p);
	return 0;
}

/* ---- the Pod Security fields that bear on the closure ---------------------- */

static size_t pss_count(const struct cg_k8s_workload *w, enum cg_pss_level level, const char *rule, char *msg,
			size_t msg_sz)
{
	struct cg_k8s_violation *v = NULL;
	size_t n = 0, hits = 0;
	if (cg_k8s_check_pss(w, level, &v, &n) < 0)
		return (size_t)-1;
	for (size_t i = 0; i < n; i++) {
		CHECKF(v[i].rule && cg_policy_rule_find(v[i].rule), "violation without a known rule: %s", v[i].msg);
		if (rule && strcmp(v[i].rule, rule) == 0) {
			if (msg && !hits)
				snprintf(msg, msg_sz, "%s @%s:%d", v[i].msg, v[i].path, v[i].pos.line);
			hits++;
		}
	}
	cg_k8s_violations_free(v, n);
	return hits;
}

static int test_pss_fields(void)
{
	static const char base[] = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n%s"
				   "  securityContext: {seccompProfile: {type: RuntimeDefault}}\n"
				   "  containers:\n  - name: a\n    securityContext:\n%s";
	static const struct {
		const char *pod, *sc, *rule;
		size_t baseline, restricted; /* violations of @rule at each level */
		const char *msg;             /* in the first violation (restricted) */
	} cases[] = {
		{ "", "      allowPrivilegeEscalation: false\n", "privilege-escalation", 0, 0, NULL },
		{ "", "      privileged: false\n", "privilege-escalation", 0, 1, "allowPrivilegeEscalation is not set" },
		{ "", "      allowPrivilegeEscalation: true\n", "privilege-escalation", 0, 1,
		  "allowPrivilegeEscalation is true (restricted requires securityContext.allowPrivilegeEscalation: false) "
		  "@spec.containers[0].securityContext.allowPrivilegeEscalation:9" },
		{ "", "      privileged: true\n", "privileged-container", 1, 1,
		  "privileged is true: runtimes apply no seccomp filter to a privileged container, and it has every "
		  "capability @spec.containers[0].securityContext.privileged:9" },
		/* YAML 1.1, as go-yaml (and so Kubernetes) reads it */
		{ "", "      privileged: yes\n", "privileged-container", 1, 1, NULL },
		{ "", "      privileged: On\n", "privileged-container", 1, 1, NULL },
		{ "", "      privileged: no\n", "privileged-container", 0, 0, NULL },
		{ "  hostNetwork: true\n  hostIPC: y\n  hostPID: false\n", "      {}\n", "host-namespace", 2, 2,
		  "pod: hostNetwork is true: the pod shares the node's network namespace @spec.hostNetwork:5" },
		{ "", "      capabilities: {add: [NET_BIND_SERVICE]}\n", "capability-added", 0, 0, NULL },
		{ "", "      capabilities: {add: [CHOWN, KILL], drop: [ALL]}\n", "capability-added", 0, 2,
		  "capabilities.add has CHOWN (restricted allows only NET_BIND_SERVICE)" },
		{ "", "      capabilities: {add: [SYS_ADMIN, CAP_CHOWN, ALL, sys_ptrace]}\n", "capability-added", 4, 4,
		  "capabilities.add has SYS_ADMIN (restricted allows only NET_BIND_SERVICE)" },
	};
	for (size_t i = 0; i < CG_ARRAY_SIZE(cases); i++) {
		char y[1024], msg[512] = "";
		struct parsed p;
		struct cg_error err = { 0 };
		snprintf(y, sizeof(y), base, cases[i].pod, cases[i].sc);
		if (parse_str(y, &p, &err) < 0) {
			CHECKF(0, "case %zu: %s", i, err.msg);
			continue;
		}
		CHECKF(pss_count(p.w[0], CG_PSS_BASELINE, cases[i].rule, NULL, 0) == cases[i].baseline, "case %zu: baseline",
		       i);
		CHECKF(pss_count(p.w[0], CG_PSS_RESTRICTED, cases[i].rule, msg, sizeof(msg)) == cases[i].restricted,
		       "case %zu: restricted", i);
		CHECKF(pss_count(p.w[0], CG_PSS_PRIVILEGED, NULL, NULL, 0) == 0, "case %zu: privileged level", i);
		if (cases[i].msg)
			CHECKF(strstr(msg, cases[i].msg) != NULL, "case %zu: \"%s\" lacks \"%s\"", i, msg, cases[i].msg);
		parsed_free(&p);
	}
	/* a privileged container's Localhost profile is not what runs */
	struct parsed p;
	struct cg_error err = { 0 };
	char msg[512] = "";
	CHECKF(parse_str("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n"
			 "    securityContext:\n      privileged: true\n"
			 "      seccompProfile: {type: Localhost, localhostProfile: prof/a.json}\n",
			 &p, &err) == 0,
	       "%s", err.msg);
	if (p.n == 1) {
		CHECK(pss_count(p.w[0], CG_PSS_BASELINE, "privileged-container", msg, sizeof(msg)) == 1);
		CHECKF(strstr(msg, "so its Localhost profile prof/a.json is not enforced"), "%s", msg);
	}
	parsed_free(&p);
	/* values Kubernetes rejects are errors, with the field */
	expect_error("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, securityContext: "
		     "{privileged: \"true\"}}]\n",
		     "spec.containers[0].securityContext.privileged: expected true or false");
	expect_error("{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"spec\": {\"hostPID\": \"true\", \"containers\": []}}",
		     "spec.hostPID: expected true or false");
	expect_error("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, securityContext: "
		     "{capabilities: {add: SYS_ADMIN}}}]\n",
		     "spec.containers[0].securityContext.capabilities.add: expected a list of strings");
	expect_error("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, securityContext: "
		     "{capabilities: {add: [{x: y}]}}}]\n",
		     "spec.containers[0].securityContext.capabilities.add[0]: expected a string");
	return 0;
}

/* The legacy annotations do nothing since Kubernetes 1.25: never a setting
 * on their own, though an Unconfined one is still denied. */
static int test_annotation_only(void)
{
	struct parsed p;
	struct cg_error err = { 0 };
	struct cg_k8s_violation *v = NULL;
	size_t n = 0;

	CHECKF(parse_str("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n"
			 "    seccomp.security.alpha.kubernetes.io/pod: runtime/default\n"
			 "    container.seccomp.security.alpha.kubernetes.io/b: localhost/x.json\n"
			 "spec:\n  containers:\n  - {name: a}\n  - {name: b}\n"
			 "  - {name: c, securityContext: {seccompProfile: {type: RuntimeDefault}}}\n",
			 &p, &err) == 0,
	       "%s", err.msg);
	if (p.n != 1)
		return 0;
	CHECK(cg_k8s_seccomp_enforced(p.w[0], &p.w[0]->containers[0]) == NULL);
	CHECK(cg_k8s_seccomp_enforced(p.w[0], &p.w[0]->containers[1]) == NULL);
	CHECK(cg_k8s_seccomp_enforced(p.w[0], &p.w[0]->containers[2]) == &p.w[0]->containers[2].own);
	CHECK(cg_k8s_check_seccomp(p.w[0], CG_PSS_RESTRICTED, &v, &n) == 0);
	CHECK_EQ_INT(n, 2);
	if (n == 2) {
		CHECK_STR(v[0].msg, "container \"a\" (containers[0]): seccompProfile is not set: the legacy annotation "
				    "metadata.annotations[\"seccomp.security.alpha.kubernetes.io/pod\"] has done nothing "
				    "since Kubernetes 1.25 (restricted requires RuntimeDefault or Localhost in "
				    "spec.containers[0].securityContext.seccompProfile or spec.securityContext.seccompProfile)");
		CHECK(strstr(v[1].msg, "container.seccomp.security.alpha.kubernetes.io/b"));
		CHECK_STR(v[0].rule, "seccomp-profile");
	}
	cg_k8s_violations_free(v, n);
	CHECK_EQ_INT(n_violations(p.w[0], CG_PSS_BASELINE), 0);
	parsed_free(&p);
	/* an unconfined annotation is denied at baseline all the same */
	CHECKF(parse_str("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n"
			 "    seccomp.security.alpha.kubernetes.io/pod: unconfined\nspec:\n  containers: [{name: a}]\n",
			 &p, &err) == 0,
	       "%s", err.msg);
	CHECK(p.n == 1 && n_violations(p.w[0], CG_PSS_BASELINE) == 1 && n_violations(p.w[0], CG_PSS_RESTRICTED) == 1);
	parsed_free(&p);
	return 0;
}

/* cg_k8s_parse_each: one document at a time, every object, and a stop. */
struct each_state {
	size_t calls, not_checked, stop_at;
	char names[8][16];
};

static int each_cb(const struct cg_k8s_workload *w, void *user, struct cg_error *err)
{
	struct each_state *st = user;
	if (st->calls < 8)
		snprintf(st->names[st->calls], sizeof(st->names[0]), "%s", w->name ? w->name : "?");
	st->not_checked += w->not_checked;
	if (++st->calls == st->stop_at)
		return cg_error_set(err, -ECANCELED, "stop");
	return 0;
}

static int test_parse_each(void)
{
	static const char y[] = "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: []}\n---\n"
				"apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n"
				"- {apiVersion: v1, kind: Pod, metadata: {name: c}, spec: {containers: []}}\n---\n"
				"apiVersion: v1\nkind: Pod\nmetadata: {name: d}\nspec: {containers: []}\n---\n"
				"apiVersion: v1\nkind: Pod\nspec: {containers: {}}\n";
	struct each_state st = { 0 };
	struct cg_error err = { 0 };
	size_t skipped = 0;

	/* the last document is bad: the ones before were handed over, then the error */
	CHECK(cg_k8s_parse_each(y, sizeof(y) - 1, "t.yaml", CG_K8S_KEEP_UNCHECKED, each_cb, &st, &skipped, &err) == -EINVAL);
	CHECK(strstr(err.msg, "t.yaml:19:8: spec.containers: expected a list") != NULL);
	CHECK_EQ_INT(st.calls, 4);
	CHECK_EQ_INT(st.not_checked, 1);
	CHECK(strcmp(st.names[0], "a") == 0 && strcmp(st.names[1], "b") == 0 && strcmp(st.names[2], "c") == 0 &&
	      strcmp(st.names[3], "d") == 0);
	memset(&st, 0, sizeof(st));
	st.stop_at = 2;
	CHECK(cg_k8s_parse_each(y, sizeof(y) - 1, "t.yaml", 0, each_cb, &st, &skipped, &err) == -ECANCELED);
	CHECK_EQ_INT(st.calls, 2);
	return 0;
}

/* ---- the parser cannot be turned against capgate (issue 11) -------------- */

#include <capgate/policy.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

struct parse_case {
	const char *buf;
	size_t len;
	bool k8s;         /* cg_k8s_parse (streaming) rather than cg_doc_parse_all */
	const char *want; /* the error wanted, or NULL for success */
};

/* Run @fn(@arg) in a child: its exit status (or minus the signal that ended
 * it) and its peak resident set in KiB. */
static int in_child(int (*fn)(const void *), const void *arg, long *ret_rss_kb)
{
	struct rusage ru;
	int st;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(fn(arg));
	if (pid < 0 || wait4(pid, &st, 0, &ru) != pid)
		return -1000;
	if (ret_rss_kb)
		*ret_rss_kb = ru.ru_maxrss;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
}

static int noop(const void *arg)
{
	(void)arg;
	return 0;
}

/* The peak RSS a child adds to what it shares with this process at fork. */
static long rss_base_kb(void)
{
	long kb = 0;
	in_child(noop, NULL, &kb);
	return kb;
}

/* 0: the outcome wanted; 1: parsed though an error was wanted; 2: another
 * error (printed) */
static int parse_in_child(const void *arg)
{
	const struct parse_case *c = arg;
	struct cg_error err = { 0 };
	int r;

	if (c->k8s) {
		struct cg_k8s_workload **w = NULL;
		size_t n = 0;
		r = cg_k8s_parse_flags(c->buf, c->len, "m.yaml", CG_K8S_KEEP_JSON, &w, &n, NULL, &err);
		if (r == 0)
			cg_k8s_workloads_free(w, n);
	} else {
		struct fy_document **docs = NULL;
		size_t n = 0;
		r = cg_doc_parse_all(c->buf, c->len, "m.yaml", &docs, &n, NULL, &err);
		for (size_t i = 0; r == 0 && i < n; i++) {
			struct fy_node *root = fy_document_root(docs[i]);
			void *it = NULL;
			struct fy_node_pair *pr;
			size_t l;
			/* read every key and value, as the readers do */
			while (root && fy_node_is_mapping(root) && (pr = fy_node_mapping_iterate(root, &it)) != NULL) {
				fy_node_get_scalar(fy_node_pair_key(pr), &l);
				if (fy_node_is_scalar(fy_node_pair_value(pr)))
					fy_node_get_scalar(fy_node_pair_value(pr), &l);
			}
		}
		docs_free(docs, r == 0 ? n : 0, NULL);
	}
	if (!c->want)
		return r == 0 ? 0 : (printf("  unexpected error: %s\n", err.msg), 2);
	if (r == 0)
		return 1;
	if (!strstr(err.msg, c->want))
		return printf("  error \"%s\" lacks \"%s\"\n", err.msg, c->want), 2;
	return 0;
}

static int test_quote_leak(void)
{
	/* 2000 keys, each with 2000 '' escapes in a row: 8 MB. libfyaml 0.7.12
	 * leaks 8 KB and more per key reading them (270 MB here) */
	struct cg_strbuf sb;
	long rss = 0, base;
	int st;

	cg_strbuf_init(&sb);
	cg_strbuf_addf(&sb, "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  annotations:\n");
	for (int i = 0; i < 2000; i++) {
		cg_strbuf_addf(&sb, "    'k%d", i);
		for (int k = 0; k < 2000; k++)
			cg_strbuf_addf(&sb, "''");
		cg_strbuf_addf(&sb, "': v\n");
	}
	cg_strbuf_addf(&sb, "spec:\n  containers: [{name: a, image: a}]\n");
	base = rss_base_kb();
	for (int k8s = 0; k8s < 2 && !sb.oom; k8s++) {
		struct parse_case c = { sb.buf, sb.len, k8s, "two '' escapes in a row" };
		st = in_child(parse_in_child, &c, &rss);
		CHECKF(st == 0, "%s: child status %d", k8s ? "k8s" : "doc", st);
		CHECKF(rss - base < 48 * 1024, "%s: peak RSS %ld KiB more than at fork for an 8 MB input",
		       k8s ? "k8s" : "doc", rss - base);
	}
	cg_strbuf_release(&sb);

	/* what is refused and what is not: the position is the scalar's */
	expect_error("apiVersion: v1\nkind: Pod\nmetadata:\n  name: 'a''''b'\n", "t.yaml:4:9: ");
	{
		const char *ok = "a: 'x''y'\nb: ''''\nc: \"x''''y\"\nd: x''''y\n'e''f': '''x'''\n";
		struct fy_document **docs = NULL;
		struct cg_error err = { 0 };
		size_t n = 0;
		char b[32];
		CHECKF(cg_doc_parse_all(ok, strlen(ok), "ok.yaml", &docs, &n, NULL, &err) == 0, "%s", err.msg);
		if (n == 1) {
			struct fy_node *r = fy_document_root(docs[0]);
			CHECK_STR(cg_doc_scalar(fy_node_mapping_lookup_by_string(r, "a", -1), b, sizeof(b)), "x'y");
			CHECK_STR(cg_doc_scalar(fy_node_mapping_lookup_by_string(r, "b", -1), b, sizeof(b)), "'");
			CHECK_STR(cg_doc_scalar(fy_node_mapping_lookup_by_string(r, "c", -1), b, sizeof(b)), "x''''y");
			CHECK_STR(cg_doc_scalar(fy_node_mapping_lookup_by_string(r, "d", -1), b, sizeof(b)), "x''''y");
			CHECK_STR(cg_doc_scalar(fy_node_mapping_lookup_by_string(r, "e'f", -1), b, sizeof(b)), "'x'");
		}
		docs_free(docs, n, NULL);
	}
	return 0;
}

static int test_tab_crash(void)
{
	/* six bytes that make fy_parser_destroy() crash in libfyaml 0.7.12 */
	static const char crash[] = "? ::\t?";
	struct parse_case c = { crash, sizeof(crash) - 1, false, "m.yaml:1:4: a tab between ':' and '?'" };
	int st = in_child(parse_in_child, &c, NULL);
	CHECKF(st == 0, "cg_doc_parse_all: child status %d", st);
	c.k8s = true;
	st = in_child(parse_in_child, &c, NULL);
	CHECKF(st == 0, "cg_k8s_parse: child status %d", st);

	/* explicit keys, and tabs elsewhere, still parse */
	static const char *ok[] = {
		"? a\n: b\n",
		"? [a, b]\n: c\n",
		"a:\tb\n",
		"a:\t|\n  x\n",
		"a: b # why? because\n",
		"? a\n: b\nc:\td\n",
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct parse_case g = { ok[i], strlen(ok[i]), false, NULL };
		st = in_child(parse_in_child, &g, NULL);
		CHECKF(st == 0, "\"%s\": child status %d", ok[i], st);
	}
	/* the same six bytes with a space: libfyaml's own error, no crash */
	struct parse_case sp = { "? :: ?", 6, false, "m.yaml:1:" };
	st = in_child(parse_in_child, &sp, NULL);
	CHECKF(st == 0 || st == 1, "\"? :: ?\": child status %d", st);
	return 0;
}

static int test_structure_bounds(void)
{
	struct cg_strbuf sb;
	long rss = 0, base;
	int st;

	/* 2,000,000 items on one line: 4 MB that libfyaml 0.7 turned into
	 * 800 MB of queued tokens before the bound */
	cg_strbuf_init(&sb);
	cg_strbuf_addf(&sb, "[");
	for (int i = 0; i < 2000000 && !sb.oom; i++)
		cg_strbuf_addf(&sb, "1,");
	cg_strbuf_addf(&sb, "1]\n");
	base = rss_base_kb();
	struct parse_case c = { sb.buf, sb.len, false, "more than 500000 separators" };
	st = in_child(parse_in_child, &c, &rss);
	CHECKF(st == 0, "doc: child status %d", st);
	CHECKF(rss - base < 48 * 1024, "doc: peak RSS %ld KiB more than at fork for a 4 MB input", rss - base);
	c.k8s = true;
	st = in_child(parse_in_child, &c, &rss);
	CHECKF(st == 0, "k8s: child status %d", st);
	CHECKF(rss - base < 48 * 1024, "k8s: peak RSS %ld KiB more than at fork for a 4 MB input", rss - base);
	cg_strbuf_release(&sb);

	/* the bound is per document in a stream, per input when all are held */
	cg_strbuf_init(&sb);
	for (int d = 0; d < 2; d++) {
		cg_strbuf_addf(&sb, "---\n");
		for (int i = 0; i < 300000 && !sb.oom; i++)
			cg_strbuf_addf(&sb, "-\n");
	}
	{
		struct cg_doc_stream *s = NULL;
		struct fy_document *d;
		struct cg_error err = { 0 };
		int n = 0, r = cg_doc_stream_open(sb.buf, sb.len, "s.yaml", 0, &s, &err);
		while (r == 0 && (r = cg_doc_stream_next(s, &d, &err)) > 0) {
			n++;
			cg_doc_stream_destroy_doc(s, d);
			r = 0;
		}
		CHECKF(r == 0 && n == 2, "stream: r=%d n=%d %s", r, n, err.msg);
		cg_doc_stream_close(s);
	}
	struct parse_case w = { sb.buf, sb.len, false, "m.yaml:" };
	w.want = "in one file";
	st = in_child(parse_in_child, &w, NULL);
	CHECKF(st == 0, "whole: child status %d", st);
	cg_strbuf_release(&sb);

	/* one document too big in a stream: named by its first line */
	cg_strbuf_init(&sb);
	cg_strbuf_addf(&sb, "a: 1\n---\n");
	for (int i = 0; i < 500001 && !sb.oom; i++)
		cg_strbuf_addf(&sb, "-\n");
	{
		struct cg_doc_stream *s = NULL;
		struct cg_error err = { 0 };
		CHECK(cg_doc_stream_open(sb.buf, sb.len, "s.yaml", 0, &s, &err) == -E2BIG);
		CHECK_CONTAINS(err.msg, "s.yaml:500000:1: more than 500000 separators");
		CHECK_CONTAINS(err.msg, "document that starts on line 2");
		cg_doc_stream_close(s);
	}
	cg_strbuf_release(&sb);

	/* nesting: libfyaml's limit, reported as one */
	cg_strbuf_init(&sb);
	for (int i = 0; i < 70; i++)
		cg_strbuf_addf(&sb, "[");
	{
		struct fy_document **docs = NULL;
		struct cg_error err = { 0 };
		size_t n = 0;
		CHECK(cg_doc_parse_all(sb.buf, sb.len, "d.yaml", &docs, &n, NULL, &err) < 0);
		CHECK_CONTAINS(err.msg, "d.yaml:1:");
		CHECK_CONTAINS(err.msg, "nested deeper than 64 levels");
	}
	cg_strbuf_release(&sb);

	/* documents held at once */
	cg_strbuf_init(&sb);
	for (int i = 0; i < 10001; i++)
		cg_strbuf_addf(&sb, "--- 1\n");
	{
		struct fy_document **docs = NULL;
		struct cg_error err = { 0 };
		size_t n = 0;
		CHECK(cg_doc_parse_all(sb.buf, sb.len, "n.yaml", &docs, &n, NULL, &err) == -E2BIG);
		CHECK_CONTAINS(err.msg, "n.yaml: more than 10000 documents");
	}
	cg_strbuf_release(&sb);
	return 0;
}

static int test_json_aliases(void)
{
	/* the object kept for Rego tests is written as Kubernetes reads it:
	 * libfyaml's JSON emitter refused aliases ("out of memory") */
	static const char pod[] = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n"
				  "  - name: app\n    image: a\n    args: [&x a, *x, 1, -2.5e3, true, null, '3', 010, ~, ]\n"
				  "    env: [{name: E, value: &v \"q\\\"\"}, {name: F, value: *v}]\n";
	struct cg_k8s_workload **w = NULL;
	struct cg_error err = { 0 };
	size_t n = 0;

	CHECKF(cg_k8s_parse_flags(pod, sizeof(pod) - 1, "a.yaml", CG_K8S_KEEP_JSON, &w, &n, NULL, &err) == 0, "%s",
	       err.msg);
	if (n == 1) {
		CHECK_CONTAINS(w[0]->object_json, "\"args\":[\"a\",\"a\",1,-2.5e3,true,null,\"3\",\"010\",\"~\"]");
		CHECK_CONTAINS(w[0]->object_json, "{\"name\":\"F\",\"value\":\"q\\\"\"}");
	}
	cg_k8s_workloads_free(w, n);

	/* billion laughs: aliases may not expand without bound */
	struct cg_strbuf sb;
	cg_strbuf_init(&sb);
	cg_strbuf_addf(&sb, "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nx-laughs:\n"
			    "  l0: &l0 [a, a, a, a, a, a, a, a, a, a]\n");
	for (int i = 1; i < 9; i++)
		cg_strbuf_addf(&sb, "  l%d: &l%d [*l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d]\n", i, i, i - 1,
			       i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
	cg_strbuf_addf(&sb, "spec:\n  containers: [{name: a, image: a}]\n");
	w = NULL;
	n = 0;
	CHECK(cg_k8s_parse_flags(sb.buf, sb.len, "b.yaml", CG_K8S_KEEP_JSON, &w, &n, NULL, &err) < 0);
	CHECK_CONTAINS(err.msg, "aliases expand to more than 500000 nodes");
	cg_k8s_workloads_free(w, n);
	cg_strbuf_release(&sb);

	/* a duplicate key, even where capgate reads nothing, would make the JSON
	 * mean whatever its reader picks (found by fuzz_k8s) */
	static const char dup[] = "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n"
				  "  containers: [{name: a, image: a}]\nx: {a: 1, a: 2}\n";
	w = NULL;
	n = 0;
	CHECK(cg_k8s_parse_flags(dup, sizeof(dup) - 1, "d.yaml", CG_K8S_KEEP_JSON, &w, &n, NULL, &err) < 0);
	CHECK_CONTAINS(err.msg, "d.yaml:6:11: x: duplicate key 'a'");
	cg_k8s_workloads_free(w, n);

	/* and the command's path: policy export --rego-tests */
	char path[] = "/tmp/capgate-alias-XXXXXX";
	int fd = mkstemp(path);
	struct cg_policy *p = NULL;
	if (fd >= 0) {
		CHECK(write(fd, pod, sizeof(pod) - 1) == (ssize_t)(sizeof(pod) - 1));
		close(fd);
		const char *files[] = { path };
		cg_strbuf_init(&sb);
		CHECKF(cg_policy_default(&p, &err) == 0, "%s", err.msg);
		CHECKF(p && cg_policy_export_rego_tests(p, files, 1, &sb, &err) == 0, "%s", err.msg);
		CHECK_CONTAINS(sb.buf, "\"args\":[\"a\",\"a\",");
		cg_policy_free(p);
		cg_strbuf_release(&sb);
		unlink(path);
	}
	return 0;
}

/* Duplicate keys where capgate reads nothing are refused too: kubectl and
 * the API server refuse the whole object ("mapping key already defined"),
 * so a file capgate passes must be a file they accept. */
static int test_duplicates_unread(void)
{
	/* a field capgate never reads */
	expect_error("apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers: [{name: a, image: a}]\n"
		     "status: {phase: Running, phase: Failed}\n",
		     "t.yaml:6:26: status: duplicate key 'phase'");
	/* inside a container, beside fields capgate reads */
	expect_error("apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: a\n    image: a\n"
		     "    resources: {limits: {cpu: 1, cpu: 2}}\n",
		     "t.yaml:7:34: spec.containers[0].resources.limits: duplicate key 'cpu'");
	/* an object capgate does not check, after one it does */
	expect_error("apiVersion: v1\nkind: Pod\nspec: {containers: [{name: a, image: a}]}\n---\n"
		     "apiVersion: v1\nkind: ConfigMap\ndata:\n  a: x\n  a: y\n",
		     "t.yaml:9:3: data: duplicate key 'a'");
	/* an item of a List */
	expect_error("apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n"
		     "  spec: {ports: [{port: 80, port: 81}]}\n",
		     "t.yaml:6:29: items[0].spec.ports[0]: duplicate key 'port'");
	return 0;
}

int main(void)
{
	RUN(test_psa_corpus);
	RUN(test_psa_messages);
	RUN(test_docs_pods);
	RUN(test_gatekeeper);
	RUN(test_gatekeeper_pss);
	RUN(test_kyverno);
	RUN(test_nesting);
	RUN(test_precedence);
	RUN(test_invalid_values);
	RUN(test_errors_have_positions);
	RUN(test_accepts);
	RUN(test_every_object);
	RUN(test_foreign_policies);
	RUN(test_merge_keys);
	RUN(test_pss_fields);
	RUN(test_annotation_only);
	RUN(test_parse_each);
	RUN(test_throughput);
	RUN(test_big_mapping);
	RUN(test_quote_leak);
	RUN(test_tab_crash);
	RUN(test_structure_bounds);
	RUN(test_json_aliases);
	RUN(test_duplicates_unread);
	T_DONE();
}
