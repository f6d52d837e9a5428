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
import type { KeyObject } from 'node:crypto';
import { publicKeyFromSpki } from '../../ble/cose';
import { describeState, PhoneProfile, PhoneState, strongestReader } from '../../ble/phone';
import { PhoneRadio, startPhoneRadio } from '../../ble/phone-radio';
import { credentialNumber, keyFromUncompressed, uncompressedOf } from '../../ble/pkoc/messages';
import { pkocPresent, SiteNotProven } from '../../ble/pkoc/phone';
import { parseSitePublicKey } from '../../ble/pkoc/site-key';
import { PKOC_DEFAULT_CREDENTIAL_BITS } from '../../ble/pkoc/spec';
import type { ResultMessage } from '../../ble/protocol';
import { Command, UsageError } from '../command';

const DEFAULT_KEY_FILE = './phone-key.json';
const ACTIONS = ['keygen', 'scan', 'enroll', 'unlock', 'replay', 'clone'] as const;
type Action = (typeof ACTIONS)[number];
const PROFILES: readonly PhoneProfile[] = ['reader-sim', 'pkoc'];

/** What `unlock --record` writes and `replay` reads: the credential bytes exactly as sent. */
interface Recording {
  profile: PhoneProfile;
  /** Hex of the bytes written to the credential characteristic. */
  credential: string;
}

