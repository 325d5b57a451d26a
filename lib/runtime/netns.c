// SPDX-License-Identifier: Apache-2.0
/*
 * The network part of the runtime gate. Every --net mode but the explicit
 * "host" -- and no --net at all -- gives the program a network namespace of
 * its own, and a second seccomp filter with socket rules: every socket
 * family, type and protocol the mode does not grant is denied, because a
 * namespace does not cover everything (pathname UNIX sockets reach the
 * host's services through the filesystem, AF_VSOCK is not namespaced,
 * io_uring creates sockets out of seccomp's sight).
 *
 * The default is "loopback", not "none": both reach nothing outside, and
 * programs that talk to themselves over 127.0.0.1 (servers' own health
 * checks, a test suite and its server) keep working.
 *
 * --net tcp-connect=PORTS / tcp-bind=PORTS: the way out is a small forwarder
 * of capgate's own rather than passt's pasta or slirp4netns. Those give the
 * namespace a tap device and translate *any* traffic from it; exactly the
 * allowed ports would then rest on Landlock and on the program lacking
 * CAP_NET_ADMIN. Here nothing but "lo" exists inside:
 *  - tcp-connect: every address is routed to "lo" (a local default route,
 *    "AnyIP"), and the forwarder listens inside on the allowed ports; a
 *    connection to ADDR:PORT lands there, and the forwarder connects to
 *    ADDR:PORT from the host's network. Any other port finds nobody.
 *  - tcp-bind: the forwarder listens on the host's ports (every address)
 *    and connects to 127.0.0.1:PORT (then [::1]:PORT) inside. Ports the
 *    program binds otherwise, or that listen() binds on its own, are not
 *    reachable from the host.
 * The forwarder lives outside the sandbox, started by the parent side once
 * the child's namespace exists: one process in the host's network, with a
 * helper that joins the namespace (and its user namespace when capgate is
 * not root) and makes the sockets that must belong to it. It ends with the
 * program (or with capgate). Only TCP is forwarded; a name lookup needs
 * UDP, so give addresses (or /etc/hosts entries).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/namespaces.h"
#include "runtime/netns.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* ---- the plan ----------------------------------------------------------------- */

/* What each mode lets socket() create (policy as data). */
struct mode_grants {
	const char *mode;
	struct cg_socket_grant g[8];
	size_t n;
};
static const struct mode_grants mode_grants[] = {
	{ "loopback",
	  { { AF_INET, SOCK_STREAM, 0 },
	    { AF_INET, SOCK_STREAM, IPPROTO_TCP },
	    { AF_INET, SOCK_DGRAM, 0 },
	    { AF_INET, SOCK_DGRAM, IPPROTO_UDP },
	    { AF_INET6, SOCK_STREAM, 0 },
	    { AF_INET6, SOCK_STREAM, IPPROTO_TCP },
	    { AF_INET6, SOCK_DGRAM, 0 },
	    { AF_INET6, SOCK_DGRAM, IPPROTO_UDP } },
	  8 },
	{ "tcp",
	  { { AF_INET, SOCK_STREAM, 0 },
	    { AF_INET, SOCK_STREAM, IPPROTO_TCP },
	    { AF_INET6, SOCK_STREAM, 0 },
	    { AF_INET6, SOCK_STREAM, IPPROTO_TCP } },
	  4 },
	{ "unix", { { AF_UNIX, CG_SOCK_ANY, CG_SOCK_ANY } }, 1 },
};

static int add_grants(struct cg_netns *n, const char *mode)
{
	for (size_t i = 0; i < CG_ARRAY_SIZE(mode_grants); i++) {
		if (strcmp(mode_grants[i].mode, mode) != 0)
			continue;
		for (size_t j = 0; j < mode_grants[i].n; j++) {
			bool dup = false;
			for (size_t k = 0; k < n->n_grants; k++)
				dup |= memcmp(&n->grants[k], &mode_grants[i].g[j], sizeof(n->grants[k])) == 0;
			if (dup)
				continue;
			if (n->n_grants >= CG_NETNS_MAX_GRANTS)
				return -E2BIG;
			n->grants[n->n_grants++] = mode_grants[i].g[j];
		}
	}
	return 0;
}

