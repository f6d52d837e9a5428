/**
 * An open-addressing hash table from a key (bytes) to a record address on flash, in typed
 * arrays: a million credentials cost ~14 bytes a slot instead of a million JS objects.
 * A slot holds two independent 32-bit hashes of its key; where a caller passes a KeyMatch,
 * a slot whose hashes match counts only when the real key (read from the record) matches
 * too, so two keys whose hashes collide both keep their own slot.
 */
const EMPTY = 0;
const DELETED = 1; // never a record address: records are 4-byte aligned past a sector header
/**
 * Marks an address a snapshot holds in a sector collected since it was written: the bytes
 * there are gone (mount replays the copies collection made), so no key can be read there
 * and such an entry is known by its hashes alone until replay replaces or sweeps it.
 */
export const STALE = 2;

/**
 * The two 32-bit hashes that identify a key. Hashing fills one the caller owns, so a
 * lookup allocates nothing and no hash half lives in module state.
 */
/** Prefix argument for keys hashed without one (ids). */
export const NO_PREFIX = -1;

export class KeyHash {
  low = 0;
  high = 0;
  /**
   * Mask on both halves: all ones but in tests, which narrow the hashes to force collisions
   * between real keys (a store's tables and snapshots then use the narrow width throughout).
   */
  readonly mask: number;

  constructor(bits = 32) {
    this.mask = bits >= 32 ? 0xffffffff : (1 << bits) - 1;
  }
}

/**
 * Whether the key being looked for is the key of the record an entry points at (its
 * address and length): tables ask only when both hashes already match.
 */
export interface KeyMatch {
  matches(address: number, length: number): boolean;
}

/** Hashes bytes (optionally prefixed by one byte, e.g. a credential kind) into `out`. */
export function hashBytes(
  bytes: Uint8Array,
  start: number,
  end: number,
  prefix: number,
  out: KeyHash,
): KeyHash {
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
  out.low = (finish(a) & out.mask) >>> 0;
  out.high = (finish(b) & out.mask) >>> 0;
  return out;
}

/** Same hash as hashBytes over the string's UTF-8 bytes, without allocating for ASCII. */
export function hashString(s: string, prefix: number, out: KeyHash): KeyHash {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  if (prefix >= 0) {
    a = Math.imul(a ^ prefix, 0x01000193);
    b = Math.imul(b ^ prefix, 0x5bd1e995);
    b ^= b >>> 15;
  }
  // One pass: an ASCII char is its UTF-8 byte; the first other char starts over on bytes.
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) {
      const bytes = Buffer.from(s, 'utf8');
      return hashBytes(bytes, 0, bytes.length, prefix, out);
    }
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  out.low = (finish(a) & out.mask) >>> 0;
  out.high = (finish(b) & out.mask) >>> 0;
  return out;
}

function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Slots per page of a table paged in from a snapshot: 4 KiB of slots, one OS page. */
export const PAGE_SLOTS = 256;
const PAGE_SHIFT = 8;
/** Words of a page's occupancy bitmap in a snapshot (a bit per slot). */
export const PAGE_BITMAP_WORDS = PAGE_SLOTS / 32;

/**
 * Where the slots of a table loaded from a snapshot come from: the snapshot on flash,
 * a page at a time, when a probe first reaches the page (checkpoint.ts, format 3).
 */
export interface TablePages {
  /** Writes the page's occupied slots (and counters) into the arrays, zeros elsewhere. */
  read(page: number, slots: Uint32Array, counters: Uint32Array | undefined): void;
}

/**
 * The entries of a paged table whose records were in sectors collected since its snapshot
 * (invariant 12): `collected` tells them by address, `perPage` counts them per page.
 */
export interface StaleEntries {
  collected(address: number): boolean;
  perPage: Uint32Array;
  total: number;
}

