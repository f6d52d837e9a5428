import fs from 'node:fs';
import path from 'node:path';
import { endpointTable, ERROR_MEANINGS, errorTable } from '../../firmware/api/doc';
import { apiRoutes } from '../../firmware/api/server';

const doc = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'API.md'), 'utf8');

/** Markdown tables compared without the padding a formatter may add. */
const normalize = (text: string) => text.replace(/\s+/g, '').replace(/-{3,}/g, '---');

function section(name: string): string {
  const match = new RegExp(`<!-- ${name}:begin[^>]*-->([\\s\\S]*?)<!-- ${name}:end -->`).exec(doc);
  if (!match) throw new Error(`docs/API.md has no ${name} section`);
  return match[1]!;
}

// Regenerate with: node -r ts-node/register/transpile-only firmware/api/doc.ts
describe('docs/API.md', () => {
  it('lists every endpoint as the server defines it', () => {
    expect(normalize(section('endpoints'))).toBe(normalize(endpointTable(apiRoutes())));
  });

  it('lists every error code with its status', () => {
    expect(normalize(section('errors'))).toBe(normalize(errorTable(ERROR_MEANINGS)));
  });
});
