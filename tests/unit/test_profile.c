// SPDX-License-Identifier: Apache-2.0
/* Profile I/O: every corpus profile loads, round-trips and resolves; bad
 * input gets an exact position and field path. */
#include <capgate/profile.h>
#include <dirent.h>
#include <errno.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/tree.h"
#include "t.h"
#include "testing.h"

static int parse_str(const char *s, struct cg_profile **p, struct cg_error *err)
{
	return cg_profile_parse(s, strlen(s), "t.json", p, err);
}

static void expect_error(const char *json, const char *want)
{
	struct cg_profile *p = NULL;
	struct cg_error err = { 0 };
	int r = parse_str(json, &p, &err);
	CHECKF(r < 0, "accepted: %s", json);
	if (r < 0)
		CHECKF(strstr(err.msg, want) != NULL, "error \"%s\" lacks \"%s\"", err.msg, want);
	cg_profile_free(p);
}

static int test_errors_have_positions(void)
{
	expect_error("{\"defaultAction\": \"SCMP_ACT_ERRNO\",\n \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALOW\"}]}",
		     "t.json:2:45: syscalls[0].action: unknown action 'SCMP_ACT_ALOW'");
	expect_error("{\"defaultAction\": \"SCMP_ACT_ERRNO\",\n \"syscalls\": [\n  {\"names\": [\"read\", 7], \"action\": \"SCMP_ACT_ALLOW\"}]}",
		     "t.json:3:22: syscalls[0].names[1]: expected a string");
	expect_error("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 7, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}]}",
		     "syscalls[0].args[0].index: argument index 7 is out of range");
	expect_error("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 0, \"value\": -1, \"op\": \"SCMP_CMP_EQ\"}]}]}",
		     "expected an unsigned integer, got '-1'");
	expect_error("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQUAL\"}]}]}",
		     "unknown comparison 'SCMP_CMP_EQUAL'");
	expect_error("{\"syscalls\": []}", "missing required field 'defaultAction'");
	expect_error("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultAction\": \"SCMP_ACT_ALLOW\"}", "t.json:1:37: duplicate key");
	expect_error("{\"defaultAction\": \"SCMP_ACT_ERRNO\",\n  \"architectures\": [\"SCMP_ARCH_X86_65\"]}",
		     "t.json:2:21: architectures[0]: unknown architecture 'SCMP_ARCH_X86_65'");
	expect_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\", \"errnoRet\": 1}]}",
		     "errnoRet is only valid with SCMP_ACT_ERRNO");
	expect_error("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"flags\": [\"SECCOMP_FILTER_FLAG_NOPE\"]}", "unknown flag");
	expect_error("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"action\": \"SCMP_ACT_ALLOW\"}]}", "has no 'names'");
	expect_error("{\"defaultAction\": \"SCMP_ACT_ERRNO\"", "t.json:2:1: missing comma");
	expect_error("{\"defaultAction\": 'SCMP_ACT_ERRNO'}", "single quoted");
	expect_error("", "empty document");
	expect_error("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"architectures\": [\"SCMP_ARCH_X86\"], \"archMap\": [{\"architecture\": \"SCMP_ARCH_X86_64\", \"subArchitectures\": []}]}", "both 'architectures' and 'archMap'");
	return 0;
}

static int test_unknown_names(void)
{
	struct cg_profile *p = NULL;
	struct cg_closure *c = NULL;
	struct cg_error err = { 0 };
	/* unknown name in an allow rule is skipped (cannot widen anything)... */
	CHECK(parse_str("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\", \"opne\"], \"action\": \"SCMP_ACT_ALLOW\"}]}", &p, &err) == 0);
	CHECK(cg_profile_resolve(p, NULL, &c, &err) == 0);
	CHECK(c && c->n_rules == 1);
	cg_closure_free(c);
	cg_profile_free(p);
	/* ...but an unknown name in a deny rule of a denylist fails closed */
	CHECK(parse_str("{\"defaultAction\": \"SCMP_ACT_ALLOW\",\n \"syscalls\": [{\"names\": [\"opne\"], \"action\": \"SCMP_ACT_ERRNO\"}]}", &p, &err) == 0);
	CHECK(cg_profile_resolve(p, NULL, &c, &err) < 0);
	CHECK_CONTAINS(err.msg, "t.json:2:26: syscalls[0].names[0]: unknown syscall 'opne'");
	cg_profile_free(p);
	return 0;
}

