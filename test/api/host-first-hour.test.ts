import fs from 'node:fs';
import path from 'node:path';
import { createDeviceKey, rawDataOf } from '../../ble/device-key';
import { runCli } from '../run-cli';
import { sampleDatabase, startTestReader, type TestReader } from './harness';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `reader-sim host ...` in-process, through the CLI's own entry (parsing, exit codes, output). */
async function host(...args: string[]): Promise<Run> {
  const { code, out, err } = await runCli(['host', ...args]);
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

describe('reader-sim host: what a first-time user gets wrong, said clearly', () => {
  let reader: TestReader;
  let tokenFile: string;
  beforeAll(async () => {
    delete process.env.READER_SIM_TOKEN;
    reader = await startTestReader();
    tokenFile = path.join(reader.dataDir, 'api-token');
  });
  afterAll(() => reader.close());

  it('a URL without a scheme is a usage error that shows the fix, not "cannot reach"', async () => {
    const bare = reader.api.url.replace(/^http:\/\//, '');
    const r = await host('--url', bare, '--data', reader.dataDir, 'status');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--url ${bare} has no scheme: write http://${bare}`);
    const ftp = await host('--url', 'ftp://127.0.0.1:1', '--data', reader.dataDir, 'status');
    expect(ftp.code).toBe(2);
    expect(ftp.stderr).toContain('--url ftp://127.0.0.1:1 is not an http:// or https:// address');
  });

  it('no token file names the file it looked for and the flags that point at one', async () => {
    const missing = path.join(reader.dataDir, 'nowhere');
    const r = await host('--url', reader.api.url, '--data', missing, 'status');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`no token: ${path.join(missing, 'api-token')} does not exist`);
    expect(r.stderr).toContain('--token-file FILE');
    const file = await host('--url', reader.api.url, '--token-file', missing, 'status');
    expect(file.code).toBe(2);
    expect(file.stderr).toContain(`--token-file ${missing}: cannot read it (ENOENT)`);
  });

  it('--token-file FILE (as the ready: line prints it) works; a wrong token says whose it is not', async () => {
    const ok = await host('--url', reader.api.url, '--token-file', tokenFile, 'status', '--json');
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toHaveProperty('readerId');
    const wrong = path.join(reader.dataDir, 'other-token');
    fs.writeFileSync(wrong, 'x'.repeat(43));
    const refused = await host('--url', reader.api.url, '--token-file', wrong, 'status');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('401 unauthorized');
    expect(refused.stderr).toContain(
      `the token from ${wrong} is not the token of the reader at ${reader.api.url}`,
    );
  });

  it('content shows the uses so far; enrollment --issue pushes the captured phone key', async () => {
    const file = path.join(reader.dataDir, 'site.json');
    fs.writeFileSync(file, JSON.stringify(sampleDatabase(2, 'h')));
    const at = ['--url', reader.api.url, '--data', reader.dataDir];
    expect((await host(...at, 'push', file)).code).toBe(0);
    await host(...at, 'sim', 'badge', '10001');
    const content = await host(...at, 'content');
    expect(content.code).toBe(0);
    expect(content.stdout).toMatch(/hc1 {2}badge 10001 {2}user h1 {2}uses 1\b/);
    expect(content.stdout).toMatch(/hc0 {2}badge 10000 {2}user h0 {2}uses 0\b/);

    const enroll = await host(...at, 'enroll', 'h0', '--json');
    const id = (JSON.parse(enroll.stdout) as { id: string }).id;
    const early = await host(...at, 'enrollment', id, '--issue', 'h0-phone');
    expect(early.code).toBe(1);
    expect(early.stderr).toContain(`enrollment ${id} is pending: nothing to issue`);
    const phone = rawDataOf(createDeviceKey('phone-h0'));
    await reader.client.sim.enrollCapture(phone);
    const issued = await host(...at, 'enrollment', id, '--issue', 'h0-phone');
    expect(issued.code).toBe(0);
    expect(issued.stdout).toMatch(/credential h0-phone \(mobile, device phone-h0\) for user h0$/);
    const stored = (await reader.client.content()).content.credentials.find(
      (c) => c.id === 'h0-phone',
    );
    expect(stored).toMatchObject({
      userId: 'h0',
      kind: 'mobile',
      value: 'phone-h0',
      publicKey: phone.publicKey,
      enabled: true,
      accessPoints: ['*'],
    });
  });
});
