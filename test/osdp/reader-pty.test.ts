import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createAir, type Air } from '../../ble/controller';
import { rawDataOf } from '../../ble/device-key';
import { startPhoneRadio } from '../../ble/phone-radio';
import { pkocPresent } from '../../ble/pkoc/phone';
import { credentialNumber, uncompressedOf } from '../../ble/pkoc/messages';
import { startReaderRadio, type ReaderRadio } from '../../ble/reader-radio';
import { SystemClock } from '../../firmware/foundation/clock';
import { openPanelLink, type ServedPanelLink } from '../../firmware/osdp';
import { radioPort } from '../../firmware/profiles/radio';
import { serveReader, type ServedReader } from '../../firmware/profiles/serve';
import { onePhoneDatabase, testDrivers, type TestDrivers } from '../../firmware/profiles/test';
import { createPhone } from '../../firmware/testkit/fixtures';
import {
  cardDataOf,
  cardFromReply,
  COMMAND,
  ControlPanel,
  keypadFromReply,
  NAK,
  openSerialChannel,
  REPLY,
  type Channel,
  type CpReply,
  type LedRecord,
} from '../../osdp';
import { openNullModem, type NullModem } from '../../scripts/dev/null-modem';
import { ownChildren } from '../children';

/**
 * The reader as an OSDP PD on a real pty (a null-modem pair, serialport on both ends at
 * 115200), booted on the test profile with its BLE radio on a virtual air, and the CP of
 * osdp/ driving it as a panel would.
 */
const children = ownChildren();
const ADDRESS = 3;
const KEY = Buffer.from('f0e1d2c3b4a5968778695a4b3c2d1e0f', 'hex');

interface Bench {
  modem: NullModem;
  air: Air;
  radio: ReaderRadio;
  drivers: TestDrivers;
  served: ServedReader;
  link: ServedPanelLink;
  cpChannel: Channel;
  cp: ControlPanel;
  dataDir: string;
}

let bench: Bench;

beforeEach(async () => {
  const modem = await openNullModem(children.spawn);
  const air = createAir({ timing: 'fast' });
  const radio = await startReaderRadio({ air });
  const drivers = testDrivers();
  const link = await openPanelLink({
    transport: { kind: 'serial', path: modem.paths[0], baud: 115200, address: ADDRESS },
    role: 'osdp-pd',
  });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'osdp-pd-'));
  const served = await serveReader({
    drivers,
    dataDir,
    apiPort: 0,
    radio: radioPort(radio),
    onBoot: link.onBoot,
  });
  const cpChannel = await openSerialChannel(modem.paths[1], 115200);
  // The panel's clock is real (its reply deadline is a generous 2 s); the reader's is virtual.
  const cp = new ControlPanel({
    channel: cpChannel,
    clock: new SystemClock(),
    address: ADDRESS,
    replyTimeoutMs: 2000,
  });
  bench = { modem, air, radio, drivers, served, link, cpChannel, cp, dataDir };
});

afterEach(async () => {
  const b = bench;
  b.cp.close();
  await b.cpChannel.close();
  await b.served.shutdown();
  await b.link.close();
  b.radio.close();
  await b.modem.close();
  fs.rmSync(b.dataDir, { recursive: true, force: true });
});

const reader = () => bench.served.reader()!;

/** Polls until a reply other than ACK/status comes (a card or keys), at most `tries` times. */
async function pollFor(code: number, tries = 20): Promise<CpReply> {
  for (let i = 0; i < tries; i++) {
    const reply = await bench.cp.poll();
    if (reply.code === code) return reply;
  }
  throw new Error(`no reply 0x${code.toString(16)} in ${tries} polls`);
}

const led = (over: Partial<LedRecord>): LedRecord => ({
  reader: 0,
  led: 0,
  temporaryControl: 0,
  temporary: { onTime: 0, offTime: 0, onColor: 0, offColor: 0, timer: 0 },
  permanentControl: 0,
  permanent: { onTime: 0, offTime: 0, onColor: 0, offColor: 0 },
  ...over,
});

