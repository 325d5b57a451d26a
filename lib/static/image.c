// SPDX-License-Identifier: Apache-2.0
/*
 * Container images on disk: OCI image layouts and docker-archive tarballs.
 *
 * OCI layout: oci-layout (imageLayoutVersion 1.x), index.json, and
 * blobs/sha256/<hex>. index.json -> (nested index, one platform chosen) ->
 * image manifest (OCI or Docker schema 2) -> config; the labels come from
 * config.config.Labels. Every blob read is checked: its size and SHA-256
 * against the descriptor that named it. Blobs are found by digest only, so
 * no name in a layout reaches the file system.
 *
 * manifest_digest is the digest of the descriptor chosen in index.json: for
 * a single-platform image the image manifest, for a multi-platform image
 * the index (what "name@sha256:..." resolves to and what cosign signs; the
 * platform manifest is covered because the index names its digest).
 *
 * docker-archive: a plain tar (docker save writes ustar, with PAX or GNU
 * long-name records for long paths), read by the small reader below instead
 * of libarchive: only two members are needed (manifest.json and the config),
 * nothing is ever extracted, and the format docker save writes is plain
 * uncompressed tar, so a 150-line reader is less to trust than a new library
 * that also speaks a dozen formats. An archive holds no image manifest, so
 * manifest_digest is "" and signatures cannot be checked on it.
 */
#include "static/image_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>

/* ---- small helpers ------------------------------------------------------ */

bool oci_digest_valid(const char *d)
{
	if (!d || strncmp(d, "sha256:", 7) != 0 || strlen(d) != 71)
		return false;
	for (int i = 7; i < 71; i++)
		if (!((d[i] >= '0' && d[i] <= '9') || (d[i] >= 'a' && d[i] <= 'f')))
			return false;
	return true;
}

int oci_sha256(const void *p, size_t n, char out[72])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
		return -EIO;
	memcpy(out, "sha256:", 7);
	for (unsigned int i = 0; i < 32; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
	return 0;
}

static int read_fd(int fd, const char *path, char **ret, size_t *ret_len, struct cg_error *err)
{
	struct stat st;
	char *buf;
	size_t got = 0;

	if (fstat(fd, &st) < 0)
		return cg_error_set(err, -errno, "%s: %m", path);
	if (!S_ISREG(st.st_mode))
		return cg_error_set(err, -EINVAL, "%s: not a regular file", path);
	if ((uint64_t)st.st_size > CG_BLOB_MAX)
		return cg_error_set(err, -EFBIG, "%s: %lld bytes is more than the %zu MiB capgate reads", path,
				    (long long)st.st_size, CG_BLOB_MAX >> 20);
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return cg_error_set(err, -ENOMEM, "out of memory");
	while (got < (size_t)st.st_size) {
		ssize_t k = read(fd, buf + got, (size_t)st.st_size - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			int e = k < 0 ? errno : EIO;
			free(buf);
			return cg_error_set(err, -e, "%s: %s", path, k < 0 ? strerror(e) : "file shrank while read");
		}
		got += (size_t)k;
	}
	buf[got] = '\0';
	*ret = buf;
	*ret_len = got;
	return 0;
}

int oci_read_file(const char *path, char **ret, size_t *ret_len, struct cg_error *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return cg_error_set(err, -errno, "%s: %m", path);
	return read_fd(fd, path, ret, ret_len, err);
}

int oci_blob_read(const char *dir, const char *digest, uint64_t size, const char *what, char **ret,
		  size_t *ret_len, struct cg_error *err)
{
	_cleanup_free_ char *path = NULL, *buf = NULL;
	char got[72];
	size_t len = 0;
	int r;

	if (!oci_digest_valid(digest))
		return cg_error_set(err, -EINVAL, "%s: digest '%s' is not sha256:<64 hex>", what, digest);
	if (size > CG_BLOB_MAX)
		return cg_error_set(err, -EFBIG, "%s: blob %s of %llu bytes is more than the %zu MiB capgate reads",
				    what, digest, (unsigned long long)size, CG_BLOB_MAX >> 20);
	if (asprintf(&path, "%s/blobs/sha256/%s", dir, digest + 7) < 0)
		return cg_error_set(err, -ENOMEM, "out of memory");
	if ((r = oci_read_file(path, &buf, &len, err)) < 0)
		return cg_error_prefix(err, "%s: ", what);
	if (len != size)
		return cg_error_set(err, -EBADMSG, "%s: blob %s has %zu bytes, its descriptor says %llu", what, path,
				    len, (unsigned long long)size);
	if (oci_sha256(buf, len, got) < 0)
		return cg_error_set(err, -EIO, "sha-256 failed");
	if (strcmp(got, digest) != 0)
		return cg_error_set(err, -EBADMSG, "%s: blob %s does not match its digest (content hashes to %s)",
				    what, path, got);
	*ret = TAKE_PTR(buf);
	if (ret_len)
		*ret_len = len;
	return 0;
}

