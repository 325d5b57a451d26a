/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Container images: references parsed by the distribution grammar, OCI image
 * layouts and docker-archive tarballs, their config labels and an attached
 * closure, and cosign "simple signing" signatures verified offline.
 */
#ifndef CAPGATE_IMAGE_H
#define CAPGATE_IMAGE_H

#include <capgate/closure.h>

/* A parsed reference: "registry.example.com:5000/team/app:1.2@sha256:..." */
struct cg_imageref {
	char *registry;   /* "registry.example.com:5000"; "docker.io" when defaulted */
	char *repository; /* "team/app"; "library/nginx" for an official image */
	char *tag;        /* NULL if none ("latest" is not implied) */
	char *digest;     /* "sha256:<64 hex>" or NULL */
	bool registry_defaulted;
};

/* Parse @s with the distribution/reference grammar (lowercase repository
 * components, separators, tag and digest syntax, a domain is the first
 * component if it has '.', ':' or is "localhost"). Errors say what is wrong. */
CAPGATE_API int cg_imageref_parse(const char *s, struct cg_imageref *ret, struct cg_error *err);
CAPGATE_API void cg_imageref_release(struct cg_imageref *r);

/* Is the reference inside a trusted location "host[:port][/path/prefix]"?
 * Compared on parsed parts: the host exactly (case-insensitive), the path by
 * whole components -- "registry.example.com.evil.io/app" is not inside
 * "registry.example.com", nor "registry.example.com/teamx" inside
 * "registry.example.com/team". "index.docker.io" means docker.io; a
 * one-component path on docker.io is an organisation ("docker.io/library"
 * trusts the official images, "docker.io/nginx" does not). A trusted string
 * with a tag, a digest or an invalid component matches nothing. */
CAPGATE_API bool cg_imageref_within(const struct cg_imageref *r, const char *trusted);

/* Canonical text of a reference (registry/repository[:tag][@digest]). */
CAPGATE_API char *cg_imageref_format(const struct cg_imageref *r);

/* Made by cg_image_open_layout or cg_image_open_archive (fields may be
 * added at the end: never allocate one). Its strings belong to it. */
struct cg_image {
	char *source;                /* layout directory or archive path */
	char *ref_name;              /* the tag / ref name the image was selected by */
	const char *manifest_digest; /* "sha256:..." of the manifest the layout's index.json
				      * names (for a multi-platform image: the index, which
				      * is what a digest reference and cosign sign); "" for
				      * a docker-archive, which holds no manifest */
	const char *config_digest;
	char **label_keys, **label_values;
	size_t n_labels;
	char *closure_json; /* an attached closure (see below), or NULL */
	size_t closure_len;
	const char *image_digest; /* the image manifest itself: manifest_digest, or for a
				   * multi-platform image the platform's manifest; "" for a
				   * docker-archive */
	const char *platform;     /* "linux/amd64[/VARIANT]" of the manifest chosen in an
				   * index, "" when the layout named an image manifest */
};

/* Options of cg_image_open_layout_opts. */
struct cg_image_open_opts {
	size_t sz;
	const char *platform; /* "OS/ARCH[/VARIANT]" chosen in a multi-platform index (NULL:
			       * linux/<this machine's architecture>, or the only image) */
};

/* Open an image from an OCI image layout directory (oci-layout, index.json,
 * blobs/sha256/...). A @ref that pins a digest ("name@sha256:...", or a
 * bare "sha256:...") selects the index.json entry of that digest and
 * nothing else: names are annotations the layout's writer chose, so a
 * manifest named after the reference but with another digest is -EBADMSG
 * (the message names both digests). A digest index.json does not list is
 * looked up through its multi-platform indexes (a platform manifest pinned
 * by digest; manifest_digest is then that digest); none of that digest is
 * -ENOENT. Any other @ref selects the manifest by
 * its org.opencontainers.image.ref.name annotation (compared exactly) or its
 * io.containerd.image.name annotation (compared as normalised references);
 * then manifest_digest is what the name resolved to. NULL = the only image
 * manifest (cosign
 * "sha256-*.sig/.att/.sbom" tags and referrer artifacts are ignored; several
 * images is an error that lists their names). A nested index resolves to its
 * one image, or to linux/<this machine's arch>.
 * Every blob read is checked against its digest. An attached closure is a
 * layer or referrer artifact of media type
 * "application/vnd.capgate.closure.v1+json". */
