import * as fs from 'node:fs';
import * as net from 'node:net';
import { EventEmitter } from 'node:events';
import { AirAccess, RadioPort, StationListener, StationProfile } from './air-port';
import { PORT_ARGUMENTS, isStationProfile } from './air-wire-check';
import { Status } from './hci-spec';

/**
 * The air across processes: the process that owns an Air serves it on a UNIX socket or a
 * loopback TCP port; a controller in another process joins through a RemoteAir. Wire
 * format: one JSON object per line; Buffers travel as {"$b": base64}.
 *
 *   client -> server  {"t":"join","s":N,"profile":{...}}     N: the client's station number
 *                     {"t":"call","s":N,"m":"sendAcl","a":[...]}   a RadioPort method
 *   server -> client  {"t":"ev","s":N,"m":"aclData","a":[...]}     a StationListener method
 *
 * A client that goes away leaves the air: its peers see a supervision timeout. A malformed
 * line is counted and skipped; it never ends the session.
 */

export type AirAddress = { path: string } | { port: number; host?: string };

const PORT_METHODS = new Set(Object.keys(PORT_ARGUMENTS));
const LISTENER_METHODS = new Set([
  'advertisingReport',
  'advertisingEnded',
  'linkUp',
  'aclData',
  'aclTransmitted',
  'linkUpdated',
  'linkRssi',
  'linkDown',
]);

function encode(message: object): string {
  return (
    JSON.stringify(message, (_key, value: unknown) => {
      const v = value as { type?: string; data?: number[] } | null;
      if (v && typeof v === 'object' && v.type === 'Buffer' && Array.isArray(v.data)) {
        return { $b: Buffer.from(v.data).toString('base64') };
      }
      return value;
    }) + '\n'
  );
}

function decode(line: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(line, (_key, v: unknown) => {
      const b = v as { $b?: unknown } | null;
      return b && typeof b === 'object' && typeof b.$b === 'string'
        ? Buffer.from(b.$b, 'base64')
        : v;
    }) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    // A peer's line that is not JSON is dropped, like a garbled packet on the air.
    return undefined;
  }
}

/** Longest line accepted: an ACL payload in base64 is far below it. */
const MAX_LINE = 1 << 20;

/** Splits a byte stream into lines and hands each to `onLine`; ends a peer that never sends a newline. */
function readLines(
  socket: net.Socket,
  onLine: (line: string) => void,
  onOverflow: () => void,
): void {
  let pending = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    pending += chunk;
    if (pending.length > MAX_LINE && pending.indexOf('\n') < 0) {
      pending = '';
      onOverflow();
      socket.destroy();
      return;
    }
    for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (line.length > 0) onLine(line);
    }
  });
}

/** Serves `air` to other processes. */
export class AirServer extends EventEmitter {
  /** Lines that were not valid messages. */
  malformed = 0;
  private readonly server: net.Server;
  private readonly sessions = new Set<net.Socket>();

  private constructor(
    private readonly air: AirAccess,
    readonly address: AirAddress,
  ) {
    super();
    this.server = net.createServer((socket) => this.session(socket));
  }

  static async listen(air: AirAccess, address: AirAddress): Promise<AirServer> {
    const server = new AirServer(air, address);
    await server.start();
    return server;
  }