int oci_json_parse(const char *buf, size_t len, const char *source, struct fy_document **ret,
		   struct cg_error *err)
{
	struct fy_document **docs = NULL;
	size_t n = 0;
	bool json = false;
	int r;

	if ((r = cg_doc_parse_all(buf, len, source, &docs, &n, &json, err)) < 0)
		return r;
	if (!json || n != 1 || !cg_doc_is_mapping(fy_document_root(docs[0])))
		r = cg_error_set(err, -EINVAL, "%s: expected one JSON object", source);
	if (r < 0) {
		for (size_t i = 0; i < n; i++)
			fy_document_destroy(docs[i]);
	} else {
		*ret = docs[0];
	}
	free(docs);
	return r;
}

struct fy_node *oci_get(struct fy_node *map, const char *key)
{
	return cg_doc_is_mapping(map) ? fy_node_mapping_lookup_by_string(map, key, -1) : NULL;
}

/* Optional string member: absent or null leaves *ret NULL. */
static int opt_str(struct fy_node *map, const char *key, const char *source, const char *path, char **ret,
		   struct cg_error *err)
{
	struct fy_node *n = oci_get(map, key);
	char sub[160];

	*ret = NULL;
	if (!n || cg_doc_is_null(n))
		return 0;
	snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", key);
	return cg_doc_strdup(n, true, source, sub, ret, err);
}

void oci_desc_release(struct oci_desc *d)
{
	if (!d)
		return;
	free(d->media_type);
	free(d->artifact_type);
	free(d->ref_name);
	free(d->image_name);
	free(d->ref_type);
	free(d->signature);
	free(d->os);
	free(d->arch);
	free(d->variant);
	memset(d, 0, sizeof(*d));
}

void oci_manifest_release(struct oci_manifest *m)
{
	if (!m)
		return;
	free(m->source);
	free(m->media_type);
	free(m->artifact_type);
	oci_desc_release(&m->config);
	oci_desc_release(&m->subject);
	for (size_t i = 0; i < m->n_items; i++)
		oci_desc_release(&m->items[i]);
	free(m->items);
	*m = (struct oci_manifest){ 0 };
}

static int desc_parse(struct fy_node *n, const char *source, const char *path, struct oci_desc *d,
		      struct cg_error *err)
{
	struct fy_node *dig, *ann, *plat;
	char sub[160], buf[80];
	uint64_t size = 0;
	int r;

	memset(d, 0, sizeof(*d));
	snprintf(d->path, sizeof(d->path), "%s", path);
	if (!cg_doc_is_mapping(n))
		return cg_doc_error(err, source, n, path, "expected a descriptor object");
	if ((r = opt_str(n, "mediaType", source, path, &d->media_type, err)) < 0)
		goto fail;
	if (!d->media_type) {
		r = cg_doc_error(err, source, n, path, "descriptor has no mediaType");
		goto fail;
	}
	dig = oci_get(n, "digest");
	snprintf(sub, sizeof(sub), "%s.digest", path);
	if (!cg_doc_is_string(dig, true)) {
		r = cg_doc_error(err, source, dig ? dig : n, sub, "expected a digest string");
		goto fail;
	}
	if (!cg_doc_scalar(dig, buf, sizeof(buf)) || !oci_digest_valid(buf)) {
		r = cg_doc_error(err, source, dig, sub, "digest is not sha256:<64 lowercase hex>");
		goto fail;
	}
	memcpy(d->digest, buf, 72);
	snprintf(sub, sizeof(sub), "%s.size", path);
	if (!oci_get(n, "size")) {
		r = cg_doc_error(err, source, n, sub, "descriptor has no size");
		goto fail;
	}
	if ((r = cg_doc_u64(oci_get(n, "size"), true, source, sub, &size, err)) < 0)
		goto fail;
	d->size = size;
	if ((r = opt_str(n, "artifactType", source, path, &d->artifact_type, err)) < 0)
		goto fail;
	ann = oci_get(n, "annotations");
	snprintf(sub, sizeof(sub), "%s.annotations", path);
	if (ann && !cg_doc_is_null(ann) && !cg_doc_is_mapping(ann)) {
		r = cg_doc_error(err, source, ann, sub, "expected an object of strings");
		goto fail;
	}
	if ((r = opt_str(ann, OCI_ANN_REF_NAME, source, sub, &d->ref_name, err)) < 0 ||
	    (r = opt_str(ann, "io.containerd.image.name", source, sub, &d->image_name, err)) < 0 ||
	    (r = opt_str(ann, "vnd.docker.reference.type", source, sub, &d->ref_type, err)) < 0 ||
	    (r = opt_str(ann, COSIGN_ANN_SIGNATURE, source, sub, &d->signature, err)) < 0)
		goto fail;
	plat = oci_get(n, "platform");
	snprintf(sub, sizeof(sub), "%s.platform", path);
	if ((r = opt_str(plat, "os", source, sub, &d->os, err)) < 0 ||
	    (r = opt_str(plat, "architecture", source, sub, &d->arch, err)) < 0 ||
	    (r = opt_str(plat, "variant", source, sub, &d->variant, err)) < 0)
		goto fail;
	return 0;
fail:
	oci_desc_release(d);
	return r;
}

