// SPDX-License-Identifier: Apache-2.0
/*
 * Container images on disk: OCI image layouts and docker-archive tarballs.
 *
 * This module decides which image a layout or archive holds and what it says
 * about itself; reading the documents is oci.c's job (every blob checked
 * against its digest there), reading the archive tar.c's.
 *
 * OCI layout: index.json -> (nested index, one platform chosen) -> image
 * manifest (OCI or Docker schema 2) -> config; the labels come from
 * config.config.Labels. A closure is attached as a layer of the image
 * manifest or as a referrer artifact whose subject is the image. Without a
 * reference, cosign signature tags, referrers and artifacts are not images,
 * so a signed layout still holds "the one image".
 *
 * manifest_digest is the digest of the descriptor chosen in index.json: for
 * a single-platform image the image manifest, for a multi-platform image
 * the index (what "name@sha256:..." resolves to and what cosign signs; the
 * platform manifest is covered because the index names its digest).
 *
 * docker-archive (docker save): manifest.json lists the images with their
 * RepoTags and config path; the config's name is its digest and is checked.
 * An archive holds no image manifest, so manifest_digest is "" and
 * signatures cannot be checked on it.
 */
#include <capgate/image.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "static/image_internal.h"
#include "static/oci.h"
#include "static/tar.h"

/* ---- the image object --------------------------------------------------- */

/* What an image holds behind its public fields: the digests and the
 * platform, which capgate reads as sha256 only (blobs/sha256/). */
struct image_priv {
	struct cg_image pub;
	char manifest_digest[72], config_digest[72], image_digest[72], platform[64];
};
#define PRIV(img) ((struct image_priv *)(img))

static struct cg_image *image_new(const char *source)
{
	struct image_priv *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pub.manifest_digest = p->manifest_digest;
	p->pub.config_digest = p->config_digest;
	p->pub.image_digest = p->image_digest;
	p->pub.platform = p->platform;
	if (!(p->pub.source = strdup(source))) {
		free(p);
		return NULL;
	}
	return &p->pub;
}

void cg_image_free(struct cg_image *img)
{
	if (!img)
		return;
	free(img->source);
	free(img->ref_name);
	cg_strv_free(img->label_keys, img->n_labels);
	cg_strv_free(img->label_values, img->n_labels);
	free(img->closure_json);
	free(img);
}

const char *cg_image_label(const struct cg_image *img, const char *key)
{
	if (!img || !key)
		return NULL;
	for (size_t i = 0; i < img->n_labels; i++)
		if (strcmp(img->label_keys[i], key) == 0)
			return img->label_values[i];
	return NULL;
}

/* config.config.Labels of an image config into @img. */
static int config_labels(const char *buf, size_t len, const char *source, struct cg_image *img,
			 struct cg_error *err)
{
	return cg_oci_config_labels(buf, len, source, &img->label_keys, &img->label_values, &img->n_labels, err);
}

static bool is_cosign_tag(const char *name)
{
	const char *t, *dot;

	if (!name)
		return false;
	t = strrchr(name, ':'); /* "repo:sha256-....sig" or just the tag */
	t = t ? t + 1 : name;
	if (strncmp(t, "sha256-", 7) != 0 || strlen(t) < 7 + 64 + 4)
		return false;
	dot = t + 7 + 64;
	return *dot == '.' && (strcmp(dot, ".sig") == 0 || strcmp(dot, ".att") == 0 || strcmp(dot, ".sbom") == 0);
}

static const char *host_goarch(void)
{
	struct utsname u;
	if (uname(&u) == 0) {
		if (strcmp(u.machine, "x86_64") == 0)
			return "amd64";
		if (strcmp(u.machine, "aarch64") == 0)
			return "arm64";
		if (strcmp(u.machine, "i686") == 0 || strcmp(u.machine, "i386") == 0)
			return "386";
	}
	return "amd64";
}

