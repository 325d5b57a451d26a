/* SPDX-License-Identifier: Apache-2.0 */
/* Internal: one UTF-8 decoder for the document checks (doc.c) and the JSON
 * reader (tree.c): no overlong forms, no surrogates, nothing past U+10FFFF. */
#ifndef CAPGATE_UTF8_H
#define CAPGATE_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* The length of the character at @p (1-4), its code point in *cp; 0 if the
 * bytes from @p (before @end) are not one valid UTF-8 character. */
static inline size_t cg_utf8_decode(const unsigned char *p, const unsigned char *end, uint32_t *cp)
{
	unsigned char c = p[0];
	size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2
			  : (c & 0xf0) == 0xe0       ? 3
			  : (c & 0xf8) == 0xf0       ? 4
						     : 0;
	uint32_t v = n == 1 ? c : n == 2 ? (c & 0x1fu)
			  : n == 3       ? (c & 0x0fu)
					 : (c & 0x07u);

	if (!n || (size_t)(end - p) < n)
		return 0;
	for (size_t k = 1; k < n; k++) {
		if ((p[k] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (p[k] & 0x3fu);
	}
	if ((n == 2 && v < 0x80) || (n == 3 && v < 0x800) || (n == 4 && (v < 0x10000 || v > 0x10ffff)) ||
	    (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

#endif
