import { READER_SERVICE_UUID } from './gatt-uuids';
import { PKOC_SERVICE_UUID } from './pkoc/spec';
import { manufacturerData, ReaderMode } from './protocol';

/** AD types (Bluetooth Assigned Numbers, "Common Data Types"). */
const AD = {
  flags: 0x01,
  complete16: 0x03,
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
 * The reader's advertisement: flags, the offered services (PKOC's 16-bit 0xFFF0, our 128-bit
 * one) and the mode (manufacturer data) in the advertising data (at most 30 of 31 bytes); the
 * reader id as the local name in the scan response, shortened when it does not fit.
 */
export function readerAdvertisement(
  readerId: string,
  mode: ReaderMode,
  offered: { readerSim: boolean; pkoc: boolean } = { readerSim: true, pkoc: true },
): {
  advertisement: Buffer;
  scanResponse: Buffer;
} {
  const fields = [field(AD.flags, Buffer.from([FLAGS]))];
  if (offered.pkoc) {
    const uuid16 = Buffer.alloc(2);
    uuid16.writeUInt16LE(parseInt(PKOC_SERVICE_UUID, 16));
    fields.push(field(AD.complete16, uuid16));
  }
  if (offered.readerSim) {
    // little-endian on air
    fields.push(field(AD.complete128, Buffer.from(READER_SERVICE_UUID, 'hex').reverse()));
  }
  fields.push(field(AD.manufacturer, manufacturerData(mode)));
  const advertisement = Buffer.concat(fields);
  const name = Buffer.from(readerId, 'utf8');
  const room = MAX_AD_BYTES - 2;
  const scanResponse =
    name.length <= room
      ? field(AD.completeName, name)
      : field(AD.shortName, name.subarray(0, room));
  return { advertisement, scanResponse };
}
