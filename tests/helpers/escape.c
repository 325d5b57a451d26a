// SPDX-License-Identifier: Apache-2.0
/*
 * The attacks of issue 10 against `capgate run`, one subcommand each, so that
 * every protection of the runtime gate is first proven by an attack that
 * tries to get around it. tests/cli/escape.sh runs each one twice: once
 * plainly (the control: the attack must work on this machine, or the test
 * proves nothing) and once under capgate (it must be blocked).
 *
 * Each attack prints exactly one verdict line on stdout:
 *   ESCAPED <what>                    exit 0: the attack worked
 *   BLOCKED <what>: <errno or reason> exit 1: it did not
 * Usage errors exit 2. A few subcommands are not attacks but the outside
 * targets the tests need (a process to attack, UNIX/TCP/UDP servers); they
 * run until killed. Only one file, built by the Makefile with every helper.
 *
 *   escape help                       list the subcommands
 *   escape ATTACK [ARGS...]
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <linux/vm_sockets.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <net/ethernet.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#ifndef MSG_FASTOPEN
#define MSG_FASTOPEN 0x20000000
#endif
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif

/* every attack has the table's signature; several take no arguments */
#pragma GCC diagnostic ignored "-Wunused-parameter"

extern char **environ;

/* The target process's victim buffer: escape vm-write / proc-mem overwrite it. */
static volatile char victim[32] = "untouched";

static int escaped(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("ESCAPED ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	return 0;
}

/* BLOCKED <what>: <strerror(err)>; err 0 means the reason is in what. */
static int blocked(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("BLOCKED ");
	vprintf(fmt, ap);
	if (err)
		printf(": %s (%s)", strerrorname_np(err) ? strerrorname_np(err) : "?", strerror(err));
	printf("\n");
	va_end(ap);
	return 1;
}

static int usage(const char *msg)
{
	fprintf(stderr, "escape: %s (escape help)\n", msg);
	return 2;
}

static pid_t arg_pid(const char *s)
{
	return (pid_t)strtol(s, NULL, 10);
}

static unsigned short arg_port(const char *s)
{
	return (unsigned short)strtoul(s, NULL, 10);
}

static struct sockaddr_in loopback(unsigned short port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

/* ---- outside targets (not attacks) ------------------------------------- */

/*
 * target FILE SECRET: a process to attack. Writes "PID VICTIM_ADDR FD" to FILE
 * (FD: an open descriptor of SECRET, for pidfd_getfd), then every 50 ms logs
 * to stdout when the victim buffer was overwritten, and restores it.
 */
static int do_target(int argc, char **argv)
{
	if (argc != 2)
		return usage("target FILE SECRET");
	int fd = open(argv[1], O_RDONLY);
	if (fd < 0)
		return usage("cannot open SECRET");
	FILE *f = fopen(argv[0], "w");
	if (!f)
		return usage("cannot write FILE");
	fprintf(f, "%d %p %d\n", getpid(), (void *)victim, fd);
	fclose(f);
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (;;) {
		if (strcmp((const char *)victim, "untouched") != 0) {
			printf("victim overwritten: %.31s\n", (const char *)victim);
			strcpy((char *)victim, "untouched");
		}
		usleep(50000);
	}
}

/* serve-unix PATH: a pathname UNIX stream server; logs "accepted" per client. */
static int do_serve_unix(int argc, char **argv)
{
	if (argc != 1)
		return usage("serve-unix PATH");
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", argv[0]);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	unlink(argv[0]);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 16) < 0) {
		perror("serve-unix");
		return 2;
	}
	chmod(argv[0], 0777);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("listening %s\n", argv[0]);
	for (;;) {
		int c = accept(s, NULL, NULL);
		if (c >= 0) {
			printf("accepted\n");
			close(c);
		}
	}
}

/* serve-tcp PORT: a TCP server on 127.0.0.1; logs "accepted" per client. */
static int do_serve_tcp(int argc, char **argv)
{
	if (argc != 1)
		return usage("serve-tcp PORT");
	struct sockaddr_in a = loopback(arg_port(argv[0]));
	int one = 1, s = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 16) < 0) {
		perror("serve-tcp");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("listening %s\n", argv[0]);
	for (;;) {
		int c = accept(s, NULL, NULL);
		if (c >= 0) {
			printf("accepted\n");
			close(c);
		}
	}
}

