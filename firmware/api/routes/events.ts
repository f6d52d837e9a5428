import type { EventRecord } from '../../foundation/model';
import { ApiError } from '../errors';
import type { ApiRoute, RouteCall } from '../route';
import { AckRequestSchema, EventStreamQuerySchema, EventsQuerySchema } from '../schemas';
import { openEventStream } from '../sse';
import { EventStatsSchema, EventsPageSchema } from '../responses';

export const DEFAULT_EVENT_PAGE = 500;
/** A comment line on an idle stream keeps proxies and clients from timing it out. */
export const STREAM_HEARTBEAT_MS = 15_000;

export const eventRoutes: ApiRoute[] = [
  {
    method: 'GET',
    path: '/events',
    summary:
      'Events with seq > after, oldest first (at most limit). Events stay in flash until acknowledged.',
    tag: 'events',
    access: 'host',
    querystring: EventsQuerySchema,
    response: EventsPageSchema,
    handle: ({ reader, query }) => {
      const after = Number(query.after ?? 0);
      const limit = Number(query.limit ?? DEFAULT_EVENT_PAGE);
      const events = reader.store.events.list(after, limit);
      const stats = reader.store.events.stats();
      const next = events.length ? events[events.length - 1]!.seq : after;
      return { events, next, more: next < stats.lastSeq, ...stats };
    },
  },
  {
    method: 'POST',
    path: '/events/ack',
    summary: 'Acknowledges every event with seq <= upTo; acknowledged events may be overwritten.',
    tag: 'events',
    access: 'host',
    body: AckRequestSchema,
    response: EventStatsSchema,
    errors: ['store_full', 'power_lost'],
    handle: ({ reader, body }) => {
      const { upTo } = body as { upTo: number };
      const { lastSeq } = reader.store.events.stats();
      if (upTo > lastSeq) {
        throw new ApiError(
          'bad_request',
          `body /upTo ${upTo} is beyond the newest event ${lastSeq}`,
          '/upTo',
          { part: 'body' },
        );
      }
      reader.store.events.ack(upTo);
      return reader.store.events.stats();
    },
  },
  {
    method: 'GET',
    path: '/events/stream',
    summary:
      'Server-sent events: unacknowledged events (or seq > after, or Last-Event-ID) then live ones. Ends with an event `link` (down) when the host link is cut and `power` (off) on a power cycle; reconnect with Last-Event-ID.',
    tag: 'events',
    access: 'host',
    querystring: EventStreamQuerySchema,
    stream: true,
    handle: streamEvents,
  },
];

function streamEvents({ reader, board, link, clock, query, request, reply }: RouteCall): void {
  const lastEventId = request.headers['last-event-id'];
  const fromHeader = typeof lastEventId === 'string' && /^[0-9]{1,15}$/.test(lastEventId);
  const stats = reader.store.events.stats();
  let sent =
    query.after !== undefined
      ? Number(query.after)
      : fromHeader
        ? Number(lastEventId)
        : stats.ackedSeq;

  const stream = openEventStream(request, reply, clock, STREAM_HEARTBEAT_MS);
  stream.send('hello', { after: sent, lastSeq: stats.lastSeq, link: link.state().state });

  const send = (e: EventRecord) => {
    if (e.seq <= sent) return;
    sent = e.seq;
    stream.send('event', e, e.seq);
  };
  // Backlog and subscription happen in one synchronous run: no append can fall between.
  for (
    let page = reader.store.events.list(sent, 1000);
    page.length;
    page = reader.store.events.list(sent, 1000)
  ) {
    page.forEach(send);
  }
  const stopEvents = reader.watchEvents(send);
  const onLink = (state: string) => {
    if (state === 'down') stream.end('link', { state: 'down' });
  };
  link.on('change', onLink);
  const stopPower = board.watchPower((state) => {
    if (state === 'off') stream.end('power', { state: 'off' });
  });
  stream.onClose(() => {
    stopEvents();
    link.off('change', onLink);
    stopPower();
  });
}
