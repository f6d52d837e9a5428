/**
 * A production install, as the Docker image makes one: the package as `npm pack` packs it,
 * with the lockfile the image installs from, unpacked in a temp dir outside the checkout and
 * installed with `npm install --omit=dev`. Every shipped command then runs there, with no
 * devDependency anywhere on its resolution path, twice: from the sources through ts-node
 * (bin/reader-sim.js in a copy with scripts/cli.ts), and compiled to dist/ beside only
 * package.json, bin/ and node_modules/ (the image's runtime stage). The dev tools say what
 * they need instead of running.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../free-port';
import { runReaderSim, type ReaderProcess } from '../security/start-process';

// npm install builds or fetches the native modules: a minute or two on a loaded machine.
jest.setTimeout(6 * 60_000);

const ROOT = path.join(__dirname, '..', '..');
const exec = promisify(execFile);

/**
 * devDependencies the checkout has and a production install must not. typescript and
 * @types/node are not among them: they are ts-node's peers, and ts-node (a dependency)
 * runs the shipped sources.
 */
const ABSENT = [
  'better-sqlite3',
  'jest',
  'ts-jest',
  'fast-check',
  'eslint',
  'prettier',
  'playwright-core',
  '@serialport/binding-mock',
];

let scratch: string;
/** The unpacked package, installed with --omit=dev. */
let pkg: string;
/** The image's runtime layout: package.json, bin/, dist/ and the same node_modules. */
let image: string;

beforeAll(async () => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'reader-prod-'));
  const packed = await exec('npm', ['pack', '--json', '--pack-destination', scratch], {
    cwd: ROOT,
  });
  const [{ filename }] = JSON.parse(packed.stdout) as { filename: string }[];
  await exec('tar', ['-xzf', path.join(scratch, filename), '-C', scratch]);
  pkg = path.join(scratch, 'package');
  // `npm pack` leaves the lockfile out; the image installs from it, and so does this copy.
  fs.copyFileSync(path.join(ROOT, 'package-lock.json'), path.join(pkg, 'package-lock.json'));
  image = path.join(scratch, 'image');
  // The image's build stage compiles with the dev dependencies, as the checkout has them.
  const build = exec(
    process.execPath,
    [
      require.resolve('typescript/bin/tsc'),
      '-p',
      'tsconfig.build.json',
      '--outDir',
      `${image}/dist`,
    ],
    { cwd: ROOT, timeout: 5 * 60_000 },
  );
  const install = exec('npm', ['install', '--omit=dev', '--no-fund', '--no-audit'], {
    cwd: pkg,
    timeout: 5 * 60_000,
  });
  // Both settle before anything is thrown: no child is left writing into the scratch dir.
  for (const outcome of await Promise.allSettled([build, install])) {
    if (outcome.status === 'rejected') throw outcome.reason;
  }
  fs.copyFileSync(path.join(pkg, 'package.json'), path.join(image, 'package.json'));
  fs.cpSync(path.join(pkg, 'bin'), path.join(image, 'bin'), { recursive: true });
  fs.symlinkSync(path.join(pkg, 'node_modules'), path.join(image, 'node_modules'));
});

afterAll(() => {
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

test('the install has the dependencies and none of the named devDependencies', () => {
  const resolves = (name: string) => {
    try {
      require.resolve(`${name}/package.json`, { paths: [pkg] });
      return true;
    } catch {
      return false;
    }
  };
  expect(ABSENT.filter(resolves)).toEqual([]);
  expect(['ts-node', 'fastify', '@stoprocent/bleno', 'cbor-x'].filter(resolves)).toHaveLength(4);
});

describe.each([
  ['the packed sources, through ts-node', () => pkg],
  ['compiled to dist/, as the Docker image runs it', () => image],
])('reader-sim from %s', (_, root) => {
  let bin: string;
  let data: string;
  let air: string;
  let apiUrl: string;
  let reader: ReaderProcess | undefined;

  beforeAll(() => {
    bin = path.join(root(), 'bin', 'reader-sim.js');
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

  async function cli(...args: string[]) {
    try {
      const { stdout, stderr } = await exec(process.execPath, [bin, ...args], {
        cwd: root(),
        timeout: 60_000,
      });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }

  test('runs what it is meant to (sources, or dist/ without them)', () => {
    const sources = fs.existsSync(path.join(root(), 'scripts', 'cli.ts'));
    const compiled = fs.existsSync(path.join(root(), 'dist', 'scripts', 'cli.js'));
    expect(sources !== compiled).toBe(true);
  });

  test('--help lists the commands, and the dev tools apart', async () => {
    const { code, stdout, stderr } = await cli('--help');
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
