// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz the docker-archive tar reader on an in-memory file:
 *   - a refusal comes with its code and a message;
 *   - every indexed member has a clean name (relative, no "." or ".."
 *     component, no empty component) that cg_tar_clean leaves as it is, and
 *     data that starts on a block boundary after its header;
 *   - reading a member gives exactly its size in bytes, the bytes of the
 *     archive at its offset (the last member of a name wins), or a refusal
 *     with a message when the archive is truncated or the member too large;
 *   - cg_tar_clean on the input as a name never gives an escaping path.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "static/tar.h"

#define READ_MAX ((size_t)1 << 20)

static void check_clean(const char *name, size_t n, const char *what)
{
	const char *p = name;

	if (name[0] == '/')
		FAIL("%s: absolute name '%s'", what, name);
	while (*p) {
		size_t c = strcspn(p, "/");
		if (c == 0)
			FAIL("%s: empty component in '%s'", what, name);
		if ((c == 1 && p[0] == '.') || (c == 2 && p[0] == '.' && p[1] == '.'))
			FAIL("%s: '.' or '..' component in '%s'", what, name);
		p += c;
		if (*p == '/') {
			p++;
			if (!*p)
				FAIL("%s: trailing '/' in '%s'", what, name);
		}
	}
	(void)n;
}

static void check_members(int fd, const uint8_t *data, size_t size, const struct cg_tar_index *t)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct cg_tar_entry *e = &t->v[i], *last = e;
		struct cg_error err = { 0 };
		char *again, *buf = NULL;
		size_t len = 0;
		int r;

		check_clean(e->name, strlen(e->name), "member");
		again = cg_tar_clean(e->name, strlen(e->name));
		if (!again || strcmp(again, e->name) != 0)
			FAIL("cg_tar_clean is not idempotent on '%s'", e->name);
		free(again);
		if (e->offset < 512 || e->offset % 512 != 0)
			FAIL("member '%s' data at offset %lld", e->name, (long long)e->offset);
		for (size_t j = i + 1; j < t->n; j++)
			if (strcmp(t->v[j].name, e->name) == 0)
				last = &t->v[j];
		r = cg_tar_read(fd, "fuzz.tar", t, e->name, READ_MAX, &buf, &len, &err);
		if (r < 0) {
			if (!err.msg[0] || err.code != r)
				FAIL("read of '%s': refusal %d without a message", e->name, r);
			if (r != -EFBIG && r != -EINVAL)
				FAIL("read of '%s': unexpected error %d: %s", e->name, r, err.msg);
			if (r == -EFBIG && last->size <= READ_MAX)
				FAIL("read of '%s': -EFBIG for %llu bytes", e->name, (unsigned long long)last->size);
			if (r == -EINVAL && (uint64_t)last->offset + last->size <= size)
				FAIL("read of '%s': truncated, but the data is there", e->name);
			continue;
		}
		if (len != last->size || buf[len] != '\0')
			FAIL("read of '%s': %zu bytes, the header says %llu", e->name, len,
			     (unsigned long long)last->size);
		if ((uint64_t)last->offset + len > size || memcmp(buf, data + last->offset, len) != 0)
			FAIL("read of '%s': bytes differ from the archive", e->name);
		free(buf);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cg_tar_index t = { 0 };
	struct cg_error err = { 0 };
	char *clean;
	int fd, r;

	clean = cg_tar_clean((const char *)data, size);
	if (clean) {
		if (!memchr(data, '\0', size))
			check_clean(clean, strlen(clean), "cg_tar_clean");
		free(clean);
	}

	fd = memfd_create("fuzz.tar", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (size && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	r = cg_tar_scan(fd, "fuzz.tar", &t, &err);
	if (r < 0) {
		if (!err.msg[0] || err.code != r)
			FAIL("scan: refusal %d without a message", r);
	} else {
		check_members(fd, data, size, &t);
	}
	cg_tar_index_release(&t);
	close(fd);
	return 0;
}