CAPGATE_API int cg_image_open_layout(const char *dir, const char *ref, struct cg_image **ret, struct cg_error *err);

/* cg_image_open_layout() with options: @o->platform chooses the manifest of a
 * multi-platform index by platform. Given, it must match: OS and
 * architecture exactly, the variant when it names one; an image manifest
 * index.json names directly must then say that platform in its config.
 * None matching is -ENOENT, with the platforms present in the message; a
 * malformed @o->platform is -EINVAL. @o may be NULL. */
CAPGATE_API int cg_image_open_layout_opts(const char *dir, const char *ref, const struct cg_image_open_opts *o,
					  struct cg_image **ret, struct cg_error *err);

/* Parse "OS/ARCH[/VARIANT]" into its parts (each at most 31 characters,
 * [a-z0-9_.-]); -EINVAL with a message otherwise. */
CAPGATE_API int cg_image_platform_parse(const char *s, char os[32], char arch[32], char variant[32],
					struct cg_error *err);
/* Open a docker-archive tarball (docker save: manifest.json, config blob).
 * @ref is compared with RepoTags as normalised references ("nginx:latest"
 * matches "docker.io/library/nginx:latest"; no tag is not "latest").
 * manifest_digest is "" (an archive holds no manifest), so an archive image
 * cannot be checked with cg_sign_verify_layout; closure_json is NULL. */
CAPGATE_API int cg_image_open_archive(const char *path, const char *ref, struct cg_image **ret,
				      struct cg_error *err);

CAPGATE_API void cg_image_free(struct cg_image *img);

/* The value of config label @key, or NULL. */
CAPGATE_API const char *cg_image_label(const struct cg_image *img, const char *key);

/* Labels capgate reads. */
#define CG_LABEL_SYSCALLS "io.capgate.syscalls" /* comma/space separated names */
#define CG_LABEL_SYSCALLS_MISSION "syscalls"    /* the plain label some policies read */
#define CG_LABEL_CLOSURE_DIGEST "io.capgate.closure.digest"
#define CG_CLOSURE_MEDIA_TYPE "application/vnd.capgate.closure.v1+json"

enum cg_sign_status {
	CG_SIGN_VALID,
	CG_SIGN_MISSING,           /* no sha256-<digest>.sig manifest */
	CG_SIGN_BAD_SIGNATURE,     /* no trusted key verifies it */
	CG_SIGN_BAD_PAYLOAD,       /* payload digest, JSON or critical.type wrong */
	CG_SIGN_DIGEST_MISMATCH,   /* docker-manifest-digest is not the image's */
	CG_SIGN_IDENTITY_MISMATCH, /* signed for this digest as another repository */
};

struct cg_sign_result {
	enum cg_sign_status status;
	char reason[256];   /* human text: which key, which check failed */
	char identity[256]; /* critical.identity.docker-reference, if any */
	char digest[80];    /* critical.image.docker-manifest-digest of the payload the verdict is about
			     * (for VALID: the digest that was verified), "" if none was read */
};

/* Verify cosign simple-signing signatures of @img stored in the OCI layout
 * @dir (the signature manifest under the tag "sha256-<hex>.sig", each layer a
 * payload blob whose annotation "dev.cosignproject.cosign/signature" is a
 * base64 DER ECDSA signature) against PEM public keys (ECDSA P-256):
 * payload digest, signature, critical.type = "cosign container image
 * signature", and critical.image.docker-manifest-digest = the image's own
 * manifest digest. Each @pem_keys entry is PEM text (starting "-----BEGIN")
 * or the path of a PEM file. Returns 0 and fills @ret for every verdict;
 * < 0 only when the inputs cannot be read (bad key file, a key that is not
 * EC P-256, unreadable layout, an image without a manifest digest). */
CAPGATE_API int cg_sign_verify_layout(const char *dir, const struct cg_image *img, const char *const *pem_keys,
				      size_t n_keys, struct cg_sign_result *ret, struct cg_error *err);

/* cg_sign_verify_layout(), and the signature bound to the reference @want
 * the image is run as (NULL = no binding): critical.identity.docker-
 * reference must name @want's registry (index.docker.io is docker.io) and
 * repository; a digest in it must be the verified digest, a tag in it
 * @want's tag when @want has one. Otherwise CG_SIGN_IDENTITY_MISMATCH. It
 * does not compare @want's digest with the image's: the caller selects the
 * image by that digest (cg_image_open_layout) and compares ret->digest. */