static bool port_in(const uint16_t *v, size_t n, uint16_t p)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == p)
			return true;
	return false;
}

int cg_netns_plan(struct cg_netns *n, const struct cg_sandbox_opts *o, uint32_t arch_mask, struct cg_error *err)
{
	bool ports = o->n_tcp_connect || o->n_tcp_bind;
	int r;

	*n = (struct cg_netns){ .link = { -1, -1 } };
	n->mode = o->netns == CG_NETNS_DEFAULT ? CG_NETNS_LOOPBACK : o->netns;
	if (n->mode == CG_NETNS_HOST && (ports || o->net_unix))
		return cg_error_set(err, -EINVAL, "--net host turns network isolation off; it cannot be combined "
						  "with tcp-connect, tcp-bind or unix");
	if (n->mode == CG_NETNS_NONE && ports)
		return cg_error_set(err, -EINVAL, "--net none cannot be combined with tcp-connect or tcp-bind");
	if (o->n_tcp_connect > CG_NETNS_MAX_PORTS || o->n_tcp_bind > CG_NETNS_MAX_PORTS)
		return cg_error_set(err, -E2BIG, "--net: more than %d tcp-connect or tcp-bind ports (the most the "
						 "forwarder serves)",
				    CG_NETNS_MAX_PORTS);
	for (size_t i = 0; i < o->n_tcp_connect; i++) {
		if (!o->tcp_connect[i] || (o->n_tcp_bind && port_in(o->tcp_bind, o->n_tcp_bind, o->tcp_connect[i])))
			return cg_error_set(err, -EINVAL, "--net tcp-connect=%u: %s", o->tcp_connect[i],
					    o->tcp_connect[i] ? "the port is also a tcp-bind port (the forwarder listens "
								"on it inside the namespace)"
							      : "port 0 cannot be forwarded");
		if (!port_in(n->connect, n->n_connect, o->tcp_connect[i]))
			n->connect[n->n_connect++] = o->tcp_connect[i];
	}
	for (size_t i = 0; i < o->n_tcp_bind; i++) {
		if (!o->tcp_bind[i])
			return cg_error_set(err, -EINVAL, "--net tcp-bind=0: port 0 cannot be forwarded");
		if (!port_in(n->bind, n->n_bind, o->tcp_bind[i]))
			n->bind[n->n_bind++] = o->tcp_bind[i];
	}
	n->forward = ports;
	n->unix_sockets = o->net_unix;
	if (n->mode == CG_NETNS_HOST) {
		/* no socket rules; cg_netns_deny_memfd_exec may still need the filter */
		n->rules = (struct cg_socket_rules){
			.sz = sizeof(n->rules), .sockets_free = true, .audit = o->audit, .arch_mask = arch_mask
		};
		return 0;
	}

	/* the socket rules: an explicit "loopback" keeps UDP next to tcp ports */
	r = 0;
	if (n->mode == CG_NETNS_LOOPBACK && (!ports || o->netns == CG_NETNS_LOOPBACK))
		r = add_grants(n, "loopback");
	if (r == 0 && ports)
		r = add_grants(n, "tcp");
	if (r == 0 && o->net_unix)
		r = add_grants(n, "unix");
	if (r < 0)
		return cg_error_set(err, r, "too many socket grants");
	n->filter = true;
	n->rules = (struct cg_socket_rules){
		.sz = sizeof(n->rules),
		.grants = n->grants,
		.n_grants = n->n_grants,
		.unix_pairs = true,
		.deny_fastopen = ports,
		.deny_io_uring = true,
		.audit = o->audit,
		.arch_mask = arch_mask,
	};
	if ((r = cg_compile_socket_filter(&n->rules, &n->prog, err)) < 0)
		return cg_error_prefix(err, "compiling the socket rules: ");
	return 0;
}

int cg_netns_deny_memfd_exec(struct cg_netns *n, struct cg_error *err)
{
	n->rules.memfd_noexec = true;
	n->filter = true;
	cg_bpf_prog_release(&n->prog);
	if (cg_compile_socket_filter(&n->rules, &n->prog, err) < 0)
		return cg_error_prefix(err, "compiling the socket rules: ");
	return 0;
}

