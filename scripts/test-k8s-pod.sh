#!/usr/bin/env bash
# The Kubernetes StatefulSet's pod, run with `podman kube play` from deploy/k8s/ as they are:
# the pod template becomes the StatefulSet's first pod (reader-sim-0, its POD_NAME, its
# claim "data-reader-sim-0"), the ConfigMap is the real one with the broker's address, a
# small READERS_PER_POD and a test prefix. The broker is a Mosquitto started here, reached
# over the host's loopback (the pod gets hostNetwork: no broker image can be pulled here).
# Checks, as a kubelet and a management system would see the pod: the startup and readiness
# probes (the manifest's httpGet, run from outside the container), the liveness probe (the
# manifest's exec, which podman runs as the container's health check), every reader of the
# pod online (retained) on its status topic, a push over MQTT to each answered, and the
# pushed database version on the pod's host API, then again after the pod is replaced on its
# claim (the flash images kept on the volume). Cleans up the pod, its volume and the
# broker however it ends. Called by scripts/test-docker.sh; needs podman and mosquitto.
# Usage: scripts/test-k8s-pod.sh IMAGE
set -euo pipefail
tag=${1:?usage: scripts/test-k8s-pod.sh IMAGE}
cd "$(dirname "$0")/.."
began=$SECONDS
readers=3
prefix=k8s-pod-test
pod=reader-sim-0
container=$pod-readers # kube play names a pod's container POD-CONTAINER
mqtt_port=${MQTT_PORT:-18883}
api_port=8080 # the pod's host API port (containerPort), on the host's network here
work=$(mktemp -d)
broker_pid=

finish() {
  local code=$?
  podman kube down "$work/pod.yaml" >/dev/null 2>&1 || true
  podman pod rm -f "$pod" >/dev/null 2>&1 || true
  podman volume rm -f "data-$pod" >/dev/null 2>&1 || true
  if [ -n "$broker_pid" ]; then
    kill -KILL "$broker_pid" 2>/dev/null || true
    wait "$broker_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
  local verdict=PASS
  [ "$code" = 0 ] || verdict=FAIL
  echo "k8s pod: $verdict in $((SECONDS - began)) s"
  exit "$code"
}
trap finish EXIT
trap 'exit 130' INT TERM

mosquitto=$(command -v mosquitto || ls /usr/sbin/mosquitto 2>/dev/null || true)
if [ -z "$mosquitto" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing mosquitto (apt)"
  apt-get install -y -qq --no-install-recommends mosquitto >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq --no-install-recommends mosquitto >/dev/null; }
  mosquitto=/usr/sbin/mosquitto
fi
if [ ! -x "${mosquitto:-/nonexistent}" ]; then
  echo "FAIL mosquitto is not installed (sudo apt-get install mosquitto)"
  exit 1
fi
# A pod left by an interrupted run holds the port and the volume: start clean.
podman pod rm -f "$pod" >/dev/null 2>&1 || true
podman volume rm -f "data-$pod" >/dev/null 2>&1 || true
if curl -s -o /dev/null "http://127.0.0.1:$api_port/"; then
  echo "FAIL port $api_port is taken on this host: the pod's host API needs it"
  exit 1
fi

cat >"$work/mosquitto.conf" <<CONF
persistence false
user $(id -un)
listener $mqtt_port 127.0.0.1
allow_anonymous true
CONF
"$mosquitto" -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
broker_pid=$!

# deploy/k8s/*.yaml -> one Pod (the StatefulSet's template), its claim and the ConfigMap;
# the probes the script runs itself go to probes.json; replacement.yaml is the same pod on
# the claim that exists by then (podman, unlike Kubernetes, refuses a claim made twice).
node - "$tag" "$pod" "$readers" "$prefix" "mqtt://127.0.0.1:$mqtt_port" "$work" >"$work/pod.yaml" <<'JS'
const fs = require('node:fs');
const YAML = require('yaml');
const [tag, podName, readers, prefix, url, work] = process.argv.slice(2);
const docs = fs.readdirSync('deploy/k8s').filter((f) => f.endsWith('.yaml'))
  .flatMap((f) => YAML.parseAllDocuments(fs.readFileSync(`deploy/k8s/${f}`, 'utf8')).map((d) => d.toJS()));
