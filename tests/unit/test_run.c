// SPDX-License-Identifier: Apache-2.0
/*
 * The library halves of `capgate run` and `capgate oci-hook`, called
 * directly: the hook refuses a closure path outside its allowed directory
 * (also through a planted link), a state without a pid or with an id that
 * could leave the state directory; run refuses two serving triggers at
 * once, splits LAYOUT[:REF] only where a reference can be, and resolves a
 * root program's profile with Docker's default capabilities.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "runtime/run.h"
#include "source/oci_hook.h"
#include "t.h"

static char tmp[] = "/tmp/capgate-test-run-XXXXXX";

static int state_from(const char *json, const struct cg_oci_hook_opts *o, struct cg_oci_hook_state *st,
		      struct cg_error *err)
{
	int p[2], r;

	if (pipe(p) < 0)
		return -errno;
	(void)!write(p[1], json, strlen(json));
	close(p[1]);
	r = cg_oci_hook_read_state(p[0], o, st, err);
	close(p[0]);
	return r;
}

static int test_hook_path(void)
{
	char allow[300], out[300], link[300], state[300], json[1024];
	struct cg_oci_hook_opts o = { .sz = sizeof(o), .allow_dir = allow, .state_dir = state };
	struct cg_oci_hook_state st = { 0 };
	struct cg_error err = { 0 };

	snprintf(allow, sizeof(allow), "%s/traces", tmp);
	snprintf(out, sizeof(out), "%s/elsewhere", tmp);
	snprintf(link, sizeof(link), "%s/traces/out", tmp);
	snprintf(state, sizeof(state), "%s/state", tmp);
	CHECK(mkdir(allow, 0700) == 0 && mkdir(out, 0700) == 0 && symlink(out, link) == 0);

	snprintf(json, sizeof(json), "{\"id\": \"c1\", \"pid\": 1, \"annotations\": {\"io.capgate.trace\": \"%s/x.json\"}}",
		 allow);
	CHECK(state_from(json, &o, &st, &err) == 0);
	CHECK_STR(st.id, "c1");
	CHECK_EQ_INT(st.pid, 1);
	CHECKF(cg_oci_hook_check(&o, &st, &err) == 0, "%s", err.msg);
	cg_oci_hook_state_release(&st);

	/* outside, and outside through a link planted under the allowed directory */
	/* (a leading '+' stands for the test's directory) */
	const char *bad[] = { "/etc/x.json", "+/x.json", "+/traces/out/x.json", "relative.json", "+/traces/.." };
	for (size_t i = 0; i < CG_ARRAY_SIZE(bad); i++) {
		char path[300];
		snprintf(path, sizeof(path), "%s%s", bad[i][0] == '+' ? tmp : "", bad[i] + (bad[i][0] == '+'));
		snprintf(json, sizeof(json), "{\"id\": \"c1\", \"pid\": 2147483646, \"annotations\": {\"io.capgate.trace\": \"%s\"}}",
			 path);
		CHECK(state_from(json, &o, &st, &err) == 0);
		CHECKF(cg_oci_hook_check(&o, &st, &err) < 0, "%s accepted", path);
		/* refused for its path, before any recorder is tried (a process that
		 * does not exist: even a broken check attaches nothing) */
		CHECK(cg_oci_hook_prestart(&o, &st, &err) < 0);
		CHECKF(strstr(err.msg, "io.capgate.trace"), "%s: %s", path, err.msg);
		cg_oci_hook_state_release(&st);
	}

	/* no pid: nothing to follow */
	snprintf(json, sizeof(json), "{\"id\": \"c1\", \"annotations\": {\"io.capgate.trace\": \"%s/x.json\"}}", allow);
	CHECK(state_from(json, &o, &st, &err) == 0);
	CHECK(cg_oci_hook_check(&o, &st, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "no pid");
	cg_oci_hook_state_release(&st);

	/* an id that would name a file outside the state directory */
	CHECK(state_from("{\"id\": \"../c1\", \"pid\": 1}", &o, &st, &err) < 0);
	CHECK_CONTAINS(err.msg, "expected a container id");
	cg_oci_hook_state_release(&st);

	/* an options struct from a newer caller with a field set this one does not know */
	struct {
		struct cg_oci_hook_opts o;
		long more;
	} newer = { .o = { .sz = sizeof(newer) }, .more = 1 };
	CHECK(state_from("{\"id\": \"c1\", \"pid\": 1}", &newer.o, &st, &err) == -E2BIG);
	cg_oci_hook_state_release(&st);
	return 0;
}

