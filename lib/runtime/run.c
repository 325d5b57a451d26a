// SPDX-License-Identifier: Apache-2.0
/*
 * What `capgate run` does around the sandbox: the closure an image
 * carries (trusted only when the image's label names its digest), the
 * container run over a private root unpacked from an image, the coverage
 * report of a run, learn mode's output, and the serving trigger made from
 * the command's options. Here and not in src/cmd/run.c so that the command
 * is a front end and a second front end (an agent, the webhook's tests)
 * would not copy it.
 */
#include <capgate/file.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/run.h"

int cg_run_image_open(const char *spec, const char *platform, char **ret_layout, struct cg_image **ret_img,
		      struct cg_error *err)
{
	struct cg_image_open_opts oo = { .sz = sizeof(oo), .platform = platform };
	_cleanup_free_ char *layout = strdup(spec);
	char *colon = layout ? strrchr(layout, ':') : NULL;
	int r;

	if (!layout)
		return cg_error_set(err, -ENOMEM, "out of memory");
	if (colon && !strchr(colon, '/'))
		*colon++ = '\0';
	else
		colon = NULL;
	if ((r = cg_image_open_layout_opts(layout, colon, &oo, ret_img, err)) < 0)
		return r;
	*ret_layout = TAKE_PTR(layout);
	return 0;
}

int cg_run_image_closure(const struct cg_image *img, const struct cg_resolve_opts *rop, struct cg_closure **ret,
			 char ret_digest[72], struct cg_error *err)
{
	_cleanup_(cg_closure_freep) struct cg_closure *c = NULL;
	struct cg_profile *prof = NULL;
	const char *want = cg_image_label(img, CG_LABEL_CLOSURE_DIGEST);
	char digest[72];
	int r;

	if (!img->closure_json)
		return cg_error_set(err, -ENOENT, "carries no closure");
	r = cg_profile_parse(img->closure_json, img->closure_len, "attached closure", &prof, err);
	if (r == 0)
		r = cg_profile_resolve(prof, rop, &c, err);
	cg_profile_free(prof);
	if (r < 0)
		return cg_error_prefix(err, "attached closure: "), r;
	cg_closure_digest(c, digest);
	if (!want || strcmp(want, digest) != 0)
		return cg_error_set(err, -EBADMSG,
				    "the attached closure has digest %s but the image label %s says %s: refused", digest,
				    CG_LABEL_CLOSURE_DIGEST, want ? want : "nothing");
	memcpy(ret_digest, digest, sizeof(digest));
	*ret = TAKE_PTR(c);
	return 0;
}

int cg_run_container(const struct cg_closure *c, const struct cg_bundle_opts *bo, const char *layout,
		     const struct cg_image *img, const struct cg_unpack_opts *uo, int *ret_status, struct cg_error *err)
{
	struct cg_bundle_opts o = *bo;
	char tmp[] = "/tmp/capgate-rootfs-XXXXXX";
	int r;

	if (!bo->runtime || !!bo->rootfs == !!img)
		return cg_error_set(err, -EINVAL, "--runtime goes with one of --rootfs or --image");
	if (img) {
		if (!mkdtemp(tmp))
			return cg_error_set(err, -errno, "cannot make a root directory: %s", strerror(errno));
		if ((r = cg_image_unpack_opts(layout, img, tmp, uo, err)) < 0) {
			char why[CG_ERROR_MAX];
			cg_image_rootfs_remove(tmp);
			snprintf(why, sizeof(why), "%s", err ? err->msg : "");
			r = r == -ENOMEM || r == -EIO ? r : -EINVAL;
			return cg_error_set(err, r, "--image %s: %s: nothing run", layout, why);
		}
		o.rootfs = tmp;
	}
	r = cg_bundle_run(c, &o, ret_status, err);
	if (img)
		cg_image_rootfs_remove(tmp);
	return r;
}

int cg_run_cap_names(const struct cg_sandbox_opts *so, const char **names, size_t *ret_n, struct cg_error *err)
{
	uint64_t caps = 0;
	size_t n = 0;
	int r;

	if ((r = cg_sandbox_caps(so, &caps, err)) < 0)
		return r;
	for (int i = 0; i < 64; i++)
		if ((caps >> i) & 1 && cg_cap_name(i))
			names[n++] = cg_cap_name(i);
	*ret_n = n;
	return 0;
}

int cg_run_serve_trigger(struct cg_sandbox_opts *so, const char *port, const char *call, const char *after,
			 bool notified, struct cg_error *err)
{
	char spec[64];

	so->phased = true;
	if (!!port + !!call + !!after + notified > 1)
		return cg_error_set(err, -EINVAL,
				    "give at most one of --serve-when-listening, --serve-after-call, --serve-after, "
				    "--serve-when-notified");
	if (notified)
		return cg_serve_trigger_parse("sd-notify", &so->serve, err);
	if (!port && !call && !after)
		return 0;
	snprintf(spec, sizeof(spec), "%s:%s", port ? "listening" : call ? "call"
									: "after",
		 port ? port : call ? call
				    : after);
	return cg_serve_trigger_parse(spec, &so->serve, err);
}