/* serve-udp PORT: a UDP socket on 127.0.0.1; logs "datagram" per datagram. */
static int do_serve_udp(int argc, char **argv)
{
	if (argc != 1)
		return usage("serve-udp PORT");
	struct sockaddr_in a = loopback(arg_port(argv[0]));
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("serve-udp");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("listening %s\n", argv[0]);
	for (;;) {
		char buf[256];
		if (recv(s, buf, sizeof(buf), 0) >= 0)
			printf("datagram\n");
	}
}

/* ran-from WHAT: what the exec attacks run; reaching main is the escape. */
static int do_ran_from(int argc, char **argv)
{
	return escaped("executed %s", argc > 0 ? argv[0] : "?");
}

/* ---- 1. other processes ------------------------------------------------ */

static int do_ptrace_attach(int argc, char **argv)
{
	if (argc != 1)
		return usage("ptrace-attach PID");
	pid_t pid = arg_pid(argv[0]);
	if (ptrace(PTRACE_ATTACH, pid, 0, 0) < 0)
		return blocked(errno, "ptrace(PTRACE_ATTACH, %d)", pid);
	waitpid(pid, NULL, __WALL);
	ptrace(PTRACE_DETACH, pid, 0, 0);
	return escaped("ptrace(PTRACE_ATTACH, %d): attached and detached", pid);
}

static int do_ptrace_seize(int argc, char **argv)
{
	if (argc != 1)
		return usage("ptrace-seize PID");
	pid_t pid = arg_pid(argv[0]);
	if (ptrace(PTRACE_SEIZE, pid, 0, 0) < 0)
		return blocked(errno, "ptrace(PTRACE_SEIZE, %d)", pid);
	return escaped("ptrace(PTRACE_SEIZE, %d): seized (detached at exit)", pid);
}

static int send_signal(int argc, char **argv, int sig, const char *name)
{
	if (argc != 1)
		return usage("kill-* PID");
	pid_t pid = arg_pid(argv[0]);
	if (kill(pid, sig) < 0)
		return blocked(errno, "kill(%d, %s)", pid, name);
	return escaped("kill(%d, %s)", pid, name);
}

static int do_kill_stop(int argc, char **argv)
{
	return send_signal(argc, argv, SIGSTOP, "SIGSTOP");
}

static int do_kill_0(int argc, char **argv)
{
	return send_signal(argc, argv, 0, "0");
}

static const char payload[] = "overwritten";

static int do_vm_write(int argc, char **argv)
{
	if (argc != 2)
		return usage("vm-write PID ADDR");
	pid_t pid = arg_pid(argv[0]);
	void *addr = (void *)strtoull(argv[1], NULL, 16);
	struct iovec l = { (void *)payload, sizeof(payload) }, r = { addr, sizeof(payload) };
	ssize_t n = process_vm_writev(pid, &l, 1, &r, 1, 0);
	if (n < 0)
		return blocked(errno, "process_vm_writev(%d, %p)", pid, addr);
	return escaped("process_vm_writev(%d, %p): wrote %zd bytes", pid, addr, n);
}

static int do_proc_mem(int argc, char **argv)
{
	if (argc != 2)
		return usage("proc-mem PID ADDR");
	pid_t pid = arg_pid(argv[0]);
	unsigned long long addr = strtoull(argv[1], NULL, 16);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	int fd = open(path, O_RDWR);
	if (fd < 0)
		return blocked(errno, "open(%s, O_RDWR)", path);
	ssize_t n = pwrite(fd, payload, sizeof(payload), (off_t)addr);
	if (n < 0)
		return blocked(errno, "pwrite(%s, 0x%llx)", path, addr);
	return escaped("pwrite(%s, 0x%llx): wrote %zd bytes", path, addr, n);
}

static int do_pidfd_getfd(int argc, char **argv)
{
	if (argc != 2)
		return usage("pidfd-getfd PID FD");
	pid_t pid = arg_pid(argv[0]);
	int target_fd = atoi(argv[1]);
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd < 0)
		return blocked(errno, "pidfd_open(%d)", pid);
	int fd = (int)syscall(SYS_pidfd_getfd, pfd, target_fd, 0);
	if (fd < 0)
		return blocked(errno, "pidfd_getfd(%d, %d)", pid, target_fd);
	char buf[64] = "";
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n > 0)
		buf[strcspn(buf, "\n")] = 0;
	return escaped("pidfd_getfd(%d, %d): read '%s'", pid, target_fd, buf);
}

