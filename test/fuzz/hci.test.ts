/**
 * Fuzzing HCI from a host: a hostile host holds the same socket object the stacks hold and
 * writes arbitrary and mutated-valid H4 packets.
 * - Commands: every opcode the controller knows, with the right or a wrong parameter length
 *   and random or mutated-valid parameters, answers exactly once, in the event its kind uses
 *   (Command Complete or Command Status), with Invalid HCI Command Parameters (0x12) for a
 *   wrong length and Unknown HCI Command (0x01) for an opcode it does not know; never a throw.
 * - ACL: a packet with an unknown handle, a lying length, an oversize payload or the
 *   reserved boundary flag is dropped and counted (stats.aclDropped) without an event; any
 *   other reaches the peer's host byte for byte.
 * - The reader: a hostile phone connects to the reader's GATT server (@stoprocent/bleno on
 *   the virtual controller) and sends arbitrary L2CAP and ATT (MTU exchanges, reads, writes,
 *   prepare/execute writes with any offsets, fragments that never complete or lie about
 *   their length, unknown channels). The reader never crashes, never logs a decision for any
 *   of it, and a genuine phone on noble is granted afterwards.
 */
import fc from 'fast-check';
import { Air, VirtualController } from '../../ble/controller';
import { AclBoundary, H4, Op, Status } from '../../ble/controller/hci-spec';
import { encodeCbor } from '../../ble/cbor';
import { createDeviceKey } from '../../ble/device-key';
import { settle } from '../../firmware/foundation/clock';
import { advParams, createConnParams, u16 } from '../ble/raw-host';
import { onePhoneDatabase, startMobileRig, type MobileRig } from '../mobile/harness';
import { SocketHost } from './hci-host';
import { fuzzParams, fuzzTimeout } from './params';

jest.setTimeout(fuzzTimeout(60_000));

/**
 * Parameter length and answer kind of each command (Core Vol 4 Part E 7.1-7.8), written
 * from the specification, not read from the controller.
 */
const COMMANDS: [number, number, 'complete' | 'status'][] = [
  [Op.disconnect, 3, 'status'],
  [Op.readRemoteVersion, 2, 'status'],
  [Op.setEventMask, 8, 'complete'],
  [Op.reset, 0, 'complete'],
  [Op.setEventMaskPage2, 8, 'complete'],
  [Op.readLeHostSupported, 0, 'complete'],
  [Op.writeLeHostSupported, 2, 'complete'],
  [Op.readLocalVersion, 0, 'complete'],
  [Op.readLocalCommands, 0, 'complete'],
  [Op.readLocalFeatures, 0, 'complete'],
  [Op.readBufferSize, 0, 'complete'],
  [Op.readBdAddr, 0, 'complete'],
  [Op.readRssi, 2, 'complete'],
  [Op.leSetEventMask, 8, 'complete'],
  [Op.leReadBufferSize, 0, 'complete'],
  [Op.leReadLocalFeatures, 0, 'complete'],
  [Op.leSetRandomAddress, 6, 'complete'],
  [Op.leSetAdvParams, 15, 'complete'],
  [Op.leReadAdvTxPower, 0, 'complete'],
  [Op.leSetAdvData, 32, 'complete'],
  [Op.leSetScanRspData, 32, 'complete'],
  [Op.leSetAdvEnable, 1, 'complete'],
  [Op.leSetScanParams, 7, 'complete'],
  [Op.leSetScanEnable, 2, 'complete'],
  [Op.leCreateConn, 25, 'status'],
  [Op.leCreateConnCancel, 0, 'complete'],
  [Op.leReadAcceptListSize, 0, 'complete'],
  [Op.leClearAcceptList, 0, 'complete'],
  [Op.leConnUpdate, 14, 'status'],
  [Op.leReadRemoteFeatures, 2, 'status'],
  [Op.leLtkNegReply, 2, 'complete'],
  [Op.leReadSupportedStates, 0, 'complete'],
];
const KNOWN = new Set(COMMANDS.map(([op]) => op));
const STATUSES = new Set<number>(Object.values(Status));
/** Valid parameters to mutate (the others are all-zero of the right length). */
const VALID_PARAMS = new Map<number, Buffer>([
  [Op.leSetAdvParams, advParams()],
  [Op.leCreateConn, createConnParams('11:22:33:44:55:66')],
  [Op.leSetScanParams, Buffer.from([1, 0x12, 0, 0x12, 0, 0, 0])],
  [Op.leSetAdvData, Buffer.concat([Buffer.from([3, 2, 1, 6]), Buffer.alloc(28)])],
  [Op.leConnUpdate, Buffer.concat([u16(0x40), u16(24), u16(24), u16(0), u16(200), u16(0), u16(0)])],
  [Op.disconnect, Buffer.from([0x40, 0, 0x13])],
]);

