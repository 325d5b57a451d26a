// SPDX-License-Identifier: Apache-2.0
/* capgate image: the image build step -- attach a closure, sign the image --
 * and unpack it, the step under 'run --image', on its own for inspection. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <capgate/image.h>

#include "../cli.h"

static const char usage[] =
	"attach --closure FILE LAYOUT[:REF] | sign --key KEY.pem [--identity REPO] LAYOUT[:REF] | unpack LAYOUT[:REF] DIR";
static const char desc[] =
	"attach: put a closure into an image of an OCI image layout: the config gains the labels\n"
	"io.capgate.closure.digest and io.capgate.syscalls (so the image gets a new digest, printed),\n"
	"and the canonical closure is stored as a referrer artifact of the image.\n"
	"sign: sign the image offline in cosign's simple-signing format with an ECDSA P-256 key\n"
	"(cosign generate-key-pair, or openssl ecparam -name prime256v1 -genkey); the identity is\n"
	"the repository the image is signed as (default: the image's name in the layout, when that is\n"
	"a full reference). REF selects the image as 'capgate check' does: a name (the\n"
	"org.opencontainers.image.ref.name annotation), a digest, or nothing for the only image.\n"
	"Every write is atomic: blobs first, index.json last; an interrupted run leaves the layout as\n"
	"it was.\n"
	"unpack: unpack the image's layers into DIR (made; it must not exist or be empty), as 'run\n"
	"--image' does: every path resolved inside DIR, each layer hashed as it is unpacked; on any\n"
	"failure what was unpacked is removed. Exit status: 0 done, 2 usage or input error.";

/* "DIR" if it is a directory, else "DIR:REF" split at the first ':'. */
static int split_target(const char *arg, char **ret_dir, const char **ret_ref)
{
	struct stat st;
	const char *colon = strchr(arg, ':');

	if (stat(arg, &st) == 0 || !colon) {
		*ret_dir = strdup(arg);
		*ret_ref = NULL;
	} else {
		*ret_dir = strndup(arg, (size_t)(colon - arg));
		*ret_ref = colon[1] ? colon + 1 : NULL;
	}
	return *ret_dir ? 0 : -ENOMEM;
}

static int parse_u64(const char *s, bool suffix, uint64_t *ret)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	if (suffix && *end) {
		const char *u = strchr("KMGT", end[0] & ~0x20);
		if (!u || end[1])
			return -1;
		shift = 10 * (unsigned)(u - "KMGT" + 1);
		end++;
	}
	if (*end || v == 0 || v > (UINT64_MAX >> shift))
		return -1;
	*ret = (uint64_t)v << shift;
	return 0;
}

int image_unpack_limits(const char *cmd, const char *size, const char *entries, struct cg_unpack_opts *o)
{
	if (size && parse_u64(size, true, &o->max_bytes) < 0)
		return cli_error(cmd, "size '%s': expected a positive number of bytes, with K, M, G or T", size), -1;
	if (entries && parse_u64(entries, false, &o->max_entries) < 0)
		return cli_error(cmd, "entries '%s': expected a positive number", entries), -1;
	return 0;
}

/* unpack LAYOUT[:REF] DIR: DIR made (or empty), removed again on failure. */
static int unpack(const char *target, const char *root, const char *platform, const struct cg_unpack_opts *uo)
{
	struct cg_image_open_opts oo = { .sz = sizeof(oo), .platform = platform };
	_cleanup_free_ char *dir = NULL;
	struct cg_image *img = NULL;
	struct cg_error err = { 0 };
	const char *ref;
	bool made = false;
	DIR *d;
	int r = EXIT_USAGE;

	if (split_target(target, &dir, &ref) < 0)
		return cli_error("image", "out of memory"), EXIT_USAGE;
	if (mkdir(root, 0755) == 0) {
		made = true;
	} else if (errno != EEXIST || !(d = opendir(root))) {
		return cli_error("image", "unpack: %s: %s", root, strerror(errno)), EXIT_USAGE;
	} else {
		struct dirent *e;
		int n = 0;
		while ((e = readdir(d)))
			n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
		closedir(d);
		if (n)
			return cli_error("image", "unpack: %s is not empty", root), EXIT_USAGE;
	}
	if (cg_image_open_layout_opts(dir, ref, &oo, &img, &err) < 0)
		cli_error("image", "unpack: %s", err.msg);
	else if (cg_image_unpack_opts(dir, img, root, uo, &err) < 0)
		cli_error("image", "unpack: %s: nothing unpacked", err.msg);
	else
		r = EXIT_OK;
	if (r != EXIT_OK) {
		cg_image_rootfs_remove(root);
		if (!made)
			mkdir(root, 0755); /* it was there, empty: leave it so */
	}
	cg_image_free(img);
	return r;
}

