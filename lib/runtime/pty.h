/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal: the program's own pseudo-terminal under --tty
 * (lib/runtime/pty.c). Opened by capgate before the fork, attached by the
 * program's outer process (the session leader), relayed by
 * cg_sandbox_tty_relay (public).
 */
#ifndef CAPGATE_RUNTIME_PTY_H
#define CAPGATE_RUNTIME_PTY_H

#include <capgate/error.h>

/* A new pty (both ends O_CLOEXEC, O_NOCTTY), its slave given the modes and
 * window size of the caller's terminal when there is one. */
int cg_pty_open(int *ret_master, int *ret_slave, struct cg_error *err);

/* In the new session's leader: make @slave the controlling terminal and
 * stdin, stdout and stderr. */
int cg_pty_attach(int slave, struct cg_error *err);

/* Copy the window size of terminal @from to the pty (SIGWINCH). Async-
 * signal-safe. */
void cg_pty_resize(int master, int from);

#endif