const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));

/** A command: a known opcode with mutated-valid or random parameters, or any opcode at all. */
const command = fc.oneof(
  fc
    .tuple(
      fc.constantFrom(...COMMANDS),
      fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 3 }),
      fc.option(fc.integer({ min: -3, max: 3 }), { nil: undefined }),
    )
    .map(([[op, length, kind], flips, resize]) => {
      let params = Buffer.from(VALID_PARAMS.get(op) ?? Buffer.alloc(length));
      for (const [at, value] of flips) if (params.length) params[at % params.length] = value;
      if (resize !== undefined) {
        const size = Math.max(0, length + resize);
        params = Buffer.concat([params, Buffer.alloc(Math.max(0, size - params.length))]).subarray(
          0,
          size,
        );
      }
      return { op, params, expected: { length, kind } };
    }),
  fc
    .tuple(fc.integer({ min: 0, max: 0xffff }), bytes(40))
    .map(([op, params]) => ({ op, params, expected: undefined })),
);

describe('fuzzing HCI commands from a host socket', () => {
  it('answers every command once, with the right kind and status, and never throws', async () => {
    const controller = new VirtualController(new Air());
    try {
      const host = new SocketHost(controller);
      const seen = { invalid: 0, unknown: 0, other: 0 };
      await fc.assert(
        fc.asyncProperty(command, fc.boolean(), async ({ op, params, expected }, lie) => {
          // A length byte that disagrees with the bytes sent is a wrong length too.
          const declared = lie ? (params.length + 1) & 0xff : params.length;
          const answer = await host.answer(op, params, declared);
          expect(answer.answers).toBe(1);
          const spec = COMMANDS.find(([known]) => known === op);
          if (!KNOWN.has(op)) {
            expect(answer).toMatchObject({ kind: 'complete', status: Status.unknownCommand });
            seen.unknown++;
            return;
          }
          const [, length, kind] = spec!;
          if (expected) expect(expected).toEqual({ length, kind });
          expect(answer.kind).toBe(kind);
          if (params.length !== length || declared !== params.length) {
            expect(answer.status).toBe(Status.invalidParameters);
            seen.invalid++;
          } else {
            expect(STATUSES.has(answer.status)).toBe(true);
            seen.other++;
          }
        }),
        fuzzParams(400, { seed: 1701 }),
      );
      expect(seen.invalid).toBeGreaterThan(0);
      expect(seen.unknown).toBeGreaterThan(0);
      expect(seen.other).toBeGreaterThan(0);
      // Still a working controller.
      expect(await host.command(Op.reset)).toBe(0);
    } finally {
      controller.close();
    }
  });
});

