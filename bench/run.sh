#!/usr/bin/env bash
# Build and run the seccomp syscall-overhead benchmark (see README.md).
# Arguments are passed to the benchmark (--rounds, --target-ms, --cpu, ...).
# CAPGATE_SHARED: the shared/ directory holding corpus/profiles/docker-default.json
# (default: shared/ beside the repository). CC: the compiler (default gcc).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)

make -s -C "$repo" build/libcapgate.a
mkdir -p "$here/build"
"${CC:-gcc}" -std=gnu11 -D_GNU_SOURCE -O2 -g \
	-Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-unused-parameter \
	-Wmissing-prototypes -Wstrict-prototypes -Wvla -Wno-format-truncation \
	-I"$repo/include" \
	-o "$here/build/syscall_overhead" "$here/syscall_overhead.c" \
	"$repo/build/libcapgate.a" -lseccomp -lfyaml -lcrypto

export CAPGATE_SHARED="${CAPGATE_SHARED:-$(cd "$repo/.." && pwd)/shared}"
exec "$here/build/syscall_overhead" "$@"
