/**
 * Fuzzing the serial inputs through the real path: bytes go in at the far end of a serial
 * port (@serialport/binding-mock under the real SerialPort class), through BadgeSerialInput /
 * KeypadSerialInput, into a booted reader (firmware/boot.ts on an in-memory flash part, a
 * virtual clock) that decides and logs. For each badge format and the keypad:
 * - arbitrary byte streams (partial lines, NULs, invalid UTF-8, terminators anywhere, any
 *   chunking) never throw out of the input, and exactly the well-formed frames in them become
 *   presentations, in order: the oracle is the format's definition, not the parser;
 * - a valid frame after the garbage is still read;
 * - a line of megabytes without a terminator is dropped whole, and what the input holds
 *   meanwhile stays bounded (a close reports at most one frame's worth of held bytes).
 */
import { MockBinding, type MockPortBinding } from '@serialport/binding-mock';
import fc from 'fast-check';
import { boot } from '../../firmware/boot';
import { RunningReader } from '../../firmware/running-reader';
import { VirtualClock } from '../../firmware/foundation/clock';
import {
  BadgeSerialInput,
  type BadFrameReport,
  type BadgeFormat,
  type BadgeRead,
} from '../../firmware/inputs/badge-serial';
import { ISONAS_MAX_LINE } from '../../firmware/inputs/isonas-ascii';
import { KEYPAD_DEFAULTS } from '../../firmware/inputs/keypad';
import { KeypadSerialInput } from '../../firmware/inputs/keypad-serial';
import { RDM6300_MAX_GARBAGE, rdm6300Frame } from '../../firmware/inputs/rdm6300';
import { fuzzParams, fuzzTimeout } from './params';
import { testDrivers } from '../../firmware/profiles/test';

jest.setTimeout(fuzzTimeout(60_000));

const PORT = '/dev/ttyFUZZ';
const RUNS = 40;
const COST = 10;

interface Decided {
  source: string;
  value?: string;
}

interface Rig {
  input: BadgeSerialInput | KeypadSerialInput;
  reader: RunningReader;
  decided: Decided[];
  badges: BadgeRead[];
  bad: BadFrameReport[];
  entries: string[];
  /** The far end of the port: what the badge module or keypad sends. */
  far(): MockPortBinding;
  close(): Promise<void>;
}

/** A booted reader with one serial input on a mock port; every decision is recorded. */
async function startRig(kind: BadgeFormat | 'keypad'): Promise<Rig> {
  MockBinding.createPort(PORT, { echo: false, record: false });
  const clock = new VirtualClock(Date.UTC(2026, 0, 5, 9));
  const options = { path: PORT, binding: MockBinding, clock };
  const input =
    kind === 'keypad'
      ? new KeypadSerialInput(options)
      : new BadgeSerialInput({ ...options, format: kind });
  const reader = boot({
    ...testDrivers({ clock, flash: { sectorCount: 256 } }),
    ...(input instanceof KeypadSerialInput ? { keypad: input.keypad } : { badgeInputs: [input] }),
  });
  const rig: Rig = {
    input,
    reader,
    decided: [],
    badges: [],
    bad: [],
    entries: [],
    far: () => input.line.serialPort?.port as unknown as MockPortBinding,
    async close() {
      await input.close();
      await reader.shutdown();
      MockBinding.reset();
    },
  };
  reader.reader.on('decision', ({ presentation }: { presentation: Decided }) =>
    rig.decided.push({ source: presentation.source, value: presentation.value }),
  );
  input.on('badge', (read: BadgeRead) => rig.badges.push(read));
  input.on('bad-frame', (report: BadFrameReport) => rig.bad.push(report));
  if (input instanceof KeypadSerialInput) {
    input.keypad.on('entry', (entry: { digits: string }) => rig.entries.push(entry.digits));
  }
  await input.open();
  return rig;
}

/** Waits (real time: serial I/O is asynchronous) until check() holds. */
async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Sends `stream` in the given chunk sizes (the rest in one piece). */
function emitChunked(rig: Rig, stream: Buffer, cuts: number[]): void {
  let at = 0;
  for (const cut of cuts) {
    if (at >= stream.length) break;
    rig.far().emitData(stream.subarray(at, at + cut));
    at += cut;
  }
  if (at < stream.length) rig.far().emitData(stream.subarray(at));
}

// --- what each format defines as a frame (the oracle) --------------------------------------

/** ISONAS ASCII: the terminated lines of 2-9 digits (a trailing unterminated part is no line). */
function isonasBadges(stream: Buffer): string[] {
  const lines = stream.toString('latin1').split(/[\r\n]/);
  lines.pop();
  return lines.filter((line) => /^[0-9]{2,9}$/.test(line));
}

