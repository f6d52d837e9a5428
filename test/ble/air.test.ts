import { seededRandom } from '../../firmware/foundation/random';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { VirtualClock, settle } from '../../firmware/foundation/clock';
import {
  Air,
  AirServer,
  RemoteAir,
  VirtualController,
  defaultAirAddress,
  parseAirAddress,
  walk,
} from '../../ble/controller';
import { Evt, H4, LeSubevent, Op, Status } from '../../ble/controller/hci-spec';
import {
  DEFAULT_PATH_LOSS,
  dataExchangeMs,
  meanRssi,
  sampleRssi,
} from '../../ble/controller/radio-model';
import { RadioLedger } from '../../ble/controller/delivery';
import { RawHost, advParams, createConnParams, u16 } from './raw-host';

const READER = '11:22:33:44:55:66';
const open: VirtualController[] = [];
afterEach(() => open.splice(0).forEach((c) => c.close()));

/** A raw host that also notes, on `clock`, when each packet reached it. */
class TimedHost extends RawHost {
  readonly times: number[] = [];
  constructor(controller: VirtualController, clock: { now(): number }) {
    super(controller);
    open.push(controller);
    controller.on('packet', () => this.times.push(clock.now()));
  }
  timeOf(match: (p: Buffer) => boolean): number | undefined {
    const i = this.received.findIndex(match);
    return i < 0 ? undefined : this.times[i];
  }
}

async function startAdvertising(h: RawHost): Promise<void> {
  await h.command(Op.setEventMask, Buffer.alloc(8, 0xff));
  await h.command(Op.leSetAdvParams, advParams(0xa0));
  await h.command(Op.leSetAdvEnable, Buffer.from([1]));
}

async function connect(
  air: Air,
  clock: VirtualClock,
  phonePosition = 2,
): Promise<{ reader: TimedHost; phone: TimedHost; phoneHandle: number; readerHandle: number }> {
  const reader = new TimedHost(new VirtualController(air, { address: READER, clock }), clock);
  const phone = new TimedHost(
    new VirtualController(air, { position: phonePosition, clock }),
    clock,
  );
  await startAdvertising(reader);
  await phone.command(Op.setEventMask, Buffer.alloc(8, 0xff));
  await phone.command(Op.leCreateConn, createConnParams(READER));
  await clock.advanceAsync(300);
  const [central] = phone.leEvents(LeSubevent.connectionComplete);
  const [peripheral] = reader.leEvents(LeSubevent.connectionComplete);
  return {
    reader,
    phone,
    phoneHandle: central!.readUInt16LE(5),
    readerHandle: peripheral!.readUInt16LE(5),
  };
}