static bool is_manifest_type(const char *mt)
{
	return mt && (strcmp(mt, OCI_MT_MANIFEST) == 0 || strcmp(mt, DOCKER_MT_MANIFEST) == 0);
}

static bool is_index_type(const char *mt)
{
	return mt && (strcmp(mt, OCI_MT_INDEX) == 0 || strcmp(mt, DOCKER_MT_LIST) == 0);
}

/* Parse a manifest or index document; @expect_index decides which. */
static int manifest_parse(const char *buf, size_t len, const char *source, bool expect_index,
			  const char *expect_mt, struct oci_manifest *m, struct cg_error *err)
{
	struct fy_document *doc = NULL;
	struct fy_node *root, *list, *item, *n;
	void *it = NULL;
	char path[64];
	uint64_t schema = 0;
	size_t i = 0;
	int r;

	*m = (struct oci_manifest){ 0 };
	m->is_index = expect_index;
	if (!(m->source = strdup(source)))
		return cg_error_set(err, -ENOMEM, "out of memory");
	if ((r = oci_json_parse(buf, len, source, &doc, err)) < 0)
		goto fail;
	root = fy_document_root(doc);
	n = oci_get(root, "schemaVersion");
	if (!n) {
		r = cg_doc_error(err, source, root, "", "missing schemaVersion");
		goto fail;
	}
	if ((r = cg_doc_u64(n, true, source, "schemaVersion", &schema, err)) < 0)
		goto fail;
	if (schema != 2) {
		r = cg_doc_error(err, source, n, "schemaVersion", "expected 2, got %llu", (unsigned long long)schema);
		goto fail;
	}
	if ((r = opt_str(root, "mediaType", source, "", &m->media_type, err)) < 0 ||
	    (r = opt_str(root, "artifactType", source, "", &m->artifact_type, err)) < 0)
		goto fail;
	if (m->media_type && expect_mt && strcmp(m->media_type, expect_mt) != 0) {
		r = cg_doc_error(err, source, oci_get(root, "mediaType"), "mediaType",
				 "'%s' differs from the descriptor's '%s'", m->media_type, expect_mt);
		goto fail;
	}
	list = oci_get(root, expect_index ? "manifests" : "layers");
	if (!cg_doc_is_sequence(list) && !(expect_index && !list) && !(!expect_index && cg_doc_is_null(list))) {
		r = cg_doc_error(err, source, list ? list : root, expect_index ? "manifests" : "layers",
				 "expected a list of descriptors");
		goto fail;
	}
	if (cg_doc_is_sequence(list)) {
		m->items = calloc((size_t)fy_node_sequence_item_count(list) + 1, sizeof(*m->items));
		if (!m->items) {
			r = cg_error_set(err, -ENOMEM, "out of memory");
			goto fail;
		}
		while ((item = fy_node_sequence_iterate(list, &it)) != NULL) {
			snprintf(path, sizeof(path), "%s[%zu]", expect_index ? "manifests" : "layers", i);
			if ((r = desc_parse(item, source, path, &m->items[i], err)) < 0)
				goto fail;
			m->n_items = ++i;
		}
	}
	if (!expect_index) {
		n = oci_get(root, "config");
		if (!n) {
			r = cg_doc_error(err, source, root, "config", "image manifest has no config descriptor");
			goto fail;
		}
		if ((r = desc_parse(n, source, "config", &m->config, err)) < 0)
			goto fail;
		m->has_config = true;
	}
	n = oci_get(root, "subject");
	if (n && !cg_doc_is_null(n)) {
		if ((r = desc_parse(n, source, "subject", &m->subject, err)) < 0)
			goto fail;
		m->has_subject = true;
	}
	fy_document_destroy(doc);
	return 0;
fail:
	if (doc)
		fy_document_destroy(doc);
	oci_manifest_release(m);
	return r;
}

