#!/usr/bin/env bash
# Debian packages: scripts/install-system-deps.sh nginx libnginx-mod-http-js [chromium]
# (the stack needs nginx and its njs module, for per-key rate limits; the tests also drive chromium).
set -euo pipefail
[ $# -gt 0 ] || set -- nginx libnginx-mod-http-js chromium podman runc mmdebstrap uidmap prometheus postgresql
packages=("$@")
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
# The packaged nginx and Prometheus services are not ours: the tests start their own on loopback.
for service in nginx prometheus prometheus-node-exporter postgresql; do
    $SUDO systemctl disable --now "$service" >/dev/null 2>&1 || $SUDO service "$service" stop >/dev/null 2>&1 || true
done