static int round_trip(const char *path, int *count)
{
	char *buf = NULL;
	size_t len;
	struct cg_profile **ps = NULL;
	size_t n = 0;
	struct cg_error err = { 0 };

	if (cg_read_file(path, &buf, &len, &err) < 0) {
		CHECKF(0, "%s", err.msg);
		return 0;
	}
	if (cg_profile_parse_all(buf, len, path, &ps, &n, &err) < 0) {
		CHECKF(0, "%s", err.msg);
		free(buf);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		struct cg_strbuf a, b;
		struct cg_profile *q = NULL;
		struct cg_closure *c1 = NULL, *c2 = NULL;
		char d1[72], d2[72];
		cg_strbuf_init(&a);
		cg_strbuf_init(&b);
		cg_profile_write(ps[i], &a);
		CHECKF(cg_profile_parse(a.buf, a.len, "written", &q, &err) == 0, "%s: re-parse: %s", path, err.msg);
		if (q) {
			cg_profile_write(q, &b);
			CHECKF(a.len == b.len && memcmp(a.buf, b.buf, a.len) == 0, "%s: write is not stable", path);
			/* same enforcement before and after */
			CHECK(cg_profile_resolve(ps[i], NULL, &c1, &err) == 0);
			CHECK(cg_profile_resolve(q, NULL, &c2, &err) == 0);
			if (c1 && c2) {
				cg_closure_digest(c1, d1);
				cg_closure_digest(c2, d2);
				CHECKF(strcmp(d1, d2) == 0, "%s: digest changed across a round trip", path);
			}
			/* the closure's own serialization parses back to the same digest */
			if (c1) {
				struct cg_strbuf s;
				struct cg_profile *r = NULL;
				struct cg_closure *c3 = NULL;
				cg_strbuf_init(&s);
				cg_closure_serialize(c1, false, &s);
				CHECKF(cg_profile_parse(s.buf, s.len, "closure", &r, &err) == 0, "%s: closure re-parse: %s",
				       path, err.msg);
				if (r && cg_profile_resolve(r, NULL, &c3, &err) == 0) {
					cg_closure_digest(c3, d2);
					CHECKF(strcmp(d1, d2) == 0, "%s: closure digest changed after re-reading", path);
				}
				cg_closure_free(c3);
				cg_profile_free(r);
				cg_strbuf_release(&s);
			}
		}
		cg_closure_free(c1);
		cg_closure_free(c2);
		cg_profile_free(q);
		cg_profile_free(ps[i]);
		cg_strbuf_release(&a);
		cg_strbuf_release(&b);
		(*count)++;
	}
	free(ps);
	free(buf);
	return 0;
}

static int test_corpus_round_trip(void)
{
	NEED_SHARED("corpus/profiles");
	const char *dirs[] = { "corpus/profiles", "mission/profiles" };
	int count = 0;
	for (size_t d = 0; d < 2; d++) {
		char dir[1024];
		DIR *dp;
		struct dirent *de;
		snprintf(dir, sizeof(dir), "%s/%s", t_shared(), dirs[d]);
		dp = opendir(dir);
		CHECKF(dp != NULL, "cannot open %s", dir);
		if (!dp)
			continue;
		while ((de = readdir(dp))) {
			char path[2048];
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			round_trip(path, &count);
		}
		closedir(dp);
	}
	CHECKF(count >= 25, "only %d profiles round-tripped", count);
	return 0;
}

/*
 * capgate's JSON reader and libfyaml must read every profile the same way:
 * the same error, at the same place, or the same profile with the same
 * positions and notes. Spellings the JSON reader declines are in the list as
 * well: they must reach libfyaml and give its answer.
 */
