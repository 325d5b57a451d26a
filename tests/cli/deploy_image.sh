#!/usr/bin/env bash
# deploy/Dockerfile built for real and run (its own file: the build takes
# minutes, and tests/run.sh gives each file its own time limit).
# Prints "ok NAME" / "FAIL NAME: why" / "skip NAME: reason".
set -u
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ok() { echo "ok $1"; }
fail() { printf "FAIL %s: %s\n" "$1" "$(printf %s "$2" | tr "\n" "|" | head -c 2000)"; } # one line: the CI shows a part
skip() { echo "skip $1: $2"; }
# ---- the Dockerfile, built for real ------------------------------------------
# No registry: scripts/build-image.sh makes the debian:12 base from the Debian
# mirror (debootstrap --variant=minbase, kept in local storage for later
# runs) and builds deploy/Dockerfile with buildah --pull=never. The image
# must hold a capgate that runs, and a capgate webhook whose own binary and
# shared libraries are there, as uid 65532.
if [ "$(id -u)" != 0 ] || ! command -v buildah >/dev/null || ! command -v debootstrap >/dev/null; then
	skip deploy-dockerfile-builds "needs root, buildah and debootstrap"
else
	img=localhost/capgate-deploy-test:$$
	bash scripts/build-image.sh "$img" >"$tmp/image.log" 2>&1
	rc=$?
	if [ $rc -eq 77 ]; then
		skip deploy-dockerfile-builds "$(grep 'build-image:' "$tmp/image.log" | tail -1)"
	elif [ $rc -ne 0 ]; then
		fail deploy-dockerfile-builds "exit $rc: $(tail -15 "$tmp/image.log")"
	else
		ok deploy-dockerfile-builds
		user=$(buildah inspect --type image -f '{{.OCIv1.Config.User}}' "$img" 2>/dev/null)
		ep=$(buildah inspect --type image -f '{{.OCIv1.Config.Entrypoint}}' "$img" 2>/dev/null)
		# run it as the build did (chroot isolation: no OCI runtime, no cgroup set-up)
		ctr=$(buildah from --pull=never "$img" 2>/dev/null)
		buildah run --isolation=chroot "$ctr" -- /usr/bin/capgate --version >"$tmp/iv.out" 2>&1
		rc1=$?
		buildah run --isolation=chroot "$ctr" -- /usr/bin/capgate webhook --help >"$tmp/iw.out" 2>&1
		rc2=$?
		buildah run --isolation=chroot "$ctr" -- /usr/bin/id -u >"$tmp/iu.out" 2>&1
		buildah rm "$ctr" >/dev/null 2>&1
		if [ "$user" = 65532:65532 ] && [ "$ep" = "[/usr/bin/capgate]" ] && [ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] &&
			grep -q -- '--eval-timeout' "$tmp/iw.out" && [ "$(cat "$tmp/iu.out")" = 65532 ]; then
			ok deploy-image-runs
		else
			fail deploy-image-runs "user '$user', entrypoint '$ep', --version exit $rc1, webhook --help exit $rc2: $(head -c 300 "$tmp/iv.out" "$tmp/iw.out")"
		fi
		buildah rmi "$img" >/dev/null 2>&1
	fi
fi
