/**
 * Malformed and oversized writes on the credential and enroll characteristics, through the
 * real stacks: each gets an error (result or ATT), and nothing changes: no event, the
 * connection's nonce still unused (the phone's genuine presentation afterwards is granted),
 * a pending enrollment still pending. Mutations of a valid presentation are never granted.
 */
import fc from 'fast-check';
import { encodeCbor } from '../../ble/cbor';
import { PROTECTED_ES256, signSign1 } from '../../ble/cose';
import { parseCredentialWrite } from '../../ble/credential-check';
import { createDeviceKey, DeviceKey, rawDataOf } from '../../ble/device-key';
import { PhoneLink, VirtualPhone } from '../../ble/phone';
import { MAX_WRITE_BYTES, ResultMessage } from '../../ble/protocol';
import { fuzzParams, fuzzTimeout } from '../fuzz/params';
import { MobileRig, onePhoneDatabase, startMobileRig } from './harness';

jest.setTimeout(fuzzTimeout(60_000));

const START = Date.UTC(2026, 5, 1, 16, 0, 0);
const RUNS = 60;

let rig: MobileRig;
let key: DeviceKey;
let phone: VirtualPhone;

beforeAll(async () => {
  rig = await startMobileRig(START);
  key = createDeviceKey('fuzz-phone');
  phone = rig.phone({ key }).phone;
  await rig.client.push(onePhoneDatabase(key));
  // Each batch ends with a genuine presentation; no cooldown between batches.
  await rig.client.patchConfig({ blePhoneCooldownMs: 0 });
});

afterAll(async () => {
  await rig?.close();
});

async function lastSeq(): Promise<number> {
  const page = await rig.client.events(0, 1);
  return page.lastSeq as number;
}

/** Writes one input; its answer: an error result, a decision, or 'att-error'. */
async function send(
  link: PhoneLink,
  which: 'credential' | 'enroll',
  bytes: Buffer,
): Promise<ResultMessage | 'att-error'> {
  try {
    await (which === 'credential' ? link.writeCredential(bytes) : link.writeEnroll(bytes));
  } catch {
    return 'att-error';
  }
  return link.result();
}

/** Every input gets an error and changes nothing; then the genuine presentation is granted. */
async function expectRefusedWithoutChange(
  which: 'credential' | 'enroll',
  inputs: fc.Arbitrary<Buffer>,
  runs = RUNS,
): Promise<void> {
  await rig.clock.advanceAsync(6_000);
  const link = await phone.connect(await phone.find());
  const challenge = await link.challenge();
  const seq = await lastSeq();
  const version = (await rig.client.database()).version;
  await fc.assert(
    fc.asyncProperty(inputs, async (bytes) => {
      const answer = await send(link, which, bytes);
      if (bytes.length > MAX_WRITE_BYTES) {
        expect(answer).toEqual({ status: 'error', reason: 'too_large' });
      } else {
        expect(answer).toEqual({ status: 'error', reason: 'bad_request' });
      }
    }),
    fuzzParams(runs, { seed: 42, cost: 100 }),
  );
  expect(await lastSeq()).toBe(seq);
  expect((await rig.client.database()).version).toBe(version);
  await link.writeCredential(phone.presentation(challenge)); // the nonce was never spent
  expect(await link.result()).toMatchObject({ status: 'granted' });
  await link.disconnect();
}

const bytes = (max: number) =>
  fc.uint8Array({ minLength: 0, maxLength: max }).map((a) => Buffer.from(a));

/** CBOR of arbitrary values: maps with odd keys, arrays, tags, floats, strings, bstrs. */
const cborValue = fc
  .letrec((tie) => ({
    leaf: fc.oneof(
      fc.integer(),
      fc.double(),
      fc.string({ maxLength: 20 }),
      fc.boolean(),
      fc.constant(null),
      fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
    ),
    node: fc.oneof(
      { depthSize: 'small' },
      tie('leaf'),
      fc.array(tie('node'), { maxLength: 5 }),
      fc
        .array(fc.tuple(fc.oneof(fc.string({ maxLength: 8 }), fc.integer()), tie('node')), {
          maxLength: 5,
        })
        .map((entries) => new Map(entries)),
    ),
  }))
  .node.map((v) => encodeCbor(v))
  .filter((b) => b.length <= MAX_WRITE_BYTES);

