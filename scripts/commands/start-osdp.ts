import { READER_ROLES, type ReaderRole } from '../../firmware/config';
import type { ReaderLog } from '../../firmware/foundation/log';
import { openPanelLink, parseOsdpTransport, type ServedPanelLink } from '../../firmware/osdp';
import { UsageError } from '../command';

/** `reader-sim start`'s OSDP flags (the reader as a panel's peripheral device, docs/OSDP.md). */
export const osdpOptions = {
  osdp: { type: 'string' },
  role: { type: 'string' },
} as const;

export const OSDP_USAGE = [
  'OSDP (an access panel decides, docs/OSDP.md):',
  '  --osdp serial:PATH[@BAUD][,addr=N]  be an OSDP PD on a serial port (RS-485 adapter, a pty)',
  '  --osdp tcp:[HOST:]PORT[,addr=N]     ... or on a TCP port (OSDP over TCP benches)',
  '                  BAUD 9600 (default) .. 230400; addr 0 (default) .. 126; implies --role osdp-pd',
  '  --role R        local (the reader decides) or osdp-pd (the panel decides); stored in the config',
  '',
];

/** Checks the flags and opens the link (nothing opened when they are wrong). */
export async function startOsdp(
  values: { osdp?: string; role?: string },
  log: ReaderLog,
): Promise<ServedPanelLink | undefined> {
  const role = values.role;
  if (role !== undefined && !(READER_ROLES as readonly string[]).includes(role))
    throw new UsageError(`--role must be one of ${READER_ROLES.join(', ')}, got ${role}`);
  if (values.osdp === undefined) {
    if (role === 'osdp-pd')
      throw new UsageError('--role osdp-pd needs --osdp (where the panel is)');
    return role === undefined ? undefined : roleOnly(role as ReaderRole);
  }
  if (role === 'local')
    throw new UsageError('--osdp makes the reader a PD: --role local contradicts it');
  let transport;
  try {
    transport = parseOsdpTransport(values.osdp);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const link = await openPanelLink({ transport, role: 'osdp-pd', log });
  log.info(
    { osdp: link.description, address: transport.address },
    `OSDP PD on ${link.description}`,
  );
  return link;
}

/** --role local alone: stores the role, opens nothing. */
function roleOnly(role: ReaderRole): ServedPanelLink {
  let set = false;
  return {
    description: 'none',
    onBoot(reader) {
      if (!set) reader.config.update({ role });
      set = true;
      return () => undefined;
    },
    close: async () => undefined,
  };
}
