// SPDX-License-Identifier: Apache-2.0
/* capgate resolve: the canonical closure of a profile. */
#include <stdio.h>
#include <string.h>

#include <capgate/profile.h>

#include "../cli.h"

static const char usage[] = "PROFILE [-o FILE] [options]";
static const char desc[] =
	"Resolve a profile's includes/excludes and archMap for a capability set, kernel and\n"
	"architecture, and write the canonical closure: an OCI seccomp profile (Docker, Podman,\n"
	"runc, crun, runsc and the kubelet accept it unchanged) whose SHA-256 is printed as its\n"
	"identity. --plain drops capgate's extra fields (phases, counts, per-rule arches).\n"
	"--digest prints only the digest. --format keeps the input's structure and only\n"
	"normalises its layout.";

/* The profile as given (--format), normalised. */
static int write_format(const char *path, struct cg_strbuf *sb)
{
	_cleanup_(cg_profile_freep) struct cg_profile *p = NULL;
	struct cg_error err = { 0 };

	if (cg_profile_load(path, &p, &err) < 0) {
		cli_error("resolve", "%s", err.msg);
		return -1;
	}
	cg_profile_write(p, sb);
	return 0;
}

int cmd_resolve(int argc, char **argv)
{
	struct cli_resolve ro = { 0 };
	const char *out = "-";
	bool digest_only = false, format = false;
	struct opt opts[] = {
		{ OPT_STRING, 'o', "output", &out, "FILE", "write here instead of stdout (atomically)", NULL },
		{ OPT_BOOL, 0, "digest", &digest_only, NULL, "print only the closure digest", NULL },
		{ OPT_BOOL, 0, "format", &format, NULL, "write the profile as given (includes/excludes kept), normalised", NULL },
		CLI_RESOLVE_OPTS(&ro),
		OPT_END_MARK,
	};
	_cleanup_(cg_closure_freep) struct cg_closure *c = NULL;
	_cleanup_free_ char **args = NULL;
	struct cg_strbuf sb;
	char digest[72];
	int nargs, r;

	if ((r = opt_parse("resolve", usage, desc, argc, argv, opts, false, &args, &nargs)))
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	if (nargs != 1) {
		cli_error("resolve", "expected one profile");
		opt_list_release(&ro.caps);
		return EXIT_USAGE;
	}
	if (!format)
		r = cli_load_closure("resolve", args[0], &ro, &c) < 0 || cg_closure_digest(c, digest) < 0 ? -1 : 0;
	opt_list_release(&ro.caps);
	if (r < 0)
		return EXIT_USAGE;
	cg_strbuf_init(&sb);
	if (format)
		r = write_format(args[0], &sb);
	else if (digest_only)
		cg_strbuf_addf(&sb, "%s\n", digest);
	else
		cg_closure_serialize(c, false, &sb);
	if (r == 0)
		r = cli_write("resolve", out, &sb);
	if (r == 0 && !digest_only && !format && strcmp(out, "-") != 0)
		fprintf(stderr, "capgate resolve: wrote %s (%s)\n", out, digest);
	cg_strbuf_release(&sb);
	return r < 0 ? EXIT_USAGE : EXIT_OK;
}
