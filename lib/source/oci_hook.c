// SPDX-License-Identifier: Apache-2.0
/*
 * The OCI hook's recorder, the job of oci-seccomp-bpf-hook without bcc and
 * LLVM. The engine (Podman, CRI-O; any runtime that runs OCI hooks) runs
 * the hook at
 *
 *   prestart  with the container's state on stdin (id, pid, bundle,
 *             annotations): when the annotation names a file, a recorder
 *             is started, detached, that follows the container's init
 *             process from its next exec -- the workload's -- so the
 *             runtime's own start-up between here and that exec never
 *             enters the closure. Prestart returns once the recorder is
 *             attached: the container cannot run unrecorded.
 *   poststop  stops that recorder (it ends by itself when the container's
 *             processes are gone) and reads whether the closure was
 *             written; the recorder writes it atomically.
 *
 * The recorder and the hooks talk through files in the state directory,
 * named by container id: a lock the recorder holds while it lives (poststop
 * waits on it), its pid, its status ("<code> <message>": 0 written, 1
 * written but maybe incomplete, 125 failed) and its log.
 *
 * The annotation is chosen by whoever creates the container, and the hook
 * runs as root: the file must lie under the allowed directory, or the hook
 * refuses (and the container does not start). A recorder that cannot be
 * attached fails the hook too: fail closed, never a container recorded by
 * half. Here and not in the command, so the command only prints.
 */
#include <capgate/file.h>
#include <capgate/trace.h>
#include <errno.h>
#include <fcntl.h>
#include <libfyaml.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/doc.h"
#include "core/error_internal.h"
#include "source/oci_hook.h"

#define STATE_MAX (1 << 20)
#define STOP_WAIT_SECONDS 60
/* the recorder's status codes (the status file's first field) */
enum { REC_WRITTEN = 0,
       REC_INCOMPLETE = 1,
       REC_FAILED = 125 };

/* The options with their defaults in every field left NULL. */
static int hook_opts(const struct cg_oci_hook_opts *opts, struct cg_oci_hook_opts *o, struct cg_error *err)
{
	int r;

	*o = (struct cg_oci_hook_opts){ .sz = sizeof(*o) };
	if ((r = CG_OPTS_COPY(o, opts)) < 0)
		return cg_opts_error(err, r, "cg_oci_hook_opts");
	if (!o->allow_dir)
		o->allow_dir = "/var/lib/capgate/traces";
	if (!o->state_dir)
		o->state_dir = "/run/capgate/oci-hook";
	if (!o->annotation)
		o->annotation = "io.capgate.trace";
	return 0;
}

void cg_oci_hook_state_release(struct cg_oci_hook_state *st)
{
	free(st->bundle);
	free(st->trace);
	st->bundle = st->trace = NULL;
}

/* The annotation @name of mapping @ann, if it is there. */
static int annotation(struct fy_node *ann, const char *name, const char *src, char **ret, struct cg_error *err)
{
	struct fy_node *v;

	if (!ann || cg_doc_is_null(ann))
		return 0;
	if (!cg_doc_is_mapping(ann))
		return cg_doc_error(err, src, ann, "annotations", "expected an object");
	v = fy_node_mapping_lookup_by_string(ann, name, FY_NT);
	if (!v)
		return 0;
	return cg_doc_strdup(v, true, src, name, ret, err);
}

/* Parse one JSON document of @buf; *ret is its root. */
static int parse_json(const char *buf, size_t len, const char *src, struct fy_document **ret, struct cg_error *err)
{
	struct fy_document **docs = NULL;
	size_t n = 0;
	bool json;
	int r = cg_doc_parse_all(buf, len, src, &docs, &n, &json, err);

	if (r < 0)
		return r;
	if (n != 1 || !json || !cg_doc_is_mapping(fy_document_root(docs[0]))) {
		for (size_t i = 0; i < n; i++)
			fy_document_destroy(docs[i]);
		free(docs);
		return cg_error_set(err, -EINVAL, "%s: expected one JSON object", src);
	}
	*ret = docs[0];
	free(docs);
	return 0;
}

