/**
 * The package as a team installs it: `npm pack` (its prepack compiles dist/), then a scratch
 * project outside the checkout (its own package.json: reader-sim from the tarball, jest and
 * ts-jest as devDependencies; it cannot see the checkout's node_modules) runs `npm install`.
 * There, every shipped command runs from the installed package's compiled JavaScript, and
 * the project's own HIL suite (test/fixtures/consumer, written only against the public API,
 * type-checked by ts-jest against the shipped .d.ts) passes. One install per run; the pack is
 * the tarball of this very tree (test/npm-pack.ts: packed again whenever an input changed).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../free-port';
import { packedTarball } from '../npm-pack';
import { runReaderSim, type ReaderProcess } from '../security/start-process';

// npm install fetches (or builds) the native modules: a few minutes on a loaded machine.
jest.setTimeout(10 * 60_000);

const ROOT = path.join(__dirname, '..', '..');
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'consumer');
const exec = promisify(execFile);

/**
 * devDependencies of the checkout that the package's own install must not bring
 * (@serialport/binding-mock is not among them: serialport itself depends on it).
 */
const ABSENT = [
  'jest',
  'ts-jest',
  'better-sqlite3',
  'fast-check',
  'eslint',
  'prettier',
  'playwright-core',
  'ts-node',
];
/** The consumer's toolchain: its own devDependencies, at the checkout's versions. */
const CONSUMER_TOOLS = ['jest', 'ts-jest', 'typescript', '@types/jest', '@types/node'];

let scratch: string;
/** The consumer project. */
let project: string;
/** reader-sim as installed there. */
let pkg: string;
let tarball: string;

beforeAll(async () => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'reader-consumer-'));
  // A copy: the consumer's install reads it from its own folder, as a team's would.
  const packed = await packedTarball();
  tarball = path.join(scratch, 'reader-sim.tgz');
  fs.copyFileSync(packed.file, tarball);
  project = path.join(scratch, 'project');
  fs.cpSync(FIXTURE, project, { recursive: true });
  const checkout = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    devDependencies: Record<string, string>;
    allowScripts: Record<string, boolean>;
  };
  fs.writeFileSync(
    path.join(project, 'package.json'),
    JSON.stringify(
      {
        name: 'door-team-hil',
        private: true,
        scripts: { test: 'jest' },
        dependencies: { 'reader-sim': `file:${tarball}` },
        devDependencies: Object.fromEntries(
          CONSUMER_TOOLS.map((name) => [name, checkout.devDependencies[name]]),
        ),
        // The native modules' install scripts, as the README tells a team to allow them.
        allowScripts: checkout.allowScripts,
      },
      null,
      2,
    ),
  );
  // --prefer-offline: registry metadata already in npm's cache is used without asking the
  // registry again (half the install's time here); what is missing is still fetched.
  await exec('npm', ['install', '--prefer-offline', '--no-fund', '--no-audit'], {
    cwd: project,
    timeout: 8 * 60_000,
  });
  pkg = path.join(project, 'node_modules', 'reader-sim');
});

