// SPDX-License-Identifier: Apache-2.0
/*
 * The image build step: attach a closure to an image of an OCI layout and
 * sign the image offline, so that the static gate (check) can verify what
 * the runtime gate will enforce.
 *
 * Attach changes the image: the config gains the labels io.capgate.closure.
 * digest and io.capgate.syscalls, so the config, the image manifest and
 * every index above it get new digests. The closure itself is a referrer
 * artifact (artifactType application/vnd.capgate.closure.v1+json, its one
 * layer the canonical closure JSON) whose subject is the new image; it is
 * never a layer of the image, which runtimes would try to unpack.
 *
 * Documents are rewritten, never rebuilt: every member the layout's writer
 * put there (annotations, history, platform, fields capgate does not know)
 * is copied through, only the descriptors and labels that must change are
 * replaced. Which image a reference names is decided by the same code the
 * reader uses (image_internal.h), so attach, sign, check and run agree.
 *
 * Atomic: blobs are content-addressed and written first (temp file and
 * rename, so a blob is whole or absent); index.json is replaced last, in one
 * rename. An interrupted attach or sign leaves index.json -- the layout as a
 * reader sees it -- as it was, at worst with unreferenced blobs beside it.
 *
 * Sign writes cosign's "simple signing" format: the payload
 *   {"critical":{"identity":{"docker-reference":REPO},
 *    "image":{"docker-manifest-digest":DIGEST},
 *    "type":"cosign container image signature"},"optional":null}
 * signed with ECDSA P-256 over SHA-256 (ASN.1 DER, base64 in the layer
 * annotation dev.cosignproject.cosign/signature), in a manifest tagged
 * sha256-<hex>.sig. A second signature of the same image is added as a
 * further layer of that manifest, as cosign does.
 */
#include <capgate/file.h>
#include <capgate/image.h>

#include <errno.h>
#include "core/crypto.h"
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/json.h"
#include "static/image_internal.h"
#include "static/oci.h"
#include "static/sign.h"

#define EMPTY_MT "application/vnd.oci.empty.v1+json"
#define MAX_LEVELS 5

/* ---- blobs and documents ------------------------------------------------ */

/* Store @len bytes as a blob; its digest into @digest. */
static int blob_put(const char *dir, const void *data, size_t len, char digest[72], struct cg_error *err)
{
	_cleanup_free_ char *path = NULL;
	int r;

	if ((r = cg_oci_sha256(data, len, digest, err)) < 0)
		return r;
	if (asprintf(&path, "%s/blobs/sha256", dir) < 0)
		return cg_error_set(err, -ENOMEM, "out of memory");
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return cg_error_set(err, -errno, "%s: %m", path);
	free(path);
	if (asprintf(&path, "%s/blobs/sha256/%s", dir, digest + 7) < 0)
		return cg_error_set(err, -ENOMEM, "out of memory");
	if ((r = cg_write_file_atomic(path, data, len, 0644, err)) < 0)
		return r;
	return 0;
}

static int json_done(struct cg_json *j, struct cg_strbuf *sb, const char *what, struct cg_error *err)
{
	int r = cg_json_finish(j);
	if (r < 0) {
		cg_strbuf_release(sb);
		return cg_error_set(err, r, r == -ENOMEM ? "out of memory" : "%s: cannot write the document", what);
	}
	return 0;
}

static bool key_in(const char *k, const char *const *skip)
{
	for (; skip && *skip; skip++)
		if (strcmp(k, *skip) == 0)
			return true;
	return false;
}

/* A descriptor with its digest and size replaced, every other member kept. */
static int desc_replaced(struct cg_json *j, struct fy_node *desc, const char *digest, uint64_t size,
			 const char *source, struct cg_error *err)
{
	struct fy_node_pair *p;
	void *it = NULL;
	char kb[64];
	int r;

	cg_json_obj_open(j);
	while ((p = fy_node_mapping_iterate(desc, &it)) != NULL) {
		const char *k = cg_doc_key(p, kb, sizeof(kb));
		if (k && strcmp(k, "digest") == 0)
			cg_json_kv_str(j, "digest", digest);
		else if (k && strcmp(k, "size") == 0)
			cg_json_kv_uint(j, "size", size);
		else if ((r = cg_doc_json_pair(p, j, source, err)) < 0)
			return r;
	}
	cg_json_obj_close(j);
	return 0;
}

