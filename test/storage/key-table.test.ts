import {
  KeyHash,
  KeyTable,
  KeyTableBuilder,
  NO_PREFIX,
  hashBytes,
  hashString,
} from '../../storage/key-table';
import { seededRandom } from '../../firmware/foundation/random';

describe('key table', () => {
  it('hashString equals hashBytes of the UTF-8 bytes (ASCII and not)', () => {
    for (const s of ['c1', '18:4411', 'dev-ä€😀', '']) {
      const bytes = Buffer.from(s, 'utf8');
      const fromBytes = hashBytes(bytes, 0, bytes.length, 2, new KeyHash());
      expect(hashString(s, 2, new KeyHash())).toEqual(fromBytes);
      // Both halves are independent hashes, not copies of each other.
      expect(fromBytes.low).not.toBe(fromBytes.high);
    }
    const kinds = [0, 1].map((kind) => hashString('v1', kind, new KeyHash()));
    expect(kinds[0]!.low).not.toBe(kinds[1]!.low); // the kind is part of the key
    expect(kinds[0]!.high).not.toBe(kinds[1]!.high);
  });

  it('agrees with a Map through inserts, replaces, deletes and growth; the builder keeps the later duplicate', () => {
    const random = seededRandom(7);
    const table = new KeyTable(4);
    const builder = new KeyTableBuilder(4);
    const model = new Map<string, number>();
    const added = new Map<string, number>();
    for (let i = 0; i < 20000; i++) {
      const key = `k${Math.floor(random() * 5000)}`;
      const { low, high } = hashString(key, NO_PREFIX, new KeyHash());
      if (random() < 0.2) {
        table.delete(low, high);
        model.delete(key);
      } else {
        table.set(low, high, 16 + i * 4, i % 1000);
        builder.add(low, high, 16 + i * 4, i % 1000);
        added.set(key, 16 + i * 4);
        model.set(key, 16 + i * 4);
      }
    }
    expect(table.size).toBe(model.size);
    for (const [key, address] of model) {
      const h = hashString(key, NO_PREFIX, new KeyHash());
      const slot = table.find(h.low, h.high);
      expect(table.address(slot)).toBe(address);
    }
    const built = builder.build();
    expect(built.size).toBe(added.size);
    for (const [key, address] of added) {
      const h = hashString(key, NO_PREFIX, new KeyHash());
      expect(built.address(built.find(h.low, h.high))).toBe(address);
    }
  });
});
