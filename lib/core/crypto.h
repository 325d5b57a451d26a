/* SPDX-License-Identifier: Apache-2.0 */
/* Internal: OpenSSL's libcrypto, loaded when a digest or a signature is
 * first needed instead of at start-up.
 *
 * Why: `capgate run` starts a sandbox in about as many page faults as
 * bubblewrap, and libcrypto linked into the binary costs ~85 of them on every
 * start (its 340 KB of pointer tables are relocated at load time in a
 * position-independent executable) although `run` never hashes or verifies
 * anything (bench/README.md, "where the start-up time went"). The types and
 * macros still come from OpenSSL's headers; only the functions are looked up,
 * once, from the libcrypto of the same major version the headers describe,
 * and a missing library is an error, never a skipped check (fail closed). */
#ifndef CAPGATE_CRYPTO_H
#define CAPGATE_CRYPTO_H

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

struct cg_error;

/* Every libcrypto function capgate calls. */
#define CG_CRYPTO_FNS(X)                  \
	X(BIO_free)                       \
	X(BIO_new_mem_buf)                \
	X(EVP_Digest)                     \
	X(EVP_DigestFinal_ex)             \
	X(EVP_DigestInit_ex)              \
	X(EVP_DigestSign)                 \
	X(EVP_DigestSignInit)             \
	X(EVP_DigestUpdate)               \
	X(EVP_DigestVerify)               \
	X(EVP_DigestVerifyInit)           \
	X(EVP_EncodeBlock)                \
	X(EVP_MD_CTX_free)                \
	X(EVP_MD_CTX_new)                 \
	X(EVP_PKEY_free)                  \
	X(EVP_PKEY_get0_type_name)        \
	X(EVP_PKEY_get_base_id)           \
	X(EVP_PKEY_get_bits)              \
	X(EVP_PKEY_get_utf8_string_param) \
	X(EVP_sha256)                     \
	X(PEM_read_bio_PUBKEY)            \
	X(PEM_read_bio_PrivateKey)

/* The functions, typed from OpenSSL's own declarations. */
struct cg_crypto {
#define CG_CRYPTO_FIELD(f) __typeof__(f) *f;
	CG_CRYPTO_FNS(CG_CRYPTO_FIELD)
#undef CG_CRYPTO_FIELD
};

/* libcrypto's functions, loading the library on the first call (thread-safe).
 * NULL when it cannot be loaded or lacks a function, with the reason in @err
 * (the loader's message and the library's file name). */
const struct cg_crypto *cg_crypto(struct cg_error *err);

/* SHA-256 of @len bytes at @p into @md (32 bytes): 0, -ELIBACC (no
 * libcrypto: @err says why) or -ENOMEM. */
int cg_crypto_sha256(const void *p, size_t len, unsigned char md[32], struct cg_error *err);

#endif