/**
 * Slots are interleaved (low, high, address, length) in one Uint32Array so a probe touches
 * one cache line: a million random inserts at mount are memory-bound.
 *
 * A table loaded from a snapshot is paged: its arrays are allocated (untouched memory costs
 * nothing) and each page of 256 slots is read from flash when a probe first reaches it, so
 * mount does not pay for a million slots it may never need. Whole-table operations
 * (export, forEach, growth) page everything in first.
 */
export class KeyTable {
  private slots: Uint32Array;
  private counters: Uint32Array | undefined;
  /** Slots; any count (not a power of two), so a table is sized close to its keys. */
  private cap: number;
  /** A key's home slot is floor(low * scale): the high bits of the hash pick it. */
  private scale: number;
  private filled = 0; // live + deleted slots
  /** Entries markStale marked (some may have been replaced since): sweepStale's work. */
  private staleMarked = 0;
  /** Paged tables: 1 for each page not read yet (undefined once all are in). */
  private pending: Uint8Array | undefined;
  private pagesLeft = 0;
  /** pageInSome() has read (or skipped) every page before this one. */
  private cursor = 0;
  private source: TablePages | undefined;
  private stale: StaleEntries | undefined;
  /** sweepStale ran: a stale entry paged in later is dropped as it comes (size counts it gone). */
  private staleSwept = false;
  size = 0;

  constructor(
    expected = 16,
    private readonly withCounters = false,
  ) {
    const capacity = capacityFor(expected);
    this.slots = new Uint32Array(capacity * 4);
    this.counters = withCounters ? new Uint32Array(capacity) : undefined;
    this.cap = capacity;
    this.scale = capacity / 4294967296;
  }

  /**
   * A table as a snapshot holds it (its capacity, live and filled slot counts), whose pages
   * come from `source` at first use. `stale`: entries in sectors collected since.
   */
  static paged(
    capacity: number,
    size: number,
    filled: number,
    withCounters: boolean,
    source: TablePages,
    stale?: StaleEntries,
  ): KeyTable {
    const table = new KeyTable(0, withCounters);
    table.slots = new Uint32Array(capacity * 4);
    table.counters = withCounters ? new Uint32Array(capacity) : undefined;
    table.cap = capacity;
    table.scale = capacity / 4294967296;
    table.size = size;
    table.filled = filled;
    table.pagesLeft = Math.ceil(capacity / PAGE_SLOTS);
    table.pending = new Uint8Array(table.pagesLeft).fill(1);
    table.source = source;
    if (stale && stale.total > 0) {
      table.stale = stale;
      table.staleMarked = stale.total;
    }
    if (table.pagesLeft === 0) table.pending = undefined;
    return table;
  }

  /** Pages not read from the snapshot yet (0 for a table built in RAM). */
  get pagesPending(): number {
    return this.pending ? this.pagesLeft : 0;
  }

  /** Reads every page not read yet: the table no longer needs its snapshot. */
  pageInAll(): void {
    const pending = this.pending;
    if (!pending) return;
    for (let p = 0; p < pending.length; p++) if (pending[p]) this.pageIn(p);
  }

  /** The slot after i in probe order, its page read if need be. */
  private next(i: number): number {
    const n = i + 1 === this.cap ? 0 : i + 1;
    if (this.pending && (n & (PAGE_SLOTS - 1)) === 0) this.ensure(n);
    return n;
  }

  /** Reads up to `max` pages not read yet, in order; returns how many it read. */
  pageInSome(max: number): number {
    let read = 0;
    for (let p = this.cursor; this.pending && p < this.pending.length && read < max; p++) {
      if (this.pending[p]) {
        this.pageIn(p);
        read++;
      }
      this.cursor = p + 1;
    }
    return read;
  }

  /** Reads the page holding slot i if it was not read yet. */
  private ensure(i: number): void {
    const page = i >>> PAGE_SHIFT;
    if (this.pending![page]) this.pageIn(page);
  }