static int do_setaffinity(int argc, char **argv)
{
	if (argc != 1)
		return usage("setaffinity PID");
	pid_t pid = arg_pid(argv[0]);
	cpu_set_t set;
	/* the target's own mask, so that a success changes nothing */
	if (sched_getaffinity(pid, sizeof(set), &set) < 0 &&
	    sched_getaffinity(0, sizeof(set), &set) < 0)
		return blocked(errno, "sched_getaffinity");
	if (sched_setaffinity(pid, sizeof(set), &set) < 0)
		return blocked(errno, "sched_setaffinity(%d)", pid);
	return escaped("sched_setaffinity(%d)", pid);
}

/* ---- 2. the filesystem outside the grant -------------------------------- */

static int fs_result(int rc, const char *what, const char *path)
{
	if (rc < 0)
		return blocked(errno, "%s %s", what, path);
	return escaped("%s %s", what, path);
}

static int do_chmod(int argc, char **argv)
{
	if (argc != 1)
		return usage("chmod PATH");
	return fs_result(chmod(argv[0], 04755), "chmod 4755", argv[0]);
}

static int do_chown(int argc, char **argv)
{
	if (argc != 1)
		return usage("chown PATH");
	return fs_result(chown(argv[0], 65534, 65534), "chown 65534:65534", argv[0]);
}

static int do_utimensat(int argc, char **argv)
{
	if (argc != 1)
		return usage("utimensat PATH");
	struct timespec ts[2] = { { 1, 0 }, { 1, 0 } };
	return fs_result(utimensat(AT_FDCWD, argv[0], ts, 0), "utimensat (1970)", argv[0]);
}

static int do_setxattr(int argc, char **argv)
{
	if (argc != 1)
		return usage("setxattr PATH");
	return fs_result(setxattr(argv[0], "user.escape", "1", 1, 0), "setxattr user.escape", argv[0]);
}

static int do_truncate(int argc, char **argv)
{
	if (argc != 1)
		return usage("truncate PATH");
	return fs_result(truncate(argv[0], 0), "truncate 0", argv[0]);
}

static int do_write(int argc, char **argv)
{
	if (argc != 1)
		return usage("write PATH");
	int fd = open(argv[0], O_WRONLY | O_APPEND);
	if (fd < 0)
		return blocked(errno, "open(O_WRONLY) %s", argv[0]);
	return fs_result(write(fd, "x", 1) == 1 ? 0 : -1, "write", argv[0]);
}

static int do_create(int argc, char **argv)
{
	if (argc != 1)
		return usage("create PATH");
	int fd = open(argv[0], O_WRONLY | O_CREAT | O_EXCL, 0644);
	return fs_result(fd, "create", argv[0]);
}

static int do_unlink(int argc, char **argv)
{
	if (argc != 1)
		return usage("unlink PATH");
	return fs_result(unlink(argv[0]), "unlink", argv[0]);
}

static int do_rename(int argc, char **argv)
{
	if (argc != 2)
		return usage("rename FROM TO");
	if (rename(argv[0], argv[1]) < 0)
		return blocked(errno, "rename %s -> %s", argv[0], argv[1]);
	return escaped("rename %s -> %s", argv[0], argv[1]);
}

static int do_link(int argc, char **argv)
{
	if (argc != 2)
		return usage("link FROM TO");
	if (link(argv[0], argv[1]) < 0)
		return blocked(errno, "link %s -> %s", argv[0], argv[1]);
	return escaped("link %s -> %s", argv[0], argv[1]);
}

static int do_symlink(int argc, char **argv)
{
	if (argc != 2)
		return usage("symlink TARGET LINKPATH");
	if (symlink(argv[0], argv[1]) < 0)
		return blocked(errno, "symlink %s at %s", argv[0], argv[1]);
	return escaped("symlink %s at %s", argv[0], argv[1]);
}

static int do_mkfifo(int argc, char **argv)
{
	if (argc != 1)
		return usage("mkfifo PATH");
	return fs_result(mkfifo(argv[0], 0644), "mkfifo", argv[0]);
}

