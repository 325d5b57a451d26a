// SPDX-License-Identifier: Apache-2.0
/*
 * Images: reference grammar and trusted-location matching (with the
 * Gatekeeper allowedrepos samples), OCI layouts built here blob by blob,
 * docker-archive tarballs written by a small tar writer, and cosign
 * simple-signing verification with real P-256 keys made by OpenSSL.
 */
#include <capgate/image.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include "static/oci.h"
#include "static/sign.h"
#include "static/tar.h"
#include "t.h"

#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* ---- references --------------------------------------------------------- */

struct ref_case {
	const char *in;
	const char *registry, *repository, *tag, *digest; /* registry NULL = must fail */
	const char *why;                                  /* valid: "d" when registry_defaulted; invalid: a piece of the message */
};

static const struct ref_case ref_cases[] = {
	/* valid */
	{ "nginx", "docker.io", "library/nginx", NULL, NULL, "d" },
	{ "nginx:1.25", "docker.io", "library/nginx", "1.25", NULL, "d" },
	{ "library/nginx", "docker.io", "library/nginx", NULL, NULL, "d" },
	{ "docker.io/nginx", "docker.io", "library/nginx", NULL, NULL, "" },
	{ "index.docker.io/nginx", "docker.io", "library/nginx", NULL, NULL, "" },
	{ "index.docker.io/org/app", "docker.io", "org/app", NULL, NULL, "" },
	{ "docker.io/library/nginx:latest", "docker.io", "library/nginx", "latest", NULL, "" },
	/* Docker Hub's names in any case (capgate; the Go package is case-sensitive here) */
	{ "Docker.IO/nginx", "docker.io", "library/nginx", NULL, NULL, "" },
	{ "index.dockeR.io/org/app", "docker.io", "org/app", NULL, NULL, "" },
	{ "openpolicyagent/opa:0.9.2", "docker.io", "openpolicyagent/opa", "0.9.2", NULL, "d" },
	{ "registry.example.com/team/app:1.2", "registry.example.com", "team/app", "1.2", NULL, "" },
	{ "registry.example.com:5000/team/app", "registry.example.com:5000", "team/app", NULL, NULL, "" },
	{ "localhost/app", "localhost", "app", NULL, NULL, "" },
	{ "localhost:5000/app:dev", "localhost:5000", "app", "dev", NULL, "" },
	/* no '/': "localhost:5000" is the official image "localhost", tag 5000 */
	{ "localhost:5000", "docker.io", "library/localhost", "5000", NULL, "d" },
	/* an uppercase first component is a domain */
	{ "Foo/bar", "Foo", "bar", NULL, NULL, "" },
	{ "a.b.c/d/e/f/g", "a.b.c", "d/e/f/g", NULL, NULL, "" },
	{ "ghcr.io/org/app@sha256:" H64, "ghcr.io", "org/app", NULL, "sha256:" H64, "" },
	{ "ghcr.io/org/app:v1@sha256:" H64, "ghcr.io", "org/app", "v1", "sha256:" H64, "" },
	{ "example.com/app@sha512:" H64 H64, "example.com", "app", NULL, "sha512:" H64 H64, "" },
	{ "[::1]:5000/app", "[::1]:5000", "app", NULL, NULL, "" },
	{ "[fe80::1]/app", "[fe80::1]", "app", NULL, NULL, "" },
	{ "a__b/c", "docker.io", "a__b/c", NULL, NULL, "d" },
	{ "a-----b/c.d_e", "docker.io", "a-----b/c.d_e", NULL, NULL, "d" },
	{ "123456789123.dkr.ecr.eu-west-1.amazonaws.com/postgres", "123456789123.dkr.ecr.eu-west-1.amazonaws.com",
	  "postgres", NULL, NULL, "" },
	{ "app:_x", "docker.io", "library/app", "_x", NULL, "d" },
	{ "app:A.b-C_9", "docker.io", "library/app", "A.b-C_9", NULL, "d" },
	{ "my-registry.local:443/x/y:z", "my-registry.local:443", "x/y", "z", NULL, "" },
	/* invalid */
	{ "", NULL, NULL, NULL, NULL, "empty image reference" },
	{ "Nginx", NULL, NULL, NULL, NULL, "must be lowercase" },
	{ "registry.example.com/Team/app", NULL, NULL, NULL, NULL, "must be lowercase" },
	{ "nginx:", NULL, NULL, NULL, NULL, "invalid tag" },
	{ "nginx:-x", NULL, NULL, NULL, NULL, "invalid tag" },
	{ "nginx:a+b", NULL, NULL, NULL, NULL, "invalid character '+' in tag" },
	{ "nginx:a b", NULL, NULL, NULL, NULL, "space" },
	{ "nginx@sha256:abc", NULL, NULL, NULL, NULL, "needs 64 hex digits" },
	{ "nginx@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", NULL, NULL, NULL, NULL,
	  "must be lowercase" },
	{ "nginx@md5:0123456789abcdef0123456789abcdef", NULL, NULL, NULL, NULL, "unsupported digest algorithm" },
	{ "nginx@:" H64, NULL, NULL, NULL, NULL, "expected algorithm:hex" },
	{ "nginx@sha256:" H64 "@sha256:" H64, NULL, NULL, NULL, NULL, "more than one '@'" },
	{ "a//b", NULL, NULL, NULL, NULL, "empty path component" },
	{ "-a/b", NULL, NULL, NULL, NULL, "start and end" },
	{ "a_/b", NULL, NULL, NULL, NULL, "start and end" },
	{ "a...b", NULL, NULL, NULL, NULL, "separators" },
	{ "a___b", NULL, NULL, NULL, NULL, "separators" },
	{ "a.b_c-d/e", NULL, NULL, NULL, NULL, "invalid registry host name" },
	{ "example.com:/app", NULL, NULL, NULL, NULL, "empty registry port" },
	{ "example.com:abc/app", NULL, NULL, NULL, NULL, "port must be digits" },
	{ "-example.com/app", NULL, NULL, NULL, NULL, "invalid registry host name" },
	{ "example-.com/app", NULL, NULL, NULL, NULL, "invalid registry host name" },
	{ "[zz::1]/app", NULL, NULL, NULL, NULL, "invalid IPv6" },
	{ H64, NULL, NULL, NULL, NULL, "image ID" },
	{ "nginx:1.0:2", NULL, NULL, NULL, NULL, "invalid character" },
	{ "http://example.com/app", NULL, NULL, NULL, NULL, "empty registry port" },
	{ "example.com/app/", NULL, NULL, NULL, NULL, "empty path component" },
	{ "/app", NULL, NULL, NULL, NULL, "empty path component" },
	{ "example.com/", NULL, NULL, NULL, NULL, "missing repository name" },
	{ "@sha256:" H64, NULL, NULL, NULL, NULL, "missing repository name" },
	{ "ex\xc3\xa4mple.com/app", NULL, NULL, NULL, NULL, "non-ASCII" },
};

static int test_ref_table(void)
{
	size_t valid = 0, invalid = 0;

	for (size_t i = 0; i < CG_ARRAY_SIZE(ref_cases); i++) {
		const struct ref_case *c = &ref_cases[i];
		struct cg_imageref r = { 0 };
		struct cg_error err = { 0 };
		int rc = cg_imageref_parse(c->in, &r, &err);

		if (c->registry) {
			valid++;
			CHECKF(rc == 0, "'%s' refused: %s", c->in, err.msg);
			if (rc != 0)
				continue;
			CHECK_STR(r.registry, c->registry);
			CHECK_STR(r.repository, c->repository);
			CHECKF((!r.tag && !c->tag) || (r.tag && c->tag && strcmp(r.tag, c->tag) == 0),
			       "'%s': tag %s, expected %s", c->in, r.tag ? r.tag : "(none)", c->tag ? c->tag : "(none)");
			CHECKF((!r.digest && !c->digest) || (r.digest && c->digest && strcmp(r.digest, c->digest) == 0),
			       "'%s': digest %s", c->in, r.digest ? r.digest : "(none)");
			CHECKF(r.registry_defaulted == (strcmp(c->why, "d") == 0), "'%s': registry_defaulted %d", c->in,
			       r.registry_defaulted);
		} else {
			invalid++;
			CHECKF(rc < 0, "'%s' accepted", c->in);
			if (rc < 0) {
				CHECK_EQ_INT(err.code, -EINVAL);
				CHECKF(strstr(err.msg, c->why) != NULL, "'%s': error \"%s\" lacks \"%s\"", c->in, err.msg,
				       c->why);
			}
		}
		cg_imageref_release(&r);
	}
	CHECK(valid >= 20 && invalid >= 20);

	/* the 255-character limit counts the whole normalised name */
	{
		char name[300];
		struct cg_imageref r = { 0 };
		struct cg_error err = { 0 };
		/* "example.com/" (12) + 243 = 255: allowed; one more: refused */
		memset(name, 'a', sizeof(name));
		memcpy(name, "example.com/", 12);
		name[255] = '\0';
		CHECKF(cg_imageref_parse(name, &r, &err) == 0, "255 refused: %s", err.msg);
		cg_imageref_release(&r);
		name[255] = 'a';
		name[256] = '\0';
		CHECK(cg_imageref_parse(name, &r, &err) == -EINVAL);
		CHECK_CONTAINS(err.msg, "not be more than 255");
		/* "docker.io/library/" is counted too: 237 + 18 = 255, 238 too long */
		memset(name, 'b', 238);
		name[237] = '\0';
		CHECKF(cg_imageref_parse(name, &r, &err) == 0, "237 refused: %s", err.msg);
		cg_imageref_release(&r);
		name[237] = 'b';
		name[238] = '\0';
		CHECK(cg_imageref_parse(name, &r, &err) == -EINVAL);
		/* tags: 128 characters allowed, 129 not */
		memset(name, 'c', sizeof(name));
		memcpy(name, "app:", 4);
		name[4 + 128] = '\0';
		CHECK(cg_imageref_parse(name, &r, NULL) == 0);
		cg_imageref_release(&r);
		name[4 + 128] = 'c';
		name[4 + 129] = '\0';
		CHECK(cg_imageref_parse(name, &r, NULL) == -EINVAL);
	}
	return 0;
}

