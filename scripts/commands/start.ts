import fs from 'node:fs';
import { createSecureContext } from 'node:tls';
import { parseArgs } from 'node:util';
import { join, relative, resolve, sep } from 'node:path';
import { DEFAULT_API_HOST, DEFAULT_API_PORT, TOKEN_FILE, type ApiTls } from '../../firmware/api';
import { batteryBackedClock } from '../../firmware/rtc';
import { createLogger } from '../../firmware/foundation/log';
import { attachPanel, PANEL_HELP } from '../../firmware/panel/stdin-panel';
import { openPiProfile } from '../../firmware/profiles/pi';
import { startReaderBle } from '../../firmware/profiles/radio';
import { serveReader } from '../../firmware/profiles/serve';
import { consoleFace, simDrivers } from '../../firmware/profiles/sim';
import { Command, UsageError } from '../command';
import { BLE_USAGE, bleOptions, parseBleOptions } from './start-ble';
import { parsePkocOptions, PKOC_USAGE, pkocOptions, provisionPkocSiteKey } from './start-pkoc';
import { MQTT_USAGE, mqttOptions, parseMqttOptions } from './start-mqtt';
import { HostLink } from '../../firmware/api/host-link';
import { attachMqttLink, type MqttLink } from '../../firmware/mqtt';
import { DEMO_KEY_FILE, seedDemo } from './start-demo';
import { FLEET_USAGE, runFleet } from './start-fleet';
import { OSDP_USAGE, osdpOptions, startOsdp } from './start-osdp';
import { runUntilSignal } from './start-shutdown';

