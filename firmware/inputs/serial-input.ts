import { EventEmitter } from 'node:events';
import { SerialLine, type SerialLineOptions } from './serial-line';

/**
 * What every serial input shares: its line, the line's events passed on ('port-error',
 * 'closed' ({ unexpected }), 'reopened'), open and close. Subclasses turn bytes into input.
 */
export abstract class SerialInput extends EventEmitter {
  readonly line: SerialLine;

  constructor(options: SerialLineOptions) {
    super();
    this.line = new SerialLine(options, (chunk) => this.receive(chunk));
    this.line.on('port-error', (error: Error) => this.emit('port-error', error));
    this.line.on('reopened', () => this.emit('reopened'));
    this.line.on('closed', (info: { unexpected: boolean }) => {
      this.lineClosed();
      this.emit('closed', info);
    });
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

  /** Bytes as they came off the wire. */
  abstract receive(chunk: Buffer): void;

  /** The port went away, before 'closed' is emitted: drop or report partial input. */
  protected lineClosed(): void {}
}
