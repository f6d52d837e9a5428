import fc from 'fast-check';
import { settle } from '../../firmware/foundation/clock';
import { Air, VirtualController, createHciSocket } from '../../ble/controller';
import {
  AdvType,
  Evt,
  H4,
  HARDWARE_ERROR_H4_FRAMING,
  LeSubevent,
  Op,
  Status,
} from '../../ble/controller/hci-spec';
import { loadSocketModule } from '../../ble/controller/stack-seam';
import { fuzzParams, fuzzTimeout } from '../fuzz/params';
import { RawHost, advParams, answersOpcode, createConnParams, u16 } from './raw-host';

// Long fuzz runs (FUZZ_RUNS) need more than jest's 5 s default.
jest.setTimeout(fuzzTimeout(5000));

const open: VirtualController[] = [];
function host(options: { address?: string; position?: number } = {}, air = new Air()): RawHost {
  const controller = new VirtualController(air, options);
  open.push(controller);
  return new RawHost(controller);
}
// Advertising runs on clock timers: leaving the air stops them.
afterEach(() => open.splice(0).forEach((c) => c.close()));

describe('virtual controller: commands a host sends at init', () => {
  it('answers reset, masks, versions, buffer sizes and BD_ADDR as a 5.0 LE-only controller', async () => {
    const h = host({ address: '11:22:33:44:55:66' });
    expect(await h.command(Op.reset)).toEqual({
      kind: 'complete',
      status: 0,
      result: Buffer.alloc(0),
    });
    expect((await h.command(Op.setEventMask, Buffer.from('fffffbff07f8bf3d', 'hex'))).status).toBe(
      0,
    );
    expect(
      (await h.command(Op.leSetEventMask, Buffer.from('1f00000000000000', 'hex'))).status,
    ).toBe(0);
    const version = await h.command(Op.readLocalVersion);
    expect(version.status).toBe(0);
    expect(version.result[0]).toBe(0x09); // HCI 5.0: bleno and noble refuse < 4.0 (0x06)
    expect(version.result.readUInt16LE(4)).toBe(0xffff);
    const bdAddr = await h.command(Op.readBdAddr);
    expect(bdAddr.result.toString('hex')).toBe('665544332211');
    const le = await h.command(Op.leReadBufferSize);
    expect(le.result.readUInt16LE(0)).toBe(251);
    expect(le.result[2]).toBe(8);
    expect((await h.command(Op.writeLeHostSupported, Buffer.from([1, 0]))).status).toBe(0);
    expect((await h.command(Op.readLeHostSupported)).result).toEqual(Buffer.from([1, 0]));
    expect((await h.command(Op.leReadLocalFeatures)).result).toEqual(Buffer.alloc(8));
    const commands = (await h.command(Op.readLocalCommands)).result;
    expect(commands).toHaveLength(64);
    expect(commands[26]! & 0x10).toBeTruthy(); // LE Create Connection
  });
});

