import { VirtualClock } from '../../firmware/foundation/clock';
import {
  cardDataOf,
  cardFromReply,
  COMMAND,
  ControlPanel,
  encodeFrame,
  PacketParser,
  keypadFromReply,
  memoryChannelPair,
  NAK,
  OsdpNakError,
  PeripheralDevice,
  REPLY,
  SCS,
  type LedRecord,
} from '../../osdp';
import { RecordingDevice } from './device-double';

/**
 * The PD and the CP against each other over an in-memory pair, as libosdp tests its two
 * sides: every Basic-profile command, in clear and inside the secure channel.
 */
function link(opts: { scbk?: Buffer; requireSecure?: boolean } = {}) {
  const clock = new VirtualClock();
  const [pdEnd, cpEnd] = memoryChannelPair();
  const pdWrites: Buffer[] = [];
  const recorded = { ...pdEnd, write: (b: Buffer) => (pdWrites.push(b), pdEnd.write(b)) };
  const device = new RecordingDevice();
  const pd = new PeripheralDevice({ address: 5, channel: recorded, clock, device, ...opts });
  const cp = new ControlPanel({ address: 5, channel: cpEnd, clock });
  return { clock, device, pd, cp, pdWrites };
}

const KEY = Buffer.from('00112233445566778899aabbccddeeff', 'hex');

const ledRecord: LedRecord = {
  reader: 0,
  led: 0,
  temporaryControl: 2,
  temporary: { onTime: 3, offTime: 2, onColor: 2, offColor: 0, timer: 20 },
  permanentControl: 1,
  permanent: { onTime: 1, offTime: 0, onColor: 1, offColor: 0 },
};

describe.each([
  ['in clear', false],
  ['inside the secure channel', true],
])('PD <-> CP in memory, %s', (_label, secure) => {
  async function up() {
    const l = link();
    await l.cp.poll();
    if (secure) {
      await l.cp.startSecureChannel();
      expect(l.pd.status().secure).toBe(true);
    }
    return l;
  }

  it('POLL: ACK, then a queued card as RAW and keys as KEYPAD, one per poll', async () => {
    const { cp, pd } = await up();
    // First poll after start reports the statuses once (LSTATR, ISTATR, OSTATR), then ACKs.
    const codes: number[] = [];
    for (let i = 0; i < 4; i++) codes.push((await cp.poll()).code);
    expect(codes.slice(-1)).toEqual([REPLY.ACK]);
    const { bitCount, data } = cardDataOf('000042');
    pd.queueCard({ reader: 0, format: 0, bitCount, data });
    pd.queueKeypad({ reader: 0, digits: '1234\r' });
    const card = await cp.poll();
    expect(card.secure).toBe(secure);
    expect(cardFromReply(card)).toEqual({
      reader: 0,
      format: 0,
      bitCount: 32,
      data: Buffer.from('0000002a', 'hex'),
    });
    expect(keypadFromReply(await cp.poll())).toEqual({ reader: 0, digits: '1234\r' });
    expect((await cp.poll()).code).toBe(REPLY.ACK);
  });

  it('ID and CAP', async () => {
    const { cp, device } = await up();
    expect(await cp.id()).toEqual(device.id);
    expect(await cp.capabilities()).toEqual(device.capabilities);
  });

  it('LSTAT, ISTAT, OSTAT report the device; a change shows on the next POLL', async () => {
    const { cp, device } = await up();
    device.tamper = true;
    device.inputState = [true, false];
    expect(await cp.localStatus()).toEqual({ tamper: true, power: false });
    expect(await cp.inputStatus()).toEqual([true, false]);
    expect(await cp.outputStatus()).toEqual([false, false]);
    expect((await cp.poll()).code).toBe(REPLY.ACK);
    device.power = true;
    const change = await cp.poll();
    expect(change.code).toBe(REPLY.LSTATR);
    expect([...change.data]).toEqual([1, 1]);
  });

  it('OUT, LED and BUZ reach the device; records it does not have get NAK 0x09', async () => {
    const { cp, device } = await up();
    await cp.output([{ output: 1, control: 5, timer: 30 }]);
    expect(device.outs).toEqual([{ output: 1, control: 5, timer: 30 }]);
    expect(await cp.outputStatus()).toEqual([false, true]);
    await cp.led([ledRecord]);
    expect(device.leds).toEqual([ledRecord]);
    await cp.buzzer({ reader: 0, tone: 2, onTime: 1, offTime: 1, count: 3 });
    expect(device.buzzers).toEqual([{ reader: 0, tone: 2, onTime: 1, offTime: 1, count: 3 }]);
    await expect(cp.output([{ output: 9, control: 2, timer: 0 }])).rejects.toMatchObject({
      reason: NAK.UNABLE_TO_PROCESS,
    });
    await expect(cp.led([{ ...ledRecord, led: 3 }])).rejects.toMatchObject({
      reason: NAK.UNABLE_TO_PROCESS,
    });
  });

  it('TEXT (no display) and unknown commands get NAK 0x03; bad lengths NAK 0x02', async () => {
    const { cp } = await up();
    const text = await cp.send(COMMAND.TEXT, Buffer.from([0, 1, 0, 1, 1, 2, 0x48, 0x49]));
    expect([text.code, text.data[0]]).toEqual([REPLY.NAK, NAK.UNKNOWN_COMMAND]);
    const unknown = await cp.send(0x9e, Buffer.from([1]));
    expect([unknown.code, unknown.data[0]]).toEqual([REPLY.NAK, NAK.UNKNOWN_COMMAND]);
    const shortLed = await cp.send(COMMAND.LED, Buffer.alloc(13));
    expect([shortLed.code, shortLed.data[0]]).toEqual([REPLY.NAK, NAK.COMMAND_LENGTH]);
    const pollWithData = await cp.send(COMMAND.POLL, Buffer.from([1]));
    expect(pollWithData.code).toBe(REPLY.NAK);
    // The link is still good afterwards.
    expect((await cp.send(COMMAND.ID, Buffer.from([0]))).code).toBe(REPLY.PDID);
  });

  it('COMSET answers COM with the new settings, then the PD listens on its new address', async () => {
    const { cp, pd } = await up();
    expect(await cp.comset({ address: 9, baud: 115200 })).toEqual({ address: 9, baud: 115200 });
    expect(pd.status().address).toBe(9);
    cp.setAddress(9);
    expect((await cp.poll()).code).not.toBe(REPLY.NAK);
    const bad = await cp.send(COMMAND.COMSET, Buffer.from([9, 0x39, 0x30, 0, 0]));
    expect([bad.code, bad.data[0]]).toEqual([REPLY.NAK, NAK.UNABLE_TO_PROCESS]);
  });
});

