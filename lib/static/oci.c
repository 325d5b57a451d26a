// SPDX-License-Identifier: Apache-2.0
/*
 * The OCI image layout as documents: oci-layout (imageLayoutVersion 1.x),
 * index.json, manifests and indexes (OCI and Docker schema 2), image configs,
 * and blobs/sha256/<hex>.
 *
 * Every blob read is checked: its size and SHA-256 against the descriptor
 * that named it, before a byte of it is parsed. Blobs are found by digest
 * only, so no name in a layout reaches the file system, and none is larger
 * than CG_BLOB_MAX. Only sha256 digests are accepted: a layout that uses
 * another algorithm is refused rather than trusted unchecked.
 *
 * Which manifest is "the image" is not decided here (image.c does that);
 * this module only reads what a descriptor points at.
 */
#include "static/oci.h"

#include <capgate/file.h>

#include <errno.h>
#include <fcntl.h>
#include "core/crypto.h"
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ---- digests and blobs -------------------------------------------------- */

bool cg_oci_digest_valid(const char *d)
{
	if (!d || strncmp(d, "sha256:", 7) != 0 || strlen(d) != 71)
		return false;
	for (int i = 7; i < 71; i++)
		if (!((d[i] >= '0' && d[i] <= '9') || (d[i] >= 'a' && d[i] <= 'f')))
			return false;
	return true;
}

int cg_oci_sha256(const void *p, size_t n, char out[72], struct cg_error *err)
{
	unsigned char md[32];
	int r;

	if ((r = cg_crypto_sha256(p, n, md, err)) < 0)
		return r;
	memcpy(out, "sha256:", 7);
	for (unsigned int i = 0; i < 32; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
	return 0;
}

int cg_oci_blob_read(const char *dir, const char *digest, uint64_t size, const char *what, char **ret,
		     size_t *ret_len, struct cg_error *err)
{
	_cleanup_free_ char *path = NULL, *buf = NULL;
	char got[72];
	size_t len = 0;
	int r;

	if (!cg_oci_digest_valid(digest))
		return cg_error_set(err, -EINVAL, "%s: digest '%s' is not sha256:<64 hex>", what, digest);
	if (size > CG_BLOB_MAX)
		return cg_error_set(err, -EFBIG, "%s: blob %s of %llu bytes is more than the %zu MiB capgate reads",
				    what, digest, (unsigned long long)size, CG_BLOB_MAX >> 20);
	if (asprintf(&path, "%s/blobs/sha256/%s", dir, digest + 7) < 0)
		return cg_error_set(err, -ENOMEM, "out of memory");
	if ((r = cg_read_file_max(path, CG_BLOB_MAX, CG_READ_REGULAR, &buf, &len, err)) < 0)
		return cg_error_prefix(err, "%s: ", what);
	if (len != size)
		return cg_error_set(err, -EBADMSG, "%s: blob %s has %zu bytes, its descriptor says %llu", what, path,
				    len, (unsigned long long)size);
	if ((r = cg_oci_sha256(buf, len, got, err)) < 0)
		return r;
	if (strcmp(got, digest) != 0)
		return cg_error_set(err, -EBADMSG, "%s: blob %s does not match its digest (content hashes to %s)",
				    what, path, got);
	*ret = TAKE_PTR(buf);
	if (ret_len)
		*ret_len = len;
	return 0;
}

int cg_oci_blob_verify(const char *dir, const struct cg_oci_desc *d, struct cg_error *err)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int fd = -1;
	unsigned char md[EVP_MAX_MD_SIZE], buf[65536];
	unsigned int mdlen = 0;
	uint64_t total = 0;
	char got[72];
	const struct cg_crypto *cr;
	EVP_MD_CTX *ctx;
	ssize_t n;
	int r = 0;

	if (!cg_oci_digest_valid(d->digest))
		return cg_error_set(err, -EINVAL, "%s: digest '%s' is not sha256:<64 hex>", d->path, d->digest);
	if (asprintf(&path, "%s/blobs/sha256/%s", dir, d->digest + 7) < 0)
		return cg_error_set(err, -ENOMEM, "out of memory");
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return cg_error_set(err, -errno, "%s: blob %s: %m", d->path, path);
	if (!(cr = cg_crypto(err)))
		return -ELIBACC;
	if (!(ctx = cr->EVP_MD_CTX_new()) || cr->EVP_DigestInit_ex(ctx, cr->EVP_sha256(), NULL) != 1) {
		cr->EVP_MD_CTX_free(ctx);
		return cg_error_set(err, -ENOMEM, "out of memory");
	}
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = cg_error_set(err, -errno, "%s: %s: %m", d->path, path);
			break;
		}
		total += (uint64_t)n;
		if (total > d->size)
			break; /* longer than its descriptor says: reported below */
		cr->EVP_DigestUpdate(ctx, buf, (size_t)n);
	}
	if (r == 0 && cr->EVP_DigestFinal_ex(ctx, md, &mdlen) != 1)
		r = cg_error_set(err, -EIO, "sha-256 failed");
	cr->EVP_MD_CTX_free(ctx);
	if (r < 0)
		return r;
	if (total != d->size)
		return cg_error_set(err, -EBADMSG, "%s: blob %s has %s%llu bytes, its descriptor says %llu", d->path,
				    path, total > d->size ? "more than " : "", (unsigned long long)(total > d->size ? d->size : total),
				    (unsigned long long)d->size);
	memcpy(got, "sha256:", 7);
	for (unsigned int i = 0; i < 32; i++)
		snprintf(got + 7 + 2 * i, 3, "%02x", md[i]);
	if (strcmp(got, d->digest) != 0)
		return cg_error_set(err, -EBADMSG, "%s: blob %s does not match its digest (content hashes to %s)", d->path,
				    path, got);
	return 0;
}

