/**
 * A security tester's phone through the shipped CLI, for both profiles: `unlock --record`
 * saves exactly the bytes sent, `replay FILE` resends them on a new connection, `clone --as`
 * passes for another phone with its own key. Each prints the reader's answer and exits
 * non-zero on a refusal. Then a PKOC unlock captured with `--btsnoop`, decoded by tshark.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AirServer, serveAir } from '../../ble/controller';
import { loadDeviceKey, rawDataOf } from '../../ble/device-key';
import { credentialNumber, uncompressedOf } from '../../ble/pkoc/messages';
import type { DatabaseContent } from '../../firmware/foundation/model';
import { runCli, type CliRun } from '../run-cli';
import { MobileRig, startMobileRig } from './harness';

jest.setTimeout(60_000);

/** Longer than the unlock time and the cooldown. */
const PAUSE = 6_000;

function cli(...argv: string[]): Promise<CliRun> {
  return runCli(argv);
}

let dir: string;
let rig: MobileRig;
let server: AirServer;
let sock: string;
const keys: Record<string, string> = {};

function database(): DatabaseContent {
  const credentials = Object.entries(keys).map(([name, file]) => {
    const key = loadDeviceKey(file);
    const pkoc = name.endsWith('pkoc');
    return {
      id: name,
      userId: 'dana',
      kind: 'mobile' as const,
      value: pkoc ? credentialNumber(uncompressedOf(key.publicKey), 64) : key.deviceId,
      publicKey: rawDataOf(key).publicKey,
      enabled: true,
      accessPoints: ['*'],
    };
  });
  return {
    users: [{ id: 'dana', name: 'Dana', enabled: true }],
    credentials,
    schedules: [],
    holidays: [],
    accessPoints: [{ id: 'door-1', name: 'Front door' }],
  };
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'phone-attacks-'));
  rig = await startMobileRig(Date.now());
  sock = path.join(dir, 'air.sock');
  server = await serveAir(rig.air, { path: sock });
  for (const name of ['victim-sim', 'attacker-sim', 'victim-pkoc', 'attacker-pkoc']) {
    keys[name] = path.join(dir, `${name}.json`);
    const profile = name.endsWith('pkoc') ? 'pkoc' : 'reader-sim';
    const made = await cli('phone', 'keygen', '--profile', profile, '--key', keys[name]!);
    expect(made.code).toBe(0);
  }
  // Only the victims are in the database.
  delete keys['attacker-sim'];
  delete keys['attacker-pkoc'];
  await rig.client.push(database());
});