static bool platform_part_ok(const char *p, size_t n)
{
	if (n == 0 || n > 31)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9') || p[i] == '_' || p[i] == '.' ||
		      p[i] == '-'))
			return false;
	return true;
}

int cg_image_platform_parse(const char *s, char os[32], char arch[32], char variant[32], struct cg_error *err)
{
	const char *a, *v;

	if (!s || !(a = strchr(s, '/')))
		goto bad;
	v = strchr(a + 1, '/');
	if (!platform_part_ok(s, (size_t)(a - s)) || !platform_part_ok(a + 1, v ? (size_t)(v - a - 1) : strlen(a + 1)) ||
	    (v && !platform_part_ok(v + 1, strlen(v + 1))))
		goto bad;
	snprintf(os, 32, "%.*s", (int)(a - s), s);
	snprintf(arch, 32, "%.*s", v ? (int)(v - a - 1) : (int)strlen(a + 1), a + 1);
	snprintf(variant, 32, "%s", v ? v + 1 : "");
	return 0;
bad:
	return cg_error_set(err, -EINVAL, "platform '%s': expected OS/ARCH[/VARIANT] (linux/amd64, linux/arm64/v8)",
			    s ? s : "");
}

/* Does descriptor @d's platform match @want ("os/arch[/variant]"; a variant
 * is compared only when @want names one)? */
static bool platform_match(const char *os, const char *arch, const char *variant, const char *want)
{
	char wos[32], warch[32], wvar[32];

	if (cg_image_platform_parse(want, wos, warch, wvar, NULL) < 0)
		return false;
	return os && arch && strcmp(os, wos) == 0 && strcmp(arch, warch) == 0 &&
	       (!wvar[0] || (variant && strcmp(variant, wvar) == 0));
}

int cg_image_index_pick(const struct cg_oci_manifest *idx, const char *platform, const struct cg_oci_desc **ret,
			struct cg_error *err)
{
	const struct cg_oci_desc *only = NULL, *host = NULL;
	const char *arch = host_goarch();
	char hostp[40];
	size_t n = 0, nhost = 0;
	char list[512] = "";

	snprintf(hostp, sizeof(hostp), "linux/%s", arch);
	for (size_t i = 0; i < idx->n_items; i++) {
		const struct cg_oci_desc *d = &idx->items[i];
		size_t l = strlen(list);
		if (!cg_oci_is_manifest_type(d->media_type) && !cg_oci_is_index_type(d->media_type))
			continue;
		if (d->ref_type || d->artifact_type || (d->os && strcmp(d->os, "unknown") == 0))
			continue; /* attestation manifests, artifacts */
		only = d;
		n++;
		if (platform_match(d->os, d->arch, d->variant, platform ? platform : hostp)) {
			host = d;
			nhost++;
		}
		snprintf(list + l, sizeof(list) - l, "%s%s/%s%s%s", l ? ", " : "", d->os ? d->os : "?",
			 d->arch ? d->arch : "?", d->variant ? "/" : "", d->variant ? d->variant : "");
	}
	if (n == 1 && !platform) {
		*ret = only;
		return 0;
	}
	if (nhost == 1) {
		*ret = host;
		return 0;
	}
	if (n == 0)
		return cg_error_set(err, -ENOENT, "%s: index lists no image manifest", idx->source);
	return cg_error_set(err, nhost ? -EINVAL : -ENOENT, "%s: index has %zu platform%s (%s) and %s %s",
			    idx->source, n, n == 1 ? "" : "s", list, nhost ? "several for" : "none for",
			    platform ? platform : hostp);
}

/* The platform of descriptor @d as "os/arch[/variant]" into @out. */
static void platform_format(const struct cg_oci_desc *d, char *out, size_t n)
{
	snprintf(out, n, "%s/%s%s%s", d->os ? d->os : "?", d->arch ? d->arch : "?", d->variant ? "/" : "",
		 d->variant ? d->variant : "");
}

