import type { StreamMessage } from '../../firmware/api/client';
import type { EventRecord } from '../../firmware/foundation/model';
import { eventually, sampleDatabase, startTestReader, type TestReader, rejection } from './harness';

/** Presses REX n times: each press is one door event in the log. */
async function rexPresses(reader: TestReader, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await reader.client.sim.rex();
    reader.clock.advance(6000); // let the momentary unlock end between presses
  }
}

describe('events over the host API', () => {
  let reader: TestReader;
  beforeEach(async () => {
    reader = await startTestReader();
  });
  afterEach(() => reader.close());

  it('pages with a cursor, acknowledges, and reports the counters', async () => {
    await rexPresses(reader, 5);
    const all = await reader.client.events(0);
    const rex = all.events.filter((e) => e.type === 'door');
    expect(rex).toHaveLength(5);
    expect(all.events.map((e) => e.seq)).toEqual(
      [...all.events.map((e) => e.seq)].sort((a, b) => a - b),
    );

    const first = await reader.client.events(0, 2);
    expect(first.events).toHaveLength(2);
    expect(first.more).toBe(true);
    const rest = await reader.client.events(first.next, 1000);
    expect([...first.events, ...rest.events]).toEqual(all.events);
    expect(rest.more).toBe(false);

    const acked = await reader.client.ack(first.next);
    expect(acked.ackedSeq).toBe(first.next);
    const beyond = await rejection(reader.client.ack(all.lastSeq + 1));
    expect(beyond.status).toBe(400);
    expect(beyond.body.field).toBe('/upTo');
    expect((await reader.client.events(0)).ackedSeq).toBe(first.next);
  });

  it('keeps events across a power cycle until they are acknowledged', async () => {
    await rexPresses(reader, 4);
    const before = await reader.client.events(0);
    const upTo = before.events[1]!.seq;
    await reader.client.ack(upTo);
    await reader.client.sim.powerCycle();
    const after = await reader.client.events(upTo);
    // Every unacknowledged event is still there, byte for byte, then the new boot's events.
    const unacked = before.events.filter((e) => e.seq > upTo);
    expect(after.events.slice(0, unacked.length)).toEqual(unacked);
    expect(after.ackedSeq).toBe(upTo);
    expect(after.lastSeq).toBeGreaterThan(before.lastSeq);
  });

  it('answers 503 booting while the firmware restarts, then runs again', async () => {
    await reader.close();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    reader = await startTestReader({ bootGate: () => gate });
    const cycling = reader.client.sim.powerCycle();
    const health = await eventually(async () => {
      const h = await reader.client.health();
      return h.state === 'booting' ? h : undefined;
    });
    expect(health.ok).toBe(true);
    const err = await rejection(reader.client.status());
    expect(err.status).toBe(503);
    expect(err.body.error).toBe('booting');
    release();
    expect(await cycling).toMatchObject({ booted: true });
    expect((await reader.client.health()).state).toBe('running');
  });

  it('streams unacknowledged events, then live ones; a link cut ends the stream and buffers', async () => {
    await rexPresses(reader, 2);
    const seen: StreamMessage[] = [];
    const controller = new AbortController();
    const stream = reader.client.stream((m) => seen.push(m), { signal: controller.signal });
    await eventually(() => seen.some((m) => m.type === 'hello'));
    const backlog = (await reader.client.events(0)).events;
    await eventually(() => seen.filter((m) => m.type === 'event').length >= backlog.length);

    await rexPresses(reader, 1);
    await eventually(() => seen.filter((m) => m.type === 'event').length === backlog.length + 1);
    const streamed = seen.filter((m) => m.type === 'event').map((m) => m.data as EventRecord);
    expect(streamed).toEqual((await reader.client.events(0)).events);
    const cursor = streamed[streamed.length - 1]!.seq;

    await reader.client.sim.setLink('cut');
    expect(await stream).toBe('link');
    expect(seen[seen.length - 1]).toEqual({ type: 'link', data: { state: 'down' } });

    // Offline: the reader keeps working and buffering; the host endpoints say the link is down.
    await rexPresses(reader, 3);
    const down = await rejection(reader.client.events(cursor));
    expect(down.status).toBe(503);
    expect(down.body.error).toBe('host_link_down');
    expect((await rejection(reader.client.stream(() => undefined))).body.error).toBe(
      'host_link_down',
    );
    const status = await reader.client.status();
    expect(status.hostLink).toMatchObject({ state: 'down' });

    await reader.client.sim.setLink('restore');
    const missed = await reader.client.events(cursor);
    expect(missed.events.filter((e) => e.type === 'door')).toHaveLength(3);

    // Reconnecting with Last-Event-ID replays exactly what came after it.
    const replay: StreamMessage[] = [];
    const again = new AbortController();
    const resumed = reader.client.stream((m) => replay.push(m), {
      lastEventId: cursor,
      signal: again.signal,
    });
    await eventually(() => replay.filter((m) => m.type === 'event').length >= missed.events.length);
    expect(replay.filter((m) => m.type === 'event').map((m) => m.data)).toEqual(missed.events);
    again.abort();
    await resumed;
  });

  it('streams grants (event + use debit in one transaction) as they are committed', async () => {
    await reader.client.push(sampleDatabase(2));
    const seen: StreamMessage[] = [];
    const controller = new AbortController();
    const stream = reader.client.stream((m) => seen.push(m), { signal: controller.signal });
    await eventually(() => seen.some((m) => m.type === 'hello'));
    await reader.client.sim.badge('10000');
    const grant = await eventually(() =>
      seen.find((m) => m.type === 'event' && (m.data as EventRecord).decision === 'grant'),
    );
    expect(grant.data).toMatchObject({ type: 'access', reason: 'granted', credentialId: 'uc0' });
    controller.abort();
    await stream;
  });

  it('ends the stream with a power message on a power cycle', async () => {
    const seen: StreamMessage[] = [];
    const stream = reader.client.stream((m) => seen.push(m));
    await eventually(() => seen.some((m) => m.type === 'hello'));
    await reader.client.sim.powerCycle();
    expect(await stream).toBe('power');
  });
});

