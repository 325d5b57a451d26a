// SPDX-License-Identifier: Apache-2.0
/*
 * capgate oci-hook: record a container's closure from inside the container
 * engine (Podman, CRI-O; any runtime that runs OCI hooks): prestart starts
 * a recorder that follows the container's workload from its exec, poststop
 * stops it and says whether the closure was written. The recorder and the
 * checks on the annotated path are lib/source/oci_hook.c's; this is the
 * front end (options, exit status, messages).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../cli.h"
#include "source/oci_hook.h"

#define EXIT_SETUP 125

static const char usage[] = "[--allow-dir DIR] [--state-dir DIR] [--annotation NAME] prestart|poststop";
static const char desc[] =
	"The OCI hook that records a container's closure. Install it for Podman or CRI-O with\n"
	"two hooks.d files (see docs/CONTAINERS.md), then run a container with\n"
	"  --annotation io.capgate.trace=/var/lib/capgate/traces/app.json\n"
	"prestart reads the container state (stdin), starts a recorder that counts the\n"
	"container's calls from the workload's exec on and returns once it is attached;\n"
	"poststop stops it: the closure is written atomically to the annotated file, which\n"
	"must lie under --allow-dir. Without the annotation the hook does nothing.\n"
	"Exit status: 0 done (or nothing to do); 2 usage or bad state; 125 the recorder cannot\n"
	"run or did not write the closure (the engine then stops the container from starting).";

int cmd_oci_hook(int argc, char **argv)
{
	struct cg_oci_hook_opts a = {
		.sz = sizeof(a),
		.allow_dir = "/var/lib/capgate/traces",
		.state_dir = "/run/capgate/oci-hook",
		.annotation = "io.capgate.trace",
	};
	struct opt opts[] = {
		{ OPT_STRING, 0, "allow-dir", &a.allow_dir, "DIR", "closures may only be written under DIR (default /var/lib/capgate/traces)", NULL },
		{ OPT_STRING, 0, "state-dir", &a.state_dir, "DIR", "the recorders' pid, lock and log files (default /run/capgate/oci-hook)", NULL },
		{ OPT_STRING, 0, "annotation", &a.annotation, "NAME", "the annotation naming the closure file (default io.capgate.trace)", NULL },
		OPT_END_MARK,
	};
	struct cg_oci_hook_state st = { 0 };
	struct cg_error err = { 0 };
	char **args;
	int nargs, r, rc = EXIT_USAGE;

	if ((r = opt_parse("oci-hook", usage, desc, argc, argv, opts, false, &args, &nargs)))
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	if (nargs != 1 || (strcmp(args[0], "prestart") != 0 && strcmp(args[0], "poststop") != 0)) {
		cli_error("oci-hook", "expected 'prestart' or 'poststop'");
	} else if (cg_oci_hook_read_state(STDIN_FILENO, &a, &st, &err) < 0) {
		cli_error("oci-hook", "%s: %s", args[0], err.msg);
	} else if (!strcmp(args[0], "poststop")) {
		/* the bundle may be gone: the state files tell */
		r = cg_oci_hook_poststop(&a, &st, &err);
		rc = r < 0 ? EXIT_SETUP : r > 0 ? EXIT_FINDINGS
						: EXIT_OK;
		if (r != 0)
			cli_error("oci-hook", "poststop: %s", err.msg);
	} else if (!st.trace) {
		rc = EXIT_OK; /* not asked to record this container */
	} else if (cg_oci_hook_check(&a, &st, &err) < 0) {
		cli_error("oci-hook", "prestart: %s", err.msg);
	} else {
		rc = cg_oci_hook_prestart(&a, &st, &err) < 0 ? EXIT_SETUP : EXIT_OK;
		if (rc != EXIT_OK)
			cli_error("oci-hook", "prestart: %s", err.msg);
	}
	cg_oci_hook_state_release(&st);
	free(args);
	return rc;
}
