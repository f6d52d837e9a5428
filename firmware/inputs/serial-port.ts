import { SerialPort } from 'serialport';

export interface SerialPortOptions {
  path: string;
  /** Default 9600 (8N1), the ISONAS and RDM6300 rate. */
  baudRate?: number;
  /** A serialport binding (tests: @serialport/binding-mock); default: the platform's. */
  binding?: unknown;
}

export const DEFAULT_BAUD_RATE = 9600;

/** Opens a port 8N1 through the real SerialPort class (with a test binding if given). */
export async function openSerialPort(options: SerialPortOptions): Promise<SerialPort> {
  const baudRate = options.baudRate ?? DEFAULT_BAUD_RATE;
  if (!Number.isInteger(baudRate) || baudRate <= 0) {
    throw new RangeError(`baud rate must be a positive integer, got ${baudRate}`);
  }
  const port = new SerialPort({
    path: options.path,
    baudRate,
    dataBits: 8,
    parity: 'none',
    stopBits: 1,
    autoOpen: false,
    // SerialPort spreads its options over the detected binding, so a given one wins.
    ...(options.binding ? { binding: options.binding } : {}),
  } as ConstructorParameters<typeof SerialPort>[0]);
  await new Promise<void>((resolve, reject) =>
    port.open((error) => (error ? reject(error) : resolve())),
  );
  return port;
}

export function closeSerialPort(port: SerialPort): Promise<void> {
  if (!port.isOpen) return Promise.resolve();
  return new Promise<void>((resolve, reject) =>
    port.close((error) => (error ? reject(error) : resolve())),
  );
}
