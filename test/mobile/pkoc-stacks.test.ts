/**
 * PKOC end to end on both bleno packages, through the shipped CLI phone and the host API:
 * the same scenario against a reader whose GATT services run on @stoprocent/bleno (in this
 * process, the test profile) and on @abandonware/bleno (a `reader-sim start --ble-stack
 * abandonware` child: that package is a process singleton jest cannot load). Enroll -> Raw
 * Data -> push -> grant; unknown key; wrong signature; replay and clone; the ECDHE flow with
 * the site key given as files (`--pkoc-site-key`, `--site-key`), and a phone holding another
 * site's key; then expiry and not-yet-valid after moving the reader's clock, both profiles.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { serveAir } from '../../ble/controller';
import { loadDeviceKey, rawDataOf } from '../../ble/device-key';
import { credentialNumber, uncompressedOf } from '../../ble/pkoc/messages';
import { loadOrCreateSiteKey } from '../../ble/pkoc/site-key';
import { HostClient } from '../../firmware/api/client';
import type { DatabaseContent, RawData } from '../../firmware/foundation/model';
import { provisionPkocSiteKey } from '../../scripts/commands/start-pkoc';
import { readerLauncher } from '../../scripts/dev/soak/reader-build';
import { runCli } from '../run-cli';
import { freePort, runReaderSim } from '../security/start-process';
import { startMobileRig } from './harness';

jest.setTimeout(120_000);

const DAY = 86_400_000;

interface StackReader {
  client: HostClient;
  /** The served air the CLI phone joins. */
  air: string;
  /** The site public key file the reader wrote for its phones. */
  sitePub: string;
  close(): Promise<void>;
}

/** @stoprocent/bleno: the in-process test rig, its air served on a socket for the CLI. */
async function inProcessReader(dir: string, now: number): Promise<StackReader> {
  const rig = await startMobileRig(now);
  const air = path.join(dir, 'air.sock');
  const server = await serveAir(rig.air, { path: air });
  // What `reader-sim start --pkoc-site-key FILE` does at boot, on this rig's firmware.
  const site = loadOrCreateSiteKey(path.join(dir, 'site.key'));
  provisionPkocSiteKey(rig.reader(), site);
  return {
    client: rig.client,
    air,
    sitePub: site.publicFile,
    async close() {
      await server.close();
      await rig.close();
    },
  };
}

/** @abandonware/bleno: `reader-sim start` in a child process, killed after the file. */
async function childReader(dir: string): Promise<StackReader> {
  const data = path.join(dir, 'data');
  const air = path.join(dir, 'air.sock');
  const siteKey = path.join(dir, 'site.key');
  const port = await freePort();
  const reader = runReaderSim(
    [
      'start',
      '--data',
      data,
      '--api-port',
      String(port),
      '--air',
      air,
      '--ble-stack',
      'abandonware',
      '--pkoc-site-key',
      siteKey,
    ],
    {},
    readerLauncher(),
  );
  const up = await reader.waitFor(
    (l) => typeof l.msg === 'string' && l.msg.includes('BLE reader service up'),
  );
  expect(up.stack).toBe('@abandonware/bleno');
  await reader.waitFor((l) => typeof l.msg === 'string' && l.msg.startsWith('ready:'));
  const token = fs.readFileSync(path.join(data, 'api-token'), 'utf8').trim();
  return {
    client: new HostClient(`http://127.0.0.1:${port}`, token),
    air,
    sitePub: `${siteKey}.pub`,
    async close() {
      reader.child.kill('SIGTERM');
      await reader.exited;
    },
  };
}

/** The CLI in-process; its exit code and everything it printed, in order. */
async function cli(...argv: string[]): Promise<{ code: number; out: string[] }> {
  const r = await runCli(argv);
  return { code: r.code, out: r.all };
}

