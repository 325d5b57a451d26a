/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal: a small reader of plain (uncompressed) tar archives, enough for
 * the two members of a docker-archive capgate needs. Nothing is extracted:
 * the archive is indexed once, and members are read into memory by name.
 */
#ifndef CAPGATE_STATIC_TAR_H
#define CAPGATE_STATIC_TAR_H

#include <capgate/common.h>
#include <capgate/error.h>
#include <sys/types.h>

/* A regular file in the archive. */
struct cg_tar_entry {
	char *name;   /* cleaned: "a/b", never absolute, never ".." */
	off_t offset; /* of the data */
	uint64_t size;
};

/* The regular files of an archive, in archive order. */
struct cg_tar_index {
	struct cg_tar_entry *v;
	size_t n;
};

/* Free what an index holds and zero it. */
void cg_tar_index_release(struct cg_tar_index *t);

/* Index the regular files of the tar on @fd (ustar, with GNU long names and
 * PAX path records); member names that would leave the archive (absolute,
 * "..") are skipped. @path names the archive in messages. @t starts zeroed;
 * on failure it may hold entries already found (release it either way). */
int cg_tar_scan(int fd, const char *path, struct cg_tar_index *t, struct cg_error *err);

/* Read member @member (a cleaned name; the last entry of that name wins, as
 * on extraction) of at most @max bytes into a NUL-terminated buffer. */
int cg_tar_read(int fd, const char *path, const struct cg_tar_index *t, const char *member, size_t max,
		char **ret, size_t *ret_len, struct cg_error *err);

/* @n bytes of a member name made relative and clean ("./a//b" -> "a/b"), or
 * NULL if it leaves the archive (absolute, or a ".." component) or memory
 * ran out. */
char *cg_tar_clean(const char *s, size_t n);

/* A tar numeric field of @n bytes: octal (NUL/space terminated) or GNU
 * base-256; false if malformed or out of range. */
bool cg_tar_num(const unsigned char *f, size_t n, uint64_t *ret);
/* Whether a 512-byte header's checksum field matches its bytes. */
bool cg_tar_checksum_ok(const unsigned char h[512]);

#endif