/* A new descriptor; @ref_name and @artifact_type may be NULL. */
static void desc_new(struct cg_json *j, const char *mt, const char *digest, size_t size, const char *artifact_type,
		     const char *ref_name)
{
	cg_json_obj_open(j);
	cg_json_kv_str(j, "mediaType", mt);
	cg_json_kv_str(j, "digest", digest);
	cg_json_kv_uint(j, "size", size);
	if (artifact_type)
		cg_json_kv_str(j, "artifactType", artifact_type);
	if (ref_name) {
		cg_json_key(j, "annotations");
		cg_json_obj_open(j);
		cg_json_kv_str(j, "org.opencontainers.image.ref.name", ref_name);
		cg_json_obj_close(j);
	}
	cg_json_obj_close(j);
}

/* What to change in an index (index.json or a nested index). */
struct index_edit {
	size_t replace;     /* the entry whose digest and size change, SIZE_MAX = none */
	const char *digest; /* its new digest and size */
	uint64_t size;
	size_t drop;           /* an entry left out (replaced by @append), SIZE_MAX = none */
	const char *append_mt; /* a new entry at the end, NULL = none */
	const char *append_digest;
	size_t append_size;
	const char *append_artifact_type, *append_ref_name;
};

static int index_rewrite(const char *buf, size_t len, const char *source, const struct index_edit *e,
			 struct cg_strbuf *out, struct cg_error *err)
{
	struct fy_document *doc = NULL;
	struct fy_node_pair *p;
	struct cg_json j;
	void *it = NULL;
	bool seen = false;
	char kb[64];
	int r = 0;

	if ((r = cg_oci_json_parse(buf, len, source, &doc, err)) < 0)
		return r;
	cg_strbuf_init(out);
	cg_json_init(&j, out, 0);
	cg_json_obj_open(&j);
	while (r == 0 && (p = fy_node_mapping_iterate(fy_document_root(doc), &it)) != NULL) {
		const char *k = cg_doc_key(p, kb, sizeof(kb));
		struct fy_node *list, *item;
		void *lit = NULL;
		size_t i = 0;

		if (!k || strcmp(k, "manifests") != 0) {
			r = cg_doc_json_pair(p, &j, source, err);
			continue;
		}
		seen = true;
		list = fy_node_pair_value(p);
		cg_json_key(&j, "manifests");
		cg_json_arr_open(&j);
		while (r == 0 && cg_doc_is_sequence(list) && (item = fy_node_sequence_iterate(list, &lit)) != NULL) {
			if (i == e->replace)
				r = desc_replaced(&j, item, e->digest, e->size, source, err);
			else if (i != e->drop)
				r = cg_doc_json(item, &j, CG_JSON_MAX_DEPTH - 4, source, "manifests", err);
			i++;
		}
		if (e->append_mt)
			desc_new(&j, e->append_mt, e->append_digest, e->append_size, e->append_artifact_type,
				 e->append_ref_name);
		cg_json_arr_close(&j);
	}
	if (r == 0 && !seen) {
		cg_json_key(&j, "manifests");
		cg_json_arr_open(&j);
		if (e->append_mt)
			desc_new(&j, e->append_mt, e->append_digest, e->append_size, e->append_artifact_type,
				 e->append_ref_name);
		cg_json_arr_close(&j);
	}
	cg_json_obj_close(&j);
	fy_document_destroy(doc);
	if (r < 0) {
		cg_strbuf_release(out);
		return r;
	}
	return json_done(&j, out, source, err);
}

/* An image manifest with its config descriptor replaced. */
static int manifest_rewrite(const char *buf, size_t len, const char *source, const char *cfg_digest,
			    uint64_t cfg_size, struct cg_strbuf *out, struct cg_error *err)
{
	struct fy_document *doc = NULL;
	struct fy_node_pair *p;
	struct cg_json j;
	void *it = NULL;
	char kb[64];
	int r = 0;

	if ((r = cg_oci_json_parse(buf, len, source, &doc, err)) < 0)
		return r;
	cg_strbuf_init(out);
	cg_json_init(&j, out, 0);
	cg_json_obj_open(&j);
	while (r == 0 && (p = fy_node_mapping_iterate(fy_document_root(doc), &it)) != NULL) {
		const char *k = cg_doc_key(p, kb, sizeof(kb));
		if (k && strcmp(k, "config") == 0) {
			cg_json_key(&j, "config");
			r = desc_replaced(&j, fy_node_pair_value(p), cfg_digest, cfg_size, source, err);
		} else {
			r = cg_doc_json_pair(p, &j, source, err);
		}
	}
	cg_json_obj_close(&j);
	fy_document_destroy(doc);
	if (r < 0) {
		cg_strbuf_release(out);
		return r;
	}
	return json_done(&j, out, source, err);
}

