import { EventEmitter } from 'node:events';
import { isKey, Keypad } from './keypad';
import { SerialLine, type SerialLineOptions } from './serial-line';

/** Separators some keypad modules send between keys: ignored, not errors. */
const SEPARATORS = new Set([0x0d, 0x0a, 0x20]);

/**
 * A serial keypad module sending one ASCII character per key ('0'-'9', '#', '*') into a
 * Keypad. Events: 'bad-key' ({ byte }) for any other byte (counted, dropped),
 * 'port-error' (Error), 'closed' ({ unexpected }), 'reopened' ().
 */
export class KeypadSerialInput extends EventEmitter {
  readonly line: SerialLine;
  private badKeyCount = 0;

  constructor(
    options: SerialLineOptions,
    readonly keypad: Keypad = new Keypad({ clock: options.clock }),
  ) {
    super();
    this.line = new SerialLine(options, (chunk) => this.receive(chunk));
    this.line.on('port-error', (error: Error) => this.emit('port-error', error));
    this.line.on('closed', (info: { unexpected: boolean }) => this.emit('closed', info));
    this.line.on('reopened', () => this.emit('reopened'));
  }

  get badKeys(): number {
    return this.badKeyCount;
  }

  get isOpen(): boolean {
    return this.line.isOpen;
  }

  open(): Promise<void> {
    return this.line.open();
  }

  close(): Promise<void> {
    return this.line.close();
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