int oci_index_load(const char *dir, struct oci_manifest *ret, struct cg_error *err)
{
	_cleanup_free_ char *path = NULL, *buf = NULL;
	size_t len = 0;
	int r;

	if (asprintf(&path, "%s/index.json", dir) < 0)
		return cg_error_set(err, -ENOMEM, "out of memory");
	if ((r = oci_read_file(path, &buf, &len, err)) < 0)
		return r;
	return manifest_parse(buf, len, path, true, NULL, ret, err);
}

int oci_manifest_load(const char *dir, const struct oci_desc *d, struct oci_manifest *ret, struct cg_error *err)
{
	_cleanup_free_ char *buf = NULL, *source = NULL;
	size_t len = 0;
	bool index = is_index_type(d->media_type);
	int r;

	if (!index && !is_manifest_type(d->media_type))
		return cg_error_set(err, -EINVAL, "%s: media type '%s' is not an image manifest or index", d->path,
				    d->media_type);
	if ((r = oci_blob_read(dir, d->digest, d->size, d->path, &buf, &len, err)) < 0)
		return r;
	if (asprintf(&source, "%s/blobs/sha256/%s", dir, d->digest + 7) < 0)
		return cg_error_set(err, -ENOMEM, "out of memory");
	if ((r = manifest_parse(buf, len, source, index, d->media_type, ret, err)) < 0)
		return r;
	memcpy(ret->digest, d->digest, 72);
	return 0;
}

