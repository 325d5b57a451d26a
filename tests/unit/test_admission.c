// SPDX-License-Identifier: Apache-2.0
/* AdmissionReview in, answer out, without a network: verdicts equal to
 * cg_policy_eval_workload on the same object, every malformed body denied,
 * the namespace taken from the request, and mutation that never weakens. */
#include <capgate/admission.h>

#include <openssl/evp.h>

#include "t.h"

#define POD_OK                                                                                                      \
	"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\"},\"spec\":{\"securityContext\":"    \
	"{\"seccompProfile\":{\"type\":\"RuntimeDefault\"}},\"containers\":[{\"name\":\"app\",\"image\":\"nginx\"," \
	"\"securityContext\":{\"allowPrivilegeEscalation\":false}}]}}"
#define POD_PRIV                                                                                                 \
	"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"bad\",\"namespace\":\"kube-system\"}," \
	"\"spec\":{\"containers\":[{\"name\":\"app\",\"image\":\"nginx\",\"securityContext\":{\"privileged\":true}}]}}"
#define POD_BARE "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"bare\"},\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x\"},{\"name\":\"b\",\"image\":\"y\",\"securityContext\":{\"runAsNonRoot\":true}},{\"name\":\"c\",\"image\":\"z\",\"securityContext\":{\"seccompProfile\":{\"type\":\"Unconfined\"}}}]}}"

static char *review_of(const char *uid, const char *ns, const char *obj, const char *extra)
{
	char *s;
	if (asprintf(&s,
		     "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"%s\","
		     "\"kind\":{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Pod\"},\"operation\":\"CREATE\","
		     "\"namespace\":\"%s\",\"object\":%s%s}}",
		     uid, ns, obj, extra ? extra : "") < 0)
		abort();
	return s;
}

static int answer(const struct cg_policy *p, const char *body, const struct cg_admission_opts *o,
		  struct cg_admission_result *r)
{
	struct cg_error err = { 0 };
	int rc = cg_admission_review(p, body, strlen(body), o, r, &err);
	CHECKF(rc == 0, "cg_admission_review: %s", err.msg);
	if (rc == 0)
		CHECK(r->response && r->response[0] == '{');
	return rc;
}

/* The verdict capgate check gives the same object. */
static bool check_allows(const struct cg_policy *p, const char *obj, const char *ns)
{
	struct cg_k8s_workload **w = NULL;
	size_t n = 0;
	struct cg_verdict v;
	struct cg_error err = { 0 };
	struct cg_eval_env env = { .sz = sizeof(env) };
	bool ok;

	if (cg_k8s_parse(obj, strlen(obj), "obj", &w, &n, NULL, &err) < 0 || n != 1)
		abort();
	free(w[0]->namespace);
	w[0]->namespace = strdup(ns);
	if (cg_policy_eval_workload(p, w[0], &env, &v, &err) < 0)
		abort();
	ok = cg_verdict_allowed(&v);
	cg_verdict_release(&v);
	cg_k8s_workloads_free(w, n);
	return ok;
}