static int do_mkdir(int argc, char **argv)
{
	if (argc != 1)
		return usage("mkdir PATH");
	return fs_result(mkdir(argv[0], 0755), "mkdir", argv[0]);
}

/* dotdot DIR REL: open the granted DIR, then write DIR/REL (REL climbs out). */
static int do_dotdot(int argc, char **argv)
{
	if (argc != 2)
		return usage("dotdot DIR REL");
	int dfd = open(argv[0], O_PATH | O_DIRECTORY);
	if (dfd < 0)
		return blocked(errno, "open %s", argv[0]);
	int fd = openat(dfd, argv[1], O_WRONLY | O_APPEND);
	if (fd < 0)
		return blocked(errno, "openat(%s, %s, O_WRONLY)", argv[0], argv[1]);
	return fs_result(write(fd, "x", 1) == 1 ? 0 : -1, "write through ..", argv[1]);
}

/* openat2 DIR REL: the same through openat2 with no RESOLVE_* restriction. */
static int do_openat2(int argc, char **argv)
{
	if (argc != 2)
		return usage("openat2 DIR REL");
	int dfd = open(argv[0], O_PATH | O_DIRECTORY);
	if (dfd < 0)
		return blocked(errno, "open %s", argv[0]);
	struct open_how how = { .flags = O_WRONLY | O_APPEND };
	int fd = (int)syscall(SYS_openat2, dfd, argv[1], &how, sizeof(how));
	if (fd < 0)
		return blocked(errno, "openat2(%s, %s, O_WRONLY)", argv[0], argv[1]);
	return fs_result(write(fd, "x", 1) == 1 ? 0 : -1, "write through openat2", argv[1]);
}

static int do_mount_bind(int argc, char **argv)
{
	if (argc != 2)
		return usage("mount-bind SRC TARGET");
	if (mount(argv[0], argv[1], NULL, MS_BIND, NULL) < 0)
		return blocked(errno, "mount --bind %s %s", argv[0], argv[1]);
	return escaped("mount --bind %s %s", argv[0], argv[1]);
}

static int do_mount_tmpfs(int argc, char **argv)
{
	if (argc != 1)
		return usage("mount-tmpfs TARGET");
	return fs_result(mount("escape", argv[0], "tmpfs", 0, "size=64k"), "mount -t tmpfs", argv[0]);
}

/* ---- 3. devices ----------------------------------------------------------- */

/* mknod DIR: make DIR/kmsg as char 1:11 (/dev/kmsg) and read one record. */
static int do_mknod(int argc, char **argv)
{
	if (argc != 1)
		return usage("mknod DIR");
	char path[4096];
	snprintf(path, sizeof(path), "%s/kmsg", argv[0]);
	unlink(path);
	if (mknod(path, S_IFCHR | 0600, makedev(1, 11)) < 0)
		return blocked(errno, "mknod %s c 1 11", path);
	int fd = open(path, O_RDONLY | O_NONBLOCK);
	int err = errno;
	unlink(path);
	if (fd < 0)
		return blocked(err, "mknod %s c 1 11 worked, open", path);
	char buf[512];
	ssize_t n = read(fd, buf, sizeof(buf));
	return escaped("opened a made /dev/kmsg (1:11), read %zd bytes", n);
}

/* ---- 4. the terminal -------------------------------------------------------- */

/* tiocsti TEXT: push TEXT (and a newline) into the input of the tty on fd 0. */
static int do_tiocsti(int argc, char **argv)
{
	if (argc != 1)
		return usage("tiocsti TEXT");
	if (!isatty(0))
		return blocked(0, "ioctl(0, TIOCSTI): fd 0 is not a terminal");
	char line[256];
	snprintf(line, sizeof(line), "%s\n", argv[0]);
	for (const char *p = line; *p; p++)
		if (ioctl(0, TIOCSTI, p) < 0)
			return blocked(errno, "ioctl(0, TIOCSTI)");
	return escaped("ioctl(0, TIOCSTI) pushed '%s'", argv[0]);
}

/* ---- 5. network ----------------------------------------------------------- */

