// SPDX-License-Identifier: Apache-2.0
/* capgate oci: OCI runtime bundles -- apply a closure to config.json. */
#include <stdio.h>
#include <string.h>

#include <capgate/bundle.h>

#include "../cli.h"

static const char usage[] = "apply --closure FILE BUNDLE";
static const char desc[] =
	"apply: write the closure into BUNDLE/config.json as linux.seccomp (a plain OCI profile:\n"
	"capgate's phases, counts and comments left out) and its digest as the annotation\n"
	"io.capgate.closure.digest. Everything else in config.json is kept; the file is replaced\n"
	"atomically. Then run the bundle with runc, crun or runsc --oci-seccomp.\n"
	"Exit status: 0 done, 2 usage or input error.";

int cmd_oci(int argc, char **argv)
{
	struct cli_resolve ro = { 0 };
	const char *closure_path = NULL;
	struct opt opts[] = {
		{ OPT_STRING, 'c', "closure", &closure_path, "FILE", "the closure (or profile) to enforce", NULL },
		CLI_RESOLVE_OPTS(&ro),
		OPT_END_MARK,
	};
	_cleanup_(cg_closure_freep) struct cg_closure *c = NULL;
	struct cg_error err = { 0 };
	char **args;
	int nargs, r, rc = EXIT_USAGE;

	if ((r = opt_parse("oci", usage, desc, argc, argv, opts, false, &args, &nargs)))
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	if (nargs != 2 || strcmp(args[0], "apply") != 0)
		cli_error("oci", "expected 'apply --closure FILE BUNDLE'");
	else if (!closure_path)
		cli_error("oci", "apply: --closure FILE is required");
	else if (cli_load_closure("oci", closure_path, &ro, &c) == 0) {
		if (cg_bundle_apply(args[1], c, &err) < 0)
			cli_error("oci", "apply: %s", err.msg);
		else
			rc = EXIT_OK;
	}
	free(args);
	opt_list_release(&ro.caps);
	return rc;
}
