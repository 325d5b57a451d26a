// SPDX-License-Identifier: Apache-2.0
/*
 * The example program of the README: prints a line, then tries to open a
 * TCP socket and says whether the sandbox denied it. Always exits 0.
 *   capgate run --explain --profile examples/demo.json -- build/tests/helpers/demo
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
	printf("demo: hello from inside the sandbox\n");
	fflush(stdout);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0) {
		printf("demo: socket(AF_INET, SOCK_STREAM) denied: %s\n", strerror(errno));
	} else {
		printf("demo: socket(AF_INET, SOCK_STREAM) allowed (fd %d)\n", fd);
		close(fd);
	}
	return 0;
}
