/**
 * deploy/k8s/ against the Kubernetes API schemas, offline and strict (./k8s-schema.ts:
 * kubernetes-models' validator per API type, compiled from the Kubernetes OpenAPI document,
 * and no field the schema does not know), and the wiring the schemas cannot see: config keys
 * that exist, names that match, ids from the pod name.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { start } from '../../scripts/commands/start';
import { unknownFields, validateStrict as validate } from './k8s-schema';

const DIR = path.join(__dirname, '..', '..', 'deploy', 'k8s');

type Manifest = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function manifests(): Array<{ file: string; doc: Manifest }> {
  return fs
    .readdirSync(DIR)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((file) =>
      parseAllDocuments(fs.readFileSync(path.join(DIR, file), 'utf8')).map((d) => {
        if (d.errors.length) throw new Error(`${file}: ${d.errors[0]!.message}`);
        return { file, doc: d.toJS() as Manifest };
      }),
    );
}

const all = manifests();
const one = (kind: string) => all.find((m) => m.doc.kind === kind)!.doc;

describe('deploy/k8s manifests', () => {
  it.each(all.map((m) => [`${m.file}: ${m.doc.kind} ${m.doc.metadata?.name}`, m.doc] as const))(
    '%s is valid against its Kubernetes schema',
    (_name, doc) => {
      expect(() => validate(doc)).not.toThrow();
    },
  );

  it('has a StatefulSet, its ConfigMap and its governing Service', () => {
    expect(all.map((m) => m.doc.kind).sort()).toEqual(['ConfigMap', 'Service', 'StatefulSet']);
  });

  it('the schemas do refuse a broken manifest (the check above can fail)', () => {
    const set = structuredClone(one('StatefulSet'));
    set.spec.replicas = 'five';
    expect(() => validate(set)).toThrow(/replicas must be integer/);
    const policy = structuredClone(one('StatefulSet'));
    policy.spec.podManagementPolicy = 'AllAtOnce';
    expect(() => validate(policy)).toThrow(/podManagementPolicy/);
    const port = structuredClone(one('Service'));
    port.spec.ports[0].port = 'http';
    expect(() => validate(port)).toThrow(/port/);
  });

  it('refuses a misspelt or unknown key anywhere in a manifest (strict: unknown fields fail)', () => {
    const probe = structuredClone(one('StatefulSet'));
    const container = probe.spec.template.spec.containers[0];
    container.livenesProbe = container.livenessProbe;
    delete container.livenessProbe;
    expect(() => validate(probe)).toThrow(
      /unknown field \/spec\/template\/spec\/containers\/0\/livenesProbe$/,
    );
    const top = structuredClone(one('StatefulSet'));
    top.spec.replica = 5;
    expect(() => validate(top)).toThrow(/unknown field \/spec\/replica$/);
    const claim = structuredClone(one('StatefulSet'));
    claim.spec.volumeClaimTemplates[0].spec.resources.request = { storage: '1Gi' };
    expect(() => validate(claim)).toThrow(/volumeClaimTemplates\/0\/spec\/resources\/request$/);
    const service = structuredClone(one('Service'));
    service.spec.ports[0].targetport = 'api';
    expect(() => validate(service)).toThrow(/unknown field \/spec\/ports\/0\/targetport$/);
    const config = structuredClone(one('ConfigMap'));
    config.date = { MQTT_URL: 'mqtt://x:1883' };
    expect(() => validate(config)).toThrow(/unknown field \/date$/);
    // Each misspelling is named, and only those: the keys around them are the schema's.
    const both = structuredClone(probe);
    both.metadata.lables = both.metadata.labels;
    expect(unknownFields(both)).toEqual([
      '/metadata/lables',
      '/spec/template/spec/containers/0/livenesProbe',
    ]);
  });

  it('map entries are free-form keys, not fields: a new label or ConfigMap key passes', () => {
    const set = structuredClone(one('StatefulSet'));
    set.spec.template.metadata.labels['example.com/tier'] = 'edge';
    set.spec.template.spec.containers[0].resources.limits['ephemeral-storage'] = '1Gi';
    expect(() => validate(set)).not.toThrow();
    const config = structuredClone(one('ConfigMap'));
    config.data.SOMETHING_NEW = 'x';
    expect(() => validate(config)).not.toThrow();
  });

  it('wires ids, config, volume, probes and service together', () => {
    const set = one('StatefulSet');
    const config = one('ConfigMap');
    const service = one('Service');
    const pod = set.spec.template.spec;
    const [container] = pod.containers;
    const env = new Map<string, Manifest>(container.env.map((e: Manifest) => [e.name, e]));

    // Reader ids come from the pod's own name (downward API).
    const args: string[] = container.args;
    expect(args[args.indexOf('--reader-id') + 1]).toBe('$(POD_NAME)');
    expect(env.get('POD_NAME')!.valueFrom.fieldRef.fieldPath).toBe('metadata.name');
    // Every $(VAR) in args is defined; every config reference names a key the ConfigMap has.
    for (const arg of args) {
      for (const [, name] of arg.matchAll(/\$\(([A-Z_]+)\)/g)) expect(env.has(name!)).toBe(true);
    }
    for (const e of env.values()) {
      const ref = e.valueFrom?.configMapKeyRef;
      if (!ref) continue;
      expect(ref.name).toBe(config.metadata.name);
      expect(Object.keys(config.data)).toContain(ref.key);
    }
    // The broker address comes from the ConfigMap.
    expect(args[args.indexOf('--mqtt') + 1]).toBe('$(MQTT_URL)');
    expect(env.get('MQTT_URL')!.valueFrom.configMapKeyRef.key).toBe('MQTT_URL');
    // Every flag is one `reader-sim start` documents.
    for (const flag of args.filter((a) => a.startsWith('--'))) {
      expect(start.usage).toMatch(new RegExp(`^\\s+${flag}\\b`, 'm'));
    }
    // K readers per pod, named after the pod (--reader-id is their prefix with --readers).
    expect(args[args.indexOf('--readers') + 1]).toBe('$(READERS_PER_POD)');
    expect(env.get('READERS_PER_POD')!.valueFrom.configMapKeyRef.key).toBe('READERS_PER_POD');
    expect(args).not.toContain('--site');

    // One volume per pod for the flash images, mounted where --data points.
    const [claim] = set.spec.volumeClaimTemplates;
    const mount = container.volumeMounts.find((m: Manifest) => m.name === claim.metadata.name);
    expect(mount.mountPath).toBe(args[args.indexOf('--data') + 1]);
    expect(claim.spec.accessModes).toEqual(['ReadWriteOnce']);

    // Probes on the host API's port; the liveness probe is the image's own health check.
    const ports = container.ports.map((p: Manifest) => p.name);
    for (const probe of [container.readinessProbe, container.startupProbe]) {
      expect(probe.httpGet.path).toBe('/api/v1/health');
      expect(ports).toContain(probe.httpGet.port);
    }
    expect(container.livenessProbe.exec.command.slice(0, 2)).toEqual([
      'node',
      'bin/healthcheck.js',
    ]);
    expect(fs.existsSync(path.join(__dirname, '..', '..', 'bin', 'healthcheck.js'))).toBe(true);

    // The startup probe waits as long as the README's sizing table budgets a boot of
    // the readers per pod the ConfigMap asks for.
    const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
    const perPod = readme.match(/^\| readers per pod \| ([0-9,]+) \|/m);
    const budget = readme.match(/^\| startup probe budget \| ([0-9]+) min \|/m);
    expect(Number(config.data.READERS_PER_POD)).toBe(Number(perPod![1]!.replace(/,/g, '')));
    const startup = container.startupProbe;
    expect(startup.periodSeconds * startup.failureThreshold).toBe(Number(budget![1]) * 60);

    // The governing service selects exactly these pods.
    expect(set.spec.serviceName).toBe(service.metadata.name);
    expect(set.spec.selector.matchLabels).toEqual(set.spec.template.metadata.labels);
    expect(service.spec.selector).toEqual(set.spec.selector.matchLabels);
    expect(ports).toContain(service.spec.ports[0].targetPort);
  });
});