afterAll(async () => {
  await server?.close();
  await rig?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

it('keygen --profile pkoc prints the PKOC credential number', async () => {
  const file = path.join(dir, 'extra.json');
  const { code, out } = await cli('phone', 'keygen', '--profile', 'pkoc', '--key', file);
  expect(code).toBe(0);
  const number = credentialNumber(uncompressedOf(loadDeviceKey(file).publicKey), 64);
  expect(out.join('\n')).toContain(`PKOC number ${number} (64-bit)`);
});

it('scan lists both profiles', async () => {
  const scan = await cli('phone', 'scan', '--air', sock, '--timeout', '300');
  expect(scan.code).toBe(0);
  expect(scan.out).toEqual(['reader-1  -40 dBm  access  c0:de:0a:00:00:01  reader-sim,pkoc']);
});

it('enroll --profile pkoc: the public key and credential number become Raw Data', async () => {
  const file = path.join(dir, 'victim-pkoc.json');
  const key = loadDeviceKey(file);
  const enrollment = await rig.client.enroll('dana');
  const enroll = await cli('phone', 'enroll', '--profile', 'pkoc', '--air', sock, '--key', file);
  expect(enroll.out).toEqual(['in range (-40 dBm)', 'connecting', 'credential sent', 'enrolled']);
  expect(enroll.code).toBe(0);
  expect(await rig.client.enrollment(enrollment.id)).toMatchObject({
    state: 'captured',
    rawData: {
      deviceId: credentialNumber(uncompressedOf(key.publicKey), 64),
      publicKey: rawDataOf(key).publicKey,
    },
  });
});

describe.each([
  ['reader-sim', 'sim'],
  ['pkoc', 'pkoc'],
])('the %s profile', (profile, suffix) => {
  const victim = () => path.join(dir, `victim-${suffix}.json`);
  const attacker = () => path.join(dir, `attacker-${suffix}.json`);
  const recording = () => path.join(dir, `${suffix}.rec`);

  it('unlock --record writes exactly the bytes sent; the unlock is granted', async () => {
    await rig.clock.advanceAsync(PAUSE);
    const unlock = await cli(
      'phone',
      'unlock',
      '--profile',
      profile,
      '--air',
      sock,
      '--key',
      victim(),
      '--record',
      recording(),
    );
    expect(unlock.out.at(-1)).toBe('granted');
    expect(unlock.code).toBe(0);
    const body = JSON.parse(fs.readFileSync(recording(), 'utf8')) as Record<string, string>;
    expect(body.profile).toBe(profile);
    // The bytes are this phone's presentation (its own identity); the replay below shows the
    // reader takes them for the signed presentation it already answered.
    const bytes = Buffer.from(body.credential!, 'hex');
    const key = loadDeviceKey(victim());
    if (profile === 'pkoc') expect(bytes.subarray(2, 67)).toEqual(uncompressedOf(key.publicKey));
    else expect(bytes.includes(Buffer.from(key.deviceId))).toBe(true);
  });

  it('replay FILE on a new connection is refused replay, exit 1, and logged', async () => {
    await rig.clock.advanceAsync(PAUSE);
    const replay = await cli('phone', 'replay', recording(), '--air', sock);
    expect(replay.out.at(-1)).toBe('denied: replay');
    expect(replay.code).toBe(1);
    const events = (await rig.client.events(0, 1000)).events;
    expect(events.at(-1)).toMatchObject({ decision: 'deny', reason: 'replay' });
  });

  it("clone --as presents the victim's identity signed with another key: bad_signature, exit 1", async () => {
    await rig.clock.advanceAsync(PAUSE);
    const v = loadDeviceKey(victim());
    const as = profile === 'pkoc' ? rawDataOf(v).publicKey : v.deviceId;
    const clone = await cli(
      'phone',
      'clone',
      '--profile',
      profile,
      '--as',
      as,
      '--air',
      sock,
      '--key',
      attacker(),
    );
    expect(clone.out.at(-1)).toBe('denied: bad_signature');
    expect(clone.code).toBe(1);
    const events = (await rig.client.events(0, 1000)).events;
    expect(events.at(-1)).toMatchObject({
      decision: 'deny',
      reason: 'bad_signature',
      detail: { profile },
    });
  });
});

it('refuses bad tester usage with exit 2 and one line, changing nothing', async () => {
  const bad = path.join(dir, 'bad.rec');
  fs.writeFileSync(bad, '{"profile":"pkoc","credential":"zz"}');
  const before = (await rig.client.events(0, 1000)).events.length;
  for (const argv of [
    ['phone', 'replay', '--air', sock],
    ['phone', 'replay', bad, '--air', sock],
    ['phone', 'clone', '--air', sock, '--key', keys['victim-sim']!],
    ['phone', 'clone', '--profile', 'pkoc', '--as', 'not-a-key!', '--air', sock],
    ['phone', 'unlock', '--profile', 'nfc', '--air', sock],
    ['phone', 'scan', '--record', bad, '--air', sock],
  ]) {
    const { code, err } = await cli(...argv);
    expect({ argv, code }).toEqual({ argv, code: 2 });
    expect(err).toHaveLength(1);
  }
  expect((await rig.client.events(0, 1000)).events.length).toBe(before);
});

it('a PKOC unlock captured with --btsnoop decodes in tshark: the service and the TLVs', async () => {
  await rig.clock.advanceAsync(PAUSE);
  const capture = path.join(dir, 'pkoc.btsnoop');
  const unlock = await cli(
    'phone',
    'unlock',
    '--profile',
    'pkoc',
    '--air',
    sock,
    '--key',
    path.join(dir, 'victim-pkoc.json'),
    '--btsnoop',
    capture,
  );
  expect(unlock.code).toBe(0);
  const fields = execFileSync(
    'tshark',
    [
      '-r',
      capture,
      '-Y',
      'btatt',
      '-T',
      'fields',
      '-e',
      'btatt.opcode',
      '-e',
      'btatt.uuid16',
      '-e',
      'btatt.value',
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const text = execFileSync('tshark', ['-r', capture, '-V'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
    maxBuffer: 64 * 1024 * 1024,
  });
  expect(text).not.toMatch(/Malformed/);
  // The primary service 0xFFF0 found by discovery.
  expect(text).toMatch(/0xfff0/i);
  const values = fields
    .split('\n')
    .map((l) => l.split('\t')[2] ?? '')
    .filter(Boolean)
    .map((v) => v.replace(/:/g, '').toLowerCase());
  // The reader's hello: version (0x0C, 5), transaction id (0x02, 33), location (0x0D, 16), site (0x0E, 16).
  expect(
    values.some((v) =>
      /^0c05[0-9a-f]{10}0221[0-9a-f]{66}0d10[0-9a-f]{32}0e10[0-9a-f]{32}$/.test(v),
    ),
  ).toBe(true);
  // The phone's credential: public key (0x01, 65, 0x04...), signature (0x03, 64).
  expect(values.some((v) => /^014104[0-9a-f]{128}0340[0-9a-f]{128}/.test(v))).toBe(true);
  // The response: granted (0x04, 1, 0x03).
  expect(values).toContain('040103');
});
