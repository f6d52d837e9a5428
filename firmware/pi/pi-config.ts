import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_CONTACT_DEBOUNCE_MS, type BadgeFormat } from '../inputs';
import { DEFAULT_BAUD_RATE } from '../inputs/serial-port';
import type { LineBias } from './gpio';

/**
 * The Pi's board wiring: DATA/pi.json (optional; every key has a default). It describes the
 * hardware, not the reader's behaviour, so it lives beside the flash image rather than in
 * the flash config the host API can change. docs/PI.md has the wiring table.
 */
export interface PiConfig {
  /** GPIO chip labels tried in order (Pi 5, Pi 4, Pi 3/Zero). */
  chipLabels: string[];
  /** Line offsets on that chip (= BCM GPIO numbers on a Pi). */
  lines: Record<PiOutputName | PiInputName, number>;
  /** Relay boards that switch on a low input (most opto-isolated modules). */
  relayActiveLow: boolean;
  /** REX button to GND with the pull-up: pressed reads low. */
  rexActiveLow: boolean;
  /** Door contact closed to GND while the door is shut: open reads high. */
  doorActiveLow: boolean;
  inputBias: LineBias;
  debounceMs: number;
  /** Serial badge reader; null = none fitted. */
  badge: { path: string; format: BadgeFormat; baudRate: number } | null;
  ble: PiBleConfig;
  /** The HIL rig's loopback lines (test/hil, RIG=pi). */
  hil: { sense: Record<PiOutputName, number>; drive: Record<'rex' | 'door', number> };
}

export type PiOutputName = 'red' | 'green' | 'buzzer' | 'relay';
export type PiInputName = 'rex' | 'door';

/** 'none' runs the reader without BLE (badges only); it must be chosen, never a fallback. */
export type PiBleConfig =
  | { adapter: 'hci-socket'; hciDevice: number }
  | { adapter: 'hci-uart'; path: string; baudRate: number }
  | { adapter: 'none' };

export const PI_CONFIG_FILE = 'pi.json';

export const DEFAULT_PI_CONFIG: Readonly<PiConfig> = Object.freeze({
  chipLabels: ['pinctrl-rp1', 'pinctrl-bcm2711', 'pinctrl-bcm2835'],
  lines: { red: 17, green: 27, buzzer: 22, relay: 23, rex: 24, door: 25 },
  relayActiveLow: false,
  rexActiveLow: true,
  doorActiveLow: false,
  inputBias: 'pull-up',
  debounceMs: DEFAULT_CONTACT_DEBOUNCE_MS,
  badge: { path: '/dev/ttyS0', format: 'isonas-ascii', baudRate: DEFAULT_BAUD_RATE },
  ble: { adapter: 'hci-socket', hciDevice: 0 },
  hil: { sense: { red: 5, green: 6, buzzer: 13, relay: 19 }, drive: { rex: 20, door: 21 } },
}) as PiConfig;