char cg_oci_json_first(const char *buf, size_t len)
{
	size_t i = 0;

	while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
		i++;
	return i < len ? buf[i] : '\0';
}

int cg_oci_json_parse(const char *buf, size_t len, const char *source, struct fy_document **ret,
		      struct cg_error *err)
{
	struct fy_document **docs = NULL;
	size_t n = 0;
	bool json = false;
	char first = cg_oci_json_first(buf, len);
	int r;

	/* Image documents are JSON: anything else is refused before the YAML
	 * parser sees it (libfyaml 0.7.12 crashes on some block YAML, e.g.
	 * "? ::\t?", and nothing here needs YAML). */
	if (first && first != '{')
		return cg_error_set(err, -EINVAL, "%s: expected one JSON object", source);
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

struct fy_node *cg_oci_get(struct fy_node *map, const char *key)
{
	return cg_doc_is_mapping(map) ? fy_node_mapping_lookup_by_string(map, key, -1) : NULL;
}

/* Optional string member: absent or null leaves *ret NULL. */
static int opt_str(struct fy_node *map, const char *key, const char *source, const char *path, char **ret,
		   struct cg_error *err)
{
	struct fy_node *n = cg_oci_get(map, key);
	char sub[160];

	*ret = NULL;
	if (!n || cg_doc_is_null(n))
		return 0;
	snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", key);
	return cg_doc_strdup(n, true, source, sub, ret, err);
}

void cg_oci_desc_release(struct cg_oci_desc *d)
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

void cg_oci_manifest_release(struct cg_oci_manifest *m)
{
	if (!m)
		return;
	free(m->source);
	free(m->media_type);
	free(m->artifact_type);
	cg_oci_desc_release(&m->config);
	cg_oci_desc_release(&m->subject);
	for (size_t i = 0; i < m->n_items; i++)
		cg_oci_desc_release(&m->items[i]);
	free(m->items);
	*m = (struct cg_oci_manifest){ 0 };
}

static int desc_parse(struct fy_node *n, const char *source, const char *path, struct cg_oci_desc *d,
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
	dig = cg_oci_get(n, "digest");
	snprintf(sub, sizeof(sub), "%s.digest", path);
	if (!cg_doc_is_string(dig, true)) {
		r = cg_doc_error(err, source, dig ? dig : n, sub, "expected a digest string");
		goto fail;
	}
	if (!cg_doc_scalar(dig, buf, sizeof(buf)) || !cg_oci_digest_valid(buf)) {
		r = cg_doc_error(err, source, dig, sub, "digest is not sha256:<64 lowercase hex>");
		goto fail;
	}
	memcpy(d->digest, buf, 72);
	snprintf(sub, sizeof(sub), "%s.size", path);
	if (!cg_oci_get(n, "size")) {
		r = cg_doc_error(err, source, n, sub, "descriptor has no size");
		goto fail;
	}
	if ((r = cg_doc_u64(cg_oci_get(n, "size"), true, source, sub, &size, err)) < 0)
		goto fail;
	d->size = size;
	if ((r = opt_str(n, "artifactType", source, path, &d->artifact_type, err)) < 0)
		goto fail;
	ann = cg_oci_get(n, "annotations");
	snprintf(sub, sizeof(sub), "%s.annotations", path);
	if (ann && !cg_doc_is_null(ann) && !cg_doc_is_mapping(ann)) {
		r = cg_doc_error(err, source, ann, sub, "expected an object of strings");
		goto fail;
	}
	if ((r = opt_str(ann, CG_OCI_ANN_REF_NAME, source, sub, &d->ref_name, err)) < 0 ||
	    (r = opt_str(ann, "io.containerd.image.name", source, sub, &d->image_name, err)) < 0 ||
	    (r = opt_str(ann, "vnd.docker.reference.type", source, sub, &d->ref_type, err)) < 0 ||
	    (r = opt_str(ann, CG_COSIGN_ANN_SIGNATURE, source, sub, &d->signature, err)) < 0)
		goto fail;
	plat = cg_oci_get(n, "platform");
	snprintf(sub, sizeof(sub), "%s.platform", path);
	if ((r = opt_str(plat, "os", source, sub, &d->os, err)) < 0 ||
	    (r = opt_str(plat, "architecture", source, sub, &d->arch, err)) < 0 ||
	    (r = opt_str(plat, "variant", source, sub, &d->variant, err)) < 0)
		goto fail;
	return 0;
fail:
	cg_oci_desc_release(d);
	return r;
}

bool cg_oci_is_manifest_type(const char *mt)
{
	return mt && (strcmp(mt, CG_OCI_MT_MANIFEST) == 0 || strcmp(mt, CG_DOCKER_MT_MANIFEST) == 0);
}

bool cg_oci_is_index_type(const char *mt)
{
	return mt && (strcmp(mt, CG_OCI_MT_INDEX) == 0 || strcmp(mt, CG_DOCKER_MT_LIST) == 0);
}

int cg_oci_manifest_parse(const char *buf, size_t len, const char *source, bool expect_index,
			  const char *expect_mt, struct cg_oci_manifest *m, struct cg_error *err)
{
	struct fy_document *doc = NULL;
	struct fy_node *root, *list, *item, *n;
	void *it = NULL;
	char path[64];
	uint64_t schema = 0;
	size_t i = 0;
	int r;

	*m = (struct cg_oci_manifest){ 0 };
	m->is_index = expect_index;
	if (!(m->source = strdup(source)))
		return cg_error_set(err, -ENOMEM, "out of memory");
	if ((r = cg_oci_json_parse(buf, len, source, &doc, err)) < 0)
		goto fail;
	root = fy_document_root(doc);
	n = cg_oci_get(root, "schemaVersion");
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
		r = cg_doc_error(err, source, cg_oci_get(root, "mediaType"), "mediaType",
				 "'%s' differs from the descriptor's '%s'", m->media_type, expect_mt);
		goto fail;
	}
	list = cg_oci_get(root, expect_index ? "manifests" : "layers");
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
		n = cg_oci_get(root, "config");
		if (!n) {
			r = cg_doc_error(err, source, root, "config", "image manifest has no config descriptor");
			goto fail;
		}
		if ((r = desc_parse(n, source, "config", &m->config, err)) < 0)
			goto fail;
		m->has_config = true;
	}
	n = cg_oci_get(root, "subject");
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
	cg_oci_manifest_release(m);
	return r;
}

