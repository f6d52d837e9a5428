import { CONFIG_KEYS, CONFIG_SPEC } from './config';

/**
 * The config reference table of docs/CONFIG.md, rendered from CONFIG_SPEC so the doc cannot
 * drift from the defaults (test/firmware/config.test.ts compares them).
 */
export function configReferenceTable(): string {
  const rows = CONFIG_KEYS.map((key) => {
    const spec = CONFIG_SPEC[key];
    let range: string;
    switch (spec.type) {
      case 'int':
        range = `${spec.min} .. ${spec.max} ${spec.unit}`;
        break;
      case 'boolean':
        range = 'true / false';
        break;
      case 'enum':
        range = spec.values.map((v) => `\`${v}\``).join(', ');
        break;
      case 'string':
        range = spec.format;
        break;
    }
    return `| \`${key}\` | ${spec.type} | \`${JSON.stringify(spec.default)}\` | ${range} | ${spec.doc} |`;
  });
  return ['| key | type | default | range | meaning |', '|---|---|---|---|---|', ...rows].join(
    '\n',
  );
}