static int test_ref_format_round_trip(void)
{
	for (size_t i = 0; i < CG_ARRAY_SIZE(ref_cases); i++) {
		struct cg_imageref a = { 0 }, b = { 0 };
		char *fa, *fb;

		if (!ref_cases[i].registry)
			continue;
		CHECK(cg_imageref_parse(ref_cases[i].in, &a, NULL) == 0);
		fa = cg_imageref_format(&a);
		CHECK(fa && cg_imageref_parse(fa, &b, NULL) == 0);
		fb = cg_imageref_format(&b);
		CHECKF(fa && fb && strcmp(fa, fb) == 0, "'%s' -> '%s' -> '%s'", ref_cases[i].in, fa, fb);
		CHECK_STR(a.registry, b.registry);
		CHECK_STR(a.repository, b.repository);
		free(fa);
		free(fb);
		cg_imageref_release(&a);
		cg_imageref_release(&b);
	}
	{
		struct cg_imageref a = { 0 };
		char *f;
		CHECK(cg_imageref_parse("nginx:1.25", &a, NULL) == 0);
		f = cg_imageref_format(&a);
		CHECK_STR(f, "docker.io/library/nginx:1.25");
		free(f);
		cg_imageref_release(&a);
		cg_imageref_release(&a); /* release twice is harmless */
		CHECK(cg_imageref_format(NULL) == NULL);
	}
	return 0;
}

struct within_case {
	const char *ref, *trusted;
	bool want;
};

static const struct within_case within_cases[] = {
	/* registry confusion */
	{ "registry.example.com.evil.io/app", "registry.example.com", false },
	{ "registry.example.com/teamx/app", "registry.example.com/team", false },
	{ "registry.example.com/team/app", "registry.example.com/team", true },
	{ "registry.example.com/team", "registry.example.com/team", true },
	{ "registry.example.com:5000/app", "registry.example.com", false },
	{ "registry.example.com:5000/app", "registry.example.com:5000", true },
	{ "registry.example.com/app", "registry.example.com:5000", false },
	{ "registry.example.com/app", "registry.example", false },
	{ "evil.com/registry.example.com/app", "registry.example.com", false },
	{ "registry.example.com/app", "evil.com/registry.example.com", false },
	{ "evil.registry.example.com/app", "registry.example.com", false },
	/* host case does not matter, path case cannot differ (lowercase only) */
	{ "REGISTRY.Example.com/app", "registry.example.com", true },
	{ "registry.example.com/app", "Registry.Example.COM", true },
	/* docker hub spellings */
	{ "docker.io/library/nginx", "docker.io", true },
	{ "nginx", "docker.io", true },
	{ "nginx", "docker.io/library", true },
	{ "nginx", "index.docker.io", true },
	{ "Index.Docker.IO/org/app", "INDEX.docker.io/org", true },
	{ "index.docker.io/library/nginx", "docker.io/library/nginx", true },
	{ "openpolicyagent/opa", "docker.io/openpolicyagent", true },
	{ "openpolicyagent/opa", "docker.io/openpolicy", false },
	/* a one-component trusted path on docker.io is an organisation, not library/ */
	{ "nginx", "docker.io/nginx", false },
	/* digests and tags on the reference do not matter */
	{ "registry.example.com/app@sha256:" H64, "registry.example.com/app", true },
	{ "registry.example.com/app:1.0@sha256:" H64, "registry.example.com", true },
	/* trusted strings that are not locations match nothing */
	{ "registry.example.com/app", "", false },
	{ "registry.example.com/app", "registry.example.com/app:1.0", false },
	{ "registry.example.com/app", "registry.example.com/app@sha256:" H64, false },
	{ "registry.example.com/app", "/app", false },
	{ "registry.example.com/app", "registry.example.com//app", false },
	{ "registry.example.com/app", "registry.example.com/", true },
	{ "localhost/app", "localhost", true },
	{ "localhost:5000/app", "localhost", false },
	{ "[::1]:5000/app", "[::1]:5000", true },
	{ "[::1]:5000/app", "[::1]", false },
};

static int test_ref_within(void)
{
	for (size_t i = 0; i < CG_ARRAY_SIZE(within_cases); i++) {
		struct cg_imageref r = { 0 };
		struct cg_error err = { 0 };
		CHECKF(cg_imageref_parse(within_cases[i].ref, &r, &err) == 0, "'%s': %s", within_cases[i].ref, err.msg);
		CHECKF(cg_imageref_within(&r, within_cases[i].trusted) == within_cases[i].want,
		       "'%s' within '%s' should be %d", within_cases[i].ref, within_cases[i].trusted,
		       within_cases[i].want);
		cg_imageref_release(&r);
	}
	CHECK(!cg_imageref_within(NULL, "docker.io"));
	return 0;
}

/*
 * The Gatekeeper allowedrepos samples, decided three ways:
 *   v1  K8sAllowedRepos:   startswith(image, repo) for repos ["openpolicyagent/"]
 *   v2  K8sAllowedReposv2: an entry ending in a star is a prefix, others the whole string
 *   cg  capgate: parsed reference within docker.io/openpolicyagent,
 *       myregistry.azurecr.io, docker.io/mydockerhub, and
 *       123456789123.dkr.ecr.eu-west-1.amazonaws.com/postgres
 * Where string matching and parsed matching differ:
 *   - "ubuntu:20.14": v2 allows the exact tag; a trusted *location* cannot
 *     pin a tag, so capgate does not (a tag pin belongs in a digest rule);
 *   - "docker.io/openpolicyagent/opa" (same image, spelled fully): v1's
 *     prefix "openpolicyagent/" refuses it, capgate allows it;
 *   - a bare prefix without the final '/' ("myregistry.azurecr.io",
 *     ".../postgres", "mydockerhub") -- what people write in v1 -- lets
 *     "myregistry.azurecr.io.malicious.com/...", ".../postgresmalicious"
 *     and "mydockerhubmalicious/python" through; capgate never does;
 *   - ".../postgres" trusted by capgate also covers ".../postgres/sub"
 *     (path prefix by component); v2's exact entry does not.
 */
static bool gk_v2(const char *img)
{
	static const char *const allowed[] = { "openpolicyagent/*", "myregistry.azurecr.io/*", "mydockerhub/*",
					       "ubuntu:20.14", "123456789123.dkr.ecr.eu-west-1.amazonaws.com/postgres" };
	for (size_t i = 0; i < CG_ARRAY_SIZE(allowed); i++) {
		size_t n = strlen(allowed[i]);
		if (allowed[i][n - 1] == '*' ? strncmp(img, allowed[i], n - 1) == 0 : strcmp(img, allowed[i]) == 0)
			return true;
	}
	return false;
}

static bool cg_trusted(const char *img)
{
	static const char *const trusted[] = { "docker.io/openpolicyagent", "myregistry.azurecr.io",
					       "docker.io/mydockerhub",
					       "123456789123.dkr.ecr.eu-west-1.amazonaws.com/postgres" };
	struct cg_imageref r = { 0 };
	bool ok = false;

	if (cg_imageref_parse(img, &r, NULL) < 0)
		return false;
	for (size_t i = 0; i < CG_ARRAY_SIZE(trusted); i++)
		ok |= cg_imageref_within(&r, trusted[i]);
	cg_imageref_release(&r);
	return ok;
}

static bool naive_prefix(const char *img)
{
	static const char *const p[] = { "openpolicyagent", "myregistry.azurecr.io", "mydockerhub",
					 "123456789123.dkr.ecr.eu-west-1.amazonaws.com/postgres" };
	for (size_t i = 0; i < CG_ARRAY_SIZE(p); i++)
		if (strncmp(img, p[i], strlen(p[i])) == 0)
			return true;
	return false;
}

static int test_ref_gatekeeper_samples(void)
{
	NEED_SHARED("corpus");
	char pattern[512];
	glob_t g;
	size_t n_images = 0, n_differ = 0;

	snprintf(pattern, sizeof(pattern), "%s/corpus/gatekeeper/general/allowedrepos*/samples/*/example_*.yaml",
		 t_shared());
	if (glob(pattern, 0, NULL, &g) != 0) {
		CHECKF(0, "no samples under %s", pattern);
		return 0;
	}
	for (size_t f = 0; f < g.gl_pathc; f++) {
		FILE *fp = fopen(g.gl_pathv[f], "r");
		char line[1024];
		bool v2 = strstr(g.gl_pathv[f], "allowedreposv2") != NULL;

		CHECK(fp != NULL);
		while (fp && fgets(line, sizeof(line), fp)) {
			char *p = strstr(line, "image: "), *e;
			struct cg_imageref r = { 0 };
			struct cg_error err = { 0 };
			bool gk, cg;

			if (!p)
				continue;
			p += 7;
			while (*p == ' ' || *p == '"')
				p++;
			e = p + strcspn(p, "\"\r\n ");
			*e = '\0';
			n_images++;
			CHECKF(cg_imageref_parse(p, &r, &err) == 0, "%s: '%s': %s", g.gl_pathv[f], p, err.msg);
			cg_imageref_release(&r);
			gk = v2 ? gk_v2(p) : strncmp(p, "openpolicyagent/", 16) == 0;
			cg = cg_trusted(p);
			if (gk != cg) {
				n_differ++;
				/* the one documented difference on the samples: a tag pin */
				CHECKF(v2 && strcmp(p, "ubuntu:20.14") == 0, "%s: '%s': gatekeeper %d capgate %d",
				       g.gl_pathv[f], p, gk, cg);
			}
			if (naive_prefix(p) && !cg)
				CHECKF(strstr(p, "malicious") != NULL, "'%s': naive prefix allows, capgate refuses", p);
		}
		if (fp)
			fclose(fp);
	}
	globfree(&g);
	CHECKF(n_images >= 15, "only %zu images in the samples", n_images);
	CHECK(n_differ >= 1);
	/* the confusions a bare string prefix lets through */
	CHECK(naive_prefix("myregistry.azurecr.io.malicious.com/malicious-image") &&
	      !cg_trusted("myregistry.azurecr.io.malicious.com/malicious-image"));
	CHECK(naive_prefix("123456789123.dkr.ecr.eu-west-1.amazonaws.com/postgresmalicious") &&
	      !cg_trusted("123456789123.dkr.ecr.eu-west-1.amazonaws.com/postgresmalicious"));
	CHECK(naive_prefix("mydockerhubmalicious/python") && !cg_trusted("mydockerhubmalicious/python"));
	CHECK(!gk_v2("docker.io/openpolicyagent/opa") && cg_trusted("docker.io/openpolicyagent/opa"));
	CHECK(!gk_v2("123456789123.dkr.ecr.eu-west-1.amazonaws.com/postgres/sub") &&
	      cg_trusted("123456789123.dkr.ecr.eu-west-1.amazonaws.com/postgres/sub"));
	return 0;
}