export const start: Command = {
  usage: [
    'Usage: reader-sim start [--profile sim|pi] [--data DIR] [--api-port N] [--api-host H]',
    '                        [--tls-cert FILE --tls-key FILE] [--reader-id ID] [--demo]',
    '',
    'Runs this reader: mounts the flash image DIR/flash.img (default ./data), loads the',
    'config, drives the LED/buzzer on the console and the relay in the log, and decides',
    'every presentation locally. Logs are JSON lines (pretty on a terminal).',
    'SIGINT/SIGTERM: finishes the commit in flight, relocks, closes the flash, exits 0.',
    '',
    '  --profile P     sim (default: console LED, relay in the log) or pi (GPIO LED/buzzer/relay,',
    '                  REX and door contact, serial badge reader, BLE adapter check; DIR/pi.json, docs/PI.md)',
    '  --data DIR      data directory (default ./data)',
    '  --reader-id ID  sets and stores this reader’s id',
    `  --api-port N    host API port (default ${DEFAULT_API_PORT}); token in DIR/${TOKEN_FILE}`,
    `  --api-host H    address the host API listens on (default ${DEFAULT_API_HOST}; 0.0.0.0 in a container);`,
    '                  a non-loopback address without TLS logs a warning (token in clear text)',
    '  --tls-cert FILE PEM certificate (chain) for the host API: it then speaks HTTPS only',
    '  --tls-key FILE  PEM private key of that certificate (both or neither; checked at start)',
    `  --demo          on an empty database only: seeds a labelled demo user (badge 1001) and a demo`,
    `                  phone whose key it writes to DIR/${DEMO_KEY_FILE}; never over a pushed database`,
    '',
    'The host API (docs/API.md, `reader-sim host ...`) manages and drives the reader.',
    ...BLE_USAGE,
    ...PKOC_USAGE,
    ...MQTT_USAGE,
    ...FLEET_USAGE,
    ...OSDP_USAGE,
    'The reader can also be driven from stdin, one command a line:',
    `  ${PANEL_HELP}`,
  ].join('\n'),
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        profile: { type: 'string', default: 'sim' },
        data: { type: 'string', default: './data' },
        'api-port': { type: 'string' },
        'api-host': { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'reader-id': { type: 'string' },
        demo: { type: 'boolean', default: false },
        readers: { type: 'string' },
        site: { type: 'string' },
        ...bleOptions,
        ...pkocOptions,
        ...mqttOptions,
        ...osdpOptions,
      },
    });
    if (values.profile !== 'sim' && values.profile !== 'pi') {
      throw new UsageError(`profile '${values.profile}' is not in this build (have: sim, pi)`);
    }
    const apiPort = values['api-port'];
    if (apiPort !== undefined && !/^[0-9]+$/.test(apiPort))
      throw new UsageError(`--api-port must be a port number`);
    if (apiPort !== undefined && (Number(apiPort) < 1 || Number(apiPort) > 65535)) {
      throw new UsageError(`--api-port must be 1..65535, got ${apiPort}`);
    }
    // Before anything boots: a bad certificate stops here, in one line, with nothing opened.
    const apiTls = loadTls(values['tls-cert'], values['tls-key']);
    if (values.readers !== undefined || values.site !== undefined) {
      if (values.osdp !== undefined || values.role !== undefined) {
        throw new UsageError('--osdp/--role run one reader as an OSDP PD; not in a site');
      }
      return runFleet(values, {
        port: apiPort === undefined ? DEFAULT_API_PORT : Number(apiPort),
        host: values['api-host'] ?? DEFAULT_API_HOST,
        tls: apiTls,
      });
    }
    const pkocSiteKey = parsePkocOptions(values);

    const log = createLogger();
    const dataDir = resolve(values.data!);
    // The board's RTC: a time the host set survives restarts (firmware/rtc.ts).
    const { clock, problem: rtcProblem } = batteryBackedClock(dataDir);
    if (rtcProblem) log.warn(rtcProblem);
    const readerId = values['reader-id'];
    // Checked before anything boots; each boot's firmware gets its own link to the broker.
    const mqtt = parseMqttOptions(values, clock, log);
    const hostLink = mqtt ? new HostLink(() => clock.now()) : undefined;
    let mqttLink: MqttLink | undefined;
    const face = consoleFace(log);
    let booted = false;
    let demoKey: string | undefined;
    // The pi profile opens its hardware first: a missing adapter or chip stops here, in one line.
    const pi = values.profile === 'pi' ? await openPiProfile({ dataDir, clock, log }) : undefined;
    const drivers = pi
      ? pi.drivers(face, readerId)
      : simDrivers({ dataDir, face, log, readerId, clock });
    // The radio outlives power cycles: each boot attaches the new firmware to it.
    // pi.json's "ble" picks the pi profile's radio unless --ble says otherwise.
    const bleValues = pi && values.ble === undefined ? { ...values, ble: pi.bleMode } : values;
    const bleChoice = () => {
      const choice = parseBleOptions(bleValues);
      // pi.json's adapter number (hciN) for the real adapter; hci-uart sets its own bindings.
      const ble = pi?.config.ble;
      return ble?.adapter === 'hci-socket' ? { ...choice, hciDevice: ble.hciDevice } : choice;
    };
    const radio = await Promise.resolve()
      .then(() => startReaderBle(bleChoice(), log))
      .catch(async (err: unknown) => {
        await pi?.close();
        throw err;
      });
    // The OSDP link outlives power cycles like the radio: each boot attaches its firmware.
    const osdp = await startOsdp(values, log).catch(async (err: unknown) => {
      await pi?.close();
      radio?.close();
      throw err;
    });
    const served = await serveReader({
      drivers,
      dataDir,
      radio,
      apiPort: apiPort === undefined ? DEFAULT_API_PORT : Number(apiPort),
      apiHost: values['api-host'] ?? DEFAULT_API_HOST,
      apiTls,
      logger: log,
      ...(hostLink ? { api: { link: hostLink } } : {}),
      // Every boot: the stdin panel follows the firmware across power cycles.
      onBoot: (reader, board) => {
        // The demo seeds once, at the process's first boot, before the API or the radio serve.
        if (values.demo && !booted) demoKey = seedDemo(reader, dataDir, log);
        booted = true;
        provisionPkocSiteKey(reader, pkocSiteKey);
        const onRawData = (raw: unknown) =>
          log.info({ rawData: raw }, 'enrolled: raw data captured');
        reader.reader.on('raw-data', onRawData);
        const detachPanel = attachPanel(process.stdin, reader, log);
        const link = mqtt && attachMqttLink({ reader, board }, { ...mqtt, hostLink });
        mqttLink = link;
        const detachOsdp = osdp?.onBoot(reader);
        return () => {
          void link?.close();
          detachOsdp?.();
          detachPanel();
          reader.reader.off('raw-data', onRawData);
        };
      },
    }).catch(async (err: unknown) => {
      await pi?.close();
      radio?.close();
      await osdp?.close();
      throw err;
    });
    const tokenFile = join(dataDir, TOKEN_FILE);
    log.info(
      { url: served.api.url, token: tokenFile, tls: served.api.tls },
      `host API listening on ${served.api.url}`,
    );
    if (pkocSiteKey) {
      log.info(
        { pkocSitePublicKey: pkocSiteKey.publicFile },
        `PKOC ECDHE on: phones trust the site with --site-key ${shellPath(pkocSiteKey.publicFile)}`,
      );
    }
    face.start();
    const keyArg = demoKey === undefined ? undefined : shellPath(demoKey);
    radio?.announce(keyArg);
    const phone = radio?.phoneCommand(keyArg);
    const readerIdNow = served.reader()?.status().readerId;
    // The exact command that reaches this reader, whatever its port, data dir or certificate.
    const host =
      `npx reader-sim host --url ${served.api.url} --token-file ${shellPath(tokenFile)}` +
      (values['tls-cert'] === undefined ? '' : ` --ca ${shellPath(resolve(values['tls-cert']))}`) +
      ' status';
    log.info(
      { readerId: readerIdNow, url: served.api.url, token: tokenFile, host, phone },
      `ready: reader ${readerIdNow} | API ${served.api.url} | token ${tokenFile} | host: ${host}` +
        (phone === undefined ? ' | BLE off' : ` | phone (second terminal): ${phone}`),
    );

    return runUntilSignal(log, () => {
      face.stop();
      process.stdin.pause();
    }, [
      // The link says offline (retained) before the reader powers off.
      () => mqttLink?.close(),
      () => served.shutdown(),
      () => pi?.close(),
      () => radio?.close(),
      () => osdp?.close(),
    ]);
  },
};

