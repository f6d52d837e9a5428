import { EventEmitter } from 'node:events';
import type { SerialPort } from 'serialport';
import { isKey, Keypad } from './keypad';
import { closeSerialPort, openSerialPort, type SerialLineOptions } from './serial-port';

/** Separators some keypad modules send between keys: ignored, not errors. */
const SEPARATORS = new Set([0x0d, 0x0a, 0x20]);

/**
 * A serial keypad module sending one ASCII character per key ('0'-'9', '#', '*') into a
 * Keypad. Events: 'bad-key' ({ byte }) for any other byte (counted, dropped),
 * 'port-error' (Error), 'closed' ().
 */
export class KeypadSerialInput extends EventEmitter {
  private port: SerialPort | undefined;
  private opening = false;
  private badKeyCount = 0;

  constructor(
    private readonly options: SerialLineOptions,
    readonly keypad: Keypad = new Keypad(),
  ) {
    super();
  }

  get badKeys(): number {
    return this.badKeyCount;
  }

  async open(): Promise<void> {
    if (this.port || this.opening) throw new Error(`keypad ${this.options.path} is already open`);
    this.opening = true;
    let port: SerialPort;
    try {
      port = await openSerialPort(this.options);
    } finally {
      this.opening = false;
    }
    this.port = port;
    port.on('data', (chunk: Buffer) => this.receive(chunk));
    port.on('error', (error: Error) => this.emit('port-error', error));
    port.on('close', () => {
      this.port = undefined;
      this.emit('closed');
    });
  }

  async close(): Promise<void> {
    if (this.port) await closeSerialPort(this.port);
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
