#!/usr/bin/env bash
# The project's one entry point on a fresh Debian 12 machine (as root):
#   scripts/dev.sh demo   install what is missing, build, run the built-in example
#   scripts/dev.sh test   install what is missing, build, run the whole test suite
# .ci/run calls `scripts/dev.sh test`.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages capgate needs to build and test (see README: why each is there).
PKGS=(
	build-essential pkg-config clang libclang-rt-14-dev
	libseccomp-dev libfyaml-dev libssl-dev liburing-dev
	python3 python3-jsonschema python3-yaml strace iproute2 openssl clang-format
	libbpf-dev bpftool libelf-dev zlib1g-dev gcc-multilib libzstd-dev zstd
	nginx redis-server redis-tools sqlite3 curl bc runsc bubblewrap
	umoci jq busybox-static crun runc
	libh2o-evloop-dev wrk
	podman docker.io containerd skopeo docker-compose
	buildah debootstrap
)

install_deps() {
	local missing=()
	for p in "${PKGS[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "capgate: missing Debian packages: ${missing[*]} (run as root, or install them)" >&2
		exit 2
	fi
	echo "capgate: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

jobs=$(nproc 2>/dev/null || echo 2)

case "${1:-}" in
demo)
	install_deps
	make -j"$jobs" all >/dev/null
	echo "== capgate lint examples/demo.json"
	./build/capgate lint examples/demo.json || true
	echo
	echo "== capgate run --explain --profile examples/demo.json -- build/tests/helpers/demo"
	./build/capgate run --explain --profile examples/demo.json -- build/tests/helpers/demo
	;;
test)
	install_deps
	make -j"$jobs" check
	;;
*)
	echo "usage: scripts/dev.sh demo|test" >&2
	exit 2
	;;
esac
