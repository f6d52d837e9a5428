import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CONFIG_KEYS,
  ConfigError,
  ConfigPersistence,
  DEFAULT_CONFIG,
  ReaderConfig,
  validateConfig,
} from '../../firmware/config';
import { configReferenceTable } from '../../firmware/config-doc';
import { DEFAULT_DOOR_CONFIG } from '../../firmware/door';
import { MemoryFlash, openStore } from '../../storage';

/** Markdown table cells without padding (prettier aligns the columns). */
function normalize(table: string): string {
  return table
    .trim()
    .split('\n')
    .map((line) =>
      line
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim().replace(/^:?-+:?$/, '---'))
        .join('|'),
    )
    .join('\n');
}

class MemoryPersistence implements ConfigPersistence {
  stored: unknown;
  writes = 0;
  constructor(initial?: unknown) {
    this.stored = initial;
  }
  get(): unknown {
    return this.stored;
  }
  set(values: Record<string, unknown>): void {
    this.writes++;
    this.stored = JSON.parse(JSON.stringify(values));
  }
}

describe('config', () => {
  test('defaults follow BEHAVIOR.md and the door defaults', () => {
    expect(DEFAULT_CONFIG.unlockMs).toBe(5000);
    expect(DEFAULT_CONFIG.pinTimeoutMs).toBe(10_000);
    expect(DEFAULT_CONFIG.pinAttemptsBeforeLockout).toBe(5);
    expect(DEFAULT_CONFIG.keypadLockoutMs).toBe(60_000);
    expect(DEFAULT_CONFIG.heldOpenMs).toBe(30_000);
    expect(DEFAULT_CONFIG.enrollTimeoutMs).toBe(60_000);
    expect(DEFAULT_CONFIG.extendedUnlockMs).toBe(DEFAULT_DOOR_CONFIG.extendedUnlockMs);
    expect(validateConfig({})).toEqual(DEFAULT_CONFIG);
  });

  test.each([
    [{ unlockMs: 500 }, 'unlockMs', 'must be 1000..60000 ms, got 500'],
    [{ unlockMs: 1500.5 }, 'unlockMs', 'must be an integer'],
    [{ relockOnClose: 'yes' }, 'relockOnClose', 'must be true or false'],
    [{ bleRange: 'nearby' }, 'bleRange', 'must be one of immediate, near, far, custom'],
    [{ readerId: '' }, 'readerId', 'must be 1-64'],
    [{ pinKey: 'xyz' }, 'pinKey', 'must be 64 lowercase hex digits'],
    [{ unlockMS: 5000 }, 'unlockMS', 'unknown key'],
    [{ unlockMs: 6000, heldOpenMs: -1 }, 'heldOpenMs', 'must be'],
  ])('bad value %j is rejected naming %s, nothing changes', (patch, field, message) => {
    const persistence = new MemoryPersistence();
    const { config } = ReaderConfig.load(persistence);
    const changes: unknown[] = [];
    config.on('change', (c) => changes.push(c));
    let error: unknown;
    try {
      config.update(patch);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).field).toBe(field);
    expect((error as ConfigError).message).toContain(`config ${field}: ${message}`);
    expect(config.get()).toEqual(DEFAULT_CONFIG);
    expect(persistence.writes).toBe(0);
    expect(changes).toEqual([]);
  });

  test('a good update persists, then emits the changed keys', () => {
    const persistence = new MemoryPersistence();
    const { config } = ReaderConfig.load(persistence);
    const seen: unknown[] = [];
    config.on('change', (c: { changed: string[]; config: { unlockMs: number } }) => {
      // Listeners see the stored value already: the change is durable before anyone acts.
      seen.push([
        c.changed,
        c.config.unlockMs,
        (persistence.stored as { unlockMs: number }).unlockMs,
      ]);
    });
    expect(config.update({ unlockMs: 8000, failSafe: false })).toEqual(['unlockMs']);
    expect(seen).toEqual([[['unlockMs'], 8000, 8000]]);
    expect(config.update({ unlockMs: 8000 })).toEqual([]);
    expect(ReaderConfig.load(persistence).config.get().unlockMs).toBe(8000);
  });

  test('a stored value that no longer validates falls back to its default with a warning', () => {
    const { config, warnings } = ReaderConfig.load(
      new MemoryPersistence({ unlockMs: 999999, keypadLockoutMs: 30000, old: 1 }),
    );
    expect(config.get().unlockMs).toBe(5000);
    expect(config.get().keypadLockoutMs).toBe(30000);
    expect(warnings.map((w) => w.field)).toEqual(['unlockMs', 'old']);
  });

  test('minRssi follows the range presets', () => {
    const { config } = ReaderConfig.load(new MemoryPersistence());
    expect(config.minRssi()).toBe(-60);
    config.update({ bleRange: 'immediate' });
    expect(config.minRssi()).toBe(-35);
    config.update({ bleRange: 'custom', bleCustomRssi: -80 });
    expect(config.minRssi()).toBe(-80);
  });

  test('persists in the real flash store; a rejected update leaves the flash untouched', () => {
    const device = new MemoryFlash({ geometry: { sectorCount: 64 } });
    const store = openStore({ device });
    const { config } = ReaderConfig.load(store.config);
    config.update({ unlockMs: 7000, bleRange: 'near' });
    const programs = device.stats.programs;
    expect(() => config.update({ unlockMs: 8000, bleRange: 'moon' })).toThrow(
      'config bleRange: must be one of immediate, near, far, custom, got "moon"',
    );
    expect(device.stats.programs).toBe(programs);
    store.close();
    const again = openStore({ device });
    expect(ReaderConfig.load(again.config).config.get()).toMatchObject({
      unlockMs: 7000,
      bleRange: 'near',
    });
    again.close();
  });

  test('docs/CONFIG.md lists every key with its default and range (from CONFIG_SPEC)', () => {
    const path = join(__dirname, '../../docs/CONFIG.md');
    const doc = readFileSync(path, 'utf8');
    const table = configReferenceTable();
    const begin = '<!-- config-table:begin -->\n';
    const end = '\n<!-- config-table:end -->';
    const current = doc.slice(doc.indexOf(begin) + begin.length, doc.indexOf(end));
    if (process.env.UPDATE_DOCS === '1' && normalize(current) !== normalize(table)) {
      writeFileSync(path, doc.replace(begin + current + end, begin + table + end));
      return;
    }
    expect(normalize(current)).toBe(normalize(table)); // regenerate with UPDATE_DOCS=1 npx jest test/firmware/config.test.ts
    for (const key of CONFIG_KEYS) expect(doc).toContain(`| \`${key}\` |`);
  });
});