/* ---- OCI layouts built here -------------------------------------------- */

static char tmp_root[256];

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

/* n == 0 means strlen(data) */
static void write_file(const char *path, const void *data, size_t n)
{
	if (n == 0)
		n = strlen(data);
	FILE *fp = fopen(path, "wb");
	CHECKF(fp != NULL, "cannot write %s", path);
	if (!fp)
		return;
	CHECK(fwrite(data, 1, n, fp) == n);
	fclose(fp);
}

static void sha256_hex(const void *p, size_t n, char out[72])
{
	unsigned char md[32];
	unsigned int len = 0;
	EVP_Digest(p, n, md, &len, EVP_sha256(), NULL);
	strcpy(out, "sha256:");
	for (int i = 0; i < 32; i++)
		sprintf(out + 7 + 2 * i, "%02x", md[i]);
}

struct layout {
	char dir[300];
	char entries[16384]; /* index.json manifests, comma separated */
};

static void layout_init(struct layout *l, const char *name)
{
	char p[400];
	snprintf(l->dir, sizeof(l->dir), "%s/%s", tmp_root, name);
	mkdir(l->dir, 0755);
	snprintf(p, sizeof(p), "%s/blobs", l->dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/blobs/sha256", l->dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/oci-layout", l->dir);
	write_file(p, "{\"imageLayoutVersion\": \"1.0.0\"}", 31);
	l->entries[0] = '\0';
}

/* Write a blob; its digest into @dig, returns its size. */
static size_t blob(struct layout *l, const char *data, char dig[72])
{
	char p[450];
	size_t n = strlen(data);
	sha256_hex(data, n, dig);
	snprintf(p, sizeof(p), "%s/blobs/sha256/%s", l->dir, dig + 7);
	write_file(p, data, n);
	return n;
}

static void blob_path(struct layout *l, const char *dig, char *p, size_t n)
{
	snprintf(p, n, "%s/blobs/sha256/%s", l->dir, dig + 7);
}

/* Add an index.json entry; @extra is appended inside the descriptor. */
static void index_add(struct layout *l, const char *mt, const char *dig, size_t size, const char *ref_name,
		      const char *extra)
{
	size_t k = strlen(l->entries);
	snprintf(l->entries + k, sizeof(l->entries) - k,
		 "%s\n  {\"mediaType\": \"%s\", \"digest\": \"%s\", \"size\": %zu%s%s%s%s}", k ? "," : "", mt, dig,
		 size, ref_name ? ", \"annotations\": {\"org.opencontainers.image.ref.name\": \"" : "",
		 ref_name ? ref_name : "", ref_name ? "\"}" : "", extra ? extra : "");
}

static void layout_finish(struct layout *l)
{
	char p[400], buf[17000];
	snprintf(p, sizeof(p), "%s/index.json", l->dir);
	snprintf(buf, sizeof(buf), "{\"schemaVersion\": 2, \"mediaType\": \"application/vnd.oci.image.index.v1+json\",\n"
				   " \"manifests\": [%s\n ]}\n",
		 l->entries);
	write_file(p, buf, strlen(buf));
}

#define MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_LAYER "application/vnd.oci.image.layer.v1.tar+gzip"

/* An image: config with @labels (a JSON object or NULL), one ordinary layer,
 * and optionally a closure layer. Returns the manifest size, digest in @dig. */
static size_t make_image(struct layout *l, const char *labels, const char *closure, const char *manifest_mt,
			 char dig[72], char cfg_dig[72])
{
	char cfg[2048], man[4096], ld[72], cd[72], cl[600] = "";
	size_t cs, ls, ccs = 0;

	snprintf(cfg, sizeof(cfg),
		 "{\"architecture\": \"amd64\", \"os\": \"linux\", \"config\": {\"Env\": [\"PATH=/bin\"]%s%s},"
		 " \"rootfs\": {\"type\": \"layers\", \"diff_ids\": []}}",
		 labels ? ", \"Labels\": " : "", labels ? labels : "");
	cs = blob(l, cfg, cd);
	ls = blob(l, "not really a tarball", ld);
	if (closure) {
		char xd[72];
		ccs = blob(l, closure, xd);
		snprintf(cl, sizeof(cl), ", {\"mediaType\": \"" CG_CLOSURE_MEDIA_TYPE "\", \"digest\": \"%s\", \"size\": %zu}",
			 xd, ccs);
	}
	snprintf(man, sizeof(man),
		 "{\"schemaVersion\": 2, \"mediaType\": \"%s\",\n"
		 " \"config\": {\"mediaType\": \"%s\", \"digest\": \"%s\", \"size\": %zu},\n"
		 " \"layers\": [{\"mediaType\": \"%s\", \"digest\": \"%s\", \"size\": %zu}%s]}",
		 manifest_mt, strcmp(manifest_mt, MT_MANIFEST) == 0 ? MT_CONFIG : "application/vnd.docker.container.image.v1+json",
		 cd, cs, strcmp(manifest_mt, MT_MANIFEST) == 0 ? MT_LAYER : "application/vnd.docker.image.rootfs.diff.tar.gzip",
		 ld, ls, cl);
	if (cfg_dig)
		memcpy(cfg_dig, cd, 72);
	return blob(l, man, dig);
}

