#!/usr/bin/env bash
# The API boundary of libcapgate.so: the symbols the shared library exports
# are exactly those of lib/libcapgate.map, every CAPGATE_API declaration in
# include/capgate/*.h is in the map (so a new public function cannot be
# forgotten, nor an internal one leak), each public header compiles on its
# own, and a program built from the public headers and linked against the
# .so alone runs and agrees with the command.
# Prints "ok NAME" / "FAIL NAME: why" / "skip NAME: reason".
set -u
export LC_ALL=C
cd "$(dirname "$0")/../.."
CAPGATE=${CAPGATE:-./build/capgate}
BUILD=$(dirname "$CAPGATE")
CC=${CC:-cc}
SO=$BUILD/libcapgate.so.0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok() { echo "ok $1"; }
fail() { printf "FAIL %s: %s\n" "$1" "$(printf %s "$2" | tr "\n" "|" | head -c 2000)"; } # one line: the CI shows a part
# same NAME A B: the two sorted lists are equal, or say what differs
same() {
	if cmp -s "$2" "$3"; then ok "$1"; else fail "$1" "$(diff "$2" "$3" | grep '^[<>]' | tr '\n' ' ')"; fi
}

if [ ! -f "$SO" ]; then
	fail api-so "$SO not built"
	exit 1
fi

# The map's global list (no wildcards allowed there).
sed -n '/global:/,/local:/p' lib/libcapgate.map | grep -v 'global:\|local:' |
	sed 's/[[:space:];]//g' | grep -v '^$' | sort >"$tmp/map"
if grep -q '[*?]' "$tmp/map"; then fail api-map-explicit "wildcard in the global list"; else ok api-map-explicit; fi
if sort -c "$tmp/map" 2>/dev/null && [ "$(sort -u "$tmp/map" | wc -l)" -eq "$(wc -l <"$tmp/map")" ]; then
	ok api-map-unique
else
	fail api-map-unique "a symbol is listed twice"
fi
if grep -q '^CAPGATE_0\.1 {' lib/libcapgate.map; then ok api-map-version; else fail api-map-version "no CAPGATE_0.1 node"; fi

# What the .so exports (defined dynamic symbols, without the version node).
nm -D --defined-only "$SO" | awk '$2 != "A" { print $3 }' | sed 's/@.*//' | sort -u >"$tmp/exported"
same api-exports-are-the-map "$tmp/map" "$tmp/exported"
# Every export carries the version node.
if nm -D --defined-only "$SO" | awk '$2 != "A" { print $3 }' | grep -v '@@CAPGATE_0\.1$' | grep -q .; then
	fail api-exports-versioned "$(nm -D --defined-only "$SO" | awk '$2 != "A" { print $3 }' | grep -v '@@CAPGATE_0\.1$' | head -5 | tr '\n' ' ')"
else
	ok api-exports-versioned
fi

# Every CAPGATE_API declaration of the public headers: the name before the
# first "(" of the line (declarations start on the CAPGATE_API line).
grep -h '^CAPGATE_API' include/capgate/*.h | sed -E 's/\(.*//; s/.*[^A-Za-z0-9_]//' | sort -u >"$tmp/declared"
same api-declared-are-the-map "$tmp/map" "$tmp/declared"
if grep -n 'CAPGATE_API' lib/*/*.c lib/*/*.h src/*.c src/cmd/*.c 2>/dev/null | grep -q .; then
	fail api-only-in-public-headers "$(grep -ln 'CAPGATE_API' lib/*/*.c lib/*/*.h src/*.c src/cmd/*.c | tr '\n' ' ')"
else
	ok api-only-in-public-headers
fi

# Each public header compiles on its own, with only include/ on the path.
bad=
for h in include/capgate/*.h; do
	printf '#include <capgate/%s>\n' "$(basename "$h")" >"$tmp/h.c"
	$CC -std=gnu11 -D_GNU_SOURCE -Iinclude -Wall -Wextra -Werror -Wstrict-prototypes -fsyntax-only "$tmp/h.c" \
		2>"$tmp/h.err" || bad="$bad $(basename "$h")"
done
if [ -z "$bad" ]; then ok api-headers-self-contained; else fail api-headers-self-contained "$bad: $(head -c 400 "$tmp/h.err")"; fi
# ... and none of them reaches into lib/.
if grep -n '#include "' include/capgate/*.h | grep -q .; then
	fail api-headers-public-only "$(grep -n '#include "' include/capgate/*.h | head -3)"
else
	ok api-headers-public-only
fi

# The .so is a real shared library with its soname, and the example uses
# only it: it needs libcapgate.so.0 and works.
if readelf -d "$SO" | grep -q 'SONAME.*\[libcapgate\.so\.0\]'; then ok api-soname; else fail api-soname "no soname"; fi
ex=$BUILD/examples/digest
if [ ! -x "$ex" ]; then
	fail api-example "$ex not built"
	exit 1
fi
if readelf -d "$ex" | grep -q 'NEEDED.*\[libcapgate\.so\.0\]' && ! nm "$ex" | grep -q ' T cg_'; then
	ok api-example-links-the-so
else
	fail api-example-links-the-so "not linked against libcapgate.so.0 (or the library is inside it)"
fi
want=$("$CAPGATE" info examples/demo.json | awk '$1 == "digest:" { print $2 }')
"$ex" examples/demo.json read reboot >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -eq 0 ] && [ -n "$want" ] && [ "$(head -1 "$tmp/out")" = "$want" ] &&
	grep -qx 'read: allow' "$tmp/out" && grep -qx 'reboot: errno(EPERM)' "$tmp/out"; then
	ok api-example-runs
else
	fail api-example-runs "rc $rc, want $want: $(cat "$tmp/out" "$tmp/err" | head -c 400)"
fi
"$ex" /nonexistent.json >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -eq 1 ] && grep -q 'nonexistent' "$tmp/err" && [ ! -s "$tmp/out" ]; then
	ok api-example-error
else
	fail api-example-error "rc $rc: $(head -c 300 "$tmp/err")"
fi
