import { MockBinding, type MockPortBinding } from '@serialport/binding-mock';
import { VirtualClock } from '../../firmware/foundation/clock';
import {
  BadgeSerialInput,
  type BadFrameReport,
  type BadgeRead,
} from '../../firmware/inputs/badge-serial';
import { rdm6300Frame } from '../../firmware/inputs/rdm6300';

/** Waits (in real time: serial I/O is asynchronous) until check() holds. */
async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The mock port's far end, as the badge module would drive it. */
function wire(input: BadgeSerialInput): MockPortBinding {
  return input.line.serialPort?.port as unknown as MockPortBinding;
}

/**
 * Pulls the plug: the next read fails with an I/O error, as a vanished USB device does, so
 * SerialPort takes its real disconnect path (closes the binding, emits 'close').
 */
function unplug(input: BadgeSerialInput): void {
  const far = wire(input);
  far.read = () => Promise.reject(new Error('EIO: device unplugged'));
  far.emitData(Buffer.from([0x30])); // completes the read in flight; the next one fails
}

function collect(input: BadgeSerialInput) {
  const badges: BadgeRead[] = [];
  const bad: BadFrameReport[] = [];
  input.on('badge', (read: BadgeRead) => badges.push(read));
  input.on('bad-frame', (report: BadFrameReport) => bad.push(report));
  return { badges, bad };
}

