import { CHARACTERISTIC_UUIDS, READER_SERVICE_UUID } from './gatt-uuids';
import { ADV_COMPANY_ID, ADV_MODES, ERROR_REASONS, MAX_WRITE_BYTES, NONCE_BYTES } from './protocol';

/**
 * The tables of docs/MOBILE.md, rendered from the definitions so the doc cannot drift
 * (test/mobile/docs.test.ts compares them; UPDATE_DOCS=1 rewrites them).
 */
const PROPERTIES: Record<keyof typeof CHARACTERISTIC_UUIDS, [string, string]> = {
  readerInfo: ['read', '`{v, readerId, siteId, mode, minRssi, fw}`'],
  challenge: [
    'read, notify',
    `\`{nonce: bstr(${NONCE_BYTES}), readerId, exp, now}\`: one per connection, single use, expires`,
  ],
  credential: [
    'write (long writes)',
    `COSE_Sign1 (ES256) over \`{deviceId, readerId, nonce, ts}\`, at most ${MAX_WRITE_BYTES} bytes`,
  ],
  enroll: [
    'write',
    '`{deviceId, publicKey (COSE_Key EC2 P-256, SPKI DER bstr or base64 SPKI text), name?, app?}`, enroll mode only',
  ],
  // Pipes inside a table cell are escaped.
  result: [
    'notify',
    '`{status: received\\|granted\\|denied\\|enrolled\\|forwarded\\|error, reason?, led?}`',
  ],
};

export function gattTable(): string {
  const dashed = (u: string) =>
    `${u.slice(0, 8)}-${u.slice(8, 12)}-${u.slice(12, 16)}-${u.slice(16, 20)}-${u.slice(20)}`;
  const rows = [
    `| service | \`${dashed(READER_SERVICE_UUID)}\` | primary | the reader's mobile-credential service |`,
    ...(Object.keys(CHARACTERISTIC_UUIDS) as Array<keyof typeof CHARACTERISTIC_UUIDS>).map(
      (name) =>
        `| ${name} | \`${dashed(CHARACTERISTIC_UUIDS[name])}\` | ${PROPERTIES[name][0]} | ${PROPERTIES[name][1]} |`,
    ),
  ];
  return ['| name | UUID | properties | payload (CBOR) |', '|---|---|---|---|', ...rows].join('\n');
}

export function errorTable(): string {
  const rows = Object.entries(ERROR_REASONS).map(([code, text]) => `| \`${code}\` | ${text} |`);
  return ['| reason | when |', '|---|---|', ...rows].join('\n');
}

export function advertisingTable(): string {
  const company = `0x${ADV_COMPANY_ID.toString(16).toUpperCase()}`;
  const modes = Object.entries(ADV_MODES)
    .map(([m, b]) => `\`0x${b.toString(16).padStart(2, '0')}\` = ${m}`)
    .join(', ');
  return [
    '| where | AD type | content |',
    '|---|---|---|',
    '| advertising data | 0x01 flags | `0x06` (LE General Discoverable, no BR/EDR) |',
    '| advertising data | 0x03 complete 16-bit UUIDs | `0xFFF0`, the PKOC service (unless `blePkocService` is false) |',
    '| advertising data | 0x07 complete 128-bit UUIDs | the service UUID (unless `bleReaderSimService` is false) |',
    `| advertising data | 0xFF manufacturer data | company ${company}, then the mode byte: ${modes} |`,
    '| scan response | 0x09 complete local name (0x08 shortened) | the reader id |',
  ].join('\n');
}
