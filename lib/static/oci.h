/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal: the OCI image layout read as documents -- oci-layout, index.json,
 * manifests, indexes and image configs -- and its blobs. Used by image.c
 * (opening images) and sign.c (cosign signatures). Every blob is read through
 * cg_oci_blob_read, which checks its size and SHA-256 against the descriptor
 * that named it, so no name in a layout reaches the file system.
 */
#ifndef CAPGATE_STATIC_OCI_H
#define CAPGATE_STATIC_OCI_H

#include <capgate/common.h>
#include <capgate/error.h>

#include "core/doc.h"

/* The largest file or blob capgate reads into memory from an image. */
#define CG_BLOB_MAX ((size_t)64 << 20)

#define CG_OCI_MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define CG_OCI_MT_INDEX "application/vnd.oci.image.index.v1+json"
#define CG_OCI_MT_CONFIG "application/vnd.oci.image.config.v1+json"
#define CG_DOCKER_MT_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define CG_DOCKER_MT_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define CG_DOCKER_MT_CONFIG "application/vnd.docker.container.image.v1+json"
#define CG_OCI_ANN_REF_NAME "org.opencontainers.image.ref.name"
#define CG_COSIGN_ANN_SIGNATURE "dev.cosignproject.cosign/signature"

/* A content descriptor (index entry, config, layer, subject). */
struct cg_oci_desc {
	char path[96]; /* JSON path of the descriptor, "manifests[2]" */
	char *media_type;
	char digest[72]; /* "sha256:<64 hex>" (other algorithms are refused) */
	uint64_t size;
	char *artifact_type;       /* NULL if absent */
	char *ref_name;            /* annotation org.opencontainers.image.ref.name */
	char *image_name;          /* annotation io.containerd.image.name */
	char *ref_type;            /* annotation vnd.docker.reference.type (buildkit attestations) */
	char *signature;           /* annotation dev.cosignproject.cosign/signature */
	char *os, *arch, *variant; /* platform, if given */
};

/* A parsed image manifest or index. */
struct cg_oci_manifest {
	char *source;    /* file the JSON came from, for messages */
	char digest[72]; /* its own digest ("" for index.json) */
	char *media_type;
	char *artifact_type;
	bool is_index;
	bool has_config, has_subject;
	struct cg_oci_desc config, subject;
	struct cg_oci_desc *items; /* layers of a manifest, manifests of an index */
	size_t n_items;
};

/* Free what a descriptor / manifest holds and zero it (NULL is fine). */
void cg_oci_desc_release(struct cg_oci_desc *d);
void cg_oci_manifest_release(struct cg_oci_manifest *m);

/* True for "sha256:" followed by 64 lowercase hex digits. */
bool cg_oci_digest_valid(const char *d);

/* "sha256:<hex>" of @n bytes into @out (72 bytes): 0 or -errno (-ELIBACC:
 * libcrypto cannot be loaded, core/crypto.h). */
int cg_oci_sha256(const void *p, size_t n, char out[72], struct cg_error *err);

/* Is @mt an image manifest (OCI or Docker schema 2) / an index (OCI index
 * or Docker manifest list) media type? NULL is neither. */
bool cg_oci_is_manifest_type(const char *mt);
bool cg_oci_is_index_type(const char *mt);

/* Read blob @digest of @dir and check its size and digest (-EBADMSG when
 * they do not match: the blob was altered). @what names it in messages. */
int cg_oci_blob_read(const char *dir, const char *digest, uint64_t size, const char *what, char **ret,
		     size_t *ret_len, struct cg_error *err);

/* Check the blob @d names (a layer: any size, streamed) against its size
 * and digest without keeping it: -EBADMSG when it was altered. */
int cg_oci_blob_verify(const char *dir, const struct cg_oci_desc *d, struct cg_error *err);

/* The first character after leading JSON whitespace, '\0' if none: what
 * a document must start with ('{', '[') is checked before it is parsed, so
 * that untrusted image data never reaches the YAML parser. */
char cg_oci_json_first(const char *buf, size_t len);

/* Parse a single JSON object; the document owns the root node. */
int cg_oci_json_parse(const char *buf, size_t len, const char *source, struct fy_document **ret,
		      struct cg_error *err);

/* Child of a mapping, or NULL (also when @map is not a mapping). */
struct fy_node *cg_oci_get(struct fy_node *map, const char *key);

/* Parse a manifest (@expect_index false: config and layers) or an index
 * (true: manifests) from @buf. @expect_mt, if not NULL, is the media type
 * the descriptor gave; a document that says another one is refused. */
int cg_oci_manifest_parse(const char *buf, size_t len, const char *source, bool expect_index,
			  const char *expect_mt, struct cg_oci_manifest *ret, struct cg_error *err);

/* Check @dir/oci-layout says imageLayoutVersion 1.x. */
int cg_oci_layout_check(const char *dir, struct cg_error *err);

/* Read @dir/index.json into @ret (as an index). */
int cg_oci_index_load(const char *dir, struct cg_oci_manifest *ret, struct cg_error *err);

/* Read the manifest or index @d points at (blob checked) into @ret. */
int cg_oci_manifest_load(const char *dir, const struct cg_oci_desc *d, struct cg_oci_manifest *ret,
			 struct cg_error *err);

/* The labels (config.Labels) of an image config document: two arrays of
 * @ret_n strings, NULL-terminated; both NULL when there are none. */
int cg_oci_config_labels(const char *buf, size_t len, const char *source, char ***ret_keys,
			 char ***ret_values, size_t *ret_n, struct cg_error *err);

#endif
