/**
 * Torn-write models: what a NOR part leaves behind when power fails in the middle of a
 * program or erase. Each is a pure function of (old bytes, intended bytes, seeded random).
 */
export const TORN_WRITE_MODELS = [
  'none', // the operation never started
  'prefix', // the first k bytes made it
  'bits', // a random subset of the bit changes made it
  'all-but-one', // every bit change but one made it
  'interrupted-erase', // erase only: some pages erased, the rest untouched
] as const;
export type TornWriteModel = (typeof TORN_WRITE_MODELS)[number];

export interface PowerCut {
  /** Index (0-based) of the program/erase operation that power fails in. */
  at: number;
  model: TornWriteModel;
  /** Seed for the random parts of the model (default: the operation index). */
  seed?: number;
}

export type FlashOperationKind = 'program' | 'erase';

/** Whether a model describes something that can happen to this kind of operation. */
export function modelApplies(model: TornWriteModel, kind: FlashOperationKind): boolean {
  return model !== 'interrupted-erase' || kind === 'erase';
}

/**
 * The bytes left in the cells after a cut: `target` is what the completed operation would
 * have left (old & data for a program, 0xFF for an erase).
 */
export function tear(
  model: TornWriteModel,
  old: Uint8Array,
  target: Uint8Array,
  pageSize: number,
  random: () => number,
): Uint8Array {
  const out = Uint8Array.from(old);
  switch (model) {
    case 'none':
      return out;
    case 'prefix': {
      const k = Math.floor(random() * target.length);
      out.set(target.subarray(0, k));
      return out;
    }
    case 'bits':
      for (let i = 0; i < out.length; i++) {
        const changing = old[i]! ^ target[i]!;
        if (changing) out[i] = old[i]! ^ (changing & Math.floor(random() * 256));
      }
      return out;
    case 'all-but-one': {
      out.set(target);
      const changed: number[] = [];
      for (let i = 0; i < out.length; i++) if (old[i] !== target[i]) changed.push(i);
      if (changed.length === 0) return out;
      const i = changed[Math.floor(random() * changed.length)]!;
      const bits = old[i]! ^ target[i]!;
      const bitList = [0, 1, 2, 3, 4, 5, 6, 7].filter((b) => bits & (1 << b));
      out[i] = out[i]! ^ (1 << bitList[Math.floor(random() * bitList.length)]!);
      return out;
    }
    case 'interrupted-erase':
      for (let p = 0; p < out.length; p += pageSize) {
        if (random() < 0.5) out.set(target.subarray(p, p + pageSize), p);
      }
      return out;
  }
}
