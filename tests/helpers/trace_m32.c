// SPDX-License-Identifier: Apache-2.0
/* A real 32-bit (i386) program for `capgate trace`: a few system calls
 * through libc, each one the recorder must file under i386. Built with
 * gcc -m32 by mk/trace.mk. Prints "trace_m32 ok". */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

int main(void)
{
	struct utsname u;
	char buf[64];
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, buf, sizeof(buf)) <= 0)
		return 1;
	close(fd);
	if (uname(&u) < 0 || getpid() <= 0)
		return 1;
	int s = socket(AF_UNIX, SOCK_STREAM, 0); /* Debian i386 glibc: through socketcall */
	if (s >= 0)
		close(s);
	if (write(1, "trace_m32 ok\n", 13) != 13)
		return 1;
	return 0;
}
