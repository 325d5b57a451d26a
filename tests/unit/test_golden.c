// SPDX-License-Identifier: Apache-2.0
/* Golden tables in libseccomp's bpf-sim format, run through capgate's
 * compiler and emulator.
 *
 * A row is `Testname Arch Syscall Arg0..Arg5 Result`:
 *   Arch    all | all_le | all_be | all_64 | <arch>   checked on the profile's
 *           arches of that kind (libseccomp: the native arch, i.e. the arch
 *           the filter was built for); +all_le | +all_be | +<arch> forced even
 *           when the filter does not list it; -<arch> removed. Comma-separated.
 *   Syscall name (resolved per arch; a name the arch lacks skips the row
 *           there, as libseccomp's resolver makes such rows meaningless),
 *           number (may be negative or above 2^31), or range lo-hi.
 *   Args    value, range lo-hi (ranges over 16 values are sampled: both ends
 *           and points inside), or N (= 0).
 *   Result  ALLOW, KILL (thread), KILL_PROCESS, TRAP, ERRNO(n), TRACE(n), LOG.
 *
 * 1. tests/golden/libseccomp/: libseccomp's own tables, read from the shared
 *    corpus, each against our reconstructed profile NN-name.json; MANIFEST
 *    says which files are used, which are skipped and why, and which rows
 *    differ on purpose (capgate's documented semantics).
 * 2. tests/golden/capgate.tests for tests/golden/capgate.json: capgate's own
 *    table, run with the ENOSYS prologue on and the default bad-arch action.
 */
#include <capgate/compile.h>
#include <capgate/profile.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <linux/audit.h>

#include "t.h"

#define MAX_SAMPLES 16
#define MAX_NR_SAMPLES 1024

static const char *golden_dir(void)
{
	const char *s = getenv("CAPGATE_GOLDEN");
	return s ? s : "tests/golden";
}

/* ---- MANIFEST --------------------------------------------------------- */

struct differ {
	char file[64];
	int row;
	uint32_t arches; /* 0 = every arch */
	long hits;
};

struct manifest {
	char used[64][64];
	size_t n_used;
	char skipped[64][64];
	size_t n_skipped;
	struct differ diff[128];
	size_t n_diff;
};

static uint32_t parse_arch_list(const char *s, bool *ok)
{
	uint32_t m = 0;
	char buf[256], *save = NULL;
	*ok = true;
	if (strcmp(s, "*") == 0)
		return 0;
	snprintf(buf, sizeof(buf), "%s", s);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int a = cg_arch_lookup(t);
		if (a < 0) {
			*ok = false;
			continue;
		}
		m |= CG_ARCH_BIT(a);
	}
	return m;
}

static int load_manifest(const char *path, struct manifest *m)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	int lineno = 0;
	if (!f) {
		CHECKF(0, "cannot open %s", path);
		return -1;
	}
	memset(m, 0, sizeof(*m));
	while (fgets(line, sizeof(line), f)) {
		char name[128] = "", status[32] = "", arches[256] = "";
		lineno++;
		if (line[0] == '#' || sscanf(line, "%127s %31s %255s", name, status, arches) < 2)
			continue;
		if (strcmp(status, "used") == 0 && m->n_used < CG_ARRAY_SIZE(m->used)) {
			snprintf(m->used[m->n_used++], 64, "%s", name);
		} else if (strcmp(status, "skip") == 0 && m->n_skipped < CG_ARRAY_SIZE(m->skipped)) {
			CHECKF(arches[0], "MANIFEST:%d: a skipped file needs a reason", lineno);
			snprintf(m->skipped[m->n_skipped++], 64, "%s", name);
		} else if (strcmp(status, "differ") == 0 && m->n_diff < CG_ARRAY_SIZE(m->diff)) {
			struct differ *d = &m->diff[m->n_diff];
			char *pct = strstr(name, "%%");
			bool ok;
			if (!pct || !arches[0]) {
				CHECKF(0, "MANIFEST:%d: expected <file>%%%%NNN differ <arches> <reason>", lineno);
				continue;
			}
			*pct = 0;
			snprintf(d->file, sizeof(d->file), "%s", name);
			d->row = atoi(pct + 2);
			d->arches = parse_arch_list(arches, &ok);
			CHECKF(ok, "MANIFEST:%d: unknown arch in '%s'", lineno, arches);
			/* a reason must follow the arch list */
			const char *p = strstr(line, arches) + strlen(arches);
			while (*p && isspace((unsigned char)*p))
				p++;
			CHECKF(*p, "MANIFEST:%d: a difference needs a reason", lineno);
			m->n_diff++;
		} else {
			CHECKF(0, "MANIFEST:%d: cannot read '%s'", lineno, status);
		}
	}
	fclose(f);
	return 0;
}

