import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import {
  AIR_ENV,
  connectAir,
  defaultAirAddress,
  formatAirAddress,
  parseAirAddress,
  RemoteAir,
} from '../../ble/controller';
import {
  createDeviceKey,
  DeviceKey,
  loadDeviceKey,
  rawDataOf,
  saveDeviceKey,
} from '../../ble/device-key';
import { describeState, PhoneState } from '../../ble/phone';
import { PhoneRadio, startPhoneRadio } from '../../ble/phone-radio';
import type { ResultMessage } from '../../ble/protocol';
import { Command, UsageError } from '../command';

const DEFAULT_KEY_FILE = './phone-key.json';
const ACTIONS = ['keygen', 'scan', 'enroll', 'unlock'] as const;
type Action = (typeof ACTIONS)[number];

export const phone: Command = {
  usage: [
    'Usage: reader-sim phone keygen|scan|enroll|unlock [options]',
    '',
    'A phone running the mobile-credential app (docs/MOBILE.md), on @stoprocent/noble. By',
    'default it joins the virtual air a `reader-sim start` in another terminal serves; with',
    '--hci it uses this machine’s Bluetooth adapter (Linux, root) to reach a real reader.',
    '',
    '  keygen            create the device key file (P-256; refuses to overwrite without --force)',
    '  scan              list readers in range: id, RSSI, mode (access / enroll)',
    '  enroll            send the device id and public key to a reader in enroll mode',
    '  unlock            present the signed credential; prints the app’s states, then',
    '                    granted or denied: REASON (exit 0 granted, 1 otherwise)',
    '',
    `  --key FILE        device key file (default ${DEFAULT_KEY_FILE})`,
    '  --device-id ID    keygen: the device id (default phone-<random>)',
    '  --force           keygen: replace an existing key file',
    '  --reader ID       talk to this reader id only (default: the first one heard)',
    '  --distance M      metres from the reader on the virtual air (default 1; RSSI follows)',
    `  --air ADDR        the virtual air: socket path or tcp:[HOST:]PORT (default $${AIR_ENV} or`,
    `                    ${formatAirAddress(defaultAirAddress({}))})`,
    '  --hci             use the real HCI adapter instead of the virtual air',
    '  --timeout MS      how long to scan and wait for the reader (default 5000)',
    '  --json            one JSON object per line (states, then the result)',
  ].join('\n'),
  async run(argv) {
    const { values, positionals } = parsePhoneArgs(argv);
    const action = positionals[0] as Action | undefined;
    if (!action || !ACTIONS.includes(action) || positionals.length > 1) {
      throw new UsageError(`expected one of ${ACTIONS.join('|')}`);
    }
    const distance = Number(values.distance);
    if (!Number.isFinite(distance) || distance <= 0 || distance > 1000) {
      throw new UsageError(`--distance must be a number of metres in (0, 1000]`);
    }
    const timeoutMs = Number(values.timeout);
    if (!Number.isInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > 600_000) {
      throw new UsageError(`--timeout must be 100..600000 ms`);
    }
    if (values.hci && values.air !== undefined)
      throw new UsageError('--air and --hci exclude each other');
    const json = values.json!;
    const print = (line: Record<string, unknown>, text: string) =>
      console.log(json ? JSON.stringify(line) : text);
    const keyFile = path.resolve(values.key!);

    if (action === 'keygen') {
      if (fs.existsSync(keyFile) && !values.force) {
        throw new UsageError(`${keyFile} exists (use --force to replace it)`);
      }
      const deviceId = values['device-id'];
      if (deviceId !== undefined && !/^[\x21-\x7e]{1,128}$/.test(deviceId)) {
        throw new UsageError('--device-id must be 1-128 printable ASCII characters');
      }
      const key = createDeviceKey(deviceId);
      saveDeviceKey(keyFile, key);
      const raw = rawDataOf(key);
      print(
        { keyFile, ...raw },
        `device key ${keyFile}\n  deviceId  ${raw.deviceId}\n  publicKey ${raw.publicKey}`,
      );
      return 0;
    }

    let key: DeviceKey;
    if (action === 'scan') key = createDeviceKey('scanner');
    else if (!fs.existsSync(keyFile)) {
      throw new UsageError(`no device key at ${keyFile} (run: reader-sim phone keygen)`);
    } else key = loadDeviceKey(keyFile);

    let air: RemoteAir | undefined;
    if (!values.hci) {
      let address;
      try {
        address = values.air !== undefined ? parseAirAddress(values.air) : defaultAirAddress();
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      try {
        air = await connectAir(address);
      } catch (err) {
        throw new Error(
          `no reader air at ${formatAirAddress(address)} (is \`reader-sim start\` running?): ${(err as Error).message}`,
        );
      }
    }
    let radio: PhoneRadio | undefined;
    try {
      radio = startPhoneRadio({ key, air, distance });
      const { phone: app } = radio;
      app.on('state', (s: PhoneState) => {
        if (s.state !== 'scanning') print({ ...s }, describeState(s));
      });
      if (action === 'scan') {
        const readers = await app.scan(Math.min(timeoutMs, 3000));
        for (const r of readers) {
          print(
            { readerId: r.readerId, address: r.address, rssi: r.rssi, mode: r.mode },
            `${r.readerId}  ${r.rssi} dBm  ${r.mode ?? '?'}  ${r.address}`,
          );
        }
        if (readers.length === 0) print({ readers: 0 }, 'no reader in range');
        return readers.length > 0 ? 0 : 1;
      }
      const options = { readerId: values.reader, timeoutMs };
      const result: ResultMessage =
        action === 'enroll' ? await app.enroll(options) : await app.unlock(options);
      if (json) print({ result }, '');
      return result.status === 'granted' || result.status === 'enrolled' ? 0 : 1;
    } finally {
      radio?.close();
      air?.close();
    }
  },
};

function parsePhoneArgs(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        key: { type: 'string', default: DEFAULT_KEY_FILE },
        'device-id': { type: 'string' },
        force: { type: 'boolean', default: false },
        reader: { type: 'string' },
        distance: { type: 'string', default: '1' },
        air: { type: 'string' },
        hci: { type: 'boolean', default: false },
        timeout: { type: 'string', default: '5000' },
        json: { type: 'boolean', default: false },
      },
    });
  } catch (err) {
    // Unknown flags, missing values, "-1" read as an option: the user's mistake, one line.
    throw new UsageError((err as Error).message.split('\n')[0]!);
  }
}
