import { execFileSync } from 'node:child_process';
import {
  crc16,
  checksum8,
  decryptData,
  encryptData,
  packetMac,
  SCBK_DEFAULT,
  sessionKeys,
  clientCryptogram,
  serverCryptogram,
  initialRmac,
} from '../../osdp';

/** AES-128 from outside node:crypto (the openssl command), so a shared mistake cannot hide. */
function opensslAes(mode: 'ecb' | 'cbc', key: Buffer, data: Buffer, iv?: Buffer): Buffer {
  const args = ['enc', `-aes-128-${mode}`, '-nopad', '-K', key.toString('hex')];
  if (iv) args.push('-iv', iv.toString('hex'));
  return execFileSync('openssl', args, { input: data });
}

describe('check characters and secure-channel cryptography', () => {
  it('CRC-16/AUG-CCITT has the catalogue check value; the checksum makes the sum zero', () => {
    expect(crc16(Buffer.from('123456789'))).toBe(0xe5cc);
    const bytes = Buffer.from([0x53, 0x01, 0x07, 0x00, 0x00, 0x60]);
    expect((bytes.reduce((a, b) => a + b, 0) + checksum8(bytes)) & 0xff).toBe(0);
  });

  const rndA = Buffer.from('a1a2a3a4a5a6a7a8', 'hex');
  const rndB = Buffer.from('b1b2b3b4b5b6b7b8', 'hex');
  const keys = sessionKeys(SCBK_DEFAULT, rndA);

  it('session keys: 0x01, the key tag, RND.A[0..5], zeros, under the SCBK', () => {
    const block = (tag: string) => Buffer.from(`01${tag}a1a2a3a4a5a6` + '00'.repeat(8), 'hex');
    expect(keys.enc).toEqual(opensslAes('ecb', SCBK_DEFAULT, block('82')));
    expect(keys.mac1).toEqual(opensslAes('ecb', SCBK_DEFAULT, block('01')));
    expect(keys.mac2).toEqual(opensslAes('ecb', SCBK_DEFAULT, block('02')));
  });

  it('cryptograms and the initial R-MAC', () => {
    expect(clientCryptogram(keys, rndA, rndB)).toEqual(
      opensslAes('ecb', keys.enc, Buffer.concat([rndA, rndB])),
    );
    const server = serverCryptogram(keys, rndA, rndB);
    expect(server).toEqual(opensslAes('ecb', keys.enc, Buffer.concat([rndB, rndA])));
    expect(initialRmac(keys, server)).toEqual(
      opensslAes('ecb', keys.mac2, opensslAes('ecb', keys.mac1, server)),
    );
  });

  it('MAC: CBC under S-MAC1 for all but the last block, S-MAC2 for the last; padded only when needed', () => {
    const iv = Buffer.alloc(16, 0x5a);
    const input = Buffer.from('53058e000d1769' + 'c0'.repeat(14), 'hex'); // 21 bytes
    const padded = Buffer.concat([input, Buffer.from([0x80]), Buffer.alloc(10)]);
    const first = opensslAes('cbc', keys.mac1, padded.subarray(0, 16), iv);
    expect(packetMac(keys, iv, input)).toEqual(
      opensslAes('cbc', keys.mac2, padded.subarray(16), first),
    );
    const whole = Buffer.alloc(16, 3);
    expect(packetMac(keys, iv, whole)).toEqual(opensslAes('cbc', keys.mac2, whole, iv));
  });

  it('data encryption: 0x80 then zeros, IV the complement of the last MAC; bad padding is refused', () => {
    const lastMac = Buffer.alloc(16, 0x0f);
    const data = Buffer.from('0102', 'hex');
    const sealed = encryptData(keys, lastMac, data);
    const padded = Buffer.concat([data, Buffer.from([0x80]), Buffer.alloc(13)]);
    expect(sealed).toEqual(opensslAes('cbc', keys.enc, padded, Buffer.alloc(16, 0xf0)));
    expect(decryptData(keys, lastMac, sealed)).toEqual(data);
    expect(encryptData(keys, lastMac, Buffer.alloc(16))).toHaveLength(32);
    expect(decryptData(keys, lastMac, Buffer.alloc(16))).toBeUndefined();
    expect(decryptData(keys, lastMac, sealed.subarray(0, 15))).toBeUndefined();
  });
});
