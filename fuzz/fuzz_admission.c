// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz the AdmissionReview decoder: whatever the body, there is an answer
 * (only out of memory may fail, and the allocator does not fail here), the
 * answer is JSON capgate reads back, an answer without a uid is a deny, and
 * a body that is not an admission.k8s.io/v1 AdmissionReview is never
 * allowed. Both the validating and the mutating answers are checked.
 */
#include <capgate/admission.h>

#include <string.h>

#include "core/doc.h"
#include "fuzz.h"

static struct cg_policy *policy;

static void one(const char *body, size_t size, bool mutate)
{
	struct cg_admission_opts o = { .sz = sizeof(o), .mutate = mutate, .max_body = 1 << 16 };
	struct cg_admission_result r;
	struct cg_error err = { 0 };
	struct fy_document **docs = NULL;
	size_t n = 0;

	if (cg_admission_review(policy, body, size, &o, &r, &err) < 0)
		FAIL("no answer: %s", err.msg);
	if (cg_doc_parse_all(r.response, r.response_len, "answer", &docs, &n, NULL, &err) < 0 || n != 1)
		FAIL("the answer is not one JSON document: %s", err.msg);
	for (size_t i = 0; i < n; i++)
		fy_document_destroy(docs[i]);
	free(docs);
	if (r.allowed && !r.uid)
		FAIL("allowed without a uid");
	if (r.allowed && !memmem(body, size, "admission.k8s.io/v1", 19))
		FAIL("allowed a body that names no admission.k8s.io/v1");
	if (r.allowed == (r.code != 200))
		FAIL("allowed %d with code %d", r.allowed, r.code);
	cg_admission_result_release(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cg_error err = { 0 };

	if (size > 1 << 16)
		return 0;
	if (!policy && cg_policy_default(&policy, &err) < 0)
		FAIL("default policy: %s", err.msg);
	one((const char *)data, size, false);
	one((const char *)data, size, true);
	return 0;
}
