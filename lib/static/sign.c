// SPDX-License-Identifier: Apache-2.0
/*
 * Cosign "simple signing" signatures, verified offline from an OCI layout.
 *
 * cosign stores the signatures of image sha256:<hex> as a manifest tagged
 * "sha256-<hex>.sig". Each of its layers (media type
 * application/vnd.dev.cosign.simplesigning.v1+json) is a JSON payload
 *   {"critical":{"identity":{"docker-reference":"..."},
 *                "image":{"docker-manifest-digest":"sha256:..."},
 *                "type":"cosign container image signature"},
 *    "optional":{...}}
 * and carries the annotation dev.cosignproject.cosign/signature: the base64
 * of an ASN.1 DER ECDSA signature over the payload bytes (SHA-256).
 *
 * Per layer, in this order (untrusted JSON is parsed only once a trusted key
 * has vouched for the bytes):
 *   1. the payload blob hashes to the layer's digest       else BAD_PAYLOAD
 *   2. a trusted key verifies the signature over it         else BAD_SIGNATURE
 *   3. the payload is JSON with critical.type as above      else BAD_PAYLOAD
 *   4. docker-manifest-digest is the image's own digest     else DIGEST_MISMATCH
 *   5. with a reference to bind to (cg_sign_verify_ref), identity.docker-
 *      reference names its repository                      else IDENTITY_MISMATCH
 * One layer passing them all makes the image VALID. Otherwise the verdict is
 * that of the layer that got furthest (the most specific failure).
 *
 * Why step 5: a key signs (digest, repository) pairs. Without it, an image
 * signed as registry.example.com/tools/debug would vouch for a Pod that runs
 * it as registry.example.com/team/app. The identity is compared as
 * containers/image's matchRepoDigestOrExact does: the same registry (Docker
 * Hub's aliases folded) and repository; a digest in the identity must be the
 * verified one; a tag in the identity must be the reference's tag when the
 * reference has one. cosign writes the repository alone.
 *
 * Keys: each entry of pem_keys is PEM text (it starts with "-----BEGIN") or
 * the path of a PEM file. Only EC P-256 public keys are accepted; anything
 * else is an input error, not a verdict.
 * Transparency-log (Rekor) bundles and Fulcio certificates are not checked:
 * this is key-based verification only.
 */
#include <capgate/file.h>
#include <capgate/image.h>

#include <errno.h>
#include "core/crypto.h"
#include <openssl/obj_mac.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "static/oci.h"
#include "static/sign.h"

static void pkeys_free(EVP_PKEY **k, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (k[i]) /* made by libcrypto, so it is loaded */
			cg_crypto(NULL)->EVP_PKEY_free(k[i]);
	free(k);
}

static int key_load(const char *spec, size_t idx, EVP_PKEY **ret, struct cg_error *err)
{
	_cleanup_free_ char *buf = NULL;
	const char *what = spec;
	char label[64], group[80] = "";
	size_t len = 0, glen = 0;
	const struct cg_crypto *cr;
	EVP_PKEY *k;
	BIO *bio;
	int r;

	if (!(cr = cg_crypto(err)))
		return -ELIBACC;
	if (strncmp(spec, "-----BEGIN", 10) == 0) {
		snprintf(label, sizeof(label), "key %zu (PEM text)", idx);
		what = label;
		len = strlen(spec);
		bio = cr->BIO_new_mem_buf(spec, (int)(len > INT32_MAX ? INT32_MAX : len));
	} else {
		if ((r = cg_read_file_max(spec, CG_BLOB_MAX, CG_READ_REGULAR, &buf, &len, err)) < 0)
			return cg_error_prefix(err, "trusted key: ");
		bio = cr->BIO_new_mem_buf(buf, (int)len);
	}
	if (!bio)
		return cg_error_set(err, -ENOMEM, "out of memory");
	k = cr->PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	cr->BIO_free(bio);
	if (!k)
		return cg_error_set(err, -EINVAL, "%s: not a PEM public key (\"-----BEGIN PUBLIC KEY-----\")", what);
	if (cr->EVP_PKEY_get_base_id(k) != EVP_PKEY_EC ||
	    !cr->EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &glen) ||
	    (strcmp(group, "prime256v1") != 0 && strcmp(group, "P-256") != 0)) {
		const char *type = cr->EVP_PKEY_get0_type_name(k);
		r = cg_error_set(err, -EINVAL, "%s: not an ECDSA P-256 public key (got %s%s%s, %d bits)", what,
				 type ? type : "unknown", group[0] ? " " : "", group, cr->EVP_PKEY_get_bits(k));
		cr->EVP_PKEY_free(k);
		return r;
	}
	*ret = k;
	return 0;
}