/** RDM6300: STX, 12 hex digits whose last two are the XOR of the first five bytes, ETX. */
function rdmBadges(stream: Buffer): string[] {
  const out: string[] = [];
  // STX (0x02) then 12 bytes that are neither STX nor ETX, then ETX (0x03).
  // eslint-disable-next-line no-control-regex -- STX and ETX are the frame's delimiters
  const frame = /\x02([^\x02\x03]{12})\x03/g;
  for (const m of stream.toString('latin1').matchAll(frame)) {
    const body = m[1]!;
    if (!/^[0-9A-Fa-f]{12}$/.test(body)) continue;
    const data = Buffer.from(body.slice(0, 10), 'hex');
    if (data.reduce((x, b) => x ^ b, 0) !== parseInt(body.slice(10), 16)) continue;
    out.push(`hex:${body.slice(0, 10).toUpperCase()}`);
  }
  return out;
}

/**
 * Keypad: the '#'-ended runs of 1 to maxLength digits since the last '#' or '*' (other bytes
 * ignored).
 */
function keypadEntries(stream: Buffer, maxLength = KEYPAD_DEFAULTS.maxLength): string[] {
  const out: string[] = [];
  let typed = '';
  for (const byte of stream) {
    const key = String.fromCharCode(byte);
    if (key === '#') {
      if (typed.length >= 1 && typed.length <= maxLength) out.push(typed);
      typed = '';
    } else if (key === '*') typed = '';
    else if (/[0-9]/.test(key)) typed += key;
  }
  return out;
}

// --- streams ------------------------------------------------------------------------------

const anyBytes = fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a));
const latin1 = (s: string) => Buffer.from(s, 'latin1');