int cg_oci_index_load(const char *dir, struct cg_oci_manifest *ret, struct cg_error *err)
{
	_cleanup_free_ char *path = NULL, *buf = NULL;
	size_t len = 0;
	int r;

	if (asprintf(&path, "%s/index.json", dir) < 0)
		return cg_error_set(err, -ENOMEM, "out of memory");
	if ((r = cg_read_file_max(path, CG_BLOB_MAX, CG_READ_REGULAR, &buf, &len, err)) < 0)
		return r;
	return cg_oci_manifest_parse(buf, len, path, true, NULL, ret, err);
}

int cg_oci_manifest_load(const char *dir, const struct cg_oci_desc *d, struct cg_oci_manifest *ret, struct cg_error *err)
{
	_cleanup_free_ char *buf = NULL, *source = NULL;
	size_t len = 0;
	bool index = cg_oci_is_index_type(d->media_type);
	int r;

	if (!index && !cg_oci_is_manifest_type(d->media_type))
		return cg_error_set(err, -EINVAL, "%s: media type '%s' is not an image manifest or index", d->path,
				    d->media_type);
	if ((r = cg_oci_blob_read(dir, d->digest, d->size, d->path, &buf, &len, err)) < 0)
		return r;
	if (asprintf(&source, "%s/blobs/sha256/%s", dir, d->digest + 7) < 0)
		return cg_error_set(err, -ENOMEM, "out of memory");
	if ((r = cg_oci_manifest_parse(buf, len, source, index, d->media_type, ret, err)) < 0)
		return r;
	memcpy(ret->digest, d->digest, 72);
	return 0;
}

