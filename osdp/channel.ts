import { EventEmitter } from 'node:events';
import net from 'node:net';
import { SerialPort } from 'serialport';

/**
 * A byte pipe to the other side of an OSDP link: an RS-485 port (or a pty standing in for
 * one), a TCP connection, or an in-memory pair in tests. Half duplex is the sides' business:
 * the CP speaks, then waits for the reply.
 */
export interface Channel {
  write(bytes: Buffer): void;
  /** Returns an unsubscribe. */
  onData(listener: (bytes: Buffer) => void): () => void;
  close(): Promise<void>;
}

class Listeners {
  private readonly set = new Set<(bytes: Buffer) => void>();
  add(listener: (bytes: Buffer) => void): () => void {
    this.set.add(listener);
    return () => this.set.delete(listener);
  }
  deliver(bytes: Buffer): void {
    for (const l of this.set) l(bytes);
  }
}

/** Two connected ends; bytes written to one arrive at the other on the next microtask. */
export function memoryChannelPair(): [Channel, Channel] {
  const a = new Listeners();
  const b = new Listeners();
  let open = true;
  const end = (mine: Listeners, theirs: Listeners): Channel => ({
    write(bytes) {
      if (!open) return;
      const copy = Buffer.from(bytes);
      queueMicrotask(() => open && theirs.deliver(copy));
    },
    onData: (listener) => mine.add(listener),
    close: async () => {
      open = false;
    },
  });
  return [end(a, b), end(b, a)];
}

/** RS-485 speeds a panel uses; anything else is refused before the port opens. */
export const SERIAL_BAUDS = [9600, 19200, 38400, 57600, 115200, 230400] as const;

/** A serial port (a USB RS-485 adapter, a UART with a transceiver, or a pty), 8N1. */
export async function openSerialChannel(
  path: string,
  baud = 9600,
): Promise<Channel & { setBaud(baud: number): Promise<void> }> {
  if (!(SERIAL_BAUDS as readonly number[]).includes(baud))
    throw new RangeError(`baud rate ${baud} is not one of ${SERIAL_BAUDS.join(', ')}`);
  const port = new SerialPort({ path, baudRate: baud, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  const listeners = new Listeners();
  port.on('data', (bytes: Buffer) => listeners.deliver(bytes));
  // A port that goes away (adapter unplugged) ends the link; the PD then goes offline-safe.
  port.on('error', () => undefined);
  return {
    write: (bytes) => void port.write(bytes),
    onData: (listener) => listeners.add(listener),
    setBaud: (next) =>
      new Promise<void>((resolve, reject) =>
        port.update({ baudRate: next }, (err) => (err ? reject(err) : resolve())),
      ),
    close: () =>
      new Promise<void>((resolve) => {
        if (!port.isOpen) return resolve();
        port.close(() => resolve());
      }),
  };
}

/**
 * The PD side of OSDP over TCP: one panel connection at a time (a newer one replaces the
 * older, as a panel that reconnects after a network blip expects).
 */
export async function listenTcpChannel(
  port: number,
  host = '127.0.0.1',
): Promise<Channel & { port: number; events: EventEmitter }> {
  const listeners = new Listeners();
  const events = new EventEmitter();
  let current: net.Socket | undefined;
  const server = net.createServer((socket) => {
    current?.destroy();
    current = socket;
    socket.setNoDelay(true);
    socket.on('data', (bytes) => listeners.deliver(bytes));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (current === socket) current = undefined;
    });
    events.emit('connection');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as net.AddressInfo;
  return {
    port: address.port,
    events,
    write: (bytes) => void current?.write(bytes),
    onData: (listener) => listeners.add(listener),
    close: () =>
      new Promise<void>((resolve) => {
        current?.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The CP side of OSDP over TCP. */
export async function connectTcpChannel(port: number, host = '127.0.0.1'): Promise<Channel> {
  const socket = net.connect({ port, host });
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  socket.on('error', () => undefined);
  const listeners = new Listeners();
  socket.on('data', (bytes) => listeners.deliver(bytes));
  return {
    write: (bytes) => void socket.write(bytes),
    onData: (listener) => listeners.add(listener),
    close: () =>
      new Promise<void>((resolve) => {
        if (socket.destroyed) return resolve();
        socket.once('close', () => resolve());
        socket.end();
        socket.destroySoon?.();
      }),
  };
}
