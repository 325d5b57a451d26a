/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kubernetes manifests: workloads, their pod specs and containers, and the
 * seccomp settings Pod Security Standards look at.
 */
#ifndef CAPGATE_K8S_H
#define CAPGATE_K8S_H

#include <capgate/profile.h>

enum cg_seccomp_kind {
	CG_SECCOMP_UNSET,
	CG_SECCOMP_RUNTIME_DEFAULT, /* RuntimeDefault, runtime/default, docker/default */
	CG_SECCOMP_LOCALHOST,       /* Localhost + localhostProfile, localhost/<path> */
	CG_SECCOMP_UNCONFINED,      /* Unconfined, unconfined */
	CG_SECCOMP_INVALID,         /* a value Kubernetes would reject */
};

struct cg_seccomp_setting {
	enum cg_seccomp_kind kind;
	char *localhost_profile; /* for LOCALHOST: path relative to <kubelet-root>/seccomp */
	bool from_annotation;    /* the legacy seccomp.security.alpha.kubernetes.io annotations */
	char *path;              /* field path where it was set, e.g. "spec.securityContext.seccompProfile" */
	struct cg_pos pos;
};

enum cg_container_kind { CG_CONTAINER_APP,
			 CG_CONTAINER_INIT,
			 CG_CONTAINER_EPHEMERAL };

/* The pod annotation prefix that declares a container's calls. */
#define CG_K8S_ANN_DECLARED "io.capgate.syscalls/"

struct cg_k8s_container {
	char *name;
	char *image;
	enum cg_container_kind kind;
	struct cg_seccomp_setting own;       /* the container's own setting (field or annotation) */
	struct cg_seccomp_setting effective; /* after the pod-level default is applied */
	char *path;                          /* "spec.template.spec.initContainers[0]" */
	struct cg_pos pos;
	/* The calls the container declares it needs: the pod annotation
	 * io.capgate.syscalls/<name> (names separated by commas or spaces),
	 * raw; NULL when absent. The Rego export reads the same annotation. */
	char *declared;
	char *declared_path; /* metadata.annotations["io.capgate.syscalls/web"] */
	struct cg_pos declared_pos;
};

struct cg_k8s_workload {
	char *source;     /* file name */
	size_t doc_index; /* 0-based document in the stream */
	struct cg_pos pos;
	char *api_version, *kind, *name, *namespace;
	char **label_keys, **label_values;
	size_t n_labels;
	char *pod_spec_path;           /* "spec", "spec.template.spec", "spec.jobTemplate.spec.template.spec" */
	struct cg_seccomp_setting pod; /* pod-level setting (field or annotation) */
	struct cg_k8s_container *containers;
	size_t n_containers;
	char *object_json; /* the whole object as one-line JSON (CG_K8S_KEEP_JSON), else NULL */
};

/* Parse every workload in the YAML or JSON stream @buf (@source names it in
 * errors; NULL = "<input>"): Pod, Deployment, StatefulSet, DaemonSet,
 * ReplicaSet, ReplicationController, Job, CronJob (and the items of a List).
 * Other kinds are skipped; @ret_skipped, if not NULL, receives how many.
 * *ret is a malloc'd array of *ret_n workloads (cg_k8s_workloads_free).
 * Errors name source:line:col and the field path. */
CAPGATE_API int cg_k8s_parse(const char *buf, size_t len, const char *source, struct cg_k8s_workload ***ret,
			     size_t *ret_n, size_t *ret_skipped, struct cg_error *err);

/* cg_k8s_parse() with @flags: CG_K8S_KEEP_JSON keeps each object as JSON
 * in object_json (for tests handed to other engines, say). */
enum { CG_K8S_KEEP_JSON = 1 };
CAPGATE_API int cg_k8s_parse_flags(const char *buf, size_t len, const char *source, unsigned flags,
				   struct cg_k8s_workload ***ret, size_t *ret_n, size_t *ret_skipped, struct cg_error *err);
/* Called with each workload as soon as its document has been read; a
 * negative return stops the parse and is returned. */
typedef int (*cg_k8s_workload_fn)(const struct cg_k8s_workload *w, void *ctx);
/* cg_k8s_parse_flags() that hands each workload to @fn and frees it, so a
 * stream of any length holds one document's workloads at a time. */
CAPGATE_API int cg_k8s_parse_each(const char *buf, size_t len, const char *source, unsigned flags,
				  cg_k8s_workload_fn fn, void *ctx, size_t *ret_skipped, struct cg_error *err);
/* Free one workload (NULL-safe), or the array @v of @n workloads from
 * cg_k8s_parse(). */
CAPGATE_API void cg_k8s_workload_free(struct cg_k8s_workload *w);
CAPGATE_API void cg_k8s_workloads_free(struct cg_k8s_workload **v, size_t n);

/* Pod Security Standards levels, for the seccomp rules. */
enum cg_pss_level { CG_PSS_PRIVILEGED,
		    CG_PSS_BASELINE,
		    CG_PSS_RESTRICTED };

/* One reason a workload fails a rule. */
struct cg_k8s_violation {
	const struct cg_k8s_container *container; /* NULL = the pod itself */
	char *msg;                                /* "container \"web\" (containers): seccompProfile is Unconfined" */
	char *path;                               /* field path of the offending (or missing) setting */
	struct cg_pos pos;
};

/* The PSS seccomp check of @w for @level (privileged: nothing; baseline:
 * Unconfined or an invalid value on the pod or any container is denied,
 * unset is allowed; restricted: also every container, init and ephemeral
 * included, must have RuntimeDefault or Localhost set on itself or inherited
 * from the pod; a container that inherits a bad pod setting is reported once,
 * through the pod). *ret is a malloc'd array of *ret_n violations (NULL and
 * 0 when there are none); free with cg_k8s_violations_free(). Returns 0,
 * -EINVAL (a NULL argument) or -ENOMEM. */
CAPGATE_API int cg_k8s_check_seccomp(const struct cg_k8s_workload *w, enum cg_pss_level level,
				     struct cg_k8s_violation **ret, size_t *ret_n);
/* Free the array @v of @n violations (NULL-safe). */
CAPGATE_API void cg_k8s_violations_free(struct cg_k8s_violation *v, size_t n);

/* The value of @w's label @key, or NULL. */
CAPGATE_API const char *cg_k8s_label(const struct cg_k8s_workload *w, const char *key);

#endif