static int test_layout_labels_and_selection(void)
{
	struct layout l;
	struct cg_image *img = NULL;
	struct cg_error err = { 0 };
	char d1[72], d2[72], c1[72];
	size_t s1, s2;

	layout_init(&l, "sel");
	s1 = make_image(&l, "{\"io.capgate.syscalls\": \"read,write\", \"syscalls\": \"read write exit\", \"a\": \"\"}",
			NULL, MT_MANIFEST, d1, c1);
	s2 = make_image(&l, NULL, NULL, "application/vnd.docker.distribution.manifest.v2+json", d2, NULL);
	index_add(&l, MT_MANIFEST, d1, s1, "v1", NULL);
	layout_finish(&l);

	CHECKF(cg_image_open_layout(l.dir, NULL, &img, &err) == 0, "%s", err.msg);
	if (img) {
		CHECK_STR(img->manifest_digest, d1);
		CHECK_STR(img->config_digest, c1);
		CHECK_STR(img->ref_name, "v1");
		CHECK_STR(img->source, l.dir);
		CHECK_EQ_INT(img->n_labels, 3);
		CHECK_STR(cg_image_label(img, CG_LABEL_SYSCALLS), "read,write");
		CHECK_STR(cg_image_label(img, CG_LABEL_SYSCALLS_MISSION), "read write exit");
		CHECK_STR(cg_image_label(img, "a"), "");
		CHECK(cg_image_label(img, "nope") == NULL);
		CHECK(img->closure_json == NULL);
	}
	cg_image_free(img);
	img = NULL;

	/* a second image (docker schema 2): NULL is ambiguous, names pick */
	index_add(&l, "application/vnd.docker.distribution.manifest.v2+json", d2, s2, "v2", NULL);
	/* cosign signature tags are not images */
	index_add(&l, MT_MANIFEST, d1, s1, "sha256-" H64 ".sig", NULL);
	layout_finish(&l);
	CHECK(cg_image_open_layout(l.dir, NULL, &img, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "2 images match");
	CHECK_CONTAINS(err.msg, "'v1', 'v2'");
	CHECK(img == NULL);
	CHECKF(cg_image_open_layout(l.dir, "v2", &img, &err) == 0, "%s", err.msg);
	if (img) {
		CHECK_STR(img->manifest_digest, d2);
		CHECK_EQ_INT(img->n_labels, 0);
	}
	cg_image_free(img);
	img = NULL;
	/* containerd/docker 25 exports: the full name, matched as a reference */
	index_add(&l, MT_MANIFEST, d1, s1, NULL, ", \"annotations\": {\"org.opencontainers.image.ref.name\": \"1.0\", \"io.containerd.image.name\": \"docker.io/library/app:1.0\"}");
	layout_finish(&l);
	CHECKF(cg_image_open_layout(l.dir, "app:1.0", &img, &err) == 0, "%s", err.msg);
	CHECK(img && strcmp(img->manifest_digest, d1) == 0);
	cg_image_free(img);
	img = NULL;
	CHECK(cg_image_open_layout(l.dir, "v3", &img, &err) == -ENOENT);
	CHECK_CONTAINS(err.msg, "no manifest is named 'v3'");
	cg_image_free(NULL);
	return 0;
}

static int test_layout_closure(void)
{
	struct layout l;
	struct cg_image *img = NULL;
	struct cg_error err = { 0 };
	char d[72], cfg[72], empty[72], xd[72], rd[72], buf[2048];
	size_t s, es, xs, rs;
	const char *closure = "{\"closure\": 1}";
	const char *closure2 = "{\"closure\": 2}";

	/* as a layer of the image manifest */
	layout_init(&l, "clayer");
	s = make_image(&l, NULL, closure, MT_MANIFEST, d, NULL);
	index_add(&l, MT_MANIFEST, d, s, "app", NULL);
	layout_finish(&l);
	CHECKF(cg_image_open_layout(l.dir, NULL, &img, &err) == 0, "%s", err.msg);
	if (img) {
		CHECK_EQ_INT(img->closure_len, strlen(closure));
		CHECK_STR(img->closure_json, closure);
	}
	cg_image_free(img);
	img = NULL;

	/* as a referrer artifact whose subject is the image */
	layout_init(&l, "cref");
	s = make_image(&l, NULL, NULL, MT_MANIFEST, d, cfg);
	es = blob(&l, "{}", empty);
	xs = blob(&l, closure2, xd);
	snprintf(buf, sizeof(buf),
		 "{\"schemaVersion\": 2, \"mediaType\": \"" MT_MANIFEST "\", \"artifactType\": \"" CG_CLOSURE_MEDIA_TYPE "\","
		 " \"config\": {\"mediaType\": \"application/vnd.oci.empty.v1+json\", \"digest\": \"%s\", \"size\": %zu},"
		 " \"layers\": [{\"mediaType\": \"" CG_CLOSURE_MEDIA_TYPE "\", \"digest\": \"%s\", \"size\": %zu}],"
		 " \"subject\": {\"mediaType\": \"" MT_MANIFEST "\", \"digest\": \"%s\", \"size\": %zu}}",
		 empty, es, xd, xs, d, s);
	rs = blob(&l, buf, rd);
	index_add(&l, MT_MANIFEST, d, s, NULL, NULL);
	index_add(&l, MT_MANIFEST, rd, rs, NULL, ", \"artifactType\": \"" CG_CLOSURE_MEDIA_TYPE "\"");
	layout_finish(&l);
	/* NULL selection skips the referrer: it has a subject */
	CHECKF(cg_image_open_layout(l.dir, NULL, &img, &err) == 0, "%s", err.msg);
	if (img) {
		CHECK_STR(img->manifest_digest, d);
		CHECK_STR(img->closure_json, closure2);
		CHECK(img->ref_name == NULL);
	}
	cg_image_free(img);
	img = NULL;

	/* a referrer of another image is not ours */
	layout_init(&l, "cother");
	{
		char d2[72];
		size_t s2 = make_image(&l, "{\"x\": \"y\"}", NULL, MT_MANIFEST, d2, NULL);
		s = make_image(&l, NULL, NULL, MT_MANIFEST, d, NULL);
		es = blob(&l, "{}", empty);
		xs = blob(&l, closure2, xd);
		snprintf(buf, sizeof(buf),
			 "{\"schemaVersion\": 2, \"mediaType\": \"" MT_MANIFEST "\","
			 " \"config\": {\"mediaType\": \"" CG_CLOSURE_MEDIA_TYPE "\", \"digest\": \"%s\", \"size\": %zu},"
			 " \"layers\": [], \"subject\": {\"mediaType\": \"" MT_MANIFEST "\", \"digest\": \"%s\", \"size\": %zu}}",
			 xd, xs, d2, s2);
		rs = blob(&l, buf, rd);
		index_add(&l, MT_MANIFEST, d, s, "mine", NULL);
		index_add(&l, MT_MANIFEST, d2, s2, "theirs", NULL);
		index_add(&l, MT_MANIFEST, rd, rs, NULL, NULL);
		layout_finish(&l);
		CHECKF(cg_image_open_layout(l.dir, "mine", &img, &err) == 0, "%s", err.msg);
		CHECK(img && img->closure_json == NULL);
		cg_image_free(img);
		img = NULL;
		/* old-style artifact (closure in the config blob) found for "theirs" */
		CHECKF(cg_image_open_layout(l.dir, "theirs", &img, &err) == 0, "%s", err.msg);
		CHECK(img && img->closure_json && strcmp(img->closure_json, closure2) == 0);
		cg_image_free(img);
		img = NULL;
	}

	/* a layer and a referrer that disagree: refused, never one picked */
	layout_init(&l, "ctwo");
	s = make_image(&l, NULL, closure, MT_MANIFEST, d, NULL);
	es = blob(&l, "{}", empty);
	xs = blob(&l, closure2, xd);
	snprintf(buf, sizeof(buf),
		 "{\"schemaVersion\": 2, \"mediaType\": \"" MT_MANIFEST "\", \"artifactType\": \"" CG_CLOSURE_MEDIA_TYPE "\","
		 " \"config\": {\"mediaType\": \"application/vnd.oci.empty.v1+json\", \"digest\": \"%s\", \"size\": %zu},"
		 " \"layers\": [{\"mediaType\": \"" CG_CLOSURE_MEDIA_TYPE "\", \"digest\": \"%s\", \"size\": %zu}],"
		 " \"subject\": {\"mediaType\": \"" MT_MANIFEST "\", \"digest\": \"%s\", \"size\": %zu}}",
		 empty, es, xd, xs, d, s);
	rs = blob(&l, buf, rd);
	index_add(&l, MT_MANIFEST, d, s, "app", NULL);
	index_add(&l, MT_MANIFEST, rd, rs, NULL, NULL);
	layout_finish(&l);
	CHECK(cg_image_open_layout(l.dir, "app", &img, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "two different closures");
	CHECK(img == NULL);
	return 0;
}

static int test_layout_nested_index(void)
{
	struct layout l;
	struct cg_image *img = NULL;
	struct cg_error err = { 0 };
	char da[72], db[72], att[72], idx[72], buf[4096];
	size_t sa, sb, satt, sidx;

	layout_init(&l, "nested");
	sa = make_image(&l, "{\"arch\": \"amd64\"}", NULL, MT_MANIFEST, da, NULL);
	sb = make_image(&l, "{\"arch\": \"arm64\"}", NULL, MT_MANIFEST, db, NULL);
	satt = make_image(&l, "{\"arch\": \"none\"}", NULL, MT_MANIFEST, att, NULL);
	snprintf(buf, sizeof(buf),
		 "{\"schemaVersion\": 2, \"mediaType\": \"" MT_INDEX "\", \"manifests\": ["
		 "{\"mediaType\": \"" MT_MANIFEST "\", \"digest\": \"%s\", \"size\": %zu, \"platform\": {\"os\": \"linux\", \"architecture\": \"arm64\"}},"
		 "{\"mediaType\": \"" MT_MANIFEST "\", \"digest\": \"%s\", \"size\": %zu, \"platform\": {\"os\": \"linux\", \"architecture\": \"amd64\"}},"
		 "{\"mediaType\": \"" MT_MANIFEST "\", \"digest\": \"%s\", \"size\": %zu, \"platform\": {\"os\": \"unknown\", \"architecture\": \"unknown\"},"
		 " \"annotations\": {\"vnd.docker.reference.type\": \"attestation-manifest\"}}]}",
		 db, sb, da, sa, att, satt);
	sidx = blob(&l, buf, idx);
	index_add(&l, MT_INDEX, idx, sidx, "multi", NULL);
	layout_finish(&l);
	CHECKF(cg_image_open_layout(l.dir, NULL, &img, &err) == 0, "%s", err.msg);
	if (img) {
		/* the digest a reference resolves to (and cosign signs): the index */
		CHECK_STR(img->manifest_digest, idx);
#if defined(__x86_64__)
		CHECK_STR(cg_image_label(img, "arch"), "amd64");
#endif
	}
	cg_image_free(img);
	return 0;
}

static void expect_open_error(const char *dir, const char *ref, int code, const char *want)
{
	struct cg_image *img = NULL;
	struct cg_error err = { 0 };
	int r = cg_image_open_layout(dir, ref, &img, &err);
	CHECKF(r == code, "open %s: %d (%s), expected %d", dir, r, err.msg, code);
	CHECKF(strstr(err.msg, want) != NULL, "error \"%s\" lacks \"%s\"", err.msg, want);
	CHECK(img == NULL);
	cg_image_free(img);
}

static int test_layout_tampering_and_errors(void)
{
	struct layout l;
	char d[72], cfg[72], p[600], want[700];
	size_t s;

	/* a config blob altered after the manifest named it */
	layout_init(&l, "tcfg");
	s = make_image(&l, "{\"io.capgate.syscalls\": \"read\"}", NULL, MT_MANIFEST, d, cfg);
	index_add(&l, MT_MANIFEST, d, s, "app", NULL);
	layout_finish(&l);
	blob_path(&l, cfg, p, sizeof(p));
	{
		/* same length, one label changed: only the digest can tell */
		FILE *fp = fopen(p, "r+");
		char b[4096];
		size_t n = fp ? fread(b, 1, sizeof(b), fp) : 0;
		char *x = memmem(b, n, "\"read\"", 6);
		CHECK(x != NULL);
		if (x) {
			memcpy(x, "\"exec\"", 6);
			rewind(fp);
			fwrite(b, 1, n, fp);
		}
		if (fp)
			fclose(fp);
	}
	snprintf(want, sizeof(want), "image config: blob %s does not match its digest", p);
	expect_open_error(l.dir, "app", -EBADMSG, want);

	/* a manifest blob whose size differs from the index descriptor */
	layout_init(&l, "tsize");
	s = make_image(&l, NULL, NULL, MT_MANIFEST, d, NULL);
	index_add(&l, MT_MANIFEST, d, s + 1, "app", NULL);
	layout_finish(&l);
	expect_open_error(l.dir, "app", -EBADMSG, "its descriptor says");

	/* a blob over the 64 MiB cap is refused before it is read (sparse file) */
	layout_init(&l, "tbig");
	{
		char big[72] = "sha256:" H64;
		int fd;
		blob_path(&l, big, p, sizeof(p));
		fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0644);
		CHECK(fd >= 0 && ftruncate(fd, (off_t)65 << 20) == 0);
		if (fd >= 0)
			close(fd);
		index_add(&l, MT_MANIFEST, big, 1, "app", NULL);
		layout_finish(&l);
		expect_open_error(l.dir, "app", -EFBIG, "more than the 64 MiB");
		index_add(&l, MT_MANIFEST, big, (size_t)65 << 20, "big", NULL);
		layout_finish(&l);
		expect_open_error(l.dir, "big", -EFBIG, "more than the 64 MiB");
	}

	/* malformed JSON: file, line, column */
	layout_init(&l, "tjson");
	{
		char bad[72];
		s = blob(&l, "{\"schemaVersion\": 2,\n \"config\": {,}}", bad);
		index_add(&l, MT_MANIFEST, bad, s, "app", NULL);
		layout_finish(&l);
		blob_path(&l, bad, p, sizeof(p));
		snprintf(want, sizeof(want), "%s:2:", p);
		expect_open_error(l.dir, "app", -EINVAL, want);
	}
	/* wrong types: the JSON path is named */
	layout_init(&l, "ttype");
	{
		char bad[72];
		s = blob(&l, "{\"schemaVersion\": 2, \"mediaType\": \"" MT_MANIFEST "\",\n \"config\": {\"mediaType\": \"" MT_CONFIG "\", \"digest\": \"sha256:12\", \"size\": 3}, \"layers\": []}", bad);
		index_add(&l, MT_MANIFEST, bad, s, "app", NULL);
		layout_finish(&l);
		expect_open_error(l.dir, "app", -EINVAL, ":2:80: config.digest: digest is not sha256:<64 lowercase hex>");
	}
	layout_init(&l, "tlabel");
	s = make_image(&l, "{\"ok\": \"1\", \"n\": 5}", NULL, MT_MANIFEST, d, cfg);
	index_add(&l, MT_MANIFEST, d, s, "app", NULL);
	layout_finish(&l);
	expect_open_error(l.dir, "app", -EINVAL, "config.Labels[\"n\"]: expected a string");
	/* index.json problems */
	layout_init(&l, "tindex");
	snprintf(p, sizeof(p), "%s/index.json", l.dir);
	write_file(p, "{\"schemaVersion\": 2, \"manifests\": [{\"mediaType\": \"x\", \"digest\": \"sha256:" H64 "\", \"size\": -1}]}", 0);
	expect_open_error(l.dir, NULL, -EINVAL, "manifests[0].size: expected an unsigned integer");
	write_file(p, "{\"schemaVersion\": 2, \"schemaVersion\": 2}", 0);
	expect_open_error(l.dir, NULL, -EINVAL, "duplicate key");
	write_file(p, "schemaVersion: 2\nmanifests: []\n", 0);
	expect_open_error(l.dir, NULL, -EINVAL, "expected one JSON object");
	write_file(p, "{\"schemaVersion\": 2, \"manifests\": []}", 0);
	expect_open_error(l.dir, NULL, -ENOENT, "holds no image manifest");
	/* an artifact-only layout has no image */
	/* not a layout at all */
	snprintf(p, sizeof(p), "%s/oci-layout", l.dir);
	write_file(p, "{\"imageLayoutVersion\": \"2.0.0\"}", 0);
	expect_open_error(l.dir, NULL, -EINVAL, "unsupported layout version '2.0.0'");
	unlink(p);
	expect_open_error(l.dir, NULL, -ENOENT, "not an OCI image layout");
	/* a non-image (artifact) config is refused by name */
	layout_init(&l, "tart");
	{
		char c[72], m[72], buf[1024];
		size_t cs = blob(&l, "{}", c);
		snprintf(buf, sizeof(buf), "{\"schemaVersion\": 2, \"config\": {\"mediaType\": \"application/x-thing\", \"digest\": \"%s\", \"size\": %zu}, \"layers\": []}", c, cs);
		s = blob(&l, buf, m);
		index_add(&l, MT_MANIFEST, m, s, "thing", NULL);
		layout_finish(&l);
		expect_open_error(l.dir, "thing", -EINVAL, "is not an image config");
	}
	return 0;
}

/* ---- cosign signatures ---------------------------------------------------- */

static EVP_PKEY *keygen(const char *type, const char *curve)
{
	if (strcmp(type, "RSA") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
}

static void write_pub(EVP_PKEY *k, const char *path)
{
	FILE *fp = fopen(path, "w");
	CHECK(fp && PEM_write_PUBKEY(fp, k) == 1);
	if (fp)
		fclose(fp);
}

static char *pub_pem(EVP_PKEY *k)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;
	PEM_write_bio_PUBKEY(b, k);
	n = BIO_get_mem_data(b, &data);
	out = strndup(data, (size_t)n);
	BIO_free(b);
	return out;
}

/* base64(DER ECDSA-SHA256 over @msg) */
static void sign_b64(EVP_PKEY *k, const char *msg, char *out, size_t out_n)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char sig[256];
	size_t sl = sizeof(sig);
	CHECK(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k) == 1);
	CHECK(EVP_DigestSign(ctx, sig, &sl, (const unsigned char *)msg, strlen(msg)) == 1);
	EVP_MD_CTX_free(ctx);
	CHECK(out_n >= (sl + 2) / 3 * 4 + 1);
	EVP_EncodeBlock((unsigned char *)out, sig, (int)sl);
}