int cg_oci_layout_check(const char *dir, struct cg_error *err)
{
	_cleanup_free_ char *path = NULL, *buf = NULL;
	struct fy_document *doc = NULL;
	struct fy_node *v;
	char vb[32];
	size_t len;
	int r;

	if (asprintf(&path, "%s/oci-layout", dir) < 0)
		return cg_error_set(err, -ENOMEM, "out of memory");
	if ((r = cg_read_file_max(path, CG_BLOB_MAX, CG_READ_REGULAR, &buf, &len, err)) < 0)
		return cg_error_prefix(err, "not an OCI image layout: ");
	if ((r = cg_oci_json_parse(buf, len, path, &doc, err)) < 0)
		return r;
	v = cg_oci_get(fy_document_root(doc), "imageLayoutVersion");
	if (!cg_doc_is_string(v, true) || !cg_doc_scalar(v, vb, sizeof(vb)))
		r = cg_doc_error(err, path, v ? v : fy_document_root(doc), "imageLayoutVersion",
				 "expected a version string");
	else if (strncmp(vb, "1.", 2) != 0)
		r = cg_doc_error(err, path, v, "imageLayoutVersion", "unsupported layout version '%s' (expected 1.x)",
				 vb);
	fy_document_destroy(doc);
	return r;
}

/* ---- image config ------------------------------------------------------- */

int cg_oci_config_labels(const char *buf, size_t len, const char *source, char ***ret_keys,
			 char ***ret_values, size_t *ret_n, struct cg_error *err)
{
	struct fy_document *doc = NULL;
	struct fy_node *labels;
	struct fy_node_pair *p;
	char **keys = NULL, **values = NULL;
	void *it = NULL;
	size_t cnt, i = 0;
	int r;

	if ((r = cg_oci_json_parse(buf, len, source, &doc, err)) < 0)
		return r;
	labels = cg_oci_get(cg_oci_get(fy_document_root(doc), "config"), "Labels");
	if (!labels || cg_doc_is_null(labels))
		goto out;
	if (!cg_doc_is_mapping(labels)) {
		r = cg_doc_error(err, source, labels, "config.Labels", "expected an object of strings");
		goto out;
	}
	cnt = (size_t)fy_node_mapping_item_count(labels);
	keys = calloc(cnt + 1, sizeof(char *));
	values = calloc(cnt + 1, sizeof(char *));
	if (!keys || !values) {
		r = cg_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	while ((p = fy_node_mapping_iterate(labels, &it)) != NULL) {
		struct fy_node *k = fy_node_pair_key(p);
		char path[320], kb[256];
		const char *ks = cg_doc_scalar(k, kb, sizeof(kb));

		snprintf(path, sizeof(path), "config.Labels[\"%s\"]", ks ? ks : "?");
		if ((r = cg_doc_strdup(k, true, source, "config.Labels", &keys[i], err)) < 0)
			goto out;
		if ((r = cg_doc_strdup(fy_node_pair_value(p), true, source, path, &values[i], err)) < 0) {
			free(keys[i]);
			keys[i] = NULL;
			goto out;
		}
		i++;
	}
out:
	fy_document_destroy(doc);
	if (r < 0) {
		cg_strv_free(keys, i);
		cg_strv_free(values, i);
		return r;
	}
	*ret_keys = keys;
	*ret_values = values;
	*ret_n = i;
	return 0;
}