describe('BadgeSerialInput over the real SerialPort class (mock binding)', () => {
  beforeEach(() => {
    MockBinding.createPort('/dev/ttyBADGE', { echo: false, record: false });
  });
  afterEach(() => MockBinding.reset());

  test('ISONAS ASCII at 9600 8N1: badges read, bad lines counted, never read as badges', async () => {
    const input = new BadgeSerialInput({
      path: '/dev/ttyBADGE',
      format: 'isonas-ascii',
      binding: MockBinding,
    });
    const { badges, bad } = collect(input);
    await input.open();
    expect(input.isOpen).toBe(true);
    const far = wire(input);
    expect(far.openOptions).toMatchObject({
      baudRate: 9600,
      dataBits: 8,
      parity: 'none',
      stopBits: 1,
    });
    far.emitData(Buffer.from('123'));
    far.emitData(Buffer.from('45\r\n9\r\nabc\r\n'));
    far.emitData(Buffer.from('987654321\r\n'));
    await until(() => badges.length === 2 && bad.length === 2, 'two badges and two bad frames');
    expect(badges.map((read) => [read.value, read.format])).toEqual([
      ['12345', 'isonas-ascii'],
      ['987654321', 'isonas-ascii'],
    ]);
    expect(bad.map((report) => [report.reason, report.bytes.toString()])).toEqual([
      ['wrong-length', '9'],
      ['non-digit', 'abc'],
    ]);
    expect(input.badFrames).toBe(2);
    await input.close();
    expect(input.isOpen).toBe(false);
  });

  test('RDM6300 frames split across chunks with garbage between them', async () => {
    const clock = new VirtualClock(Date.UTC(2026, 0, 5, 8));
    const input = new BadgeSerialInput({
      path: '/dev/ttyBADGE',
      format: 'rdm6300',
      binding: MockBinding,
      clock,
    });
    const { badges, bad } = collect(input);
    await input.open();
    const far = wire(input);
    const frame = rdm6300Frame('0A1B2C3D4E');
    far.emitData(frame.subarray(0, 5));
    far.emitData(Buffer.concat([frame.subarray(5), Buffer.from('\xff\xfe', 'latin1')]));
    far.emitData(Buffer.from('\x02' + '0A1B2C3D4E00' + '\x03', 'latin1')); // bad checksum
    far.emitData(rdm6300Frame('FFFFFFFFFF'));
    await until(() => badges.length === 2 && bad.length === 2, 'two badges and two bad frames');
    expect(badges).toEqual([
      { value: 'hex:0A1B2C3D4E', format: 'rdm6300', at: clock.now() },
      { value: 'hex:FFFFFFFFFF', format: 'rdm6300', at: clock.now() },
    ]);
    expect(bad.map((report) => report.reason)).toEqual(['garbage', 'bad-checksum']);
    expect(input.badFrames).toBe(2);
    await input.close();
  });

  test('closing the port reports a half-received frame as truncated', async () => {
    const input = new BadgeSerialInput({
      path: '/dev/ttyBADGE',
      format: 'rdm6300',
      binding: MockBinding,
    });
    const { badges, bad } = collect(input);
    const closed = new Promise((resolve) => input.once('closed', resolve));
    await input.open();
    wire(input).emitData(Buffer.from('\x020A1B', 'latin1'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    await input.close();
    await closed;
    expect(badges).toEqual([]);
    expect(bad.map((report) => report.reason)).toEqual(['truncated']);
  });

  test('a missing port rejects open() with the path in the error; the input can retry', async () => {
    const input = new BadgeSerialInput({
      path: '/dev/ttyNONE',
      format: 'isonas-ascii',
      binding: MockBinding,
    });
    await expect(input.open()).rejects.toThrow(/ttyNONE/);
    expect(input.line.serialPort).toBeUndefined();
    expect(input.isOpen).toBe(false);
    MockBinding.createPort('/dev/ttyNONE', { echo: false, record: false });
    await input.open();
    expect(input.isOpen).toBe(true);
    await input.close();
  });

  test('opening twice is refused', async () => {
    const input = new BadgeSerialInput({
      path: '/dev/ttyBADGE',
      format: 'isonas-ascii',
      binding: MockBinding,
    });
    const first = input.open();
    await expect(input.open()).rejects.toThrow(/already open/);
    await first;
    await expect(input.open()).rejects.toThrow(/already open/);
    await input.close();
  });

  test('bad options are refused up front', () => {
    expect(
      () =>
        new BadgeSerialInput({ path: '/dev/x', format: 'wiegand' as never, binding: MockBinding }),
    ).toThrow(/unknown badge format/);
    expect(
      () => new BadgeSerialInput({ path: '/dev/x', format: 'rdm6300', repeatSuppressMs: 500 }),
    ).toThrow(/needs a clock/);
  });

  test('a bad baud rate rejects open()', async () => {
    const input = new BadgeSerialInput({
      path: '/dev/ttyBADGE',
      format: 'rdm6300',
      baudRate: -1,
      binding: MockBinding,
    });
    await expect(input.open()).rejects.toThrow(RangeError);
  });
});

describe('BadgeSerialInput when the port goes away', () => {
  beforeEach(() => MockBinding.createPort('/dev/ttyUSB0', { echo: false, record: false }));
  afterEach(() => MockBinding.reset());

  test('a port lost under it is reopened on the clock and reads again', async () => {
    const clock = new VirtualClock(0);
    const input = new BadgeSerialInput({
      path: '/dev/ttyUSB0',
      format: 'isonas-ascii',
      binding: MockBinding,
      clock,
      reopenAfterMs: 2000,
    });
    const { badges, bad } = collect(input);
    const closed: Array<{ unexpected: boolean }> = [];
    input.on('closed', (info: { unexpected: boolean }) => closed.push(info));
    let reopened = 0;
    input.on('reopened', () => reopened++);
    await input.open();
    wire(input).emitData(Buffer.from('12'));
    await new Promise((resolve) => setTimeout(resolve, 10));
    unplug(input); // the USB reader goes away mid-frame
    await until(() => closed.length === 1, 'the close');
    expect(closed).toEqual([{ unexpected: true }]);
    // the half-read line is reported (with or without the byte that raced the unplug)
    expect(bad.map((report) => report.reason)).toEqual(['truncated']);
    expect(bad[0].bytes.toString()).toMatch(/^12/);
    expect(input.isOpen).toBe(false);
    clock.advance(1999);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(input.isOpen).toBe(false);
    clock.advance(1);
    await until(() => reopened === 1, 'the reopen');
    expect(input.isOpen).toBe(true);
    wire(input).emitData(Buffer.from('4321\r\n'));
    await until(() => badges.length === 1, 'a badge after the reopen');
    expect(badges[0].value).toBe('4321');
    await input.close();
    expect(closed).toEqual([{ unexpected: true }, { unexpected: false }]);
    expect(clock.pendingCount).toBe(0);
  });

  test('while the port stays missing, each failed reopen is a port-error and is retried', async () => {
    const clock = new VirtualClock(0);
    const input = new BadgeSerialInput({
      path: '/dev/ttyUSB0',
      format: 'rdm6300',
      binding: MockBinding,
      clock,
      reopenAfterMs: 1000,
    });
    const errors: Error[] = [];
    input.on('port-error', (error: Error) => errors.push(error));
    await input.open();
    unplug(input);
    await until(() => !input.isOpen && clock.pendingCount === 1, 'the close');
    MockBinding.reset(); // the device node is gone
    clock.advance(1000);
    await until(() => errors.length === 1, 'a failed reopen');
    clock.advance(1000);
    await until(() => errors.length === 2, 'a second failed reopen');
    MockBinding.createPort('/dev/ttyUSB0', { echo: false, record: false });
    clock.advance(1000);
    await until(() => input.isOpen, 'the reopen');
    await input.close();
    expect(clock.pendingCount).toBe(0);
  });

  test('reopenAfterMs needs a clock and a sane value', () => {
    expect(
      () => new BadgeSerialInput({ path: '/dev/x', format: 'rdm6300', reopenAfterMs: 1000 }),
    ).toThrow(/needs a clock/);
    expect(
      () =>
        new BadgeSerialInput({
          path: '/dev/x',
          format: 'rdm6300',
          clock: new VirtualClock(0),
          reopenAfterMs: -1,
        }),
    ).toThrow(RangeError);
  });
});

describe('BadgeSerialInput repeat suppression', () => {
  test('a card held in the field is one read; it reads again after the window', () => {
    const clock = new VirtualClock(0);
    const input = new BadgeSerialInput({
      path: '/dev/unused',
      format: 'rdm6300',
      clock,
      repeatSuppressMs: 1000,
    });
    const { badges } = collect(input);
    const card = rdm6300Frame('0A1B2C3D4E');
    for (let i = 0; i < 5; i++) {
      input.receive(card);
      clock.advance(300);
    }
    input.receive(rdm6300Frame('FFFFFFFFFF'));
    clock.advance(1000);
    input.receive(card);
    expect(badges.map((read) => [read.at, read.value])).toEqual([
      [0, 'hex:0A1B2C3D4E'],
      [1500, 'hex:FFFFFFFFFF'],
      [2500, 'hex:0A1B2C3D4E'],
    ]);
    expect(input.repeats).toBe(4);
  });
});

test('a clock set backwards does not turn later reads into repeats', () => {
  const clock = new VirtualClock(10_000_000);
  const input = new BadgeSerialInput({
    path: '/dev/unused',
    format: 'isonas-ascii',
    clock,
    repeatSuppressMs: 1000,
  });
  const { badges } = collect(input);
  input.receive(Buffer.from('1234\r\n'));
  clock.set(clock.now() - 3_600_000);
  clock.advance(2000);
  input.receive(Buffer.from('1234\r\n'));
  expect(badges).toHaveLength(2);
});
