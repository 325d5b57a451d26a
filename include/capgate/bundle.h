/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OCI runtime bundles: a closure written into config.json's linux.seccomp,
 * and a bundle made from a root file system and run by an OCI runtime
 * (runsc, crun, runc), so the closure capgate computed is what the
 * container runtime enforces.
 */
#ifndef CAPGATE_BUNDLE_H
#define CAPGATE_BUNDLE_H

#include <capgate/closure.h>

/* The annotation that records which closure a bundle enforces. */
#define CG_ANN_CLOSURE_DIGEST "io.capgate.closure.digest"

/* Write @c (capgate's fields stripped: a plain OCI profile) as
 * linux.seccomp of @bundle/config.json and its digest as the annotation
 * io.capgate.closure.digest; every other member is kept as it was. The
 * file is replaced atomically. */
CAPGATE_API int cg_bundle_apply(const char *bundle, const struct cg_closure *c, struct cg_error *err);

struct cg_bundle_opts {
	size_t sz;
	const char *runtime; /* "runsc", "crun" or "runc" (or a path ending in one) */
	const char *rootfs;  /* the container's root file system (mounted read-only) */
	char *const *args;   /* the workload */
	size_t n_args;
	const char *runtime_bin; /* the binary to run; NULL = @runtime in PATH */
};

/* Make a bundle for @o->rootfs and @o->args with @c as its seccomp
 * profile, run it with the runtime (its state and the bundle in private
 * temporary directories, removed afterwards; stdio relayed through pipes,
 * never the caller's own file descriptors, which runsc would chown), and
 * wait. runsc runs with --network=none --oci-seccomp (the closure is
 * enforced inside the sandbox); crun in a private mount namespace without
 * the cgroup2 mount of a hybrid hierarchy, which it refuses. The
 * workload's exit status (128+N for signal N) into @ret_status. */
CAPGATE_API int cg_bundle_run(const struct cg_closure *c, const struct cg_bundle_opts *o, int *ret_status,
			      struct cg_error *err);

#endif