int cg_oci_hook_read_state(int fd, const struct cg_oci_hook_opts *opts, struct cg_oci_hook_state *st,
			   struct cg_error *err)
{
	struct cg_oci_hook_opts o;
	const char *name;
	char fdpath[64];
	const char *src = "<state>";
	_cleanup_free_ char *buf = NULL;
	struct fy_document *doc = NULL;
	struct fy_node *root, *n;
	uint64_t pid = 0;
	size_t len;
	int r;

	if ((r = hook_opts(opts, &o, err)) < 0)
		return r;
	name = o.annotation;
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
	if ((r = cg_read_file_max(fdpath, STATE_MAX, 0, &buf, &len, err)) < 0)
		return r;
	if ((r = parse_json(buf, len, src, &doc, err)) < 0)
		return r;
	root = fy_document_root(doc);
	n = fy_node_mapping_lookup_by_string(root, "id", FY_NT);
	if (!n || !cg_doc_scalar(n, st->id, sizeof(st->id)) || !st->id[0] || st->id[0] == '.' ||
	    strspn(st->id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != strlen(st->id)) {
		r = cg_doc_error(err, src, n ? n : root, "id", "expected a container id (letters, digits, _ . -)");
		goto out;
	}
	if ((n = fy_node_mapping_lookup_by_string(root, "pid", FY_NT)) &&
	    (r = cg_doc_u64(n, true, src, "pid", &pid, err)) < 0)
		goto out;
	if (pid > INT_MAX) {
		r = cg_doc_error(err, src, n, "pid", "out of range");
		goto out;
	}
	st->pid = (long)pid;
	if ((n = fy_node_mapping_lookup_by_string(root, "bundle", FY_NT)) &&
	    (r = cg_doc_strdup(n, true, src, "bundle", &st->bundle, err)) < 0)
		goto out;
	if ((r = annotation(fy_node_mapping_lookup_by_string(root, "annotations", FY_NT), name, src, &st->trace,
			    err)) < 0)
		goto out;
	fy_document_destroy(TAKE_PTR(doc));
	if (!st->trace && st->bundle) {
		/* runtimes that leave the annotations out of the state */
		_cleanup_free_ char *cfg = NULL, *cbuf = NULL;
		if (asprintf(&cfg, "%s/config.json", st->bundle) < 0) {
			cfg = NULL;
			r = cg_error_set(err, -ENOMEM, "out of memory");
			goto out;
		}
		if ((r = cg_read_file_max(cfg, CG_READ_PROFILE_MAX, 0, &cbuf, &len, err)) < 0 ||
		    (r = parse_json(cbuf, len, cfg, &doc, err)) < 0)
			goto out;
		r = annotation(fy_node_mapping_lookup_by_string(fy_document_root(doc), "annotations", FY_NT), name,
			       cfg, &st->trace, err);
	}
out:
	if (doc)
		fy_document_destroy(doc);
	return r;
}

/* The annotated file must be an absolute path whose directory is (under)
 * @allow: the annotation comes from whoever creates the container. */
static int check_trace_path(const char *path, const char *allow, struct cg_error *err)
{
	_cleanup_free_ char *dir = NULL, *real_dir = NULL, *real_allow = NULL;
	const char *base = strrchr(path, '/');
	size_t n;

	if (path[0] != '/' || !base || !base[1] || !strcmp(base, "/.") || !strcmp(base, "/.."))
		return cg_error_set(err, -EINVAL, "io.capgate.trace: %s: expected an absolute file path", path);
	if (!(dir = strndup(path, (size_t)(base - path) ? (size_t)(base - path) : 1)))
		return cg_error_set(err, -ENOMEM, "out of memory");
	if (!(real_allow = realpath(allow, NULL)))
		return cg_error_set(err, -errno, "--allow-dir %s: %s", allow, strerror(errno));
	if (!(real_dir = realpath(dir, NULL)))
		return cg_error_set(err, -errno, "io.capgate.trace: %s: %s", dir, strerror(errno));
	n = strlen(real_allow);
	if (strncmp(real_dir, real_allow, n) != 0 || (real_dir[n] != '\0' && real_dir[n] != '/' && n > 1))
		return cg_error_set(err, -EPERM, "io.capgate.trace: %s is not under the allowed directory %s", path,
				    real_allow);
	return 0;
}

static char *state_file(const char *dir, const char *id, const char *ext)
{
	char *p;
	return asprintf(&p, "%s/%s.%s", dir, id, ext) < 0 ? NULL : p;
}

/* Report to the waiting prestart hook: "K" attached, else "E" and why. */
static void report(int fd, const char *msg)
{
	char buf[600];
	int n = snprintf(buf, sizeof(buf), "%s%s", msg ? "E" : "K", msg ? msg : "");
	if (write(fd, buf, (size_t)(n < (int)sizeof(buf) ? n : (int)sizeof(buf) - 1)) < 0) {
		/* the hook has gone: nothing to tell */
	}
}

/* Write "<rc> <message>" as the recorder's status for poststop. */
static void write_status(const char *path, int rc, const char *msg)
{
	char buf[700];
	int n = snprintf(buf, sizeof(buf), "%d %s\n", rc, msg);
	cg_write_file_atomic(path, buf, (size_t)(n < (int)sizeof(buf) ? n : (int)sizeof(buf) - 1), 0600, NULL);
}

/* The detached recorder (a child of the prestart hook): attach, tell the
 * hook, record until the container ends or poststop stops us, write the
 * closure. Never returns. */
static _Noreturn void recorder(const struct cg_oci_hook_opts *a, const struct cg_oci_hook_state *st, int ready_fd)
{
	_cleanup_free_ char *lock = state_file(a->state_dir, st->id, "lock");
	_cleanup_free_ char *pidf = state_file(a->state_dir, st->id, "pid");
	_cleanup_free_ char *status = state_file(a->state_dir, st->id, "status");
	_cleanup_(cg_trace_freep) struct cg_trace *t = NULL;
	_cleanup_(cg_closure_freep) struct cg_closure *c = NULL;
	struct cg_trace_closure_opts co = { .sz = sizeof(co), .origin = "oci-hook" };
	struct cg_trace_data *d = NULL;
	struct cg_trace_data_info di;
	struct cg_error err = { 0 };
	struct cg_strbuf sb;
	sigset_t sigs;
	char msg[600], pidbuf[32];
	int lfd, r;

	setsid();
	if (!lock || !pidf || !status) {
		report(ready_fd, "out of memory");
		_exit(REC_FAILED);
	}
	/* held until we exit: poststop waits on it */
	lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lfd < 0 || flock(lfd, LOCK_EX | LOCK_NB) < 0) {
		snprintf(msg, sizeof(msg), "%s: %s", lock, strerror(errno));
		report(ready_fd, msg);
		_exit(REC_FAILED);
	}
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	struct cg_trace_opts to = {
		.sz = sizeof(to),
		.backend = CG_TRACE_BPF,
		.pid = (pid_t)st->pid,
		.from_exec = true,
		.signals = &sigs,
	};
	if ((r = cg_trace_new(&to, &t, &err)) < 0) {
		snprintf(msg, sizeof(msg), "cannot record container %s (pid %ld): %s", st->id, st->pid, err.msg);
		report(ready_fd, msg);
		_exit(REC_FAILED);
	}
	snprintf(pidbuf, sizeof(pidbuf), "%d\n", (int)getpid());
	if (cg_write_file_atomic(pidf, pidbuf, strlen(pidbuf), 0600, &err) < 0) {
		report(ready_fd, err.msg);
		_exit(REC_FAILED);
	}
	report(ready_fd, NULL);
	close(ready_fd);

