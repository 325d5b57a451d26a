// SPDX-License-Identifier: Apache-2.0
/*
 * For bench/webhook_bench.sh only. Debian 12's civetweb 1.15 is built for
 * OpenSSL 1.1's API and loads libssl.so at run time by name; OpenSSL 3 has
 * no SSL_get_peer_certificate symbol any more (it is a macro for
 * SSL_get1_peer_certificate), so civetweb refuses to start TLS at all. The
 * bench builds this as a libssl.so that needs the real libssl.so.3 and
 * adds the one missing symbol, and points LD_LIBRARY_PATH at it for the
 * civetweb server only. (That civetweb as shipped cannot serve HTTPS here
 * is itself a reason not to build on it.)
 */
void *SSL_get1_peer_certificate(const void *ssl);
void *SSL_get_peer_certificate(const void *ssl);

/* The 1.1 name: a new reference to the peer's certificate, as get1 gives. */
void *SSL_get_peer_certificate(const void *ssl) { return SSL_get1_peer_certificate(ssl); }