/* Strict standard base64 (padding required, no whitespace). */
static int b64_decode(const char *s, unsigned char **ret, size_t *ret_len)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(s), o = 0;
	unsigned char *out;

	if (n == 0 || n % 4 != 0 || n > 1 << 20)
		return -EINVAL;
	out = malloc(n / 4 * 3);
	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < n; i += 4) {
		uint32_t v = 0;
		int pad = 0;
		for (int j = 0; j < 4; j++) {
			const char *p;
			char c = s[i + j];
			if (c == '=' && i + 4 == n && j >= 2) {
				pad++;
				v <<= 6;
				continue;
			}
			p = c ? strchr(tab, c) : NULL;
			if (!p || pad) {
				free(out);
				return -EINVAL;
			}
			v = v << 6 | (uint32_t)(p - tab);
		}
		out[o++] = (unsigned char)(v >> 16);
		if (pad < 2)
			out[o++] = (unsigned char)(v >> 8);
		if (pad < 1)
			out[o++] = (unsigned char)v;
	}
	*ret = out;
	*ret_len = o;
	return 0;
}

static bool sig_verify(EVP_PKEY *k, const unsigned char *sig, size_t sig_len, const char *msg, size_t msg_len)
{
	const struct cg_crypto *cr = cg_crypto(NULL); /* loaded: @k was made by it */
	EVP_MD_CTX *ctx = cr ? cr->EVP_MD_CTX_new() : NULL;
	bool ok;

	if (!ctx)
		return false; /* not verified */
	ok = cr->EVP_DigestVerifyInit(ctx, NULL, cr->EVP_sha256(), NULL, k) == 1 &&
	     cr->EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *)msg, msg_len) == 1;
	cr->EVP_MD_CTX_free(ctx);
	return ok;
}

/* How far a layer got: the larger, the more specific its failure. */
enum stage {
	STAGE_NONE,
	STAGE_BLOB,      /* payload unreadable or not matching its digest */
	STAGE_SIGNATURE, /* no trusted key verifies it */
	STAGE_PAYLOAD,   /* signed, but not a cosign payload */
	STAGE_DIGEST,    /* signed, but for another image */
	STAGE_IDENTITY,  /* signed for this digest, but as another repository */
	STAGE_VALID,
};

struct verdict {
	enum stage stage;
	enum cg_sign_status status;
	char reason[256];
	char identity[256];
	char digest[80];
};