describe('virtual controller: errors a real controller gives', () => {
  it('answers an unknown opcode with Unknown HCI Command (0x01)', async () => {
    const h = host();
    const vendor = (0x3f << 10) | 0x0001;
    expect(await h.command(vendor, Buffer.from([1, 2, 3]))).toMatchObject({
      kind: 'complete',
      status: Status.unknownCommand,
    });
    expect(h.controller.stats.unknownCommands).toBe(1);
  });

  it('answers a wrong parameter length with Invalid HCI Command Parameters (0x12)', async () => {
    const h = host();
    expect((await h.command(Op.leSetAdvData, Buffer.alloc(5))).status).toBe(
      Status.invalidParameters,
    );
    // A status-type command reports it in Command Status.
    expect(await h.command(Op.leCreateConn, Buffer.alloc(3))).toMatchObject({
      kind: 'status',
      status: Status.invalidParameters,
    });
    // Advertising data longer than 31 bytes.
    expect(
      (await h.command(Op.leSetAdvData, Buffer.concat([Buffer.from([32]), Buffer.alloc(31)])))
        .status,
    ).toBe(Status.invalidParameters);
    // Advertising interval below 20 ms.
    expect((await h.command(Op.leSetAdvParams, advParams(0x10))).status).toBe(
      Status.invalidParameters,
    );
  });

  it('refuses commands the current state does not allow (0x0C) and unknown handles (0x02)', async () => {
    const h = host();
    expect((await h.command(Op.leSetAdvParams, advParams())).status).toBe(0);
    expect((await h.command(Op.leSetAdvEnable, Buffer.from([1]))).status).toBe(0);
    expect((await h.command(Op.leSetAdvParams, advParams())).status).toBe(Status.commandDisallowed);
    expect((await h.command(Op.leCreateConnCancel)).status).toBe(Status.commandDisallowed);
    expect(await h.command(Op.disconnect, Buffer.from([0x40, 0, 0x13]))).toMatchObject({
      kind: 'status',
      status: Status.unknownConnectionId,
    });
    expect((await h.command(Op.readRssi, u16(0x40))).status).toBe(Status.unknownConnectionId);
  });

  it('reports unparseable H4 framing with a Hardware Error event and keeps working', async () => {
    const h = host();
    h.controller.receive(Buffer.from([0x05, 1, 2, 3])); // no such packet indicator
    h.controller.receive(Buffer.from([H4.event, 0x0e, 0])); // events flow the other way
    h.controller.receive(Buffer.from([H4.command, 0x03])); // command too short for opcode + length
    await settle();
    const errors = h.events(Evt.hardwareError);
    expect(errors).toHaveLength(3);
    expect(errors.every((e) => e[3] === HARDWARE_ERROR_H4_FRAMING)).toBe(true);
    expect((await h.command(Op.reset)).status).toBe(0);
  });

  it('drops ACL data for an unknown handle or with a wrong length, without an event', async () => {
    const h = host();
    h.acl(0x40, Buffer.from([1, 2, 3]));
    h.controller.receive(Buffer.from([H4.acl, 0x40, 0x00, 9, 0, 1])); // says 9 bytes, carries 1
    h.controller.receive(Buffer.from([H4.acl, 0x40])); // truncated header
    await settle();
    expect(h.controller.stats.aclDropped).toBe(3);
    expect(h.received).toHaveLength(0);
  });

  it('never throws on random packets: every framed command gets exactly one answer', async () => {
    const h = host();
    const packet = fc.oneof(
      fc.uint8Array({ minLength: 0, maxLength: 40 }).map((b) => Buffer.from(b)),
      fc
        .tuple(
          fc.constantFrom(0x01, 0x02),
          fc.integer({ min: 0, max: 0xffff }),
          fc.uint8Array({ maxLength: 40 }),
        )
        .map(([type, op, params]) =>
          Buffer.concat([
            Buffer.from([type, op & 0xff, op >> 8, params.length]),
            Buffer.from(params),
          ]),
        ),
      fc
        .tuple(
          fc.constantFrom(...Object.values(Op)),
          fc.uint8Array({ maxLength: 40 }),
          fc.boolean(),
        )
        .map(([op, params, lie]) =>
          Buffer.concat([
            Buffer.from([
              H4.command,
              op & 0xff,
              op >> 8,
              lie ? (params.length + 1) & 0xff : params.length,
            ]),
            Buffer.from(params),
          ]),
        ),
    );
    await fc.assert(
      fc.asyncProperty(packet, async (p) => {
        const from = h.received.length;
        expect(() => h.controller.receive(p)).not.toThrow();
        await settle();
        const answers = h.received.slice(from).filter((e) => answersOpcode(e) !== undefined);
        if (p.length >= 4 && p[0] === H4.command) {
          expect(answers).toHaveLength(1);
          expect(answersOpcode(answers[0]!)).toBe(p.readUInt16LE(1));
        } else {
          expect(answers).toHaveLength(0);
        }
      }),
      fuzzParams(300, { seed: 4 }),
    );
  });
});