int cg_run_coverage_attach(pid_t program, void *user)
{
	struct cg_run_coverage *cov = user;
	struct cg_trace_opts to = { .sz = sizeof(to), .backend = CG_TRACE_BPF, .pid = program };
	return cg_trace_new(&to, &cov->t, &cov->err);
}

void cg_run_coverage_release(struct cg_run_coverage *cov)
{
	cg_trace_free(cov->t);
	cov->t = NULL;
}

int cg_run_coverage_report(struct cg_run_coverage *cov, const struct cg_closure *c, struct cg_strbuf *json,
			   struct cg_strbuf *unused, size_t *ret_used, size_t *ret_total, struct cg_error *err)
{
	_cleanup_(cg_trace_data_freep) struct cg_trace_data *d = NULL;
	_cleanup_(cg_closure_freep) struct cg_closure *used = NULL;
	struct cg_trace_closure_opts co = { .sz = sizeof(co), .no_execve = true, .origin = "coverage" };
	struct cg_strbuf text;
	int r;

	if ((r = cg_trace_snapshot(cov->t, &d, err)) < 0 || (r = cg_trace_data_closure(d, &co, NULL, &used, err)) < 0)
		return cg_error_prefix(err, "coverage: "), r;
	cg_strbuf_init(&text);
	r = cg_learn_coverage(c, used, true, json, ret_used, ret_total);
	if (r == 0)
		r = cg_learn_coverage(c, used, false, &text, NULL, NULL);
	/* the text form has one "unused NAME" line per call never made */
	for (char *l = text.buf; r == 0 && l && *l; l = strchr(l, '\n') + 1)
		if (strncmp(l, "unused ", 7) == 0)
			cg_strbuf_addf(unused, "%s%.*s", unused->len ? ", " : "", (int)strcspn(l + 7, "\n"), l + 7);
	cg_strbuf_release(&text);
	if (r == 0 && (json->oom || unused->oom))
		r = -ENOMEM;
	return r < 0 ? cg_error_set(err, r, "coverage: %s", strerror(-r)) : 0;
}

/* Serialize @c and write it to @path atomically; its digest. */
static int write_closure(const struct cg_closure *c, const char *path, char digest[72], struct cg_error *err)
{
	struct cg_strbuf sb;
	int r;

	cg_strbuf_init(&sb);
	cg_closure_serialize(c, false, &sb);
	r = sb.oom ? cg_error_set(err, -ENOMEM, "out of memory")
		   : cg_write_file_atomic(path, sb.buf ? sb.buf : "", sb.len, 0644, err);
	cg_strbuf_release(&sb);
	if (r == 0)
		cg_closure_digest(c, digest);
	return r;
}

int cg_run_learn_write(const struct cg_learn *l, const struct cg_closure *c, const char *out, const char *merge_into,
		       struct cg_strbuf *notes, struct cg_run_learned *ret, struct cg_error *err)
{
	_cleanup_(cg_closure_freep) struct cg_closure *k = NULL, *u = NULL;
	int r;

	*ret = (struct cg_run_learned){ 0 };
	if ((r = cg_learn_closure(l, notes, &k, err)) < 0)
		return cg_error_prefix(err, "learn: "), r;
	ret->n_rules = k->n_rules;
	if (out && (r = write_closure(k, out, ret->digest, err)) < 0)
		return r;
	if (!merge_into)
		return 0;
	if (cg_closure_union(c, k, &u) < 0)
		return cg_error_set(err, -ENOMEM, "learn: cannot merge: out of memory or too many phases");
	cg_closure_canonicalize(u);
	return write_closure(u, merge_into, ret->merged, err);
}

static void *relay_main(void *arg)
{
	struct cg_run_relay *rl = arg;
	(void)cg_sandbox_tty_relay(rl->child, STDIN_FILENO, STDOUT_FILENO, rl->stop[0], &rl->err);
	return NULL;
}

int cg_run_relay_start(struct cg_run_relay *rl, const struct cg_sandbox_child *child, struct cg_error *err)
{
	sigset_t all, old;
	int r;

	*rl = (struct cg_run_relay){ .child = child, .stop = { -1, -1 } };
	if (child->pty_master < 0)
		return 0;
	if (pipe2(rl->stop, O_CLOEXEC) < 0)
		return cg_error_set(err, -errno, "pipe: %s", strerror(errno));
	/* signals stay with the calling thread (the caller's handlers) */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = pthread_create(&rl->thread, NULL, relay_main, rl);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0)
		return cg_error_set(err, -r, "cannot start the terminal relay: %s", strerror(r));
	rl->running = true;
	return 0;
}

int cg_run_relay_stop(struct cg_run_relay *rl, struct cg_error *err)
{
	int r = 0;

	if (rl->running) {
		(void)!write(rl->stop[1], "", 1);
		pthread_join(rl->thread, NULL);
		rl->running = false;
		if (rl->err.code)
			r = cg_error_set(err, rl->err.code, "%s", rl->err.msg);
	}
	for (int i = 0; i < 2; i++)
		if (rl->stop[i] >= 0)
			close(rl->stop[i]);
	rl->stop[0] = rl->stop[1] = -1;
	return r;
}