describe('radio model', () => {
  it('loses signal with distance by the log-distance law', () => {
    const model = { ...DEFAULT_PATH_LOSS, referenceLossDb: 40, exponent: 2.5 };
    expect(meanRssi(0, 1, model)).toBe(-40);
    expect(meanRssi(4, 10, model)).toBeCloseTo(-61, 6);
    expect(meanRssi(0, 100, model)).toBeLessThan(meanRssi(0, 10, model));
  });

  it('draws the same noisy RSSI sequence from the same seed', () => {
    const model = { ...DEFAULT_PATH_LOSS, noiseSigmaDb: 4 };
    const draw = (seed: number) => {
      const random = seededRandom(seed);
      return Array.from({ length: 50 }, () => sampleRssi(-60, model, random));
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
    const mean = draw(7).reduce((a, b) => a + b, 0) / 50;
    expect(Math.abs(mean + 60)).toBeLessThan(2);
  });

  it('measures radio time as the union of waiting intervals', () => {
    const ledger = new RadioLedger();
    ledger.start();
    ledger.add(0, 10);
    ledger.add(5, 12);
    ledger.add(20, 25);
    expect(ledger.busyMs(0, 100)).toBe(17);
    expect(ledger.busyMs(8, 22)).toBe(6);
  });
});

describe('air: realistic timing on a virtual clock', () => {
  it('sends ACL data on the next connection-event anchor plus LE 1M airtime', async () => {
    const clock = new VirtualClock();
    const air = new Air({ clock, timing: 'realistic', seed: 3 });
    const { reader, phone, phoneHandle } = await connect(air, clock);
    const connectedAt = phone.timeOf(
      (p) => p[1] === Evt.leMeta && p[3] === LeSubevent.connectionComplete,
    )!;
    expect(connectedAt).toBeDefined();
    // Let the connection's own setup traffic finish, then stand 3.2 ms past an anchor: the
    // link is idle, so the packet must wait for the next connection event.
    await clock.advanceAsync(100);
    const sinceConnect = clock.now() - connectedAt;
    await clock.advanceAsync(Math.ceil(sinceConnect / 7.5) * 7.5 - sinceConnect + 3.2);
    const sentAt = clock.now();
    const payload = Buffer.from('0300040002b900', 'hex');
    phone.acl(phoneHandle, payload);
    await clock.advanceAsync(40);
    const arrivedAt = reader.timeOf((p) => p[0] === H4.acl)!;
    // First anchor: LE Connection Complete + k x 7.5 ms; the packet waits for the next one.
    const anchor = connectedAt + Math.ceil((sentAt - connectedAt) / 7.5) * 7.5;
    const due = anchor + dataExchangeMs(payload.length);
    expect(arrivedAt).toBeGreaterThanOrEqual(due);
    expect(arrivedAt).toBeLessThan(due + 1); // clock timers have 1 ms resolution
  });

  it('connects only on the advertiser’s next advertising event', async () => {
    const clock = new VirtualClock();
    const air = new Air({ clock, timing: 'realistic', seed: 3 });
    const reader = new TimedHost(new VirtualController(air, { address: READER, clock }), clock);
    const phone = new TimedHost(new VirtualController(air, { position: 1, clock }), clock);
    await startAdvertising(reader);
    await phone.command(Op.setEventMask, Buffer.alloc(8, 0xff));
    await phone.command(Op.leCreateConn, createConnParams(READER));
    await clock.advanceAsync(50);
    expect(phone.leEvents(LeSubevent.connectionComplete)).toHaveLength(0); // 100 ms interval + advDelay
    await clock.advanceAsync(70);
    expect(phone.leEvents(LeSubevent.connectionComplete)).toHaveLength(1);
  });
});

describe('air: range and supervision timeout', () => {
  it('drops the link on both sides with Connection Timeout when a phone walks out of range', async () => {
    const clock = new VirtualClock();
    const air = new Air({ clock });
    const { reader, phone, phoneHandle, readerHandle } = await connect(air, clock);
    const phoneController = open[1]!;
    // Walk from 2 m to 2 km over one second: out of range (-95 dBm) beyond ~160 m.
    walk(phoneController, clock, [
      { atMs: 0, meters: 2 },
      { atMs: 1000, meters: 2000 },
    ]);
    const leftRangeAt = clock.now() + 80; // 2 + 1998 x t/1000 crosses 158 m at t ~ 78 ms; checked at 100 ms steps
    await clock.advanceAsync(100 + 410);
    expect(phone.events(Evt.disconnectionComplete)).toHaveLength(0);
    await clock.advanceAsync(20);
    const [down] = phone.events(Evt.disconnectionComplete);
    expect(down!.readUInt16LE(4)).toBe(phoneHandle);
    expect(down![6]).toBe(Status.connectionTimeout);
    const [readerDown] = reader.events(Evt.disconnectionComplete);
    expect(readerDown!.readUInt16LE(4)).toBe(readerHandle);
    expect(readerDown![6]).toBe(Status.connectionTimeout);
    expect(
      phone.timeOf((p) => p[1] === Evt.disconnectionComplete)! - leftRangeAt,
    ).toBeGreaterThanOrEqual(420 - 80);
  });

  it('keeps the link when the phone comes back before the supervision timeout', async () => {
    const clock = new VirtualClock();
    const air = new Air({ clock });
    const { phone } = await connect(air, clock);
    const phoneController = open[1]!;
    phoneController.setPosition(5000);
    await clock.advanceAsync(300);
    phoneController.setPosition(3);
    await clock.advanceAsync(1000);
    expect(phone.events(Evt.disconnectionComplete)).toHaveLength(0);
    expect((await phone.command(Op.readRssi, u16(0x40))).status).toBe(0);
  });
});

describe('air across processes (served on a UNIX socket)', () => {
  it('carries advertising between a local and a remote controller, skips malformed lines, and times out links of a client that goes away', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'air-'));
    const socketPath = path.join(dir, 'air.sock');
    const air = new Air();
    const server = await AirServer.listen(air, { path: socketPath });
    const remote = await RemoteAir.connect({ path: socketPath });
    try {
      const reader = new RawHost(new VirtualController(remote, { address: READER }));
      const phone = new RawHost(new VirtualController(air, { position: 2 }));
      open.push(phone.controller);
      await startAdvertising(reader);
      await phone.command(Op.setEventMask, Buffer.alloc(8, 0xff));
      await phone.command(Op.leCreateConn, createConnParams(READER));
      for (let i = 0; i < 50 && phone.leEvents(LeSubevent.connectionComplete).length === 0; i++)
        await new Promise((r) => setTimeout(r, 5));
      expect(phone.leEvents(LeSubevent.connectionComplete)).toHaveLength(1);
      expect(reader.leEvents(LeSubevent.connectionComplete)).toHaveLength(1);

      const rogue = net.createConnection(socketPath);
      await new Promise((r) => rogue.once('connect', r));
      const profile = {
        address: 'aa:bb:cc:dd:ee:01',
        addressType: 'public',
        txPowerDbm: 0,
        position: { x: 1, y: 0 },
      };
      const lines = [
        'not json',
        '{"t":"call","s":9,"m":"leave","a":[]}', // no such station
        JSON.stringify({ t: 'join', s: 1, profile: { ...profile, address: 'zz' } }),
        JSON.stringify({ t: 'join', s: 2, profile }), // valid
        JSON.stringify({ t: 'call', s: 2, m: 'setPosition', a: [{ x: 'far' }] }),
        JSON.stringify({
          t: 'call',
          s: 2,
          m: 'setAdvertising',
          a: [{ eventType: 0, intervalMs: 0.001, data: { $b: '' }, scanResponse: { $b: '' } }],
        }),
        JSON.stringify({ t: 'call', s: 2, m: 'sendAcl', a: [1, 9, 'x'] }),
      ];
      rogue.write(lines.join('\n') + '\n');
      await new Promise((r) => setTimeout(r, 50));
      expect(server.malformed).toBe(6);
      expect(air.stationCount).toBe(3); // reader (remote), phone, and the rogue's valid station
      rogue.destroy();

      // A peer that never ends its line is cut off rather than buffered without bound.
      const flood = net.createConnection(socketPath);
      await new Promise((r) => flood.once('connect', r));
      const closed = new Promise((r) => flood.once('close', r));
      flood.on('error', () => undefined);
      flood.write('x'.repeat(1.5 * 1024 * 1024));
      await closed;
      expect(server.malformed).toBe(7);

      remote.close();
      for (let i = 0; i < 50 && phone.events(Evt.disconnectionComplete).length === 0; i++)
        await new Promise((r) => setTimeout(r, 5));
      expect(phone.events(Evt.disconnectionComplete)[0]![6]).toBe(Status.connectionTimeout);
      await settle();
      expect(reader.events(Evt.disconnectionComplete)[0]![6]).toBe(Status.connectionTimeout);
    } finally {
      remote.close();
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('air addresses', () => {
  it('parses socket paths and tcp ports, and rejects anything else with a reason', () => {
    expect(parseAirAddress('/tmp/x.sock')).toEqual({ path: '/tmp/x.sock' });
    expect(parseAirAddress('tcp:7400')).toEqual({ port: 7400 });
    expect(parseAirAddress('tcp:0.0.0.0:7400')).toEqual({ host: '0.0.0.0', port: 7400 });
    expect(() => parseAirAddress('tcp:99999')).toThrow(/port must be 0-65535/);
    expect(() => parseAirAddress('tcp:x:y')).toThrow(/expected tcp:PORT/);
    expect(() => parseAirAddress('air.sock')).toThrow(/expected a socket path/);
    expect(defaultAirAddress({ READER_SIM_AIR: 'tcp:7401' })).toEqual({ port: 7401 });
    expect(defaultAirAddress({})).toEqual({ path: path.join(os.tmpdir(), 'reader-sim-air.sock') });
  });

  it('serves the air on loopback TCP as well', async () => {
    const air = new Air();
    const server = await AirServer.listen(air, { port: 0 });
    const remote = await RemoteAir.connect({ port: server.port! });
    try {
      const reader = new RawHost(new VirtualController(remote, { address: READER }));
      const phone = new RawHost(new VirtualController(air, { position: 1 }));
      open.push(phone.controller);
      await startAdvertising(reader);
      await phone.command(Op.setEventMask, Buffer.alloc(8, 0xff));
      await phone.command(Op.leSetScanEnable, Buffer.from([1, 0]));
      for (let i = 0; i < 50 && phone.leEvents(LeSubevent.advertisingReport).length === 0; i++)
        await new Promise((r) => setTimeout(r, 5));
      expect(phone.leEvents(LeSubevent.advertisingReport)[0]!.subarray(7, 13).toString('hex')).toBe(
        '665544332211',
      );
    } finally {
      remote.close();
      await server.close();
    }
  });
});

describe('remote air client against a misbehaving server', () => {
  it('counts nonsense from the server and keeps the controller alive', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'air-'));
    const socketPath = path.join(dir, 'bad.sock');
    const sockets: net.Socket[] = [];
    const fake = net.createServer((socket) => {
      sockets.push(socket);
      socket.write('garbage\n');
      socket.write(
        JSON.stringify({
          t: 'ev',
          s: 1,
          m: 'advertisingReport',
          a: [{ eventType: 0, address: 'x', data: 5, rssi: 'loud' }],
        }) + '\n',
      );
      socket.write(JSON.stringify({ t: 'ev', s: 1, m: 'linkDown', a: [99, 8] }) + '\n'); // valid, unknown link: ignored
    });
    await new Promise<void>((resolve) => fake.listen(socketPath, resolve));
    const remote = await RemoteAir.connect({ path: socketPath });
    try {
      const h = new RawHost(new VirtualController(remote));
      await h.command(Op.setEventMask, Buffer.alloc(8, 0xff));
      await h.command(Op.leSetScanEnable, Buffer.from([1, 0]));
      for (let i = 0; i < 50 && remote.malformed < 2; i++)
        await new Promise((r) => setTimeout(r, 5));
      expect(remote.malformed).toBe(2);
      expect((await h.command(Op.reset)).status).toBe(0);
    } finally {
      remote.close();
      sockets.forEach((s) => s.destroy());
      await new Promise((resolve) => fake.close(resolve));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
