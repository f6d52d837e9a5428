/**
 * The host API over TLS, end to end: the real `reader-sim start --tls-cert/--tls-key` child
 * process with the committed test certificate (test/fixtures/tls/README.md), the HostClient
 * and `reader-sim host --ca` against it, and each way to get it wrong refused.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { HostApiError, HostClient, type StreamMessage } from '../../firmware/api/client';
import { serveReader } from '../../firmware/profiles/serve';
import { testDrivers } from '../../firmware/profiles/test';
import { isLoopback } from '../../firmware/api/server';
import { readToken } from '../../firmware/api/token';
import { runCli } from '../run-cli';
import { freePort, runReaderSim, type ReaderProcess } from './start-process';

jest.setTimeout(180_000); // real processes (ts-node boots): minutes on a loaded machine

const FIXTURES = path.join(__dirname, '../fixtures/tls');
const CERT = path.join(FIXTURES, 'cert.pem');
const KEY = path.join(FIXTURES, 'key.pem');

/** A reader-sim command in this process, through the CLI's own entry (exit code, output). */
async function cli(args: string[], env: Record<string, string> = {}) {
  const saved = { ...process.env };
  Object.assign(process.env, { READER_SIM_CA: '', READER_SIM_URL: '', READER_SIM_TOKEN: '' }, env);
  try {
    const { code, out, err } = await runCli(args);
    return { code, stdout: out.join('\n'), stderr: err.join('\n') };
  } finally {
    process.env = saved;
  }
}

/** The socket error behind a fetch failure ("fetch failed" wraps it as cause). */
async function failure(promise: Promise<unknown>): Promise<string> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (err === undefined) return 'succeeded';
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? String(err);
}

describe('reader-sim start --tls-cert --tls-key', () => {
  let dir: string;
  let reader: ReaderProcess;
  let port: number;
  let url: string;
  let token: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reader-tls-'));
    port = await freePort();
    reader = runReaderSim([
      'start',
      ...['--data', dir, '--api-port', String(port), '--ble', 'off'],
      ...['--tls-cert', CERT, '--tls-key', KEY],
    ]);
    await reader.waitFor((l) => typeof l.msg === 'string' && l.msg.startsWith('ready:'));
    url = `https://127.0.0.1:${port}`;
    token = readToken(dir);
  });

  afterAll(async () => {
    reader.child.kill('SIGTERM');
    await reader.exited;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('says https in the listening and ready lines, and warns about nothing on loopback', () => {
    const listening = reader.lines.find((l) => l.msg === `host API listening on ${url}`);
    expect(listening).toMatchObject({ url, tls: true });
    const ready = reader.lines.find((l) => String(l.msg).startsWith('ready:'));
    expect(ready).toMatchObject({ url });
    expect(String(ready?.msg)).toContain(`API ${url}`);
    expect(reader.lines.filter((l) => l.level === 'warn' || l.level === 40)).toEqual([]);
  });

  it('serves status with the token to a client that trusts the certificate', async () => {
    const client = new HostClient(url, token, { ca: fs.readFileSync(CERT) });
    const status = await client.status();
    expect(status).toMatchObject({ readerId: expect.any(String), relay: 'locked' });
    // Still the token gate behind TLS.
    const err = await new HostClient(url, 'x'.repeat(43), { ca: fs.readFileSync(CERT) })
      .status()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostApiError);
    expect((err as HostApiError).status).toBe(401);
  });

  it('follows the event stream over TLS', async () => {
    const client = new HostClient(url, token, { ca: fs.readFileSync(CERT) });
    const controller = new AbortController();
    const messages: StreamMessage[] = [];
    await client.stream(
      (m) => {
        messages.push(m);
        controller.abort();
      },
      { signal: controller.signal },
    );
    // The hello, then whatever the same TLS record carried (the boot's events).
    expect(messages[0]).toMatchObject({ type: 'hello', data: { link: 'up' } });
  });

  it('refuses a client that does not trust the certificate', async () => {
    // Node's own fetch, no CA: the self-signed certificate is not accepted.
    expect(await failure(new HostClient(url, token).status())).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
    // A CA that is not the reader's: still refused.
    const other = new HostClient(url, token, { ca: otherCertificate() });
    expect(await failure(other.status())).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
  });

  it('checks the host name: the certificate names localhost and 127.0.0.1 only', async () => {
    const byName = new HostClient(`https://localhost:${port}`, token, {
      ca: fs.readFileSync(CERT),
    });
    expect(await byName.health()).toMatchObject({ ok: true });
    // Same socket, another name the certificate does not carry.
    const wrongName = new HostClient(`https://reader.invalid.localhost:${port}`, token, {
      ca: fs.readFileSync(CERT),
    });
    expect(await failure(wrongName.health())).toMatch(/ERR_TLS_CERT_ALTNAME_INVALID|ENOTFOUND/);
  });

  it('does not answer plain HTTP on the TLS port', async () => {
    const plain = await failure(fetch(`http://127.0.0.1:${port}/api/v1/health`));
    expect(plain).not.toBe('succeeded');
  });

  it('works from `reader-sim host --ca` and READER_SIM_CA; without it, a clear trust error', async () => {
    const host = (args: string[], env?: Record<string, string>) => cli(['host', ...args], env);
    const withFlag = await host(['--url', url, '--data', dir, '--ca', CERT, '--json', 'status']);
    expect(withFlag.stderr).toBe('');
    expect(withFlag.code).toBe(0);
    expect(JSON.parse(withFlag.stdout)).toMatchObject({ relay: 'locked' });

    const withEnv = await host(['--url', url, '--data', dir, 'state'], { READER_SIM_CA: CERT });
    expect(withEnv).toMatchObject({ code: 0, stdout: 'schedule' });

    const untrusted = await host(['--url', url, '--data', dir, 'status']);
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toContain('certificate this client does not trust');
    expect(untrusted.stderr).toContain('--ca FILE');

    const notPem = await host(['--url', url, '--data', dir, '--ca', KEY, 'status']);
    expect(notPem.code).toBe(2);
    expect(notPem.stderr).toContain(`--ca ${KEY} is not a PEM certificate`);
  });
});

