/**
 * One place for the parameters of every fuzz and property test that feeds the reader
 * untrusted input, so CI runs a bounded number of cases and a long run is one variable away.
 *
 *   FUZZ_RUNS=20000  long mode: every fuzz property runs this many cases (a costly one, that
 *                    drives a real BLE link or an HTTP round trip per case, a fraction of it).
 *   FUZZ_SEED=123    the seed of every property (default: each test's own fixed seed), so a
 *                    failure reproduces: fast-check prints `seed` and `path` in the failure;
 *   FUZZ_PATH=0:1:3  replays that one counterexample (with -t naming the one failing test).
 *
 * Without these variables every run gives the same cases: CI is deterministic.
 */

/** The seed when neither the test nor FUZZ_SEED names one. */
export const DEFAULT_FUZZ_SEED = 20261124;

function envInteger(name: string): number | undefined {
  const text = process.env[name];
  if (text === undefined || text.trim() === '') return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value)) {
    throw new RangeError(`${name} must be an integer, got ${JSON.stringify(text)}`);
  }
  return value;
}

/** FUZZ_RUNS when set (long mode), else undefined. */
export function longRuns(): number | undefined {
  const runs = envInteger('FUZZ_RUNS');
  if (runs !== undefined && runs < 1) throw new RangeError(`FUZZ_RUNS must be >= 1, got ${runs}`);
  return runs;
}

export function isLongMode(): boolean {
  return longRuns() !== undefined;
}

/**
 * How many cases a property runs: `ciDefault` in CI; in long mode FUZZ_RUNS divided by
 * `cost` (how many times dearer one case is than a parser call: a BLE round trip is ~100),
 * never fewer than the CI default.
 */
export function fuzzRuns(ciDefault: number, cost = 1): number {
  const long = longRuns();
  if (long === undefined) return ciDefault;
  return Math.max(ciDefault, Math.ceil(long / cost));
}

/** FUZZ_SEED when set, else the test's own seed (or the default). */
export function fuzzSeed(testDefault = DEFAULT_FUZZ_SEED): number {
  return envInteger('FUZZ_SEED') ?? testDefault;
}

/** fast-check parameters: `fc.assert(property, fuzzParams(60, { seed: 42 }))`. */
export function fuzzParams(
  ciRuns: number,
  options: { seed?: number; cost?: number } = {},
): { numRuns: number; seed: number; path?: string } {
  const path = process.env.FUZZ_PATH;
  return {
    numRuns: fuzzRuns(ciRuns, options.cost),
    seed: fuzzSeed(options.seed),
    ...(path ? { path } : {}),
  };
}

/** A jest timeout: `ciMs` in CI, hours in long mode. */
export function fuzzTimeout(ciMs: number): number {
  return isLongMode() ? Math.max(ciMs, 6 * 3600_000) : ciMs;
}
