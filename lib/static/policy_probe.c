// SPDX-License-Identifier: Apache-2.0
/* The gVisor baseline, measured: run capgate's syscall probe inside runsc
 * and keep the calls that did not answer ENOSYS. The built-in gvisor baseline
 * (baselines_table.c) was made this way; probing the runsc a site actually
 * runs gives a baselineFile for its policy. runsc is started with fork and
 * exec and an argv: a path with quotes or spaces cannot reach a shell. */
#include <capgate/policy.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/doc.h"
#include "core/json.h"

/* Start @argv[0] (looked up in PATH, as a shell would) with its standard
 * output on *@ret_fd, in directory @dir if given, its standard error
 * discarded if @quiet. -errno if it could not be started. */
static int spawn_reading(char *const argv[], const char *dir, bool quiet, pid_t *ret_pid, int *ret_fd)
{
	int out[2], rep[2], e = 0;
	pid_t pid;

	if (pipe2(out, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(rep, O_CLOEXEC) < 0) {
		e = -errno;
		close(out[0]);
		close(out[1]);
		return e;
	}
	pid = fork();
	if (pid == 0) {
		int nul = quiet ? open("/dev/null", O_WRONLY | O_CLOEXEC) : -1;
		if (dup2(out[1], STDOUT_FILENO) < 0 || (nul >= 0 && dup2(nul, STDERR_FILENO) < 0) ||
		    (dir && chdir(dir) < 0)) {
			e = errno;
		} else {
			execvp(argv[0], argv);
			e = errno;
		}
		if (write(rep[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(e == ENOENT ? 127 : 126);
	}
	if (pid < 0)
		e = -errno;
	close(out[1]);
	close(rep[1]);
	if (pid > 0 && read(rep[0], &e, sizeof(e)) == sizeof(e)) {
		waitpid(pid, NULL, 0);
		e = -e;
	}
	close(rep[0]);
	if (e < 0) {
		close(out[0]);
		return e;
	}
	*ret_pid = pid;
	*ret_fd = out[0];
	return 0;
}

/* The first line of `runsc --version`, or NULL if it does not run. */
static char *runsc_version(const char *runsc)
{
	char *const argv[] = { (char *)runsc, "--version", NULL };
	char line[256], *ver = NULL;
	pid_t pid;
	int fd;
	FILE *f;

	if (spawn_reading(argv, NULL, true, &pid, &fd) < 0)
		return NULL;
	if ((f = fdopen(fd, "r"))) {
		if (fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\n")] = '\0';
			ver = line[0] ? strdup(line) : NULL;
		}
		while (fgets(line, sizeof(line), f))
			;
		fclose(f);
	} else {
		close(fd);
	}
	waitpid(pid, NULL, 0);
	return ver;
}

/* Run the probe and collect the names that answered ENOSYS. */
static int probe_unimplemented(const char *runsc, const char *probe_exe, char ***ret, size_t *ret_n,
			       struct cg_error *err)
{
	char *const argv[] = { (char *)runsc, "--rootless", "--network=none", "do", (char *)probe_exe,
			       "__probe-syscalls", NULL };
	char line[256], **v = NULL;
	size_t n = 0;
	bool saw_header = false;
	int fd, status = 0, r;
	pid_t pid;
	FILE *f;

	if ((r = spawn_reading(argv, "/", false, &pid, &fd)) < 0)
		return cg_error_set(err, r, "cannot start %s: %s", runsc, strerror(-r));
	if (!(f = fdopen(fd, "r"))) {
		close(fd);
		r = -ENOMEM;
	}
	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#')
			saw_header = true;
		else if (r == 0 && cg_syscall_known(line)) {
			char **nv = realloc(v, (n + 1) * sizeof(*nv));
			if (!nv || !(nv[n] = strdup(line)))
				r = -ENOMEM;
			if (nv)
				v = nv;
			n += r == 0;
		}
	}
	if (f)
		fclose(f);
	waitpid(pid, &status, 0);
	if (r == 0 && (!saw_header || !WIFEXITED(status) || WEXITSTATUS(status) != 0))
		r = cg_error_set(err, -EIO, "the probe did not run inside %s (exit status %d)", runsc,
				 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	else if (r < 0)
		r = cg_error_set(err, r, "out of memory");
	if (r < 0) {
		cg_strv_free(v, n);
		return r;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

static bool in_strv(const char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

int cg_policy_probe_gvisor(const char *runsc, const char *probe_exe, struct cg_policy_probe *ret,
			   struct cg_error *err)
{
	struct cg_policy_probe pr = { 0 };
	const char *const *builtin = NULL;
	size_t nb = 0;
	int r;

	if (!(pr.runtime = runsc_version(runsc)))
		return cg_error_set(err, -ENOENT, "%s does not run (install Debian's runsc, or give --runsc PATH)", runsc);
	if ((r = probe_unimplemented(runsc, probe_exe, &pr.unimplemented, &pr.n_unimplemented, err)) < 0) {
		cg_policy_probe_release(&pr);
		return r;
	}
	/* implemented = every x86_64 call capgate knows minus the unimplemented */
	for (size_t i = 0; cg_syscall_name_at(i); i++) {
		const char *name = cg_syscall_name_at(i);
		if (cg_syscall_nr(CG_ARCH_X86_64, name) < 0 ||
		    in_strv((const char *const *)pr.unimplemented, pr.n_unimplemented, name))
			continue;
		const char **nv = realloc(pr.implemented, (pr.n_implemented + 1) * sizeof(*nv));
		if (!nv) {
			cg_policy_probe_release(&pr);
			return cg_error_set(err, -ENOMEM, "out of memory");
		}
		pr.implemented = nv;
		pr.implemented[pr.n_implemented++] = name;
	}
	/* compare with the built-in table */
	cg_baseline_calls("gvisor", &builtin, &nb);
	for (size_t i = 0; i < pr.n_implemented; i++)
		pr.only_probe += !in_strv(builtin, nb, pr.implemented[i]);
	for (size_t k = 0; k < nb; k++)
		pr.only_builtin += !in_strv(pr.implemented, pr.n_implemented, builtin[k]);
	pr.n_builtin = nb;
	*ret = pr;
	return 0;
}

void cg_policy_probe_release(struct cg_policy_probe *pr)
{
	free(pr->runtime);
	free(pr->implemented);
	cg_strv_free(pr->unimplemented, pr->n_unimplemented);
	memset(pr, 0, sizeof(*pr));
}

int cg_policy_probe_write(const struct cg_policy_probe *pr, struct cg_strbuf *sb)
{
	struct cg_json j;

	cg_json_init(&j, sb, 2);
	cg_json_obj_open(&j);
	cg_json_kv_str(&j, "runtime", pr->runtime);
	cg_json_kv_str(&j, "arch", "x86_64");
	cg_json_key(&j, "implemented");
	cg_json_arr_open(&j);
	for (size_t i = 0; i < pr->n_implemented; i++)
		cg_json_str(&j, pr->implemented[i]);
	cg_json_arr_close(&j);
	cg_json_key(&j, "unimplemented");
	cg_json_arr_open(&j);
	for (size_t i = 0; i < pr->n_unimplemented; i++)
		cg_json_str(&j, pr->unimplemented[i]);
	cg_json_arr_close(&j);
	cg_json_obj_close(&j);
	return cg_json_finish(&j);
}
