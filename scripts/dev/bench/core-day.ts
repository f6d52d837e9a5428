import { seededRandom } from '../../../firmware/foundation/random';
import { boot } from '../../../firmware/boot';
import { VirtualClock } from '../../../firmware/foundation/clock';
import { parsePresentation } from '../../../firmware/foundation/presentation';
import { Keypad } from '../../../firmware/inputs';
import { hashSecondFactorPin, pinLookupValue } from '../../../firmware/pin';
import { RecordingIndicatorDriver } from '../../../led';
import { Credential, DatabaseContent } from '../../../firmware/foundation/model';
import { testDrivers } from '../../../firmware/profiles/test';
import { RecordingRelayDriver } from '../../../firmware/relay-drivers';

/**
 * A full simulated day on a VirtualClock: 2026-03-08 in America/Denver (the spring-forward
 * day), an unlock schedule across the DST jump, and a presentation every few minutes
 * (badges, PINs, badge + PIN, strangers) with the door opened after each grant. Shared by
 * the determinism test and the core benchmark; the same seed gives the same timeline.
 */
export interface DayResult {
  timeline: string[];
  presentations: number;
  grants: number;
  /** Second-factor PINs checked (scrypt, deliberately slow). */
  pinChecks: number;
  wallMs: number;
}

const PIN_KEY = '5eed'.repeat(16);
const DAY_START = Date.UTC(2026, 2, 8, 7, 0); // 00:00 MST

function database(): DatabaseContent {
  const credentials: Credential[] = [];
  const users = [];
  const pinHash = hashSecondFactorPin('1357', Buffer.alloc(16, 1));
  for (let i = 0; i < 40; i++) {
    users.push({ id: `u${i}`, name: `User ${i}`, enabled: i % 13 !== 5 });
    credentials.push({
      id: `b${i}`,
      userId: `u${i}`,
      kind: 'badge',
      value: String(5000 + i),
      enabled: true,
      accessPoints: ['door-1'],
      ...(i % 10 === 3 ? { pinHash } : {}),
      ...(i % 7 === 2 ? { scheduleId: 'staff' } : {}),
      ...(i % 11 === 4 ? { useLimit: 3 } : {}),
    });
    if (i % 4 === 0) {
      const pin = String(2000 + i);
      credentials.push({
        id: `p${i}`,
        userId: `u${i}`,
        kind: 'pin',
        value: pinLookupValue(pin, PIN_KEY),
        enabled: true,
        accessPoints: ['*'],
      });
    }
  }
  return {
    users,
    credentials,
    schedules: [
      {
        id: 'lobby',
        timeZone: 'America/Denver',
        windows: [
          { days: [0, 1, 2, 3, 4, 5, 6], start: '02:30', end: '03:30' },
          { days: [0, 6], start: '10:00', end: '14:00' },
        ],
      },
      {
        id: 'staff',
        timeZone: 'America/Denver',
        windows: [{ days: [0, 1, 2, 3, 4, 5, 6], start: '06:00', end: '18:00' }],
      },
    ],
    holidays: [],
    accessPoints: [{ id: 'door-1', name: 'Front door', unlockScheduleId: 'lobby' }],
  };
}

export async function runSimulatedDay(seed = 42, everyMs = 3 * 60_000): Promise<DayResult> {
  const began = performance.now();
  const clock = new VirtualClock(DAY_START);
  const led = new RecordingIndicatorDriver();
  const timeline: string[] = [];
  const stamp = () => new Date(clock.now()).toISOString().slice(11, 23);
  const keypad = new Keypad({ clock });
  const relay = new RecordingRelayDriver(clock, (w) =>
    timeline.push(`${stamp()} relay ${w.energized ? 'on' : 'off'}`),
  );
  const running = boot({
    ...testDrivers({ clock, flash: { sectorCount: 512 }, indicatorDrivers: [led], relay }),
    keypad,
  });
  running.store.database.replace(database());
  running.config.update({ pinKey: PIN_KEY });
  running.accessPoint.refresh();
  const rand = seededRandom(seed);
  let presentations = 0;
  let grants = 0;
  let pinChecks = 0;
  running.reader.on('decision', ({ result }) => {
    presentations++;
    const d = result.decision;
    if (d.outcome === 'grant') grants++;
    timeline.push(
      `${stamp()} ${d.outcome} ${'reason' in d ? d.reason : ''} ${'credentialId' in d ? (d.credentialId ?? '') : ''}`,
    );
  });

  for (let t = 0; t < 24 * 3600_000; t += everyMs) {
    await clock.advanceAsync(everyMs);
    const pick = rand();
    const who = Math.floor(rand() * 44);
    if (pick < 0.6) {
      const result = running.reader.present(
        parsePresentation({
          kind: 'badge',
          value: String(5000 + who),
          source: 'sim',
          accessPointId: 'door-1',
          at: clock.now(),
        }),
      );
      await clock.advanceAsync(0);
      if (running.reader.awaitingPin) {
        await clock.advanceAsync(2000);
        pinChecks++;
        keypad.type(rand() < 0.8 ? '1357#' : '0000#');
      }
      const { decision } = await result;
      if (decision.outcome === 'grant') {
        await clock.advanceAsync(1500);
        running.door.doorContact(true);
        await clock.advanceAsync(rand() < 0.05 ? 40_000 : 3000);
        running.door.doorContact(false);
      }
    } else if (pick < 0.85) {
      keypad.type(`${2000 + who * (rand() < 0.7 ? 1 : 3)}#`);
      await clock.advanceAsync(0);
    } else if (pick < 0.95) {
      running.door.rex();
    } else {
      await running.reader.present(
        parsePresentation({
          kind: 'badge',
          value: '77',
          source: 'sim',
          accessPointId: 'door-1',
          at: clock.now(),
        }),
      );
    }
  }
  await running.shutdown();
  timeline.push(
    ...led
      .timeline()
      .map(
        (s) =>
          `${new Date(s.at).toISOString().slice(11, 23)} led ${s.color}${s.buzzer ? ' beep' : ''}`,
      ),
  );
  return { timeline, presentations, grants, pinChecks, wallMs: performance.now() - began };
}