void cg_netns_release(struct cg_netns *n)
{
	cg_bpf_prog_release(&n->prog);
	for (int i = 0; i < 2; i++)
		if (n->link[i] >= 0) {
			close(n->link[i]);
			n->link[i] = -1;
		}
}

static const char *family_name(int f)
{
	switch (f) {
	case AF_UNIX:
		return "AF_UNIX";
	case AF_INET:
		return "AF_INET";
	case AF_INET6:
		return "AF_INET6";
	default:
		return "?";
	}
}

static const char *type_name(int t)
{
	return t == SOCK_STREAM ? "SOCK_STREAM" : t == SOCK_DGRAM ? "SOCK_DGRAM"
					  : t == CG_SOCK_ANY      ? "any type"
								  : "?";
}

static void describe_ports(struct cg_strbuf *out, const uint16_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cg_strbuf_addf(out, "%s%u", i ? "," : "", p[i]);
}

void cg_netns_describe(const struct cg_netns *n, struct cg_strbuf *out)
{
	if (n->mode == CG_NETNS_HOST) {
		cg_strbuf_addf(out, "network: the host's (--net host: no network namespace, no socket rules)\n");
		if (n->rules.memfd_noexec)
			cg_strbuf_addf(out, "memfd rule (seccomp, %zu instructions): memfd_create without "
					    "MFD_NOEXEC_SEAL: %s\n",
				       n->prog.len, n->rules.audit ? "logged (audit)" : "denied (EACCES)");
		return;
	}
	cg_strbuf_addf(out, "network: new network namespace, %s\n",
		       n->mode == CG_NETNS_NONE ? "empty (lo down)" : "only lo (up)");
	if (!n->forward) {
		cg_strbuf_addf(out, "  way out: none\n");
	} else {
		cg_strbuf_addf(out, "  way out: capgate's TCP forwarder, nothing else leaves the namespace\n");
		/* a choice: a resolver inside would be a second way out (UDP to
		 * the host's resolver, and through it DNS tunnels to anywhere) */
		cg_strbuf_addf(out, "  name lookups: not offered (DNS over UDP would be a way out of its own: give "
				    "addresses, or resolve before the run)\n");
		if (n->n_connect) {
			cg_strbuf_addf(out, "  tcp-connect ");
			describe_ports(out, n->connect, n->n_connect);
			cg_strbuf_addf(out, ": connections to any address on these ports are made from the host\n");
		}
		if (n->n_bind) {
			cg_strbuf_addf(out, "  tcp-bind ");
			describe_ports(out, n->bind, n->n_bind);
			cg_strbuf_addf(out, ": the host's ports (every address) forward to 127.0.0.1 / [::1] inside\n");
		}
	}
	cg_strbuf_addf(out, "socket rules (seccomp, %zu instructions): socket() may create", n->prog.len);
	if (!n->n_grants)
		cg_strbuf_addf(out, " nothing");
	for (size_t i = 0; i < n->n_grants; i++) {
		const struct cg_socket_grant *g = &n->grants[i];
		cg_strbuf_addf(out, "%s %s/%s/", i ? "," : "", family_name(g->family), type_name(g->type));
		if (g->protocol == CG_SOCK_ANY)
			cg_strbuf_addf(out, "any protocol");
		else
			cg_strbuf_addf(out, "%d", g->protocol);
	}
	cg_strbuf_addf(out, "\n  socketpair(AF_UNIX): allowed; every other family, type and protocol: %s\n",
		       n->rules.audit ? "logged (audit)" : "denied (EACCES)");
	cg_strbuf_addf(out, "  socketcall(2) SYS_SOCKET, SYS_SOCKETPAIR%s: denied (its arguments are behind a "
			    "pointer)\n",
		       n->rules.deny_fastopen ? ", SYS_SEND*" : "");
	if (n->rules.deny_fastopen)
		cg_strbuf_addf(out, "  MSG_FASTOPEN on sendto/sendmsg/sendmmsg: denied (it connects past connect())\n");
	cg_strbuf_addf(out, "  io_uring_setup: denied (io_uring creates sockets out of seccomp's sight)\n");
	if (n->rules.memfd_noexec)
		cg_strbuf_addf(out, "  memfd_create without MFD_NOEXEC_SEAL: %s (no executable memfd)\n",
			       n->rules.audit ? "logged (audit)" : "denied (EACCES)");
}

