/* SPDX-License-Identifier: Apache-2.0 */
/* Internal: the node agent behind `capgate node-sync` (lib/static/nodesync.c).
 * It installs closures as the Localhost seccomp profiles the admission
 * webhook names: <kubelet-root>/seccomp/capgate/sha256-<hex>.json. */
#ifndef CAPGATE_STATIC_NODESYNC_H
#define CAPGATE_STATIC_NODESYNC_H

#include <capgate/error.h>

/* The directory under the kubelet root, and the profile prefix a Pod names
 * (localhostProfile: capgate/sha256-<hex>.json). */
#define CG_NODESYNC_SUBDIR "seccomp/capgate"
/* The list of profiles node-sync wrote (in the profile directory): only
 * those are ever removed. */
#define CG_NODESYNC_OWNED ".capgate-node-sync.owned"

struct cg_nodesync_opts {
	size_t sz;                /* sizeof(struct cg_nodesync_opts) */
	const char *source;       /* a directory of closures, or a mounted ConfigMap */
	const char *kubelet_root; /* e.g. /var/lib/kubelet */
	/* Source entries also installed under their own name (capgate/NAME),
	 * for a profile a manifest names directly: capgate's own. */
	const char *const *named;
	size_t n_named;
	/* Remove nothing in this pass (an init container's pass, which runs
	 * beside a running agent's ownership list and must not shrink it). */
	bool no_remove;
};

enum cg_nodesync_state {
	CG_NODESYNC_WRITTEN,   /* the profile was written (new, or its file differed) */
	CG_NODESYNC_UNCHANGED, /* the profile was already there, byte for byte */
	CG_NODESYNC_ERROR,     /* not a valid closure, or not writable: skipped */
	CG_NODESYNC_IGNORED,   /* not a .json, .yaml or .yml file */
};

struct cg_nodesync_entry {
	char *name; /* file name in the source */
	enum cg_nodesync_state state;
	char digest[72]; /* "sha256:<hex>", empty unless written or unchanged */
	char *error;     /* the reason, for CG_NODESYNC_ERROR */
};

struct cg_nodesync_result {
	struct cg_nodesync_entry *entries; /* in name order */
	size_t n_entries;
	char **removed; /* profile file names removed (they left the source) */
	size_t n_removed;
	size_t n_written, n_unchanged, n_errors;
	/* Some entry was bad, so no profile was removed in this pass: a bad
	 * entry may be the new version of a profile Pods still use. */
	bool removal_held;
};

/* One pass: read every closure of the source (a ConfigMap mount is read
 * through its ..data link, one consistent version), validate each (parse,
 * resolve as `capgate resolve` does, refuse what a runtime would widen),
 * write each canonical closure atomically as
 * <kubelet-root>/seccomp/capgate/sha256-<hex>.json, then remove the profiles
 * this agent wrote that left the source. A bad entry is skipped and
 * reported in @ret; the pass returns 0. Returns a negative errno (and
 * nothing is removed) when the source or the profile directory cannot be
 * used: unreadable, not a directory, a symbolic link. Release @ret with
 * cg_nodesync_result_release() in every case. */
int cg_nodesync_once(const struct cg_nodesync_opts *opts, struct cg_nodesync_result *ret, struct cg_error *err);
/* Free what a pass filled in (NULL-safe); @r is zeroed. */
void cg_nodesync_result_release(struct cg_nodesync_result *r);

/* An inotify descriptor watching @source for the changes a pass reads
 * (files written, moved, removed; a ConfigMap's ..data swap). */
int cg_nodesync_watch(const char *source, int *ret_fd, struct cg_error *err);
/* Wait up to @timeout_ms (-1: no limit) for a change on @fd and drain its
 * events: 1 changed, 0 timed out, -EINTR on a signal, or a negative errno. */
int cg_nodesync_wait(int fd, int timeout_ms);

#endif
