import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../foundation/clock';
import { ApiError } from '../api/errors';
import type { Board } from '../board';
import type { BleRadioStatus, PhoneInRange } from '../ports';
import { API_PREFIX } from '../api/route';
import { openEventStream } from '../api/sse';
import { bearerMatches } from '../api/token';
import { renderTimelineSvg } from './timeline/svg';
import type { EventRecord } from '../foundation/model';
import type { OutputChange } from '../output-changes';
import { panelHtml, PANEL_CSS, PANEL_ICON } from './page';
import { PANEL_SCRIPT } from './page-script';
import { publicAsset } from './public-asset';
import { OutputRecorder } from './recorder';

/** How many past events the panel shows when it connects. */
export const PANEL_BACKLOG = 20;
const HEARTBEAT_MS = 15_000;

export interface PanelOptions {
  board: Board;
  token: string;
  clock: Clock;
  /** The reader's BLE radio: its phones in range go into the stream. */
  ble?: BleRadioStatus;
}

/** Public: the assets hold no secret; the page asks for the token itself. */
const PUBLIC = { access: 'public', needsFirmware: false };

/**
 * The reader's front panel (docs/PANEL.md): the page and its assets under /panel/, its live
 * stream and the timeline under /api/v1/panel/. Returns the recorder behind them.
 */
export function registerPanel(app: FastifyInstance, options: PanelOptions): OutputRecorder {
  const { board, token, clock, ble } = options;
  const recorder = new OutputRecorder(board, clock);
  app.addHook('onClose', async () => recorder.stop());

  const asset = (type: string, body: () => string) => publicAsset(type, body());
  app.get('/panel', { config: PUBLIC }, (_request, reply) => reply.redirect('/panel/'));
  app.get('/panel/', { config: PUBLIC }, asset('text/html; charset=utf-8', panelHtml));
  app.get(
    '/panel/panel.js',
    { config: PUBLIC },
    asset('text/javascript; charset=utf-8', () => PANEL_SCRIPT),
  );
  app.get(
    '/panel/panel.css',
    { config: PUBLIC },
    asset('text/css; charset=utf-8', () => PANEL_CSS),
  );

  // Without a favicon of its own the browser asks for /favicon.ico, which is a 401 here.
  app.get(
    '/panel/favicon.svg',
    { config: PUBLIC },
    asset('image/svg+xml', () => PANEL_ICON),
  );

  // These check the token themselves: a header, or ?token= (EventSource cannot send headers).
  app.get(`${API_PREFIX}/panel/stream`, { config: PUBLIC }, (request, reply) => {
    authorize(request, reply, token);
    streamPanel(request, reply, { board, clock, recorder, ble });
  });
  app.get(`${API_PREFIX}/panel/timeline`, { config: PUBLIC }, (request, reply) => {
    authorize(request, reply, token);
    return reply.send(recordingOf(request, recorder, clock));
  });
  app.get(`${API_PREFIX}/panel/timeline.svg`, { config: PUBLIC }, (request, reply) => {
    authorize(request, reply, token);
    const svg = renderTimelineSvg(recordingOf(request, recorder, clock));
    return reply.header('content-type', 'image/svg+xml; charset=utf-8').send(svg);
  });
  return recorder;
}

/**
 * The bearer header, or a `token` query parameter, both compared in constant time (the
 * query form exists for EventSource and <img> links; request logging is off, so it is
 * not written to the log).
 */
function authorize(request: FastifyRequest, reply: FastifyReply, token: string): void {
  const query = request.query as Record<string, unknown>;
  const fromQuery = typeof query.token === 'string' ? `Bearer ${query.token}` : undefined;
  if (bearerMatches(request.headers.authorization, token)) return;
  if (fromQuery !== undefined && bearerMatches(fromQuery, token)) return;
  reply.header('www-authenticate', 'Bearer');
  throw new ApiError('unauthorized', 'missing or wrong bearer token (header or ?token=)');
}

const RELATIVE = /^-?([0-9]{1,9})(ms|s|m|h)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * A time in a query: epoch ms, ISO 8601 with a zone, or `N{ms|s|m|h}` (or `-N...`) before the
 * reader's clock now, so a HIL rig need not know the reader's time.
 */
export function parseQueryTime(text: string, now: number, field: string): number {
  const relative = RELATIVE.exec(text);
  if (relative) return now - Number(relative[1]) * UNIT_MS[relative[2]!]!;
  if (/^[0-9]{1,15}$/.test(text)) return Number(text);
  const parsed = /^\d{4}-\d\d-\d\dT.*(Z|[+-]\d\d:\d\d)$/.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(parsed)) {
    throw new ApiError(
      'bad_request',
      `query /${field} must be epoch ms, ISO 8601 with a zone, or N{ms|s|m|h} ago; got ${JSON.stringify(text.slice(0, 40))}`,
      `/${field}`,
      { part: 'query' },
    );
  }
  return parsed;
}

function recordingOf(request: FastifyRequest, recorder: OutputRecorder, clock: Clock) {
  const query = request.query as Record<string, unknown>;
  const now = clock.now();
  const since =
    typeof query.since === 'string' ? parseQueryTime(query.since, now, 'since') : undefined;
  const until =
    typeof query.until === 'string' ? parseQueryTime(query.until, now, 'until') : undefined;
  if (since !== undefined && until !== undefined && until < since) {
    throw new ApiError('bad_request', 'query /until is before /since', '/until', { part: 'query' });
  }
  const recording = recorder.recording(since, until);
  if (!recording) throw new ApiError('booting', 'the reader has not booted yet; retry');
  return recording;
}

/**
 * The panel's live stream: `state` first (outputs now and the last events), then `output`
 * for every LED/buzzer/relay/door change, `event` for every event written to the log, and
 * `power` across power cycles (the stream stays open through them); with a BLE radio, `state`
 * carries `phones` and a `phones` message follows every change of the phones in range.
 */
function streamPanel(
  request: FastifyRequest,
  reply: FastifyReply,
  sources: { board: Board; clock: Clock; recorder: OutputRecorder; ble?: BleRadioStatus },
): void {
  const { board, clock, recorder, ble } = sources;
  const stream = openEventStream(request, reply, clock, HEARTBEAT_MS);
  const reader = board.reader();
  let events: EventRecord[] = [];
  if (reader) {
    const { lastSeq } = reader.store.events.stats();
    events = reader.store.events.list(Math.max(0, lastSeq - PANEL_BACKLOG), PANEL_BACKLOG);
  }
  const phones = ble ? { phones: ble.phones() } : {};
  stream.send('state', {
    at: clock.now(),
    outputs: recorder.snapshot() ?? null,
    events,
    ...phones,
  });

  const onOutput = (change: OutputChange) => stream.send('output', change);
  const onEvent = (e: EventRecord) => stream.send('event', e);
  const onPower = (state: string) => {
    stream.send('power', { state });
    if (state === 'on') stream.send('state', { at: clock.now(), outputs: recorder.snapshot() });
  };
  const onPhones = (list: PhoneInRange[]) =>
    stream.send('phones', { at: clock.now(), phones: list });
  const unwatchPhones = ble?.watchPhones(onPhones);
  recorder.on('output', onOutput);
  recorder.on('event', onEvent);
  recorder.on('power', onPower);
  stream.onClose(() => {
    recorder.off('output', onOutput);
    recorder.off('event', onEvent);
    recorder.off('power', onPower);
    unwatchPhones?.();
  });
}
