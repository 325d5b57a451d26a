// SPDX-License-Identifier: Apache-2.0
/*
 * OCI runtime bundles: capgate's closure enforced by a container runtime.
 *
 * cg_bundle_apply rewrites config.json member by member: only
 * linux.seccomp and one annotation change, everything the bundle's maker
 * wrote (mounts, hooks, capabilities, fields capgate does not know) is
 * copied through, so applying a closure never weakens another setting.
 * The profile is the closure with capgate's fields stripped (phases,
 * counts, comments): what every runtime's parser accepts.
 *
 * cg_bundle_run makes a bundle of its own and runs it. What each runtime
 * needs on a machine like this one (cgroup v1 with a cgroup2 mount beside
 * it, "hybrid"), found by running them:
 *   runsc  --network=none (no CNI here) and --oci-seccomp, without which
 *          gVisor ignores linux.seccomp and enforces only its own host
 *          filter. As root it chowns the stdio it is given to nobody, so it
 *          only ever gets pipes capgate made, never the caller's files
 *          (/dev/null included).
 *   crun   refuses a hybrid hierarchy ("cgroups in hybrid mode not
 *          supported"): it runs in a private mount namespace where the
 *          cgroup2 mount (/sys/fs/cgroup/unified) is detached.
 *   runc   runs as it is.
 * Every runtime gets its own state directory (--root), so no container
 * from another run or tool is seen or touched.
 */
#include <capgate/bundle.h>
#include <capgate/file.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "closure/capabilities.h"
#include "core/json.h"
#include "static/oci.h"

/* The closure as the plain OCI profile a runtime reads. */
static int seccomp_json(const struct cg_closure *c, struct cg_strbuf *out)
{
	struct cg_closure *p = cg_closure_dup(c);
	int r;

	if (!p)
		return -ENOMEM;
	cg_closure_strip_extensions(p);
	cg_strbuf_init(out);
	r = cg_closure_serialize(p, true, out);
	cg_closure_free(p);
	return r;
}

static void annotations_write(struct cg_json *j, struct fy_node *ann, const char *digest, const char *source,
			      int *r, struct cg_error *err)
{
	struct fy_node_pair *p;
	void *it = NULL;
	char kb[1024];

	cg_json_key(j, "annotations");
	cg_json_obj_open(j);
	while (*r == 0 && cg_doc_is_mapping(ann) && (p = fy_node_mapping_iterate(ann, &it)) != NULL) {
		const char *k = cg_doc_key(p, kb, sizeof(kb));
		if (!k || strcmp(k, CG_ANN_CLOSURE_DIGEST) != 0)
			*r = cg_doc_json_pair(p, j, source, err);
	}
	cg_json_kv_str(j, CG_ANN_CLOSURE_DIGEST, digest);
	cg_json_obj_close(j);
}

static void linux_write(struct cg_json *j, struct fy_node *lx, const struct cg_strbuf *prof, const char *source,
			int *r, struct cg_error *err)
{
	struct fy_node_pair *p;
	void *it = NULL;
	char kb[64];

	cg_json_key(j, "linux");
	cg_json_obj_open(j);
	while (*r == 0 && cg_doc_is_mapping(lx) && (p = fy_node_mapping_iterate(lx, &it)) != NULL) {
		const char *k = cg_doc_key(p, kb, sizeof(kb));
		if (!k || strcmp(k, "seccomp") != 0)
			*r = cg_doc_json_pair(p, j, source, err);
	}
	cg_json_key(j, "seccomp");
	cg_json_raw(j, prof->buf, prof->len);
	cg_json_obj_close(j);
}