static const char *const agree_inputs[] = {
	"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 1, \"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\"],\n"
	" \"flags\": [\"SECCOMP_FILTER_FLAG_LOG\"], \"listenerPath\": \"/run/l.sock\", \"listenerMetadata\": \"m\",\n"
	" \"syscalls\": [{\"names\": [\"read\", \"write\"], \"action\": \"SCMP_ACT_ALLOW\", \"comment\": \"r\\u00e9ad \\ud834\\udd1e \\/ \\\"q\\\"\",\n"
	"   \"args\": [{\"index\": 1, \"value\": 18446744073709551615, \"valueTwo\": 0, \"op\": \"SCMP_CMP_MASKED_EQ\"}],\n"
	"   \"includes\": {\"caps\": [\"CAP_SYS_ADMIN\"], \"arches\": [\"amd64\"], \"minKernel\": \"4.8\"}, \"excludes\": {},\n"
	"   \"unknownField\": [1, 2.5, -0, 1e3, 1E+2, 1.5e-3, true, false, null, {}, [[]]]}],\n"
	" \"capgate\": {\"phases\": [\"startup\", \"serving\"], \"serveWhen\": \"listening:8080\", \"workerStartup\": 5}}",
	"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"archMap\": [{\"architecture\": \"SCMP_ARCH_X86_64\", \"subArchitectures\": [\"SCMP_ARCH_X86\"]}],\n"
	" \"syscalls\": [{\"name\": \"open\", \"action\": \"SCMP_ACT_ERRNO\", \"errno\": \"EPERM\"}, {\"names\": [\"close\"], \"action\": \"SCMP_ACT_ALLOW\", \"phases\": [\"x\"]}]}",
	"{\"kind\": \"SeccompProfile\", \"metadata\": {\"name\": \"p\"}, \"spec\": {\"defaultAction\": \"SCMP_ACT_LOG\", \"syscalls\": null, \"disabled\": false}}",
	/* errors, with the column after characters of several bytes and after tabs */
	"{\"defaultAction\": \"SCMP_ACT_ERRNO\",\n \"syscalls\": [{\"names\": [\"r\xc3\xa9\xe2\x9c\x93\xf0\x9d\x84\x9e\", 7], \"action\": \"SCMP_ACT_ALLOW\"}]}",
	"{\t\"defaultAction\":\t\"SCMP_ACT_ERRNO\",\t\"syscalls\":\t[{\"names\":\t[\"read\"],\t\"action\":\t\"SCMP_ACT_ALOW\"}]}",
	"{\"defaultAction\": \"SCMP_ACT_ERRNO\",\r\n \"syscalls\": [\r\n  {\"names\": [\"read\", 7], \"action\": \"SCMP_ACT_ALLOW\"}]}",
	"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"re\\u0000ad\"], \"action\": \"SCMP_ACT_ALLOW\"}]}",
	"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 0, \"value\": 18446744073709551616, \"op\": \"SCMP_CMP_EQ\"}]}]}",
	"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 0, \"value\": 1.5, \"op\": \"SCMP_CMP_EQ\"}]}]}",
	"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": [{\"index\": \"0\", \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}]}",
	"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"architectures\": {}}",
	"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"architectures\": [[], \"x\"]}",
	"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [[[\"read\"]]]}",
	"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"\"], \"action\": \"SCMP_ACT_ALLOW\"}]}",
	"{\"default\\u0041ction\": \"SCMP_ACT_ALLOW\"}",
	"{}",
	"[]",
	"[{\"defaultAction\": \"SCMP_ACT_ALLOW\"}]",
	"{\"defaultAction\": true}",
	"{\"defaultAction\": null}",
	/* what the JSON reader declines */
	"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"defaultAction\": \"SCMP_ACT_LOG\"}",
	"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"default\\u0041ction\": \"SCMP_ACT_LOG\"}",
	"{\"a\":1,\"b\":1,\"c\":1,\"d\":1,\"e\":1,\"f\":1,\"g\":1,\"h\":1,\"i\":1,\"j\":1,\"k\":1,\"l\":1,\"m\":1,\"n\":1,\"o\":1,\"p\":1,\"q\":1,\"a\":2,\"defaultAction\": \"SCMP_ACT_ALLOW\"}",
	"{\"a\":1,\"b\":1,\"c\":1,\"d\":1,\"e\":1,\"f\":1,\"g\":1,\"h\":1,\"i\":1,\"j\":1,\"k\":1,\"l\":1,\"m\":1,\"n\":1,\"o\":1,\"p\":1,\"q\":1,\"defaultAction\": \"SCMP_ACT_ALLOW\"}",
	"{\"defaultAction\": \"SCMP_ACT_ALLOW\"} {\"defaultAction\": \"SCMP_ACT_LOG\"}",
	"{\"defaultAction\": \"SCMP_ACT_ALLOW\"}\n---\n{\"defaultAction\": \"SCMP_ACT_LOG\"}",
	"{\"defaultAction\": \"SCMP_ACT_ALLOW\"} x",
	"{\"defaultAction\": \"SCMP_ACT_ALLOW\",}",
	"{\"defaultAction\": 'SCMP_ACT_ALLOW'}",
	"{defaultAction: \"SCMP_ACT_ALLOW\"}",
	"{\"defaultAction\": \"SCMP_ACT_\\x41LLOW\"}",
	"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"comment\": \"a\tb\"}",
	"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\", \"comment\": \"a\nb\"}]}",
	"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"x\": 01}",
	"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"x\": 0x10}",
	"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"x\": .5}",
	"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"x\": +1}",
	"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"x\": \"\\ud800\"}",
	"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"x\": \"\\udc00x\"}",
	"{\"defaultAction\": \"SCMP_ACT_ALLOW\",\r \"syscalls\": [\r  {\"names\": [7]}]}",
	"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"x\": \"\xc2\x85\"}\n{",
	"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"x\": \"a\xe2\x80\xa8"
	"b\", \"y\": 7,\n \"syscalls\": 5}",
	"\xef\xbb\xbf{\"defaultAction\": \"SCMP_ACT_ALLOW\"}",
	"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"x\": \"\xff\"}",
	"{\"defaultAction\": \"SCMP_ACT_ALLOW\" /* c */}",
	"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"x\": tru}",
	"{\"defaultAction\": \"SCMP_ACT_ALLOW\"",
	"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\"}, ]}",
	"  \n\t{\"defaultAction\": \"SCMP_ACT_ALLOW\"}\n\n",
	/* YAML: the single-quoted scalar libfyaml 0.7 misreads, and leaks on
	 * if its text is asked for (even for an error message) */
	"''''''''''''''''''''''''''''''\t",
};

static int agree_file(const char *path, int *count)
{
	char *buf = NULL, why[1024];
	size_t len = 0;
	struct cg_error err = { 0 };
	if (cg_read_file_max(path, CG_READ_PROFILE_MAX, 0, &buf, &len, &err) < 0)
		return 0;
	CHECKF(cg__profile_readers_agree(buf, len, why, sizeof(why)), "%s: %s", path, why);
	CHECKF(cg__tree_json_agrees(buf, len, why, sizeof(why)), "%s: %s", path, why);
	free(buf);
	(*count)++;
	return 0;
}

static int agree_dir(const char *dir, int *count)
{
	DIR *dp = opendir(dir);
	struct dirent *de;
	CHECKF(dp != NULL, "cannot open %s", dir);
	while (dp && (de = readdir(dp))) {
		char path[2048];
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		agree_file(path, count);
	}
	if (dp)
		closedir(dp);
	return 0;
}

static int test_readers_agree(void)
{
	char why[1024], dir[1024], deep[256];
	int count = 0;

	for (size_t i = 0; i < sizeof(agree_inputs) / sizeof(agree_inputs[0]); i++) {
		CHECKF(cg__profile_readers_agree(agree_inputs[i], strlen(agree_inputs[i]), why, sizeof(why)),
		       "input %zu: %s", i, why);
		CHECKF(cg__tree_json_agrees(agree_inputs[i], strlen(agree_inputs[i]), why, sizeof(why)), "input %zu: %s",
		       i, why);
	}
	/* nesting: the JSON reader's bound, and past libfyaml's */
	for (int d = 30; d <= 70; d += 4) {
		int k = snprintf(deep, sizeof(deep), "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"x\": ");
		for (int i = 0; i < d; i++)
			deep[k++] = '[';
		for (int i = 0; i < d; i++)
			deep[k++] = ']';
		deep[k++] = '}';
		deep[k] = '\0';
		CHECKF(cg__profile_readers_agree(deep, strlen(deep), why, sizeof(why)), "depth %d: %s", d, why);
	}
	agree_dir("fuzz/corpus/profile", &count);
	CHECKF(count >= 20, "only %d fuzz seeds compared", count);
	NEED_SHARED("corpus/profiles");
	snprintf(dir, sizeof(dir), "%s/corpus/profiles", t_shared());
	agree_dir(dir, &count);
	snprintf(dir, sizeof(dir), "%s/mission/profiles", t_shared());
	agree_dir(dir, &count);
	CHECKF(count >= 45, "only %d files compared", count);
	return 0;
}

/* The JSON reader must be the one that reads real profiles (or the test
 * above compares libfyaml with itself), and must decline what it does not
 * vouch for. */
static int test_json_reader_takes_profiles(void)
{
	static const char *const declined[] = {
		"{\"a\": 1, \"a\": 2}",
		"{\"a\": 1} x",
		"{\"a\": 1,}",
		"{\"a\": \"\\x41\"}",
		"{\"a\":\r1}",
		"{\"a\":\r\n1}",
		"{\"a\": \"\xc2\x85\"}",
		"\xef\xbb\xbf{}",
		"{\"a\": 01}",
		"{\"a\": \"\\ud800\"}",
		"{\"a\": \"\t\"}",
		"x",
		"\"a\"",
		"7",
		"",
	};
	struct cg_tree *t = NULL;
	int n = 0;

	for (size_t i = 0; i < sizeof(declined) / sizeof(declined[0]); i++) {
		CHECKF(cg_tree_parse_json(declined[i], strlen(declined[i]), &t) == 0, "took on: %s", declined[i]);
	}
	const char *ok = "{\"a\": [1, \"\\u00e9\"], \"b\": {}}";
	CHECK(cg_tree_parse_json(ok, strlen(ok), &t) == 1);
	if (t) {
		const struct cg_tnode *a = cg_tn_lookup(cg_tree_root(t), "a");
		CHECK(cg_tn_is_sequence(a) && a->len == 2 && a->line == 1 && a->col == 8);
		CHECK(a && a->first->next && strcmp(a->first->next->text, "\xc3\xa9") == 0 && a->first->next->col == 11);
		cg_tree_free(TAKE_PTR(t));
	}
	NEED_SHARED("corpus/profiles");
	static const char *const files[] = { "docker-default.json", "podman-default.json", "jessfraz-chrome.json",
					     "moby-default-without-user-namespaces.json" };
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char path[2048], *buf = NULL;
		size_t len = 0;
		struct cg_error err = { 0 };
		snprintf(path, sizeof(path), "%s/corpus/profiles/%s", t_shared(), files[i]);
		CHECKF(cg_read_file_max(path, CG_READ_PROFILE_MAX, 0, &buf, &len, &err) == 0, "%s", err.msg);
		int r = buf ? cg_tree_parse_json(buf, len, &t) : -1;
		CHECKF(r == 1, "%s: the JSON reader declined it (%d)", files[i], r);
		n += r == 1;
		cg_tree_free(TAKE_PTR(t));
		free(buf);
	}
	CHECK(n == 4);
	return 0;
}

/* Docker's default profile resolves differently per capability and kernel. */
static int test_docker_includes(void)
{
	NEED_SHARED("corpus/profiles");
	char path[1024];
	struct cg_closure *c = NULL;
	struct cg_error err = { 0 };
	const char *admin[] = { "CAP_SYS_ADMIN" };
	struct cg_resolve_opts ro = { .sz = sizeof(ro), .native_arch = -1, .default_caps = true, .kernel_major = 6, .kernel_minor = 1 };
	uint64_t z[6] = { 0 };
	snprintf(path, sizeof(path), "%s/corpus/profiles/docker-default.json", t_shared());
	CHECK(cg_closure_load(path, &ro, &c, &err) == 0);
	if (!c)
		return 0;
	CHECK(cg_closure_decide(c, CG_ARCH_X86_64, "mount", z, -1, NULL).kind == CG_ACT_ERRNO);
	CHECK(cg_closure_decide(c, CG_ARCH_X86_64, "ptrace", z, -1, NULL).kind == CG_ACT_ALLOW); /* minKernel 4.8 */
	CHECK(cg_closure_decide(c, CG_ARCH_X86_64, "arch_prctl", z, -1, NULL).kind == CG_ACT_ALLOW);
	struct cg_action a3 = cg_closure_decide(c, CG_ARCH_X86_64, "clone3", z, -1, NULL);
	CHECKF(a3.kind == CG_ACT_ERRNO && a3.data == ENOSYS, "clone3 must answer ENOSYS without CAP_SYS_ADMIN");
	CHECK(c->arch_mask == (CG_ARCH_BIT(CG_ARCH_X86_64) | CG_ARCH_BIT(CG_ARCH_X86) | CG_ARCH_BIT(CG_ARCH_X32)));
	cg_closure_free(c);
	c = NULL;
	ro.kernel_major = 4;
	ro.kernel_minor = 4;
	ro.caps = admin;
	ro.n_caps = 1;
	CHECK(cg_closure_load(path, &ro, &c, &err) == 0);
	if (!c)
		return 0;
	CHECK(cg_closure_decide(c, CG_ARCH_X86_64, "mount", z, -1, NULL).kind == CG_ACT_ALLOW);
	CHECK(cg_closure_decide(c, CG_ARCH_X86_64, "ptrace", z, -1, NULL).kind == CG_ACT_ERRNO); /* 4.4 < 4.8 */
	CHECK(cg_closure_decide(c, CG_ARCH_X86_64, "clone3", z, -1, NULL).kind == CG_ACT_ALLOW);
	cg_closure_free(c);
	c = NULL;
	/* aarch64 host: arm sub-arch, no arch_prctl */
	ro.native_arch = CG_ARCH_AARCH64;
	ro.n_caps = 0;
	CHECK(cg_closure_load(path, &ro, &c, &err) == 0);
	if (c) {
		CHECK(c->arch_mask == (CG_ARCH_BIT(CG_ARCH_AARCH64) | CG_ARCH_BIT(CG_ARCH_ARM)));
		CHECK(cg_closure_decide(c, CG_ARCH_AARCH64, "arch_prctl", z, -1, NULL).kind == CG_ACT_ERRNO);
	}
	cg_closure_free(c);
	return 0;
}

/* Judged as the node will enforce it: the container's capabilities, and
 * the worst case over kernels, arches and runtimes when they are unknown.
 * The profile is the one of the attack: mount, bpf and ptrace only under
 * CAP_SYS_ADMIN, kexec_load excluded from kernel 4.0 on. */
static const char cond_profile[] =
	"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":["
	"{\"names\":[\"read\",\"write\"],\"action\":\"SCMP_ACT_ALLOW\"},"
	"{\"names\":[\"mount\",\"bpf\",\"ptrace\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"caps\":[\"CAP_SYS_ADMIN\"]}},"
	"{\"names\":[\"kexec_load\"],\"action\":\"SCMP_ACT_ALLOW\",\"excludes\":{\"minKernel\":\"4.0\"}},"
	"{\"names\":[\"modify_ldt\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"arches\":[\"s390x\"]}},"
	"{\"names\":[\"swapon\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"minKernel\":\"5.0\"},"
	"\"excludes\":{\"minKernel\":\"4.0\"}}]}";

static bool permits(const struct cg_closure *c, const char *name)
{
	const char **names = NULL;
	size_t n = 0;
	bool found = false;
	if (cg_closure_permitted_names(c, -1, &names, &n) < 0)
		return false;
	for (size_t i = 0; i < n; i++)
		found |= strcmp(names[i], name) == 0;
	free(names);
	return found;
}

static struct cg_closure *resolve_str(const char *json, const struct cg_resolve_opts *ro)
{
	struct cg_profile *p = NULL;
	struct cg_closure *c = NULL;
	struct cg_error err = { 0 };
	CHECKF(parse_str(json, &p, &err) == 0, "%s", err.msg);
	if (p)
		CHECKF(cg_profile_resolve(p, ro, &c, &err) == 0, "%s", err.msg);
	cg_profile_free(p);
	return c;
}

static int test_resolve_as_the_node(void)
{
	const char *admin[] = { "CAP_SYS_ADMIN" };
	struct cg_resolve_opts ro = { .sz = sizeof(ro), .native_arch = -1, .default_caps = true };
	struct cg_closure *c;

	/* the CI host's kernel and Docker's caps: what was judged before */
	c = resolve_str(cond_profile, &ro);
	if (c) {
		CHECK(permits(c, "read") && !permits(c, "mount") && !permits(c, "kexec_load"));
		cg_closure_free(c);
	}
	/* the container's capabilities, a resolving runtime, kernel and arch unknown */
	ro.caps = admin;
	ro.n_caps = 1;
	ro.any_kernel = ro.any_arch = true;
	c = resolve_str(cond_profile, &ro);
	if (c) {
		CHECK(permits(c, "mount") && permits(c, "bpf") && permits(c, "ptrace"));
		CHECK(permits(c, "kexec_load")); /* some kernel (3.x) applies it */
		CHECK(permits(c, "modify_ldt")); /* some arch (s390x) applies it */
		CHECK(!permits(c, "swapon"));    /* [5.0, 4.0): no kernel applies it */
		cg_closure_free(c);
	}
	/* a known node: kernel 5.15, amd64 */
	ro.any_kernel = ro.any_arch = false;
	ro.kernel_major = 5;
	ro.kernel_minor = 15;
	ro.native_arch = CG_ARCH_X86_64;
	ro.n_caps = 0;
	c = resolve_str(cond_profile, &ro);
	if (c) {
		CHECK(!permits(c, "mount") && !permits(c, "kexec_load") && !permits(c, "modify_ldt"));
		cg_closure_free(c);
	}
	/* containerd reads the profile as the OCI spec: every entry applies */
	ro.runtime = CG_COND_IGNORE;
	c = resolve_str(cond_profile, &ro);
	if (c) {
		CHECK(permits(c, "mount") && permits(c, "kexec_load") && permits(c, "modify_ldt") && permits(c, "swapon"));
		cg_closure_free(c);
	}
	/* unknown runtime: permits from either */
	ro.runtime = CG_COND_ANY;
	c = resolve_str(cond_profile, &ro);
	if (c) {
		CHECK(permits(c, "mount") && permits(c, "kexec_load"));
		cg_closure_free(c);
	}
	ro.runtime = 7;
	{
		struct cg_profile *p = NULL;
		struct cg_error err = { 0 };
		c = NULL;
		CHECK(parse_str(cond_profile, &p, &err) == 0);
		CHECK(p && cg_profile_resolve(p, &ro, &c, &err) == -EINVAL);
		CHECK_CONTAINS(err.msg, "unknown runtime");
		cg_profile_free(p);
	}

	/* a denial that holds only on some kernels does not count when the
	 * kernel is unknown: the call falls to the permitting default */
	static const char deny_some[] =
		"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
		"{\"names\":[\"ptrace\"],\"action\":\"SCMP_ACT_ERRNO\",\"excludes\":{\"minKernel\":\"5.0\"}},"
		"{\"names\":[\"kexec_load\"],\"action\":\"SCMP_ACT_ERRNO\",\"includes\":{\"caps\":[\"CAP_SYS_ADMIN\"]}},"
		"{\"names\":[\"reboot\"],\"action\":\"SCMP_ACT_ERRNO\"}]}";
	uint64_t z[6] = { 0 };
	struct cg_resolve_opts any = { .sz = sizeof(any), .native_arch = -1, .caps = admin, .n_caps = 1, .any_kernel = true, .any_arch = true };
	c = resolve_str(deny_some, &any);
	if (c) {
		CHECK(cg_closure_decide(c, CG_ARCH_X86_64, "ptrace", z, -1, NULL).kind == CG_ACT_ALLOW);
		CHECK(cg_closure_decide(c, CG_ARCH_X86_64, "kexec_load", z, -1, NULL).kind == CG_ACT_ERRNO);
		CHECK(cg_closure_decide(c, CG_ARCH_X86_64, "reboot", z, -1, NULL).kind == CG_ACT_ERRNO);
		cg_closure_free(c);
	}
	/* ... and under an unknown runtime a capability-conditional denial is only sure for the caps it needs */
	any.runtime = CG_COND_ANY;
	any.n_caps = 0;
	c = resolve_str(deny_some, &any);
	if (c) {
		CHECK(cg_closure_decide(c, CG_ARCH_X86_64, "kexec_load", z, -1, NULL).kind == CG_ACT_ALLOW);
		CHECK(cg_closure_decide(c, CG_ARCH_X86_64, "reboot", z, -1, NULL).kind == CG_ACT_ERRNO);
		cg_closure_free(c);
	}
	return 0;
}

/* The corpus's Docker default profile, judged for a container that adds
 * SYS_ADMIN on an unknown node. */
static int test_docker_default_worst_case(void)
{
	char path[1024];
	struct cg_closure *c = NULL;
	struct cg_error err = { 0 };
	struct cg_resolve_opts ro = { .sz = sizeof(ro), .native_arch = -1, .default_caps = true, .any_kernel = true, .any_arch = true };
	uint64_t z[6] = { 0 };

	snprintf(path, sizeof(path), "%s/corpus/profiles/docker-default.json", t_shared());
	if (access(path, R_OK) != 0)
		SKIP("%s is absent (the shared corpus is not beside the checkout)", path);
	CHECK(cg_closure_load(path, &ro, &c, &err) == 0);
	if (c) {
		/* no SYS_ADMIN: still no mount; the other arches' calls count */
		CHECK(!permits(c, "mount"));
		CHECK(permits(c, "ptrace")); /* minKernel 4.8: some kernels */
		CHECK(permits(c, "arch_prctl") && permits(c, "s390_runtime_instr"));
		/* clone3's ENOSYS holds without SYS_ADMIN on every node */
		CHECK(cg_closure_decide(c, CG_ARCH_X86_64, "clone3", z, -1, NULL).kind == CG_ACT_ERRNO);
	}
	cg_closure_free(c);
	c = NULL;
	ro.runtime = CG_COND_ANY; /* containerd applies the SYS_ADMIN entries too */
	CHECK(cg_closure_load(path, &ro, &c, &err) == 0);
	if (c)
		CHECK(permits(c, "mount") && permits(c, "bpf") && permits(c, "clone3"));
	cg_closure_free(c);
	return 0;
}

/* Capabilities as containerd and CRI-O compute them from a securityContext. */
static bool caps_has(char **v, size_t n, const char *cap)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], cap) == 0)
			return true;
	return false;
}

