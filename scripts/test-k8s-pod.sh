#!/usr/bin/env bash
# The Kubernetes StatefulSet's pod, run with `podman kube play` from deploy/k8s/ as they are:
# the pod template becomes the StatefulSet's first pod (reader-sim-0, its POD_NAME, its
# claim "data-reader-sim-0"), the ConfigMap is the real one with the broker's address, a
# small READERS_PER_POD and a test prefix. The broker is a Mosquitto started here, reached
# over the host's loopback (the pod gets hostNetwork: no broker image can be pulled here).
# Checks: each of the pod's readers says online (retained) on its status topic, and a push
# over MQTT to one of them is answered. Called by scripts/test-docker.sh.
# Usage: scripts/test-k8s-pod.sh IMAGE
set -euo pipefail
tag=${1:?usage: scripts/test-k8s-pod.sh IMAGE}
cd "$(dirname "$0")/.."
mosquitto=$(command -v mosquitto || ls /usr/sbin/mosquitto 2>/dev/null || true)
if [ -z "$mosquitto" ]; then
  echo "skip: mosquitto is not installed (apt-get install mosquitto)"
  exit 0
fi
readers=3
prefix=k8s-pod-test
pod=reader-sim-0
work=$(mktemp -d)
mqtt_port=${MQTT_PORT:-18883}
api_port=8080 # the pod's host API port (containerPort), on the host's network here
broker_pid=
cleanup() {
  podman kube down "$work/pod.yaml" >/dev/null 2>&1 || true
  podman volume rm -f "data-$pod" >/dev/null 2>&1 || true
  [ -n "$broker_pid" ] && kill -KILL "$broker_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
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
"$mosquitto" -c "$work/mosquitto.conf" &
broker_pid=$!

# deploy/k8s/*.yaml -> one Pod (the StatefulSet's template), its claim and the ConfigMap.
node - "$tag" "$pod" "$readers" "$prefix" "mqtt://127.0.0.1:$mqtt_port" >"$work/pod.yaml" <<'JS'
const fs = require('node:fs');
const YAML = require('yaml');
const [tag, podName, readers, prefix, url] = process.argv.slice(2);
const docs = fs.readdirSync('deploy/k8s').filter((f) => f.endsWith('.yaml'))
  .flatMap((f) => YAML.parseAllDocuments(fs.readFileSync(`deploy/k8s/${f}`, 'utf8')).map((d) => d.toJS()));
const set = docs.find((d) => d.kind === 'StatefulSet');
const config = docs.find((d) => d.kind === 'ConfigMap');
Object.assign(config.data, { MQTT_URL: url, MQTT_PREFIX: prefix, READERS_PER_POD: readers });
const spec = structuredClone(set.spec.template.spec);
spec.hostNetwork = true;
for (const c of spec.containers) {
  c.image = tag;
  // A probe's named port as its number, whichever way podman reads names.
  const named = new Map((c.ports ?? []).map((p) => [p.name, p.containerPort]));
  for (const probe of [c.startupProbe, c.readinessProbe, c.livenessProbe]) {
    if (probe?.httpGet && named.has(probe.httpGet.port)) probe.httpGet.port = named.get(probe.httpGet.port);
  }
  // What the downward API gives the StatefulSet's first pod.
  for (const e of c.env) if (e.name === 'POD_NAME') { delete e.valueFrom; e.value = podName; }
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
// JSON documents: YAML to any reader, and no bare `off` for a YAML 1.1 parser to make false.
process.stdout.write([config, ...claims, pod].map((d) => JSON.stringify(d, null, 2)).join('\n---\n'));
JS

passed=0 failed=0
check() { if "${@:2}"; then echo "ok   $1"; passed=$((passed + 1)); else echo "FAIL $1"; failed=$((failed + 1)); fi; }
podman kube play "$work/pod.yaml" >/dev/null

# The management system's side, with the repository's mqtt client: waits for every reader's
# retained status, pushes a database to the last reader and waits for its answer.
management() {
  node - "mqtt://127.0.0.1:$mqtt_port" "$prefix" "$pod" "$readers" <<'JS'
const { connect } = require('mqtt');
const [url, prefix, pod, n] = process.argv.slice(2);
const ids = Array.from({ length: Number(n) }, (_, i) => `${pod}-${String(i + 1).padStart(3, '0')}`);
const client = connect(url, { reconnectPeriod: 500 });
const online = new Set();
const target = ids.at(-1);
let pushed = false;
const fail = (why) => { console.error(why); process.exit(1); };
setTimeout(() => fail(`not online within 240 s: ${ids.filter((id) => !online.has(id))}`), 240_000);
client.on('connect', () => client.subscribe([`${prefix}/+/status`, `${prefix}/${target}/replies`], { qos: 1 }));
client.on('message', (topic, payload) => {
  const body = JSON.parse(payload.toString('utf8'));
  const id = topic.split('/')[1];
  if (topic.endsWith('/status') && body.online === true) online.add(id);
  if (topic.endsWith('/replies') && body.requestId === 'k8s-push') {
    if (body.status !== 200) fail(`push answered ${JSON.stringify(body)}`);
    console.log(`     ${ids.join(', ')} online; push to ${target} answered 200 (version ${body.result.version})`);
    client.end(true, () => process.exit(0));
  }
  if (!pushed && ids.every((i) => online.has(i))) {
    pushed = true;
    const database = { users: [{ id: 'u1', name: 'K8s', enabled: true }],
      credentials: [{ id: 'c1', userId: 'u1', kind: 'badge', value: '4242', enabled: true, accessPoints: ['*'] }],
      schedules: [], holidays: [], accessPoints: [] };
    client.publish(`${prefix}/${target}/commands/push/k8s-push`, JSON.stringify(database), { qos: 1 });
  }
});
JS
}
check "the pod's $readers readers ($pod-001..) connect out, say online and answer a push over MQTT" management
pod_health() { curl -sf "http://127.0.0.1:$api_port/api/v1/health" >/dev/null; }
check "the pod's host API answers its health probe" pod_health
echo "k8s pod: ${passed} passed, ${failed} failed"
[ "$failed" = 0 ]
