import { createECDH, KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import { publicKeyFromSpki } from '../cose';
import { keyFromUncompressed, siteKeyPair } from './messages';

/**
 * The PKOC site key in files (docs/PKOC.md "ECDHE"): the reader holds the private half (64
 * hex digits, the `pkocSiteKey` config format) and signs its half of every ECDHE transaction
 * with it; a phone is given the public half and refuses a reader that cannot prove the site.
 */

const PRIVATE_HEX = /^[0-9a-f]{64}$/;

/** The public half as a phone is given it: PEM (SPKI), the format OpenSSL and apps read. */
export function sitePublicPem(privateHex: string): string {
  return siteKeyPair(privateHex).publicKey.export({ type: 'spki', format: 'pem' }).toString();
}

/** Whether 64 hex digits are a usable P-256 private scalar (not 0, below the group order). */
export function isSitePrivateKey(hex: string): boolean {
  if (!PRIVATE_HEX.test(hex)) return false;
  try {
    siteKeyPair(hex);
    return true;
  } catch {
    // OpenSSL refuses a scalar outside [1, n-1].
    return false;
  }
}

/**
 * The reader's site key file: read it, or create it (mode 0600) with a fresh key when it does
 * not exist. Writes the public half beside it as FILE.pub for the phones. Throws one line
 * when the file holds anything but a site key.
 */
export function loadOrCreateSiteKey(file: string): { privateHex: string; publicFile: string } {
  let privateHex: string;
  if (fs.existsSync(file)) {
    privateHex = fs.readFileSync(file, 'utf8').trim().toLowerCase();
    if (!isSitePrivateKey(privateHex)) {
      throw new Error(`${file} is not a PKOC site key (64 hex digits, a P-256 private key)`);
    }
  } else {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    privateHex = ecdh.getPrivateKey().toString('hex').padStart(64, '0');
    fs.writeFileSync(file, `${privateHex}\n`, { mode: 0o600, flag: 'wx' });
  }
  const publicFile = `${file}.pub`;
  fs.writeFileSync(publicFile, sitePublicPem(privateHex));
  return { privateHex, publicFile };
}

/**
 * A site public key as a phone is given it: PEM, base64 SPKI, or the 65-byte uncompressed
 * point as 130 hex digits. The site's private key file is taken too (a tester holding it).
 * Undefined for anything else.
 */
export function parseSitePublicKey(text: string): KeyObject | undefined {
  const body = text.trim();
  const pem = /^-----BEGIN PUBLIC KEY-----([A-Za-z0-9+/=\s]+)-----END PUBLIC KEY-----$/.exec(body);
  if (pem) return publicKeyFromSpki(pem[1]!.replace(/\s/g, ''));
  if (/^04[0-9a-fA-F]{128}$/.test(body)) return keyFromUncompressed(Buffer.from(body, 'hex'));
  if (isSitePrivateKey(body.toLowerCase())) return siteKeyPair(body.toLowerCase()).publicKey;
  if (/^[A-Za-z0-9+/=]{1,1024}$/.test(body)) return publicKeyFromSpki(body);
  return undefined;
}