/* ---- the image object --------------------------------------------------- */

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
	struct fy_document *doc = NULL;
	struct fy_node *labels;
	struct fy_node_pair *p;
	void *it = NULL;
	size_t cnt, i = 0;
	int r;

	if ((r = oci_json_parse(buf, len, source, &doc, err)) < 0)
		return r;
	labels = oci_get(oci_get(fy_document_root(doc), "config"), "Labels");
	if (!labels || cg_doc_is_null(labels))
		goto out;
	if (!cg_doc_is_mapping(labels)) {
		r = cg_doc_error(err, source, labels, "config.Labels", "expected an object of strings");
		goto out;
	}
	cnt = (size_t)fy_node_mapping_item_count(labels);
	img->label_keys = calloc(cnt + 1, sizeof(char *));
	img->label_values = calloc(cnt + 1, sizeof(char *));
	if (!img->label_keys || !img->label_values) {
		r = cg_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	while ((p = fy_node_mapping_iterate(labels, &it)) != NULL) {
		struct fy_node *k = fy_node_pair_key(p);
		char path[320], kb[256];
		const char *ks = cg_doc_scalar(k, kb, sizeof(kb));

		snprintf(path, sizeof(path), "config.Labels[\"%s\"]", ks ? ks : "?");
		if ((r = cg_doc_strdup(k, true, source, "config.Labels", &img->label_keys[i], err)) < 0)
			goto out;
		if ((r = cg_doc_strdup(fy_node_pair_value(p), true, source, path, &img->label_values[i], err)) < 0) {
			free(img->label_keys[i]);
			img->label_keys[i] = NULL;
			goto out;
		}
		img->n_labels = ++i;
	}
out:
	fy_document_destroy(doc);
	return r;
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

/* In a (nested) index, the image manifest for this machine. */
static int index_pick(const struct oci_manifest *idx, const struct oci_desc **ret, struct cg_error *err)
{
	const struct oci_desc *only = NULL, *host = NULL;
	const char *arch = host_goarch();
	size_t n = 0, nhost = 0;
	char list[512] = "";

	for (size_t i = 0; i < idx->n_items; i++) {
		const struct oci_desc *d = &idx->items[i];
		size_t l = strlen(list);
		if (!is_manifest_type(d->media_type) && !is_index_type(d->media_type))
			continue;
		if (d->ref_type || d->artifact_type || (d->os && strcmp(d->os, "unknown") == 0))
			continue; /* attestation manifests, artifacts */
		only = d;
		n++;
		if (d->os && strcmp(d->os, "linux") == 0 && d->arch && strcmp(d->arch, arch) == 0) {
			host = d;
			nhost++;
		}
		snprintf(list + l, sizeof(list) - l, "%s%s/%s", l ? ", " : "", d->os ? d->os : "?",
			 d->arch ? d->arch : "?");
	}
	if (n == 1) {
		*ret = only;
		return 0;
	}
	if (nhost == 1) {
		*ret = host;
		return 0;
	}
	if (n == 0)
		return cg_error_set(err, -ENOENT, "%s: index lists no image manifest", idx->source);
	return cg_error_set(err, -EINVAL, "%s: index has %zu platforms (%s) and %s linux/%s", idx->source, n, list,
			    nhost ? "several for" : "none for", arch);
}

/* A closure found for the image: where it came from and its bytes. */
struct closure_found {
	char digest[72];
	char where[200];
};

static int closure_take(struct cg_image *img, struct closure_found *found, const char *dir, const struct oci_desc *d,
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
	if ((r = oci_blob_read(dir, d->digest, d->size, where, &buf, &len, err)) < 0)
		return r;
	img->closure_json = buf;
	img->closure_len = len;
	memcpy(found->digest, d->digest, 72);
	snprintf(found->where, sizeof(found->where), "%s", where);
	return 0;
}

/* The closure held by a referrer artifact manifest. */
static const struct oci_desc *referrer_payload(const struct oci_manifest *m)
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

static int select_top(const char *dir, const struct oci_manifest *index, const char *ref, const struct oci_desc **ret,
		      struct cg_error *err)
{
	const struct oci_desc *sel = NULL;
	char names[600] = "";
	size_t n = 0;
	int r;

	for (size_t i = 0; i < index->n_items; i++) {
		const struct oci_desc *d = &index->items[i];
		size_t l = strlen(names);

		if (!is_manifest_type(d->media_type) && !is_index_type(d->media_type))
			continue;
		if (ref) {
			if (!(d->ref_name && strcmp(d->ref_name, ref) == 0) &&
			    !(d->image_name && ref_matches(d->image_name, ref)))
				continue;
		} else {
			struct oci_manifest m = { 0 };
			bool artifact;
			if (is_cosign_tag(d->ref_name) || d->artifact_type)
				continue;
			if (is_manifest_type(d->media_type)) {
				/* referrers (a subject) and artifacts are not the image */
				if ((r = oci_manifest_load(dir, d, &m, err)) < 0)
					return r;
				artifact = m.has_subject || m.artifact_type ||
					   (strcmp(m.config.media_type, OCI_MT_CONFIG) != 0 &&
					    strcmp(m.config.media_type, DOCKER_MT_CONFIG) != 0);
				oci_manifest_release(&m);
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
				    OCI_ANN_REF_NAME);
	if (n == 0)
		return cg_error_set(err, -ENOENT, "%s: the layout holds no image manifest", index->source);
	return cg_error_set(err, -EINVAL, "%s: %zu images match%s%s%s, name one: %s", index->source, n,
			    ref ? " '" : "", ref ? ref : "", ref ? "'" : "", names);
}

static int layout_version(const char *dir, struct cg_error *err)
{
	_cleanup_free_ char *path = NULL, *buf = NULL;
	struct fy_document *doc = NULL;
	struct fy_node *v;
	char vb[32];
	size_t len;
	int r;

	if (asprintf(&path, "%s/oci-layout", dir) < 0)
		return cg_error_set(err, -ENOMEM, "out of memory");
	if ((r = oci_read_file(path, &buf, &len, err)) < 0)
		return cg_error_prefix(err, "not an OCI image layout: ");
	if ((r = oci_json_parse(buf, len, path, &doc, err)) < 0)
		return r;
	v = oci_get(fy_document_root(doc), "imageLayoutVersion");
	if (!cg_doc_is_string(v, true) || !cg_doc_scalar(v, vb, sizeof(vb)))
		r = cg_doc_error(err, path, v ? v : fy_document_root(doc), "imageLayoutVersion",
				 "expected a version string");
	else if (strncmp(vb, "1.", 2) != 0)
		r = cg_doc_error(err, path, v, "imageLayoutVersion", "unsupported layout version '%s' (expected 1.x)",
				 vb);
	fy_document_destroy(doc);
	return r;
}

static int open_layout(const char *dir, const char *ref, struct cg_image *img, struct cg_error *err)
{
	struct oci_manifest index = { 0 }, top = { 0 }, man = { 0 }, nested = { 0 };
	struct closure_found found;
	const struct oci_desc *sel = NULL, *plat = NULL;
	_cleanup_free_ char *cfg = NULL;
	size_t cfg_len = 0, depth = 0;
	int r;

	memset(&found, 0, sizeof(found));
	if ((r = layout_version(dir, err)) < 0)
		return r;
	if ((r = oci_index_load(dir, &index, err)) < 0)
		return r;
	if ((r = select_top(dir, &index, ref, &sel, err)) < 0)
		goto out;
	snprintf(img->manifest_digest, sizeof(img->manifest_digest), "%s", sel->digest);
	if (sel->ref_name && !(img->ref_name = strdup(sel->ref_name))) {
		r = cg_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	if ((r = oci_manifest_load(dir, sel, &top, err)) < 0)
		goto out;
	/* index -> nested index -> ... -> image manifest (4 levels at most) */
	man = top;
	top = (struct oci_manifest){ 0 };
	while (man.is_index) {
		if (++depth > 4) {
			r = cg_error_set(err, -ELOOP, "%s: indexes nested more than 4 deep", man.source);
			goto out;
		}
		if ((r = index_pick(&man, &plat, err)) < 0 || (r = oci_manifest_load(dir, plat, &nested, err)) < 0)
			goto out;
		oci_manifest_release(&man);
		man = nested;
		nested = (struct oci_manifest){ 0 };
	}
	if (strcmp(man.config.media_type, OCI_MT_CONFIG) != 0 && strcmp(man.config.media_type, DOCKER_MT_CONFIG) != 0) {
		r = cg_error_set(err, -EINVAL, "%s: config: media type '%s' is not an image config (is this an artifact?)",
				 man.source, man.config.media_type);
		goto out;
	}
	memcpy(img->config_digest, man.config.digest, 72);
	if ((r = oci_blob_read(dir, man.config.digest, man.config.size, "image config", &cfg, &cfg_len, err)) < 0)
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
		const struct oci_desc *d = &index.items[i];
		struct oci_manifest ref_m = { 0 };
		const struct oci_desc *payload;
		bool is_closure;
		char where[200];

		if (!is_manifest_type(d->media_type) || strcmp(d->digest, sel->digest) == 0 ||
		    strcmp(d->digest, man.digest) == 0 || is_cosign_tag(d->ref_name))
			continue;
		if (d->artifact_type && strcmp(d->artifact_type, CG_CLOSURE_MEDIA_TYPE) != 0)
			continue;
		if ((r = oci_manifest_load(dir, d, &ref_m, err)) < 0)
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
		oci_manifest_release(&ref_m);
		if (r < 0)
			goto out;
	}
out:
	oci_manifest_release(&index);
	oci_manifest_release(&top);
	oci_manifest_release(&man);
	oci_manifest_release(&nested);
	return r;
}

int cg_image_open_layout(const char *dir, const char *ref, struct cg_image **ret, struct cg_error *err)
{
	struct cg_image *img;
	int r;

	if (!dir || !ret)
		return cg_error_set(err, -EINVAL, "no layout directory given");
	img = calloc(1, sizeof(*img));
	if (!img || !(img->source = strdup(dir))) {
		free(img);
		return cg_error_set(err, -ENOMEM, "out of memory");
	}
	if ((r = open_layout(dir, ref, img, err)) < 0) {
		cg_image_free(img);
		return r;
	}
	*ret = img;
	return 0;
}

/* ---- docker-archive ----------------------------------------------------- */

struct tar_entry {
	char *name;
	off_t offset; /* of the data */
	uint64_t size;
};

struct tar_index {
	struct tar_entry *v;
	size_t n;
};

static void tar_index_release(struct tar_index *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].name);
	free(t->v);
	*t = (struct tar_index){ 0 };
}

/* Octal (NUL/space terminated) or GNU base-256 numeric field. */
static bool tar_num(const unsigned char *f, size_t n, uint64_t *ret)
{
	uint64_t v = 0;
	size_t i = 0;

	if (f[0] & 0x80) {
		if (f[0] != 0x80)
			return false; /* negative or too large */
		for (i = 1; i < n; i++) {
			if (v >> 56)
				return false;
			v = v << 8 | f[i];
		}
		*ret = v;
		return true;
	}
	while (i < n && f[i] == ' ')
		i++;
	for (; i < n && f[i] >= '0' && f[i] <= '7'; i++) {
		if (v >> 60)
			return false;
		v = v * 8 + (f[i] - '0');
	}
	if (i < n && f[i] != '\0' && f[i] != ' ')
		return false;
	*ret = v;
	return true;
}

static int pread_all(int fd, void *buf, size_t n, off_t off)
{
	size_t got = 0;
	while (got < n) {
		ssize_t k = pread(fd, (char *)buf + got, n - got, off + (off_t)got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			return -ENODATA;
		got += (size_t)k;
	}
	return 0;
}

/* "./a//b" -> "a/b"; NULL if it leaves the archive (absolute or "..") */
static char *tar_clean(const char *s, size_t n)
{
	char *out = malloc(n + 1);
	size_t o = 0, i = 0;

	if (!out)
		return NULL;
	if (n && s[0] == '/') {
		free(out);
		return NULL;
	}
	while (i < n) {
		size_t j = i;
		while (j < n && s[j] != '/')
			j++;
		if (j - i == 2 && s[i] == '.' && s[i + 1] == '.') {
			free(out);
			return NULL;
		}
		if (j > i && !(j - i == 1 && s[i] == '.')) {
			if (o)
				out[o++] = '/';
			memcpy(out + o, s + i, j - i);
			o += j - i;
		}
		i = j + 1;
	}
	out[o] = '\0';
	return out;
}

/* Index the regular files of a tar; member names that escape are skipped. */
static int tar_scan(int fd, const char *path, struct tar_index *t, struct cg_error *err)
{
	unsigned char h[512];
	_cleanup_free_ char *longname = NULL;
	off_t off = 0;
	size_t cap = 0, zeros = 0;
	int r;

	for (;;) {
		uint64_t size = 0, sum = 0, want = 0;
		char type;

		r = pread_all(fd, h, 512, off);
		if (r == -ENODATA && zeros == 0 && t->n == 0 && off == 0)
			return cg_error_set(err, -EINVAL, "%s: empty file, not a tar archive", path);
		if (r == -ENODATA)
			break; /* tolerated: archive without the two zero blocks */
		if (r < 0)
			return cg_error_set(err, r, "%s: %s", path, strerror(-r));
		off += 512;
		{
			bool zero = true;
			for (int i = 0; i < 512 && zero; i++)
				zero = h[i] == 0;
			if (zero) {
				if (++zeros == 2)
					break;
				continue;
			}
		}
		zeros = 0;
		for (int i = 0; i < 512; i++)
			sum += (i >= 148 && i < 156) ? ' ' : h[i];
		if (!tar_num(h + 148, 8, &want) || want != sum)
			return cg_error_set(err, -EINVAL, "%s: offset %lld: bad tar header checksum (not a tar archive?)",
					    path, (long long)(off - 512));
		if (!tar_num(h + 124, 12, &size) || size > (uint64_t)INT64_MAX / 2)
			return cg_error_set(err, -EINVAL, "%s: offset %lld: bad size field", path,
					    (long long)(off - 512));
		type = (char)h[156];
		if (type == 'L' || type == 'x') {
			/* GNU long name, or PAX extended header (path=) for the next member */
			_cleanup_free_ char *data = NULL;
			if (size > 1 << 20)
				return cg_error_set(err, -EINVAL, "%s: offset %lld: extended header too large", path,
						    (long long)(off - 512));
			data = malloc(size + 1);
			if (!data)
				return cg_error_set(err, -ENOMEM, "out of memory");
			if ((r = pread_all(fd, data, size, off)) < 0)
				return cg_error_set(err, r, "%s: truncated tar archive", path);
			data[size] = '\0';
			free(longname);
			longname = NULL;
			if (type == 'L') {
				longname = strndup(data, size);
			} else {
				for (size_t p = 0; p < size;) {
					char *end;
					unsigned long rl = strtoul(data + p, &end, 10);
					if (end == data + p || *end != ' ' || rl == 0 || rl > size - p)
						return cg_error_set(err, -EINVAL, "%s: malformed PAX header", path);
					if (strncmp(end + 1, "path=", 5) == 0) {
						char *v = end + 6;
						size_t vl = (size_t)(data + p + rl - 1 - v);
						if (v > data + p + rl - 1)
							return cg_error_set(err, -EINVAL, "%s: malformed PAX header", path);
						free(longname);
						longname = strndup(v, vl);
					}
					p += rl;
				}
			}
		} else if (type == '0' || type == '\0' || type == '7') {
			char nb[256 + 156];
			const char *name;
			size_t nl;
			char *clean;

			if (longname) {
				name = longname;
				nl = strlen(longname);
			} else {
				size_t pl = strnlen((char *)h + 345, 155), bl = strnlen((char *)h, 100);
				bool ustar = memcmp(h + 257, "ustar", 5) == 0;
				nl = 0;
				if (ustar && pl) {
					memcpy(nb, h + 345, pl);
					nb[pl] = '/';
					nl = pl + 1;
				}
				memcpy(nb + nl, h, bl);
				nl += bl;
				nb[nl] = '\0';
				name = nb;
			}
			clean = tar_clean(name, nl);
			if (clean) {
				if (t->n == cap) {
					struct tar_entry *nv;
					if (t->n >= 1u << 20)
						return cg_error_set(err, -E2BIG, "%s: more than 2^20 members", path);
					cap = cap ? cap * 2 : 16;
					nv = realloc(t->v, cap * sizeof(*nv));
					if (!nv) {
						free(clean);
						return cg_error_set(err, -ENOMEM, "out of memory");
					}
					t->v = nv;
				}
				t->v[t->n++] = (struct tar_entry){ clean, off, size };
			}
			free(longname);
			longname = NULL;
		} else {
			free(longname); /* directories, links, devices: not needed */
			longname = NULL;
		}
		off += (off_t)((size + 511) / 512 * 512);
	}
	return 0;
}

static int tar_read(int fd, const char *path, const struct tar_index *t, const char *member, char **ret,
		    size_t *ret_len, struct cg_error *err)
{
	const struct tar_entry *e = NULL;
	char *buf;
	int r;

	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->v[i].name, member) == 0)
			e = &t->v[i]; /* the last one wins, as on extraction */
	if (!e)
		return cg_error_set(err, -ENOENT, "%s: no member '%s' in the archive", path, member);
	if (e->size > CG_BLOB_MAX)
		return cg_error_set(err, -EFBIG, "%s: %s: %llu bytes is more than the %zu MiB capgate reads", path,
				    member, (unsigned long long)e->size, CG_BLOB_MAX >> 20);
	buf = malloc(e->size + 1);
	if (!buf)
		return cg_error_set(err, -ENOMEM, "out of memory");
	if ((r = pread_all(fd, buf, e->size, e->offset)) < 0) {
		free(buf);
		return cg_error_set(err, r == -ENODATA ? -EINVAL : r, "%s: %s: truncated archive", path, member);
	}
	buf[e->size] = '\0';
	*ret = buf;
	*ret_len = e->size;
	return 0;
}