static int connect_port(int type, int proto, const char *what, const char *port)
{
	struct sockaddr_in a = loopback(arg_port(port));
	int s = socket(AF_INET, type, proto);
	if (s < 0)
		return blocked(errno, "socket(%s)", what);
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
		return blocked(errno, "%s connect 127.0.0.1:%s", what, port);
	return escaped("%s connect 127.0.0.1:%s", what, port);
}

static int do_tcp_connect(int argc, char **argv)
{
	if (argc != 1)
		return usage("tcp-connect PORT");
	return connect_port(SOCK_STREAM, 0, "TCP", argv[0]);
}

static int do_mptcp_connect(int argc, char **argv)
{
	if (argc != 1)
		return usage("mptcp-connect PORT");
	return connect_port(SOCK_STREAM, IPPROTO_MPTCP, "MPTCP", argv[0]);
}

static int do_fastopen(int argc, char **argv)
{
	if (argc != 1)
		return usage("fastopen PORT");
	struct sockaddr_in a = loopback(arg_port(argv[0]));
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0)
		return blocked(errno, "socket(TCP)");
	if (sendto(s, "x", 1, MSG_FASTOPEN, (struct sockaddr *)&a, sizeof(a)) < 0)
		return blocked(errno, "sendto(MSG_FASTOPEN) 127.0.0.1:%s", argv[0]);
	return escaped("sendto(MSG_FASTOPEN) 127.0.0.1:%s", argv[0]);
}

static int do_udp_send(int argc, char **argv)
{
	if (argc != 1)
		return usage("udp-send PORT");
	struct sockaddr_in a = loopback(arg_port(argv[0]));
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0)
		return blocked(errno, "socket(UDP)");
	if (sendto(s, "x", 1, 0, (struct sockaddr *)&a, sizeof(a)) < 0)
		return blocked(errno, "UDP sendto 127.0.0.1:%s", argv[0]);
	return escaped("UDP sendto 127.0.0.1:%s", argv[0]);
}

static int do_raw_icmp(int argc, char **argv)
{
	struct sockaddr_in a = loopback(0);
	int s = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	if (s < 0)
		return blocked(errno, "socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)");
	struct icmphdr h = { .type = ICMP_ECHO };
	unsigned sum = 0;
	for (size_t i = 0; i < sizeof(h) / 2; i++)
		sum += ((unsigned short *)&h)[i];
	sum = (sum >> 16) + (sum & 0xffff);
	h.checksum = (unsigned short)~(sum + (sum >> 16));
	if (sendto(s, &h, sizeof(h), 0, (struct sockaddr *)&a, sizeof(a)) < 0)
		return blocked(errno, "raw ICMP echo to 127.0.0.1");
	return escaped("raw ICMP echo sent to 127.0.0.1");
}

static int do_packet(int argc, char **argv)
{
	int s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	if (s < 0)
		return blocked(errno, "socket(AF_PACKET, SOCK_RAW, ETH_P_ALL)");
	char buf[2048];
	struct timeval tv = { 0, 200000 };
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ssize_t n = recv(s, buf, sizeof(buf), 0);
	return escaped("socket(AF_PACKET) open, first frame %zd bytes", n);
}

/* vsock [CID PORT]: an AF_VSOCK socket (not namespaced: it reaches the host). */
static int do_vsock(int argc, char **argv)
{
	int s = socket(AF_VSOCK, SOCK_STREAM, 0);
	if (s < 0)
		return blocked(errno, "socket(AF_VSOCK)");
	if (argc < 2)
		return escaped("socket(AF_VSOCK) open");
	struct sockaddr_vm a = { .svm_family = AF_VSOCK };
	a.svm_cid = (unsigned)strtoul(argv[0], NULL, 10);
	a.svm_port = (unsigned)strtoul(argv[1], NULL, 10);
	int rc = connect(s, (struct sockaddr *)&a, sizeof(a));
	return escaped("socket(AF_VSOCK) open, connect %s:%s: %s", argv[0], argv[1],
		       rc < 0 ? strerror(errno) : "connected");
}

static int do_unix_connect(int argc, char **argv)
{
	if (argc != 1)
		return usage("unix-connect PATH");
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", argv[0]);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	if (s < 0)
		return blocked(errno, "socket(AF_UNIX)");
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
		return blocked(errno, "connect %s", argv[0]);
	return escaped("connect to UNIX socket %s", argv[0]);
}

