/**
 * Strict validation of a Kubernetes manifest, offline: kubernetes-models' validator for the
 * type (compiled from the Kubernetes OpenAPI document) and no field the schema does not know.
 *
 * The OpenAPI schemas leave `additionalProperties` open, so a misspelt key (`livenesProbe`)
 * passes them, and the API server would only drop it (or refuse it under
 * `kubectl apply --validate=strict`). The compiled validators carry no list of field names,
 * so each key is asked instead: its value is swapped for one of no JSON type, and a key the
 * schema describes then draws an error at its path, while an unknown one draws none.
 * Map entries (labels, a ConfigMap's data, resource quantities) have a value schema of their
 * own and so count as known, whatever their key.
 */
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';

type Manifest = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type Model = new (data: never) => { validate(): void };

const MODELS: Record<string, Model> = {
  'apps/v1 StatefulSet': StatefulSet,
  'v1 ConfigMap': ConfigMap,
  'v1 Service': Service,
};

/** Fails every JSON Schema type check: string, number, integer, boolean, object, array, null. */
const NO_JSON_TYPE = Symbol('no JSON type');

/** JSON pointer of a path, escaped as the validator's instancePath is (RFC 6901). */
function pointer(path: Array<string | number>): string {
  return path.map((p) => `/${String(p).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

function modelOf(doc: Manifest): Model {
  const model = MODELS[`${doc.apiVersion} ${doc.kind}`];
  if (!model) throw new Error(`no schema here for ${doc.apiVersion} ${doc.kind}`);
  return model;
}

/** Paths the validator complains about for `doc` ([] when it passes). */
function complaints(model: Model, doc: Manifest): string[] {
  try {
    new model(doc as never).validate();
    return [];
  } catch (err) {
    const errors = (err as { errors?: Array<{ instancePath: string }> }).errors;
    if (!errors) throw err;
    return errors.map((e) => e.instancePath);
  }
}

/** Every key of `doc` that its type's schema does not describe, as JSON pointers. */
export function unknownFields(doc: Manifest): string[] {
  const model = modelOf(doc);
  const unknown: string[] = [];
  const visit = (node: unknown, path: Array<string | number>): void => {
    if (Array.isArray(node)) {
      node.forEach((item, i) => visit(item, [...path, i]));
      return;
    }
    if (node === null || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      const at = [...path, key];
      const probed = structuredClone(doc);
      const parent = path.reduce<Manifest>((n, p) => n[p], probed);
      parent[key] = NO_JSON_TYPE;
      const where = pointer(at);
      const seen = complaints(model, probed).some((p) => p === where || p.startsWith(`${where}/`));
      if (seen) visit(value, at);
      else unknown.push(where);
    }
  };
  visit(doc, []);
  return unknown;
}

/**
 * Throws unless `doc` is valid against its Kubernetes schema with no unknown field: the
 * schema's own message first (`data/spec/replicas must be integer`), then
 * `unknown field /spec/...` naming each key the schema does not have.
 */
export function validateStrict(doc: Manifest): void {
  new (modelOf(doc))(doc as never).validate();
  const unknown = unknownFields(doc);
  if (unknown.length) {
    throw new Error(
      `${doc.apiVersion} ${doc.kind} ${doc.metadata?.name}: ` +
        unknown.map((p) => `unknown field ${p}`).join(', '),
    );
  }
}
