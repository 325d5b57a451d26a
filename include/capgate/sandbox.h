/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The runtime gate: run a program with exactly its closure.
 *
 * The process layout (cg_sandbox_spawn): capgate forks the program's
 * outer process with clone(2) into new namespaces -- a user namespace first
 * when capgate is not root (the caller's uid and gid mapped to themselves,
 * setgroups denied), then PID, IPC, UTS and cgroup namespaces unless shared
 * (opts.share_ns) -- in a new session (setsid), with a new pty as its
 * controlling terminal and stdin/stdout/stderr when opts.tty. With a PID
 * namespace the outer process is a minimal init (PID 1: forwards signals,
 * reaps, exits with the program's status) and the program is its child.
 *
 * Order of enforcement in the program's process (cg_sandbox_apply):
 *   1. network namespace (every --net mode but host, and the default),
 *      through a new user namespace when not privileged; with tcp ports the
 *      forwarder (started by the parent side) joins it before the program
 *      goes on;
 *   2. the mount namespace and, with any fs_* option, the read-only view;
 *   3. resource limits, the user switch (opts.user) and the capability sets
 *      (bounding, permitted, effective, inheritable, ambient: all set to
 *      cg_sandbox_caps());
 *   4. PR_SET_NO_NEW_PRIVS;
 *   5. Landlock: filesystem rules, TCP port rules, scoping -- as much as the
 *      running kernel's Landlock ABI offers; every right the ABI lacks is
 *      listed as a *missing protection* (never dropped silently);
 *   6. the socket rules (a small seccomp filter of capgate's), then the
 *      closure's seccomp filter, with seccomp(2) directly -- the last step: after
 *      it only execve() runs (cg_sandbox_spawn), so the profile must allow
 *      execve and nothing else is needed between the two.
 *
 * Filesystem rules are deny-by-default: once any path is granted, every
 * other path is denied, including the program's own binary and its shared
 * libraries (grant them, or use fs_system for the usual system directories).
 *
 * Explain mode rewrites every denial of the closure (rules and default) into
 * a user notification; the supervisor (cg_sandbox_supervise, in the parent,
 * outside the sandbox) reports each denied call through a callback and then
 * answers it with the effect the original action would have had.
 */
#ifndef CAPGATE_SANDBOX_H
#define CAPGATE_SANDBOX_H

#include <capgate/bpf.h>
#include <capgate/closure.h>
#include <capgate/phase.h>
#include <capgate/error.h>
#include <capgate/strbuf.h>
#include <sys/types.h>

/* Network namespace part of --net. Every mode but HOST gets a network
 * namespace of its own and the socket rules (a second seccomp filter: every
 * socket family, type and protocol the mode does not grant is denied). */
enum cg_sandbox_netns {
	CG_NETNS_DEFAULT,  /* no --net given: LOOPBACK -- isolated, and programs that talk
				to themselves over 127.0.0.1 keep working */
	CG_NETNS_LOOPBACK, /* new network namespace with only "lo", brought up; TCP and UDP */
	CG_NETNS_NONE,     /* new, empty network namespace; no socket; Landlock denies all TCP */
	CG_NETNS_HOST,     /* the host's network, no socket rules: the explicit opt-out */
};

/* Namespaces the program shares with capgate instead of getting its own
 * (--share-ns). The network namespace is --net's, the mount namespace the
 * filesystem view's. */
enum cg_sandbox_share {
	CG_SHARE_PID = 1u << 0,
	CG_SHARE_IPC = 1u << 1,
	CG_SHARE_UTS = 1u << 2,
	CG_SHARE_CGROUP = 1u << 3,
	CG_SHARE_ALL = 0xfu,
};

struct cg_sandbox_opts {
	size_t sz;                /* sizeof(struct cg_sandbox_opts) */
	const char *const *fs_ro; /* read + execute beneath these paths */
	size_t n_fs_ro;
	const char *const *fs_rw; /* read, write, create, remove beneath these -- never execute:
					the view mounts them noexec (no_mount_ns: Landlock alone,
					and fs_ro on the same path lets programs run from it) */
	size_t n_fs_rw;
	bool fs_system; /* add ro /usr /lib /lib64 /bin /sbin /etc, rw /dev/{null,zero,urandom} */
	enum cg_sandbox_netns netns;
	/* TCP ports with a way out of the namespace: capgate's forwarder makes
	 * the connections to tcp_connect ports (any address) from the host and
	 * listens on the host's tcp_bind ports, forwarding into the namespace.
	 * Landlock port rules (ABI 4) are a second layer: with any port given --
	 * or netns NONE -- both bind and connect are handled, what is not listed
	 * is denied. */
	bool net_tcp; /* handle TCP bind/connect even if both lists are empty */
	/* The caller's arrays, or arrays cg_sandbox_parse_net() grew with
	 * realloc(3) (free them with free(3)); at most 64 ports each. */
	uint16_t *tcp_connect;
	size_t n_tcp_connect;
	uint16_t *tcp_bind;
	size_t n_tcp_bind;
	bool net_unix;        /* --net unix: socket(AF_UNIX) -- pathname sockets reach the host's
			  services through the filesystem (socketpair is always allowed) */
	bool strict;          /* a missing protection makes cg_sandbox_new fail (-EOPNOTSUPP) */
	bool audit;           /* denials are logged by the kernel (log action), not enforced */
	bool explain;         /* denials go through the user-notify supervisor */
	int phase;            /* phase index to enforce, -1 = all phases */
	bool no_seccomp;      /* Landlock / netns only (tests, and closure == NULL) */
	int landlock_abi_max; /* use at most this Landlock ABI (0 = the kernel's): shows
					what an older kernel would miss */
	/* The process: namespaces, session, user, capabilities, limits. */
	unsigned share_ns;          /* enum cg_sandbox_share bits: namespaces not created */
	bool tty;                   /* a pty of the program's own as its terminal (the caller relays) */
	const char *user;           /* "UID[:GID]" to run as (root only), NULL = capgate's ids */
	const char *const *cap_add; /* "NET_ADMIN", "CAP_NET_ADMIN" or "ALL" */
	size_t n_cap_add;
	const char *const *cap_drop; /* the same names, "ALL" drops every capability */
	size_t n_cap_drop;
	const char *const *rlimits; /* "NAME=SOFT[:HARD]" as prlimit(1) names them */
	size_t n_rlimits;
	/* Mounts (lib/runtime/fsview.c). Always a new mount namespace with
	 * private propagation; with any fs_* option a read-only view of the
	 * tree (nosuid, nodev) with fs_rw bound rw,nosuid,nodev,noexec, a new
	 * /proc, a minimal /dev, then pivot_root. */
	const char *const *tmpfs; /* a new tmpfs (rw,nosuid,nodev,noexec) on each of these directories */
	size_t n_tmpfs;
	bool no_mount_ns;      /* keep the caller's mount namespace: no view, /proc, /dev or tmpfs */
	bool allow_memfd_exec; /* do not set vm.memfd_noexec = 2 (programs may run from a memfd) */
	/* Called by cg_sandbox_spawn in capgate while the program, its filter
	 * loaded, waits just before its execve (NULL = no wait): the moment to
	 * attach a recorder to it (run --coverage). @program is its pid as
	 * capgate sees it. A negative return kills the program and is
	 * reported as a setup failure. */
	int (*before_exec)(pid_t program, void *user);
	void *before_exec_user;
	/* Phases (docs/PHASES.md): with phased (and phase -1) the calls of the
	 * closure's "serving" phase are allowed by the filter, the calls of its
	 * other phases go to the supervisor, which lets them run until the
	 * serving trigger and denies them after it (the closure's action, or
	 * kill with phase_kill). */
	bool phased;
	struct cg_serve_trigger serve; /* kind NONE: the closure's serve_when (SIGUSR1 always works) */
	bool phase_kill;               /* a start-up call after readiness kills the process */
	/* Per-process start-up windows (docs/PHASES.md), seconds: 0 = the
	 * closure's ("workerStartup"), -1 = none. While serving, a child of
	 * the program's first process has the start-up set for its first
	 * SECONDS; clone(CLONE_PARENT) is denied and clone3 answered ENOSYS
	 * to every process, and PR_SET_CHILD_SUBREAPER is denied. */
	int worker_startup;
};

/* Parse one --net value ("none", "loopback", "host", "unix",
 * "tcp-connect=80,443", "tcp-bind=8080") into @opts; values accumulate
 * across calls (cg_sandbox_new rejects contradictions: host with anything
 * else, none with ports, a port both connect and bind). Ports are appended
 * to opts->tcp_connect or opts->tcp_bind with realloc(3): those must be NULL
 * or malloc'd, and the caller frees them. */
CAPGATE_API int cg_sandbox_parse_net(struct cg_sandbox_opts *opts, const char *spec,
				     struct cg_error *err);

/* Parse one --share-ns value ("pid,ipc", "uts", "all") into opts->share_ns. */
CAPGATE_API int cg_sandbox_parse_share_ns(struct cg_sandbox_opts *opts, const char *spec,
					  struct cg_error *err);

/* The capability set the program runs with (bit N = capability N): Docker's
 * default 14 for a root program, none for any other uid, then opts->cap_add
 * and opts->cap_drop ("ALL" in either first). The profile must be resolved
 * with exactly this set (its includes/excludes name capabilities), so that
 * the filter and the capabilities agree. -EINVAL naming a bad name or --user. */
CAPGATE_API int cg_sandbox_caps(const struct cg_sandbox_opts *opts, uint64_t *ret, struct cg_error *err);

/* The running kernel's Landlock ABI version (>= 1), or a negative errno
 * (-EOPNOTSUPP: built without / disabled at boot, -ENOSYS: too old). */
CAPGATE_API int cg_sandbox_landlock_abi(void);

/* A prepared sandbox: paths opened, rights reduced to the ABI, filter compiled. */
struct cg_sandbox;

/* Prepare a sandbox for @c (may be NULL with opts->no_seccomp). The closure
 * is copied. Fails with -EOPNOTSUPP and a message listing what is missing if
 * opts->strict and a protection cannot be enforced; -ENOENT etc. naming the
 * path when a --fs path cannot be opened. */
CAPGATE_API int cg_sandbox_new(const struct cg_closure *c, const struct cg_sandbox_opts *opts,
			       struct cg_sandbox **ret, struct cg_error *err);
/* Free (NULL is fine): closes the path descriptors, frees the program. */
CAPGATE_API void cg_sandbox_free(struct cg_sandbox *sb);
static inline void cg_sandbox_freep(struct cg_sandbox **sb) { cg_sandbox_free(*sb); }

/* For a command about to start a sandbox (capgate run): make the next
 * @bytes of the calling process's heap resident with one system call
 * (madvise MADV_POPULATE_WRITE), and keep them in the heap (glibc's
 * M_MMAP_THRESHOLD and M_TRIM_THRESHOLD at 2 x @bytes), so that reading
 * and compiling the profile does not take a page fault per 4 KiB page: on
 * a virtual machine a fault costs ~13 us, populating ~0.8 us a page
 * (bench/README.md). It changes the process's malloc settings: for
 * commands, not for a library user's process. Best effort: 0, or -errno
 * (-EINVAL for a size of 0 or over INT_MAX / 2, -EOPNOTSUPP where malloc
 * takes no such settings, e.g. under ASan, the kernel's own answer
 * where it lacks MADV_POPULATE_WRITE); nothing else depends on it. */
CAPGATE_API int cg_sandbox_prefault_heap(size_t bytes);

/* Protections requested but not enforceable on this kernel, one sentence
 * each ("landlock ABI 3: TCP port rules need ABI 4; --net tcp-connect cannot
 * be enforced"). The array is owned by @sb. */
CAPGATE_API const char *const *cg_sandbox_missing(const struct cg_sandbox *sb, size_t *ret_n);

/* The filter that will be loaded, and its seccomp(2) flags. */
CAPGATE_API const struct cg_bpf_prog *cg_sandbox_prog(const struct cg_sandbox *sb);
CAPGATE_API unsigned int cg_sandbox_seccomp_flags(const struct cg_sandbox *sb);

/* Check that the enforced closure lets execve() run on the native arch:
 * -EPERM with "profile does not allow execve: the program could not even
 * start" otherwise. */
CAPGATE_API int cg_sandbox_check_exec(const struct cg_sandbox *sb, struct cg_error *err);

/* Append what would be enforced (dry run): digest, calls per arch, default
 * action, mode, Landlock ABI and every rule, network, the process (user,
 * capabilities in each set, namespaces, session, init, resource limits) and
 * missing protections. The namespaces are checked by creating them in a
 * short-lived child: what cannot be created is said, never claimed. */
CAPGATE_API void cg_sandbox_describe(const struct cg_sandbox *sb, struct cg_strbuf *out);

/* Apply the sandbox to the calling process (see the order above). After it
 * returns 0 every call of the process is filtered. In explain mode
 * *ret_listener receives the notification fd (O_CLOEXEC), else -1;
 * @ret_listener may be NULL only when no listener is created. On failure the
 * process may be partly restricted: call it in a child. Call it while
 * single-threaded: Landlock and no_new_privs apply to the calling thread
 * only (the seccomp filter reaches other threads only with TSYNC). */
CAPGATE_API int cg_sandbox_apply(const struct cg_sandbox *sb, int *ret_listener, struct cg_error *err);

/* A program started in the sandbox. */
struct cg_sandbox_child {
	pid_t pid;         /* capgate's child: the init with a PID namespace, else the program */
	int pidfd;         /* -1 if pidfd_open is unavailable */
	int listener;      /* seccomp notification fd in explain mode, else -1 */
	void *shared;      /* internal: page shared with the child */
	pid_t program;     /* the program's pid as capgate sees it (0 if unknown) */
	int program_pidfd; /* its pidfd, -1 if none (the program is not capgate's child) */
	int pty_master;    /* opts.tty: the master end of the program's own pty (relay it with
			      cg_sandbox_tty_relay, then close it), else -1 */
};

/* Resolve @argv[0] (PATH search), create the namespaces and the session
 * (and the init), apply the sandbox in the program's process and execve.
 * A namespace that cannot be created is a setup failure (exit 125) naming
 * it and the --share-ns value that runs without it. Fails before forking with -ENOENT / -EACCES ("cannot execute") if
 * the program cannot be found, and with cg_sandbox_check_exec's error. A
 * failure inside the child (setup or execve) is reported by
 * cg_sandbox_supervise. */
CAPGATE_API int cg_sandbox_spawn(const struct cg_sandbox *sb, char *const argv[], char *const envp[],
				 struct cg_sandbox_child *ret, struct cg_error *err);

/* opts.tty: copy bytes between the program's pty and the caller (@in, put
 * in raw mode while relaying when it is a terminal, restored after; @out)
 * until the program's side of the pty is closed or @stop_fd becomes
 * readable (then what the program wrote last is copied first). Run it
 * beside cg_sandbox_supervise (another thread), and make @stop_fd readable
 * once that returns: a process the program left behind may hold the pty.
 * At the end of @in the program reads end of file (^D). */
CAPGATE_API int cg_sandbox_tty_relay(const struct cg_sandbox_child *ch, int in, int out, int stop_fd,
				     struct cg_error *err);

/* One denied call seen by the explain supervisor. */
struct cg_sandbox_event {
	pid_t pid;        /* thread id that made the call */
	int arch;         /* enum cg_arch_id, -1 if the audit arch is unknown */
	uint32_t nr;      /* as seen by the filter (x32 bit included) */
	const char *name; /* NULL if unknown */
	uint64_t args[6];
	struct cg_action action;    /* the action the profile decides (before --audit) */
	const struct cg_rule *rule; /* deciding rule, NULL = the default action */
	bool allowed;               /* audit mode: the call was let through */
	const char *text;           /* NULL until decoded: cg_sandbox_event_text() */
	int phase;                  /* phase index the call was made in, -1 = no phases */
	bool socket_rules;          /* denied by the socket rules of --net, whatever the closure says */
	const char *outcome;        /* what decided, in words: "default action errno(EPERM)", "rule errno(ENOSYS) (audit: allowed)" */
};
typedef void (*cg_sandbox_event_fn)(const struct cg_sandbox_event *ev, void *user);

/* Append the event as a person reads it, decoded as strace does (strings
 * read from the calling thread's memory, so only while the call is held,
 * i.e. inside the event callback) and followed by its outcome:
 * "socket(AF_INET=2, SOCK_STREAM=1, 0) [x86_64 nr 41]: default action
 * errno(EPERM)". Decoding costs system calls: callers decode the events
 * they show, not every one. Returns 0 or -ENOMEM. */
CAPGATE_API int cg_sandbox_event_text(const struct cg_sandbox_event *ev, struct cg_strbuf *out);

/* How a sandboxed program ended. */
struct cg_sandbox_status {
	int exit_code;     /* if exited */
	int signal;        /* if killed by a signal (0 otherwise) */
	bool seccomp_kill; /* killed for a call outside the profile (SIGSYS, or by the supervisor) */
	int exec_errno;    /* execve failed in the child with this errno */
	int setup_errno;   /* the sandbox could not be applied in the child */
	char setup_msg[CG_ERROR_MAX];
	unsigned n_denied; /* calls reported by the supervisor */
	/* phases (opts.phased) */
	bool serving;                /* the serving phase was reached */
	uint64_t serving_ms;         /* when, in ms after the start */
	char serving_why[64];        /* the trigger that fired ("listening:8080", "SIGUSR1") */
	uint64_t n_notified_startup; /* notifications answered before serving */
	uint64_t n_notified_serving; /* ... and after: 0 on a serving path the filter answers alone */
	uint64_t n_notified_window;  /* of those, the ones answered in a start-up or reload window */
};

/* Shell-style exit status: code, 128+signal (SIGSYS for a seccomp kill),
 * 126/127 for exec failures, 125 for a setup failure. */
CAPGATE_API int cg_sandbox_status_exit(const struct cg_sandbox_status *st);

/* Append why the program did not end on its own, for a person: the setup
 * failure, the execve failure of @prog, or the seccomp kill. Appends
 * nothing when the program ran and ended by itself. */
CAPGATE_API void cg_sandbox_status_describe(const struct cg_sandbox_status *st, const char *prog,
					    struct cg_strbuf *out);

/* Serve notifications (if the child has a listener) until the child exits,
 * calling @fn for each denied call, then reap it. Without a listener this is
 * a plain wait. EINTR (forwarded signals) is handled. Closes the child's fds. */
CAPGATE_API int cg_sandbox_supervise(const struct cg_sandbox *sb, struct cg_sandbox_child *ch,
				     cg_sandbox_event_fn fn, void *user,
				     struct cg_sandbox_status *ret, struct cg_error *err);

#endif