/* ---- small helpers ------------------------------------------------------------ */

/* One message with a text (may be empty) and up to 4 descriptors. */
static int send_msg(int sock, const char *text, const int *fds, size_t n_fds)
{
	char cbuf[CMSG_SPACE(4 * sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = (void *)(text[0] ? text : "\n"), .iov_len = text[0] ? strlen(text) : 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (n_fds) {
		m.msg_control = cbuf;
		m.msg_controllen = CMSG_SPACE(n_fds * sizeof(int));
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(n_fds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, n_fds * sizeof(int));
	}
	while (sendmsg(sock, &m, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

/* Receive one message: its text (NUL-terminated; "" for the empty one) and
 * descriptors. Returns the number of bytes, 0 at end of file, -errno. */
static ssize_t recv_msg(int sock, char *text, size_t size, int *fds, size_t max_fds, size_t *ret_n_fds)
{
	char cbuf[CMSG_SPACE(4 * sizeof(int))];
	struct iovec iov = { .iov_base = text, .iov_len = size - 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	ssize_t r;
	*ret_n_fds = 0;
	while ((r = recvmsg(sock, &m, MSG_CMSG_CLOEXEC)) < 0)
		if (errno != EINTR)
			return -errno;
	text[r > 0 ? r : 0] = 0;
	if (r == 1 && text[0] == '\n')
		text[0] = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int tmp[4];
		memcpy(tmp, CMSG_DATA(c), (k < 4 ? k : 4) * sizeof(int));
		for (size_t i = 0; i < k && i < 4; i++) {
			if (*ret_n_fds < max_fds)
				fds[(*ret_n_fds)++] = tmp[i];
			else
				close(tmp[i]);
		}
	}
	return r;
}

/* ---- entering the namespace (the child) -------------------------------------- */

/* Unprivileged (cg_sandbox_apply called outside cg_sandbox_spawn's user
 * namespace): own a user namespace, mapped to ourselves as the namespaces
 * module maps the spawned child's. */
static int enter_userns(struct cg_error *err)
{
	struct cg_ns_plan self = { .flags = CLONE_NEWUSER, .rootless = true, .uid = getuid(), .gid = getgid() };

	if (unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0)
		return cg_error_set(err, -errno, "cannot create a network namespace (also not through a user "
						 "namespace): %s",
				    strerror(errno));
	return cg_ns_map_self(&self, err);
}

static int loopback_up(struct cg_error *err)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return cg_error_set(err, -errno, "loopback: socket: %s", strerror(errno));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0 ||
	    (ifr.ifr_flags |= IFF_UP | IFF_RUNNING, ioctl(s, SIOCSIFFLAGS, &ifr) < 0)) {
		int e = errno;
		close(s);
		return cg_error_set(err, -e, "cannot bring lo up: %s", strerror(e));
	}
	close(s);
	return 0;
}

/* "ip route add local 0.0.0.0/0 dev lo" (or ::/0): every address is local,
 * so a connection to any address reaches the forwarder's listeners. */
static int route_all_to_lo(int family)
{
	struct {
		struct nlmsghdr nh;
		struct rtmsg rt;
		char attrs[64];
	} req = { 0 };
	char buf[512];
	int ifindex = (int)if_nametoindex("lo"), r;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };

	if (ifindex <= 0)
		return -ENODEV;
	req.nh.nlmsg_type = RTM_NEWROUTE;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
	req.nh.nlmsg_seq = 1;
	req.rt = (struct rtmsg){ .rtm_family = (unsigned char)family,
				 .rtm_table = RT_TABLE_LOCAL,
				 .rtm_protocol = RTPROT_STATIC,
				 .rtm_scope = RT_SCOPE_HOST,
				 .rtm_type = RTN_LOCAL };
	struct rtattr *a = (struct rtattr *)req.attrs;
	a->rta_type = RTA_OIF;
	a->rta_len = RTA_LENGTH(sizeof(int));
	memcpy(RTA_DATA(a), &ifindex, sizeof(int));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg)) + RTA_ALIGN(a->rta_len);

	int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (s < 0)
		return -errno;
	if (sendto(s, &req, req.nh.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(s);
		return r;
	}
	ssize_t got = recv(s, buf, sizeof(buf), 0);
	r = got < 0 ? -errno : -EPROTO;
	if (got >= (ssize_t)NLMSG_LENGTH(sizeof(struct nlmsgerr))) {
		struct nlmsghdr *h = (struct nlmsghdr *)buf;
		if (h->nlmsg_type == NLMSG_ERROR)
			r = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
	}
	close(s);
	return r;
}

/* Hand the namespace to the parent's forwarder; wait until it listens. */
static int hand_over(struct cg_netns *n, struct cg_error *err)
{
	char msg[CG_ERROR_MAX];
	int fds[2], r;
	size_t k;

	if (n->link[1] < 0)
		return cg_error_set(err, -EINVAL, "--net tcp-connect/tcp-bind: the forwarder is started by "
						  "cg_sandbox_spawn, not by cg_sandbox_apply alone");
	fds[0] = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	fds[1] = open("/proc/self/ns/user", O_RDONLY | O_CLOEXEC);
	if (fds[0] < 0 || fds[1] < 0) {
		r = cg_error_set(err, -errno, "cannot open the new network namespace: %s", strerror(errno));
		goto out;
	}
	if ((r = send_msg(n->link[1], "", fds, 2)) < 0) {
		r = cg_error_set(err, r, "cannot hand the network namespace to the forwarder: %s", strerror(-r));
		goto out;
	}
	ssize_t got = recv_msg(n->link[1], msg, sizeof(msg), NULL, 0, &k);
	if (got <= 0)
		r = cg_error_set(err, -ECONNABORTED, "the network forwarder did not start");
	else if (msg[0])
		r = cg_error_set(err, -ECONNABORTED, "network forwarder: %s", msg);
	else
		r = 0;
out:
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	close(n->link[1]);
	n->link[1] = -1;
	return r;
}

int cg_netns_enter(struct cg_netns *n, struct cg_error *err)
{
	int r;

	if (n->mode == CG_NETNS_HOST)
		return 0;
	if (n->link[0] >= 0) {
		close(n->link[0]); /* the parent's end */
		n->link[0] = -1;
	}
	if (unshare(CLONE_NEWNET) < 0) {
		int e = errno;
		if (e != EPERM)
			return cg_error_set(err, -e, "cannot create a network namespace: %s", strerror(e));
		if ((r = enter_userns(err)) < 0)
			return r;
	}
	if (n->mode == CG_NETNS_LOOPBACK && (r = loopback_up(err)) < 0)
		return r;
	if (n->n_connect) {
		if ((r = route_all_to_lo(AF_INET)) < 0)
			return cg_error_set(err, r, "--net tcp-connect: cannot route addresses to lo: %s", strerror(-r));
		(void)route_all_to_lo(AF_INET6); /* without IPv6, IPv6 connections simply fail */
	}
	if (n->forward)
		return hand_over(n, err);
	return 0;
}

int cg_netns_apply_filter(const struct cg_netns *n, struct cg_error *err)
{
	if (!n->filter)
		return 0;
	struct sock_fprog fprog = { .len = (unsigned short)n->prog.len, .filter = n->prog.insns };
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) < 0)
		return cg_error_set(err, -errno, "seccomp(SECCOMP_SET_MODE_FILTER) for the socket rules: %s",
				    strerror(errno));
	return 0;
}

