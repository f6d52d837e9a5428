/**
 * Findings of the fuzz tests in test/fuzz/, each kept as a named case so it stays fixed.
 */
import { EventEmitter } from 'node:events';
import * as path from 'node:path';
import { Air, VirtualController, createHciSocket, installVirtualHci } from '../../ble/controller';
import { guardedSocketClass } from '../../ble/controller/hci-socket';
import { AclBoundary, Op } from '../../ble/controller/hci-spec';
import { createDeviceKey } from '../../ble/device-key';
import { API_ERRORS } from '../../firmware/api/errors';
import { settle } from '../../firmware/foundation/clock';
import { startTestReader, type TestReader } from '../api/harness';
import { advParams, u16 } from '../ble/raw-host';
import { onePhoneDatabase, startMobileRig, type MobileRig } from '../mobile/harness';
import { SocketHost } from './hci-host';
import { send } from './http-client';

describe('regressions found by fuzzing the host API', () => {
  let reader: TestReader;
  beforeAll(async () => {
    reader = await startTestReader({ sectorCount: 64 });
  });
  afterAll(() => reader.close());

  // Found by http.test.ts: fastify refused these before routing with its own body
  // { statusCode, error: 'Bad Request', code: 'FST_ERR_BAD_URL' } (and 414 for a long
  // parameter), not the API's { error, message, field } (fix: firmware/api/server.ts frameworkErrors).
  it.each([
    ['a bad percent escape in a path parameter', 'POST', '/api/v1/sim/door/%80'],
    ['a percent sign that escapes nothing', 'GET', '/api/v1/enroll/%zz'],
    ['an over-long path parameter', 'GET', `/api/v1/enroll/${'x'.repeat(3000)}`],
    ['a bad escape in an unknown path', 'GET', '/api/v1/%zz'],
  ])(
    'regression: %s is a 400 in the API error shape, not fastify’s own',
    async (_name, method, path) => {
      const response = await send(reader.api.url, {
        method,
        path,
        headers: { authorization: `Bearer ${reader.token}` },
      });
      expect(response.status).toBe(400);
      expect(response.contentType).toMatch(/^application\/json/);
      const body = JSON.parse(response.body) as Record<string, unknown>;
      expect(body).toMatchObject({ error: 'bad_request', field: '/' });
      expect(Object.keys(API_ERRORS)).toContain(body.error);
      expect(body).not.toHaveProperty('statusCode');
      expect((await reader.client.health()).state).toBe('running');
    },
  );

  it('regression: a path parameter as long as a schema id (128) reaches its route', async () => {
    const response = await send(reader.api.url, {
      method: 'GET',
      path: `/api/v1/enroll/${'e'.repeat(128)}`,
      headers: { authorization: `Bearer ${reader.token}` },
    });
    expect(response.status).toBe(404);
    expect(JSON.parse(response.body)).toMatchObject({ error: 'not_found' });
  });
});

