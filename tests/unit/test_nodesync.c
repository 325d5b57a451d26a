// SPDX-License-Identifier: Apache-2.0
/*
 * The node agent's library half (lib/static/nodesync.c) and the SPO export
 * (lib/closure/export.c), called directly: what a pass reports entry by
 * entry, the file it writes being the canonical closure under its digest,
 * removal held by a bad entry, the ConfigMap ..data layout, the options
 * struct's size rules, and a closure the export must refuse.
 * tests/cli/deploy.sh covers the same through the command, with the attacks.
 */
#include <capgate/export.h>
#include <capgate/profile.h>
#include <capgate/strbuf.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>

#include "static/nodesync.h"
#include "t.h"

static char tmp[256];

static const char demo[] = "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"architectures\":[\"SCMP_ARCH_X86_64\"],"
			   "\"syscalls\":[{\"names\":[\"read\",\"write\",\"exit_group\"],\"action\":\"SCMP_ACT_ALLOW\"}]}";
static const char other[] = "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"architectures\":[\"SCMP_ARCH_X86_64\"],"
			    "\"syscalls\":[{\"names\":[\"getpid\",\"exit_group\"],\"action\":\"SCMP_ACT_ALLOW\"}]}";

static void put(const char *dir, const char *name, const char *data)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fp = fopen(path, "we"))) {
		fputs(data, fp);
		fclose(fp);
	}
}

/* The file name node-sync gives the closure in @json. */
static void digest_name(const char *json, char out[128])
{
	struct cg_profile *p = NULL;
	struct cg_closure *c = NULL;
	struct cg_resolve_opts ro = { .sz = sizeof(ro), .default_caps = true };
	char d[72] = "sha256:?";

	if (cg_profile_parse(json, strlen(json), "t", &p, NULL) == 0 && cg_profile_resolve(p, &ro, &c, NULL) == 0)
		cg_closure_digest(c, d);
	snprintf(out, 128, "sha256-%s.json", d + 7);
	cg_closure_free(c);
	cg_profile_free(p);
}