describe.each([
  ['stoprocent', false],
  ['abandonware', true],
])('PKOC through the CLI phone, reader on @%s/bleno', (_stack, spawned) => {
  let dir: string;
  let reader: StackReader;
  let now: number;
  const key = (name: string) => path.join(dir, `${name}.json`);
  const phone = (...argv: string[]) => cli('phone', ...argv, '--air', reader.air);
  const pkoc = (action: string, name: string, ...argv: string[]) =>
    phone(action, '--profile', 'pkoc', '--key', key(name), ...argv);
  let enrolled: RawData;

  async function lastEvent(): Promise<Record<string, unknown>> {
    return (await reader.client.events(0, 1000)).events.at(-1) as unknown as Record<
      string,
      unknown
    >;
  }

  function database(phones = true): DatabaseContent {
    const dana = loadDeviceKey(key('dana'));
    const window = { enabled: true, accessPoints: ['*'], start: now - DAY, end: now + DAY };
    const users = [{ id: 'dana', name: 'Dana', enabled: true }];
    const doors = [{ id: 'door-1', name: 'Front door' }];
    if (!phones)
      return { users, credentials: [], schedules: [], holidays: [], accessPoints: doors };
    return {
      users,
      credentials: [
        // The PKOC credential exactly as enroll mode captured it.
        {
          id: 'dana-pkoc',
          userId: 'dana',
          kind: 'mobile',
          value: enrolled.deviceId,
          publicKey: enrolled.publicKey,
          ...window,
        },
        // The same phone's key on the reader's own profile.
        {
          id: 'dana-sim',
          userId: 'dana',
          kind: 'mobile',
          value: dana.deviceId,
          publicKey: rawDataOf(dana).publicKey,
          ...window,
        },
      ],
      schedules: [],
      holidays: [],
      accessPoints: doors,
    };
  }

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pkoc-stacks-'));
    now = Date.now();
    reader = spawned ? await childReader(dir) : await inProcessReader(dir, now);
    // Real time runs for the child: no cooldown between the attempts below.
    await reader.client.patchConfig({ blePhoneCooldownMs: 0 });
    for (const name of ['dana', 'stranger', 'mallory']) {
      expect((await cli('phone', 'keygen', '--profile', 'pkoc', '--key', key(name))).code).toBe(0);
    }
  });

  afterAll(async () => {
    await reader?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('enroll captures the public key and credential number as Raw Data; pushed, it grants', async () => {
    const dana = loadDeviceKey(key('dana'));
    // Dana exists, her phone does not yet.
    await reader.client.push(database(false));
    const enrollment = await reader.client.enroll('dana');
    const enroll = await pkoc('enroll', 'dana');
    expect(enroll.out.at(-1)).toBe('enrolled');
    const captured = await reader.client.enrollment(enrollment.id);
    expect(captured).toMatchObject({
      state: 'captured',
      rawData: {
        deviceId: credentialNumber(uncompressedOf(dana.publicKey), 64),
        publicKey: rawDataOf(dana).publicKey,
      },
    });
    enrolled = captured.rawData as RawData;
    await reader.client.push(database());
    const unlock = await pkoc('unlock', 'dana', '--record', path.join(dir, 'dana.rec'));
    expect(unlock).toEqual({ code: 0, out: expect.arrayContaining(['granted']) });
    expect(await lastEvent()).toMatchObject({
      decision: 'grant',
      credentialId: 'dana-pkoc',
      detail: { source: 'ble', profile: 'pkoc', presented: enrolled.deviceId },
    });
  });

  it('an unknown key is denied unknown_credential, exit 1', async () => {
    const r = await pkoc('unlock', 'stranger');
    expect({ code: r.code, last: r.out.at(-1) }).toEqual({
      code: 1,
      last: 'denied: unknown_credential',
    });
  });

  it('a wrong signature (the recording with one bit flipped) is denied bad_signature', async () => {
    const rec = JSON.parse(fs.readFileSync(path.join(dir, 'dana.rec'), 'utf8')) as {
      profile: string;
      credential: string;
    };
    const bytes = Buffer.from(rec.credential, 'hex');
    // 0x01 65 key, then 0x03 64 signature: flip a bit of s.
    expect(bytes.subarray(67, 69)).toEqual(Buffer.from([0x03, 0x40]));
    bytes[69 + 40] ^= 0x01;
    const forged = path.join(dir, 'forged.rec');
    fs.writeFileSync(forged, JSON.stringify({ ...rec, credential: bytes.toString('hex') }));
    const r = await phone('replay', forged);
    expect({ code: r.code, last: r.out.at(-1) }).toEqual({
      code: 1,
      last: 'denied: bad_signature',
    });
    expect(await lastEvent()).toMatchObject({
      decision: 'deny',
      reason: 'bad_signature',
      detail: { profile: 'pkoc' },
    });
  });

  it('replay of the recorded unlock is denied replay; a clone bad_signature', async () => {
    const replay = await phone('replay', path.join(dir, 'dana.rec'));
    expect({ code: replay.code, last: replay.out.at(-1) }).toEqual({
      code: 1,
      last: 'denied: replay',
    });
    const clone = await pkoc('clone', 'mallory', '--as', enrolled.publicKey!);
    expect({ code: clone.code, last: clone.out.at(-1) }).toEqual({
      code: 1,
      last: 'denied: bad_signature',
    });
    expect(await lastEvent()).toMatchObject({ decision: 'deny', reason: 'bad_signature' });
  });

  it('ECDHE: the phone given the site public key unlocks; one given another site refuses the reader', async () => {
    const r = await pkoc('unlock', 'dana', '--site-key', reader.sitePub);
    expect({ code: r.code, last: r.out.at(-1) }).toEqual({ code: 0, last: 'granted' });
    expect(await lastEvent()).toMatchObject({ decision: 'grant', credentialId: 'dana-pkoc' });

    const other = path.join(dir, 'other.pub');
    fs.writeFileSync(
      other,
      fs.readFileSync(loadOrCreateSiteKey(path.join(dir, 'other.key')).publicFile),
    );
    const before = (await reader.client.events(0, 1000)).events.length;
    const refused = await pkoc('unlock', 'dana', '--site-key', other);
    expect({ code: refused.code, last: refused.out.at(-1) }).toEqual({
      code: 1,
      last: 'refused: site not proven',
    });
    // The phone sent no credential: nothing was decided.
    expect((await reader.client.events(0, 1000)).events.length).toBe(before);
  });

  it.each([
    ['pkoc', ['--profile', 'pkoc']],
    ['reader-sim', []],
  ])(
    'moving the reader clock: %s is expired past the end, not_yet_valid before the start',
    async (_p, flags) => {
      const unlock = () => phone('unlock', ...flags, '--key', key('dana'));
      const answers: string[] = [];
      for (const at of [now + 3 * DAY, now - 3 * DAY, now]) {
        await reader.client.setTime(new Date(at).toISOString());
        answers.push((await unlock()).out.at(-1)!);
      }
      expect(answers).toEqual(['denied: expired', 'denied: not_yet_valid', 'granted']);
    },
  );
});

