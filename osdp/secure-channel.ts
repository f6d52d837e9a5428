import { createCipheriv, createDecipheriv, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The OSDP Secure Channel's cryptography (AES-128): session keys from the base key (SCBK)
 * and the CP's random, the two cryptograms of the handshake, the chained MACs and the data
 * encryption. Both sides use `SecureSession`; only who sends what differs.
 */

/** SCBK-D: the base key a PD in install mode accepts (SCS_11 with key byte 0x00). */
export const SCBK_DEFAULT = Buffer.from('303132333435363738393a3b3c3d3e3f', 'hex');
export const KEY_LENGTH = 16;
const BLOCK = 16;
/** Ends the data before padding, in MAC input and encrypted data. */
const END_MARKER = 0x80;

function ecb(key: Buffer, block: Buffer): Buffer {
  const cipher = createCipheriv('aes-128-ecb', key, null).setAutoPadding(false);
  return Buffer.concat([cipher.update(block), cipher.final()]);
}

function cbc(key: Buffer, iv: Buffer, data: Buffer, encrypt: boolean): Buffer {
  const c = encrypt
    ? createCipheriv('aes-128-cbc', key, iv).setAutoPadding(false)
    : createDecipheriv('aes-128-cbc', key, iv).setAutoPadding(false);
  return Buffer.concat([c.update(data), c.final()]);
}

function complement(bytes: Buffer): Buffer {
  return Buffer.from(bytes.map((b) => ~b & 0xff));
}

export interface SessionKeys {
  enc: Buffer;
  mac1: Buffer;
  mac2: Buffer;
}

/** S-ENC, S-MAC1, S-MAC2: the SCBK encrypts 0x01, a key tag, the first 6 bytes of RND.A, zeros. */
export function sessionKeys(scbk: Buffer, rndA: Buffer): SessionKeys {
  const derive = (tag: number) => {
    const block = Buffer.alloc(BLOCK);
    block[0] = 0x01;
    block[1] = tag;
    rndA.copy(block, 2, 0, 6);
    return ecb(scbk, block);
  };
  return { enc: derive(0x82), mac1: derive(0x01), mac2: derive(0x02) };
}

/** The PD's proof (in osdp_CCRYPT): RND.A then RND.B under S-ENC. */
export function clientCryptogram(keys: SessionKeys, rndA: Buffer, rndB: Buffer): Buffer {
  return ecb(keys.enc, Buffer.concat([rndA, rndB]));
}

/** The CP's proof (in osdp_SCRYPT): RND.B then RND.A under S-ENC. */
export function serverCryptogram(keys: SessionKeys, rndA: Buffer, rndB: Buffer): Buffer {
  return ecb(keys.enc, Buffer.concat([rndB, rndA]));
}

/** The first R-MAC (osdp_RMAC_I): the server cryptogram under S-MAC1, then under S-MAC2. */
export function initialRmac(keys: SessionKeys, serverCrypt: Buffer): Buffer {
  return ecb(keys.mac2, ecb(keys.mac1, serverCrypt));
}

/**
 * A packet's 16-byte MAC: AES-CBC from the previous MAC of the other side, every block but
 * the last under S-MAC1 and the last under S-MAC2; the input is padded (0x80, zeros) only
 * when it is not whole blocks.
 */
export function packetMac(keys: SessionKeys, iv: Buffer, input: Buffer): Buffer {
  let padded = input;
  if (input.length % BLOCK !== 0) {
    padded = Buffer.alloc(input.length + BLOCK - (input.length % BLOCK));
    input.copy(padded);
    padded[input.length] = END_MARKER;
  }
  let chain = iv;
  if (padded.length > BLOCK) {
    const head = cbc(keys.mac1, iv, padded.subarray(0, padded.length - BLOCK), true);
    chain = head.subarray(head.length - BLOCK);
  }
  return cbc(keys.mac2, chain, padded.subarray(padded.length - BLOCK), true);
}

/** Data under S-ENC, IV the complement of the other side's last MAC; always padded. */
export function encryptData(keys: SessionKeys, otherMac: Buffer, data: Buffer): Buffer {
  const padded = Buffer.alloc(data.length + BLOCK - (data.length % BLOCK));
  data.copy(padded);
  padded[data.length] = END_MARKER;
  return cbc(keys.enc, complement(otherMac), padded, true);
}

/** The clear data, or undefined when the length or the padding is wrong. */
export function decryptData(keys: SessionKeys, otherMac: Buffer, data: Buffer): Buffer | undefined {
  if (data.length === 0 || data.length % BLOCK !== 0) return undefined;
  const clear = cbc(keys.enc, complement(otherMac), data, false);
  let end = clear.length - 1;
  while (end > 0 && clear[end] === 0) end--;
  if (clear[end] !== END_MARKER) return undefined;
  return clear.subarray(0, end);
}

export function randomChallenge(): Buffer {
  return randomBytes(8);
}

export function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * One side's view of an established (or establishing) session: the keys and the last MAC
 * each side sent. A CP command's MAC chains from the last R-MAC; a PD reply's from the
 * C-MAC of the command it answers.
 */
export class SecureSession {
  /** Last MAC the CP sent (full 16 bytes). */
  cMac: Buffer = Buffer.alloc(BLOCK);
  /** Last MAC the PD sent. */
  rMac: Buffer = Buffer.alloc(BLOCK);

  constructor(
    readonly keys: SessionKeys,
    readonly rndA: Buffer,
    readonly rndB: Buffer,
  ) {}

  /** Computes the MAC of a command and makes it the C-MAC. */
  macCommand(input: Buffer): Buffer {
    this.cMac = packetMac(this.keys, this.rMac, input);
    return this.cMac;
  }

  /** Computes the MAC of a reply and makes it the R-MAC. */
  macReply(input: Buffer): Buffer {
    this.rMac = packetMac(this.keys, this.cMac, input);
    return this.rMac;
  }

  /** Checks a received command's 4 MAC bytes; on a match the C-MAC moves on. */
  verifyCommand(input: Buffer, mac: Buffer): boolean {
    const full = packetMac(this.keys, this.rMac, input);
    if (!sameBytes(full.subarray(0, mac.length), mac)) return false;
    this.cMac = full;
    return true;
  }

  verifyReply(input: Buffer, mac: Buffer): boolean {
    const full = packetMac(this.keys, this.cMac, input);
    if (!sameBytes(full.subarray(0, mac.length), mac)) return false;
    this.rMac = full;
    return true;
  }

  encryptCommand(data: Buffer): Buffer {
    return encryptData(this.keys, this.rMac, data);
  }

  decryptCommand(data: Buffer): Buffer | undefined {
    return decryptData(this.keys, this.rMac, data);
  }

  encryptReply(data: Buffer): Buffer {
    return encryptData(this.keys, this.cMac, data);
  }

  decryptReply(data: Buffer): Buffer | undefined {
    return decryptData(this.keys, this.cMac, data);
  }
}
