/**
 * Bad input on the PKOC characteristics, through the real stacks: random bytes, a valid
 * credential message cut short, lengthened, with a wrong or repeated tag or a wrong length,
 * and a write before the hello. Each is answered with nothing and changes nothing: no event,
 * no notification, the link's transaction still unspent (the phone's genuine message
 * afterwards is granted). The parser itself never throws on any input.
 */
import fc from 'fast-check';
import { createDeviceKey, DeviceKey, rawDataOf } from '../../ble/device-key';
import { decodeCredentialMessage, credentialNumber, uncompressedOf } from '../../ble/pkoc/messages';
import { PkocLink, pkocCredential } from '../../ble/pkoc/phone';
import { PKOC_TAGS } from '../../ble/pkoc/spec';
import { decodeTlvs, encodeTlvs } from '../../ble/pkoc/tlv';
import type { VirtualPhone } from '../../ble/phone';
import { fuzzParams, fuzzTimeout } from '../fuzz/params';
import { MobileRig, startMobileRig } from './harness';

jest.setTimeout(fuzzTimeout(60_000));

const START = Date.UTC(2026, 5, 1, 16, 0, 0);
const RUNS = 60;

let rig: MobileRig;
let key: DeviceKey;
let phone: VirtualPhone;

beforeAll(async () => {
  rig = await startMobileRig(START);
  key = createDeviceKey('pkoc-fuzz');
  phone = rig.phone({ key }).phone;
  await rig.client.push({
    users: [{ id: 'eve', name: 'Eve', enabled: true }],
    credentials: [
      {
        id: 'eve-pkoc',
        userId: 'eve',
        kind: 'mobile',
        value: credentialNumber(uncompressedOf(key.publicKey), 64),
        publicKey: rawDataOf(key).publicKey,
        enabled: true,
        accessPoints: ['*'],
      },
    ],
    schedules: [],
    holidays: [],
    accessPoints: [{ id: 'door-1', name: 'Front door' }],
  });
  await rig.client.patchConfig({ blePhoneCooldownMs: 0 });
});

afterAll(async () => {
  await rig?.close();
});

async function lastSeq(): Promise<number> {
  return (await rig.client.events(0, 1)).lastSeq as number;
}

/** A genuine message's TLVs, for mutating (signed over a dummy transaction: shape only). */
function genuineTlvs() {
  const dummy = { transactionId: Buffer.alloc(33, 2) } as Parameters<typeof pkocCredential>[0];
  return decodeTlvs(pkocCredential(dummy, key.privateKey, key.publicKey, 1_700_000_000))!;
}

const mutated = fc.oneof(
  // random bytes
  fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
  // cut short or lengthened
  fc.nat(160).map((n) => encodeTlvs(genuineTlvs()).subarray(0, n)),
  fc
    .uint8Array({ minLength: 1, maxLength: 40 })
    .map((extra) => Buffer.concat([encodeTlvs(genuineTlvs()), Buffer.from(extra)])),
  // one TLV with a wrong tag
  fc.tuple(fc.nat(3), fc.integer({ min: 0, max: 255 })).map(([i, tag]) => {
    const items = genuineTlvs();
    items[i % items.length]!.tag = tag;
    return encodeTlvs(items);
  }),
  // one TLV with a wrong length (value cut or padded, so the framing stays exact)
  fc.tuple(fc.nat(3), fc.integer({ min: -8, max: 8 })).map(([i, delta]) => {
    const items = genuineTlvs();
    const item = items[i % items.length]!;
    item.value =
      delta < 0
        ? item.value.subarray(0, Math.max(0, item.value.length + delta))
        : Buffer.concat([item.value, Buffer.alloc(delta, 0x5a)]);
    return encodeTlvs(items);
  }),
  // a TLV twice, or the key or the signature left out
  fc.nat(3).map((i) => {
    const items = genuineTlvs();
    return encodeTlvs([...items, items[i % items.length]!]);
  }),
  fc
    .constantFrom(PKOC_TAGS.publicKey, PKOC_TAGS.signature)
    .map((tag) => encodeTlvs(genuineTlvs().filter((t) => t.tag !== tag))),
);

/** Only what the parser refuses (a mutation may happen to stay well formed). */
const malformed = mutated.filter((b) => decodeCredentialMessage(b) === undefined);

describe('fuzzing the PKOC write characteristic', () => {
  it('never throws in the parser, whatever the bytes', () => {
    fc.assert(
      fc.property(mutated, (b) => {
        decodeCredentialMessage(b);
      }),
      fuzzParams(2000, { seed: 14 }),
    );
  });

  it('answers malformed writes with nothing and changes nothing; the genuine one is granted', async () => {
    await rig.clock.advanceAsync(6_000);
    const link = await PkocLink.open(await phone.find(undefined, 3000, 'pkoc'));
    try {
      const hello = await link.hello();
      const seq = await lastSeq();
      await fc.assert(
        fc.asyncProperty(malformed, async (bytes) => {
          await link.writeCredential(bytes);
        }),
        fuzzParams(RUNS, { seed: 1414, cost: 100 }),
      );
      expect(await lastSeq()).toBe(seq);
      expect(link.unread).toEqual([]);
      await link.writeCredential(pkocCredential(hello, key.privateKey, key.publicKey));
      expect(await link.response()).toEqual({ code: 'accessGranted', reason: 'granted' });
      expect(await lastSeq()).toBe(seq + 1);
      expect(link.unread).toEqual([]); // one response for one decision
    } finally {
      await link.disconnect();
    }
  });

  it('ignores a credential written before the hello (out of order)', async () => {
    await rig.clock.advanceAsync(6_000);
    const seq = await lastSeq();
    const found = await phone.find(undefined, 3000, 'pkoc');
    const link = await PkocLink.open(found);
    try {
      // Without subscribing there is no transaction on this link: nothing to sign, nothing decided.
      const dummy = { transactionId: Buffer.alloc(33, 3) } as Parameters<typeof pkocCredential>[0];
      await link.writeCredential(pkocCredential(dummy, key.privateKey, key.publicKey));
      const hello = await link.hello();
      expect(await lastSeq()).toBe(seq);
      await link.writeCredential(pkocCredential(hello, key.privateKey, key.publicKey));
      expect(await link.response()).toEqual({ code: 'accessGranted', reason: 'granted' });
    } finally {
      await link.disconnect();
    }
  });
});