/** A path as a second terminal in this directory types it: ./data/x when under the cwd. */
function shellPath(file: string): string {
  const rel = relative(process.cwd(), file);
  const path = rel !== '' && !rel.startsWith('..') && !rel.startsWith(sep) ? `./${rel}` : file;
  return /^[\w./@+-]+$/.test(path) ? path : `'${path.replace(/'/g, `'\\''`)}'`;
}

/**
 * Reads and checks the host API's certificate and key: both or neither (usage), readable,
 * PEM that parses, and a key that belongs to the certificate. Each failure names its file.
 */
function loadTls(certFile: string | undefined, keyFile: string | undefined): ApiTls | undefined {
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined) {
    throw new UsageError('--tls-cert and --tls-key go together (a PEM certificate and its key)');
  }
  const read = (flag: string, file: string) => {
    try {
      return fs.readFileSync(file);
    } catch (err) {
      throw new Error(`${flag} ${file}: cannot read it (${(err as NodeJS.ErrnoException).code})`);
    }
  };
  const tls = { cert: read('--tls-cert', certFile), key: read('--tls-key', keyFile) };
  const check = (what: string, options: Parameters<typeof createSecureContext>[0]) => {
    try {
      createSecureContext(options);
    } catch (err) {
      throw new Error(`${what}: ${(err as Error).message}`);
    }
  };
  check(`--tls-cert ${certFile} is not a PEM certificate`, { cert: tls.cert });
  check(`--tls-key ${keyFile} is not a PEM private key`, { key: tls.key });
  check(`--tls-key ${keyFile} does not belong to --tls-cert ${certFile}`, tls);
  return tls;
}
