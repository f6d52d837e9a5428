/**
 * PKOC over BLE through the real stacks: noble speaks PKOC's TLVs to bleno's 0xFFF0 service
 * on the virtual controller, and the reader's own decision answers. Enrollment captures the
 * public key and credential number as Raw Data; the host pushes them; the phone unlocks.
 * Then the refusals: an unknown key, a wrong signature, a replay, a clone.
 */
import { randomBytes } from 'node:crypto';
import { createDeviceKey, DeviceKey, rawDataOf } from '../../ble/device-key';
import { PkocLink, pkocCredential, pkocPresent } from '../../ble/pkoc/phone';
import {
  credentialNumber,
  decodeReaderHello,
  keyFromUncompressed,
  siteKeyPair,
  uncompressedOf,
} from '../../ble/pkoc/messages';
import type { VirtualPhone } from '../../ble/phone';
import type { DatabaseContent, EventRecord } from '../../firmware/foundation/model';
import { MobileRig, startMobileRig } from './harness';

jest.setTimeout(30_000);

const START = Date.UTC(2026, 5, 1, 16, 0, 0);
const PAUSE = 6_000;

let rig: MobileRig;
let bob: DeviceKey;
let bobPhone: VirtualPhone;
let number: string;

function database(extra: Record<string, unknown> | false = {}): DatabaseContent {
  return {
    users: [{ id: 'bob', name: 'Bob', enabled: true }],
    credentials:
      extra === false
        ? []
        : [
            {
              id: 'bob-pkoc',
              userId: 'bob',
              kind: 'mobile',
              value: number,
              publicKey: rawDataOf(bob).publicKey,
              enabled: true,
              accessPoints: ['*'],
              ...extra,
            },
          ],
    schedules: [],
    holidays: [],
    accessPoints: [{ id: 'door-1', name: 'Front door' }],
  };
}

async function lastAccess(): Promise<EventRecord> {
  const page = await rig.client.events(0, 1000);
  return page.events.filter((e) => e.type === 'access').at(-1)!;
}

async function attempt(phone: VirtualPhone, key: DeviceKey, options = {}): Promise<string> {
  await rig.clock.advanceAsync(PAUSE);
  const r = await pkocPresent(phone, key, options);
  return r.status === 'granted' ? 'granted' : `${r.status}: ${r.reason}`;
}

beforeAll(async () => {
  rig = await startMobileRig(START);
  bob = createDeviceKey('bob-pkoc');
  number = credentialNumber(uncompressedOf(bob.publicKey), 64);
  bobPhone = rig.phone({ key: bob }).phone;
  await rig.client.push(database(false));
});

afterAll(async () => {
  await rig?.close();
});

describe('PKOC facts', () => {
  it('derives the credential number from the low 64 bits of X, and reads keys back', () => {
    const raw = uncompressedOf(bob.publicKey);
    expect(raw).toHaveLength(65);
    expect(raw[0]).toBe(0x04);
    expect(number).toBe(BigInt(`0x${raw.subarray(25, 33).toString('hex')}`).toString());
    expect(rawDataOf({ ...bob, publicKey: keyFromUncompressed(raw)! }).publicKey).toBe(
      rawDataOf(bob).publicKey,
    );
    const offCurve = Buffer.from(raw);
    offCurve[64] ^= 1;
    expect(keyFromUncompressed(offCurve)).toBeUndefined();
  });
});

describe('PKOC enroll, push, unlock', () => {
  it('advertises both services; scan lists the PKOC profile', async () => {
    const readers = await bobPhone.scan(2000, undefined, ['pkoc']);
    expect(readers[0]?.profiles).toEqual(['reader-sim', 'pkoc']);
  });

  it('captures the public key and credential number as Raw Data in enroll mode', async () => {
    const enrollment = await rig.client.enroll('bob');
    const result = await pkocPresent(bobPhone, bob);
    expect(result).toEqual({ status: 'enrolled' });
    expect(await rig.client.enrollment(enrollment.id)).toMatchObject({
      state: 'captured',
      rawData: { deviceId: number, publicKey: rawDataOf(bob).publicKey },
    });
    const events = (await rig.client.events(0, 1000)).events;
    expect(events.at(-1)).toMatchObject({
      type: 'enroll',
      detail: { rawData: { deviceId: number } },
    });
  });

  it('grants the pushed credential, and the event names the profile', async () => {
    await rig.client.push(database());
    expect(await attempt(bobPhone, bob)).toBe('granted');
    expect(await lastAccess()).toMatchObject({
      decision: 'grant',
      credentialId: 'bob-pkoc',
      detail: { source: 'ble', profile: 'pkoc', presented: number },
    });
    const status = await rig.client.status();
    expect(JSON.stringify(status)).toContain('"profile":"pkoc"');
  });

  it('denies an unknown key unknown_credential', async () => {
    const stranger = createDeviceKey('stranger');
    const phone = rig.phone({ key: stranger }).phone;
    expect(await attempt(phone, stranger)).toBe('denied: unknown_credential');
  });

  it('denies a wrong signature bad_signature (PKOC SignatureInvalid)', async () => {
    await rig.clock.advanceAsync(PAUSE);
    const found = await bobPhone.find(undefined, 3000, 'pkoc');
    const link = await PkocLink.open(found);
    try {
      const hello = await link.hello();
      const other = createDeviceKey('other');
      // Bob's public key, signed by another key: a forgery.
      await link.writeCredential(pkocCredential(hello, other.privateKey, bob.publicKey));
      expect(await link.response()).toEqual({ code: 'signatureInvalid', reason: 'bad_signature' });
    } finally {
      await link.disconnect();
    }
    expect(await lastAccess()).toMatchObject({ decision: 'deny', reason: 'bad_signature' });
  });

  it('answers a replay on a new connection replay, and a clone bad_signature', async () => {
    let sent: Buffer | undefined;
    expect(await attempt(bobPhone, bob, { sent: (b: Buffer) => (sent = b) })).toBe('granted');
    expect(await attempt(bobPhone, bob, { bytes: sent })).toBe('denied: replay');
    const mallory = createDeviceKey('mallory');
    const malloryPhone = rig.phone({ key: mallory }).phone;
    expect(await attempt(malloryPhone, mallory, { as: bob.publicKey })).toBe(
      'denied: bad_signature',
    );
  });

  it('ignores malformed writes and still answers the real one on the same link', async () => {
    await rig.clock.advanceAsync(PAUSE);
    const before = (await rig.client.events(0, 1000)).events.length;
    const found = await bobPhone.find(undefined, 3000, 'pkoc');
    const link = await PkocLink.open(found);
    try {
      const hello = await link.hello();
      expect(decodeReaderHello(Buffer.alloc(3))).toBeUndefined();
      const good = pkocCredential(hello, bob.privateKey, bob.publicKey);
      for (const bad of [good.subarray(0, 10), Buffer.concat([good, Buffer.from([0x01])])]) {
        await link.writeCredential(bad);
      }
      expect((await rig.client.events(0, 1000)).events.length).toBe(before);
      await link.writeCredential(good);
      expect(await link.response()).toEqual({ code: 'accessGranted', reason: 'granted' });
    } finally {
      await link.disconnect();
    }
  });
});

