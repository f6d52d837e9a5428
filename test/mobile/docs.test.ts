import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { advertisingTable, errorTable, gattTable } from '../../ble/doc';
import { BLE_RANGES, CONFIG_SPEC } from '../../firmware/config';

const PATH = join(__dirname, '../../docs/MOBILE.md');

describe('docs/MOBILE.md', () => {
  test.each([
    ['gatt', gattTable],
    ['advertising', advertisingTable],
    ['errors', errorTable],
  ])('the %s table is rendered from the definitions', (name, render) => {
    const doc = readFileSync(PATH, 'utf8');
    const begin = `<!-- ${name}-table:begin -->\n`;
    const end = `\n<!-- ${name}-table:end -->`;
    expect(doc).toContain(begin);
    const current = doc.slice(doc.indexOf(begin) + begin.length, doc.indexOf(end));
    const table = render();
    if (process.env.UPDATE_DOCS === '1' && current !== table) {
      writeFileSync(PATH, doc.replace(begin + current + end, begin + table + end));
      return;
    }
    expect(current).toBe(table); // regenerate with UPDATE_DOCS=1 npx jest test/mobile/docs.test.ts
  });

  test('names every BLE config key and the activation ranges with their values', () => {
    const doc = readFileSync(PATH, 'utf8');
    for (const key of Object.keys(CONFIG_SPEC).filter((k) => k.startsWith('ble'))) {
      expect(doc).toContain(`\`${key}\``);
    }
    for (const [range, dbm] of Object.entries(BLE_RANGES)) expect(doc).toContain(`${range} ${dbm}`);
  });
});