static int bind_port(int proto, const char *what, const char *port)
{
	struct sockaddr_in a = loopback(arg_port(port));
	int s = socket(AF_INET, SOCK_STREAM, proto);
	if (s < 0)
		return blocked(errno, "socket(%s)", what);
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0)
		return blocked(errno, "%s bind 127.0.0.1:%s", what, port);
	if (listen(s, 1) < 0)
		return blocked(errno, "%s listen on 127.0.0.1:%s", what, port);
	return escaped("%s bind+listen 127.0.0.1:%s", what, port);
}

static int do_tcp_bind(int argc, char **argv)
{
	if (argc != 1)
		return usage("tcp-bind PORT");
	return bind_port(0, "TCP", argv[0]);
}

static int do_mptcp_bind(int argc, char **argv)
{
	if (argc != 1)
		return usage("mptcp-bind PORT");
	return bind_port(IPPROTO_MPTCP, "MPTCP", argv[0]);
}

/* listen-autobind [GOFILE]: listen() without bind() takes a port on its own.
 * With GOFILE: print "autobound PORT", wait until GOFILE exists (the host
 * has tried to connect to PORT meanwhile), and judge by whether a
 * connection arrived. */
static int do_listen_autobind(int argc, char **argv)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0)
		return blocked(errno, "socket(TCP)");
	if (listen(s, 1) < 0)
		return blocked(errno, "listen() without bind()");
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	getsockname(s, (struct sockaddr *)&a, &len);
	unsigned port = ntohs(a.sin_port);
	if (argc < 1)
		return escaped("listen() without bind() auto-bound port %u", port);
	printf("autobound %u\n", port);
	fflush(stdout);
	for (int i = 0; i < 200 && access(argv[0], F_OK) != 0; i++)
		usleep(50000);
	struct pollfd p = { .fd = s, .events = POLLIN };
	if (poll(&p, 1, 500) == 1)
		return escaped("the host connected to port %u, auto-bound by listen() without bind()", port);
	return blocked(ECONNREFUSED, "the host could not connect to port %u, auto-bound by listen() without bind()",
		       port);
}

/* ---- 6. executing code written under --fs-rw -------------------------------- */

static int copy_self(int to)
{
	int from = open("/proc/self/exe", O_RDONLY);
	if (from < 0)
		return -1;
	char buf[65536];
	ssize_t n;
	while ((n = read(from, buf, sizeof(buf))) > 0)
		if (write(to, buf, (size_t)n) != n)
			return -1;
	close(from);
	return n < 0 ? -1 : 0;
}

/*
 * Runs the exec in a child: the child prints ESCAPED itself (ran-from) if the
 * code ran; otherwise the parent reports how the child ended.
 */
static int exec_child(const char *what, int (*fn)(void *), void *arg)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		return blocked(errno, "fork for %s", what);
	if (pid == 0) {
		int err = fn(arg);
		printf("BLOCKED %s: %s (%s)\n", what, strerrorname_np(err), strerror(err));
		fflush(stdout);
		_exit(1);
	}
	int st;
	if (waitpid(pid, &st, 0) < 0)
		return blocked(errno, "waitpid");
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 1)
		return 1; /* the child printed BLOCKED */
	if (WIFEXITED(st))
		return blocked(0, "%s: the loader exited %d", what, WEXITSTATUS(st));
	return blocked(0, "%s: killed by signal %d", what, WTERMSIG(st));
}

static int exec_ldso(void *arg)
{
	char *const av[] = { "/lib64/ld-linux-x86-64.so.2", arg, "ran-from",
			     "/lib64/ld-linux-x86-64.so.2 DIR/prog", NULL };
	execve(av[0], av, environ);
	return errno;
}

static int exec_direct(void *arg)
{
	char *const av[] = { arg, "ran-from", "DIR/prog", NULL };
	execve(av[0], av, environ);
	return errno;
}

static int write_prog(const char *dir, char *path, size_t size)
{
	snprintf(path, size, "%s/prog", dir);
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	if (fd < 0 || copy_self(fd) < 0)
		return -1;
	close(fd);
	return 0;
}

