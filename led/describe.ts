import { SITUATIONS, type BuzzerPattern, type LedPattern, type Situation } from './model';

/** The defaults table as markdown, generated from SITUATIONS (led/README.md embeds it). */
export function situationTable(): string {
  const rows = (Object.keys(SITUATIONS) as Situation[]).map((situation) => {
    const entry = SITUATIONS[situation];
    const layer = situation === 'alarm' ? 'alarm' : entry.temporary ? 'temporary' : 'permanent';
    const ends = !entry.temporary
      ? 'until changed'
      : entry.ledCount !== undefined
        ? `after ${entry.ledCount} flashes`
        : `after ${entry.durationMs} ms (or the duration given)`;
    return `| ${situation} | ${layer} | ${led(entry.led)} | ${ends} | ${buzzer(entry.buzzer)} |`;
  });
  return ['| situation | layer | LED | ends | buzzer |', '|---|---|---|---|---|', ...rows].join(
    '\n',
  );
}

function led(pattern: LedPattern): string {
  if (pattern.offMs <= 0) return `${pattern.onColor} steady`;
  return `${pattern.onColor} ${pattern.onMs} ms / ${pattern.offColor} ${pattern.offMs} ms`;
}

function buzzer(pattern: BuzzerPattern | undefined): string {
  if (!pattern) return '-';
  if (pattern.count === 0 && pattern.offMs <= 0) return 'continuous';
  const beeps = pattern.count === 0 ? 'repeating' : `${pattern.count} x`;
  return `${beeps} ${pattern.onMs} ms${pattern.offMs > 0 ? ` every ${pattern.onMs + pattern.offMs} ms` : ''}`;
}
