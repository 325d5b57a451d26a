// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz the layer unpacker on a real directory: the input is one layer blob
 * (plain tar, gzip or zstd: the unpacker tells them apart) of a one-image
 * layout, unpacked with small limits into box/root beside a canary:
 *   - a refusal comes with its code and a message, and leaves the root
 *     empty (nothing half-made);
 *   - whatever the archive holds (links to / or "..", hard links, whiteouts,
 *     names with ".."), nothing appears, changes or disappears outside the
 *     root: box holds exactly root and the canary, the canary is intact, and
 *     the work directory holds exactly the layout and box.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <capgate/image.h>

#include "fuzz.h"
#include "static/oci.h"

static char work[64], layout[96], box[96], root[112], canary[112];

static void put(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, p, n) != (ssize_t)n)
		FAIL("cannot write %s: %m", path);
	close(fd);
}

/* The names in @dir, sorted and joined by ',' (at most @n bytes). */
static void names(const char *dir, char *out, size_t n)
{
	struct dirent **v;
	int k = scandir(dir, &v, NULL, alphasort);
	size_t l = 0;

	out[0] = '\0';
	if (k < 0)
		FAIL("scandir %s: %m", dir);
	for (int i = 0; i < k; i++) {
		if (strcmp(v[i]->d_name, ".") != 0 && strcmp(v[i]->d_name, "..") != 0)
			l += (size_t)snprintf(out + l, l < n ? n - l : 0, "%s%s", l ? "," : "", v[i]->d_name);
		free(v[i]);
	}
	free(v);
}

static void cleanup(void)
{
	cg_image_rootfs_remove(work);
}

static void setup(void)
{
	static const char cfg[] = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{}}";
	char path[256];

	snprintf(work, sizeof(work), "/tmp/capgate-fuzz-unpack-XXXXXX");
	if (!mkdtemp(work))
		FAIL("mkdtemp: %m");
	snprintf(layout, sizeof(layout), "%s/layout", work);
	snprintf(box, sizeof(box), "%s/box", work);
	snprintf(root, sizeof(root), "%s/root", box);
	snprintf(canary, sizeof(canary), "%s/canary", box);
	snprintf(path, sizeof(path), "%s/blobs", layout);
	if (mkdir(layout, 0755) < 0 || mkdir(box, 0755) < 0 || mkdir(root, 0755) < 0 || mkdir(path, 0755) < 0)
		FAIL("mkdir: %m");
	snprintf(path, sizeof(path), "%s/blobs/sha256", layout);
	if (mkdir(path, 0755) < 0)
		FAIL("mkdir: %m");
	atexit(cleanup);
	put(canary, "canary", 6);
	snprintf(path, sizeof(path), "%s/oci-layout", layout);
	put(path, "{\"imageLayoutVersion\":\"1.0.0\"}", 30);
	{
		char d[72];
		cg_oci_sha256(cfg, strlen(cfg), d, NULL);
		snprintf(path, sizeof(path), "%s/blobs/sha256/%s", layout, d + 7);
		put(path, cfg, strlen(cfg));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	static const char cfg[] = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{}}";
	char ld[72], cd[72], md[72], path[256], man[600], idx[400], list[256];
	struct cg_unpack_opts o = { .sz = sizeof(o), .max_bytes = 1 << 20, .max_entries = 256 };
	struct cg_image *img = NULL;
	struct cg_error err = { 0 };
	int r, n;

	if (!ready) {
		setup();
		ready = true;
	}
	cg_oci_sha256(data, size, ld, NULL);
	cg_oci_sha256(cfg, strlen(cfg), cd, NULL);
	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", layout, ld + 7);
	put(path, data, size);
	n = snprintf(man, sizeof(man),
		     "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
		     "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"%s\",\"size\":%zu},"
		     "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"%s\",\"size\":%zu}]}",
		     cd, strlen(cfg), ld, size);
	cg_oci_sha256(man, (size_t)n, md, NULL);
	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", layout, md + 7);
	put(path, man, (size_t)n);
	n = snprintf(idx, sizeof(idx),
		     "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
		     "\"digest\":\"%s\",\"size\":%d}]}",
		     md, (int)strlen(man));
	snprintf(path, sizeof(path), "%s/index.json", layout);
	put(path, idx, (size_t)n);

	if (cg_image_open_layout(layout, NULL, &img, &err) < 0)
		FAIL("the layout made for the input does not open: %s", err.msg);
	r = cg_image_unpack_opts(layout, img, root, &o, &err);
	cg_image_free(img);
	if (r < 0) {
		if (!err.msg[0] || err.code != r)
			FAIL("refusal %d without its message or code (%d '%s')", r, err.code, err.msg);
		names(root, list, sizeof(list));
		if (list[0])
			FAIL("refused (%s) but the root still holds %s", err.msg, list);
	}
	names(box, list, sizeof(list));
	if (strcmp(list, "canary,root") != 0)
		FAIL("outside the root, box holds %s", list);
	names(work, list, sizeof(list));
	if (strcmp(list, "box,layout") != 0)
		FAIL("outside the root, the work directory holds %s", list);
	{
		char buf[16] = "";
		int fd = open(canary, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || read(fd, buf, sizeof(buf)) != 6 || memcmp(buf, "canary", 6) != 0)
			FAIL("the canary beside the root changed");
		close(fd);
	}
	/* the next input starts from an empty root and a layout without this blob */
	cg_image_rootfs_remove(root);
	if (mkdir(root, 0755) < 0)
		FAIL("mkdir %s: %m", root);
	if (strcmp(ld, cd) != 0) { /* the input may be the config itself */
		snprintf(path, sizeof(path), "%s/blobs/sha256/%s", layout, ld + 7);
		unlink(path);
	}
	if (strcmp(md, ld) != 0) {
		snprintf(path, sizeof(path), "%s/blobs/sha256/%s", layout, md + 7);
		unlink(path);
	}
	return 0;
}