static void caps_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int test_caps_effective(void)
{
	char **v = NULL;
	size_t n = 0;
	const char *add[] = { "SYS_ADMIN", "net_admin" }, *drop[] = { "NET_RAW", "CAP_CHOWN" }, *all[] = { "ALL" };

	CHECK(cg_caps_effective(NULL, 0, NULL, 0, false, &v, &n) == 0 && n == 14);
	CHECK(caps_has(v, n, "CAP_NET_RAW") && !caps_has(v, n, "CAP_SYS_ADMIN"));
	for (size_t i = 1; i < n; i++)
		CHECK(strcmp(v[i - 1], v[i]) < 0);
	caps_free(v, n);
	CHECK(cg_caps_effective(add, 2, drop, 2, false, &v, &n) == 0 && n == 14);
	CHECK(caps_has(v, n, "CAP_SYS_ADMIN") && caps_has(v, n, "CAP_NET_ADMIN"));
	CHECK(!caps_has(v, n, "CAP_NET_RAW") && !caps_has(v, n, "CAP_CHOWN"));
	caps_free(v, n);
	/* drop ALL, add one: just that one */
	CHECK(cg_caps_effective(add, 1, all, 1, false, &v, &n) == 0 && n == 1 && caps_has(v, n, "CAP_SYS_ADMIN"));
	caps_free(v, n);
	/* added and dropped: dropped */
	CHECK(cg_caps_effective(add, 1, add, 1, false, &v, &n) == 0 && !caps_has(v, n, "CAP_SYS_ADMIN"));
	caps_free(v, n);
	/* add ALL, drop one */
	CHECK(cg_caps_effective(all, 1, drop, 1, false, &v, &n) == 0 && n == 40 && !caps_has(v, n, "CAP_NET_RAW"));
	caps_free(v, n);
	/* privileged: every capability, drops or not */
	CHECK(cg_caps_effective(NULL, 0, all, 1, true, &v, &n) == 0 && n == 41 && caps_has(v, n, "CAP_BPF"));
	caps_free(v, n);
	return 0;
}