static struct differ *find_differ(struct manifest *m, const char *file, int row, enum cg_arch_id arch)
{
	if (!m)
		return NULL;
	for (size_t i = 0; i < m->n_diff; i++)
		if (strcmp(m->diff[i].file, file) == 0 && m->diff[i].row == row &&
		    (!m->diff[i].arches || (m->diff[i].arches & CG_ARCH_BIT(arch))))
			return &m->diff[i];
	return NULL;
}

/* ---- values and ranges ------------------------------------------------ */

static bool parse_u64(const char *s, uint64_t *v)
{
	char *end;
	if (!*s)
		return false;
	errno = 0;
	if (s[0] == '-') {
		long long x = strtoll(s, &end, 0);
		*v = (uint64_t)x;
	} else {
		*v = strtoull(s, &end, 0);
	}
	return errno == 0 && *end == 0;
}

/* "N", "v" or "lo-hi" (libseccomp: ^[0-9a-fA-Fx]+-[0-9a-fA-Fx]+$) */
static bool parse_range(const char *s, uint64_t *lo, uint64_t *hi)
{
	const char *dash = s[0] ? strchr(s + 1, '-') : NULL;
	if (strcmp(s, "N") == 0) {
		*lo = *hi = 0;
		return true;
	}
	if (dash) {
		char a[64];
		size_t n = (size_t)(dash - s);
		if (n >= sizeof(a))
			return false;
		memcpy(a, s, n);
		a[n] = 0;
		return parse_u64(a, lo) && parse_u64(dash + 1, hi) && *lo <= *hi;
	}
	if (!parse_u64(s, lo))
		return false;
	*hi = *lo;
	return true;
}

/* Every value of [lo, hi] if there are at most @max, else both ends, their
 * neighbours and evenly spaced points inside. */
static size_t sample(uint64_t lo, uint64_t hi, uint64_t *out, size_t max)
{
	size_t n = 0;
	if (hi - lo < max) {
		for (uint64_t v = lo;; v++) {
			out[n++] = v;
			if (v == hi)
				break;
		}
		return n;
	}
	out[n++] = lo;
	out[n++] = lo + 1;
	out[n++] = hi - 1;
	out[n++] = hi;
	for (size_t k = 1; n < max; k++)
		out[n++] = lo + (hi - lo) / (max - 3) * k;
	return n;
}

static bool parse_result(const char *s, uint32_t *ret)
{
	unsigned v;
	char tail;
	if (strcmp(s, "ALLOW") == 0)
		*ret = SECCOMP_RET_ALLOW;
	else if (strcmp(s, "KILL") == 0)
		*ret = SECCOMP_RET_KILL_THREAD;
	else if (strcmp(s, "KILL_PROCESS") == 0)
		*ret = SECCOMP_RET_KILL_PROCESS;
	else if (strcmp(s, "TRAP") == 0)
		*ret = SECCOMP_RET_TRAP;
	else if (strcmp(s, "LOG") == 0)
		*ret = SECCOMP_RET_LOG;
	else if (sscanf(s, "ERRNO(%u%c", &v, &tail) == 2 && tail == ')' && v <= 0xffff)
		*ret = SECCOMP_RET_ERRNO | v;
	else if (sscanf(s, "TRACE(%u%c", &v, &tail) == 2 && tail == ')' && v <= 0xffff)
		*ret = SECCOMP_RET_TRACE | v;
	else
		return false;
	return true;
}

/* ---- architectures ---------------------------------------------------- */

static bool arch_le(enum cg_arch_id a)
{
	return cg_arch_info(a)->audit & __AUDIT_ARCH_LE;
}

/* libseccomp's all_64: 64-bit ABIs (not x32 or n32, which have 64-bit
 * registers but 32-bit longs) */