int cg_netns_spawn_prepare(struct cg_netns *n, struct cg_error *err)
{
	for (int i = 0; i < 2; i++)
		if (n->link[i] >= 0) {
			close(n->link[i]);
			n->link[i] = -1;
		}
	if (!n->forward)
		return 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, n->link) < 0)
		return cg_error_set(err, -errno, "socketpair: %s", strerror(errno));
	return 0;
}

/* ---- the forwarder (outside the sandbox) ----------------------------------- */

struct listener {
	int fd;
	bool inside; /* in the namespace (tcp-connect), else on the host (tcp-bind) */
	uint16_t port;
};

static void reset_close(int fd)
{
	struct linger l = { 1, 0 }; /* a reset, so the other end sees a refusal, not a clean end */
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

/* Copy @from to @to until end of file, then end @to's writing half. */
static void pump(int from, int to)
{
	char buf[65536];
	for (;;) {
		ssize_t r = read(from, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		for (ssize_t o = 0; o < r;) {
			ssize_t w = send(to, buf + o, (size_t)(r - o), MSG_NOSIGNAL);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				shutdown(from, SHUT_RD);
				return;
			}
			o += w;
		}
	}
	shutdown(to, SHUT_WR);
}

/* One connection: a process per direction, gone when both ends are done. */
static _Noreturn void relay(int a, int b)
{
	signal(SIGCHLD, SIG_DFL);
	pid_t p = fork();
	if (p == 0) {
		pump(a, b);
		_exit(0);
	}
	pump(b, a);
	if (p > 0)
		while (waitpid(p, NULL, 0) < 0 && errno == EINTR)
			;
	_exit(0);
}

static int listen_tcp(int family, uint16_t port, bool v6only)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	int one = 1, s = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	if (family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		int v = v6only;
		a->sin6_family = AF_INET6, a->sin6_port = htons(port), a->sin6_addr = in6addr_any;
		setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &v, sizeof(v));
		len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET, a->sin_port = htons(port), a->sin_addr.s_addr = htonl(INADDR_ANY);
		len = sizeof(*a);
	}
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, (struct sockaddr *)&ss, len) < 0 || listen(s, 128) < 0) {
		int e = -errno;
		close(s);
		return e;
	}
	return s;
}

