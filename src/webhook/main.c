// SPDX-License-Identifier: Apache-2.0
/*
 * capgate-webhook: the binary behind `capgate webhook` (see server.c for
 * why it is separate). Same arguments as the command: `capgate webhook
 * --listen ...` execs `capgate-webhook --listen ...`.
 */
#include <capgate/error.h>
#include <stdio.h>
#include <stdlib.h>

#include "../cli.h"

static void log_to_stderr(enum cg_log_level level, const char *msg, void *user)
{
	(void)user;
	if (level == CG_LOG_DEBUG && !getenv("CAPGATE_DEBUG"))
		return;
	fprintf(stderr, "capgate webhook: %s%s\n", level == CG_LOG_WARN ? "warning: " : "", msg);
}

int main(int argc, char **argv)
{
	cg_set_log(log_to_stderr, NULL);
	return cmd_webhook(argc - 1, argv + 1);
}