const set = docs.find((d) => d.kind === 'StatefulSet');
const config = docs.find((d) => d.kind === 'ConfigMap');
Object.assign(config.data, { MQTT_URL: url, MQTT_PREFIX: prefix, READERS_PER_POD: readers });
const spec = structuredClone(set.spec.template.spec);
spec.hostNetwork = true;
const probes = {};
for (const c of spec.containers) {
  c.image = tag;
  const named = new Map((c.ports ?? []).map((p) => [p.name, p.containerPort]));
  // A kubelet sends httpGet probes from outside the container; podman runs them as curl
  // inside it, which the slim image lacks. This script sends them, as the kubelet would.
  for (const kind of ['startupProbe', 'readinessProbe']) {
    const get = c[kind]?.httpGet;
    if (!get) continue;
    probes[kind] = { path: get.path, port: named.get(get.port) ?? get.port, ...c[kind] };
    delete c[kind];
  }
  if (!c.livenessProbe?.exec) throw new Error('the liveness probe is no longer an exec probe');
  probes.livenessProbe = c.livenessProbe;
  // Podman (4.3) publishes each containerPort on the host, which host networking refuses:
  // on the host's network the ports are the host's already.
  delete c.ports;
  // What the downward API gives the StatefulSet's first pod.
  for (const e of c.env) if (e.name === 'POD_NAME') { delete e.valueFrom; e.value = podName; }
  // A kubelet expands $(VAR) in command and args from the container's env ($$ is a '$');
  // podman (4.3) passes them on as written, so they are expanded here the kubelet's way.
  const env = new Map(c.env.map((e) => [e.name,
    e.value ?? (e.valueFrom?.configMapKeyRef ? config.data[e.valueFrom.configMapKeyRef.key] : undefined)]));
  const expand = (s) => s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g,
    (all, name) => (name === undefined ? '$' : env.get(name) ?? all));
  for (const key of ['command', 'args']) if (c[key]) c[key] = c[key].map(expand);
}
spec.volumes = set.spec.volumeClaimTemplates.map((t) => ({
  name: t.metadata.name,
  persistentVolumeClaim: { claimName: `${t.metadata.name}-${podName}` },
}));
const claims = set.spec.volumeClaimTemplates.map((t) => ({
  apiVersion: 'v1', kind: 'PersistentVolumeClaim',
  metadata: { name: `${t.metadata.name}-${podName}` }, spec: t.spec,
}));
const pod = { apiVersion: 'v1', kind: 'Pod',
  metadata: { name: podName, labels: set.spec.template.metadata.labels }, spec };
fs.writeFileSync(`${work}/probes.json`, JSON.stringify(probes));
// JSON documents: YAML to any reader, and no bare `off` for a YAML 1.1 parser to make false.
const yaml = (docs) => docs.map((d) => JSON.stringify(d, null, 2)).join('\n---\n');
fs.writeFileSync(`${work}/replacement.yaml`, yaml([config, pod]));
process.stdout.write(yaml([config, ...claims, pod]));
JS
probe() { node -e 'const p = require(process.argv[1])[process.argv[2]]; console.log(p[process.argv[3]] ?? "")' \
  "$work/probes.json" "$1" "$2"; }

passed=0 failed=0
check() { if "${@:2}"; then echo "ok   $1"; passed=$((passed + 1)); else echo "FAIL $1"; failed=$((failed + 1)); fi; }
play() { podman kube play "${1:-$work/pod.yaml}" >"$work/play.log" 2>&1 || { cat "$work/play.log"; return 1; }; }
check "podman kube play runs the StatefulSet's pod $pod (ConfigMap, claim data-$pod)" play
[ "$failed" = 0 ] || exit 1

# The startup probe: its path and port, its period times its failure threshold to pass.
startup_url="http://127.0.0.1:$(probe startupProbe port)$(probe startupProbe path)"
startup_budget=$(($(probe startupProbe periodSeconds) * $(probe startupProbe failureThreshold)))
startup_passes() {
  local waited=0
  until curl -sf -o /dev/null --max-time 3 "$startup_url"; do
    # A container that exited (and was restarted) will not pass either: say why now.
    if [ "$waited" -ge "$startup_budget" ] || [ "$(podman inspect -f '{{.State.Running}} {{.RestartCount}}' "$container")" != "true 0" ]; then
      podman logs "$container" 2>&1 | tail -20
      return 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
}
check "startup probe: GET $(probe startupProbe path) on port $(probe startupProbe port) within its ${startup_budget} s" startup_passes
[ "$failed" = 0 ] || exit 1
readiness_passes() {
  curl -sf -o /dev/null --max-time "$(probe readinessProbe timeoutSeconds)" \
    "http://127.0.0.1:$(probe readinessProbe port)$(probe readinessProbe path)"
}
check "readiness probe: GET $(probe readinessProbe path) on port $(probe readinessProbe port) answers 200" readiness_passes
# Podman turns the liveness probe into the container's health check: the manifest's command
# (with its port argument, which the image's own HEALTHCHECK lacks) must be the one that runs.
liveness_passes() {
  local wanted have
  wanted=$(node -e 'console.log(require(process.argv[1]).livenessProbe.exec.command.join(" "))' "$work/probes.json")
  have=$(podman inspect -f '{{join .Config.Healthcheck.Test " "}}' "$container")
  grep -qF -- "$wanted" <<<"$have" || { echo "     health check is '$have', the manifest says '$wanted'"; return 1; }
  podman healthcheck run "$container" >/dev/null
}
check "liveness probe: '$(node -e 'console.log(require(process.argv[1]).livenessProbe.exec.command.join(" "))' "$work/probes.json")' runs as the container's health check and passes" liveness_passes

