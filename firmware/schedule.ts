import { Holiday, Schedule, TimeWindow } from './foundation/model';

/**
 * Schedules as per-weekday windows of local wall time in an IANA zone, with holidays.
 * Pure functions of (schedule, holidays, instant): the state is always computed from the
 * windows, never remembered from the last tick, so boot, a clock set and DST all agree.
 * Local time comes from Intl (the zone database built into Node), no extra package.
 */

interface LocalTime {
  /** "YYYY-MM-DD" */
  date: string;
  /** 0 = Sunday */
  weekday: number;
  /** Minutes since local midnight (with fractional seconds). */
  minute: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      weekday: 'short',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** True when the runtime knows the IANA zone. */
export function isTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch (err) {
    // Intl's answer to a zone it does not know; anything else is a bug to surface.
    if (err instanceof RangeError) return false;
    throw err;
  }
}

function parts(timeZone: string, at: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of formatter(timeZone).formatToParts(at)) out[p.type] = p.value;
  return out;
}

export function localTime(timeZone: string, at: number): LocalTime {
  const p = parts(timeZone, at);
  const ms = ((at % 1000) + 1000) % 1000;
  return {
    date: `${p.year}-${p.month}-${p.day}`,
    weekday: WEEKDAYS[p.weekday!]!,
    minute: Number(p.hour) * 60 + Number(p.minute) + (Number(p.second) * 1000 + ms) / 60000,
  };
}

/** UTC offset of the zone at an instant, in ms (local = utc + offset). */
export function zoneOffset(timeZone: string, at: number): number {
  const p = parts(timeZone, at);
  const asUtc = Date.UTC(+p.year!, +p.month! - 1, +p.day!, +p.hour!, +p.minute!, +p.second!);
  return asUtc - (at - (((at % 1000) + 1000) % 1000));
}

/** "HH:MM" -> minutes since midnight; "24:00" allowed as an end. NaN when malformed. */
export function parseHhmm(text: string): number {
  const m = /^([01][0-9]|2[0-4]):([0-5][0-9])$/.exec(text);
  if (!m) return NaN;
  const minutes = Number(m[1]) * 60 + Number(m[2]);
  return minutes > 24 * 60 ? NaN : minutes;
}

/** Describes what is wrong with a schedule, or undefined when it is usable. */
export function scheduleProblem(schedule: Schedule): string | undefined {
  if (!isTimeZone(schedule.timeZone))
    return `unknown time zone ${JSON.stringify(schedule.timeZone)}`;
  for (const w of [...schedule.windows, ...(schedule.holidayWindows ?? [])]) {
    const start = parseHhmm(w.start);
    const end = parseHhmm(w.end);
    if (Number.isNaN(start) || Number.isNaN(end) || start >= end || start >= 24 * 60) {
      return `window ${w.start}-${w.end} must be HH:MM with start < end`;
    }
    if (w.days.some((d) => !Number.isInteger(d) || d < 0 || d > 6)) {
      return `window days must be 0 (Sunday) .. 6`;
    }
  }
  return undefined;
}

function inWindows(windows: TimeWindow[], local: LocalTime): boolean {
  for (const w of windows) {
    if (!w.days.includes(local.weekday)) continue;
    if (local.minute >= parseHhmm(w.start) && local.minute < parseHhmm(w.end)) return true;
  }
  return false;
}

/**
 * Whether the schedule is open at `at`: a window on today's weekday covers the local wall
 * time. On a holiday only holidayWindows count. A malformed schedule is closed.
 */
export function isScheduleOpen(
  schedule: Schedule,
  holidays: readonly Holiday[],
  at: number,
): boolean {
  let local: LocalTime;
  try {
    local = localTime(schedule.timeZone, at);
  } catch {
    // The decision is total: a schedule whose zone cannot be resolved is closed, not a throw.
    return false;
  }
  const holiday = holidays.some((h) => h.date === local.date);
  return inWindows(holiday ? (schedule.holidayWindows ?? []) : schedule.windows, local);
}

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
/** How far ahead nextScheduleEdge looks; callers re-arm at the horizon when nothing changes. */
export const EDGE_HORIZON_MS = 8 * DAY;

/**
 * The first instant after `after` at which isScheduleOpen changes, or undefined when it does
 * not change within EDGE_HORIZON_MS. Candidates are every window boundary and midnight of
 * each local day under each UTC offset the zone uses around it, plus the zone's offset
 * transitions (a DST jump can open or close a window by itself); the state is constant
 * between consecutive candidates, so the first one that differs is the edge.
 */
export function nextScheduleEdge(
  schedule: Schedule,
  holidays: readonly Holiday[],
  after: number,
): number | undefined {
  if (scheduleProblem(schedule)) return undefined;
  const tz = schedule.timeZone;
  const boundaries = new Set<number>([0]);
  for (const w of [...schedule.windows, ...(schedule.holidayWindows ?? [])]) {
    boundaries.add(parseHhmm(w.start));
    boundaries.add(parseHhmm(w.end) % (24 * 60));
  }
  const candidates: number[] = [];
  const startLocal = localTime(tz, after);
  const [y, mo, d] = startLocal.date.split('-').map(Number) as [number, number, number];
  for (let day = -1; day <= 9; day++) {
    const midnightAsUtc = Date.UTC(y, mo - 1, d + day);
    const offsets = new Set<number>();
    let previous: { at: number; offset: number } | undefined;
    for (let k = -2; k <= 6; k++) {
      const at = midnightAsUtc + k * 6 * 3600_000;
      const offset = zoneOffset(tz, at);
      offsets.add(offset);
      if (previous && previous.offset !== offset) {
        candidates.push(transitionBetween(tz, previous.at, at));
      }
      previous = { at, offset };
    }
    for (const b of boundaries) {
      for (const offset of offsets) candidates.push(midnightAsUtc + b * MINUTE - offset);
    }
  }
  const open = isScheduleOpen(schedule, holidays, after);
  candidates.sort((a, b) => a - b);
  for (const c of candidates) {
    if (c <= after || c > after + EDGE_HORIZON_MS) continue;
    if (isScheduleOpen(schedule, holidays, c) !== open) return c;
  }
  return undefined;
}

/** The instant (whole minute) in (lo, hi] at which the zone's offset changes. */
function transitionBetween(tz: string, lo: number, hi: number): number {
  const offsetLo = zoneOffset(tz, lo);
  let a = Math.floor(lo / MINUTE);
  let b = Math.ceil(hi / MINUTE);
  while (b - a > 1) {
    const mid = Math.floor((a + b) / 2);
    if (zoneOffset(tz, mid * MINUTE) === offsetLo) a = mid;
    else b = mid;
  }
  return b * MINUTE;
}
