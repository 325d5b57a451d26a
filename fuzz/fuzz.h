/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the fuzz targets: the entry point, and FAIL for a broken
 * invariant (a message, then a trap the fuzzer reports as a crash). */
#ifndef CAPGATE_FUZZ_H
#define CAPGATE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define FAIL(...)                             \
	do {                                  \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr);          \
		__builtin_trap();             \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
