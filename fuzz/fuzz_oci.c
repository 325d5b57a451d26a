// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz the OCI document parsers on one input read three ways -- as an image
 * manifest, as an index, and as an image config:
 *   - a refusal comes with its code and a message that names the source;
 *   - an accepted manifest has a config descriptor, an index has none;
 *   - every descriptor has a media type, a valid sha256 digest and a JSON
 *     path; the document's own media type is the one the descriptor gave;
 *   - config labels are as many keys as values, all strings.
 */
#include <string.h>

#include "fuzz.h"
#include "static/oci.h"

#define SOURCE "fuzz.json"

static void check_desc(const struct cg_oci_desc *d, const char *what)
{
	if (!d->media_type)
		FAIL("%s: descriptor without a media type", what);
	if (!cg_oci_digest_valid(d->digest))
		FAIL("%s: descriptor with digest '%s'", what, d->digest);
	if (!d->path[0])
		FAIL("%s: descriptor without a path", what);
}

static void check_manifest(const char *buf, size_t len, bool index, const char *mt)
{
	struct cg_oci_manifest m = { 0 };
	struct cg_error err = { 0 };
	int r;

	r = cg_oci_manifest_parse(buf, len, SOURCE, index, mt, &m, &err);
	if (r < 0) {
		if (!err.msg[0] || err.code != r || !strstr(err.msg, SOURCE))
			FAIL("refusal %d without a message naming the source: '%s'", r, err.msg);
		return;
	}
	if (m.is_index != index || !m.source || strcmp(m.source, SOURCE) != 0)
		FAIL("manifest says is_index=%d, source '%s'", m.is_index, m.source ? m.source : "(null)");
	if (index == m.has_config)
		FAIL("%s %s a config", index ? "index" : "manifest", m.has_config ? "with" : "without");
	if (m.has_config)
		check_desc(&m.config, "config");
	if (m.has_subject)
		check_desc(&m.subject, "subject");
	if (m.n_items && !m.items)
		FAIL("%zu items without an array", m.n_items);
	for (size_t i = 0; i < m.n_items; i++)
		check_desc(&m.items[i], index ? "manifests[]" : "layers[]");
	if (mt && m.media_type && strcmp(m.media_type, mt) != 0)
		FAIL("media type '%s' accepted where '%s' was expected", m.media_type, mt);
	cg_oci_manifest_release(&m);
	if (m.source || m.items || m.n_items)
		FAIL("release left data behind");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cg_error err = { 0 };
	char **keys = NULL, **values = NULL, *buf;
	size_t n = 0;
	int r;

	if (size > 65536)
		return 0;
	buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';

	check_manifest(buf, size, false, NULL);
	check_manifest(buf, size, false, CG_OCI_MT_MANIFEST);
	check_manifest(buf, size, true, NULL);
	check_manifest(buf, size, true, CG_OCI_MT_INDEX);

	r = cg_oci_config_labels(buf, size, SOURCE, &keys, &values, &n, &err);
	if (r < 0) {
		if (!err.msg[0] || err.code != r)
			FAIL("config: refusal %d without a message", r);
	} else {
		if (n && (!keys || !values))
			FAIL("config: %zu labels without arrays", n);
		for (size_t i = 0; i < n; i++)
			if (!keys[i] || !values[i])
				FAIL("config: label %zu is NULL", i);
		if (n && (keys[n] || values[n]))
			FAIL("config: label arrays not NULL-terminated");
		cg_strv_free(keys, n);
		cg_strv_free(values, n);
	}
	free(buf);
	return 0;
}
