import { listenTcpChannel, openSerialChannel, SERIAL_BAUDS, type Channel } from '../../osdp';

/** Where the panel reaches the reader, as `--osdp` spells it. */
export type OsdpTransport =
  | { kind: 'serial'; path: string; baud: number; address: number }
  | { kind: 'tcp'; port: number; host: string; address: number };

/** The PD's address when --osdp names none. */
export const DEFAULT_PD_ADDRESS = 0;
export const DEFAULT_BAUD = 9600;

/**
 * Parses `serial:PATH[@BAUD][,addr=N]` or `tcp:[HOST:]PORT[,addr=N]`; throws a RangeError
 * that says what is wrong.
 */
export function parseOsdpTransport(text: string): OsdpTransport {
  const [where, ...options] = text.split(',');
  let address = DEFAULT_PD_ADDRESS;
  for (const option of options) {
    const m = /^addr=(\d{1,3})$/.exec(option);
    if (!m || Number(m[1]) > 0x7e)
      throw new RangeError(`--osdp option "${option}": expected addr=N with N 0..126`);
    address = Number(m[1]);
  }
  if (where.startsWith('serial:')) {
    const m = /^serial:([^@]+)(?:@(\d+))?$/.exec(where);
    if (!m) throw new RangeError(`--osdp "${where}": expected serial:PATH[@BAUD]`);
    const baud = m[2] === undefined ? DEFAULT_BAUD : Number(m[2]);
    if (!(SERIAL_BAUDS as readonly number[]).includes(baud))
      throw new RangeError(`--osdp baud ${baud}: expected one of ${SERIAL_BAUDS.join(', ')}`);
    return { kind: 'serial', path: m[1], baud, address };
  }
  if (where.startsWith('tcp:')) {
    const m = /^tcp:(?:([A-Za-z0-9.:-]+):)?(\d{1,5})$/.exec(where);
    if (!m || Number(m[2]) > 65535)
      throw new RangeError(`--osdp "${where}": expected tcp:[HOST:]PORT (port 0..65535)`);
    return { kind: 'tcp', host: m[1] ?? '127.0.0.1', port: Number(m[2]), address };
  }
  throw new RangeError(
    `--osdp "${text}": expected serial:PATH[@BAUD][,addr=N] or tcp:PORT[,addr=N]`,
  );
}

export function describeTransport(t: OsdpTransport, boundPort?: number): string {
  return t.kind === 'serial'
    ? `serial:${t.path}@${t.baud}`
    : `tcp:${t.host}:${boundPort ?? t.port}`;
}

/** An open transport: the channel, and a baud-rate change for COMSET where there is one. */
export interface OpenTransport {
  channel: Channel;
  description: string;
  setBaud?: (baud: number) => Promise<void>;
}

export async function openOsdpTransport(t: OsdpTransport): Promise<OpenTransport> {
  if (t.kind === 'serial') {
    const channel = await openSerialChannel(t.path, t.baud);
    return { channel, description: describeTransport(t), setBaud: channel.setBaud };
  }
  const channel = await listenTcpChannel(t.port, t.host);
  return { channel, description: describeTransport(t, channel.port) };
}
