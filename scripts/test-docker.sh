#!/usr/bin/env bash
# npm run test:docker: builds the image with podman, runs the reader in a container and
# drives it from outside: the HEALTHCHECK, the host API with the token from the volume.
# Usage: scripts/test-docker.sh [amd64|arm64]
set -euo pipefail
arch=${1:-amd64}
cd "$(dirname "$0")/.."
base=../shared/tools/podman-node-base.sh
export CONTAINERS_CONF=/etc/containers/reader-sim.conf
[ -f "$base" ] && bash "$base" "$arch"
tag=reader-sim:test-$arch
name=reader-sim-test-$arch
api_port=${API_PORT:-18080}
bash scripts/docker-build.sh "$arch" "$tag"

passed=0 failed=0
check() { # check NAME COMMAND...: one line per check, counted
  if "${@:2}"; then echo "ok   $1"; passed=$((passed + 1)); else echo "FAIL $1"; failed=$((failed + 1)); fi
}
cleanup() { podman rm -f "$name" >/dev/null 2>&1 || true; podman volume rm -f "$name" >/dev/null 2>&1 || true; }
trap cleanup EXIT
cleanup
podman run -d --arch "$arch" --name "$name" -p "127.0.0.1:$api_port:8080" -v "$name:/data" "$tag" >/dev/null

healthy() {
  for _ in $(seq 1 90); do
    podman healthcheck run "$name" >/dev/null 2>&1 && return 0
    sleep 1
  done
  podman logs "$name" | tail -20
  return 1
}
check "container becomes healthy (HEALTHCHECK on /api/v1/health)" healthy
token=$(podman exec "$name" cat /data/api-token)
status() { curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$api_port/api/v1/status"; }
check "status endpoint answers from the host with the volume's token" bash -c "$(declare -f status); token=$token api_port=$api_port; status >/dev/null"
check "status names the reader" bash -c "$(declare -f status); token=$token api_port=$api_port; status | grep -q '\"readerId\"'"
unauth() { [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$api_port/api/v1/status")" = 401 ]; }
check "status without the token is refused (401)" unauth
runs_as_node() { [ "$(podman exec "$name" id -un)" = node ]; }
check "the reader runs as a non-root user" runs_as_node
json_logs() { podman logs "$name" 2>&1 | head -1 | node -e 'JSON.parse(require("fs").readFileSync(0, "utf8"))'; }
check "logs are JSON lines" json_logs

echo "docker ($arch): ${passed} passed, ${failed} failed"
[ "$failed" = 0 ]
