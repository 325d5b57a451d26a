/* SPDX-License-Identifier: Apache-2.0 */
/* libcrypto loaded on first use: see crypto.h for why. One lookup table,
 * filled once under pthread_once; a library that cannot be loaded, or lacks
 * one function, leaves no table at all, so no caller can use half of it. */
#include "core/crypto.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <openssl/opensslv.h>

#include "capgate/error.h"

#define CG_STR2(x) #x
#define CG_STR(x) CG_STR2(x)
/* the libcrypto the headers describe: its soname carries the major version */
#define CG_CRYPTO_SONAME "libcrypto.so." CG_STR(OPENSSL_VERSION_MAJOR)

static pthread_once_t once = PTHREAD_ONCE_INIT;
static struct cg_crypto table;
static const struct cg_crypto *loaded;
static char why[256];

static void load(void)
{
	struct cg_crypto t;
	void *h = dlopen(CG_CRYPTO_SONAME, RTLD_NOW | RTLD_LOCAL);
	const char *e;

	if (!h) {
		e = dlerror();
		snprintf(why, sizeof(why), "cannot load %s (OpenSSL, needed for digests and signatures): %s",
			 CG_CRYPTO_SONAME, e ? e : "unknown error");
		return;
	}
#define CG_CRYPTO_LOOKUP(f)                                                                \
	if (!(*(void **)&t.f = dlsym(h, #f))) {                                            \
		snprintf(why, sizeof(why), "%s has no function %s", CG_CRYPTO_SONAME, #f); \
		dlclose(h);                                                                \
		return;                                                                    \
	}
	CG_CRYPTO_FNS(CG_CRYPTO_LOOKUP)
#undef CG_CRYPTO_LOOKUP
	table = t;
	loaded = &table;
}

const struct cg_crypto *cg_crypto(struct cg_error *err)
{
	pthread_once(&once, load);
	if (!loaded)
		cg_error_set(err, -ELIBACC, "%s", why);
	return loaded;
}

int cg_crypto_sha256(const void *p, size_t len, unsigned char md[32], struct cg_error *err)
{
	const struct cg_crypto *c = cg_crypto(err);
	unsigned int mdlen = 0;

	if (!c)
		return -ELIBACC;
	if (!c->EVP_Digest(p, len, md, &mdlen, c->EVP_sha256(), NULL) || mdlen != 32)
		return cg_error_set(err, -ENOMEM, "sha-256 failed");
	return 0;
}