static int test_moby_clone3_per_arch(void)
{
	NEED_SHARED("corpus/profiles");
	char path[1024];
	struct cg_closure *c = NULL;
	struct cg_error err = { 0 };
	uint64_t z[6] = { 0 };
	struct cg_resolve_opts ro = { .sz = sizeof(ro), .native_arch = CG_ARCH_MIPS64, .default_caps = true };
	snprintf(path, sizeof(path), "%s/corpus/profiles/moby-fixtures-conditional_clone3.json", t_shared());
	CHECK(cg_closure_load(path, NULL, &c, &err) == 0);
	if (c) {
		struct cg_action a = cg_closure_decide(c, CG_ARCH_X86_64, "clone3", z, -1, NULL);
		CHECKF(a.kind == CG_ACT_ERRNO && a.data == 38, "x86_64 clone3 -> ENOSYS, got %d/%u", a.kind, a.data);
	}
	cg_closure_free(c);
	c = NULL;
	CHECK(cg_closure_load(path, &ro, &c, &err) == 0);
	if (c) {
		struct cg_action a = cg_closure_decide(c, CG_ARCH_MIPS64, "clone3", z, -1, NULL);
		CHECKF(a.kind == CG_ACT_ERRNO && a.data == 89, "mips clone3 -> errno 89, got %d/%u", a.kind, a.data);
	}
	cg_closure_free(c);
	return 0;
}

