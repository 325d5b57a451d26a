// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz capgate's JSON reader against libfyaml (lib/core/tree.c): for any
 * input,
 *   - if the JSON reader takes it on, libfyaml reads it as one JSON document
 *     and gives the same tree, node by node (kind, style, text, position);
 *   - reading it as a profile gives the same result either way: the same
 *     error, or the same profiles with the same positions and notes.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "testing.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[1024];

	if (!cg__tree_json_agrees((const char *)data, size, why, sizeof(why)))
		FAIL("JSON reader and libfyaml disagree: %s", why);
	if (!cg__profile_readers_agree((const char *)data, size, why, sizeof(why)))
		FAIL("profile readers disagree: %s", why);
	return 0;
}