/* config.Labels of an image config with capgate's two labels set. */
static void labels_write(struct cg_json *j, struct fy_node *labels, const char *digest, const char *syscalls,
			 const char *source, int *r, struct cg_error *err)
{
	static const char *const ours[] = { CG_LABEL_CLOSURE_DIGEST, CG_LABEL_SYSCALLS, NULL };
	struct fy_node_pair *p;
	void *it = NULL;
	char kb[1024];

	cg_json_key(j, "Labels");
	cg_json_obj_open(j);
	while (*r == 0 && cg_doc_is_mapping(labels) && (p = fy_node_mapping_iterate(labels, &it)) != NULL) {
		const char *k = cg_doc_key(p, kb, sizeof(kb));
		if (!k || !key_in(k, ours))
			*r = cg_doc_json_pair(p, j, source, err);
	}
	cg_json_kv_str(j, CG_LABEL_CLOSURE_DIGEST, digest);
	cg_json_kv_str(j, CG_LABEL_SYSCALLS, syscalls);
	cg_json_obj_close(j);
}

static int config_rewrite(const char *buf, size_t len, const char *source, const char *digest, const char *syscalls,
			  struct cg_strbuf *out, struct cg_error *err)
{
	struct fy_document *doc = NULL;
	struct fy_node_pair *p, *q;
	struct cg_json j;
	void *it = NULL;
	bool seen = false;
	char kb[64];
	int r = 0;

	if ((r = cg_oci_json_parse(buf, len, source, &doc, err)) < 0)
		return r;
	cg_strbuf_init(out);
	cg_json_init(&j, out, 0);
	cg_json_obj_open(&j);
	while (r == 0 && (p = fy_node_mapping_iterate(fy_document_root(doc), &it)) != NULL) {
		const char *k = cg_doc_key(p, kb, sizeof(kb));
		struct fy_node *cfg = fy_node_pair_value(p);
		void *cit = NULL;
		bool labels = false;

		if (!k || strcmp(k, "config") != 0 || !(cg_doc_is_mapping(cfg) || cg_doc_is_null(cfg))) {
			r = cg_doc_json_pair(p, &j, source, err);
			continue;
		}
		seen = true;
		cg_json_key(&j, "config");
		cg_json_obj_open(&j);
		while (r == 0 && cg_doc_is_mapping(cfg) && (q = fy_node_mapping_iterate(cfg, &cit)) != NULL) {
			const char *ck = cg_doc_key(q, kb, sizeof(kb));
			if (ck && strcmp(ck, "Labels") == 0) {
				labels = true;
				labels_write(&j, fy_node_pair_value(q), digest, syscalls, source, &r, err);
			} else {
				r = cg_doc_json_pair(q, &j, source, err);
			}
		}
		if (!labels)
			labels_write(&j, NULL, digest, syscalls, source, &r, err);
		cg_json_obj_close(&j);
	}
	if (r == 0 && !seen) {
		cg_json_key(&j, "config");
		cg_json_obj_open(&j);
		labels_write(&j, NULL, digest, syscalls, source, &r, err);
		cg_json_obj_close(&j);
	}
	cg_json_obj_close(&j);
	fy_document_destroy(doc);
	if (r < 0) {
		cg_strbuf_release(out);
		return r;
	}
	return json_done(&j, out, source, err);
}

/* ---- the chain from index.json to the image manifest -------------------- */

struct level {
	char *buf; /* the document as stored */
	size_t len;
	struct cg_oci_manifest m;
	size_t pick; /* for an index: the entry that leads to the image */
};

struct chain {
	char *index_buf; /* index.json */
	size_t index_len;
	struct cg_oci_manifest index;
	size_t top; /* the entry of index.json the reference selected */
	struct level lv[MAX_LEVELS];
	size_t n;
};