describe.each([
  ['in clear', false],
  ['inside the secure channel', true],
])('the reader as an OSDP PD over a pty, %s', (_label, secure) => {
  it('answers every Basic-profile command, and the panel drives its LED, buzzer and relay', async () => {
    const { cp, drivers } = bench;
    await cp.poll();
    if (secure) await cp.startSecureChannel();
    const id = await cp.id();
    expect(id.model).toBe(1);
    expect((await cp.capabilities()).length).toBeGreaterThan(5);
    expect(await cp.localStatus()).toEqual({ tamper: false, power: false });
    expect(await cp.inputStatus()).toEqual([false, false]);
    expect(await cp.outputStatus()).toEqual([false]);

    // LED: permanent green, then a temporary amber for 2 s over it.
    await cp.led([
      led({ permanentControl: 1, permanent: { onTime: 1, offTime: 0, onColor: 2, offColor: 0 } }),
    ]);
    expect(reader().status().led).toMatchObject({ color: 'green', situation: 'panel' });
    await cp.led([
      led({
        temporaryControl: 2,
        temporary: { onTime: 5, offTime: 5, onColor: 3, offColor: 0, timer: 20 },
      }),
    ]);
    expect(reader().status().led.color).toBe('amber');
    await drivers.clock.advanceAsync(500);
    expect(reader().status().led.color).toBe('off');
    await drivers.clock.advanceAsync(1500);
    expect(reader().status().led.color).toBe('green');
    // A colour the red/green LED cannot show is refused, and nothing changes.
    await expect(
      cp.led([
        led({ permanentControl: 1, permanent: { onTime: 1, offTime: 0, onColor: 4, offColor: 0 } }),
      ]),
    ).rejects.toMatchObject({ reason: NAK.UNABLE_TO_PROCESS });
    expect(reader().status().led.color).toBe('green');

    // BUZ: three 200 ms beeps.
    await cp.buzzer({ reader: 0, tone: 2, onTime: 2, offTime: 2, count: 3 });
    expect(reader().indicator.current().buzzer).toBe(true);
    await drivers.clock.advanceAsync(1200);
    expect(reader().indicator.current().buzzer).toBe(false);

    // OUT: the lock relay unlocked for 3 s, then locked again.
    await cp.output([{ output: 0, control: 5, timer: 30 }]);
    expect(reader().status().relay).toBe('unlocked');
    expect(await cp.outputStatus()).toEqual([true]);
    await drivers.clock.advanceAsync(3000);
    expect(reader().status().relay).toBe('locked');
    await cp.output([{ output: 0, control: 2, timer: 0 }]);
    expect(reader().status().relay).toBe('unlocked');
    await cp.output([{ output: 0, control: 1, timer: 0 }]);
    expect(reader().status().relay).toBe('locked');
    await expect(cp.output([{ output: 1, control: 2, timer: 0 }])).rejects.toMatchObject({
      reason: NAK.UNABLE_TO_PROCESS,
    });

    // Tamper and the door contact are reported; REX as a one-poll pulse.
    bench.served.board.touch.tamper(true);
    expect(await cp.localStatus()).toEqual({ tamper: true, power: false });
    bench.served.board.touch.door(true);
    expect(await cp.inputStatus()).toEqual([false, true]);
    bench.served.board.touch.door(false);
    await drivers.clock.advanceAsync(100);
    bench.served.board.touch.rex();
    const rex = await pollFor(REPLY.ISTATR);
    expect([...rex.data]).toEqual([1, 0]);

    // TEXT: this reader has no display.
    const text = await cp.send(COMMAND.TEXT, Buffer.from([0, 1, 0, 1, 1, 2, 0x48, 0x49]));
    expect([text.code, text.data[0]]).toEqual([REPLY.NAK, NAK.UNKNOWN_COMMAND]);
    expect(reader().status().osdp).toMatchObject({
      role: 'osdp-pd',
      address: ADDRESS,
      online: true,
      secure,
      installMode: true,
    });
  });
});

