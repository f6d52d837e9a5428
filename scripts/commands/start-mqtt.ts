import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { Clock } from '../../firmware/foundation/clock';
import type { ReaderLog } from '../../firmware/foundation/log';
import {
  ConnectionPacer,
  DEFAULT_TOPIC_PREFIX,
  readerTopics,
  type MqttLinkOptions,
  type MqttTls,
} from '../../firmware/mqtt';
import { UsageError } from '../command';

/** `reader-sim start`'s MQTT flags (the link out to the management system, docs/MQTT.md). */
export const mqttOptions = {
  mqtt: { type: 'string' },
  'mqtt-prefix': { type: 'string' },
  'mqtt-username': { type: 'string' },
  'mqtt-password-file': { type: 'string' },
  'mqtt-ca': { type: 'string' },
  'mqtt-cert': { type: 'string' },
  'mqtt-key': { type: 'string' },
  'mqtt-connects-per-second': { type: 'string' },
  'mqtt-protocol': { type: 'string' },
} as const;

const DEFAULT_CONNECTS_PER_SECOND = 20;

export const MQTT_USAGE = [
  'MQTT (the reader connects out to the management system, docs/MQTT.md):',
  '  --mqtt URL               mqtt://HOST:1883 or mqtts://HOST:8883: publish events and status,',
  '                           take commands (push, delta, state, enroll, ack, time)',
  `  --mqtt-prefix P          topic prefix (default ${DEFAULT_TOPIC_PREFIX}): P/READER_ID/...`,
  '  --mqtt-username U        default: the reader id; {readerId} in U is replaced by it',
  '  --mqtt-password-file F   the password is the file’s first line; {readerId} in F picks a',
  '                           file per reader (read at each connection)',
  '  --mqtt-ca FILE           PEM CA the broker’s certificate must chain to (mqtts://)',
  '  --mqtt-cert FILE         PEM client certificate, with --mqtt-key its key',
  `  --mqtt-connects-per-second N   pace for many readers in one process (default ${DEFAULT_CONNECTS_PER_SECOND})`,
  "  --mqtt-protocol V        3.1.1 (default) or 5 (answers also go to a request's response topic)",
  '',
];

type MqttValues = { [K in keyof typeof mqttOptions]?: string };

const READER_ID = '{readerId}';

/**
 * The link options `reader-sim start` gives every boot's link, or undefined without --mqtt.
 * Everything that can be checked before the reader boots is: the URL, the TLS files (PEM that
 * parses, a key that fits its certificate), a password file without a per-reader template.
 */
export function parseMqttOptions(
  values: MqttValues,
  clock: Clock,
  log: ReaderLog,
): Omit<MqttLinkOptions, 'hostLink'> | undefined {
  const url = values.mqtt;
  const others = Object.keys(mqttOptions).filter(
    (k) => k !== 'mqtt' && values[k as keyof MqttValues] !== undefined,
  );
  if (url === undefined) {
    if (others.length) throw new UsageError(`--${others[0]} needs --mqtt URL`);
    return undefined;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--mqtt ${url} is not a URL (mqtt://HOST:PORT or mqtts://HOST:PORT)`);
  }
  if (!['mqtt:', 'mqtts:', 'ws:', 'wss:'].includes(parsed.protocol)) {
    throw new UsageError(`--mqtt ${url}: the scheme must be mqtt, mqtts, ws or wss`);
  }
  const prefix = values['mqtt-prefix'];
  if (prefix !== undefined) {
    try {
      readerTopics(prefix, 'x');
    } catch (err) {
      throw new UsageError(`--mqtt-prefix: ${(err as Error).message}`);
    }
  }
  const rate = values['mqtt-connects-per-second'] ?? String(DEFAULT_CONNECTS_PER_SECOND);
  if (!/^[0-9]+(\.[0-9]+)?$/.test(rate) || !(Number(rate) > 0)) {
    throw new UsageError(`--mqtt-connects-per-second must be a number > 0, got ${rate}`);
  }
  const protocol = values['mqtt-protocol'] ?? '3.1.1';
  if (protocol !== '3.1.1' && protocol !== '5') {
    throw new UsageError(`--mqtt-protocol must be 3.1.1 or 5, got ${protocol}`);
  }
  const tls = loadMqttTls(values);
  if (tls && !['mqtts:', 'wss:'].includes(parsed.protocol)) {
    throw new UsageError('--mqtt-ca/--mqtt-cert/--mqtt-key need an mqtts:// or wss:// URL');
  }
  const userTemplate = values['mqtt-username'];
  const passwordFile = values['mqtt-password-file'];
  // Without a template the one file is read now: a typo stops here, not at every reconnect.
  if (passwordFile !== undefined && !passwordFile.includes(READER_ID)) readPassword(passwordFile);
  if (parsed.password !== '' || parsed.username !== '') {
    // A password in a URL ends up in process listings and logs.
    throw new UsageError(
      '--mqtt: no credentials in the URL; use --mqtt-username/--mqtt-password-file',
    );
  }
  return {
    url: `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`,
    topicPrefix: prefix,
    username:
      userTemplate === undefined ? undefined : (id) => userTemplate.replaceAll(READER_ID, id),
    password:
      passwordFile === undefined
        ? undefined
        : (id) => readPassword(passwordFile.replaceAll(READER_ID, id)),
    tls,
    protocolVersion: protocol === '5' ? 5 : 4,
    pacer: new ConnectionPacer(clock, Number(rate)),
    log,
  };
}

function readPassword(file: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(
      `--mqtt-password-file ${file}: cannot read it (${(err as NodeJS.ErrnoException).code})`,
    );
  }
  const line = text.split(/\r?\n/)[0] ?? '';
  if (line === '') throw new Error(`--mqtt-password-file ${file}: the first line is empty`);
  return line;
}

function loadMqttTls(values: MqttValues): MqttTls | undefined {
  const { 'mqtt-ca': caFile, 'mqtt-cert': certFile, 'mqtt-key': keyFile } = values;
  if (caFile === undefined && certFile === undefined && keyFile === undefined) return undefined;
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new UsageError('--mqtt-cert and --mqtt-key go together (a PEM certificate and its key)');
  }
  const read = (flag: string, file: string) => {
    try {
      return fs.readFileSync(file);
    } catch (err) {
      throw new Error(`${flag} ${file}: cannot read it (${(err as NodeJS.ErrnoException).code})`);
    }
  };
  const tls: MqttTls = {};
  if (caFile !== undefined) tls.ca = read('--mqtt-ca', caFile);
  if (certFile !== undefined && keyFile !== undefined) {
    tls.cert = read('--mqtt-cert', certFile);
    tls.key = read('--mqtt-key', keyFile);
  }
  const check = (what: string, options: Parameters<typeof createSecureContext>[0]) => {
    try {
      createSecureContext(options);
    } catch (err) {
      throw new Error(`${what}: ${(err as Error).message}`);
    }
  };
  if (tls.ca) {
    // createSecureContext skips a CA file with no certificate in it: parse it ourselves.
    try {
      new X509Certificate(tls.ca);
    } catch (err) {
      throw new Error(`--mqtt-ca ${caFile} is not a PEM certificate: ${(err as Error).message}`);
    }
  }
  if (tls.cert) {
    check(`--mqtt-cert ${certFile} is not a PEM certificate`, { cert: tls.cert });
    check(`--mqtt-key ${keyFile} is not a PEM private key`, { key: tls.key });
    check(`--mqtt-key ${keyFile} does not belong to --mqtt-cert ${certFile}`, {
      cert: tls.cert,
      key: tls.key,
    });
  }
  return tls;
}