static void chain_release(struct chain *c)
{
	free(c->index_buf);
	cg_oci_manifest_release(&c->index);
	for (size_t i = 0; i < c->n; i++) {
		free(c->lv[i].buf);
		cg_oci_manifest_release(&c->lv[i].m);
	}
	*c = (struct chain){ 0 };
}

static int level_load(const char *dir, const struct cg_oci_desc *d, struct level *lv, struct cg_error *err)
{
	_cleanup_free_ char *source = NULL;
	bool index = cg_oci_is_index_type(d->media_type);
	int r;

	if (!index && !cg_oci_is_manifest_type(d->media_type))
		return cg_error_set(err, -EINVAL, "%s: media type '%s' is not an image manifest or index", d->path,
				    d->media_type);
	if ((r = cg_oci_blob_read(dir, d->digest, d->size, d->path, &lv->buf, &lv->len, err)) < 0)
		return r;
	if (asprintf(&source, "%s/blobs/sha256/%s", dir, d->digest + 7) < 0)
		return cg_error_set(err, -ENOMEM, "out of memory");
	if ((r = cg_oci_manifest_parse(lv->buf, lv->len, source, index, d->media_type, &lv->m, err)) < 0)
		return r;
	memcpy(lv->m.digest, d->digest, 72);
	return 0;
}

/* index.json, as stored and parsed. */
static int index_load(const char *dir, struct chain *c, struct cg_error *err)
{
	_cleanup_free_ char *path = NULL;
	int r;

	if ((r = cg_oci_layout_check(dir, err)) < 0)
		return r;
	if (asprintf(&path, "%s/index.json", dir) < 0)
		return cg_error_set(err, -ENOMEM, "out of memory");
	if ((r = cg_read_file_max(path, CG_BLOB_MAX, CG_READ_REGULAR, &c->index_buf, &c->index_len, err)) < 0)
		return r;
	return cg_oci_manifest_parse(c->index_buf, c->index_len, path, true, NULL, &c->index, err);
}

static int chain_load(const char *dir, const char *ref, struct chain *c, struct cg_error *err)
{
	const struct cg_oci_desc *sel = NULL, *d;
	int r;

	if ((r = index_load(dir, c, err)) < 0)
		return r;
	if ((r = cg_image_select_top(dir, &c->index, ref, &sel, err)) < 0) {
		if (r == -ENOENT && ref && strstr(ref, "sha256:"))
			cg_error_prefix(err, "the image must be named by its index.json entry (a name or its "
					     "top-level digest): ");
		return r;
	}
	c->top = (size_t)(sel - c->index.items);
	d = sel;
	for (;;) {
		struct level *lv;
		if (c->n == MAX_LEVELS)
			return cg_error_set(err, -ELOOP, "%s: indexes nested more than %d deep", c->index.source,
					    MAX_LEVELS - 1);
		lv = &c->lv[c->n++];
		if ((r = level_load(dir, d, lv, err)) < 0)
			return r;
		if (!lv->m.is_index)
			break;
		if ((r = cg_image_index_pick(&lv->m, NULL, &d, err)) < 0)
			return r;
		lv->pick = (size_t)(d - lv->m.items);
	}
	return 0;
}

/* Store a rewritten manifest or index; its digest and size out. */
static int put_doc(const char *dir, struct cg_strbuf *sb, char digest[72], uint64_t *size, struct cg_error *err)
{
	int r = blob_put(dir, sb->buf, sb->len, digest, err);
	*size = sb->len;
	cg_strbuf_release(sb);
	return r;
}

/* The image of @c rebuilt bottom-up over a new image config; the new
 * digest of the top document into @top_digest, its size into @top_size. */
static int chain_rebuild(const char *dir, struct chain *c, const char *cfg_buf, size_t cfg_len, char top_digest[72],
			 uint64_t *top_size, struct cg_error *err)
{
	struct level *img = &c->lv[c->n - 1];
	struct cg_strbuf sb;
	char digest[72];
	uint64_t size = cfg_len;
	int r;

	if ((r = blob_put(dir, cfg_buf, cfg_len, digest, err)) < 0)
		return r;
	if ((r = manifest_rewrite(img->buf, img->len, img->m.source, digest, size, &sb, err)) < 0 ||
	    (r = put_doc(dir, &sb, digest, &size, err)) < 0)
		return r;
	for (size_t i = c->n - 1; i-- > 0;) {
		struct level *lv = &c->lv[i];
		struct index_edit e = { .replace = lv->pick, .digest = digest, .size = size, .drop = SIZE_MAX };
		if ((r = index_rewrite(lv->buf, lv->len, lv->m.source, &e, &sb, err)) < 0 ||
		    (r = put_doc(dir, &sb, digest, &size, err)) < 0)
			return r;
	}
	memcpy(top_digest, digest, 72);
	*top_size = size;
	return 0;
}

