// pure-rand 8 publishes its modules through package "exports" only, which this project's
// CommonJS module resolution does not read for types; these are the two entry points we use.
declare module 'pure-rand/generator/xoroshiro128plus' {
  export interface RandomGenerator {
    clone(): RandomGenerator;
    next(): number;
    getState(): readonly number[];
  }
  export function xoroshiro128plus(seed: number): RandomGenerator;
}

declare module 'pure-rand/distribution/uniformFloat64' {
  import type { RandomGenerator } from 'pure-rand/generator/xoroshiro128plus';
  /** Uniform in [0, 1), advancing rng. */
  export function uniformFloat64(rng: RandomGenerator): number;
}
