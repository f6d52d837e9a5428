/**
 * Bad input for the OSDP parser and the reader as a PD: arbitrary and mutated packets, split
 * or run together, wrong check characters and lengths, unknown commands, secure-channel
 * packets out of order or with wrong MACs. The PD answers with the NAK the specification
 * names or not at all, never throws, and the reader's flash stays byte for byte the same.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { OsdpPanelLink } from '../../firmware/osdp';
import { powerOnBoard } from '../../firmware/profiles/drivers';
import { testDrivers } from '../../firmware/profiles/test';
import {
  COMMAND,
  ControlPanel,
  crc16,
  encodeFrame,
  MAX_PACKET,
  memoryChannelPair,
  NAK,
  PacketParser,
  REPLY,
  SCS,
  SOM,
  type Channel,
  type Frame,
  type FrameFields,
} from '../../osdp';
import { fuzzParams, fuzzTimeout } from '../fuzz/params';

jest.setTimeout(fuzzTimeout(60_000));

const frameFields = fc.record({
  address: fc.integer({ min: 0, max: 0x7f }),
  sqn: fc.integer({ min: 0, max: 3 }),
  crc: fc.boolean(),
  code: fc.integer({ min: 0, max: 255 }),
  data: fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
});

describe('the packet parser', () => {
  it('gives back every packet, in order, whatever the chunking, with SOM-free garbage between', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            frameFields,
            fc.uint8Array({ maxLength: 12 }).map((g) => Buffer.from(g.filter((b) => b !== SOM))),
          ),
          { maxLength: 8 },
        ),
        fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 10 }),
        (items, cuts) => {
          const frames = items.map(([f]) => encodeFrame(f));
          const stream = Buffer.concat(items.flatMap(([, garbage], i) => [garbage, frames[i]]));
          const parser = new PacketParser();
          const got: Frame[] = [];
          let at = 0;
          for (let i = 0; at < stream.length; i++) {
            const n = cuts[i % cuts.length];
            for (const e of parser.push(stream.subarray(at, at + n)))
              if (e.kind === 'frame') got.push(e.frame);
            at += n;
          }
          expect(got.map((f) => f.bytes.toString('hex'))).toEqual(
            frames.map((f) => f.toString('hex')),
          );
        },
      ),
      fuzzParams(300, { seed: 1701 }),
    );
  });

  it('never throws on arbitrary bytes, and a packet after a packet-length of filler is read', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), frameFields, (garbage, fields) => {
        const parser = new PacketParser();
        const events = [
          ...parser.push(Buffer.from(garbage)),
          ...parser.push(Buffer.alloc(MAX_PACKET, 0)),
          ...parser.push(encodeFrame(fields)),
        ];
        const last = events[events.length - 1];
        expect(last.kind).toBe('frame');
        expect(parser.pending).toBe(0);
      }),
      fuzzParams(300, { seed: 1702 }),
    );
  });

  it('a flipped bit is a bad check (or, in the length, a resync), never a wrong frame', () => {
    fc.assert(
      fc.property(frameFields, fc.nat(), fc.integer({ min: 0, max: 7 }), (fields, at, bit) => {
        const bytes = encodeFrame({ ...fields, crc: true });
        const i = 1 + (at % (bytes.length - 1));
        bytes[i] ^= 1 << bit;
        const events = new PacketParser().push(Buffer.concat([bytes, Buffer.alloc(MAX_PACKET, 0)]));
        expect(events.filter((e) => e.kind === 'frame')).toEqual([]);
      }),
      fuzzParams(500, { seed: 1703 }),
    );
  });
});

/** A booted reader (test profile) with its PD on one end of an in-memory channel. */
async function readerAsPd() {
  const drivers = testDrivers({ flash: { sectorCount: 64 } });
  const [pdEnd, panelEnd] = memoryChannelPair();
  const link = new OsdpPanelLink({
    transport: { channel: pdEnd, description: 'memory' },
    address: 1,
  });
  const board = await powerOnBoard(drivers);
  const reader = board.reader()!;
  reader.config.update({ role: 'osdp-pd' });
  const detach = link.attach(reader);
  const replies: Buffer[] = [];
  panelEnd.onData((b) => void replies.push(b));
  const image = () =>
    createHash('sha256').update(drivers.flash.read(0, drivers.flash.size)).digest('hex');
  return { drivers, board, reader, detach, panelEnd, replies, image, clock: drivers.clock };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('the reader as a PD, fed bad input', () => {
  let pd: Awaited<ReturnType<typeof readerAsPd>>;
  beforeAll(async () => {
    pd = await readerAsPd();
  });
  afterAll(async () => {
    pd.detach();
    await pd.board.shutdown();
  });

  it('arbitrary and mutated packets: replies are well-formed ACK/NAK/status, the flash never changes', async () => {
    const before = pd.image();
    const allowedNaks = new Set<number>(Object.values(NAK));
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
            frameFields.map((f) => encodeFrame({ ...f, address: f.address % 2 ? 1 : f.address })),
            frameFields.map((f) => {
              const b = encodeFrame({ ...f, address: 1 });
              b[b.length - 1] ^= 0x40; // bad check character
              return b;
            }),
            frameFields.map((f) =>
              // A secure-channel block of any type, MAC bytes or not.
              Buffer.from(
                encodeFrame({
                  address: 1,
                  sqn: f.sqn,
                  scb: { type: 0x11 + (f.code % 8), data: f.data.subarray(0, 2) },
                  code: f.code,
                  data: f.data,
                  mac: () => Buffer.alloc(16, f.code),
                } as FrameFields),
              ),
            ),
          ),
          { maxLength: 12 },
        ),
        async (chunks) => {
          pd.replies.length = 0;
          for (const c of chunks) pd.panelEnd.write(c);
          await settle();
          await pd.clock.advanceAsync(200); // a cut-off packet times out
          const parser = new PacketParser();
          for (const r of pd.replies) {
            for (const e of parser.push(r)) {
              expect(e.kind).toBe('frame');
              if (e.kind !== 'frame') continue;
              expect(e.frame.address).toBe(0x81);
              if (e.frame.code === REPLY.NAK) {
                const reason = e.frame.scb ? undefined : e.frame.data[0];
                if (reason !== undefined) expect(allowedNaks.has(reason)).toBe(true);
              }
            }
          }
        },
      ),
      fuzzParams(150, { seed: 1704, cost: 5 }),
    );
    expect(pd.reader.status().osdp!.counters.internalErrors).toBe(0);
    expect(pd.reader.status().osdp!.counters.commands).toBeGreaterThan(100);
    expect(pd.image()).toBe(before);
  });
});

