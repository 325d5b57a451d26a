// SPDX-License-Identifier: Apache-2.0
/* The one JSON writer: every emitter's bytes (and the closure digest) come
 * from it, so its layouts, escapes and misuse checks are pinned here. */
#include <errno.h>

#include "core/json.h"
#include "t.h"

/* Finish @j and compare the buffer with @want (NULL: only the result). */
static int finish_is(struct cg_json *j, int want_r, const char *want)
{
	int r = cg_json_finish(j);
	int bad = 0;

	if (r != want_r) {
		printf("  cg_json_finish: %d, expected %d\n", r, want_r);
		bad = 1;
	}
	if (want && (!j->sb->buf || strcmp(j->sb->buf, want) != 0)) {
		printf("  got:  [%s]\n  want: [%s]\n", j->sb->buf ? j->sb->buf : "(null)", want);
		bad = 1;
	}
	return bad;
}

/* One document with a bit of everything, in the layout @indent/@tight. */
static void sample(struct cg_json *j)
{
	cg_json_obj_open(j);
	cg_json_kv_str(j, "a", "x");
	cg_json_kv_int(j, "b", -3);
	cg_json_key(j, "c");
	cg_json_arr_open(j);
	cg_json_uint(j, 18446744073709551615ull);
	cg_json_bool(j, true);
	cg_json_null(j);
	cg_json_arr_close(j);
	cg_json_key(j, "d");
	cg_json_arr_open_inline(j);
	cg_json_str(j, "p");
	cg_json_obj_open(j); /* inside an inline container: inline too */
	cg_json_kv_bool(j, "q", false);
	cg_json_kv_str(j, "r", NULL);
	cg_json_obj_close(j);
	cg_json_arr_close(j);
	cg_json_key(j, "e");
	cg_json_obj_open(j);
	cg_json_obj_close(j);
	cg_json_key(j, "f");
	cg_json_arr_open_inline(j);
	cg_json_arr_close(j);
	cg_json_obj_close(j);
}

static int test_compact(void)
{
	struct cg_strbuf sb;
	struct cg_json j;

	cg_strbuf_init(&sb);
	cg_json_init(&j, &sb, 0);
	sample(&j);
	CHECK(!finish_is(&j, 0,
			 "{\"a\":\"x\",\"b\":-3,\"c\":[18446744073709551615,true,null],"
			 "\"d\":[\"p\",{\"q\":false,\"r\":null}],\"e\":{},\"f\":[]}"));
	cg_strbuf_release(&sb);

	/* a scalar is a document too; no trailing newline when compact */
	cg_strbuf_init(&sb);
	cg_json_init(&j, &sb, 0);
	cg_json_int(&j, 7);
	CHECK(!finish_is(&j, 0, "7"));
	cg_strbuf_release(&sb);
	return 0;
}

static int test_pretty(void)
{
	struct cg_strbuf sb;
	struct cg_json j;

	cg_strbuf_init(&sb);
	cg_json_init(&j, &sb, 2);
	sample(&j);
	CHECK(!finish_is(&j, 0,
			 "{\n"
			 "  \"a\": \"x\",\n"
			 "  \"b\": -3,\n"
			 "  \"c\": [\n"
			 "    18446744073709551615,\n"
			 "    true,\n"
			 "    null\n"
			 "  ],\n"
			 "  \"d\": [\"p\", {\"q\": false, \"r\": null}],\n"
			 "  \"e\": {},\n"
			 "  \"f\": []\n"
			 "}\n"));
	cg_strbuf_release(&sb);

	/* a wider indent, and empty containers at the top */
	cg_strbuf_init(&sb);
	cg_json_init(&j, &sb, 4);
	cg_json_arr_open(&j);
	cg_json_obj_open(&j);
	cg_json_kv_int(&j, "k", 1);
	cg_json_obj_close(&j);
	cg_json_arr_close(&j);
	CHECK(!finish_is(&j, 0, "[\n    {\n        \"k\": 1\n    }\n]\n"));
	cg_strbuf_release(&sb);

	cg_strbuf_init(&sb);
	cg_json_init(&j, &sb, 2);
	cg_json_obj_open(&j);
	cg_json_obj_close(&j);
	CHECK(!finish_is(&j, 0, "{}\n"));
	cg_strbuf_release(&sb);
	return 0;
}

