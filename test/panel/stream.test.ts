import { readEventStream } from '../../firmware/api/client';
import { OutputRecorder } from '../../firmware/panel/recorder';
import { sampleDatabase, settle, startTestReader, type TestReader } from '../api/harness';
import { until } from '../poll';

interface Message {
  type: string;
  data: Record<string, unknown>;
}

/** Reads the panel stream into `messages` until aborted; resolves to the HTTP status. */
async function follow(url: string, messages: Message[], signal: AbortSignal): Promise<number> {
  const response = await fetch(url, { signal });
  if (!response.ok || !response.body) return response.status;
  await readEventStream(response.body, (m) => messages.push(m as Message), signal);
  return response.status;
}

describe('panel stream (real reader, virtual clock)', () => {
  let reader: TestReader;
  beforeAll(async () => {
    reader = await startTestReader();
    await reader.client.push(sampleDatabase(2));
  });
  afterAll(() => reader.close());

  it('refuses a missing or wrong token, header or query', async () => {
    const base = `${reader.api.url}/api/v1/panel/stream`;
    expect((await fetch(base)).status).toBe(401);
    expect((await fetch(`${base}?token=${reader.token}x`)).status).toBe(401);
    const wrong = await fetch(base, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ error: 'unauthorized' });
  });

  it('sends the state, then every output change and event, and stays through a power cycle', async () => {
    const messages: Message[] = [];
    const abort = new AbortController();
    const done = follow(
      `${reader.api.url}/api/v1/panel/stream?token=${reader.token}`,
      messages,
      abort.signal,
    );
    await until(() => messages.length > 0);
    expect(messages[0]).toMatchObject({
      type: 'state',
      data: {
        outputs: {
          led: { color: 'red', situation: 'idle' },
          relay: 'locked',
          door: { position: 'closed' },
        },
      },
    });
    expect((messages[0]!.data.events as unknown[]).length).toBeGreaterThan(0);

    await reader.client.sim.badge('10001');
    await settle();
    await until(() => messages.some((m) => m.type === 'event' && m.data.type === 'access'));
    expect(messages.filter((m) => m.type === 'output').map((m) => m.data)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'led', color: 'green', situation: 'granted' }),
        expect.objectContaining({ kind: 'relay', relay: 'unlocked' }),
      ]),
    );
    expect(
      messages.find((m) => m.type === 'event' && m.data.type === 'access')?.data,
    ).toMatchObject({ decision: 'grant', reason: 'granted' });

    await reader.client.sim.door('open');
    await until(() => messages.some((m) => m.type === 'output' && m.data.kind === 'door'));
    await reader.client.sim.door('close');

    await reader.client.sim.powerCycle();
    await until(() => messages.filter((m) => m.type === 'power').length === 2);
    expect(messages.filter((m) => m.type === 'power').map((m) => m.data.state)).toEqual([
      'off',
      'on',
    ]);
    expect(messages[messages.length - 1]).toMatchObject({
      type: 'state',
      data: { outputs: { led: { color: 'red' }, relay: 'locked' } },
    });
    // Still live after the cycle: the recorder follows the new firmware.
    const before = messages.length;
    await reader.client.sim.badge('99999');
    await settle();
    await until(() => messages.slice(before).some((m) => m.type === 'event'));
    expect(
      messages.slice(before).find((m) => m.type === 'event' && m.data.type === 'access')?.data,
    ).toMatchObject({ decision: 'deny', reason: 'unknown_credential' });
    abort.abort();
    expect(await done).toBe(200);
  });
});

describe('OutputRecorder memory bound', () => {
  it('folds the oldest changes into the starting snapshot and keeps lanes exact', async () => {
    const reader = await startTestReader();
    try {
      const recorder = new OutputRecorder(reader.board, reader.clock, 4);
      const unbounded = new OutputRecorder(reader.board, reader.clock);
      const t0 = reader.clock.now();
      reader.board.touch.rex(); // relay unlocked
      await reader.clock.advanceAsync(5000); // relocks
      reader.board.touch.door(true); // forced open: door + alarm LED edges
      await reader.clock.advanceAsync(1000);
      reader.board.touch.door(false);
      await reader.clock.advanceAsync(1000);
      expect(unbounded.recording(t0)!.changes.length).toBeGreaterThan(4);
      const kept = recorder.recording(t0)!;
      expect(kept.changes.length).toBeLessThanOrEqual(4);
      // Asked for more than is kept: starts at the oldest kept moment, from the folded state,
      // which is exactly what the unbounded recording says for that window.
      expect(kept.from).toBeGreaterThan(t0);
      expect(kept).toEqual(unbounded.recording(kept.from, kept.to));
      expect(recorder.snapshot()).toEqual(unbounded.snapshot());
      expect(recorder.snapshot()).toMatchObject({ relay: 'locked', door: { position: 'closed' } });
      unbounded.stop();
      recorder.stop();
    } finally {
      await reader.close();
    }
  });
});
