// SPDX-License-Identifier: Apache-2.0
/*
 * --tty: the program gets a terminal of its own, a new pseudo-terminal,
 * and capgate relays bytes between it and the caller's terminal.
 *
 * Why not hand the caller's terminal over: a program whose controlling
 * terminal is the caller's can push input into it (TIOCSTI, which the
 * user's shell reads after capgate exits), change its modes or read what
 * the user types after the program is gone. With a pty of its own the
 * program reaches only that pty: what it injects is read by no one else,
 * and the caller's terminal is touched by capgate alone (raw mode while the
 * program runs, restored after). This is what container runtimes do for
 * `-t` (runc's console socket, Docker's attach).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "runtime/pty.h"
#include "runtime/sandbox_internal.h"

int cg_pty_open(int *ret_master, int *ret_slave, struct cg_error *err)
{
	char name[128];
	struct termios tio;
	struct winsize ws;
	int m, s;

	m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		return cg_error_set(err, -errno, "--tty: cannot open a pseudo-terminal: %s", strerror(errno));
	if (grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, name, sizeof(name)) != 0) {
		int e = errno;
		close(m);
		return cg_error_set(err, -e, "--tty: cannot set up the pseudo-terminal: %s", strerror(e));
	}
	s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0) {
		int e = errno;
		close(m);
		return cg_error_set(err, -e, "--tty: cannot open %s: %s", name, strerror(e));
	}
	/* the program's terminal starts as the caller's: modes and size */
	if (tcgetattr(STDIN_FILENO, &tio) == 0)
		(void)tcsetattr(s, TCSANOW, &tio);
	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 || ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0)
		(void)ioctl(s, TIOCSWINSZ, &ws);
	*ret_master = m;
	*ret_slave = s;
	return 0;
}

int cg_pty_attach(int slave, struct cg_error *err)
{
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return cg_error_set(err, -errno, "--tty: cannot make the pseudo-terminal the controlling terminal: %s",
				    strerror(errno));
	for (int fd = 0; fd < 3; fd++)
		if (dup2(slave, fd) < 0)
			return cg_error_set(err, -errno, "--tty: dup2: %s", strerror(errno));
	if (slave > 2)
		close(slave);
	return 0;
}

void cg_pty_resize(int master, int from)
{
	struct winsize ws;
	if (master >= 0 && ioctl(from, TIOCGWINSZ, &ws) == 0)
		(void)ioctl(master, TIOCSWINSZ, &ws);
}

/* Write all of @buf (a full pipe or terminal blocks; that is the flow
 * control a terminal expects). */
static int write_all(int fd, const char *buf, size_t n)
{
	while (n) {
		ssize_t w = write(fd, buf, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

int cg_sandbox_tty_relay(const struct cg_sandbox_child *ch, int in, int out, int stop_fd, struct cg_error *err)
{
	struct termios saved, raw;
	bool restore = false;
	char buf[4096];
	int m = ch->pty_master;

	if (m < 0)
		return cg_error_set(err, -EINVAL, "the program has no pseudo-terminal (--tty)");
	/* the caller's terminal in raw mode: every key (^C, ^Z, ^D) goes to
	 * the program's terminal, whose line discipline acts on it */
	if (in >= 0 && tcgetattr(in, &saved) == 0) {
		raw = saved;
		cfmakeraw(&raw);
		restore = tcsetattr(in, TCSAFLUSH, &raw) == 0;
	}
	for (;;) {
		struct pollfd p[3] = { { m, POLLIN, 0 }, { in, POLLIN, 0 }, { stop_fd, POLLIN, 0 } };
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents) {
			ssize_t n = read(m, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) /* EIO: every end of the pty's slave side is closed */
				break;
			if (write_all(out, buf, (size_t)n) < 0)
				break;
		}
		if (p[1].revents) {
			ssize_t n = read(in, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) { /* end of input: the program reads end of file */
				(void)write_all(m, "\004", 1);
				in = -1;
			} else if (write_all(m, buf, (size_t)n) < 0) {
				break;
			}
		}
		if (p[2].revents) {
			/* the program is gone: what it wrote last, then stop */
			int fl = fcntl(m, F_GETFL);
			if (fl >= 0 && fcntl(m, F_SETFL, fl | O_NONBLOCK) == 0) {
				ssize_t n;
				while ((n = read(m, buf, sizeof(buf))) > 0 && write_all(out, buf, (size_t)n) == 0)
					;
			}
			break;
		}
	}
	if (restore)
		(void)tcsetattr(in, TCSAFLUSH, &saved);
	return 0;
}
