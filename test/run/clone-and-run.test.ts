/**
 * The README's promise, end to end: clone this checkout (HEAD) into a temp dir, run the
 * README's install and `npm start -- --demo` there, wait for the health endpoint, run the
 * phone command the start banner prints, see `granted`, and stop the reader cleanly.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../free-port';

// Copying node_modules, npm install and a first ts-node boot: minutes on a loaded machine.
jest.setTimeout(300_000);

const ROOT = path.join(__dirname, '..', '..');
const run = promisify(execFile);

async function until(what: string, ok: () => Promise<boolean> | boolean, ms: number) {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('clone and run', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'reader-clone-'));
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test('git clone, npm install, npm start -- --demo, the banner’s phone command: granted', async () => {
    const clone = path.join(tmp, 'reader-sim');
    await run('git', ['clone', '--quiet', ROOT, clone]);
    // Keeps CI time sane: the checkout's installed node_modules, copied (not hard-linked, so
    // nothing npm does in the clone can write into this checkout's), make the README's
    // `npm install` a quick verification against package-lock.json instead of a full build.
    // --offline/--no-audit keep it off the network; it still fails on a lock mismatch.
    await run('cp', ['-a', path.join(ROOT, 'node_modules'), path.join(clone, 'node_modules')]);
    const install = await run('npm', ['install', '--offline', '--no-audit', '--no-fund'], {
      cwd: clone,
    });
    // Every dependency supports the Node versions package.json (and the README) promise.
    expect(`${install.stdout}${install.stderr}`).not.toContain('EBADENGINE');

    const port = await freePort();
    const air = path.join(tmp, 'air.sock');
    const data = path.join(tmp, 'data');
    const reader = spawn(
      'npm',
      ['start', '--', '--demo', '--data', data, '--api-port', String(port), '--air', air],
      // Its own process group, so that the clean-up can end npm, sh and the reader together.
      { cwd: clone, stdio: ['pipe', 'pipe', 'pipe'], detached: true },
    );
    let out = '';
    reader.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    reader.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
    let readerPid: number | undefined;
    const exited = new Promise<number | null>((resolve) => reader.on('exit', (c) => resolve(c)));
    try {
      await until(
        'GET /api/v1/health',
        async () => {
          try {
            return (await fetch(`http://127.0.0.1:${port}/api/v1/health`)).ok;
          } catch {
            return false;
          }
        },
        120_000,
      );
      await until('the ready banner', () => /"msg":"ready: /.test(out), 30_000);
      const lines = out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.find((l) => String(l.msg).startsWith('DEMO DATA seeded'))).toMatchObject({
        level: 40,
      });
      const banner = lines.find((l) => String(l.msg).startsWith('ready: '))!;
      expect(banner).toMatchObject({
        url: `http://127.0.0.1:${port}`,
        token: path.join(data, 'api-token'),
      });
      readerPid = banner.pid as number;
      const phone = String(banner.phone);
      expect(phone).toBe(
        `npx reader-sim phone unlock --key ${path.join(data, 'demo-phone-key.json')} --air ${air}`,
      );

      // The second terminal: the commands as printed, in the clone.
      const host = String(banner.host);
      expect(host).toBe(
        `npx reader-sim host --url http://127.0.0.1:${port} --token-file ${path.join(data, 'api-token')} status`,
      );
      const status = await run('sh', ['-c', host], { cwd: clone });
      expect(status.stdout).toContain(String(banner.readerId));
      const unlock = await run('sh', ['-c', phone], { cwd: clone });
      expect(unlock.stdout.trim().split('\n')).toEqual([
        'in range (-40 dBm)',
        'connecting',
        'credential sent',
        'granted',
      ]);
    } finally {
      // SIGTERM to the reader itself (its pid is in every log line; npm does not forward a
      // signal sent to npm): npm then exits with the reader's own exit code.
      process.kill(readerPid ?? -reader.pid!, 'SIGTERM');
    }
    const timer = setTimeout(() => process.kill(-reader.pid!, 'SIGKILL'), 15_000);
    const code = await exited;
    clearTimeout(timer);
    expect(code).toBe(0);
    expect(out).toContain('"msg":"reader stopped"');
  });
});
