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

/* A boolean field of a securityContext or pod spec: unset, false or true,
 * with where it was written. */
enum cg_k8s_bool { CG_K8S_UNSET,
		   CG_K8S_FALSE,
		   CG_K8S_TRUE };

struct cg_k8s_flag {
	enum cg_k8s_bool value;
	char *path; /* "spec.containers[0].securityContext.privileged"; NULL when unset */
	struct cg_pos pos;
};

/* The pod annotation prefix that declares a container's calls. */
#define CG_K8S_ANN_DECLARED "io.capgate.syscalls/"

struct cg_k8s_container {
	char *name;
	char *image;
	enum cg_container_kind kind;
	/* own and effective are the settings as written, the legacy annotations
	 * included (what Gatekeeper's v1 templates and pre-1.25 kubelets read);
	 * cg_k8s_seccomp_enforced() gives what a current node applies. */
	struct cg_seccomp_setting own;       /* the container's own setting (field or annotation) */
	struct cg_seccomp_setting effective; /* after the pod-level default is applied */
	struct cg_k8s_flag privileged;       /* securityContext.privileged */
	struct cg_k8s_flag allow_privilege_escalation;
	char **caps_add, **caps_drop; /* securityContext.capabilities, as written */
	size_t n_caps_add, n_caps_drop;
	char *caps_add_path; /* "...securityContext.capabilities.add", NULL when absent */
	struct cg_pos caps_add_pos;
	char *path; /* "spec.template.spec.initContainers[0]" */
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
	char *object_json;                                   /* the whole object as one-line JSON (CG_K8S_KEEP_JSON), else NULL */
	struct cg_k8s_flag host_network, host_pid, host_ipc; /* the pod spec's host namespaces */
	/* CG_K8S_KEEP_UNCHECKED: an object that holds no pod capgate can read
	 * (a kind it does not know, without a pod template). Only source,
	 * doc_index, pos, api_version, kind, name, namespace and labels are set;
	 * not_checked_reason says why, for a person. */
	bool not_checked;
	char *not_checked_reason;
};

/* Parse every workload in the YAML or JSON stream @buf (@source names it in
 * errors; NULL = "<input>"), as the API server and kubectl read it: Pod,
 * Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job,
 * CronJob and PodTemplate; any other object with a pod template
 * (spec.template, spec.jobTemplate.spec.template: Argo Rollouts, Knative and
 * other custom resources); and the items of any document with an "items"
 * key (List, PodList, ... and any other kind: kubectl reads such a document
 * as a list, and only its items). Other objects are not checked;
 * @ret_skipped, if not NULL, receives how many.
 * YAML merge keys ("<<" in any spelling, or a !!merge tag), alias keys and
 * non-string keys are errors anywhere in a document: Kubernetes would merge
 * or resolve fields capgate would not see. So are duplicate keys, wherever
 * they are: kubectl and the API server refuse the object.
 * *ret is a malloc'd array of *ret_n workloads (cg_k8s_workloads_free).
 * Errors name source:line:col and the field path. */
CAPGATE_API int cg_k8s_parse(const char *buf, size_t len, const char *source, struct cg_k8s_workload ***ret,
			     size_t *ret_n, size_t *ret_skipped, struct cg_error *err);

/* cg_k8s_parse() with @flags: CG_K8S_KEEP_JSON keeps each object as JSON
 * in object_json (for tests handed to other engines, say);
 * CG_K8S_KEEP_UNCHECKED returns the objects that are not checked too, with
 * not_checked set (they are still counted in @ret_skipped). */
enum { CG_K8S_KEEP_JSON = 1,
       CG_K8S_KEEP_UNCHECKED = 2 };
CAPGATE_API int cg_k8s_parse_flags(const char *buf, size_t len, const char *source, unsigned flags,
				   struct cg_k8s_workload ***ret, size_t *ret_n, size_t *ret_skipped, struct cg_error *err);

/* Called for each workload (or not-checked object) as soon as its document
 * is read; @w is borrowed and freed after the call. A negative return stops
 * the parse and is returned (fill @err). */
typedef int (*cg_k8s_each_fn)(const struct cg_k8s_workload *w, void *user, struct cg_error *err);
/* cg_k8s_parse_flags() one document at a time: memory does not grow with
 * the number of documents. Workloads of a document that has an error are
 * not passed on. */
CAPGATE_API int cg_k8s_parse_each(const char *buf, size_t len, const char *source, unsigned flags,
				  cg_k8s_each_fn fn, void *user, size_t *ret_skipped, struct cg_error *err);
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
	const char *rule;                         /* the static gate's rule id: "seccomp-profile", "privileged-container", ... */
	const struct cg_k8s_container *container; /* NULL = the pod itself */
	char *msg;                                /* "container \"web\" (containers): seccompProfile is Unconfined" */
	char *path;                               /* field path of the offending (or missing) setting */
	struct cg_pos pos;
};

/* The PSS seccomp check of @w for @level (privileged: nothing; baseline:
 * Unconfined or an invalid value on the pod or any container is denied,
 * unset is allowed; restricted: also
 * every container, init and ephemeral included, must have RuntimeDefault or
 * Localhost in a seccompProfile field, its own or the pod's: the legacy
 * annotations alone do not count (they do nothing since Kubernetes 1.25,
 * and Pod Security Admission reads fields only), though an Unconfined or
 * invalid annotation is still denied; a container that inherits a bad pod
 * setting is reported once, through the pod). *ret is a malloc'd array of *ret_n violations (NULL and
 * 0 when there are none); free with cg_k8s_violations_free(). Returns 0,
 * -EINVAL (a NULL argument) or -ENOMEM. */
CAPGATE_API int cg_k8s_check_seccomp(const struct cg_k8s_workload *w, enum cg_pss_level level,
				     struct cg_k8s_violation **ret, size_t *ret_n);
/* The Pod Security Standards checks that bear on the closure, at @level,
 * seccomp included (as cg_k8s_check_seccomp): baseline denies privileged
 * containers (runtimes apply no seccomp to them: a Localhost profile is not
 * enforced), host namespaces (hostNetwork, hostPID, hostIPC) and
 * capabilities added beyond the baseline list; restricted also requires
 * allowPrivilegeEscalation: false and adds nothing but NET_BIND_SERVICE.
 * Each violation carries its rule id. Same ownership as
 * cg_k8s_check_seccomp. */
CAPGATE_API int cg_k8s_check_pss(const struct cg_k8s_workload *w, enum cg_pss_level level,
				 struct cg_k8s_violation **ret, size_t *ret_n);
/* The seccomp setting a current node (Kubernetes 1.25 and later) applies to
 * @c: its securityContext field, else the pod's; the legacy annotations do
 * nothing. NULL when neither is set (the kubelet's default applies). */
CAPGATE_API const struct cg_seccomp_setting *cg_k8s_seccomp_enforced(const struct cg_k8s_workload *w,
								     const struct cg_k8s_container *c);
/* Free the array @v of @n violations (NULL-safe). */
CAPGATE_API void cg_k8s_violations_free(struct cg_k8s_violation *v, size_t n);

/* The value of @w's label @key, or NULL. */
CAPGATE_API const char *cg_k8s_label(const struct cg_k8s_workload *w, const char *key);

#endif