static int do_ldso_exec(int argc, char **argv)
{
	if (argc != 1)
		return usage("ldso-exec DIR");
	char path[4096];
	if (write_prog(argv[0], path, sizeof(path)) < 0)
		return blocked(errno, "write %s/prog", argv[0]);
	return exec_child("/lib64/ld-linux-x86-64.so.2 DIR/prog", exec_ldso, path);
}

static int do_exec_rw(int argc, char **argv)
{
	if (argc != 1)
		return usage("exec-rw DIR");
	char path[4096];
	if (write_prog(argv[0], path, sizeof(path)) < 0)
		return blocked(errno, "write %s/prog", argv[0]);
	return exec_child("execve DIR/prog", exec_direct, path);
}

static int exec_memfd(void *arg)
{
	int fd = *(int *)arg;
	char *const av[] = { "memfd", "ran-from", "execveat(memfd)", NULL };
	syscall(SYS_execveat, fd, "", av, environ, AT_EMPTY_PATH);
	return errno;
}

static int do_memfd_exec(int argc, char **argv)
{
	int fd = memfd_create("escape", MFD_EXEC);
	if (fd < 0 && errno == EINVAL)
		fd = memfd_create("escape", 0);
	if (fd < 0)
		return blocked(errno, "memfd_create");
	if (copy_self(fd) < 0)
		return blocked(errno, "copy /proc/self/exe into the memfd");
	return exec_child("execveat(memfd)", exec_memfd, &fd);
}

/* ---- capabilities the profile allows by name ------------------------------ */

/* sethostname to the current name: succeeds only with CAP_SYS_ADMIN (in its
 * UTS ns). The verdict names that namespace ("uts:[N]"): a success that
 * stays inside a UTS namespace of its own does not reach the host. */
static int do_sethostname(int argc, char **argv)
{
	char name[256], ns[64] = "?";
	if (gethostname(name, sizeof(name)) < 0)
		return blocked(errno, "gethostname");
	ssize_t n = readlink("/proc/self/ns/uts", ns, sizeof(ns) - 1);
	ns[n > 0 ? n : 1] = 0;
	if (sethostname(name, strlen(name)) < 0)
		return blocked(errno, "sethostname(\"%s\")", name);
	return escaped("sethostname(\"%s\") (CAP_SYS_ADMIN) in %s", name, ns);
}

/* setpriority below the current nice value of itself: needs CAP_SYS_NICE. */
static int do_nice(int argc, char **argv)
{
	errno = 0;
	int cur = getpriority(PRIO_PROCESS, 0);
	if (cur == -1 && errno)
		return blocked(errno, "getpriority");
	if (cur <= -20)
		return blocked(0, "setpriority: already at -20");
	if (setpriority(PRIO_PROCESS, 0, cur - 1) < 0)
		return blocked(errno, "setpriority(%d -> %d)", cur, cur - 1);
	return escaped("setpriority(%d -> %d) (CAP_SYS_NICE)", cur, cur - 1);
}

/* ---- the table --------------------------------------------------------------- */

struct attack {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
};

static int do_help(int argc, char **argv);

