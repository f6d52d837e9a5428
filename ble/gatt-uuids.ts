/**
 * The reader's GATT service and characteristic UUIDs, defined once: the service, the virtual
 * phone, the tests and docs/MOBILE.md all import them from here. 128-bit, the project's own
 * (random base, last 16 bits of the first group number the characteristics).
 */
export const READER_SERVICE_UUID = '7e5a0001c4b24e0f9d3a51b0c2f1e8a7';

export const CHARACTERISTIC_UUIDS = {
  /** read: `{v, readerId, siteId, mode, minRssi, fw}` */
  readerInfo: '7e5a0002c4b24e0f9d3a51b0c2f1e8a7',
  /** read, notify: `{nonce: bstr(16), readerId, exp, now}`, fresh per connection */
  challenge: '7e5a0003c4b24e0f9d3a51b0c2f1e8a7',
  /** write (long writes allowed): a COSE_Sign1 presentation */
  credential: '7e5a0004c4b24e0f9d3a51b0c2f1e8a7',
  /** write: `{deviceId, publicKey, name?, app?}`, enroll mode only */
  enroll: '7e5a0005c4b24e0f9d3a51b0c2f1e8a7',
  /** notify: `{status, reason?, led?}` */
  result: '7e5a0006c4b24e0f9d3a51b0c2f1e8a7',
} as const;

export type CharacteristicName = keyof typeof CHARACTERISTIC_UUIDS;