describe('regressions found by fuzzing the reader over BLE (hci.test.ts)', () => {
  // A hostile phone's malformed L2CAP/ATT made @stoprocent/bleno throw a RangeError from the
  // HCI socket's 'data' handler: an uncaught exception, the reader process gone. Fix:
  // ble/controller/hci-socket.ts (L2capGuard drops what reassembly cannot take; a packet the
  // stack still throws on is counted in stackFaults and dropped).
  let rig: MobileRig;
  const key = createDeviceKey('regression-phone');
  beforeAll(async () => {
    rig = await startMobileRig(Date.UTC(2026, 5, 1, 16, 0, 0));
    await rig.client.push(onePhoneDatabase(key));
    await rig.client.patchConfig({ blePhoneCooldownMs: 0 });
  }, 30_000);
  afterAll(async () => {
    await rig?.close();
  });

  const l2cap = (cid: number, pdu: Buffer, length = pdu.length) =>
    Buffer.concat([u16(length), u16(cid), pdu]);

  it.each([
    [
      'an ACL start fragment shorter than the L2CAP header',
      [[AclBoundary.firstFlushable, Buffer.from([0x05, 0x00])]],
    ],
    [
      'a truncated ATT Read Request (opcode, no handle)',
      [[AclBoundary.firstFlushable, l2cap(0x0004, Buffer.from([0x0a]))]],
    ],
    [
      'a truncated ATT Prepare Write Request',
      [[AclBoundary.firstFlushable, l2cap(0x0004, Buffer.from([0x16, 0x03]))]],
    ],
    ['a continuation with no start', [[AclBoundary.continuing, Buffer.alloc(40, 0x41)]]],
    [
      'continuations past the length the start announced',
      [
        [AclBoundary.firstFlushable, l2cap(0x0004, Buffer.from([0x12, 0x03, 0x00]), 8)],
        [AclBoundary.continuing, Buffer.alloc(200, 0x42)],
        [AclBoundary.continuing, Buffer.alloc(200, 0x42)],
      ],
    ],
  ] as [string, [number, Buffer][]][])(
    'regression: %s: the reader survives it (it crashed on the first three) and grants a genuine phone after it',
    async (_name, packets) => {
      const hostile = new VirtualController(rig.air, { position: 1 });
      try {
        const host = new SocketHost(hostile);
        const link = await host.connect(rig.radio.controller!.address);
        for (const [boundary, data] of packets) host.acl(link, boundary, data);
        for (let i = 0; i < 5; i++) await settle();
        await host.command(Op.disconnect, Buffer.concat([u16(link), Buffer.from([0x13])]));
        await settle();
      } finally {
        hostile.close();
      }
      const { phone } = rig.phone({ key });
      expect(await phone.unlock()).toMatchObject({ status: 'granted' });
    },
  );

  it('regression: the socket counts what it dropped and why', async () => {
    const air = new Air();
    const reader = new VirtualController(air, { address: '11:22:33:44:55:66' });
    const phone = new VirtualController(air, { position: 1 });
    try {
      const socket = createHciSocket(reader);
      socket.bindRaw(0);
      socket.start();
      const stackSaw: Buffer[] = [];
      // A stack whose ATT parser throws on what it is given, as bleno's does.
      socket.on('data', (p: Buffer) => {
        if (p[0] === 0x02 && p.length > 9 && p[9] === 0x0a) throw new RangeError('offset');
        stackSaw.push(p);
      });
      const write = (b: Buffer) => socket.write(b);
      write(Buffer.concat([Buffer.from([0x01, 0x01, 0x0c, 8]), Buffer.alloc(8, 0xff)]));
      write(Buffer.concat([Buffer.from([0x01, 0x01, 0x20, 8]), Buffer.alloc(8, 0xff)]));
      write(Buffer.concat([Buffer.from([0x01, 0x06, 0x20, 15]), advParams()]));
      write(Buffer.from([0x01, 0x0a, 0x20, 1, 1]));
      const host = new SocketHost(phone);
      const link = await host.connect('11:22:33:44:55:66');
      host.acl(link, AclBoundary.firstFlushable, Buffer.from([0x01]));
      host.acl(link, AclBoundary.continuing, Buffer.alloc(10));
      host.acl(link, AclBoundary.firstFlushable, l2cap(0x0004, Buffer.from([0x12]), 3));
      host.acl(link, AclBoundary.continuing, Buffer.alloc(30));
      host.acl(link, AclBoundary.firstFlushable, l2cap(0x0004, Buffer.from([0x0a])));
      host.acl(link, AclBoundary.firstFlushable, l2cap(0x0004, Buffer.from([0x02, 0x17, 0x00])));
      for (let i = 0; i < 4; i++) await settle();
      expect(socket.l2capGuard.dropped).toEqual({ 'short-header': 1, 'no-start': 1, overrun: 1 });
      expect(socket.stackFaults).toEqual({ count: 1, last: 'offset' });
      // The well-formed MTU request after all that still reached the stack.
      const acl = stackSaw.filter((p) => p[0] === 0x02);
      expect(acl.map((p) => p.subarray(5).toString('hex'))).toEqual([
        l2cap(0x0004, Buffer.from([0x12]), 3).toString('hex'),
        '030004000217 00'.replace(' ', ''),
      ]);
    } finally {
      phone.close();
      reader.close();
    }
  });
});

describe('regression: a real adapter gets the same protection (hci-socket.ts, stack-seam.ts)', () => {
  it('guardedSocketClass drops what reassembly cannot take and survives a throwing stack', () => {
    class FakeAdapterSocket extends EventEmitter {}
    const Guarded = guardedSocketClass(FakeAdapterSocket);
    const socket = new Guarded();
    socket.on('data', (p: Buffer) => {
      if (p.length > 9 && p[9] === 0x0a) throw new RangeError('offset');
    });
    const acl = (boundary: number, data: Buffer) =>
      Buffer.concat([Buffer.from([0x02, 0x40, boundary << 4]), u16(data.length), data]);
    expect(socket.emit('data', acl(2, Buffer.from([1])))).toBe(false);
    expect(socket.emit('data', acl(2, Buffer.from('01000400' + '0a', 'hex')))).toBe(false);
    expect(socket.emit('data', acl(2, Buffer.from('030004000217' + '00', 'hex')))).toBe(true);
    expect(socket.l2capGuard.dropped['short-header']).toBe(1);
    expect(socket.stackFaults.count).toBe(1);
    expect(socket.emit('other', 1)).toBe(false); // other events pass through untouched
  });

  it("the stacks' loadDriver hands out guarded classes for every driver but the virtual ones", () => {
    installVirtualHci();
    const blenoDir = path.dirname(require.resolve('@stoprocent/bleno/package.json'));
    const resolved = require.resolve('@stoprocent/bluetooth-hci-socket', { paths: [blenoDir] });
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const socketModule = require(resolved) as { loadDriver(name: string): unknown };
    const Native = socketModule.loadDriver('native') as { prototype: object };
    expect(Object.prototype.hasOwnProperty.call(Native.prototype, 'emit')).toBe(true);
    expect(socketModule.loadDriver('native')).toBe(Native); // one wrapper per class
  });
});
