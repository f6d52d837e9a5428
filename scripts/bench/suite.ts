/**
 * A benchmark suite for `reader-sim bench NAME`. Figures are reported, never asserted:
 * each row carries its target so a regression is visible at a glance.
 */
export interface BenchRow {
  suite: string;
  metric: string;
  value: number;
  unit: string;
  /** Human-readable target, e.g. "< 1.5 s". */
  target?: string;
  /** Whether the target is met; undefined when the row has no target. */
  met?: boolean;
  /** Free-form note: the comparison baseline, the sample size. */
  note?: string;
}

export interface BenchOptions {
  /** Smaller workloads for a quick look (also used by the test that runs each suite once). */
  quick: boolean;
  /** Progress lines go here (stderr on a TTY, nowhere with --json). */
  progress: (line: string) => void;
}

export interface BenchSuite {
  name: string;
  summary: string;
  run(options: BenchOptions): Promise<BenchRow[]>;
}

export function formatTable(rows: BenchRow[]): string {
  const cells = rows.map((r) => [
    r.suite,
    r.metric,
    formatValue(r.value),
    r.unit,
    r.target ?? '',
    r.met === undefined ? '' : r.met ? 'ok' : 'MISS',
    r.note ?? '',
  ]);
  const header = ['suite', 'metric', 'value', 'unit', 'target', '', 'note'];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    c
      .map((v, i) => (i === 2 ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  const abs = Math.abs(v);
  return abs >= 100 ? v.toFixed(0) : abs >= 1 ? v.toFixed(2) : v.toPrecision(3);
}

/** p-th percentile (0..100) of samples, by nearest rank. */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = Float64Array.from(samples).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}