	if ((r = cg_trace_record(t, &co, NULL, NULL, &d, &c, &err)) < 0) {
		write_status(status, REC_FAILED, err.msg);
		_exit(REC_FAILED);
	}
	cg_trace_data_info(d, &di);
	cg_trace_data_free(d);
	if (!di.exec_seen) {
		write_status(status, REC_FAILED, "the container's workload never started: no closure written");
		_exit(REC_FAILED);
	}
	cg_strbuf_init(&sb);
	cg_closure_serialize(c, false, &sb);
	r = sb.oom ? cg_error_set(&err, -ENOMEM, "out of memory")
		   : cg_write_file_atomic(st->trace, sb.buf, sb.len, 0644, &err);
	cg_strbuf_release(&sb);
	if (r < 0) {
		write_status(status, REC_FAILED, err.msg);
		_exit(REC_FAILED);
	}
	snprintf(msg, sizeof(msg), "wrote %s%s", st->trace,
		 di.lost_tasks || di.lost_args ? " (the record may be incomplete: a map was full)" : "");
	write_status(status, di.lost_tasks || di.lost_args ? REC_INCOMPLETE : REC_WRITTEN, msg);
	_exit(0);
}

/* mkdir -p @dir (0700 for what it creates). */
static int mkdir_parents(const char *dir)
{
	_cleanup_free_ char *p = strdup(dir);

	if (!p)
		return -ENOMEM;
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	return mkdir(p, 0700) < 0 && errno != EEXIST ? -errno : 0;
}