int cg_bundle_apply(const char *bundle, const struct cg_closure *c, struct cg_error *err)
{
	_cleanup_free_ char *path = NULL, *buf = NULL;
	struct fy_document *doc = NULL;
	struct fy_node_pair *p;
	struct cg_strbuf prof, out;
	struct cg_json j;
	bool seen_linux = false, seen_ann = false;
	char digest[72], kb[64];
	void *it = NULL;
	size_t len = 0;
	int r;

	if (!bundle || !c)
		return cg_error_set(err, -EINVAL, "apply needs a bundle and a closure");
	if (asprintf(&path, "%s/config.json", bundle) < 0)
		return cg_error_set(err, -ENOMEM, "out of memory");
	if ((r = cg_read_file_max(path, CG_BLOB_MAX, CG_READ_REGULAR, &buf, &len, err)) < 0)
		return r;
	if ((r = cg_oci_json_parse(buf, len, path, &doc, err)) < 0)
		return r;
	if ((r = seccomp_json(c, &prof)) < 0 || (r = cg_closure_digest(c, digest)) < 0) {
		fy_document_destroy(doc);
		cg_strbuf_release(&prof);
		return cg_error_set(err, r, "out of memory");
	}
	cg_strbuf_init(&out);
	cg_json_init(&j, &out, 2);
	cg_json_obj_open(&j);
	while (r == 0 && (p = fy_node_mapping_iterate(fy_document_root(doc), &it)) != NULL) {
		const char *k = cg_doc_key(p, kb, sizeof(kb));
		struct fy_node *v = fy_node_pair_value(p);
		if (k && strcmp(k, "linux") == 0 && (cg_doc_is_mapping(v) || cg_doc_is_null(v))) {
			seen_linux = true;
			linux_write(&j, v, &prof, path, &r, err);
		} else if (k && strcmp(k, "annotations") == 0 && (cg_doc_is_mapping(v) || cg_doc_is_null(v))) {
			seen_ann = true;
			annotations_write(&j, v, digest, path, &r, err);
		} else if (k && (strcmp(k, "linux") == 0 || strcmp(k, "annotations") == 0)) {
			r = cg_doc_error(err, path, v, k, "expected an object");
		} else {
			r = cg_doc_json_pair(p, &j, path, err);
		}
	}
	if (r == 0 && !seen_linux)
		linux_write(&j, NULL, &prof, path, &r, err);
	if (r == 0 && !seen_ann)
		annotations_write(&j, NULL, digest, path, &r, err);
	cg_json_obj_close(&j);
	fy_document_destroy(doc);
	cg_strbuf_release(&prof);
	if (r == 0 && (r = cg_json_finish(&j)) < 0)
		r = cg_error_set(err, r, "%s: cannot write the configuration", path);
	if (r == 0)
		r = cg_write_file_atomic(path, out.buf, out.len, 0644, err);
	cg_strbuf_release(&out);
	return r;
}

/* ---- a bundle of capgate's own ------------------------------------------- */

static void str_list(struct cg_json *j, const char *key, const char *const *v, size_t n)
{
	cg_json_key(j, key);
	cg_json_arr_open_inline(j);
	for (size_t i = 0; i < n; i++)
		cg_json_str(j, v[i]);
	cg_json_arr_close(j);
}

static void mount_write(struct cg_json *j, const char *dest, const char *type, const char *src, const char *opts)
{
	char *o = strdup(opts), *save = NULL;

	cg_json_obj_open_inline(j);
	cg_json_kv_str(j, "destination", dest);
	cg_json_kv_str(j, "type", type);
	cg_json_kv_str(j, "source", src);
	cg_json_key(j, "options");
	cg_json_arr_open_inline(j);
	for (char *t = o ? strtok_r(o, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save))
		cg_json_str(j, t);
	cg_json_arr_close(j);
	cg_json_obj_close(j);
	free(o);
}

/* config.json of a bundle for @rootfs (an absolute path) and @args. */
static int config_write(const char *path, const char *rootfs, char *const *args, size_t n_args,
			struct cg_error *err)
{
	static const char *const masked[] = { "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
					      "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
					      "/proc/scsi", "/sys/firmware" };
	static const char *const ro[] = { "/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
					  "/proc/sysrq-trigger" };
	static const char *const ns[] = { "pid", "network", "ipc", "uts", "mount" };
	struct cg_strbuf sb;
	struct cg_json j;
	int r;

