// SPDX-License-Identifier: Apache-2.0
/* Fuzz the policy parser, then evaluate what parses against a fixed closure
 * and image reference, and export it for OPA and Gatekeeper: nothing may
 * crash, leak or loop. */
#include <capgate/policy.h>
#include <string.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char closure_json[] =
		"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\",\"write\",\"ptrace\",\"mount\"],"
		"\"action\":\"SCMP_ACT_ALLOW\"}]}";
	struct cg_policy *p = NULL;
	struct cg_profile *pr = NULL;
	struct cg_closure *c = NULL;
	struct cg_error err = { 0 };
	struct cg_verdict v;

	cg_set_log(NULL, NULL);
	if (cg_policy_parse((const char *)data, size, "<fuzz>", &p, &err) < 0)
		return 0;
	if (cg_profile_parse(closure_json, sizeof(closure_json) - 1, "c", &pr, &err) == 0 &&
	    cg_profile_resolve(pr, NULL, &c, &err) == 0 && cg_policy_eval_closure(p, c, "c", &v, &err) == 0) {
		/* the verdict agrees with the allowed set */
		bool read_ok = cg_policy_allows(p, "read");
		bool flagged = false;
		for (size_t i = 0; i < v.n_findings; i++)
			flagged |= strstr(v.findings[i].msg, "syscall read ") != NULL;
		if (read_ok == flagged)
			__builtin_trap();
		cg_verdict_release(&v);
	}
	if (cg_policy_eval_imageref(p, "registry.example.com.evil.io/app:1", NULL, &v, &err) == 0)
		cg_verdict_release(&v);
	struct cg_strbuf sb;
	cg_strbuf_init(&sb);
	if (cg_policy_export_rego(p, &sb) == 0 && (!sb.buf || !strstr(sb.buf, "package capgate.admission")))
		__builtin_trap();
	cg_policy_export_gatekeeper(p, &sb);
	cg_strbuf_release(&sb);
	cg_closure_free(c);
	cg_profile_free(pr);
	cg_policy_free(p);
	return 0;
}