describe('fuzzing ACL data from a host socket', () => {
  it('carries well-formed packets byte for byte and drops (and counts) every other one', async () => {
    const air = new Air();
    const peripheral = new VirtualController(air, { address: '11:22:33:44:55:66' });
    const central = new VirtualController(air, { position: 1 });
    try {
      const p = new SocketHost(peripheral);
      const c = new SocketHost(central);
      // What the peripheral's controller hands its host (before any socket-side checks).
      const delivered: Buffer[] = [];
      peripheral.on('packet', (packet: Buffer) => delivered.push(packet));
      await p.command(Op.setEventMask, Buffer.alloc(8, 0xff));
      await p.command(Op.leSetEventMask, Buffer.alloc(8, 0xff));
      await p.command(Op.leSetAdvParams, advParams());
      await p.command(Op.leSetAdvEnable, Buffer.from([1]));
      const handle = await c.connect('11:22:33:44:55:66');
      const packet = fc.record({
        handle: fc.oneof(fc.constant(handle), fc.integer({ min: 0, max: 0x0fff })),
        boundary: fc.constantFrom(0, 1, 2, 3),
        data: fc.oneof(bytes(40), bytes(260)),
        lie: fc.option(fc.integer({ min: -2, max: 2 }), { nil: undefined }),
      });
      await fc.assert(
        fc.asyncProperty(packet, async ({ handle: h, boundary, data, lie }) => {
          const dropped = central.stats.aclDropped;
          const from = delivered.length;
          const length = lie === undefined ? data.length : Math.max(0, data.length + lie);
          c.acl(h, boundary, data, length);
          await settle();
          await settle();
          const arrived = delivered.slice(from).filter((x) => x[0] === H4.acl);
          const wellFormed =
            h === handle && length === data.length && data.length <= 251 && boundary !== 3;
          if (wellFormed) {
            expect(arrived).toHaveLength(1);
            expect(arrived[0]!.subarray(5).equals(data)).toBe(true);
            expect(central.stats.aclDropped).toBe(dropped);
          } else {
            expect(arrived).toHaveLength(0);
            expect(central.stats.aclDropped).toBe(dropped + 1);
          }
        }),
        fuzzParams(200, { seed: 1702 }),
      );
      expect(c.disconnected(handle)).toBe(false);
    } finally {
      central.close();
      peripheral.close();
    }
  });
});

// --- a hostile phone against the reader's GATT server --------------------------------------

const ATT = 0x0004;
const handle16 = fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 0xffff }));
const value = fc.oneof(bytes(30), bytes(600), fc.constant(encodeCbor(new Map([['a', 1]]))));
const uuid = fc.oneof(
  fc.constantFrom(Buffer.from([0x00, 0x28]), Buffer.from([0x03, 0x28]), Buffer.from([0x02, 0x29])),
  bytes(17),
);

/** ATT PDUs, well-formed or not (Core Vol 3 Part F 3.4). */
const attPdu: fc.Arbitrary<Buffer> = fc.oneof(
  fc
    .oneof(fc.constantFrom(0, 1, 22, 23, 24, 247, 517, 0xffff), fc.integer({ min: 0, max: 0xffff }))
    .map((mtu) => Buffer.concat([Buffer.from([0x02]), u16(mtu)])),
  fc
    .tuple(fc.constantFrom(0x04, 0x08, 0x10), handle16, handle16, uuid)
    .map(([op, a, b, type]) => Buffer.concat([Buffer.from([op]), u16(a), u16(b), type])),
  fc
    .tuple(handle16, handle16, value)
    .map(([a, b, v]) => Buffer.concat([Buffer.from([0x06]), u16(a), u16(b), u16(0x2800), v])),
  handle16.map((h) => Buffer.concat([Buffer.from([0x0a]), u16(h)])),
  fc
    .tuple(handle16, fc.integer({ min: 0, max: 0xffff }))
    .map(([h, o]) => Buffer.concat([Buffer.from([0x0c]), u16(h), u16(o)])),
  fc
    .array(handle16, { maxLength: 5 })
    .map((hs) => Buffer.concat([Buffer.from([0x0e]), ...hs.map(u16)])),
  fc
    .tuple(fc.constantFrom(0x12, 0x52, 0xd2), handle16, value)
    .map(([op, h, v]) => Buffer.concat([Buffer.from([op]), u16(h), v])),
  // Prepare Write at any offset, then Execute (or cancel) with any flags.
  fc
    .tuple(handle16, fc.integer({ min: 0, max: 0xffff }), value)
    .map(([h, o, v]) => Buffer.concat([Buffer.from([0x16]), u16(h), u16(o), v])),
  fc.nat(255).map((flags) => Buffer.from([0x18, flags])),
  fc.constantFrom(Buffer.from([0x1e]), Buffer.from([0x01, 0x12, 0x00, 0x00, 0x01])),
  bytes(30),
);