export const phone: Command = {
  usage: [
    'Usage: reader-sim phone keygen|scan|enroll|unlock|replay FILE|clone [options]',
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
    '  replay FILE       send the bytes an `unlock --record FILE` sent, on a new connection',
    '  clone             present another phone’s identity (--as) signed with this key',
    '',
    '  --profile P       reader-sim (default): this reader’s own service; pkoc: PSIA PKOC over',
    '                    BLE, service 0xFFF0 (docs/PKOC.md). keygen prints the PKOC number',
    '  --record FILE     unlock: write exactly the credential bytes sent to FILE',
    '  --as ID           clone: the device id (reader-sim) or public key (pkoc: base64 SPKI as',
    '                    Raw Data shows it, or 130 hex digits) of the phone to pass for',
    '  --site-key FILE   pkoc: use the ECDHE perfect-secrecy flow, trusting the site public key',
    '                    in FILE (the FILE.pub `reader-sim start --pkoc-site-key FILE` writes;',
    '                    PEM, base64 SPKI or 04 + 128 hex digits). A reader that cannot prove',
    '                    the site is refused: `refused: site not proven`, exit 1',
    '  --btsnoop FILE    write this phone’s HCI traffic to FILE (btsnoop; virtual air only)',
    `  --key FILE        device key file (default ${DEFAULT_KEY_FILE})`,
    '  --device-id ID    keygen: the device id (default phone-<random>)',
    '  --force           keygen: replace an existing key file',
    '  --reader ID       talk to this reader id only (default: the first one heard)',
    '  --distance M      metres from the reader on the virtual air (default 1; RSSI follows)',
    '  --position X,Y    stand at this point (metres) among a site’s readers instead; without',
    '                    --reader the phone talks to the strongest one it hears',
    `  --air ADDR        the virtual air: socket path or tcp:[HOST:]PORT (default $${AIR_ENV} or`,
    `                    ${formatAirAddress(defaultAirAddress({}))})`,
    '  --hci             use the real HCI adapter instead of the virtual air',
    '  --timeout MS      how long to scan and wait for the reader (default 5000)',
    '  --json            one JSON object per line (states, then the result)',
  ].join('\n'),
  async run(argv) {
    const { values, positionals } = parsePhoneArgs(argv);
    const action = positionals[0] as Action | undefined;
    if (
      !action ||
      !ACTIONS.includes(action) ||
      positionals.length > (action === 'replay' ? 2 : 1)
    ) {
      throw new UsageError(`expected one of ${ACTIONS.join('|')}`);
    }
    const recording = action === 'replay' ? readRecording(positionals[1]) : undefined;
    const profile = (recording?.profile ?? values.profile) as PhoneProfile;
    if (!PROFILES.includes(profile)) {
      throw new UsageError(`--profile must be ${PROFILES.join(' or ')}, got '${profile}'`);
    }
    if (values.record !== undefined && action !== 'unlock') {
      throw new UsageError('--record goes with unlock');
    }
    if ((values.as !== undefined) !== (action === 'clone')) {
      throw new UsageError('clone needs --as ID, and --as goes with clone only');
    }
    const cloneOf = action === 'clone' ? cloneTarget(profile, values.as!) : undefined;
    const sitePublicKey =
      values['site-key'] === undefined ? undefined : siteKeyOf(profile, action, values['site-key']);
    if (values.btsnoop !== undefined && values.hci) {
      throw new UsageError('--btsnoop needs the virtual air (not --hci)');
    }
    const position = values.position === undefined ? undefined : parsePosition(values.position);
    if (position && values.hci)
      throw new UsageError('--position needs the virtual air (not --hci)');
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
      if (profile === 'pkoc') {
        // PKOC's Raw Data: the credential number is the value, the key is the same SPKI.
        const number = credentialNumber(
          uncompressedOf(key.publicKey),
          PKOC_DEFAULT_CREDENTIAL_BITS,
        );
        print(
          { keyFile, profile, deviceId: number, publicKey: raw.publicKey },
          `device key ${keyFile}\n  PKOC number ${number} (${PKOC_DEFAULT_CREDENTIAL_BITS}-bit)\n  publicKey   ${raw.publicKey}`,
        );
        return 0;
      }
      print(
        { keyFile, ...raw },
        `device key ${keyFile}\n  deviceId  ${raw.deviceId}\n  publicKey ${raw.publicKey}`,
      );
      return 0;
    }

    let key: DeviceKey;
    // A scan signs nothing, a replay sends recorded bytes: neither needs this phone's key.
    if (action === 'scan' || action === 'replay') key = createDeviceKey('scanner');
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
    if (values.hci) {
      // No adapter stops here in one line, before noble prints its own warnings and waits.
      const { checkBleAdapter } = await import('../../firmware/pi/ble-adapter');
      const hciDevice = Number(process.env.NOBLE_HCI_DEVICE_ID ?? 0);
      await checkBleAdapter(
        { adapter: 'hci-socket', hciDevice },
        { optOut: 'or drop --hci to use the virtual air' },
      );
    }
    let radio: PhoneRadio | undefined;
    try {
      radio = startPhoneRadio({
        key,
        air,
        distance,
        ...(position ? { position } : {}),
        ...(values.btsnoop === undefined ? {} : { btsnoopPath: path.resolve(values.btsnoop) }),
      });
      const { phone: app } = radio;
      app.on('state', (s: PhoneState) => {
        if (s.state !== 'scanning') print({ ...s }, describeState(s));
      });
      if (action === 'scan') {
        // Every reader offering either profile, and which ones it offers.
        const readers = await app.scan(Math.min(timeoutMs, 3000), undefined, [...PROFILES]);
        for (const r of readers) {
          print(
            {
              readerId: r.readerId,
              address: r.address,
              rssi: r.rssi,
              mode: r.mode,
              profiles: r.profiles,
            },
            `${r.readerId}  ${r.rssi} dBm  ${r.mode ?? '?'}  ${r.address}  ${r.profiles.join(',')}`,
          );
        }
        if (readers.length === 0) print({ readers: 0 }, 'no reader in range');
        return readers.length > 0 ? 0 : 1;
      }
      let sent: Buffer | undefined;
      // Among a site's readers, the one this phone hears loudest is the door in front of it.
      const readerId =
        values.reader ??
        (position
          ? (await strongestReader(app, Math.min(timeoutMs, 1500), profile)).readerId
          : undefined);
      const options = {
        readerId,
        timeoutMs,
        sent: (bytes: Buffer) => (sent = bytes),
        ...(recording ? { bytes: Buffer.from(recording.credential, 'hex') } : {}),
      };
      let result: ResultMessage;
      if (profile === 'pkoc') {
        const as = cloneOf as KeyObject | undefined;
        try {
          result = await pkocPresent(app, key, {
            ...options,
            ...(as ? { as } : {}),
            ...(sitePublicKey ? { sitePublicKey } : {}),
          });
        } catch (err) {
          if (!(err instanceof SiteNotProven)) throw err;
          print({ state: 'refused', reason: 'site_not_proven' }, 'refused: site not proven');
          return 1;
        }
      } else if (action === 'enroll') {
        result = await app.enroll(options);
      } else {
        result = await app.unlock({ ...options, ...(cloneOf ? { as: cloneOf as string } : {}) });
      }
      if (values.record !== undefined && sent) {
        const file = path.resolve(values.record);
        const body: Recording = { profile, credential: sent.toString('hex') };
        fs.writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
      }
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
        position: { type: 'string' },
        air: { type: 'string' },
        hci: { type: 'boolean', default: false },
        timeout: { type: 'string', default: '5000' },
        json: { type: 'boolean', default: false },
        profile: { type: 'string', default: 'reader-sim' },
        record: { type: 'string' },
        as: { type: 'string' },
        btsnoop: { type: 'string' },
        'site-key': { type: 'string' },
      },
    });
  } catch (err) {
    // Unknown flags, missing values, "-1" read as an option: the user's mistake, one line.
    throw new UsageError((err as Error).message.split('\n')[0]!);
  }
}