static void verdict_offer(struct verdict *best, enum stage st, enum cg_sign_status status, const char *identity,
			  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void verdict_offer(struct verdict *best, enum stage st, enum cg_sign_status status, const char *identity,
			  const char *fmt, ...)
{
	va_list ap;

	if (st <= best->stage)
		return;
	best->stage = st;
	best->status = status;
	va_start(ap, fmt);
	vsnprintf(best->reason, sizeof(best->reason), fmt, ap);
	va_end(ap);
	snprintf(best->identity, sizeof(best->identity), "%s", identity ? identity : "");
}

/* A member's string value into @out, or "" (absent, not a string, too long). */
static void str_member(struct fy_node *n, char *out, size_t n_out)
{
	if (!cg_doc_is_string(n, true) || !cg_doc_scalar(n, out, n_out))
		out[0] = '\0';
}

int cg_sign_payload_parse(const char *buf, size_t len, const char *source, struct cg_sign_payload *ret,
			  struct cg_error *err)
{
	struct fy_document *doc = NULL;
	struct fy_node *crit;
	struct cg_sign_payload p;
	int r;

	if ((r = cg_oci_json_parse(buf, len, source, &doc, err)) < 0)
		return r;
	crit = cg_oci_get(fy_document_root(doc), "critical");
	p.has_critical = cg_doc_is_mapping(crit);
	str_member(cg_oci_get(crit, "type"), p.type, sizeof(p.type));
	str_member(cg_oci_get(cg_oci_get(crit, "image"), "docker-manifest-digest"), p.digest, sizeof(p.digest));
	str_member(cg_oci_get(cg_oci_get(crit, "identity"), "docker-reference"), p.identity, sizeof(p.identity));
	fy_document_destroy(doc);
	*ret = p;
	return 0;
}

static const char *hub_fold(const char *registry)
{
	return strcasecmp(registry, "index.docker.io") == 0 || strcasecmp(registry, "registry-1.docker.io") == 0
		       ? "docker.io"
		       : registry;
}

/* Step 5: does the signed identity name the reference's repository? On a
 * mismatch, why goes to @why. */
static bool identity_matches(const char *identity, const struct cg_imageref *want, const char *digest, char *why,
			     size_t n_why)
{
	struct cg_imageref id = { 0 };
	struct cg_error e = { 0 };
	bool ok = false;

	if (!identity[0]) {
		snprintf(why, n_why, "the payload names no repository (critical.identity.docker-reference)");
		return false;
	}
	if (cg_imageref_parse(identity, &id, &e) < 0) {
		snprintf(why, n_why, "critical.identity.docker-reference '%.100s' is not a reference: %.80s", identity,
			 e.msg);
		return false;
	}
	if (strcasecmp(hub_fold(id.registry), hub_fold(want->registry)) != 0 ||
	    strcmp(id.repository, want->repository) != 0)
		snprintf(why, n_why, "it was signed as %.100s, not as repository %.60s/%.60s", identity, want->registry,
			 want->repository);
	else if (id.digest && strcmp(id.digest, digest) != 0)
		snprintf(why, n_why, "its identity %.120s names another digest", identity);
	else if (id.tag && want->tag && strcmp(id.tag, want->tag) != 0)
		snprintf(why, n_why, "its identity %.120s names tag %.40s, not %.40s", identity, id.tag, want->tag);
	else
		ok = true;
	cg_imageref_release(&id);
	return ok;
}

/* Steps 3 to 5 on a payload a trusted key signed. */
static void payload_check(const char *buf, size_t len, const char *source, const char *image_digest,
			  const struct cg_imageref *want, const char *key_name, struct verdict *best)
{
	char why[300];
	enum stage before = best->stage;
	struct cg_error perr = { 0 };
	struct cg_sign_payload p;
	const char *id;

	if (cg_sign_payload_parse(buf, len, source, &p, &perr) < 0) {
		verdict_offer(best, STAGE_PAYLOAD, CG_SIGN_BAD_PAYLOAD, NULL, "%s", perr.msg);
		return;
	}
	id = p.identity;
	if (!p.has_critical)
		verdict_offer(best, STAGE_PAYLOAD, CG_SIGN_BAD_PAYLOAD, id, "%s: payload has no critical object", source);
	else if (strcmp(p.type, CG_COSIGN_TYPE) != 0)
		verdict_offer(best, STAGE_PAYLOAD, CG_SIGN_BAD_PAYLOAD, id,
			      "%s: critical.type is not \"" CG_COSIGN_TYPE "\"", source);
	else if (!p.digest[0])
		verdict_offer(best, STAGE_PAYLOAD, CG_SIGN_BAD_PAYLOAD, id,
			      "%s: payload has no critical.image.docker-manifest-digest", source);
	else if (strcmp(p.digest, image_digest) != 0)
		verdict_offer(best, STAGE_DIGEST, CG_SIGN_DIGEST_MISMATCH, id,
			      "%s: signed by %s for image %.71s, not this one (%.71s)", source, key_name, p.digest,
			      image_digest);
	else if (want && !identity_matches(p.identity, want, p.digest, why, sizeof(why)))
		verdict_offer(best, STAGE_IDENTITY, CG_SIGN_IDENTITY_MISMATCH, id, "%s: signed by %s, but %s", source,
			      key_name, why);
	else
		verdict_offer(best, STAGE_VALID, CG_SIGN_VALID, id, "%s: signed by %s", source, key_name);
	if (best->stage != before) /* this layer's verdict was taken: so is the digest it signs */
		snprintf(best->digest, sizeof(best->digest), "%s", p.digest);
}

/* One signature layer, steps 1 to 4. @where names it: "signature sha256:1234abcd layers[0]". */
static void layer_check(const char *dir, const struct cg_oci_desc *l, const char *where, EVP_PKEY **keys,
			const char *const *key_names, size_t n_keys, const char *image_digest,
			const struct cg_imageref *want, struct verdict *best)
{
	struct cg_error lerr = { 0 };
	_cleanup_free_ char *payload = NULL;
	unsigned char *sig = NULL;
	size_t len = 0, sig_len = 0;
	size_t k;
	int r;

	if (!l->media_type || strcmp(l->media_type, CG_COSIGN_MT_SIMPLESIGNING) != 0)
		return; /* other payload formats (attestations) are not signatures of the image */
	r = cg_oci_blob_read(dir, l->digest, l->size, where, &payload, &len, &lerr);
	if (r == -EBADMSG) {
		verdict_offer(best, STAGE_BLOB, CG_SIGN_BAD_PAYLOAD, NULL,
			      "%s: payload does not match its digest or size (altered after signing)", where);
		return;
	}
	if (r < 0) {
		verdict_offer(best, STAGE_BLOB, CG_SIGN_BAD_PAYLOAD, NULL, "%s: payload unreadable: %s", where, lerr.msg);
		return;
	}
	if (!l->signature) {
		verdict_offer(best, STAGE_BLOB, CG_SIGN_BAD_SIGNATURE, NULL, "%s: no annotation " CG_COSIGN_ANN_SIGNATURE,
			      where);
		return;
	}
	if (b64_decode(l->signature, &sig, &sig_len) < 0) {
		verdict_offer(best, STAGE_SIGNATURE, CG_SIGN_BAD_SIGNATURE, NULL, "%s: signature is not base64", where);
		return;
	}
	for (k = 0; k < n_keys; k++)
		if (sig_verify(keys[k], sig, sig_len, payload, len))
			break;
	free(sig);
	if (k == n_keys) {
		verdict_offer(best, STAGE_SIGNATURE, CG_SIGN_BAD_SIGNATURE, NULL,
			      "%s: no trusted key (of %zu) verifies the signature", where, n_keys);
		return;
	}
	payload_check(payload, len, where, image_digest, want, key_names[k], best);
}

int cg_sign_verify_layout(const char *dir, const struct cg_image *img, const char *const *pem_keys, size_t n_keys,
			  struct cg_sign_result *ret, struct cg_error *err)
{
	return cg_sign_verify_ref(dir, img, NULL, pem_keys, n_keys, ret, err);
}

int cg_sign_verify_ref(const char *dir, const struct cg_image *img, const struct cg_imageref *want,
		       const char *const *pem_keys, size_t n_keys, struct cg_sign_result *ret, struct cg_error *err)
{
	struct cg_oci_manifest index = { 0 };
	struct verdict best = { .stage = STAGE_NONE, .status = CG_SIGN_MISSING };
	EVP_PKEY **keys = NULL;
	char **names = NULL;
	char tag[80];
	size_t n_sig = 0;
	int r = 0;

	if (!dir || !img || !ret)
		return cg_error_set(err, -EINVAL, "signature check needs a layout, an image and a result");
	if (!cg_oci_digest_valid(img->manifest_digest))
		return cg_error_set(err, -EINVAL,
				    "%s: the image has no manifest digest (a docker-archive?); signatures need an OCI layout",
				    img->source ? img->source : "image");
	if (n_keys == 0)
		return cg_error_set(err, -EINVAL, "no trusted public key given");
	if (want && (!want->registry || !want->repository))
		return cg_error_set(err, -EINVAL, "the reference to bind the signature to has no repository");
	keys = calloc(n_keys, sizeof(*keys));
	names = calloc(n_keys, sizeof(*names));
	if (!keys || !names) {
		r = cg_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n_keys; i++) {
		if (!pem_keys[i]) {
			r = cg_error_set(err, -EINVAL, "trusted key %zu is NULL", i);
			goto out;
		}
		if ((r = key_load(pem_keys[i], i, &keys[i], err)) < 0)
			goto out;
		if (strncmp(pem_keys[i], "-----BEGIN", 10) == 0)
			r = asprintf(&names[i], "key %zu", i);
		else
			r = asprintf(&names[i], "%s", pem_keys[i]);
		if (r < 0) {
			names[i] = NULL;
			r = cg_error_set(err, -ENOMEM, "out of memory");
			goto out;
		}
		r = 0;
	}
	if ((r = cg_oci_index_load(dir, &index, err)) < 0)
		goto out;
	snprintf(tag, sizeof(tag), "sha256-%s.sig", img->manifest_digest + 7);
	for (size_t i = 0; i < index.n_items; i++) {
		const struct cg_oci_desc *d = &index.items[i];
		struct cg_oci_manifest sig = { 0 };
		struct cg_error serr = { 0 };
		const char *t;

		if (!d->ref_name)
			continue;
		t = strrchr(d->ref_name, ':'); /* "repo:sha256-<hex>.sig" or the bare tag */
		if (strcmp(t ? t + 1 : d->ref_name, tag) != 0)
			continue;
		n_sig++;
		if (cg_oci_manifest_load(dir, d, &sig, &serr) < 0) {
			verdict_offer(&best, STAGE_BLOB, CG_SIGN_BAD_PAYLOAD, NULL, "signature manifest: %s", serr.msg);
			continue;
		}
		for (size_t l = 0; l < sig.n_items && best.stage != STAGE_VALID; l++) {
			char where[96];
			snprintf(where, sizeof(where), "signature %.19s %s", d->digest, sig.items[l].path);
			layer_check(dir, &sig.items[l], where, keys, (const char *const *)names, n_keys,
				    img->manifest_digest, want, &best);
		}
		cg_oci_manifest_release(&sig);
		if (best.stage == STAGE_VALID)
			break;
	}
	if (n_sig == 0)
		snprintf(best.reason, sizeof(best.reason), "no signature: index.json has no manifest tagged %s", tag);
	else if (best.stage == STAGE_NONE) {
		best.status = CG_SIGN_MISSING;
		snprintf(best.reason, sizeof(best.reason), "signature manifest %s holds no simple-signing layer", tag);
	}
	memset(ret, 0, sizeof(*ret));
	ret->status = best.status;
	snprintf(ret->reason, sizeof(ret->reason), "%s", best.reason);
	snprintf(ret->identity, sizeof(ret->identity), "%s", best.identity);
	snprintf(ret->digest, sizeof(ret->digest), "%s", best.digest);
out:
	cg_oci_manifest_release(&index);
	if (keys)
		pkeys_free(keys, n_keys);
	if (names)
		cg_strv_free(names, n_keys);
	return r;
}