CAPGATE_API int cg_sign_verify_ref(const char *dir, const struct cg_image *img, const struct cg_imageref *want,
				   const char *const *pem_keys, size_t n_keys, struct cg_sign_result *ret,
				   struct cg_error *err);

/* The image build step (lib/static/imagewrite.c). Both write atomically:
 * new blobs first, index.json last in one rename, so an interrupted call
 * leaves the layout as readers saw it. */

/* Attach closure @c to the image @ref (as cg_image_open_layout selects it;
 * a platform manifest pinned by digest inside an index is refused: name
 * the index.json entry) of the OCI layout @dir: the image config gains the
 * labels io.capgate.closure.digest (cg_closure_digest) and
 * io.capgate.syscalls (the permitted names), so the image gets a new
 * digest (into @ret_image; its index.json entry keeps its names and
 * annotations); the canonical closure JSON becomes a referrer artifact
 * (artifactType CG_CLOSURE_MEDIA_TYPE) whose subject is the new image.
 * @ret_image and @ret_closure may be NULL. */
CAPGATE_API int cg_image_attach(const char *dir, const char *ref, const struct cg_closure *c, char ret_image[72],
				char ret_closure[72], struct cg_error *err);

/* Sign the image @ref of layout @dir with the ECDSA P-256 private key in
 * PEM file @key_path, in cosign's simple-signing format (the manifest
 * tagged sha256-<hex>.sig; an existing one gains a layer). The payload's
 * critical.identity.docker-reference is @identity's registry/repository,
 * or (NULL) the image's name in the layout when that is a full reference
 * (io.containerd.image.name or a ref name with a '/'); otherwise -EINVAL.
 * The signed digest (the image's manifest_digest) into @ret_image. */
CAPGATE_API int cg_image_sign(const char *dir, const char *ref, const char *key_path, const char *identity,
			      char ret_image[72], struct cg_error *err);

/* Default limits of an unpack (struct cg_unpack_opts): the layers'
 * uncompressed tar streams together, and their members together. */
#define CG_UNPACK_MAX_BYTES ((uint64_t)16 << 30)
#define CG_UNPACK_MAX_ENTRIES ((uint64_t)1000000)

/* Options of cg_image_unpack_opts. */
struct cg_unpack_opts {
	size_t sz;
	uint64_t max_bytes;   /* 0: CG_UNPACK_MAX_BYTES */
	uint64_t max_entries; /* 0: CG_UNPACK_MAX_ENTRIES */
};

/* Unpack the layers of @img (opened by cg_image_open_layout[_opts] from the
 * OCI layout @dir: the same image manifest, found again through index.json
 * and the platform the open chose) in order into the existing empty
 * directory @rootfs, honouring OCI whiteouts (".wh.NAME", ".wh..wh..opq").
 * Layers are plain, gzip or zstd tar archives (told apart by their first
 * bytes). Each blob is opened and read once: hashed as it is unpacked, and
 * checked against its descriptor's size and digest at its end (-EBADMSG).
 * Every path is resolved inside @rootfs (openat2 RESOLVE_IN_ROOT): symbolic
 * links of earlier layers are followed as the container would see them,
 * absolute and ".." targets never above @rootfs; the last component of a
 * member is replaced, never followed. A member name that is absolute or has
 * a ".." component, a hard link to such a name, a whiteout of "." or ".."
 * is -EPERM. Going over a limit is -EFBIG. Devices and FIFOs are skipped.
 * On any failure what was unpacked is removed (@rootfs is left empty).
 * @o may be NULL (the defaults). */
CAPGATE_API int cg_image_unpack_opts(const char *dir, const struct cg_image *img, const char *rootfs,
				     const struct cg_unpack_opts *o, struct cg_error *err);

/* cg_image_unpack_opts() with the default limits. */
CAPGATE_API int cg_image_unpack(const char *dir, const struct cg_image *img, const char *rootfs,
				struct cg_error *err);

/* Remove the tree @rootfs (symbolic links are removed, never followed). */
CAPGATE_API int cg_image_rootfs_remove(const char *rootfs);

#endif
