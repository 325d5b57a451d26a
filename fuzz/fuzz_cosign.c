// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz the cosign simple-signing payload parser (the JSON a trusted key has
 * signed, but that capgate still reads as untrusted input):
 *   - a refusal comes with its code and a message that names the source;
 *   - an accepted payload's fields are NUL-terminated strings within their
 *     buffers, and without a critical object none of them is set;
 *   - parsing is deterministic: a second parse gives the same fields.
 */
#include <string.h>

#include "fuzz.h"
#include "static/sign.h"

#define SOURCE "signature sha256:0123 layers[0]"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cg_sign_payload p, q;
	struct cg_error err = { 0 };
	int r;

	if (size > 65536)
		return 0;
	memset(&p, 0xa5, sizeof(p));
	r = cg_sign_payload_parse((const char *)data, size, SOURCE, &p, &err);
	if (r < 0) {
		if (!err.msg[0] || err.code != r || !strstr(err.msg, SOURCE))
			FAIL("refusal %d without a message naming the source: '%s'", r, err.msg);
		return 0;
	}
	if (!memchr(p.type, '\0', sizeof(p.type)) || !memchr(p.digest, '\0', sizeof(p.digest)) ||
	    !memchr(p.identity, '\0', sizeof(p.identity)))
		FAIL("a field is not NUL-terminated");
	if (!p.has_critical && (p.type[0] || p.digest[0] || p.identity[0]))
		FAIL("fields set without a critical object");
	memset(&q, 0, sizeof(q));
	if (cg_sign_payload_parse((const char *)data, size, SOURCE, &q, &err) < 0)
		FAIL("second parse failed: %s", err.msg);
	if (p.has_critical != q.has_critical || strcmp(p.type, q.type) != 0 || strcmp(p.digest, q.digest) != 0 ||
	    strcmp(p.identity, q.identity) != 0)
		FAIL("two parses differ");
	return 0;
}