int cg_oci_hook_check(const struct cg_oci_hook_opts *opts, const struct cg_oci_hook_state *st, struct cg_error *err)
{
	struct cg_oci_hook_opts a;
	int r;

	if ((r = hook_opts(opts, &a, err)) < 0)
		return r;
	if (st->pid <= 0)
		return cg_error_set(err, -EINVAL, "the state has no pid");
	if (!st->trace)
		return cg_error_set(err, -EINVAL, "container %s: no %s annotation", st->id, a.annotation);
	if ((r = check_trace_path(st->trace, a.allow_dir, err)) < 0)
		return cg_error_prefix(err, "container %s: ", st->id), r;
	return 0;
}

int cg_oci_hook_prestart(const struct cg_oci_hook_opts *opts, const struct cg_oci_hook_state *st,
			 struct cg_error *err)
{
	static const char *const exts[] = { "lock", "pid", "status", "log" };
	struct cg_oci_hook_opts a;
	_cleanup_free_ char *logf = NULL;
	char buf[600];
	int p[2], log, r;
	ssize_t n;
	pid_t pid;

	if ((r = hook_opts(opts, &a, err)) < 0 || (r = cg_oci_hook_check(&a, st, err)) < 0)
		return r;
	if ((r = mkdir_parents(a.state_dir)) < 0)
		return cg_error_set(err, r, "%s: %s", a.state_dir, strerror(-r));
	if (!(logf = state_file(a.state_dir, st->id, "log")))
		return cg_error_set(err, -ENOMEM, "out of memory");
	if (pipe2(p, O_CLOEXEC) < 0)
		return cg_error_set(err, -errno, "%s", strerror(errno));
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		r = cg_error_set(err, -errno, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return r;
	}
	if (pid == 0) {
		/* the engine may wait for the hook's stdio to close: give the
		 * recorder a log file of its own, no fd of the engine's */
		close(p[0]);
		log = open(logf, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);
		if (log < 0 || dup2(log, STDOUT_FILENO) < 0 || dup2(log, STDERR_FILENO) < 0 ||
		    dup2(log, STDIN_FILENO) < 0) {
			report(p[1], "cannot open the recorder's log");
			_exit(REC_FAILED);
		}
		if (log > STDERR_FILENO)
			close(log);
		/* nothing else of the engine's stays open in a process that outlives the hook */
		if (p[1] > 3)
			syscall(SYS_close_range, 3, p[1] - 1, 0);
		syscall(SYS_close_range, p[1] + 1, ~0U, 0);
		recorder(&a, st, p[1]);
	}
	close(p[1]);
	do
		n = read(p[0], buf, sizeof(buf) - 1);
	while (n < 0 && errno == EINTR);
	close(p[0]);
	if (n > 0 && buf[0] == 'K')
		return 0;
	buf[n > 0 ? n : 0] = '\0';
	r = cg_error_set(err, -EIO, "%s", n > 1 ? buf + 1 : "the recorder died before it was attached");
	/* nothing of a recorder that never attached is left for poststop */
	waitpid(pid, NULL, 0);
	for (size_t i = 0; i < CG_ARRAY_SIZE(exts); i++) {
		_cleanup_free_ char *f = state_file(a.state_dir, st->id, exts[i]);
		if (f)
			unlink(f);
	}
	return r;
}