static bool arch_64(enum cg_arch_id a)
{
	return cg_arch_info(a)->bits == 64 && a != CG_ARCH_X32 && a != CG_ARCH_MIPS64N32 &&
	       a != CG_ARCH_MIPSEL64N32;
}

static bool expand_arches(const char *spec, uint32_t filter, uint32_t *ret)
{
	char buf[256], *save = NULL;
	uint32_t add = 0, avoid = 0;
	snprintf(buf, sizeof(buf), "%s", spec);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		bool force = t[0] == '+', remove = t[0] == '-';
		const char *n = (force || remove) ? t + 1 : t;
		uint32_t m = 0;
		if (strcmp(n, "all") == 0 || strcmp(n, "all_le") == 0 || strcmp(n, "all_be") == 0 ||
		    strcmp(n, "all_64") == 0) {
			for (int a = 0; a < CG_ARCH_COUNT; a++) {
				bool in = strcmp(n, "all") == 0      ? true
					  : strcmp(n, "all_le") == 0 ? arch_le(a)
					  : strcmp(n, "all_be") == 0 ? !arch_le(a)
								     : arch_64(a);
				if (in && cg_syscall_max_nr(a) >= 0)
					m |= CG_ARCH_BIT(a);
			}
		} else {
			int a = cg_arch_lookup(n);
			if (a < 0)
				return false;
			m = CG_ARCH_BIT(a);
		}
		if (remove)
			avoid |= m;
		else
			add |= force ? m : (m & filter);
	}
	*ret = add & ~avoid;
	return true;
}

/* ---- running a table -------------------------------------------------- */

struct run_stats {
	int rows;   /* bpf-sim rows in the file */
	long evals; /* expanded evaluations */
	long matched;
	long differ;     /* documented differences */
	long skipped;    /* name not on that arch */
	long mismatches; /* unexplained */
	long self;       /* program != cg_compile_expect (compiler vs its own reference) */
};

static int load_closure(const char *path, struct cg_closure **ret)
{
	struct cg_profile *p = NULL;
	struct cg_error err = { 0 };
	struct cg_resolve_opts ro = { .sz = sizeof(ro), .native_arch = CG_ARCH_X86_64, .default_caps = true, .kernel_major = 6, .kernel_minor = 18 };
	if (cg_profile_load(path, &p, &err) < 0 || cg_profile_resolve(p, &ro, ret, &err) < 0) {
		CHECKF(0, "%s: %s", path, err.msg);
		cg_profile_free(p);
		return -1;
	}
	/* exactly the profile's arches: no native arch added behind its back */
	(*ret)->arch_mask = 0;
	for (size_t i = 0; i < p->n_architectures; i++)
		(*ret)->arch_mask |= CG_ARCH_BIT(cg_arch_lookup(p->architectures[i]));
	cg_profile_free(p);
	CHECKF((*ret)->arch_mask, "%s: lists no architecture", path);
	return (*ret)->arch_mask ? 0 : -1;
}

static void eval_row(const char *file, int row, const struct cg_closure *c, const struct cg_compile_opts *o,
		     const struct cg_bpf_prog *prog, enum cg_arch_id arch, uint32_t nr, uint64_t args[6],
		     uint32_t want, struct manifest *man, struct run_stats *st)
{
	const struct cg_arch_info *inf = cg_arch_info(arch);
	struct seccomp_data d = { .nr = (int)nr, .arch = inf->audit };
	struct cg_error err = { 0 };
	uint32_t got = 0, ref;
	char gs[48], ws[48];

	for (int k = 0; k < 6; k++)
		d.args[k] = inf->bits == 32 ? (args[k] & 0xffffffff) : args[k]; /* the kernel zero-extends */
	st->evals++;
	if (cg_bpf_run(prog->insns, prog->len, &d, NULL, &got, &err) < 0) {
		CHECKF(0, "%s%%%%%03d %s: emulator: %s", file, row, inf->name, err.msg);
		st->mismatches++;
		return;
	}
	ref = cg_compile_expect(c, o, d.arch, nr, (const uint64_t *)d.args);
	if (got != ref) {
		if (st->self < 5)
			CHECKF(0, "%s%%%%%03d %s nr %u: program 0x%x but capgate's reference says 0x%x", file, row,
			       inf->name, nr, got, ref);
		st->self++;
	}
	if (got == want) {
		st->matched++;
		return;
	}
	struct differ *df = find_differ(man, file, row, arch);
	if (df) {
		df->hits++;
		st->differ++;
		return;
	}
	if (st->mismatches < 8)
		CHECKF(0, "%s%%%%%03d %s nr %u (%s) args %llx,%llx,%llx,%llx: got %s, table says %s", file, row,
		       inf->name, nr, cg_syscall_name(arch, nr) ? cg_syscall_name(arch, nr) : "?",
		       (unsigned long long)d.args[0], (unsigned long long)d.args[1], (unsigned long long)d.args[2],
		       (unsigned long long)d.args[3], cg_bpf_action_format(got, gs, sizeof(gs)),
		       cg_bpf_action_format(want, ws, sizeof(ws)));
	st->mismatches++;
}

