// SPDX-License-Identifier: Apache-2.0
/*
 * capgate oci-hook: record a container's closure from inside the container
 * engine, the job of oci-seccomp-bpf-hook without bcc and LLVM. The engine
 * (Podman, CRI-O; any runtime that runs OCI hooks) runs
 *
 *   prestart  with the container's state on stdin (id, pid, bundle,
 *             annotations): when the annotation io.capgate.trace names a
 *             file, a recorder is started, detached, that follows the
 *             container's init process from its next exec -- the
 *             workload's -- so the runtime's own start-up between here and
 *             that exec never enters the closure. The hook returns once the
 *             recorder is attached: the container cannot run unrecorded.
 *   poststop  stops that recorder (it ends by itself when the container's
 *             processes are gone) and reports whether the closure was
 *             written; the recorder writes it atomically.
 *
 * The annotation is chosen by whoever creates the container, the hook runs
 * as root: the file must lie under --allow-dir, or the hook refuses (and
 * the container does not start). A recorder that cannot be attached fails
 * the hook too: fail closed, never a container recorded by half.
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

#include "../cli.h"
#include "core/doc.h"

#define EXIT_SETUP 125
#define STATE_MAX (1 << 20)
#define STOP_WAIT_SECONDS 60

static const char usage[] = "[--allow-dir DIR] [--state-dir DIR] [--annotation NAME] prestart|poststop";
static const char desc[] =
	"The OCI hook that records a container's closure. Install it for Podman or CRI-O with\n"
	"two hooks.d files (see docs/CONTAINERS.md), then run a container with\n"
	"  --annotation io.capgate.trace=/var/lib/capgate/traces/app.json\n"
	"prestart reads the container state (stdin), starts a recorder that counts the\n"
	"container's calls from the workload's exec on and returns once it is attached;\n"
	"poststop stops it: the closure is written atomically to the annotated file, which\n"
	"must lie under --allow-dir. Without the annotation the hook does nothing.\n"
	"Exit status: 0 done (or nothing to do); 2 usage or bad state; 125 the recorder cannot\n"
	"run or did not write the closure (the engine then stops the container from starting).";

struct hook_args {
	const char *allow_dir, *state_dir, *annotation;
};

struct hook_state {
	char id[129];
	long pid;
	char *bundle;
	char *trace; /* the annotation's value, NULL = not asked for */
};

static void hook_state_release(struct hook_state *st)
{
	free(st->bundle);
	free(st->trace);
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

/* The OCI state on stdin: id, pid, bundle and the trace annotation (from
 * the state, or else from the bundle's config.json). */
static int read_state(const char *name, struct hook_state *st, struct cg_error *err)
{
	const char *src = "<state>";
	_cleanup_free_ char *buf = NULL;
	struct fy_document *doc = NULL;
	struct fy_node *root, *n;
	uint64_t pid = 0;
	size_t len;
	int r;

	if ((r = cg_read_file_max("/dev/stdin", STATE_MAX, 0, &buf, &len, err)) < 0)
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
static void recorder(const struct hook_args *a, const struct hook_state *st, int ready_fd)
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
		_exit(EXIT_SETUP);
	}
	/* held until we exit: poststop waits on it */
	lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lfd < 0 || flock(lfd, LOCK_EX | LOCK_NB) < 0) {
		snprintf(msg, sizeof(msg), "%s: %s", lock, strerror(errno));
		report(ready_fd, msg);
		_exit(EXIT_SETUP);
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
		_exit(EXIT_SETUP);
	}
	snprintf(pidbuf, sizeof(pidbuf), "%d\n", (int)getpid());
	if (cg_write_file_atomic(pidf, pidbuf, strlen(pidbuf), 0600, &err) < 0) {
		report(ready_fd, err.msg);
		_exit(EXIT_SETUP);
	}
	report(ready_fd, NULL);
	close(ready_fd);

	if ((r = cg_trace_record(t, &co, NULL, NULL, &d, &c, &err)) < 0) {
		write_status(status, EXIT_SETUP, err.msg);
		_exit(EXIT_SETUP);
	}
	cg_trace_data_info(d, &di);
	cg_trace_data_free(d);
	if (!di.exec_seen) {
		write_status(status, EXIT_SETUP, "the container's workload never started: no closure written");
		_exit(EXIT_SETUP);
	}
	cg_strbuf_init(&sb);
	cg_closure_serialize(c, false, &sb);
	r = sb.oom ? cg_error_set(&err, -ENOMEM, "out of memory")
		   : cg_write_file_atomic(st->trace, sb.buf, sb.len, 0644, &err);
	cg_strbuf_release(&sb);
	if (r < 0) {
		write_status(status, EXIT_SETUP, err.msg);
		_exit(EXIT_SETUP);
	}
	snprintf(msg, sizeof(msg), "wrote %s%s", st->trace,
		 di.lost_tasks || di.lost_args ? " (the record may be incomplete: a map was full)" : "");
	write_status(status, di.lost_tasks || di.lost_args ? EXIT_FINDINGS : EXIT_OK, msg);
	_exit(EXIT_OK);
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

