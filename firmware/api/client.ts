import { rootCertificates } from 'node:tls';
import { createParser } from 'eventsource-parser';
import type { DatabaseContent, DatabaseDelta, EventRecord } from '../foundation/model';
import type { ApiErrorBody } from './errors';
import type { AccessPointCommand } from '../access-point';
import type { RawData } from '../foundation/model';
import { API_PREFIX } from './route';

/**
 * Why `url` cannot be a reader's API address, or undefined if it can: the client needs
 * http:// or https:// (a bare 127.0.0.1:18480 would otherwise fail as an unreachable reader).
 */
export function readerUrlProblem(url: string): string | undefined {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (parsed && (parsed.protocol === 'http:' || parsed.protocol === 'https:')) return undefined;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && parsed) {
    return `${url} is not an http:// or https:// address`;
  }
  return `${url} has no scheme: write http://${url} (or https:// for a reader with TLS)`;
}

/** A non-2xx answer of the host API, with its { error, message, field? } body. */
export class HostApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ApiErrorBody,
  ) {
    super(`${status} ${body.error}: ${body.message}`);
    this.name = 'HostApiError';
  }
}

export interface EventPage {
  events: EventRecord[];
  next: number;
  more: boolean;
  lastSeq: number;
  ackedSeq: number;
  dropped: number;
  count: number;
  capacity: number;
}

/** One message of the event stream. */
export type StreamMessage =
  | { type: 'hello'; data: { after: number; lastSeq: number; link: string } }
  | { type: 'event'; data: EventRecord }
  | { type: 'link' | 'power'; data: { state: string } };

/**
 * A thin client of the host API over Node's fetch: what `reader-sim host`, the benchmark and
 * the tests use. Every method resolves to the parsed JSON body or throws HostApiError.
 */
export class HostClient {
  private readonly fetch: typeof fetch;

  /**
   * `options.ca`: PEM certificate(s) to trust for an https reader (its self-signed certificate
   * or the CA that issued it), on top of Node's bundled roots. Without it the client uses
   * Node's fetch, which also trusts NODE_EXTRA_CA_CERTS (set before Node starts).
   * `options.keepAlive: false`: one connection per request, closed after it, so a one-shot
   * command exits as soon as it has its answer instead of when the idle socket times out.
   */
  constructor(
    readonly baseUrl: string,
    private readonly token: string | undefined,
    options: { ca?: string | Buffer; keepAlive?: boolean; reader?: string } = {},
  ) {
    const problem = readerUrlProblem(baseUrl);
    if (problem) throw new TypeError(`reader URL ${problem}`);
    const { ca, keepAlive = true } = options;
    this.fetch = ca === undefined ? fetch : fetchTrusting(ca);
    this.keepAlive = keepAlive;
    this.readerScope =
      options.reader === undefined ? '' : `/readers/${encodeURIComponent(options.reader)}`;
  }

  private readonly keepAlive: boolean;
  /** `options.reader`: one reader of a site; its routes live under /readers/ID (docs/API.md). */
  private readonly readerScope: string;