/* Run every bpf-sim row of @tests_path against the profile @profile_path. */
static int run_table(const char *file, const char *tests_path, const char *profile_path,
		     const struct cg_compile_opts *o, struct manifest *man, struct run_stats *st)
{
	struct cg_closure *c = NULL;
	struct cg_bpf_prog prog = { 0 };
	struct cg_error err = { 0 };
	char line[1024];
	int testnum = 0;
	bool bpf_sim = false;
	uint64_t *nrs = malloc(sizeof(uint64_t) * MAX_NR_SAMPLES);
	FILE *f;

	memset(st, 0, sizeof(*st));
	if (!nrs || load_closure(profile_path, &c) < 0) {
		free(nrs);
		return -1;
	}
	if (cg_compile(c, o, &prog, &err) < 0) {
		CHECKF(0, "%s: compile: %s", profile_path, err.msg);
		cg_closure_free(c);
		free(nrs);
		return -1;
	}
	if (!(f = fopen(tests_path, "r"))) {
		CHECKF(0, "cannot open %s", tests_path);
		cg_bpf_prog_release(&prog);
		cg_closure_free(c);
		free(nrs);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *tok[16], *save = NULL, *s = line;
		int nt = 0;
		while (isspace((unsigned char)*s))
			s++;
		if (!*s || *s == '#')
			continue;
		if (strncmp(s, "test type:", 10) == 0) {
			char *t = s + 10;
			while (isspace((unsigned char)*t))
				t++;
			t[strcspn(t, " \t\r\n")] = 0;
			bpf_sim = strcmp(t, "bpf-sim") == 0;
			continue;
		}
		testnum++; /* libseccomp numbers every data line of the file */
		if (!bpf_sim)
			continue;
		for (char *t = strtok_r(s, " \t\r\n", &save); t && nt < 16; t = strtok_r(NULL, " \t\r\n", &save))
			tok[nt++] = t;
		st->rows++;
		uint32_t arches, want;
		uint64_t slo, shi, lo[6], hi[6], vals[6][MAX_SAMPLES];
		size_t nv[6], n_nrs = 0;
		bool named = false, ok = nt == 10 && expand_arches(tok[1], c->arch_mask, &arches) &&
					 parse_result(tok[9], &want);
		for (int k = 0; ok && k < 6; k++) {
			ok = parse_range(tok[3 + k], &lo[k], &hi[k]);
			if (ok)
				nv[k] = sample(lo[k], hi[k], vals[k], MAX_SAMPLES);
		}
		if (ok && !parse_range(tok[2], &slo, &shi))
			named = true;
		else if (ok)
			n_nrs = sample(slo, shi, nrs, MAX_NR_SAMPLES);
		if (!ok) {
			CHECKF(0, "%s%%%%%03d: cannot read the row", file, testnum);
			st->mismatches++;
			continue;
		}
		for (int a = 0; a < CG_ARCH_COUNT; a++) {
			if (!(arches & CG_ARCH_BIT(a)))
				continue;
			if (named) {
				int nr = cg_syscall_nr(a, tok[2]);
				if (nr == -ENOENT) {
					CHECKF(0, "%s%%%%%03d: '%s' is no syscall capgate knows", file, testnum, tok[2]);
					st->mismatches++;
					break;
				}
				if (nr < 0) {
					st->skipped++;
					continue;
				}
				nrs[0] = (uint64_t)nr;
				n_nrs = 1;
			}
			for (size_t i = 0; i < n_nrs; i++) {
				size_t idx[6] = { 0 };
				for (;;) {
					uint64_t args[6];
					int k;
					for (k = 0; k < 6; k++)
						args[k] = vals[k][idx[k]];
					eval_row(file, testnum, c, o, &prog, (enum cg_arch_id)a, (uint32_t)nrs[i], args, want,
						 man, st);
					for (k = 0; k < 6; k++) {
						if (++idx[k] < nv[k])
							break;
						idx[k] = 0;
					}
					if (k == 6)
						break;
				}
			}
		}
	}
	fclose(f);
	cg_bpf_prog_release(&prog);
	cg_closure_free(c);
	free(nrs);
	return 0;
}