static int test_seccompprofile_yaml(void)
{
	NEED_SHARED("corpus/profiles");
	char path[1024], *buf = NULL;
	size_t len, n = 0;
	struct cg_profile **ps = NULL;
	struct cg_error err = { 0 };
	snprintf(path, sizeof(path), "%s/corpus/profiles/spo-seccompprofile.yaml", t_shared());
	CHECK(cg_read_file(path, &buf, &len, &err) == 0);
	CHECK(cg_profile_parse_all(buf, len, path, &ps, &n, &err) == 0);
	CHECKF(n == 3, "%zu profiles", n);
	if (n == 3) {
		CHECK_STR(ps[0]->name, "profile-block");
		CHECK(ps[0]->default_action.kind == CG_ACT_ERRNO);
		CHECK(ps[2]->default_action.kind == CG_ACT_ALLOW);
	}
	for (size_t i = 0; i < n; i++)
		cg_profile_free(ps[i]);
	free(ps);
	free(buf);
	return 0;
}

static int test_podman_errno_names(void)
{
	struct cg_profile *p = NULL;
	struct cg_error err = { 0 };
	expect_error("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 38, \"defaultErrno\": \"EPERM\"}", "disagrees");
	CHECK(parse_str("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrno\": \"ENOSYS\"}", &p, &err) == 0);
	if (p)
		CHECK_EQ_INT(p->default_action.data, ENOSYS);
	cg_profile_free(p);
	return 0;
}

