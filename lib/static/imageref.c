// SPDX-License-Identifier: Apache-2.0
/*
 * Image references, read the way github.com/distribution/reference reads them
 * (ParseNormalizedNamed), and "is this reference inside a trusted location",
 * decided on the parsed parts instead of on string prefixes.
 *
 * Grammar (distribution/reference regexp.go):
 *   reference        := name [ ":" tag ] [ "@" digest ]
 *   name             := [domain '/'] path-component ['/' path-component]*
 *   domain           := host [':' port-number]
 *   host             := domain-name | '[' ipv6 ']'
 *   domain-name      := domain-component ['.' domain-component]*
 *   domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
 *   port-number      := [0-9]+
 *   path-component   := [a-z0-9]+ (separator [a-z0-9]+)*
 *   separator        := [._] | '__' | '-'+
 *   tag              := [\w][\w.-]{0,127}
 *   digest           := algorithm ':' hex{32,}; sha256 = 64, sha384 = 96,
 *                       sha512 = 128 lowercase hex (go-digest's Validate)
 * Normalisation: the first component is the domain only if it holds '.' or
 * ':', is "localhost", or has an uppercase letter; otherwise the domain is
 * docker.io. "index.docker.io" becomes docker.io, and a one-component name
 * on docker.io gets "library/". Unlike the Go package, both Docker Hub names
 * are recognised in any case ("Docker.IO/nginx" is docker.io/library/nginx):
 * a host name ignores case, and so does cg_imageref_within. The whole name (domain/path) is at most 255
 * characters. A bare 64-hex string is refused (it reads as an image ID).
 */
#include <capgate/image.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define NAME_TOTAL_MAX 255
#define TAG_MAX 128

static bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
static bool is_word(char c) { return isalnum((unsigned char)c) || c == '_'; }
static bool is_lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

/* path-component over [s, s+n); on failure *why says what is wrong. */
static bool path_component_ok(const char *s, size_t n, const char **why)
{
	size_t i = 0;

	if (n == 0) {
		*why = "empty path component";
		return false;
	}
	for (size_t k = 0; k < n; k++)
		if (s[k] >= 'A' && s[k] <= 'Z') {
			*why = "repository name must be lowercase";
			return false;
		}
	if (!is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1])) {
		*why = "a path component must start and end with [a-z0-9]";
		return false;
	}
	while (i < n) {
		if (is_lower_alnum(s[i])) {
			i++;
			continue;
		}
		/* separator: '.', '_', '__' or a run of '-' between alphanumerics */
		if (s[i] == '.') {
			i++;
		} else if (s[i] == '_') {
			i += (i + 1 < n && s[i + 1] == '_') ? 2 : 1;
		} else if (s[i] == '-') {
			while (i < n && s[i] == '-')
				i++;
		} else {
			*why = "invalid character in repository name";
			return false;
		}
		if (i >= n || !is_lower_alnum(s[i])) {
			*why = "separators ('.', '_', '__', '-') must sit between [a-z0-9]";
			return false;
		}
	}
	return true;
}

