/* SPDX-License-Identifier: Apache-2.0 */
/* Capability sets the library starts from (internal; the names and numbers
 * are public in capgate/syscalls.h). */
#ifndef CAPGATE_CLOSURE_CAPABILITIES_H
#define CAPGATE_CLOSURE_CAPABILITIES_H

#include <stddef.h>
#include <stdint.h>

/* Docker's default capability set (moby oci/caps/defaults.go): what a
 * profile is resolved with by default, what `capgate run` gives a root
 * program, what capgate's own OCI bundles hold. Names sorted. */
extern const char *const cg_cap_docker_default[];
extern const size_t cg_cap_docker_default_n;

/* The same set as a mask of capability numbers. */
uint64_t cg_cap_docker_default_mask(void);

#endif