static const struct attack attacks[] = {
	{ "ptrace-attach", do_ptrace_attach, "PID: ptrace(PTRACE_ATTACH) an outside process" },
	{ "ptrace-seize", do_ptrace_seize, "PID: ptrace(PTRACE_SEIZE) an outside process" },
	{ "kill-stop", do_kill_stop, "PID: kill(PID, SIGSTOP)" },
	{ "kill-0", do_kill_0, "PID: kill(PID, 0), seeing an outside process" },
	{ "vm-write", do_vm_write, "PID ADDR: process_vm_writev into an outside process" },
	{ "proc-mem", do_proc_mem, "PID ADDR: write /proc/PID/mem of an outside process" },
	{ "pidfd-getfd", do_pidfd_getfd, "PID FD: pidfd_open + pidfd_getfd, then read the fd" },
	{ "setaffinity", do_setaffinity, "PID: sched_setaffinity of an outside process" },
	{ "chmod", do_chmod, "PATH: chmod 4755" },
	{ "chown", do_chown, "PATH: chown 65534:65534" },
	{ "utimensat", do_utimensat, "PATH: set atime/mtime to 1970" },
	{ "setxattr", do_setxattr, "PATH: setxattr user.escape=1" },
	{ "truncate", do_truncate, "PATH: truncate to 0 bytes" },
	{ "write", do_write, "PATH: append a byte" },
	{ "create", do_create, "PATH: create a new file" },
	{ "unlink", do_unlink, "PATH: unlink" },
	{ "rename", do_rename, "FROM TO: rename" },
	{ "link", do_link, "FROM TO: hard link" },
	{ "symlink", do_symlink, "TARGET LINKPATH: make a symbolic link" },
	{ "mkfifo", do_mkfifo, "PATH: make a FIFO" },
	{ "mkdir", do_mkdir, "PATH: make a directory" },
	{ "dotdot", do_dotdot, "DIR REL: openat(DIR, \"../..\", O_WRONLY) and write" },
	{ "openat2", do_openat2, "DIR REL: openat2(DIR, REL, O_WRONLY) and write" },
	{ "mount-bind", do_mount_bind, "SRC TARGET: bind-mount SRC over TARGET" },
	{ "mount-tmpfs", do_mount_tmpfs, "TARGET: mount a tmpfs over TARGET" },
	{ "mknod", do_mknod, "DIR: mknod DIR/kmsg c 1 11 and open it" },
	{ "tiocsti", do_tiocsti, "TEXT: ioctl(0, TIOCSTI) TEXT and a newline" },
	{ "tcp-connect", do_tcp_connect, "PORT: TCP connect to 127.0.0.1:PORT" },
	{ "mptcp-connect", do_mptcp_connect, "PORT: MPTCP connect to 127.0.0.1:PORT" },
	{ "fastopen", do_fastopen, "PORT: sendto(MSG_FASTOPEN) to 127.0.0.1:PORT" },
	{ "udp-send", do_udp_send, "PORT: UDP sendto 127.0.0.1:PORT" },
	{ "raw-icmp", do_raw_icmp, ": raw ICMP echo to 127.0.0.1" },
	{ "packet", do_packet, ": socket(AF_PACKET, SOCK_RAW)" },
	{ "vsock", do_vsock, "[CID PORT]: socket(AF_VSOCK), connect if given" },
	{ "unix-connect", do_unix_connect, "PATH: connect to a pathname UNIX socket" },
	{ "tcp-bind", do_tcp_bind, "PORT: TCP bind+listen 127.0.0.1:PORT" },
	{ "mptcp-bind", do_mptcp_bind, "PORT: MPTCP bind+listen 127.0.0.1:PORT" },
	{ "listen-autobind", do_listen_autobind, "[GOFILE]: listen() without bind(); with GOFILE, wait for the host to try the port" },
	{ "ldso-exec", do_ldso_exec, "DIR: write DIR/prog, run /lib64/ld-linux-x86-64.so.2 DIR/prog" },
	{ "exec-rw", do_exec_rw, "DIR: write DIR/prog, execve it" },
	{ "memfd-exec", do_memfd_exec, ": copy itself into a memfd, execveat it" },
	{ "sethostname", do_sethostname, ": sethostname (same name), needs CAP_SYS_ADMIN" },
	{ "nice", do_nice, ": lower its own nice value, needs CAP_SYS_NICE" },
	{ "target", do_target, "FILE SECRET: (target) a process to attack" },
	{ "serve-unix", do_serve_unix, "PATH: (target) pathname UNIX stream server" },
	{ "serve-tcp", do_serve_tcp, "PORT: (target) TCP server on 127.0.0.1" },
	{ "serve-udp", do_serve_udp, "PORT: (target) UDP socket on 127.0.0.1" },
	{ "ran-from", do_ran_from, "WHAT: (internal) what the exec attacks run" },
	{ "help", do_help, ": this list" },
};

static int do_help(int argc, char **argv)
{
	printf("usage: escape ATTACK [ARGS]; prints ESCAPED (exit 0) or BLOCKED (exit 1)\n");
	for (size_t i = 0; i < sizeof(attacks) / sizeof(attacks[0]); i++)
		printf("  %-16s %s\n", attacks[i].name, attacks[i].help);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage("no attack given");
	for (size_t i = 0; i < sizeof(attacks) / sizeof(attacks[0]); i++)
		if (strcmp(argv[1], attacks[i].name) == 0)
			return attacks[i].fn(argc - 2, argv + 2);
	return usage("unknown attack");
}
