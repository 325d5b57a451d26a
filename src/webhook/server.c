// SPDX-License-Identifier: Apache-2.0
/*
 * capgate webhook: the static gate in a cluster's admission path.
 *
 * Why this shape: the decision is libcapgate's (cg_admission_review, the
 * same functions as `capgate check`); this file only serves it over HTTPS,
 * so the library never links an HTTP stack. The server is libh2o's own
 * event loop: OpenSSL like the signature code (one crypto stack), HTTP/1.1
 * keep-alive and HTTP/2 (the API server uses HTTP/2 when offered). It is
 * built as its own binary, capgate-webhook, which `capgate webhook` execs
 * (src/cmd/webhook.c): the capgate command links its libraries statically
 * for a fast `run`, and h2o brings the shared libssl/libcrypto, which must
 * not meet a second, static copy of OpenSSL in one process.
 *
 * Evaluation deadline: h2o's loop is one thread, so a decision made on it
 * would stop every other request (and /healthz) for as long as it takes,
 * and a deadline checked inside the evaluation loops would need a check in
 * every loop of the policy, the reader and the profile loader, and still
 * could not stop a slow file read. So decisions run in a small pool of
 * worker threads (--workers) and the loop keeps a timer per request: when
 * --eval-timeout passes first, the loop answers a deny (504, reason
 * "timeout") under the request's uid and drops the late result. A worker
 * cannot be stopped mid-evaluation; it finishes (an evaluation is bounded by
 * the body limit) and is free again. Memory stays bounded: at most
 * --max-pending requests are queued or being judged (each holds a copy of
 * its body, at most --max-body), and one more is denied at once (429,
 * "busy"). The policy is shared read-only by the workers and freed by the
 * last one that uses it after a reload; each worker keeps its own profile
 * cache (the cache is not thread-safe) and starts a new one when the
 * profiles change.
 *
 * Reloads (SIGHUP, or a certificate, key, policy or profile file that
 * changed, checked every second) build the new TLS context, policy and
 * profile cache first and swap them in between requests: a request in
 * flight finishes under what it started with, and a reload that fails
 * keeps the old state and says so (log, metric). Nothing is ever allowed
 * for want of a policy.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <ftw.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define H2O_USE_LIBUV 0 /* libh2o-evloop: h2o's own event loop */
#include <h2o.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <capgate/admission.h>

#include "../cli.h"
#include "core/json.h"

static const char usage[] = "--listen ADDR:PORT --tls-cert FILE --tls-key FILE [--policy FILE] [options]";
static const char desc[] =
	"Serve the static gate as a Kubernetes admission webhook over HTTPS (TLS 1.2+, HTTP/1.1 and\n"
	"HTTP/2): POST /validate (a ValidatingWebhookConfiguration: the verdict of 'capgate check' on the\n"
	"object), POST /mutate (a MutatingWebhookConfiguration: containers with no seccomp profile get the\n"
	"Localhost profile of their image's closure, capgate/sha256-<hex>.json, and the digest is recorded\n"
	"in the annotation io.capgate.closure.digest/<container>), GET /healthz, /readyz and /metrics\n"
	"(Prometheus text). Every body that is not a valid admission.k8s.io/v1 AdmissionReview is denied\n"
	"with a message. Certificate, key, policy and profiles are reloaded on SIGHUP and when the files\n"
	"change, without dropping a request; a reload that fails keeps the old ones. One JSON line per\n"
	"request on stderr (uid, path, verdict, reason). The first line says where it listens.";

/* ---- state ------------------------------------------------------------------ */

struct stamp {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	bool ok;
};

#define N_BUCKETS 12
static const double bucket_le[N_BUCKETS] = { 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
					     0.01, 0.025, 0.05, 0.1, 0.5, 1 };
#define N_REASONS 128

struct reason_count {
	char path[10];
	bool allowed;
	char reason[64];
	unsigned long long n;
};

static struct server {
	/* options */
	const char *cert, *key, *policy_path, *profiles, *fallback, *runtime_class;
	struct opt_list layouts;
	struct cg_resolve_opts rop;
	size_t max_body;
	long max_conns, timeout_ms, eval_timeout_ms, n_workers, max_pending;
	bool no_request_log, test_hooks;
	/* what is being served */
	struct polref *cur;
	atomic_ulong profiles_gen; /* bumped when the profiles change: workers drop their caches */
	struct cg_eval_env env;    /* read-only after start; each worker sets its own cache */
	struct stamp st_cert, st_key, st_policy;
	unsigned long long profiles_sig;
	h2o_globalconf_t config;
	h2o_context_t ctx;
	h2o_accept_ctx_t accept_ctx;
	/* the worker pool: jobs in, answers back through h2o's queue */
	pthread_t *workers;
	pthread_mutex_t lock; /* the job queue, stop, and every job's uid */
	pthread_cond_t wake;
	struct job *head, **tail;
	bool stop;
	long pending; /* jobs queued, running, or finished but not yet collected (loop thread) */
	h2o_multithread_queue_t *mq;
	h2o_multithread_receiver_t done;
	h2o_timeout_t eval_timeout;
	/* metrics */
	unsigned long long requests[5], buckets[N_BUCKETS + 1], reloads_ok, reloads_failed, tls_errors, refused;
	unsigned long long n_answers, n_bad_method, eval_timeouts, busy, late;
	double latency_sum;
	struct reason_count reasons[N_REASONS];
	size_t n_reasons;
	long open_conns;
	bool ready;
	SSL_CTX **retired; /* contexts replaced by a reload */
	size_t n_retired;
} S = { .lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER };

/* The policy the workers judge with: freed by whoever drops it last (a
 * reload swaps in a new one while jobs still hold the old). */
struct polref {
	atomic_uint refs;
	struct cg_policy *p;
};

static struct polref *polref_get(struct polref *r)
{
	atomic_fetch_add(&r->refs, 1);
	return r;
}

static void polref_put(struct polref *r)
{
	if (r && atomic_fetch_sub(&r->refs, 1) == 1) {
		cg_policy_free(r->p);
		free(r);
	}
}

/* One admission request on its way through the pool. The loop thread owns
 * req, slot and timer; the worker owns res and rc until it posts msg; uid
 * is under S.lock. The job is freed by the loop thread when the worker's
 * answer comes back, whether or not anybody still waits for it. */
struct job {
	h2o_multithread_message_t msg;
	struct job *next;
	h2o_req_t *req;    /* NULL once answered, or when the client went away */
	struct job **slot; /* in req's pool: tells the pool's dispose that the job is gone */
	h2o_timeout_entry_t timer;
	size_t which;
	double t0;
	char *body;
	size_t len;
	long delay_ms; /* testing hook: the evaluation takes this much longer */
	unsigned long profiles_gen;
	struct polref *pol;
	atomic_bool cancel;
	char uid[256];
	int rc;
	char err[256];
	struct cg_admission_result res;
};

static volatile sig_atomic_t got_hup, got_term;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_term = 1;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One JSON line on stderr: {"time":...,"level":...,"msg":..., extra}. */
static void log_line(const char *level, const char *msg, const char *k1, const char *v1, const char *k2,
		     const char *v2)
{
	struct cg_strbuf sb;
	struct cg_json j;
	struct timespec ts;
	char t[64];

	clock_gettime(CLOCK_REALTIME, &ts);
	strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%S", gmtime(&ts.tv_sec));
	snprintf(t + strlen(t), sizeof(t) - strlen(t), ".%06ldZ", ts.tv_nsec / 1000);
	cg_strbuf_init(&sb);
	cg_json_init(&j, &sb, 0);
	cg_json_obj_open(&j);
	cg_json_kv_str(&j, "time", t);
	cg_json_kv_str(&j, "level", level);
	cg_json_kv_str(&j, "msg", msg);
	if (k1)
		cg_json_kv_str(&j, k1, v1);
	if (k2)
		cg_json_kv_str(&j, k2, v2);
	cg_json_obj_close(&j);
	if (cg_json_finish(&j) == 0) {
		CG_STRBUF_LIT(&sb, "\n");
		fwrite(sb.buf, 1, sb.len, stderr);
	}
	cg_strbuf_release(&sb);
}

/* ---- loading and reloading ---------------------------------------------------- */

static struct stamp stamp_of(const char *path)
{
	struct stat st;
	struct stamp s = { 0 };

	if (path && stat(path, &st) == 0)
		s = (struct stamp){ st.st_dev, st.st_ino, st.st_size, st.st_mtim, true };
	return s;
}

