/**
 * The crypto and parsing units beneath the GATT service, without a radio: COSE_Sign1 against
 * RFC 9052's own example and a hand-built Sig_structure, key forms, the proof verdicts at
 * their boundaries, and the per-connection nonce.
 */
import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { decodeCbor, encodeCbor } from '../../ble/cbor';
import {
  coseKeyOf,
  parseSign1,
  publicKeyFromWire,
  sigStructure,
  signSign1,
  spkiBase64,
  verifySign1,
} from '../../ble/cose';
import { parseCredentialWrite, parseEnrollRecord, proofOf } from '../../ble/credential-check';
import { createDeviceKey } from '../../ble/device-key';
import { LinkSession } from '../../ble/session';

const hex = (s: string) => Buffer.from(s.replace(/\s/g, ''), 'hex');

describe('COSE_Sign1 / ES256', () => {
  // RFC 9052 Appendix C.2.1: tagged COSE_Sign1, protected {1: -7}, unprotected {4: '11'},
  // payload "This is the content.", signed with the examples' P-256 key "11".
  const rfcMessage = hex(`D2 84 43 A10126 A1 04 42 3131 54 546869732069732074686520636F6E74656E742E
    58 40 8EB33E4CA31D1C465AB05AAC34CC6B23D58FEF5C083106C4D25A91AEF0B0117E
          2AF9A291AA32E14AB834DC56ED2A223444547E01F11D3B0916E5A4C345CACB36`);
  const rfcKey = createPublicKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      x: hex('bac5b11cad8f99f9c72b05cf4b9e26d244dc189f745228255a219a86d6a09eff').toString(
        'base64url',
      ),
      y: hex('20138bf82dc1b6d562be0fa54ab7804a3a64b6d72ccfed6b6fb6ed28bbfc117e').toString(
        'base64url',
      ),
    },
    format: 'jwk',
  });

  it("verifies RFC 9052's ES256 example, and not once a payload byte changes", () => {
    const sign1 = parseSign1(rfcMessage)!;
    expect(sign1.payload.toString()).toBe('This is the content.');
    expect(verifySign1(sign1, rfcKey)).toBe(true);
    const tampered = Buffer.from(rfcMessage);
    tampered[20] ^= 1;
    expect(verifySign1(parseSign1(tampered)!, rfcKey)).toBe(false);
  });

  it('signs the Sig_structure of RFC 9052 4.4, raw r||s, over the sent protected bytes', () => {
    const key = createDeviceKey('d1');
    const payload = Buffer.from('a1616101', 'hex'); // {"a": 1}
    const message = signSign1(payload, key.privateKey);
    const [protectedBytes, unprotected, sentPayload, signature] = decodeCbor(message)!.value as [
      Buffer,
      Map<unknown, unknown>,
      Buffer,
      Buffer,
    ];
    expect(protectedBytes.toString('hex')).toBe('a10126');
    expect(unprotected.size).toBe(0);
    expect(sentPayload.equals(payload)).toBe(true);
    expect(signature).toHaveLength(64);
    // ["Signature1", h'a10126', h'', h'a1616101'], built by hand (not by our encoder).
    const toBeSigned = Buffer.concat([
      hex('84 6a'),
      Buffer.from('Signature1'),
      hex('43 a10126 40 44 a1616101'),
    ]);
    expect(
      verify('sha256', toBeSigned, { key: key.publicKey, dsaEncoding: 'ieee-p1363' }, signature),
    ).toBe(true);
  });

  it('writes the Sig_structure as a CBOR encoder does, at every byte-string length form', () => {
    // 0-23 in the initial byte, then 1, 2 and 4 length bytes (RFC 8949 shortest form).
    for (const n of [0, 1, 23, 24, 255, 256, 65_535, 65_536]) {
      const payload = Buffer.alloc(n, n & 0xff);
      for (const protectedBytes of [hex('a10126'), Buffer.alloc(30, 1), Buffer.alloc(300, 2)]) {
        expect(
          sigStructure(protectedBytes, payload).equals(
            encodeCbor(['Signature1', protectedBytes, Buffer.alloc(0), payload]),
          ),
        ).toBe(true);
      }
    }
  });

  it('refuses other algorithms, DER signatures and other shapes', () => {
    const key = createDeviceKey('d1');
    const good = decodeCbor(signSign1(Buffer.from('a0', 'hex'), key.privateKey))!
      .value as unknown[];
    const variant = (i: number, v: unknown) => encodeCbor(good.map((x, j) => (j === i ? v : x)));
    expect(parseSign1(encodeCbor(good))).toBeDefined();
    expect(parseSign1(variant(0, encodeCbor(new Map([[1, -35]]))))).toBeUndefined(); // ES384
    expect(parseSign1(variant(0, encodeCbor(new Map())))).toBeUndefined(); // no alg
    expect(parseSign1(variant(3, Buffer.alloc(70)))).toBeUndefined(); // DER-sized
    expect(parseSign1(variant(1, 'x'))).toBeUndefined();
    expect(parseSign1(encodeCbor(good.slice(0, 3)))).toBeUndefined();
    expect(parseSign1(Buffer.concat([hex('d1'), encodeCbor(good)]))).toBeUndefined(); // tag 17 (COSE_Mac0)
  });
});

