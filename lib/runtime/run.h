/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What `capgate run` does around the sandbox, kept in the library so the
 * command only parses, calls and prints: the closure an image carries,
 * the container run over a root or an unpacked image, the coverage report,
 * learn mode's output and the serving trigger from the command's options.
 * Internal: the command and the tests include it as "runtime/run.h".
 */
#ifndef CAPGATE_RUNTIME_RUN_H
#define CAPGATE_RUNTIME_RUN_H

#include <capgate/bundle.h>
#include <capgate/image.h>
#include <capgate/learn.h>
#include <capgate/profile.h>
#include <capgate/sandbox.h>
#include <capgate/trace.h>
#include <pthread.h>

/* Open LAYOUT[:REF] (the last ':' not followed by a '/' starts REF), the
 * manifest of @platform ("OS/ARCH[/VARIANT]"; NULL: this machine's) in a
 * multi-platform image; *ret_layout gets LAYOUT (free it). */
int cg_run_image_open(const char *spec, const char *platform, char **ret_layout, struct cg_image **ret_img,
		      struct cg_error *err);

/* The closure attached to @img, resolved with @rop and checked against the
 * digest the image's label names (-EBADMSG when they differ, -ENOENT when
 * the image carries none). @ret_digest gets its digest. */
int cg_run_image_closure(const struct cg_image *img, const struct cg_resolve_opts *rop, struct cg_closure **ret,
			 char ret_digest[72], struct cg_error *err);

/* Run @c in a container of bo->runtime over bo->rootfs or, with @img,
 * over its layers unpacked from @layout (within the limits of @uo, NULL:
 * the defaults) into a private root removed afterwards. *ret_status is the workload's exit status. -EINVAL: the
 * request or the image is refused; other errors: the container could not
 * be set up. */
int cg_run_container(const struct cg_closure *c, const struct cg_bundle_opts *bo, const char *layout,
		     const struct cg_image *img, const struct cg_unpack_opts *uo, int *ret_status, struct cg_error *err);

/* The names of the capabilities the program of @so gets, for resolving the
 * profile with exactly those: @names (room for 64) and *ret_n. */
int cg_run_cap_names(const struct cg_sandbox_opts *so, const char **names, size_t *ret_n, struct cg_error *err);

/* Phase-aware enforcement: so->phased, and the serving trigger from at
 * most one of a listening @port, a first @call, @after seconds, READY=1
 * on NOTIFY_SOCKET (@notified) (none: the closure's own). */
int cg_run_serve_trigger(struct cg_sandbox_opts *so, const char *port, const char *call, const char *after,
			 bool notified, struct cg_error *err);

/* --coverage: the eBPF recorder attached to the program while it waits
 * before its execve (so->before_exec = cg_run_coverage_attach,
 * so->before_exec_user = the struct). */
struct cg_run_coverage {
	struct cg_trace *t;
	struct cg_error err;
};
int cg_run_coverage_attach(pid_t program, void *user);
void cg_run_coverage_release(struct cg_run_coverage *cov);

/* The coverage of @c by the run: the JSON report in @json, the calls of
 * @c never called in @unused (", "-separated), how many were used of how
 * many. */
int cg_run_coverage_report(struct cg_run_coverage *cov, const struct cg_closure *c, struct cg_strbuf *json,
			   struct cg_strbuf *unused, size_t *ret_used, size_t *ret_total, struct cg_error *err);

/* What learn mode wrote. */
struct cg_run_learned {
	size_t n_rules;  /* rules of the learned closure */
	char digest[72]; /* of the learned closure, when written to @out */
	char merged[72]; /* of the merged profile, when written to @merge_into */
};

/* Learn mode's output: the closure of what @l saw, written atomically to
 * @out and/or merged into @c and written to @merge_into (either may be
 * NULL). Calls that cannot go into a profile are named in @notes. */
int cg_run_learn_write(const struct cg_learn *l, const struct cg_closure *c, const char *out, const char *merge_into,
		       struct cg_strbuf *notes, struct cg_run_learned *ret, struct cg_error *err);

/* --tty: the relay between the caller's terminal (stdin, stdout) and the
 * program's pty, in a thread beside the supervisor (signals stay with the
 * calling thread). Nothing is started when the child has no pty. */
struct cg_run_relay {
	const struct cg_sandbox_child *child;
	int stop[2];
	pthread_t thread;
	bool running;
	struct cg_error err; /* what ended the relay, if it failed */
};
int cg_run_relay_start(struct cg_run_relay *rl, const struct cg_sandbox_child *child, struct cg_error *err);
/* Stop the relay and wait for it; its own error, if it failed. */
int cg_run_relay_stop(struct cg_run_relay *rl, struct cg_error *err);

#endif
