/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The OCI / Docker / Podman seccomp profile format, in and out, with exact
 * error positions. A profile keeps everything the file says (includes and
 * excludes, archMap, comments) so it can be written back; resolving it for
 * a capability set, kernel version and architecture gives a closure.
 *
 * capgate's own extra fields ride along in the same JSON, ignored by other
 * runtimes: per syscall entry "phases" (list of names) and "count" (number),
 * and at the top "capgate": {"phases": [...], "serveWhen": "listening:8080"}.
 */
#ifndef CAPGATE_PROFILE_H
#define CAPGATE_PROFILE_H

#include <capgate/closure.h>

struct cg_pos {
	int line, col; /* 1-based; 0 = unknown */
};

struct cg_profile_filter {
	char **caps;
	size_t n_caps;
	char **arches;
	size_t n_arches;
	char *min_kernel; /* "4.8" */
};

struct cg_profile_syscall {
	char **names;
	size_t n_names;
	struct cg_pos *name_pos;
	bool single_name;        /* old format: "name" instead of "names" */
	struct cg_action action; /* data = errnoRet (or trace msg) if given */
	bool has_errno_ret;
	char *errno_name; /* Podman's "errno": "EPERM" */
	struct cg_arg_cond *args;
	size_t n_args;
	char *comment;
	struct cg_profile_filter includes, excludes;
	char **phases; /* capgate extension */
	size_t n_phases;
	uint64_t count; /* capgate extension */
	char **arches;  /* capgate extension: the rule holds only on these */
	size_t n_arches;
	struct cg_pos pos;
};

struct cg_profile_archmap {
	char *arch;
	char **subs;
	size_t n_subs;
};

/* A non-fatal finding made while parsing (e.g. a field other runtimes
 * ignore); lint reports them. */
struct cg_profile_note {
	struct cg_pos pos;
	char *path; /* field path, "syscalls[3].errno" */
	char *msg;
};

struct cg_profile {
	char *source; /* file name, for messages */
	char *name;   /* metadata.name of a SeccompProfile resource */
	struct cg_action default_action;
	bool has_default_errno_ret;
	char *default_errno_name; /* Podman's "defaultErrno" */
	char **architectures;
	size_t n_architectures;
	struct cg_pos *arch_pos;
	struct cg_profile_archmap *arch_map;
	size_t n_arch_map;
	char **flags;
	size_t n_flags;
	char *listener_path, *listener_metadata;
	struct cg_profile_syscall *syscalls;
	size_t n_syscalls;
	char **phase_names; /* capgate extension */
	size_t n_phase_names;
	struct cg_profile_note *notes;
	size_t n_notes;
	bool syscalls_null;      /* "syscalls": null */
	char *serve_when;        /* capgate extension: "capgate": {"serveWhen": ...} (capgate/phase.h) */
	unsigned worker_startup; /* capgate extension: "capgate": {"workerStartup": SECONDS}, 0 = none */
};

/* Parse a profile from memory. @source names it in errors. JSON is parsed
 * strictly (duplicate keys, wrong types, unknown actions/ops/arches/flags
 * are errors naming line:column and field path). A Kubernetes SeccompProfile
 * resource (YAML, kind SeccompProfile) is accepted too: its spec is read. */
CAPGATE_API int cg_profile_parse(const char *buf, size_t len, const char *source,
				 struct cg_profile **ret, struct cg_error *err);
/* Parse every document of a stream (a multi-document YAML file of
 * SeccompProfile resources, say) into *ret_n profiles. *ret is a malloc'd
 * array; free each profile and the array. Documents that are not profiles
 * are an error. */
CAPGATE_API int cg_profile_parse_all(const char *buf, size_t len, const char *source,
				     struct cg_profile ***ret, size_t *ret_n, struct cg_error *err);
/* Whether a stream holds seccomp profiles rather than Kubernetes objects:
 * its first document is a mapping with a defaultAction and no kind, or of
 * kind SeccompProfile. Reads that document only; on a syntax error the
 * answer is false and the caller's real parse reports it. */
CAPGATE_API bool cg_profile_sniff(const char *buf, size_t len);
/* Read and parse the file at @path ("-" = stdin, named "<stdin>" in
 * errors) with cg_profile_parse(). */
