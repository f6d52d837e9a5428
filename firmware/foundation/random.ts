import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

/**
 * A seeded source of uniform numbers in [0, 1): the same seed gives the same sequence on
 * every run and every machine. Everything random in the simulator (torn writes, radio
 * noise, benchmark workloads) draws from one of these, so every result is reproducible.
 */
export function seededRandom(seed: number): () => number {
  const rng = xoroshiro128plus(seed);
  return () => uniformFloat64(rng);
}
