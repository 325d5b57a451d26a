#!/usr/bin/env bash
# Build deploy/Dockerfile for real, with no registry: the Debian base image
# the Dockerfile names (debian:12) is made here from the Debian mirror with
# `debootstrap --variant=minbase bookworm` and imported into local container
# storage under that name, then `buildah bud --pull=never` builds the image.
# The base image is kept in local storage and reused by later runs (remove
# it with `buildah rmi debian:12`). Run as root:
#   scripts/build-image.sh [TAG]        (default capgate:0.1.0)
# Exit status: 0 built; 1 the build failed; 77 the mirror cannot be reached
# and no base image is stored (a test reports that as a skip).
set -euo pipefail
cd "$(dirname "$0")/.."
TAG=${1:-capgate:0.1.0}
MIRROR=${CAPGATE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
for tool in buildah debootstrap; do
	command -v $tool >/dev/null || { echo "build-image: $tool is not installed (scripts/dev.sh)" >&2; exit 1; }
done
base_exists() { buildah inspect --type image docker.io/library/debian:12 >/dev/null 2>&1; }
if ! base_exists; then
	if ! curl -fsS --max-time 20 -o /dev/null "$MIRROR/dists/bookworm/Release" 2>/dev/null; then
		echo "build-image: the Debian mirror $MIRROR cannot be reached and no debian:12 image is stored" >&2
		exit 77
	fi
	t=$(mktemp -d)
	trap 'rm -rf "$t"' EXIT
	echo "build-image: debootstrap --variant=minbase bookworm from $MIRROR" >&2
	if ! debootstrap --variant=minbase bookworm "$t/rootfs" "$MIRROR" >"$t/debootstrap.log" 2>&1; then
		tail -5 "$t/debootstrap.log" >&2
		if grep -qi 'failed to download\|couldn.t download\|unable to fetch\|temporary failure' "$t/debootstrap.log"; then
			exit 77
		fi
		exit 1
	fi
	# what the official image sets up for apt in containers: no recommends, no docs
	rm -rf "$t/rootfs/var/lib/apt/lists/"* "$t/rootfs/var/cache/apt/archives/"*.deb
	printf 'deb %s bookworm main\ndeb %s bookworm-updates main\n' "$MIRROR" "$MIRROR" >"$t/rootfs/etc/apt/sources.list"
	tar -C "$t/rootfs" --numeric-owner -cf "$t/rootfs.tar" .
	c=$(buildah from scratch)
	buildah add "$c" "$t/rootfs.tar" / >/dev/null
	buildah config --cmd /bin/bash --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$c"
	# the name the Dockerfile's FROM resolves to, and the local one
	buildah commit -q "$c" docker.io/library/debian:12 >/dev/null
	buildah tag docker.io/library/debian:12 localhost/debian:12
	buildah rm "$c" >/dev/null
fi
# chroot isolation: the RUN steps need no OCI runtime and no cgroup set-up
# (crun refuses a hybrid cgroup hierarchy), and they use the host's network
# for apt-get; the skeleton generation reads the host's
# /sys/kernel/btf/vmlinux as any build does
exec buildah bud --pull=never --isolation=chroot -f deploy/Dockerfile \
	--ignorefile deploy/Dockerfile.dockerignore -t "$TAG" .