describe('the secure channel', () => {
  it('install mode: the default key opens it, KEYSET sets the SCBK, then only that key works', async () => {
    const { cp, pd, device } = link();
    await cp.poll();
    // KEYSET never goes in clear.
    const clear = await cp.send(COMMAND.KEYSET, Buffer.concat([Buffer.from([1, 16]), KEY]));
    expect([clear.code, clear.data[0]]).toEqual([REPLY.NAK, NAK.ENCRYPTION_REQUIRED]);
    await cp.startSecureChannel();
    await cp.keyset(KEY);
    expect(device.keys).toEqual([KEY]);
    expect(pd.status().installMode).toBe(false);
    // The default key is refused now; the new one opens a session.
    await expect(cp.startSecureChannel()).rejects.toMatchObject({
      reason: NAK.SECURITY_CONDITIONS,
    });
    await cp.startSecureChannel(KEY);
    expect(await cp.id()).toEqual(device.id);
  });

  it('a PD with a stored key refuses SCBK-D and a CP with the wrong key', async () => {
    const { cp } = link({ scbk: KEY });
    await cp.poll();
    await expect(cp.startSecureChannel()).rejects.toBeInstanceOf(OsdpNakError);
    await expect(cp.startSecureChannel(Buffer.alloc(16, 7))).rejects.toThrow(
      /cryptogram does not verify/,
    );
    await cp.startSecureChannel(KEY);
    expect(cp.secure).toBe(true);
  });

  it('once up, a command in clear is refused (NAK 0x06) and the session stays', async () => {
    const { cp, pd } = link({ scbk: KEY });
    await cp.poll();
    await cp.startSecureChannel(KEY);
    const clear = await cp.send(COMMAND.ID, Buffer.from([0]), { clear: true });
    expect([clear.code, clear.data[0]]).toEqual([REPLY.NAK, NAK.ENCRYPTION_REQUIRED]);
    expect(pd.status().secure).toBe(true);
    // The CP saw a clear answer and dropped its session; a new handshake brings it back.
    await cp.startSecureChannel(KEY);
    expect((await cp.poll()).secure).toBe(true);
  });

  it('requireSecure: only POLL, ID and CAP in clear before the handshake', async () => {
    const { cp } = link({ scbk: KEY, requireSecure: true });
    expect((await cp.poll()).code).not.toBe(REPLY.NAK);
    await cp.id();
    const lstat = await cp.send(COMMAND.LSTAT);
    expect([lstat.code, lstat.data[0]]).toEqual([REPLY.NAK, NAK.ENCRYPTION_REQUIRED]);
    await cp.startSecureChannel(KEY);
    expect(await cp.localStatus()).toEqual({ tamper: false, power: false });
  });

  it('replies inside the session are MACd, data replies encrypted (SCS_16 / SCS_18)', async () => {
    const { cp } = link();
    await cp.poll();
    await cp.startSecureChannel();
    const traced: Array<{ name: string; scb?: number }> = [];
    cp.on('trace', (t) => traced.push({ name: t.name, scb: t.scb }));
    await cp.poll();
    await cp.id();
    expect(traced).toContainEqual({ name: 'osdp_POLL', scb: SCS.CMD_MAC });
    expect(traced).toContainEqual({ name: 'osdp_ID', scb: SCS.CMD_ENC });
    expect(traced).toContainEqual({ name: 'osdp_PDID', scb: SCS.REPLY_ENC });
    expect(traced.some((t) => t.scb === SCS.REPLY_MAC || t.scb === SCS.REPLY_ENC)).toBe(true);
  });

  it('a repeated packet (the CP missed the reply) gets the same reply, not a second action', async () => {
    const { cp, device, pd, pdWrites } = link();
    await cp.poll();
    await cp.startSecureChannel();
    const sent: Buffer[] = [];
    cp.on('trace', (t) => t.direction === 'cp->pd' && sent.push(t.bytes));
    await cp.output([{ output: 0, control: 5, timer: 10 }]);
    const reply = pdWrites[pdWrites.length - 1];
    pd.receive(sent[0]);
    expect(device.outs).toHaveLength(1);
    expect(pdWrites[pdWrites.length - 1]).toEqual(reply);
    expect(pdWrites).toHaveLength(pdWrites.indexOf(reply) + 2);
    // The same SQN with other content is out of order: NAK 0x04, nothing done.
    pd.receive(encodeFrame({ address: 5, sqn: sent[0][4] & 3, code: COMMAND.POLL }));
    const [nak] = new PacketParser().push(pdWrites[pdWrites.length - 1]);
    expect(nak.kind === 'frame' && [nak.frame.code, nak.frame.data[0]]).toEqual([
      REPLY.NAK,
      NAK.SEQUENCE,
    ]);
    expect(device.outs).toHaveLength(1);
    // The link goes on with the next number.
    expect((await cp.poll()).code).not.toBe(REPLY.NAK);
  });

  it('polls stopping: the PD goes offline after 8 s and drops the session', async () => {
    const { cp, pd, clock, device } = link();
    await cp.poll();
    await cp.startSecureChannel();
    expect(pd.status().online).toBe(true);
    clock.advance(7_999);
    expect(pd.status().online).toBe(true);
    clock.advance(1);
    expect(pd.status()).toMatchObject({ online: false, secure: false });
    expect(device.offlineCalls).toBe(1);
  });

  it('the configuration address 0x7F reaches the PD, whatever its own address', async () => {
    const clock = new VirtualClock();
    const [pdEnd, cpEnd] = memoryChannelPair();
    const device = new RecordingDevice();
    new PeripheralDevice({ address: 42, channel: pdEnd, clock, device });
    const cp = new ControlPanel({ address: 0x7f, channel: cpEnd, clock });
    expect(await cp.id()).toEqual(device.id);
  });

  it('the checksum variant works like CRC', async () => {
    const clock = new VirtualClock();
    const [pdEnd, cpEnd] = memoryChannelPair();
    const device = new RecordingDevice();
    new PeripheralDevice({ address: 1, channel: pdEnd, clock, device });
    const cp = new ControlPanel({ address: 1, channel: cpEnd, clock, crc: false });
    expect(await cp.id()).toEqual(device.id);
    await cp.startSecureChannel();
    expect(await cp.capabilities()).toEqual(device.capabilities);
  });
});
