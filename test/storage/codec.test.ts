import { decodeCredential, encodeCredential } from '../../storage/codec';
import { CREDENTIAL_KINDS, Credential } from '../../firmware/foundation/model';

/**
 * The credential decoder builds short ASCII strings from char codes and long ones as Latin-1:
 * what it returns must be what a plain UTF-8 decode of the same bytes gives, field for field
 * and in the same key order, for every string the format can hold.
 */
function plainDecode(p: Buffer, start = 0): Credential {
  let at = start + 6;
  const text = (): string => {
    const n = p.readUInt16LE(at);
    const s = p.toString('utf8', at + 2, at + 2 + n);
    at += 2 + n;
    return s;
  };
  const kind = CREDENTIAL_KINDS[p[start + 4]!]!;
  const flags = p[start + 5]!;
  const value = text();
  const id = text();
  const userId = text();
  const c: Credential = { id, userId, kind, value, enabled: (flags & 1) !== 0, accessPoints: [] };
  if (flags & 2) c.start = p.readDoubleLE((at += 8) - 8);
  if (flags & 4) c.end = p.readDoubleLE((at += 8) - 8);
  if (flags & 8) c.useLimit = p.readUInt32LE((at += 4) - 4);
  const count = p.readUInt16LE(at);
  at += 2;
  for (let i = 0; i < count; i++) c.accessPoints.push(text());
  if (flags & 16) c.scheduleId = text();
  if (flags & 32) c.pinHash = text();
  if (flags & 64) c.publicKey = text();
  return c;
}

const ascii = (n: number) =>
  Array.from({ length: n }, (_, i) => String.fromCharCode(33 + ((i * 7) % 94))).join('');

/** Strings on both sides of the short-text limit, empty, single characters and UTF-8. */
const STRINGS = [
  '',
  '*',
  'ap1',
  ...[7, 12, 23, 24, 25, 26, 36, 124, 300].map(ascii),
  'é',
  'dev-ä€😀',
  `${ascii(23)}é`,
  `é${ascii(30)}`,
  '\u007f\u0000x',
];

function credentials(): Credential[] {
  const out: Credential[] = [];
  STRINGS.forEach((s, i) => {
    const c: Credential = {
      id: s,
      userId: STRINGS[(i + 3) % STRINGS.length]!,
      kind: CREDENTIAL_KINDS[i % 3]!,
      value: STRINGS[(i + 5) % STRINGS.length]!,
      enabled: i % 2 === 0,
      accessPoints: STRINGS.slice(0, i % 4),
    };
    if (i % 3 === 0) c.start = 1767225600000 + i;
    if (i % 4 === 0) c.end = 1798761600000.5;
    if (i % 5 === 0) c.useLimit = i;
    if (i % 2 === 1) c.scheduleId = STRINGS[(i + 1) % STRINGS.length]!;
    if (i % 3 === 1) c.pinHash = s;
    if (i % 3 === 2) c.publicKey = STRINGS[(i + 7) % STRINGS.length]!;
    out.push(c);
  });
  return out;
}

describe('credential codec', () => {
  it('decodes every field as written, in the order a plain decode gives, from a payload or from cells around it', () => {
    for (const c of credentials()) {
      const payload = Buffer.from(encodeCredential(7, c));
      const cells = Buffer.concat([Buffer.alloc(13, 0xee), payload, Buffer.alloc(9, 0xee)]);
      for (const decoded of [decodeCredential(payload), decodeCredential(cells, 13)]) {
        expect(decoded).toStrictEqual(c);
        expect(decoded).toStrictEqual(plainDecode(payload));
        expect(Object.keys(decoded)).toEqual(Object.keys(plainDecode(payload)));
        expect(JSON.stringify(decoded)).toBe(JSON.stringify(plainDecode(payload)));
      }
      // A lookup by value passes the caller's string: the rest is decoded the same.
      expect(decodeCredential(cells, 13, c.value)).toStrictEqual(c);
    }
  });

  it('decodes bytes that are not valid UTF-8 as the UTF-8 decoder does', () => {
    const c: Credential = {
      id: ascii(5),
      userId: ascii(30),
      kind: 'badge',
      value: 'v',
      enabled: true,
      accessPoints: ['ap'],
    };
    const payload = Buffer.from(encodeCredential(1, c));
    // id's first byte and userId's last byte become lone continuation / lead bytes.
    const idAt = 8 + 1 + 2;
    payload[idAt] = 0x80;
    const userEnd = idAt + 5 + 2 + 30 - 1;
    payload[userEnd] = 0xc3;
    expect(decodeCredential(payload)).toStrictEqual(plainDecode(payload));
    expect(decodeCredential(payload).id).toBe(`\ufffd${c.id.slice(1)}`);
  });

  it('a payload cut short decodes or throws exactly as a plain decode does', () => {
    const c = credentials()[9]!;
    const payload = Buffer.from(encodeCredential(3, c));
    for (let cut = 6; cut < payload.length; cut++) {
      const part = payload.subarray(0, cut);
      let expected: Credential | string;
      try {
        expected = plainDecode(part);
      } catch (err) {
        expected = (err as Error).constructor.name;
      }
      let got: Credential | string;
      try {
        got = decodeCredential(part);
      } catch (err) {
        got = (err as Error).constructor.name;
      }
      expect(got).toStrictEqual(expected);
    }
  });
});
