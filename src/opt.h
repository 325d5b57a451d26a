/* SPDX-License-Identifier: Apache-2.0 */
/* Declarative option tables for the commands: one parser, generated --help. */
#ifndef CAPGATE_OPT_H
#define CAPGATE_OPT_H

#include <stdbool.h>
#include <stddef.h>

enum opt_type {
	OPT_BOOL,     /* bool *value */
	OPT_STRING,   /* const char **value (last wins) */
	OPT_LIST,     /* struct opt_list *value (repeatable) */
	OPT_INT,      /* long *value */
	OPT_CALLBACK, /* cb(opt, arg) with arg NULL if !argh */
	OPT_END,
};

struct opt_list {
	const char **items;
	size_t n;
};

struct opt;
typedef int (*opt_cb)(const struct opt *o, const char *arg);

struct opt {
	enum opt_type type;
	char short_name; /* 0 = none */
	const char *long_name;
	void *value;
	const char *argh; /* argument placeholder, NULL = takes none */
	const char *help;
	opt_cb cb;
};

#define OPT_END_MARK            \
	{                       \
		.type = OPT_END \
	}

/* Parse options for command @cmd. Positional arguments are returned in
 * *ret_args (pointers into argv). Stops at "--" (everything after is
 * positional) and, with @stop_at_arg, at the first positional argument.
 * Returns 0, 1 if --help was printed (caller exits 0), or -1 after printing
 * a usage error (caller exits 2). */
int opt_parse(const char *cmd, const char *usage, const char *description, int argc, char **argv,
	      const struct opt *opts, bool stop_at_arg, char ***ret_args, int *ret_nargs);

/* Print the generated help for a command to stdout. */
void opt_usage(const char *cmd, const char *usage, const char *description, const struct opt *opts);

/* Free the list arrays allocated by opt_parse (not the strings). */
void opt_list_release(struct opt_list *l);

/* Exit codes shared by every command. */
enum { EXIT_OK = 0,
       EXIT_FINDINGS = 1,
       EXIT_USAGE = 2 };

#endif
