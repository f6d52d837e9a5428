import http from 'node:http';
import net from 'node:net';
import { fullPushChunks, streamRequest } from '../../scripts/dev/bench/host';
import { sampleDatabase, startTestReader, type TestReader } from './harness';

/**
 * Bodies of any size or shape, through the real server: each is refused (or taken) while the
 * process stays up and its memory stays bounded. Bodies are generated as they are sent.
 */

/** `count` chunks of `chunk`, after `head`: a body of any size without holding it. */
function* body(head: string, chunk: string, count: number, tail = ''): Generator<Buffer> {
  yield Buffer.from(head);
  const piece = Buffer.from(chunk.repeat(Math.max(1, Math.floor(65536 / chunk.length))));
  for (let i = 0; i < count; i++) yield piece;
  if (tail) yield Buffer.from(tail);
}

/** Sends with a declared content-length (the chunks' total), answering as soon as the server does. */
function sendDeclared(
  reader: TestReader,
  length: number,
  chunks: Iterable<Buffer>,
): Promise<{ status: number; body: string; sent: number }> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    const request = http.request(reader.client.url('/database'), {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${reader.token}`,
        'content-type': 'application/json',
        'content-length': String(length),
      },
    });
    request.on('response', (response) => {
      let text = '';
      response.on('data', (c: Buffer) => (text += c.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text, sent }));
    });
    // The server may close while we still write: the answer already came.
    request.on('error', (err) => (sent > 0 ? undefined : reject(err)));
    const iterator = chunks[Symbol.iterator]();
    const pump = () => {
      for (;;) {
        if (request.destroyed) return;
        const next = iterator.next();
        if (next.done) return void request.end();
        sent += next.value.length;
        if (!request.write(next.value)) return void request.once('drain', pump);
      }
    };
    pump();
  });
}

describe('database push bodies of any size and shape', () => {
  let reader: TestReader;
  let peak = 0;
  let sampler: NodeJS.Timeout;
  beforeAll(async () => {
    reader = await startTestReader({ sectorCount: 4096 });
    await reader.client.push(sampleDatabase(3));
  });
  beforeEach(() => {
    peak = process.memoryUsage().rss;
    sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  });
  afterEach(() => clearInterval(sampler));
  afterAll(() => reader.close());

  /** The reader is up, unchanged, and this process grew by less than `mb` during the test. */
  async function stillWell(base: number, mb: number) {
    expect((await reader.client.health()).state).toBe('running');
    expect((await reader.client.database()).counts.credentials).toBe(3);
    expect((peak - base) / 2 ** 20).toBeLessThan(mb);
  }

  it('a declared 600 MB body is refused 413 before it is read', async () => {
    const base = process.memoryUsage().rss;
    const size = 600 * 2 ** 20;
    const answer = await sendDeclared(reader, size, body('{"users":[', ' ', size / 65536));
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'body_too_large' });
    expect(answer.sent).toBeLessThan(size);
    await stillWell(base, 100);
  }, 60_000);

  it('a 300 MB array of numbers, chunked, is refused at its first row', async () => {
    const base = process.memoryUsage().rss;
    const answer = await streamRequest(
      reader.client.url('/database'),
      reader.token,
      body('{"users":[', '0,', (300 * 2 ** 20) / 65536, '0]}'),
    ).catch((err: unknown) => ({ status: -1, body: String(err), sent: 0 }));
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'bad_request', field: '/users/0' });
    await stillWell(base, 100);
  }, 60_000);

  it('a 600 MB string or run of whitespace, chunked, is refused within its first 64 KiB or so', async () => {
    const base = process.memoryUsage().rss;
    for (const [head, fill, field] of [
      ['{"users":[{"id":"', 'a', '/users/0'],
      ['{"users":[', ' ', '/users/0'],
      ['{"users":[{"name":"', '\u00e9', '/users/0'],
    ] as const) {
      const answer = await streamRequest(
        reader.client.url('/database'),
        reader.token,
        body(head, fill, (600 * 2 ** 20) / 65536),
      ).catch((err: unknown) => ({ status: -1, body: String(err), sent: 0 }));
      expect([head, answer.status]).toEqual([head, 400]);
      expect(JSON.parse(answer.body)).toMatchObject({ error: 'bad_request', field });
    }
    await stillWell(base, 100);
  }, 60_000);

  it('one byte over the limit is 413, declared or chunked; at the limit it is taken', async () => {
    const small = await startTestReader({ server: { databaseBodyLimit: 64 * 1024 } });
    try {
      const json = JSON.stringify(sampleDatabase(2));
      const padded = (size: number) => [Buffer.from(json + ' '.repeat(size - json.length))];
      const limit = 64 * 1024;
      for (const declared of [true, false]) {
        const send = (size: number) =>
          declared
            ? sendDeclared(small, size, padded(size))
            : streamRequest(small.client.url('/database'), small.token, padded(size));
        const over = await send(limit + 1);
        expect([declared, over.status]).toEqual([declared, 413]);
        expect(JSON.parse(over.body)).toMatchObject({ error: 'body_too_large' });
        expect((await small.client.database()).counts.credentials).toBe(0);
      }
      // Trailing whitespace runs are bounded too: pad in runs the limits allow.
      const atLimit = Buffer.from(json.replace('{', `{${' '.repeat(limit - json.length)}`));
      expect(atLimit.length).toBe(limit);
      const taken = await streamRequest(small.client.url('/database'), small.token, [atLimit]);
      expect(taken.status).toBe(200);
      expect((await small.client.database()).counts.credentials).toBe(2);
    } finally {
      await small.close();
    }
  }, 60_000);

  it('a streamed push stores exactly what the same push as one JSON document stores', async () => {
    const answer = await streamRequest(
      reader.client.url('/database'),
      reader.token,
      fullPushChunks(2000, 7),
    );
    expect(answer.status).toBe(200);
    // What JSON.parse makes of the same bytes is what is stored.
    const whole = JSON.parse(Buffer.concat([...fullPushChunks(2000)]).toString()) as Record<
      string,
      { id?: string; date?: string }[]
    >;
    const byKey = (rows: { id?: string; date?: string }[]) =>
      [...rows].sort((a, b) => ((a.id ?? a.date)! < (b.id ?? b.date)! ? -1 : 1));
    const stored = (await reader.client.content()).content as unknown as typeof whole;
    for (const table of Object.keys(whole)) {
      expect(byKey(stored[table]!)).toEqual(byKey(whole[table]!));
    }
    await reader.client.push(sampleDatabase(3));
  }, 60_000);

  it('refuses invalid UTF-8 and "__proto__" keys in a row, naming the row', async () => {
    const db = sampleDatabase(3);
    const text = JSON.stringify(db);
    const bytes = Buffer.from(text.replace('"User 1"', '"User \u0001X"'));
    bytes[bytes.indexOf(0x01)] = 0xff;
    // Declared and small: the server reads it to its end and answers (no reset).
    const invalid = await sendDeclared(reader, bytes.length, [bytes]);
    expect(invalid.status).toBe(400);
    expect(JSON.parse(invalid.body)).toMatchObject({
      error: 'bad_request',
      message: expect.stringContaining('UTF-8'),
    });
    const proto = text.replace('{"id":"u1",', '{"__proto__":{"enabled":true},"id":"u1",');
    const poisoned = await sendDeclared(reader, Buffer.byteLength(proto), [Buffer.from(proto)]);
    expect(poisoned.status).toBe(400);
    expect(JSON.parse(poisoned.body)).toMatchObject({ error: 'bad_request', field: '/users/1' });
    expect((await reader.client.content()).content.users.map((u) => u.name)).toEqual([
      'User 0',
      'User 1',
      'User 2',
    ]);
  });
});

describe('clients without the token, and slow ones', () => {
  let reader: TestReader;
  let sockets: net.Socket[] = [];
  beforeAll(async () => {
    reader = await startTestReader();
  });
  afterEach(() => {
    for (const s of sockets) s.destroy();
    sockets = [];
  });
  afterAll(() => reader.close());

  it('400 token-less connections trickling a body each get 401 and are closed; the host is answered', async () => {
    const { port } = reader.api;
    const closed = Array.from({ length: 400 }, () => {
      const socket = net.connect(port, '127.0.0.1');
      sockets.push(socket);
      let answer = '';
      socket.on('data', (c: Buffer) => (answer += c.toString()));
      socket.on('error', () => undefined);
      socket.write(
        'PUT /api/v1/database HTTP/1.1\r\nHost: reader\r\nContent-Type: application/json\r\n' +
          'Content-Length: 100000000\r\n\r\n{"users":[',
      );
      // Keeps trickling until the server hangs up.
      const trickle = setInterval(() => socket.writable && socket.write(' '), 50);
      return new Promise<string>((resolve) =>
        socket.once('close', () => {
          clearInterval(trickle);
          resolve(answer);
        }),
      );
    });
    const answers = await Promise.all(closed);
    for (const answer of answers) {
      expect(answer).toMatch(/^HTTP\/1\.1 401 /);
      expect(answer.toLowerCase()).toContain('connection: close');
    }
    // The server closed every one of them: an authenticated client is answered at once.
    const status = await reader.client.status();
    expect(status.readerId).toBeDefined();
  }, 60_000);

  it('a wrong method is 405 with Allow; a header block too large and a bad content-length answer in the API shape', async () => {
    const wrong = await fetch(reader.client.url('/database'), {
      method: 'DELETE',
      headers: { authorization: `Bearer ${reader.token}` },
    });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET, HEAD, PUT, PATCH');
    expect(await wrong.json()).toMatchObject({ error: 'method_not_allowed' });

    const raw = (request: string) =>
      new Promise<string>((resolve) => {
        const socket = net.connect(reader.api.port, '127.0.0.1');
        sockets.push(socket);
        let answer = '';
        socket.on('data', (c: Buffer) => (answer += c.toString()));
        socket.on('error', () => undefined);
        socket.on('close', () => resolve(answer));
        socket.write(request);
      });
    const jsonOf = (answer: string) => JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));
    const huge = await raw(
      `GET /api/v1/status HTTP/1.1\r\nHost: r\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    expect(huge).toMatch(/^HTTP\/1\.1 431 /);
    expect(jsonOf(huge)).toMatchObject({ error: 'header_too_large' });
    const length = await raw(
      'PUT /api/v1/time HTTP/1.1\r\nHost: r\r\nContent-Length: 12abc\r\n\r\n{}',
    );
    expect(length).toMatch(/^HTTP\/1\.1 400 /);
    expect(jsonOf(length)).toMatchObject({ error: 'bad_request' });
  });
});