static void payload_json(char *out, size_t n, const char *type, const char *digest, const char *identity)
{
	snprintf(out, n,
		 "{\"critical\":{\"identity\":{\"docker-reference\":\"%s\"},\"image\":{\"docker-manifest-digest\":\"%s\"},"
		 "\"type\":\"%s\"},\"optional\":{\"creator\":\"capgate test\"}}",
		 identity, digest, type);
}

struct sig_layer {
	const char *payload; /* signed and stored */
	const char *stored;  /* stored instead of payload (tampering); NULL = payload */
	EVP_PKEY *key;
	bool bad_digest_field; /* the layer descriptor names the payload's digest but the blob differs */
};

/* Write the "sha256-<hex>.sig" manifest for image digest @img_dig. */
static void add_signature(struct layout *l, const char *img_dig, const struct sig_layer *layers, size_t n)
{
	char cfg[72], man[72], layers_json[8192] = "", buf[12000], tag[100];
	size_t cs, ms;

	cs = blob(l, "{\"architecture\":\"\",\"os\":\"\",\"config\":{},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}", cfg);
	for (size_t i = 0; i < n; i++) {
		char pd[72], sd[72], sig[512];
		size_t ps, k = strlen(layers_json);
		sign_b64(layers[i].key, layers[i].payload, sig, sizeof(sig));
		ps = blob(l, layers[i].payload, pd);
		if (layers[i].stored) {
			/* overwrite the blob file under the payload's digest */
			char p[600];
			blob_path(l, pd, p, sizeof(p));
			write_file(p, layers[i].stored, strlen(layers[i].stored));
			ps = strlen(layers[i].stored);
		}
		if (layers[i].bad_digest_field) {
			ps = blob(l, layers[i].stored ? layers[i].stored : layers[i].payload, sd);
			memcpy(pd, sd, 72);
		}
		snprintf(layers_json + k, sizeof(layers_json) - k,
			 "%s{\"mediaType\":\"application/vnd.dev.cosign.simplesigning.v1+json\",\"size\":%zu,\"digest\":\"%s\","
			 "\"annotations\":{\"dev.cosignproject.cosign/signature\":\"%s\"}}",
			 i ? "," : "", ps, pd, sig);
	}
	snprintf(buf, sizeof(buf),
		 "{\"schemaVersion\":2,\"mediaType\":\"" MT_MANIFEST "\",\"config\":{\"mediaType\":\"" MT_CONFIG
		 "\",\"size\":%zu,\"digest\":\"%s\"},\"layers\":[%s]}",
		 cs, cfg, layers_json);
	ms = blob(l, buf, man);
	snprintf(tag, sizeof(tag), "sha256-%s.sig", img_dig + 7);
	index_add(l, MT_MANIFEST, man, ms, tag, NULL);
}

struct sign_fixture {
	EVP_PKEY *key, *other, *p384, *rsa;
	char key_path[400], other_path[400], p384_path[400], rsa_path[400];
};

static void verify_expect(const char *name, const struct sign_fixture *fx, const struct sig_layer *layers, size_t n,
			  bool sign_other_image, enum cg_sign_status want, const char *want_reason)
{
	struct layout l;
	struct cg_image *img = NULL;
	struct cg_error err = { 0 };
	struct cg_sign_result res;
	const char *keys[] = { fx->key_path };
	char d[72];
	size_t s;

	layout_init(&l, name);
	s = make_image(&l, NULL, NULL, MT_MANIFEST, d, NULL);
	index_add(&l, MT_MANIFEST, d, s, "app", NULL);
	if (n)
		add_signature(&l, sign_other_image ? "sha256:" H64 : d, layers, n);
	layout_finish(&l);
	CHECKF(cg_image_open_layout(l.dir, NULL, &img, &err) == 0, "%s: %s", name, err.msg);
	if (!img)
		return;
	memset(&res, 0x55, sizeof(res));
	CHECKF(cg_sign_verify_layout(l.dir, img, keys, 1, &res, &err) == 0, "%s: %s", name, err.msg);
	CHECKF(res.status == want, "%s: status %d, expected %d (%s)", name, res.status, want, res.reason);
	CHECKF(strstr(res.reason, want_reason) != NULL, "%s: reason \"%s\" lacks \"%s\"", name, res.reason,
	       want_reason);
	cg_image_free(img);
}

/* The image's digest is only known once the layout is built: every case
 * builds the same image (same bytes, same digest), so compute it once. */
static void image_digest(char d[72])
{
	struct layout l;
	layout_init(&l, "probe");
	make_image(&l, NULL, NULL, MT_MANIFEST, d, NULL);
}