it('the site key file: created once with mode 0600, its public half for phones; junk refused in one line', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pkoc-site-'));
  try {
    const file = path.join(dir, 'site.key');
    const first = loadOrCreateSiteKey(file);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(loadOrCreateSiteKey(file).privateHex).toBe(first.privateHex);
    // The public half is a standard PEM key OpenSSL reads.
    const text = execFileSync(
      'openssl',
      ['pkey', '-pubin', '-in', first.publicFile, '-noout', '-text'],
      {
        encoding: 'utf8',
      },
    );
    expect(text).toMatch(/prime256v1|P-256/);
    fs.writeFileSync(file, 'not a key\n');
    const r = await cli(
      'start',
      '--data',
      path.join(dir, 'data'),
      '--pkoc-site-key',
      file,
      '--ble',
      'off',
    );
    expect(r.code).toBe(2);
    expect(r.out).toEqual([
      `reader-sim start: ${file} is not a PKOC site key (64 hex digits, a P-256 private key)`,
    ]);
    expect(fs.existsSync(path.join(dir, 'data'))).toBe(false);
    const stack = await cli('start', '--data', path.join(dir, 'data'), '--ble-stack', 'bluez');
    expect(stack).toEqual({
      code: 2,
      out: ["reader-sim start: --ble-stack must be stoprocent or abandonware, got 'bluez'"],
    });
    expect(fs.existsSync(path.join(dir, 'data'))).toBe(false);
    // The phone's --site-key: junk, or on the wrong profile, is a usage error before any radio.
    for (const argv of [
      ['unlock', '--profile', 'pkoc', '--site-key', file],
      ['unlock', '--site-key', first.publicFile],
      ['replay', path.join(dir, 'none.rec'), '--site-key', first.publicFile],
    ]) {
      const bad = await cli('phone', ...argv, '--air', path.join(dir, 'no-air.sock'));
      expect({ argv, code: bad.code, lines: bad.out.length }).toEqual({ argv, code: 2, lines: 1 });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