static void on_alarm(int sig) { (void)sig; }

/* Stop the recorder that holds @lfd's lock (its pid in @pidf): SIGTERM,
 * then SIGKILL if it has not let go of the lock after a minute. */
static int stop_recorder(int lfd, const char *pidf, const char *id, struct cg_error *err)
{
	_cleanup_free_ char *pbuf = NULL;
	struct sigaction sa = { .sa_handler = on_alarm }, old;
	int pidfd = -1, r = 0;
	size_t len;
	long pid;

	/* pidfd first, then the lock: if the lock is still held, the pid was
	 * the recorder's when the pidfd was opened */
	if (cg_read_file_max(pidf, 64, 0, &pbuf, &len, NULL) == 0 && (pid = strtol(pbuf, NULL, 10)) > 0)
		pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
	if (flock(lfd, LOCK_EX | LOCK_NB) < 0) {
		if (pidfd >= 0)
			syscall(SYS_pidfd_send_signal, pidfd, SIGTERM, NULL, 0);
		sigaction(SIGALRM, &sa, &old);
		alarm(STOP_WAIT_SECONDS);
		if (flock(lfd, LOCK_EX) < 0) {
			if (pidfd >= 0)
				syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
			r = cg_error_set(err, -ETIMEDOUT, "the recorder of container %s did not stop: killed", id);
		}
		alarm(0);
		sigaction(SIGALRM, &old, NULL);
	}
	if (pidfd >= 0)
		close(pidfd);
	return r;
}

int cg_oci_hook_poststop(const struct cg_oci_hook_opts *opts, const struct cg_oci_hook_state *st,
			 struct cg_error *err)
{
	_cleanup_free_ char *lock = NULL, *pidf = NULL, *status = NULL, *logf = NULL, *sbuf = NULL;
	struct cg_oci_hook_opts a;
	const char *msg;
	int lfd, rc, r;
	size_t len;

	if ((r = hook_opts(opts, &a, err)) < 0)
		return r;
	lock = state_file(a.state_dir, st->id, "lock");
	pidf = state_file(a.state_dir, st->id, "pid");
	status = state_file(a.state_dir, st->id, "status");
	logf = state_file(a.state_dir, st->id, "log");
	if (!lock || !pidf || !status || !logf)
		return cg_error_set(err, -ENOMEM, "out of memory");
	lfd = open(lock, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (lfd < 0 && errno == ENOENT && !st->trace)
		return 0; /* not recorded, and not asked to be */
	if (lfd < 0)
		return cg_error_set(err, -errno, "container %s was not recorded (%s: %s)", st->id, lock,
				    strerror(errno));
	if ((r = stop_recorder(lfd, pidf, st->id, err)) < 0) {
		close(lfd);
		return r;
	}
	if (cg_read_file_max(status, 4096, 0, &sbuf, &len, NULL) < 0) {
		close(lfd);
		return cg_error_set(err, -EIO, "container %s: the recorder wrote no status (see %s)", st->id, logf);
	}
	rc = atoi(sbuf);
	sbuf[strcspn(sbuf, "\n")] = '\0';
	msg = strchr(sbuf, ' ') ? strchr(sbuf, ' ') + 1 : sbuf;
	if (rc == REC_INCOMPLETE)
		cg_error_set(err, 0, "container %s: %s", st->id, msg);
	else if (rc != REC_WRITTEN)
		r = cg_error_set(err, -EIO, "container %s: %s", st->id, msg);
	unlink(pidf);
	unlink(status);
	if (rc == REC_WRITTEN)
		unlink(logf);
	unlink(lock);
	close(lfd);
	return r < 0 ? r : rc == REC_INCOMPLETE ? 1
						: 0;
}
