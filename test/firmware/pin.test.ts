import {
  hashSecondFactorPin,
  newPinKey,
  pinLookupValue,
  verifySecondFactorPin,
} from '../../firmware/pin';

describe('PIN values: hashes only', () => {
  const key = 'ab'.repeat(32);

  test('PIN-only lookup value is a keyed hash, stable per key, never the digits', () => {
    const v = pinLookupValue('4711', key);
    expect(v).toMatch(/^hmac:[0-9a-f]{64}$/);
    expect(v).not.toContain('4711');
    expect(pinLookupValue('4711', key)).toBe(v);
    expect(pinLookupValue('4712', key)).not.toBe(v);
    expect(pinLookupValue('4711', newPinKey())).not.toBe(v);
  });

  test('second-factor hash verifies the right digits only', () => {
    const h = hashSecondFactorPin('2580');
    expect(h).toMatch(/^scrypt\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/);
    expect(verifySecondFactorPin('2580', h)).toBe(true);
    expect(verifySecondFactorPin('2581', h)).toBe(false);
    expect(hashSecondFactorPin('2580')).not.toBe(h); // salted
    expect(verifySecondFactorPin('2580', 'scrypt$$')).toBe(false);
    expect(verifySecondFactorPin('2580', 'bcrypt$a$b')).toBe(false);
  });

  test('bad digits and keys are refused with a clear error', () => {
    expect(() => pinLookupValue('12', key)).toThrow('PIN must be 4 to 12 digits');
    expect(() => pinLookupValue('1234', 'short')).toThrow('pinKey must be 64 hex digits');
    expect(() => hashSecondFactorPin('12ab')).toThrow('PIN must be 4 to 12 digits');
  });
});
