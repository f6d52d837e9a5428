import fc from 'fast-check';

/** The subset of JSON Schema the host API's schemas use (firmware/api/schemas.ts). */
export type Schema = Record<string, unknown>;

const MIN_SAFE = Number.MIN_SAFE_INTEGER;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/**
 * Values that satisfy `schema` (mostly: a random record may still break a cross-field or
 * referential rule the handler checks, which is a 4xx too). Built from the schema the server
 * serves, so a new route or field is fuzzed without touching the tests.
 */
export function valid(schema: Schema, depth = 0): fc.Arbitrary<unknown> {
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  if (Array.isArray(schema.anyOf)) {
    return fc.oneof(...(schema.anyOf as Schema[]).map((s) => valid(s, depth)));
  }
  switch (schema.type) {
    case 'boolean':
      return fc.boolean();
    case 'integer': {
      const min = typeof schema.minimum === 'number' ? schema.minimum : MIN_SAFE;
      const max = typeof schema.maximum === 'number' ? schema.maximum : MAX_SAFE;
      return fc.oneof(
        fc.constantFrom(min, max),
        fc.integer({ min: Math.max(min, -1000), max: Math.min(max, 100_000) }),
        fc
          .double({ min, max, noNaN: true })
          .map((d) => Math.min(max, Math.max(min, Math.round(d)))),
      );
    }
    case 'string':
      return validString(schema);
    case 'array': {
      const items = valid((schema.items ?? {}) as Schema, depth + 1);
      const constraints = {
        minLength: typeof schema.minItems === 'number' ? schema.minItems : 0,
        maxLength: Math.min(typeof schema.maxItems === 'number' ? schema.maxItems : 4, 4),
      };
      return schema.uniqueItems
        ? fc.uniqueArray(items, { ...constraints, selector: (v) => JSON.stringify(v) })
        : fc.array(items, constraints);
    }
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, Schema>;
      const required = (schema.required ?? []) as string[];
      const model: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [key, sub] of Object.entries(properties)) model[key] = valid(sub, depth + 1);
      return fc.record(model, { requiredKeys: required });
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

function validString(schema: Schema): fc.Arbitrary<string> {
  const minLength = typeof schema.minLength === 'number' ? schema.minLength : 0;
  const maxLength = typeof schema.maxLength === 'number' ? schema.maxLength : 64;
  const fits = (s: string) => s.length >= minLength && s.length <= maxLength;
  if (schema.format === 'date-time') {
    // Every year the format allows, including ones no reader will ever see; with a pattern
    // beside the format (the reader's years), the years it allows, still kept to it.
    const bounded = typeof schema.pattern === 'string';
    const dates = fc
      .date({
        min: new Date(bounded ? '2000-01-01T00:00:00Z' : '0000-01-01T00:00:00Z'),
        max: new Date(bounded ? '2100-12-31T23:59:59Z' : '9999-12-31T23:59:59Z'),
        noInvalidDate: true,
      })
      .map((d) => d.toISOString());
    return bounded ? dates.filter((d) => new RegExp(schema.pattern as string).test(d)) : dates;
  }
  if (typeof schema.pattern === 'string') {
    const pattern = new RegExp(schema.pattern);
    return fc.stringMatching(pattern, { size: 'small' }).filter(fits);
  }
  return fc.string({ minLength, maxLength: Math.min(maxLength, 64), unit: 'grapheme' });
}

/** Nasty values for a slot that expects something else. */
const odd: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(
    null,
    -1,
    0,
    1e308,
    -1e308,
    2 ** 53,
    0.5,
    '',
    ' ',
    '\u0000',
    '\ud800',
    'x'.repeat(5000),
    [],
    {},
    { constructor: { prototype: { admin: true } } },
    '../../etc/passwd',
    '%00',
    '1; DROP TABLE users',
  ),
);

type Path = (string | number)[];

function paths(value: unknown, at: Path = [], out: Path[] = []): Path[] {
  out.push(at);
  if (Array.isArray(value)) value.forEach((v, i) => paths(v, [...at, i], out));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) paths(v, [...at, k], out);
  }
  return out;
}

function clone<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

type Mutation = 'delete' | 'replace' | 'unknown-key' | 'wrap' | 'duplicate';

/** Applies one mutation at the `pick`-th node of a copy of `value`. */
function mutateAt(
  value: unknown,
  pick: number,
  mutation: Mutation,
  replacement: unknown,
  key: string,
): unknown {
  const all = paths(value);
  const path = all[pick % all.length]!;
  if (path.length === 0) {
    if (mutation === 'wrap') return [value];
    if (mutation === 'unknown-key' && value && typeof value === 'object' && !Array.isArray(value))
      return { ...value, [key]: replacement };
    return replacement;
  }
  const root = clone(value) as Record<string | number, unknown>;
  let parent = root;
  for (const step of path.slice(0, -1)) parent = parent[step] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  switch (mutation) {
    case 'delete':
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last];
      break;
    case 'replace':
      parent[last] = replacement;
      break;
    case 'unknown-key': {
      const target = parent[last];
      if (target && typeof target === 'object' && !Array.isArray(target)) {
        (target as Record<string, unknown>)[key] = replacement;
      } else parent[last] = replacement;
      break;
    }
    case 'wrap':
      parent[last] = [parent[last]];
      break;
    case 'duplicate':
      if (Array.isArray(parent)) parent.push(clone(parent[Number(last)]));
      else parent[last] = clone(root);
      break;
  }
  return root;
}

/** A valid value with one small mutation: a field gone, retyped, added, wrapped or doubled. */
export function mutatedValid(schema: Schema): fc.Arbitrary<unknown> {
  return mutated(valid(schema));
}

/** Each value of `values` with one small mutation. */
export function mutated(values: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc
    .tuple(
      values,
      fc.nat(),
      fc.constantFrom<Mutation>('delete', 'replace', 'unknown-key', 'wrap', 'duplicate'),
      odd,
      fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('constructor', 'prototype', '')),
    )
    .map(([value, pick, mutation, replacement, key]) =>
      mutateAt(value, pick, mutation, replacement, key),
    );
}