static bool domain_component_ok(const char *s, size_t n)
{
	if (n == 0 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return false;
	return true;
}

/* domain := host [':' port]; host := domain-name | '[' ipv6 ']' */
static bool domain_ok(const char *s, size_t n, const char **why)
{
	size_t host_end = n;
	const char *colon;

	if (n > 0 && s[0] == '[') {
		const char *rb = memchr(s, ']', n);
		if (!rb || rb == s + 1) {
			*why = "invalid IPv6 address in registry";
			return false;
		}
		for (const char *p = s + 1; p < rb; p++)
			if (!isxdigit((unsigned char)*p) && *p != ':') {
				*why = "invalid IPv6 address in registry";
				return false;
			}
		host_end = (size_t)(rb - s) + 1;
		if (host_end < n && s[host_end] != ':') {
			*why = "invalid registry";
			return false;
		}
	} else {
		colon = memchr(s, ':', n);
		if (colon)
			host_end = (size_t)(colon - s);
		for (size_t i = 0, start = 0; i <= host_end; i++) {
			if (i == host_end || s[i] == '.') {
				if (!domain_component_ok(s + start, i - start)) {
					*why = "invalid registry host name";
					return false;
				}
				start = i + 1;
			}
		}
	}
	if (host_end < n) { /* ':' port */
		if (host_end + 1 == n) {
			*why = "empty registry port";
			return false;
		}
		for (size_t i = host_end + 1; i < n; i++)
			if (!isdigit((unsigned char)s[i])) {
				*why = "registry port must be digits";
				return false;
			}
	}
	return true;
}

static int digest_check(const char *d, struct cg_error *err)
{
	const char *colon = strchr(d, ':');
	size_t alg_len, hex_len, want = 0;
	const char *hex;

	if (!colon || colon == d)
		return cg_error_set(err, -EINVAL, "invalid digest '%s': expected algorithm:hex", d);
	alg_len = (size_t)(colon - d);
	/* algorithm := [A-Za-z][A-Za-z0-9]* ([-_+.][A-Za-z][A-Za-z0-9]*)* */
	for (size_t i = 0; i < alg_len; i++) {
		bool first = i == 0 || strchr("-_+.", d[i - 1]);
		if (first ? !isalpha((unsigned char)d[i]) : !(isalnum((unsigned char)d[i]) || strchr("-_+.", d[i])))
			return cg_error_set(err, -EINVAL, "invalid digest algorithm in '%s'", d);
	}
	if (strchr("-_+.", d[alg_len - 1]))
		return cg_error_set(err, -EINVAL, "invalid digest algorithm in '%s'", d);
	hex = colon + 1;
	hex_len = strlen(hex);
	if (alg_len == 6 && memcmp(d, "sha256", 6) == 0)
		want = 64;
	else if (alg_len == 6 && memcmp(d, "sha384", 6) == 0)
		want = 96;
	else if (alg_len == 6 && memcmp(d, "sha512", 6) == 0)
		want = 128;
	else
		return cg_error_set(err, -EINVAL, "unsupported digest algorithm '%.*s'", (int)alg_len, d);
	for (size_t i = 0; i < hex_len; i++)
		if (!is_lower_hex(hex[i]))
			return cg_error_set(err, -EINVAL, "invalid digest '%s': the hex part must be lowercase [0-9a-f]",
					    d);
	if (hex_len != want)
		return cg_error_set(err, -EINVAL, "invalid digest '%s': %.*s needs %zu hex digits, got %zu", d,
				    (int)alg_len, d, want, hex_len);
	return 0;
}

void cg_imageref_release(struct cg_imageref *r)
{
	if (!r)
		return;
	free(r->registry);
	free(r->repository);
	free(r->tag);
	free(r->digest);
	*r = (struct cg_imageref){ 0 };
}

int cg_imageref_parse(const char *s, struct cg_imageref *ret, struct cg_error *err)
{
	struct cg_imageref r = { 0 };
	_cleanup_free_ char *copy = NULL;
	char *at, *name, *slash, *last_slash, *colon, *tag = NULL, *digest = NULL;
	const char *domain, *remainder, *why = NULL;
	size_t len, dlen, i;
	bool lib = false;

	if (!s || !*s)
		return cg_error_set(err, -EINVAL, "empty image reference");
	len = strlen(s);
	if (len > 4096)
		return cg_error_set(err, -EINVAL, "image reference of %zu characters is too long", len);
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return cg_error_set(err, -EINVAL, "image reference contains a space or non-ASCII character");
	copy = strdup(s);
	if (!copy)
		return cg_error_set(err, -ENOMEM, "out of memory");

	at = strchr(copy, '@');
	if (at) {
		*at = '\0';
		digest = at + 1;
		if (strchr(digest, '@'))
			return cg_error_set(err, -EINVAL, "'%s': more than one '@'", s);
		if (digest_check(digest, err) < 0)
			return cg_error_prefix(err, "'%s': ", s);
	}
	name = copy;
	last_slash = strrchr(name, '/');
	colon = strrchr(last_slash ? last_slash : name, ':');
	if (colon) {
		*colon = '\0';
		tag = colon + 1;
		size_t tl = strlen(tag);
		if (tl == 0 || tl > TAG_MAX || !is_word(tag[0]))
			return cg_error_set(err, -EINVAL, "'%s': invalid tag '%s' (expected [A-Za-z0-9_][A-Za-z0-9_.-]{0,127})",
					    s, tag);
		for (i = 1; i < tl; i++)
			if (!is_word(tag[i]) && tag[i] != '.' && tag[i] != '-')
				return cg_error_set(err, -EINVAL, "'%s': invalid character '%c' in tag", s, tag[i]);
	}
	if (!*name)
		return cg_error_set(err, -EINVAL, "'%s': missing repository name", s);
	if (strlen(name) == 64) {
		for (i = 0; i < 64 && is_lower_hex(name[i]); i++)
			;
		if (i == 64)
			return cg_error_set(err, -EINVAL,
					    "'%s': a 64-digit hexadecimal name is an image ID, not a repository", s);
	}

	/* splitDockerDomain */
	slash = strchr(name, '/');
	domain = "docker.io";
	dlen = 9;
	remainder = name;
	if (slash) {
		size_t n = (size_t)(slash - name);
		bool upper = false, is_domain;
		for (i = 0; i < n; i++)
			upper |= name[i] >= 'A' && name[i] <= 'Z';
		is_domain = memchr(name, '.', n) || memchr(name, ':', n) || (n == 9 && memcmp(name, "localhost", 9) == 0) ||
			    upper;
		if (is_domain) {
			if (!domain_ok(name, n, &why))
				return cg_error_set(err, -EINVAL, "'%s': %s '%.*s'", s, why, (int)n, name);
			domain = name;
			dlen = n;
			remainder = slash + 1;
			/* Docker Hub under any spelling of its names: host names
			 * ignore case, so "Index.Docker.io" is Docker Hub too */
			if ((n == 15 && strncasecmp(name, "index.docker.io", 15) == 0) ||
			    (n == 9 && strncasecmp(name, "docker.io", 9) == 0)) {
				domain = "docker.io";
				dlen = 9;
			}
		}
	}
	if (dlen == 9 && memcmp(domain, "docker.io", 9) == 0 && !strchr(remainder, '/'))
		lib = true;
	if (!*remainder)
		return cg_error_set(err, -EINVAL, "'%s': missing repository name", s);
	for (const char *p = remainder;;) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (!path_component_ok(p, n, &why))
			return cg_error_set(err, -EINVAL, "'%s': %s ('%.*s')", s, why, (int)n, p);
		if (!e)
			break;
		p = e + 1;
	}
	if (dlen + 1 + (lib ? 8 : 0) + strlen(remainder) > NAME_TOTAL_MAX)
		return cg_error_set(err, -EINVAL, "'%s': repository name must not be more than %d characters", s,
				    NAME_TOTAL_MAX);

	r.registry = strndup(domain, dlen);
	r.registry_defaulted = remainder == name;
	if (lib) {
		r.repository = malloc(8 + strlen(remainder) + 1);
		if (r.repository)
			sprintf(r.repository, "library/%s", remainder);
	} else {
		r.repository = strdup(remainder);
	}
	r.tag = tag ? strdup(tag) : NULL;
	r.digest = digest ? strdup(digest) : NULL;
	if (!r.registry || !r.repository || (tag && !r.tag) || (digest && !r.digest)) {
		cg_imageref_release(&r);
		return cg_error_set(err, -ENOMEM, "out of memory");
	}
	*ret = r;
	return 0;
}

