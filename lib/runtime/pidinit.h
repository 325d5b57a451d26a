/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal: the init that is PID 1 of the program's PID namespace
 * (lib/runtime/pidinit.c), and how capgate learns the program's pidfd.
 */
#ifndef CAPGATE_RUNTIME_PIDINIT_H
#define CAPGATE_RUNTIME_PIDINIT_H

#include "runtime/sandbox_internal.h"

/* As PID 1: start a child that runs @program(@arg) (it must not return),
 * send the child's pidfd to capgate over @sock, then forward signals and
 * reap until the child ends; its wait status goes to @sh, and init exits
 * with the shell form of it. Never returns. @share_vm: the child shares the
 * init's memory until its execve (vfork-like, the init stopped meanwhile),
 * so the pidfd is sent after the execve; only for a program that does not
 * wait for capgate before its execve. */
_Noreturn void cg_pidinit_run(int sock, struct cg_sandbox_shared *sh, bool share_vm, void (*program)(void *),
			      void *arg);

/* capgate's side: the program's pidfd sent by the init, or -1 when the init
 * ended (or failed) before sending it. */
int cg_pidinit_recv_pidfd(int sock);

#endif
