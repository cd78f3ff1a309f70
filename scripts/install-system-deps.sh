#!/usr/bin/env bash
# Debian packages the integration tests drive for real (nginx; chromium for the docs page).
set -euo pipefail
packages=(nginx chromium)
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
# The packaged nginx service is not ours: the tests start their own on loopback.
$SUDO systemctl disable --now nginx >/dev/null 2>&1 || $SUDO service nginx stop >/dev/null 2>&1 || true