/** An L2CAP frame: length (it may lie), channel, payload. */
const l2cap = fc
  .tuple(
    fc.oneof(
      attPdu,
      attPdu.map((pdu) => pdu.subarray(0, Math.max(0, pdu.length - 1))),
      bytes(40),
    ),
    fc.oneof(
      { arbitrary: fc.constant(ATT), weight: 6 },
      { arbitrary: fc.constantFrom(0x0005, 0x0006, 0x0000, 0x0040), weight: 1 },
      { arbitrary: fc.integer({ min: 0, max: 0xffff }), weight: 1 },
    ),
    fc.option(fc.integer({ min: -4, max: 0xffff }), { nil: undefined, freq: 6 }),
  )
  .map(([payload, cid, length]) =>
    Buffer.concat([u16((length ?? payload.length) & 0xffff), u16(cid), payload]),
  );

/** The ACL packets of a frame: fragments of any size, the first a start, the rest continuing. */
const aclPackets = fc
  .tuple(
    l2cap,
    fc.integer({ min: 1, max: 251 }),
    fc.oneof(
      { arbitrary: fc.constant(undefined), weight: 5 },
      // A fragment's header that is not a start (and tiny first fragments, below 4 bytes).
      { arbitrary: fc.integer({ min: 0, max: 3 }), weight: 1 },
    ),
    fc.boolean(),
  )
  .map(([frame, size, firstBoundary, dropOne]) => {
    const pieces: { boundary: number; data: Buffer }[] = [];
    for (let at = 0; at < frame.length || at === 0; at += size) {
      pieces.push({
        boundary: at === 0 ? (firstBoundary ?? AclBoundary.firstFlushable) : AclBoundary.continuing,
        data: frame.subarray(at, at + size),
      });
    }
    if (dropOne && pieces.length > 1) pieces.splice(1, 1);
    return pieces;
  });

describe('a hostile phone sending arbitrary L2CAP and ATT to the reader', () => {
  let rig: MobileRig;
  const key = createDeviceKey('genuine-phone');

  beforeAll(async () => {
    rig = await startMobileRig(Date.UTC(2026, 5, 1, 16, 0, 0));
    await rig.client.push(onePhoneDatabase(key));
  });
  afterAll(async () => {
    await rig?.close();
  });

  it('never crashes or decides on any of it, and a genuine phone is granted afterwards', async () => {
    const readerAddress = rig.radio.controller!.address;
    const hostile = new VirtualController(rig.air, { position: 1 });
    const host = new SocketHost(hostile);
    const lastSeq = async () => (await rig.client.events(0, 1)).lastSeq as number;
    const seq = await lastSeq();
    let link = await host.connect(readerAddress);
    let answered = 0;
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(aclPackets, { minLength: 1, maxLength: 4 }), async (frames) => {
          // The reader may end a link it finds hostile: then the phone comes back.
          if (host.disconnected(link)) {
            host.received.length = 0;
            link = await host.connect(readerAddress);
          }
          const from = host.received.length;
          for (const pieces of frames) {
            for (const { boundary, data } of pieces) host.acl(link, boundary, data);
          }
          for (let i = 0; i < 4; i++) await settle();
          if (host.received.slice(from).some((p) => p[0] === H4.acl)) answered++;
        }),
        fuzzParams(80, { seed: 1703, cost: 20 }),
      );
      // The GATT server did answer some of it (the fuzz reached it), and logged no decision.
      expect(answered).toBeGreaterThan(0);
      expect(await lastSeq()).toBe(seq);
      // The hostile phone leaves; a genuine one is found, connects and is granted.
      if (!host.disconnected(link)) {
        expect(
          await host.command(Op.disconnect, Buffer.concat([u16(link), Buffer.from([0x13])])),
        ).toBe(0);
      }
    } finally {
      hostile.close();
    }
    const phone = rig.phone({ key }).phone;
    expect(await phone.unlock()).toMatchObject({ status: 'granted' });
    expect(await lastSeq()).toBe(seq + 1);
  });
});