static int test_sign_verify(void)
{
	struct sign_fixture fx;
	char d[72], good[1024], other_img[1024], wrong_type[1024], no_crit[256];

	fx.key = keygen("EC", "P-256");
	fx.other = keygen("EC", "P-256");
	fx.p384 = keygen("EC", "P-384");
	fx.rsa = keygen("RSA", NULL);
	CHECK(fx.key && fx.other && fx.p384 && fx.rsa);
	if (!fx.key || !fx.other || !fx.p384 || !fx.rsa)
		return 0;
	snprintf(fx.key_path, sizeof(fx.key_path), "%s/cosign.pub", tmp_root);
	snprintf(fx.other_path, sizeof(fx.other_path), "%s/other.pub", tmp_root);
	snprintf(fx.p384_path, sizeof(fx.p384_path), "%s/p384.pub", tmp_root);
	snprintf(fx.rsa_path, sizeof(fx.rsa_path), "%s/rsa.pub", tmp_root);
	write_pub(fx.key, fx.key_path);
	write_pub(fx.other, fx.other_path);
	write_pub(fx.p384, fx.p384_path);
	write_pub(fx.rsa, fx.rsa_path);

	image_digest(d);
	payload_json(good, sizeof(good), "cosign container image signature", d, "registry.example.com/app");
	payload_json(other_img, sizeof(other_img), "cosign container image signature", "sha256:" H64,
		     "registry.example.com/other");
	payload_json(wrong_type, sizeof(wrong_type), "atomic container signature", d, "registry.example.com/app");
	snprintf(no_crit, sizeof(no_crit), "{\"optional\":{}}");

	{
		struct sig_layer ok[] = { { good, NULL, fx.key, false } };
		verify_expect("s-valid", &fx, ok, 1, false, CG_SIGN_VALID, "signed by");
	}
	{
		struct sig_layer wrong_key[] = { { good, NULL, fx.other, false } };
		verify_expect("s-wrongkey", &fx, wrong_key, 1, false, CG_SIGN_BAD_SIGNATURE, "no trusted key");
	}
	{
		/* payload bytes changed after signing, descriptor kept: digest mismatch */
		char tampered[1024];
		snprintf(tampered, sizeof(tampered), "%s", good);
		memcpy(strstr(tampered, "registry.example.com/app"), "registry.example.com/evl", 24);
		struct sig_layer t[] = { { good, tampered, fx.key, false } };
		verify_expect("s-tampered", &fx, t, 1, false, CG_SIGN_BAD_PAYLOAD, "does not match its digest");
		/* ... and with the descriptor (and so the manifest) fixed up: the signature fails */
		struct sig_layer t2[] = { { good, tampered, fx.key, true } };
		verify_expect("s-tampered2", &fx, t2, 1, false, CG_SIGN_BAD_SIGNATURE, "no trusted key");
	}
	{
		struct sig_layer o[] = { { other_img, NULL, fx.key, false } };
		verify_expect("s-otherimg", &fx, o, 1, false, CG_SIGN_DIGEST_MISMATCH, "for image sha256:" H64 ", not this one");
	}
	{
		/* a genuine signature of another image, stored under its tag: not ours */
		struct sig_layer o[] = { { other_img, NULL, fx.key, false } };
		verify_expect("s-othertag", &fx, o, 1, true, CG_SIGN_MISSING, "no signature");
	}
	verify_expect("s-missing", &fx, NULL, 0, false, CG_SIGN_MISSING, "no manifest tagged sha256-");
	{
		struct sig_layer w[] = { { wrong_type, NULL, fx.key, false } };
		verify_expect("s-type", &fx, w, 1, false, CG_SIGN_BAD_PAYLOAD, "critical.type");
		struct sig_layer nc[] = { { no_crit, NULL, fx.key, false } };
		verify_expect("s-nocrit", &fx, nc, 1, false, CG_SIGN_BAD_PAYLOAD, "no critical");
	}
	{
		/* several layers: the most specific failure wins, one good layer is enough */
		struct sig_layer mix[] = { { good, NULL, fx.other, false }, { other_img, NULL, fx.key, false } };
		verify_expect("s-mix", &fx, mix, 2, false, CG_SIGN_DIGEST_MISMATCH, "for image sha256:");
		struct sig_layer mix2[] = { { good, NULL, fx.other, false },
					    { other_img, NULL, fx.key, false },
					    { good, NULL, fx.key, false } };
		verify_expect("s-mix2", &fx, mix2, 3, false, CG_SIGN_VALID, "signed by");
	}

	/* keys: PEM text works, several keys work, other key types are refused */
	{
		struct layout l;
		struct cg_image *img = NULL;
		struct cg_error err = { 0 };
		struct cg_sign_result res;
		char dd[72];
		size_t s;
		char *pem = pub_pem(fx.key);
		struct sig_layer ok[] = { { good, NULL, fx.key, false } };

		layout_init(&l, "s-keys");
		s = make_image(&l, NULL, NULL, MT_MANIFEST, dd, NULL);
		index_add(&l, MT_MANIFEST, dd, s, "app", NULL);
		add_signature(&l, dd, ok, 1);
		layout_finish(&l);
		CHECK(cg_image_open_layout(l.dir, "app", &img, &err) == 0);
		if (img) {
			const char *k1[] = { fx.other_path, pem };
			const char *k2[] = { fx.key_path, fx.p384_path };
			const char *k3[] = { fx.rsa_path };
			const char *k4[] = { "/nonexistent/key.pub" };
			const char *k5[] = { "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n" };

			CHECKF(cg_sign_verify_layout(l.dir, img, k1, 2, &res, &err) == 0, "%s", err.msg);
			CHECK_EQ_INT(res.status, CG_SIGN_VALID);
			CHECK_STR(res.identity, "registry.example.com/app");
			CHECK_CONTAINS(res.reason, "key 1");
			CHECK(cg_sign_verify_layout(l.dir, img, k2, 2, &res, &err) == -EINVAL);
			CHECK_CONTAINS(err.msg, "p384.pub: not an ECDSA P-256 public key (got EC secp384r1");
			CHECK(cg_sign_verify_layout(l.dir, img, k3, 1, &res, &err) == -EINVAL);
			CHECK_CONTAINS(err.msg, "not an ECDSA P-256 public key (got RSA");
			CHECK(cg_sign_verify_layout(l.dir, img, k4, 1, &res, &err) == -ENOENT);
			CHECK_CONTAINS(err.msg, "/nonexistent/key.pub");
			CHECK(cg_sign_verify_layout(l.dir, img, k5, 1, &res, &err) == -EINVAL);
			CHECK_CONTAINS(err.msg, "not a PEM public key");
			CHECK(cg_sign_verify_layout(l.dir, img, k1, 0, &res, &err) == -EINVAL);
			CHECK_CONTAINS(err.msg, "no trusted public key");
			/* a docker-archive image has no manifest digest to verify */
			img->manifest_digest = "";
			CHECK(cg_sign_verify_layout(l.dir, img, k1, 2, &res, &err) == -EINVAL);
			CHECK_CONTAINS(err.msg, "signatures need an OCI layout");
		}
		cg_image_free(img);
		free(pem);
	}
	EVP_PKEY_free(fx.key);
	EVP_PKEY_free(fx.other);
	EVP_PKEY_free(fx.p384);
	EVP_PKEY_free(fx.rsa);
	return 0;
}

/* Signatures bound to the reference: a Pod pinned to name@sha256:B is judged
 * by the image whose digest is B, never by one a layout names after B; and a
 * signature vouches only for the repository it names. */
static void verify_ref_expect(const char *name, const struct sign_fixture *fx, const char *identity, const char *ref,
			      enum cg_sign_status want, const char *want_reason)
{
	struct layout l;
	struct cg_image *img = NULL;
	struct cg_error err = { 0 };
	struct cg_sign_result res;
	struct cg_imageref r = { 0 };
	const char *keys[] = { fx->key_path };
	char d[72], payload[1024], full[300];
	size_t s;

	layout_init(&l, name);
	s = make_image(&l, NULL, NULL, MT_MANIFEST, d, NULL);
	index_add(&l, MT_MANIFEST, d, s, "app", NULL);
	if (identity)
		payload_json(payload, sizeof(payload), "cosign container image signature", d, identity);
	else
		snprintf(payload, sizeof(payload),
			 "{\"critical\":{\"image\":{\"docker-manifest-digest\":\"%s\"},\"type\":\"cosign container image "
			 "signature\"},\"optional\":null}",
			 d);
	struct sig_layer ok[] = { { payload, NULL, fx->key, false } };
	add_signature(&l, d, ok, 1);
	layout_finish(&l);
	/* "%D" in @ref stands for the image's digest */
	snprintf(full, sizeof(full), "%s", ref);
	if (strstr(full, "%D")) {
		char tail[300];
		snprintf(tail, sizeof(tail), "%s", strstr(ref, "%D") + 2);
		snprintf(strstr(full, "%D"), sizeof(full) - (size_t)(strstr(full, "%D") - full), "%s%s", d, tail);
	}
	CHECKF(cg_imageref_parse(full, &r, &err) == 0, "%s: %s", name, err.msg);
	CHECKF(cg_image_open_layout(l.dir, r.digest ? full : "app", &img, &err) == 0, "%s: %s", name, err.msg);
	if (img) {
		memset(&res, 0x55, sizeof(res));
		CHECKF(cg_sign_verify_ref(l.dir, img, &r, keys, 1, &res, &err) == 0, "%s: %s", name, err.msg);
		CHECKF(res.status == want, "%s: status %d, expected %d (%s)", name, res.status, want, res.reason);
		CHECKF(strstr(res.reason, want_reason) != NULL, "%s: reason \"%s\" lacks \"%s\"", name, res.reason,
		       want_reason);
		CHECK_STR(res.digest, d);
	}
	cg_image_free(img);
	cg_imageref_release(&r);
}

