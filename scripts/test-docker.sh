#!/usr/bin/env bash
# npm run test:docker: builds the image with podman, runs the reader in a container and
# drives it from outside: the HEALTHCHECK, the host API with the token from the volume, a
# phone on the host, and compose.yaml's reader + phone (on the host's architecture).
# Usage: scripts/test-docker.sh [amd64|arm64]
set -euo pipefail
arch=${1:-amd64}
cd "$(dirname "$0")/.."
# podman (with runc) from Debian when missing: only this script needs it, never npm test.
if ! command -v podman >/dev/null || ! command -v runc >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing podman and runc (apt)"
    apt-get install -y -qq podman runc >/dev/null 2>&1 ||
      { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq podman runc >/dev/null; }
  else
    echo "podman is missing: sudo apt-get install podman runc" >&2
    exit 1
  fi
fi
base=../shared/tools/podman-node-base.sh
[ -f "$base" ] && bash "$base" "$arch"
# That machine's podman settings (runc, open-file limits), where it wrote them.
[ -f /etc/containers/reader-sim.conf ] && export CONTAINERS_CONF=/etc/containers/reader-sim.conf
tag=reader-sim:test-$arch
name=reader-sim-test-$arch
api_port=${API_PORT:-18080}
air_port=${AIR_PORT:-18090}
bash scripts/docker-build.sh "$arch" "$tag"

passed=0 failed=0
check() { # check NAME COMMAND...: one line per check, counted
  if "${@:2}"; then echo "ok   $1"; passed=$((passed + 1)); else echo "FAIL $1"; failed=$((failed + 1)); fi
}
cleanup() { podman rm -f "$name" >/dev/null 2>&1 || true; podman volume rm -f "$name" >/dev/null 2>&1 || true; }
trap cleanup EXIT
cleanup
podman run -d --arch "$arch" --name "$name" -p "127.0.0.1:$api_port:8080" -p "127.0.0.1:$air_port:8090" -v "$name:/data" "$tag" >/dev/null

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
json_logs() {
  local first
  first=$(podman logs "$name" 2>/dev/null | sed -n 1p || true)
  node -e 'JSON.parse(process.argv[1])' "$first"
}
check "logs are JSON lines" json_logs

# The shipped CLI inside the image, which has the production dependencies only: each command
# runs; the bench, a development tool, says so in one line instead of a stack trace.
in_image() { podman exec -w /app "$name" node bin/reader-sim.js "$@"; }
cli_help() { in_image --help | grep -q '^  flash '; }
check "reader-sim --help in the image lists the commands" cli_help
cli_host() { in_image host status --data /data --json | grep -q '"readerId"'; }
check "reader-sim host status in the image (token from /data)" cli_host
cli_phone() {
  in_image phone keygen --key /tmp/phone-key.json >/dev/null &&
    in_image phone scan --key /tmp/phone-key.json --air tcp:127.0.0.1:8090 | grep -q '^reader-1 '
}
check "reader-sim phone keygen and scan in the image" cli_phone
cli_flash() { in_image flash inspect --data /data | grep -q '^problems   none'; }
check "reader-sim flash inspect in the image reads the live image" cli_flash
cli_bench() {
  local out code=0
  out=$(in_image bench 2>&1) || code=$?
  [ "$code" = 1 ] && grep -q '^reader-sim bench: a development tool' <<<"$out"
}
check "reader-sim bench in the image: a development tool, exit 1" cli_bench

# The native modules were built (or their prebuilds picked) for this arch and load: each
# makes a call that reaches the kernel. In a container without Bluetooth the HCI sockets get
# EAFNOSUPPORT from socket(2), and a serial open of /dev/null fails in the binding's ioctl.
native_probe='
const tries = {
  "@stoprocent/bluetooth-hci-socket": () => new (require("@stoprocent/bluetooth-hci-socket"))().bindRaw(0),
  "@abandonware/bluetooth-hci-socket": () => new (require("@abandonware/bluetooth-hci-socket"))().bindRaw(0),
  "@serialport/bindings-cpp": () =>
    require("@serialport/bindings-cpp").autoDetect().open({ path: "/dev/null", baudRate: 9600 }),
  "cbor-extract": () => {
    if (typeof require("cbor-extract").extractStrings !== "function") throw new Error("not native");
  },
};
(async () => {
  for (const [name, run] of Object.entries(tries)) {
    let outcome = "loaded";
    try { await run(); } catch (e) {
      const missing = e.code === "MODULE_NOT_FOUND" || /not native|ELF|cannot open shared/i.test(e.message);
      outcome = missing ? `FAIL ${e.message.split("\n")[0]}` : `loaded (the native call answered: ${e.code || e.message})`;
    }
    console.log(`${process.arch} ${name}: ${outcome}`);
  }
})();'
native_modules_load() {
  local out
  out=$(podman exec -i -w /app "$name" node - <<<"$native_probe" 2>&1)
  sed 's/^/     /' <<<"$out"
  local node_arch=$arch
  [ "$arch" = amd64 ] && node_arch=x64
  [ "$(grep -c "^$node_arch " <<<"$out")" = 4 ] && ! grep -q FAIL <<<"$out"
}
check "native modules (HCI sockets, serialport, cbor-extract) load on $arch" native_modules_load

# A phone on the host joins the container's virtual air and is answered by the reader.
phone_dir=$(mktemp -d)
phone() { node bin/reader-sim.js phone "$@" --air "tcp:127.0.0.1:$air_port" --key "$phone_dir/key.json"; }
phone keygen --device-id docker-phone >/dev/null
scan_sees_reader() { phone scan | grep -q '^reader-1 '; }
check "a phone on the host sees the reader on the container's air" scan_sees_reader
unlock_answered() { # exit 1 is the phone's "denied": read its answer instead
  local answer
  answer=$(phone unlock --json || true)
  grep -q '"reason":"unknown_credential"' <<<"$answer"
}
check "the reader answers the phone's presentation (unknown_credential before a push)" unlock_answered
rm -rf "$phone_dir"

# compose.yaml on this image: a reader and a phone container (details: scripts/test-compose.sh).
if [ "$arch" = "$(podman info --format '{{.Host.Arch}}')" ]; then
  check "compose.yaml: the phone container gets granted, the API shows it (scripts/test-compose.sh)" \
    bash scripts/test-compose.sh "$tag"
else
  echo "skip compose.yaml: a $arch image on this $(podman info --format '{{.Host.Arch}}') host"
fi

# deploy/k8s/: the StatefulSet's pod with `podman kube play`, its readers connecting out to a
# Mosquitto and answering a push over MQTT (details: scripts/test-k8s-pod.sh).
if [ "$arch" = "$(podman info --format '{{.Host.Arch}}')" ]; then
  check "deploy/k8s: the pod's readers connect out over MQTT and answer a push (scripts/test-k8s-pod.sh)" \
    bash scripts/test-k8s-pod.sh "$tag"
else
  echo "skip deploy/k8s pod: a $arch image on this $(podman info --format '{{.Host.Arch}}') host"
fi

echo "docker ($arch): ${passed} passed, ${failed} failed"
[ "$failed" = 0 ]
