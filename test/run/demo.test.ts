/**
 * `reader-sim start --demo`'s seeding, on the real firmware and flash store: seeded once on
 * an empty database, not again on the next boot, never over a pushed database.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadDeviceKey, rawDataOf } from '../../ble/device-key';
import { boot } from '../../firmware/boot';
import { testDrivers } from '../../firmware/profiles/test';
import type { RunningReader } from '../../firmware/running-reader';
import { VirtualClock } from '../../firmware/foundation/clock';
import type { ReaderLog } from '../../firmware/foundation/log';
import {
  DEMO_BADGE,
  DEMO_KEY_FILE,
  DEMO_USER_NAME,
  seedDemo,
} from '../../scripts/commands/start-demo';
import { MemoryFlash } from '../../storage';

interface Line {
  level: 'info' | 'warn' | 'error';
  obj: object;
  msg?: string;
}

function recordingLog(): { log: ReaderLog; lines: Line[] } {
  const lines: Line[] = [];
  const at =
    (level: Line['level']) =>
    (obj: object, msg?: string): void =>
      void lines.push({ level, obj, msg });
  return { log: { info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

describe('start --demo seeding', () => {
  let dir: string;
  let flash: MemoryFlash;
  let clock: VirtualClock;
  let running: RunningReader | undefined;

  const bootOn = (): RunningReader => {
    running = boot(testDrivers({ clock, flash }));
    return running;
  };
  const powerOff = async () => {
    await running?.shutdown();
    running = undefined;
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reader-demo-'));
    flash = new MemoryFlash({ geometry: { sectorCount: 128 } });
    clock = new VirtualClock();
  });
  afterEach(async () => {
    await powerOff();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('seeds an empty database once, with a phone key file the phone command reads', async () => {
    const first = recordingLog();
    const firmware = bootOn();
    expect(firmware.store.database.version()).toBe(0);
    const keyFile = seedDemo(firmware, dir, first.log);
    expect(keyFile).toBe(path.join(dir, DEMO_KEY_FILE));
    expect(fs.statSync(keyFile!).mode & 0o777).toBe(0o600);

    const phone = rawDataOf(loadDeviceKey(keyFile!));
    expect(firmware.store.database.version()).toBe(1);
    const content = firmware.store.database.content();
    expect(content.users).toEqual([{ id: 'demo-user', name: DEMO_USER_NAME, enabled: true }]);
    expect(content.credentials.map((c) => [c.kind, c.value, c.publicKey])).toEqual([
      ['badge', DEMO_BADGE, undefined],
      ['mobile', phone.deviceId, phone.publicKey],
    ]);
    const warned = first.lines.filter((l) => l.level === 'warn');
    expect(warned).toHaveLength(1);
    expect(warned[0].msg).toMatch(/^DEMO DATA seeded/);

    // The demo badge opens the door through the reader's real decision path.
    const decided: unknown[] = [];
    firmware.watchEvents((e) => void decided.push(e));
    firmware.badge({ value: DEMO_BADGE, format: 'isonas-ascii', at: clock.now() });
    await clock.advanceAsync(100);
    expect(decided).toContainEqual(
      expect.objectContaining({ credentialId: 'demo-badge', decision: 'grant', reason: 'granted' }),
    );

    // Second boot on the same flash: the demo is there, nothing is seeded again.
    await powerOff();
    const keyBytes = fs.readFileSync(keyFile!, 'utf8');
    const second = recordingLog();
    const again = bootOn();
    expect(seedDemo(again, dir, second.log)).toBe(keyFile);
    expect(again.store.database.version()).toBe(1);
    expect(fs.readFileSync(keyFile!, 'utf8')).toBe(keyBytes);
    expect(second.lines).toEqual([]);
  });

  test('never seeds over a pushed database, and offers no demo key for it', async () => {
    const firmware = bootOn();
    const pushed = {
      users: [{ id: 'alice', name: 'Alice', enabled: true }],
      credentials: [
        {
          id: 'c1',
          userId: 'alice',
          kind: 'badge' as const,
          value: '555',
          enabled: true,
          accessPoints: ['*'],
        },
      ],
      schedules: [],
      holidays: [],
      accessPoints: [{ id: 'door-1', name: 'Front door' }],
    };
    firmware.store.database.replace(pushed);
    await powerOff();

    const { log, lines } = recordingLog();
    const again = bootOn();
    expect(seedDemo(again, dir, log)).toBeUndefined();
    expect(again.store.database.version()).toBe(1);
    expect(again.store.database.content().users).toEqual(pushed.users);
    expect(fs.existsSync(path.join(dir, DEMO_KEY_FILE))).toBe(false);
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      ['info', 'demo: the database was pushed; not seeding it'],
    ]);
  });
});