static bool stamp_eq(const struct stamp *a, const struct stamp *b)
{
	return a->ok == b->ok && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

/* A signature of the profile tree (names, sizes, times, inodes): any
 * change to a profile changes it. */
static unsigned long long tree_sig;
static int tree_visit(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	unsigned long long h = 1469598103934665603ull;
	for (const char *p = path; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	h ^= (unsigned long long)st->st_size * 31 + (unsigned long long)st->st_mtim.tv_nsec * 17 +
	     (unsigned long long)st->st_mtim.tv_sec * 13 + (unsigned long long)st->st_ino;
	tree_sig += h * 2654435761u;
	return 0;
}

static unsigned long long profiles_signature(void)
{
	tree_sig = 0;
	if (S.profiles && nftw(S.profiles, tree_visit, 16, FTW_PHYS) != 0)
		return 1;
	return tree_sig;
}

static void tls_info(const SSL *ssl, int where, int ret)
{
	/* a handshake step that failed with an error queued: not the "want
	 * more input" of a handshake in progress (a fatal error sends no
	 * alert when the peer does not speak TLS at all) */
	if ((where & SSL_CB_EXIT) && ret <= 0 && ERR_peek_error() != 0)
		S.tls_errors++;
}

static SSL_CTX *tls_load(char *why, size_t n_why)
{
	SSL_CTX *c = SSL_CTX_new(TLS_server_method());
	unsigned long e;

	if (!c)
		goto fail;
	SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
	SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_use_certificate_chain_file(c, S.cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(c, S.key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(c) != 1)
		goto fail;
	SSL_CTX_set_info_callback(c, tls_info);
	h2o_ssl_register_alpn_protocols(c, h2o_http2_alpn_protocols);
	return c;
fail:
	e = ERR_get_error();
	snprintf(why, n_why, "%s", e ? ERR_reason_error_string(e) : "cannot create a TLS context");
	ERR_clear_error();
	SSL_CTX_free(c);
	return NULL;
}

/* Load whatever changed (everything with @force); swap only what loaded. */
static int reload(bool force, bool first)
{
	struct stamp sc = stamp_of(S.cert), sk = stamp_of(S.key), sp = stamp_of(S.policy_path);
	unsigned long long sig = profiles_signature();
	bool tls = force || !stamp_eq(&sc, &S.st_cert) || !stamp_eq(&sk, &S.st_key);
	bool pol = force || (S.policy_path && !stamp_eq(&sp, &S.st_policy));
	bool prof = force || sig != S.profiles_sig;
	struct cg_policy *np = NULL;
	struct polref *nr = NULL;
	SSL_CTX *nt = NULL;
	struct cg_error err = { 0 };
	char why[512] = "";

	if (!tls && !pol && !prof)
		return 0;
	if (tls && !(nt = tls_load(why, sizeof(why)))) {
		char m[700];
		snprintf(m, sizeof(m), "%s / %s: %s", S.cert, S.key, why);
		snprintf(why, sizeof(why), "%s", m);
		goto fail;
	}
	if (pol && (S.policy_path ? cg_policy_load(S.policy_path, &np, &err) : cg_policy_default(&np, &err)) < 0) {
		snprintf(why, sizeof(why), "%s", err.msg);
		goto fail;
	}
	if (np && !(nr = calloc(1, sizeof(*nr)))) {
		snprintf(why, sizeof(why), "out of memory");
		goto fail;
	}
	if (nt) {
		/* The replaced context is kept, not freed: libh2o 2.2 goes on
		 * using it after the swap (ASan saw SSL_new read a freed part of
		 * it). A few KB per certificate rotation, until exit. */
		SSL_CTX **rv = realloc(S.retired, (S.n_retired + 1) * sizeof(*rv));
		if (!rv) {
			snprintf(why, sizeof(why), "out of memory");
			goto fail;
		}
		S.retired = rv;
		S.retired[S.n_retired++] = S.accept_ctx.ssl_ctx;
		S.accept_ctx.ssl_ctx = nt;
		S.st_cert = sc;
		S.st_key = sk;
	}
	if (np) {
		nr->p = np;
		atomic_init(&nr->refs, 1);
		polref_put(S.cur); /* jobs in flight keep the old one */
		S.cur = nr;
		S.st_policy = sp;
	}
	if (prof) {
		atomic_fetch_add(&S.profiles_gen, 1);
		S.profiles_sig = sig;
	}
	if (!first) {
		S.reloads_ok++;
		log_line("info", "reloaded", "what",
			 tls && pol ? "certificate, policy" : tls ? "certificate"
						      : pol       ? "policy"
								  : "profiles",
			 "policy", S.cur ? S.cur->p->source : NULL);
	}
	return 0;
fail:
	SSL_CTX_free(nt);
	cg_policy_free(np);
	free(nr);
	if (!first) {
		S.reloads_failed++;
		/* do not try the same files again every second */
		if (tls) {
			S.st_cert = sc;
			S.st_key = sk;
		}
		if (pol)
			S.st_policy = sp;
		log_line("error", "reload failed, still serving the previous configuration", "error", why, NULL, NULL);
	} else {
		cli_error("webhook", "%s", why);
	}
	return -1;
}

/* ---- metrics ------------------------------------------------------------------- */

static const char *const paths[] = { "/validate", "/mutate", "/healthz", "/readyz", "/metrics" };

static void count_answer(const char *path, const struct cg_admission_result *r, double secs)
{
	size_t i;

	S.n_answers++;
	S.latency_sum += secs;
	for (i = 0; i < N_BUCKETS && secs > bucket_le[i]; i++)
		;
	S.buckets[i]++;
	for (i = 0; i < S.n_reasons; i++)
		if (S.reasons[i].allowed == r->allowed && strcmp(S.reasons[i].path, path) == 0 &&
		    strcmp(S.reasons[i].reason, r->reason) == 0)
			break;
	if (i == S.n_reasons) {
		if (S.n_reasons == N_REASONS)
			i = N_REASONS - 1; /* the last slot gathers the rest */
		else {
			S.n_reasons++;
			snprintf(S.reasons[i].path, sizeof(S.reasons[i].path), "%s", path);
			S.reasons[i].allowed = r->allowed;
			snprintf(S.reasons[i].reason, sizeof(S.reasons[i].reason), "%s", r->reason);
		}
	}
	S.reasons[i].n++;
}

static void metrics(struct cg_strbuf *sb)
{
	unsigned long long cum = 0;

	CG_STRBUF_LIT(sb, "# HELP capgate_webhook_requests_total HTTP requests by path.\n"
			  "# TYPE capgate_webhook_requests_total counter\n");
	for (size_t i = 0; i < 5; i++)
		cg_strbuf_addf(sb, "capgate_webhook_requests_total{path=\"%s\"} %llu\n", paths[i], S.requests[i]);
	CG_STRBUF_LIT(sb, "# HELP capgate_webhook_verdicts_total Admission answers by path, verdict and reason (rule id).\n"
			  "# TYPE capgate_webhook_verdicts_total counter\n");
	for (size_t i = 0; i < S.n_reasons; i++)
		cg_strbuf_addf(sb, "capgate_webhook_verdicts_total{path=\"%s\",verdict=\"%s\",reason=\"%s\"} %llu\n",
			       S.reasons[i].path, S.reasons[i].allowed ? "allow" : "deny", S.reasons[i].reason,
			       S.reasons[i].n);
	CG_STRBUF_LIT(sb, "# HELP capgate_webhook_request_duration_seconds Time from a whole request to its answer.\n"
			  "# TYPE capgate_webhook_request_duration_seconds histogram\n");
	for (size_t i = 0; i < N_BUCKETS; i++) {
		cum += S.buckets[i];
		cg_strbuf_addf(sb, "capgate_webhook_request_duration_seconds_bucket{le=\"%g\"} %llu\n", bucket_le[i],
			       cum);
	}
	cum += S.buckets[N_BUCKETS];
	cg_strbuf_addf(sb,
		       "capgate_webhook_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
		       "capgate_webhook_request_duration_seconds_sum %.9f\n"
		       "capgate_webhook_request_duration_seconds_count %llu\n",
		       cum, S.latency_sum, S.n_answers);
	cg_strbuf_addf(sb,
		       "# HELP capgate_webhook_reloads_total Reloads of certificate, key, policy or profiles.\n"
		       "# TYPE capgate_webhook_reloads_total counter\n"
		       "capgate_webhook_reloads_total{result=\"ok\"} %llu\n"
		       "capgate_webhook_reloads_total{result=\"failed\"} %llu\n"
		       "# HELP capgate_webhook_tls_errors_total TLS handshakes and connections that failed.\n"
		       "# TYPE capgate_webhook_tls_errors_total counter\n"
		       "capgate_webhook_tls_errors_total %llu\n"
		       "# HELP capgate_webhook_connections_refused_total Connections closed at once: the limit was reached.\n"
		       "# TYPE capgate_webhook_connections_refused_total counter\n"
		       "capgate_webhook_connections_refused_total %llu\n"
		       "# HELP capgate_webhook_open_connections Connections open now.\n"
		       "# TYPE capgate_webhook_open_connections gauge\n"
		       "capgate_webhook_open_connections %ld\n"
		       "# HELP capgate_webhook_evaluation_timeouts_total Admission requests denied because their evaluation passed --eval-timeout.\n"
		       "# TYPE capgate_webhook_evaluation_timeouts_total counter\n"
		       "capgate_webhook_evaluation_timeouts_total %llu\n"
		       "# HELP capgate_webhook_late_evaluations_total Evaluations that finished after their request had been answered or abandoned.\n"
		       "# TYPE capgate_webhook_late_evaluations_total counter\n"
		       "capgate_webhook_late_evaluations_total %llu\n"
		       "# HELP capgate_webhook_busy_total Admission requests denied at once: --max-pending were waiting.\n"
		       "# TYPE capgate_webhook_busy_total counter\n"
		       "capgate_webhook_busy_total %llu\n"
		       "# HELP capgate_webhook_pending Admission requests queued or being judged now.\n"
		       "# TYPE capgate_webhook_pending gauge\n"
		       "capgate_webhook_pending %ld\n",
		       S.reloads_ok, S.reloads_failed, S.tls_errors, S.refused, S.open_conns, S.eval_timeouts, S.late,
		       S.busy, S.pending);
}

/* ---- HTTP ---------------------------------------------------------------------- */

static void send_text(h2o_req_t *req, int status, const char *reason, const char *type, const char *body,
		      size_t len)
{
	req->res.status = status;
	req->res.reason = reason;
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, type, strlen(type));
	h2o_send_inline(req, body, len);
}

static void log_request(const char *path, const struct cg_admission_result *r, double secs)
{
	struct cg_strbuf sb;
	struct cg_json j;
	struct timespec ts;
	char t[64];

	if (S.no_request_log)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%S", gmtime(&ts.tv_sec));
	snprintf(t + strlen(t), sizeof(t) - strlen(t), ".%06ldZ", ts.tv_nsec / 1000);
	cg_strbuf_init(&sb);
	cg_json_init(&j, &sb, 0);
	cg_json_obj_open(&j);
	cg_json_kv_str(&j, "time", t);
	cg_json_kv_str(&j, "level", "info");
	cg_json_kv_str(&j, "msg", "admission");
	cg_json_kv_str(&j, "path", path);
	cg_json_kv_str(&j, "uid", r->uid);
	cg_json_kv_str(&j, "verdict", r->allowed ? "allow" : "deny");
	cg_json_kv_str(&j, "reason", r->reason);
	cg_json_kv_int(&j, "code", r->code);
	cg_json_kv_bool(&j, "dryRun", r->dry_run);
	if (r->n_patches)
		cg_json_kv_uint(&j, "patches", r->n_patches);
	cg_json_kv_uint(&j, "micros", (unsigned long long)(secs * 1e6));
	cg_json_kv_str(&j, "message", r->message);
	cg_json_obj_close(&j);
	if (cg_json_finish(&j) == 0) {
		CG_STRBUF_LIT(&sb, "\n");
		fwrite(sb.buf, 1, sb.len, stderr);
	}
	cg_strbuf_release(&sb);
}

/* ---- the evaluation pool --------------------------------------------------------- */

/* Send @r as the answer to @req, count and log it. */
static void answer(h2o_req_t *req, size_t which, const struct cg_admission_result *r, double t0)
{
	double dt = now_s() - t0;

	send_text(req, 200, "OK", "application/json", r->response, r->response_len);
	count_answer(paths[which], r, dt);
	log_request(paths[which], r, dt);
}

/* A deny the server makes itself (deadline, full queue), under @uid. */
static void answer_deny(h2o_req_t *req, size_t which, const char *uid, int code, const char *reason,
			const char *message, double t0)
{
	struct cg_admission_result r;
	struct cg_error err = { 0 };

	if (cg_admission_deny(uid, code, reason, message, &r, &err) < 0) {
		/* no answer could be built: a 500 is a deny under failurePolicy Fail */
		log_line("error", "admission failed", "error", err.msg, "path", paths[which]);
		send_text(req, 500, "Internal Server Error", "text/plain", H2O_STRLIT("out of memory\n"));
		return;
	}
	answer(req, which, &r, t0);
	cg_admission_result_release(&r);
}

/* The loop stops waiting for @j: no answer will go to its request. */
static void job_detach(struct job *j)
{
	if (j->slot)
		*j->slot = NULL;
	j->slot = NULL;
	j->req = NULL;
	if (h2o_timeout_is_linked(&j->timer))
		h2o_timeout_unlink(&j->timer);
	atomic_store(&j->cancel, true);
}

static void job_free(struct job *j)
{
	cg_admission_result_release(&j->res);
	polref_put(j->pol);
	free(j->body);
	free(j);
}

/* The request's pool is being freed (answered, or the client went away). */
static void on_req_dispose(void *p)
{
	struct job **slot = p;

	if (*slot)
		job_detach(*slot);
}

static void on_eval_timeout(h2o_timeout_entry_t *entry)
{
	struct job *j = H2O_STRUCT_FROM_MEMBER(struct job, timer, entry);
	h2o_req_t *req = j->req;
	char msg[200], uid[sizeof(j->uid)];

	pthread_mutex_lock(&S.lock);
	memcpy(uid, j->uid, sizeof(uid));
	pthread_mutex_unlock(&S.lock);
	job_detach(j);
	S.eval_timeouts++;
	snprintf(msg, sizeof(msg),
		 "capgate: the evaluation took longer than %ld ms (--eval-timeout) and was given up; denied", S.eval_timeout_ms);
	if (req)
		answer_deny(req, j->which, uid, 504, "timeout", msg, j->t0);
}

/* Answers from the workers, on the loop thread. */
static void on_done(h2o_multithread_receiver_t *recv, h2o_linklist_t *messages)
{
	while (!h2o_linklist_is_empty(messages)) {
		struct job *j = H2O_STRUCT_FROM_MEMBER(struct job, msg.link, messages->next);
		h2o_req_t *req = j->req;

		h2o_linklist_unlink(&j->msg.link);
		S.pending--;
		if (!req) {
			S.late++;
		} else {
			job_detach(j);
			if (j->rc < 0) {
				log_line("error", "admission failed", "error", j->err, "path", paths[j->which]);
				send_text(req, 500, "Internal Server Error", "text/plain", H2O_STRLIT("out of memory\n"));
			} else {
				answer(req, j->which, &j->res, j->t0);
			}
		}
		job_free(j);
	}
}

/* The testing hook's delay, given up as soon as nobody waits for the answer. */
static void test_delay(struct job *j)
{
	for (long left = j->delay_ms; left > 0 && !atomic_load(&j->cancel); left -= 10)
		usleep(10000);
}

static void on_uid(const char *uid, void *user)
{
	struct job *j = user;

	pthread_mutex_lock(&S.lock);
	snprintf(j->uid, sizeof(j->uid), "%s", uid);
	pthread_mutex_unlock(&S.lock);
	if (j->delay_ms) /* the testing hook: inside the review, once the uid is known */
		test_delay(j);
}

static void *worker_main(void *arg)
{
	struct cg_closure_cache *cache = NULL;
	unsigned long cache_gen = 0;

	(void)arg;
	for (;;) {
		struct job *j;

		pthread_mutex_lock(&S.lock);
		while (!S.head && !S.stop)
			pthread_cond_wait(&S.wake, &S.lock);
		if (!S.head) { /* stop, and nothing left */
			pthread_mutex_unlock(&S.lock);
			break;
		}
		j = S.head;
		if (!(S.head = j->next))
			S.tail = &S.head;
		pthread_mutex_unlock(&S.lock);

		if (atomic_load(&j->cancel)) {
			j->rc = -ECANCELED;
		} else {
			struct cg_eval_env env = S.env;
			struct cg_admission_opts o = { .sz = sizeof(o),
						       .env = &env,
						       .mutate = j->which == 1,
						       .fallback_profile = S.fallback,
						       .runtime_class = S.runtime_class,
						       .max_body = S.max_body,
						       .on_uid = on_uid,
						       .user = j };
			struct cg_error err = { 0 };

			if (!cache || cache_gen != j->profiles_gen) {
				cg_closure_cache_free(cache);
				cache = cg_closure_cache_new(); /* NULL: judged without a cache */
				cache_gen = j->profiles_gen;
			}
			env.cache = cache;
			j->rc = cg_admission_review(j->pol->p, j->body ? j->body : "", j->len, &o, &j->res, &err);
			if (j->rc < 0)
				snprintf(j->err, sizeof(j->err), "%s", err.msg);
		}
		h2o_multithread_send_message(&S.done, &j->msg);
	}
	cg_closure_cache_free(cache);
	return NULL;
}

/* Queue @req for a worker, with its deadline; a full queue is a deny. */
static void submit(h2o_req_t *req, size_t which)
{
	struct job *j;
	double t0 = now_s();

	if (S.pending >= S.max_pending) {
		S.busy++;
		answer_deny(req, which, NULL, 429, "busy",
			    "capgate: too many admission requests are waiting (--max-pending); denied, retry", t0);
		return;
	}
	if (req->entity.len > S.max_body) {
		/* denied by its length alone, on this thread: not copied, not queued */
		struct cg_admission_opts o = { .sz = sizeof(o), .max_body = S.max_body };
		struct cg_admission_result r;
		struct cg_error err = { 0 };

		if (cg_admission_review(S.cur->p, req->entity.base, req->entity.len, &o, &r, &err) < 0) {
			log_line("error", "admission failed", "error", err.msg, "path", paths[which]);
			send_text(req, 500, "Internal Server Error", "text/plain", H2O_STRLIT("out of memory\n"));
			return;
		}
		answer(req, which, &r, t0);
		cg_admission_result_release(&r);
		return;
	}
	if (!(j = calloc(1, sizeof(*j))) || !(j->slot = h2o_mem_alloc_shared(&req->pool, sizeof(*j->slot), on_req_dispose)) ||
	    (req->entity.len && !(j->body = malloc(req->entity.len)))) {
		if (j) {
			if (j->slot)
				*j->slot = NULL;
			free(j);
		}
		log_line("error", "admission failed", "error", "out of memory", "path", paths[which]);
		send_text(req, 500, "Internal Server Error", "text/plain", H2O_STRLIT("out of memory\n"));
		return;
	}
	*j->slot = j;
	j->req = req;
	j->which = which;
	j->t0 = t0;
	/* the worker reads its own copy: the request's buffers go when the client does */
	j->len = req->entity.len;
	if (j->len)
		memcpy(j->body, req->entity.base, j->len);
	if (S.test_hooks) {
		/* internal, for the tests only (CAPGATE_WEBHOOK_TEST_HOOKS=1 in
		 * the environment): the evaluation takes this much longer */
		ssize_t h = h2o_find_header_by_str(&req->headers, H2O_STRLIT("x-capgate-test-delay-ms"), -1);
		if (h >= 0) {
			char v[16];
			snprintf(v, sizeof(v), "%.*s", (int)req->headers.entries[h].value.len,
				 req->headers.entries[h].value.base);
			j->delay_ms = strtol(v, NULL, 10);
		}
	}
	j->pol = polref_get(S.cur);
	j->profiles_gen = atomic_load(&S.profiles_gen);
	atomic_init(&j->cancel, false);
	j->timer.cb = on_eval_timeout;
	h2o_timeout_link(S.ctx.loop, &S.eval_timeout, &j->timer);
	S.pending++;
	pthread_mutex_lock(&S.lock);
	*S.tail = j;
	S.tail = &j->next;
	pthread_cond_signal(&S.wake);
	pthread_mutex_unlock(&S.lock);
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
	h2o_iovec_t p = req->path_normalized;
	bool post = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST"));
	bool get = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET"));
	size_t which;

	for (which = 0; which < 5; which++)
		if (h2o_memis(p.base, p.len, paths[which], strlen(paths[which])))
			break;
	if (which == 5)
		return -1; /* 404 */
	S.requests[which]++;
	if (which <= 1) {
		if (!post) {
			S.n_bad_method++;
			send_text(req, 405, "Method Not Allowed", "text/plain", H2O_STRLIT("POST an AdmissionReview\n"));
			return 0;
		}
		submit(req, which);
		return 0;
	}
	if (!get) {
		send_text(req, 405, "Method Not Allowed", "text/plain", H2O_STRLIT("GET only\n"));
		return 0;
	}
	if (which == 2) {
		send_text(req, 200, "OK", "text/plain", H2O_STRLIT("ok\n"));
	} else if (which == 3) {
		if (S.ready && !got_term)
			send_text(req, 200, "OK", "text/plain", H2O_STRLIT("ready\n"));
		else
			send_text(req, 503, "Service Unavailable", "text/plain", H2O_STRLIT("not ready\n"));
	} else {
		struct cg_strbuf sb;
		cg_strbuf_init(&sb);
		metrics(&sb);
		send_text(req, 200, "OK", "text/plain; version=0.0.4", sb.buf ? sb.buf : "", sb.len);
		cg_strbuf_release(&sb);
	}
	return 0;
}

static void on_conn_close(void *data)
{
	S.open_conns--;
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
	h2o_socket_t *sock;

	if (err)
		return;
	for (int i = 0; i < 64 && (sock = h2o_evloop_socket_accept(listener)) != NULL; i++) {
		if (S.open_conns >= S.max_conns) {
			S.refused++;
			h2o_socket_close(sock);
			continue;
		}
		S.open_conns++;
		sock->on_close.cb = on_conn_close;
		sock->on_close.data = NULL;
		h2o_accept(&S.accept_ctx, sock);
	}
}

/* Bind ADDR:PORT ("[::1]:8443", "0.0.0.0:8443", port 0 = any free port). */
static int listen_on(const char *spec, char *bound, size_t n_bound)
{
	char host[256], port[16];
	const char *colon = strrchr(spec, ':');
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV },
			*ai = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd = -1, one = 1;
	size_t hl;

	if (!colon || colon == spec || strlen(colon + 1) >= sizeof(port) || !colon[1])
		return cli_error("webhook", "--listen: expected ADDR:PORT, got '%s'", spec), -1;
	hl = colon - spec;
	if (spec[0] == '[' && hl >= 2 && spec[hl - 1] == ']')
		snprintf(host, sizeof(host), "%.*s", (int)(hl - 2), spec + 1);
	else
		snprintf(host, sizeof(host), "%.*s", (int)hl, spec);
	snprintf(port, sizeof(port), "%s", colon + 1);
	if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai)
		return cli_error("webhook", "--listen: '%s' is not a numeric address and port", spec), -1;
	if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1024) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		cli_error("webhook", "--listen %s: %s", spec, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	{
		char h[128], sv[16];
		getnameinfo((struct sockaddr *)&ss, sl, h, sizeof(h), sv, sizeof(sv), NI_NUMERICHOST | NI_NUMERICSERV);
		snprintf(bound, n_bound, ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", h, sv);
	}
	return fd;
}

int cmd_webhook(int argc, char **argv)
{
	struct cli_resolve ro = { 0 };
	const char *listen_spec = NULL;
	long max_body = CG_ADMISSION_MAX_BODY, timeout = 10;
	struct opt opts[] = {
		{ OPT_STRING, 0, "listen", &listen_spec, "ADDR:PORT", "address to serve HTTPS on (port 0: any free port)", NULL },
		{ OPT_STRING, 0, "tls-cert", &S.cert, "FILE", "serving certificate chain (PEM)", NULL },
		{ OPT_STRING, 0, "tls-key", &S.key, "FILE", "its private key (PEM)", NULL },
		{ OPT_STRING, 'p', "policy", &S.policy_path, "FILE", "the policy (YAML or JSON); default: the built-in policy", NULL },
		{ OPT_STRING, 0, "profiles", &S.profiles, "DIR", "kubelet-style seccomp profile directory for Localhost profiles", NULL },
		{ OPT_LIST, 0, "layout", &S.layouts, "DIR", "OCI layout holding images referenced by Pods (repeatable)", NULL },
		{ OPT_STRING, 0, "fallback-profile", &S.fallback, "TYPE", "mutate: profile type for a container whose image has no closure digest (RuntimeDefault); default: leave it unset", NULL },
		{ OPT_STRING, 0, "runtime-class", &S.runtime_class, "NAME", "mutate: set runtimeClassName where a Pod has none (gVisor's, say)", NULL },
		{ OPT_INT, 0, "max-body", &max_body, "BYTES", "largest request body judged; larger ones are denied (default 7 MiB)", NULL },
		{ OPT_INT, 0, "timeout", &timeout, "SECONDS", "a request (or TLS handshake) must arrive within this; else the connection is closed (default 10)", NULL },
		{ OPT_INT, 0, "max-connections", &S.max_conns, "N", "open connections at most; more are closed at once (default 1024)", NULL },
		{ OPT_INT, 0, "eval-timeout", &S.eval_timeout_ms, "MS", "an admission request not judged within this is denied (504, reason timeout; default 3000)", NULL },
		{ OPT_INT, 0, "workers", &S.n_workers, "N", "threads that judge admission requests (default 2)", NULL },
		{ OPT_INT, 0, "max-pending", &S.max_pending, "N", "admission requests queued or being judged at most; more are denied at once (429, reason busy; default 64)", NULL },
		{ OPT_BOOL, 0, "no-request-log", &S.no_request_log, NULL, "do not log one line per request (errors and reloads still are)", NULL },
		CLI_RESOLVE_OPTS(&ro),
		OPT_END_MARK,
	};
	h2o_hostconf_t *host;
	h2o_socket_t *lsock;
	char **args, bound[200];
	int nargs, r, fd, rc = EXIT_USAGE;
	double last_poll;
	struct sigaction sa = { .sa_handler = on_signal };

	S.max_conns = 1024;
	S.eval_timeout_ms = 3000;
	S.n_workers = 2;
	S.max_pending = 64;
	if ((r = opt_parse("webhook", usage, desc, argc, argv, opts, false, &args, &nargs)))
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	if (nargs) {
		cli_error("webhook", "unexpected argument '%s'", args[0]);
		goto out;
	}
	if (!listen_spec || !S.cert || !S.key) {
		cli_error("webhook", "--listen, --tls-cert and --tls-key are required (HTTPS only)");
		goto out;
	}
	if (max_body <= 0 || timeout <= 0 || S.max_conns <= 0 || S.eval_timeout_ms <= 0 || S.n_workers <= 0 ||
	    S.max_pending <= 0) {
		cli_error("webhook", "--max-body, --timeout, --max-connections, --eval-timeout, --workers and "
				     "--max-pending must be positive");
		goto out;
	}
	if (S.n_workers > 64) {
		cli_error("webhook", "--workers: at most 64, got %ld", S.n_workers);
		goto out;
	}
	S.test_hooks = getenv("CAPGATE_WEBHOOK_TEST_HOOKS") && strcmp(getenv("CAPGATE_WEBHOOK_TEST_HOOKS"), "1") == 0;
	if (S.fallback && strcmp(S.fallback, "RuntimeDefault") != 0) {
		cli_error("webhook", "--fallback-profile: only RuntimeDefault is a safe default, got '%s'", S.fallback);
		goto out;
	}
	if (cli_resolve_opts("webhook", &ro, &S.rop) < 0)
		goto out;
	S.max_body = (size_t)max_body;
	S.timeout_ms = timeout * 1000;
	S.env = (struct cg_eval_env){ .sz = sizeof(S.env),
				      .profiles_dir = S.profiles,
				      .layouts = S.layouts.items,
				      .n_layouts = S.layouts.n,
				      .resolve = &S.rop };

	h2o_config_init(&S.config);
	S.config.max_request_entity_size = S.max_body * 2; /* between the two: denied with a message; above: 413 */
	S.config.http1.req_timeout = S.timeout_ms;
	S.config.http2.idle_timeout = S.timeout_ms;
	S.config.handshake_timeout = S.timeout_ms;
	host = h2o_config_register_host(&S.config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
	for (size_t i = 0; i < 5; i++) {
		h2o_pathconf_t *pc = h2o_config_register_path(host, paths[i], 0);
		h2o_handler_t *h = h2o_create_handler(pc, sizeof(*h));
		h->on_req = on_req;
	}
	if (reload(true, true) < 0)
		goto out;
	if ((fd = listen_on(listen_spec, bound, sizeof(bound))) < 0)
		goto out;
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	h2o_context_init(&S.ctx, h2o_evloop_create(), &S.config);
	S.accept_ctx.ctx = &S.ctx;
	S.accept_ctx.hosts = S.config.hosts;
	h2o_timeout_init(S.ctx.loop, &S.eval_timeout, (uint64_t)S.eval_timeout_ms);
	S.mq = h2o_multithread_create_queue(S.ctx.loop);
	h2o_multithread_register_receiver(S.mq, &S.done, on_done);
	S.tail = &S.head;
	if (!(S.workers = calloc((size_t)S.n_workers, sizeof(*S.workers)))) {
		cli_error("webhook", "out of memory");
		goto out;
	}
	for (long i = 0; i < S.n_workers; i++) {
		int e = pthread_create(&S.workers[i], NULL, worker_main, NULL);
		if (e) {
			cli_error("webhook", "cannot start a worker thread: %s", strerror(e));
			S.n_workers = i;
			goto out;
		}
	}
	lsock = h2o_evloop_socket_create(S.ctx.loop, fd, H2O_SOCKET_FLAG_DONT_READ);
	h2o_socket_read_start(lsock, on_accept);
	S.ready = true;
	log_line("info", "listening", "addr", bound, "policy", S.cur->p->source);

	last_poll = now_s();
	while (!got_term) {
		if (h2o_evloop_run(S.ctx.loop, 500) != 0 && errno != EINTR)
			break;
		if (got_hup) {
			got_hup = 0;
			reload(true, false);
			last_poll = now_s();
		} else if (now_s() - last_poll >= 1) {
			reload(false, false);
			last_poll = now_s();
		}
	}
	log_line("info", "stopping", got_term ? "signal" : NULL, got_term ? "SIGTERM" : NULL, NULL, NULL);
	rc = EXIT_OK;
out:
	/* the workers finish what they hold (queued jobs are cancelled first) */
	pthread_mutex_lock(&S.lock);
	S.stop = true;
	for (struct job *j = S.head; j; j = j->next)
		atomic_store(&j->cancel, true);
	pthread_cond_broadcast(&S.wake);
	pthread_mutex_unlock(&S.lock);
	for (long i = 0; S.workers && i < S.n_workers; i++)
		pthread_join(S.workers[i], NULL);
	free(S.workers);
	/* collect what they posted (the jobs are freed there) */
	for (int i = 0; S.mq && S.pending > 0 && i < 100; i++)
		h2o_evloop_run(S.ctx.loop, 10);
	free(args);
	polref_put(S.cur);
	for (size_t i = 0; i < S.n_retired; i++)
		SSL_CTX_free(S.retired[i]);
	free(S.retired);
	SSL_CTX_free(S.accept_ctx.ssl_ctx);
	opt_list_release(&S.layouts);
	opt_list_release(&ro.caps);
	return rc;
}
