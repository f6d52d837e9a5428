import { VirtualClock } from '../../firmware/foundation/clock';
import { TwoLedIndicatorDriver, type IndicatorLine } from '../../led/drivers/lines';
import { IndicatorEngine } from '../../led/engine';

describe('TwoLedIndicatorDriver (red + green lines, amber = both)', () => {
  test('drives only the lines that change, amber as red + green', () => {
    const clock = new VirtualClock(0);
    const writes: Array<[number, IndicatorLine, boolean]> = [];
    const driver = new TwoLedIndicatorDriver({
      write: (line, on) => writes.push([clock.now(), line, on]),
    });
    const engine = new IndicatorEngine(clock, [driver]);
    engine.setPermanent('idle');
    clock.advance(100);
    engine.showTemporary('processing');
    clock.advance(100);
    engine.showTemporary('granted', 1000);
    clock.advance(1000);
    expect(writes).toEqual([
      [0, 'red', true],
      [0, 'green', false],
      [0, 'buzzer', false],
      [100, 'green', true], // amber: red stays on
      [200, 'red', false], // green
      [200, 'buzzer', true],
      [300, 'buzzer', false],
      [1200, 'red', true], // idle red again
      [1200, 'green', false],
    ]);
  });
});