static int test_verdicts_equal_check(void)
{
	_cleanup_(cg_policy_freep) struct cg_policy *p = NULL;
	struct cg_admission_opts o = { .sz = sizeof(o) };
	struct cg_admission_result r;
	struct cg_error err = { 0 };
	const char *objs[] = { POD_OK, POD_PRIV, POD_BARE };

	CHECK(cg_policy_parse("profiles: {requireContents: false}\n", 35, "p", &p, &err) == 0);
	for (size_t i = 0; i < 3; i++) {
		char *b = review_of("uid-1", "default", objs[i], NULL);
		if (answer(p, b, &o, &r) == 0) {
			CHECKF(r.allowed == check_allows(p, objs[i], "default"), "object %zu: %s", i, r.message);
			CHECK_STR(r.uid, "uid-1");
			CHECK_CONTAINS(r.response, "\"uid\":\"uid-1\"");
			CHECK_CONTAINS(r.response, r.allowed ? "\"allowed\":true" : "\"allowed\":false");
			if (!r.allowed) {
				CHECK_EQ_INT(r.code, 403);
				CHECK_CONTAINS(r.response, "\"code\":403");
				CHECK_CONTAINS(r.response, "\"auditAnnotations\":{\"verdict\":\"deny\"");
			}
			cg_admission_result_release(&r);
		}
		free(b);
	}
	/* the deny names the reason and where */
	char *b = review_of("u2", "default", POD_PRIV, NULL);
	if (answer(p, b, &o, &r) == 0) {
		CHECK_CONTAINS(r.response, "privileged-container,");
		CHECK_CONTAINS(r.message, "request.object.spec.containers[0].securityContext.privileged");
		cg_admission_result_release(&r);
	}
	free(b);
	/* dryRun: the same answer, marked */
	b = review_of("u3", "default", POD_OK, ",\"dryRun\":true");
	if (answer(p, b, &o, &r) == 0) {
		CHECK(r.allowed && r.dry_run);
		cg_admission_result_release(&r);
	}
	free(b);
	return 0;
}

/* The attack: a Pod that names an exempt namespace in its own metadata
 * while the API server creates it elsewhere. The request's namespace rules. */
static int test_namespace_is_the_requests(void)
{
	_cleanup_(cg_policy_freep) struct cg_policy *p = NULL;
	struct cg_admission_opts o = { .sz = sizeof(o) };
	struct cg_admission_result r;
	struct cg_error err = { 0 };
	const char *pol = "profiles: {requireContents: false}\nexemptions: {namespaces: [kube-system]}\n";
	char *b;

	CHECKF(cg_policy_parse(pol, strlen(pol), "p", &p, &err) == 0, "%s", err.msg);
	b = review_of("u", "default", POD_PRIV, NULL);
	if (answer(p, b, &o, &r) == 0) {
		CHECKF(!r.allowed, "a Pod claiming kube-system in default was allowed: %s", r.message);
		cg_admission_result_release(&r);
	}
	free(b);
	b = review_of("u", "kube-system", POD_PRIV, NULL);
	if (answer(p, b, &o, &r) == 0) {
		CHECK(r.allowed);
		CHECK_STR(r.reason, "exempt");
		cg_admission_result_release(&r);
	}
	free(b);
	return 0;
}