static int open_archive(const char *path, const char *ref, struct cg_image *img, struct cg_error *err)
{
	struct tar_index t = { 0 };
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
	if ((r = tar_scan(fd, path, &t, err)) < 0)
		goto out;
	if ((r = tar_read(fd, path, &t, "manifest.json", &mbuf, &mlen, err)) < 0)
		goto out;
	if (asprintf(&msrc, "%s:manifest.json", path) < 0) {
		r = cg_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	{
		struct fy_document **docs = NULL;
		size_t n = 0;
		bool json = false;
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
		if ((r = cg_doc_strv(oci_get(item, "RepoTags"), true, msrc, p, &tags, &ntags, err)) < 0)
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
		cfgn = oci_get(sel, "Config");
		if (!cfgn) {
			r = cg_doc_error(err, msrc, sel, "Config", "image has no Config");
			goto out;
		}
		if ((r = cg_doc_strdup(cfgn, true, msrc, "Config", &cfg, err)) < 0)
			goto out;
	}
	{
		char *clean = tar_clean(cfg, strlen(cfg));
		if (!clean || !*clean) {
			free(clean);
			r = cg_doc_error(err, msrc, cfgn, "Config", "path '%s' leaves the archive", cfg);
			goto out;
		}
		free(cfg);
		cfg = clean;
	}
	if ((r = tar_read(fd, path, &t, cfg, &cbuf, &clen, err)) < 0)
		goto out;
	if (oci_sha256(cbuf, clen, img->config_digest) < 0) {
		r = cg_error_set(err, -EIO, "sha-256 failed");
		goto out;
	}
	/* The config's name is its digest: "blobs/sha256/<hex>" or "<hex>.json". */
	{
		const char *base = strrchr(cfg, '/') ? strrchr(cfg, '/') + 1 : cfg;
		size_t bl = strcspn(base, ".");
		snprintf(hex, sizeof(hex), "sha256:%.*s", (int)(bl < 64 ? bl : 64), base);
		if (bl == 64 && oci_digest_valid(hex) && strcmp(hex, img->config_digest) != 0) {
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
	img->manifest_digest[0] = '\0'; /* docker-archive has no manifest digest */
	img->ref_name = TAKE_PTR(sel_tag);
out:
	if (doc)
		fy_document_destroy(doc);
	tar_index_release(&t);
	return r;
}

int cg_image_open_archive(const char *path, const char *ref, struct cg_image **ret, struct cg_error *err)
{
	struct cg_image *img;
	int r;

	if (!path || !ret)
		return cg_error_set(err, -EINVAL, "no archive given");
	img = calloc(1, sizeof(*img));
	if (!img || !(img->source = strdup(path))) {
		free(img);
		return cg_error_set(err, -ENOMEM, "out of memory");
	}
	if ((r = open_archive(path, ref, img, err)) < 0) {
		cg_image_free(img);
		return r;
	}
	*ret = img;
	return 0;
}