  private pageIn(page: number): void {
    this.source!.read(page, this.slots, this.counters);
    this.pending![page] = 0;
    const stale = this.stale;
    if (stale && stale.perPage[page]! > 0) {
      const slots = this.slots;
      const end = Math.min(this.cap, (page + 1) * PAGE_SLOTS);
      for (let i = page * PAGE_SLOTS; i < end; i++) {
        const a = slots[i * 4 + 2]!;
        if (a === EMPTY || a === DELETED || !stale.collected(a)) continue;
        // Before the sweep: marked, for the replay to match by hashes; after: already gone.
        slots[i * 4 + 2] = this.staleSwept ? DELETED : (a | STALE) >>> 0;
      }
    }
    if (--this.pagesLeft === 0) {
      this.pending = undefined;
      this.source = undefined;
      this.stale = undefined;
    }
  }

  /** Slot of the key, or -1 (with `match`, only a slot whose record holds the key). */
  find(low: number, high: number, match?: KeyMatch): number {
    const slots = this.slots;
    let i = Math.floor(low * this.scale);
    if (this.pending) this.ensure(i);
    for (;;) {
      const a = slots[i * 4 + 2]!;
      if (a === EMPTY) return -1;
      if (
        a !== DELETED &&
        slots[i * 4] === low &&
        slots[i * 4 + 1] === high &&
        (!match || match.matches(a, slots[i * 4 + 3]!))
      ) {
        return i;
      }
      i = this.next(i);
    }
  }

  get capacity(): number {
    return this.cap;
  }

  address(slot: number): number {
    return this.slots[slot * 4 + 2]!;
  }
  length(slot: number): number {
    return this.slots[slot * 4 + 3]!;
  }
  counter(slot: number): number {
    return this.counters?.[slot] ?? 0;
  }
  relocate(slot: number, address: number): void {
    this.slots[slot * 4 + 2] = address;
  }

  /** Inserts or replaces; returns the replaced entry's address and length. */
  set(
    low: number,
    high: number,
    address: number,
    length: number,
    counter = 0,
    match?: KeyMatch,
  ): Previous | undefined {
    const slots = this.slots;
    let i = Math.floor(low * this.scale);
    if (this.pending) this.ensure(i);
    let free = -1;
    for (;;) {
      const a = slots[i * 4 + 2]!;
      if (a === EMPTY) break;
      if (a === DELETED) {
        if (free < 0) free = i;
      } else if (
        slots[i * 4] === low &&
        slots[i * 4 + 1] === high &&
        (!match || match.matches(a, slots[i * 4 + 3]!))
      ) {
        const previous = { address: a, length: slots[i * 4 + 3]! };
        slots[i * 4 + 2] = address;
        slots[i * 4 + 3] = length;
        if (this.counters) this.counters[i] = counter;
        return previous;
      }
      i = this.next(i);
    }
    if (free < 0) {
      if ((this.filled + 1) * 10 > this.cap * 7) {
        this.grow();
        return this.set(low, high, address, length, counter, match);
      }
      free = i;
      this.filled++;
    }
    this.place(free, low, high, address, length, counter);
    this.size++;
    return undefined;
  }

  /**
   * Inserts a key that is not in the table; returns its slot, which stays put: the table
   * must have been sized for all its keys (it never grows here).
   */
  insert(low: number, high: number, address: number, length = 0): number {
    if ((this.filled + 1) * 10 > this.cap * 7) throw new Error('key table sized too small');
    const slots = this.slots;
    let i = Math.floor(low * this.scale);
    if (this.pending) this.ensure(i);
    while (slots[i * 4 + 2] !== EMPTY) i = this.next(i);
    this.filled++;
    this.size++;
    this.place(i, low, high, address, length, 0);
    return i;
  }

  /** Points a slot at its record (a table built before its records were written). */
  fill(slot: number, address: number, length: number): void {
    this.slots[slot * 4 + 2] = address;
    this.slots[slot * 4 + 3] = length;
  }

  delete(low: number, high: number, match?: KeyMatch): Previous | undefined {
    const slot = this.find(low, high, match);
    if (slot < 0) return undefined;
    const previous = { address: this.slots[slot * 4 + 2]!, length: this.slots[slot * 4 + 3]! };
    this.remove(slot);
    return previous;
  }

