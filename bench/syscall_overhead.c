/* SPDX-License-Identifier: Apache-2.0 */
/*
 * syscall_overhead: what a seccomp filter adds to the cost of cheap system
 * calls, for four configurations measured side by side in one run:
 *
 *   bare            no filter
 *   capgate-40      capgate's filter for a ~40-call least-privilege profile
 *   docker-runc     Docker's default profile built the way runc builds it:
 *                   libseccomp directly, default (linear) layout, seccomp_load
 *   docker-capgate  Docker's default profile compiled by cg_compile and
 *                   loaded with seccomp(SECCOMP_SET_MODE_FILTER)
 *   allow-all       reference: a one-instruction filter returning ALLOW, the
 *                   floor any filter pays for the kernel's seccomp entry path
 *
 * Four loops: getppid(), a 1-byte read of /dev/zero, a 1-byte pipe
 * write+read pair, and personality(0xffffffff) -- the last one is allowed
 * only by an argument condition, so the kernel cannot answer it from its
 * action cache and must run the filter.
 *
 * Every (configuration, round) is a fresh forked child (a filter cannot be
 * removed) pinned to one CPU; configurations are interleaved round by round
 * and the median is reported. This is a benchmark: it prints numbers and
 * never judges them.
 */
#include <capgate/bpf.h>
#include <capgate/closure.h>
#include <capgate/compile.h>
#include <capgate/profile.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <linux/audit.h>
#include <sched.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#define PERSONALITY_QUERY 0xffffffffUL
#define CACHE_NR_COUNT 512
#define MAX_ROUNDS 99

/* ---- the loops ------------------------------------------------------------ */

enum loop_id { LOOP_GETPPID,
	       LOOP_READ_ZERO,
	       LOOP_PIPE,
	       LOOP_PERSONALITY,
	       N_LOOPS };

struct loop_fds {
	int zero;    /* /dev/zero */
	int pipe[2]; /* for the write+read pair */
};

static volatile long loop_sink;

static __attribute__((noinline)) void loop_getppid(const struct loop_fds *f, uint64_t n)
{
	long s = 0;
	for (uint64_t i = 0; i < n; i++)
		s += getppid();
	loop_sink = s;
}

static __attribute__((noinline)) void loop_read_zero(const struct loop_fds *f, uint64_t n)
{
	char c;
	long s = 0;
	for (uint64_t i = 0; i < n; i++)
		s += read(f->zero, &c, 1);
	loop_sink = s;
}

static __attribute__((noinline)) void loop_pipe(const struct loop_fds *f, uint64_t n)
{
	char c = 'x';
	long s = 0;
	for (uint64_t i = 0; i < n; i++) {
		s += write(f->pipe[1], &c, 1);
		s += read(f->pipe[0], &c, 1);
	}
	loop_sink = s;
}

static __attribute__((noinline)) void loop_personality(const struct loop_fds *f, uint64_t n)
{
	long s = 0;
	for (uint64_t i = 0; i < n; i++)
		s += personality(PERSONALITY_QUERY);
	loop_sink = s;
}

static const struct loop_desc {
	const char *name;
	const char *syscalls[2]; /* the calls the loop makes, for the cache report */
	void (*run)(const struct loop_fds *f, uint64_t n);
} loops[N_LOOPS] = {
	[LOOP_GETPPID] = { "getppid", { "getppid" }, loop_getppid },
	[LOOP_READ_ZERO] = { "read-devzero", { "read" }, loop_read_zero },
	[LOOP_PIPE] = { "pipe-wr+rd", { "write", "read" }, loop_pipe },
	[LOOP_PERSONALITY] = { "personality", { "personality" }, loop_personality },
};

/* One call of each loop, checked: under a filter a denied call would make
 * the loop measure the cost of failing. Returns 0 or a negative errno. */
