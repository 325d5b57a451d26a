/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal: OCI image layout access shared by image.c (opening images) and
 * sign.c (cosign signatures). Every blob is read through oci_blob_read, which
 * checks its size and SHA-256 against the descriptor that named it.
 */
#ifndef CAPGATE_IMAGE_INTERNAL_H
#define CAPGATE_IMAGE_INTERNAL_H

#include <capgate/image.h>

#include "core/doc.h"

/* The largest file or blob capgate reads into memory. */
#define CG_BLOB_MAX ((size_t)64 << 20)

#define OCI_MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define OCI_MT_INDEX "application/vnd.oci.image.index.v1+json"
#define OCI_MT_CONFIG "application/vnd.oci.image.config.v1+json"
#define DOCKER_MT_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define DOCKER_MT_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define DOCKER_MT_CONFIG "application/vnd.docker.container.image.v1+json"
#define OCI_ANN_REF_NAME "org.opencontainers.image.ref.name"
#define COSIGN_MT_SIMPLESIGNING "application/vnd.dev.cosign.simplesigning.v1+json"
#define COSIGN_ANN_SIGNATURE "dev.cosignproject.cosign/signature"

/* A content descriptor (index entry, config, layer, subject). */
struct oci_desc {
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
struct oci_manifest {
	char *source;    /* file the JSON came from, for messages */
	char digest[72]; /* its own digest ("" for index.json) */
	char *media_type;
	char *artifact_type;
	bool is_index;
	bool has_config, has_subject;
	struct oci_desc config, subject;
	struct oci_desc *items; /* layers of a manifest, manifests of an index */
	size_t n_items;
};

void oci_desc_release(struct oci_desc *d);
void oci_manifest_release(struct oci_manifest *m);

/* True for "sha256:" followed by 64 lowercase hex digits. */
bool oci_digest_valid(const char *d);

/* "sha256:<hex>" of @n bytes into @out (72 bytes). */
int oci_sha256(const void *p, size_t n, char out[72]);

/* Read a regular file of at most CG_BLOB_MAX bytes (NUL-terminated). */
int oci_read_file(const char *path, char **ret, size_t *ret_len, struct cg_error *err);

/* Read blob @digest of @dir and check its size and digest (-EBADMSG when
 * they do not match: the blob was altered). @what names it in messages. */
int oci_blob_read(const char *dir, const char *digest, uint64_t size, const char *what, char **ret,
		  size_t *ret_len, struct cg_error *err);

/* Parse a single JSON object; the document owns the root node. */
int oci_json_parse(const char *buf, size_t len, const char *source, struct fy_document **ret,
		   struct cg_error *err);

/* Child of a mapping, or NULL. */
struct fy_node *oci_get(struct fy_node *map, const char *key);

/* Read @dir/index.json into @ret (as an index). */
int oci_index_load(const char *dir, struct oci_manifest *ret, struct cg_error *err);

/* Read the manifest or index @d points at (blob checked) into @ret. */
int oci_manifest_load(const char *dir, const struct oci_desc *d, struct oci_manifest *ret, struct cg_error *err);

#endif