  /** Empties a slot found by find(). */
  remove(slot: number): void {
    this.slots[slot * 4 + 2] = DELETED;
    this.size--;
  }

  /** Adds a key known to be absent (no comparison), growing the table if need be. */
  add(low: number, high: number, address: number, length: number, counter = 0): void {
    if ((this.filled + 1) * 10 > this.cap * 7) this.grow();
    const slots = this.slots;
    let i = Math.floor(low * this.scale);
    if (this.pending) this.ensure(i);
    while (slots[i * 4 + 2] !== EMPTY && slots[i * 4 + 2] !== DELETED) {
      i = this.next(i);
    }
    if (slots[i * 4 + 2] === EMPTY) this.filled++;
    this.place(i, low, high, address, length, counter);
    this.size++;
  }

  get hasCounters(): boolean {
    return this.withCounters;
  }

  /** Writes the live entries in slot order, (low, high, address, length[, counter]) each. */
  exportEntries(out: Uint32Array, at: number): number {
    this.pageInAll();
    const slots = this.slots;
    for (let i = 0; i < this.cap; i++) {
      const a = slots[i * 4 + 2]!;
      if (a === EMPTY || a === DELETED) continue;
      out[at] = slots[i * 4]!;
      out[at + 1] = slots[i * 4 + 1]!;
      out[at + 2] = a;
      out[at + 3] = slots[i * 4 + 3]!;
      at += 4;
      if (this.counters) out[at++] = this.counters[i]!;
    }
    return at;
  }

  /**
   * The table's pages as a snapshot's format 3 holds them: per page its words (an 8-word
   * bitmap of its occupied slots, deleted ones too since they keep probes going, then those
   * slots) and its live slots. Every page is read in first.
   */
  pageLayout(): { pageWords: Uint32Array; pageLive: Uint32Array; occupied: number } {
    this.pageInAll();
    const pages = Math.ceil(this.cap / PAGE_SLOTS);
    const pageWords = new Uint32Array(pages);
    const pageLive = new Uint32Array(pages);
    const step = this.withCounters ? 5 : 4;
    let occupied = 0;
    for (let page = 0; page < pages; page++) {
      const end = Math.min(this.cap, (page + 1) * PAGE_SLOTS);
      let n = 0;
      let live = 0;
      for (let i = page * PAGE_SLOTS; i < end; i++) {
        const a = this.slots[i * 4 + 2]!;
        if (a === EMPTY) continue;
        n++;
        if (a !== DELETED) live++;
      }
      pageWords[page] = PAGE_BITMAP_WORDS + n * step;
      pageLive[page] = live;
      occupied += n;
    }
    return { pageWords, pageLive, occupied };
  }

  /** Writes the pages pageLayout() describes, in order, from out[at]; returns the end. */
  exportPages(out: Uint32Array, at: number): number {
    this.pageInAll();
    const slots = this.slots;
    const counters = this.counters;
    for (let first = 0; first < this.cap; first += PAGE_SLOTS) {
      const bitmap = at;
      at += PAGE_BITMAP_WORDS;
      out.fill(0, bitmap, at);
      const end = Math.min(this.cap, first + PAGE_SLOTS);
      for (let i = first; i < end; i++) {
        const a = slots[i * 4 + 2]!;
        if (a === EMPTY) continue;
        const bit = i - first;
        out[bitmap + (bit >>> 5)] |= 1 << (bit & 31);
        out[at] = slots[i * 4]!;
        out[at + 1] = slots[i * 4 + 1]!;
        out[at + 2] = a;
        out[at + 3] = slots[i * 4 + 3]!;
        at += 4;
        if (counters) out[at++] = counters[i]!;
      }
    }
    return at;
  }

