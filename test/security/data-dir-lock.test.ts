import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { freePort, runReaderSim, type ReaderProcess } from './start-process';
import { sampleDatabase } from '../api/harness';
import { cliCommand } from '../cli-command';

// The transpiled CLI: the same code as bin/reader-sim.js, without ts-node's start-up.
const launcher = cliCommand();

/**
 * One reader process per data directory (firmware/data-dir-lock.ts), through real
 * `reader-sim start` processes: a second reader is refused, a killed one's lock is taken over,
 * and `flash fsck/inspect` read a held directory without touching it.
 */
describe('one reader per data directory', () => {
  let dir: string;
  let children: ReaderProcess[] = [];

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reader-lock-'));
  });
  afterEach(async () => {
    for (const c of children) {
      if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
      await c.exited;
    }
    children = [];
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function start(): Promise<{ proc: ReaderProcess; url: string }> {
    const port = await freePort();
    const air = path.join(dir, `air-${children.length}.sock`);
    const proc = runReaderSim(
      ['start', '--data', path.join(dir, 'data'), '--api-port', String(port), '--air', air],
      {},
      launcher,
    );
    children.push(proc);
    return { proc, url: `http://127.0.0.1:${port}/api/v1` };
  }

  const ready = (p: ReaderProcess) =>
    p.waitFor((l) => typeof l.msg === 'string' && l.msg.startsWith('ready'));
  const token = () => fs.readFileSync(path.join(dir, 'data', 'api-token'), 'utf8').trim();
  const call = (url: string, method = 'GET', body?: unknown) =>
    fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${token()}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const lockFile = () => path.join(dir, 'data', 'reader.lock');

  test('a second reader on the same directory is refused with the holder pid; the first keeps working', async () => {
    const first = await start();
    await ready(first.proc);
    expect((await call(`${first.url}/database`, 'PUT', sampleDatabase(5))).status).toBe(200);
    expect(fs.readFileSync(lockFile(), 'utf8')).toBe(`${first.proc.child.pid}\n`);

    const second = await start();
    expect(await second.proc.exited).toBe(1);
    const refusal = second.proc.stderr().trim();
    expect(refusal.split('\n')).toHaveLength(1);
    expect(refusal).toContain(`in use by another reader-sim (pid ${first.proc.child.pid})`);

    // The first reader still answers and writes; its lock is unchanged.
    expect((await call(`${first.url}/database`, 'PUT', sampleDatabase(7))).status).toBe(200);
    const db = (await (await call(`${first.url}/database`)).json()) as {
      version: number;
      counts: { credentials: number };
    };
    expect(db.counts.credentials).toBe(7);
    expect(fs.readFileSync(lockFile(), 'utf8')).toBe(`${first.proc.child.pid}\n`);

    first.proc.child.kill('SIGTERM');
    expect(await first.proc.exited).toBe(0);
    expect(fs.existsSync(lockFile())).toBe(false);

    // Nothing lost: a new reader reads back what the first acknowledged.
    const third = await start();
    await ready(third.proc);
    const after = (await (await call(`${third.url}/database`)).json()) as typeof db;
    expect(after).toEqual(db);
  }, 60_000);

  test("a SIGKILLed reader's stale lock is taken over", async () => {
    const first = await start();
    await ready(first.proc);
    expect((await call(`${first.url}/database`, 'PUT', sampleDatabase(4))).status).toBe(200);
    first.proc.child.kill('SIGKILL');
    await first.proc.exited;
    expect(fs.readFileSync(lockFile(), 'utf8')).toBe(`${first.proc.child.pid}\n`);

    const second = await start();
    await ready(second.proc);
    expect(fs.readFileSync(lockFile(), 'utf8')).toBe(`${second.proc.child.pid}\n`);
    const db = (await (await call(`${second.url}/database`)).json()) as {
      counts: { credentials: number };
    };
    expect(db.counts.credentials).toBe(4);
  }, 60_000);

  test('flash fsck and inspect read a held directory read-only; files are for the owner only', async () => {
    const first = await start();
    await ready(first.proc);
    const data = path.join(dir, 'data');
    const image = path.join(data, 'flash.img');
    const before = fs.readFileSync(image);
    const filesBefore = fs.readdirSync(data).sort();
    for (const action of ['fsck', 'inspect']) {
      const run = spawnSync(launcher.command, [...launcher.args, 'flash', action, '--data', data], {
        encoding: 'utf8',
      });
      expect(run.status).toBe(0);
    }
    expect(fs.readFileSync(image).equals(before)).toBe(true);
    expect(fs.readdirSync(data).sort()).toEqual(filesBefore);
    expect(fs.readFileSync(lockFile(), 'utf8')).toBe(`${first.proc.child.pid}\n`);

    const mode = (file: string) => fs.statSync(file).mode & 0o777;
    expect(mode(data)).toBe(0o700);
    expect(mode(image)).toBe(0o600);
    expect(mode(path.join(data, 'api-token'))).toBe(0o600);
    expect(mode(lockFile())).toBe(0o600);
  }, 60_000);
});