static int loops_check(const struct loop_fds *f)
{
	char c = 'x';

	errno = 0;
	if (getppid() <= 0)
		return -EPERM;
	if (read(f->zero, &c, 1) != 1)
		return errno ? -errno : -EIO;
	if (write(f->pipe[1], &c, 1) != 1 || read(f->pipe[0], &c, 1) != 1)
		return errno ? -errno : -EIO;
	if (personality(PERSONALITY_QUERY) == -1)
		return errno ? -errno : -EPERM;
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t loop_time(enum loop_id id, const struct loop_fds *f, uint64_t n)
{
	uint64_t t0 = now_ns();

	loops[id].run(f, n);
	return now_ns() - t0;
}

/* ---- configurations ------------------------------------------------------- */

enum config_id { CFG_BARE,
		 CFG_CAPGATE_40,
		 CFG_DOCKER_RUNC,
		 CFG_DOCKER_CAPGATE,
		 CFG_ALLOW_ALL,
		 N_CONFIGS };

static const char *const config_names[N_CONFIGS] = {
	[CFG_BARE] = "bare",
	[CFG_CAPGATE_40] = "capgate-40",
	[CFG_DOCKER_RUNC] = "docker-runc",
	[CFG_DOCKER_CAPGATE] = "docker-capgate",
	[CFG_ALLOW_ALL] = "allow-all",
};

static struct sock_filter allow_all_insns[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
static const struct cg_bpf_prog allow_all = { allow_all_insns, CG_ARRAY_SIZE(allow_all_insns) };

struct filters {
	struct cg_bpf_prog least;       /* (b) */
	scmp_filter_ctx docker_runc;    /* (c), loaded by seccomp_load in the child */
	struct cg_bpf_prog docker_cg;   /* (d) */
	struct cg_bpf_prog runc_export; /* (c) as libseccomp exports it, for counting */
	size_t runc_skipped;            /* names libseccomp does not know */
	size_t runc_rules;              /* seccomp_rule_add_array calls made */
};

static int seccomp_install(const struct cg_bpf_prog *p)
{
	struct sock_fprog fprog = { .len = (unsigned short)p->len, .filter = p->insns };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) < 0)
		return -errno;
	return 0;
}

static int config_install(enum config_id cfg, const struct filters *fl)
{
	switch (cfg) {
	case CFG_BARE:
		return 0;
	case CFG_CAPGATE_40:
		return seccomp_install(&fl->least);
	case CFG_DOCKER_RUNC:
		return seccomp_load(fl->docker_runc);
	case CFG_DOCKER_CAPGATE:
		return seccomp_install(&fl->docker_cg);
	case CFG_ALLOW_ALL:
		return seccomp_install(&allow_all);
	default:
		return -EINVAL;
	}
}

/* Docker's profile through libseccomp, as runc's seccomp_linux.go does it:
 * seccomp_init(default), every architecture, one rule per call skipping
 * names libseccomp cannot resolve and rules whose action is the default;
 * several conditions on one argument become one rule each (runc's "old
 * behavior"), otherwise all conditions go in one rule. Layout left at
 * libseccomp's default (no binary tree). */
static int runc_filter_build(const struct cg_closure *c, struct filters *fl, struct cg_error *err)
{
	scmp_filter_ctx ctx = seccomp_init(cg_action_ret(c->default_action));
	int r;

	if (!ctx)
		return cg_error_set(err, -ENOMEM, "seccomp_init failed");
	for (int a = 0; a < CG_ARCH_COUNT; a++) {
		if (!(c->arch_mask & CG_ARCH_BIT(a)))
			continue;
		/* libseccomp's SCMP_ARCH_* are the AUDIT_ARCH_* values */
		r = seccomp_arch_add(ctx, cg_arch_info(a)->audit);
		if (r < 0 && r != -EEXIST) {
			seccomp_release(ctx);
			return cg_error_set(err, r, "seccomp_arch_add(%s): %s", cg_arch_info(a)->name,
					    strerror(-r));
		}
	}
	for (size_t i = 0; i < c->n_rules; i++) {
		const struct cg_rule *rule = &c->rules[i];
		uint32_t act = cg_action_ret(rule->action);
		struct scmp_arg_cmp cmp[CG_MAX_CONDS];
		unsigned per_index[6] = { 0 };
		bool split = false;
		int nr;

		if (act == cg_action_ret(c->default_action))
			continue;
		nr = seccomp_syscall_resolve_name(rule->name);
		if (nr == __NR_SCMP_ERROR) {
			fl->runc_skipped++;
			continue;
		}
		for (unsigned k = 0; k < rule->n_args; k++) {
			const struct cg_arg_cond *a = &rule->args[k];

			cmp[k] = (struct scmp_arg_cmp){ .arg = a->index, .op = (enum scmp_compare)a->op, .datum_a = a->value, .datum_b = a->value_two };
			if (a->index < 6 && ++per_index[a->index] > 1)
				split = true;
		}
		if (split) {
			for (unsigned k = 0; k < rule->n_args; k++) {
				r = seccomp_rule_add_array(ctx, act, nr, 1, &cmp[k]);
				if (r < 0)
					goto rule_fail;
				fl->runc_rules++;
			}
		} else {
			r = seccomp_rule_add_array(ctx, act, nr, rule->n_args, cmp);
			if (r < 0)
				goto rule_fail;
			fl->runc_rules++;
		}
		continue;
	rule_fail:
		seccomp_release(ctx);
		return cg_error_set(err, r, "seccomp_rule_add_array(%s): %s", rule->name, strerror(-r));
	}
	fl->docker_runc = ctx;
	return 0;
}

