// SPDX-License-Identifier: Apache-2.0
#include "opt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void opt_usage(const char *cmd, const char *usage, const char *description, const struct opt *opts)
{
	printf("usage: capgate %s %s\n", cmd, usage);
	if (description)
		printf("\n%s\n", description);
	if (opts && opts[0].type != OPT_END)
		printf("\noptions:\n");
	for (const struct opt *o = opts; o && o->type != OPT_END; o++) {
		char left[64];
		int n = 0;
		if (o->short_name)
			n = snprintf(left, sizeof(left), "-%c, ", o->short_name);
		else
			n = snprintf(left, sizeof(left), "    ");
		snprintf(left + n, sizeof(left) - (size_t)n, "--%s%s%s", o->long_name, o->argh ? " " : "",
			 o->argh ? o->argh : "");
		printf("  %-28s %s\n", left, o->help);
	}
	printf("  %-28s %s\n", "-h, --help", "show this help");
}

void opt_list_release(struct opt_list *l)
{
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

static int set(const char *cmd, const struct opt *o, const char *arg)
{
	switch (o->type) {
	case OPT_BOOL:
		*(bool *)o->value = true;
		return 0;
	case OPT_STRING:
		*(const char **)o->value = arg;
		return 0;
	case OPT_LIST: {
		struct opt_list *l = o->value;
		const char **n = realloc(l->items, (l->n + 1) * sizeof(*n));
		if (!n) {
			fprintf(stderr, "capgate %s: out of memory\n", cmd);
			return -1;
		}
		n[l->n++] = arg;
		l->items = n;
		return 0;
	}
	case OPT_INT: {
		char *end;
		errno = 0;
		long v = strtol(arg, &end, 0);
		if (errno || end == arg || *end) {
			fprintf(stderr, "capgate %s: --%s expects a number, got '%s'\n", cmd, o->long_name, arg);
			return -1;
		}
		*(long *)o->value = v;
		return 0;
	}
	case OPT_CALLBACK:
		if (o->cb(o, arg) < 0)
			return -1;
		return 0;
	case OPT_END:
		break;
	}
	return -1;
}

int opt_parse(const char *cmd, const char *usage, const char *description, int argc, char **argv,
	      const struct opt *opts, bool stop_at_arg, char ***ret_args, int *ret_nargs)
{
	char **args = calloc((size_t)argc + 1, sizeof(char *));
	int nargs = 0;
	bool only_args = false;

	if (!args) {
		fprintf(stderr, "capgate %s: out of memory\n", cmd);
		return -1;
	}
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const struct opt *o = NULL;
		const char *val = NULL;

		if (only_args || a[0] != '-' || a[1] == '\0') {
			args[nargs++] = argv[i];
			if (stop_at_arg)
				only_args = true;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_args = true;
			continue;
		}
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			opt_usage(cmd, usage, description, opts);
			free(args);
			return 1;
		}
		if (a[1] == '-') {
			const char *name = a + 2, *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);
			for (const struct opt *p = opts; p && p->type != OPT_END; p++)
				if (strlen(p->long_name) == len && strncmp(p->long_name, name, len) == 0)
					o = p;
			if (!o) {
				fprintf(stderr, "capgate %s: unknown option '%s' (see 'capgate %s --help')\n", cmd, a,
					cmd);
				goto fail;
			}
			if (eq) {
				if (!o->argh) {
					fprintf(stderr, "capgate %s: option '--%s' takes no value\n", cmd, o->long_name);
					goto fail;
				}
				val = eq + 1;
			}
		} else {
			for (const struct opt *p = opts; p && p->type != OPT_END; p++)
				if (p->short_name == a[1])
					o = p;
			if (!o || (a[2] && !o->argh)) {
				fprintf(stderr, "capgate %s: unknown option '%s' (see 'capgate %s --help')\n", cmd, a,
					cmd);
				goto fail;
			}
			if (a[2])
				val = a + 2;
		}
		if (o->argh && !val) {
			if (i + 1 >= argc) {
				fprintf(stderr, "capgate %s: option '%s' needs a value (%s)\n", cmd, a, o->argh);
				goto fail;
			}
			val = argv[++i];
		}
		if (set(cmd, o, val) < 0)
			goto fail;
	}
	*ret_args = args;
	*ret_nargs = nargs;
	return 0;
fail:
	free(args);
	return -1;
}