/* Duplicate keys are found wherever they are, in a huge mapping too, and the
 * error names the second one (capgate's own check: libfyaml's is quadratic,
 * and 100,000 keys took it minutes). */
static int test_duplicate_keys(void)
{
	struct cg_strbuf sb;
	struct cg_profile *p = NULL;
	struct cg_error err = { 0 };

	expect_error("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"], \"names\": []}]}",
		     "t.json:1:70: syscalls[0]: duplicate key 'names'");
	expect_error("defaultAction: SCMP_ACT_ERRNO\nsyscalls:\n- names: [read]\n  action: SCMP_ACT_ALLOW\n  action: SCMP_ACT_LOG\n",
		     "t.json:5:3: syscalls[0]: duplicate key 'action'");
	cg_strbuf_init(&sb);
	cg_strbuf_addf(&sb, "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"], \"action\": "
			    "\"SCMP_ACT_ALLOW\", \"comment\": {");
	for (size_t i = 0; i < 100000; i++)
		cg_strbuf_addf(&sb, "\"k%zu\": 1, ", i);
	cg_strbuf_addf(&sb, "\"k77777\": 2}}]}");
	CHECK(cg_profile_parse(sb.buf, sb.len, "big.json", &p, &err) < 0);
	CHECKF(strstr(err.msg, "syscalls[0].comment: duplicate key 'k77777'") != NULL, "%s", err.msg);
	cg_profile_free(p);
	cg_strbuf_release(&sb);
	return 0;
}

