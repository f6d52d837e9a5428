/**
 * bin/healthcheck.js, the image's HEALTHCHECK, against a real host API: healthy over plain
 * HTTP, healthy over TLS (a reader started with --tls-cert), unhealthy with nobody there.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestReader } from '../api/harness';
import { freePort, runReaderSim } from '../security/start-process';

jest.setTimeout(180_000); // real processes (ts-node boots): minutes on a loaded machine

const SCRIPT = path.join(__dirname, '../../bin/healthcheck.js');

function healthcheck(port: number): Promise<number> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SCRIPT, String(port)], (err) =>
      resolve(err ? ((err as { code?: number }).code ?? -1) : 0),
    );
  });
}

describe('bin/healthcheck.js', () => {
  it('exits 0 when the host API answers over HTTP', async () => {
    const reader = await startTestReader();
    try {
      expect(await healthcheck(Number(new URL(reader.client.baseUrl).port))).toBe(0);
    } finally {
      await reader.close();
    }
  });

  it('exits 0 when the reader speaks TLS only', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'healthcheck-tls-'));
    const tls = path.join(__dirname, '../fixtures/tls');
    const port = await freePort();
    const reader = runReaderSim([
      ...['start', '--data', dir, '--api-port', String(port), '--ble', 'off'],
      ...['--tls-cert', path.join(tls, 'cert.pem'), '--tls-key', path.join(tls, 'key.pem')],
    ]);
    try {
      await reader.waitFor((l) => typeof l.msg === 'string' && l.msg.startsWith('ready:'));
      expect(await healthcheck(port)).toBe(0);
    } finally {
      reader.child.kill('SIGTERM');
      await reader.exited;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits 1 when nothing listens', async () => {
    expect(await healthcheck(await freePort())).toBe(1);
  });
});
