#!/usr/bin/env bash
# Builds the image with podman (or docker) on a machine whose only reachable registries are
# npm's and Debian's: node-gyp gets this machine's Node headers instead of downloading them,
# npm gets this machine's CA bundle. Usage: scripts/docker-build.sh [amd64|arm64] [TAG]
set -euo pipefail
arch=${1:-amd64}
tag=${2:-reader-sim:$arch}
cd "$(dirname "$0")/.."
engine=$(command -v podman || command -v docker)
if [ -z "${CONTAINERS_CONF:-}" ] && [ -f /etc/containers/reader-sim.conf ]; then
  export CONTAINERS_CONF=/etc/containers/reader-sim.conf
fi
args=(build --arch "$arch" -t "$tag")
# podman writes OCI images by default, which drop HEALTHCHECK; the docker format keeps it.
[ "$(basename "$engine")" = podman ] && args+=(--format docker)
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  args+=(-v /etc/ssl/certs/ca-certificates.crt:/host-ca.crt:ro --build-arg npm_config_cafile=/host-ca.crt)
fi
if [ -f /usr/include/node/node_version.h ]; then
  args+=(-v /usr/include/node:/host-node/include/node:ro --build-arg npm_config_nodedir=/host-node)
fi
exec "$engine" "${args[@]}" .