/** `--position X,Y`: a point in metres on the virtual air. */
function parsePosition(text: string): { x: number; y: number } {
  const match = /^(-?[0-9]+(?:\.[0-9]+)?),(-?[0-9]+(?:\.[0-9]+)?)$/.exec(text);
  const [x, y] = match ? [Number(match[1]), Number(match[2])] : [NaN, NaN];
  if (!match || Math.abs(x) > 100_000 || Math.abs(y) > 100_000) {
    throw new UsageError(`--position must be X,Y in metres (e.g. 12.5,-3), got '${text}'`);
  }
  return { x, y };
}

/** A recording from `unlock --record`; a usage error for anything else. */
function readRecording(file: string | undefined): Recording {
  if (!file) throw new UsageError('replay needs the FILE an `unlock --record FILE` wrote');
  let body: Partial<Recording>;
  try {
    body = JSON.parse(fs.readFileSync(path.resolve(file), 'utf8')) as Partial<Recording>;
  } catch (err) {
    throw new UsageError(`cannot read recording ${file}: ${(err as Error).message}`);
  }
  if (
    !PROFILES.includes(body.profile as PhoneProfile) ||
    typeof body.credential !== 'string' ||
    !/^([0-9a-f]{2}){1,512}$/.test(body.credential)
  ) {
    throw new UsageError(`${file} is not a recording (profile and credential hex)`);
  }
  return { profile: body.profile!, credential: body.credential };
}

/** The identity `clone --as` passes for: a device id, or (PKOC) the other phone's public key. */
function cloneTarget(profile: PhoneProfile, as: string): string | KeyObject {
  if (profile === 'reader-sim') {
    if (!/^[\x21-\x7e]{1,128}$/.test(as)) {
      throw new UsageError('--as must be a device id: 1-128 printable ASCII characters');
    }
    return as;
  }
  const key = /^04[0-9a-fA-F]{128}$/.test(as)
    ? keyFromUncompressed(Buffer.from(as, 'hex'))
    : /^[A-Za-z0-9+/=]{1,1024}$/.test(as)
      ? publicKeyFromSpki(as)
      : undefined;
  if (!key) {
    throw new UsageError(
      '--as must be a P-256 public key: base64 SPKI (as Raw Data shows it) or 04 + 128 hex digits',
    );
  }
  return key;
}

/** `--site-key FILE`: the site public key an ECDHE phone trusts; a usage error for anything else. */
function siteKeyOf(profile: PhoneProfile, action: Action, file: string): KeyObject {
  if (profile !== 'pkoc' || !['enroll', 'unlock', 'clone'].includes(action)) {
    throw new UsageError('--site-key goes with --profile pkoc enroll, unlock or clone');
  }
  let text: string;
  try {
    text = fs.readFileSync(path.resolve(file), 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read site key ${file}: ${(err as Error).message}`);
  }
  const key = parseSitePublicKey(text);
  if (!key) {
    throw new UsageError(
      `${file} is not a P-256 site public key (PEM, base64 SPKI or 04 + 128 hex digits)`,
    );
  }
  return key;
}