# The management system's side, with the repository's mqtt client: waits for every reader's
# retained status, pushes a database to each reader and waits for every answer.
management() {
  node - "mqtt://127.0.0.1:$mqtt_port" "$prefix" "$pod" "$readers" >"$work/management.json" <<'JS'
const { connect } = require('mqtt');
const [url, prefix, pod, n] = process.argv.slice(2);
const width = Math.max(3, String(n).length);
const ids = Array.from({ length: Number(n) }, (_, i) => `${pod}-${String(i + 1).padStart(width, '0')}`);
const client = connect(url, { reconnectPeriod: 500 });
const online = new Set();
const answered = new Map();
let pushed = false;
const fail = (why) => { console.error(`     ${why}`); process.exit(1); };
setTimeout(() => fail(`within 240 s: online ${[...online]}, answered ${[...answered.keys()]}`), 240_000);
client.on('connect', () =>
  client.subscribe([`${prefix}/+/status`, `${prefix}/+/replies`, `${prefix}/+/errors`], { qos: 1 }));
client.on('message', (topic, payload) => {
  const body = JSON.parse(payload.toString('utf8'));
  const [, id, kind] = topic.split('/');
  if (!ids.includes(id)) fail(`a reader this pod does not run: ${topic}`);
  if (kind === 'status' && body.online === true) online.add(id);
  if (kind === 'errors') fail(`${id} answered on errors: ${payload}`);
  if (kind === 'replies' && body.requestId === `k8s-push-${id}`) {
    if (body.status !== 200) fail(`push to ${id} answered ${payload}`);
    answered.set(id, body.result.version);
    if (answered.size === ids.length) {
      console.error(`     ${ids.join(', ')} online; the push to each answered 200`);
      console.log(JSON.stringify(Object.fromEntries(answered)));
      client.end(true, () => process.exit(0));
    }
  }
  if (!pushed && ids.every((i) => online.has(i))) {
    pushed = true;
    const database = { users: [{ id: 'u1', name: 'K8s', enabled: true }],
      credentials: [{ id: 'c1', userId: 'u1', kind: 'badge', value: '4242', enabled: true, accessPoints: ['*'] }],
      schedules: [], holidays: [], accessPoints: [] };
    for (const i of ids) {
      client.publish(`${prefix}/${i}/commands/push/k8s-push-${i}`, JSON.stringify(database), { qos: 1 });
    }
  }
});
JS
}
check "the pod's $readers readers ($pod-001..) connect out, say online and answer a push each over MQTT" management
# The pod's host API (token from the pod's volume) lists each reader at the version it answered.
api_shows_push() {
  local token
  token=$(podman exec "$container" cat /data/api-token)
  curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$api_port/api/v1/readers" >"$work/readers.json"
  node -e '
    const answered = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const { readers } = JSON.parse(require("fs").readFileSync(process.argv[2], "utf8"));
    const have = Object.fromEntries(readers.map((r) => [r.id, r.databaseVersion]));
    console.error(`     GET /api/v1/readers: ${JSON.stringify(have)}`);
    process.exit(JSON.stringify(have) === JSON.stringify(answered) ? 0 : 1);
  ' "$work/management.json" "$work/readers.json"
}
check "the pod's host API lists exactly those readers at the pushed database version" api_shows_push
# A StatefulSet's pod that is replaced keeps its claim: the readers' flash images, with the
# pushed databases, are there when the pod comes back.
replaced() {
  podman kube down "$work/pod.yaml" >/dev/null 2>&1
  podman volume exists "data-$pod" || { echo "     kube down removed the claim's volume"; return 1; }
  play "$work/replacement.yaml" && startup_passes && api_shows_push
}
check "the pod replaced on its claim (kube down, kube play) boots its readers with the pushed databases" replaced
echo "k8s pod: ${passed} passed, ${failed} failed"
[ "$failed" = 0 ]
