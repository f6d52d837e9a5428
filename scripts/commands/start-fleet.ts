import { resolve } from 'node:path';
import { TOKEN_FILE, type ApiTls } from '../../firmware/api';
import { SystemClock } from '../../firmware/foundation/clock';
import { createLogger } from '../../firmware/foundation/log';
import { serveFleet } from '../../firmware/profiles/fleet';
import { linkFleetOut } from '../../firmware/profiles/fleet-mqtt';
import { serveVirtualAir } from '../../firmware/profiles/radio';
import { generatedSite, loadSiteFile, SiteError, type Site } from '../../firmware/profiles/site';
import { UsageError } from '../command';
import { parseBleOptions } from './start-ble';
import { mqttOptions, parseMqttOptions } from './start-mqtt';
import { parsePkocOptions, provisionPkocSiteKey } from './start-pkoc';
import { runUntilSignal } from './start-shutdown';

export const FLEET_USAGE = [
  'Many readers in this process (docs/API.md "Sites and fleets"):',
  '  --readers N     N readers reader-001..N, 10 m apart on the air; with --reader-id P',
  '                  they are P-001..N (P a pod name: ids unique across pods)',
  '  --site FILE     the readers of a site file: ids, names, access points, positions, seeds',
  '                  Each reader keeps DIR/readers/ID/ (flash image, clock); one API serves all',
  '                  of them under /api/v1/readers/ID/...; the unscoped paths are the first reader.',
  '                  --mqtt connects every reader out on its own (its own topics, {readerId}',
  '                  credentials, cable); --pkoc-site-key gives every reader the site key.',
  '',
];

export interface FleetValues {
  profile?: string;
  data?: string;
  readers?: string;
  site?: string;
  'reader-id'?: string;
  demo?: boolean;
  ble?: string;
  air?: string;
  'ble-timing'?: string;
  btsnoop?: string;
  'pkoc-site-key'?: string;
}

type MqttValues = { [K in keyof typeof mqttOptions]?: string };

/** The site `--readers`/`--site` ask for; a usage error for anything a site cannot do. */
export function fleetSite(values: FleetValues): Site {
  if (values.readers !== undefined && values.site !== undefined) {
    throw new UsageError('--readers and --site exclude each other (a site file lists its readers)');
  }
  if (values.profile !== 'sim') throw new UsageError('--readers/--site run the sim profile only');
  if (values['reader-id'] !== undefined && values.site !== undefined) {
    throw new UsageError('--reader-id with --site: a site file names its readers itself');
  }
  if (values.demo) throw new UsageError('--demo seeds one reader; give a site file seeds instead');
  if (values.btsnoop !== undefined)
    throw new UsageError('--btsnoop captures one reader; not in a site');
  try {
    if (values.site !== undefined) return loadSiteFile(resolve(values.site));
    if (!/^[0-9]{1,5}$/.test(values.readers!)) {
      throw new SiteError(`--readers must be a number of readers, got '${values.readers}'`);
    }
    return generatedSite(Number(values.readers), values['reader-id']);
  } catch (err) {
    if (err instanceof SiteError) throw new UsageError(err.message);
    throw err;
  }
}

/** `reader-sim start --readers N | --site FILE`: serves the site until SIGINT/SIGTERM. */
export async function runFleet(
  values: FleetValues & MqttValues,
  api: { port: number; host: string; tls?: ApiTls },
): Promise<number> {
  const site = fleetSite(values);
  const ble = parseBleOptions({ ...values, profile: 'sim' });
  if (ble.mode === 'hci')
    throw new UsageError('a site runs on the virtual air (--ble virtual or off)');
  const pkocSiteKey = parsePkocOptions(values);
  const log = createLogger();
  // One pacer for the process: the site's readers connect a few at a time, not all at once.
  const mqtt = parseMqttOptions(values, new SystemClock(), log);
  const links = mqtt && linkFleetOut(mqtt);
  const dataDir = resolve(values.data ?? './data');
  const air = ble.mode === 'virtual' ? await serveVirtualAir(ble) : undefined;
  const served = await serveFleet({
    site,
    dataDir,
    air: air?.air,
    apiPort: api.port,
    apiHost: api.host,
    apiTls: api.tls,
    logger: log,
    log,
    onBoot: (member, reader, board) => {
      provisionPkocSiteKey(reader, pkocSiteKey);
      return links?.onBoot(member, reader, board);
    },
  }).catch(async (err: unknown) => {
    await air?.server.close();
    throw err;
  });
  log.info(
    {
      site: site.name,
      readers: served.members.length,
      url: served.api.url,
      token: resolve(dataDir, TOKEN_FILE),
      ...(mqtt ? { mqtt: mqtt.url } : {}),
      ...(pkocSiteKey ? { pkocSitePublicKey: pkocSiteKey.publicFile } : {}),
    },
    `ready: site ${site.name}, ${served.members.length} readers | API ${served.api.url}/api/v1/readers | ` +
      (air
        ? `phone: npx reader-sim phone unlock --reader ${served.members[0]!.id}` +
          (values.air !== undefined ? ` --air ${values.air}` : '')
        : 'BLE off'),
  );
  return runUntilSignal(log, () => {}, [
    // Every link says offline (retained) before its reader powers off.
    () => links?.close(),
    () => served.shutdown(),
    () => air?.server.close(),
  ]);
}