/** A second self-signed certificate (made on the fly; the fixture README says how). */
function otherCertificate(): Buffer {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reader-tls-other-'));
  try {
    const made = spawnSync(
      'openssl',
      [
        ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'],
        ...['-days', '1', '-nodes', '-subj', '/CN=localhost'],
        ...['-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
        ...['-keyout', path.join(dir, 'k.pem'), '-out', path.join(dir, 'c.pem')],
      ],
      { encoding: 'utf8' },
    );
    if (made.status !== 0) throw new Error(`openssl failed: ${made.stderr}`);
    return fs.readFileSync(path.join(dir, 'c.pem'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('reader-sim start: TLS mistakes stop it before anything boots', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reader-tls-bad-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  // In-process through the CLI entry: these fail before the reader would boot, so the
  // command returns (a good start would run until a signal; the child test above is that).
  const start = (extra: string[]) =>
    cli(['start', '--data', dir, '--api-port', '1', '--ble', 'off', ...extra]);

  it.each([
    [['--tls-cert', CERT], 2, '--tls-cert and --tls-key go together'],
    [['--tls-key', KEY], 2, '--tls-cert and --tls-key go together'],
    [['--tls-cert', '/nonexistent/cert.pem', '--tls-key', KEY], 1, 'cannot read it (ENOENT)'],
    [['--tls-cert', KEY, '--tls-key', KEY], 1, 'is not a PEM certificate'],
    [['--tls-cert', CERT, '--tls-key', CERT], 1, 'is not a PEM private key'],
  ])('%j: exit %i, %s', async (args, code, message) => {
    const result = await start(args);
    expect(result.code).toBe(code);
    expect(result.stderr).toContain(message);
    // Nothing booted: no flash image, no token made.
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('refuses a key that belongs to another certificate', async () => {
    const made = spawnSync('openssl', [
      ...['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1'],
      ...['-out', path.join(dir, 'other-key.pem')],
    ]);
    expect(made.status).toBe(0);
    const result = await start(['--tls-cert', CERT, '--tls-key', path.join(dir, 'other-key.pem')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('does not belong to --tls-cert');
    expect(fs.readdirSync(dir)).toEqual(['other-key.pem']);
  });
});

describe('the host API on a non-loopback address', () => {
  it('tells loopback addresses from the network', () => {
    const loopback = ['127.0.0.1', '127.1.2.3', '::1', '[::1]', '::ffff:127.0.0.1', 'localhost'];
    const network = [
      '0.0.0.0',
      '::',
      '192.168.1.20',
      '10.0.0.1',
      'fe80::1',
      '128.0.0.1',
      'reader.lan',
    ];
    expect(loopback.filter((a) => !isLoopback(a))).toEqual([]);
    expect(network.filter((a) => isLoopback(a))).toEqual([]);
  });

  it.each([
    ['0.0.0.0', false, true],
    ['0.0.0.0', true, false],
    ['127.0.0.1', false, false],
  ])('%s, TLS %s: clear-text warning %s', async (apiHost, tls, warned) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reader-wide-'));
    const warnings: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void warnings.push(line) });
    const served = await serveReader({
      drivers: testDrivers(),
      dataDir: dir,
      apiHost,
      apiPort: 0,
      apiTls: tls ? { cert: fs.readFileSync(CERT), key: fs.readFileSync(KEY) } : undefined,
      logger,
    });
    try {
      expect(served.api.url.startsWith(tls ? 'https://' : 'http://')).toBe(true);
      const clear = warnings
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((l) => /WITHOUT TLS/.test(String(l.msg)));
      expect(clear).toEqual(
        warned ? [expect.objectContaining({ level: 40, address: apiHost })] : [],
      );
    } finally {
      await served.shutdown();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