/* An explicit @platform and an image manifest index.json names directly:
 * its config must say that platform. */
static int config_platform_check(const char *buf, size_t len, const char *source, const char *platform,
				 struct cg_error *err)
{
	struct fy_document *doc = NULL;
	struct fy_node *root;
	char *f[3] = { NULL, NULL, NULL };
	static const char *const keys[3] = { "os", "architecture", "variant" };
	char have[100];
	int r;

	if ((r = cg_oci_json_parse(buf, len, source, &doc, err)) < 0)
		return r;
	root = fy_document_root(doc);
	for (int i = 0; i < 3 && r == 0; i++) {
		struct fy_node *v = cg_oci_get(root, keys[i]);
		if (v && !cg_doc_is_null(v))
			r = cg_doc_strdup(v, true, source, keys[i], &f[i], err);
	}
	snprintf(have, sizeof(have), "%s/%s%s%s", f[0] ? f[0] : "?", f[1] ? f[1] : "?", f[2] ? "/" : "", f[2] ? f[2] : "");
	if (r == 0 && !platform_match(f[0], f[1], f[2], platform))
		r = cg_error_set(err, -ENOENT, "%s: the image is for %s only, not %s", source, have, platform);
	for (int i = 0; i < 3; i++)
		free(f[i]);
	fy_document_destroy(doc);
	return r;
}

/* A closure found for the image: where it came from and its bytes. */
struct closure_found {
	char digest[72];
	char where[200];
};

static int closure_take(struct cg_image *img, struct closure_found *found, const char *dir, const struct cg_oci_desc *d,
			const char *where, struct cg_error *err)
{
	char *buf = NULL;
	size_t len = 0;
	int r;

	if (found->digest[0]) {
		if (strcmp(found->digest, d->digest) == 0)
			return 0;
		return cg_error_set(err, -EINVAL, "%s: two different closures are attached: %s (%s) and %s (%s)",
				    img->source, found->digest, found->where, d->digest, where);
	}
	if ((r = cg_oci_blob_read(dir, d->digest, d->size, where, &buf, &len, err)) < 0)
		return r;
	img->closure_json = buf;
	img->closure_len = len;
	memcpy(found->digest, d->digest, 72);
	snprintf(found->where, sizeof(found->where), "%s", where);
	return 0;
}

/* The closure held by a referrer artifact manifest. */
static const struct cg_oci_desc *referrer_payload(const struct cg_oci_manifest *m)
{
	for (size_t i = 0; i < m->n_items; i++)
		if (m->items[i].media_type && strcmp(m->items[i].media_type, CG_CLOSURE_MEDIA_TYPE) == 0)
			return &m->items[i];
	if (m->has_config && strcmp(m->config.media_type, CG_CLOSURE_MEDIA_TYPE) == 0)
		return &m->config;
	return m->n_items ? &m->items[0] : NULL;
}

/* Does a stored name (RepoTags entry, io.containerd.image.name) name the
 * reference asked for? Compared as normalised references. */
static bool ref_matches(const char *tag, const char *ref)
{
	struct cg_imageref a = { 0 }, b = { 0 };
	char *fa = NULL, *fb = NULL;
	bool eq;

	if (strcmp(tag, ref) == 0)
		return true;
	if (cg_imageref_parse(tag, &a, NULL) < 0)
		return false;
	if (cg_imageref_parse(ref, &b, NULL) < 0) {
		cg_imageref_release(&a);
		return false;
	}
	fa = cg_imageref_format(&a);
	fb = cg_imageref_format(&b);
	eq = fa && fb && strcmp(fa, fb) == 0;
	free(fa);
	free(fb);
	cg_imageref_release(&a);
	cg_imageref_release(&b);
	return eq;
}

/* The digest @ref pins: "name@sha256:<hex>" or a bare "sha256:<hex>"; NULL
 * for a name or a tag. The digest comes back in @buf. */