afterAll(() => {
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

async function run(file: string, args: string[], cwd: string, timeout = 60_000) {
  try {
    const { stdout, stderr } = await exec(file, args, { cwd, timeout });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('the package ships compiled JavaScript with .d.ts files, no TypeScript sources', () => {
  const files = fs.readdirSync(pkg, { recursive: true, encoding: 'utf8' });
  const own = files.filter((f) => !f.startsWith('node_modules'));
  expect(own.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  for (const entry of [
    'firmware/testkit/reader',
    'firmware/testkit/index',
    'ble/controller/index',
  ]) {
    expect(own).toContain(`dist/${entry}.js`);
    expect(own).toContain(`dist/${entry}.d.ts`);
  }
  expect(own).not.toContain('test');
});

test('installing it brings none of its devDependencies', () => {
  // The consumer's lockfile marks what only its own devDependencies need as dev.
  const lock = JSON.parse(fs.readFileSync(path.join(project, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean }>;
  };
  const needed = Object.entries(lock.packages)
    .filter(([at, entry]) => at !== '' && !entry.dev)
    .map(([at]) => at.slice(at.lastIndexOf('node_modules/') + 'node_modules/'.length));
  expect(ABSENT.filter((name) => needed.includes(name))).toEqual([]);
  expect(needed).toEqual(expect.arrayContaining(['fastify', '@stoprocent/bleno', 'cbor-x']));
});

test("the team's HIL suite, written against the public API, passes in their project", async () => {
  const jest = path.join(project, 'node_modules', 'jest', 'bin', 'jest.js');
  const { code, stdout, stderr } = await run(process.execPath, [jest, '--ci'], project, 5 * 60_000);
  expect({ code, output: code === 0 ? '' : `${stdout}\n${stderr}` }).toEqual({
    code: 0,
    output: '',
  });
  expect(stderr).toMatch(/Tests:\s+7 passed, 7 total/);
});

describe('the installed reader-sim command', () => {
  let bin: string;
  let data: string;
  let air: string;
  let apiUrl: string;
  let reader: ReaderProcess | undefined;

  beforeAll(() => {
    bin = path.join(pkg, 'bin', 'reader-sim.js');
    const own = fs.mkdtempSync(path.join(scratch, 'run-'));
    data = path.join(own, 'data');
    air = path.join(own, 'air.sock');
  });

  afterAll(async () => {
    if (reader && reader.child.exitCode === null && reader.child.signalCode === null) {
      reader.child.kill('SIGKILL');
      await reader.exited;
    }
  });

  const cli = (...args: string[]) => run(process.execPath, [bin, ...args], project);

  test('npx reader-sim --help lists the commands, and the dev tools apart', async () => {
    const { code, stdout, stderr } = await run(
      'npx',
      ['--no-install', 'reader-sim', '--help'],
      project,
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const [shipped, dev] = stdout.split(/^Development tools.*$/m);
    for (const name of ['start', 'host', 'phone', 'flash']) {
      expect(shipped).toMatch(new RegExp(`^  ${name}\\s+\\S`, 'm'));
    }
    for (const name of ['bench', 'soak']) {
      expect(dev).toMatch(new RegExp(`^  ${name}\\s+\\S`, 'm'));
      expect(shipped).not.toMatch(new RegExp(`^  ${name}\\s`, 'm'));
    }
  });

  test('bench says it is a development tool, in one line, exit 1', async () => {
    for (const args of [
      ['bench', '--quick'],
      ['bench', '--help'],
    ]) {
      const { code, stdout, stderr } = await cli(...args);
      expect({ code, stdout }).toEqual({ code: 1, stdout: '' });
      expect(stderr.trimEnd().split('\n')).toEqual([
        expect.stringMatching(
          /^reader-sim bench: a development tool; it needs the dev dependencies \(better-sqlite3 is not installed here\)/,
        ),
      ]);
    }
  });

  test('start comes up: ready, on its API and its air', async () => {
    const port = await freePort();
    reader = runReaderSim(
      ['start', '--data', data, '--api-port', String(port), '--air', air],
      {},
      { command: process.execPath, args: [bin] },
    );
    const ready = await reader.waitFor((l) => String(l.msg).startsWith('ready: '));
    apiUrl = `http://127.0.0.1:${port}`;
    expect(ready).toMatchObject({ url: apiUrl, token: path.join(data, 'api-token') });
  });

  test('host status answers from it, with the token from its data dir', async () => {
    const { code, stdout, stderr } = await cli(
      ...['host', 'status', '--url', apiUrl, '--data', data, '--json'],
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ readerId: 'reader-1' });
  });

  test('phone keygen writes a key; unlock over the air: denied, unknown_credential', async () => {
    const key = path.join(path.dirname(data), 'phone-key.json');
    const keygen = await cli('phone', 'keygen', '--key', key, '--device-id', 'prod-phone');
    expect(keygen.code).toBe(0);
    expect(JSON.parse(fs.readFileSync(key, 'utf8'))).toMatchObject({ deviceId: 'prod-phone' });

    const unlock = await cli('phone', 'unlock', '--key', key, '--air', air, '--json');
    expect(unlock.code).toBe(1);
    const lines = unlock.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.at(-1)).toMatchObject({
      result: { status: 'denied', reason: 'unknown_credential' },
    });
  });

  test('SIGTERM stops the reader cleanly (exit 0)', async () => {
    reader!.child.kill('SIGTERM');
    expect(await reader!.exited).toBe(0);
  });

  test('flash inspect reads the image the reader left', async () => {
    const { code, stdout, stderr } = await cli('flash', 'inspect', '--data', data);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain(path.join(data, 'flash.img'));
    expect(stdout).toMatch(/^problems\s+none$/m);
  });
});