describe('device keys on the wire', () => {
  const key = createDeviceKey('phone-1');
  const spki = spkiBase64(key.publicKey);

  it('reads a COSE_Key (EC2, P-256), SPKI DER bytes and base64 SPKI text as the same key', () => {
    for (const publicKey of [coseKeyOf(key.publicKey), Buffer.from(spki, 'base64'), spki]) {
      const record = encodeCbor(
        new Map<string, unknown>([
          ['deviceId', 'phone-1'],
          ['publicKey', publicKey],
        ]),
      );
      expect(parseEnrollRecord(record)).toEqual({ deviceId: 'phone-1', publicKey: spki });
    }
  });

  it('refuses keys on other curves, broken COSE_Keys and bad labels', () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey;
    expect(publicKeyFromWire(p384.export({ type: 'spki', format: 'der' }))).toBeUndefined();
    const cose = coseKeyOf(key.publicKey);
    expect(publicKeyFromWire(new Map([...cose, [-1, 2]]))).toBeUndefined(); // crv P-384
    expect(publicKeyFromWire(new Map([...cose, [-2, Buffer.alloc(32)]]))).toBeUndefined(); // off curve
    const record = (extra: [string, unknown][]) =>
      encodeCbor(
        new Map<string, unknown>([['deviceId', 'phone-1'], ['publicKey', spki], ...extra]),
      );
    expect(parseEnrollRecord(record([['name', 'Pixel']]))).toMatchObject({ name: 'Pixel' });
    expect(parseEnrollRecord(record([['name', 'x'.repeat(65)]]))).toBeUndefined();
    expect(parseEnrollRecord(record([['app', 7]]))).toBeUndefined();
  });
});

describe('the proof verdicts', () => {
  const key = createDeviceKey('phone-1');
  const nonce = Buffer.alloc(16, 9);
  const now = Date.UTC(2026, 5, 1);
  const present = (fields: Record<string, unknown>) =>
    parseCredentialWrite(
      signSign1(
        encodeCbor(
          new Map(
            Object.entries({ deviceId: 'phone-1', readerId: 'r1', nonce, ts: now, ...fields }),
          ),
        ),
        key.privateKey,
      ),
    )!;
  const facts = {
    enrolledKey: spkiBase64(key.publicKey) as string | undefined,
    nonceFresh: true,
    readerId: 'r1',
    now,
    skewMs: 60_000,
  };

  it('accepts ts within the skew, inclusive, and calls anything further stale (not a replay)', () => {
    expect(proofOf(present({ ts: now - 60_000 }), facts)).toEqual({
      signatureValid: true,
      challengeFresh: true,
      timestampFresh: true,
    });
    expect(proofOf(present({ ts: now + 60_000 }), facts).timestampFresh).toBe(true);
    expect(proofOf(present({ ts: now - 60_001 }), facts)).toMatchObject({
      challengeFresh: true,
      timestampFresh: false,
    });
    expect(proofOf(present({ ts: now + 60_001 }), facts).timestampFresh).toBe(false);
    expect(proofOf(present({ readerId: 'r2' }), facts).challengeFresh).toBe(false);
    expect(proofOf(present({}), { ...facts, nonceFresh: false }).challengeFresh).toBe(false);
  });

  it('checks the signature only against an enrolled key', () => {
    const other = spkiBase64(createDeviceKey().publicKey);
    expect(proofOf(present({}), { ...facts, enrolledKey: other }).signatureValid).toBe(false);
    expect(proofOf(present({}), { ...facts, enrolledKey: '' }).signatureValid).toBe(false);
    // Unknown device: nothing to check against; the decision says unknown_credential.
    expect(proofOf(present({}), { ...facts, enrolledKey: undefined }).signatureValid).toBe(true);
  });

  it('refuses payload fields of the wrong type or size', () => {
    for (const fields of [
      { nonce: Buffer.alloc(15) },
      { ts: 1.5 },
      { ts: -1 },
      { ts: '2026' },
      { deviceId: '' },
      { deviceId: 'has space' },
      { deviceId: 'x'.repeat(129) },
      { readerId: 5 },
    ]) {
      expect(
        parseCredentialWrite(
          signSign1(
            encodeCbor(
              new Map(
                Object.entries({ deviceId: 'phone-1', readerId: 'r1', nonce, ts: now, ...fields }),
              ),
            ),
            key.privateKey,
          ),
        ),
      ).toBeUndefined();
    }
  });
});

describe('LinkSession', () => {
  it('issues one nonce per connection, spends it once, refuses it after expiry', () => {
    const session = new LinkSession(1);
    expect(session.state).toBe('connected');
    // The wall clock (first argument) only names exp for the phone; expiry is monotonic.
    const issued = session.challenge(9_000_000, 1000, 5000);
    expect(issued.value).toHaveLength(16);
    expect(issued.exp).toBe(9_005_000);
    expect(session.challenge(9_001_000, 2000, 5000)).toBe(issued); // same nonce on a second read
    expect(session.state).toBe('challenged');
    expect(session.spend(issued.value, 6000)).toBe(true); // at exp: still fresh
    expect(session.busy).toBe(true);
    session.answered();
    expect(session.spend(issued.value, 6000)).toBe(false); // used

    const late = new LinkSession(2);
    const n = late.challenge(0, 1000, 5000);
    expect(late.spend(n.value, 6001)).toBe(false);
    const wrong = new LinkSession(3);
    wrong.challenge(0, 0, 5000);
    expect(wrong.spend(Buffer.alloc(16), 1)).toBe(false);
    expect(new LinkSession(4).spend(n.value, 1)).toBe(false); // no challenge on this link
  });
});