static int index_put(const char *dir, const struct chain *c, const struct index_edit *e, struct cg_error *err)
{
	_cleanup_free_ char *path = NULL;
	struct cg_strbuf sb;
	int r;

	if (asprintf(&path, "%s/index.json", dir) < 0)
		return cg_error_set(err, -ENOMEM, "out of memory");
	if ((r = index_rewrite(c->index_buf, c->index_len, path, e, &sb, err)) < 0)
		return r;
	r = cg_write_file_atomic(path, sb.buf, sb.len, 0644, err);
	cg_strbuf_release(&sb);
	return r;
}

/* The start of a manifest attach and sign write (a referrer, a signature
 * image), up to its open "layers" array. */
static void manifest_begin(struct cg_json *j, struct cg_strbuf *sb, const char *artifact_type, const char *cfg_mt,
			   const char *cfg_digest, size_t cfg_size)
{
	cg_strbuf_init(sb);
	cg_json_init(j, sb, 0);
	cg_json_obj_open(j);
	cg_json_kv_int(j, "schemaVersion", 2);
	cg_json_kv_str(j, "mediaType", CG_OCI_MT_MANIFEST);
	if (artifact_type)
		cg_json_kv_str(j, "artifactType", artifact_type);
	cg_json_key(j, "config");
	desc_new(j, cfg_mt, cfg_digest, cfg_size, NULL, NULL);
	cg_json_key(j, "layers");
	cg_json_arr_open(j);
}

/* Store the finished manifest @sb (released) and write the index with the
 * edit @e, whose appended entry is this manifest. */
static int manifest_add(const char *dir, const struct chain *c, struct cg_json *j, struct cg_strbuf *sb,
			const char *what, struct index_edit *e, struct cg_error *err)
{
	char digest[72];
	uint64_t size = 0;
	int r;

	if ((r = json_done(j, sb, what, err)) < 0 || (r = put_doc(dir, sb, digest, &size, err)) < 0)
		return r;
	e->append_mt = CG_OCI_MT_MANIFEST;
	e->append_digest = digest;
	e->append_size = size;
	return index_put(dir, c, e, err);
}

/* ---- attach ------------------------------------------------------------- */

