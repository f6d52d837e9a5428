import {
  KeyTable,
  KeyTableBuilder,
  hashBytes,
  hashHigh,
  hashString,
} from '../../storage/key-table';
import { seededRandom } from '../../firmware/foundation/random';

describe('key table', () => {
  it('hashString equals hashBytes of the UTF-8 bytes (ASCII and not)', () => {
    for (const s of ['c1', '18:4411', 'dev-ä€😀', '']) {
      const bytes = Buffer.from(s, 'utf8');
      const low = hashBytes(bytes, 0, bytes.length, 2);
      const high = hashHigh;
      expect(hashString(s, 2)).toBe(low);
      expect(hashHigh).toBe(high);
    }
    expect(hashString('v1', 0)).not.toBe(hashString('v1', 1)); // the kind is part of the key
  });

  it('agrees with a Map through inserts, replaces, deletes and growth; the builder keeps the later duplicate', () => {
    const random = seededRandom(7);
    const table = new KeyTable(4);
    const builder = new KeyTableBuilder(4);
    const model = new Map<string, number>();
    const added = new Map<string, number>();
    for (let i = 0; i < 20000; i++) {
      const key = `k${Math.floor(random() * 5000)}`;
      const low = hashString(key);
      const high = hashHigh;
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
      const slot = table.find(hashString(key), hashHigh);
      expect(table.address(slot)).toBe(address);
    }
    const built = builder.build();
    expect(built.size).toBe(added.size);
    for (const [key, address] of added) {
      expect(built.address(built.find(hashString(key), hashHigh))).toBe(address);
    }
  });
});
