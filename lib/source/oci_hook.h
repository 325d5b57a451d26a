/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The OCI hook's recorder: what `capgate oci-hook` does for the container
 * engine, kept in the library so the command only parses, calls and
 * prints (and a node agent could run the same hook). Internal: the
 * command and the tests include it as "source/oci_hook.h".
 */
#ifndef CAPGATE_SOURCE_OCI_HOOK_H
#define CAPGATE_SOURCE_OCI_HOOK_H

#include <capgate/error.h>
#include <stdbool.h>

struct cg_oci_hook_opts {
	size_t sz;              /* sizeof(struct cg_oci_hook_opts) */
	const char *allow_dir;  /* closures are written only under it (default /var/lib/capgate/traces) */
	const char *state_dir;  /* the recorders' lock, pid, status and log files (default /run/capgate/oci-hook) */
	const char *annotation; /* the annotation naming the closure file (default io.capgate.trace) */
};

/* The container state the engine gives a hook on stdin. */
struct cg_oci_hook_state {
	char id[129];
	long pid;
	char *bundle;
	char *trace; /* the annotation's value, NULL = not asked for */
};

/* Read the OCI state from @fd: id, pid, bundle and the annotation
 * opts->annotation (from the state, or else from the bundle's
 * config.json). Release @st with cg_oci_hook_state_release, also on
 * failure. */
int cg_oci_hook_read_state(int fd, const struct cg_oci_hook_opts *opts, struct cg_oci_hook_state *st,
			   struct cg_error *err);
void cg_oci_hook_state_release(struct cg_oci_hook_state *st);

/* Whether prestart may record @st: a pid, and an annotated file that is an
 * absolute path whose directory lies under opts->allow_dir. */
int cg_oci_hook_check(const struct cg_oci_hook_opts *opts, const struct cg_oci_hook_state *st,
		      struct cg_error *err);

/* Prestart: check @st (cg_oci_hook_check) lies under opts->allow_dir, start a
 * detached recorder that follows st->pid from its next exec, and return
 * once it is attached. -EINVAL/-EPERM: the state or the path is refused;
 * any other error: the recorder could not be started or attached (nothing
 * of it is left behind). */
int cg_oci_hook_prestart(const struct cg_oci_hook_opts *opts, const struct cg_oci_hook_state *st,
			 struct cg_error *err);

/* Poststop: stop the container's recorder (SIGTERM; SIGKILL after a
 * minute) and read what it reported. 0: the closure was written, or the
 * container was neither recorded nor asked to be; 1: written, but the
 * record may be incomplete (@err says so); negative: not written (@err
 * says why). */
int cg_oci_hook_poststop(const struct cg_oci_hook_opts *opts, const struct cg_oci_hook_state *st,
			 struct cg_error *err);

#endif
