/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal: the prepared sandbox as lib/runtime/sandbox.c (preparing,
 * applying, spawning) and lib/runtime/notify.c (the explain supervisor)
 * share it.
 */
#ifndef CAPGATE_RUNTIME_SANDBOX_INTERNAL_H
#define CAPGATE_RUNTIME_SANDBOX_INTERNAL_H

#include <capgate/compile.h>
#include <capgate/sandbox.h>
#include <stdatomic.h>

#include "runtime/caps.h"
#include "runtime/fsview.h"
#include "runtime/landlock.h"
#include "runtime/namespaces.h"
#include "runtime/netns.h"
#include "runtime/phases.h"
#include "runtime/rlimit.h"

#define CG_SANDBOX_MAX_RLIMITS 16

struct cg_sandbox {
	struct cg_sandbox_opts opts; /* pointers cleared: the plans below own what they said */
	struct cg_closure *closure;  /* the enforced closure as given (NULL: no seccomp) */
	struct cg_compile_opts copts;
	struct cg_bpf_prog prog;
	unsigned int flags;
	bool listener;                /* the filter creates a notification fd */
	bool sockets_folded;          /* the socket rules are part of prog: not loaded on their own */
	bool sockets_stacked;         /* ... as the two filters would answer (else explain's notifying fold) */
	bool phased;                  /* phase-aware enforcement (runtime/phases.h) */
	int serving, startup;         /* phase indexes when phased */
	struct cg_serve_trigger trig; /* the trigger in force when phased */
	unsigned window_s;            /* per-process start-up windows, seconds (0 = none) */
	struct cg_landlock ll;
	struct cg_netns *net;     /* network namespace, forwarder link, socket rules */
	struct cg_ns_plan ns;     /* the namespaces the outer process is cloned into */
	struct cg_caps_plan caps; /* user and capability sets */
	struct cg_rlimit rlimits[CG_SANDBOX_MAX_RLIMITS];
	size_t n_rlimits;
	struct cg_fsview fsview;
	char **missing; /* Landlock's and the view's missing protections (borrowed) */
	size_t n_missing;
};

/* listener_fd when the program waits before its execve without a listener. */
#define CG_SANDBOX_HELD (-2)

/* Shared with the child, written without system calls after the filter is on. */
struct cg_sandbox_shared {
	atomic_int listener_fd;  /* child -> parent: the listener's number, -1 until loaded */
	atomic_int acked;        /* parent -> child: listener taken, go on */
	atomic_int program_done; /* init -> capgate: the program ended, program_status is set */
	int program_status;      /* its raw wait status, as its init saw it */
	int exec_errno;
	int setup_errno;
	char setup_msg[CG_ERROR_MAX];
	/* the sd-notify trigger: the abstract name of the socket the program
	 * makes (capgate -> child, empty: none), its number in the program
	 * (child -> capgate, set before listener_fd) and capgate's copy */
	char notify_name[64];
	int notify_child_fd;
	int notify_fd;
};

/* What the original closure (with the prologue, and --audit if @with_audit)
 * answers for a raw call: explain mode compiles a rewritten closure, so the
 * supervisor asks this for the effect a denial should have. */
struct cg_action cg_sandbox_original_action(const struct cg_sandbox *sb, uint32_t audit_arch, uint32_t nr,
					    const uint64_t args[6], bool with_audit);
/* Whether the socket rules (--net) deny this call, whatever the closure says. */
bool cg_sandbox_socket_denies(const struct cg_sandbox *sb, uint32_t audit_arch, uint32_t nr, const uint64_t args[6]);
/* The same in phase @phase (-1 = every phase): the phase-aware supervisor's
 * decision. */
struct cg_action cg_sandbox_phase_action(const struct cg_sandbox *sb, int phase, uint32_t audit_arch, uint32_t nr,
					 const uint64_t args[6]);

#endif
