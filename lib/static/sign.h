/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal: the cosign simple-signing payload, read apart from the verdict
 * so that the parser of untrusted JSON can be tested and fuzzed on its own.
 */
#ifndef CAPGATE_STATIC_SIGN_H
#define CAPGATE_STATIC_SIGN_H

#include <capgate/common.h>
#include <capgate/error.h>

#define CG_COSIGN_MT_SIMPLESIGNING "application/vnd.dev.cosign.simplesigning.v1+json"
#define CG_COSIGN_TYPE "cosign container image signature"

/* What a payload says; "" where it says nothing usable. */
struct cg_sign_payload {
	bool has_critical;  /* "critical" is an object */
	char type[64];      /* critical.type */
	char digest[80];    /* critical.image.docker-manifest-digest */
	char identity[256]; /* critical.identity.docker-reference */
};

/* Parse a simple-signing payload: one JSON object, else -EINVAL with the
 * position. A member that is absent, not a string, or too long for its
 * field is left "": whether the payload is acceptable is the caller's
 * decision (cg_sign_verify_layout checks type and digest). */
int cg_sign_payload_parse(const char *buf, size_t len, const char *source, struct cg_sign_payload *ret,
			  struct cg_error *err);

#endif