  private start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      const ready = () => {
        this.server.off('error', reject);
        // Past listen, a server error must not end the process that owns the air.
        this.server.on('error', (err) => {
          if (this.listenerCount('error') > 0) this.emit('error', err);
        });
        resolve();
      };
      if ('path' in this.address) {
        // A stale socket file from a crashed run would make listen fail with EADDRINUSE.
        if (fs.existsSync(this.address.path)) fs.unlinkSync(this.address.path);
        this.server.listen(this.address.path, ready);
      } else {
        this.server.listen(this.address.port, this.address.host ?? '127.0.0.1', ready);
      }
    });
  }

  /** The TCP port actually bound (useful with port 0). */
  get port(): number | undefined {
    const a = this.server.address();
    return a && typeof a === 'object' ? a.port : undefined;
  }

  private session(socket: net.Socket): void {
    this.sessions.add(socket);
    const ports = new Map<number, RadioPort>();
    const send = (message: object) => {
      if (!socket.destroyed) socket.write(encode(message));
    };
    const onLine = (line: string) => {
      const msg = decode(line);
      const s = msg?.s;
      if (!msg || typeof s !== 'number') {
        this.malformed++;
        return;
      }
      if (msg.t === 'join' && !ports.has(s) && isStationProfile(msg.profile)) {
        const listener = {} as Record<string, (...args: unknown[]) => void>;
        for (const m of LISTENER_METHODS)
          listener[m] = (...a: unknown[]) => send({ t: 'ev', s, m, a });
        ports.set(s, this.air.join(msg.profile, listener as unknown as StationListener));
        return;
      }
      const port = ports.get(s);
      const method =
        typeof msg.m === 'string' && Object.hasOwn(PORT_ARGUMENTS, msg.m)
          ? PORT_ARGUMENTS[msg.m]
          : undefined;
      if (msg.t === 'call' && port && method && Array.isArray(msg.a) && method(msg.a)) {
        (port[msg.m as keyof RadioPort] as (...args: unknown[]) => void)(...(msg.a as unknown[]));
        if (msg.m === 'leave') ports.delete(s);
        return;
      }
      this.malformed++;
    };
    readLines(socket, onLine, () => this.malformed++);
    const end = () => {
      for (const port of ports.values()) port.leave();
      ports.clear();
      this.sessions.delete(socket);
    };
    socket.on('close', end);
    socket.on('error', () => socket.destroy());
  }

  async close(): Promise<void> {
    for (const socket of this.sessions) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    if ('path' in this.address && fs.existsSync(this.address.path))
      fs.unlinkSync(this.address.path);
  }
}

/** Another process's air, as seen from here. */
export class RemoteAir extends EventEmitter implements AirAccess {
  /** Lines from the server that were not valid events (or made a listener throw). */
  malformed = 0;
  private readonly stationListeners = new Map<number, StationListener>();
  private readonly openLinks = new Map<number, Set<number>>();
  private nextStation = 1;

  private constructor(private readonly socket: net.Socket) {
    super();
    readLines(
      socket,
      (line) => this.onLine(line),
      () => this.report(new Error('air server sent an over-long line')),
    );
    socket.on('close', () => this.lost());
    // 'close' follows every error and ends the links; 'error' is for whoever listens.
    socket.on('error', (err) => this.report(err));
  }

  static connect(address: AirAddress): Promise<RemoteAir> {
    return new Promise((resolve, reject) => {
      const socket =
        'path' in address
          ? net.createConnection(address.path)
          : net.createConnection(address.port, address.host ?? '127.0.0.1');
      socket.setNoDelay(true);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RemoteAir(socket));
      });
    });
  }

  join(profile: StationProfile, listener: StationListener): RadioPort {
    const s = this.nextStation++;
    this.stationListeners.set(s, listener);
    this.openLinks.set(s, new Set());
    this.send({ t: 'join', s, profile });
    const call =
      (m: string) =>
      (...a: unknown[]) =>
        this.send({ t: 'call', s, m, a });
    const port = {} as Record<string, (...a: unknown[]) => void>;
    for (const m of PORT_METHODS) port[m] = call(m);
    port.leave = (...a: unknown[]) => {
      call('leave')(...a);
      this.stationListeners.delete(s);
    };
    return port as unknown as RadioPort;
  }

  close(): void {
    this.socket.end();
  }

  private report(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  private send(message: object): void {
    if (!this.socket.destroyed) this.socket.write(encode(message));
  }

  private onLine(line: string): void {
    const msg = decode(line);
    const valid =
      msg &&
      msg.t === 'ev' &&
      typeof msg.s === 'number' &&
      typeof msg.m === 'string' &&
      LISTENER_METHODS.has(msg.m) &&
      Array.isArray(msg.a);
    if (!valid) {
      this.malformed++;
      return;
    }
    // Events can still arrive for a station that has just left: nothing to do.
    const listener = this.stationListeners.get(msg.s as number);
    if (!listener) return;
    const links = this.openLinks.get(msg!.s as number)!;
    const args = msg!.a as unknown[];
    try {
      if (msg!.m === 'linkUp') links.add((args[0] as { linkId: number }).linkId);
      if (msg!.m === 'linkDown') links.delete(args[0] as number);
      (listener[msg!.m as keyof StationListener] as (...a: unknown[]) => void)(...args);
    } catch (err) {
      // A server that sends nonsense must not take this process down with it.
      this.malformed++;
      this.report(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** The air went away: to every station here, each link timed out. */
  private lost(): void {
    for (const [s, links] of this.openLinks) {
      const listener = this.stationListeners.get(s);
      for (const linkId of links) listener?.linkDown(linkId, Status.connectionTimeout);
      links.clear();
    }
    this.emit('close');
  }
}
