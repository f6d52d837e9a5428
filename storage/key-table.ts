/**
 * An open-addressing hash table from a key (bytes) to a record address on flash, in typed
 * arrays: a million credentials cost ~14 bytes a slot instead of a million JS objects.
 * A key is identified by two independent 32-bit hashes; callers confirm a hit by decoding
 * the record and comparing the real key (a 64-bit collision can only cause a miss).
 */
const EMPTY = 0;
const DELETED = 1; // never a record address: records are 4-byte aligned past a sector header

export let hashHigh = 0;

/** Hashes bytes (optionally prefixed by one byte) into hashLow (returned) and hashHigh. */
export function hashBytes(bytes: Uint8Array, start: number, end: number, prefix = -1): number {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  if (prefix >= 0) {
    a = Math.imul(a ^ prefix, 0x01000193);
    b = Math.imul(b ^ prefix, 0x5bd1e995);
    b ^= b >>> 15;
  }
  for (let i = start; i < end; i++) {
    const c = bytes[i]!;
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  hashHigh = finish(b);
  return finish(a);
}

/** Same hash as hashBytes over the string's UTF-8 bytes, without allocating for ASCII. */
export function hashString(s: string, prefix = -1): number {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) >= 0x80) {
      const bytes = Buffer.from(s, 'utf8');
      return hashBytes(bytes, 0, bytes.length, prefix);
    }
  }
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  if (prefix >= 0) {
    a = Math.imul(a ^ prefix, 0x01000193);
    b = Math.imul(b ^ prefix, 0x5bd1e995);
    b ^= b >>> 15;
  }
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  hashHigh = finish(b);
  return finish(a);
}

function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export class KeyTable {
  private low: Uint32Array;
  private high: Uint32Array;
  private addresses: Uint32Array;
  private lengths: Uint16Array;
  private counters: Uint32Array | undefined;
  private mask: number;
  private filled = 0; // live + deleted slots
  size = 0;

  constructor(
    expected = 16,
    private readonly withCounters = false,
  ) {
    const capacity = capacityFor(expected);
    this.low = new Uint32Array(capacity);
    this.high = new Uint32Array(capacity);
    this.addresses = new Uint32Array(capacity);
    this.lengths = new Uint16Array(capacity);
    this.counters = withCounters ? new Uint32Array(capacity) : undefined;
    this.mask = capacity - 1;
  }

  /** Slot of the key, or -1. */
  find(low: number, high: number): number {
    let i = low & this.mask;
    for (;;) {
      const a = this.addresses[i]!;
      if (a === EMPTY) return -1;
      if (a !== DELETED && this.low[i] === low && this.high[i] === high) return i;
      i = (i + 1) & this.mask;
    }
  }

  address(slot: number): number {
    return this.addresses[slot]!;
  }
  length(slot: number): number {
    return this.lengths[slot]!;
  }
  counter(slot: number): number {
    return this.counters?.[slot] ?? 0;
  }
  relocate(slot: number, address: number): void {
    this.addresses[slot] = address;
  }

  /** Inserts or replaces; returns the slot of the replaced entry's old values via `previous`. */
  set(
    low: number,
    high: number,
    address: number,
    length: number,
    counter = 0,
  ): Previous | undefined {
    const slot = this.find(low, high);
    if (slot >= 0) {
      const previous = { address: this.addresses[slot]!, length: this.lengths[slot]! };
      this.addresses[slot] = address;
      this.lengths[slot] = length;
      if (this.counters) this.counters[slot] = counter;
      return previous;
    }
    if ((this.filled + 1) * 4 > (this.mask + 1) * 3) this.grow();
    let i = low & this.mask;
    while (this.addresses[i] !== EMPTY && this.addresses[i] !== DELETED) i = (i + 1) & this.mask;
    if (this.addresses[i] === EMPTY) this.filled++;
    this.low[i] = low;
    this.high[i] = high;
    this.addresses[i] = address;
    this.lengths[i] = length;
    if (this.counters) this.counters[i] = counter;
    this.size++;
    return undefined;
  }

  delete(low: number, high: number): Previous | undefined {
    const slot = this.find(low, high);
    if (slot < 0) return undefined;
    const previous = { address: this.addresses[slot]!, length: this.lengths[slot]! };
    this.addresses[slot] = DELETED;
    this.size--;
    return previous;
  }

  forEach(visit: (address: number, length: number, counter: number) => void): void {
    for (let i = 0; i <= this.mask; i++) {
      const a = this.addresses[i]!;
      if (a !== EMPTY && a !== DELETED) visit(a, this.lengths[i]!, this.counters?.[i] ?? 0);
    }
  }

  private grow(): void {
    const old = {
      low: this.low,
      high: this.high,
      addresses: this.addresses,
      lengths: this.lengths,
      counters: this.counters,
    };
    const capacity = capacityFor(Math.max(this.size * 2, 16));
    this.low = new Uint32Array(capacity);
    this.high = new Uint32Array(capacity);
    this.addresses = new Uint32Array(capacity);
    this.lengths = new Uint16Array(capacity);
    this.counters = this.withCounters ? new Uint32Array(capacity) : undefined;
    this.mask = capacity - 1;
    this.filled = 0;
    this.size = 0;
    for (let i = 0; i < old.addresses.length; i++) {
      const a = old.addresses[i]!;
      if (a !== EMPTY && a !== DELETED) {
        this.set(old.low[i]!, old.high[i]!, a, old.lengths[i]!, old.counters?.[i] ?? 0);
      }
    }
  }
}

export interface Previous {
  address: number;
  length: number;
}

function capacityFor(expected: number): number {
  let capacity = 16;
  while (capacity * 3 < expected * 4 + 4) capacity *= 2;
  return capacity;
}
