// SPDX-License-Identifier: Apache-2.0
/*
 * The smallest HTTPS admission server on civetweb (OpenSSL), for
 * bench/webhook_bench.sh only: the same POST /validate and the same
 * cg_admission_review() under the built-in policy as capgate webhook, so
 * the three libraries are measured side by side. Not a product: no
 * reloads, no metrics, no deadline.
 *   webhook_civetweb PORT CERT+KEY.pem THREADS
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <civetweb.h>

#include <capgate/admission.h>

static struct cg_policy *policy;

/* Headers and body in one write: two would be two TLS records, and Nagle's
 * algorithm would hold the second for the client's delayed ACK (40 ms). */
static int reply(struct mg_connection *c, int code, const char *type, const char *s, size_t len)
{
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: keep-alive\r\n\r\n",
			 code, code == 200 ? "OK" : "Error", type, len);
	char *buf = malloc((size_t)n + len);

	if (!buf)
		return 500;
	memcpy(buf, head, (size_t)n);
	memcpy(buf + n, s, len);
	mg_write(c, buf, (size_t)n + len);
	free(buf);
	return code;
}

static int on_validate(struct mg_connection *c, void *cbdata)
{
	const struct mg_request_info *ri = mg_get_request_info(c);
	struct cg_admission_opts o = { .sz = sizeof(o) };
	struct cg_admission_result res;
	struct cg_error err = { 0 };
	long long want = ri->content_length;
	char *buf;
	size_t len = 0;
	int n;

	(void)cbdata;
	if (strcmp(ri->request_method, "POST") != 0)
		return reply(c, 405, "text/plain", "POST an AdmissionReview\n", 24);
	if (want < 0 || want > (long long)CG_ADMISSION_MAX_BODY)
		return reply(c, 413, "text/plain", "too large\n", 10);
	if (!(buf = malloc((size_t)want + 1)))
		return reply(c, 500, "text/plain", "out of memory\n", 14);
	while (len < (size_t)want && (n = mg_read(c, buf + len, (size_t)want - len)) > 0)
		len += (size_t)n;
	if (cg_admission_review(policy, buf, len, &o, &res, &err) < 0) {
		free(buf);
		return reply(c, 500, "text/plain", "out of memory\n", 14);
	}
	free(buf);
	reply(c, 200, "application/json", res.response, res.response_len);
	cg_admission_result_release(&res);
	return 200;
}

static int on_healthz(struct mg_connection *c, void *cbdata)
{
	(void)cbdata;
	return reply(c, 200, "text/plain", "ok\n", 3);
}

int main(int argc, char **argv)
{
	struct cg_error err = { 0 };
	struct mg_callbacks cb = { 0 };
	struct mg_context *ctx;
	char ports[64];

	if (argc != 4) {
		fprintf(stderr, "usage: webhook_civetweb PORT CERT+KEY.pem THREADS\n");
		return 2;
	}
	if (cg_policy_default(&policy, &err) < 0) {
		fprintf(stderr, "webhook_civetweb: %s\n", err.msg);
		return 2;
	}
	if (!mg_check_feature(MG_FEATURES_TLS) || !mg_init_library(MG_FEATURES_TLS)) {
		fprintf(stderr, "webhook_civetweb: civetweb cannot start TLS (built for OpenSSL 1.1, it loads libssl.so at run "
				"time: see bench/civetweb_openssl3_shim.c)\n");
		return 2;
	}
	snprintf(ports, sizeof(ports), "127.0.0.1:%ss", argv[1]);
	const char *options[] = { "listening_ports", ports, "ssl_certificate", argv[2], "num_threads", argv[3],
				  "enable_keep_alive", "yes", "ssl_protocol_version", "4", /* TLS 1.2 and up */
				  "request_timeout_ms", "10000", "tcp_nodelay", "1", NULL };
	if (!(ctx = mg_start(&cb, NULL, options))) {
		fprintf(stderr, "webhook_civetweb: cannot start the server on port %s\n", argv[1]);
		return 2;
	}
	mg_set_request_handler(ctx, "/validate", on_validate, NULL);
	mg_set_request_handler(ctx, "/healthz", on_healthz, NULL);
	printf("listening on 127.0.0.1:%s\n", argv[1]);
	fflush(stdout);
	pause();
	mg_stop(ctx);
	cg_policy_free(policy);
	return 0;
}