static int prestart(const struct hook_args *a, const struct hook_state *st)
{
	struct cg_error err = { 0 };
	char buf[600];
	int p[2], log, r;
	ssize_t n;
	pid_t pid;

	if (st->pid <= 0) {
		cli_error("oci-hook", "prestart: the state has no pid");
		return EXIT_USAGE;
	}
	if (check_trace_path(st->trace, a->allow_dir, &err) < 0) {
		cli_error("oci-hook", "prestart: container %s: %s", st->id, err.msg);
		return EXIT_USAGE;
	}
	if ((r = mkdir_parents(a->state_dir)) < 0) {
		cli_error("oci-hook", "prestart: %s: %s", a->state_dir, strerror(-r));
		return EXIT_SETUP;
	}
	_cleanup_free_ char *logf = state_file(a->state_dir, st->id, "log");
	if (!logf || pipe2(p, O_CLOEXEC) < 0) {
		cli_error("oci-hook", "prestart: %s", logf ? strerror(errno) : "out of memory");
		return EXIT_SETUP;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		cli_error("oci-hook", "prestart: fork: %s", strerror(errno));
		return EXIT_SETUP;
	}
	if (pid == 0) {
		/* the engine may wait for the hook's stdio to close: give the
		 * recorder a log file of its own, no fd of the engine's */
		close(p[0]);
		log = open(logf, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);
		if (log < 0 || dup2(log, STDOUT_FILENO) < 0 || dup2(log, STDERR_FILENO) < 0 ||
		    dup2(log, STDIN_FILENO) < 0) {
			report(p[1], "cannot open the recorder's log");
			_exit(EXIT_SETUP);
		}
		if (log > STDERR_FILENO)
			close(log);
		/* nothing else of the engine's stays open in a process that outlives the hook */
		if (p[1] > 3)
			syscall(SYS_close_range, 3, p[1] - 1, 0);
		syscall(SYS_close_range, p[1] + 1, ~0U, 0);
		recorder(a, st, p[1]);
	}
	close(p[1]);
	do
		n = read(p[0], buf, sizeof(buf) - 1);
	while (n < 0 && errno == EINTR);
	close(p[0]);
	if (n > 0 && buf[0] == 'K')
		return EXIT_OK;
	buf[n > 0 ? n : 0] = '\0';
	cli_error("oci-hook", "prestart: %s", n > 1 ? buf + 1 : "the recorder died before it was attached");
	/* nothing of a recorder that never attached is left for poststop */
	waitpid(pid, NULL, 0);
	static const char *const exts[] = { "lock", "pid", "status", "log" };
	for (size_t i = 0; i < CG_ARRAY_SIZE(exts); i++) {
		_cleanup_free_ char *f = state_file(a->state_dir, st->id, exts[i]);
		if (f)
			unlink(f);
	}
	return EXIT_SETUP;
}

static void on_alarm(int sig) { (void)sig; }

