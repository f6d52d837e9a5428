import fs from 'node:fs';
import path from 'node:path';
import { checkContent } from '../api/database-checks';
import type { DatabaseContent } from '../foundation/model';

/**
 * A site: the doors of a building, each with its reader, as `reader-sim start --site FILE`
 * reads them. Positions are metres on the virtual air (a phone hears the near readers
 * louder); every reader keeps its own flash image under DATA/readers/ID/.
 */
export interface SiteReader {
  /** The reader's id: its folder under DATA/readers/, its API path, its BLE name. */
  id: string;
  /** What people call the door ("Front door"). */
  name: string;
  /** The access point this reader guards (its config's accessPointId). */
  accessPoint: string;
  position: { x: number; y: number };
  /** Pushed at the first boot only (an empty database), the way a host's full push is. */
  seed?: DatabaseContent;
}

export interface Site {
  name: string;
  readers: SiteReader[];
}

/** A site file that cannot be run; the message names the reader and the field. */
export class SiteError extends Error {
  override readonly name = 'SiteError';
}

/** Ids are folder names and URL segments: nothing a path or a URL would read differently. */
const READER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** Far beyond any building, near enough that distances stay exact in doubles. */
const MAX_COORDINATE_M = 100_000;
/** Two readers closer than this are one spot: a phone could not tell them apart. */
const MIN_SPACING_M = 0.5;
/** One process serves this many readers at most (`reader-sim bench fleet` sizes it). */
export const MAX_SITE_READERS = 5000;
/** Readers of `--readers N` stand in a row this far apart. */
export const GENERATED_SPACING_M = 10;

/** Reads and checks a site file; a SiteError says exactly what is wrong, nothing has started. */
export function loadSiteFile(file: string): Site {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new SiteError(
      `site file ${file}: cannot read it (${(err as NodeJS.ErrnoException).code})`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new SiteError(`site file ${file} is not JSON: ${(err as Error).message}`);
  }
  return parseSite(json, file, path.dirname(file));
}

/**
 * Checks a site document. `baseDir` resolves a reader's seed given as a file name.
 * Refused: unknown fields, duplicate ids, ids that are not folder-safe, positions that are
 * not finite numbers within range, two readers on one spot, a seed the push checks refuse.
 */
export function parseSite(json: unknown, source = 'site', baseDir = '.'): Site {
  const fail = (where: string, message: string): never => {
    throw new SiteError(`${source}: ${where} ${message}`);
  };
  if (!isObject(json)) return fail('', 'must be an object with "readers"');
  onlyKeys(json, ['name', 'readers'], '', fail);
  if (json.name !== undefined && (typeof json.name !== 'string' || json.name.length > 128)) {
    fail('name', 'must be a string of at most 128 characters');
  }
  if (!Array.isArray(json.readers) || json.readers.length === 0) {
    return fail('readers', 'must be a non-empty array');
  }
  if (json.readers.length > MAX_SITE_READERS) {
    fail(
      'readers',
      `has ${json.readers.length} readers; one process serves ${MAX_SITE_READERS} at most`,
    );
  }
  const seen = new Map<string, number>();
  const readers = (json.readers as unknown[]).map((entry, i): SiteReader => {
    const at = `readers[${i}]`;
    if (!isObject(entry)) return fail(at, 'must be an object');
    onlyKeys(entry, ['id', 'name', 'profile', 'accessPoint', 'position', 'seed'], at, fail);
    const { id } = entry;
    if (typeof id !== 'string' || !READER_ID.test(id)) {
      return fail(
        `${at}.id`,
        'must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit',
      );
    }
    const lower = id.toLowerCase();
    // Case-insensitive: two ids that differ in case share a folder on some file systems.
    if (seen.has(lower))
      fail(`${at}.id`, `"${id}" is already the id of readers[${seen.get(lower)}]`);
    seen.set(lower, i);
    if (entry.profile !== undefined && entry.profile !== 'sim') {
      fail(
        `${at}.profile`,
        `"${String(entry.profile)}" cannot run in a site (only "sim": one process has one set of GPIO lines)`,
      );
    }
    const name = entry.name ?? id;
    if (typeof name !== 'string' || name.length === 0 || name.length > 128) {
      fail(`${at}.name`, 'must be a string of 1-128 characters');
    }
    const accessPoint = entry.accessPoint ?? id;
    if (typeof accessPoint !== 'string' || !/^[\x21-\x7e]{1,128}$/.test(accessPoint)) {
      fail(`${at}.accessPoint`, 'must be 1-128 printable ASCII characters');
    }
    const position = parsePosition(entry.position, `${at}.position`, fail);
    const seed =
      entry.seed === undefined ? undefined : parseSeed(entry.seed, `${at}.seed`, baseDir, fail);
    return {
      id,
      name: name as string,
      accessPoint: accessPoint as string,
      position,
      ...(seed ? { seed } : {}),
    };
  });
  for (let i = 0; i < readers.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = readers[j]!.position;
      const b = readers[i]!.position;
      if (Math.hypot(a.x - b.x, a.y - b.y) < MIN_SPACING_M) {
        fail(
          `readers[${i}].position`,
          `is within ${MIN_SPACING_M} m of readers[${j}] ("${readers[j]!.id}")`,
        );
      }
    }
  }
  return { name: (json.name as string | undefined) ?? 'site', readers };
}