static bool exists(const char *dir, const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

static int test_pass(void)
{
	char src[300], root[300], pdir[400], demo_name[128], other_name[128];
	struct cg_nodesync_opts o = { .sz = sizeof(o), .source = src, .kubelet_root = root };
	struct cg_nodesync_result res;
	struct cg_error err = { 0 };

	snprintf(src, sizeof(src), "%s/src", tmp);
	snprintf(root, sizeof(root), "%s/root", tmp);
	snprintf(pdir, sizeof(pdir), "%s/" CG_NODESYNC_SUBDIR, root);
	mkdir(src, 0755);
	mkdir(root, 0755);
	digest_name(demo, demo_name);
	digest_name(other, other_name);
	put(src, "a.json", demo);
	put(src, "b.json", other);
	put(src, "c.json", "{\"defaultAction\": 3}");
	put(src, "notes.txt", "x");

	CHECK_EQ_INT(cg_nodesync_once(&o, &res, &err), 0);
	CHECK_EQ_INT(res.n_entries, 4);
	CHECK_EQ_INT(res.n_written, 2);
	CHECK_EQ_INT(res.n_errors, 1);
	CHECK(res.removal_held);
	if (res.n_entries == 4) {
		CHECK_STR(res.entries[0].name, "a.json");
		CHECK_EQ_INT(res.entries[0].state, CG_NODESYNC_WRITTEN);
		CHECK(strncmp(res.entries[0].digest, "sha256:", 7) == 0 &&
		      strncmp(res.entries[0].digest + 7, demo_name + 7, 64) == 0);
		CHECK_EQ_INT(res.entries[2].state, CG_NODESYNC_ERROR);
		CHECK_CONTAINS(res.entries[2].error, "c.json:1:19: defaultAction");
		CHECK_EQ_INT(res.entries[3].state, CG_NODESYNC_IGNORED);
	}
	cg_nodesync_result_release(&res);
	CHECK(exists(pdir, demo_name));
	CHECK(exists(pdir, other_name));

	/* Still bad: nothing removed even though b.json left. */
	char b_path[512];
	snprintf(b_path, sizeof(b_path), "%s/b.json", src);
	unlink(b_path);
	CHECK_EQ_INT(cg_nodesync_once(&o, &res, &err), 0);
	CHECK_EQ_INT(res.n_removed, 0);
	CHECK_EQ_INT(res.n_unchanged, 1);
	cg_nodesync_result_release(&res);
	CHECK(exists(pdir, other_name));

	/* Fixed: b's profile goes, a's stays. */
	put(src, "c.json", demo);
	CHECK_EQ_INT(cg_nodesync_once(&o, &res, &err), 0);
	CHECK_EQ_INT(res.n_errors, 0);
	CHECK_EQ_INT(res.n_removed, 1);
	if (res.n_removed == 1)
		CHECK_STR(res.removed[0], other_name);
	CHECK_EQ_INT(res.n_unchanged, 2); /* a.json, and c.json: the same closure */
	cg_nodesync_result_release(&res);
	CHECK(!exists(pdir, other_name));
	CHECK(exists(pdir, demo_name));
	return 0;
}

static int test_configmap(void)
{
	char cm[300], ver[400], root[300], pdir[400], demo_name[128];
	const char *named[] = { "own.json" };
	struct cg_nodesync_opts o = { .sz = sizeof(o), .source = cm, .kubelet_root = root, .named = named, .n_named = 1 };
	struct cg_nodesync_result res;
	struct cg_error err = { 0 };
	char link[512];

	snprintf(cm, sizeof(cm), "%s/cm", tmp);
	snprintf(ver, sizeof(ver), "%s/..2026_01_01", cm);
	snprintf(root, sizeof(root), "%s/root-cm", tmp);
	snprintf(pdir, sizeof(pdir), "%s/" CG_NODESYNC_SUBDIR, root);
	mkdir(cm, 0755);
	mkdir(ver, 0755);
	mkdir(root, 0755);
	put(ver, "own.json", demo);
	snprintf(link, sizeof(link), "%s/..data", cm);
	CHECK_EQ_INT(symlink("..2026_01_01", link), 0);
	snprintf(link, sizeof(link), "%s/own.json", cm);
	CHECK_EQ_INT(symlink("..data/own.json", link), 0);
	digest_name(demo, demo_name);

	CHECK_EQ_INT(cg_nodesync_once(&o, &res, &err), 0);
	CHECK_EQ_INT(res.n_entries, 1);
	CHECK_EQ_INT(res.n_written, 1);
	cg_nodesync_result_release(&res);
	CHECK(exists(pdir, demo_name));
	CHECK(exists(pdir, "own.json"));

	/* ..data leaving the mount is refused. */
	snprintf(link, sizeof(link), "%s/..data", cm);
	unlink(link);
	CHECK_EQ_INT(symlink("../elsewhere", link), 0);
	CHECK_EQ_INT(cg_nodesync_once(&o, &res, &err), -EINVAL);
	CHECK_CONTAINS(err.msg, "not to a version directory beside it");
	cg_nodesync_result_release(&res);

	/* --named names are checked. */
	named[0] = "../own.json";
	CHECK_EQ_INT(cg_nodesync_once(&o, &res, &err), -EINVAL);
	cg_nodesync_result_release(&res);
	return 0;
}

static int test_opts(void)
{
	struct {
		struct cg_nodesync_opts o;
		long extra;
	} big = { .o = { .sz = sizeof(big), .source = tmp, .kubelet_root = tmp }, .extra = 1 };
	struct cg_nodesync_result res;
	struct cg_error err = { 0 };

	CHECK_EQ_INT(cg_nodesync_once(&big.o, &res, &err), -E2BIG);
	cg_nodesync_result_release(&res);
	CHECK_EQ_INT(cg_nodesync_once(NULL, &res, &err), -EINVAL); /* no source */
	cg_nodesync_result_release(&res);
	return 0;
}

static int test_spo(void)
{
	static const char per_arch[] =
		"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\"],"
		"\"syscalls\":[{\"names\":[\"ptrace\"],\"action\":\"SCMP_ACT_ALLOW\",\"arches\":[\"SCMP_ARCH_X86\"]}]}";
	struct cg_resolve_opts ro = { .sz = sizeof(ro), .default_caps = true };
	struct cg_spo_opts so = { .sz = sizeof(so), .name = "demo" };
	struct cg_profile *p = NULL, *back = NULL;
	struct cg_closure *c = NULL, *c2 = NULL, *pa = NULL;
	struct cg_error err = { 0 };
	struct cg_strbuf sb;
	char d1[72] = "", d2[72] = "";

	cg_strbuf_init(&sb);
	CHECK_EQ_INT(cg_profile_parse(demo, strlen(demo), "demo", &p, &err), 0);
	CHECK_EQ_INT(cg_profile_resolve(p, &ro, &c, &err), 0);
	cg_profile_free(p);
	p = NULL;
	if (!c)
		return 0;
	CHECK_EQ_INT(cg_closure_write_spo(c, &so, &sb, &err), 0);
	CHECK_CONTAINS(sb.buf, "apiVersion: security-profiles-operator.x-k8s.io/v1beta1");
	CHECK_CONTAINS(sb.buf, "kind: SeccompProfile");
	/* capgate reads it back to the same closure */
	CHECK_EQ_INT(cg_profile_parse(sb.buf, sb.len, "spo", &back, &err), 0);
	if (back && cg_profile_resolve(back, &ro, &c2, &err) == 0) {
		cg_closure_digest(c, d1);
		cg_closure_digest(c2, d2);
		CHECK_STR(d1, d2);
		CHECK_CONTAINS(sb.buf, d1);
	}
	/* refused: a bad name; an allow on some arches only; nothing appended */
	size_t len = sb.len;
	so.name = "Demo";
	CHECK_EQ_INT(cg_closure_write_spo(c, &so, &sb, &err), -EINVAL);
	CHECK_CONTAINS(err.msg, "metadata.name");
	so.name = "demo";
	CHECK_EQ_INT(cg_profile_parse(per_arch, strlen(per_arch), "pa", &p, &err), 0);
	CHECK_EQ_INT(cg_profile_resolve(p, &ro, &pa, &err), 0);
	if (pa) {
		CHECK_EQ_INT(cg_closure_write_spo(pa, &so, &sb, &err), -EINVAL);
		CHECK_CONTAINS(err.msg, "rule for 'ptrace' (SCMP_ACT_ALLOW) holds only on x86");
		CHECK_EQ_INT(cg_closure_check_plain(pa, NULL), -EINVAL);
	}
	CHECK_EQ_INT(sb.len, len);
	CHECK_EQ_INT(cg_closure_check_plain(c, NULL), 0);
	cg_strbuf_release(&sb);
	cg_closure_free(c);
	cg_closure_free(c2);
	cg_closure_free(pa);
	cg_profile_free(p);
	cg_profile_free(back);
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int main(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/capgate-test-nodesync-XXXXXX");
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_pass);
	RUN(test_configmap);
	RUN(test_opts);
	RUN(test_spo);
	nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	T_DONE();
}
