/**
 * Mobile credentials against an attacker at the door, through the real stacks (noble phones
 * on the virtual air, bleno at the reader, the host API): what test/mobile/unlock.test.ts
 * does not already show (replay on a new connection, a cloned device id, expired nonce,
 * stale ts). Here: a nonce lifted from another live connection, a presentation made for
 * another reader, and credentials the host revoked, each refused with its reason code.
 */
import { createDeviceKey, rawDataOf, type DeviceKey } from '../../ble/device-key';
import type { VirtualPhone } from '../../ble/phone';
import type { Credential, DatabaseContent } from '../../firmware/foundation/model';
import { startMobileRig, type MobileRig } from '../mobile/harness';

// Monday 1 June 2026, 10:00 in Denver.
const START = Date.UTC(2026, 5, 1, 16, 0, 0);
/** Longer than the unlock time and the phone cooldown: each attempt starts idle. */
const PAUSE = 6_000;

let rig: MobileRig;
let alice: DeviceKey;
let alicePhone: VirtualPhone;

function database(
  credential: Partial<Credential> = {},
  user: { enabled?: boolean } = {},
): DatabaseContent {
  return {
    users: [{ id: 'alice', name: 'Alice', enabled: true, ...user }],
    credentials: [
      {
        id: 'alice-phone',
        userId: 'alice',
        kind: 'mobile',
        value: alice.deviceId,
        publicKey: rawDataOf(alice).publicKey,
        enabled: true,
        accessPoints: ['*'],
        ...credential,
      },
    ],
    schedules: [],
    holidays: [],
    accessPoints: [{ id: 'door-1', name: 'Front door' }],
  };
}

async function attempt(phone: VirtualPhone): Promise<string> {
  await rig.clock.advanceAsync(PAUSE);
  const result = await phone.unlock();
  return result.status === 'granted' ? 'granted' : `${result.status}: ${result.reason}`;
}

beforeAll(async () => {
  rig = await startMobileRig(START);
  alice = createDeviceKey('alice-phone-15');
  alicePhone = rig.phone({ key: alice, distance: 1 }).phone;
  await rig.client.push(database());
});

afterAll(async () => {
  await rig?.close();
});

describe('a presentation must be made for this connection and this reader', () => {
  it('refuses a nonce lifted from another live connection (replay)', async () => {
    expect(await attempt(alicePhone)).toBe('granted');
    await rig.clock.advanceAsync(PAUSE);
    // The attacker's relay holds one connection open and reads its nonce; the signature
    // over it is real, but it is written on a second connection.
    const relayed = rig.phone({ key: alice, distance: 1 }).phone;
    const first = await alicePhone.connect(await alicePhone.find());
    const second = await relayed.connect(await relayed.find());
    const lifted = await first.challenge();
    const own = await second.challenge();
    expect(Buffer.compare(lifted.nonce, own.nonce)).not.toBe(0);
    await second.writeCredential(alicePhone.presentation(lifted));
    expect(await second.result()).toEqual({ status: 'denied', reason: 'replay', led: 'red' });
    await second.disconnect();
    await first.disconnect();
    const events = (await rig.client.events(0, 1000)).events.filter((e) => e.type === 'access');
    expect(events.at(-1)).toMatchObject({ decision: 'deny', reason: 'replay' });
  });

  it("refuses a presentation that names another reader (replay), even on this reader's nonce", async () => {
    await rig.clock.advanceAsync(PAUSE);
    const link = await alicePhone.connect(await alicePhone.find());
    const challenge = await link.challenge();
    await link.writeCredential(
      alicePhone.presentation({ ...challenge, readerId: 'the-reader-next-door' }),
    );
    expect(await link.result()).toMatchObject({ status: 'denied', reason: 'replay' });
    await link.disconnect();
  });

  it('refuses a signature by the key of another enrolled phone (bad_signature)', async () => {
    const bob = createDeviceKey('bob-phone');
    const content = database();
    content.credentials.push({
      ...content.credentials[0]!,
      id: 'bob-phone',
      value: bob.deviceId,
      publicKey: rawDataOf(bob).publicKey,
    });
    await rig.client.push(content);
    // Bob's real, enrolled key, claiming to be Alice's phone.
    await rig.clock.advanceAsync(PAUSE);
    const link = await alicePhone.connect(await alicePhone.find());
    const challenge = await link.challenge();
    await link.writeCredential(alicePhone.presentation(challenge, { key: bob }));
    expect(await link.result()).toMatchObject({ status: 'denied', reason: 'bad_signature' });
    await link.disconnect();
  });
});

describe('a credential the host revoked', () => {
  it('is refused disabled, user disabled, deleted, and re-keyed; granted again when restored', async () => {
    const seen: string[] = [];
    await rig.client.push(database({ enabled: false }));
    seen.push(await attempt(alicePhone));
    await rig.client.push(database({}, { enabled: false }));
    seen.push(await attempt(alicePhone));

    await rig.client.push(database());
    seen.push(await attempt(alicePhone));
    const { version } = await rig.client.database();
    await rig.client.patch({ baseVersion: version, delete: { credentials: ['alice-phone'] } });
    seen.push(await attempt(alicePhone));

    // Lost phone: the host re-enrolls a new device key under the same device id.
    const replacement = createDeviceKey(alice.deviceId);
    await rig.client.push(database({ publicKey: rawDataOf(replacement).publicKey }));
    seen.push(await attempt(alicePhone));
    seen.push(await attempt(rig.phone({ key: replacement, distance: 1 }).phone));

    expect(seen).toEqual([
      'denied: disabled',
      'denied: disabled',
      'granted',
      'denied: unknown_credential',
      'denied: bad_signature',
      'granted',
    ]);
  });
});
