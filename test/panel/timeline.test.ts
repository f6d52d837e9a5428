import fs from 'node:fs';
import path from 'node:path';
import { renderTimelineSvg } from '../../firmware/panel/timeline/svg';
import type { TimelineRecording } from '../../firmware/panel/timeline/recording';
import { DEFAULT_DOOR_CONFIG } from '../../firmware/door';
import { LED_DISPLAY_COLORS } from '../../led/model';
import { sampleDatabase, settle, startTestReader, type TestReader } from '../api/harness';

const REPORTS = path.join(__dirname, '..', '..', '.reports', 'panel');

interface Shape {
  lane: string;
  value: string;
  from: number;
  to: number;
  fill: string;
}

/** The lane segments of a rendered SVG, read back from its data-* attributes. */
function segments(svg: string): Shape[] {
  return [...svg.matchAll(/<rect class="segment" ([^>]*)>/g)].map((m) => {
    const attr = (name: string) => new RegExp(`${name}="([^"]*)"`).exec(m[1]!)![1]!;
    return {
      lane: attr('data-lane'),
      value: attr('data-value'),
      from: Number(attr('data-from')),
      to: Number(attr('data-to')),
      fill: attr('fill'),
    };
  });
}

function decisions(svg: string) {
  return [...svg.matchAll(/<g class="decision" ([^>]*)>/g)].map((m) => {
    const attr = (name: string) => new RegExp(`${name}="([^"]*)"`).exec(m[1]!)![1]!;
    return {
      at: Number(attr('data-at')),
      decision: attr('data-decision'),
      reason: attr('data-reason'),
    };
  });
}