static void report(const char *file, const struct run_stats *st)
{
	printf("  %-30s rows %3d  evaluations %6ld  matched %6ld  documented differences %4ld  "
	       "skipped (name not on arch) %4ld  unexplained %ld\n",
	       file, st->rows, st->evals, st->matched, st->differ, st->skipped, st->mismatches);
}

static bool listed(char (*list)[64], size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], name) == 0)
			return true;
	return false;
}

/* Does the file have a bpf-sim block? */
static bool has_bpf_sim(const char *path)
{
	char *buf = NULL;
	size_t len;
	struct cg_error err = { 0 };
	bool r;
	if (cg_read_file(path, &buf, &len, &err) < 0)
		return false;
	r = strstr(buf, "test type: bpf-sim\n") != NULL;
	free(buf);
	return r;
}

static int test_libseccomp_tables(void)
{
	NEED_SHARED("corpus/libseccomp-tests");
	char path[1024], dir[1024];
	struct manifest *man = malloc(sizeof(*man));
	long rows = 0, evals = 0, differ = 0, used = 0;
	DIR *dp;
	struct dirent *de;

	snprintf(path, sizeof(path), "%s/libseccomp/MANIFEST", golden_dir());
	if (!man || load_manifest(path, man) < 0) {
		free(man);
		return 0;
	}
	/* every bpf-sim file of the corpus is accounted for */
	snprintf(dir, sizeof(dir), "%s/corpus/libseccomp-tests", t_shared());
	if (!(dp = opendir(dir))) {
		CHECKF(0, "cannot open %s", dir);
		free(man);
		return 0;
	}
	int n_sim = 0;
	while ((de = readdir(dp))) {
		size_t l = strlen(de->d_name);
		char name[256];
		if (l < 7 || strcmp(de->d_name + l - 6, ".tests") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (!has_bpf_sim(path))
			continue;
		n_sim++;
		snprintf(name, sizeof(name), "%.*s", (int)(l - 6), de->d_name);
		CHECKF(listed(man->used, man->n_used, name) || listed(man->skipped, man->n_skipped, name),
		       "%s has bpf-sim rows but MANIFEST neither uses nor skips it", name);
	}
	closedir(dp);
	CHECKF(n_sim == 43, "%d bpf-sim files in the corpus, expected 43", n_sim);

	for (size_t i = 0; i < man->n_used; i++) {
		struct run_stats st;
		char prof[1024];
		struct cg_compile_opts o = { .sz = sizeof(o), .phase = -1, .no_enosys_stub = true, .has_bad_arch = true, .bad_arch = { CG_ACT_KILL_THREAD, 0 } };
		snprintf(path, sizeof(path), "%s/%s.tests", dir, man->used[i]);
		snprintf(prof, sizeof(prof), "%s/libseccomp/%s.json", golden_dir(), man->used[i]);
		if (run_table(man->used[i], path, prof, &o, man, &st) < 0)
			continue;
		report(man->used[i], &st);
		CHECKF(st.rows > 0, "%s: no bpf-sim rows", man->used[i]);
		CHECKF(st.evals > 0, "%s: nothing was evaluated", man->used[i]);
		CHECK_EQ_INT(st.mismatches, 0);
		CHECK_EQ_INT(st.self, 0);
		rows += st.rows;
		evals += st.evals;
		differ += st.differ;
		used++;
	}
	for (size_t i = 0; i < man->n_diff; i++) {
		CHECKF(listed(man->used, man->n_used, man->diff[i].file), "MANIFEST: difference listed for %s, which is not used",
		       man->diff[i].file);
		CHECKF(man->diff[i].hits > 0, "MANIFEST: %s%%%%%03d is listed as differing but matches the table",
		       man->diff[i].file, man->diff[i].row);
	}
	printf("  total: %ld files used, %zu skipped, %ld rows, %ld evaluations, %ld documented differences\n", used,
	       man->n_skipped, rows, evals, differ);
	free(man);
	return 0;
}

static int test_capgate_table(void)
{
	char tests[1024], prof[1024];
	struct run_stats st;
	struct cg_compile_opts o = { .sz = sizeof(o), .phase = -1 };
	snprintf(tests, sizeof(tests), "%s/capgate.tests", golden_dir());
	snprintf(prof, sizeof(prof), "%s/capgate.json", golden_dir());
	if (run_table("capgate", tests, prof, &o, NULL, &st) < 0)
		return 0;
	report("capgate", &st);
	CHECKF(st.rows >= 40, "capgate.tests has only %d rows", st.rows);
	CHECK_EQ_INT(st.skipped, 0);
	CHECK_EQ_INT(st.mismatches, 0);
	CHECK_EQ_INT(st.self, 0);
	return 0;
}

/* The parser itself: ranges, sampling, groups. */
static int test_parser(void)
{
	uint64_t lo, hi, v[MAX_SAMPLES];
	uint32_t m, want;
	CHECK(parse_range("N", &lo, &hi) && lo == 0 && hi == 0);
	CHECK(parse_range("0x02-0x0A", &lo, &hi) && lo == 2 && hi == 10);
	CHECK(parse_range("-1", &lo, &hi) && lo == UINT64_MAX && hi == UINT64_MAX);
	CHECK(parse_range("4294867295", &lo, &hi) && lo == 4294867295u);
	CHECK(parse_range("0xFFFFFFFFFFFF03E8", &lo, &hi) && lo == UINT64_C(0xFFFFFFFFFFFF03E8));
	CHECK(!parse_range("read", &lo, &hi));
	CHECK(!parse_range("10-2", &lo, &hi));
	CHECK_EQ_INT(sample(3, 7, v, MAX_SAMPLES), 5);
	CHECK_EQ_INT(sample(0, UINT64_MAX, v, MAX_SAMPLES), MAX_SAMPLES);
	CHECK(v[0] == 0 && v[1] == 1 && v[2] == UINT64_MAX - 1 && v[3] == UINT64_MAX);
	uint32_t f = CG_ARCH_BIT(CG_ARCH_X86_64) | CG_ARCH_BIT(CG_ARCH_X32) | CG_ARCH_BIT(CG_ARCH_S390X);
	CHECK(expand_arches("all,-x32", f, &m) && m == (CG_ARCH_BIT(CG_ARCH_X86_64) | CG_ARCH_BIT(CG_ARCH_S390X)));
	CHECK(expand_arches("all_le", f, &m) && m == (CG_ARCH_BIT(CG_ARCH_X86_64) | CG_ARCH_BIT(CG_ARCH_X32)));
	CHECK(expand_arches("all_be", f, &m) && m == CG_ARCH_BIT(CG_ARCH_S390X));
	CHECK(expand_arches("all_64", f, &m) && m == (CG_ARCH_BIT(CG_ARCH_X86_64) | CG_ARCH_BIT(CG_ARCH_S390X)));
	CHECK(expand_arches("x86", f, &m) && m == 0);
	CHECK(expand_arches("+x86,+x86_64", f, &m) && m == (CG_ARCH_BIT(CG_ARCH_X86) | CG_ARCH_BIT(CG_ARCH_X86_64)));
	CHECK(expand_arches("+all_be", 0, &m) && (m & CG_ARCH_BIT(CG_ARCH_S390)) && !(m & CG_ARCH_BIT(CG_ARCH_ARM)));
	CHECK(!expand_arches("+vax", f, &m));
	CHECK(parse_result("ERRNO(38)", &want) && want == (SECCOMP_RET_ERRNO | 38));
	CHECK(parse_result("TRACE(1234)", &want) && want == (SECCOMP_RET_TRACE | 1234));
	CHECK(parse_result("KILL", &want) && want == 0);
	CHECK(parse_result("KILL_PROCESS", &want) && want == 0x80000000u);
	CHECK(!parse_result("ERRNO(x)", &want));
	return 0;
}

int main(void)
{
	RUN(test_parser);
	RUN(test_libseccomp_tables);
	RUN(test_capgate_table);
	T_DONE();
}