static int test_bad_bodies_denied(void)
{
	_cleanup_(cg_policy_freep) struct cg_policy *p = NULL;
	struct cg_admission_opts o = { .sz = sizeof(o), .max_body = 4096 };
	struct cg_admission_result r;
	struct cg_error err = { 0 };
	char big[5000];
	const char *env = "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":";
	struct {
		const char *body, *why;
	} cases[] = {
		{ "", "not a JSON object" },
		{ "not json", "not a JSON object" },
		{ "[1,2]", "not a JSON object" },
		{ "{\"apiVersion\":", "not valid JSON" },
		{ "{\"apiVersion\":\"admission.k8s.io/v1beta1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"a\"}}",
		  "expected admission.k8s.io/v1" },
		{ "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"ConfigMap\",\"request\":{\"uid\":\"a\"}}",
		  "expected AdmissionReview" },
		{ "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\"}", "request: missing" },
		{ "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"operation\":\"CREATE\"}}",
		  "request.uid: missing" },
		{ "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":7}}",
		  "request.uid: missing or not a string" },
		{ "{\"apiVersion\":\"admission.k8s.io/v1\",\"apiVersion\":\"x\",\"kind\":\"AdmissionReview\"}",
		  "duplicate key" },
		{ "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"a\","
		  "\"operation\":\"CREATE\"}}",
		  "request.object: missing" },
		{ "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"a\","
		  "\"operation\":\"PATCH\",\"object\":{}}}",
		  "unknown operation" },
		{ "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"a\","
		  "\"operation\":\"CREATE\",\"object\":{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"spec\":{\"containers\":"
		  "\"nope\"}}}}",
		  "request.object.spec.containers" },
		{ "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"a\","
		  "\"operation\":\"CREATE\",\"dryRun\":\"yes\",\"object\":{}}}",
		  "request.dryRun" },
		{ "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"a\"}} {}",
		  "more than one JSON value" },
		{ "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"a\xff\"}}",
		  "not valid JSON" },
	};

	CHECK(cg_policy_parse("profiles: {requireContents: false}\n", 35, "p", &p, &err) == 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (answer(p, cases[i].body, &o, &r) != 0)
			continue;
		CHECKF(!r.allowed, "case %zu allowed: %s", i, cases[i].body);
		CHECKF(r.code == 400, "case %zu: code %d", i, r.code);
		CHECKF(r.message && strstr(r.message, cases[i].why), "case %zu: message '%s', want '%s'", i,
		       r.message ? r.message : "(null)", cases[i].why);
		CHECK_CONTAINS(r.response, "\"allowed\":false");
		cg_admission_result_release(&r);
	}
	/* too large: denied before it is parsed */
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, env, strlen(env));
	if (answer(p, big, &o, &r) == 0) {
		CHECK(!r.allowed);
		CHECK_CONTAINS(r.message, "over the limit of 4096");
		cg_admission_result_release(&r);
	}
	/* the object is one resource: a Pod carrying "items" is not judged by them */
	char *b = review_of("u", "default", "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"x\"},"
					    "\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"i\",\"securityContext\":"
					    "{\"privileged\":true}}]},\"items\":[" POD_OK "]}",
			    NULL);
	if (answer(p, b, &o, &r) == 0) {
		CHECKF(!r.allowed, "a Pod with items was judged by them: %s", r.message);
		cg_admission_result_release(&r);
	}
	free(b);
	/* request.kind and the object disagree */
	b = review_of("u", "default", "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"x\"},"
				      "\"spec\":{\"template\":{\"spec\":{\"containers\":[]}}}}",
		      NULL);
	if (answer(p, b, &o, &r) == 0) {
		CHECK(!r.allowed);
		CHECK_CONTAINS(r.message, "the request is for a Pod");
		cg_admission_result_release(&r);
	}
	free(b);
	/* DELETE has nothing to judge */
	const char *del = "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"d\","
			  "\"operation\":\"DELETE\",\"object\":null}}";
	if (answer(p, del, &o, &r) == 0) {
		CHECK(r.allowed);
		cg_admission_result_release(&r);
	}
	return 0;
}

static char *patch_of(const struct cg_admission_result *r)
{
	const char *k = strstr(r->response, "\"patch\":\"");
	unsigned char *out;
	size_t n;
	int m;

	if (!k)
		return NULL;
	k += 9;
	n = strcspn(k, "\"");
	out = calloc(1, n + 1);
	m = EVP_DecodeBlock(out, (const unsigned char *)k, (int)n);
	if (m < 0) {
		free(out);
		return NULL;
	}
	return (char *)out;
}

