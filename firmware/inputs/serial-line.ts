import { EventEmitter } from 'node:events';
import type { SerialPort } from 'serialport';
import type { Clock, Timer } from '../foundation/clock';
import { closeSerialPort, openSerialPort, type SerialPortOptions } from './serial-port';

export interface SerialLineOptions extends SerialPortOptions {
  /** Stamps reads with the reader's time; needed for reopenAfterMs. */
  clock?: Clock;
  /**
   * A port that closes on its own (USB reader unplugged, cable fault) is reopened every this
   * many ms until it comes back. 0 / absent: it stays closed.
   */
  reopenAfterMs?: number;
}

/**
 * One serial input line: opens the port 8N1, hands every chunk to `onData`, and survives the
 * port going away. Events: 'port-error' (Error), 'closed' ({ unexpected }), 'reopened' ().
 */
export class SerialLine extends EventEmitter {
  private port: SerialPort | undefined;
  private opening = false;
  /** close() was called: the line stays down. */
  private closing = false;
  private reopenTimer: Timer | undefined;

  constructor(
    private readonly options: SerialLineOptions,
    private readonly onData: (chunk: Buffer) => void,
  ) {
    super();
    const reopen = options.reopenAfterMs ?? 0;
    if (!Number.isFinite(reopen) || reopen < 0) {
      throw new RangeError(`reopenAfterMs must be >= 0, got ${reopen}`);
    }
    if (reopen > 0 && !options.clock) throw new RangeError('reopenAfterMs needs a clock');
  }

  get path(): string {
    return this.options.path;
  }

  get isOpen(): boolean {
    return this.port?.isOpen === true;
  }

  /** The open port (diagnostics and tests), if any. */
  get serialPort(): SerialPort | undefined {
    return this.port;
  }

  async open(): Promise<void> {
    if (this.port || this.opening) throw new Error(`serial port ${this.path} is already open`);
    this.closing = false;
    this.opening = true;
    try {
      this.attach(await openSerialPort(this.options));
    } finally {
      this.opening = false;
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    this.options.clock?.clearTimeout(this.reopenTimer);
    this.reopenTimer = undefined;
    if (this.port) await closeSerialPort(this.port);
  }

  private attach(port: SerialPort): void {
    this.port = port;
    port.on('data', (chunk: Buffer) => this.onData(chunk));
    port.on('error', (error: Error) => this.emit('port-error', error));
    port.on('close', () => {
      this.port = undefined;
      const unexpected = !this.closing;
      this.emit('closed', { unexpected });
      if (unexpected) this.scheduleReopen();
    });
  }

  private scheduleReopen(): void {
    const clock = this.options.clock;
    const delay = this.options.reopenAfterMs ?? 0;
    if (!clock || delay <= 0 || this.closing) return;
    this.reopenTimer = clock.setTimeout(() => {
      this.reopenTimer = undefined;
      if (this.closing || this.port || this.opening) return;
      this.opening = true;
      openSerialPort(this.options).then(
        (port) => {
          this.opening = false;
          if (this.closing) return void closeSerialPort(port).catch(() => undefined);
          this.attach(port);
          this.emit('reopened');
        },
        (error: Error) => {
          this.opening = false;
          this.emit('port-error', error);
          this.scheduleReopen();
        },
      );
    }, delay);
  }
}