static int poststop(const struct hook_args *a, const struct hook_state *st)
{
	_cleanup_free_ char *lock = state_file(a->state_dir, st->id, "lock");
	_cleanup_free_ char *pidf = state_file(a->state_dir, st->id, "pid");
	_cleanup_free_ char *status = state_file(a->state_dir, st->id, "status");
	_cleanup_free_ char *logf = state_file(a->state_dir, st->id, "log");
	_cleanup_free_ char *pbuf = NULL, *sbuf = NULL;
	struct sigaction sa = { .sa_handler = on_alarm };
	struct cg_error err = { 0 };
	int lfd, pidfd = -1, rc;
	size_t len;
	long pid;

	if (!lock || !pidf || !status || !logf) {
		cli_error("oci-hook", "out of memory");
		return EXIT_SETUP;
	}
	lfd = open(lock, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (lfd < 0 && errno == ENOENT && !st->trace)
		return EXIT_OK; /* not recorded, and not asked to be */
	if (lfd < 0) {
		cli_error("oci-hook", "poststop: container %s was not recorded (%s: %s)", st->id, lock,
			  strerror(errno));
		return EXIT_SETUP;
	}
	/* pidfd first, then the lock: if the lock is still held, the pid was
	 * the recorder's when the pidfd was opened */
	if (cg_read_file_max(pidf, 64, 0, &pbuf, &len, NULL) == 0 && (pid = strtol(pbuf, NULL, 10)) > 0)
		pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
	if (flock(lfd, LOCK_EX | LOCK_NB) < 0) {
		if (pidfd >= 0)
			syscall(SYS_pidfd_send_signal, pidfd, SIGTERM, NULL, 0);
		sigaction(SIGALRM, &sa, NULL);
		alarm(STOP_WAIT_SECONDS);
		if (flock(lfd, LOCK_EX) < 0) {
			if (pidfd >= 0)
				syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
			cli_error("oci-hook", "poststop: the recorder of container %s did not stop: killed",
				  st->id);
			close(lfd);
			return EXIT_SETUP;
		}
		alarm(0);
	}
	if (pidfd >= 0)
		close(pidfd);
	if (cg_read_file_max(status, 4096, 0, &sbuf, &len, &err) < 0) {
		cli_error("oci-hook", "poststop: container %s: the recorder wrote no status (see %s)", st->id,
			  logf);
		close(lfd);
		return EXIT_SETUP;
	}
	rc = atoi(sbuf);
	len = strcspn(sbuf, "\n");
	sbuf[len] = '\0';
	if (rc != EXIT_OK)
		cli_error("oci-hook", "poststop: container %s: %s", st->id, strchr(sbuf, ' ') ? strchr(sbuf, ' ') + 1 : sbuf);
	unlink(pidf);
	unlink(status);
	if (rc == EXIT_OK)
		unlink(logf);
	unlink(lock);
	close(lfd);
	return rc;
}

int cmd_oci_hook(int argc, char **argv)
{
	struct hook_args a = {
		.allow_dir = "/var/lib/capgate/traces",
		.state_dir = "/run/capgate/oci-hook",
		.annotation = "io.capgate.trace",
	};
	struct opt opts[] = {
		{ OPT_STRING, 0, "allow-dir", &a.allow_dir, "DIR", "closures may only be written under DIR (default /var/lib/capgate/traces)", NULL },
		{ OPT_STRING, 0, "state-dir", &a.state_dir, "DIR", "the recorders' pid, lock and log files (default /run/capgate/oci-hook)", NULL },
		{ OPT_STRING, 0, "annotation", &a.annotation, "NAME", "the annotation naming the closure file (default io.capgate.trace)", NULL },
		OPT_END_MARK,
	};
	struct hook_state st = { 0 };
	struct cg_error err = { 0 };
	char **args;
	int nargs, r, rc = EXIT_USAGE;

	if ((r = opt_parse("oci-hook", usage, desc, argc, argv, opts, false, &args, &nargs)))
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	if (nargs != 1 || (strcmp(args[0], "prestart") != 0 && strcmp(args[0], "poststop") != 0)) {
		cli_error("oci-hook", "expected 'prestart' or 'poststop'");
	} else if (read_state(a.annotation, &st, &err) < 0) {
		cli_error("oci-hook", "%s: %s", args[0], err.msg);
	} else if (!strcmp(args[0], "poststop")) {
		rc = poststop(&a, &st); /* the bundle may be gone: the state files tell */
	} else if (!st.trace) {
		rc = EXIT_OK; /* not asked to record this container */
	} else {
		rc = prestart(&a, &st);
	}
	hook_state_release(&st);
	free(args);
	return rc;
}