  /**
   * Adds `count` exported entries from words[at] to a table sized for all of them (a
   * snapshot streams its entries in through a window, a chunk at a time).
   */
  importMore(words: Uint32Array, at: number, count: number): void {
    const step = this.withCounters ? 5 : 4;
    const slots = this.slots;
    const capacity = this.cap;
    const scale = this.scale;
    for (let k = 0; k < count; k++, at += step) {
      const low = words[at]!;
      const address = words[at + 2]!;
      if (address === EMPTY || address === DELETED) continue;
      // Keys of a table are unique: the first empty slot from home is the key's slot.
      let i = Math.floor(low * scale);
      while (slots[i * 4 + 2] !== EMPTY) i = i + 1 === capacity ? 0 : i + 1;
      slots[i * 4] = low;
      slots[i * 4 + 1] = words[at + 1]!;
      slots[i * 4 + 2] = address;
      slots[i * 4 + 3] = words[at + 3]!;
      if (this.counters) this.counters[i] = words[at + 4]!;
      this.filled++;
      this.size++;
    }
  }

  /** Marks the entries whose records `collected` says are gone (address | STALE). */
  markStale(collected: (address: number) => boolean): void {
    this.pageInAll();
    const slots = this.slots;
    for (let i = 0; i < this.cap; i++) {
      const a = slots[i * 4 + 2]!;
      if (a !== EMPTY && a !== DELETED && collected(a)) {
        slots[i * 4 + 2] = (a | STALE) >>> 0;
        this.staleMarked++;
      }
    }
  }

  /** Removes the entries still marked STALE, handing each to `gone`. */
  sweepStale(gone: (address: number, length: number) => void): void {
    // Nothing was marked: no need to visit a million slots.
    if (this.staleMarked === 0) return;
    this.staleMarked = 0;
    const slots = this.slots;
    const pending = this.pending;
    for (let i = 0; i < this.cap; i++) {
      // A page not read yet: the replay never reached it, so its stale entries are all
      // still there; they leave the count now and the page as it comes in. Their sectors
      // are gone, so there are no live bytes of theirs to retire.
      if (pending && pending[i >>> PAGE_SHIFT] && (i & (PAGE_SLOTS - 1)) === 0) {
        this.size -= this.stale?.perPage[i >>> PAGE_SHIFT] ?? 0;
        i += PAGE_SLOTS - 1;
        continue;
      }
      const a = slots[i * 4 + 2]!;
      if (a === EMPTY || a === DELETED || !(a & STALE)) continue;
      gone(a, slots[i * 4 + 3]!);
      this.remove(i);
    }
    this.staleSwept = true;
  }

  forEach(visit: (address: number, length: number, counter: number) => void): void {
    this.pageInAll();
    const slots = this.slots;
    for (let i = 0; i < this.cap; i++) {
      const a = slots[i * 4 + 2]!;
      if (a !== EMPTY && a !== DELETED) visit(a, slots[i * 4 + 3]!, this.counters?.[i] ?? 0);
    }
  }

  private place(
    i: number,
    low: number,
    high: number,
    address: number,
    length: number,
    counter: number,
  ): void {
    const slots = this.slots;
    slots[i * 4] = low;
    slots[i * 4 + 1] = high;
    slots[i * 4 + 2] = address;
    slots[i * 4 + 3] = length;
    if (this.counters) this.counters[i] = counter;
  }

  private grow(): void {
    this.pageInAll();
    const old = this.slots;
    const oldCounters = this.counters;
    const capacity = capacityFor(Math.max(this.size * 2, 16));
    this.slots = new Uint32Array(capacity * 4);
    this.counters = this.withCounters ? new Uint32Array(capacity) : undefined;
    this.cap = capacity;
    this.scale = capacity / 4294967296;
    this.filled = this.size;
    // Keys are unique: re-insert into the first empty slot without comparing.
    for (let j = 0; j < old.length / 4; j++) {
      const a = old[j * 4 + 2]!;
      if (a === EMPTY || a === DELETED) continue;
      let i = Math.floor(old[j * 4]! * this.scale);
      while (this.slots[i * 4 + 2] !== EMPTY) i = i + 1 === this.cap ? 0 : i + 1;
      this.place(i, old[j * 4]!, old[j * 4 + 1]!, a, old[j * 4 + 3]!, oldCounters?.[j] ?? 0);
    }
  }
}