describe('secure-channel misuse against the reader', () => {
  let pd: Awaited<ReturnType<typeof readerAsPd>>;
  let cp: ControlPanel;
  let wire: Channel;
  beforeEach(async () => {
    pd = await readerAsPd();
    wire = pd.panelEnd;
    cp = new ControlPanel({ channel: wire, clock: pd.clock, address: 1 });
    await cp.poll();
  });
  afterEach(async () => {
    cp.close();
    pd.detach();
    await pd.board.shutdown();
  });

  const nakOf = async (fields: Omit<FrameFields, 'address'>) => {
    const reply = await cp.send(fields.code, fields.data, fields.scb ? { scb: fields.scb } : {});
    return reply.code === REPLY.NAK ? reply.data[0] : `0x${reply.code.toString(16)}`;
  };

  it('SCRYPT before CHLNG, a MAC block with no session, KEYSET in clear: NAK 0x05 / 0x06', async () => {
    expect(
      await nakOf({
        sqn: 0,
        code: COMMAND.SCRYPT,
        data: Buffer.alloc(16),
        scb: { type: SCS.SCRYPT, data: Buffer.from([0]) },
      }),
    ).toBe(NAK.SECURITY_CONDITIONS);
    const withMac = encodeFrame({
      address: 1,
      sqn: 2,
      scb: { type: SCS.CMD_MAC, data: Buffer.alloc(0) },
      code: COMMAND.POLL,
      mac: () => Buffer.alloc(16),
    });
    const replies: Buffer[] = [];
    const off = wire.onData((b) => void replies.push(b));
    wire.write(withMac);
    await settle();
    off();
    const nak = new PacketParser().push(Buffer.concat(replies))[0];
    expect(nak).toMatchObject({ kind: 'frame', frame: { code: REPLY.NAK } });
    expect(nak.kind === 'frame' && nak.frame.data[0]).toBe(NAK.SECURITY_CONDITIONS);
    cp.restart(); // the packet above took the CP's next sequence number
    const keyset = await cp.send(
      COMMAND.KEYSET,
      Buffer.concat([Buffer.from([1, 16]), Buffer.alloc(16, 9)]),
    );
    expect([keyset.code, keyset.data[0]]).toEqual([REPLY.NAK, NAK.ENCRYPTION_REQUIRED]);
    expect(pd.reader.config.get().osdpScbk).toBe('');
  });

  it('a wrong MAC inside a session: NAK 0x05, the session ends, nothing is done, the flash unchanged', async () => {
    await cp.startSecureChannel();
    const before = pd.image();
    const relayBefore = pd.reader.status().relay;
    // Tamper with the MAC of an OUT the CP sends: the PD must refuse it.
    const realWrite = wire.write.bind(wire);
    wire.write = (b: Buffer) => {
      const copy = Buffer.from(b);
      copy[copy.length - 3] ^= 0x01; // last MAC byte
      const body = copy.subarray(0, copy.length - 2);
      const crc = crc16(body);
      copy[copy.length - 2] = crc & 0xff;
      copy[copy.length - 1] = crc >> 8;
      realWrite(copy);
    };
    const reply = await cp.send(COMMAND.OUT, Buffer.from([0, 2, 0, 0]));
    wire.write = realWrite;
    expect([reply.code, reply.data[0]]).toEqual([REPLY.NAK, NAK.SECURITY_CONDITIONS]);
    expect(pd.reader.status().osdp).toMatchObject({ secure: false });
    expect(pd.reader.status().relay).toBe(relayBefore);
    expect(pd.image()).toBe(before);
    // A new handshake brings the channel back.
    await cp.startSecureChannel();
    expect((await cp.poll()).secure).toBe(true);
  });

  it('a secure packet replayed later: refused (sequence or MAC), not acted on twice', async () => {
    await cp.startSecureChannel();
    const sent: Buffer[] = [];
    cp.on('trace', (t) => t.direction === 'cp->pd' && sent.push(t.bytes));
    await cp.output([{ output: 0, control: 5, timer: 10 }]);
    await pd.clock.advanceAsync(1000);
    expect(pd.reader.status().relay).toBe('locked');
    await cp.poll();
    await cp.poll();
    const replies: Buffer[] = [];
    const off = wire.onData((b) => void replies.push(b));
    wire.write(sent[0]);
    await settle();
    off();
    const events = new PacketParser().push(Buffer.concat(replies));
    expect(events).toHaveLength(1);
    const frame = events[0].kind === 'frame' ? events[0].frame : undefined;
    expect(frame?.code).toBe(REPLY.NAK);
    expect([NAK.SEQUENCE, NAK.SECURITY_CONDITIONS]).toContain(frame!.data[0]);
    expect(pd.reader.status().relay).toBe('locked');
  });

  it('wrong check character: NAK 0x01; another address: silence; unknown command: NAK 0x03', async () => {
    const replies: Buffer[] = [];
    const off = wire.onData((b) => void replies.push(b));
    const bad = encodeFrame({ address: 1, sqn: 1, code: COMMAND.POLL });
    bad[bad.length - 1] ^= 0xff;
    wire.write(bad);
    wire.write(encodeFrame({ address: 9, sqn: 1, code: COMMAND.POLL }));
    await settle();
    off();
    const events = new PacketParser().push(Buffer.concat(replies));
    expect(events).toHaveLength(1);
    expect(events[0].kind === 'frame' && [events[0].frame.code, events[0].frame.data[0]]).toEqual([
      REPLY.NAK,
      NAK.CHECK_CHARACTER,
    ]);
    const unknown = await cp.send(0x9f);
    expect([unknown.code, unknown.data[0]]).toEqual([REPLY.NAK, NAK.UNKNOWN_COMMAND]);
  });
});