it('a mobile unlock (reader-sim and PKOC) on the virtual air, a badge and a PIN arrive at the CP as card and keypad data', async () => {
  const { cp, air, drivers } = bench;
  const phone = createPhone('osdp-phone-1');
  const pkocKey = createPhone('osdp-pkoc-1');
  const pkocNumber = credentialNumber(uncompressedOf(pkocKey.publicKey), 64);
  const db = onePhoneDatabase(phone);
  db.credentials.push({
    ...db.credentials[0],
    id: 'c2',
    value: pkocNumber,
    publicKey: rawDataOf(pkocKey).publicKey,
  });
  reader().replaceDatabase(db);
  await cp.poll();
  await cp.startSecureChannel();

  const radio = startPhoneRadio({ air, key: phone, distance: 1, clock: drivers.clock });
  try {
    const answer = await radio.phone.unlock({ timeoutMs: 10_000 });
    expect(answer).toEqual({ status: 'forwarded' });
  } finally {
    radio.close();
  }
  const card = cardFromReply(await pollFor(REPLY.RAW));
  expect(card).toEqual({ reader: 0, format: 0, ...cardDataOf(phone.deviceId) });
  expect(card!.data.toString('latin1')).toBe('osdp-phone-1');
  // A PKOC phone: its credential number (64 bits) as the card data.
  const pkocRadio = startPhoneRadio({ air, key: pkocKey, distance: 1, clock: drivers.clock });
  try {
    expect(await pkocPresent(pkocRadio.phone, pkocKey, { timeoutMs: 10_000 })).toMatchObject({
      status: 'forwarded',
    });
  } finally {
    pkocRadio.close();
  }
  const pkocCard = cardFromReply(await pollFor(REPLY.RAW))!;
  expect(pkocCard.bitCount).toBe(64);
  expect(BigInt(`0x${pkocCard.data.toString('hex')}`).toString()).toBe(pkocNumber);
  // The panel decides: the reader did not unlock or log a grant.
  expect(reader().status().relay).toBe('locked');
  expect(
    drivers.relay.writes().filter((w) => w.energized !== drivers.relay.writes()[0].energized),
  ).toEqual([]);

  bench.served.board.touch.badge('000042');
  expect(cardFromReply(await pollFor(REPLY.RAW))!.data).toEqual(Buffer.from('0000002a', 'hex'));
  bench.served.board.touch.keypad('4711#');
  expect(keypadFromReply(await pollFor(REPLY.KEYPAD))).toEqual({ reader: 0, digits: '4711\r' });
});

it('KEYSET survives a power cycle: the new key opens the channel, the default key no longer', async () => {
  const { cp, served } = bench;
  await cp.poll();
  await cp.startSecureChannel();
  await cp.keyset(KEY);
  expect(reader().status().osdp).toMatchObject({ installMode: false });
  // The key is a secret: not in the host's view of the config.
  expect(reader().visibleConfig()).not.toHaveProperty('osdpScbk');

  await served.board.powerCycle();
  cp.restart();
  await cp.poll();
  // A keyed reader answers only POLL, ID and CAP in clear.
  const lstat = await cp.send(COMMAND.LSTAT);
  expect([lstat.code, lstat.data[0]]).toEqual([REPLY.NAK, NAK.ENCRYPTION_REQUIRED]);
  await expect(cp.startSecureChannel()).rejects.toMatchObject({ reason: NAK.SECURITY_CONDITIONS });
  await cp.startSecureChannel(KEY);
  expect(await cp.localStatus()).toEqual({ tamper: false, power: false });
  expect(reader().status().osdp).toMatchObject({ secure: true, installMode: false });
});

it('polls stopping: after 8 s the reader goes offline-safe (relock, silence, idle LED)', async () => {
  const { cp, drivers } = bench;
  await cp.poll();
  await cp.output([{ output: 0, control: 2, timer: 0 }]);
  await cp.buzzer({ reader: 0, tone: 2, onTime: 1, offTime: 1, count: 0 });
  await cp.led([
    led({ permanentControl: 1, permanent: { onTime: 1, offTime: 0, onColor: 2, offColor: 0 } }),
  ]);
  expect(reader().status()).toMatchObject({ relay: 'unlocked', led: { color: 'green' } });
  await drivers.clock.advanceAsync(7_900);
  expect(reader().status().osdp).toMatchObject({ online: true });
  await drivers.clock.advanceAsync(100);
  expect(reader().status()).toMatchObject({
    relay: 'locked',
    led: { color: 'red', buzzer: false, situation: 'idle' },
    osdp: { online: false, secure: false },
  });
});
