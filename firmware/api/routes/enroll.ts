import { ApiError } from '../errors';
import { notFound, type ApiRoute } from '../route';
import { EnrollParamsSchema, EnrollRequestSchema } from '../schemas';
import { EnrollmentSchema } from '../responses';

export const enrollRoutes: ApiRoute[] = [
  {
    method: 'POST',
    path: '/enroll',
    summary:
      'Puts the reader in enroll mode for a user (amber slow blink, advertised over BLE) until a phone sends its Raw Data or the timeout ends; returns the enrollment id.',
    tag: 'enroll',
    access: 'host',
    body: EnrollRequestSchema,
    status: 201,
    response: EnrollmentSchema,
    errors: ['store_full'],
    handle: ({ reader, board, body }) => {
      const { userId, timeoutMs } = body as { userId: string; timeoutMs?: number };
      if (!reader.store.database.user(userId)) {
        throw new ApiError('bad_request', `body /userId names no user in the database`, '/userId', {
          part: 'body',
        });
      }
      return board.enrollment.start(userId, timeoutMs);
    },
  },
  {
    method: 'GET',
    path: '/enroll/:id',
    summary: 'An enrollment: pending, captured (with the Raw Data), timed_out or cancelled.',
    tag: 'enroll',
    access: 'host',
    params: EnrollParamsSchema,
    response: EnrollmentSchema,
    errors: ['not_found'],
    handle: ({ board, params }) => {
      const found = board.enrollment.get(params.id!);
      if (!found) throw notFound(`enrollment ${JSON.stringify(params.id)}`);
      return found;
    },
  },
];