/* libfyaml 0.7.12 crashes freeing the parser after these six bytes: the
 * profile reader refuses them first, with a position (in a child, so that a
 * crash is a failure rather than the end of the test binary). */
static int test_libfyaml_tab_crash(void)
{
	static const char crash[] = "? ::\t?";
	pid_t pid;
	int st = 0;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct cg_profile *p = NULL;
		struct cg_error err = { 0 };
		int r = cg_profile_parse(crash, sizeof(crash) - 1, "p.yaml", &p, &err);
		cg_profile_free(p);
		_exit(r < 0 && strstr(err.msg, "p.yaml:1:4: a tab between ':' and '?'") ? 0 : 1);
	}
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid);
	CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x", st);
	return 0;
}

int main(void)
{
	RUN(test_errors_have_positions);
	RUN(test_duplicate_keys);
	RUN(test_unknown_names);
	RUN(test_corpus_round_trip);
	RUN(test_readers_agree);
	RUN(test_json_reader_takes_profiles);
	RUN(test_docker_includes);
	RUN(test_moby_clone3_per_arch);
	RUN(test_resolve_as_the_node);
	RUN(test_docker_default_worst_case);
	RUN(test_caps_effective);
	RUN(test_seccompprofile_yaml);
	RUN(test_podman_errno_names);
	RUN(test_libfyaml_tab_crash);
	T_DONE();
}
