import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../foundation/clock';

/** A server-sent-events response: framed messages, a heartbeat, and one way to close. */
export interface EventStream {
  /** Writes one message (`id` lets a client resume with Last-Event-ID). */
  send(event: string, data: unknown, id?: number): void;
  /** Closes the stream from the server side, with a last message when one is given. */
  end(event?: string, data?: unknown): void;
  /** Runs when the stream closes, from either side: unsubscribe here. */
  onClose(cleanup: () => void): void;
}

function frame(event: string, data: unknown, id?: number): string {
  return `${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * Takes over the reply for a text/event-stream. The heartbeat comment keeps proxies from
 * timing the stream out; it runs on the reader's clock like every other timer.
 */
export function openEventStream(
  request: FastifyRequest,
  reply: FastifyReply,
  clock: Clock,
  heartbeatMs: number,
): EventStream {
  reply.hijack();
  const out = reply.raw;
  out.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  const write = (text: string) => {
    if (!out.writableEnded) out.write(text);
  };
  const cleanups: Array<() => void> = [];
  let closed = false;
  let heartbeat = clock.setTimeout(function beat() {
    write(': keep-alive\n\n');
    heartbeat = clock.setTimeout(beat, heartbeatMs);
  }, heartbeatMs);
  const close = () => {
    if (closed) return;
    closed = true;
    clock.clearTimeout(heartbeat);
    for (const cleanup of cleanups) cleanup();
  };
  request.raw.on('close', () => {
    close();
    if (!out.writableEnded) out.end();
  });
  return {
    send: (event, data, id) => write(frame(event, data, id)),
    end(event, data) {
      close();
      if (out.writableEnded) return;
      if (event) out.end(frame(event, data));
      else out.end();
    },
    onClose: (cleanup) => cleanups.push(cleanup),
  };
}
