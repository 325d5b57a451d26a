/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A closure written for tools that do not read capgate's format: the
 * Security Profiles Operator's SeccompProfile resource. Such tools ignore
 * (or refuse) capgate's extensions, so an export that would let the target
 * allow more than the closure does is refused rather than widened.
 */
#ifndef CAPGATE_EXPORT_H
#define CAPGATE_EXPORT_H

#include <capgate/closure.h>
#include <capgate/error.h>
#include <capgate/strbuf.h>

struct cg_spo_opts {
	size_t sz;             /* sizeof(struct cg_spo_opts) */
	const char *name;      /* metadata.name (a DNS-1123 subdomain); required */
	const char *namespace; /* metadata.namespace (a DNS-1123 label); NULL = none */
	bool json;             /* JSON instead of YAML */
};

/* Append @c to @out as a Security Profiles Operator SeccompProfile
 * (security-profiles-operator.x-k8s.io/v1beta1), its closure digest in the
 * io.capgate.closure.digest annotation. Only the fields of the operator's
 * schema are written (phases, counts and origins are dropped: a runtime
 * applies every rule in every phase). Returns 0, -EINVAL with a message
 * when the name is not a valid object name or the closure says something
 * the resource cannot (a permitting rule restricted to some of its
 * architectures, an errno default other than EPERM, a flag the operator
 * does not know), or -ENOMEM. @out is appended to only on success. */
CAPGATE_API int cg_closure_write_spo(const struct cg_closure *c, const struct cg_spo_opts *opts,
				     struct cg_strbuf *out, struct cg_error *err);

/* Whether a runtime that reads the closure's canonical JSON as a plain OCI
 * profile (ignoring capgate's per-rule "arches" and "phases") enforces no
 * more than the closure allows: 0, or -EINVAL naming the first permitting
 * rule that holds only on some of the closure's architectures (the runtime
 * would apply it on all of them). Phases are not a widening: the closure a
 * runtime gets is the union of its phases by definition. */
CAPGATE_API int cg_closure_check_plain(const struct cg_closure *c, struct cg_error *err);

#endif
