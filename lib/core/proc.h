/* SPDX-License-Identifier: Apache-2.0 */
/* Internal: reading /proc and starting a program, shared by the sandbox
 * (lib/runtime/sandbox.c) and the recorders (lib/source/trace*.c). */
#ifndef CAPGATE_PROC_H
#define CAPGATE_PROC_H

#include <stddef.h>
#include <sys/types.h>

struct cg_error;

/* The number after "@field:" in /proc/@pid/status: 0, or -errno (-ENOENT:
 * no such process or field). */
int cg_proc_status(pid_t pid, const char *field, long *ret);
/* The thread group of thread @tid (@tid itself if it cannot be read). */
pid_t cg_proc_tgid(pid_t tid);
/* The descendants of @root as they are now (one /proc walk): @ret gets
 * their pids, @root not included; free() it. */
int cg_proc_descendants(pid_t root, pid_t **ret, size_t *n);
/* Find the program execvp would run for @file, before anything is forked,
 * so that a missing command is a one-line error: a name with a '/' is
 * taken as it is; otherwise each PATH entry is tried in order (an empty
 * entry is the current directory; PATH unset: /usr/local/bin:/usr/bin:/bin),
 * skipping what is not a regular executable file. @ret gets the path;
 * free() it. -ENOENT: nothing found; -EACCES: found, but not executable
 * (or a directory); another -errno from stat() for a path with a '/'. */
int cg_exec_find(const char *file, char **ret, struct cg_error *err);
/* In a forked child: execve @path (the caller's environment if @envp is
 * NULL). If that fails, write its errno to @errfd and exit 127 (not found)
 * or 126. */
_Noreturn void cg_exec_or_report(const char *path, char *const argv[], char *const envp[], int errfd);

/* Write @s to the existing file @path (a /proc or /sys setting such as
 * uid_map): 0 or -errno. */
int cg_proc_write(const char *path, const char *s);

#endif
