/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Whole files in and out: the one reader (bounded, so that no input can make
 * capgate allocate without limit) and the one atomic writer every command and
 * module uses.
 */
#ifndef CAPGATE_FILE_H
#define CAPGATE_FILE_H

#include <capgate/common.h>
#include <capgate/error.h>
#include <sys/types.h>

/* The most cg_read_file() reads. */
#define CG_READ_FILE_MAX ((size_t)256 << 20)

/* The most capgate reads of each kind of input it parses (cg_read_file_max).
 * The parser's own bounds (docs/LIBFYAML.md) limit what a document costs;
 * these limit the buffer. A profile or closure: 16 MiB (the largest real
 * ones are tens of KiB). A policy or baseline file: 1 MiB. A manifest
 * stream (check's inputs, which may also be profiles): 64 MiB, about
 * 100,000 Pods; larger streams can be split across files. */
#define CG_READ_PROFILE_MAX ((size_t)16 << 20)
#define CG_READ_POLICY_MAX ((size_t)1 << 20)
#define CG_READ_MANIFEST_MAX ((size_t)64 << 20)

/* cg_read_file_max() flags. */
enum {
	/* A regular file only: "-" is a file of that name (not stdin), and a
	 * FIFO or device is refused (-EINVAL) without blocking on it. */
	CG_READ_REGULAR = 1 << 0,
};

/* Read a whole file ("-" = stdin) of at most CG_READ_FILE_MAX bytes into a
 * NUL-terminated buffer. @ret_len may be NULL. */
CAPGATE_API int cg_read_file(const char *path, char **ret_buf, size_t *ret_len,
			     struct cg_error *err);

/* Read a whole file of at most @max bytes into a NUL-terminated buffer; a
 * larger one fails with -EFBIG and a message naming the file and the limit
 * (a regular file is refused before it is read). @flags: CG_READ_*.
 * @ret_len may be NULL. */
CAPGATE_API int cg_read_file_max(const char *path, size_t max, unsigned flags, char **ret_buf,
				 size_t *ret_len, struct cg_error *err);

/* Write @n bytes to @path atomically (temp file in the same directory, fsync,
 * rename); "-" means standard output. Returns 0 or a negative errno. */
CAPGATE_API int cg_write_file_atomic(const char *path, const void *data, size_t n,
				     mode_t mode, struct cg_error *err);

#endif