static const char *ref_digest(const char *ref, char buf[72])
{
	struct cg_imageref r = { 0 };
	const char *got = NULL;

	if (!ref)
		return NULL;
	if (strncmp(ref, "sha256:", 7) == 0 && cg_oci_digest_valid(ref)) {
		snprintf(buf, 72, "%s", ref);
		return buf;
	}
	if (strchr(ref, '@') && cg_imageref_parse(ref, &r, NULL) == 0 && r.digest && strlen(r.digest) < 72) {
		snprintf(buf, 72, "%s", r.digest);
		got = buf;
	}
	cg_imageref_release(&r);
	return got;
}

/* A reference that pins a digest selects the descriptor of that digest: a
 * digest is what the content hashes to (cg_oci_manifest_load checks it),
 * while a name is an annotation anyone writing the layout chooses. A layout
 * that names a manifest after a digest it does not have is caught here. */
static int select_by_digest(const struct cg_oci_manifest *index, const char *ref, const char *digest,
			    const struct cg_oci_desc **ret, struct cg_error *err)
{
	const struct cg_oci_desc *named = NULL;

	for (size_t i = 0; i < index->n_items; i++) {
		const struct cg_oci_desc *d = &index->items[i];
		if (!cg_oci_is_manifest_type(d->media_type) && !cg_oci_is_index_type(d->media_type))
			continue;
		if (strcmp(d->digest, digest) == 0) {
			*ret = d;
			return 0;
		}
		if (!named && ((d->ref_name && strcmp(d->ref_name, ref) == 0) ||
			       (d->image_name && ref_matches(d->image_name, ref))))
			named = d;
	}
	if (named)
		return cg_error_set(err, -EBADMSG,
				    "%s: the reference pins %s, but the manifest named '%s' is %s: a name does not "
				    "make it that image",
				    index->source, digest, ref, named->digest);
	return cg_error_set(err, -ENOENT, "%s: no manifest has digest %s", index->source, digest);
}

/* A digest the reference pins that index.json does not list may be a
 * platform manifest (or index) inside a multi-platform index: look for it
 * through the nesting, every level read digest-checked. 1 found (*ret
 * points into @holder, which the caller releases), 0 not found, < 0 error. */
static int find_nested(const char *dir, const struct cg_oci_manifest *idx, const char *digest, size_t depth,
		       struct cg_oci_manifest *holder, const struct cg_oci_desc **ret, struct cg_error *err)
{
	for (size_t i = 0; i < idx->n_items; i++) {
		const struct cg_oci_desc *d = &idx->items[i];
		struct cg_oci_manifest m = { 0 };
		int r = 0;

		if (!cg_oci_is_index_type(d->media_type))
			continue;
		if ((r = cg_oci_manifest_load(dir, d, &m, err)) < 0)
			return r;
		for (size_t k = 0; k < m.n_items; k++) {
			const struct cg_oci_desc *c = &m.items[k];
			if ((cg_oci_is_manifest_type(c->media_type) || cg_oci_is_index_type(c->media_type)) &&
			    strcmp(c->digest, digest) == 0) {
				*holder = m;
				*ret = &holder->items[k];
				return 1;
			}
		}
		if (depth < 4)
			r = find_nested(dir, &m, digest, depth + 1, holder, ret, err);
		cg_oci_manifest_release(&m);
		if (r != 0)
			return r;
	}
	return 0;
}