static int join_ns(int netfd, int userfd)
{
	if (setns(netfd, CLONE_NEWNET) == 0)
		return 0;
	if (errno != EPERM)
		return -errno;
	/* not root: the namespace belongs to the child's user namespace,
	 * which capgate's user owns */
	if (setns(userfd, CLONE_NEWUSER) < 0 || setns(netfd, CLONE_NEWNET) < 0)
		return -errno;
	return 0;
}

/* The helper inside the namespace: makes the listeners for the tcp-connect
 * ports, then a fresh (IPv4, IPv6) socket pair on every request. */
static _Noreturn void inside_main(int ctl, int netfd, int userfd, const struct cg_netns *n)
{
	char msg[128];
	int r = join_ns(netfd, userfd);
	if (r < 0) {
		snprintf(msg, sizeof(msg), "cannot join the program's network namespace: %s", strerror(-r));
		send_msg(ctl, msg, NULL, 0);
		_exit(1);
	}
	for (size_t i = 0; i < n->n_connect; i++) {
		int s = listen_tcp(AF_INET, n->connect[i], true);
		if (s < 0) {
			snprintf(msg, sizeof(msg), "--net tcp-connect=%u: cannot listen inside: %s", n->connect[i],
				 strerror(-s));
			send_msg(ctl, msg, NULL, 0);
			_exit(1);
		}
		send_msg(ctl, "L", &s, 1);
		close(s);
		if ((s = listen_tcp(AF_INET6, n->connect[i], true)) >= 0) { /* without IPv6: IPv4 only */
			send_msg(ctl, "L", &s, 1);
			close(s);
		}
	}
	send_msg(ctl, ".", NULL, 0);
	for (;;) {
		size_t k;
		int fds[2], nf = 0;
		ssize_t got = recv_msg(ctl, msg, sizeof(msg), NULL, 0, &k);
		if (got <= 0)
			_exit(0);
		if ((fds[nf] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0)
			nf++;
		if ((fds[nf] = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0)
			nf++;
		send_msg(ctl, "S", fds, (size_t)nf);
		for (int i = 0; i < nf; i++)
			close(fds[i]);
	}
}

static bool connect_port(int s, int family, uint16_t port)
{
	if (family == AF_INET) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return connect(s, (struct sockaddr *)&a, sizeof(a)) == 0;
	}
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	return connect(s, (struct sockaddr *)&a, sizeof(a)) == 0;
}

static void close_listeners(const struct listener *l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		close(l[i].fd);
}

/* A connection accepted on @l: make the other end and relay (in a child). */
static void serve(int ctl, const struct listener *ls, size_t n_ls, const struct listener *l)
{
	int a = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC), ns[2] = { -1, -1 };
	size_t k = 0;
	char msg[16];

	if (a < 0)
		return;
	if (!l->inside) {
		/* from the host: sockets of the namespace to reach the server */
		if (send_msg(ctl, "s", NULL, 0) < 0 || recv_msg(ctl, msg, sizeof(msg), ns, 2, &k) <= 0 || !k) {
			reset_close(a);
			return;
		}
	}
	pid_t p = fork();
	if (p == 0) {
		close_listeners(ls, n_ls);
		close(ctl);
		if (l->inside) {
			/* from the program: to the address it asked for, from the host */
			struct sockaddr_storage dst;
			socklen_t len = sizeof(dst);
			int h = -1;
			if (getsockname(a, (struct sockaddr *)&dst, &len) == 0)
				h = socket(dst.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
			if (h < 0 || connect(h, (struct sockaddr *)&dst, len) < 0) {
				reset_close(a);
				_exit(0);
			}
			relay(a, h);
		}
		for (size_t i = 0; i < k; i++) {
			int fam = 0;
			socklen_t fl = sizeof(fam);
			getsockopt(ns[i], SOL_SOCKET, SO_DOMAIN, &fam, &fl);
			if (connect_port(ns[i], fam, l->port))
				relay(a, ns[i]);
		}
		reset_close(a);
		_exit(0);
	}
	close(a);
	for (size_t i = 0; i < k; i++)
		close(ns[i]);
}

/* Whether a process other than @skip is in the network namespace @ns. */
static bool netns_in_use(const struct stat *ns, pid_t skip)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	bool used = false;
	char path[64];
	struct stat st;

	if (!d)
		return true; /* cannot tell: keep serving */
	while (!used && (e = readdir(d))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		if (*end || pid <= 0 || pid == skip)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/ns/net", pid);
		used = stat(path, &st) == 0 && st.st_ino == ns->st_ino && st.st_dev == ns->st_dev;
	}
	closedir(d);
	return used;
}