/* The tight layout and members joined on one line: the closure's layout. */
static int test_tight_and_same_line(void)
{
	struct cg_strbuf sb;
	struct cg_json j;

	cg_strbuf_init(&sb);
	cg_json_init_tight(&j, &sb, 2);
	cg_json_obj_open(&j);
	cg_json_key_same_line(&j, "first"); /* a first member still starts a line */
	cg_json_str(&j, "A");
	cg_json_key_same_line(&j, "glued");
	cg_json_int(&j, 1);
	cg_json_key(&j, "list");
	cg_json_arr_open(&j);
	cg_json_obj_open_inline(&j);
	cg_json_key(&j, "n");
	cg_json_arr_open(&j);
	cg_json_str(&j, "x");
	cg_json_str(&j, "y");
	cg_json_arr_close(&j);
	cg_json_obj_close(&j);
	cg_json_arr_close(&j);
	cg_json_obj_close(&j);
	CHECK(!finish_is(&j, 0, "{\n  \"first\":\"A\",\"glued\":1,\n  \"list\":[\n    {\"n\":[\"x\",\"y\"]}\n  ]\n}\n"));
	cg_strbuf_release(&sb);

	/* joined members in the ordinary pretty layout keep the space */
	cg_strbuf_init(&sb);
	cg_json_init(&j, &sb, 2);
	cg_json_obj_open(&j);
	cg_json_kv_str(&j, "a", "A");
	cg_json_key_same_line(&j, "b");
	cg_json_int(&j, 2);
	cg_json_obj_close(&j);
	CHECK(!finish_is(&j, 0, "{\n  \"a\": \"A\", \"b\": 2\n}\n"));
	cg_strbuf_release(&sb);

	/* compact: same_line is just a key */
	cg_strbuf_init(&sb);
	cg_json_init(&j, &sb, 0);
	cg_json_obj_open(&j);
	cg_json_kv_str(&j, "a", "A");
	cg_json_key_same_line(&j, "b");
	cg_json_int(&j, 2);
	cg_json_obj_close(&j);
	CHECK(!finish_is(&j, 0, "{\"a\":\"A\",\"b\":2}"));
	cg_strbuf_release(&sb);
	return 0;
}

static int test_escapes(void)
{
	struct cg_strbuf sb;
	struct cg_json j;

	cg_strbuf_init(&sb);
	cg_json_init(&j, &sb, 0);
	cg_json_obj_open(&j);
	cg_json_kv_str(&j, "q\"k\\", "a\"b\\c/d");
	cg_json_kv_str(&j, "c", "\n\t\r\b\f\x01\x1f");
	cg_json_kv_str(&j, "u", "caf\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x94\x92 \x7f"); /* é → 🔒 DEL */
	cg_json_key(&j, "n");
	cg_json_strn(&j, "abcdef", 3);
	cg_json_key(&j, "raw");
	cg_json_raw(&j, "{\"x\":[1]}", 9);
	cg_json_key(&j, "f");
	cg_json_rawf(&j, "%d.%d", 1, 5);
	cg_json_obj_close(&j);
	CHECK(!finish_is(&j, 0,
			 "{\"q\\\"k\\\\\":\"a\\\"b\\\\c/d\","
			 "\"c\":\"\\n\\t\\r\\u0008\\u000c\\u0001\\u001f\","
			 "\"u\":\"caf\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x94\x92 \x7f\","
			 "\"n\":\"abc\",\"raw\":{\"x\":[1]},\"f\":1.5}"));
	cg_strbuf_release(&sb);
	return 0;
}