/* libseccomp's program, exported to a memfd, read back as capgate reads a
 * raw filter file. */
static int runc_filter_export(scmp_filter_ctx ctx, struct cg_bpf_prog *ret, struct cg_error *err)
{
	_cleanup_close_ int fd = memfd_create("docker-runc.bpf", MFD_CLOEXEC);
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	int r;

	if (fd < 0)
		return cg_error_set(err, -errno, "memfd_create: %m");
	r = seccomp_export_bpf(ctx, fd);
	if (r < 0)
		return cg_error_set(err, r, "seccomp_export_bpf: %s", strerror(-r));
	if (fstat(fd, &st) < 0)
		return cg_error_set(err, -errno, "fstat: %m");
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf)
		return cg_error_set(err, -ENOMEM, "out of memory");
	if (pread(fd, buf, (size_t)st.st_size, 0) != st.st_size)
		return cg_error_set(err, -EIO, "short read of the exported filter");
	return cg_bpf_parse(buf, (size_t)st.st_size, ret, err);
}

static int filters_build(const char *least_path, const char *docker_path, struct filters *fl,
			 struct cg_error *err)
{
	struct cg_resolve_opts ropts = { .sz = sizeof(ropts), .default_caps = true, .native_arch = -1 };
	_cleanup_(cg_closure_freep) struct cg_closure *least = NULL;
	_cleanup_(cg_closure_freep) struct cg_closure *docker = NULL;
	_cleanup_(cg_profile_freep) struct cg_profile *docker_profile = NULL;
	int r;

	r = cg_closure_load(least_path, &ropts, &least, err);
	if (r < 0)
		return r;
	r = cg_compile(least, NULL, &fl->least, err);
	if (r < 0)
		return cg_error_prefix(err, "%s: ", least_path);

	r = cg_profile_load(docker_path, &docker_profile, err);
	if (r < 0)
		return r;
	r = cg_profile_resolve(docker_profile, &ropts, &docker, err);
	if (r < 0)
		return r;
	r = cg_compile(docker, NULL, &fl->docker_cg, err);
	if (r < 0)
		return cg_error_prefix(err, "%s: ", docker_path);
	r = runc_filter_build(docker, fl, err);
	if (r < 0)
		return cg_error_prefix(err, "%s: ", docker_path);
	return runc_filter_export(fl->docker_runc, &fl->runc_export, err);
}

static void filters_release(struct filters *fl)
{
	cg_bpf_prog_release(&fl->least);
	cg_bpf_prog_release(&fl->docker_cg);
	cg_bpf_prog_release(&fl->runc_export);
	if (fl->docker_runc)
		seccomp_release(fl->docker_runc);
}

/* ---- children --------------------------------------------------------------- */

struct child_report {
	int error;            /* negative errno, 0 on success */
	char what[96];        /* the step that failed */
	uint64_t ns[N_LOOPS]; /* elapsed time of the timed loop */
	uint64_t iters[N_LOOPS];
};

static int cpu_pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) < 0 ? -errno : 0;
}

