/**
 * A benchmark suite for `reader-sim bench NAME`. Figures are reported, never asserted:
 * each row carries its target so a regression is visible at a glance.
 */
export interface BenchRow {
  suite: string;
  metric: string;
  value: number;
  unit: string;
  /** Human-readable target, e.g. "< 1.5 s"; several bounds are joined with ", ". */
  target?: string;
  /** Whether every bound of the target is met; undefined when the row has no target. */
  met?: boolean;
  /**
   * Share of the budget used by the tightest bound: value/limit for an upper bound,
   * limit/value for a lower one. Below 1 is headroom, above 1 a miss by that factor.
   */
  ratio?: number;
  /** Free-form note: the comparison baseline, the sample size. */
  note?: string;
}

/** One bound a figure must keep: `value op limit`, limit in the row's unit. */
export interface Bound {
  op: '<' | '<=' | '>' | '>=';
  limit: number;
  /** Names a measured baseline instead of printing the number ("SQLite"). */
  label?: string;
}

export const below = (limit: number, label?: string): Bound => ({ op: '<', limit, label });
export const atMost = (limit: number): Bound => ({ op: '<=', limit });
export const above = (limit: number, label?: string): Bound => ({ op: '>', limit, label });

/** What a row needs for one or more bounds: the target text, whether it is met, the ratio. */
export function judged(
  value: number,
  unit: string,
  bounds: Bound[],
): Pick<BenchRow, 'target' | 'met' | 'ratio'> {
  if (bounds.length === 0) return {};
  const holds = (b: Bound) =>
    b.op === '<'
      ? value < b.limit
      : b.op === '<='
        ? value <= b.limit
        : b.op === '>'
          ? value > b.limit
          : value >= b.limit;
  const used = (b: Bound) => (b.op.startsWith('<') ? value / b.limit : b.limit / value);
  return {
    target: bounds
      .map((b) => `${b.op} ${b.label ?? `${formatValue(b.limit)} ${unit}`}`.trimEnd())
      .join(', '),
    met: bounds.every(holds),
    ratio: Math.max(...bounds.map(used)),
  };
}

/** A suite's row maker: `row(metric, value, unit, {bounds, note})`. */
export function rowsFor(suite: string) {
  return (
    metric: string,
    value: number,
    unit: string,
    extra: { bounds?: Bound[]; note?: string } = {},
  ): BenchRow => ({
    suite,
    metric,
    value,
    unit,
    ...judged(value, unit, extra.bounds ?? []),
    ...(extra.note !== undefined ? { note: extra.note } : {}),
  });
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

/** The table `reader-sim bench` prints, then one line counting targets met and missed. */
export function formatTable(rows: BenchRow[]): string {
  const cells = rows.map((r) => [
    r.suite,
    r.metric,
    formatValue(r.value),
    r.unit,
    r.target ?? '',
    r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}x`,
    r.met === undefined ? '' : r.met ? 'ok' : 'MISS',
    r.note ?? '',
  ]);
  const header = ['suite', 'metric', 'value', 'unit', 'target', 'of target', '', 'note'];
  const right = new Set([2, 5]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    c
      .map((v, i) => (right.has(i) ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const targeted = rows.filter((r) => r.met !== undefined);
  const missed = targeted.filter((r) => !r.met);
  const summary =
    `${rows.length} figures, ${targeted.length} with a target: ` +
    `${targeted.length - missed.length} met, ${missed.length} missed` +
    (missed.length ? ` (${missed.map((r) => `${r.suite}: ${r.metric}`).join('; ')})` : '');
  return [
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...cells.map(line),
    '',
    summary,
  ].join('\n');
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