static int test_hook_poststop_unrecorded(void)
{
	struct cg_oci_hook_opts o = { .sz = sizeof(o), .state_dir = tmp };
	struct cg_oci_hook_state st = { .id = "never", .pid = 1 };
	struct cg_error err = { 0 };

	/* not asked for and not recorded: nothing to do */
	CHECK(cg_oci_hook_poststop(&o, &st, &err) == 0);
	/* asked for, never recorded: says so */
	st.trace = strdup("/x.json");
	CHECK(cg_oci_hook_poststop(&o, &st, &err) < 0);
	CHECK_CONTAINS(err.msg, "container never was not recorded");
	cg_oci_hook_state_release(&st);
	return 0;
}

static int test_run_trigger(void)
{
	struct cg_sandbox_opts so = { .sz = sizeof(so) };
	struct cg_error err = { 0 };

	CHECK(cg_run_serve_trigger(&so, "8080", "accept4", NULL, false, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "at most one");
	so = (struct cg_sandbox_opts){ .sz = sizeof(so) };
	CHECK(cg_run_serve_trigger(&so, NULL, NULL, NULL, false, &err) == 0 && so.phased);
	CHECKF(cg_run_serve_trigger(&so, "8080", NULL, NULL, false, &err) == 0, "%s", err.msg);
	CHECK(cg_run_serve_trigger(&so, NULL, NULL, "soon", false, &err) < 0);
	so = (struct cg_sandbox_opts){ .sz = sizeof(so) };
	CHECK(cg_run_serve_trigger(&so, NULL, NULL, "5", true, &err) == -EINVAL);
	CHECKF(cg_run_serve_trigger(&so, NULL, NULL, NULL, true, &err) == 0 && so.serve.kind == CG_SERVE_SD_NOTIFY, "%s",
	       err.msg);
	return 0;
}

static int test_run_image_spec(void)
{
	struct cg_image *img = NULL;
	struct cg_error err = { 0 };
	char *layout = NULL;

	/* a ':' inside a path is not a reference */
	CHECK(cg_run_image_open("/nonexistent/a:b/layout", NULL, &layout, &img, &err) < 0);
	CHECK_CONTAINS(err.msg, "/nonexistent/a:b/layout");
	CHECK(layout == NULL && img == NULL);
	CHECK(cg_run_image_open("/nonexistent/layout:v1", NULL, &layout, &img, &err) < 0);
	CHECK(!strstr(err.msg, ":v1/"));
	CHECK(layout == NULL && img == NULL);
	return 0;
}

static int test_run_cap_names(void)
{
	struct cg_sandbox_opts so = { .sz = sizeof(so) };
	struct cg_error err = { 0 };
	const char *names[64];
	const char *drop[] = { "ALL" }, *add[] = { "NET_ADMIN" };
	size_t n = 0;

	if (geteuid() != 0)
		return 0; /* an ordinary user's program gets none: covered by test_sandbox */
	CHECKF(cg_run_cap_names(&so, names, &n, &err) == 0, "%s", err.msg);
	CHECK_EQ_INT(n, 14);
	so.cap_drop = drop, so.n_cap_drop = 1;
	so.cap_add = add, so.n_cap_add = 1;
	CHECKF(cg_run_cap_names(&so, names, &n, &err) == 0, "%s", err.msg);
	CHECK(n == 1 && strcmp(names[0], "CAP_NET_ADMIN") == 0);
	return 0;
}

static int rm_tree(void)
{
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	return system(cmd);
}

int main(void)
{
	if (!mkdtemp(tmp))
		return 1;
	RUN(test_hook_path);
	RUN(test_hook_poststop_unrecorded);
	RUN(test_run_trigger);
	RUN(test_run_image_spec);
	RUN(test_run_cap_names);
	(void)!rm_tree();
	T_DONE();
}
