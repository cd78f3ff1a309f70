#!/usr/bin/env bash
# A Python 3.11 base image made from Debian bookworm's packages, for machines that reach no
# container registry (the image tests): scripts/base-image.sh [TAG]. Kept once made.
set -euo pipefail
TAG=${1:-localhost/python-base:bookworm}
if podman image exists "$TAG"; then echo "$TAG"; exit 0; fi
tar=$(mktemp --suffix=.tar)
trap 'rm -f "$tar"' EXIT
mmdebstrap --quiet --variant=minbase --include=python3.11,python3.11-venv,ca-certificates bookworm "$tar"
podman import --quiet --change 'CMD ["python3.11"]' "$tar" "$TAG" >/dev/null
echo "$TAG"