int cg_image_select_top(const char *dir, const struct cg_oci_manifest *index, const char *ref,
			const struct cg_oci_desc **ret, struct cg_error *err)
{
	const struct cg_oci_desc *sel = NULL;
	char names[600] = "", dbuf[72];
	const char *digest = ref_digest(ref, dbuf);
	size_t n = 0;
	int r;

	if (digest)
		return select_by_digest(index, ref, digest, ret, err);
	for (size_t i = 0; i < index->n_items; i++) {
		const struct cg_oci_desc *d = &index->items[i];
		size_t l = strlen(names);

		if (!cg_oci_is_manifest_type(d->media_type) && !cg_oci_is_index_type(d->media_type))
			continue;
		if (ref) {
			if (!(d->ref_name && strcmp(d->ref_name, ref) == 0) &&
			    !(d->image_name && ref_matches(d->image_name, ref)))
				continue;
		} else {
			struct cg_oci_manifest m = { 0 };
			bool artifact;
			if (is_cosign_tag(d->ref_name) || d->artifact_type)
				continue;
			if (cg_oci_is_manifest_type(d->media_type)) {
				/* referrers (a subject) and artifacts are not the image */
				if ((r = cg_oci_manifest_load(dir, d, &m, err)) < 0)
					return r;
				artifact = m.has_subject || m.artifact_type ||
					   (strcmp(m.config.media_type, CG_OCI_MT_CONFIG) != 0 &&
					    strcmp(m.config.media_type, CG_DOCKER_MT_CONFIG) != 0);
				cg_oci_manifest_release(&m);
				if (artifact)
					continue;
			}
		}
		if (sel && strcmp(sel->digest, d->digest) == 0)
			continue; /* the same image under two names */
		snprintf(names + l, sizeof(names) - l, "%s'%s'", l ? ", " : "", d->ref_name ? d->ref_name : d->digest);
		sel = d;
		n++;
	}
	if (n == 1) {
		*ret = sel;
		return 0;
	}
	if (n == 0 && ref)
		return cg_error_set(err, -ENOENT, "%s: no manifest is named '%s' (annotation %s)", index->source, ref,
				    CG_OCI_ANN_REF_NAME);
	if (n == 0)
		return cg_error_set(err, -ENOENT, "%s: the layout holds no image manifest", index->source);
	return cg_error_set(err, -EINVAL, "%s: %zu images match%s%s%s, name one: %s", index->source, n,
			    ref ? " '" : "", ref ? ref : "", ref ? "'" : "", names);
}

static int open_layout(const char *dir, const char *ref, const char *platform, struct cg_image *img,
		       struct cg_error *err)
{
	struct cg_oci_manifest index = { 0 }, top = { 0 }, man = { 0 }, nested = { 0 }, holder = { 0 };
	struct closure_found found;
	char dbuf[72];
	const char *pinned = ref_digest(ref, dbuf);
	const struct cg_oci_desc *sel = NULL, *plat = NULL;
	_cleanup_free_ char *cfg = NULL;
	size_t cfg_len = 0, depth = 0;
	int r;