/* Each misuse is reported by cg_json_finish as -EINVAL. */
static int test_misuse(void)
{
	struct cg_strbuf sb;
	struct cg_json j;

#define MISUSE(what, ...)                                          \
	do {                                                       \
		cg_strbuf_init(&sb);                               \
		cg_json_init(&j, &sb, 2);                          \
		__VA_ARGS__;                                       \
		CHECKF(cg_json_finish(&j) == -EINVAL, "%s", what); \
		cg_strbuf_release(&sb);                            \
	} while (0)

	MISUSE("nothing written", (void)0);
	MISUSE("value without a key in an object", cg_json_obj_open(&j); cg_json_int(&j, 1); cg_json_obj_close(&j));
	MISUSE("container without a key in an object", cg_json_obj_open(&j); cg_json_arr_open(&j);
	       cg_json_arr_close(&j); cg_json_obj_close(&j));
	MISUSE("key in an array", cg_json_arr_open(&j); cg_json_key(&j, "k"); cg_json_int(&j, 1); cg_json_arr_close(&j));
	MISUSE("key at the top", cg_json_key(&j, "k"); cg_json_int(&j, 1));
	MISUSE("NULL key", cg_json_obj_open(&j); cg_json_key(&j, NULL); cg_json_int(&j, 1); cg_json_obj_close(&j));
	MISUSE("two keys in a row", cg_json_obj_open(&j); cg_json_key(&j, "a"); cg_json_key(&j, "b");
	       cg_json_int(&j, 1); cg_json_obj_close(&j));
	MISUSE("key without a value", cg_json_obj_open(&j); cg_json_key(&j, "a"); cg_json_obj_close(&j));
	MISUSE("dangling key at the end", cg_json_obj_open(&j); cg_json_key(&j, "a"));
	MISUSE("unclosed", cg_json_obj_open(&j));
	MISUSE("close without open", cg_json_arr_close(&j));
	MISUSE("one too many closes", cg_json_arr_open(&j); cg_json_arr_close(&j); cg_json_arr_close(&j));
	MISUSE("wrong close", cg_json_arr_open(&j); cg_json_obj_close(&j));
	MISUSE("two top-level values", cg_json_int(&j, 1); cg_json_int(&j, 2));
	MISUSE("two top-level containers", cg_json_arr_open(&j); cg_json_arr_close(&j); cg_json_obj_open(&j);
	       cg_json_obj_close(&j));
#undef MISUSE
	return 0;
}

static int test_depth(void)
{
	struct cg_strbuf sb;
	struct cg_json j;

	/* exactly the limit is fine */
	cg_strbuf_init(&sb);
	cg_json_init(&j, &sb, 0);
	for (int i = 0; i < CG_JSON_MAX_DEPTH; i++)
		cg_json_arr_open(&j);
	for (int i = 0; i < CG_JSON_MAX_DEPTH; i++)
		cg_json_arr_close(&j);
	CHECK_EQ_INT(cg_json_finish(&j), 0);
	CHECK_EQ_INT(sb.len, 2 * CG_JSON_MAX_DEPTH);
	cg_strbuf_release(&sb);

	/* one deeper is a programming error, even when balanced */
	cg_strbuf_init(&sb);
	cg_json_init(&j, &sb, 2);
	for (int i = 0; i <= CG_JSON_MAX_DEPTH; i++)
		cg_json_arr_open(&j);
	for (int i = 0; i <= CG_JSON_MAX_DEPTH; i++)
		cg_json_arr_close(&j);
	CHECK_EQ_INT(cg_json_finish(&j), -EINVAL);
	cg_strbuf_release(&sb);
	return 0;
}

static int test_oom(void)
{
	struct cg_strbuf sb;
	struct cg_json j;

	/* the strbuf's sticky oom, from any earlier failed append */
	cg_strbuf_init(&sb);
	cg_json_init(&j, &sb, 2);
	cg_json_obj_open(&j);
	sb.oom = true;
	cg_json_kv_str(&j, "a", "b");
	cg_json_key(&j, "n");
	cg_json_strn(&j, "xyz", 2);
	cg_json_key(&j, "f");
	cg_json_rawf(&j, "%d", 1);
	cg_json_obj_close(&j);
	CHECK_EQ_INT(cg_json_finish(&j), -ENOMEM);
	cg_strbuf_release(&sb);

	/* misuse wins over oom: the bug is the caller's either way */
	cg_strbuf_init(&sb);
	cg_json_init(&j, &sb, 0);
	sb.oom = true;
	cg_json_obj_open(&j);
	CHECK_EQ_INT(cg_json_finish(&j), -EINVAL);
	cg_strbuf_release(&sb);
	return 0;
}

int main(void)
{
	RUN(test_compact);
	RUN(test_pretty);
	RUN(test_tight_and_same_line);
	RUN(test_escapes);
	RUN(test_misuse);
	RUN(test_depth);
	RUN(test_oom);
	T_DONE();
}