/* Record a failed step in @rep; returns @error. */
static int child_fail(struct child_report *rep, int error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int child_fail(struct child_report *rep, int error, const char *fmt, ...)
{
	va_list ap;

	rep->error = error;
	va_start(ap, fmt);
	vsnprintf(rep->what, sizeof(rep->what), fmt, ap);
	va_end(ap);
	return error;
}

/* The child's body. With @calibrate, iters[] is an input guess that is
 * scaled so one loop takes @target_ns (no filter); otherwise iters[] is
 * the count to run. */
static int child_measure(enum config_id cfg, const struct filters *fl, int cpu, bool calibrate,
			 uint64_t target_ns, struct child_report *rep)
{
	struct loop_fds f = { .zero = -1, .pipe = { -1, -1 } };
	int r;

	r = cpu_pin(cpu);
	if (r < 0)
		return child_fail(rep, r, "sched_setaffinity(cpu %d)", cpu);
	f.zero = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	if (f.zero < 0)
		return child_fail(rep, -errno, "open /dev/zero");
	if (pipe2(f.pipe, O_CLOEXEC) < 0)
		return child_fail(rep, -errno, "pipe2");
	r = config_install(cfg, fl);
	if (r < 0)
		return child_fail(rep, r, "installing the %s filter", config_names[cfg]);
	r = loops_check(&f);
	if (r < 0)
		return child_fail(rep, r, "a benchmark call is denied under %s", config_names[cfg]);

	for (int l = 0; l < N_LOOPS; l++) {
		uint64_t n = rep->iters[l];

		if (calibrate) {
			uint64_t t;

			for (n = 1000;; n *= 2) {
				t = loop_time(l, &f, n);
				if (t >= target_ns / 8)
					break;
			}
			n = (uint64_t)((double)n * (double)target_ns / (double)t);
			rep->iters[l] = n ? n : 1;
			continue;
		}
		loop_time(l, &f, n / 10 + 1); /* warm-up: caches, branch predictors, frequency */
		rep->ns[l] = loop_time(l, &f, n);
	}
	return 0;
}

/* Fork a child for @cfg, collect its report through a pipe. */
static int child_run(enum config_id cfg, const struct filters *fl, int cpu, bool calibrate,
		     uint64_t target_ns, struct child_report *rep)
{
	int p[2], status;
	pid_t pid;
	ssize_t n;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		int e = -errno;
		close(p[0]);
		close(p[1]);
		return e;
	}
	if (pid == 0) {
		close(p[0]);
		child_measure(cfg, fl, cpu, calibrate, target_ns, rep);
		n = write(p[1], rep, sizeof(*rep));
		_exit(n == (ssize_t)sizeof(*rep) ? 0 : 1);
	}
	close(p[1]);
	do
		n = read(p[0], rep, sizeof(*rep));
	while (n < 0 && errno == EINTR);
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (n != (ssize_t)sizeof(*rep))
		return child_fail(rep, -EPIPE, "the %s child died (status 0x%x) before reporting",
				  config_names[cfg], status);
	if (rep->error == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		return child_fail(rep, -ECHILD, "the %s child could not exit cleanly (status 0x%x)",
				  config_names[cfg], status);
	return rep->error;
}

/* ---- report ----------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(const double *v, size_t n)
{
	double s[MAX_ROUNDS];

	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static double vmin(const double *v, size_t n)
{
	double m = v[0];
	for (size_t i = 1; i < n; i++)
		m = v[i] < m ? v[i] : m;
	return m;
}

static double vmax(const double *v, size_t n)
{
	double m = v[0];
	for (size_t i = 1; i < n; i++)
		m = v[i] > m ? v[i] : m;
	return m;
}

/* Which of the benchmark's calls the kernel answers from its action cache
 * for this program (x86_64, first 512 numbers). */
static void cache_report(const char *label, const struct cg_bpf_prog *p)
{
	static const char *const calls[] = { "getppid", "read", "write", "personality" };
	uint8_t bitmap[CACHE_NR_COUNT / 8] = { 0 };
	size_t total, hits = 0;
	char cached[128] = "", filtered[128] = "";

	total = cg_bpf_cache_predict(p->insns, p->len, AUDIT_ARCH_X86_64, CACHE_NR_COUNT, bitmap);
	for (size_t i = 0; i < CG_ARRAY_SIZE(calls); i++) {
		int nr = cg_syscall_nr(CG_ARCH_X86_64, calls[i]);
		bool hit = nr >= 0 && nr < CACHE_NR_COUNT && (bitmap[nr / 8] & (1u << (nr % 8)));
		char *dst = hit ? cached : filtered;

		hits += hit;
		snprintf(dst + strlen(dst), sizeof(cached) - strlen(dst), "%s%s", *dst ? " " : "",
			 calls[i]);
	}
	printf("  %-15s %4zu insns  action cache: %zu/%zu benchmark calls cached (%s), filter runs for "
	       "(%s); %zu of %d x86_64 numbers cached\n",
	       label, p->len, hits, CG_ARRAY_SIZE(calls), cached, *filtered ? filtered : "none", total,
	       CACHE_NR_COUNT);
}

/* ---- options and main ----------------------------------------------------- */

struct bench_opts {
	unsigned rounds;
	unsigned target_ms;
	int cpu;
	const char *least;
	const char *docker;
};

enum { OPT_ROUNDS = 'r',
       OPT_TARGET = 't',
       OPT_CPU = 'c',
       OPT_LEAST = 'l',
       OPT_DOCKER = 'd',
       OPT_HELP = 'h' };

static const struct option long_opts[] = {
	{ "rounds", required_argument, NULL, OPT_ROUNDS },
	{ "target-ms", required_argument, NULL, OPT_TARGET },
	{ "cpu", required_argument, NULL, OPT_CPU },
	{ "least", required_argument, NULL, OPT_LEAST },
	{ "docker", required_argument, NULL, OPT_DOCKER },
	{ "help", no_argument, NULL, OPT_HELP },
	{ 0 },
};

static const char usage[] =
	"usage: syscall_overhead [--rounds N] [--target-ms MS] [--cpu N] [--least PROFILE]\n"
	"                        [--docker PROFILE]\n"
	"  --rounds N        interleaved rounds of every configuration (default 7)\n"
	"  --target-ms MS    length of one unfiltered measurement (default 200)\n"
	"  --cpu N           CPU the children are pinned to (default: the last one allowed)\n"
	"  --least PROFILE   least-privilege profile (default: bench/profiles/least-40.json)\n"
	"  --docker PROFILE  Docker's default profile (default:\n"
	"                    $CAPGATE_SHARED/corpus/profiles/docker-default.json, CAPGATE_SHARED\n"
	"                    defaulting to the shared/ directory beside the repository)\n";

static int parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *ret)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -EINVAL;
	*ret = (unsigned)v;
	return 0;
}

