/**
 * The layer rule of docs/LAYERS.md, as CI runs it (eslint.config.mjs): a planted import that
 * points up or sideways fails, the same file with an allowed import passes. CI lints the
 * whole tree with the same config, so a violation anywhere in it fails the build.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.join(__dirname, '..');

/**
 * ESLint with the project's config, as CI runs it, on code given as if it were the file at
 * each path: one child process (the flat config is an ES module jest's VM cannot load).
 */
function lintAll(cases: Array<[file: string, code: string]>): string[][] {
  const script = `
    const { ESLint } = require('eslint');
    const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));
    (async () => {
      const eslint = new ESLint({ cwd: process.cwd() });
      const out = [];
      for (const [file, code] of cases) {
        const [result] = await eslint.lintText(code, { filePath: require('path').resolve(file) });
        out.push(result.messages.map((m) => m.ruleId + ': ' + m.message));
      }
      process.stdout.write(JSON.stringify(out));
    })();
  `;
  const run = spawnSync(process.execPath, ['-e', script], {
    cwd: ROOT,
    input: JSON.stringify(cases),
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (run.status !== 0) throw new Error(`eslint failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as string[][];
}

jest.setTimeout(150_000);

const imports = (from: string, names: string) =>
  `import { ${names} } from '${from}';\nexport const x = ${names};\n`;

/** Arrows that point up or sideways: each must fail with the boundary rule. */
const UP: Array<[string, string]> = [
  ['storage/planted.ts', imports('../firmware/boot', 'boot')],
  ['led/planted.ts', imports('../firmware/reader', 'Reader')],
  ['firmware/foundation/planted.ts', imports('../../storage', 'openStore')],
  ['ble/controller/planted.ts', imports('../../firmware/boot', 'boot')],
  ['firmware/planted.ts', imports('./api/server', 'startApi')],
  ['firmware/api/planted.ts', imports('../profiles/test', 'testDrivers')],
  ['scripts/commands/planted.ts', imports('../dev/soak', 'runSoak')],
  ['firmware/api/planted.ts', imports('../mqtt', 'attachMqttLink')],
  ['firmware/mqtt/planted.ts', imports('../profiles/serve', 'serveReader')],
];
/** Arrows that point down: each must pass. */
const DOWN: Array<[string, string]> = [
  ['storage/planted.ts', imports('../firmware/foundation/clock', 'SystemClock')],
  ['firmware/planted.ts', imports('../storage', 'openStore')],
  ['firmware/profiles/planted.ts', imports('../api/server', 'startApi')],
  ['firmware/mqtt/planted.ts', imports('../api/schemas', 'AckRequestSchema')],
];
const SQLITE = "import Database from 'better-sqlite3';\nexport const x = Database;\n";
const DEV: Array<[string, string]> = [
  ['firmware/planted.ts', SQLITE],
  ['scripts/dev/planted.ts', SQLITE],
];

let results: string[][];
beforeAll(() => {
  results = lintAll([...UP, ...DOWN, ...DEV]);
});

describe('layer rule', () => {
  it.each(UP.map(([file], i) => [file, i] as const))(
    '%s: an arrow pointing up fails',
    (_file, i) => {
      expect(results[i]).toEqual([
        expect.stringMatching(/^boundaries\/dependencies: There is no policy allowing/),
      ]);
    },
  );

  it.each(DOWN.map(([file], i) => [file, UP.length + i] as const))(
    '%s: an arrow pointing down passes',
    (_file, i) => {
      expect(results[i]).toEqual([]);
    },
  );

  it('shipped code may not import a devDependency; dev tools may', () => {
    const at = UP.length + DOWN.length;
    expect(results[at]).toEqual([
      expect.stringMatching(/no-restricted-imports: 'better-sqlite3' import is restricted/),
    ]);
    expect(results[at + 1]).toEqual([]);
  });
});
