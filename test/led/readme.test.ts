import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { situationTable } from '../../led/describe';

test('led/README.md shows the defaults table generated from SITUATIONS', () => {
  const readme = readFileSync(join(__dirname, '../../led/README.md'), 'utf8');
  const section = /<!-- situations:begin -->\n([\s\S]*?)\n<!-- situations:end -->/.exec(readme);
  expect(section?.[1]).toBe(situationTable());
});