static int opt_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int opt_error(const char *fmt, ...)
{
	va_list ap;

	fputs("syscall_overhead: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -EINVAL;
}

static int last_allowed_cpu(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return 0;
	for (int i = CPU_SETSIZE - 1; i >= 0; i--)
		if (CPU_ISSET(i, &set))
			return i;
	return 0;
}

static int opts_parse(int argc, char **argv, struct bench_opts *o)
{
	static char least_buf[PATH_MAX + 64], docker_buf[PATH_MAX + 64];
	char exe[PATH_MAX];
	const char *shared = getenv("CAPGATE_SHARED");
	const char *bench_dir = ".";
	unsigned cpu;
	ssize_t n;
	int c;

	*o = (struct bench_opts){ .rounds = 7, .target_ms = 200, .cpu = -1 };
	while ((c = getopt_long(argc, argv, "r:t:c:l:d:h", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_ROUNDS:
			if (parse_uint(optarg, 1, MAX_ROUNDS, &o->rounds) < 0)
				return opt_error("--rounds: expected 1..%d", MAX_ROUNDS);
			break;
		case OPT_TARGET:
			if (parse_uint(optarg, 1, 60000, &o->target_ms) < 0)
				return opt_error("--target-ms: expected 1..60000");
			break;
		case OPT_CPU:
			if (parse_uint(optarg, 0, CPU_SETSIZE - 1, &cpu) < 0)
				return opt_error("--cpu: expected a CPU number");
			o->cpu = (int)cpu;
			break;
		case OPT_LEAST:
			o->least = optarg;
			break;
		case OPT_DOCKER:
			o->docker = optarg;
			break;
		case OPT_HELP:
			fputs(usage, stdout);
			exit(0);
		default:
			fputs(usage, stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fputs(usage, stderr);
		return -EINVAL;
	}

	/* Defaults are relative to the binary: bench/build/syscall_overhead. */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		bench_dir = dirname(dirname(exe));
	}
	if (!o->least) {
		snprintf(least_buf, sizeof(least_buf), "%s/profiles/least-40.json", bench_dir);
		o->least = least_buf;
	}
	if (!o->docker) {
		if (shared && *shared)
			snprintf(docker_buf, sizeof(docker_buf), "%s/corpus/profiles/docker-default.json",
				 shared);
		else
			snprintf(docker_buf, sizeof(docker_buf),
				 "%s/../../shared/corpus/profiles/docker-default.json", bench_dir);
		o->docker = docker_buf;
	}
	if (o->cpu < 0)
		o->cpu = last_allowed_cpu();
	return 0;
}

static void log_stderr(enum cg_log_level level, const char *msg, void *user)
{
	if (level >= CG_LOG_WARN)
		fprintf(stderr, "syscall_overhead: capgate: %s\n", msg);
}

int main(int argc, char **argv)
{
	static double ns[N_LOOPS][N_CONFIGS][MAX_ROUNDS];
	struct filters fl = { 0 };
	struct child_report cal = { 0 };
	struct bench_opts o;
	struct cg_error err = { 0 };
	double med[N_LOOPS][N_CONFIGS];
	int r;

	if (opts_parse(argc, argv, &o) < 0)
		return 2;
	cg_set_log(log_stderr, NULL);

	r = filters_build(o.least, o.docker, &fl, &err);
	if (r < 0) {
		fprintf(stderr, "syscall_overhead: %s\n", err.msg);
		filters_release(&fl);
		return 1;
	}

	printf("syscall_overhead: %u rounds x %d configurations, CPU %d, ~%u ms per measurement\n",
	       o.rounds, N_CONFIGS, o.cpu, o.target_ms);
	printf("  least-privilege profile: %s\n  docker profile:          %s\n", o.least, o.docker);
	printf("filters:\n");
	cache_report(config_names[CFG_CAPGATE_40], &fl.least);
	cache_report(config_names[CFG_DOCKER_RUNC], &fl.runc_export);
	cache_report(config_names[CFG_DOCKER_CAPGATE], &fl.docker_cg);
	printf("  (docker-runc: %zu libseccomp rules, %zu names libseccomp does not know skipped)\n",
	       fl.runc_rules, fl.runc_skipped);

	r = child_run(CFG_BARE, &fl, o.cpu, true, (uint64_t)o.target_ms * 1000000u, &cal);
	if (r < 0) {
		fprintf(stderr, "syscall_overhead: calibration: %s: %s\n", cal.what, strerror(-r));
		filters_release(&fl);
		return 1;
	}
	printf("iterations:");
	for (int l = 0; l < N_LOOPS; l++)
		printf(" %s %llu%s", loops[l].name, (unsigned long long)cal.iters[l],
		       l + 1 < N_LOOPS ? "," : "\n");

	for (unsigned round = 0; round < o.rounds; round++) {
		/* rotate the order so no configuration always runs first */
		for (int k = 0; k < N_CONFIGS; k++) {
			enum config_id cfg = (enum config_id)((k + round) % N_CONFIGS);
			struct child_report rep = { 0 };

			memcpy(rep.iters, cal.iters, sizeof(rep.iters));
			r = child_run(cfg, &fl, o.cpu, false, 0, &rep);
			if (r < 0) {
				fprintf(stderr, "syscall_overhead: round %u: %s: %s\n", round + 1, rep.what,
					strerror(-r));
				filters_release(&fl);
				return 1;
			}
			for (int l = 0; l < N_LOOPS; l++)
				ns[l][cfg][round] = (double)rep.ns[l] / (double)rep.iters[l];
		}
		fprintf(stderr, "\rround %u/%u done", round + 1, o.rounds);
	}
	fprintf(stderr, "\n");

	printf("\n%-13s %-15s %10s %8s %10s %10s\n", "loop", "config", "ns/call", "vs bare", "min",
	       "max");
	for (int l = 0; l < N_LOOPS; l++) {
		for (int cfg = 0; cfg < N_CONFIGS; cfg++) {
			med[l][cfg] = median(ns[l][cfg], o.rounds);
			printf("%-13s %-15s %10.1f %7.3fx %10.1f %10.1f\n", cfg == 0 ? loops[l].name : "",
			       config_names[cfg], med[l][cfg], med[l][cfg] / med[l][CFG_BARE],
			       vmin(ns[l][cfg], o.rounds), vmax(ns[l][cfg], o.rounds));
		}
	}
	printf("(median of %u rounds; pipe-wr+rd is per write+read pair; min/max across rounds;\n"
	       " allow-all is a 1-insn ALLOW filter: the cost of the seccomp entry path itself)\n\n",
	       o.rounds);
	for (int l = 0; l < N_LOOPS; l++)
		printf("%s: capgate-40 %.2fx, docker-runc %.2fx, docker-capgate %.2fx (target: capgate-40 "
		       "within 1%% of bare; docker-capgate <= docker-runc)\n",
		       loops[l].name, med[l][CFG_CAPGATE_40] / med[l][CFG_BARE],
		       med[l][CFG_DOCKER_RUNC] / med[l][CFG_BARE],
		       med[l][CFG_DOCKER_CAPGATE] / med[l][CFG_BARE]);
	printf("floor (any filter, allow-all):");
	for (int l = 0; l < N_LOOPS; l++)
		printf(" %s %.2fx%s", loops[l].name, med[l][CFG_ALLOW_ALL] / med[l][CFG_BARE],
		       l + 1 < N_LOOPS ? "," : "\n");
	filters_release(&fl);
	return 0;
}