export class PiConfigError extends Error {
  constructor(key: string, message: string) {
    super(`${PI_CONFIG_FILE} ${key}: ${message}`);
    this.name = 'PiConfigError';
  }
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function only(key: string, value: Json, allowed: readonly string[]): void {
  for (const k of Object.keys(value)) {
    if (!allowed.includes(k)) throw new PiConfigError(`${key}${k}`, `unknown key`);
  }
}

function int(key: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new PiConfigError(key, `must be an integer ${min}..${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

function bool(key: string, v: unknown): boolean {
  if (typeof v !== 'boolean')
    throw new PiConfigError(key, `must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

function oneOf<T extends string>(key: string, v: unknown, values: readonly T[]): T {
  if (!values.includes(v as T)) {
    throw new PiConfigError(key, `must be one of ${values.join(', ')}, got ${JSON.stringify(v)}`);
  }
  return v as T;
}

function devicePath(key: string, v: unknown): string {
  if (typeof v !== 'string' || !/^\/dev\/\S+$/.test(v)) {
    throw new PiConfigError(key, `must be a device path like /dev/ttyS0, got ${JSON.stringify(v)}`);
  }
  return v;
}

const LINE = { min: 0, max: 511 };

function lineMap<K extends string>(
  key: string,
  v: unknown,
  base: Record<K, number>,
): Record<K, number> {
  if (v === undefined) return { ...base };
  if (!isObject(v)) throw new PiConfigError(key, 'must be an object of line offsets');
  only(`${key}.`, v, Object.keys(base));
  const out = { ...base };
  for (const [name, offset] of Object.entries(v)) {
    out[name as K] = int(`${key}.${name}`, offset, LINE.min, LINE.max);
  }
  return out;
}

/** Validates a parsed pi.json over the defaults; throws PiConfigError naming the key. */
export function parsePiConfig(raw: unknown): PiConfig {
  const d = DEFAULT_PI_CONFIG;
  if (!isObject(raw)) throw new PiConfigError('(file)', 'must be a JSON object');
  only('', raw, Object.keys(d));
  const cfg: PiConfig = {
    chipLabels: [...d.chipLabels],
    lines: lineMap('lines', raw.lines, d.lines),
    relayActiveLow:
      raw.relayActiveLow === undefined
        ? d.relayActiveLow
        : bool('relayActiveLow', raw.relayActiveLow),
    rexActiveLow:
      raw.rexActiveLow === undefined ? d.rexActiveLow : bool('rexActiveLow', raw.rexActiveLow),
    doorActiveLow:
      raw.doorActiveLow === undefined ? d.doorActiveLow : bool('doorActiveLow', raw.doorActiveLow),
    inputBias:
      raw.inputBias === undefined
        ? d.inputBias
        : oneOf('inputBias', raw.inputBias, ['as-is', 'pull-up', 'pull-down', 'disable'] as const),
    debounceMs:
      raw.debounceMs === undefined ? d.debounceMs : int('debounceMs', raw.debounceMs, 0, 1000),
    badge: d.badge && { ...d.badge },
    ble: { ...d.ble },
    hil: {
      sense: { ...d.hil.sense },
      drive: { ...d.hil.drive },
    },
  };
  if (raw.chipLabels !== undefined) {
    const labels = raw.chipLabels;
    if (
      !Array.isArray(labels) ||
      labels.length === 0 ||
      labels.some((l) => typeof l !== 'string' || l === '')
    ) {
      throw new PiConfigError(
        'chipLabels',
        'must be a non-empty list of chip labels (see gpiodetect)',
      );
    }
    cfg.chipLabels = labels as string[];
  }
  if (raw.badge !== undefined) cfg.badge = parseBadge(raw.badge);
  if (raw.ble !== undefined) cfg.ble = parseBle(raw.ble);
  if (raw.hil !== undefined) {
    if (!isObject(raw.hil)) throw new PiConfigError('hil', 'must be an object');
    only('hil.', raw.hil, ['sense', 'drive']);
    cfg.hil = {
      sense: lineMap('hil.sense', raw.hil.sense, d.hil.sense),
      drive: lineMap('hil.drive', raw.hil.drive, d.hil.drive),
    };
  }
  const used = new Map<number, string>();
  for (const [name, offset] of Object.entries(cfg.lines)) {
    const other = used.get(offset);
    if (other) throw new PiConfigError(`lines.${name}`, `line ${offset} is already ${other}`);
    used.set(offset, name);
  }
  return cfg;
}

function parseBadge(v: unknown): PiConfig['badge'] {
  if (v === null) return null;
  if (!isObject(v)) throw new PiConfigError('badge', 'must be an object or null (no reader)');
  only('badge.', v, ['path', 'format', 'baudRate']);
  return {
    path: v.path === undefined ? '/dev/ttyS0' : devicePath('badge.path', v.path),
    format:
      v.format === undefined
        ? 'isonas-ascii'
        : oneOf('badge.format', v.format, ['isonas-ascii', 'rdm6300'] as const),
    baudRate:
      v.baudRate === undefined
        ? DEFAULT_BAUD_RATE
        : int('badge.baudRate', v.baudRate, 300, 4_000_000),
  };
}

function parseBle(v: unknown): PiBleConfig {
  if (!isObject(v)) throw new PiConfigError('ble', 'must be an object');
  const adapter = oneOf('ble.adapter', v.adapter, ['hci-socket', 'hci-uart', 'none'] as const);
  switch (adapter) {
    case 'hci-socket':
      only('ble.', v, ['adapter', 'hciDevice']);
      return {
        adapter,
        hciDevice: v.hciDevice === undefined ? 0 : int('ble.hciDevice', v.hciDevice, 0, 15),
      };
    case 'hci-uart':
      only('ble.', v, ['adapter', 'path', 'baudRate']);
      return {
        adapter,
        path: devicePath('ble.path', v.path),
        baudRate:
          v.baudRate === undefined ? 1_000_000 : int('ble.baudRate', v.baudRate, 9600, 4_000_000),
      };
    case 'none':
      only('ble.', v, ['adapter']);
      return { adapter };
  }
}

/** Reads DATA/pi.json; a missing file means every default. */
export function loadPiConfig(dataDir: string): PiConfig {
  const path = join(dataDir, PI_CONFIG_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return parsePiConfig({});
    throw new PiConfigError('(file)', `cannot read ${path}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new PiConfigError('(file)', `not valid JSON: ${(err as Error).message}`);
  }
  return parsePiConfig(raw);
}
