#!/usr/bin/env bash
# Build the mlservice image with podman, or docker when podman is missing:
#   scripts/build-image.sh [TAG]          (make image; TAG defaults to localhost/mlservice:<version>)
# BASE=<image> builds on another base than python:3.11-slim-bookworm (the tests pass one that
# scripts/base-image.sh makes from Debian's packages). Wheels are collected on the host first, with
# the host's own pip settings (index, certificates), and the build installs only those.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=$(sed -n 's/^version = //p' setup.cfg)
TAG=${1:-localhost/mlservice:$VERSION}
PIP=${PIP:-python3.11 -m pip}
REVISION=$(git rev-parse HEAD 2>/dev/null || echo unknown)

$PIP wheel --quiet -c constraints.txt -w wheelhouse .
$PIP download --quiet -d wheelhouse "setuptools>=68" wheel
rm -f wheelhouse/mlservice-*.whl

args=(build -f Containerfile -t "$TAG" --build-arg PIP_NO_INDEX=1
      --build-arg VERSION="$VERSION" --build-arg REVISION="$REVISION")
[ -n "${BASE:-}" ] && args+=(--build-arg BASE="$BASE")
if command -v podman >/dev/null 2>&1; then
    # runc and chroot isolation: what works on VMs whose cgroups are in hybrid mode (crun refuses them).
    runtime=(); [ -x /usr/sbin/runc ] && runtime=(--runtime /usr/sbin/runc)
    podman "${runtime[@]}" "${args[@]}" --isolation chroot --network host \
        --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 .
elif command -v docker >/dev/null 2>&1; then
    docker "${args[@]}" .
else
    echo "neither podman nor docker is installed" >&2
    exit 1
fi
echo "$TAG"
