/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Minimal test harness. Each test binary prints one line per check group:
 *   "ok <name>" / "FAIL <name>: <why>" / "skip <name>: <why>"
 * and ends with "# <passed> passed, <failed> failed, <skipped> skipped".
 * tests/run.sh adds these up. A skip is only for a kernel that truly lacks
 * the feature, and says so.
 */
#ifndef CAPGATE_T_H
#define CAPGATE_T_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int t_passed, t_failed, t_skipped;
static int t_cur_failed;
static const char *t_cur;

static inline void t_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stdout, "  %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	t_cur_failed++;
}

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			t_fail(__FILE__, __LINE__, "check failed: %s", #cond); \
	} while (0)
#define CHECKF(cond, ...)                                        \
	do {                                                     \
		if (!(cond))                                     \
			t_fail(__FILE__, __LINE__, __VA_ARGS__); \
	} while (0)
#define CHECK_EQ_INT(a, b)                                                                             \
	do {                                                                                           \
		long long _a = (long long)(a), _b = (long long)(b);                                    \
		if (_a != _b)                                                                          \
			t_fail(__FILE__, __LINE__, "%s == %lld, expected %s == %lld", #a, _a, #b, _b); \
	} while (0)
#define CHECK_STR(a, b)                                                                                                          \
	do {                                                                                                                     \
		const char *_a = (a), *_b = (b);                                                                                 \
		if (!_a || !_b || strcmp(_a, _b) != 0)                                                                           \
			t_fail(__FILE__, __LINE__, "%s == \"%s\", expected \"%s\"", #a, _a ? _a : "(null)", _b ? _b : "(null)"); \
	} while (0)
#define CHECK_CONTAINS(hay, needle)                                                                           \
	do {                                                                                                  \
		const char *_h = (hay), *_n = (needle);                                                       \
		if (!_h || !strstr(_h, _n))                                                                   \
			t_fail(__FILE__, __LINE__, "\"%s\" does not contain \"%s\"", _h ? _h : "(null)", _n); \
	} while (0)

/* Skip the current test with a reason (kernel lacks the feature). */
#define SKIP(...)                           \
	do {                                \
		printf("skip %s: ", t_cur); \
		printf(__VA_ARGS__);        \
		printf("\n");               \
		return -1;                  \
	} while (0)

/* A test is `static int test_x(void)`; return 0 (or -1 via SKIP). */
#define RUN(fn)                                   \
	do {                                      \
		t_cur = #fn;                      \
		t_cur_failed = 0;                 \
		int _r = fn();                    \
		fflush(stdout);                   \
		if (_r < 0)                       \
			t_skipped++;              \
		else if (t_cur_failed) {          \
			printf("FAIL %s\n", #fn); \
			t_failed++;               \
		} else {                          \
			printf("ok %s\n", #fn);   \
			t_passed++;               \
		}                                 \
		fflush(stdout);                   \
	} while (0)

#define T_DONE()                                                                               \
	do {                                                                                   \
		printf("# %d passed, %d failed, %d skipped\n", t_passed, t_failed, t_skipped); \
		return t_failed ? 1 : 0;                                                       \
	} while (0)

/* Where the shared corpus lives (../shared beside the checkout, or $CAPGATE_SHARED). */
static inline const char *t_shared(void)
{
	const char *s = getenv("CAPGATE_SHARED");
	return s ? s : "../shared";
}

/* A test that reads the shared corpus (../shared, or $CAPGATE_SHARED) skips
 * with the reason when it is not there: CI has it (README, "The corpus"). */
#define NEED_SHARED(rel)                                                                                     \
	do {                                                                                                 \
		char _p[4096];                                                                               \
		snprintf(_p, sizeof(_p), "%s/%s", t_shared(), rel);                                          \
		if (access(_p, F_OK) != 0)                                                                   \
			SKIP("the shared corpus is not at %s (set CAPGATE_SHARED; see README)", t_shared()); \
	} while (0)

#endif