int cg_image_attach(const char *dir, const char *ref, const struct cg_closure *closure, char ret_image[72],
		    char ret_closure[72], struct cg_error *err)
{
	struct chain c = { 0 };
	struct cg_strbuf cj, cfg_new, refm;
	struct cg_json j;
	_cleanup_free_ char *cfg = NULL, *cfg_src = NULL;
	const char **names = NULL;
	char cdigest[72], closure_blob[72], empty[72], top[72];
	size_t cfg_len = 0, n_names = 0;
	uint64_t top_size = 0;
	struct cg_strbuf syscalls;
	const struct cg_oci_manifest *man;
	int r;

	if (!dir || !closure)
		return cg_error_set(err, -EINVAL, "attach needs a layout and a closure");
	cg_strbuf_init(&cj);
	cg_strbuf_init(&syscalls);
	if ((r = cg_closure_digest(closure, cdigest)) < 0 || (r = cg_closure_serialize(closure, false, &cj)) < 0 ||
	    (r = cg_closure_permitted_names(closure, -1, &names, &n_names)) < 0) {
		r = cg_error_set(err, r, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n_names; i++)
		cg_strbuf_addf(&syscalls, "%s%s", i ? "," : "", names[i]);
	if (!syscalls.buf)
		cg_strbuf_add(&syscalls, "", 1);
	if ((r = chain_load(dir, ref, &c, err)) < 0)
		goto out;
	man = &c.lv[c.n - 1].m;
	if (!man->has_config || (strcmp(man->config.media_type, CG_OCI_MT_CONFIG) != 0 &&
				 strcmp(man->config.media_type, CG_DOCKER_MT_CONFIG) != 0)) {
		r = cg_error_set(err, -EINVAL, "%s: not an image (its config is no image config)", man->source);
		goto out;
	}
	if ((r = cg_oci_blob_read(dir, man->config.digest, man->config.size, "image config", &cfg, &cfg_len, err)) < 0)
		goto out;
	if (asprintf(&cfg_src, "%s/blobs/sha256/%s", dir, man->config.digest + 7) < 0) {
		r = cg_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	if ((r = config_rewrite(cfg, cfg_len, cfg_src, cdigest, syscalls.buf ? syscalls.buf : "", &cfg_new, err)) < 0)
		goto out;
	r = chain_rebuild(dir, &c, cfg_new.buf, cfg_new.len, top, &top_size, err);
	cg_strbuf_release(&cfg_new);
	if (r < 0)
		goto out;
	/* the closure, as a referrer artifact of the new image */
	if ((r = blob_put(dir, cj.buf, cj.len, closure_blob, err)) < 0 || (r = blob_put(dir, "{}", 2, empty, err)) < 0)
		goto out;
	manifest_begin(&j, &refm, CG_CLOSURE_MEDIA_TYPE, EMPTY_MT, empty, 2);
	desc_new(&j, CG_CLOSURE_MEDIA_TYPE, closure_blob, cj.len, NULL, NULL);
	cg_json_arr_close(&j);
	cg_json_key(&j, "subject");
	desc_new(&j, c.index.items[c.top].media_type, top, top_size, NULL, NULL);
	cg_json_key(&j, "annotations");
	cg_json_obj_open(&j);
	cg_json_kv_str(&j, CG_LABEL_CLOSURE_DIGEST, cdigest);
	cg_json_obj_close(&j);
	cg_json_obj_close(&j);
	{
		struct index_edit e = { .replace = c.top,
					.digest = top,
					.size = top_size,
					.drop = SIZE_MAX,
					.append_artifact_type = CG_CLOSURE_MEDIA_TYPE };
		if ((r = manifest_add(dir, &c, &j, &refm, "closure referrer", &e, err)) < 0)
			goto out;
	}
	if (ret_image)
		memcpy(ret_image, top, 72);
	if (ret_closure)
		memcpy(ret_closure, cdigest, 72);
out:
	free(names);
	cg_strbuf_release(&cj);
	cg_strbuf_release(&syscalls);
	chain_release(&c);
	return r;
}

/* ---- sign --------------------------------------------------------------- */

static int privkey_load(const char *path, EVP_PKEY **ret, struct cg_error *err)
{
	_cleanup_free_ char *buf = NULL;
	char group[80] = "";
	size_t len = 0, glen = 0;
	const struct cg_crypto *cr;
	EVP_PKEY *k;
	BIO *bio;
	int r;

	if (!(cr = cg_crypto(err)))
		return -ELIBACC;
	if ((r = cg_read_file_max(path, 1 << 20, CG_READ_REGULAR, &buf, &len, err)) < 0)
		return cg_error_prefix(err, "signing key: ");
	if (!(bio = cr->BIO_new_mem_buf(buf, (int)len)))
		return cg_error_set(err, -ENOMEM, "out of memory");
	k = cr->PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	cr->BIO_free(bio);
	if (!k)
		return cg_error_set(err, -EINVAL, "%s: not an unencrypted PEM private key", path);
	if (cr->EVP_PKEY_get_base_id(k) != EVP_PKEY_EC ||
	    !cr->EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &glen) ||
	    (strcmp(group, "prime256v1") != 0 && strcmp(group, "P-256") != 0)) {
		cr->EVP_PKEY_free(k);
		return cg_error_set(err, -EINVAL, "%s: not an ECDSA P-256 private key (cosign keys are)", path);
	}
	*ret = k;
	return 0;
}

static int sign_bytes(EVP_PKEY *k, const char *msg, size_t len, char **ret_b64, struct cg_error *err)
{
	const struct cg_crypto *cr = cg_crypto(err); /* loaded: @k was made by it */
	EVP_MD_CTX *ctx = cr ? cr->EVP_MD_CTX_new() : NULL;
	unsigned char *sig = NULL;
	size_t sig_len = 0;
	char *b64 = NULL;
	int r = 0;

	if (!cr)
		return -ELIBACC;
	if (!ctx)
		return cg_error_set(err, -ENOMEM, "out of memory");
	if (cr->EVP_DigestSignInit(ctx, NULL, cr->EVP_sha256(), NULL, k) != 1 ||
	    cr->EVP_DigestSign(ctx, NULL, &sig_len, (const unsigned char *)msg, len) != 1 || !(sig = malloc(sig_len)) ||
	    cr->EVP_DigestSign(ctx, sig, &sig_len, (const unsigned char *)msg, len) != 1)
		r = cg_error_set(err, -EIO, "signing failed");
	else if (!(b64 = malloc(4 * ((sig_len + 2) / 3) + 1)))
		r = cg_error_set(err, -ENOMEM, "out of memory");
	else
		cr->EVP_EncodeBlock((unsigned char *)b64, sig, (int)sig_len);
	free(sig);
	cr->EVP_MD_CTX_free(ctx);
	if (r == 0)
		*ret_b64 = b64;
	return r;
}

/* The repository the image is signed as: @identity, else the name the
 * layout gives the image if it is a full reference ("registry/repo:tag"). */
static int identity_pick(const struct cg_image *img, const struct cg_oci_desc *top, const char *identity,
			 char **ret, struct cg_error *err)
{
	const char *cands[] = { identity, top ? top->image_name : NULL, top ? top->ref_name : NULL, img->ref_name };
	struct cg_imageref r = { 0 };

	for (size_t i = 0; i < CG_ARRAY_SIZE(cands); i++) {
		const char *s = cands[i];
		if (!s || (i > 0 && !strchr(s, '/')))
			continue;
		if (cg_imageref_parse(s, &r, err) < 0)
			return cg_error_prefix(err, "identity '%s': ", s);
		if (asprintf(ret, "%s/%s", r.registry, r.repository) < 0)
			*ret = NULL;
		cg_imageref_release(&r);
		return *ret ? 0 : cg_error_set(err, -ENOMEM, "out of memory");
	}
	return cg_error_set(err, -EINVAL,
			    "the layout does not name the image's repository (its name is '%s'): give the identity "
			    "it is signed as (--identity registry.example.com/team/app)",
			    img->ref_name ? img->ref_name : "");
}

int cg_image_sign(const char *dir, const char *ref, const char *key_path, const char *identity, char ret_image[72],
		  struct cg_error *err)
{
	struct cg_image *img = NULL;
	struct chain c = { 0 };
	EVP_PKEY *key = NULL;
	struct cg_strbuf payload, cfg, man;
	struct cg_json j;
	_cleanup_free_ char *id = NULL, *b64 = NULL, *sig_buf = NULL;
	char pdigest[72], cdigest[72], tag[80];
	size_t sig_len = 0, existing = SIZE_MAX;
	struct fy_document *sig_doc = NULL;
	int r;

	cg_strbuf_init(&payload);
	if (!dir || !key_path)
		return cg_error_set(err, -EINVAL, "sign needs a layout and a key");
	if ((r = privkey_load(key_path, &key, err)) < 0)
		return r;
	if ((r = cg_image_open_layout(dir, ref, &img, err)) < 0 || (r = index_load(dir, &c, err)) < 0)
		goto out;
	/* the entry that names the image (none for a platform manifest pinned by digest) */
	{
		const struct cg_oci_desc *sel = NULL;
		struct cg_error serr = { 0 };
		if (cg_image_select_top(dir, &c.index, ref, &sel, &serr) < 0)
			sel = NULL;
		if ((r = identity_pick(img, sel, identity, &id, err)) < 0)
			goto out;
	}
	/* the payload, exactly as cosign writes it */
	cg_json_init(&j, &payload, 0);
	cg_json_obj_open(&j);
	cg_json_key(&j, "critical");
	cg_json_obj_open(&j);
	cg_json_key(&j, "identity");
	cg_json_obj_open(&j);
	cg_json_kv_str(&j, "docker-reference", id);
	cg_json_obj_close(&j);
	cg_json_key(&j, "image");
	cg_json_obj_open(&j);
	cg_json_kv_str(&j, "docker-manifest-digest", img->manifest_digest);
	cg_json_obj_close(&j);
	cg_json_kv_str(&j, "type", CG_COSIGN_TYPE);
	cg_json_obj_close(&j);
	cg_json_key(&j, "optional");
	cg_json_null(&j);
	cg_json_obj_close(&j);
	if ((r = json_done(&j, &payload, "signature payload", err)) < 0)
		goto out;
	if ((r = sign_bytes(key, payload.buf, payload.len, &b64, err)) < 0 ||
	    (r = blob_put(dir, payload.buf, payload.len, pdigest, err)) < 0)
		goto out;
	/* cosign's config of a signature image: the payload as its one layer */
	cg_strbuf_init(&cfg);
	cg_json_init(&j, &cfg, 0);
	cg_json_obj_open(&j);
	cg_json_kv_str(&j, "architecture", "");
	cg_json_key(&j, "config");
	cg_json_obj_open(&j);
	cg_json_obj_close(&j);
	cg_json_kv_str(&j, "created", "0001-01-01T00:00:00Z");
	cg_json_kv_str(&j, "os", "");
	cg_json_key(&j, "rootfs");
	cg_json_obj_open(&j);
	cg_json_kv_str(&j, "type", "layers");
	cg_json_key(&j, "diff_ids");
	cg_json_arr_open(&j);
	cg_json_str(&j, pdigest);
	cg_json_arr_close(&j);
	cg_json_obj_close(&j);
	cg_json_obj_close(&j);
	if ((r = json_done(&j, &cfg, "signature config", err)) < 0)
		goto out;
	r = blob_put(dir, cfg.buf, cfg.len, cdigest, err);
	{
		size_t cfg_len = cfg.len;
		cg_strbuf_release(&cfg);
		if (r < 0)
			goto out;
		/* an earlier signature of this image: its layers are kept */
		snprintf(tag, sizeof(tag), "sha256-%s.sig", img->manifest_digest + 7);
		for (size_t i = 0; i < c.index.n_items; i++) {
			const char *t = c.index.items[i].ref_name ? strrchr(c.index.items[i].ref_name, ':') : NULL;
			if (c.index.items[i].ref_name && strcmp(t ? t + 1 : c.index.items[i].ref_name, tag) == 0)
				existing = i;
		}
		if (existing != SIZE_MAX) {
			const struct cg_oci_desc *d = &c.index.items[existing];
			if ((r = cg_oci_blob_read(dir, d->digest, d->size, "signature manifest", &sig_buf, &sig_len,
						  err)) < 0 ||
			    (r = cg_oci_json_parse(sig_buf, sig_len, "signature manifest", &sig_doc, err)) < 0)
				goto out;
		}
		manifest_begin(&j, &man, NULL, CG_OCI_MT_CONFIG, cdigest, cfg_len);
		if (sig_doc) {
			struct fy_node *layers = cg_oci_get(fy_document_root(sig_doc), "layers"), *item;
			void *it = NULL;
			while (r == 0 && cg_doc_is_sequence(layers) && (item = fy_node_sequence_iterate(layers, &it)))
				r = cg_doc_json(item, &j, CG_JSON_MAX_DEPTH - 4, "signature manifest", "layers", err);
		}
		cg_json_obj_open(&j);
		cg_json_kv_str(&j, "mediaType", CG_COSIGN_MT_SIMPLESIGNING);
		cg_json_kv_str(&j, "digest", pdigest);
		cg_json_kv_uint(&j, "size", payload.len);
		cg_json_key(&j, "annotations");
		cg_json_obj_open(&j);
		cg_json_kv_str(&j, CG_COSIGN_ANN_SIGNATURE, b64);
		cg_json_obj_close(&j);
		cg_json_obj_close(&j);
		cg_json_arr_close(&j);
		cg_json_obj_close(&j);
		if (r < 0) {
			cg_strbuf_release(&man);
			goto out;
		}
	}
	{
		struct index_edit e = { .replace = SIZE_MAX, .drop = existing, .append_ref_name = tag };
		if ((r = manifest_add(dir, &c, &j, &man, "signature manifest", &e, err)) < 0)
			goto out;
	}
	if (ret_image)
		memcpy(ret_image, img->manifest_digest, 72);
out:
	if (sig_doc)
		fy_document_destroy(sig_doc);
	cg_strbuf_release(&payload);
	chain_release(&c);
	cg_image_free(img);
	if (key) /* made by libcrypto, so it is loaded */
		cg_crypto(NULL)->EVP_PKEY_free(key);
	return r;
}
