/* SPDX-License-Identifier: Apache-2.0 */
/* Internal: the network namespace part of the sandbox (lib/runtime/netns.c). */
#ifndef CAPGATE_RUNTIME_NETNS_H
#define CAPGATE_RUNTIME_NETNS_H

#include <capgate/sandbox.h>

/* Move the calling process into the network namespace @mode asks for:
 * nothing for CG_NETNS_HOST; a new one (through a new user namespace mapped
 * to the caller's ids when not privileged) otherwise, with "lo" brought up
 * for CG_NETNS_LOOPBACK. */
int cg_netns_enter(enum cg_sandbox_netns mode, struct cg_error *err);

#endif