	cg_strbuf_init(&sb);
	cg_json_init(&j, &sb, 2);
	cg_json_obj_open(&j);
	cg_json_kv_str(&j, "ociVersion", "1.0.2");
	cg_json_key(&j, "process");
	cg_json_obj_open(&j);
	cg_json_kv_bool(&j, "terminal", false);
	cg_json_key(&j, "user");
	cg_json_obj_open_inline(&j);
	cg_json_kv_int(&j, "uid", 0);
	cg_json_kv_int(&j, "gid", 0);
	cg_json_obj_close(&j);
	cg_json_key(&j, "args");
	cg_json_arr_open_inline(&j);
	for (size_t i = 0; i < n_args; i++)
		cg_json_str(&j, args[i]);
	cg_json_arr_close(&j);
	cg_json_key(&j, "env");
	cg_json_arr_open_inline(&j);
	cg_json_str(&j, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	cg_json_arr_close(&j);
	cg_json_kv_str(&j, "cwd", "/");
	cg_json_key(&j, "capabilities");
	cg_json_obj_open(&j);
	str_list(&j, "bounding", cg_cap_docker_default, cg_cap_docker_default_n);
	str_list(&j, "effective", cg_cap_docker_default, cg_cap_docker_default_n);
	str_list(&j, "permitted", cg_cap_docker_default, cg_cap_docker_default_n);
	cg_json_obj_close(&j);
	cg_json_key(&j, "rlimits");
	cg_json_arr_open(&j);
	cg_json_obj_open_inline(&j);
	cg_json_kv_str(&j, "type", "RLIMIT_NOFILE");
	cg_json_kv_uint(&j, "hard", 1024);
	cg_json_kv_uint(&j, "soft", 1024);
	cg_json_obj_close(&j);
	cg_json_arr_close(&j);
	cg_json_kv_bool(&j, "noNewPrivileges", true);
	cg_json_obj_close(&j);
	cg_json_key(&j, "root");
	cg_json_obj_open_inline(&j);
	cg_json_kv_str(&j, "path", rootfs);
	cg_json_kv_bool(&j, "readonly", true);
	cg_json_obj_close(&j);
	cg_json_kv_str(&j, "hostname", "capgate");
	cg_json_key(&j, "mounts");
	cg_json_arr_open(&j);
	mount_write(&j, "/proc", "proc", "proc", "nosuid,noexec,nodev");
	mount_write(&j, "/dev", "tmpfs", "tmpfs", "nosuid,strictatime,mode=755,size=65536k");
	mount_write(&j, "/dev/pts", "devpts", "devpts", "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620");
	mount_write(&j, "/dev/shm", "tmpfs", "shm", "nosuid,noexec,nodev,mode=1777,size=65536k");
	mount_write(&j, "/sys", "sysfs", "sysfs", "nosuid,noexec,nodev,ro");
	mount_write(&j, "/tmp", "tmpfs", "tmpfs", "nosuid,nodev,mode=1777");
	cg_json_arr_close(&j);
	cg_json_key(&j, "linux");
	cg_json_obj_open(&j);
	cg_json_key(&j, "namespaces");
	cg_json_arr_open(&j);
	for (size_t i = 0; i < CG_ARRAY_SIZE(ns); i++) {
		cg_json_obj_open_inline(&j);
		cg_json_kv_str(&j, "type", ns[i]);
		cg_json_obj_close(&j);
	}
	cg_json_arr_close(&j);
	str_list(&j, "maskedPaths", masked, CG_ARRAY_SIZE(masked));
	str_list(&j, "readonlyPaths", ro, CG_ARRAY_SIZE(ro));
	cg_json_obj_close(&j);
	cg_json_obj_close(&j);
	if ((r = cg_json_finish(&j)) < 0) {
		cg_strbuf_release(&sb);
		return cg_error_set(err, r, "out of memory");
	}
	r = cg_write_file_atomic(path, sb.buf, sb.len, 0644, err);
	cg_strbuf_release(&sb);
	return r;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

static void rm_tree(const char *dir)
{
	if (dir && dir[0])
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

enum runtime_kind { RT_RUNSC,
		    RT_CRUN,
		    RT_RUNC };

static int runtime_kind(const char *name, enum runtime_kind *ret)
{
	const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;

	if (strcmp(base, "runsc") == 0)
		*ret = RT_RUNSC;
	else if (strcmp(base, "crun") == 0)
		*ret = RT_CRUN;
	else if (strcmp(base, "runc") == 0)
		*ret = RT_RUNC;
	else
		return -EINVAL;
	return 0;
}

/* In the child, before exec: what the runtime needs here. */
static void child_setup(enum runtime_kind k, int in, int out, int errfd)
{
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(errfd, 2) < 0)
		_exit(125);
	if (k == RT_CRUN) {
		if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
			dprintf(2, "capgate: crun: cannot make a private mount namespace: %m\n");
			_exit(125);
		}
		if (umount2("/sys/fs/cgroup/unified", MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT) {
			dprintf(2, "capgate: crun: cannot detach /sys/fs/cgroup/unified: %m\n");
			_exit(125);
		}
	}
}

/* Copy the runtime's output to ours until both pipes close. */
static void relay(int out, int errfd)
{
	struct pollfd p[2] = { { .fd = out, .events = POLLIN }, { .fd = errfd, .events = POLLIN } };
	char buf[8192];

	while (p[0].fd >= 0 || p[1].fd >= 0) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < 2; i++) {
			ssize_t n;
			if (p[i].fd < 0 || !p[i].revents)
				continue;
			n = read(p[i].fd, buf, sizeof(buf));
			if (n <= 0) {
				close(p[i].fd);
				p[i].fd = -1;
				continue;
			}
			for (ssize_t o = 0; o < n;) {
				ssize_t w = write(i == 0 ? 1 : 2, buf + o, (size_t)(n - o));
				if (w <= 0)
					break;
				o += w;
			}
		}
	}
}

