// SPDX-License-Identifier: Apache-2.0
/*
 * The smallest HTTPS admission server on libmicrohttpd (GnuTLS), for
 * bench/webhook_bench.sh only: the issue asked to choose the HTTP library
 * with numbers, so the two Debian alternatives to libh2o answer the same
 * POST /validate with the same cg_admission_review() under the built-in
 * policy, and wrk measures all three in one run. Not a product: no reloads,
 * no metrics, no deadline.
 *   webhook_mhd PORT CERT.pem KEY.pem THREADS
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include <capgate/admission.h>

static struct cg_policy *policy;

struct body {
	char *buf;
	size_t len, cap;
	bool too_big;
};

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s = NULL;
	size_t n = 0;

	if (!f || getdelim(&s, &n, '\0', f) < 0) {
		fprintf(stderr, "webhook_mhd: cannot read %s\n", path);
		exit(2);
	}
	fclose(f);
	return s;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code, const char *type, const char *s, size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)s, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	MHD_add_response_header(r, "Content-Type", type);
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *data, size_t *data_size, void **con_cls)
{
	struct body *b = *con_cls;

	(void)cls;
	(void)version;
	if (strcmp(url, "/healthz") == 0)
		return reply(c, 200, "text/plain", "ok\n", 3);
	if (strcmp(url, "/validate") != 0)
		return reply(c, 404, "text/plain", "not found\n", 10);
	if (strcmp(method, "POST") != 0)
		return reply(c, 405, "text/plain", "POST an AdmissionReview\n", 24);
	if (!b) { /* the first call: headers only */
		if (!(b = calloc(1, sizeof(*b))))
			return MHD_NO;
		*con_cls = b;
		return MHD_YES;
	}
	if (*data_size) {
		if (b->len + *data_size > CG_ADMISSION_MAX_BODY) {
			b->too_big = true;
		} else {
			if (b->len + *data_size > b->cap) {
				size_t cap = (b->len + *data_size) * 2;
				char *nb = realloc(b->buf, cap);
				if (!nb)
					return MHD_NO;
				b->buf = nb;
				b->cap = cap;
			}
			memcpy(b->buf + b->len, data, *data_size);
			b->len += *data_size;
		}
		*data_size = 0;
		return MHD_YES;
	}
	{
		struct cg_admission_opts o = { .sz = sizeof(o) };
		struct cg_admission_result res;
		struct cg_error err = { 0 };
		enum MHD_Result ret;

		if (b->too_big)
			return reply(c, 413, "text/plain", "too large\n", 10);
		if (cg_admission_review(policy, b->buf ? b->buf : "", b->len, &o, &res, &err) < 0)
			return reply(c, 500, "text/plain", "out of memory\n", 14);
		ret = reply(c, 200, "application/json", res.response, res.response_len);
		cg_admission_result_release(&res);
		return ret;
	}
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct body *b = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (b) {
		free(b->buf);
		free(b);
		*con_cls = NULL;
	}
}

int main(int argc, char **argv)
{
	struct cg_error err = { 0 };
	struct MHD_Daemon *d;

	if (argc != 5) {
		fprintf(stderr, "usage: webhook_mhd PORT CERT.pem KEY.pem THREADS\n");
		return 2;
	}
	if (cg_policy_default(&policy, &err) < 0) {
		fprintf(stderr, "webhook_mhd: %s\n", err.msg);
		return 2;
	}
	d = MHD_start_daemon(MHD_USE_TLS | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG,
			     (uint16_t)atoi(argv[1]), NULL, NULL, on_request, NULL, MHD_OPTION_HTTPS_MEM_CERT,
			     slurp(argv[2]), MHD_OPTION_HTTPS_MEM_KEY, slurp(argv[3]), MHD_OPTION_THREAD_POOL_SIZE,
			     (unsigned)atoi(argv[4]), MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL,
			     MHD_OPTION_CONNECTION_LIMIT, 1024u, MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "webhook_mhd: cannot start the server on port %s\n", argv[1]);
		return 2;
	}
	printf("listening on 127.0.0.1:%s\n", argv[1]);
	fflush(stdout);
	pause();
	MHD_stop_daemon(d);
	cg_policy_free(policy);
	return 0;
}
