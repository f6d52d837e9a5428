#!/usr/bin/env bash
# compose.yaml end to end with podman-compose, on an image that is already built (no build
# here): the reader seeds its demo user, the phone container presents the demo key from the
# reader's volume over the air at tcp:reader:8090 and logs `granted`, and the reader's API
# (token from the volume) shows the phone's grant. Then `down -v` removes it all.
# Usage: scripts/test-compose.sh [IMAGE]   (default $READER_SIM_IMAGE, else reader-sim:test-amd64)
# Host ports: COMPOSE_API_PORT (18180) and COMPOSE_AIR_PORT (18190), beside a running reader.
# scripts/test-docker.sh calls it with the image it built. Installs podman-compose (Debian)
# when it is missing and this runs as root.
#
# podman-compose 1.0.3 (Debian bookworm) differs from Docker Compose v2 in ways this allows for:
# depends_on's `condition: service_healthy` is read as a plain start order (the phone's loop
# retries until the reader answers); without systemd nothing runs healthchecks on a timer, so
# the reader's health is polled with `podman healthcheck run`; containers are found by the
# compose labels, not by names (1.0.3 names them PROJECT_SERVICE_1, v2 PROJECT-SERVICE-1).
set -euo pipefail
cd "$(dirname "$0")/.."
image=${1:-${READER_SIM_IMAGE:-localhost/reader-sim:test-amd64}}
[ -n "${CONTAINERS_CONF:-}" ] || [ ! -f /etc/containers/reader-sim.conf ] ||
  export CONTAINERS_CONF=/etc/containers/reader-sim.conf
project=${COMPOSE_TEST_PROJECT:-reader-sim-compose-test}
api_port=${COMPOSE_API_PORT:-18180}
export READER_SIM_IMAGE=$image READER_SIM_API_PORT=$api_port READER_SIM_AIR_PORT=${COMPOSE_AIR_PORT:-18190}

if ! command -v podman-compose >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing podman-compose (apt)"
    apt-get install -y -qq podman-compose >/dev/null 2>&1 ||
      { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq podman-compose >/dev/null; }
  else
    echo "podman-compose is missing: sudo apt-get install podman-compose" >&2
    exit 1
  fi
fi
if ! podman image exists "$image"; then
  echo "no image $image: build it first (scripts/docker-build.sh amd64 $image)" >&2
  exit 1
fi

compose() { podman-compose -p "$project" -f compose.yaml "$@"; }
container() { # container SERVICE: its container's name, from the labels compose puts on it
  podman ps -a --filter "label=io.podman.compose.project=$project" \
    --filter "label=com.docker.compose.service=$1" --format '{{.Names}}' | head -n 1
}
passed=0 failed=0
check() { # check NAME COMMAND...: one line per check, counted
  if "${@:2}"; then echo "ok   $1"; passed=$((passed + 1)); else echo "FAIL $1"; failed=$((failed + 1)); fi
}
down() { compose down -v -t 5 >/dev/null 2>&1 || true; }
trap down EXIT
down

up_log=$(mktemp)
if ! compose up -d --no-build >"$up_log" 2>&1; then
  cat "$up_log"
  rm -f "$up_log"
  echo "compose: 0 passed, 1 failed (podman-compose up)"
  exit 1
fi
rm -f "$up_log"
reader=$(container reader)
phone=$(container phone)

healthy() {
  for _ in $(seq 1 90); do
    podman healthcheck run "$reader" >/dev/null 2>&1 && return 0
    sleep 1
  done
  podman logs "$reader" 2>&1 | tail -20
  return 1
}
check "reader becomes healthy (compose healthcheck on /api/v1/health)" healthy

phone_granted() { # the demo: the phone container's log shows a granted presentation
  for _ in $(seq 1 60); do
    podman logs "$phone" 2>/dev/null | grep -qx 'granted' && return 0
    sleep 1
  done
  podman logs "$phone" 2>&1 | tail -20
  return 1
}
check "the phone (tcp:reader:8090, demo key from the volume) logs granted" phone_granted

token=$(podman exec "$reader" cat /data/api-token 2>/dev/null || true)
grant_in_api() { # the reader logged the demo phone's grant; the API with the volume's token shows it
  curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$api_port/api/v1/events?after=0&limit=1000" |
    node -e '
      let s = "";
      process.stdin.on("data", (d) => (s += d)).on("end", () => {
        const { events } = JSON.parse(s);
        const ok = events.some((e) => e.type === "access" && e.decision === "grant" &&
          e.reason === "granted" && e.credentialId === "demo-phone" && e.kind === "mobile");
        process.exit(ok ? 0 : 1);
      });'
}
check "the reader's API (token from the volume) has the phone's grant event" grant_in_api
read_only() { ! podman exec "$phone" sh -c 'touch /data/phone-was-here' 2>/dev/null; }
check "the phone mounts the reader's volume read-only" read_only
as_node() { [ "$(podman exec "$phone" id -un)" = node ] && [ "$(podman exec "$reader" id -un)" = node ]; }
check "both containers run as the non-root node user" as_node

gone() {
  compose down -v -t 5 >/dev/null 2>&1 || return 1
  [ -z "$(container reader)$(container phone)" ] &&
    ! podman volume exists "${project}_reader-data"
}
check "down -v removes the containers and the volume" gone

echo "compose: ${passed} passed, ${failed} failed"
[ "$failed" = 0 ]