static int test_mutate_never_weakens(void)
{
	_cleanup_(cg_policy_freep) struct cg_policy *p = NULL;
	struct cg_admission_opts o = { .sz = sizeof(o), .mutate = true };
	struct cg_admission_result r;
	struct cg_error err = { 0 };
	char *b, *patch;

	CHECK(cg_policy_default(&p, &err) == 0);
	/* no closure digest known and no fallback: nothing set, a warning says so */
	b = review_of("m1", "default", POD_BARE, NULL);
	if (answer(p, b, &o, &r) == 0) {
		CHECK(r.allowed);
		CHECK_EQ_INT(r.n_patches, 0);
		CHECK(!strstr(r.response, "\"patch\""));
		CHECK_CONTAINS(r.response, "no closure digest");
		cg_admission_result_release(&r);
	}
	/* RuntimeDefault as the fallback: a and b get it, c keeps Unconfined
	 * (for /validate to deny; never silently changed) */
	o.fallback_profile = "RuntimeDefault";
	o.runtime_class = "gvisor";
	if (answer(p, b, &o, &r) == 0) {
		CHECK(r.allowed);
		CHECK_EQ_INT(r.n_patches, 3);
		CHECK_CONTAINS(r.response, "\"patchType\":\"JSONPatch\"");
		patch = patch_of(&r);
		CHECKF(patch && strcmp(patch, "[{\"op\":\"add\",\"path\":\"/spec/containers/0/securityContext\",\"value\":"
					      "{\"seccompProfile\":{\"type\":\"RuntimeDefault\"}}},"
					      "{\"op\":\"add\",\"path\":\"/spec/containers/1/securityContext/"
					      "seccompProfile\",\"value\":{\"type\":\"RuntimeDefault\"}},"
					      "{\"op\":\"add\",\"path\":\"/spec/runtimeClassName\",\"value\":\"gvisor\"}]") ==
					0,
		       "patch: %s", patch ? patch : "(none)");
		free(patch);
		cg_admission_result_release(&r);
	}
	free(b);
	/* a pod-level setting covers every container: nothing to add */
	b = review_of("m2", "default", POD_OK, NULL);
	if (answer(p, b, &o, &r) == 0) {
		patch = patch_of(&r);
		CHECKF(patch && !strstr(patch, "seccompProfile"), "patch: %s", patch ? patch : "(none)");
		free(patch);
		cg_admission_result_release(&r);
	}
	free(b);
	/* a bad body is denied by /mutate too */
	if (answer(p, "{}", &o, &r) == 0) {
		CHECK(!r.allowed);
		cg_admission_result_release(&r);
	}
	return 0;
}

/* The attack on the namespace's profiles: a Pod that claims tenant-a (where
 * RuntimeDefault is allowed) in its own metadata while the API server
 * creates it in tenant-b (Localhost tenant-b/ profiles only) gets
 * tenant-b's rules, the same verdict capgate check gives it there. */
static int test_namespace_profiles_are_the_requests(void)
{
	_cleanup_(cg_policy_freep) struct cg_policy *p = NULL;
	struct cg_admission_opts o = { .sz = sizeof(o) };
	struct cg_admission_result r;
	struct cg_error err = { 0 };
	const char *pol = "profiles: {requireContents: false}\n"
			  "namespaces:\n"
			  "  tenant-a: {allowedProfiles: [RuntimeDefault]}\n"
			  "  tenant-b: {allowedProfiles: [\"tenant-b/*\"], defaultProfile: tenant-b/base.json}\n";
	const char *pod = "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\",\"namespace\":\"tenant-a\"},"
			  "\"spec\":{\"securityContext\":{\"seccompProfile\":{\"type\":\"RuntimeDefault\"}},\"containers\":"
			  "[{\"name\":\"app\",\"image\":\"nginx\",\"securityContext\":{\"allowPrivilegeEscalation\":false}}]}}";
	char *b;

	CHECKF(cg_policy_parse(pol, strlen(pol), "p", &p, &err) == 0, "%s", err.msg);
	if (!p)
		return 0;
	b = review_of("u", "tenant-b", pod, NULL);
	if (answer(p, b, &o, &r) == 0) {
		CHECKF(!r.allowed, "a Pod claiming tenant-a in tenant-b was allowed: %s", r.message);
		CHECK_STR(r.reason, "profile-not-allowed");
		CHECK_CONTAINS(r.message, "seccomp profile RuntimeDefault is not allowed in namespace tenant-b");
		CHECK(r.allowed == check_allows(p, pod, "tenant-b"));
		cg_admission_result_release(&r);
	}
	free(b);
	b = review_of("u", "tenant-a", pod, NULL);
	if (answer(p, b, &o, &r) == 0) {
		CHECKF(r.allowed, "%s", r.message);
		CHECK(r.allowed == check_allows(p, pod, "tenant-a"));
		cg_admission_result_release(&r);
	}
	free(b);

	/* /mutate: tenant-b's defaultProfile, not the webhook's own default,
	 * goes where a container names none; c keeps its Unconfined */
	o.mutate = true;
	o.fallback_profile = "RuntimeDefault";
	b = review_of("m", "tenant-b", POD_BARE, NULL);
	if (answer(p, b, &o, &r) == 0) {
		char *patch = patch_of(&r);
		CHECKF(patch && strcmp(patch, "[{\"op\":\"add\",\"path\":\"/spec/containers/0/securityContext\",\"value\":"
					      "{\"seccompProfile\":{\"type\":\"Localhost\",\"localhostProfile\":"
					      "\"tenant-b/base.json\"}}},"
					      "{\"op\":\"add\",\"path\":\"/spec/containers/1/securityContext/"
					      "seccompProfile\",\"value\":{\"type\":\"Localhost\",\"localhostProfile\":"
					      "\"tenant-b/base.json\"}}]") == 0,
		       "patch: %s", patch ? patch : "(none)");
		free(patch);
		cg_admission_result_release(&r);
	}
	free(b);
	/* a namespace with no defaultProfile: the webhook's own */
	b = review_of("m", "tenant-a", POD_BARE, NULL);
	if (answer(p, b, &o, &r) == 0) {
		char *patch = patch_of(&r);
		CHECKF(patch && strstr(patch, "{\"type\":\"RuntimeDefault\"}") && !strstr(patch, "tenant-b"), "patch: %s",
		       patch ? patch : "(none)");
		free(patch);
		cg_admission_result_release(&r);
	}
	free(b);
	return 0;
}