describe('virtual controller: advertising, connection and data on the air', () => {
  // The default event mask leaves LE Meta events off (Core Vol 4 Part E 7.3.1): hosts turn it on.
  async function enableAllEvents(...hosts: RawHost[]): Promise<void> {
    for (const h of hosts) await h.command(Op.setEventMask, Buffer.alloc(8, 0xff));
  }

  async function advertiser(h: RawHost, data: Buffer): Promise<void> {
    await h.command(Op.leSetAdvParams, advParams());
    await h.command(
      Op.leSetAdvData,
      Buffer.concat([Buffer.from([data.length]), data, Buffer.alloc(31 - data.length)]),
    );
    await h.command(Op.leSetAdvEnable, Buffer.from([1]));
  }

  it('delivers advertising reports with RSSI from the path-loss model, and scan responses to active scanners only', async () => {
    const air = new Air({ pathLoss: { referenceLossDb: 40, exponent: 2 } });
    const reader = host({ address: '11:22:33:44:55:66' }, air);
    const phone = host({ position: 10 }, air);
    const passive = host({ position: 1 }, air);
    await enableAllEvents(reader, phone, passive);
    await advertiser(reader, Buffer.from([2, 1, 6]));
    await phone.command(Op.leSetScanParams, Buffer.from([1, 0x12, 0, 0x12, 0, 0, 0]));
    await phone.command(Op.leSetScanEnable, Buffer.from([1, 1]));
    await passive.command(Op.leSetScanParams, Buffer.from([0, 0x12, 0, 0x12, 0, 0, 0]));
    await passive.command(Op.leSetScanEnable, Buffer.from([1, 1]));
    await settle();
    const reports = phone.leEvents(LeSubevent.advertisingReport);
    expect(reports.map((r) => r[5])).toEqual([AdvType.advInd, AdvType.scanRsp]);
    const first = reports[0]!;
    expect(first.subarray(7, 13).toString('hex')).toBe('665544332211');
    expect(first.readInt8(first.length - 1)).toBe(-60); // 0 dBm - (40 + 20 log10 10)
    const passiveReports = passive.leEvents(LeSubevent.advertisingReport);
    expect(passiveReports.map((r) => r[5])).toEqual([AdvType.advInd]);
    expect(passiveReports[0]!.readInt8(passiveReports[0]!.length - 1)).toBe(-40);
  });

  it('connects, carries ACL data both ways with Number Of Completed Packets, and disconnects both sides', async () => {
    const air = new Air();
    const reader = host({ address: '11:22:33:44:55:66' }, air);
    const phone = host({ position: 2 }, air);
    await enableAllEvents(reader, phone);
    await advertiser(reader, Buffer.from([2, 1, 6]));
    expect(
      (await phone.command(Op.leCreateConn, createConnParams('11:22:33:44:55:66'))).status,
    ).toBe(0);
    await settle();
    const [central] = phone.leEvents(LeSubevent.connectionComplete);
    const [peripheral] = reader.leEvents(LeSubevent.connectionComplete);
    expect(central![4]).toBe(0);
    expect(central![7]).toBe(0); // role: central
    expect(peripheral![7]).toBe(1); // role: peripheral
    const phoneHandle = central!.readUInt16LE(5);
    const readerHandle = peripheral!.readUInt16LE(5);
    phone.acl(phoneHandle, Buffer.from('0300040002b900', 'hex')); // L2CAP ATT Exchange MTU Request
    await settle();
    await settle();
    const acl = reader.received.filter((p) => p[0] === H4.acl);
    expect(acl).toHaveLength(1);
    expect(acl[0]!.readUInt16LE(1)).toBe(readerHandle | (0x2 << 12));
    expect(acl[0]!.subarray(5).toString('hex')).toBe('0300040002b900');
    const completed = phone.events(Evt.numberOfCompletedPackets);
    expect(completed.map((e) => [e.readUInt16LE(4), e.readUInt16LE(6)])).toEqual([
      [phoneHandle, 1],
    ]);
    expect(
      (await reader.command(Op.disconnect, Buffer.concat([u16(readerHandle), Buffer.from([0x13])])))
        .status,
    ).toBe(0);
    await settle();
    const [down] = phone.events(Evt.disconnectionComplete);
    expect(down!.readUInt16LE(4)).toBe(phoneHandle);
    expect(down![6]).toBe(Status.remoteUserTerminated);
    expect(reader.events(Evt.disconnectionComplete)[0]![6]).toBe(Status.localHostTerminated);
  });

  it('cancels a pending connection with Command Complete, then Connection Complete (Unknown Connection Identifier)', async () => {
    const air = new Air();
    const phone = host({ position: 2 }, air);
    await enableAllEvents(phone);
    expect(
      (await phone.command(Op.leCreateConn, createConnParams('aa:bb:cc:dd:ee:ff'))).status,
    ).toBe(0);
    expect(
      (await phone.command(Op.leCreateConn, createConnParams('aa:bb:cc:dd:ee:ff'))).status,
    ).toBe(Status.commandDisallowed);
    expect((await phone.command(Op.leCreateConnCancel)).status).toBe(0);
    await settle();
    const [done] = phone.leEvents(LeSubevent.connectionComplete);
    expect(done![4]).toBe(Status.unknownConnectionId);
    expect(done!.subarray(5).every((b) => b === 0)).toBe(true);
  });

  it('updates connection parameters on both sides and reads RSSI and remote features of a link', async () => {
    const air = new Air({ pathLoss: { referenceLossDb: 40, exponent: 2 } });
    const reader = host({ address: '11:22:33:44:55:66' }, air);
    const phone = host({ position: 10 }, air);
    await enableAllEvents(reader, phone);
    await advertiser(reader, Buffer.from([2, 1, 6]));
    await phone.command(Op.leCreateConn, createConnParams('11:22:33:44:55:66'));
    await settle();
    const handle = phone.leEvents(LeSubevent.connectionComplete)[0]!.readUInt16LE(5);
    // interval 24 x 1.25 = 30 ms, latency 0, timeout 200 x 10 ms
    const update = Buffer.concat([u16(handle), u16(24), u16(24), u16(0), u16(200), u16(0), u16(0)]);
    expect(await phone.command(Op.leConnUpdate, update)).toMatchObject({
      kind: 'status',
      status: 0,
    });
    await settle();
    for (const side of [phone, reader]) {
      const [updated] = side.leEvents(LeSubevent.connectionUpdateComplete);
      expect(updated!.readUInt16LE(7)).toBe(24);
      expect(updated!.readUInt16LE(11)).toBe(200);
    }
    // Supervision timeout shorter than twice the interval is invalid.
    const bad = Buffer.concat([u16(handle), u16(400), u16(400), u16(0), u16(10), u16(0), u16(0)]);
    expect((await phone.command(Op.leConnUpdate, bad)).status).toBe(Status.invalidParameters);
    const rssi = await phone.command(Op.readRssi, u16(handle));
    expect(rssi.result.readInt8(2)).toBe(-60);
    expect((await phone.command(Op.leReadRemoteFeatures, u16(handle))).status).toBe(0);
    await settle();
    expect(phone.leEvents(LeSubevent.readRemoteFeaturesComplete)).toHaveLength(1);
  });

  it('sends only the LE events the host unmasked', async () => {
    const air = new Air();
    const reader = host({ address: '11:22:33:44:55:66' }, air);
    const phone = host({ position: 1 }, air);
    await enableAllEvents(reader, phone);
    await phone.command(Op.leSetEventMask, Buffer.from('0100000000000000', 'hex')); // connection complete only
    await advertiser(reader, Buffer.from([2, 1, 6]));
    await phone.command(Op.leSetScanEnable, Buffer.from([1, 0]));
    await settle();
    expect(phone.leEvents(LeSubevent.advertisingReport)).toHaveLength(0);
  });
});

