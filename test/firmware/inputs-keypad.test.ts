import { MockBinding, type MockPortBinding } from '@serialport/binding-mock';
import { VirtualClock } from '../../firmware/foundation/clock';
import { Keypad, KEYPAD_DEFAULTS } from '../../firmware/inputs/keypad';
import { KeypadSerialInput } from '../../firmware/inputs/keypad-serial';

function record(keypad: Keypad) {
  const log: string[] = [];
  keypad.on('entry', (entry: { digits: string }) => log.push(`entry ${entry.digits}`));
  keypad.on('rejected', (r: { reason: string; length: number }) =>
    log.push(`rejected ${r.reason} ${r.length}`),
  );
  keypad.on('clear', (c: { reason: string }) => log.push(`clear ${c.reason}`));
  return log;
}

describe('Keypad', () => {
  test("digits then '#' give one entry; every key is announced", () => {
    const keypad = new Keypad();
    const log = record(keypad);
    const keys: string[] = [];
    keypad.on('key', (k: { key: string }) => keys.push(k.key));
    keypad.type('1234#');
    expect(log).toEqual(['entry 1234']);
    expect(keys).toEqual(['1', '2', '3', '4', '#']);
    expect(keypad.pendingLength).toBe(0);
  });

  test("'*' clears a half-typed entry", () => {
    const keypad = new Keypad();
    const log = record(keypad);
    keypad.type('99*');
    keypad.type('*'); // nothing to clear: no event
    keypad.type('42#');
    expect(log).toEqual(['clear star', 'entry 42']);
  });

  test("an entry longer than maxLength is rejected whole on '#'", () => {
    const keypad = new Keypad({ maxLength: 4 });
    const log = record(keypad);
    keypad.type('123456#');
    keypad.type('1234#');
    expect(log).toEqual(['rejected too-long 6', 'entry 1234']);
  });

  test("'#' with nothing typed is rejected as empty", () => {
    const keypad = new Keypad();
    const log = record(keypad);
    keypad.press('#');
    expect(log).toEqual(['rejected empty 0']);
  });

  test('a key that is not on the keypad throws and changes nothing', () => {
    const keypad = new Keypad();
    const log = record(keypad);
    keypad.type('12');
    expect(() => keypad.press('A')).toThrow(RangeError);
    expect(() => keypad.press('12')).toThrow(RangeError);
    expect(() => keypad.press('')).toThrow(RangeError);
    expect(keypad.pendingLength).toBe(2);
    keypad.press('#');
    expect(log).toEqual(['entry 12']);
  });

  test('a half-typed entry is forgotten after the idle timeout on the clock', () => {
    const clock = new VirtualClock(0);
    const keypad = new Keypad({ clock, idleTimeoutMs: 5000 });
    const log = record(keypad);
    keypad.type('12');
    clock.advance(4999);
    keypad.type('3'); // restarts the timeout
    clock.advance(4999);
    keypad.type('#');
    keypad.type('77');
    clock.advance(5000);
    keypad.type('#');
    expect(log).toEqual(['entry 123', 'clear timeout', 'rejected empty 0']);
    expect(clock.pendingCount).toBe(0);
  });

  test('bad options are refused', () => {
    expect(() => new Keypad({ maxLength: 0 })).toThrow(RangeError);
    expect(() => new Keypad({ idleTimeoutMs: -1 })).toThrow(RangeError);
    expect(new Keypad().maxLength).toBe(KEYPAD_DEFAULTS.maxLength);
  });
});

describe('KeypadSerialInput over the real SerialPort class (mock binding)', () => {
  beforeEach(() => MockBinding.createPort('/dev/ttyKEYS', { echo: false, record: false }));
  afterEach(() => MockBinding.reset());

  test('ASCII keys drive the keypad; separators are ignored, other bytes counted', async () => {
    const input = new KeypadSerialInput({ path: '/dev/ttyKEYS', binding: MockBinding });
    const log = record(input.keypad);
    const badBytes: number[] = [];
    input.on('bad-key', (b: { byte: number }) => badBytes.push(b.byte));
    await input.open();
    const far = input.line.serialPort?.port as unknown as MockPortBinding;
    far.emitData(Buffer.from('12'));
    far.emitData(Buffer.from('3 4\r\n#'));
    far.emitData(Buffer.from('5x*6#'));
    for (let i = 0; i < 400 && log.length < 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(log).toEqual(['entry 1234', 'clear star', 'entry 6']);
    expect(badBytes).toEqual(['x'.charCodeAt(0)]);
    expect(input.badKeys).toBe(1);
    await input.close();
  });
});
