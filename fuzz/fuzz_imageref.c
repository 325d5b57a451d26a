// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz image reference parsing and trusted-location matching:
 *   - a refusal always comes with -EINVAL (or -ENOMEM) and a message;
 *   - an accepted reference formats to text that parses back to the same
 *     parts and the same text (the canonical form is a fixed point);
 *   - its repository is lowercase, its registry is never "index.docker.io";
 *   - it is within its own registry and its own registry/repository, never
 *     within a look-alike host ("<registry>.evil.io") or a longer path;
 *   - within() never crashes on arbitrary trusted strings (the input itself).
 */
#include <capgate/image.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"

static bool same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const trusted[] = { "docker.io", "docker.io/library", "registry.example.com",
					       "registry.example.com/team", "localhost:5000", "[::1]:5000/a" };
	struct cg_imageref r = { 0 }, back = { 0 };
	struct cg_error err = { 0 };
	char *s, *f = NULL, *f2 = NULL, probe[1200];
	int rc;

	if (size > 1024)
		return 0;
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	rc = cg_imageref_parse(s, &r, &err);
	if (rc < 0) {
		if ((rc != -EINVAL && rc != -ENOMEM) || !err.msg[0])
			FAIL("refusal %d without a message for '%s'", rc, s);
		goto out;
	}
	if (!r.registry || !r.repository || !*r.registry || !*r.repository)
		FAIL("accepted '%s' with an empty part", s);
	if (strcmp(r.registry, "index.docker.io") == 0)
		FAIL("'%s': registry not normalised", s);
	for (const char *p = r.repository; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			FAIL("'%s': uppercase repository '%s'", s, r.repository);
	if (strlen(r.registry) + 1 + strlen(r.repository) > 255)
		FAIL("'%s': name over 255 characters accepted", s);

	f = cg_imageref_format(&r);
	if (!f)
		goto out;
	if (cg_imageref_parse(f, &back, &err) != 0)
		FAIL("'%s' formats to '%s', which does not parse: %s", s, f, err.msg);
	if (!same(r.registry, back.registry) || !same(r.repository, back.repository) || !same(r.tag, back.tag) ||
	    !same(r.digest, back.digest))
		FAIL("'%s' -> '%s' parses to other parts", s, f);
	f2 = cg_imageref_format(&back);
	if (!f2 || strcmp(f, f2) != 0)
		FAIL("format not a fixed point: '%s' -> '%s'", f, f2 ? f2 : "(null)");

	if (!cg_imageref_within(&r, r.registry))
		FAIL("'%s' not within its own registry '%s'", s, r.registry);
	snprintf(probe, sizeof(probe), "%s/%s", r.registry, r.repository);
	if (!cg_imageref_within(&r, probe))
		FAIL("'%s' not within '%s'", s, probe);
	snprintf(probe, sizeof(probe), "%s.evil.io", r.registry);
	if (cg_imageref_within(&r, probe))
		FAIL("'%s' within look-alike host '%s'", s, probe);
	snprintf(probe, sizeof(probe), "%s/%sx", r.registry, r.repository);
	if (cg_imageref_within(&r, probe))
		FAIL("'%s' within longer path '%s'", s, probe);
	snprintf(probe, sizeof(probe), "%s/%s/x", r.registry, r.repository);
	if (cg_imageref_within(&r, probe))
		FAIL("'%s' within deeper path '%s'", s, probe);
	for (size_t i = 0; i < CG_ARRAY_SIZE(trusted); i++) {
		size_t n = strlen(r.registry);
		bool in = cg_imageref_within(&r, trusted[i]);
		/* within implies the host part matches, ignoring case */
		if (in && (strncasecmp(trusted[i], r.registry, n) != 0 || (trusted[i][n] && trusted[i][n] != '/')))
			FAIL("'%s' within '%s' with another host", s, trusted[i]);
	}
	(void)cg_imageref_within(&r, s); /* the input as a trusted string */
out:
	free(f);
	free(f2);
	cg_imageref_release(&r);
	cg_imageref_release(&back);
	free(s);
	return 0;
}