describe('config turns either service off', () => {
  it('blePkocService false: no 0xFFF0 advertised or served; true again: back', async () => {
    await rig.client.patchConfig({ blePkocService: false });
    // A phone that never heard the reader: noble adds to what it heard from an address before.
    const fresh = rig.phone({ key: bob }).phone;
    try {
      const heard = await fresh.scan(1500, undefined, ['reader-sim', 'pkoc']);
      expect(heard.map((r) => r.profiles)).toEqual([['reader-sim']]);
      await expect(pkocPresent(fresh, bob, { timeoutMs: 1500 })).rejects.toThrow(/no reader/);
    } finally {
      await rig.client.patchConfig({ blePkocService: true });
    }
    await rig.clock.advanceAsync(PAUSE);
    expect((await pkocPresent(bobPhone, bob)).status).toBe('granted');
  });

  it('bleReaderSimService false: only PKOC is advertised', async () => {
    await rig.client.patchConfig({ bleReaderSimService: false });
    const fresh = rig.phone({ key: bob }).phone;
    try {
      const heard = await fresh.scan(1500, undefined, ['reader-sim', 'pkoc']);
      expect(heard.map((r) => r.profiles)).toEqual([['pkoc']]);
    } finally {
      await rig.client.patchConfig({ bleReaderSimService: true });
    }
  });
});

describe('the ECDHE perfect-secrecy flow', () => {
  const siteHex = randomBytes(32).toString('hex');

  it('is ignored without a site key: the phone gets no site signature', async () => {
    await rig.clock.advanceAsync(PAUSE);
    const site = siteKeyPair(siteHex);
    await expect(
      pkocPresent(bobPhone, bob, { sitePublicKey: site.publicKey, timeoutMs: 1000 }),
    ).rejects.toThrow(/no PKOC answer/);
  });

  it('with the site key: the reader proves the site, the credential comes encrypted, granted', async () => {
    rig.reader().config.update({ pkocSiteKey: siteHex });
    const site = siteKeyPair(siteHex);
    await rig.clock.advanceAsync(PAUSE);
    expect(await pkocPresent(bobPhone, bob, { sitePublicKey: site.publicKey })).toEqual({
      status: 'granted',
    });
    expect(await lastAccess()).toMatchObject({
      decision: 'grant',
      detail: { profile: 'pkoc', presented: number },
    });
    // The site key never leaves the reader.
    expect(await rig.client.config()).not.toHaveProperty('pkocSiteKey');
  });

  it('a phone configured with another site refuses the reader; a forged credential is bad_signature', async () => {
    await rig.clock.advanceAsync(PAUSE);
    const other = siteKeyPair(randomBytes(32).toString('hex'));
    await expect(pkocPresent(bobPhone, bob, { sitePublicKey: other.publicKey })).rejects.toThrow(
      /did not prove the site/,
    );
    await rig.clock.advanceAsync(PAUSE);
    const mallory = createDeviceKey('mallory-ecdhe');
    const phone = rig.phone({ key: mallory }).phone;
    const r = await pkocPresent(phone, mallory, {
      sitePublicKey: siteKeyPair(siteHex).publicKey,
      as: bob.publicKey,
    });
    expect(r).toEqual({ status: 'denied', reason: 'bad_signature' });
  });
});

describe('a replay across a power cycle', () => {
  it('is refused: the recorded signature verifies over no transaction offered after the cut', async () => {
    await rig.client.push(database());
    let sent: Buffer | undefined;
    expect(await attempt(bobPhone, bob, { sent: (b: Buffer) => (sent = b) })).toBe('granted');
    // Powered, the reader remembers the spent transaction and names the replay.
    expect(await attempt(bobPhone, bob, { bytes: sent })).toBe('denied: replay');
    await rig.board.powerCycle();
    // The memory is gone with the RAM; the fresh transaction id refuses the bytes anyway.
    expect(await attempt(bobPhone, bob, { bytes: sent })).toBe('denied: bad_signature');
    expect(await lastAccess()).toMatchObject({
      decision: 'deny',
      reason: 'bad_signature',
      detail: { profile: 'pkoc', presented: number },
    });
    // Bob himself still gets in after the cut.
    expect(await attempt(bobPhone, bob)).toBe('granted');
  });
});