  async request<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {};
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    // Node's fetch honours it: the server and the client both close the socket after this.
    if (!this.keepAlive) headers.connection = 'close';
    let payload: string | undefined;
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = typeof body === 'string' ? body : JSON.stringify(body);
    }
    const response = await this.fetch(this.url(path), { method, headers, body: payload });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch (err) {
      // Not JSON (a proxy's error page, a truncated body): report its start as the message.
      if (!(err instanceof SyntaxError)) throw err;
      parsed = { error: 'internal', message: text.slice(0, 200) };
    }
    if (!response.ok) {
      const err = (parsed ?? {}) as ApiErrorBody;
      throw new HostApiError(response.status, {
        ...err,
        error: err.error ?? 'internal',
        message: err.message ?? response.statusText,
      });
    }
    return parsed as T;
  }

  url(path: string): string {
    // The process's own routes (health, the document, the site's, the panel's) are not scoped.
    const scoped =
      this.readerScope !== '' && !/^\/(health|openapi\.json|readers|fleet|panel)\b/.test(path);
    return `${this.baseUrl.replace(/\/$/, '')}${API_PREFIX}${scoped ? this.readerScope : ''}${path}`;
  }

  health() {
    return this.request<{ ok: boolean; state: string }>('GET', '/health');
  }
  status() {
    return this.request<Record<string, unknown>>('GET', '/status');
  }
  database() {
    return this.request<{ version: number; counts: Record<string, number> }>('GET', '/database');
  }
  /** The database as stored, and the uses so far of each credential that has any. */
  content() {
    return this.request<{
      version: number;
      content: DatabaseContent;
      uses: Record<string, number>;
    }>('GET', '/database/content');
  }
  /** Full push; `body` may be pre-serialized JSON (large pushes, benchmarks). */
  push(body: DatabaseContent | string) {
    return this.request<{ version: number; counts: Record<string, number> }>(
      'PUT',
      '/database',
      body,
    );
  }
  patch(delta: DatabaseDelta | string) {
    return this.request<{ version: number; counts: Record<string, number> }>(
      'PATCH',
      '/database',
      delta,
    );
  }
  events(after = 0, limit?: number) {
    const query = new URLSearchParams({ after: String(after) });
    if (limit !== undefined) query.set('limit', String(limit));
    return this.request<EventPage>('GET', `/events?${query}`);
  }
  ack(upTo: number) {
    return this.request<Record<string, number>>('POST', '/events/ack', { upTo });
  }
  accessPointState() {
    return this.request<{ state: string; scheduleOpen: boolean; enroll: boolean }>(
      'GET',
      '/accesspoint/state',
    );
  }
  setAccessPointState(state: AccessPointCommand | string) {
    return this.request<{ state: string }>(
      'POST',
      `/accesspoint/state/${encodeURIComponent(state)}`,
    );
  }
  enroll(userId: string, timeoutMs?: number) {
    return this.request<Record<string, unknown> & { id: string; state: string }>(
      'POST',
      '/enroll',
      timeoutMs === undefined ? { userId } : { userId, timeoutMs },
    );
  }
  enrollment(id: string) {
    return this.request<Record<string, unknown> & { id: string; state: string }>(
      'GET',
      `/enroll/${encodeURIComponent(id)}`,
    );
  }
  time() {
    return this.request<{ time: string; epochMs: number }>('GET', '/time');
  }
  setTime(iso: string) {
    return this.request<{ time: string; epochMs: number }>('PUT', '/time', { time: iso });
  }
  config() {
    return this.request<Record<string, unknown>>('GET', '/config');
  }
  patchConfig(patch: Record<string, unknown>) {
    return this.request<{ changed: string[]; config: Record<string, unknown> }>(
      'PATCH',
      '/config',
      patch,
    );
  }
  openApi() {
    return this.request<Record<string, unknown>>('GET', '/openapi.json');
  }

  readonly sim = {
    badge: (value: string) => this.request('POST', '/sim/badge', { value }),
    keypad: (keys: string) => this.request('POST', '/sim/keypad', { keys }),
    rex: () => this.request('POST', '/sim/rex'),
    door: (position: 'open' | 'close') => this.request('POST', `/sim/door/${position}`),
    tamper: (active: boolean) => this.request('POST', '/sim/tamper', { active }),
    enrollCapture: (rawData: RawData) => this.request('POST', '/sim/enroll/capture', rawData),
    link: () => this.request<{ state: string; since: string }>('GET', '/sim/link'),
    setLink: (action: 'cut' | 'restore') =>
      this.request<{ state: string; since: string }>('POST', `/sim/link/${action}`),
    powerCycle: (afterFlashOps?: number, model?: string) =>
      this.request<Record<string, unknown>>(
        'POST',
        '/sim/power-cycle',
        afterFlashOps === undefined
          ? undefined
          : model
            ? { afterFlashOps, model }
            : { afterFlashOps },
      ),
  };

  /**
   * Follows the event stream; calls onMessage for each message until the stream ends (link
   * cut, power cycle, server gone) or the signal aborts. Resolves with the last message type.
   */
  async stream(
    onMessage: (message: StreamMessage) => void,
    options: { after?: number; lastEventId?: number; signal?: AbortSignal } = {},
  ): Promise<string | undefined> {
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    if (options.lastEventId !== undefined) headers['last-event-id'] = String(options.lastEventId);
    const query = options.after !== undefined ? `?after=${options.after}` : '';
    const response = await this.fetch(this.url(`/events/stream${query}`), {
      headers,
      signal: options.signal,
    });
    if (!response.ok || !response.body) {
      const body = (await response.json().catch(() => ({}))) as ApiErrorBody;
      throw new HostApiError(response.status, {
        ...body,
        error: body.error ?? 'internal',
        message: body.message ?? response.statusText,
      });
    }
    let last: string | undefined;
    await readEventStream(
      response.body,
      (message) => {
        last = message.type;
        onMessage(message as StreamMessage);
      },
      options.signal,
    );
    return last;
  }
}

/**
 * fetch for an https reader whose certificate Node's trust store lacks: Node's global fetch
 * takes no per-call CA, so this is undici's fetch (the same client Node bundles) with an
 * Agent that trusts Node's roots plus `ca`. Certificate and host name checks stay on: an
 * untrusted or mismatched certificate fails like any network error (TypeError, cause code).
 */
function fetchTrusting(ca: string | Buffer): typeof fetch {
  // Loaded here: most clients use Node's own fetch, and undici costs a CLI call ~0.1 s.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Agent, fetch: undiciFetch } = require('undici') as typeof import('undici');
  const dispatcher = new Agent({ connect: { ca: [...rootCertificates, ca.toString()] } });
  return (input, init) =>
    undiciFetch(input as Parameters<typeof undiciFetch>[0], {
      ...(init as Parameters<typeof undiciFetch>[1]),
      dispatcher,
    }) as unknown as Promise<Response>;
}

/**
 * Reads a server-sent-events body (this API's streams: one JSON `data` line per message)
 * until it ends or `signal` aborts; used by the client and by tests of the panel stream.
 * The framing (line endings, comments, multi-line data) is eventsource-parser's.
 */
export async function readEventStream(
  body: ReadableStream<Uint8Array>,
  onMessage: (message: { type: string; data: unknown }) => void,
  signal?: AbortSignal,
): Promise<void> {
  const parser = createParser({
    onEvent: (e) => onMessage({ type: e.event ?? 'message', data: JSON.parse(e.data) as unknown }),
  });
  const decoder = new TextDecoder();
  try {
    for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
      parser.feed(decoder.decode(chunk, { stream: true }));
    }
  } catch (err) {
    if (!(signal?.aborted ?? false)) throw err;
  }
}
