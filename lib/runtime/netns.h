/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal: the network part of the sandbox (lib/runtime/netns.c): the
 * network namespace, capgate's port forwarder for --net tcp-connect and
 * tcp-bind, and the socket rules (the second seccomp filter).
 *
 * Planned in the parent (cg_netns_plan), entered in the child
 * (cg_netns_enter, the first step of cg_sandbox_apply), joined by the
 * forwarder from the parent side (cg_netns_spawn_prepare before the fork,
 * cg_netns_spawn_parent after it).
 */
#ifndef CAPGATE_RUNTIME_NETNS_H
#define CAPGATE_RUNTIME_NETNS_H

#include <capgate/compile.h>
#include <capgate/sandbox.h>

#define CG_NETNS_MAX_GRANTS 16
/* TCP ports of each direction the forwarder serves (cg_sandbox_opts). */
#define CG_NETNS_MAX_PORTS 64

struct cg_netns {
	enum cg_sandbox_netns mode; /* resolved: LOOPBACK, NONE or HOST */
	bool forward;               /* tcp ports: capgate's forwarder is the way out */
	bool unix_sockets;          /* --net unix */
	bool sandbox_pidns;         /* the program has a PID namespace (the forwarder's lifetime) */
	uint16_t connect[CG_NETNS_MAX_PORTS], bind[CG_NETNS_MAX_PORTS];
	size_t n_connect, n_bind;
	bool filter; /* the filter is loaded: socket rules (every mode but host), the memfd rule */
	struct cg_socket_grant grants[CG_NETNS_MAX_GRANTS];
	size_t n_grants;
	struct cg_socket_rules rules;
	struct cg_bpf_prog prog; /* the compiled socket rules */
	int link[2];             /* per spawn, parent <-> child: [0] parent's end, [1] child's; -1 */
};

/* Check @o's --net values (host alone; none without ports; a port not both
 * connect and bind), decide the namespace, the way out and the socket
 * rules, and compile them for the arches of @arch_mask (the closure's; 0
 * without a closure: every arch). */
int cg_netns_plan(struct cg_netns *n, const struct cg_sandbox_opts *o, uint32_t arch_mask, struct cg_error *err);
/* Add the memfd_create rule (MFD_NOEXEC_SEAL required) to the filter, which
 * --net host then carries for this rule alone; for where vm.memfd_noexec
 * cannot be set (an ordinary user, no PID namespace). */
int cg_netns_deny_memfd_exec(struct cg_netns *n, struct cg_error *err);
/* Free the program and close the link (not @n itself). */
void cg_netns_release(struct cg_netns *n);

/* Append the network part of a dry run: namespace, way out, socket rules. */
void cg_netns_describe(const struct cg_netns *n, struct cg_strbuf *out);

/* Before the fork of a spawn: the link over which the child hands its
 * namespace to the forwarder (only when there is a forwarder). */
int cg_netns_spawn_prepare(struct cg_netns *n, struct cg_error *err);

/* In the child: move into the network namespace the plan asks for (a new
 * one, through a user namespace mapped to the caller's ids when not
 * privileged; "lo" up; for tcp-connect every address routed to "lo" so the
 * forwarder's listeners take the connections), then, with a forwarder,
 * hand the namespace over and wait until the forwarder listens. */
int cg_netns_enter(struct cg_netns *n, struct cg_error *err);

/* In the parent after the fork: take the child's namespace, start the
 * forwarder, tell the child whether it runs. Returns 0 when the child gave
 * up before (its own failure is reported by cg_sandbox_supervise). */
int cg_netns_spawn_parent(struct cg_netns *n, pid_t child, struct cg_error *err);

/* Load the socket rules (no_new_privs must be set): before the closure's
 * filter. Nothing to do for --net host. */
int cg_netns_apply_filter(const struct cg_netns *n, struct cg_error *err);

#endif
