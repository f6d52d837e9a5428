/**
 * The layer rule of docs/LAYERS.md, as CI runs it (eslint.config.mjs): a planted import that
 * points up or sideways fails, the same file with an allowed import passes. CI lints the
 * whole tree with the same config, so a violation anywhere in it fails the build.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.join(__dirname, '..');
const ESLINT = path.join(ROOT, 'node_modules', 'eslint', 'bin', 'eslint.js');

/** ESLint's own CLI, as CI runs it, on code given as if it were the file at `file`. */
async function problems(file: string, code: string): Promise<string[]> {
  const run = spawnSync(
    process.execPath,
    [ESLINT, '--stdin', '--stdin-filename', file, '--format', 'json'],
    { cwd: ROOT, input: code, encoding: 'utf8', timeout: 60_000 },
  );
  const [result] = JSON.parse(run.stdout) as Array<{
    messages: Array<{ ruleId: string; message: string }>;
  }>;
  return result!.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

jest.setTimeout(60_000);

describe('layer rule', () => {
  it.each([
    ['storage/planted.ts', "import { boot } from '../firmware/boot';\nexport const x = boot;\n"],
    ['led/planted.ts', "import { Reader } from '../firmware/reader';\nexport const x = Reader;\n"],
    [
      'firmware/foundation/planted.ts',
      "import { openStore } from '../../storage';\nexport const x = openStore;\n",
    ],
    [
      'ble/controller/planted.ts',
      "import { boot } from '../../firmware/boot';\nexport const x = boot;\n",
    ],
    [
      'firmware/planted.ts',
      "import { startApi } from './api/server';\nexport const x = startApi;\n",
    ],
    [
      'firmware/api/planted.ts',
      "import { testDrivers } from '../profiles/test';\nexport const x = testDrivers;\n",
    ],
    [
      'scripts/commands/planted.ts',
      "import { runSoak } from '../dev/soak';\nexport const x = runSoak;\n",
    ],
  ])('%s: an arrow pointing up fails', async (file, code) => {
    expect(await problems(file, code)).toEqual([
      expect.stringMatching(/^boundaries\/dependencies: There is no policy allowing/),
    ]);
  });

  it.each([
    [
      'storage/planted.ts',
      "import { SystemClock } from '../firmware/foundation/clock';\nexport const x = SystemClock;\n",
    ],
    [
      'firmware/planted.ts',
      "import { openStore } from '../storage';\nexport const x = openStore;\n",
    ],
    [
      'firmware/profiles/planted.ts',
      "import { startApi } from '../api/server';\nexport const x = startApi;\n",
    ],
  ])('%s: an arrow pointing down passes', async (file, code) => {
    expect(await problems(file, code)).toEqual([]);
  });

  it('shipped code may not import a devDependency; dev tools may', async () => {
    const code = "import Database from 'better-sqlite3';\nexport const x = Database;\n";
    expect(await problems('firmware/planted.ts', code)).toEqual([
      expect.stringMatching(/no-restricted-imports: 'better-sqlite3' import is restricted/),
    ]);
    expect(await problems('scripts/dev/planted.ts', code)).toEqual([]);
  });
});
