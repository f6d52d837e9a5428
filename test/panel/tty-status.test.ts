import { EventEmitter } from 'node:events';
import { boot } from '../../firmware/boot';
import { RunningReader } from '../../firmware/running-reader';
import { VirtualClock } from '../../firmware/foundation/clock';
import { parsePresentation } from '../../firmware/foundation/presentation';
import { ClockEdges } from '../../firmware/schedule-edges';
import { ttyStatusLine, TtyStatusLine, type StatusTerminal } from '../../firmware/panel/tty-status';
import { sampleDatabase } from '../api/harness';
import { testDrivers } from '../../firmware/profiles/test';

// eslint-disable-next-line no-control-regex
const strip = (text: string) => text.replace(/\x1b\[[0-9;]*[A-Za-z]|\x1b[78]/g, '');

describe('TTY status line: rendering', () => {
  it('shows the LED glyph in its colour, buzzer, relay, door and the last decision', () => {
    const line = ttyStatusLine({
      led: { color: 'green', buzzer: true },
      relay: 'unlocked',
      door: 'open',
      decision: { decision: 'grant', reason: 'granted', at: Date.UTC(2026, 0, 5, 9, 30, 1, 250) },
    });
    expect(line.startsWith('\x1b[32m\u25cf green\x1b[0m')).toBe(true);
    expect(strip(line)).toBe(
      '\u25cf green  BEEP  relay unlocked  door open         last grant granted 09:30:01.250',
    );
  });

  it('colours red, amber and off, shows an alarm position and no decision yet', () => {
    const idle = ttyStatusLine({
      led: { color: 'red', buzzer: false },
      relay: 'locked',
      door: 'forced-open',
    });
    expect(idle.startsWith('\x1b[31m\u25cf red')).toBe(true);
    expect(idle).toContain('\x1b[31mdoor forced-open');
    expect(strip(idle)).toMatch(/relay locked +door forced-open +last -$/);
    expect(
      ttyStatusLine({ led: { color: 'amber', buzzer: false }, relay: 'locked', door: 'closed' }),
    ).toContain('\x1b[33m\u25cf amber');
    expect(
      ttyStatusLine({ led: { color: 'off', buzzer: false }, relay: 'locked', door: 'closed' }),
    ).toContain('\x1b[90m\u25cf off');
  });

  it('never runs past the terminal width', () => {
    for (const columns of [10, 20, 40, 60]) {
      const line = ttyStatusLine(
        {
          led: { color: 'red', buzzer: false },
          relay: 'locked',
          door: 'closed',
          decision: { decision: 'deny', reason: 'unknown_credential', at: 0 },
        },
        columns,
      );
      expect(strip(line).length).toBeLessThanOrEqual(columns);
    }
  });
});

class FakeTerminal extends EventEmitter implements StatusTerminal {
  rows = 30;
  columns = 100;
  written: string[] = [];
  write(text: string) {
    this.written.push(text);
    return true;
  }
  /** The text last drawn on line 1. */
  statusLine(): string {
    const draws = this.written.filter((w) => w.startsWith('\x1b7\x1b[1;1H\x1b[2K'));
    return strip(draws[draws.length - 1] ?? '');
  }
}

describe('TTY status line: pinned above the logs of a real reader', () => {
  let terminal: FakeTerminal;
  let status: TtyStatusLine;
  let running: RunningReader;
  let clock: VirtualClock;
  let unfollow: () => void;

  beforeAll(() => {
    clock = new VirtualClock(Date.UTC(2026, 0, 5, 9, 0));
    terminal = new FakeTerminal();
    status = new TtyStatusLine(terminal);
    status.start();
    running = boot({
      ...testDrivers({ clock, flash: { sectorCount: 256 }, indicatorDrivers: [status] }),
      edges: new ClockEdges(clock),
    });
    running.store.database.replace(sampleDatabase(2));
    unfollow = status.follow(running);
  });
  afterAll(async () => {
    unfollow();
    status.stop();
    await running.shutdown();
  });

  it('reserves line 1 with a scroll region, and again on resize', () => {
    expect(terminal.written[0]).toBe('\x1b[2;30r\x1b[30;1H');
    terminal.rows = 40;
    terminal.emit('resize');
    expect(terminal.written).toContain('\x1b[2;40r\x1b[40;1H');
    expect(terminal.statusLine()).toMatch(/^\u25cf red +relay locked +door closed +last -$/);
  });

  it('follows a grant, the door and a denial', async () => {
    await running.reader.present(
      parsePresentation({
        kind: 'badge',
        value: '10000',
        source: 'sim',
        accessPointId: 'door-1',
        at: clock.now(),
      }),
    );
    expect(terminal.statusLine()).toMatch(
      /^\u25cf green +BEEP +relay unlocked +door closed +last grant granted 09:00:00\.000$/,
    );
    running.door.doorContact(true);
    expect(terminal.statusLine()).toContain('door open ');
    running.door.doorContact(false);
    await clock.advanceAsync(6000);
    await running.reader.present(
      parsePresentation({
        kind: 'badge',
        value: '424242',
        source: 'sim',
        accessPointId: 'door-1',
        at: clock.now(),
      }),
    );
    expect(terminal.statusLine()).toMatch(
      /^\u25cf red +BEEP +relay locked +door closed +last deny unknown_credential 09:00:06\.000$/,
    );
  });

  it('gives the screen back on stop', () => {
    status.stop();
    expect(terminal.written[terminal.written.length - 1]).toContain('\x1b[r');
    const count = terminal.written.length;
    status.show({ color: 'green', buzzer: false });
    expect(terminal.written.length).toBe(count);
  });
});