#define B64 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static int test_sign_bound_to_ref(void)
{
	struct sign_fixture fx = { 0 };
	struct layout l;
	struct cg_image *img = NULL;
	struct cg_error err = { 0 };
	char d[72], ref[200], good[1024];
	size_t s;

	fx.key = keygen("EC", "P-256");
	CHECK(fx.key);
	if (!fx.key)
		return 0;
	snprintf(fx.key_path, sizeof(fx.key_path), "%s/bound.pub", tmp_root);
	write_pub(fx.key, fx.key_path);

	/* the attack: a signed image named after a digest it does not have */
	layout_init(&l, "b-misnamed");
	s = make_image(&l, NULL, NULL, MT_MANIFEST, d, NULL);
	index_add(&l, MT_MANIFEST, d, s, "registry.example.com/team/app@sha256:" B64, NULL);
	payload_json(good, sizeof(good), "cosign container image signature", d, "registry.example.com/team/app");
	{
		struct sig_layer ok[] = { { good, NULL, fx.key, false } };
		add_signature(&l, d, ok, 1);
	}
	layout_finish(&l);
	CHECK_EQ_INT(cg_image_open_layout(l.dir, "registry.example.com/team/app@sha256:" B64, &img, &err), -EBADMSG);
	CHECK(img == NULL);
	CHECK_CONTAINS(err.msg, "pins sha256:" B64);
	CHECK_CONTAINS(err.msg, d);
	/* the same name with a tag and the other digest: the digest decides */
	CHECK_EQ_INT(cg_image_open_layout(l.dir, "registry.example.com/team/app:1@sha256:" B64, &img, &err), -ENOENT);
	CHECK_CONTAINS(err.msg, "no manifest has digest sha256:" B64);
	CHECK_EQ_INT(cg_image_open_layout(l.dir, "sha256:" B64, &img, &err), -ENOENT);
	/* pinned to the digest it has, under whatever name: that image */
	snprintf(ref, sizeof(ref), "registry.example.com/team/app@%s", d);
	CHECKF(cg_image_open_layout(l.dir, ref, &img, &err) == 0, "%s", err.msg);
	if (img)
		CHECK_STR(img->manifest_digest, d);
	cg_image_free(img);
	img = NULL;
	CHECKF(cg_image_open_layout(l.dir, d, &img, &err) == 0, "%s", err.msg);
	cg_image_free(img);
	img = NULL;

	/* the identity the payload names */
	verify_ref_expect("b-same", &fx, "registry.example.com/team/app", "registry.example.com/team/app@%D", CG_SIGN_VALID,
			  "signed by");
	verify_ref_expect("b-other-repo", &fx, "registry.example.com/other/tool", "registry.example.com/team/app@%D",
			  CG_SIGN_IDENTITY_MISMATCH, "signed as registry.example.com/other/tool");
	verify_ref_expect("b-other-host", &fx, "registry.example.com.evil.io/team/app", "registry.example.com/team/app@%D",
			  CG_SIGN_IDENTITY_MISMATCH, "not as repository registry.example.com/team/app");
	verify_ref_expect("b-no-identity", &fx, NULL, "registry.example.com/team/app@%D", CG_SIGN_IDENTITY_MISMATCH,
			  "names no repository");
	verify_ref_expect("b-bad-identity", &fx, "Not A Reference", "registry.example.com/team/app@%D",
			  CG_SIGN_IDENTITY_MISMATCH, "is not a reference");
	verify_ref_expect("b-hub", &fx, "index.docker.io/library/nginx", "nginx@%D", CG_SIGN_VALID, "signed by");
	verify_ref_expect("b-id-digest", &fx, "registry.example.com/team/app@sha256:" B64, "registry.example.com/team/app@%D",
			  CG_SIGN_IDENTITY_MISMATCH, "names another digest");
	verify_ref_expect("b-id-tag", &fx, "registry.example.com/team/app:1", "registry.example.com/team/app:2",
			  CG_SIGN_IDENTITY_MISMATCH, "names tag 1, not 2");
	verify_ref_expect("b-id-tag-ok", &fx, "registry.example.com/team/app:1", "registry.example.com/team/app:1",
			  CG_SIGN_VALID, "signed by");
	EVP_PKEY_free(fx.key);
	return 0;
}

/* ---- docker-archive -------------------------------------------------------- */

struct tar_member {
	const char *name;
	const char *data;
};

static void tar_header(FILE *fp, const char *name, size_t size, char type)
{
	unsigned char h[512] = { 0 };
	unsigned sum = 0;
	snprintf((char *)h, 100, "%s", name);
	snprintf((char *)h + 100, 8, "%07o", 0644);
	snprintf((char *)h + 108, 8, "%07o", 0);
	snprintf((char *)h + 116, 8, "%07o", 0);
	snprintf((char *)h + 124, 12, "%011zo", size);
	snprintf((char *)h + 136, 12, "%011o", 0);
	memset(h + 148, ' ', 8);
	h[156] = (unsigned char)type;
	memcpy(h + 257, "ustar\0"
			"00",
	       8);
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	fwrite(h, 1, 512, fp);
}

static void tar_data(FILE *fp, const char *data, size_t n)
{
	static const char zero[512];
	fwrite(data, 1, n, fp);
	if (n % 512)
		fwrite(zero, 1, 512 - n % 512, fp);
}

/* Names longer than 99 characters go through a GNU 'L' record. */
static void write_tar(const char *path, const struct tar_member *m, size_t n)
{
	static const char zero[1024];
	FILE *fp = fopen(path, "wb");
	CHECK(fp != NULL);
	if (!fp)
		return;
	tar_header(fp, "blobs/", 0, '5');
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(m[i].data), nl = strlen(m[i].name);
		if (nl > 99) {
			tar_header(fp, "././@LongLink", nl + 1, 'L');
			tar_data(fp, m[i].name, nl + 1);
		}
		tar_header(fp, m[i].name, len, '0');
		tar_data(fp, m[i].data, len);
	}
	fwrite(zero, 1, sizeof(zero), fp);
	fclose(fp);
}

static void expect_archive_error(const char *path, const char *ref, int code, const char *want)
{
	struct cg_image *img = NULL;
	struct cg_error err = { 0 };
	int r = cg_image_open_archive(path, ref, &img, &err);
	CHECKF(r == code, "open %s: %d (%s), expected %d", path, r, err.msg, code);
	CHECKF(strstr(err.msg, want) != NULL, "error \"%s\" lacks \"%s\"", err.msg, want);
	CHECK(img == NULL);
}

static int test_docker_archive(void)
{
	const char *cfg = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Labels\":"
			  "{\"io.capgate.syscalls\":\"read write\",\"maintainer\":\"x\"}}}";
	const char *cfg2 = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{}}";
	char d[72], d2[72], path[400], name[200], name2[300], manifest[2048];
	struct cg_image *img = NULL;
	struct cg_error err = { 0 };

	sha256_hex(cfg, strlen(cfg), d);
	sha256_hex(cfg2, strlen(cfg2), d2);
	/* the docker 25+ layout (blobs/sha256/<hex>) and the legacy "<hex>.json" */
	snprintf(name, sizeof(name), "blobs/sha256/%s", d + 7);
	/* a deep path over 100 characters exercises the long-name record */
	snprintf(name2, sizeof(name2), "./some/rather/long/directory/name/to/force/a/gnu/long/name/%s.json", d2 + 7);
	snprintf(manifest, sizeof(manifest),
		 "[{\"Config\":\"%s\",\"RepoTags\":[\"nginx:latest\",\"registry.example.com/web:1\"],\"Layers\":[]},\n"
		 " {\"Config\":\"%s\",\"RepoTags\":null,\"Layers\":[\"abc/layer.tar\"]}]",
		 name, name2 + 2);
	{
		struct tar_member m[] = { { name, cfg }, { name2, cfg2 }, { "manifest.json", manifest } };
		snprintf(path, sizeof(path), "%s/two.tar", tmp_root);
		write_tar(path, m, 3);
	}
	CHECK(cg_image_open_archive(path, NULL, &img, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "2 images, name one: 'nginx:latest', '(untagged)'");
	/* RepoTags compare as normalised references */
	CHECKF(cg_image_open_archive(path, "docker.io/library/nginx:latest", &img, &err) == 0, "%s", err.msg);
	if (img) {
		CHECK_STR(img->manifest_digest, "");
		CHECK_STR(img->config_digest, d);
		CHECK_STR(img->ref_name, "nginx:latest");
		CHECK_STR(cg_image_label(img, CG_LABEL_SYSCALLS), "read write");
		CHECK_STR(cg_image_label(img, "maintainer"), "x");
		CHECK(img->closure_json == NULL);
	}
	cg_image_free(img);
	img = NULL;
	CHECKF(cg_image_open_archive(path, "registry.example.com/web:1", &img, &err) == 0, "%s", err.msg);
	cg_image_free(img);
	img = NULL;
	expect_archive_error(path, "nginx:1.0", -ENOENT, "no image is tagged 'nginx:1.0'");

	/* one image, legacy long name */
	snprintf(manifest, sizeof(manifest), "[{\"Config\":\"%s\",\"RepoTags\":[],\"Layers\":[]}]", name2);
	{
		struct tar_member m[] = { { "manifest.json", manifest }, { name2, cfg2 } };
		snprintf(path, sizeof(path), "%s/one.tar", tmp_root);
		write_tar(path, m, 2);
	}
	CHECKF(cg_image_open_archive(path, NULL, &img, &err) == 0, "%s", err.msg);
	if (img) {
		CHECK_STR(img->config_digest, d2);
		CHECK_EQ_INT(img->n_labels, 0);
		CHECK(img->ref_name == NULL);
	}
	cg_image_free(img);
	img = NULL;

	/* Config leaving the archive */
	snprintf(path, sizeof(path), "%s/trav.tar", tmp_root);
	{
		struct tar_member m[] = { { "manifest.json", "[{\"Config\":\"../../etc/passwd\",\"RepoTags\":[]}]" },
					  { "etc/passwd", cfg2 } };
		write_tar(path, m, 2);
		expect_archive_error(path, NULL, -EINVAL, "manifest.json:1:12: Config: path '../../etc/passwd' leaves the archive");
		struct tar_member m2[] = { { "manifest.json", "[{\"Config\":\"/etc/passwd\",\"RepoTags\":[]}]" } };
		write_tar(path, m2, 1);
		expect_archive_error(path, NULL, -EINVAL, "leaves the archive");
		/* members named with ".." are never found */
		struct tar_member m3[] = { { "manifest.json", "[{\"Config\":\"x.json\",\"RepoTags\":[]}]" },
					   { "../x.json", cfg2 } };
		write_tar(path, m3, 2);
		expect_archive_error(path, NULL, -ENOENT, "no member 'x.json'");
	}
	/* a config whose content no longer matches its digest name */
	snprintf(path, sizeof(path), "%s/tamper.tar", tmp_root);
	{
		snprintf(manifest, sizeof(manifest), "[{\"Config\":\"%s\",\"RepoTags\":[\"a:b\"]}]", name);
		struct tar_member m[] = { { "manifest.json", manifest }, { name, cfg2 } };
		write_tar(path, m, 2);
		expect_archive_error(path, NULL, -EBADMSG, "does not match its name");
	}
	/* malformed manifest.json / config: file and JSON path */
	snprintf(path, sizeof(path), "%s/bad.tar", tmp_root);
	{
		struct tar_member m[] = { { "manifest.json", "[{\"Config\": 7}]" } };
		write_tar(path, m, 1);
		expect_archive_error(path, NULL, -EINVAL, "bad.tar:manifest.json:1:13: Config: expected a string");
		struct tar_member m2[] = { { "manifest.json", "[{\"Config\":\"c.json\",\"RepoTags\":[1]}]" } };
		write_tar(path, m2, 1);
		expect_archive_error(path, NULL, -EINVAL, "[0].RepoTags[0]: expected a string");
		struct tar_member m3[] = { { "manifest.json", "[{\"Config\":\"c.json\"}]" },
					   { "c.json", "{\"config\":{\"Labels\":{\"a\":5}}}" } };
		write_tar(path, m3, 2);
		expect_archive_error(path, NULL, -EINVAL, "bad.tar:c.json:1:26: config.Labels[\"a\"]: expected a string");
		struct tar_member m4[] = { { "manifest.json", "{\"Config\":\"c.json\"}" } };
		write_tar(path, m4, 1);
		expect_archive_error(path, NULL, -EINVAL, "expected a JSON list of images");
		/* block YAML that crashes libfyaml 0.7.12 never reaches it */
		struct tar_member m4y[] = { { "manifest.json", "? ::\t?" } };
		write_tar(path, m4y, 1);
		expect_archive_error(path, NULL, -EINVAL, "expected a JSON list of images");
		struct tar_member m5[] = { { "c.json", "{}" } };
		write_tar(path, m5, 1);
		expect_archive_error(path, NULL, -ENOENT, "no member 'manifest.json'");
	}
	/* not a tar at all, and a truncated one */
	snprintf(path, sizeof(path), "%s/not.tar", tmp_root);
	{
		char junk[1024];
		memset(junk, 'x', sizeof(junk));
		write_file(path, junk, sizeof(junk));
		expect_archive_error(path, NULL, -EINVAL, "bad tar header checksum");
		{
			FILE *fp = fopen(path, "w");
			if (fp)
				fclose(fp);
		}
		expect_archive_error(path, NULL, -EINVAL, "empty file");
		struct tar_member m[] = { { "manifest.json", "[{\"Config\":\"c.json\"}]" } };
		write_tar(path, m, 1);
		CHECK(truncate(path, 2 * 512 + 10) == 0);
		expect_archive_error(path, NULL, -EINVAL, "truncated");
	}
	expect_archive_error("/nonexistent.tar", NULL, -ENOENT, "/nonexistent.tar");
	return 0;
}