/* The forwarder: fd 0 reports to capgate ("." = listening, else why not),
 * fds 1 and 2 are the program's network and user namespaces.
 *
 * It serves as long as the sandbox lives, not only capgate's child: with a
 * PID namespace that is the init (PID 1's end kills every process in it);
 * without one, a process the program left behind (a daemon) may still use
 * the network, so once the child is gone it serves until no process but its
 * own helper is in the namespace. capgate's own end does not stop it. */
static _Noreturn void forwarder_main(pid_t child, const struct cg_netns *n)
{
	struct listener ls[4 * CG_NETNS_MAX_PORTS];
	struct pollfd pf[4 * CG_NETNS_MAX_PORTS + 2];
	size_t n_ls = 0;
	char msg[CG_ERROR_MAX];
	int ctl[2], pc;
	struct stat nsst;
	bool lingering = false;

	signal(SIGCHLD, SIG_IGN); /* connections end on their own */
	signal(SIGPIPE, SIG_IGN);
	setsid(); /* the terminal's ^C is for the program; the forwarder ends with it */
	pc = (int)syscall(SYS_pidfd_open, child, 0);
	if (pc < 0 || fstat(1, &nsst) < 0) {
		snprintf(msg, sizeof(msg), "pidfd_open: %s", strerror(errno));
		goto fail;
	}
	for (size_t i = 0; i < n->n_bind; i++) {
		int s = listen_tcp(AF_INET6, n->bind[i], false);
		if (s == -EAFNOSUPPORT)
			s = listen_tcp(AF_INET, n->bind[i], false);
		if (s < 0) {
			snprintf(msg, sizeof(msg), "--net tcp-bind=%u: cannot listen on the host's port %u: %s",
				 n->bind[i], n->bind[i], strerror(-s));
			goto fail;
		}
		ls[n_ls++] = (struct listener){ s, false, n->bind[i] };
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) < 0) {
		snprintf(msg, sizeof(msg), "socketpair: %s", strerror(errno));
		goto fail;
	}
	pid_t h = fork();
	if (h == 0) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
			_exit(1);
		close_listeners(ls, n_ls);
		close(ctl[0]), close(pc), close(0);
		inside_main(ctl[1], 1, 2, n);
	}
	close(ctl[1]), close(1), close(2);
	if (h < 0) {
		snprintf(msg, sizeof(msg), "fork: %s", strerror(errno));
		goto fail;
	}
	for (;;) {
		int fd;
		size_t k;
		ssize_t got = recv_msg(ctl[0], msg, sizeof(msg), &fd, 1, &k);
		if (got <= 0) {
			snprintf(msg, sizeof(msg), "the namespace helper ended");
			goto fail;
		}
		if (strcmp(msg, ".") == 0)
			break;
		if (strcmp(msg, "L") != 0 || k != 1)
			goto fail; /* its error message */
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		getsockname(fd, (struct sockaddr *)&ss, &len);
		uint16_t port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
							       : ((struct sockaddr_in *)&ss)->sin_port);
		ls[n_ls++] = (struct listener){ fd, true, port };
	}
	send_msg(0, ".", NULL, 0);
	close(0);
	for (;;) {
		/* pf[0]: the child's pidfd until it ends, then nothing (-1) */
		pf[0] = (struct pollfd){ .fd = lingering ? -1 : pc, .events = POLLIN };
		pf[1] = (struct pollfd){ .fd = -1 };
		for (size_t i = 0; i < n_ls; i++)
			pf[i + 2] = (struct pollfd){ .fd = ls[i].fd, .events = POLLIN };
		int pr = poll(pf, n_ls + 2, lingering ? 500 : -1);
		if (pr < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		if (pf[0].revents) {
			if (n->sandbox_pidns)
				_exit(0); /* the init is gone, and every process of the sandbox with it */
			lingering = true;
		}
		if (lingering && pr == 0 && !netns_in_use(&nsst, h))
			_exit(0); /* nothing of the sandbox is left */
		for (size_t i = 0; i < n_ls; i++)
			if (pf[i + 2].revents & POLLIN)
				serve(ctl[0], ls, n_ls, &ls[i]);
	}
fail:
	send_msg(0, msg, NULL, 0);
	_exit(1);
}

