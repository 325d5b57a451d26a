// SPDX-License-Identifier: Apache-2.0
/* capgate node-sync: the DaemonSet agent that installs closures as Localhost
 * seccomp profiles. The passes and the watch are the library's
 * (lib/static/nodesync.c); this file loops and prints. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "../cli.h"
#include "static/nodesync.h"

static const char usage[] = "--source DIR --kubelet-root DIR [--named FILE]... [--once | --init] [--interval S]";
static const char desc[] =
	"Install every closure of --source (a directory, or a mounted ConfigMap: read through its\n"
	"..data link, one version at a time) as <kubelet-root>/seccomp/capgate/sha256-<hex>.json, the\n"
	"Localhost profile a Pod names as 'capgate/sha256-<hex>.json' (hex = the closure digest, as\n"
	"'capgate resolve --digest' prints it). Each file is validated first; a bad one is reported\n"
	"and skipped, never half written. Profiles this agent wrote that left the source are\n"
	"removed, except in a pass where some entry was bad. --named FILE installs the source entry\n"
	"FILE under its own name too (capgate/FILE), for a profile a manifest names directly, such\n"
	"as capgate's own (capgate/capgate-webhook.json). Without --once it runs until SIGTERM,\n"
	"passing again on every change of the source (inotify) and every --interval seconds.\n"
	"Exit status with --once: 0 every entry installed, 1 some entry bad, 2 the source or the\n"
	"profile directory cannot be used. --init is the pass of an init container that installs the\n"
	"agent's own profile before the agent starts under it: one pass that removes nothing, exit\n"
	"status 1 only when a --named entry is bad or missing (other bad entries are reported and\n"
	"skipped, as the running agent does).";

static volatile sig_atomic_t stop;

static void on_signal(int sig) { stop = sig; }

/* Print what a pass did; with @quiet, nothing when nothing changed. */
static void print_pass(const struct cg_nodesync_result *res, bool quiet)
{
	for (size_t i = 0; i < res->n_entries; i++) {
		const struct cg_nodesync_entry *e = &res->entries[i];
		if (e->state == CG_NODESYNC_WRITTEN)
			printf("wrote %s/sha256-%s.json from %s\n", CG_NODESYNC_SUBDIR, e->digest + strlen("sha256:"), e->name);
		else if (e->state == CG_NODESYNC_ERROR)
			fprintf(stderr, "capgate node-sync: %s (skipped)\n", e->error);
		else if (e->state == CG_NODESYNC_IGNORED && !quiet)
			printf("ignored %s (not .json, .yaml or .yml)\n", e->name);
	}
	for (size_t i = 0; i < res->n_removed; i++)
		printf("removed %s/%s (no longer in the source)\n", CG_NODESYNC_SUBDIR, res->removed[i]);
	if (res->removal_held)
		fprintf(stderr, "capgate node-sync: %zu bad entr%s: nothing removed in this pass\n", res->n_errors,
			res->n_errors == 1 ? "y" : "ies");
	if (!quiet || res->n_written || res->n_removed || res->n_errors)
		printf("%zu written, %zu unchanged, %zu removed, %zu bad\n", res->n_written, res->n_unchanged,
		       res->n_removed, res->n_errors);
	fflush(stdout);
}

/* Every --named entry is in the source and was installed (written or
 * already there); an error is printed for each that was not. */
static bool named_installed(const struct cg_nodesync_result *res, const struct opt_list *named)
{
	bool all = true;

	for (size_t k = 0; k < named->n; k++) {
		size_t i;
		for (i = 0; i < res->n_entries; i++)
			if (strcmp(res->entries[i].name, named->items[k]) == 0)
				break;
		if (i < res->n_entries && (res->entries[i].state == CG_NODESYNC_WRITTEN ||
					   res->entries[i].state == CG_NODESYNC_UNCHANGED))
			continue;
		if (i == res->n_entries)
			cli_error("node-sync", "--named %s: not in the source", named->items[k]);
		all = false;
	}
	return all;
}

int cmd_node_sync(int argc, char **argv)
{
	const char *source = NULL, *root = NULL;
	long interval = 60;
	bool once = false, init = false;
	struct opt_list named = { 0 };
	struct opt opts[] = {
		{ OPT_STRING, 0, "source", &source, "DIR", "directory or mounted ConfigMap of closures (required)", NULL },
		{ OPT_STRING, 0, "kubelet-root", &root, "DIR", "the kubelet's root directory, e.g. /var/lib/kubelet (required)",
		  NULL },
		{ OPT_LIST, 0, "named", &named, "FILE", "also install this source entry as capgate/FILE (repeatable)", NULL },
		{ OPT_BOOL, 0, "once", &once, NULL, "one pass, then exit", NULL },
		{ OPT_BOOL, 0, "init", &init, NULL, "one pass that removes nothing; fails only for a --named entry", NULL },
		{ OPT_INT, 0, "interval", &interval, "S", "seconds between passes without a change (default 60)", NULL },
		OPT_END_MARK,
	};
	struct cg_nodesync_opts o = { .sz = sizeof(o) };
	_cleanup_free_ char **args = NULL;
	struct cg_error err = { 0 };
	struct sigaction sa = { .sa_handler = on_signal };
	_cleanup_close_ int wfd = -1;
	int nargs, r, status = EXIT_OK;
	bool first = true;

	if ((r = opt_parse("node-sync", usage, desc, argc, argv, opts, false, &args, &nargs)))
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	if (nargs || !source || !root) {
		opt_list_release(&named);
		if (nargs)
			cli_error("node-sync", "unexpected argument '%s'", args[0]);
		else
			cli_error("node-sync", "--source and --kubelet-root are required");
		return EXIT_USAGE;
	}
	if (interval < 1 || interval > 86400) {
		cli_error("node-sync", "--interval: %ld is not between 1 and 86400 seconds", interval);
		opt_list_release(&named);
		return EXIT_USAGE;
	}
	if (init && once) {
		cli_error("node-sync", "--init and --once: choose one");
		opt_list_release(&named);
		return EXIT_USAGE;
	}
	once |= init;
	o.no_remove = init;
	o.source = source;
	o.kubelet_root = root;
	o.named = named.items;
	o.n_named = named.n;
	if (!once) {
		/* PID 1 of a container ignores SIGTERM unless it handles it. */
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		if (cg_nodesync_watch(source, &wfd, &err) < 0)
			fprintf(stderr, "capgate node-sync: warning: %s: passing every %ld s only\n", err.msg, interval);
	}
	while (!stop) {
		struct cg_nodesync_result res;

		r = cg_nodesync_once(&o, &res, &err);
		if (r < 0)
			fprintf(stderr, "capgate node-sync: %s\n", err.msg);
		else
			print_pass(&res, !first && !once);
		status = r < 0 ? EXIT_USAGE : res.n_errors ? EXIT_FINDINGS
							   : EXIT_OK;
		if (r >= 0 && init)
			status = named_installed(&res, &named) ? EXIT_OK : EXIT_FINDINGS;
		cg_nodesync_result_release(&res);
		first = false;
		if (once)
			break;
		r = wfd >= 0 ? cg_nodesync_wait(wfd, (int)interval * 1000) : 0;
		if (wfd < 0 && !stop)
			r = sleep((unsigned)interval) ? -EINTR : 0;
		if (r < 0 && r != -EINTR) {
			fprintf(stderr, "capgate node-sync: warning: watch: %s: passing every %ld s only\n", strerror(-r),
				interval);
			close(wfd);
			wfd = -1;
		}
	}
	opt_list_release(&named);
	return once ? status : EXIT_OK;
}