CAPGATE_API int cg_profile_load(const char *path, struct cg_profile **ret, struct cg_error *err);
/* Free (NULL-safe). */
CAPGATE_API void cg_profile_free(struct cg_profile *p);
static inline void cg_profile_freep(struct cg_profile **p) { cg_profile_free(*p); }

/* Append the profile to @out as JSON: deterministic, two-space indentation,
 * fields in the OCI order, everything the input said kept. Returns 0 or
 * -ENOMEM. */
CAPGATE_API int cg_profile_write(const struct cg_profile *p, struct cg_strbuf *out);

/* What the runtime that loads a profile does with its includes/excludes. */
enum cg_cond_runtime {
	/* Docker, CRI-O, Podman: resolved (moby's rules: an exclude that
	 * matches or an include that does not skips the entry), with the
	 * container's capabilities and the node's kernel and arch. capgate run
	 * does the same. */
	CG_COND_RESOLVE = 0,
	/* containerd's CRI: a Localhost profile is decoded straight into the
	 * OCI runtime spec, which has no includes/excludes (nor archMap): every
	 * entry applies, whatever its conditions. */
	CG_COND_IGNORE,
	/* Unknown: the worst of both. A permitting entry counts (containerd
	 * would apply it); a denying entry counts only when resolving surely
	 * applies it too. */
	CG_COND_ANY,
};

struct cg_resolve_opts {
	size_t sz;               /* sizeof(struct cg_resolve_opts) */
	const char *const *caps; /* capabilities the container has ("CAP_SYS_ADMIN") */
	size_t n_caps;
	bool default_caps;                   /* use Docker's default capability set */
	unsigned kernel_major, kernel_minor; /* 0.0 = the running kernel (unless any_kernel) */
	int native_arch;                     /* -1 = the machine's (unless any_arch) */
	/* The node's kernel (arch) is not known -- the normal case at
	 * admission: a permitting entry counts when some kernel (arch) could
	 * apply it, a denying entry only when every one would. The closure is
	 * then the union of what any node could allow. */
	bool any_kernel, any_arch;
	int runtime; /* enum cg_cond_runtime; 0 = CG_COND_RESOLVE */
};

/* Resolve includes/excludes and archMap for a capability set, kernel and
 * native arch (or the worst case over them, and over runtimes: see
 * cg_resolve_opts), into a closure. Names unknown to capgate in a permitting
 * rule are skipped with a log warning; in a denying rule (or any rule when
 * the default permits) they are an error: capgate cannot prove the call is
 * handled. */
CAPGATE_API int cg_profile_resolve(const struct cg_profile *p, const struct cg_resolve_opts *opts,
				   struct cg_closure **ret, struct cg_error *err);

/* The capabilities of a container as the node's runtime computes them from
 * a Kubernetes securityContext: the runtime's default set (Docker's and
 * containerd's 14; CRI-O's stock set is a subset), then "ALL" in @add gives
 * every capability and "ALL" in @drop removes every one, then each other
 * @add, then each other @drop (a capability both added and dropped is
 * dropped, as containerd and CRI-O apply them). @privileged gives every
 * capability. Names may be written with or without "CAP_", in any case;
 * the result is "CAP_*" names, sorted, without repeats (a name that is no
 * capability is kept: the runtime refuses the container, so it changes
 * nothing). *ret is a malloc'd array: free each name and it. 0 or -ENOMEM. */
CAPGATE_API int cg_caps_effective(const char *const *add, size_t n_add, const char *const *drop, size_t n_drop,
				  bool privileged, char ***ret, size_t *ret_n);

/* The closure @c as a profile (through its canonical JSON, capgate's
 * extensions included). @plain is not looked at yet. Returns 0, -ENOMEM or
 * the parse error. */
CAPGATE_API int cg_profile_from_closure(const struct cg_closure *c, bool plain, struct cg_profile **ret);

/* Convenience: load the profile or closure file at @path (one profile) and
 * resolve it with @opts (NULL = defaults). */
CAPGATE_API int cg_closure_load(const char *path, const struct cg_resolve_opts *opts,
				struct cg_closure **ret, struct cg_error *err);

#endif