int cg_netns_spawn_parent(struct cg_netns *n, pid_t child, struct cg_error *err)
{
	char msg[CG_ERROR_MAX];
	int fds[2] = { -1, -1 }, st[2] = { -1, -1 }, r = 0;
	size_t k = 0;

	if (!n->forward)
		return 0;
	if (n->link[1] >= 0) {
		close(n->link[1]);
		n->link[1] = -1;
	}
	ssize_t got = recv_msg(n->link[0], msg, sizeof(msg), fds, 2, &k);
	if (got <= 0 || k != 2)
		goto out; /* the child gave up before: it reports why */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, st) < 0) {
		r = cg_error_set(err, -errno, "socketpair: %s", strerror(errno));
		send_msg(n->link[0], "cannot start the forwarder", NULL, 0);
		goto out;
	}
	pid_t q = fork();
	if (q == 0) {
		/* twice, so that the forwarder is nobody's child to reap */
		pid_t p = fork();
		if (p != 0)
			_exit(p < 0);
		int keep[3] = { st[1], fds[0], fds[1] };
		for (int i = 0; i < 3; i++)
			keep[i] = fcntl(keep[i], F_DUPFD, 100);
		for (int i = 0; i < 3; i++)
			dup2(keep[i], i);
		syscall(SYS_close_range, 3, ~0U, 0);
		forwarder_main(child, n);
	}
	if (q < 0) {
		r = cg_error_set(err, -errno, "fork: %s", strerror(errno));
		send_msg(n->link[0], "cannot start the forwarder", NULL, 0);
		goto out;
	}
	while (waitpid(q, NULL, 0) < 0 && errno == EINTR)
		;
	close(st[1]);
	st[1] = -1;
	got = recv_msg(st[0], msg, sizeof(msg), NULL, 0, &k);
	if (got <= 0)
		snprintf(msg, sizeof(msg), "the forwarder ended before it listened");
	send_msg(n->link[0], strcmp(msg, ".") == 0 ? "" : msg, NULL, 0);
out:
	for (int i = 0; i < 2; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		if (st[i] >= 0)
			close(st[i]);
	}
	close(n->link[0]);
	n->link[0] = -1;
	return r;
}