describe('timeline of a known scenario (real reader, virtual clock)', () => {
  let reader: TestReader;
  let t0: number;
  let recording: TimelineRecording;
  let svg: string;

  beforeAll(async () => {
    reader = await startTestReader();
    await reader.client.push(sampleDatabase(3));
    t0 = reader.clock.now();
    await reader.clock.advanceAsync(1000);
    await reader.client.sim.badge('10000'); // valid: granted, unlock 5 s
    await settle();
    await reader.clock.advanceAsync(6000);
    await reader.client.sim.rex(); // REX unlocks; the door opens and closes: relock on close
    await reader.clock.advanceAsync(1000);
    await reader.client.sim.door('open');
    await reader.clock.advanceAsync(1000);
    await reader.client.sim.door('close');
    await reader.clock.advanceAsync(2000);
    await reader.client.sim.badge('99999'); // unknown: denied, 3 red flashes
    await settle();
    await reader.clock.advanceAsync(3000);
    recording = await reader.client.request<TimelineRecording>(
      'GET',
      `/panel/timeline?since=${t0}`,
    );
    svg = renderTimelineSvg(recording);
    // Kept as a test artefact, as a HIL run keeps one per scenario.
    fs.mkdirSync(REPORTS, { recursive: true });
    fs.writeFileSync(path.join(REPORTS, 'timeline-scenario.svg'), svg);
  });
  afterAll(() => reader.close());

  it('records the window asked for', () => {
    expect(recording.from).toBe(t0);
    expect(recording.to).toBe(t0 + 14_000);
    expect(recording.initial).toMatchObject({ led: { color: 'red' }, relay: 'locked' });
  });

  it('draws the grant: green LED and unlocked relay for exactly the unlock time', () => {
    const grant = decisions(svg).find((d) => d.decision === 'grant')!;
    expect(grant).toMatchObject({ reason: 'granted', at: t0 + 1000 });
    const green = segments(svg).filter((s) => s.lane === 'led' && s.value === 'green');
    const unlockMs = DEFAULT_DOOR_CONFIG.unlockMs;
    expect(green).toEqual([
      {
        lane: 'led',
        value: 'green',
        from: grant.at,
        to: grant.at + unlockMs,
        fill: LED_DISPLAY_COLORS.green,
      },
    ]);
    const unlocked = segments(svg).filter((s) => s.lane === 'relay' && s.value === 'unlocked');
    expect(unlocked[0]).toMatchObject({ from: grant.at, to: grant.at + unlockMs });
    const beep = segments(svg).filter((s) => s.lane === 'buzzer' && s.value === 'on');
    expect(beep[0]).toMatchObject({ from: grant.at, to: grant.at + 100 });
  });

  it('draws REX: relay unlocked until the door closes (relock on close), no decision', () => {
    const relay = segments(svg).filter((s) => s.lane === 'relay');
    expect(relay.map((s) => [s.value, s.from - t0, s.to - t0])).toEqual([
      ['locked', 0, 1000],
      ['unlocked', 1000, 6000],
      ['locked', 6000, 7000],
      ['unlocked', 7000, 9000],
      ['locked', 9000, 14_000],
    ]);
    const door = segments(svg).filter((s) => s.lane === 'door');
    expect(door.map((s) => [s.value, s.from - t0, s.to - t0])).toEqual([
      ['closed', 0, 8000],
      ['open', 8000, 9000],
      ['closed', 9000, 14_000],
    ]);
    expect(decisions(svg)).toHaveLength(2);
  });

  it('draws the denial: reason code marker, then three 200/200 ms red flashes and three beeps', () => {
    const deny = decisions(svg).find((d) => d.decision === 'deny')!;
    expect(deny).toMatchObject({ reason: 'unknown_credential', at: t0 + 11_000 });
    expect(svg).toContain('>unknown_credential</text>');
    const led = segments(svg)
      .filter((s) => s.lane === 'led' && s.to > deny.at)
      .map((s) => [s.value, Math.max(s.from, deny.at) - deny.at, s.to - deny.at]);
    // Idle red runs into the first flash, and the last flash into idle red again.
    expect(led).toEqual([
      ['red', 0, 200],
      ['off', 200, 400],
      ['red', 400, 600],
      ['off', 600, 800],
      ['red', 800, 1000],
      ['off', 1000, 1200],
      ['red', 1200, 3000],
    ]);
    const beeps = segments(svg).filter(
      (s) => s.lane === 'buzzer' && s.value === 'on' && s.from >= deny.at,
    );
    expect(beeps.map((s) => s.from - deny.at)).toEqual([0, 400, 800]);
  });

  it('is deterministic and well formed', () => {
    expect(renderTimelineSvg(recording)).toBe(svg);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.match(/<g class="lane" data-lane="[a-z]+">/g)).toHaveLength(5);
    // Every lane covers the whole window without gaps.
    for (const lane of ['led', 'buzzer', 'relay', 'door']) {
      const s = segments(svg).filter((x) => x.lane === lane);
      expect(s[0]!.from).toBe(recording.from);
      expect(s[s.length - 1]!.to).toBe(recording.to);
      for (let i = 1; i < s.length; i++) expect(s[i]!.from).toBe(s[i - 1]!.to);
    }
  });

  it('serves the same SVG, and refuses bad times and a missing token', async () => {
    const url = `${reader.api.url}/api/v1/panel/timeline.svg?since=${t0}&until=${recording.to}&token=${reader.token}`;
    const response = await fetch(url);
    expect(response.headers.get('content-type')).toMatch(/image\/svg\+xml/);
    expect(await response.text()).toBe(svg);
    const bad = await fetch(`${reader.api.url}/api/v1/panel/timeline?since=yesterday`, {
      headers: { authorization: `Bearer ${reader.token}` },
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: 'bad_request', field: '/since' });
    const relative = await reader.client.request<TimelineRecording>(
      'GET',
      '/panel/timeline?since=-2s',
    );
    expect(relative.from).toBe(reader.clock.now() - 2000);
    expect((await fetch(`${reader.api.url}/api/v1/panel/timeline`)).status).toBe(401);
    expect((await fetch(`${reader.api.url}/api/v1/panel/timeline?token=nope`)).status).toBe(401);
  });
});