int cg_bundle_run(const struct cg_closure *c, const struct cg_bundle_opts *o, int *ret_status, struct cg_error *err)
{
	char bundle[] = "/tmp/capgate-bundle-XXXXXX", state[] = "/tmp/capgate-state-XXXXXX";
	_cleanup_free_ char *root = NULL, *cfg = NULL;
	int pin[2] = { -1, -1 }, pout[2] = { -1, -1 }, perr[2] = { -1, -1 }, status = 0, r = 0;
	enum runtime_kind kind;
	char id[64];
	pid_t pid;

	if (!c || !o || !o->runtime || !o->rootfs || !o->n_args || !ret_status)
		return cg_error_set(err, -EINVAL, "a container run needs a runtime, a root file system and a command");
	if (runtime_kind(o->runtime, &kind) < 0)
		return cg_error_set(err, -EINVAL, "runtime '%s': expected runsc, crun or runc", o->runtime);
	if (kind == RT_RUNC) {
		/* runc installs the filter, then checks /proc/self/fd with fstatfs
		 * and, being Go, wakes its threads with futex before it execs the
		 * workload: without them runc fails or hangs after the filter */
		static const char *const need[] = { "fstatfs", "futex" };
		const char **names = NULL;
		size_t n = 0;
		if (cg_closure_permitted_names(c, -1, &names, &n) < 0)
			return cg_error_set(err, -ENOMEM, "out of memory");
		for (size_t k = 0; k < CG_ARRAY_SIZE(need) && r == 0; k++) {
			bool has = false;
			for (size_t i = 0; i < n && !has; i++)
				has = strcmp(names[i], need[k]) == 0;
			if (!has)
				r = cg_error_set(err, -EINVAL,
						 "runc calls fstatfs and futex after it installs the filter, before it execs "
						 "the workload: the closure must permit %s for runc (crun and runsc need nothing)",
						 need[k]);
		}
		free(names);
		if (r < 0)
			return r;
	}
	if (!(root = realpath(o->rootfs, NULL)))
		return cg_error_set(err, -errno, "--rootfs %s: %m", o->rootfs);
	if (!mkdtemp(bundle))
		return cg_error_set(err, -errno, "cannot make a bundle directory: %m");
	if (!mkdtemp(state)) {
		r = cg_error_set(err, -errno, "cannot make a runtime state directory: %m");
		state[0] = '\0';
		goto out;
	}
	if (asprintf(&cfg, "%s/config.json", bundle) < 0) {
		r = cg_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	if ((r = config_write(cfg, root, o->args, o->n_args, err)) < 0 || (r = cg_bundle_apply(bundle, c, err)) < 0)
		goto out;
	snprintf(id, sizeof(id), "capgate-%d", (int)getpid());
	if (pipe2(pin, O_CLOEXEC) < 0 || pipe2(pout, O_CLOEXEC) < 0 || pipe2(perr, O_CLOEXEC) < 0) {
		r = cg_error_set(err, -errno, "pipe: %m");
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		r = cg_error_set(err, -errno, "fork: %m");
		goto out;
	}
	if (pid == 0) {
		const char *bin = o->runtime_bin ? o->runtime_bin : o->runtime;
		const char *argv[16];
		size_t n = 0;

		child_setup(kind, pin[0], pout[1], perr[1]);
		argv[n++] = bin;
		argv[n++] = "--root";
		argv[n++] = state;
		if (kind == RT_RUNSC) {
			argv[n++] = "--network=none";
			argv[n++] = "--oci-seccomp";
		}
		argv[n++] = "run";
		argv[n++] = "--bundle";
		argv[n++] = bundle;
		argv[n++] = id;
		argv[n] = NULL;
		execvp(bin, (char *const *)argv);
		dprintf(2, "capgate: cannot execute %s: %m\n", bin);
		_exit(errno == ENOENT ? 127 : 126);
	}
	close(pin[0]), close(pin[1]), close(pout[1]), close(perr[1]);
	pin[0] = pin[1] = pout[1] = perr[1] = -1;
	relay(pout[0], perr[0]);
	pout[0] = perr[0] = -1;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			r = cg_error_set(err, -errno, "waitpid: %m");
			goto out;
		}
	*ret_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
out:
	for (int i = 0; i < 2; i++) {
		if (pin[i] >= 0)
			close(pin[i]);
		if (pout[i] >= 0)
			close(pout[i]);
		if (perr[i] >= 0)
			close(perr[i]);
	}
	rm_tree(state);
	rm_tree(bundle);
	return r;
}