	memset(&found, 0, sizeof(found));
	if ((r = cg_oci_layout_check(dir, err)) < 0)
		return r;
	if ((r = cg_oci_index_load(dir, &index, err)) < 0)
		return r;
	r = cg_image_select_top(dir, &index, ref, &sel, err);
	if (r == -ENOENT && pinned) {
		/* not an entry of index.json: perhaps a platform of a nested index */
		struct cg_error nerr = { 0 };
		int f = find_nested(dir, &index, pinned, 1, &holder, &sel, &nerr);
		if (f < 0)
			r = cg_error_set(err, f, "%s", nerr.msg);
		else if (f > 0)
			r = 0;
	}
	if (r < 0)
		goto out;
	snprintf(PRIV(img)->manifest_digest, sizeof(PRIV(img)->manifest_digest), "%s", sel->digest);
	if (sel->ref_name && !(img->ref_name = strdup(sel->ref_name))) {
		r = cg_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	if ((r = cg_oci_manifest_load(dir, sel, &top, err)) < 0)
		goto out;
	/* index -> nested index -> ... -> image manifest (4 levels at most) */
	man = top;
	top = (struct cg_oci_manifest){ 0 };
	while (man.is_index) {
		if (++depth > 4) {
			r = cg_error_set(err, -ELOOP, "%s: indexes nested more than 4 deep", man.source);
			goto out;
		}
		if ((r = cg_image_index_pick(&man, platform, &plat, err)) < 0 ||
		    (r = cg_oci_manifest_load(dir, plat, &nested, err)) < 0)
			goto out;
		platform_format(plat, PRIV(img)->platform, sizeof(PRIV(img)->platform));
		cg_oci_manifest_release(&man);
		man = nested;
		nested = (struct cg_oci_manifest){ 0 };
	}
	if (strcmp(man.config.media_type, CG_OCI_MT_CONFIG) != 0 && strcmp(man.config.media_type, CG_DOCKER_MT_CONFIG) != 0) {
		r = cg_error_set(err, -EINVAL, "%s: config: media type '%s' is not an image config (is this an artifact?)",
				 man.source, man.config.media_type);
		goto out;
	}
	memcpy(PRIV(img)->config_digest, man.config.digest, 72);
	memcpy(PRIV(img)->image_digest, depth ? man.digest : sel->digest, 72);
	if ((r = cg_oci_blob_read(dir, man.config.digest, man.config.size, "image config", &cfg, &cfg_len, err)) < 0)
		goto out;
	if (platform && !depth && (r = config_platform_check(cfg, cfg_len, man.source, platform, err)) < 0)
		goto out;
	{
		_cleanup_free_ char *cfg_src = NULL;
		if (asprintf(&cfg_src, "%s/blobs/sha256/%s", dir, man.config.digest + 7) < 0) {
			r = cg_error_set(err, -ENOMEM, "out of memory");
			goto out;
		}
		if ((r = config_labels(cfg, cfg_len, cfg_src, img, err)) < 0)
			goto out;
	}
	/* the layers the image runs: a byte changed in one of them is a changed
	 * image, whatever its manifest and signature say */
	for (size_t i = 0; i < man.n_items; i++)
		if ((r = cg_oci_blob_verify(dir, &man.items[i], err)) < 0)
			goto out;
	/* attached closure: a layer of the image manifest ... */
	for (size_t i = 0; i < man.n_items; i++) {
		char where[200];
		if (!man.items[i].media_type || strcmp(man.items[i].media_type, CG_CLOSURE_MEDIA_TYPE) != 0)
			continue;
		snprintf(where, sizeof(where), "closure layer %s[%zu]", man.digest, i);
		if ((r = closure_take(img, &found, dir, &man.items[i], where, err)) < 0)
			goto out;
	}
	/* ... or a referrer whose subject is the image (index or platform manifest) */
	for (size_t i = 0; i < index.n_items; i++) {
		const struct cg_oci_desc *d = &index.items[i];
		struct cg_oci_manifest ref_m = { 0 };
		const struct cg_oci_desc *payload;
		bool is_closure;
		char where[200];

		if (!cg_oci_is_manifest_type(d->media_type) || strcmp(d->digest, sel->digest) == 0 ||
		    strcmp(d->digest, man.digest) == 0 || is_cosign_tag(d->ref_name))
			continue;
		if (d->artifact_type && strcmp(d->artifact_type, CG_CLOSURE_MEDIA_TYPE) != 0)
			continue;
		if ((r = cg_oci_manifest_load(dir, d, &ref_m, err)) < 0)
			goto out;
		is_closure = ref_m.has_subject &&
			     (strcmp(ref_m.subject.digest, sel->digest) == 0 || strcmp(ref_m.subject.digest, man.digest) == 0) &&
			     ((ref_m.artifact_type && strcmp(ref_m.artifact_type, CG_CLOSURE_MEDIA_TYPE) == 0) ||
			      strcmp(ref_m.config.media_type, CG_CLOSURE_MEDIA_TYPE) == 0);
		payload = is_closure ? referrer_payload(&ref_m) : NULL;
		snprintf(where, sizeof(where), "closure referrer %s", d->digest);
		if (is_closure && !payload)
			r = cg_error_set(err, -EINVAL, "%s: closure referrer has no content", ref_m.source);
		else if (payload)
			r = closure_take(img, &found, dir, payload, where, err);
		cg_oci_manifest_release(&ref_m);
		if (r < 0)
			goto out;
	}
out:
	cg_oci_manifest_release(&index);
	cg_oci_manifest_release(&top);
	cg_oci_manifest_release(&man);
	cg_oci_manifest_release(&nested);
	cg_oci_manifest_release(&holder);
	return r;
}

int cg_image_open_layout_opts(const char *dir, const char *ref, const struct cg_image_open_opts *o,
			      struct cg_image **ret, struct cg_error *err)
{
	const char *platform = o && o->sz >= offsetof(struct cg_image_open_opts, platform) + sizeof(o->platform)
				       ? o->platform
				       : NULL;
	struct cg_image *img;
	char pos[32], parch[32], pvar[32];
	int r;