static void note_uid(const char *uid, void *user)
{
	char *seen = user;
	snprintf(seen, 64, "%s%s", seen[0] ? "+" : "", uid); /* twice would show as "+uid" */
}

/* What a server that gives up on an evaluation sends: a deny under the
 * uid on_uid handed over before the object was judged (and only once), with
 * the Kubernetes status reason for its code. */
static int test_server_denies(void)
{
	_cleanup_(cg_policy_freep) struct cg_policy *p = NULL;
	struct cg_error err = { 0 };
	struct cg_admission_result r;
	char seen[64] = "";
	struct cg_admission_opts o = { .sz = sizeof(o), .on_uid = note_uid, .user = seen };
	char *b;

	CHECK(cg_policy_default(&p, &err) == 0);
	if (!p)
		return 0;
	b = review_of("uid-77", "default", POD_BARE, NULL);
	if (answer(p, b, &o, &r) == 0) {
		CHECK_STR(seen, "uid-77");
		cg_admission_result_release(&r);
	}
	free(b);
	CHECK(cg_admission_deny("uid-77", 504, "timeout", "capgate: too slow", &r, &err) == 0);
	CHECK(!r.allowed && r.code == 504);
	CHECK_STR(r.reason, "timeout");
	CHECK(r.response && strstr(r.response, "\"uid\":\"uid-77\",\"allowed\":false"));
	CHECK(r.response && strstr(r.response, "\"code\":504,\"reason\":\"Timeout\",\"message\":\"capgate: too slow\""));
	CHECK(r.response && strstr(r.response, "\"auditAnnotations\":{\"verdict\":\"deny\",\"reason\":\"timeout\"}"));
	cg_admission_result_release(&r);
	CHECK(cg_admission_deny(NULL, 429, "busy", "capgate: busy", &r, &err) == 0);
	CHECK(r.response && strstr(r.response, "\"uid\":\"\",\"allowed\":false") && strstr(r.response, "TooManyRequests"));
	cg_admission_result_release(&r);
	CHECK(cg_admission_deny("u", 200, "x", "y", &r, &err) == -EINVAL); /* never an allow */
	CHECK(cg_admission_deny("u", 403, NULL, "y", &r, &err) == -EINVAL);
	return 0;
}

int main(void)
{
	RUN(test_verdicts_equal_check);
	RUN(test_namespace_is_the_requests);
	RUN(test_bad_bodies_denied);
	RUN(test_mutate_never_weakens);
	RUN(test_namespace_profiles_are_the_requests);
	RUN(test_server_denies);
	T_DONE();
}
