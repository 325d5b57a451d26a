// SPDX-License-Identifier: Apache-2.0
/* capgate merge: the union of several closures (runs of a trace, say). */
#include <stdio.h>
#include <string.h>

#include <capgate/profile.h>

#include "../cli.h"

int cmd_merge(int argc, char **argv)
{
	static const char usage[] = "A.json B.json ... -o OUT [--plain]";
	static const char desc[] =
		"Write the union of closures or profiles: every rule of every input, phases matched\n"
		"by name, counts added, in canonical order -- the same inputs in the same order always\n"
		"give the same bytes and digest. The first input gives the default action and flags.\n"
		"--plain writes a plain OCI profile (no phases, counts, comments or per-rule arches).";
	const char *out = NULL;
	bool plain = false, quiet = false;
	struct cli_resolve ro = { 0 };
	struct opt opts[] = {
		{ OPT_STRING, 'o', "output", &out, "FILE", "write the union here (atomically; '-' = stdout)", NULL },
		{ OPT_BOOL, 0, "plain", &plain, NULL, "plain OCI profile without capgate's fields", NULL },
		{ OPT_BOOL, 'q', "quiet", &quiet, NULL, "do not print the digest", NULL },
		CLI_RESOLVE_OPTS(&ro),
		OPT_END_MARK,
	};
	_cleanup_(cg_closure_freep) struct cg_closure *u = NULL;
	struct cg_strbuf sb;
	char digest[72] = "";
	char **args = NULL;
	int nargs = 0, r, rc = EXIT_USAGE;

	if ((r = opt_parse("merge", usage, desc, argc, argv, opts, false, &args, &nargs)))
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	if (!out) {
		cli_error("merge", "-o OUT is required");
		goto out;
	}
	if (nargs < 1) {
		cli_error("merge", "expected at least one closure");
		goto out;
	}
	for (int i = 0; i < nargs; i++) {
		struct cg_closure *c = NULL, *n = NULL;
		if (cli_load_closure("merge", args[i], &ro, &c) < 0)
			goto out;
		if (!u) {
			u = c;
			continue;
		}
		r = cg_closure_union(u, c, &n);
		cg_closure_free(c);
		if (r < 0) {
			cli_error("merge", "%s: %s", args[i], strerror(-r));
			goto out;
		}
		cg_closure_free(u);
		u = n;
	}
	cg_closure_canonicalize(u);
	if (plain)
		cg_closure_strip_extensions(u);
	cg_strbuf_init(&sb);
	cg_closure_serialize(u, false, &sb);
	r = cli_write("merge", out, &sb);
	cg_strbuf_release(&sb);
	if (r < 0)
		goto out;
	cg_closure_digest(u, digest);
	if (!quiet && strcmp(out, "-") != 0)
		fprintf(stderr, "capgate merge: wrote %s: %d inputs, %zu rules (%s)\n", out, nargs, u->n_rules, digest);
	rc = EXIT_OK;
out:
	opt_list_release(&ro.caps);
	free(args);
	return rc;
}
