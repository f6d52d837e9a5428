import { READER_SERVICE_UUID } from './gatt-uuids';
import { manufacturerData, ReaderMode } from './protocol';

/** AD types (Bluetooth Assigned Numbers, "Common Data Types"). */
const AD = {
  flags: 0x01,
  complete128: 0x07,
  shortName: 0x08,
  completeName: 0x09,
  manufacturer: 0xff,
} as const;
/** LE General Discoverable, BR/EDR not supported. */
const FLAGS = 0x06;
const MAX_AD_BYTES = 31;

function field(type: number, data: Buffer): Buffer {
  return Buffer.concat([Buffer.from([data.length + 1, type]), data]);
}

/**
 * The reader's advertisement: flags, the service UUID and the mode (manufacturer data) in the
 * advertising data (26 of 31 bytes); the reader id as the local name in the scan response,
 * shortened when it does not fit.
 */
export function readerAdvertisement(
  readerId: string,
  mode: ReaderMode,
): {
  advertisement: Buffer;
  scanResponse: Buffer;
} {
  const uuid = Buffer.from(READER_SERVICE_UUID, 'hex').reverse(); // little-endian on air
  const advertisement = Buffer.concat([
    field(AD.flags, Buffer.from([FLAGS])),
    field(AD.complete128, uuid),
    field(AD.manufacturer, manufacturerData(mode)),
  ]);
  const name = Buffer.from(readerId, 'utf8');
  const room = MAX_AD_BYTES - 2;
  const scanResponse =
    name.length <= room
      ? field(AD.completeName, name)
      : field(AD.shortName, name.subarray(0, room));
  return { advertisement, scanResponse };
}
