/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal: the receiving end of sd_notify(3) for the sd-notify serving
 * trigger, shared by trace (capgate's own socket) and run (the program's).
 */
#ifndef CAPGATE_SDNOTIFY_H
#define CAPGATE_SDNOTIFY_H

#include <capgate/error.h>
#include <stdbool.h>

/* A non-blocking datagram socket bound to the abstract name @name (no
 * leading '@'): its fd, or < 0 with @err set. */
int cg_sdnotify_bind(const char *name, struct cg_error *err);
/* @envp (NULL: environ) without NOTIFY_SOCKET, then "NOTIFY_SOCKET=@name":
 * a malloc'd array whose last entry alone is malloc'd too (free both with
 * cg_sdnotify_env_free); NULL when out of memory. */
char **cg_sdnotify_env(char *const *envp, const char *name);
void cg_sdnotify_env_free(char **env);
/* Read every waiting datagram: whether one said READY=1. Other lines
 * (STATUS=, RELOADING=1, ...) change nothing. */
bool cg_sdnotify_ready(int fd);

#endif