int cmd_image(int argc, char **argv)
{
	struct cli_resolve ro = { 0 };
	const char *closure_path = NULL, *key = NULL, *identity = NULL, *ref = NULL;
	const char *platform = NULL, *max_size = NULL, *max_entries = NULL;
	struct cg_unpack_opts uo = { .sz = sizeof(uo) };
	struct opt opts[] = {
		{ OPT_STRING, 'c', "closure", &closure_path, "FILE", "attach: the closure (or profile) to attach", NULL },
		{ OPT_STRING, 'k', "key", &key, "KEY.pem", "sign: the ECDSA P-256 private key (PEM, unencrypted)", NULL },
		{ OPT_STRING, 0, "identity", &identity, "REPO", "sign: the repository the image is signed as", NULL },
		{ OPT_STRING, 0, "platform", &platform, "OS/ARCH[/VARIANT]", "unpack: the platform chosen in a multi-platform image (default: linux/<this machine's>)", NULL },
		{ OPT_STRING, 0, "max-size", &max_size, "SIZE", "unpack: at most SIZE uncompressed bytes, all layers together (K, M, G; default 16G)", NULL },
		{ OPT_STRING, 0, "max-entries", &max_entries, "N", "unpack: at most N files, directories and links, all layers together (default 1000000)", NULL },
		CLI_RESOLVE_OPTS(&ro),
		OPT_END_MARK,
	};
	_cleanup_(cg_closure_freep) struct cg_closure *c = NULL;
	_cleanup_free_ char *dir = NULL;
	struct cg_error err = { 0 };
	char image[72], cdigest[72];
	char **args;
	int nargs, r;

	if ((r = opt_parse("image", usage, desc, argc, argv, opts, false, &args, &nargs)))
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	_cleanup_free_ char **argv_free = args;
	if (nargs == 3 && strcmp(args[0], "unpack") == 0) {
		opt_list_release(&ro.caps);
		if (image_unpack_limits("image", max_size, max_entries, &uo) < 0)
			return EXIT_USAGE;
		return unpack(args[1], args[2], platform, &uo);
	}
	if (nargs != 2 || (strcmp(args[0], "attach") != 0 && strcmp(args[0], "sign") != 0)) {
		cli_error("image", "expected 'attach --closure FILE LAYOUT[:REF]', 'sign --key KEY.pem LAYOUT[:REF]' or "
				   "'unpack LAYOUT[:REF] DIR'");
		opt_list_release(&ro.caps);
		return EXIT_USAGE;
	}
	if (split_target(args[1], &dir, &ref) < 0) {
		cli_error("image", "out of memory");
		opt_list_release(&ro.caps);
		return EXIT_USAGE;
	}
	if (strcmp(args[0], "attach") == 0) {
		if (!closure_path)
			cli_error("image", "attach: --closure FILE is required");
		else if (cli_load_closure("image", closure_path, &ro, &c) == 0 &&
			 cg_image_attach(dir, ref, c, image, cdigest, &err) < 0)
			cli_error("image", "attach: %s", err.msg);
		else if (c)
			printf("%s\nclosure %s\n", image, cdigest);
		r = c && !err.msg[0] ? EXIT_OK : EXIT_USAGE;
	} else {
		if (!key)
			cli_error("image", "sign: --key KEY.pem is required");
		else if (cg_image_sign(dir, ref, key, identity, image, &err) < 0)
			cli_error("image", "sign: %s", err.msg);
		else
			printf("%s\n", image);
		r = key && !err.msg[0] ? EXIT_OK : EXIT_USAGE;
	}
	opt_list_release(&ro.caps);
	return r;
}