describe('fuzzing the credential characteristic', () => {
  it('refuses random bytes', async () => {
    await expectRefusedWithoutChange('credential', bytes(MAX_WRITE_BYTES));
  });

  it('refuses arbitrary CBOR and COSE_Sign1 arrays of the wrong shape', async () => {
    const wrongSign1 = fc
      .tuple(cborValue, cborValue, cborValue, cborValue)
      .map((parts) => encodeCbor(parts.map((p) => Buffer.from(p))));
    await expectRefusedWithoutChange('credential', fc.oneof(cborValue, wrongSign1));
  });

  it('refuses well-signed COSE_Sign1 whose payload is not {deviceId, readerId, nonce, ts}', async () => {
    const payloads = fc.oneof(
      cborValue,
      fc
        .record({
          deviceId: fc.oneof(fc.string({ maxLength: 200 }), fc.integer()),
          readerId: fc.oneof(fc.string({ maxLength: 80 }), fc.constant(null)),
          nonce: fc.uint8Array({ maxLength: 32 }).map((a) => Buffer.from(a)),
          ts: fc.oneof(fc.double(), fc.string()),
        })
        .map((r) => encodeCbor(new Map(Object.entries(r)))),
    );
    // Keep only payloads that are genuinely malformed (a random record may be well formed).
    const malformed = payloads.filter((p) => !wellFormed(p));
    await expectRefusedWithoutChange(
      'credential',
      malformed.map((p) => signSign1(p, key.privateKey)).filter((b) => b.length <= MAX_WRITE_BYTES),
    );
  });

  it('refuses every truncation of a genuine presentation', async () => {
    const genuine = phone.presentation({
      nonce: Buffer.alloc(16, 7),
      readerId: 'reader-1',
      exp: 0,
    });
    const cuts = fc.integer({ min: 0, max: genuine.length - 1 }).map((n) => genuine.subarray(0, n));
    await expectRefusedWithoutChange('credential', cuts, 40);
  });

  it('refuses oversized writes (too_large) and absurd CBOR lengths and nesting', async () => {
    const huge = [
      Buffer.alloc(MAX_WRITE_BYTES + 1, 0x41),
      Buffer.concat([PROTECTED_ES256, Buffer.alloc(600, 0xff)]),
      Buffer.from('9bffffffffffffffff', 'hex'), // array of 2^64-1 items
      Buffer.from('5bffffffffffffff00', 'hex'), // bstr of 2^64-256 bytes
      Buffer.alloc(MAX_WRITE_BYTES, 0x81), // 512 nested arrays
      Buffer.from('d8698100', 'hex'), // cbor-x record tag
    ];
    await expectRefusedWithoutChange('credential', fc.constantFrom(...huge), huge.length * 2);
  });

  it('never grants a mutated genuine presentation', async () => {
    await rig.clock.advanceAsync(6_000);
    const seq = await lastSeq();
    let granted = 0;
    let decided = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 1, max: 255 }),
        async (at, xor) => {
          const link = await phone.connect(await phone.find());
          const genuine = phone.presentation(await link.challenge());
          const mutated = Buffer.from(genuine);
          mutated[at % mutated.length] ^= xor;
          const answer = await send(link, 'credential', mutated);
          await link.disconnect();
          if (answer !== 'att-error' && answer.status === 'granted') granted++;
          if (answer !== 'att-error' && answer.status === 'denied') decided++;
          expect(answer).not.toMatchObject({ status: 'granted' });
        },
      ),
      fuzzParams(25, { seed: 7, cost: 200 }),
    );
    expect(granted).toBe(0);
    expect(decided).toBeGreaterThan(0); // some flips hit the signature or a payload value
    // Only the decided ones (a flip in the signature or a payload value) were logged.
    expect((await lastSeq()) - seq).toBe(decided);
  });
});

describe('fuzzing the enroll characteristic', () => {
  it('refuses malformed enroll records during enroll mode; the enrollment stays pending', async () => {
    const enrollment = await rig.client.enroll('alice');
    const records = fc.oneof(
      bytes(MAX_WRITE_BYTES),
      cborValue,
      fc
        .record({
          deviceId: fc.oneof(fc.string({ maxLength: 200 }), fc.integer(), fc.constant('')),
          publicKey: fc.oneof(
            fc.string({ maxLength: 100 }),
            fc.uint8Array({ maxLength: 91 }).map((a) => Buffer.from(a)),
            fc.constant(
              new Map<number, unknown>([
                [1, 2],
                [-1, 1],
                [-2, Buffer.alloc(32)],
                [-3, Buffer.alloc(32)],
              ]),
            ),
          ),
        })
        .map((r) => encodeCbor(new Map(Object.entries(r)))),
    );
    const link = await phone.connect(await phone.find());
    const seq = await lastSeq();
    await fc.assert(
      fc.asyncProperty(records, async (b) => {
        expect(await send(link, 'enroll', b)).toMatchObject({
          status: 'error',
          reason: 'bad_request',
        });
      }),
      fuzzParams(RUNS, { seed: 3, cost: 100 }),
    );
    expect(await lastSeq()).toBe(seq);
    expect(await rig.client.enrollment(enrollment.id)).toMatchObject({ state: 'pending' });
    await link.writeEnroll(phone.enrollRecord());
    expect(await link.result()).toEqual({ status: 'enrolled', led: 'green' });
    await link.disconnect();
    expect(await rig.client.enrollment(enrollment.id)).toMatchObject({
      state: 'captured',
      rawData: rawDataOf(key),
    });
  });
});

describe('oversized writes on the enroll characteristic', () => {
  it('refuses them (too_large, as a result: long writes) during enroll mode; the enrollment stays pending', async () => {
    const enrollment = await rig.client.enroll('alice');
    const link = await phone.connect(await phone.find());
    const seq = await lastSeq();
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: MAX_WRITE_BYTES + 1, max: 2 * MAX_WRITE_BYTES }),
        fc.nat(255),
        async (length, fill) => {
          expect(await send(link, 'enroll', Buffer.alloc(length, fill))).toEqual({
            status: 'error',
            reason: 'too_large',
          });
        },
      ),
      fuzzParams(6, { seed: 12, cost: 100 }),
    );
    expect(await lastSeq()).toBe(seq);
    expect(await rig.client.enrollment(enrollment.id)).toMatchObject({ state: 'pending' });
    await link.disconnect();
  });
});

/** Whether a payload would parse as {deviceId, readerId, nonce(16), ts} (then it is not malformed). */
function wellFormed(payload: Buffer): boolean {
  return parseCredentialWrite(signSign1(payload, key.privateKey)) !== undefined;
}