describe('virtual HCI socket (the object host stacks hold)', () => {
  it('attaches on a raw bind, applies the kernel-style filter, and leaves control sockets idle', async () => {
    const controller = new VirtualController(new Air());
    open.push(controller);
    const control = createHciSocket(controller);
    control.bindControl();
    control.start();
    const seenOnControl: Buffer[] = [];
    control.on('data', (p: Buffer) => seenOnControl.push(p));
    expect(control.isDevUp()).toBe(false);

    const socket = createHciSocket(controller);
    const seen: Buffer[] = [];
    socket.on('data', (p: Buffer) => seen.push(p));
    socket.write(Buffer.from([H4.command, 0x03, 0x0c, 0])); // before bind: goes nowhere
    expect(socket.bindRaw(0)).toBe(0);
    socket.start();
    expect(socket.isDevUp()).toBe(true);
    // Filter: events only, and of those only Command Complete (0x0e).
    const filter = Buffer.alloc(14);
    filter.writeUInt32LE(1 << H4.event, 0);
    filter.writeUInt32LE(1 << Evt.commandComplete, 4);
    socket.setFilter(filter);
    socket.write(Buffer.from([H4.command, 0x03, 0x0c, 0])); // Reset -> Command Complete
    socket.write(Buffer.from([0x05])); // -> Hardware Error, filtered out
    await settle();
    expect(seen.map((p) => p[1])).toEqual([Evt.commandComplete]);
    expect(controller.stats.commands).toBe(1);
    expect(seenOnControl).toHaveLength(0);
    socket.stop();
    socket.write(Buffer.from([H4.command, 0x03, 0x0c, 0]));
    await settle();
    expect(controller.stats.commands).toBe(1);
  });
});

describe('driver seam without a native HCI addon', () => {
  it('stands in a socket module whose default driver never comes up instead of throwing', () => {
    const seam = loadSocketModule('/nonexistent/bluetooth-hci-socket/index.js');
    const Socket = seam.loadDriver('default') as new () => {
      isDevUp(): boolean;
      bindRaw(): number;
    };
    const socket = new Socket();
    expect(socket.bindRaw()).toBe(0);
    expect(socket.isDevUp()).toBe(false);
  });
});
