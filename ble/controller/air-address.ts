import * as os from 'node:os';
import * as path from 'node:path';
import { AirAddress } from './air-link';

/** Environment variable naming the air a reader serves and phones join. */
export const AIR_ENV = 'READER_SIM_AIR';

/** Where a reader serves its air unless told otherwise: a UNIX socket in the temp dir. */
export function defaultAirAddress(env: NodeJS.ProcessEnv = process.env): AirAddress {
  const configured = env[AIR_ENV];
  return configured
    ? parseAirAddress(configured)
    : { path: path.join(os.tmpdir(), 'reader-sim-air.sock') };
}

/**
 * `tcp:PORT`, `tcp:HOST:PORT` (loopback unless a host is named, e.g. 0.0.0.0 for a
 * container) or a UNIX socket path (absolute, or starting with ./).
 */
export function parseAirAddress(text: string): AirAddress {
  const tcp = /^tcp:(?:([^:]+):)?(\d{1,5})$/.exec(text);
  if (tcp) {
    const port = Number(tcp[2]);
    if (port > 65535) throw new Error(`air address ${text}: port must be 0-65535`);
    return tcp[1] ? { host: tcp[1], port } : { port };
  }
  if (text.startsWith('tcp:'))
    throw new Error(`air address ${text}: expected tcp:PORT or tcp:HOST:PORT`);
  if (path.isAbsolute(text) || text.startsWith('./')) return { path: path.resolve(text) };
  throw new Error(
    `air address ${text}: expected a socket path (absolute or ./...) or tcp:[HOST:]PORT`,
  );
}

export function formatAirAddress(address: AirAddress): string {
  return 'path' in address ? address.path : `tcp:${address.host ?? '127.0.0.1'}:${address.port}`;
}