char *cg_imageref_format(const struct cg_imageref *r)
{
	char *s = NULL;

	if (!r || !r->registry || !r->repository)
		return NULL;
	if (asprintf(&s, "%s/%s%s%s%s%s", r->registry, r->repository, r->tag ? ":" : "", r->tag ? r->tag : "",
		     r->digest ? "@" : "", r->digest ? r->digest : "") < 0)
		return NULL;
	return s;
}

/*
 * Trusted location "host[:port][/path/prefix]". The first component is always
 * the host (a policy names its registry explicitly), "index.docker.io" means
 * docker.io, trailing slashes are ignored. A one-component path on docker.io
 * is NOT given "library/": "docker.io/myorg" trusts the organisation myorg;
 * write "docker.io/library/nginx" for the official image. A trusted string
 * with a tag, a digest or an invalid component matches nothing.
 */
bool cg_imageref_within(const struct cg_imageref *r, const char *trusted)
{
	const char *slash, *path, *why = NULL;
	size_t hlen, plen, rlen;

	if (!r || !r->registry || !r->repository || !trusted || !*trusted)
		return false;
	slash = strchr(trusted, '/');
	hlen = slash ? (size_t)(slash - trusted) : strlen(trusted);
	if (hlen == 0 || !domain_ok(trusted, hlen, &why))
		return false;
	if (hlen == 15 && strncasecmp(trusted, "index.docker.io", 15) == 0) {
		if (strcasecmp(r->registry, "docker.io") != 0)
			return false;
	} else if (strlen(r->registry) != hlen || strncasecmp(r->registry, trusted, hlen) != 0) {
		return false;
	}
	path = slash ? slash + 1 : "";
	plen = strlen(path);
	while (plen > 0 && path[plen - 1] == '/')
		plen--;
	if (plen == 0)
		return true;
	/* every component of the prefix must be a valid path component */
	for (size_t i = 0, start = 0; i <= plen; i++)
		if (i == plen || path[i] == '/') {
			if (!path_component_ok(path + start, i - start, &why))
				return false;
			start = i + 1;
		}
	rlen = strlen(r->repository);
	if (rlen < plen || memcmp(r->repository, path, plen) != 0)
		return false;
	return rlen == plen || r->repository[plen] == '/';
}