/** `--readers N`: reader-001 .. reader-N in a row, GENERATED_SPACING_M apart. */
export function generatedSite(count: number, idPrefix?: string): Site {
  if (!Number.isInteger(count) || count < 1 || count > MAX_SITE_READERS) {
    throw new SiteError(`--readers must be 1..${MAX_SITE_READERS}, got ${count}`);
  }
  const width = Math.max(3, String(count).length);
  // A prefix (a pod's name) keeps ids unique across processes: PREFIX-001, PREFIX-002, ...
  const base = idPrefix ?? 'reader';
  const last = `${base}-${String(count).padStart(width, '0')}`;
  if (!READER_ID.test(base) || !READER_ID.test(last)) {
    throw new SiteError(
      `--reader-id ${base}: a prefix of letters, digits, '_', '.', '-' that makes ids of at most 64 characters (${last})`,
    );
  }
  const readers = Array.from({ length: count }, (_, i) => {
    const id = `${base}-${String(i + 1).padStart(width, '0')}`;
    return { id, name: id, accessPoint: id, position: { x: i * GENERATED_SPACING_M, y: 0 } };
  });
  return { name: idPrefix ?? 'site', readers };
}

function parsePosition(
  value: unknown,
  at: string,
  fail: (where: string, message: string) => never,
): { x: number; y: number } {
  if (!isObject(value)) return fail(at, 'must be {"x": metres, "y": metres}');
  onlyKeys(value, ['x', 'y'], at, fail);
  for (const axis of ['x', 'y'] as const) {
    const v = value[axis];
    if (typeof v !== 'number' || !Number.isFinite(v) || Math.abs(v) > MAX_COORDINATE_M) {
      fail(`${at}.${axis}`, `must be a number of metres within ±${MAX_COORDINATE_M}`);
    }
  }
  return { x: value.x as number, y: value.y as number };
}

function parseSeed(
  value: unknown,
  at: string,
  baseDir: string,
  fail: (where: string, message: string) => never,
): DatabaseContent {
  let content = value;
  if (typeof value === 'string') {
    const file = path.resolve(baseDir, value);
    try {
      content = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (err) {
      fail(at, `${file}: ${(err as Error).message}`);
    }
  }
  if (!isObject(content))
    return fail(at, 'must be a database (as PUT /database takes) or its file name');
  const db = {
    users: [],
    credentials: [],
    schedules: [],
    holidays: [],
    accessPoints: [],
    ...content,
  } as DatabaseContent;
  for (const table of ['users', 'credentials', 'schedules', 'holidays', 'accessPoints'] as const) {
    if (!Array.isArray(db[table])) fail(`${at}.${table}`, 'must be an array');
  }
  try {
    checkContent(db);
  } catch (err) {
    fail(at, `is not a database the reader takes: ${(err as Error).message}`);
  }
  return db;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function onlyKeys(
  value: Record<string, unknown>,
  allowed: string[],
  at: string,
  fail: (where: string, message: string) => never,
): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key))
      fail(at || 'site', `has an unknown field "${key}" (known: ${allowed.join(', ')})`);
  }
}
