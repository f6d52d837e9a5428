import { DEFAULT_PI_CONFIG, type PiConfig } from './pi-config';

/** BCM GPIO number -> physical pin on the 40-pin header (every Pi since the B+). */
export const HEADER_PIN: Readonly<Record<number, number>> = Object.freeze({
  0: 27,
  1: 28,
  2: 3,
  3: 5,
  4: 7,
  5: 29,
  6: 31,
  7: 26,
  8: 24,
  9: 21,
  10: 19,
  11: 23,
  12: 32,
  13: 33,
  14: 8,
  15: 10,
  16: 36,
  17: 11,
  18: 12,
  19: 35,
  20: 38,
  21: 40,
  22: 15,
  23: 16,
  24: 18,
  25: 22,
  26: 37,
  27: 13,
});

function pin(offset: number): string {
  const physical = HEADER_PIN[offset];
  return physical === undefined ? `GPIO${offset}` : `GPIO${offset} (pin ${physical})`;
}

/**
 * The wiring table of docs/PI.md, rendered from pi.json's defaults so the doc cannot drift
 * from the code (test/pi/docs.test.ts compares them).
 */
export function wiringTable(config: PiConfig = DEFAULT_PI_CONFIG): string {
  const { lines } = config;
  const polarity = (activeLow: boolean, low: string, high: string) => (activeLow ? low : high);
  const rows: Array<[string, string, string, string, string]> = [
    ['LED red', pin(lines.red), 'out', 'high = on', '`lines.red`'],
    ['LED green', pin(lines.green), 'out', 'high = on (amber = red + green)', '`lines.green`'],
    ['buzzer', pin(lines.buzzer), 'out', 'high = sounding', '`lines.buzzer`'],
    [
      'lock relay',
      pin(lines.relay),
      'out',
      polarity(config.relayActiveLow, 'low = energized', 'high = energized') +
        ' (`relayActiveLow` flips it)',
      '`lines.relay`, `relayActiveLow`',
    ],
    [
      'REX button',
      pin(lines.rex),
      `in, ${config.inputBias}`,
      polarity(config.rexActiveLow, 'low = pressed (button to GND)', 'high = pressed'),
      '`lines.rex`, `rexActiveLow`',
    ],
    [
      'door contact',
      pin(lines.door),
      `in, ${config.inputBias}`,
      polarity(config.doorActiveLow, 'low = open', 'high = open (reed switch to GND while shut)'),
      '`lines.door`, `doorActiveLow`',
    ],
    [
      'badge reader TX',
      'GPIO15 RXD (pin 10)',
      'UART in',
      '3.3 V TTL, 9600 8N1',
      '`badge.path` (`/dev/ttyS0`)',
    ],
    ['ground', 'pins 6, 9, 14, 20, 25, 30, 34, 39', '-', '-', '-'],
  ];
  return [
    '| function | Pi GPIO (BCM, header pin) | direction | level | pi.json |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

/** The HIL rig's loopback wires (RIG=pi), from the same defaults. */
export function loopbackTable(config: PiConfig = DEFAULT_PI_CONFIG): string {
  const { lines, hil } = config;
  const rows: Array<[string, number, number, string]> = [
    ['LED red', lines.red, hil.sense.red, '`hil.sense.red`'],
    ['LED green', lines.green, hil.sense.green, '`hil.sense.green`'],
    ['buzzer', lines.buzzer, hil.sense.buzzer, '`hil.sense.buzzer`'],
    ['relay', lines.relay, hil.sense.relay, '`hil.sense.relay`'],
    ['REX', hil.drive.rex, lines.rex, '`hil.drive.rex`'],
    ['door contact', hil.drive.door, lines.door, '`hil.drive.door`'],
  ];
  return [
    '| loopback | from | to | pi.json |',
    '|---|---|---|---|',
    ...rows.map(([name, from, to, key]) => `| ${name} | ${pin(from)} | ${pin(to)} | ${key} |`),
  ].join('\n');
}
