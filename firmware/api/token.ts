import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** The host API's bearer token lives in the data directory under this name. */
export const TOKEN_FILE = 'api-token';

const TOKEN_FORMAT = /^[A-Za-z0-9_-]{32,128}$/;

/**
 * Returns the reader's API token, creating it (32 random bytes, base64url) on first boot.
 * The file is kept at mode 0600: the token is the only thing between the LAN and the door.
 */
export function loadOrCreateToken(dataDir: string): string {
  const file = path.join(dataDir, TOKEN_FILE);
  fs.mkdirSync(dataDir, { recursive: true });
  try {
    const token = fs.readFileSync(file, 'utf8').trim();
    if (!TOKEN_FORMAT.test(token)) {
      throw new Error(`${file} does not hold a valid token; delete it to make a new one`);
    }
    fs.chmodSync(file, 0o600);
    return token;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const token = randomBytes(32).toString('base64url');
  // 'wx': never overwrite a token another process made in the meantime.
  try {
    fs.writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreateToken(dataDir);
    throw err;
  }
  fs.chmodSync(file, 0o600);
  return token;
}

/** Reads the token of a reader whose data directory is at hand (the CLI's --data). */
export function readToken(dataDir: string): string {
  return fs.readFileSync(path.join(dataDir, TOKEN_FILE), 'utf8').trim();
}

/**
 * Checks an Authorization header against the token in constant time: both sides are
 * hashed first, so neither the length nor a common prefix leaks through timing.
 */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const presented = /^Bearer ([^\s]+)$/i.exec(header ?? '')?.[1] ?? '';
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b) && presented.length > 0;
}
