import fs from 'node:fs';
import path from 'node:path';
import { endpointTable } from '../../firmware/api/doc';
import { fleetRoutes } from '../../firmware/api/fleet';

const doc = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'API.md'), 'utf8');
const normalize = (text: string) => text.replace(/\s+/g, '').replace(/-{3,}/g, '---');

// Regenerate with: node -r ts-node/register/transpile-only firmware/api/doc.ts
describe('docs/API.md "Sites and fleets"', () => {
  it('lists every fleet endpoint as the server defines it', () => {
    const match = /<!-- fleet-endpoints:begin[^>]*-->([\s\S]*?)<!-- fleet-endpoints:end -->/.exec(
      doc,
    );
    expect(match).not.toBeNull();
    expect(normalize(match![1]!)).toBe(normalize(endpointTable(fleetRoutes)));
  });
});
