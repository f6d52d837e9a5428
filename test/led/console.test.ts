import pino from 'pino';
import { VirtualClock } from '../../firmware/foundation/clock';
import { ConsoleIndicatorDriver, statusLine } from '../../led/drivers/console';
import { IndicatorEngine } from '../../led/engine';

const T0 = Date.UTC(2026, 0, 5, 8, 0, 0);

function capture() {
  const chunks: string[] = [];
  return { chunks, write: (text: string) => chunks.push(text) };
}

describe('ConsoleIndicatorDriver', () => {
  test('not on a TTY: one pino JSON line per change, with colour, buzzer and clock time', () => {
    const out = capture();
    const logger = pino({ base: undefined, timestamp: false }, out);
    const clock = new VirtualClock(T0);
    const engine = new IndicatorEngine(clock, [new ConsoleIndicatorDriver({ logger, tty: false })]);
    engine.setPermanent('idle');
    engine.showTemporary('granted', 5000);
    clock.advance(5000);
    const lines = out.chunks
      .join('')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines).toEqual([
      { level: 30, msg: 'indicator', led: 'red', buzzer: false, at: T0 },
      { level: 30, msg: 'indicator', led: 'green', buzzer: true, at: T0 },
      { level: 30, msg: 'indicator', led: 'green', buzzer: false, at: T0 + 100 },
      { level: 30, msg: 'indicator', led: 'red', buzzer: false, at: T0 + 5000 },
    ]);
  });

  test('on a TTY: one coloured status line rewritten in place', () => {
    const out = { ...capture(), isTTY: true };
    const driver = new ConsoleIndicatorDriver({ stream: out });
    driver.show({ color: 'green', buzzer: true }, T0 + 1234);
    driver.show({ color: 'amber', buzzer: false }, T0 + 2000);
    expect(out.chunks).toHaveLength(2);
    expect(out.chunks[0].startsWith('\r\x1b[2K')).toBe(true);
    expect(out.chunks[0]).not.toContain('\n');
    expect(out.chunks[0]).toContain('08:00:01.234');
    expect(out.chunks[0]).toContain('\x1b[32m'); // green
    expect(out.chunks[0]).toContain('BEEP');
    expect(out.chunks[1]).toContain('\x1b[33m'); // amber
    expect(out.chunks[1]).not.toContain('BEEP');
  });

  test('the status line names the colour so it reads without colour support', () => {
    expect(statusLine({ color: 'red', buzzer: false }, T0)).toMatch(/LED .*red/);
    expect(statusLine({ color: 'off', buzzer: false }, T0)).toMatch(/LED .*off/);
  });
});
