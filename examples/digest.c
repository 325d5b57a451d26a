/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A user of libcapgate.so: load a seccomp profile, resolve it into a
 * closure, print its digest and what it does with the calls named. Built with the
 * public headers alone and linked against the shared library alone, so it
 * proves both are enough (tests/cli/api.sh runs it).
 *
 *   digest PROFILE [SYSCALL...]
 */
#include <capgate/closure.h>
#include <capgate/profile.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	_cleanup_(cg_closure_freep) struct cg_closure *c = NULL;
	struct cg_resolve_opts ro = { .sz = sizeof(ro), .native_arch = -1, .default_caps = true };
	struct cg_error err = { 0 };
	char digest[72];
	int r;

	if (argc < 2) {
		fprintf(stderr, "usage: digest PROFILE [SYSCALL...]\n");
		return 2;
	}
	if ((r = cg_closure_load(argv[1], &ro, &c, &err)) < 0 || (r = cg_closure_digest(c, digest)) < 0) {
		fprintf(stderr, "digest: %s\n", err.msg[0] ? err.msg : "out of memory");
		return 1;
	}
	printf("%s\n", digest);
	for (int i = 2; i < argc; i++) {
		static const uint64_t args[6];
		struct cg_action a = cg_closure_decide(c, cg_arch_native(), argv[i], args, -1, NULL);
		char buf[48];

		printf("%s: %s\n", argv[i], cg_action_describe(a, buf, sizeof(buf)));
	}
	return 0;
}