/** Pieces that mean something to the format, mixed with noise that looks almost right. */
function pieces(kind: BadgeFormat | 'keypad'): fc.Arbitrary<Buffer> {
  const noise = [
    anyBytes,
    fc.constantFrom(
      Buffer.from([0]),
      Buffer.from([0xff, 0xfe, 0xc3, 0x28]), // invalid UTF-8
      Buffer.from('\u00e9\u20ac', 'utf8'),
      latin1('\r'),
      latin1('\n'),
      latin1('\r\n'),
    ),
  ];
  switch (kind) {
    case 'isonas-ascii':
      return fc.oneof(
        ...noise,
        fc.stringMatching(/^[0-9]{1,12}$/).map(latin1),
        fc.stringMatching(/^[0-9]{2,9}\r\n?$/).map(latin1),
        fc.nat(200).map((n) => latin1('7'.repeat(n))),
      );
    case 'rdm6300':
      return fc.oneof(
        ...noise,
        fc.stringMatching(/^[0-9A-F]{10}$/).map((hex) => rdm6300Frame(hex)),
        // A valid frame with one byte changed or dropped.
        fc
          .tuple(fc.stringMatching(/^[0-9A-F]{10}$/), fc.nat(13), fc.nat(255), fc.boolean())
          .map(([hex, at, byte, drop]) => {
            const frame = Buffer.from(rdm6300Frame(hex));
            if (drop) return Buffer.concat([frame.subarray(0, at), frame.subarray(at + 1)]);
            frame[at] = byte;
            return frame;
          }),
        fc.constantFrom(latin1('\x02'), latin1('\x03')),
      );
    case 'keypad':
      return fc.oneof(
        ...noise,
        fc.stringMatching(/^[0-9*#]{1,12}$/).map(latin1),
        // Entries around the longest the keypad takes.
        fc.stringMatching(new RegExp(`^[0-9]{1,${KEYPAD_DEFAULTS.maxLength + 2}}#$`)).map(latin1),
      );
  }
}

/** A valid frame after the garbage: it resynchronises first (a terminator, an STX, a clear). */
function sentinel(kind: BadgeFormat | 'keypad'): { bytes: Buffer; value: string } {
  switch (kind) {
    case 'isonas-ascii':
      return { bytes: latin1('\r864209\r\n'), value: '864209' };
    case 'rdm6300':
      return { bytes: rdm6300Frame('0A1B2C3D4E'), value: 'hex:0A1B2C3D4E' };
    case 'keypad':
      return { bytes: latin1('*4711#'), value: '4711' };
  }
}

function expected(kind: BadgeFormat | 'keypad', stream: Buffer): string[] {
  if (kind === 'isonas-ascii') return isonasBadges(stream);
  if (kind === 'rdm6300') return rdmBadges(stream);
  return keypadEntries(stream);
}

const KINDS: (BadgeFormat | 'keypad')[] = ['isonas-ascii', 'rdm6300', 'keypad'];

describe.each(KINDS)('fuzzing the %s serial input', (kind) => {
  let rig: Rig;
  beforeEach(async () => {
    rig = await startRig(kind);
  });
  afterEach(async () => {
    await rig.close();
  });

  it('presents exactly the well-formed frames of any byte stream, in order, and keeps reading', async () => {
    const seen = { frames: 0, streams: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.array(pieces(kind), { maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 10 }),
        async (parts, cuts) => {
          const decidedBefore = rig.decided.length;
          const readsBefore = kind === 'keypad' ? rig.entries.length : rig.badges.length;
          const end = sentinel(kind);
          const stream = Buffer.concat([...parts, end.bytes]);
          // The sentinel resynchronises first, so it is always read (it may also end a
          // partial line of the garbage into a frame: that is the format, not a fault).
          const want = expected(kind, stream);
          expect(want[want.length - 1]).toBe(end.value);
          emitChunked(rig, stream, cuts);
          // The sentinel's decision is the last one: wait for it, then nothing else may come.
          await until(() => rig.decided.length - decidedBefore >= want.length, 'the decisions');
          await new Promise((resolve) => setImmediate(resolve));
          const decided = rig.decided.slice(decidedBefore);
          expect(decided).toHaveLength(want.length);
          if (kind === 'keypad') {
            expect(rig.entries.slice(readsBefore)).toEqual(want);
            expect(decided.every((d) => d.source === 'keypad')).toBe(true);
          } else {
            expect(rig.badges.slice(readsBefore).map((b) => b.value)).toEqual(want);
            expect(decided.map((d) => d.value)).toEqual(want);
            expect(decided.every((d) => d.source === 'badge-serial')).toBe(true);
          }
          seen.frames += want.length - 1;
          seen.streams++;
        },
      ),
      fuzzParams(RUNS, { seed: 5150, cost: COST }),
    );
    expect(rig.input.isOpen).toBe(true);
    expect(seen.frames).toBeGreaterThan(0); // the generator does hit valid frames
  });

  it('drops a line of megabytes without a terminator whole, holding a bounded amount meanwhile', async () => {
    const MB = 1024 * 1024;
    const filler: Record<typeof kind, Buffer> = {
      // Digits only: the line would be a badge were it not so long.
      'isonas-ascii': Buffer.alloc(4 * MB, '5'),
      // Inside a frame that never ends: STX, then hex forever.
      rdm6300: Buffer.concat([latin1('\x02'), Buffer.alloc(4 * MB, 'A')]),
      // Digits and then '#': one entry of a million keys (each key is an event: less is plenty).
      keypad: Buffer.concat([Buffer.alloc(MB, '3'), latin1('#')]),
    };
    const rejected: string[] = [];
    if (rig.input instanceof KeypadSerialInput) {
      rig.input.keypad.on('rejected', (r: { reason: string }) => rejected.push(r.reason));
    }
    const big = filler[kind];
    for (let at = 0; at < big.length; at += 64 * 1024) {
      rig.far().emitData(big.subarray(at, at + 64 * 1024));
    }
    const end = sentinel(kind);
    rig.far().emitData(end.bytes);
    const reads = () => (kind === 'keypad' ? rig.entries : rig.badges.map((b) => b.value));
    await until(() => reads().length > 0, 'the frame after the long line');
    await new Promise((resolve) => setImmediate(resolve));
    // The long line was no presentation; the frame after it was.
    expect(reads()).toEqual([end.value]);
    await until(() => rig.decided.length === 1, 'its decision');
    if (kind === 'keypad') {
      expect(rejected).toEqual(['too-long']);
    } else {
      // Reported once (overlong), with at most one frame's worth of bytes.
      const overlong = rig.bad.filter((b) => b.reason === 'overlong');
      expect(overlong).toHaveLength(1);
      expect(overlong[0]!.bytes.length).toBeLessThanOrEqual(ISONAS_MAX_LINE + 1);
    }
    // What the input holds is bounded: after another megabyte without a terminator, closing
    // the port reports what was held, at most a frame's worth (the rest was never kept).
    rig.bad.length = 0;
    const more = kind === 'keypad' ? MB / 4 : MB;
    rig.far().emitData(Buffer.alloc(more, kind === 'rdm6300' ? 'x' : '8'));
    if (kind === 'keypad') {
      const keypad = (rig.input as KeypadSerialInput).keypad;
      await until(() => keypad.pendingLength === more, 'the keys');
    } else {
      await until(() => rig.bad.length > 0, 'the overlong or garbage report');
    }
    await rig.input.close();
    const held = rig.bad.map((b) => b.bytes.length);
    expect(Math.max(0, ...held)).toBeLessThanOrEqual(
      Math.max(ISONAS_MAX_LINE + 1, RDM6300_MAX_GARBAGE),
    );
  });
});