	if (!dir || !ret)
		return cg_error_set(err, -EINVAL, "no layout directory given");
	if (platform && (r = cg_image_platform_parse(platform, pos, parch, pvar, err)) < 0)
		return r;
	if (!(img = image_new(dir)))
		return cg_error_set(err, -ENOMEM, "out of memory");
	if ((r = open_layout(dir, ref, platform, img, err)) < 0) {
		cg_image_free(img);
		return r;
	}
	*ret = img;
	return 0;
}

int cg_image_open_layout(const char *dir, const char *ref, struct cg_image **ret, struct cg_error *err)
{
	return cg_image_open_layout_opts(dir, ref, NULL, ret, err);
}

/* ---- docker-archive ----------------------------------------------------- */

static int open_archive(const char *path, const char *ref, struct cg_image *img, struct cg_error *err)
{
	struct cg_tar_index t = { 0 };
	struct fy_document *doc = NULL;
	struct fy_node *root, *item, *sel = NULL, *cfgn;
	_cleanup_free_ char *mbuf = NULL, *cbuf = NULL, *msrc = NULL, *csrc = NULL, *cfg = NULL, *sel_tag = NULL;
	_cleanup_close_ int fd = -1;
	void *it = NULL;
	size_t mlen = 0, clen = 0, i = 0, nsel = 0;
	char names[600] = "", hex[72];
	int r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cg_error_set(err, -errno, "%s: %m", path);
	if ((r = cg_tar_scan(fd, path, &t, err)) < 0)
		goto out;
	if ((r = cg_tar_read(fd, path, &t, "manifest.json", CG_BLOB_MAX, &mbuf, &mlen, err)) < 0)
		goto out;
	if (asprintf(&msrc, "%s:manifest.json", path) < 0) {
		r = cg_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	{
		struct fy_document **docs = NULL;
		size_t n = 0;
		bool json = false;
		char first = cg_oci_json_first(mbuf, mlen);
		if (first && first != '[') { /* JSON only: never the YAML parser (see oci.c) */
			r = cg_error_set(err, -EINVAL, "%s: expected a JSON list of images", msrc);
			goto out;
		}
		if ((r = cg_doc_parse_all(mbuf, mlen, msrc, &docs, &n, &json, err)) < 0)
			goto out;
		doc = docs[0];
		for (size_t k = 1; k < n; k++)
			fy_document_destroy(docs[k]);
		free(docs);
		root = fy_document_root(doc);
		if (!json || n != 1 || !cg_doc_is_sequence(root)) {
			r = cg_error_set(err, -EINVAL, "%s: expected a JSON list of images", msrc);
			goto out;
		}
	}
	while ((item = fy_node_sequence_iterate(root, &it)) != NULL) {
		char p[64];
		char **tags = NULL;
		size_t ntags = 0, l = strlen(names);
		bool match = ref == NULL;

		snprintf(p, sizeof(p), "[%zu]", i);
		if (!cg_doc_is_mapping(item)) {
			r = cg_doc_error(err, msrc, item, p, "expected an object with Config, RepoTags, Layers");
			goto out;
		}
		snprintf(p, sizeof(p), "[%zu].RepoTags", i);
		if ((r = cg_doc_strv(cg_oci_get(item, "RepoTags"), true, msrc, p, &tags, &ntags, err)) < 0)
			goto out;
		for (size_t k = 0; k < ntags && ref && !match; k++)
			if (ref_matches(tags[k], ref)) {
				match = true;
				free(sel_tag);
				sel_tag = strdup(tags[k]);
			}
		if (!ref && ntags) {
			free(sel_tag);
			sel_tag = strdup(tags[0]);
		}
		snprintf(names + l, sizeof(names) - l, "%s'%s'", l ? ", " : "", ntags ? tags[0] : "(untagged)");
		cg_strv_free(tags, ntags);
		if (match) {
			sel = item;
			nsel++;
		}
		i++;
	}
	if (nsel != 1) {
		if (nsel == 0 && ref)
			r = cg_error_set(err, -ENOENT, "%s: no image is tagged '%s' (RepoTags: %s)", msrc, ref, names);
		else if (nsel == 0)
			r = cg_error_set(err, -ENOENT, "%s: the archive holds no image", msrc);
		else
			r = cg_error_set(err, -EINVAL, "%s: %zu images, name one: %s", msrc, nsel, names);
		goto out;
	}
	{
		cfgn = cg_oci_get(sel, "Config");
		if (!cfgn) {
			r = cg_doc_error(err, msrc, sel, "Config", "image has no Config");
			goto out;
		}
		if ((r = cg_doc_strdup(cfgn, true, msrc, "Config", &cfg, err)) < 0)
			goto out;
	}
	{
		char *clean = cg_tar_clean(cfg, strlen(cfg));
		if (!clean || !*clean) {
			free(clean);
			r = cg_doc_error(err, msrc, cfgn, "Config", "path '%s' leaves the archive", cfg);
			goto out;
		}
		free(cfg);
		cfg = clean;
	}
	if ((r = cg_tar_read(fd, path, &t, cfg, CG_BLOB_MAX, &cbuf, &clen, err)) < 0)
		goto out;
	if ((r = cg_oci_sha256(cbuf, clen, PRIV(img)->config_digest, err)) < 0)
		goto out;
	/* The config's name is its digest: "blobs/sha256/<hex>" or "<hex>.json". */
	{
		const char *base = strrchr(cfg, '/') ? strrchr(cfg, '/') + 1 : cfg;
		size_t bl = strcspn(base, ".");
		snprintf(hex, sizeof(hex), "sha256:%.*s", (int)(bl < 64 ? bl : 64), base);
		if (bl == 64 && cg_oci_digest_valid(hex) && strcmp(hex, img->config_digest) != 0) {
			r = cg_error_set(err, -EBADMSG, "%s: %s does not match its name (content hashes to %s)", path,
					 cfg, img->config_digest);
			goto out;
		}
	}
	if (asprintf(&csrc, "%s:%s", path, cfg) < 0) {
		r = cg_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	if ((r = config_labels(cbuf, clen, csrc, img, err)) < 0)
		goto out;
	PRIV(img)->manifest_digest[0] = '\0'; /* docker-archive has no manifest digest */
	img->ref_name = TAKE_PTR(sel_tag);
out:
	if (doc)
		fy_document_destroy(doc);
	cg_tar_index_release(&t);
	return r;
}

int cg_image_open_archive(const char *path, const char *ref, struct cg_image **ret, struct cg_error *err)
{
	struct cg_image *img;
	int r;

	if (!path || !ret)
		return cg_error_set(err, -EINVAL, "no archive given");
	if (!(img = image_new(path)))
		return cg_error_set(err, -ENOMEM, "out of memory");
	if ((r = open_archive(path, ref, img, err)) < 0) {
		cg_image_free(img);
		return r;
	}
	*ret = img;
	return 0;
}