/* The tar reader on its own: names cleaned, escaping names dropped, the last
 * member of a name wins, PAX path records, a truncated member refused. */
static int test_tar_reader(void)
{
	static const char zero[1024];
	struct cg_tar_index t = { 0 };
	struct cg_error err = { 0 };
	char path[300], *buf = NULL;
	size_t len = 0;
	FILE *fp;
	int fd;

	snprintf(path, sizeof(path), "%s/reader.tar", tmp_root);
	fp = fopen(path, "wb");
	CHECK(fp != NULL);
	if (!fp)
		return 0;
	tar_header(fp, "../escape", 4, '0');
	tar_data(fp, "evil", 4);
	tar_header(fp, "/abs", 4, '0');
	tar_data(fp, "evil", 4);
	tar_header(fp, "./a//b/./c", 3, '0');
	tar_data(fp, "abc", 3);
	tar_header(fp, "dup", 3, '0');
	tar_data(fp, "one", 3);
	tar_header(fp, "dup", 3, '0');
	tar_data(fp, "two", 3);
	tar_header(fp, "PaxHeaders/x", 20, 'x');
	tar_data(fp, "20 path=pax/long/nm\n", 20);
	tar_header(fp, "short", 3, '0');
	tar_data(fp, "pax", 3);
	tar_header(fp, "cut", 4096, '0'); /* data runs past the end */
	tar_data(fp, "xyz", 3);
	fwrite(zero, 1, sizeof(zero), fp);
	fclose(fp);

	fd = open(path, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	CHECK_EQ_INT(cg_tar_scan(fd, path, &t, &err), 0);
	CHECK_EQ_INT(t.n, 5);
	if (t.n == 5) {
		CHECK_STR(t.v[0].name, "a/b/c");
		CHECK_STR(t.v[3].name, "pax/long/nm");
		CHECK_STR(t.v[4].name, "cut");
	}
	CHECK_EQ_INT(cg_tar_read(fd, path, &t, "a/b/c", 100, &buf, &len, &err), 0);
	CHECK_STR(buf, "abc");
	free(buf);
	buf = NULL;
	CHECK_EQ_INT(cg_tar_read(fd, path, &t, "dup", 100, &buf, &len, &err), 0);
	CHECK_STR(buf, "two");
	free(buf);
	buf = NULL;
	CHECK_EQ_INT(cg_tar_read(fd, path, &t, "pax/long/nm", 100, &buf, &len, &err), 0);
	CHECK_STR(buf, "pax");
	free(buf);
	buf = NULL;
	CHECK_EQ_INT(cg_tar_read(fd, path, &t, "../escape", 100, &buf, &len, &err), -ENOENT);
	CHECK_EQ_INT(cg_tar_read(fd, path, &t, "cut", (size_t)1 << 20, &buf, &len, &err), -EINVAL);
	CHECK_CONTAINS(err.msg, "cut: truncated archive");
	CHECK_EQ_INT(cg_tar_read(fd, path, &t, "cut", 1000, &buf, &len, &err), -EFBIG);
	CHECK(buf == NULL);
	cg_tar_index_release(&t);
	if (fd >= 0)
		close(fd);

	{
		char *c = cg_tar_clean("x/../y", 6);
		CHECK(c == NULL);
		c = cg_tar_clean("./x/", 4);
		CHECK_STR(c, "x");
		free(c);
	}
	return 0;
}

/* The cosign payload parser: fields read, odd members left empty. */
static int test_sign_payload_parse(void)
{
	char json[600];
	struct cg_sign_payload p;
	struct cg_error err = { 0 };

	payload_json(json, sizeof(json), CG_COSIGN_TYPE, "sha256:" H64, "registry.example.com/app");
	CHECK_EQ_INT(cg_sign_payload_parse(json, strlen(json), "p", &p, &err), 0);
	CHECK(p.has_critical);
	CHECK_STR(p.type, CG_COSIGN_TYPE);
	CHECK_STR(p.digest, "sha256:" H64);
	CHECK_STR(p.identity, "registry.example.com/app");

	snprintf(json, sizeof(json), "{\"critical\": {\"type\": 5, \"image\": [], \"identity\": {\"docker-reference\": null}}}");
	CHECK_EQ_INT(cg_sign_payload_parse(json, strlen(json), "p", &p, &err), 0);
	CHECK(p.has_critical && !p.type[0] && !p.digest[0] && !p.identity[0]);

	snprintf(json, sizeof(json), "{\"critical\": \"x\"}");
	CHECK_EQ_INT(cg_sign_payload_parse(json, strlen(json), "p", &p, &err), 0);
	CHECK(!p.has_critical);

	snprintf(json, sizeof(json), "critical: {}\n");
	CHECK_EQ_INT(cg_sign_payload_parse(json, strlen(json), "payload.json", &p, &err), -EINVAL);
	CHECK_CONTAINS(err.msg, "payload.json: expected one JSON object");

	/* found by fuzz_cosign: this block YAML crashed libfyaml 0.7.12 when
	 * its parser was destroyed; image documents never reach the YAML parser */
	CHECK_EQ_INT(cg_sign_payload_parse("? ::\t?", 6, "payload.json", &p, &err), -EINVAL);
	CHECK_CONTAINS(err.msg, "payload.json: expected one JSON object");
	CHECK_EQ_INT(cg_sign_payload_parse(" \n? ::\t- a", 11, "payload.json", &p, &err), -EINVAL);
	{
		struct cg_oci_manifest m;
		char **k = NULL, **v = NULL;
		size_t n = 0;
		CHECK_EQ_INT(cg_oci_manifest_parse("? ::\t?", 6, "m.json", false, NULL, &m, &err), -EINVAL);
		CHECK_EQ_INT(cg_oci_config_labels("? x::\t-", 8, "c.json", &k, &v, &n, &err), -EINVAL);
		CHECK(k == NULL && n == 0);
	}
	return 0;
}

int main(void)
{
	snprintf(tmp_root, sizeof(tmp_root), "/tmp/capgate-test-image-XXXXXX");
	if (!mkdtemp(tmp_root)) {
		perror("mkdtemp");
		return 2;
	}
	RUN(test_ref_table);
	RUN(test_ref_format_round_trip);
	RUN(test_ref_within);
	RUN(test_ref_gatekeeper_samples);
	RUN(test_layout_labels_and_selection);
	RUN(test_layout_closure);
	RUN(test_layout_nested_index);
	RUN(test_layout_tampering_and_errors);
	RUN(test_sign_verify);
	RUN(test_sign_bound_to_ref);
	RUN(test_docker_archive);
	RUN(test_tar_reader);
	RUN(test_sign_payload_parse);
	nftw(tmp_root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	T_DONE();
}
