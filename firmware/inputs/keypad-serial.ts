import { isKey, Keypad } from './keypad';
import type { SerialLineOptions } from './serial-line';
import { SerialInput } from './serial-input';

/** Separators some keypad modules send between keys: ignored, not errors. */
const SEPARATORS = new Set([0x0d, 0x0a, 0x20]);

/**
 * A serial keypad module sending one ASCII character per key ('0'-'9', '#', '*') into a
 * Keypad. Events: 'bad-key' ({ byte }) for any other byte (counted, dropped),
 * 'port-error' (Error), 'closed' ({ unexpected }), 'reopened' ().
 */
export class KeypadSerialInput extends SerialInput {
  private badKeyCount = 0;

  constructor(
    options: SerialLineOptions,
    readonly keypad: Keypad = new Keypad({ clock: options.clock }),
  ) {
    super(options);
  }

  get badKeys(): number {
    return this.badKeyCount;
  }

  receive(chunk: Buffer): void {
    for (const byte of chunk) {
      const key = String.fromCharCode(byte);
      if (isKey(key)) this.keypad.press(key);
      else if (!SEPARATORS.has(byte)) {
        this.badKeyCount++;
        this.emit('bad-key', { byte });
      }
    }
  }
}