describe('event retention and overflow (BEHAVIOR.md "Host link and offline")', () => {
  const capacity = 16;
  let reader: TestReader;
  beforeEach(async () => {
    reader = await startTestReader({ eventCapacity: capacity });
  });
  afterEach(() => reader.close());

  it('overwrites acknowledged events first and drops nothing unacknowledged', async () => {
    await rexPresses(reader, capacity - 2);
    const full = await reader.client.events(0);
    await reader.client.ack(full.lastSeq);
    await rexPresses(reader, capacity - 2);
    const after = await reader.client.events(0, 1000);
    expect(after.dropped).toBe(0);
    expect(after.count).toBeLessThanOrEqual(capacity);
    // Everything after the acknowledged point is still held.
    const unacked = after.events.filter((e) => e.seq > full.lastSeq);
    expect(unacked.map((e) => e.seq)).toEqual(
      Array.from({ length: after.lastSeq - full.lastSeq }, (_, i) => full.lastSeq + 1 + i),
    );
  });

  it('with nothing acknowledged, drops the oldest and counts them', async () => {
    await rexPresses(reader, capacity + 10);
    const page = await reader.client.events(0, 1000);
    expect(page.count).toBeLessThanOrEqual(capacity);
    expect(page.dropped).toBeGreaterThan(0);
    // What is kept is the newest run, contiguous up to lastSeq, apart from what was dropped.
    const seqs = page.events.map((e) => e.seq);
    expect(seqs[seqs.length - 1]).toBe(page.lastSeq);
    expect(page.lastSeq - seqs[0]! + 1).toBe(seqs.length);
    expect(page.dropped).toBe(seqs[0]! - 1);
    // The counter survives a power cycle.
    await reader.client.sim.powerCycle();
    expect((await reader.client.events(0)).dropped).toBeGreaterThanOrEqual(page.dropped);
  });
});