export interface Previous {
  address: number;
  length: number;
}

/** Slots for `expected` keys at a load of at most 0.7 (linear probes stay short). */
function capacityFor(expected: number): number {
  return Math.max(16, Math.ceil(((expected + 1) * 10) / 7));
}

/**
 * Collects the entries of a table built in one go (a new database generation) and builds
 * it sorted by home slot, so the inserts walk memory in order instead of at random: at a
 * million credentials that is most of the mount time saved.
 */
export class KeyTableBuilder {
  private entries: Uint32Array;
  private counters: Uint32Array | undefined;
  count = 0;

  constructor(
    expected = 16,
    private readonly withCounters = false,
  ) {
    this.entries = new Uint32Array(Math.max(16, expected) * 4);
    this.counters = withCounters ? new Uint32Array(Math.max(16, expected)) : undefined;
  }

  add(low: number, high: number, address: number, length: number, counter = 0): void {
    if ((this.count + 1) * 4 > this.entries.length) {
      const bigger = new Uint32Array(this.entries.length * 2);
      bigger.set(this.entries);
      this.entries = bigger;
      if (this.counters) {
        const c = new Uint32Array(this.counters.length * 2);
        c.set(this.counters);
        this.counters = c;
      }
    }
    const at = this.count * 4;
    this.entries[at] = low;
    this.entries[at + 1] = high;
    this.entries[at + 2] = address;
    this.entries[at + 3] = length;
    if (this.counters) this.counters[this.count] = counter;
    this.count++;
  }

  /**
   * The table; for a key added twice the later entry wins (the sort is stable). `sameKey`
   * tells whether two records (address, length each) hold one key: entries whose hashes
   * collide but whose keys differ keep a slot each.
   */
  build(sameKey?: (a: number, aLength: number, b: number, bLength: number) => boolean): KeyTable {
    const table = new KeyTable(this.count, this.withCounters);
    const capacity = table.capacity;
    const entry = { address: 0, length: 0 };
    const match: KeyMatch | undefined = sameKey && {
      matches: (address, length) => sameKey(entry.address, entry.length, address, length),
    };
    const e = this.counters ? this.entries : sortByHome(this.entries, this.count, capacity);
    // Counter tables are small (used credentials): they are inserted as they come.
    for (let j = 0; j < this.count; j++) {
      entry.address = e[j * 4 + 2]!;
      entry.length = e[j * 4 + 3]!;
      table.set(e[j * 4]!, e[j * 4 + 1]!, entry.address, entry.length, this.counters?.[j], match);
    }
    this.entries = new Uint32Array(0);
    return table;
  }
}

/**
 * Stable LSD radix sort of the entries (4 words each) by home slot (floor(low * scale)), 11 bits a
 * pass, moving whole entries so every pass reads and writes memory in order.
 */
function sortByHome(entries: Uint32Array, count: number, capacity: number): Uint32Array {
  const scale = capacity / 4294967296;
  let from: Uint32Array = entries;
  let to: Uint32Array = new Uint32Array(count * 4);
  const bits = 32 - Math.clz32(capacity - 1);
  const counts = new Uint32Array(2048);
  for (let shift = 0; shift < bits; shift += 11) {
    counts.fill(0);
    for (let k = 0; k < count; k++) {
      counts[(Math.floor(from[k * 4]! * scale) >>> shift) & 2047]!++;
    }
    let sum = 0;
    for (let b = 0; b < 2048; b++) {
      const c = counts[b]!;
      counts[b] = sum;
      sum += c;
    }
    for (let k = 0; k < count; k++) {
      const low = from[k * 4]!;
      const d = counts[(Math.floor(low * scale) >>> shift) & 2047]!++ * 4;
      to[d] = low;
      to[d + 1] = from[k * 4 + 1]!;
      to[d + 2] = from[k * 4 + 2]!;
      to[d + 3] = from[k * 4 + 3]!;
    }
    [from, to] = [to, from];
  }
  return from;
}
