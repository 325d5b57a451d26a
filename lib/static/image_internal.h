/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal: how image.c chooses "the image" in a layout, shared with the
 * writer (imagewrite.c), so that attach and sign change exactly the image
 * that check and run later open by the same reference.
 */
#ifndef CAPGATE_STATIC_IMAGE_INTERNAL_H
#define CAPGATE_STATIC_IMAGE_INTERNAL_H

#include "static/oci.h"

/* The index.json entry @ref selects (see cg_image_open_layout: a pinned
 * digest, a ref name, or the only image); *ret points into @index. */
int cg_image_select_top(const char *dir, const struct cg_oci_manifest *index, const char *ref,
			const struct cg_oci_desc **ret, struct cg_error *err);

/* In a (nested) index, the image manifest for @platform ("os/arch[/variant]",
 * cg_image_platform_parse; a variant compared only when given), or (NULL)
 * for this machine: the only one, or linux/<this machine's arch>. None is
 * -ENOENT, several -EINVAL, the message listing the platforms present.
 * *ret points into @idx. */
int cg_image_index_pick(const struct cg_oci_manifest *idx, const char *platform, const struct cg_oci_desc **ret,
			struct cg_error *err);

#endif
